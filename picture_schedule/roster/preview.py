"""A change tried out without recording it: the schedule before and after, for a person to confirm.

:func:`preview_change` does what :meth:`Roster.change` does up to the write: it checks who and why,
appends the change to the stored course text, loads the result through the course loader (an invalid
change raises the loader's error, naming ``changes[N].<field>``) and expands both schedules. Nothing
is written; :meth:`Roster.change` checks everything again when the change is confirmed.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from picture_schedule.core.model import Change, Schedule
from picture_schedule.roster.bookings import stored_bookings
from picture_schedule.roster.course_text import append_change, check_change
from picture_schedule.roster.stored_course import load_stored_course

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


@dataclasses.dataclass(frozen=True)
class Preview:
    """The patient's schedule as it is, and as it would be with ``change`` recorded."""

    change: Change  # as it would be recorded (with ``recorded`` and ``by``)
    before: Schedule
    after: Schedule
    number: int  # the change's number in the course (its ``changes[N]``)


def preview_change(roster: Roster, patient: str, change: Change) -> Preview:
    """``patient``'s schedule before and after ``change`` (see the module); raises the errors
    :meth:`Roster.change` would raise for it, and writes nothing."""
    from zoneinfo import ZoneInfo

    from picture_schedule.core.scheduler import schedule

    check_change(change)
    with roster._guard():  # the roster's own connection and error mapping (this package's)
        conn = roster._conn()
        row = roster._active_row(conn, patient, "no change can be recorded for a removed patient")
        files = roster._files(conn, row["id"])
        booked = stored_bookings(conn, row["id"])
        now = roster._now(conn, row["id"])
    label = f"roster {patient}"
    text, templates = str(row["course_text"]), str(row["templates"])
    before = load_stored_course(text, files, label, templates, booked)
    recorded = now.astimezone(ZoneInfo(before.zone)).replace(tzinfo=None)
    change = dataclasses.replace(change, recorded=recorded, by=change.by.strip(), reason=change.reason.strip())
    after = load_stored_course(append_change(text, change, label), files, label, templates, booked)
    return Preview(change, schedule(before), schedule(after), len(after.changes))
