"""A cohort: the patients of a day unit, read from a CSV or a folder of course files.

Reading collects every problem (naming the file, the row and the column) before failing, so
nothing is planned from a half-read cohort. Expanding gives each patient's :class:`Schedule`;
:func:`appointments` turns the schedules into the chair planner's day-1 visits. Every date comes
from the scheduler: this module computes none.

Glossary
--------
Cohort
    The patients whose day-1 infusions share the unit's chairs, each with their course.
Member
    One patient of the cohort: a course and where it came from (a CSV row or a course file).
Plain member
    A member read from a CSV row without a course file: the regimen as published from its
    start, on the command line's site, with the row's delays as changes.
Newcomer
    The patient ``suggest`` looks for a start for: a plain course of a regimen.

The cohort CSV (UTF-8, a header row, one row per patient; lines starting with ``#`` are
comments)::

    patient,start,regimen,cycles,delays,course
    PIC-001,2026-12-07,picture,,3:7,
    PIC-002,,,,,courses/PIC-002.toml

``patient`` and ``start`` are required (``start`` may be left out when the row names a course
file); ``regimen`` (default ``picture``; a built-in name or a regimen file relative to the CSV),
``cycles`` (default: the regimen's), ``delays`` (``cycle:days;cycle:days``, each one a change
with the reason "cohort delay") and ``course`` (a course file relative to the CSV, which then
gives the start, regimen, cycles and changes) are optional.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picture_schedule.core.chair_plan import Appointment, Unit
from picture_schedule.core.model import Change, Course, Regimen, Schedule, Site
from picture_schedule.core.scheduler import expand
from picture_schedule.errors import InputError, Problems, ScheduleError
from picture_schedule.loading import load_course, load_regimen, parse_date, read_toml
from picture_schedule.loading.reader import STUDY_NUMBER_MAX, read_input, text_problem
from picture_schedule.render.messages import reason_text

if TYPE_CHECKING:
    from picture_schedule.core.clinic import ClinicCalendar

__all__ = [
    "COLUMNS",
    "DELAY_REASON",
    "Cohort",
    "Member",
    "Newcomer",
    "appointments",
    "calendar",
    "closures",
    "expand_cohort",
    "newcomer",
    "newcomer_name",
    "read_cohort",
]

#: Columns a cohort CSV may have, in the order the documentation gives them.
COLUMNS = ("patient", "start", "regimen", "cycles", "delays", "course")
REQUIRED = ("patient", "start")
DELAY_REASON = "cohort delay"
DEFAULT_REGIMEN = "picture"
_DELAY = re.compile(r"\s*(\d+)\s*:\s*([+-]?\d+)\s*")
_MIN_DELAY, _MAX_DELAY = -28, 365  # the course file's limits for delay_days


@dataclass(frozen=True)
class Member:
    """One patient of a cohort and where they came from (``cohort.csv row 4``, a course file)."""

    course: Course
    origin: str
    plain: bool  # read from a CSV row without a course file


@dataclass(frozen=True)
class Cohort:
    """The members in the order they were read, and the files of a folder that are not courses."""

    source: str
    members: tuple[Member, ...]
    skipped: tuple[str, ...] = ()  # "site-nanjing.toml (a site file)"

    @property
    def courses(self) -> tuple[Course, ...]:
        return tuple(m.course for m in self.members)


# ----------------------------------------------------------------------------- reading


def read_cohort(path: str | Path, site: Site) -> Cohort:
    """A cohort CSV or a folder of course files; plain members (and courses naming no site) get ``site``.

    Raises :class:`~picture_schedule.errors.Problems` (or one :class:`InputError`) listing every
    problem found.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, site)
    return _read_csv(path, site)


