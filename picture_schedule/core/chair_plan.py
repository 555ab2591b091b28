"""Chair planning: which chair, at what time, each day-1 infusion visit takes.

Pure: appointments and a unit's settings in, a :class:`ChairPlan` out. No files, no
clock, no printing, no prose (an unplaced visit's reason is a code and its parameters);
standard library and the core's model only.

Glossary
--------
Appointment
    One day-1 infusion visit to place: a patient, a cycle, a day and the chair time in
    minutes (infusion + preparation + observation, computed by the caller), and the
    patient's planned time (the site's usual start, or the time already booked).
Unit
    The day unit: number of chairs, opening hours per ISO weekday, the slot grid on
    which infusions start, and an optional nurse limit on starts per slot.
Slot
    A start time on the unit's grid: opening time + k × ``slot_minutes``.
Booking
    A placed appointment: its chair (numbered from 1), start and end (naive local
    wall-clock datetimes of the unit), and why it is not at its planned time.
Unplaced
    An appointment that cannot be placed, with the reason. Never silently dropped.
DayLoad
    One day's figures: booked and available chair minutes, peak chairs in use, who is
    booked, what could not be placed, and whether the day is over capacity.
ChairPlan
    All bookings, unplaced appointments and day loads of a cohort.
Suggestion
    A start date on which a new patient's every day-1 visit fits the unit.

Planning rules
--------------
1. Days are independent: each day is planned on its own, in date order.
2. **Planned time first.** Appointments with a planned time go first: those whose time
   is already booked, then the others, each group longest first. Each one takes its
   planned time when a chair is free then for its whole duration, the visit ends by
   closing and (rule 4) its slot has a free start: on the chair it was booked on if
   that one is free, else the lowest-numbered free chair. Booked times go first so
   that re-planning keeps what patients were told.
3. Every other appointment (no planned time, or its planned time was not free) is
   placed **longest first**, ties by patient, cycle, regimen and note, at the
   **earliest start on the slot grid** at which some chair is free for its whole
   duration and the visit ends by closing time; among the chairs free then, the
   lowest-numbered one. One moved from its planned time says why. Long infusions must
   start early to finish before closing, and placing them first packs the chairs
   better than first-come order (two 120-min and one 240-min visit fill two 4-hour
   chairs longest-first, but leave the 240-min visit out when the shorter ones go
   first). The full key makes the plan independent of the order of the input.
4. With a nurse limit, no more than ``nurse_starts_per_slot`` infusions start in one
   slot; a visit that would exceed it moves to the next slot with a free start.
5. A visit that cannot be placed (unit closed, longer than opening hours, no chair or
   start free in time) is listed as unplaced with its reason and counted in its day's
   load. A day is **over capacity** when its demand exceeds its available chair
   minutes or when anything on it is unplaced.

The day's chairs are kept by :class:`~picture_schedule.core.chair_slots.DayChairs`: one
"free from" minute per chair, the free stretches a booking at a planned time leaves
before it, and one start count per slot (its docstring says why that is exact).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple

from picture_schedule.core.chair_slots import NO_CHAIR, NURSE_LIMIT, DayChairs
from picture_schedule.core.model import Reason
from picture_schedule.errors import InputError, ScheduleError

__all__ = ["Appointment", "Booking", "ChairPlan", "DayLoad", "Suggestion", "Unit", "Unplaced", "WEEKDAYS", "plan",
           "suggest"]

#: ISO weekday names, 1 = Monday (fixed English names: no locale dependence).
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _time(minute: int) -> time:
    """A minute of the day as a time (opening hours end by 23:59)."""
    return time(*divmod(minute, 60))


class _Hours(Mapping[int, tuple[time, time]]):
    """Read-only, hashable opening hours (ISO weekday -> (open, close))."""

    __slots__ = ("_items",)

    def __init__(self, hours: Mapping[int, tuple[time, time]]) -> None:
        self._items = dict(sorted(hours.items()))

    def __getitem__(self, weekday: int) -> tuple[time, time]:
        return self._items[weekday]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._items)


@dataclass(frozen=True, slots=True)  # slots: a cohort of 50,000 patients makes 300,000 of them
class Appointment:
    """One day-1 infusion visit to place."""

    patient: str
    cycle: int
    day: date
    minutes: int
    regimen: str = ""
    note: str = ""
    planned: time | None = None  # the start the patient was given (rule 2); None: any start
    booked: bool = False  # the planned time is a booking already made: it goes before other planned times
    chair: int | None = None  # the chair (from 1) it was booked on: kept when free

    def __post_init__(self) -> None:
        where = f"patient {self.patient}, cycle {self.cycle}"
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise InputError(f"day must be a date, not {self.day!r}", field=where)
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int) or self.minutes < 1:
            raise InputError(
                f"chair time must be a whole number of minutes of at least 1, not {self.minutes!r}",
                field=where,
            )
        planned = self.planned
        if planned is not None and (not isinstance(planned, time) or planned.second or planned.microsecond
                                    or planned.tzinfo is not None):
            raise InputError(f"planned time must be a local time in whole minutes, not {planned!r}", field=where)
        if self.chair is not None and (isinstance(self.chair, bool) or not isinstance(self.chair, int)
                                       or self.chair < 1):
            raise InputError(f"chair must be a whole number of at least 1, not {self.chair!r}", field=where)


@dataclass(frozen=True)
class Unit:
    """A day unit's chairs and opening hours.

    ``hours`` maps ISO weekday (1 = Monday … 7 = Sunday) to (open, close); a weekday
    that is missing is closed. Times are whole minutes, local wall-clock time.
    """

    chairs: int
    hours: Mapping[int, tuple[time, time]]
    slot_minutes: int = 15
    nurse_starts_per_slot: int | None = None
    make_up_hours: tuple[time, time] | None = None  # site setting: hours on weekend make-up working days
    dated: Mapping[date, tuple[time, time]] = field(default_factory=dict)  # dates open outside ``hours``

    def __post_init__(self) -> None:
        if isinstance(self.chairs, bool) or not isinstance(self.chairs, int) or self.chairs < 1:
            raise InputError(f"must be a whole number of at least 1, not {self.chairs!r}", field="chairs")
        if (
            isinstance(self.slot_minutes, bool)
            or not isinstance(self.slot_minutes, int)
            or self.slot_minutes < 1
        ):
            raise InputError(
                f"must be a whole number of minutes of at least 1, not {self.slot_minutes!r}",
                field="slot_minutes",
            )
        limit = self.nurse_starts_per_slot
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InputError(
                f"must be empty or a whole number of at least 1, not {limit!r}",
                field="nurse_starts_per_slot",
            )
        checked: dict[int, tuple[time, time]] = {}
        for weekday, opening in self.hours.items():
            where = f"hours[{weekday}]"
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 1 <= weekday <= 7:
                raise InputError(f"weekday must be 1 (Monday) to 7 (Sunday), not {weekday!r}", field=where)
            try:
                opens, closes = opening
            except (TypeError, ValueError):
                raise InputError(f"must be (open, close), not {opening!r}", field=where) from None
            for moment in (opens, closes):
                if not isinstance(moment, time):
                    raise InputError(f"must be a time of day, not {moment!r}", field=where)
                if moment.second or moment.microsecond or moment.tzinfo is not None:
                    raise InputError(
                        f"must be a local time in whole minutes, not {moment.isoformat()}", field=where
                    )
            if closes <= opens:
                raise InputError(
                    f"closes ({closes:%H:%M}) must be after it opens ({opens:%H:%M})", field=where
                )
            checked[weekday] = (opens, closes)
        object.__setattr__(self, "hours", _Hours(checked))
        for day, (opens, closes) in self.dated.items():
            if closes <= opens:
                raise InputError(f"closes ({closes:%H:%M}) must be after it opens ({opens:%H:%M})",
                                 field=f"dated[{day}]")
        object.__setattr__(self, "dated", dict(self.dated))

    def __hash__(self) -> int:
        return hash((self.chairs, self.hours, self.slot_minutes, self.nurse_starts_per_slot, self.make_up_hours,
                     tuple(sorted(self.dated.items()))))

    def opening(self, day: date) -> tuple[int, int] | None:
        """Opening and closing minute of the day, or None when the unit is closed."""
        hours = self.dated.get(day) or self.hours.get(day.isoweekday())
        if hours is None:
            return None
        return _minute_of_day(hours[0]), _minute_of_day(hours[1])

    def available_minutes(self, day: date) -> int:
        """Chair minutes the unit offers on ``day`` (chairs × opening minutes)."""
        opening = self.opening(day)
        return 0 if opening is None else self.chairs * (opening[1] - opening[0])


@dataclass(frozen=True, slots=True)
class Booking:
    """A placed appointment: chair numbered from 1, naive local start and end."""

    appointment: Appointment
    chair: int
    start: datetime
    end: datetime
    moved: Reason | None = None  # "chair-moved": not at the appointment's planned time, and why


@dataclass(frozen=True, slots=True)
class Unplaced:
    """An appointment that could not be placed, and why."""

    appointment: Appointment
    reason: Reason  # "unit-closed", "longer-than-opening", "no-chair", "no-chair-nurse-limit"


@dataclass(frozen=True, slots=True)
class DayLoad:
    """One day's load.

    ``patients``: study numbers booked that day, by start time then chair, each once.
    ``over_capacity``: demand exceeds available chair minutes, or something is unplaced.
    """

    day: date
    booked_minutes: int
    available_minutes: int
    peak_chairs: int
    patients: tuple[str, ...]
    unplaced: tuple[Unplaced, ...]
    over_capacity: bool

    @property
    def unplaced_minutes(self) -> int:
        return sum(item.appointment.minutes for item in self.unplaced)

    @property
    def demand_minutes(self) -> int:
        """Chair minutes asked for: booked plus unplaced."""
        return self.booked_minutes + self.unplaced_minutes


@dataclass(frozen=True)
class ChairPlan:
    """Bookings (by day, start, chair), unplaced appointments and day loads (by day)."""

    bookings: tuple[Booking, ...]
    unplaced: tuple[Unplaced, ...]
    days: tuple[DayLoad, ...]
    unit: Unit

    @property
    def booked_minutes(self) -> int:
        return sum(load.booked_minutes for load in self.days)

    @property
    def unplaced_minutes(self) -> int:
        return sum(load.unplaced_minutes for load in self.days)

    @property
    def demand_minutes(self) -> int:
        return self.booked_minutes + self.unplaced_minutes

    @property
    def over_capacity_days(self) -> tuple[DayLoad, ...]:
        return tuple(load for load in self.days if load.over_capacity)

    @cached_property
    def _loads(self) -> dict[date, DayLoad]:
        return {load.day: load for load in self.days}

    @cached_property
    def _bookings_by_day(self) -> dict[date, tuple[Booking, ...]]:
        grouped: dict[date, list[Booking]] = defaultdict(list)
        for booking in self.bookings:
            grouped[booking.appointment.day].append(booking)
        return {day: tuple(items) for day, items in grouped.items()}

    def day(self, day: date) -> DayLoad | None:
        """The load of ``day``, or None when no appointment falls on it."""
        return self._loads.get(day)

    def bookings_on(self, day: date) -> tuple[Booking, ...]:
        return self._bookings_by_day.get(day, ())

    def hourly(self, day: date) -> list[tuple[int, float]]:
        """Occupancy per clock hour of ``day``: (hour, fraction of chair time in use).

        The fraction is occupied chair minutes in that hour divided by chairs × the
        unit's open minutes in that hour (60 for a whole open hour; less in an hour the
        unit opens or closes part way through). Empty when the unit is closed.
        """
        opening = self.unit.opening(day)
        if opening is None:
            return []
        first, last = opening
        chairs = self.unit.chairs
        minute0 = datetime.combine(day, time())
        spans = [
            (
                int((b.start - minute0).total_seconds()) // 60,
                int((b.end - minute0).total_seconds()) // 60,
            )
            for b in self.bookings_on(day)
        ]
        result: list[tuple[int, float]] = []
        for hour in range(first // 60, (last - 1) // 60 + 1):
            low, high = max(first, hour * 60), min(last, hour * 60 + 60)
            used = sum(max(0, min(high, end) - max(low, start)) for start, end in spans)
            result.append((hour, used / (chairs * (high - low))))
        return result


@dataclass(frozen=True)
class Suggestion:
    """A start on which every day-1 visit of a new patient fits."""

    start: date
    day1s: tuple[date, ...]
    peak_chairs: int


# --------------------------------------------------------------------------- engine


def _order_key(appointment: Appointment) -> tuple[date, int, int, str, int, str, str, time, int]:
    """Planning order: by day; booked planned times, other planned times, no planned time (rule 2);
    then longest first, patient, cycle, regimen, note, planned time, chair."""
    a = appointment
    group = 2 if a.planned is None else 0 if a.booked else 1
    return (a.day, group, -a.minutes, a.patient, a.cycle, a.regimen, a.note, a.planned or time(), a.chair or 0)


def _fit_key(appointment: Appointment) -> tuple[int, str, int, str, str, bool, time, bool, int]:
    """Earliest-fit order (rule 3): longest first, patient, cycle, regimen, note, then the rest."""
    a = appointment
    return (-a.minutes, a.patient, a.cycle, a.regimen, a.note, a.planned is None, a.planned or time(), a.booked,
            a.chair or 0)


class _Day(NamedTuple):
    bookings: tuple[Booking, ...]
    load: DayLoad


def _peak(spans: Iterable[tuple[int, int]]) -> int:
    """Most chairs in use at once (an end and a start at the same minute do not overlap)."""
    events = sorted(event for start, end in spans for event in ((start, 1), (end, -1)))
    peak = current = 0
    for _minute, step in events:
        current += step
        peak = max(peak, current)
    return peak


def _plan_day(day: date, appointments: Sequence[Appointment], unit: Unit) -> _Day:
    """Place one day's appointments, given in planning order (see :func:`_order_key`)."""
    opening = unit.opening(day)
    if opening is None:
        reason = Reason("unit-closed", {"weekday": day.isoweekday()})
        unplaced = tuple(Unplaced(a, reason) for a in appointments)
        load = DayLoad(day, 0, 0, 0, (), unplaced, bool(unplaced))
        return _Day((), load)

    first, last = opening
    span = last - first
    chairs = DayChairs(unit.chairs, span, unit.slot_minutes, unit.nurse_starts_per_slot)
    placed: list[tuple[int, int, Appointment, Reason | None]] = []  # (start minute, chair index, appointment, moved)
    missed: list[Unplaced] = []
    reasons: dict[tuple[object, ...], Reason] = {}  # one Reason a kind and length: memory by day, not by visit

    def why(code: str, **params: object) -> Reason:
        key = (code, *params.values())
        found = reasons.get(key)
        if found is None:
            found = reasons[key] = Reason(code, params)
        return found

    later: list[tuple[Appointment, Reason | None]] = []  # (appointment, why its planned time was not free)
    for a in appointments:  # rule 2: planned times
        need, start = a.minutes, (0 if a.planned is None else _minute_of_day(a.planned) - first)
        if a.planned is None or start < 0 or start + need > span:
            later.append((a, None if a.planned is None else why(
                "planned-outside-hours", planned=a.planned, minutes=need, opens=_time(first), closes=_time(last))))
            continue
        chair = chairs.free_at(start, need, None if a.chair is None else a.chair - 1)
        if isinstance(chair, str):
            later.append((a, why("planned-nurse-limit", planned=a.planned, limit=unit.nurse_starts_per_slot)
                          if chair == NURSE_LIMIT else why("planned-busy", planned=a.planned, minutes=need)))
            continue
        chairs.take(chair, start, need, planned=True)
        placed.append((start, chair, a, None))

    later.sort(key=lambda item: _fit_key(item[0]))
    for a, cause in later:  # rule 3: earliest fit
        need = a.minutes
        if need > span:
            missed.append(Unplaced(a, why("longer-than-opening", minutes=need, opens=_time(first),
                                          closes=_time(last), span=span)))
            continue
        fit = chairs.earliest(need)
        if isinstance(fit, str):
            extra = {} if fit == NO_CHAIR else {"limit": unit.nurse_starts_per_slot}
            missed.append(Unplaced(a, why(fit, minutes=need, closes=_time(last), **extra)))
            continue
        start, chair = fit
        chairs.take(chair, start, need)
        moved = None if a.planned is None or cause is None else why(
            "chair-moved", planned=a.planned, start=_time(first + start), reason=cause)
        placed.append((start, chair, a, moved))

    placed.sort(key=lambda item: (item[0], item[1]))
    midnight = datetime.combine(day, time())
    bookings = tuple(
        Booking(
            a,
            chair + 1,
            midnight + timedelta(minutes=first + start),
            midnight + timedelta(minutes=first + start + a.minutes),
            moved,
        )
        for start, chair, a, moved in placed
    )
    booked = sum(a.minutes for _, _, a, _ in placed)
    available = unit.chairs * span
    unplaced = tuple(missed)
    demand = booked + sum(item.appointment.minutes for item in unplaced)
    load = DayLoad(
        day=day,
        booked_minutes=booked,
        available_minutes=available,
        peak_chairs=_peak((start, start + a.minutes) for start, _, a, _ in placed),
        patients=tuple(dict.fromkeys(a.patient for _, _, a, _ in placed)),
        unplaced=unplaced,
        over_capacity=demand > available or bool(unplaced),
    )
    return _Day(bookings, load)


