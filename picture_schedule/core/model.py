"""The nouns of picture-schedule: frozen value objects, no behaviour beyond small derivations.

Glossary (see docs/architecture.md): a *Regimen* is the published plan, made of *Agents*; a *Course* is one
patient's course of that regimen with its *Site* and *Changes*; expanding a course gives a
*Schedule*: its *Cycles* and its *Events*.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

from picture_schedule.core.site_schema import site_defaults


class Kind(StrEnum):
    """What the patient does: takes tablets, sits for an infusion, has an injection, attends a visit."""

    ORAL = "oral"
    INFUSION = "infusion"
    INJECTION = "injection"
    VISIT = "visit"


class Basis(StrEnum):
    """How an agent's dose is stated in the regimen."""

    PER_M2 = "per_m2"  # amount per m² of body-surface area
    FLAT = "flat"  # the same amount for everybody
    TEXT = "text"  # only the registered text is known (e.g. "100IU HD"): print verbatim, confirm


class Slot(StrEnum):
    """Named dose times of a twice-daily agent."""

    MORNING = "morning"
    EVENING = "evening"


class Status(StrEnum):
    """An event as planned, removed by a change (omission, hold, stop), or not yet placed on an open day."""

    PLANNED = "planned"
    CANCELLED = "cancelled"
    TENTATIVE = "tentative"  # the clinic calendar found no open day for it: the care team confirms a date


LANGUAGES = ("en", "zh-CN")
SITE_DEFAULTS = site_defaults()  # Site field → default
DEFAULT_TIMEZONE: str = SITE_DEFAULTS["timezone"]


def frozen_map(items: Mapping | None = None) -> Mapping:
    """A read-only mapping, so frozen dataclasses stay immutable all the way down."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Names:
    """A display name in each supported language (English is required)."""

    en: str
    zh: str = ""

    def get(self, language: str) -> str:
        return self.zh if language == "zh-CN" and self.zh else self.en


@dataclass(frozen=True)
class Rounding:
    """How a calculated mg amount becomes a dose that can be given.

    ``rule``: ``nearest-combination`` (tablets), ``bsa-bands`` (label table), ``step`` (nearest
    multiple of ``step`` mg), or ``none``.
    """

    rule: str = "none"
    step: float = 5
    max_tablets: int = 8
    bands: Mapping[int, tuple] = field(default_factory=frozen_map)  # level → dosing.BsaBand rows
    source: str = ""


@dataclass(frozen=True)
class DoseSpec:
    """An agent's dose as the regimen states it."""

    basis: Basis
    amount: float | None  # None only for Basis.TEXT
    unit: str  # "mg", "IU", … (per m² is the basis, not the unit)
    text: str = ""  # the registered wording, verbatim

    def describe(self) -> str:
        if self.basis is Basis.TEXT:
            return self.text
        amount = format_amount(self.amount)
        return f"{amount} {self.unit}/m²" if self.basis is Basis.PER_M2 else f"{amount} {self.unit}"


@dataclass(frozen=True)
class Agent:
    """One medicine of a regimen."""

    id: str
    names: Names
    kind: Kind
    route: str
    dose: DoseSpec
    days: tuple[int, ...]  # cycle days, 1-based, sorted
    slots: tuple[Slot, ...] = ()  # () = once a day; (MORNING, EVENING) = twice daily
    infusion_minutes: tuple[int, ...] = ()  # (first cycle, later cycles…); last value repeats
    order: int = 0  # order given on day 1 (infusions)
    dose_levels: Mapping[int, float] = field(default_factory=frozen_map)  # 0, -1, -2 → amount
    rounding: Rounding = Rounding()
    tablets: tuple[int, ...] = ()  # strengths in mg, largest first
    source: str = ""
    codes: Mapping[str, str] = field(default_factory=frozen_map)  # standard medication codes: "atc"/"rxnorm" → code

    def minutes_in(self, cycle: int) -> int:
        """Infusion duration in cycle ``cycle`` (1-based)."""
        if not self.infusion_minutes:
            return 0
        return self.infusion_minutes[min(cycle, len(self.infusion_minutes)) - 1]


