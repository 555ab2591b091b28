"""The clinic calendar: which days a treating unit is open, and how a planned day moves off a closed one.

Pure: values in, values out; no files, no printing, no clock, no prose: every reason is a
:class:`~picture_schedule.core.model.Reason` (a code and its parameters) that outputs word in their
own language. National holidays come from the ``holidays`` package, imported lazily (only when a
country is set) because importing it is slow.

Glossary:
    **clinic day**: an ISO weekday (1 = Monday … 7 = Sunday) on which the unit treats patients.
    **closure**: a day the unit is closed, with its reason.
    **make-up working day** (tiaoxiu): a weekend day the State Council declares a working day in
        exchange for a weekday off around a festival. It is open, even if its weekday is not a clinic day.
    **estimated year**: a year whose holiday data are the package's rule-based estimate, not a
        published notice (mainland China announces each year's arrangement around November before).
    **shift**: moving a planned day 1 off a closed day according to the site's :class:`ShiftPolicy`.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from picture_schedule.core.model import Names, Note, Reason
from picture_schedule.errors import CalendarError

__all__ = [
    "HOLIDAY_KEYS",
    "ClinicCalendar",
    "Closure",
    "Shift",
    "ShiftPolicy",
    "interval_flag",
    "shift_day",
]

# Countries whose holiday arrangement is fixed each year by a government notice (with swapped
# working days), so that the package's data for years not yet announced are rule-based estimates.
_ANNOUNCED_BY_NOTICE = frozenset({"CN"})

# Mainland-China holidays, keyed by the package's US-English names (suffixes removed): (stable key
# of the day's name, key of the festival the day belongs to). Outputs name each key in their
# language (render/messages.py and the catalogue); other names keep the package's own wording.
_CN_NAMES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "New Year's Day": ("new-year", "new-year"),
    "Chinese New Year's Eve": ("spring-festival-eve", "spring-festival"),
    "Chinese New Year (Spring Festival)": ("spring-festival", "spring-festival"),
    "Chinese New Year Extended Holiday": ("spring-festival-extended", "spring-festival"),
    "Tomb-Sweeping Day": ("qingming", "qingming"),
    "Labor Day": ("labour-day", "labour-day"),
    "Dragon Boat Festival": ("dragon-boat", "dragon-boat"),
    "Mid-Autumn Festival": ("mid-autumn", "mid-autumn"),
    "National Day": ("national-day", "national-day"),
})

#: The stable keys of the holidays above: each needs its name in every output language.
HOLIDAY_KEYS: tuple[str, ...] = tuple(dict.fromkeys(key for pair in _CN_NAMES.values() for key in pair))

# Suffixes the package appends to a holiday's English name, longest first.
_OBSERVED_EN = (" (observed, estimated)", " (observed)")
_ESTIMATED_EN = (" (estimated)",)


class ShiftPolicy(StrEnum):
    """What to do with a day 1 planned on a closed day (a site setting)."""

    NONE = "none"  # never move; the schedule flags the closed day
    NEXT = "next"  # first open day after, within the maximum shift
    PREVIOUS = "previous"  # last open day before, within the maximum shift
    NEAREST = "nearest"  # closest open day either way; a tie goes to the later day


@dataclass(frozen=True)
class Closure:
    """Why the unit is closed on ``day``."""

    day: date
    reason: Reason  # "holidays", "day-off-swapped", "festival-weekend", "weekend", "weekday-closed", "typed"


@dataclass(frozen=True)
class Shift:
    """Where a planned day lands under a shift policy, and why."""

    planned: date
    actual: date
    reason: Reason | None  # None when the planned day is open; else why it moved or could not move
    closure: Closure | None  # why the planned day is closed
    blocked: bool  # closed planned day that stays put: policy NONE, or no open day within the maximum

    @property
    def days(self) -> int:
        """Signed shift in days (negative: pulled forward)."""
        return (self.actual - self.planned).days


@dataclass(frozen=True)
class _Name:
    """One national holiday's name on one day, and the festival it belongs to (internal)."""

    name: Reason  # "holiday" (a known key) or "holiday-named" (the package's names)
    festival: Reason


