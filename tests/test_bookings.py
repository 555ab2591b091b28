"""One record of appointments: `chairs plan --db ROSTER --book` stores each day-1 chair booking in
the roster, and the booked time is the appointment time in that patient's calendar feed, diary,
table and JSON (issue 11, "the chair plan and the patient disagree by an hour").

The unit: the example site (12 chairs, 08:00–17:30, 15-min slots, at most 3 starts a slot, the
patients told 09:00 by its [infusion] start). Five patients start on Monday 7 December 2026: the
example course (PIC-001) and four new patients written by `picture-schedule new`. Worked by hand:
all five were told 09:00 and every chair is free then, but only three may start in the 09:00 slot.
Planned times go first, longest first, ties by study number: all cycle-1 visits take 225 min, so
PIC-001, PIC-002 and PIC-003 keep 09:00 (chairs 1–3, until 12:45); PIC-004 and PIC-005 go to the
earliest fit, 08:00 on chairs 4 and 5 (08:00–11:45), and the plan says why.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import icalendar
import pytest

from picture_schedule.core.model import Change
from picture_schedule.core.scheduler import schedule
from picture_schedule.errors import ScheduleError
from picture_schedule.loading import load_course
from picture_schedule.render.tabular import to_json
from picture_schedule.render.text import to_table
from picture_schedule.roster.bookings import active_courses, book
from picture_schedule.roster.feeds import render_feed
from picture_schedule.roster.store import Roster

from tests.conftest import ROOT

PATIENTS = ("PIC-001", "PIC-002", "PIC-003", "PIC-004", "PIC-005")
DAY1 = dt.date(2026, 12, 7)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MOVED = "moved from 09:00 to 08:00: the nurse limit of 3 starts per slot is reached at 09:00"


def token(patient: str) -> str:
    return f"{patient}-feed-token-for-tests-only"


class Clock:
    """A clock the test moves on: each booking and change gets its own time."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


@pytest.fixture
def unit(tmp_path: Path, cli) -> Path:
    """A folder with the examples and four new patients' course files, and a roster of all five."""
    folder = tmp_path / "unit"
    shutil.copytree(ROOT / "examples", folder)
    site = folder / "site-nanjing.toml"
    for patient in PATIENTS[1:]:
        result = cli("new", "--patient", patient, "--start", DAY1.isoformat(), "--height", "160", "--weight", "55",
                     "--measured", "2026-12-01", "--site", site, "--lang", "en", "-o", folder / f"{patient}.toml")
        assert result.exit_code == 0, result.output
    with Roster(folder / "roster.sqlite3", clock=Clock()) as roster:
        roster.add(folder / "course-example.toml", by="nurse Li", token=token("PIC-001"))
        for patient in PATIENTS[1:]:
            roster.add(folder / f"{patient}.toml", by="nurse Li", token=token(patient))
    return folder


def plan(cli, folder: Path, *extra: str):
    return cli("chairs", "plan", "--db", folder / "roster.sqlite3", "--site", folder / "site-nanjing.toml", *extra)


def december(cli, folder: Path, *extra: str):
    result = plan(cli, folder, "--from", "2026-12-01", "--to", "2026-12-31", *extra)
    assert result.exit_code == 0, result.output
    return result


def appointment(feed: bytes, day: dt.date) -> icalendar.Event:
    """The feed's day-1 appointment on ``day`` (the discreet "Hospital appointment")."""
    found = [e for e in icalendar.Calendar.from_ical(feed).walk("VEVENT")
             if isinstance(e.decoded("dtstart"), dt.datetime) and e.decoded("dtstart").date() == day
             and str(e["summary"]) == "Hospital appointment"]
    assert len(found) == 1, found
    return found[0]


def feed_of(folder: Path, patient: str) -> bytes:
    with Roster(folder / "roster.sqlite3", create=False) as roster:
        feed = roster.feed(token(patient))
    assert feed is not None
    return feed.body


def stored_rows(folder: Path) -> list[tuple]:
    with sqlite3.connect(folder / "roster.sqlite3") as conn:
        return conn.execute("SELECT p.patient, b.cycle, b.day, b.chair, b.start_time, b.end_time, b.revision "
                            "FROM bookings b JOIN patients p ON p.id = b.patient_id ORDER BY 1, 2").fetchall()