@dataclass(frozen=True)
class VisitSpec:
    """A visit defined by a regimen or site: a target relative to an anchor, with a window.

    ``anchor``: ``cycle`` (day 1 of ``cycles``, or of every cycle when empty), ``last-cycle``
    (day 1 of the last cycle), ``end`` (last day of treatment) or ``start`` (course start: never
    slips with delays). ``offset`` days from the anchor; window ``earliest``/``latest`` days around
    the target (earliest ≤ 0 ≤ latest).
    """

    id: str
    names: Names
    anchor: str
    offset: int = 0
    cycles: tuple[int, ...] = ()
    earliest: int = 0
    latest: int = 0
    time: dt.time | None = None
    source: str = ""


@dataclass(frozen=True)
class Regimen:
    """A treatment plan as published: agents, their doses and days, cycle length and count."""

    id: str
    version: str
    trial: str
    title: Names
    source: str
    cycle_days: int
    cycles: int
    agents: tuple[Agent, ...]
    visits: tuple[VisitSpec, ...] = ()

    def agent(self, agent_id: str) -> Agent:
        for agent in self.agents:
            if agent.id == agent_id:
                return agent
        raise KeyError(agent_id)


@dataclass(frozen=True)
class Body:
    """Body measures for BSA-based doses; ``bsa_m2`` given directly wins over height/weight."""

    height_cm: float | None = None
    weight_kg: float | None = None
    bsa_m2: float | None = None
    formula: str = "mosteller"
    measured: dt.date | None = None  # when height and weight (or BSA) were measured


@dataclass(frozen=True)
class Times:
    """Clock times of a course's doses."""

    morning: dt.time = dt.time(8, 0)
    evening: dt.time = dt.time(20, 0)
    injection: dt.time = dt.time(8, 0)
    first_capecitabine_dose: Slot = Slot.MORNING  # registry reading: morning d1 … evening d14


@dataclass(frozen=True)
class Prescribed:
    """A dose a prescriber wrote for an agent; printed in preference to the calculated one."""

    amount: float
    unit: str


@dataclass(frozen=True)
class Change:
    """Something that happened to a course from ``cycle`` on, with a reason (required)."""

    cycle: int
    reason: str
    delay_days: int = 0
    dose_level: Mapping[str, int] = field(default_factory=frozen_map)  # agent id or "all" → level
    omit: tuple[str, ...] = ()
    hold_days: tuple[int, ...] = ()
    stop: bool = False
    prescribed: Mapping[str, Prescribed] = field(default_factory=frozen_map)  # from this cycle on
    recorded: dt.datetime | None = None  # when the change was recorded (drives calendar stamps)
    by: str = ""


def _site_default(attr: str) -> Any:
    """The default of a Site field, from the site schema (read-only mappings are shared, not copied)."""
    value = SITE_DEFAULTS[attr]
    if isinstance(value, Mapping):
        return field(default_factory=lambda: value)
    return field(default=value)