class _National:
    """A country's calendar from the ``holidays`` package, with its names in English and Chinese (internal).

    Holds two lazily-populated package objects; a lock keeps them safe under a threaded server.
    """

    def __init__(self, country: str, subdivision: str | None) -> None:
        import holidays  # slow: only when a site names a country

        supported = holidays.list_supported_countries()
        if country not in supported:
            raise CalendarError(
                f"{country!r} is not a country the holidays package knows "
                "(use an ISO 3166-1 code such as 'CN')",
                field="site.holidays.country",
            )
        languages = holidays.list_localized_countries().get(country, [])
        try:
            self._en: Any = holidays.country_holidays(
                country, subdiv=subdivision, language="en_US" if "en_US" in languages else None
            )
        except NotImplementedError:  # the package's answer to an unknown subdivision
            known = supported[country]
            raise CalendarError(
                f"{subdivision!r} is not a subdivision of {country} the holidays package knows "
                f"(known: {', '.join(known) if known else 'none: leave it out'})",
                field="site.holidays.subdivision",
            ) from None
        self._zh: Any = (
            holidays.country_holidays(country, subdiv=subdivision, language="zh_CN")
            if "zh_CN" in languages
            else self._en
        )
        self.code: str = type(self._en).country
        self._chinese_names = self.code == "CN"
        self._start_year: int = self._en.start_year
        self._end_year: int = self._en.end_year
        self._lock = threading.RLock()
        self._festivals: dict[date, tuple[Reason, ...] | None] = {}
        # Announced swaps: day off -> weekend day worked instead, and back.
        self._day_off_for: dict[date, date] = {}
        self._worked_for: dict[date, date] = {}
        table = getattr(self._en, "special_public_holidays", {}) or {}
        for year, entries in table.items():
            for entry in _entries(entries):
                if len(entry) >= 4:  # (to month, to day, from month, from day[, from year])
                    to_month, to_day, from_month, from_day, *rest = entry
                    off = date(year, to_month, to_day)
                    worked = date(rest[0] if rest else year, from_month, from_day)
                    self._day_off_for[off] = worked
                    self._worked_for[worked] = off
        self.announced_years = frozenset(table) if self.code in _ANNOUNCED_BY_NOTICE else None

    def estimated(self, year: int) -> bool:
        """True when the package has no announced data for ``year``."""
        if not self._start_year <= year <= self._end_year:
            return True  # no data at all: worse than an estimate
        return self.announced_years is not None and year not in self.announced_years

    def closure(self, day: date) -> Closure | None:
        """The national holiday on ``day``, or None."""
        with self._lock:
            if day not in self._en:
                return None
            worked = self._day_off_for.get(day)
            if worked is not None:
                festivals = self._festival_around(day) or ()
                return Closure(day, Reason("day-off-swapped", {"festivals": festivals, "worked": worked}))
            names = tuple(n.name for n in self._names(day))
            return Closure(day, Reason("holidays", {"names": names}))

    def makeup(self, day: date) -> tuple[Reason, ...] | None:
        """For a weekend day declared a working day: the festivals it is worked for; else None.

        The festivals are ``()`` when the package marks the day as worked but no swap names it.
        """
        with self._lock:
            if not (self._en.is_weekend(day) and self._en.is_working_day(day)):
                return None
            off = self._worked_for.get(day)
            festival = self._festival_around(off) if off is not None else None
            return festival or ()

    def festival_weekend(self, day: date) -> tuple[Reason, ...] | None:
        """For a weekend day inside a block of holidays (e.g. Sunday 4 October): its festival; else None."""
        with self._lock:
            if self._en.is_working_day(day):
                return None
            return self._festival_around(day)

    def _names(self, day: date) -> list[_Name]:
        en_label: str = self._en[day]
        zh_label: str = self._zh[day] if self._zh is not self._en else ""
        en_parts, zh_parts = en_label.split("; "), zh_label.split("; ")
        if not zh_label:
            zh_parts = [""] * len(en_parts)
        if len(en_parts) != len(zh_parts):
            whole = Reason("holiday-named", {"name": Names(en_label, zh_label)})
            return [_Name(whole, whole)]
        names = []
        for en, zh in zip(en_parts, zh_parts):
            base_en, estimated = _strip(en, _ESTIMATED_EN)
            base_en, observed = _strip(base_en, _OBSERVED_EN)
            known = _CN_NAMES.get(base_en) if self._chinese_names else None
            if known is not None:
                key, festival = known
                names.append(_Name(
                    Reason("holiday", {"key": key, "observed": observed}),
                    Reason("holiday", {"key": festival, "observed": False}),
                ))
                continue
            base_zh = _unbracket(zh, int(estimated) + int(observed))
            names.append(_Name(
                Reason("holiday-named", {"name": Names(en, zh)}),
                Reason("holiday-named", {"name": Names(base_en, base_zh)}),
            ))
        return names

    def _festival_around(self, day_off: date) -> tuple[Reason, ...] | None:
        """The festival(s) of the block of days off that holds ``day_off``, in date order."""
        if day_off in self._festivals:
            return self._festivals[day_off]
        block = [day_off]
        for step in (-1, 1):
            d = day_off + timedelta(days=step)
            while len(block) < 40 and not self._en.is_working_day(d):
                block.append(d)
                d += timedelta(days=step)
        festivals: dict[Reason, None] = {}  # in date order, each once
        for d in sorted(block):
            if d in self._en and d not in self._day_off_for:
                for name in self._names(d):
                    festivals.setdefault(name.festival, None)
        result = tuple(festivals) or None
        self._festivals[day_off] = result
        return result


