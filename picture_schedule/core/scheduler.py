"""Expansion: a course (regimen + start + changes + site calendar) → its Schedule. Pure.

Every date any output shows is computed here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from picture_schedule.core.model import (
    Agent,
    Booking,
    Change,
    Course,
    Cycle,
    Dose,
    Event,
    Kind,
    Names,
    Note,
    Reason,
    Regimen,
    Schedule,
    Slot,
    Status,
    VisitSpec,
    frozen_map,
)
from picture_schedule.core.prescribing import dose_for
from picture_schedule.errors import InputError

if TYPE_CHECKING:
    from picture_schedule.core.clinic import ClinicCalendar
    from picture_schedule.core.model import Site


def event_id(regimen: Regimen, cycle: int | None, agent: str, day: int | None = None, slot: Slot | None = None) -> str:
    """Stable identity of an event: never depends on a date."""
    parts = [regimen.id]
    if cycle is not None:
        parts.append(f"c{cycle}")
    parts.append(agent)
    if day is not None:
        parts.append(f"d{day}")
    if slot is not None:
        parts.append(slot.value)
    return "/".join(parts)


def expand_regimen(regimen: Regimen, start: dt.date, cycles: int | None = None) -> Schedule:
    """The plain plan: a regimen from ``start`` for ``cycles`` cycles, no patient, no site."""
    return expand(Course(patient="", regimen=regimen, start=start, cycles=cycles or regimen.cycles))


def calendar_for(site: Site) -> ClinicCalendar:
    """The clinic calendar a site describes (holidays are imported only when a country is set)."""
    from picture_schedule.core.clinic import ClinicCalendar

    return ClinicCalendar(
        clinic_days=site.clinic_days,
        country=site.holiday_country,
        subdivision=site.holiday_subdivision,
        extra_closures=site.extra_closures,
        extra_openings=site.extra_openings,
    )


def schedule(course: Course) -> Schedule:
    """Expand a course; with a site, on the site's clinic calendar."""
    return expand(course, calendar_for(course.site) if course.site else None)


def expand(course: Course, calendar: ClinicCalendar | None = None, *, brief: bool = False) -> Schedule:
    """Expand ``course`` on ``calendar`` (the site's clinic days; None: every day is open).

    ``brief``: cycles (day 1s, shifts, chair minutes) and their date notes only, no events: what
    chair planning needs, about twenty times faster. Renderers of a patient's schedule refuse it.
    Each event's ``revision`` counts the recorded changes that altered it (date, time, dose, dose
    level or status), plus, for a day-1 infusion, how many times the cycle's chair was booked, so
    calendar clients can tell an update from a new event; its ``changes`` are the reasons of those
    recorded changes.
    """
    final = _Expansion(course, course.changes, calendar, brief=brief)
    if brief:
        years, notes = _estimated(course, calendar, final.cycles, (), final.notes)
        return Schedule(course, tuple(final.cycles), (), (), notes, years, brief=True)
    revisions: dict[str, tuple[int, dt.datetime | None]] = {}
    altered: dict[str, list[Reason]] = {}
    if course.changes:
        before = _Expansion(course, (), calendar).signatures()
        for k, change in enumerate(course.changes, start=1):
            after = final.signatures() if k == len(course.changes) else _Expansion(
                course, course.changes[:k], calendar
            ).signatures()
            for key in before.keys() | after.keys():
                if before.get(key) != after.get(key):
                    count, _ = revisions.get(key, (0, None))
                    revisions[key] = (count + 1, change.recorded)
                    altered.setdefault(key, []).append(change_reason(course.regimen, change))
            before = after

    def revised(event: Event) -> Event:
        count, when = revisions.get(event.id, (0, None))
        booking = course.bookings.get(event.cycle) if event.kind is Kind.INFUSION and event.day == 1 else None
        if booking is not None:  # booked, re-booked, or booked for a date this day 1 no longer has
            count += booking.revision
            if booking.recorded is not None and (when is None or booking.recorded > when):
                when = booking.recorded
        if not count:
            return event
        return replace(event, revision=count, modified=when, changes=tuple(altered.get(event.id, ())))

    events = tuple(sorted((revised(e) for e in final.events), key=lambda e: e.sort_key))
    cancelled = tuple(sorted((revised(e) for e in final.cancelled), key=lambda e: e.sort_key))
    years, notes = _estimated(course, calendar, final.cycles, events, final.notes)
    closures = _closures(calendar, course, final.cycles, (*events, *cancelled))
    return Schedule(course, tuple(final.cycles), events, cancelled, notes, years, closures=closures)


