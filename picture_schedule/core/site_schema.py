"""The site settings, declared once: where each lives in a site file, its kind, what is allowed, its
default and a one-line description.

Three things are derived from this table and from nothing else: the defaults of
:class:`~picture_schedule.core.model.Site`, the checks the loader makes on a site file
(``picture_schedule.loading.site``) and the reference page of the documentation
(``picture_schedule.loading.site_schema.reference_markdown``).

A default is written as a site file would write it (``"09:00"``, ``["mon", …]``, ``5`` %);
``to_model`` turns such a value into the value the ``Site`` field holds (a ``time``, ISO weekday
numbers, a fraction). ``None`` means "not set". Pure data: no I/O, standard library only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHIFT_POLICIES = ("none", "next", "previous", "nearest")
VISIT_ANCHORS = ("cycle", "last-cycle", "end", "start")


class SettingKind(StrEnum):
    """What a setting's value looks like in the TOML file (the loader checks each kind its own way)."""

    TEXT = "text"
    INTEGER = "whole number"
    NUMBER = "number"
    TIME = "clock time"
    WEEKDAYS = "list of weekdays"
    ZONE = "time zone"
    URL = "web address"
    URI = "URI"
    FOLDER = "folder"
    COUNTRY = "country code"
    SUBDIVISION = "subdivision code"
    DAYS_PAIR = "[early, late] days"
    WINDOW = "[before, after] days"
    DATED = "list of { date, reason }"
    HOURS = "table of weekday hours"
    TIME_PAIR = "[opens, closes]"
    NAMES = "name"
    ID = "id"
    INT_LIST = "list of whole numbers"


# what a value of each kind may be, as the reference page states it and the loader's message says it
_ALLOWED = {
    SettingKind.TEXT: "any text",
    SettingKind.TIME: "HH:MM, 00:00–23:59",
    SettingKind.WEEKDAYS: "mon … sun",
    SettingKind.ZONE: "IANA time zone (e.g. Asia/Shanghai, Europe/London)",
    SettingKind.URL: "http(s) address",
    SettingKind.URI: "an absolute URI: urn:… or http(s)://…",
    SettingKind.FOLDER: "a folder, relative to the site file",
    SettingKind.COUNTRY: "a country the holidays package knows (ISO code, e.g. CN)",
    SettingKind.SUBDIVISION: "a subdivision of that country (e.g. GB: SCT)",
    SettingKind.DAYS_PAIR: "[days_early ≥ 0, days_late ≥ 0]",
    SettingKind.WINDOW: "[days_before ≤ 0, days_after ≥ 0]",
    SettingKind.DATED: "date YYYY-MM-DD, reason text",
    SettingKind.HOURS: "mon … sun = [\"08:00\", \"17:00\"], closing after opening",
    SettingKind.TIME_PAIR: "[\"08:00\", \"17:00\"], closing after opening",
    SettingKind.NAMES: "text, or { en = …, zh-CN = … }",
    SettingKind.ID: "lower-case letters, digits and hyphens (at most 64)",
    SettingKind.INT_LIST: "whole numbers",
}


def weekday_numbers(names: Iterable[str]) -> tuple[int, ...]:
    """["mon", "Tuesday"] → (1, 2): ISO weekday numbers, sorted, each once (names are checked first)."""
    return tuple(sorted({WEEKDAYS.index(name.lower()[:3]) + 1 for name in names}))


def clock(value: str | dt.time) -> dt.time:
    """"09:00" → 09:00 (a checked ``HH:MM`` text, or a TOML local time as it is)."""
    if isinstance(value, dt.time):
        return value
    hours, minutes = value.strip().split(":")
    return dt.time(int(hours), int(minutes))


def _fraction(percent: float) -> float:
    return percent / 100


