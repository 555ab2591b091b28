"""`picture-schedule chairs`: cohorts through the CSV + site path, worked by hand, and every output
read back with real parsers (csv, icalendar + two independent iCalendar parsers, html.parser + XML).

The scenarios live in tests/data/chairs/ (one file per scenario). The three-chair unit
(site-three-chairs.toml): Monday–Friday 08:00–15:00 (420 chair-minutes a chair, 1260 a day),
15-min slots, one infusion start per slot. PICTURE chair time: 15 preparation + 60 tislelizumab
(30 after cycle 1) + 120 oxaliplatin + 30 observation = 225 min in cycle 1, 195 min later.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picture_schedule.cli.main  # noqa: F401  (first: the CLI registers the command modules)
from picture_schedule.core.chair_plan import Appointment, plan
from picture_schedule.planning.cohort import DELAY_REASON, appointments, expand_cohort, read_cohort
from picture_schedule.cli.chairs import Progress
from picture_schedule.loading import load_site
from picture_schedule.render.messages import reason_text

from tests import icalcheck
from tests.conftest import DATA

CHAIRS = DATA / "chairs"
SITE = CHAIRS / "site-three-chairs.toml"
SHANGHAI = dt.timedelta(hours=8)


@pytest.fixture
def here(monkeypatch):
    """Run from tests/data/chairs, so messages name files as a coordinator would type them."""
    monkeypatch.chdir(CHAIRS)
    return CHAIRS


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def brief(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return [(r["patient"], r["cycle"], r["date"], r["chair"], r["start"], r["end"], r["minutes"], r["status"])
            for r in rows]


def plan_csv(cli, cohort: str | Path, site: str | Path = SITE, *extra: str) -> tuple[list[dict[str, str]], str]:
    result = cli("chairs", "plan", "--cohort", cohort, "--site", site, "--csv", "-", *extra)
    assert result.exit_code == 0, result.output
    return rows_of(result.stdout), result.stderr


# ------------------------------------------------------------------------ hand-worked cohorts


def test_five_patients_collide_on_three_chairs(cli, here):
    """collide.csv, worked by hand (one start per slot, so starts step by 15 min):

    Mon 26 Oct: C-03 and C-04 start (225 min each): C-03 chair 1 08:00–11:45; slot 08:00 is
    taken, so C-04 chair 2 08:15–12:00.
    Mon 16 Nov: C-01, C-02, C-05 start (225) and C-03, C-04 come for cycle 2 (195). Longest
    first, ties by study number: C-01 chair 1 08:00–11:45, C-02 chair 2 08:15–12:00, C-05 chair 3
    08:30–12:15. C-03: chair 1 is free at 11:45, and 11:45 + 195 min = 15:00, closing: it fits.
    C-04: the next chair frees at 12:00, 12:00 + 195 = 15:15 > 15:00: not placed.
    The day: booked 3 × 225 + 195 = 870, demand 870 + 195 = 1065 of 1260 chair-minutes (85 %),
    peak 3 chairs (11:45–12:00), over capacity because a visit is not placed.
    """
    rows, summary = plan_csv(cli, "collide.csv")

    assert brief(rows) == [
        ("C-03", "1", "2026-10-26", "1", "08:00", "11:45", "225", "placed"),
        ("C-04", "1", "2026-10-26", "2", "08:15", "12:00", "225", "placed"),
        ("C-01", "1", "2026-11-16", "1", "08:00", "11:45", "225", "placed"),
        ("C-02", "1", "2026-11-16", "2", "08:15", "12:00", "225", "placed"),
        ("C-05", "1", "2026-11-16", "3", "08:30", "12:15", "225", "placed"),
        ("C-03", "2", "2026-11-16", "1", "11:45", "15:00", "195", "placed"),
        ("C-04", "2", "2026-11-16", "", "", "", "195", "unplaced"),
    ]
    assert rows[-1]["reason"] == "no chair free for 195 min before 15:00"
    assert {r["regimen"] for r in rows} == {"picture"}
    assert "Placed 6 of 7 visits on 2 days" in summary
    assert "Busiest day Mon 2026-11-16: 5 visits, 17.8 of 21.0 chair-hours (85 %), peak 3 of 3 chairs" in summary
    assert "Days over capacity: 1\n  Mon 2026-11-16: 1065 of 1260 chair-minutes asked for, 1 not placed\n" in summary
    assert "Not placed: 1\n  C-04 cycle 2, Mon 2026-11-16 (195 min): no chair free for 195 min before 15:00\n" in summary


def test_five_patients_collide_library_view():
    """The same cohort through the library: the day loads the report and summary are drawn from."""
    site = load_site(SITE)
    cohort = read_cohort(CHAIRS / "collide.csv", site)
    result = plan(appointments(expand_cohort(cohort)), site.chairs)  # type: ignore[arg-type]

    october, november = result.days
    assert (october.day, october.booked_minutes, october.peak_chairs, october.over_capacity) == (
        dt.date(2026, 10, 26), 450, 2, False)
    assert (november.booked_minutes, november.demand_minutes, november.available_minutes) == (870, 1065, 1260)
    assert november.patients == ("C-01", "C-02", "C-05", "C-03")
    assert november.peak_chairs == 3
    assert november.over_capacity
    assert [(u.appointment.patient, u.appointment.cycle) for u in november.unplaced] == [("C-04", 2)]


def test_national_day_pushes_two_patients_onto_one_day(cli, here):
    """National Day 2026 (announced): 1–7 October closed, shift policy next, at most 7 days.

    N-01 started Thu 10 Sep; cycle 2 is due Thu 1 Oct and moves 7 days to Thu 8 Oct, the day
    N-02 starts. On 8 Oct, longest first: N-02 (225) chair 1 08:00–11:45, N-01 (195) chair 2
    08:15–11:30. N-03 starts on Sat 10 Oct, a make-up working day: the clinic calendar is open,
    but the chair unit has no Saturday hours, so the visit is listed as not placed.
    """
    rows, summary = plan_csv(cli, "national-day.csv")

    assert brief(rows) == [
        ("N-01", "1", "2026-09-10", "1", "08:00", "11:45", "225", "placed"),
        ("N-02", "1", "2026-10-08", "1", "08:00", "11:45", "225", "placed"),
        ("N-01", "2", "2026-10-08", "2", "08:15", "11:30", "195", "placed"),
        ("N-03", "1", "2026-10-10", "", "", "", "225", "unplaced"),
    ]
    assert rows[2]["note"] == "cycle 2 day 1 moved from 2026-10-01 to 2026-10-08 (+7 days): National Day"
    assert rows[3]["reason"] == "unit closed on Saturday"
    assert "Busiest day Thu 2026-10-08: 2 visits, 7.0 of 21.0 chair-hours (33 %), peak 2 of 3 chairs" in summary
    assert "  Sat 2026-10-10: unit closed, 1 not placed" in summary
    assert "  N-03 cycle 1, Sat 2026-10-10 (225 min): unit closed on Saturday" in summary
    assert "1 visit moved off a closed day" in summary


def test_delays_become_changes_and_move_the_day_1(cli, here):
    """Q-01 (capox, 8 cycles; chair time 15 + 120 + 30 = 165 min) starts Mon 2 Nov with a 7-day
    delay of cycle 2: 23 Nov + 7 = 30 Nov. Later cycles follow on (21 Dec …); cycle 8, due on
    Qingming Festival (Mon 5 Apr 2027, an estimated year), moves to Tue 6 Apr."""
    site = load_site(SITE)
    cohort = read_cohort(CHAIRS / "with-course.csv", site)
    q01 = next(m.course for m in cohort.members if m.course.patient == "Q-01")
    assert [(c.cycle, c.delay_days, c.reason) for c in q01.changes] == [(2, 7, DELAY_REASON)]
    assert q01.site is site

    rows, summary = plan_csv(cli, "with-course.csv")
    q = [(r["cycle"], r["date"], r["minutes"]) for r in rows if r["patient"] == "Q-01"]
    assert q[:3] == [("1", "2026-11-02", "165"), ("2", "2026-11-30", "165"), ("3", "2026-12-21", "165")]
    assert q[-1] == ("8", "2027-04-06", "165")
    assert "Note (Q-01): holiday dates for 2027 are estimates" in summary


def test_course_files_in_the_csv_and_in_a_folder(cli, here):
    """P-01's course file names no site: it gets --site. Its own change (cycle 2 delayed 7 days)
    moves cycle 2 from 23 Nov to 30 Nov. P-02's course file names its site and keeps it. In a
    folder, TOML files that are not courses are skipped and listed."""
    rows, _ = plan_csv(cli, "with-course.csv")
    assert [(r["cycle"], r["date"]) for r in rows if r["patient"] == "P-01"] == [
        ("1", "2026-11-02"), ("2", "2026-11-30")]

    result = cli("chairs", "plan", "--cohort", "courses", "--site", "site-three-chairs.toml", "--csv", "-")
    assert result.exit_code == 0, result.output
    assert [(r["patient"], r["cycle"], r["date"], r["regimen"]) for r in rows_of(result.stdout)] == [
        ("P-01", "1", "2026-11-02", "picture"),
        ("P-02", "1", "2026-11-04", "capox"),
        ("P-02", "2", "2026-11-25", "capox"),
        ("P-01", "2", "2026-11-30", "picture"),
    ]
    assert "not a course, skipped: site-copy.toml (a site file)" in result.stderr

    site = load_site(SITE)
    members = {m.course.patient: m.course for m in read_cohort(CHAIRS / "courses", site).members}
    assert members["P-01"].site is site
    assert members["P-02"].site is not site and members["P-02"].site.name == site.name


def test_from_and_to_plan_only_that_period(cli, here, tmp_path):
    rows, summary = plan_csv(cli, "collide.csv", SITE, "--from", "2026-11-01", "--to", "2026-11-30")
    assert {r["date"] for r in rows} == {"2026-11-16"}
    assert "Period 2026-11-01 to 2026-11-30: 5 of 7 visits" in summary

    result = cli("chairs", "plan", "--cohort", "collide.csv", "--site", SITE, "--from", "2026-12-01",
                 "--to", "2026-11-01")
    assert result.exit_code == 2
    assert result.stderr == "Error: --from: 2026-12-01 is after --to 2026-11-01\n"


# ------------------------------------------------------------------------------- bad input


def test_every_problem_of_a_bad_cohort_on_its_own_line(cli, here, tmp_path):
    report, table, calendar = tmp_path / "report.html", tmp_path / "chairs.csv", tmp_path / "chairs.ics"
    result = cli("chairs", "plan", "--cohort", "bad.csv", "--site", "site-three-chairs.toml",
                 "-o", report, "--csv", table, "--ics", calendar)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: bad.csv: row 3, column patient: 'B-01' is already on row 2: study numbers must be unique",
        "Error: bad.csv: row 4, column start: '2026-02-30' is not a real date (day is out of range for month)",
        "Error: bad.csv: row 5, column start: 'next monday' is not a date in the form YYYY-MM-DD",
        "Error: bad.csv: row 6, column regimen: unknown regimen 'folfox' (built-in: capox, picture; or give a "
        ".toml path)",
        "Error: bad.csv: row 7, column delays: '3-7' is not cycle:days (for example 3:7;5:14)",
        "Error: bad.csv: row 8, column delays: '9:7': cycle 9 is outside 1–6",
        "Error: bad.csv: row 9, column cycles: 'zero' is not a whole number of cycles from 1 to 99",
        "Error: bad.csv: row 10, column course: courses-bad/broken.toml: cycles: 0 is outside 1–99",
        "Error: bad.csv: row 10, column course: courses-bad/broken.toml: language: 'fr' is not one of: en, zh-CN",
        "Error: bad.csv: row 11, column patient: is empty: give the pseudonymous study number",
    ]
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing planned, nothing written


@pytest.mark.parametrize(
    ("cohort", "site", "lines"),
    [
        ("bad-header.csv", "site-three-chairs.toml", [
            "Error: bad-header.csv: row 1, column begin: unknown column 'begin' (allowed: patient, start, "
            "regimen, cycles, delays, course)",
            "Error: bad-header.csv: row 1, column start: is missing: the header needs patient, start "
            "(optional: regimen, cycles, delays, course)",
        ]),
        ("courses-dup", "site-three-chairs.toml", [
            "Error: courses-dup/b.toml: patient: 'D-01' is already the patient of courses-dup/a.toml: "
            "study numbers must be unique",
        ]),
        ("collide.csv", "site-no-chairs.toml", [
            "Error: site-no-chairs.toml: has no [chairs] table: add one with count = <chairs> and hours = "
            "{ mon = [\"08:00\", \"17:30\"], … } (optional: slot_minutes, nurse_starts_per_slot)",
        ]),
        ("missing.csv", "site-three-chairs.toml", ["Error: missing.csv: no such file or folder"]),
        ("courses-bad", "site-three-chairs.toml", [
            "Error: courses-bad/broken.toml: cycles: 0 is outside 1–99",
            "Error: courses-bad/broken.toml: language: 'fr' is not one of: en, zh-CN",
        ]),
    ],
)
def test_bad_cohorts_and_sites(cli, here, tmp_path, cohort, site, lines):
    result = cli("chairs", "plan", "--cohort", cohort, "--site", site, "-o", tmp_path / "r.html")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == lines
    assert not (tmp_path / "r.html").exists()


def test_more_csv_problems(tmp_path, cli):
    (tmp_path / "c.csv").write_text(
        "patient,start,delays\n"
        "X-1,2026-11-02,2:7;2:7\n"
        "X-2,2026-11-02,2:0\n"
        "X-3,2026-11-02,2:7,extra\n"
        "X-4,2026-11-02;\n", encoding="utf-8")
    result = cli("chairs", "plan", "--cohort", tmp_path / "c.csv", "--site", SITE)
    name = tmp_path / "c.csv"
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {name}: row 2, column delays: '2:7': cycle 2 is delayed twice (add the days up)",
        f"Error: {name}: row 3, column delays: '2:0': 0 days is not a delay (non-zero, -28 to 365 days)",
        f"Error: {name}: row 4: has 4 cells but the header has 3 columns (a comma inside a value needs quotes)",
        f"Error: {name}: row 5, column start: '2026-11-02;' is not a date in the form YYYY-MM-DD",
    ]
    (tmp_path / "empty.csv").write_text("# only a comment\n", encoding="utf-8")
    result = cli("chairs", "plan", "--cohort", tmp_path / "empty.csv", "--site", SITE)
    assert result.exit_code == 2
    assert "is empty: give a header row" in result.stderr


# --------------------------------------------------------------------------------- suggest


def test_suggest_hand_worked(cli, here):
    """A new PICTURE patient on top of collide.csv, from Mon 26 Oct:

    26 Oct: C-03 and C-04 take chairs 1 and 2, the newcomer would take chair 3 08:30–12:15: fits.
    But its cycle 2 falls on Mon 16 Nov, already full (C-04 is not placed): the newcomer (195 min)
    cannot be placed either, so 26 Oct is no start. 27 Oct: every day 1 falls on an empty day (the
    last one moved off Spring Festival 2027 to 11 Feb): the first suggestion.
    """
    result = cli("chairs", "suggest", "--cohort", "collide.csv", "--site", "site-three-chairs.toml",
                 "--regimen", "picture", "--earliest", "2026-10-26", "--count", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == ("  1. Tue 2026-10-27: peak 1 of 3 chairs; day 1s 2026-10-27, 2026-11-17, 2026-12-08, "
                        "2026-12-29, 2027-01-19, 2027-02-11")
    assert lines[2] == "       cycle 6 day 1 moved from 2027-02-09 to 2027-02-11 (+2 days): Spring Festival (observed)"
    assert lines[3].startswith("  2. Wed 2026-10-28: peak 1 of 3 chairs; day 1s 2026-10-28,")
    assert lines[-1].startswith("Note: holiday dates for 2027 are estimates")

    # 26 Oct, re-planned with the newcomer: the newcomer's cycle 2 is not placed.
    rows = _replanned(cli, CHAIRS / "collide.csv", "2026-10-26", Path(tempfile.mkdtemp()))
    assert [(r["patient"], r["cycle"], r["date"]) for r in rows if r["status"] == "unplaced"] == [
        ("C-04", "2", "2026-11-16"), ("PIC-NEW", "2", "2026-11-16")]


def _replanned(cli, cohort: Path, start: str, folder: Path) -> list[dict[str, str]]:
    """The cohort with a new patient PIC-NEW starting on ``start``, planned again."""
    text = cohort.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line and not line.startswith("#"))
    cells = {"patient": "PIC-NEW", "start": start, "regimen": "picture"}
    row = ",".join(cells.get(column, "") for column in header.split(","))
    extended = folder / f"with-{start}.csv"
    extended.write_text(text + row + "\n", encoding="utf-8")
    rows, _ = plan_csv(cli, extended)
    return rows


@pytest.mark.parametrize(("cohort", "site", "earliest"), [
    (CHAIRS / "collide.csv", SITE, "2026-10-26"),
    (CHAIRS / "national-day.csv", SITE, "2026-09-10"),
])
def test_suggested_starts_overload_nothing_when_planned_with_the_cohort(cli, tmp_path, cohort, site, earliest):
    result = cli("chairs", "suggest", "--cohort", cohort, "--site", site, "--regimen", "picture",
                 "--earliest", earliest, "--count", "4")
    assert result.exit_code == 0, result.output
    starts = re.findall(r"^ +\d+\. \w{3} (\d{4}-\d\d-\d\d):", result.stdout, flags=re.M)
    assert len(starts) == 4

    base, _ = plan_csv(cli, cohort, site)
    base_unplaced = {(r["patient"], r["cycle"]) for r in base if r["status"] == "unplaced"}
    base_over = {r["date"] for r in base if r["status"] == "unplaced"}
    for start in starts:
        rows = _replanned(cli, cohort, start, tmp_path)
        new = [r for r in rows if r["patient"] == "PIC-NEW"]
        assert len(new) == 6 and all(r["status"] == "placed" for r in new), (start, new)
        assert new[0]["date"] == start
        assert {(r["patient"], r["cycle"]) for r in rows if r["status"] == "unplaced"} == base_unplaced
        # No day the newcomer comes is over capacity (days already over stay as they were).
        days = {r["date"] for r in new}
        for day in days - base_over:
            demand = sum(int(r["minutes"]) for r in rows if r["date"] == day)
            assert demand <= 3 * 420, (start, day)


def test_suggest_needs_a_known_regimen(cli, here):
    result = cli("chairs", "suggest", "--cohort", "collide.csv", "--site", "site-three-chairs.toml",
                 "--regimen", "folfox", "--earliest", "2026-10-26")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --regimen: unknown regimen 'folfox'")


# ------------------------------------------------------------------------ outputs read back


def test_csv_has_one_row_per_appointment(cli, here):
    rows, _ = plan_csv(cli, "collide.csv")
    assert list(rows[0]) == ["patient", "cycle", "date", "chair", "start", "end", "minutes", "regimen", "note",
                             "status", "reason"]
    assert Counter((r["patient"], r["cycle"]) for r in rows) == Counter(
        {("C-03", "1"): 1, ("C-04", "1"): 1, ("C-01", "1"): 1, ("C-02", "1"): 1, ("C-05", "1"): 1,
         ("C-03", "2"): 1, ("C-04", "2"): 1})
    for r in rows:
        if r["status"] == "placed":
            start = dt.datetime.strptime(r["date"] + r["start"], "%Y-%m-%d%H:%M")
            end = dt.datetime.strptime(r["date"] + r["end"], "%Y-%m-%d%H:%M")
            assert (end - start) == dt.timedelta(minutes=int(r["minutes"]))
            # Since "planned time first" (issue 11) a placed visit's reason says why it is not at its
            # planned time (the site's [infusion] start, 08:00 here): empty when it is at 08:00.
            planned = r["start"] == "08:00"
            assert r["reason"] == ("" if planned else f"moved from 08:00 to {r['start']}: the nurse limit of 1 "
                                   "starts per slot is reached at 08:00")
        else:
            assert r["chair"] == r["start"] == r["end"] == "" and r["reason"]


def _ics(cli, cohort: str, folder: Path) -> bytes:
    target = folder / "chairs.ics"
    result = cli("chairs", "plan", "--cohort", cohort, "--site", SITE, "--ics", target)
    assert result.exit_code == 0, result.output
    return target.read_bytes()


def test_ics_reads_back_in_icalendar_and_independent_parsers(cli, here, tmp_path):
    import icalendar

    data = _ics(cli, "national-day.csv", tmp_path)
    assert icalcheck.lint(data) == []
    rows, _ = plan_csv(cli, "national-day.csv")

    expected = {}
    for r in rows:
        if r["status"] == "placed":
            local = dt.datetime.strptime(r["date"] + r["start"], "%Y-%m-%d%H:%M")
            start = (local - SHANGHAI).replace(tzinfo=dt.UTC)
            expected[f"{r['patient']} · cycle {r['cycle']} · chair {r['chair']}"] = (
                start, start + dt.timedelta(minutes=int(r["minutes"])))
        else:
            day = dt.date.fromisoformat(r["date"])
            expected[f"NOT PLACED: {r['patient']} · cycle {r['cycle']}"] = (day, day + dt.timedelta(days=1))

    for parse in (icalcheck.parse_ical, icalcheck.parse_vobject, icalcheck.parse_icalendar):
        events = parse(data)
        assert {e["summary"]: (e["start_utc"], e["end_utc"]) for e in events} == expected, parse.__name__
        assert len({e["uid"] for e in events}) == len(events)

    calendar = icalendar.Calendar.from_ical(data)
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Shanghai"
    events = calendar.walk("VEVENT")
    assert {str(e["DTSTART"].params.get("TZID")) for e in events if isinstance(e["DTSTART"].dt, dt.datetime)} == {
        "Asia/Shanghai"}
    # DTSTAMP comes from the data (no course file records a time: midnight of the earliest start,
    # 10 Sep 2026 in Shanghai), never from the clock.
    assert {e["DTSTAMP"].dt for e in events} == {dt.datetime(2026, 9, 9, 16, 0, tzinfo=dt.UTC)}
    text = data.decode("utf-8")
    assert "Test day unit" in text  # the site's location


def test_ics_is_deterministic_with_stable_uids(cli, here, tmp_path):
    first = _ics(cli, "collide.csv", tmp_path)
    second = _ics(cli, "collide.csv", tmp_path)
    assert first == second
    uids = {e["summary"].split(" · chair")[0].removeprefix("NOT PLACED: "): e["uid"]
            for e in icalcheck.parse_ical(first)}
    # The same patient and cycle keep their UID in another cohort (here: planned alone).
    (tmp_path / "alone.csv").write_text("patient,start,cycles\nC-04,2026-10-26,2\n", encoding="utf-8")
    alone = _ics(cli, str(tmp_path / "alone.csv"), tmp_path)
    for event in icalcheck.parse_ical(alone):
        key = event["summary"].split(" · chair")[0]
        assert uids[key] == event["uid"]


def test_ics_stamp_comes_from_course_files(cli, here, tmp_path):
    """P-01's course file was created 2026-10-20 09:30 and its change recorded 2026-11-20 16:00
    (Shanghai): the latest, 08:00 UTC, stamps every event."""
    import icalendar

    data = _ics(cli, "with-course.csv", tmp_path)
    stamps = {e["DTSTAMP"].dt for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}
    assert stamps == {dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.handlers: list[str] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag not in ("meta", "br", "img", "input", "link", "hr", "rect", "line", "circle", "use"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1
        self.handlers += [name for name, _ in attrs if name.startswith("on")]

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _report(cli, cohort: str | Path, folder: Path, site: Path = SITE) -> str:
    target = folder / "report.html"
    result = cli("chairs", "plan", "--cohort", cohort, "--site", site, "-o", target)
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8")


def test_html_report_has_svg_figures_and_no_script(cli, here, tmp_path):
    page = _report(cli, "collide.csv", tmp_path)
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert parser.tags["script"] == 0 and parser.handlers == []
    # The shared patterns, the legend, one calendar per month (October, November), the hourly chart.
    assert parser.tags["svg"] == 5

    svgs = [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S)]  # well-formed XML
    defs, legend, *months, chart = svgs
    ns = "{http://www.w3.org/2000/svg}"
    assert {p.get("id") for p in defs.iter(f"{ns}pattern")} == {"hatch", "dots", "lines"}
    assert [t.text for t in legend.iter(f"{ns}text")][-3:] == ["over capacity (!)", "holiday (H)", "unit closed"]
    assert [next(t.text for t in m.iter(f"{ns}text") if t.get("class") == "mt") for m in months] == [
        "October 2026", "November 2026"]
    cells = {g.find(f"{ns}title").text: g for m in months for g in m.iter(f"{ns}g")}
    assert len(cells) == 31 + 30
    over = next(g for title, g in cells.items() if title.startswith("2026-11-16"))
    assert "over" in over.find(f"{ns}rect").get("class")
    assert [t.text for t in over.iter(f"{ns}text")] == ["16", "5!"]  # text, not colour alone
    busy = next(g for title, g in cells.items() if title.startswith("2026-10-26"))
    assert busy.find(f"{ns}rect").get("class") == "cell level2"  # 450 of 1260 chair-minutes: 36 %
    assert [t.text for t in busy.iter(f"{ns}text")] == ["26", "2"]
    assert next(g for title, g in cells.items() if title.startswith("2026-10-31")).find(
        f"{ns}rect").get("class") == "cell closed"
    labels = [t.text for t in chart.iter(f"{ns}text")]
    assert "08:00" in labels and "14:00" in labels and "average" in labels

    text = " ".join(" ".join(parser.text).split())
    assert "Needs attention" in text
    assert "C-04 2 195 picture no chair free for 195 min before 15:00" in text
    # Chairs by day: booked 870 min = 14:30 chair-hours of 1260 = 21:00; load 1065 / 1260 = 85 %.
    assert "2026-11-16 Mon 5 14:30 21:00 85 % 3" in text
    assert "C-01 c1, C-02 c1, C-05 c1, C-03 c2, C-04 c2 (not placed)" in text


def test_html_report_escapes_what_the_cohort_says(cli, tmp_path):
    (tmp_path / "c.csv").write_text('patient,start,cycles\n"<b>X&1</b>",2026-11-02,1\n', encoding="utf-8")
    page = _report(cli, tmp_path / "c.csv", tmp_path)
    assert "&lt;b&gt;X&amp;1&lt;/b&gt;" in page
    assert "<b>" not in page


def test_sample_report_lists_every_patient(cli):
    from tests.conftest import ROOT

    page = _report(cli, ROOT / "examples" / "cohort-23.csv", Path(tempfile.mkdtemp()), ROOT / "examples" / "site-nanjing.toml")
    for number in range(1, 24):
        assert f"PIC-{number:03d} c6" in page
    assert "holiday dates for 2027 are estimates" in page


# ------------------------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_appears_on_a_terminal_after_a_second():
    now = [0.0]
    stream = _Terminal()
    with Progress(100, "Planning chairs", started=0.0, stream=stream, clock=lambda: now[0]) as bar:
        bar(10)
        now[0] = 0.5
        bar(40)
        assert stream.getvalue() == ""  # quick work: no bar
        now[0] = 1.2
        bar(70)
        bar(100)
    assert "Planning chairs" in stream.getvalue()
    assert "100%" in stream.getvalue()


def test_no_progress_bar_off_a_terminal():
    stream = io.StringIO()
    with Progress(100, "Planning chairs", started=-10.0, stream=stream) as bar:
        bar(50)
        bar(100)
    assert stream.getvalue() == ""


def test_cli_output_has_no_progress_when_not_on_a_terminal(cli, here):
    result = cli("chairs", "plan", "--cohort", "collide.csv", "--site", "site-three-chairs.toml")
    assert result.exit_code == 0
    assert "Expanding" not in result.output and "Planning chairs" not in result.output


def test_chairs_help_is_lean():
    from tests.test_startup import HEAVY, loaded_modules

    for args in (("chairs", "--help"), ("chairs", "plan", "--help")):
        assert not loaded_modules(*args) & set(HEAVY)


def test_chairs_commands_have_help_with_examples(cli):
    for command in (["chairs"], ["chairs", "plan"], ["chairs", "suggest"]):
        result = cli(*command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output and "picture-schedule chairs" in result.output


# --------------------------------------------------------------------- a cohort-level property

SITE_FOR_PROPERTIES = load_site(SITE)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    starts=st.lists(st.integers(0, 60), min_size=1, max_size=8),
    delays=st.lists(st.tuples(st.integers(2, 3), st.integers(1, 14)), min_size=8, max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_a_cohort_plans_every_cycle_of_every_patient_once(starts, delays, order):
    """Through the CSV: one appointment per cycle, on the cycle's (shifted) day 1 with its chair
    time; every appointment booked or listed; the plan does not depend on the order of the rows."""
    rows = [f"R-{i:02d},{dt.date(2026, 9, 1) + dt.timedelta(days=s)},2,{delays[i][0] - 1}:{delays[i][1]}"
            for i, s in enumerate(starts)]
    with tempfile.TemporaryDirectory() as folder:
        results = []
        for permutation in (rows, order.sample(rows, len(rows))):
            path = Path(folder) / "c.csv"
            path.write_text("patient,start,cycles,delays\n" + "\n".join(permutation) + "\n", encoding="utf-8")
            cohort = read_cohort(path, SITE_FOR_PROPERTIES)
            schedules = expand_cohort(cohort)
            visits = appointments(schedules)
            by_cycle = {(s.course.patient, c.number): c for s in schedules for c in s.cycles}
            assert len(visits) == len(by_cycle) == 2 * len(rows)
            for a in visits:
                cycle = by_cycle[(a.patient, a.cycle)]
                assert (a.day, a.minutes, a.note) == (cycle.day1, cycle.chair_minutes,
                                                      reason_text(cycle.shift_reason, "en"))
            result = plan(visits, SITE_FOR_PROPERTIES.chairs)  # type: ignore[arg-type]
            placed = Counter(b.appointment for b in result.bookings) + Counter(u.appointment for u in result.unplaced)
            assert placed == Counter(visits)
            results.append(result)
        assert results[0] == results[1]



def test_make_up_working_day_uses_the_sites_make_up_hours(cli, here):
    """The same cohort with `[chairs] make_up_hours = ["08:30", "12:00"]`: Sat 10 Oct 2026 is a
    make-up working day, so the unit opens 08:30–12:00 (210 min). N-03's 225-min visit is longer
    than that: still not placed, but now for that reason, not "unit closed on Saturday"."""
    rows, summary = plan_csv(cli, "national-day.csv", CHAIRS / "site-make-up-days.toml")
    assert rows[3]["patient"] == "N-03" and rows[3]["status"] == "unplaced"
    assert rows[3]["reason"] == "longer than opening hours (225 min; open 08:30–12:00, 210 min)"


def test_make_up_hours_place_a_visit_that_fits(tmp_path):
    from picture_schedule.planning.cohort import unit_on_calendar

    site = load_site(CHAIRS / "site-make-up-days.toml")
    unit = unit_on_calendar(site, site.chairs, dt.date(2026, 10, 5), dt.date(2026, 10, 12))  # type: ignore[arg-type]
    # only Sat 10 Oct is a make-up working day in that week (Sun 11 Oct is an ordinary Sunday)
    assert dict(unit.dated) == {dt.date(2026, 10, 10): (dt.time(8, 30), dt.time(12, 0))}
    result = plan([Appointment("N-09", 1, dt.date(2026, 10, 10), 195)], unit)
    (booking,) = result.bookings
    assert (booking.chair, booking.start.time(), booking.end.time()) == (1, dt.time(8, 30), dt.time(11, 45))


# ------------------------------------------------------------------------ reports at scale


def _overbooked(days: int, per_day: int) -> tuple[list[Appointment], "object"]:
    """``per_day`` visits of 180 min on each of ``days`` Mondays for a 1-chair unit open 08:00–12:00:
    one placed a day, the rest not."""
    from picture_schedule.core.chair_plan import Unit

    unit = Unit(chairs=1, hours={1: (dt.time(8), dt.time(12))}, slot_minutes=15)
    first = dt.date(2027, 3, 1)
    visits = [Appointment(f"P{d:02d}-{n:03d}", 1, first + dt.timedelta(weeks=d), 180, "picture")
              for d in range(days) for n in range(per_day)]
    return visits, unit


def _view(result, monkeypatch, listed: int, named: int):
    from picture_schedule.core.model import Site
    from picture_schedule.render import chair_report as render

    monkeypatch.setattr(render, "UNPLACED_LISTED", listed)
    monkeypatch.setattr(render, "DAY_UNPLACED_NAMED", named)
    return render.report(result, site=Site(name="Unit"), cohort="c.csv", patients=len(result.bookings))


def test_report_lists_the_first_unplaced_visits_and_counts_the_rest_by_day(monkeypatch):
    from picture_schedule.render import chair_report as render

    visits, unit = _overbooked(days=3, per_day=6)  # 3 placed, 15 not placed
    result = plan(visits, unit)
    assert len(result.unplaced) == 15
    view = _view(result, monkeypatch, listed=4, named=2)
    assert view.unplaced_total == 15
    assert [(u.date, u.patient) for u in view.unplaced] == [
        (u.appointment.day.isoformat(), u.appointment.patient) for u in result.unplaced[:4]]
    # the other 11, per day: 1 left on the first Monday, 5 on each of the next two
    assert [(d.date, d.visits, d.hours) for d in view.unplaced_days] == [
        ("2027-03-01", 1, "3:00"), ("2027-03-08", 5, "15:00"), ("2027-03-15", 5, "15:00")]
    assert view.unplaced_days[1].reasons == "no chair free for 180 min before 12:00 (5)"
    assert view.days[0].patients.endswith("(not placed), and 3 more not placed")  # 2 named of 5
    page = render.to_html(view)
    assert "15 visits not placed" in page and "the other\n  11, by day" in page
    assert render.to_csv(result).count(",unplaced,") == 15  # the CSV keeps every row


def test_report_grows_with_the_days_not_with_the_visits_left_out(monkeypatch):
    sizes = []
    for per_day in (10, 40):
        visits, unit = _overbooked(days=5, per_day=per_day)
        view = _view(plan(visits, unit), monkeypatch, listed=3, named=2)
        rows = len(view.unplaced) + len(view.unplaced_days) + len(view.days)
        sizes.append((rows, max(d.patients.count(" c1") for d in view.days)))
    assert sizes[0] == sizes[1] == (13, 3)  # 4× the visits left out, the same rows; 1 booked + 2 named a day
