"""Chair bookings kept in the roster: each patient's day-1 appointment times, one row a cycle.

``chairs plan --db ROSTER --book`` stores them (:func:`book`): the roster's patients are loaded,
planned and booked in one transaction, and the feed of every patient whose bookings changed is
rendered again, so the booked time is the appointment time in that patient's calendar at once.
Every load of a patient's course fills ``Course.bookings`` from this table
(:func:`stored_bookings`, through :func:`~picture_schedule.roster.stored_course.load_stored_course`),
so the diary, table, JSON and feed all give the booked time.

A re-booking (another chair, time or date) adds one to the cycle's ``revision`` and stamps
``recorded``: the scheduler counts both into the day-1 events' revision, which calendars read as
SEQUENCE, so a calendar app takes the new time. A booking for a date the cycle no longer has (a
later change moved it) is kept, and every output says it is not used, until it is booked again.

Like :mod:`~picture_schedule.roster.desk`, the functions take the open :class:`Roster`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from picture_schedule.core.model import Booking, Course, frozen_map
from picture_schedule.errors import RosterError
from picture_schedule.loading.reader import NAME_MAX, check_text
from picture_schedule.roster.stored_course import load_stored_course

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster

__all__ = ["Booked", "Plan", "active_courses", "book", "booking_changes", "stored_bookings", "with_booking_tables"]


class Plan(Protocol):
    """What a planner gives :func:`book`: the day-1 bookings it placed, study number → cycle → booking."""

    @property
    def bookings(self) -> Mapping[str, Mapping[int, Booking]]: ...


P = TypeVar("P", bound=Plan)


@dataclasses.dataclass(frozen=True)
class Booked:
    """What :func:`book` stored: each patient whose bookings changed, with the cycles (re)booked."""

    patients: tuple[tuple[str, tuple[int, ...]], ...] = ()


def stored_bookings(conn: sqlite3.Connection, patient_id: int) -> dict[int, Booking]:
    """The patient's bookings as the roster keeps them (cycle → booking)."""
    rows = conn.execute("SELECT cycle, day, chair, start_time, end_time, revision, recorded FROM bookings "
                        "WHERE patient_id = ? ORDER BY cycle", (patient_id,)).fetchall()
    try:
        return {int(r["cycle"]): Booking(
            str(r["chair"]), dt.time.fromisoformat(r["start_time"]), dt.time.fromisoformat(r["end_time"]),
            day=dt.date.fromisoformat(r["day"]), revision=int(r["revision"]),
            recorded=dt.datetime.fromisoformat(r["recorded"])) for r in rows}
    except (TypeError, ValueError) as exc:  # a row changed outside picture-schedule
        who = conn.execute("SELECT patient FROM patients WHERE id = ?", (patient_id,)).fetchone()
        raise RosterError(f"the stored chair bookings of patient {who['patient'] if who else patient_id!r} are "
                          f"damaged ({' '.join(str(exc).split())})") from None


def booking_changes(current: Mapping[int, Booking], wanted: Mapping[int, Booking]) -> dict[int, Booking]:
    """The cycles whose booking ``wanted`` changes (a new one, or another chair, time or date),
    without revision and stamp (:func:`book` sets them). A cycle ``wanted`` leaves out keeps its booking."""
    return {cycle: booking for cycle, booking in sorted(wanted.items())
            if cycle not in current or not current[cycle].same_slot(booking)}


def _describe(booking: Booking) -> str:
    day = booking.day.isoformat() if booking.day else "any day 1"
    return f"{day} {booking.start:%H:%M}–{booking.end:%H:%M}, chair {booking.chair}"


def _active(roster: Roster, conn: sqlite3.Connection) -> list[tuple[int, Course]]:
    """(row id, course with its bookings) of every patient on the roster (not removed), by study number."""
    rows = conn.execute("SELECT id, patient, course_text, templates FROM patients WHERE removed_at IS NULL "
                        "ORDER BY patient").fetchall()
    return [(row["id"], load_stored_course(row["course_text"], roster._files(conn, row["id"]),
                                           f"roster {row['patient']}", row["templates"],
                                           stored_bookings(conn, row["id"]))) for row in rows]


@contextmanager
def _snapshot(roster: Roster) -> Iterator[sqlite3.Connection]:
    """A read transaction: every patient read from one consistent state of the roster."""
    with roster._guard():
        conn = roster._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")


def active_courses(roster: Roster) -> tuple[Course, ...]:
    """The courses of the patients on the roster (not removed), by study number, with their bookings."""
    with _snapshot(roster) as conn:
        return tuple(course for _, course in _active(roster, conn))