@dataclass(frozen=True)
class Site:
    """A treating unit's settings. Defaults are neutral (no holidays, Monday–Friday, no shifts) and
    come from :mod:`picture_schedule.core.site_schema`, which also documents each setting."""

    name: str = _site_default("name")
    timezone: str = _site_default("timezone")
    clinic_days: tuple[int, ...] = _site_default("clinic_days")  # ISO weekdays, 1 = Monday
    holiday_country: str | None = _site_default("holiday_country")
    holiday_subdivision: str | None = _site_default("holiday_subdivision")
    extra_closures: Mapping[dt.date, str] = _site_default("extra_closures")
    extra_openings: Mapping[dt.date, str] = _site_default("extra_openings")
    shift_policy: str = _site_default("shift_policy")
    max_shift_days: int = _site_default("max_shift_days")
    interval_window: tuple[int, int] = _site_default("interval_window")  # days early, days late around the cycle length
    bsa_cap: float | None = _site_default("bsa_cap")
    dose_threshold: float = _site_default("dose_threshold")  # a fraction: 0.05 is 5 %
    infusion_step_mg: float | None = _site_default("infusion_step_mg")  # per-m² infusions; None: regimen rule
    infusion_time: dt.time = _site_default("infusion_time")
    preparation_minutes: int = _site_default("preparation_minutes")
    observation_minutes: int = _site_default("observation_minutes")
    location: str = _site_default("location")
    phone_day: str = _site_default("phone_day")
    phone_24h: str = _site_default("phone_24h")
    fever_threshold_c: float = _site_default("fever_threshold_c")
    feed_refresh_hours: int = _site_default("feed_refresh_hours")
    feed_base_url: str = _site_default("feed_base_url")
    fhir_identifier_system: str = _site_default("fhir_identifier_system")  # FHIR Patient.identifier.system
    templates: str = _site_default("templates")
    visits: tuple[VisitSpec, ...] = _site_default("visits")
    chairs: object | None = _site_default("chairs")  # chair_plan.Unit, when the site defines its day unit
    source: str = ""


@dataclass(frozen=True)
class Course:
    """One patient's course of a regimen: the plan plus everything recorded since."""

    patient: str
    regimen: Regimen
    start: dt.date
    cycles: int
    site: Site | None = None  # None: no clinic calendar (dates exactly as planned)
    display_name: str = ""
    body: Body | None = None
    times: Times = Times()
    timezone: str = ""  # empty: the site's
    language: str = "en"
    prescribed: Mapping[str, Prescribed] = field(default_factory=frozen_map)
    changes: tuple[Change, ...] = ()
    created: dt.datetime | None = None
    source: str = ""
    bookings: Mapping[int, Booking] = field(default_factory=frozen_map)  # cycle number → day-1 booking

    @property
    def zone(self) -> str:
        return self.timezone or (self.site.timezone if self.site else DEFAULT_TIMEZONE)

    @property
    def settings(self) -> Site:
        """The site's settings, or neutral defaults when the course names no site."""
        return self.site or Site()


@dataclass(frozen=True)
class Dose:
    """A dose as it will be given and printed."""

    amount: float | None
    unit: str
    text: str  # what prints: "1650 mg = 3 × 500 mg + 1 × 150 mg", "200 mg", "100IU HD"
    level: int = 0
    calculated: float | None = None  # mg before rounding (BSA-based doses)
    prescribed: bool = False
    confirm: bool = False  # only the registry text is known: "confirm with your care team"
    tablets: tuple[tuple[int, int], ...] = ()
    warnings: tuple[Note, ...] = ()  # prescribed far from calculated, not made from the tablets
    basis: DoseBasis | None = None  # how the amount was reached


@dataclass(frozen=True)
class DoseBasis:
    """How a dose was reached, for a pharmacist to check. ``rule``: ``flat``, ``text`` (registry text
    only), ``per-m2`` (no body measures), ``prescribed``, or the regimen's rounding rule
    (``nearest-combination``, ``bsa-bands``, ``step`` to ``step`` mg, ``none``)."""

    per: Basis
    regimen_amount: float | None  # per m² for Basis.PER_M2, else the flat amount (None for text)
    unit: str  # the regimen's unit ("mg", "IU")
    bsa_m2: float | None = None  # the course's BSA (2 decimals, capped) for per-m² doses
    calculated: float | None = None  # regimen amount × BSA, before rounding
    rule: str = "none"
    step: float | None = None  # the step of rule "step", in the regimen's unit


