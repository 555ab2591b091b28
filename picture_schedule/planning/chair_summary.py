"""The chair summary: plan a cohort's day-1 visits on a unit's chairs, or suggest starts for a newcomer.

What ``picture-schedule chairs plan`` and ``chairs suggest`` do, as library calls: read the site
and the cohort, expand every course (the scheduler gives every date), run the chair planner,
render the outputs asked for and write the terminal summary. Nothing is written or printed here:
:func:`plan_chairs` returns the rendered files and the summary text, :func:`suggest_starts` the text.
:func:`plan_courses` plans given courses (a roster's patients) and also returns the day-1 bookings
placed, which the roster stores (``chairs plan --db … --book``), and says which would change;
:func:`suggest_for_courses` finds starts beside given courses (the web page's ``/chairs``).

Progress is reported through a ``progress(length, label)`` factory whose result is a context
manager giving a ``tick(done)`` callback (the CLI draws it as a progress bar); by default none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from picture_schedule.core import chair_plan as engine
from picture_schedule.core import model
from picture_schedule.core.chair_plan import WEEKDAYS, Appointment, ChairPlan, Unit
from picture_schedule.core.model import Course, Schedule, Site, frozen_map
from picture_schedule.errors import InputError, ScheduleError
from picture_schedule.loading import load_regimen, load_site
from picture_schedule.output import Payload, Streamed
from picture_schedule.planning.cohort import (
    Cohort,
    Member,
    appointments,
    calendar,
    closures,
    expand_cohort,
    newcomer,
    newcomer_name,
    read_cohort,
    unit_on_calendar,
)
from picture_schedule.render.messages import describe, reason_text

#: With a report or CSV written to a file, the summary lists at most this many unplaced visits.
LISTED = 50
#: How far ahead ``suggest`` looks for a start, in days.
HORIZON = 366
#: What ``plan_chairs`` can render: the HTML report, one CSV row per appointment, the unit's calendar.
KINDS = ("html", "csv", "ics")

Tick = Callable[[int], None]
Progress = Callable[[int, str], AbstractContextManager[Tick]]


@contextmanager
def no_progress(length: int, label: str) -> Iterator[Tick]:
    """The default ``progress``: reports nothing."""
    yield lambda done: None


@dataclass(frozen=True)
class ChairReport:
    """What ``chairs plan`` produced: each target with its rendered bytes or text (the CSV made as it
    is written: :class:`~picture_schedule.output.Streamed`), the summary, and the day-1 bookings
    placed (study number → cycle → booking with its date; :func:`plan_courses`)."""

    outputs: tuple[tuple[str, Payload], ...]  # (target, data) in the order asked; '-' is standard output
    summary: str
    bookings: Mapping[str, Mapping[int, model.Booking]] = field(default_factory=frozen_map)
    plan: ChairPlan | None = None  # what the planner gave (the web page shows it)
    schedules: tuple[Schedule, ...] = ()  # the courses' schedules it was planned from (plan_courses)


def site_with_chairs(path: str) -> tuple[Site, Unit]:
    """The site file at ``path`` and its ``[chairs]`` unit; a site without one is refused."""
    site = load_site(path)
    try:
        calendar(site)  # a bad holiday country fails here, once, naming the site file
    except ScheduleError as exc:
        raise InputError(exc.message, source=path, field=exc.field) from None
    if not isinstance(site.chairs, Unit):
        raise InputError(
            "has no [chairs] table: add one with count = <chairs> and hours = { mon = [\"08:00\", \"17:30\"], … } "
            "(optional: slot_minutes, nurse_starts_per_slot)",
            source=path,
        )
    return site, site.chairs


def _expand(cohort_path: str, site: Site, progress: Progress) -> tuple[Cohort, tuple[Schedule, ...]]:
    cohort = read_cohort(cohort_path, site)
    with progress(len(cohort.members), "Expanding courses") as tick:
        schedules = expand_cohort(cohort, progress=tick)
    return cohort, schedules


def _expand_courses(courses: Sequence[Course], source: str, progress: Progress) -> tuple[Cohort, tuple[Schedule, ...]]:
    # each course as given (a course without a site keeps its dates as planned, as its outputs do)
    cohort = Cohort(source, tuple(Member(course, f"{source}: {course.patient}", False) for course in courses))
    with progress(len(cohort.members), "Expanding courses") as tick:
        schedules = expand_cohort(cohort, progress=tick)
    return cohort, schedules


def plan_chairs(*, cohort_path: str, site_path: str, first: dt.date | None = None, last: dt.date | None = None,
                outputs: Sequence[tuple[str, str]] = (), progress: Progress = no_progress) -> ChairReport:
    """Give every day-1 infusion visit of the cohort between ``first`` and ``last`` a chair.

    ``outputs``: ``(target, kind)`` pairs, kind one of :data:`KINDS`; each is rendered (all of them
    before the caller writes any) and returned with its target. The summary lists at most
    :data:`LISTED` unplaced visits when a report or CSV goes to a file (it lists them all there).
    """
    _check(first, last, outputs)
    site, unit = site_with_chairs(site_path)
    cohort, schedules = _expand(cohort_path, site, progress)
    planned = _plan(cohort, schedules, site, unit, first, last, outputs, progress)
    return ChairReport(planned.outputs, planned.summary, plan=planned.plan)


def plan_courses(courses: Sequence[Course], *, source: str, site_path: str, first: dt.date | None = None,
                 last: dt.date | None = None, outputs: Sequence[tuple[str, str]] = (),
                 progress: Progress = no_progress, book: bool = False) -> ChairReport:
    """As :func:`plan_chairs`, for ``courses`` (the patients of the roster ``source``), with the
    day-1 bookings placed in the report's ``bookings``. The summary also compares them with the
    courses' bookings: new, changed, unchanged, and bookings for a date a cycle no longer has
    (stale: re-booked when placed again). ``book``: the caller stores them (the summary says so)."""
    _check(first, last, outputs)
    site, unit = site_with_chairs(site_path)
    cohort, schedules = _expand_courses(courses, source, progress)
    report = _plan(cohort, schedules, site, unit, first, last, outputs, progress, noun="Roster")
    placed: dict[str, dict[int, model.Booking]] = {}
    for b in report.plan.bookings:
        a = b.appointment
        placed.setdefault(a.patient, {})[a.cycle] = model.Booking(str(b.chair), b.start.time(), b.end.time(), day=a.day)
    text = report.summary + booking_summary(schedules, placed, book=book)
    return ChairReport(report.outputs, text, frozen_map({k: frozen_map(v) for k, v in placed.items()}),
                       report.plan, schedules)


def _check(first: dt.date | None, last: dt.date | None, outputs: Sequence[tuple[str, str]]) -> None:
    if first is not None and last is not None and first > last:
        raise InputError(f"{first} is after --to {last}", source="--from")
    if [target for target, _kind in outputs].count("-") > 1:
        raise InputError("only one of -o, --csv and --ics can be '-' (standard output)")


@dataclass(frozen=True)
class _Planned:
    outputs: tuple[tuple[str, Payload], ...]
    summary: str
    plan: ChairPlan


def _plan(cohort: Cohort, schedules: tuple[Schedule, ...], site: Site, unit: Unit, first: dt.date | None,
          last: dt.date | None, outputs: Sequence[tuple[str, str]], progress: Progress, noun: str = "Cohort",
          ) -> _Planned:
    every = appointments(schedules)
    chosen = [a for a in every if (first is None or a.day >= first) and (last is None or a.day <= last)]
    if chosen:
        unit = unit_on_calendar(site, unit, min(a.day for a in chosen), max(a.day for a in chosen))
    with progress(len(chosen), "Planning chairs") as tick:
        result = engine.plan(chosen, unit, progress=tick)
    rendered = tuple((target, _render(kind, result, site, cohort, schedules, chosen, first, last))
                     for target, kind in outputs)
    files = [t for t, kind in outputs if t != "-" and kind in ("html", "csv")]
    text = summary(cohort, schedules, every, chosen, result, site, first=first, last=last,
                   listed=LISTED if files else None, noun=noun)
    return _Planned(rendered, text, result)


def booking_summary(schedules: Sequence[Schedule], placed: Mapping[str, Mapping[int, model.Booking]], *,
                    book: bool) -> str:
    """How the bookings placed compare with the courses' bookings, and each stale one."""
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    lines = []
    for schedule in schedules:
        course = schedule.course
        wanted = placed.get(course.patient, {})
        for cycle, booking in wanted.items():
            held = course.bookings.get(cycle)
            counts["new" if held is None else "unchanged" if held.same_slot(booking) else "changed"] += 1
        for note in schedule.notes:
            if note.code == "booking-stale":
                cycle, held = note.params["cycle"], course.bookings[note.params["cycle"]]
                fate = ("booked again" if book else "booked again with --book") if cycle in wanted else \
                    "no chair in this plan: not used, time to be confirmed"
                lines.append(f"  {course.patient} cycle {cycle}: booked for {held.day} {held.start:%H:%M}, but day 1 "
                             f"is now {note.params['day1']}: {fate}")
    patients = sum(1 for s in schedules if any(
        cycle not in s.course.bookings or not s.course.bookings[cycle].same_slot(b)
        for cycle, b in placed.get(s.course.patient, {}).items()))
    stored = ("nothing changed" if not patients else f"stored, the calendars of {_n(patients, 'patient')} updated"
              if book else "not stored (give --book to store them)")
    head = (f"Bookings: {counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged, "
            f"{len(lines)} stale: {stored}")
    return "\n".join([head, *lines]) + "\n"