class ClinicCalendar:
    """The days a treating unit is open.

    A day is decided in this order:
      1. an extra opening opens it;
      2. an extra closure closes it (with its text as the reason);
      3. a national holiday or swapped day off (``country``) closes it;
      4. a weekend day declared a working day (mainland China's tiaoxiu make-up days) is open,
         even when its weekday is not a clinic day;
      5. otherwise it is open on the ``clinic_days`` (ISO weekdays) and closed on the others.
         A closed weekend day inside a block of holidays is named after the festival
         ("National Day holiday (weekend)"), as the notices count it in the block; a weekend day
         that is a clinic day stays open unless the package lists it as a holiday.
    """

    def __init__(
        self,
        *,
        clinic_days: Iterable[int] = (1, 2, 3, 4, 5),
        country: str | None = None,
        subdivision: str | None = None,
        extra_closures: Mapping[date, str] = MappingProxyType({}),
        extra_openings: Mapping[date, str] = MappingProxyType({}),
    ) -> None:
        days = tuple(clinic_days)
        bad = [d for d in days if type(d) is not int or not 1 <= d <= 7]
        if bad or not days:
            raise CalendarError(
                f"clinic days must be ISO weekdays 1 (Monday) to 7 (Sunday), at least one; got {list(days)!r}",
                field="site.clinic_days",
            )
        if subdivision is not None and country is None:
            raise CalendarError(
                f"subdivision {subdivision!r} given without a country", field="site.holidays.subdivision"
            )
        if country is not None and (not isinstance(country, str) or not country.strip()):
            raise CalendarError(
                f"{country!r} is not a country code (use an ISO 3166-1 code such as 'CN')",
                field="site.holidays.country",
            )
        closures = _checked_days(extra_closures, "site.holidays.extra_closures")
        openings = _checked_days(extra_openings, "site.holidays.extra_openings")
        both = sorted(set(closures) & set(openings))
        if both:
            raise CalendarError(
                "a day cannot be both an extra closure and an extra opening: "
                + ", ".join(d.isoformat() for d in both),
                field="site.holidays.extra_openings",
            )
        self._clinic_days = frozenset(days)
        self._closures = MappingProxyType(closures)
        self._openings = MappingProxyType(openings)
        self._country = country.strip().upper() if country is not None else None
        self._subdivision = subdivision
        self._national = _National(self._country, subdivision) if self._country else None
        self._weekend = frozenset({6, 7})
        self._known: dict[date, Closure | None] = {}  # closures already worked out (values never change)

    @property
    def clinic_days(self) -> frozenset[int]:
        """ISO weekdays the unit is open."""
        return self._clinic_days

    @property
    def country(self) -> str | None:
        """The holiday country as given (upper case), or None."""
        return self._country

    @property
    def subdivision(self) -> str | None:
        """The holiday subdivision as given, or None."""
        return self._subdivision

    @property
    def extra_closures(self) -> Mapping[date, str]:
        """Site closures with their reasons."""
        return self._closures

    @property
    def extra_openings(self) -> Mapping[date, str]:
        """Site openings with their reasons."""
        return self._openings

    def __repr__(self) -> str:
        return (
            f"ClinicCalendar(clinic_days={sorted(self._clinic_days)}, country={self._country!r}, "
            f"subdivision={self._subdivision!r}, extra_closures={len(self._closures)}, "
            f"extra_openings={len(self._openings)})"
        )

    def closure(self, day: date) -> Closure | None:
        """Why the unit is closed on ``day``; None when it is open."""
        _check_date(day)
        try:
            return self._known[day]
        except KeyError:
            found = self._known[day] = self._closure(day)
            return found

    def _closure(self, day: date) -> Closure | None:
        if day in self._openings:
            return None
        if day in self._closures:
            return Closure(day, Reason.typed(self._closures[day]))
        if self._national is not None:
            national = self._national.closure(day)
            if national is not None:
                return national
            if self._national.makeup(day) is not None:
                return None
        weekday = day.isoweekday()
        if weekday in self._clinic_days:
            return None
        if weekday in self._weekend:
            festival = self._national.festival_weekend(day) if self._national is not None else None
            if festival is not None:
                return Closure(day, Reason("festival-weekend", {"festivals": festival}))
            return Closure(day, Reason("weekend"))
        return Closure(day, Reason("weekday-closed", {"weekday": weekday}))

    def is_open(self, day: date) -> bool:
        """True when the unit treats patients on ``day``."""
        return self.closure(day) is None

    def note(self, day: date) -> Reason | None:
        """Why an open day is unusual: a make-up working day or an extra opening; else None."""
        if self.closure(day) is not None:
            return None
        if day in self._openings:
            return Reason.typed(self._openings[day])
        if self._national is not None:
            festivals = self._national.makeup(day)
            if festivals is not None:
                return Reason("make-up-day", {"festivals": festivals})
        return None

    def estimated_years(self, first: date, last: date) -> tuple[int, ...]:
        """Years in [first, last] whose holiday data are rule-based estimates, not announced dates.

        Only countries that announce each year's arrangement by notice (mainland China) have
        estimated years; years outside the package's range (no data at all) are reported too.
        """
        _check_date(first)
        _check_date(last)
        if first > last:
            raise CalendarError(f"first day {first.isoformat()} is after last day {last.isoformat()}")
        if self._national is None:
            return ()
        return tuple(y for y in range(first.year, last.year + 1) if self._national.estimated(y))