@dataclass(frozen=True)
class Booking:
    """A day-1 chair booking made by the coordinator: the appointment time the patient is given."""

    chair: str
    start: dt.time
    end: dt.time
    day: dt.date | None = None  # the date booked; a booking for another date than day 1 no longer applies
    revision: int = 1  # how many times this cycle's booking was made (a re-booking adds one)
    recorded: dt.datetime | None = None  # when it was last made (drives calendar stamps)

    def same_slot(self, other: Booking) -> bool:
        """Whether ``other`` books the same chair and times on the same date (a booking without a
        date holds for any day 1): re-booking it would change nothing the patient is told."""
        return ((self.chair, self.start, self.end) == (other.chair, other.start, other.end)
                and (self.day is None or other.day is None or self.day == other.day))


@dataclass(frozen=True)
class Cycle:
    """One repetition of the regimen as it will actually run."""

    number: int
    planned_day1: dt.date  # by the plan from the course start, before any change
    day1: dt.date  # actual day 1, after delays and shifts
    last_day: dt.date
    delay_days: int = 0
    delay_reason: tuple[Reason, ...] = ()  # the reasons of the changes that delayed it, as typed
    shift_reason: Reason | None = None  # "cycle-shift": moved off a closed day
    move_reason: tuple[Reason, ...] = ()  # why day 1 differs from the plan: own delay/shift, or "follows"
    dose_levels: Mapping[str, int] = field(default_factory=frozen_map)
    omitted: tuple[str, ...] = ()
    held_days: tuple[int, ...] = ()
    infusion_start: dt.time | None = None
    chair_minutes: int = 0  # preparation + infusions + observation on day 1
    booking: Booking | None = None  # the stored chair booking; None: time to be confirmed
    status: Status = Status.PLANNED  # TENTATIVE: day 1 stays on a closed day (the care team confirms a date)
    status_reason: Reason | None = None  # "unconfirmed", for a tentative cycle
    changes: tuple[Reason, ...] = ()  # "change" reasons of the changes recorded for this cycle, in order

    tentative = property(lambda self: self.status is Status.TENTATIVE)
    time_confirmed = property(lambda self: self.booking is not None)  # else the site's usual start: to confirm

    @property
    def moved(self) -> bool:
        return self.day1 != self.planned_day1


@dataclass(frozen=True)
class Event:
    """One dated thing the patient does or attends."""

    id: str  # stable: regimen/cycle/agent/day/slot, never a date
    date: dt.date
    time: dt.time | None
    kind: Kind
    agent: str
    cycle: int
    day: int
    slot: Slot | None = None
    dose: Dose | None = None
    minutes: int = 0  # duration (infusions)
    status: Status = Status.PLANNED
    moved: bool = False
    move_reason: tuple[Reason, ...] = ()  # the cycle's, or "visit-moved" for a visit
    window: tuple[dt.date, dt.date] | None = None  # visits
    revision: int = 0  # how many recorded changes (and chair bookings) altered this event
    modified: dt.datetime | None = None  # when the last of them was recorded
    status_reason: Reason | None = None  # why TENTATIVE: "unconfirmed" (at the clinic) or "unconfirmed-cycle"
    changes: tuple[Reason, ...] = ()  # "change" reasons of the recorded changes that altered this event
    booked: bool = False  # a day-1 infusion at a booked chair time
    tentative = property(lambda self: self.status is Status.TENTATIVE)

    @property
    def sort_key(self) -> tuple:
        return (self.date, self.time or dt.time(0), self.cycle, self.id)


# -- messages: what the core says, as codes and parameters, never as sentences ----------------------
#
# The core never writes prose in any language: a warning or a reason is a message code with its
# parameters, and every output words it in its own language (``render/messages.py`` holds the
# English, the gettext catalogue the translations). Parameter values are plain values: str, int,
# float, bool, None, dt.date, dt.time, Names (a medicine's or visit's name as the regimen gives it),
# another message, or a tuple of these. The codes and their parameter names are declared here, in
# one place; a message with another code or other parameters is refused.