def _render(kind: str, result: ChairPlan, site: Site, cohort: Cohort, schedules: tuple[Schedule, ...],
            chosen: list[Appointment], first: dt.date | None, last: dt.date | None) -> Payload:
    from picture_schedule.render import chair_report as render

    if kind == "html":
        period = _period(chosen, first, last)
        view = render.report(
            result, site=site, cohort=Path(cohort.source).name, patients=len(cohort.members),
            schedules=schedules,
            closures=closures(site, *period) if period else None,
            first=period[0] if period else None, last=period[1] if period else None,
            skipped=cohort.skipped,
        )
        return render.to_html(view, site_templates=site.templates)
    if kind == "csv":  # made as it is written: the rows of 50,000 patients are never held at once
        return Streamed(lambda: (day.encode("utf-8") for day in render.csv_days(result)))
    if kind == "ics":
        stamp = render.stamp(schedules, site.timezone) or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return render.to_ics(result, site=site, dtstamp=stamp)
    raise InputError(f"{kind!r} is not one of {', '.join(KINDS)}", source="--format")


def _period(chosen: list[Appointment], first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """The days the report's calendar covers: the options, else the planned visits' span."""
    days = [a.day for a in chosen]
    low = first or (min(days) if days else None)
    high = last or (max(days) if days else None)
    if low is None or high is None:
        return None
    return low, high


def summary(cohort: Cohort, schedules: tuple[Schedule, ...], every: list[Appointment],
            chosen: list[Appointment], result: ChairPlan, site: Site, *, first: dt.date | None,
            last: dt.date | None, listed: int | None, noun: str = "Cohort") -> str:
    """The terminal summary: cohort (or roster: ``noun``), unit, what was placed, days over capacity,
    visits not placed, visits not at their planned time."""
    unit = result.unit
    lines = []
    span = f" from {min(a.day for a in every)} to {max(a.day for a in every)}" if every else ""
    lines.append(f"{noun} {cohort.source}: {_n(len(cohort.members), 'patient')}, "
                 f"{_n(len(every), 'day-1 visit')}{span}")
    for skipped in cohort.skipped:
        lines.append(f"  not a course, skipped: {skipped}")
    if first is not None or last is not None:
        lines.append(f"Period {first or '…'} to {last or '…'}: {len(chosen)} of {len(every)} visits")
    hours: dict[str, list[str]] = {}
    for weekday, (opens, closes) in unit.hours.items():
        hours.setdefault(f"{opens:%H:%M}–{closes:%H:%M}", []).append(WEEKDAYS[weekday - 1][:3])
    opening = "; ".join(f"{'/'.join(d)} {span}" for span, d in hours.items())
    nurse = (f", at most {_n(unit.nurse_starts_per_slot, 'start')} per slot"
             if unit.nurse_starts_per_slot else "")
    lines.append(f"Unit {site.name or site.source}: {_n(unit.chairs, 'chair')}, {opening}, "
                 f"{unit.slot_minutes}-min slots{nurse}")
    lines.append(f"Placed {len(result.bookings)} of {len(chosen)} visits on {_n(len(result.days), 'day')}")
    busiest = max(result.days, key=lambda d: (d.demand_minutes, d.peak_chairs), default=None)
    if busiest is not None:
        share = (f" ({round(100 * busiest.demand_minutes / busiest.available_minutes)} %)"
                 if busiest.available_minutes else "")
        lines.append(f"Busiest day {busiest.day:%a %Y-%m-%d}: "
                     f"{_n(len(busiest.patients) + len(busiest.unplaced), 'visit')}, "
                     f"{busiest.demand_minutes / 60:.1f} of {busiest.available_minutes / 60:.1f} chair-hours"
                     f"{share}, peak {busiest.peak_chairs} of {unit.chairs} chairs")
    over = result.over_capacity_days
    lines.append(f"Days over capacity: {len(over)}")
    for load in over[:listed] if listed is not None else over:
        asked = (f"{load.demand_minutes} of {load.available_minutes} chair-minutes asked for"
                 if load.available_minutes else "unit closed")
        lines.append(f"  {load.day:%a %Y-%m-%d}: {asked}" + (f", {len(load.unplaced)} not placed" if load.unplaced else ""))
    if listed is not None and len(over) > listed:
        lines.append(f"  … and {len(over) - listed} more days: see the report")
    lines.append(f"Not placed: {len(result.unplaced)}")
    unplaced = result.unplaced[:listed] if listed is not None else result.unplaced
    for item in unplaced:
        a = item.appointment
        lines.append(f"  {a.patient} cycle {a.cycle}, {a.day:%a %Y-%m-%d} ({a.minutes} min): {reason_text(item.reason, 'en')}")
    if len(unplaced) < len(result.unplaced):
        lines.append(f"  … and {len(result.unplaced) - len(unplaced)} more: every one is in the CSV (status "
                     "unplaced) and the report")
    moved = [b for b in result.bookings if b.moved is not None]
    lines.append(f"Not at the planned time: {len(moved)}")
    for b in moved[:listed] if listed is not None else moved:
        a = b.appointment
        lines.append(f"  {a.patient} cycle {a.cycle}, {a.day:%a %Y-%m-%d}: {reason_text(b.moved, 'en')}")
    if listed is not None and len(moved) > listed:
        lines.append(f"  … and {len(moved) - listed} more: every one is in the CSV (the reason column)")
    notes: dict[str, list[str]] = {}
    for schedule in schedules:
        for note in schedule.notes:
            if note.code in ("estimated-holidays", "closed-day1", "interval"):
                notes.setdefault(describe(note, "en"), []).append(schedule.course.patient)
    shifted = sum(1 for a in chosen if a.note)
    if shifted:
        lines.append(f"{_n(shifted, 'visit')} moved off a closed day (see the note column)")
    for text, patients in notes.items():
        who = ", ".join(patients) if len(patients) <= 3 else _n(len(patients), "patient")
        lines.append(f"Note ({who}): {text}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Starts:
    """What ``suggest`` found for a new patient: each start that fits with the newcomer's schedule
    from it (day 1s, holiday shifts, notes), and what it was planned with."""

    regimen: model.Regimen
    earliest: dt.date
    count: int  # how many starts were asked for
    source: str  # the cohort or roster the chairs are shared with
    patients: int
    site: Site
    unit: Unit
    found: tuple[tuple[engine.Suggestion, Schedule], ...]


def suggest_starts(*, cohort_path: str, site_path: str, regimen: str, earliest: dt.date | None = None,
                   count: int = 5, progress: Progress = no_progress) -> str:
    """The earliest starts (at most ``count``) for a new patient on ``regimen`` whose every day 1
    fits the chairs the cohort leaves, as the text ``chairs suggest`` prints.

    ``earliest``: the first start to try; default today in the site's time zone.
    """
    site, unit = site_with_chairs(site_path)
    new_regimen = _new_regimen(regimen)
    cohort, schedules = _expand(cohort_path, site, progress)
    return starts_text(_suggest(cohort, schedules, site, unit, new_regimen, earliest, count))


def suggest_for_courses(courses: Sequence[Course], *, source: str, site_path: str, regimen: str,
                        earliest: dt.date | None = None, count: int = 5, progress: Progress = no_progress) -> Starts:
    """As :func:`suggest_starts`, with ``courses`` (the patients of the roster ``source``, with their
    bookings) on the chairs, as what was found (:func:`starts_text` words it)."""
    site, unit = site_with_chairs(site_path)
    new_regimen = _new_regimen(regimen)
    cohort, schedules = _expand_courses(courses, source, progress)
    return _suggest(cohort, schedules, site, unit, new_regimen, earliest, count)


def _new_regimen(regimen: str) -> model.Regimen:
    try:
        return load_regimen(regimen)
    except ScheduleError as exc:
        raise InputError(str(exc), source="--regimen") from None


def _suggest(cohort: Cohort, schedules: tuple[Schedule, ...], site: Site, unit: Unit, new_regimen: model.Regimen,
             earliest: dt.date | None, count: int) -> Starts:
    booked = appointments(schedules)
    if earliest is None:
        from zoneinfo import ZoneInfo

        earliest = dt.datetime.now(ZoneInfo(site.timezone)).date()
    day1s = newcomer(new_regimen, site, newcomer_name([m.course.patient for m in cohort.members]))
    days = [a.day for a in booked] + [earliest]
    unit = unit_on_calendar(site, unit, min(days), max(days) + dt.timedelta(days=2 * 366))  # suggest's horizon and a course
    found = engine.suggest(booked, unit, day1s, earliest, count)
    return Starts(new_regimen, earliest, count, cohort.source, len(cohort.members), site, unit,
                  tuple((suggestion, day1s.schedule(suggestion.start)) for suggestion in found))


def starts_text(starts: Starts) -> str:
    """The starts found, as ``chairs suggest`` prints them."""
    new_regimen, unit, site, found = starts.regimen, starts.unit, starts.site, starts.found
    lines = [f"Starts for a new {new_regimen.id} patient ({_n(new_regimen.cycles, 'cycle')}) from "
             f"{starts.earliest:%a %Y-%m-%d}, with the {_n(starts.patients, 'patient')} of {starts.source} "
             f"on {_n(unit.chairs, 'chair')} at {site.name or site.source}:"]
    notes: dict[str, None] = {}
    for number, (suggestion, expanded) in enumerate(found, start=1):
        dates = ", ".join(d.isoformat() for d in suggestion.day1s)
        lines.append(f"{number:>3}. {suggestion.start:%a %Y-%m-%d}: peak {suggestion.peak_chairs} of "
                     f"{unit.chairs} chairs; day 1s {dates}")
        for cycle in expanded.cycles:
            if cycle.shift_reason:
                lines.append(f"       {reason_text(cycle.shift_reason, 'en')}")
        notes.update((describe(n, "en"), None) for n in expanded.notes if n.code in ("estimated-holidays", "interval"))
    if not found:
        lines.append(f"  none: no start within {HORIZON} days fits the chairs left")
    elif len(found) < starts.count:
        lines.append(f"  only {len(found)} of {starts.count}: no other start within {HORIZON} days fits")
    lines.extend(f"Note: {text}" for text in notes)
    return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