def _raise(problems: list[ScheduleError]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise Problems(problems)


def _read_text(path: Path, label: str) -> str:
    """The cohort CSV, read (bounded, regular files only) by the one input reader."""
    if not os.path.lexists(path):
        raise InputError("no such file or folder", source=label)
    try:
        return read_input(path, label).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text (save the spreadsheet as CSV UTF-8)", source=label) from None


class _Rows:
    """Collects a CSV's problems; each names the file, the row (line of the file) and the column."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[ScheduleError] = []

    def problem(self, row: int | None, column: str | None, message: str) -> None:
        where = ", ".join(part for part in (
            f"row {row}" if row is not None else None,
            f"column {column}" if column is not None else None,
        ) if part)
        self.problems.append(InputError(message, source=self.label, field=where or None))


def _read_csv(path: Path, site: Site) -> Cohort:
    label = str(path)
    text = _read_text(path, label)
    rows = _Rows(label)
    header_line, header, records = _records(text, rows)
    if header is None:
        raise rows.problems[0] if rows.problems else InputError(
            "is empty: give a header row (patient,start,…) and a row per patient", source=label)
    columns = _columns(header, header_line, rows)
    if rows.problems:  # a bad header makes every row meaningless
        _raise(rows.problems)

    regimens: dict[str, Regimen | ScheduleError] = {}
    members: list[Member] = []
    first_row: dict[str, int] = {}
    for line, cells in records:
        if len(cells) > len(header):
            rows.problem(line, None, f"has {len(cells)} cells but the header has {len(header)} columns "
                                     "(a comma inside a value needs quotes)")
            continue
        values = {name: (cells[i].strip() if i < len(cells) else "") for name, i in columns.items()}
        member = _member(values, line, path, site, rows, regimens)
        patient = member.course.patient if member is not None else values.get("patient", "")
        if patient in first_row:
            rows.problem(line, "patient", f"{patient!r} is already on row {first_row[patient]}: "
                                          "study numbers must be unique")
            continue
        if patient:
            first_row[patient] = line
        if member is not None:
            members.append(member)
    if not members and not rows.problems:
        rows.problem(None, None, "has no patients: add a row per patient under the header")
    _raise(rows.problems)
    return Cohort(label, tuple(members))


def _records(text: str, rows: _Rows) -> tuple[int, list[str] | None, list[tuple[int, list[str]]]]:
    """The header (and its line) and the data rows with their lines; comments and blank lines left out."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    header_line = 1
    records: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header, header_line = cells, reader.line_num
            else:
                records.append((reader.line_num, cells))
    except csv.Error as exc:
        rows.problem(reader.line_num, None, f"is not valid CSV ({exc})")
    return header_line, header, records


def _columns(header: list[str], line: int, rows: _Rows) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lower()
        if name not in COLUMNS:
            rows.problem(line, raw.strip() or f"{index + 1}",
                         f"unknown column {raw.strip()!r} (allowed: {', '.join(COLUMNS)})")
        elif name in columns:
            rows.problem(line, name, "appears twice in the header")
        else:
            columns[name] = index
    for name in REQUIRED:
        if name not in columns and not (name == "start" and "course" in columns):
            rows.problem(line, name, f"is missing: the header needs {', '.join(REQUIRED)} "
                                     f"(optional: {', '.join(c for c in COLUMNS if c not in REQUIRED)})")
    return columns


def _member(
    values: Mapping[str, str], line: int, csv_path: Path, site: Site, rows: _Rows,
    regimens: dict[str, Regimen | ScheduleError],
) -> Member | None:
    before = len(rows.problems)
    origin = f"{csv_path} row {line}"
    patient = values.get("patient", "")
    course_ref = values.get("course", "")
    if course_ref:
        return _course_member(values, line, csv_path, site, rows, regimens, origin)
    if not patient:
        rows.problem(line, "patient", "is empty: give the pseudonymous study number")
    elif problem := text_problem(patient, STUDY_NUMBER_MAX):
        rows.problem(line, "patient", problem)
    start = None
    if not values.get("start", ""):
        rows.problem(line, "start", "is empty: give cycle 1 day 1 as YYYY-MM-DD (or a course file)")
    else:
        try:
            start = parse_date(values["start"])
        except ScheduleError as exc:
            rows.problem(line, "start", exc.message)
    regimen = _regimen(values.get("regimen", "") or DEFAULT_REGIMEN, line, csv_path, rows, regimens)
    cycles = _cycles(values.get("cycles", ""), line, rows, regimen)
    changes = _delays(values.get("delays", ""), line, rows, cycles if cycles is not None else 99)
    if len(rows.problems) > before or start is None or regimen is None or cycles is None:
        return None
    course = Course(patient=patient, regimen=regimen, start=start, cycles=cycles, site=site,
                    changes=changes, source=origin)
    return Member(course, origin, plain=True)


def _course_member(
    values: Mapping[str, str], line: int, csv_path: Path, site: Site, rows: _Rows,
    regimens: dict[str, Regimen | ScheduleError], origin: str,
) -> Member | None:
    ref = values["course"]
    file = Path(ref) if Path(ref).is_absolute() else csv_path.parent / ref
    try:
        course = load_course(file)
    except Problems as exc:
        for problem in exc.problems:
            rows.problem(line, "course", str(problem))
        return None
    except ScheduleError as exc:
        rows.problem(line, "course", str(exc.located(ref)))
        return None
    before = len(rows.problems)
    patient = values.get("patient", "")
    if patient and patient != course.patient:
        rows.problem(line, "patient", f"{patient!r} differs from the course file's patient {course.patient!r}")
    if values.get("start", ""):
        try:
            start = parse_date(values["start"])
        except ScheduleError as exc:
            rows.problem(line, "start", exc.message)
        else:
            if start != course.start:
                rows.problem(line, "start", f"{start} differs from the course file's start {course.start} "
                                            "(leave it empty: the course file gives it)")
    if values.get("regimen", ""):
        regimen = _regimen(values["regimen"], line, csv_path, rows, regimens)
        if regimen is not None and regimen.id != course.regimen.id:
            rows.problem(line, "regimen", f"{values['regimen']!r} differs from the course file's regimen "
                                          f"{course.regimen.id!r} (leave it empty)")
    if values.get("cycles", "") and values["cycles"] != str(course.cycles):
        rows.problem(line, "cycles", f"{values['cycles']!r} differs from the course file's {course.cycles} "
                                     "cycles (leave it empty)")
    if values.get("delays", ""):
        rows.problem(line, "delays", "record a course file's delays in its [[changes]] (leave this empty)")
    if len(rows.problems) > before:
        return None
    if course.site is None:
        course = replace(course, site=site)
    return Member(course, f"{origin} ({ref})", plain=False)


def _regimen(
    ref: str, line: int, csv_path: Path, rows: _Rows, regimens: dict[str, Regimen | ScheduleError]
) -> Regimen | None:
    if ref not in regimens:
        try:
            regimens[ref] = load_regimen(ref, csv_path.parent)
        except ScheduleError as exc:
            regimens[ref] = exc
    found = regimens[ref]
    if isinstance(found, Problems):
        for problem in found.problems:
            rows.problem(line, "regimen", str(problem))
        return None
    if isinstance(found, ScheduleError):
        rows.problem(line, "regimen", str(found))
        return None
    return found


def _cycles(text: str, line: int, rows: _Rows, regimen: Regimen | None) -> int | None:
    if not text:
        return regimen.cycles if regimen is not None else None
    if not re.fullmatch(r"\d+", text) or not 1 <= int(text) <= 99:
        rows.problem(line, "cycles", f"{text!r} is not a whole number of cycles from 1 to 99")
        return None
    return int(text)


def _delays(text: str, line: int, rows: _Rows, cycles: int) -> tuple[Change, ...]:
    """``3:7;5:14`` → changes delaying cycle 3 by 7 days and cycle 5 by 14 (reason "cohort delay")."""
    if not text:
        return ()
    changes: list[Change] = []
    seen: set[int] = set()
    for item in text.split(";"):
        if not item.strip():
            continue
        match = _DELAY.fullmatch(item)
        if match is None:
            rows.problem(line, "delays", f"{item.strip()!r} is not cycle:days (for example 3:7;5:14)")
            continue
        cycle, days = int(match[1]), int(match[2])
        if not 1 <= cycle <= cycles:
            rows.problem(line, "delays", f"{item.strip()!r}: cycle {cycle} is outside 1–{cycles}")
        elif cycle in seen:
            rows.problem(line, "delays", f"{item.strip()!r}: cycle {cycle} is delayed twice (add the days up)")
        elif days == 0 or not _MIN_DELAY <= days <= _MAX_DELAY:
            rows.problem(line, "delays", f"{item.strip()!r}: {days} days is not a delay "
                                         f"(non-zero, {_MIN_DELAY} to {_MAX_DELAY} days)")
        else:
            seen.add(cycle)
            changes.append(Change(cycle=cycle, reason=DELAY_REASON, delay_days=days))
    return tuple(sorted(changes, key=lambda c: c.cycle))


def _read_folder(folder: Path, site: Site) -> Cohort:
    """Every ``*.toml`` course file of ``folder`` (site and regimen files there are skipped, and listed)."""
    label = str(folder)
    problems: list[ScheduleError] = []
    members: list[Member] = []
    skipped: list[str] = []
    first_file: dict[str, str] = {}
    files = sorted(folder.glob("*.toml"))
    for file in files:
        try:
            data, _ = read_toml(file)
        except ScheduleError as exc:
            problems.append(exc)
            continue
        if "agents" in data:
            skipped.append(f"{file.name} (a regimen file)")
            continue
        if "patient" not in data and "start" not in data:
            skipped.append(f"{file.name} (a site file)")
            continue
        try:
            course = load_course(file)
        except Problems as exc:
            problems.extend(exc.problems)
            continue
        except ScheduleError as exc:
            problems.append(exc.located(str(file)))
            continue
        if course.patient in first_file:
            problems.append(InputError(f"{course.patient!r} is already the patient of {first_file[course.patient]}: "
                                       "study numbers must be unique", source=str(file), field="patient"))
            continue
        first_file[course.patient] = str(file)
        if course.site is None:
            course = replace(course, site=site)
        members.append(Member(course, str(file), plain=False))
    if not members and not problems:
        problems.append(InputError("holds no course files (*.toml with patient and start)", source=label))
    _raise(problems)
    return Cohort(label, tuple(members), tuple(skipped))


# --------------------------------------------------------------------------- expanding


_CALENDARS: dict[int, tuple[Site, ClinicCalendar]] = {}
_CALENDARS_KEPT = 8


def calendar(site: Site) -> ClinicCalendar:
    """The clinic calendar of ``site`` (what ``scheduler.schedule`` builds for each course), kept for the
    last few site objects: building one, and filling in a year of holidays, takes milliseconds."""
    key = id(site)
    found = _CALENDARS.get(key)
    if found is None or found[0] is not site:
        from picture_schedule.core.scheduler import calendar_for

        while len(_CALENDARS) >= _CALENDARS_KEPT:
            _CALENDARS.pop(next(iter(_CALENDARS)))
        found = _CALENDARS[key] = (site, calendar_for(site))
    return found[1]


def unit_on_calendar(site: Site, unit: Unit, first: dt.date, last: dt.date) -> Unit:
    """``unit`` (a chairs.Unit) also open, with ``[chairs] make_up_hours``, on the days between
    ``first`` and ``last`` that the clinic calendar opens although their weekday has no hours
    (weekend make-up working days, extra openings). Without that setting the unit is unchanged and
    such visits are reported as not placed."""
    if unit.make_up_hours is None or last < first:
        return unit
    cal = calendar(site)
    dated: dict[dt.date, tuple[dt.time, dt.time]] = {}
    day = first
    while day <= last:
        if day.isoweekday() not in unit.hours and cal.is_open(day):
            dated[day] = unit.make_up_hours
        day += dt.timedelta(days=1)
    return replace(unit, dated=dated)


def expand_cohort(
    cohort: Cohort, *, progress: Callable[[int], None] | None = None
) -> tuple[Schedule, ...]:
    """Each member's schedule, on its site's clinic calendar (what ``scheduler.schedule`` gives).

    Plain members that differ only in their study number share one expansion (the scheduler
    never reads the study number), so a cohort of thousands with a few hundred distinct starts
    expands a few hundred courses. ``progress(n)`` gets the number of members done, about every
    1 % and at the end. A member whose expansion fails is reported with the others.
    """
    shared: dict[tuple[Any, ...], Schedule] = {}
    schedules: list[Schedule] = []
    failed: dict[tuple[str, str | None], list[str]] = {}  # (message, field) -> origins
    total = len(cohort.members)
    step = max(1, math.ceil(total / 100))
    for done, member in enumerate(cohort.members, start=1):
        course = member.course
        key = _share_key(member)
        try:
            if key is not None and key in shared:
                schedules.append(replace(shared[key], course=course))
            else:
                expanded = expand(course, calendar(course.site) if course.site is not None else None, brief=True)
                if key is not None:
                    shared[key] = expanded
                schedules.append(expanded)
        except ScheduleError as exc:
            failed.setdefault((exc.message, exc.field), []).append(member.origin)
        if progress is not None and (done % step == 0 or done == total):
            progress(done)
    problems: list[ScheduleError] = []
    for (message, field), origins in failed.items():
        more = f" (and {len(origins) - 1} more patients)" if len(origins) > 1 else ""
        problems.append(InputError(message + more, source=origins[0], field=field))
    _raise(problems)
    return tuple(schedules)


def _share_key(member: Member) -> tuple[Any, ...] | None:
    """What a plain member's expansion depends on; None for a course file (expanded on its own)."""
    if not member.plain:
        return None
    c = member.course
    return (id(c.regimen), id(c.site), c.start, c.cycles, tuple((x.cycle, x.delay_days) for x in c.changes))


def appointments(schedules: Iterable[Schedule]) -> list[Appointment]:
    """One day-1 visit per cycle that needs a chair: its day, chair minutes, shift note and planned time.

    Day, chair time (preparation + infusions + observation), note and planned time all come from
    the schedule's cycles; a cycle whose infusions are all omitted takes no chair. The planned time
    is the day-1 time the patient's outputs give: the chair booked for that day 1 (kept on its chair
    when free), else the site's infusion start.
    """
    return [
        Appointment(
            patient=s.course.patient,
            cycle=cycle.number,
            day=cycle.day1,
            minutes=cycle.chair_minutes,
            regimen=s.regimen.id,
            note=reason_text(cycle.shift_reason, "en"),
            planned=cycle.booking.start if cycle.booking else cycle.infusion_start,
            booked=cycle.booking is not None,
            chair=chair_number(cycle.booking.chair) if cycle.booking else None,
        )
        for s in schedules
        for cycle in s.cycles
        if cycle.chair_minutes > 0
    ]


def chair_number(name: str) -> int | None:
    """The unit's chair number (from 1) a booking names ("3"), or None for another name ("C3")."""
    return int(name) if name.isascii() and name.isdecimal() and int(name) >= 1 else None


class Newcomer:
    """``suggest``'s callback: a new plain course of ``regimen`` from a start, on ``site``'s calendar.

    Calling it with a start gives that course's day-1 appointments. A start on a day the clinic
    is closed gives none (its shifted day 1 is tried as a start of its own), so every suggestion
    is a day the patient can actually begin.
    """

    def __init__(self, regimen: Regimen, site: Site, patient: str, *, cycles: int | None = None) -> None:
        self.regimen = regimen
        self.site = site
        self.patient = patient
        self.cycles = cycles or regimen.cycles
        self._calendar = calendar(site)

    def schedule(self, start: dt.date) -> Schedule:
        """The newcomer's schedule from ``start``."""
        course = Course(patient=self.patient, regimen=self.regimen, start=start, cycles=self.cycles, site=self.site)
        return expand(course, self._calendar, brief=True)

    def __call__(self, start: dt.date) -> list[Appointment]:
        expanded = self.schedule(start)
        if not expanded.cycles or expanded.cycles[0].day1 != start:
            return []
        return appointments([expanded])


def newcomer(regimen: Regimen, site: Site, patient: str, *, cycles: int | None = None) -> Newcomer:
    """See :class:`Newcomer`."""
    return Newcomer(regimen, site, patient, cycles=cycles)


def newcomer_name(patients: Sequence[str]) -> str:
    """A study number for the newcomer that sorts after every patient of the cohort.

    The planner breaks ties between visits of equal length by study number; a newcomer that
    loses every tie fits only where it would fit under any study number it is later given.
    """
    return max(patients, default="") + "~new"


def closures(site: Site, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """Days from ``first`` to ``last`` the unit has opening hours but the clinic is closed, and why."""
    unit = site.chairs
    if not isinstance(unit, Unit):
        return {}
    clinic = calendar(site)
    found: dict[dt.date, str] = {}
    day = first
    while day <= last:
        if unit.opening(day) is not None:
            closure = clinic.closure(day)
            if closure is not None:
                found[day] = reason_text(closure.reason, "en")
        day += dt.timedelta(days=1)
    return found