#: Warnings every output must show (Schedule.notes, Dose.warnings): code → parameter names.
NOTE_CODES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "estimated-holidays": ("years",),  # years whose holiday dates are estimates
    "closed-day1": ("cycle", "reason"),  # day 1 stays on a closed day; reason: shift-none|shift-blocked
    "shift": ("cycle", "reason"),  # day 1 moved off a closed day; reason: shift-moved
    "interval": ("cycle", "previous_cycle", "days", "length", "early", "late"),  # cycle: None = unnumbered
    "visit-window": ("visit", "name", "target", "earliest", "latest", "closure"),
    "confirm-dose": ("agent", "name", "text"),  # only the registry text is known
    "dose-tablets": ("agent", "name", "amount", "unit", "strengths"),  # prescribed, not made of tablets
    # calculated: mg before rounding; deviation and threshold: fractions (−0.095, 0.05)
    "dose-deviation": ("agent", "name", "amount", "unit", "calculated", "deviation", "threshold"),
    # a chair booked for another date than the cycle's day 1 (a later change moved it): not applied
    "booking-stale": ("cycle", "booked", "day1"),
})

#: Why something is as it is (moves, shifts, closures, unplaced chairs): code → parameter names.
REASON_CODES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "typed": ("text",),  # what a person typed (a change's reason, a site's closure): printed as written
    "follows": ("cycle", "reasons"),  # an earlier cycle moved, and this one with it
    "cycle-shift": ("cycle", "reason"),  # reason: shift-moved
    "visit-moved": ("target", "closure"),  # a visit moved off its closed target day
    "shift-moved": ("planned", "actual", "days", "closure"),  # days: signed
    "shift-none": ("planned", "closure"),  # policy "none" keeps a closed day
    "shift-blocked": ("planned", "closure", "max_shift", "policy"),  # no open day near enough
    # why a clinic day is closed
    "weekend": (),
    "weekday-closed": ("weekday",),  # ISO weekday that is not a clinic day
    "holidays": ("names",),  # names: tuple of "holiday" / "holiday-named"
    "festival-weekend": ("festivals",),  # a weekend day inside a holiday block
    "day-off-swapped": ("festivals", "worked"),  # a day off swapped with the weekend day worked
    "holiday": ("key", "observed"),  # a known holiday by stable key ("spring-festival", …)
    "holiday-named": ("name",),  # another holiday, named by the holidays package (Names)
    # why a closed weekday is open
    "make-up-day": ("festivals",),  # a weekend day worked in exchange for a day off
    # why a day-1 visit has no chair
    "unit-closed": ("weekday",),
    "longer-than-opening": ("minutes", "opens", "closes", "span"),
    "no-chair": ("minutes", "closes"),
    "no-chair-nurse-limit": ("minutes", "closes", "limit"),
    # why a day-1 visit is not at its planned time (the site's usual start, or the time booked before)
    "chair-moved": ("planned", "start", "reason"),  # reason: one of the three below
    "planned-busy": ("planned", "minutes"),  # no chair free from the planned time for the whole visit
    "planned-nurse-limit": ("planned", "limit"),  # the nurses' starts in that slot are taken
    "planned-outside-hours": ("planned", "minutes", "opens", "closes"),
    # why an event is tentative (Status.TENTATIVE)
    "unconfirmed": ("closure",),  # at the clinic on a closed day: the care team confirms a new date
    "unconfirmed-cycle": ("cycle",),  # at home, in a cycle whose day 1 is on a closed day
    # a recorded change as outputs show it: what it did (actions), its typed reason, who and when
    "change": ("cycle", "actions", "reason", "by", "recorded"),  # reason: "typed"; by: "" or a name
    "delayed": ("cycle", "days"),  # days: signed
    "dose-level": ("cycle", "agent", "name", "level"),
    "prescribed": ("cycle", "agent", "name", "amount", "unit"),
    "omitted": ("cycle", "agent", "name"),
    "held": ("cycle", "days"),  # days: cycle days
    "stopped": ("cycle",),
})