def _by_day(appointments: Iterable[Appointment]) -> dict[date, list[Appointment]]:
    """Appointments grouped by day, each day's list in planning order."""
    grouped: dict[date, list[Appointment]] = defaultdict(list)
    for appointment in appointments:
        if not isinstance(appointment, Appointment):
            raise TypeError(f"expected an Appointment, not {appointment!r}")
        grouped[appointment.day].append(appointment)
    for items in grouped.values():
        items.sort(key=_order_key)
    return dict(grouped)


def plan(
    appointments: Iterable[Appointment],
    unit: Unit,
    *,
    progress: Callable[[int], None] | None = None,
) -> ChairPlan:
    """Place every appointment on a chair; see the module docstring for the rules.

    ``progress(n)`` receives the cumulative number of appointments processed, about
    every 1 % of the work (at most ~100 calls) and once at the end.
    """
    by_day = _by_day(appointments)
    total = sum(len(items) for items in by_day.values())
    step = max(1, math.ceil(total / 100))
    done, next_report = 0, step
    bookings: list[Booking] = []
    unplaced: list[Unplaced] = []
    loads: list[DayLoad] = []
    for day in sorted(by_day):
        result = _plan_day(day, by_day[day], unit)
        bookings.extend(result.bookings)
        unplaced.extend(result.load.unplaced)
        loads.append(result.load)
        done += len(by_day[day])
        if progress is not None and (done >= next_report or done == total):
            progress(done)
            next_report = done + step
    return ChairPlan(tuple(bookings), tuple(unplaced), tuple(loads), unit)