class _Notes(HTMLParser):
    """The diary's day-1 notes (``<p class="booked-note">``), as text."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "p" and ("class", "booked-note") in attrs:
            self._in = True
            self.notes.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.notes[-1] += data


def diary_notes(cli, folder: Path, patient: str) -> list[str]:
    out = folder / f"{patient}-diary.html"
    result = cli("diary", "--db", folder / "roster.sqlite3", "--patient", patient, "-o", out)
    assert result.exit_code == 0, result.output
    parser = _Notes()
    parser.feed(out.read_text(encoding="utf-8"))
    return [" ".join(note.split()) for note in parser.notes]


# -- the plan: planned time first ------------------------------------------------------------------


def test_a_free_planned_time_is_kept_and_a_collision_is_moved_and_reported(cli, unit):
    result = december(cli, unit, "--csv", "-")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    first = {r["patient"]: (r["chair"], r["start"], r["end"], r["reason"]) for r in rows if r["cycle"] == "1"}
    assert first == {
        "PIC-001": ("1", "09:00", "12:45", ""),
        "PIC-002": ("2", "09:00", "12:45", ""),
        "PIC-003": ("3", "09:00", "12:45", ""),
        "PIC-004": ("4", "08:00", "11:45", MOVED),
        "PIC-005": ("5", "08:00", "11:45", MOVED),
    }
    summary = result.stderr
    assert f"Not at the planned time: 4\n  PIC-004 cycle 1, Mon 2026-12-07: {MOVED}\n" in summary
    assert "Bookings: 10 new, 0 changed, 0 unchanged, 0 stale: not stored (give --book to store them)" in summary
    assert stored_rows(unit) == []  # without --book nothing is stored


def test_book_stores_each_day_1_booking_with_a_journal_line(cli, unit):
    result = december(cli, unit, "--book", "--by", "coordinator Zhao")

    assert "Bookings: 10 new, 0 changed, 0 unchanged, 0 stale: stored, the calendars of 5 patients updated" in \
        result.output
    rows = stored_rows(unit)
    assert ("PIC-001", 1, "2026-12-07", "1", "09:00", "12:45", 1) in rows
    assert ("PIC-004", 1, "2026-12-07", "4", "08:00", "11:45", 1) in rows
    assert ("PIC-004", 2, "2026-12-28", "4", "08:00", "11:15", 1) in rows  # cycle 2: 195 min
    assert len(rows) == 10
    history = cli("roster", "history", "--db", unit / "roster.sqlite3", "PIC-004").output
    assert "book by coordinator Zhao\n      cycle 1: 2026-12-07 08:00–11:45, chair 4\n" in history


def test_the_booked_time_is_the_appointment_in_every_output_of_the_patient(cli, unit):
    december(cli, unit, "--book", "--by", "coordinator Zhao")

    # the calendar feed, as the feed server gives it
    event = appointment(feed_of(unit, "PIC-004"), DAY1)
    assert event.decoded("dtstart") == dt.datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI)
    assert event.decoded("dtend") == dt.datetime(2026, 12, 7, 11, 45, tzinfo=SHANGHAI)
    assert "Your appointment: 08:00 to 11:45." in str(event["description"])
    assert "to be confirmed" not in str(event["description"])
    # the diary (from the roster)
    notes = diary_notes(cli, unit, "PIC-004")
    assert notes[:2] == ["◆ Your appointment on day 1: 08:00 to 11:45", "◆ Your appointment on day 1: 08:00 to 11:15"]
    # the table and the JSON of the course as the roster holds it
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        expanded = schedule(roster.course("PIC-004"))
    table = to_table(expanded)
    assert "chair 4 booked 08:00–11:45" in table
    data = json.loads(to_json(expanded))
    cycle1 = data["cycles"][0]
    assert (cycle1["infusion_start"], cycle1["time_confirmed"]) == ("08:00", True)
    assert cycle1["booking"]["chair"] == "4" and cycle1["booking"]["date"] == "2026-12-07"
    day1 = [e for e in data["events"] if e["cycle"] == 1 and e["kind"] == "infusion" and e["day"] == 1]
    assert day1 and day1[0]["time"] == "08:00" and all(e["time_confirmed"] for e in day1)
    # a patient who keeps the site's 09:00 is booked too: the time is confirmed, not "about"
    assert diary_notes(cli, unit, "PIC-001")[0] == "◆ Your appointment on day 1: 09:00 to 12:45"


def test_without_a_booking_the_outputs_say_time_to_be_confirmed(cli, unit):
    december(cli, unit, "--book")  # December only: cycle 3 (January) has no booking

    cycle3 = dt.date(2027, 1, 18)
    event = appointment(feed_of(unit, "PIC-004"), cycle3)
    assert event.decoded("dtstart") == dt.datetime(2027, 1, 18, 9, 0, tzinfo=SHANGHAI)  # the site's start
    assert "Time to be confirmed" in str(event["description"])
    assert diary_notes(cli, unit, "PIC-004")[2] == "◆ Day 1 appointment at about 09:00: time to be confirmed"
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        expanded = schedule(roster.course("PIC-004"))
    assert "day-1 time 09:00 to be confirmed (no chair booked)" in to_table(expanded)
    data = json.loads(to_json(expanded))
    assert (data["cycles"][2]["time_confirmed"], data["cycles"][2]["booking"]) == (False, None)


def test_re_planning_after_a_delay_moves_the_booking_and_bumps_sequence(cli, unit):
    december(cli, unit, "--book")
    booked = appointment(feed_of(unit, "PIC-004"), dt.date(2026, 12, 28))
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        roster.change("PIC-004", Change(cycle=2, reason="neutrophils 1.2", delay_days=7, by="nurse Li"))

    # the change moved day 1 to 4 January: the old booking is not applied (time to be confirmed)
    delayed = appointment(feed_of(unit, "PIC-004"), dt.date(2027, 1, 4))
    assert delayed.decoded("dtstart") == dt.datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI)
    assert "Time to be confirmed" in str(delayed["description"])
    assert delayed["uid"] == booked["uid"] and delayed["sequence"] > booked["sequence"]
    report = plan(cli, unit, "--from", "2026-12-01", "--to", "2027-01-10")
    assert ("  PIC-004 cycle 2: booked for 2026-12-28 08:00, but day 1 is now 2027-01-04: booked again with --book"
            in report.output)
    assert "1 stale" in report.output

    result = plan(cli, unit, "--from", "2026-12-01", "--to", "2027-01-10", "--book", "--by", "coordinator Zhao")
    assert result.exit_code == 0, result.output
    assert "  PIC-004 cycle 2: booked for 2026-12-28 08:00, but day 1 is now 2027-01-04: booked again" in result.output
    assert ("PIC-004", 2, "2027-01-04", "1", "09:00", "12:15", 2) in stored_rows(unit)  # 4 January is quiet: 09:00
    rebooked = appointment(feed_of(unit, "PIC-004"), dt.date(2027, 1, 4))
    assert rebooked.decoded("dtstart") == dt.datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI)
    assert "Your appointment: 09:00 to 12:15." in str(rebooked["description"])
    assert rebooked["uid"] == booked["uid"] and rebooked["sequence"] > delayed["sequence"]
    history = cli("roster", "history", "--db", unit / "roster.sqlite3", "PIC-004").output
    assert "cycle 2: 2027-01-04 09:00–12:15, chair 1 (was 2026-12-28 08:00–11:15, chair 4)" in history


def test_booking_the_same_plan_again_changes_nothing(cli, unit):
    december(cli, unit, "--book")
    feeds = {p: feed_of(unit, p) for p in PATIENTS}
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        journal = [roster.journal(p) for p in PATIENTS]

    result = december(cli, unit, "--book")

    assert "Bookings: 0 new, 0 changed, 10 unchanged, 0 stale: nothing changed" in result.output
    assert {p: feed_of(unit, p) for p in PATIENTS} == feeds
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        assert [roster.journal(p) for p in PATIENTS] == journal


def test_booking_is_all_or_nothing(unit):
    """The third feed fails to render: nothing is stored, no feed or journal line changes."""
    calls = []

    def failing(expanded):
        calls.append(expanded.course.patient)
        if len(calls) == 3:
            raise OSError("disk full")
        return render_feed(expanded)

    def planner(courses):
        from picture_schedule.planning.chair_summary import plan_courses

        return plan_courses(courses, source="roster", site_path=str(unit / "site-nanjing.toml"),
                            first=dt.date(2026, 12, 1), last=dt.date(2026, 12, 31), book=True)

    feeds = {p: feed_of(unit, p) for p in PATIENTS}
    with Roster(unit / "roster.sqlite3", create=False, renderer=failing) as roster:
        journal = [roster.journal(p) for p in PATIENTS]
        with pytest.raises(OSError):
            book(roster, planner, by="coordinator Zhao")
        assert calls == ["PIC-001", "PIC-002", "PIC-003"]  # it failed part-way
        assert [roster.journal(p) for p in PATIENTS] == journal
        assert all(not c.bookings for c in active_courses(roster))
    assert stored_rows(unit) == []
    assert {p: feed_of(unit, p) for p in PATIENTS} == feeds


def test_an_output_that_cannot_be_written_stores_no_booking(cli, unit):
    """The files are written while the bookings can still be rolled back: a file that cannot be
    written leaves the roster as it was."""
    result = plan(cli, unit, "--from", "2026-12-01", "--to", "2026-12-31", "--book",
                  "--csv", unit / "missing" / "chairs.csv")

    assert result.exit_code == 2 and "Error:" in result.output
    assert stored_rows(unit) == []


def test_removed_patients_are_not_planned(cli, unit):
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        roster.remove("PIC-002", by="nurse Li")

    result = december(cli, unit, "--book")

    assert "Roster " in result.output and ": 4 patients, 24 day-1 visits" in result.output
    assert {row[0] for row in stored_rows(unit)} == {"PIC-001", "PIC-003", "PIC-004", "PIC-005"}


def test_export_carries_the_bookings_and_gives_the_same_schedule(cli, unit):
    december(cli, unit, "--book")
    exported = unit / "PIC-004-exported.toml"
    assert cli("roster", "export", "--db", unit / "roster.sqlite3", "PIC-004", "-o", exported).exit_code == 0

    assert "[[bookings]]" in exported.read_text(encoding="utf-8")
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        held = roster.course("PIC-004")
    assert load_course(exported).bookings == held.bookings
    assert schedule(load_course(exported)).fingerprint() == schedule(held).fingerprint()


def test_the_options_are_checked(cli, unit):
    both = cli("chairs", "plan", "--cohort", unit / "cohort-23.csv", "--db", unit / "roster.sqlite3",
               "--site", unit / "site-nanjing.toml")
    cohort_book = cli("chairs", "plan", "--cohort", unit / "cohort-23.csv", "--site", unit / "site-nanjing.toml",
                      "--book")
    neither = cli("chairs", "plan", "--site", unit / "site-nanjing.toml", env={"PICTURE_SCHEDULE_DB": None})

    assert both.exit_code == 2 and "Error: --db: give --cohort or --db, not both" in both.output
    assert cohort_book.exit_code == 2 and "--book stores bookings in a roster" in cohort_book.output
    assert neither.exit_code == 2 and "--cohort FILE|DIR, or --db ROSTER" in neither.output


def test_a_damaged_booking_row_is_one_clear_error(unit):
    with sqlite3.connect(unit / "roster.sqlite3") as conn:
        conn.execute("INSERT INTO bookings (patient_id, cycle, day, chair, start_time, end_time, revision, recorded) "
                     "SELECT id, 1, 'not a date', '1', '09:00', '12:45', 1, '2026-12-01T10:00:00' FROM patients "
                     "WHERE patient = 'PIC-003'")
    with Roster(unit / "roster.sqlite3", create=False) as roster, pytest.raises(ScheduleError) as caught:
        roster.course("PIC-003")
    assert "chair bookings of patient 'PIC-003' are damaged" in str(caught.value)


def test_a_course_files_own_booking_is_kept_in_time_and_replaced_in_the_roster(cli, unit, tmp_path):
    """A course file that already books cycle 1 (chair "C2", 08:00, any day 1) keeps that time: it is
    planned first. The unit numbers its chairs, so the roster books it again on chair 1 (revision
    2, after the file's 1); export then rewrites the file's bookings with the roster's."""
    own = unit / "PIC-006.toml"
    own.write_text((unit / "PIC-002.toml").read_text(encoding="utf-8").replace('"PIC-002"', '"PIC-006"')
                   + '\n[[bookings]]\ncycle = 1\nchair = "C2"\nstart = "08:00"\nend = "11:45"\n', encoding="utf-8")
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        roster.add(own, by="nurse Li", token=token("PIC-006"))

    result = december(cli, unit, "--book")

    assert "PIC-006 cycle 1" not in result.output  # at its planned time: not moved
    assert ("PIC-006", 1, "2026-12-07", "1", "08:00", "11:45", 2) in stored_rows(unit)
    exported = unit / "PIC-006-exported.toml"
    assert cli("roster", "export", "--db", unit / "roster.sqlite3", "PIC-006", "-o", exported).exit_code == 0
    with Roster(unit / "roster.sqlite3", create=False) as roster:
        held = roster.course("PIC-006")
    assert load_course(exported).bookings == held.bookings
    assert sorted(held.bookings) == [1, 2] and held.bookings[1].chair == "1"
    assert exported.read_text(encoding="utf-8").count("C2") == 0  # the file's own booking was replaced