def change_reason(regimen: Regimen, change: Change) -> Reason:
    """A recorded change as outputs show it: what it did, its reason as typed, who recorded it and when."""
    n = change.cycle

    def names(agent_id: str) -> Names:
        try:
            return regimen.agent(agent_id).names
        except KeyError:
            return Names(agent_id)

    actions: list[Reason] = []
    if change.delay_days:
        actions.append(Reason("delayed", {"cycle": n, "days": change.delay_days}))
    for target, level in change.dose_level.items():
        ids = [a.id for a in regimen.agents if a.dose_levels] if target == "all" else [target]
        actions.extend(Reason("dose-level", {"cycle": n, "agent": i, "name": names(i), "level": level}) for i in ids)
    for agent_id, rx in change.prescribed.items():
        actions.append(Reason("prescribed", {"cycle": n, "agent": agent_id, "name": names(agent_id),
                                             "amount": rx.amount, "unit": rx.unit}))
    actions.extend(Reason("omitted", {"cycle": n, "agent": a, "name": names(a)}) for a in change.omit)
    if change.hold_days:
        actions.append(Reason("held", {"cycle": n, "days": tuple(sorted(change.hold_days))}))
    if change.stop:
        actions.append(Reason("stopped", {"cycle": n}))
    return Reason("change", {"cycle": n, "actions": tuple(actions), "reason": Reason.typed(change.reason),
                             "by": change.by, "recorded": change.recorded})


def _closures(
    calendar: ClinicCalendar | None, course: Course, cycles: Sequence[Cycle], events: Sequence[Event],
) -> Mapping[dt.date, Reason]:
    """Why each closed day is closed, over the whole months the schedule touches."""
    if calendar is None:
        return frozen_map()
    dates = [course.start, *(e.date for e in events), *(c.planned_day1 for c in cycles), *(c.last_day for c in cycles)]
    first = min(dates).replace(day=1)
    last = max(dates)
    last = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)  # end of its month
    closed: dict[dt.date, Reason] = {}
    day = first
    while day <= last:
        closure = calendar.closure(day)
        if closure is not None:
            closed[day] = closure.reason
        day += dt.timedelta(days=1)
    return frozen_map(closed)


def _estimated(
    course: Course, calendar: ClinicCalendar | None, cycles: Sequence[Cycle], events: Sequence[Event],
    notes: Sequence[Note],
) -> tuple[tuple[int, ...], tuple[Note, ...]]:
    """The years whose holidays are estimates, and the notes with a warning about them added."""
    if calendar is None or not cycles:
        return (), tuple(_unique(notes))
    last = max([cycles[-1].last_day, *(e.date for e in events)])
    years = calendar.estimated_years(course.start, last)
    if not years:
        return (), tuple(_unique(notes))
    return years, tuple(_unique([*notes, Note("estimated-holidays", {"years": years})]))


def _unique(notes: Iterable[Note]) -> list[Note]:
    return list(dict.fromkeys(notes))


@dataclass
class _Plan:
    """What the changes say about one cycle."""

    delay: int = 0
    delay_reason: tuple[Reason, ...] = ()
    omit: tuple[str, ...] = ()
    hold: tuple[int, ...] = ()
    stopped: bool = False