class Params(Mapping[str, Any]):
    """A message's parameters: read-only and hashable, so messages and events stay values."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None, /) -> None:
        self._items: tuple[tuple[str, Any], ...] = tuple(sorted(dict(items or {}).items(), key=lambda kv: kv[0]))

    def __getitem__(self, key: str) -> Any:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Params):
            return self._items == other._items
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Params({dict(self._items)!r})"


@dataclass(frozen=True)
class Message:
    """A message code and its parameters (see :data:`NOTE_CODES`, :data:`REASON_CODES`)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=Params)

    codes: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType({})

    def __post_init__(self) -> None:
        params = self.params if isinstance(self.params, Params) else Params(self.params)
        object.__setattr__(self, "params", params)
        expected = self.codes.get(self.code)
        if expected is None:
            raise ValueError(f"{type(self).__name__} code {self.code!r} is not declared")
        if set(params) != set(expected):
            raise ValueError(f"{self.code!r} takes {sorted(expected)}, not {sorted(params)}")
        hash(params)  # every value must be a value (a list would make the message mutable)


@dataclass(frozen=True)
class Note(Message):
    """A warning every output must show, in the output's language."""

    codes: ClassVar[Mapping[str, tuple[str, ...]]] = NOTE_CODES


@dataclass(frozen=True)
class Reason(Message):
    """Why a day moved, is closed or open, or why a visit has no chair."""

    codes: ClassVar[Mapping[str, tuple[str, ...]]] = REASON_CODES

    @classmethod
    def typed(cls, text: str) -> Reason:
        """What a person wrote (a change's reason, a site's closure), printed as written."""
        return cls("typed", {"text": text})


@dataclass(frozen=True)
class Schedule:
    """The expansion of a course: the single input of every output."""

    course: Course
    cycles: tuple[Cycle, ...]
    events: tuple[Event, ...]  # planned, sorted by date then time
    cancelled: tuple[Event, ...] = ()  # events a change removed (for calendar clients)
    notes: tuple[Note, ...] = ()  # warnings every output must show
    estimated_years: tuple[int, ...] = ()
    brief: bool = False  # cycles and date notes only (chair planning): no events
    # the days the clinic is closed, from the first of the first month to the last of the last month
    # the schedule touches (empty without a site): outputs shade them on month grids
    closures: Mapping[dt.date, Reason] = field(default_factory=frozen_map)

    @property
    def tentative(self) -> tuple[Event, ...]:
        """The events the clinic calendar could not place on an open day (the care team confirms a date)."""
        return tuple(e for e in self.events if e.tentative)

    @property
    def regimen(self) -> Regimen:
        return self.course.regimen

    @property
    def start(self) -> dt.date:
        return self.course.start

    @property
    def end(self) -> dt.date:
        """Last day of the last cycle, or of the last event if a visit falls later."""
        last = self.cycles[-1].last_day if self.cycles else self.course.start
        return max([last, *(e.date for e in self.events)])

    def detailed(self) -> Schedule:
        """This schedule, checked to carry its events: a brief one (chair planning) must not be printed."""
        if self.brief:
            raise ValueError("a brief schedule (cycles only) has no events to render; expand without brief=True")
        return self

    def fingerprint(self) -> str:
        """Short hash of every event's identity, date, time, dose and whether its date or time is
        confirmed: equal prints, equal hashes."""
        digest = hashlib.sha256()
        for e in self.events:
            dose = e.dose.text if e.dose else ""
            extra = ("|tentative" if e.tentative else "") + ("|booked" if e.booked else "")
            digest.update(f"{e.id}|{e.date}|{e.time}|{dose}{extra}\n".encode())
        return digest.hexdigest()[:8]


def format_amount(value: float | None) -> str:
    """1000.0 → "1000", 2.5 → "2.5"."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
