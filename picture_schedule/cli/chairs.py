"""`picture-schedule chairs`: a day unit's infusion chairs for a cohort: plan them, suggest starts.

Thin: parse the options, read the site and the cohort, call the library (cohort expansion, the
chair planner), render, write. Library modules are imported inside the commands, so
`picture-schedule --help` stays fast.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from picture_schedule.cli.options import DATE
from picture_schedule.errors import InputError

if TYPE_CHECKING:
    from picture_schedule.core.chair_plan import Appointment, ChairPlan, Unit
    from picture_schedule.core.model import Schedule, Site
    from picture_schedule.planning.cohort import Cohort

#: What ``-o`` writes.
FORMATS = ("html", "csv", "ics")
#: Seconds of work before a progress bar appears (on a terminal only).
PROGRESS_DELAY = 1.0
#: With a report or CSV written, the terminal lists at most this many unplaced visits.
LISTED = 50


class Progress:
    """``progress(n)`` callbacks drawn as a click progress bar on stderr.

    The bar appears only when stderr is a terminal and only once ``delay`` seconds have passed
    since ``started`` (the start of the command), so quick work prints nothing.
    """

    def __init__(self, length: int, label: str, *, started: float, delay: float = PROGRESS_DELAY,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.length = length
        self.label = label
        self.started = started
        self.delay = delay
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.enabled = length > 0 and _isatty(self.stream)
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if self.clock() - self.started < self.delay:
                return
            self.bar = click.progressbar(length=self.length, label=self.label, file=self.stream)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@click.group("chairs")
def command() -> None:
    """Infusion chairs of a day unit: plan a cohort's day-1 visits, suggest starts for a new patient.

    \b
    The site file needs a [chairs] table (count, hours, slot_minutes, nurse_starts_per_slot).
    Examples:
      picture-schedule chairs plan --cohort examples/cohort-23.csv --site examples/site-nanjing.toml -o report.html
      picture-schedule chairs suggest --cohort examples/cohort-23.csv --site examples/site-nanjing.toml --regimen picture --earliest 2027-03-01
    """


def _site(path: str) -> tuple[Site, Unit]:
    from picture_schedule.core.chair_plan import Unit
    from picture_schedule.errors import ScheduleError
    from picture_schedule.loading import load_site
    from picture_schedule.planning.cohort import calendar

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


def _expand(cohort_path: str, site: Site, started: float) -> tuple[Cohort, tuple[Schedule, ...]]:
    from picture_schedule.planning.cohort import expand_cohort, read_cohort

    cohort = read_cohort(cohort_path, site)
    with Progress(len(cohort.members), "Expanding courses", started=started) as bar:
        schedules = expand_cohort(cohort, progress=bar)
    return cohort, schedules


@command.command("plan")
@click.option("--cohort", "cohort_path", required=True, metavar="FILE|DIR",
              help="Cohort CSV (patient,start[,regimen,cycles,delays,course]) or a folder of course files.")
@click.option("--site", "site_path", required=True, metavar="FILE", help="Site file with a [chairs] table.")
@click.option("--from", "first", type=DATE, help="Plan only day-1 visits on or after this day.")
@click.option("--to", "last", type=DATE, help="Plan only day-1 visits on or before this day.")
@click.option("-o", "--output", metavar="FILE", help="Write the report here ('-': standard output), as --format says.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True,
              help="What -o writes: the HTML report, the CSV or the calendar.")
@click.option("--csv", "csv_path", metavar="FILE", help="Write one row per appointment here ('-': standard output).")
@click.option("--ics", "ics_path", metavar="FILE", help="Write the unit's appointment calendar here ('-': standard output).")
def plan_command(cohort_path: str, site_path: str, first: dt.date | None, last: dt.date | None,
                 output: str | None, fmt: str, csv_path: str | None, ics_path: str | None) -> None:
    """Give every day-1 infusion visit of a cohort a chair and a start time, and report the load.

    Visits are placed longest first, each at the earliest slot with a free chair that lets it end
    by closing time. A visit that cannot be placed is listed, never dropped. Prints a summary;
    writes the HTML report (-o), the CSV (--csv) and the calendar (--ics) when asked.

    \b
    Examples:
      picture-schedule chairs plan --cohort examples/cohort-23.csv --site examples/site-nanjing.toml
      picture-schedule chairs plan --cohort examples/cohort-23.csv --site examples/site-nanjing.toml \\
          --from 2027-01-01 --to 2027-03-31 -o report.html --csv chairs.csv --ics chairs.ics
    """
    from picture_schedule.core import chair_plan as engine
    from picture_schedule.output import write_output
    from picture_schedule.planning.cohort import (
        appointments,
        closures,
        unit_on_calendar,
    )
    from picture_schedule.render import chair_report as render

    started = time.monotonic()
    wanted = [(target, kind) for target, kind in ((output, fmt), (csv_path, "csv"), (ics_path, "ics"))
              if target is not None]
    targets = [target for target, _kind in wanted]
    if first is not None and last is not None and first > last:
        raise InputError(f"{first} is after --to {last}", source="--from")
    if targets.count("-") > 1:
        raise InputError("only one of -o, --csv and --ics can be '-' (standard output)")
    site, unit = _site(site_path)
    cohort, schedules = _expand(cohort_path, site, started)
    every = appointments(schedules)
    chosen = [a for a in every if (first is None or a.day >= first) and (last is None or a.day <= last)]
    if chosen:
        unit = unit_on_calendar(site, unit, min(a.day for a in chosen), max(a.day for a in chosen))
    with Progress(len(chosen), "Planning chairs", started=started) as bar:
        result = engine.plan(chosen, unit, progress=bar)

    outputs: list[tuple[str, str | bytes]] = []
    for target, kind in wanted:  # everything is rendered before anything is written
        if kind == "html":
            period = _period(chosen, first, last)
            view = render.report(
                result, site=site, cohort=Path(cohort.source).name, patients=len(cohort.members),
                schedules=schedules,
                closures=closures(site, *period) if period else None,
                first=period[0] if period else None, last=period[1] if period else None,
                skipped=cohort.skipped,
            )
            outputs.append((target, render.to_html(view, site_templates=site.templates)))
        elif kind == "csv":
            outputs.append((target, render.to_csv(result)))
        else:
            stamp = render.stamp(schedules, site.timezone) or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
            outputs.append((target, render.to_ics(result, site=site, dtstamp=stamp)))
    for target, data in outputs:
        write_output(target, data)

    files = [t for t, kind in wanted if t != "-" and kind in ("html", "csv")]
    text = summary(cohort, schedules, every, chosen, result, site, first=first, last=last,
                   listed=LISTED if files else None)
    written = [t for t in targets if t != "-"]
    if written:
        text += f"Wrote {', '.join(written)}\n"
    click.echo(text, nl=False, err="-" in targets)


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
    from picture_schedule.core.chair_plan import WEEKDAYS

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
        lines.append(f"  {a.patient} cycle {a.cycle}, {a.day:%a %Y-%m-%d} ({a.minutes} min): {item.reason}")
    if len(unplaced) < len(result.unplaced):
        lines.append(f"  … and {len(result.unplaced) - len(unplaced)} more: every one is in the CSV (status "
                     "unplaced) and the report")
    notes: dict[str, list[str]] = {}
    for schedule in schedules:
        for note in schedule.notes:
            if note.code in ("estimated-holidays", "closed-day1", "interval"):
                notes.setdefault(note.en, []).append(schedule.course.patient)
    shifted = sum(1 for a in chosen if a.note)
    if shifted:
        lines.append(f"{_n(shifted, 'visit')} moved off a closed day (see the note column)")
    for text, patients in notes.items():
        who = ", ".join(patients) if len(patients) <= 3 else _n(len(patients), "patient")
        lines.append(f"Note ({who}): {text}")
    return "\n".join(lines) + "\n"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@command.command("suggest")
@click.option("--cohort", "cohort_path", required=True, metavar="FILE|DIR",
              help="Cohort CSV or a folder of course files (the patients already booked).")
@click.option("--site", "site_path", required=True, metavar="FILE", help="Site file with a [chairs] table.")
@click.option("--regimen", required=True, help="The new patient's regimen: a built-in name (picture, capox) or a regimen file.")
@click.option("--earliest", type=DATE, help="First start to try. [default: today]")
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True, help="How many starts to list.")
def suggest_command(cohort_path: str, site_path: str, regimen: str, earliest: dt.date | None, count: int) -> None:
    """List the earliest starts for a new patient whose every day 1 fits the chairs left.

    Each candidate start is expanded on the site's calendar (holiday shifts applied); it fits when,
    planned with the cohort, every one of its day-1 visits gets a chair and no visit of the cohort
    loses its chair. Starts on days the clinic is closed are not suggested.

    \b
    Example:
      picture-schedule chairs suggest --cohort examples/cohort-23.csv --site examples/site-nanjing.toml \\
          --regimen picture --earliest 2027-03-01 --count 3
    """
    from picture_schedule.core import chair_plan as engine
    from picture_schedule.errors import ScheduleError
    from picture_schedule.loading import load_regimen
    from picture_schedule.planning.cohort import (
        appointments,
        newcomer,
        newcomer_name,
        unit_on_calendar,
    )

    started = time.monotonic()
    site, unit = _site(site_path)
    try:
        new_regimen = load_regimen(regimen)
    except ScheduleError as exc:
        raise InputError(str(exc), source="--regimen") from None
    cohort, schedules = _expand(cohort_path, site, started)
    booked = appointments(schedules)
    if earliest is None:
        from zoneinfo import ZoneInfo

        earliest = dt.datetime.now(ZoneInfo(site.timezone)).date()
    day1s = newcomer(new_regimen, site, newcomer_name([m.course.patient for m in cohort.members]))
    days = [a.day for a in booked] + [earliest]
    unit = unit_on_calendar(site, unit, min(days), max(days) + dt.timedelta(days=2 * 366))  # suggest's horizon and a course
    found = engine.suggest(booked, unit, day1s, earliest, count)
    horizon = 366
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
                lines.append(f"       {cycle.shift_reason}")
        notes.update((n.en, None) for n in expanded.notes if n.code in ("estimated-holidays", "interval"))
    if not found:
        lines.append(f"  none: no start within {horizon} days fits the chairs left")
    elif len(found) < count:
        lines.append(f"  only {len(found)} of {count}: no other start within {horizon} days fits")
    lines.extend(f"Note: {text}" for text in notes)
    click.echo("\n".join(lines))