class _Expansion:
    """One expansion of a course under a prefix of its changes."""

    def __init__(
        self, course: Course, changes: Sequence[Change], calendar: ClinicCalendar | None, brief: bool = False
    ) -> None:
        self.brief = brief  # cycles only: no dose, tablet, injection or visit events
        self.course = course
        self.regimen = course.regimen
        self.calendar = calendar
        self.changes = changes
        self.cycles: list[Cycle] = []
        self.stopped: dict[int, Cycle] = {}  # cycles a stop cancelled, with the dates they would have had
        self.events: list[Event] = []
        self.cancelled: list[Event] = []
        self.notes: list[Note] = []
        self._doses: dict[tuple[str, int, int], Dose] = {}
        self._run()

    def signatures(self) -> dict[str, tuple]:
        sig = {e.id: (e.date, e.time, e.dose.text if e.dose else "", e.dose.level if e.dose else 0, e.status.value)
               for e in self.events}
        sig.update({e.id: (e.date, e.time, "", 0, "cancelled") for e in self.cancelled})
        return sig

    def _plan(self, number: int) -> _Plan:
        plan = _Plan()
        for change in self.changes:
            if change.cycle == number:
                plan.delay += change.delay_days
                if change.delay_days and change.reason:
                    plan.delay_reason += (Reason.typed(change.reason),)
                plan.omit += tuple(a for a in change.omit if a not in plan.omit)
                plan.hold += tuple(d for d in change.hold_days if d not in plan.hold)
            if change.cycle <= number and change.stop:
                plan.stopped = True
        return plan

    def _levels(self, number: int) -> dict[str, int]:
        levels: dict[str, int] = {}
        for change in self.changes:
            if change.cycle <= number:
                for target, level in change.dose_level.items():
                    if target == "all":
                        for agent in self.regimen.agents:
                            if agent.dose_levels:
                                levels[agent.id] = level
                    else:
                        levels[target] = level
        return levels

    def _prescriptions(self, number: int) -> dict:
        rx = dict(self.course.prescribed)
        for change in self.changes:
            if change.cycle <= number:
                rx.update(change.prescribed)
                for target in change.dose_level:  # a new level voids the old prescription
                    ids = [a.id for a in self.regimen.agents] if target == "all" else [target]
                    for agent_id in ids:
                        if agent_id not in change.prescribed:
                            rx.pop(agent_id, None)
        return rx

    def _run(self) -> None:
        course, regimen = self.course, self.regimen
        site = course.settings
        previous: dt.date | None = None
        previous_last: dt.date | None = None  # the last treatment day of the latest cycle given
        carried: tuple[Reason, ...] = ()  # why earlier cycles moved, for the cycles that follow them
        for number in range(1, course.cycles + 1):
            plan = self._plan(number)
            planned = course.start + dt.timedelta(days=regimen.cycle_days * (number - 1))
            target = (course.start if previous is None else previous + dt.timedelta(days=regimen.cycle_days))
            target += dt.timedelta(days=plan.delay)
            earliest = previous_last + dt.timedelta(days=1) if previous_last is not None else None
            day1, shift, unconfirmed = self._shift(number, target, earliest)
            levels = self._levels(number)
            own = plan.delay_reason + ((shift,) if shift else ())
            if own:
                carried = (Reason("follows", {"cycle": number, "reasons": own}),)
            reason = own or (carried if day1 != planned else ())
            cycle = Cycle(
                number=number,
                planned_day1=planned,
                day1=day1,
                last_day=day1 + dt.timedelta(days=regimen.cycle_days - 1),
                delay_days=(day1 - planned).days,
                delay_reason=plan.delay_reason,
                shift_reason=shift,
                move_reason=reason,
                dose_levels=frozen_map({a.id: levels.get(a.id, 0) for a in regimen.agents if a.dose_levels}),
                omitted=plan.omit,
                held_days=tuple(sorted(plan.hold)),
                booking=self._booking(number, day1),
                status=Status.TENTATIVE if unconfirmed else Status.PLANNED,
                status_reason=unconfirmed,
                changes=tuple(change_reason(regimen, ch) for ch in self.changes if ch.cycle == number),
            )
            if previous_last is not None and day1 <= previous_last and not plan.stopped:
                raise InputError(
                    f"cycle {number} would start on {day1.isoformat()}, on or before the last treatment day of "
                    f"cycle {number - 1} ({previous_last.isoformat()}); a negative delay_days may bring a cycle "
                    "forward only into the previous cycle's rest days",
                    source=course.source or None, field=f"changes (cycle {number})")
            events = self._cycle_events(cycle, levels)
            if plan.stopped:
                self.stopped[number] = cycle
                self.cancelled.extend(replace(e, status=Status.CANCELLED, status_reason=None) for e in events)
            else:
                if previous is not None:
                    self._check_interval(number, previous, day1)
                cancelled = [e for e in events if e.agent in plan.omit or (
                    e.kind is Kind.ORAL and e.day in plan.hold)]
                self.cancelled.extend(replace(e, status=Status.CANCELLED, status_reason=None) for e in cancelled)
                kept = [e for e in events if e not in cancelled]
                infusions = [e for e in kept if e.kind is Kind.INFUSION]
                if infusions:
                    cycle = replace(
                        cycle,
                        infusion_start=min(e.time for e in infusions if e.time),
                        chair_minutes=site.preparation_minutes + sum(e.minutes for e in infusions)
                        + site.observation_minutes,
                    )
                self.cycles.append(cycle)
                self.events.extend(kept)
                if kept:
                    previous_last = max(e.date for e in kept)
            previous = day1
        if not self.brief:
            self._visits()

    def _shift(self, number: int, target: dt.date, earliest: dt.date | None = None,
               ) -> tuple[dt.date, Reason | None, Reason | None]:
        """Day 1, why it moved (or None), and why it is unconfirmed: on a closed day (or None).

        ``earliest``: the first day after the previous cycle's treatment; a shift never goes before it."""
        if self.calendar is None:
            return target, None, None
        from picture_schedule.core.clinic import ShiftPolicy, shift_day

        site = self.course.settings
        shift = shift_day(target, self.calendar, ShiftPolicy(site.shift_policy), site.max_shift_days, earliest)
        unconfirmed = None
        if shift.blocked and shift.closure is not None:
            self.notes.append(Note("closed-day1", {"cycle": number, "reason": shift.reason}))
            unconfirmed = Reason("unconfirmed", {"closure": shift.closure.reason})
        if shift.actual == target:
            return target, None, unconfirmed
        self.notes.append(Note("shift", {"cycle": number, "reason": shift.reason}))
        return shift.actual, Reason("cycle-shift", {"cycle": number, "reason": shift.reason}), unconfirmed

    def _booking(self, number: int, day1: dt.date) -> Booking | None:
        """The cycle's chair booking, if it is for this day 1; a booking for another date is not applied."""
        booking = self.course.bookings.get(number)
        if booking is None:
            return None
        if booking.day is not None and booking.day != day1:
            self.notes.append(Note("booking-stale", {"cycle": number, "booked": booking.day, "day1": day1}))
            return None
        return booking

    def _check_interval(self, number: int, previous: dt.date, day1: dt.date) -> None:
        from picture_schedule.core.clinic import interval_flag

        window = self.course.settings.interval_window
        length = self.regimen.cycle_days
        flag = interval_flag(previous, day1, length, window, cycle=number)
        if flag:
            self.notes.append(flag)

    def _dose(self, agent: Agent, level: int, number: int) -> Dose:
        key = (agent.id, level, number)
        if key not in self._doses:
            dose, notes = dose_for(self.course, agent, level, self._prescriptions(number))
            self._doses[key] = dose
            self.notes.extend(notes)
        return self._doses[key]

    def _cycle_events(self, cycle: Cycle, levels: dict[str, int]) -> list[Event]:
        course, regimen, site = self.course, self.regimen, self.course.settings
        events: list[Event] = []
        n = cycle.number
        moved = cycle.moved

        tentative = cycle.status is Status.TENTATIVE
        at_home = Reason("unconfirmed-cycle", {"cycle": n}) if tentative else None

        def make(agent: Agent, day: int, time: dt.time | None, slot: Slot | None = None, minutes: int = 0,
                 booked: bool = False) -> Event:
            return Event(
                id=event_id(regimen, n, agent.id, day, slot),
                date=cycle.day1 + dt.timedelta(days=day - 1),
                time=time,
                kind=agent.kind,
                agent=agent.id,
                cycle=n,
                day=day,
                slot=slot,
                dose=None if self.brief else self._dose(agent, levels.get(agent.id, 0), n),
                minutes=minutes,
                moved=moved,
                move_reason=cycle.move_reason if moved else (),
                status=Status.TENTATIVE if tentative else Status.PLANNED,
                status_reason=(cycle.status_reason if agent.kind is Kind.INFUSION else at_home) if tentative else None,
                booked=booked,
            )

        booking = cycle.booking
        clock = dt.datetime.combine(cycle.day1, booking.start if booking else site.infusion_time)
        for agent in sorted((a for a in regimen.agents if a.kind is Kind.INFUSION), key=lambda a: a.order):
            if agent.id in cycle.omitted:  # an omitted infusion takes no chair time
                for day in agent.days:
                    events.append(make(agent, day, None, minutes=agent.minutes_in(n)))
                continue
            for day in agent.days:
                minutes = agent.minutes_in(n)
                if day == 1:
                    events.append(make(agent, day, clock.time(), minutes=minutes, booked=booking is not None))
                    clock += dt.timedelta(minutes=minutes)
                else:
                    events.append(make(agent, day, site.infusion_time, minutes=minutes))
        if self.brief:
            return events
        for agent in regimen.agents:
            if agent.kind is Kind.INJECTION:
                events.extend(make(agent, day, course.times.injection) for day in agent.days)
            elif agent.kind is Kind.ORAL:
                events.extend(self._oral(agent, make))
        return events

    def _oral(self, agent: Agent, make) -> list[Event]:
        times = self.course.times
        if not agent.slots:
            return [make(agent, day, times.morning) for day in agent.days]
        at = {Slot.MORNING: times.morning, Slot.EVENING: times.evening}
        doses: list[tuple[int, Slot]] = []
        for day in agent.days:
            if times.first_capecitabine_dose is Slot.EVENING and len(agent.slots) == 2:
                doses += [(day, Slot.EVENING), (day + 1, Slot.MORNING)]  # evening d1 … morning d15
            else:
                doses += [(day, slot) for slot in agent.slots]
        return [make(agent, day, at[slot], slot) for day, slot in doses]

    def _visits(self) -> None:
        specs = (*self.regimen.visits, *self.course.settings.visits)
        if not specs:
            return
        given = {c.number: c for c in self.cycles}
        for spec in specs:
            for anchor_cycle, anchor in self._anchors(spec, given):
                self._visit(spec, anchor_cycle, anchor, given)

    def _anchors(self, spec: VisitSpec, given: dict[int, Cycle]) -> list[tuple[int | None, dt.date | None]]:
        """(cycle in the id, anchor date) pairs; date None: that cycle is not given (cancelled)."""
        if spec.anchor == "start":
            return [(None, self.course.start)]
        if not given:
            return []
        last = given[max(given)]
        if spec.anchor == "last-cycle":
            return [(None, last.day1)]
        if spec.anchor == "end":
            return [(None, last.last_day)]
        numbers = spec.cycles or tuple(range(1, self.course.cycles + 1))
        return [(n, given[n].day1) if n in given else (n, None) for n in numbers if n <= self.course.cycles]

    def _visit(self, spec: VisitSpec, anchor_cycle: int | None, anchor: dt.date | None, given: dict[int, Cycle]) -> None:
        vid = event_id(self.regimen, anchor_cycle, f"visit-{spec.id}")
        if anchor is None:  # its cycle was stopped: cancelled on the date it would have had
            would_be = self.stopped[anchor_cycle].day1 if anchor_cycle in self.stopped else self.course.start
            self.cancelled.append(Event(
                id=vid, date=would_be + dt.timedelta(days=spec.offset), time=spec.time, kind=Kind.VISIT,
                agent=spec.id, cycle=anchor_cycle or 0, day=spec.offset + 1, status=Status.CANCELLED,
            ))
            return
        target = anchor + dt.timedelta(days=spec.offset)
        earliest = target + dt.timedelta(days=spec.earliest)
        latest = target + dt.timedelta(days=spec.latest)
        day = target
        moved_reason: tuple[Reason, ...] = ()
        unconfirmed: Reason | None = None
        closure = self.calendar.closure(target) if self.calendar is not None else None
        if self.calendar is not None and closure is not None:
            candidates = sorted(
                (earliest + dt.timedelta(days=i) for i in range((latest - earliest).days + 1)),
                key=lambda d: (abs((d - target).days), d),  # nearest open day, ties earlier
            )
            open_days = [d for d in candidates if self.calendar.is_open(d)]
            if open_days:
                day = open_days[0]
                moved_reason = (Reason("visit-moved", {"target": target, "closure": closure.reason}),)
            else:
                self.notes.append(Note("visit-window", {
                    "visit": spec.id, "name": spec.names, "target": target, "earliest": earliest,
                    "latest": latest, "closure": closure.reason,
                }))
                unconfirmed = Reason("unconfirmed", {"closure": closure.reason})
        cycle_no = anchor_cycle or self._cycle_of(day, given)
        cycle_day1 = given[cycle_no].day1 if cycle_no in given else self.course.start
        self.events.append(Event(
            id=vid, date=day, time=spec.time, kind=Kind.VISIT, agent=spec.id, cycle=cycle_no,
            day=(day - cycle_day1).days + 1, moved=bool(moved_reason), move_reason=moved_reason,
            window=(earliest, latest), status=Status.TENTATIVE if unconfirmed else Status.PLANNED,
            status_reason=unconfirmed,
        ))

    @staticmethod
    def _cycle_of(day: dt.date, given: dict[int, Cycle]) -> int:
        number = min(given) if given else 1
        for n, cycle in sorted(given.items()):
            if cycle.day1 <= day:
                number = n
        return number