def book(roster: Roster, planner: Callable[[tuple[Course, ...]], P], *, by: str,
         before_commit: Callable[[P, Booked], None] | None = None) -> tuple[P, Booked]:
    """Plan the roster's patients and store the day-1 bookings the plan changes, in one transaction.

    ``planner`` gets the courses of the patients on the roster (with their bookings) and returns a
    :class:`Plan`. For each patient whose bookings it changes, the new bookings are stored (the
    cycle's revision plus one, stamped now in the course's zone), the feed is rendered again and
    the journal gets a "book" line by ``by`` listing each cycle's new booking and the one it
    replaces. ``before_commit`` gets the plan and what was stored while all of it can still be
    rolled back: if it, the planner or any render raises, nothing is written.
    """
    check_text(by, NAME_MAX, source="--by")
    with roster._write() as conn:
        active = _active(roster, conn)
        plan = planner(tuple(course for _, course in active))
        stored: list[tuple[str, tuple[int, ...]]] = []
        for patient_id, course in active:
            fresh = booking_changes(course.bookings, plan.bookings.get(course.patient, {}))
            if not fresh:
                continue
            now = roster._now(conn, patient_id)
            recorded = now.astimezone(ZoneInfo(course.zone)).replace(tzinfo=None)
            lines = []
            for cycle, booking in list(fresh.items()):
                old = course.bookings.get(cycle)
                fresh[cycle] = booking = dataclasses.replace(
                    booking, revision=old.revision + 1 if old else 1, recorded=recorded)
                conn.execute(
                    "INSERT INTO bookings (patient_id, cycle, day, chair, start_time, end_time, revision, recorded, "
                    "booked_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (patient_id, cycle) DO UPDATE SET "
                    "day = excluded.day, chair = excluded.chair, start_time = excluded.start_time, "
                    "end_time = excluded.end_time, revision = excluded.revision, recorded = excluded.recorded, "
                    "booked_by = excluded.booked_by",
                    (patient_id, cycle, _iso_date(booking), booking.chair, f"{booking.start:%H:%M}",
                     f"{booking.end:%H:%M}", booking.revision, recorded.isoformat(timespec="seconds"), by))
                lines.append(f"cycle {cycle}: {_describe(booking)}" + (f" (was {_describe(old)})" if old else ""))
            updated = dataclasses.replace(course, bookings=frozen_map({**course.bookings, **fresh}))
            roster._store_feed(conn, patient_id, roster._render(updated), now)
            roster._journal(conn, patient_id, course.patient, "book", now, by, detail="\n".join(lines))
            stored.append((course.patient, tuple(fresh)))
        booked = Booked(tuple(stored))
        if before_commit is not None:
            before_commit(plan, booked)
    return plan, booked


def _iso_date(booking: Booking) -> str:
    if booking.day is None:
        raise ValueError("a booking stored in the roster needs its date")
    return booking.day.isoformat()


def booking_table(cycle: int, booking: Booking) -> dict[str, Any]:
    """A booking as the ``[[bookings]]`` table of a course file."""
    table: dict[str, Any] = {"cycle": cycle, "chair": booking.chair, "start": f"{booking.start:%H:%M}",
                             "end": f"{booking.end:%H:%M}"}
    if booking.day is not None:
        table["date"] = booking.day
    if booking.recorded is not None:
        table["recorded"] = booking.recorded
    table["revision"] = booking.revision
    return table


def with_booking_tables(text: str, bookings: Mapping[int, Booking], label: str) -> str:
    """The course text with the roster's ``bookings`` as ``[[bookings]]`` tables, so an exported
    course gives the booked times too. Appended (comments kept) when the text has no bookings of its
    own; otherwise the text is rewritten whole with its bookings for those cycles replaced."""
    if not bookings:
        return text
    from picture_schedule.loading import parse_toml
    from picture_schedule.roster.course_text import _toml_key, _toml_value

    tables = [booking_table(cycle, booking) for cycle, booking in sorted(bookings.items())]
    data = parse_toml(text, label)
    own = data.get("bookings")
    if own is None:
        blocks = ["[[bookings]]\n" + "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in t.items())
                  for t in tables]
        return text.rstrip("\n") + "\n\n" + "\n".join(blocks)
    import tomli_w

    kept = [t for t in own if not (isinstance(t, dict) and t.get("cycle") in bookings)] if isinstance(own, list) else []
    data["bookings"] = [*kept, *tables]
    return tomli_w.dumps(data)