def shift_day(planned: date, calendar: ClinicCalendar, policy: ShiftPolicy, max_shift: int,
              earliest: date | None = None) -> Shift:
    """Where ``planned`` lands on ``calendar`` under ``policy``, moving at most ``max_shift`` days.

    An open planned day never moves. NEAREST breaks a tie towards the later day: pulling a cycle
    forward shortens the recovery interval below the cycle length (blood counts, toxicity review),
    whereas a short delay is what protocols routinely allow. A day before ``earliest`` (the day after
    the previous cycle's last treatment day) is never chosen: a pulled-forward cycle must not overlap
    the tablets of the one before it.
    """
    policy = _checked_policy(policy)
    if type(max_shift) is not int or max_shift < 0:
        raise CalendarError(
            f"maximum shift must be a whole number of days, 0 or more; got {max_shift!r}",
            field="site.shift.max_days",
        )
    closure = calendar.closure(planned)
    if closure is None:
        return Shift(planned, planned, None, None, False)
    if policy is ShiftPolicy.NONE:
        why = Reason("shift-none", {"planned": planned, "closure": closure.reason})
        return Shift(planned, planned, why, closure, True)
    for offset in _offsets(policy, max_shift):
        candidate = planned + timedelta(days=offset)
        if earliest is not None and candidate < earliest:
            continue
        if calendar.is_open(candidate):
            why = Reason("shift-moved", {"planned": planned, "actual": candidate, "days": offset,
                                         "closure": closure.reason})
            return Shift(planned, candidate, why, closure, False)
    why = Reason("shift-blocked", {"planned": planned, "closure": closure.reason, "max_shift": max_shift,
                                   "policy": policy.value})
    return Shift(planned, planned, why, closure, True)