def suggest(
    appointments: Iterable[Appointment],
    unit: Unit,
    candidate_day1s: Callable[[date], Sequence[Appointment]],
    earliest: date,
    count: int,
    *,
    horizon_days: int = 366,
) -> list[Suggestion]:
    """The first ``count`` starts, from ``earliest`` on, that fit a new patient.

    ``candidate_day1s(start)`` gives the new patient's day-1 appointments if they
    started on ``start`` (holiday shifts already applied); an empty sequence or a
    :class:`ScheduleError` means that start is impossible and it is skipped. A start
    fits when, with its appointments added to the cohort and the affected days
    re-planned, every one of them is booked and nothing of the cohort that was booked
    becomes unplaced. Starts are tried for ``horizon_days`` days; fewer than ``count``
    suggestions come back when the horizon runs out.

    Only the days a candidate touches are planned (days are independent), and each
    (day, new appointments) trial is remembered across candidates.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(f"must be a whole number of at least 1, not {count!r}", field="count")
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise InputError(
            f"must be a whole number of at least 1, not {horizon_days!r}", field="horizon_days"
        )

    existing = _by_day(appointments)
    base: dict[date, tuple[int, Counter[Appointment]]] = {}  # day -> (booked minutes, unplaced)
    trials: dict[tuple[date, tuple[Appointment, ...]], int | None] = {}

    def base_day(day: date) -> tuple[int, Counter[Appointment]]:
        if day not in base:
            load = _plan_day(day, existing.get(day, []), unit).load
            base[day] = (load.booked_minutes, Counter(item.appointment for item in load.unplaced))
        return base[day]

    def fits(day: date, new: tuple[Appointment, ...]) -> int | None:
        """Peak chairs of ``day`` with ``new`` added, or None when it does not fit."""
        key = (day, new)
        if key in trials:
            return trials[key]
        outcome: int | None = None
        opening = unit.opening(day)
        if opening is not None and all(a.minutes <= opening[1] - opening[0] for a in new):
            booked, missed = base_day(day)
            # Everything booked before stays booked and the newcomer is booked too, so
            # the day needs at least this many chair minutes.
            if booked + sum(a.minutes for a in new) <= unit.available_minutes(day):
                combined = sorted([*existing.get(day, []), *new], key=_order_key)
                trial = _plan_day(day, combined, unit).load
                if Counter(item.appointment for item in trial.unplaced) <= missed:
                    outcome = trial.peak_chairs
        trials[key] = outcome
        return outcome

    suggestions: list[Suggestion] = []
    for offset in range(horizon_days):
        start = earliest + timedelta(days=offset)
        try:
            new = _by_day(candidate_day1s(start))
        except ScheduleError:
            continue
        if not new:
            continue
        peak = 0
        for day in sorted(new):
            outcome = fits(day, tuple(new[day]))
            if outcome is None:
                break
            peak = max(peak, outcome)
        else:
            suggestions.append(Suggestion(start, tuple(sorted(new)), peak))
            if len(suggestions) == count:
                break
    return suggestions
