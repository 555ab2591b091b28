"""The patient list's lines: study number, regimen, start, current cycle, next appointment, flags.

Read from the schedule briefs stored beside the feeds (roster/listing.py, one query): no schedule is
expanded, so the list of 500 patients answers in tens of milliseconds.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from picture_schedule.roster.listing import PatientRow
from picture_schedule.roster.summary import Appointment
from picture_schedule.web.common import fmt_date, t


@dataclass(frozen=True)
class Flag:
    text: str
    bad: bool = False  # needs someone to act


@dataclass(frozen=True)
class ListItem:
    study: str
    regimen: str
    start: dt.date | None
    start_text: str  # the date as people read it (as stored, when it is not a date)
    cycle: str  # "Cycle 2 of 6", "starts …", "finished", "—"
    next_day: dt.date | None
    next_time: dt.time | None
    next_when: str  # date and time as people read them
    next_what: str
    next_tentative: bool
    flags: tuple[Flag, ...]
    removed: bool


def natural_key(study: str) -> tuple[tuple[int, int | str], ...]:
    """PIC-2 before PIC-10: runs of digits compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in re.split(r"(\d+)", study) if part)


@functools.lru_cache(maxsize=4)
def _regimen_visit_names(language: str) -> dict[str, str]:
    """Visit id → name, from the built-in regimens."""
    from picture_schedule.errors import ScheduleError
    from picture_schedule.loading import builtin_regimens, load_regimen

    names: dict[str, str] = {}
    for name in builtin_regimens():
        try:
            names.update({v.id: v.names.get(language) for v in load_regimen(name).visits})
        except ScheduleError:
            continue
    return names


def visit_names(language: str, site: object) -> dict[str, str]:
    """Visit id → name, from the built-in regimens and the unit's site file (a patient's own regimen
    or site file may name others: those show their id)."""
    names = dict(_regimen_visit_names(language))
    for visit in getattr(site, "visits", ()) or ():
        names[visit.id] = visit.names.get(language)
    return names


@functools.lru_cache(maxsize=4096)
def _date(day: dt.date, language: str) -> str:
    """A date as the pages word it (kept: a list of 500 patients words few different dates)."""
    return fmt_date(day, language)


def list_item(row: PatientRow, today: dt.date, visits: dict[str, str], language: str) -> ListItem:
    info, summary = row.info, row.summary
    try:
        start: dt.date | None = dt.date.fromisoformat(info.start)
    except ValueError:
        start = None
    flags: list[Flag] = []
    cycle = "—"
    upcoming: Appointment | None = None
    what = ""
    if summary is not None:
        current = summary.current_cycle(today)
        total = len(summary.cycles)
        if current is None:
            cycle = t("not started") if summary.cycles else t("no cycles")
        elif current.number == summary.cycles[-1].number and today > current.last_day:
            cycle = t("finished")
        else:
            cycle = t("Cycle %(n)s of %(total)s", n=current.number, total=total)
        upcoming = summary.next_appointment(today)
        if upcoming is not None:
            if upcoming.kind == "infusion":
                what = t("cycle %(n)s day 1 (infusion)", n=upcoming.cycle)
            else:
                what = visits.get(upcoming.what, upcoming.what)
        if summary.tentative:
            flags.append(Flag(t("1 date to confirm") if summary.tentative == 1 else
                              t("%(n)s dates to confirm", n=summary.tentative), bad=True))
        if summary.notes:
            flags.append(Flag(t("1 warning") if summary.notes == 1 else t("%(n)s warnings", n=summary.notes), bad=True))
        if summary.stopped:
            flags.append(Flag(t("stopped")))
    elif info.removed_at is None:
        flags.append(Flag(t("schedule brief not made yet")))
    if info.removed_at is not None:
        flags.append(Flag(t("removed")))
    if row.problem:
        flags.append(Flag(t("stored entry damaged"), bad=True))
    when = ""
    if upcoming is not None:
        when = _date(upcoming.day, language) + (f" {upcoming.time:%H:%M}" if upcoming.time else "")
    return ListItem(
        study=info.patient, regimen=info.regimen, start=start,
        start_text=_date(start, language) if start else (info.start or "—"), cycle=cycle,
        next_day=upcoming.day if upcoming else None, next_time=upcoming.time if upcoming else None,
        next_when=when, next_what=what, next_tentative=bool(upcoming and upcoming.tentative), flags=tuple(flags),
        removed=info.removed_at is not None)
