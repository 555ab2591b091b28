"""VTIMEZONE components that every calendar client reads the same way.

A calendar that uses local times (``DTSTART;TZID=Europe/London:20250330T090000``)
must carry a VTIMEZONE for each TZID. What we write, and why:

- **TZID is the IANA name** (``Europe/London``), so clients that know the zone by
  name (Google, Apple) map it to their own copy.
- **Daylight saving is one yearly rule per observance**
  (``RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``), derived from the zone's actual
  transitions in zoneinfo and checked to reproduce every one of them from a year
  before the first event to a year after the last. The rule has **no UNTIL**: it
  is the zone's rule for the whole span, and clients extend it past the span as
  the zone's current rule. Never a long RDATE list: a 1970–2038 list (what
  ``icalendar.Timezone.from_tzid`` writes) breaks Google's import and is misread
  by ical.js (Thunderbird), which skips the DTSTART onset of an observance that
  has RDATEs but no RRULE.
- **A zone without daylight saving** (``Asia/Shanghai``) gets one STANDARD
  observance from 1970-01-01 with TZOFFSETFROM = TZOFFSETTO.
- **A zone whose transitions in the span follow no single yearly rule** (the US
  rule change of 2007, a country dropping daylight saving, Morocco's Ramadan
  changes) gets explicit onsets: one observance per kind of transition, with an
  RDATE for each of its onsets in the span, after an observance for the offset in
  force at the span's start. Small, since the span is the course plus a year
  each side.
- **An observance without RRULE repeats its DTSTART as an RDATE.** RFC 5545 counts
  DTSTART as the first onset either way, but ical.js ignores DTSTART when RDATEs
  are present, and the ``ical`` package ignores a DTSTART that has neither RRULE
  nor RDATE (it reads such a zone as UTC); with both, every reader agrees.

Each DTSTART or RDATE is the local wall time of an onset in the offset it
replaces (TZOFFSETFROM), as RFC 5545 section 3.6.5 says: in London daylight time
begins at 01:00 and ends at 02:00.

The VTIMEZONE is exact for the span only, so the renderer asks for the span of
the events it writes. :func:`observances` is the pure plan, :func:`vtimezone`
turns it into an ``icalendar.Timezone``.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from picture_schedule.errors import InputError

__all__ = ["Observance", "YearlyRule", "observances", "vtimezone"]

#: How far beyond the events the VTIMEZONE is checked against zoneinfo.
MARGIN = timedelta(days=366)
#: DTSTART of the observance that stands for "the offset in force since long ago".
EPOCH = datetime(1970, 1, 1)
#: Scanning step when looking for transitions; no zone changes twice in six hours.
_STEP = timedelta(hours=6)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class YearlyRule:
    """The ``nth`` (1–4, or -1 for last) ``weekday`` (0 = Monday) of ``month``."""

    month: int
    weekday: int
    nth: int

    def day(self, year: int) -> date:
        """The day this rule falls on in ``year``."""
        first_weekday, length = calendar.monthrange(year, self.month)
        first = 1 + (self.weekday - first_weekday) % 7
        if self.nth == -1:
            return date(year, self.month, first + 7 * ((length - first) // 7))
        return date(year, self.month, first + 7 * (self.nth - 1))

    def rrule(self) -> dict[str, str | int]:
        """The RRULE value, for icalendar."""
        return {"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": f"{self.nth}{_WEEKDAYS[self.weekday]}"}


@dataclass(frozen=True)
class Observance:
    """One STANDARD or DAYLIGHT sub-component.

    ``start`` (DTSTART) is the local wall time of the first onset, in
    ``offset_from``. Either ``rule`` repeats it yearly (RRULE, no UNTIL), or
    ``dates`` lists every onset, ``start`` included (one RDATE each).
    """

    daylight: bool
    start: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str
    rule: YearlyRule | None = None
    dates: tuple[datetime, ...] = ()

    def onsets(self, until: datetime) -> list[datetime]:
        """The UTC instants at which this observance begins, before ``until`` (UTC)."""
        if self.rule is None:
            found = [_utc(local, self.offset_from) for local in (self.start, *self.dates)]
        else:
            wall = self.start.time()
            found = []
            for year in range(self.start.year, until.year + 1):
                local = datetime.combine(self.rule.day(year), wall)
                if local >= self.start:
                    found.append(_utc(local, self.offset_from))
        return sorted({at for at in found if at < until})


@dataclass(frozen=True)
class _State:
    offset: timedelta
    dst: timedelta
    name: str


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC
    before: _State
    after: _State

    @property
    def local(self) -> datetime:
        """Wall time of the transition in the offset it ends (RFC 5545's DTSTART)."""
        return (self.at + self.before.offset).replace(tzinfo=None)


def vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """A VTIMEZONE for the IANA zone ``tzid``, exact for events from ``first`` to ``last``.

    Raises :class:`~picture_schedule.errors.InputError` for an unknown zone.
    """
    component = Timezone()
    component.add("TZID", tzid)
    for observance in observances(tzid, first, last):
        sub = TimezoneDaylight() if observance.daylight else TimezoneStandard()
        sub.add("TZNAME", observance.name)
        sub.add("DTSTART", observance.start)
        sub.add("TZOFFSETFROM", observance.offset_from)
        sub.add("TZOFFSETTO", observance.offset_to)
        if observance.rule is not None:
            sub.add("RRULE", observance.rule.rrule())
        for onset in observance.dates:  # one property each: ical.js reads one value per RDATE
            sub.add("RDATE", onset)
        component.add_component(sub)
    return component


@functools.lru_cache(maxsize=64)
def observances(tzid: str, first: date, last: date) -> tuple[Observance, ...]:
    """The observances describing ``tzid`` from a year before ``first`` to a year after ``last``."""
    if first > last:
        raise ValueError(f"first ({first}) is after last ({last})")
    try:
        zone = ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InputError(
            f"unknown time zone {tzid!r}: use an IANA name such as 'Europe/London'", field="time_zone"
        ) from error
    start = datetime.combine(first - MARGIN, time(), UTC)
    end = datetime.combine(last + MARGIN, time(), UTC) + timedelta(days=1)
    initial = _state(zone, start)
    transitions = _transitions(zone, start, end, initial)
    states = [initial, *(t.after for t in transitions)]
    if not transitions:
        return (_since_epoch(initial, states),)
    ruled = _ruled(transitions, states)
    if ruled is not None and _reproduces(ruled, transitions, start, end, states):
        return ruled
    return _explicit(initial, transitions, states)


def _ruled(transitions: list[_Transition], states: list[_State]) -> tuple[Observance, ...] | None:
    """One observance with a yearly rule per kind of transition, or None if one has no rule."""
    result = []
    for (before, after), group in _kinds(transitions).items():
        rule = _yearly_rule([t.local for t in group])
        if rule is None:
            return None
        result.append(
            Observance(
                daylight=_daylight(after, states),
                start=group[0].local,
                offset_from=before.offset,
                offset_to=after.offset,
                name=after.name,
                rule=rule,
            )
        )
    return tuple(sorted(result, key=lambda o: o.start))


def _kinds(transitions: list[_Transition]) -> dict[tuple[_State, _State], list[_Transition]]:
    """Transitions grouped by what they change from and to, in order."""
    kinds: dict[tuple[_State, _State], list[_Transition]] = {}
    for transition in transitions:
        kinds.setdefault((transition.before, transition.after), []).append(transition)
    return kinds


def _yearly_rule(locals_: list[datetime]) -> YearlyRule | None:
    """The rule that yields exactly these onsets, one a year in consecutive years, if any."""
    head = locals_[0]
    if [d.year for d in locals_] != list(range(head.year, head.year + len(locals_))):
        return None
    if any((d.month, d.weekday(), d.time()) != (head.month, head.weekday(), head.time()) for d in locals_):
        return None
    if all(d.day + 7 > calendar.monthrange(d.year, d.month)[1] for d in locals_):
        return YearlyRule(head.month, head.weekday(), -1)
    nths = {(d.day - 1) // 7 + 1 for d in locals_}
    if len(nths) == 1 and (nth := nths.pop()) <= 4:
        return YearlyRule(head.month, head.weekday(), nth)
    return None


def _reproduces(
    ruled: tuple[Observance, ...],
    transitions: list[_Transition],
    start: datetime,
    end: datetime,
    states: list[_State],
) -> bool:
    """Whether the rules, applied over the whole span, give exactly zoneinfo's transitions.

    Each rule is expanded from the span's start, not from its DTSTART, so a rule
    that only began within the span (a one-off change, daylight saving adopted
    or dropped) fails here: before its first onset the VTIMEZONE would say nothing.
    """
    expected = sorted(
        (t.at, t.before.offset, t.after.offset, t.after.name, _daylight(t.after, states)) for t in transitions
    )
    before_span = date(start.year - 1, 1, 1)
    produced = sorted(
        (at, o.offset_from, o.offset_to, o.name, o.daylight)
        for o in ruled
        for at in replace(o, start=datetime.combine(before_span, o.start.time())).onsets(end)
        if at >= start
    )
    return produced == expected


def _since_epoch(state: _State, states: list[_State]) -> Observance:
    """The offset in force since long before the span."""
    return Observance(_daylight(state, states), EPOCH, state.offset, state.offset, state.name, dates=(EPOCH,))


def _explicit(initial: _State, transitions: list[_Transition], states: list[_State]) -> tuple[Observance, ...]:
    """One observance per kind of transition, listing its onsets in the span as RDATEs.

    Each RDATE list repeats DTSTART: ical.js ignores DTSTART when an observance
    has RDATEs and no RRULE, and the ``ical`` package ignores a DTSTART that has
    neither (RFC 5545 counts DTSTART as the first onset either way).
    """
    explicit = [
        Observance(
            daylight=_daylight(after, states),
            start=group[0].local,
            offset_from=before.offset,
            offset_to=after.offset,
            name=after.name,
            dates=tuple(t.local for t in group),
        )
        for (before, after), group in _kinds(transitions).items()
    ]
    return (_since_epoch(initial, states), *sorted(explicit, key=lambda o: o.start))


def _daylight(state: _State, states: list[_State]) -> bool:
    """DAYLIGHT or STANDARD, as clients expect: the summer offset is daylight time.

    tzdata writes Europe/Dublin with "negative" daylight saving (IST is standard
    time, GMT in winter saves -1 hour); clients expect it the other way round.
    """
    if state.dst != timedelta():
        return state.dst > timedelta()
    return any(o.dst < timedelta() and o.offset - o.dst == state.offset for o in states)


def _state(zone: ZoneInfo, at: datetime) -> _State:
    local = at.astimezone(zone)
    return _State(local.utcoffset() or timedelta(), local.dst() or timedelta(), local.tzname() or "")


def _transitions(zone: ZoneInfo, start: datetime, end: datetime, initial: _State) -> list[_Transition]:
    """Every change of offset, daylight saving or name in [start, end), to the second.

    zoneinfo has no public list of transitions, so we scan and bisect.
    """
    found = []
    at, state = start, initial
    while at < end:
        step = min(at + _STEP, end)
        if (following := _state(zone, step)) == state:
            at = step
            continue
        low, high = at, step  # state at low, something else at high
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) // 2
            middle = middle.replace(microsecond=0)
            if _state(zone, middle) == state:
                low = middle
            else:
                high = middle
        following = _state(zone, high)
        found.append(_Transition(high, state, following))
        at, state = high, following
    return found


def _utc(local: datetime, offset: timedelta) -> datetime:
    return (local - offset).replace(tzinfo=UTC)