def interval_flag(
    previous_day1: date,
    day1: date,
    cycle_days: int,
    window: tuple[int, int],
    *,
    cycle: int | None = None,
    previous_cycle: int | None = None,
) -> Note | None:
    """An "interval" note when ``day1`` is outside ``cycle_days`` −early/+late after ``previous_day1``;
    else None.

    ``window`` is (days early, days late). ``previous_cycle`` defaults to ``cycle - 1``; without
    ``cycle`` both are None (the note speaks of "this cycle" and "the previous cycle").
    """
    early, late = window
    for value, what in ((cycle_days, "cycle length"), (early, "days early"), (late, "days late")):
        if type(value) is not int or value < 0 or (what == "cycle length" and value == 0):
            raise CalendarError(f"{what} must be a whole number of days; got {value!r}", field="site.interval_window")
    days = (day1 - previous_day1).days
    if cycle_days - early <= days <= cycle_days + late:
        return None
    if cycle is not None and previous_cycle is None:
        previous_cycle = cycle - 1
    return Note("interval", {"cycle": cycle, "previous_cycle": previous_cycle, "days": days,
                             "length": cycle_days, "early": early, "late": late})


def _offsets(policy: ShiftPolicy, max_shift: int) -> Iterable[int]:
    """Candidate offsets in the order a policy tries them."""
    steps = range(1, max_shift + 1)
    if policy is ShiftPolicy.NEXT:
        return steps
    if policy is ShiftPolicy.PREVIOUS:
        return (-k for k in steps)
    return (offset for k in steps for offset in (k, -k))  # NEAREST: later first on a tie


def _checked_policy(policy: object) -> ShiftPolicy:
    try:
        return ShiftPolicy(str(policy))
    except ValueError:
        allowed = ", ".join(p.value for p in ShiftPolicy)
        raise CalendarError(f"{policy!r} is not a shift policy (allowed: {allowed})", field="site.shift.policy") from None


def _check_date(day: object) -> None:
    # A datetime is a date subclass that never equals a date: it would silently miss every closure.
    if type(day) is not date:
        raise TypeError(f"expected a datetime.date, got {type(day).__name__}: {day!r}")


def _checked_days(days: Mapping[date, str], field: str) -> dict[date, str]:
    checked: dict[date, str] = {}
    for day, text in days.items():
        if type(day) is not date:
            raise CalendarError(f"{day!r} is not a date", field=field)
        if not isinstance(text, str) or not text.strip():
            raise CalendarError(f"{day.isoformat()}: give a reason (text)", field=field)
        checked[day] = text.strip()
    return checked


def _entries(value: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """The package's special-holiday value: one tuple, or a tuple of tuples."""
    if value and not isinstance(value[0], tuple):
        return (value,)
    return tuple(value)


def _strip(name: str, suffixes: tuple[str, ...]) -> tuple[str, bool]:
    for suffix in suffixes:
        if name.endswith(suffix):
            return name[: -len(suffix)], True
    return name, False


def _unbracket(name: str, count: int) -> str:
    """``name`` without its last ``count`` bracketed qualifiers, in whatever script's brackets.

    The package words "(observed)" in each language; the English name says how many there are.
    """
    for _ in range(count):
        text = name.rstrip()
        if not text or unicodedata.category(text[-1]) != "Pe":
            break
        opening = [i for i, char in enumerate(text) if unicodedata.category(char) == "Ps"]
        if not opening:
            break
        name = text[: opening[-1]].rstrip()
    return name