def _ints(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(values)


def _dated(value: Mapping[dt.date, str] | Iterable[Mapping[str, Any]]) -> Mapping[dt.date, str]:
    """[{ date, reason }, …] (or a checked date → reason mapping) → a read-only date → reason mapping."""
    if isinstance(value, Mapping):
        return MappingProxyType(dict(value))
    return MappingProxyType({item["date"]: item["reason"] for item in value})


@dataclass(frozen=True)
class Setting:
    """One key of a site file."""

    table: str  # "" at the top of the file; "shift", "chairs", "visits" ([[visits]]: one table per visit)
    key: str
    kind: SettingKind
    doc: str  # one line, for the reference page
    default: Any = None  # as a site file writes it; None: not set
    lo: float | None = None
    hi: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    required: bool = False  # must be given when its table is
    attr: str = ""  # the Site field it sets ("" inside [[visits]] and [chairs], which build their own values)
    to_model: Callable[[Any], Any] | None = None  # file value → model value (None: the value as it is)
    example: Any = None  # a valid value, for settings without a default

    @property
    def name(self) -> str:
        """The dotted name the loader's messages use: ``shift.max_days``."""
        return f"{self.table}.{self.key}" if self.table else self.key

    @property
    def allowed(self) -> str:
        """What a value may be, in the words of the loader's messages."""
        if self.choices:
            return ", ".join(self.choices)
        if self.lo is not None and self.hi is not None:
            span = f"{self.lo:g}–{self.hi:g}"
            return f"{span} {self.unit}" if self.unit else span
        return _ALLOWED.get(self.kind, "")

    def model_value(self, value: Any) -> Any:
        """A file value (checked) as the model holds it; None stays None."""
        if value is None or self.to_model is None:
            return value
        return self.to_model(value)

    @property
    def model_default(self) -> Any:
        return self.model_value(self.default)


@dataclass(frozen=True)
class Table:
    """A table of a site file (``""``: the top level)."""

    name: str
    doc: str
    array: bool = False  # [[visits]]: any number of tables
    attr: str = ""  # the Site field the whole table sets (visits, chairs)
    absent: Any = None  # that field's value when the table is not given


TABLES = (
    Table("", "The unit: its name, clock, clinic days and the diary's fever threshold."),
    Table("phones", "Phone numbers printed on the diary and in calendar descriptions."),
    Table("holidays", "Days the unit is closed or open besides its clinic days."),
    Table("shift", "What happens to a day 1 that falls on a closed day, and the interval check."),
    Table("dosing", "The unit's pharmacy rules for doses."),
    Table("infusion", "Day-1 infusion times: the hospital appointment and the chair time."),
    Table("feed", "Calendar feeds served from the roster."),
    Table("fhir", "The FHIR bundle a course is exported as (`picture-schedule fhir`)."),
    Table("visits", "Visits the unit books: any number of `[[visits]]` tables, with the same keys as in "
          "regimen files.", array=True, attr="visits", absent=()),
    Table("chairs", "The day unit used by chair planning (`chairs plan`, `chairs suggest`).",
          attr="chairs", absent=None),
)

S = SettingKind

SETTINGS = (
    # the top level
    Setting("", "name", S.TEXT, "The unit's name, printed on the diary and calendar events.", "", attr="name",
            example="Example day unit"),
    Setting("", "timezone", S.ZONE, "Time zone of every clock time of the unit.", "Asia/Shanghai",
            attr="timezone"),
    Setting("", "clinic_days", S.WEEKDAYS, "Weekdays the unit gives treatment.",
            ["mon", "tue", "wed", "thu", "fri"], attr="clinic_days", to_model=weekday_numbers),
    Setting("", "location", S.TEXT, "Where the patient goes, printed on the diary and the appointment.", "",
            attr="location", example="Day Treatment Unit, 3rd floor"),
    Setting("", "fever_threshold_c", S.NUMBER, "The temperature at which the diary says to call the unit.",
            38.0, lo=37.0, hi=39.0, unit="°C", attr="fever_threshold_c"),
    Setting("", "templates", S.FOLDER, "A folder of diary templates that replace the shipped ones one by one.",
            "", attr="templates", example="diary-templates"),
    # [phones]
    Setting("phones", "day", S.TEXT, "The unit's phone number in office hours.", "", attr="phone_day",
            example="025-0000-0001"),
    Setting("phones", "hotline", S.TEXT, "The 24-hour hotline.", "", attr="phone_24h", example="025-0000-0002"),
    # [holidays]
    Setting("holidays", "country", S.COUNTRY, "Public holidays of this country (CN also opens make-up working "
            "days).", attr="holiday_country", example="CN"),
    Setting("holidays", "subdivision", S.SUBDIVISION, "A region with its own holidays, within `country`.",
            attr="holiday_subdivision", example="SCT"),
    Setting("holidays", "closures", S.DATED, "More days the unit is closed: `[{ date = 2027-01-04, reason = "
            "\"training day\" }]`.", [], attr="extra_closures", to_model=_dated),
    Setting("holidays", "openings", S.DATED, "Days the unit opens although the calendar says closed.", [],
            attr="extra_openings", to_model=_dated),
    # [shift]
    Setting("shift", "policy", S.TEXT, "A day 1 on a closed day: keep it, or move it to the next, previous or "
            "nearest open day.", "none", choices=SHIFT_POLICIES, attr="shift_policy"),
    Setting("shift", "max_days", S.INTEGER, "Never move a day 1 further than this.", 7, lo=0, hi=28,
            attr="max_shift_days"),
    Setting("shift", "interval_window", S.DAYS_PAIR, "A day 1 this many days early or late against the cycle "
            "length is accepted; outside it is flagged.", [3, 7], attr="interval_window", to_model=_ints),
    # [dosing]
    Setting("dosing", "bsa_cap_m2", S.NUMBER, "Cap the body-surface area used for doses (not set: no cap).",
            lo=1.0, hi=3.0, unit="m²", attr="bsa_cap", example=2.0),
    Setting("dosing", "deviation_threshold_percent", S.NUMBER, "Warn when a prescribed dose is further than "
            "this from the calculated one.", 5, lo=0, hi=50, unit="%", attr="dose_threshold",
            to_model=_fraction),
    Setting("dosing", "infusion_step_mg", S.NUMBER, "Round per-m² infusion doses to this step (not set: the "
            "regimen's rule).", lo=0.1, hi=100, unit="mg", attr="infusion_step_mg", example=5),
    # [infusion]
    Setting("infusion", "start", S.TIME, "When a cycle's day-1 infusions start.", "09:00", attr="infusion_time",
            to_model=clock),
    Setting("infusion", "preparation_minutes", S.INTEGER, "Chair time before the first infusion.", 0, lo=0,
            hi=600, attr="preparation_minutes"),
    Setting("infusion", "observation_minutes", S.INTEGER, "Chair time after the last infusion.", 30, lo=0,
            hi=600, attr="observation_minutes"),
    # [feed]
    Setting("feed", "refresh_hours", S.INTEGER, "How often calendar apps should fetch a feed again.", 12, lo=1,
            hi=24 * 7, attr="feed_refresh_hours"),
    Setting("feed", "base_url", S.URL, "The public address of the feed server (for feed links).", "",
            attr="feed_base_url", example="https://calendar.example.org"),
    # [fhir]
    Setting("fhir", "identifier_system", S.URI, "The system of the study number in the FHIR Patient's identifier.",
            "urn:picture-schedule:study-number", attr="fhir_identifier_system"),
    # [[visits]]
    Setting("visits", "id", S.ID, "The visit's id, unique in its file.", required=True, example="bloods"),
    Setting("visits", "name", S.NAMES, "The visit's name as patients read it.", required=True,
            example={"en": "Blood test", "zh-CN": "血液检查"}),
    Setting("visits", "anchor", S.TEXT, "Day 1 of a cycle, of the last cycle, the end of treatment, or the course "
            "start (never slips with delays).", choices=VISIT_ANCHORS, required=True, example="cycle"),
    Setting("visits", "offset", S.INTEGER, "Days from the anchor to the target day.", 0, lo=-365, hi=3650),
    Setting("visits", "cycles", S.INT_LIST, "With `anchor = \"cycle\"`: the cycles that have the visit (empty: "
            "all).", [], to_model=_ints),
    Setting("visits", "window", S.WINDOW, "Days before and after the target the visit may fall.", [0, 0],
            to_model=_ints),
    Setting("visits", "time", S.TIME, "The visit's clock time (not set: all day).", example="08:00"),
    Setting("visits", "source", S.TEXT, "Where the visit comes from (a protocol section, a unit rule).", ""),
    # [chairs]
    Setting("chairs", "count", S.INTEGER, "Chairs in the day unit.", lo=1, hi=1000, required=True, example=12),
    Setting("chairs", "slot_minutes", S.INTEGER, "Infusions start on this grid, counted from opening.", 15, lo=1,
            hi=120),
    Setting("chairs", "nurse_starts_per_slot", S.INTEGER, "At most this many infusions start in one slot (not "
            "set: no limit).", lo=1, hi=1000, example=3),
    Setting("chairs", "make_up_hours", S.TIME_PAIR, "Hours on weekend make-up working days and extra openings, "
            "for a weekday without `hours`.", example=["08:00", "17:30"]),
    Setting("chairs", "hours", S.HOURS, "Opening and closing time per weekday; a weekday not listed is closed.",
            required=True, example={"mon": ["08:00", "17:30"]}),
)

del S


def settings_of(table: str) -> tuple[Setting, ...]:
    """The settings of one table, in file order."""
    return tuple(s for s in SETTINGS if s.table == table)


def site_defaults() -> dict[str, Any]:
    """Site field → default value, as the model holds it (``Site`` takes its defaults from here)."""
    values = {s.attr: s.model_default for s in SETTINGS if s.attr}
    values.update({t.attr: t.absent for t in TABLES if t.attr})
    return values
