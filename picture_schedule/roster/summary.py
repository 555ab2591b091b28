"""A patient's schedule in brief, stored beside the feed: the patient list reads it, never a schedule.

Written whenever the feed is rendered (enrolment, change, booking, refresh), so it always tells the
same story as the feed. Dates only: which cycle is current and which appointment is next depend on
the day the list is read, and :func:`current_cycle` and :func:`next_appointment` answer that.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from picture_schedule.core.model import Kind, Schedule, Status


@dataclass(frozen=True)
class Appointment:
    """A day the patient comes in: a day-1 infusion visit or a site visit."""

    day: dt.date
    time: dt.time | None
    kind: str  # "infusion" (day 1) or "visit"
    what: str  # agent or visit id
    cycle: int
    tentative: bool


@dataclass(frozen=True)
class CycleBrief:
    number: int
    day1: dt.date
    last_day: dt.date
    tentative: bool
    booked: bool


@dataclass(frozen=True)
class Summary:
    cycles: tuple[CycleBrief, ...]
    appointments: tuple[Appointment, ...]
    end: dt.date | None
    notes: int  # warnings every output shows
    tentative: int  # events the clinic calendar could not place
    stopped: bool

    def current_cycle(self, today: dt.date) -> CycleBrief | None:
        """The cycle ``today`` falls in (or the last one started before it); None before cycle 1."""
        started = [c for c in self.cycles if c.day1 <= today]
        return started[-1] if started else None

    def next_appointment(self, today: dt.date) -> Appointment | None:
        return next((a for a in self.appointments if a.day >= today), None)


def summary_json(expanded: Schedule) -> str:
    """The brief of ``expanded``, as stored (sorted keys: the same schedule gives the same text)."""
    seen: set[tuple[str, str]] = set()
    appointments = []
    for event in expanded.events:
        if event.status is Status.CANCELLED or event.kind not in (Kind.INFUSION, Kind.VISIT):
            continue
        kind = "infusion" if event.kind is Kind.INFUSION else "visit"
        key = (event.date.isoformat(), kind if kind == "infusion" else event.agent)
        if key in seen:  # one appointment for the day-1 infusions together
            continue
        seen.add(key)
        appointments.append([event.date.isoformat(), event.time.strftime("%H:%M") if event.time else "",
                             kind, event.agent, event.cycle, event.status is Status.TENTATIVE])
    cycles = [[c.number, c.day1.isoformat(), c.last_day.isoformat(), c.status is Status.TENTATIVE,
               c.booking is not None] for c in expanded.cycles]
    stopped = any(change.stop for change in expanded.course.changes)
    return json.dumps({"cycles": cycles, "appointments": appointments,
                       "end": expanded.end.isoformat() if expanded.cycles else None,
                       "notes": len(expanded.notes), "tentative": len(expanded.tentative), "stopped": stopped},
                      sort_keys=True, separators=(",", ":"))


def parse_summary(text: str) -> Summary | None:
    """The stored brief, or None when there is none yet (before the first refresh)."""
    if not text:
        return None
    data = json.loads(text)
    date = dt.date.fromisoformat
    return Summary(
        cycles=tuple(CycleBrief(n, date(d1), date(last), bool(t), bool(b)) for n, d1, last, t, b in data["cycles"]),
        appointments=tuple(Appointment(date(d), dt.time.fromisoformat(t) if t else None, kind, what, int(cycle), bool(tent))
                           for d, t, kind, what, cycle, tent in data["appointments"]),
        end=date(data["end"]) if data["end"] else None, notes=int(data["notes"]),
        tentative=int(data["tentative"]), stopped=bool(data["stopped"]))
