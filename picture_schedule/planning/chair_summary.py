"""The chair summary: plan a cohort's day-1 visits on a unit's chairs, or suggest starts for a newcomer.

What ``picture-schedule chairs plan`` and ``chairs suggest`` do, as library calls: read the site
and the cohort, expand every course (the scheduler gives every date), run the chair planner,
render the outputs asked for and write the terminal summary. Nothing is written or printed here:
:func:`plan_chairs` returns the rendered files and the summary text, :func:`suggest_starts` the text.

Progress is reported through a ``progress(length, label)`` factory whose result is a context
manager giving a ``tick(done)`` callback (the CLI draws it as a progress bar); by default none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from picture_schedule.core import chair_plan as engine
from picture_schedule.core.chair_plan import WEEKDAYS, Appointment, ChairPlan, Unit
from picture_schedule.core.model import Schedule, Site
from picture_schedule.errors import InputError, ScheduleError
from picture_schedule.loading import load_regimen, load_site
from picture_schedule.planning.cohort import (
    Cohort,
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
    """What ``chairs plan`` produced: each target with its rendered bytes or text, and the summary."""

    outputs: tuple[tuple[str, str | bytes], ...]  # (target, data) in the order asked; '-' is standard output
    summary: str


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


def plan_chairs(*, cohort_path: str, site_path: str, first: dt.date | None = None, last: dt.date | None = None,
                outputs: Sequence[tuple[str, str]] = (), progress: Progress = no_progress) -> ChairReport:
    """Give every day-1 infusion visit of the cohort between ``first`` and ``last`` a chair.

    ``outputs``: ``(target, kind)`` pairs, kind one of :data:`KINDS`; each is rendered (all of them
    before the caller writes any) and returned with its target. The summary lists at most
    :data:`LISTED` unplaced visits when a report or CSV goes to a file (it lists them all there).
    """
    targets = [target for target, _kind in outputs]
    if first is not None and last is not None and first > last:
        raise InputError(f"{first} is after --to {last}", source="--from")
    if targets.count("-") > 1:
        raise InputError("only one of -o, --csv and --ics can be '-' (standard output)")
    site, unit = site_with_chairs(site_path)
    cohort, schedules = _expand(cohort_path, site, progress)
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
                   listed=LISTED if files else None)
    return ChairReport(outputs=rendered, summary=text)


def _render(kind: str, result: ChairPlan, site: Site, cohort: Cohort, schedules: tuple[Schedule, ...],
            chosen: list[Appointment], first: dt.date | None, last: dt.date | None) -> str | bytes:
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
    if kind == "csv":
        return render.to_csv(result)
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
            last: dt.date | None, listed: int | None) -> str:
    """The terminal summary: cohort, unit, what was placed, days over capacity, visits not placed."""
    unit = result.unit
    lines = []
    span = f" from {min(a.day for a in every)} to {max(a.day for a in every)}" if every else ""
    lines.append(f"Cohort {cohort.source}: {_n(len(cohort.members), 'patient')}, "
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


def suggest_starts(*, cohort_path: str, site_path: str, regimen: str, earliest: dt.date | None = None,
                   count: int = 5, progress: Progress = no_progress) -> str:
    """The earliest starts (at most ``count``) for a new patient on ``regimen`` whose every day 1
    fits the chairs the cohort leaves, as the text ``chairs suggest`` prints.

    ``earliest``: the first start to try; default today in the site's time zone.
    """
    site, unit = site_with_chairs(site_path)
    try:
        new_regimen = load_regimen(regimen)
    except ScheduleError as exc:
        raise InputError(str(exc), source="--regimen") from None
    cohort, schedules = _expand(cohort_path, site, progress)
    booked = appointments(schedules)
    if earliest is None:
        from zoneinfo import ZoneInfo

        earliest = dt.datetime.now(ZoneInfo(site.timezone)).date()
    day1s = newcomer(new_regimen, site, newcomer_name([m.course.patient for m in cohort.members]))
    days = [a.day for a in booked] + [earliest]
    unit = unit_on_calendar(site, unit, min(days), max(days) + dt.timedelta(days=2 * 366))  # suggest's horizon and a course
    found = engine.suggest(booked, unit, day1s, earliest, count)
    lines = [f"Starts for a new {new_regimen.id} patient ({_n(new_regimen.cycles, 'cycle')}) from "
             f"{earliest:%a %Y-%m-%d}, with the {_n(len(cohort.members), 'patient')} of {cohort.source} "
             f"on {_n(unit.chairs, 'chair')} at {site.name or site.source}:"]
    notes: dict[str, None] = {}
    for number, suggestion in enumerate(found, start=1):
        dates = ", ".join(d.isoformat() for d in suggestion.day1s)
        lines.append(f"{number:>3}. {suggestion.start:%a %Y-%m-%d}: peak {suggestion.peak_chairs} of "
                     f"{unit.chairs} chairs; day 1s {dates}")
        expanded = day1s.schedule(suggestion.start)
        for cycle in expanded.cycles:
            if cycle.shift_reason:
                lines.append(f"       {reason_text(cycle.shift_reason, 'en')}")
        notes.update((describe(n, "en"), None) for n in expanded.notes if n.code in ("estimated-holidays", "interval"))
    if not found:
        lines.append(f"  none: no start within {HORIZON} days fits the chairs left")
    elif len(found) < count:
        lines.append(f"  only {len(found)} of {count}: no other start within {HORIZON} days fits")
    lines.extend(f"Note: {text}" for text in notes)
    return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
