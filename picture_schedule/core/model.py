"""The nouns of picture-schedule: frozen value objects, no behaviour beyond small derivations.

Glossary (see README): a *Regimen* is the published plan, made of *Agents*; a *Course* is one
patient's course of that regimen with its *Site* and *Changes*; expanding a course gives a
*Schedule*: its *Cycles* and its *Events*.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


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
    """An event as planned, or removed by a change (omission, hold, stop)."""

    PLANNED = "planned"
    CANCELLED = "cancelled"


LANGUAGES = ("en", "zh-CN")
DEFAULT_TIMEZONE = "Asia/Shanghai"


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


@dataclass(frozen=True)
class Site:
    """A treating unit's settings. Defaults are neutral: no holidays, Monday–Friday, no shifts."""

    name: str = ""
    timezone: str = "Asia/Shanghai"
    clinic_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_closures: Mapping[dt.date, str] = field(default_factory=frozen_map)
    extra_openings: Mapping[dt.date, str] = field(default_factory=frozen_map)
    shift_policy: str = "none"
    max_shift_days: int = 7
    interval_window: tuple[int, int] = (3, 7)  # days early, days late around the cycle length
    bsa_cap: float | None = None
    dose_threshold: float = 0.05
    infusion_step_mg: float | None = None  # site rounding for per-m² infusions; None: regimen rule
    infusion_time: dt.time = dt.time(9, 0)
    preparation_minutes: int = 0
    observation_minutes: int = 30
    location: str = ""
    phone_day: str = ""
    phone_24h: str = ""
    fever_threshold_c: float = 38.0
    feed_refresh_hours: int = 12
    feed_base_url: str = ""
    templates: str = ""
    visits: tuple[VisitSpec, ...] = ()
    chairs: object | None = None  # chairs.Unit, when the site defines its day unit
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
    warning: str = ""  # prescribed far from calculated, …


@dataclass(frozen=True)
class Cycle:
    """One repetition of the regimen as it will actually run."""

    number: int
    planned_day1: dt.date  # by the plan from the course start, before any change
    day1: dt.date  # actual day 1, after delays and shifts
    last_day: dt.date
    delay_days: int = 0
    delay_reason: str = ""
    shift_reason: str = ""
    shift_reason_zh: str = ""
    move_reason: str = ""  # why day 1 differs from the plan: own delay/shift, or an earlier cycle's
    move_reason_zh: str = ""  # the same in Chinese (a recorded reason stays as the nurse wrote it)
    dose_levels: Mapping[str, int] = field(default_factory=frozen_map)
    omitted: tuple[str, ...] = ()
    held_days: tuple[int, ...] = ()
    infusion_start: dt.time | None = None
    chair_minutes: int = 0  # preparation + infusions + observation on day 1

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
    move_reason: str = ""
    move_reason_zh: str = ""
    window: tuple[dt.date, dt.date] | None = None  # visits
    revision: int = 0  # how many recorded changes altered this event
    modified: dt.datetime | None = None  # when the last of them was recorded

    @property
    def sort_key(self) -> tuple:
        return (self.date, self.time or dt.time(0), self.cycle, self.id)


@dataclass(frozen=True)
class Note:
    """A warning every output must show, in each language."""

    code: str  # "shift", "interval", "estimated-holidays", "dose-deviation", "confirm-dose", …
    en: str
    zh: str

    def text(self, language: str) -> str:
        return self.zh if language == "zh-CN" else self.en


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
        """Short hash of every event's identity, date, time and dose: equal prints, equal hashes."""
        digest = hashlib.sha256()
        for e in self.events:
            dose = e.dose.text if e.dose else ""
            digest.update(f"{e.id}|{e.date}|{e.time}|{dose}\n".encode())
        return digest.hexdigest()[:8]


def format_amount(value: float | None) -> str:
    """1000.0 → "1000", 2.5 → "2.5"."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
