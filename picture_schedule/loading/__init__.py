"""TOML files → model objects. Every problem names the file, the field and the value.

Regimens, sites and courses are read with `tomllib`; built-in regimens are package resources.
Validation collects every problem of a file before failing, so `validate` can list them all.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, cast

from picture_schedule.errors import InputError, Problems, ScheduleError
from picture_schedule.core.model import (
    LANGUAGES,
    Agent,
    Basis,
    Body,
    Change,
    Course,
    DoseSpec,
    Kind,
    Names,
    Prescribed,
    Regimen,
    Rounding,
    Site,
    Slot,
    Times,
    VisitSpec,
    frozen_map,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANCHORS = ("cycle", "last-cycle", "end", "start")
ROUNDING_RULES = ("nearest-combination", "bsa-bands", "step", "none")
SHIFT_POLICIES = ("none", "next", "previous", "nearest")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_MISSING = object()


def builtin_regimens() -> list[str]:
    """Names of the regimens shipped in the package."""
    folder = resources.files("picture_schedule") / "regimens"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def read_toml(path: Path | str, label: str | None = None) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; errors name the file and the line."""
    label = label or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", source=label) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a TOML file", source=label) from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", source=label) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", source=label) from None
    return parse_toml(text, label), label


def parse_toml(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=label) from None


class Reader:
    """One TOML table with its dotted path; collects problems instead of stopping at the first."""

    def __init__(self, data: Any, source: str, path: str = "", problems: list[ScheduleError] | None = None):
        self.source = source
        self.path = path
        self.problems: list[ScheduleError] = [] if problems is None else problems
        self.data = data if isinstance(data, dict) else {}
        self.used: set[str] = set()
        if not isinstance(data, dict):
            self.problem(None, f"expected a table, got {_show(data)}")

    def where(self, name: str | None) -> str:
        if name is None:
            return self.path
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str | None, message: str) -> None:
        self.problems.append(InputError(message, source=self.source, field=self.where(name) or None))

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        self.used.add(name)
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            self.problem(name, "is required")
            return None
        return default

    def typed(self, name: str, kinds: tuple[type, ...], what: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or (value is default and default is not _MISSING):
            return value
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.problem(name, f"{_show(value)} is not {what}")
            return None
        return value

    def text(self, name: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> Any:
        value = self.typed(name, (str,), "text", default)
        if value is not None and choices and value not in choices:
            self.problem(name, f"{_show(value)} is not one of: {', '.join(choices)}")
            return None
        return value

    def integer(self, name: str, lo: int, hi: int, default: Any = _MISSING) -> Any:
        value = self.typed(name, (int,), "a whole number", default)
        if isinstance(value, int) and not lo <= value <= hi:
            self.problem(name, f"{value} is outside {lo}–{hi}")
            return None
        return value

    def number(self, name: str, lo: float, hi: float, default: Any = _MISSING, unit: str = "") -> Any:
        value = self.typed(name, (int, float), "a number", default)
        if isinstance(value, (int, float)) and not lo <= value <= hi:
            self.problem(name, f"{value:g} is outside {lo:g}–{hi:g}{' ' + unit if unit else ''}")
            return None
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        return self.typed(name, (bool,), "true or false", default)

    def date(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        return self.as_date(name, value)

    def as_date(self, name: str, value: Any) -> dt.date | None:
        if isinstance(value, dt.datetime):
            self.problem(name, f"{value.isoformat()} has a time; give a date like 2026-12-07")
            return None
        if isinstance(value, dt.date):
            try:
                return check_date_range(value)
            except InputError as exc:
                self.problem(name, exc.message)
                return None
        if isinstance(value, str):
            try:
                return parse_date(value)
            except InputError as exc:
                self.problem(name, exc.message)
                return None
        self.problem(name, f"{_show(value)} is not a date (YYYY-MM-DD)")
        return None

    def time(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        if isinstance(value, dt.time):
            return value
        if isinstance(value, str):
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
            if match:
                return dt.time(int(match[1]), int(match[2]))
        self.problem(name, f"{_show(value)} is not a clock time (HH:MM, 00:00–23:59)")
        return None

    def datetime(self, name: str) -> dt.datetime | None:
        value = self.raw(name, None)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time(0))
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
        self.problem(name, f"{_show(value)} is not a date and time (2027-01-20T10:30:00)")
        return None

    def names(self, name: str, default: Any = _MISSING) -> Names | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip():
                return Names(value)
            self.problem(name, "is empty")
            return None
        if isinstance(value, dict):
            sub = Reader(value, self.source, self.where(name), self.problems)
            en = sub.text("en")
            zh = sub.text("zh-CN", "")
            sub.done()
            return Names(en, zh or "") if en else None
        self.problem(name, f"{_show(value)} is not text or a table {{ en = …, zh-CN = … }}")
        return None

    def table(self, name: str, required: bool = False) -> Reader | None:
        value = self.raw(name, _MISSING if required else None)
        if value is None:
            return None
        return Reader(value, self.source, self.where(name), self.problems)

    def tables(self, name: str) -> Iterator[Reader]:
        value = self.raw(name, [])
        if not isinstance(value, list):
            self.problem(name, f"{_show(value)} is not a list of tables ([[{name}]])")
            return
        for i, item in enumerate(value):
            yield Reader(item, self.source, f"{self.where(name)}[{i + 1}]", self.problems)

    def int_list(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            self.problem(name, f"{_show(value)} is not a list of whole numbers")
            return None
        return tuple(value)

    def str_list(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(name, f"{_show(value)} is not a list of names")
            return None
        return tuple(value)

    def done(self) -> None:
        """Report fields nobody asked for (typos must not be silently ignored)."""
        for key in self.data:
            if key not in self.used:
                allowed = ", ".join(sorted(self.used))
                self.problem(key, f"unknown field (allowed here: {allowed})")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "a list"
    return str(value)


FIRST_DATE, LAST_DATE = dt.date(1970, 1, 1), dt.date(2199, 12, 31)


def parse_date(text: str, source: str | None = None) -> dt.date:
    """'2026-12-07' → date; impossible dates (2026-02-30) get a clear message."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if not match:
        raise InputError(f"{text!r} is not a date in the form YYYY-MM-DD", source=source)
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise InputError(f"{text!r} is not a real date ({exc})", source=source) from None
    return check_date_range(day, source)


def check_date_range(day: dt.date, source: str | None = None) -> dt.date:
    """Treatment dates are between 1970 and 2199 (holiday data and clocks cover that span)."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InputError(
            f"{day.isoformat()} is outside the supported dates {FIRST_DATE.isoformat()} – {LAST_DATE.isoformat()}",
            source=source)
    return day


def _finish(reader: Reader, build: Callable[[], Any]) -> Any:
    reader.done()
    if reader.problems:
        raise reader.problems[0] if len(reader.problems) == 1 else Problems(reader.problems)
    return build()


# -- regimens ---------------------------------------------------------------------------------


def load_regimen(ref: str | Path, relative_to: Path | None = None) -> Regimen:
    """A built-in regimen by name (``picture``) or a regimen TOML file by path."""
    text, label = regimen_text(ref, relative_to)
    return regimen_from_toml(text, label)


def regimen_text(ref: str | Path, relative_to: Path | None = None) -> tuple[str, str]:
    """The TOML text of a regimen reference and the label errors should use."""
    name = str(ref)
    if name in builtin_regimens():
        resource = resources.files("picture_schedule") / "regimens" / f"{name}.toml"
        return resource.read_text(encoding="utf-8"), f"{name}.toml"
    path = Path(ref)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if not path.suffix and not path.exists():
        raise InputError(f"unknown regimen {name!r} (built-in: {', '.join(builtin_regimens())}; or give a .toml path)")
    try:
        return path.read_text(encoding="utf-8"), str(ref)
    except FileNotFoundError:
        raise InputError("no such regimen file", source=str(ref)) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a regimen TOML file", source=str(ref)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read ({exc})", source=str(ref)) from None


def regimen_from_toml(text: str, label: str) -> Regimen:
    return regimen_from_data(parse_toml(text, label), label)


def regimen_from_data(data: dict[str, Any], label: str) -> Regimen:
    r = Reader(data, label)
    rid = r.text("id")
    if rid is not None and not ID_PATTERN.match(rid):
        r.problem("id", f"{rid!r} must be lower-case letters, digits and hyphens")
    version = r.text("version")
    trial = r.text("trial", "")
    title = r.names("title")
    source = r.text("source")
    cycle_days = r.integer("cycle_days", 1, 365)
    cycles = r.integer("cycles", 1, 99)
    agents = []
    for a in r.tables("agents"):
        agent = _agent(a, cycle_days or 365)
        if agent is not None:
            agents.append(agent)
    if not agents and not r.problems:
        r.problem("agents", "a regimen needs at least one agent ([[agents]])")
    ids = [a.id for a in agents]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        r.problem("agents", f"agent id {dup!r} is used twice")
    visits = tuple(v for v in (_visit(t) for t in r.tables("visits")) if v is not None)
    return _finish(r, lambda: Regimen(
        rid, version, trial, cast(Names, title), source, cycle_days, cycles, tuple(agents), visits))


def _agent(a: Reader, cycle_days: int) -> Agent | None:
    aid = a.text("id")
    if aid is not None and not ID_PATTERN.match(aid):
        a.problem("id", f"{aid!r} must be lower-case letters, digits and hyphens")
    names = a.names("name")
    kind_text = a.text("kind", choices=tuple(k.value for k in Kind if k is not Kind.VISIT))
    route = a.text("route")
    dose = _dose_spec(a)
    days = _days(a, cycle_days)
    slots_text = a.str_list("slots", ())
    slots: tuple[Slot, ...] = ()
    if slots_text:
        bad = [s for s in slots_text if s not in (Slot.MORNING, Slot.EVENING)]
        if bad:
            a.problem("slots", f"{bad[0]!r} is not a slot (allowed: morning, evening)")
        else:
            slots = tuple(Slot(s) for s in slots_text)
    minutes = a.int_list("infusion_minutes", ())
    if minutes and any(m <= 0 or m > 24 * 60 for m in minutes):
        a.problem("infusion_minutes", f"{list(minutes)} must be minutes between 1 and 1440")
    if kind_text == Kind.INFUSION and not minutes:
        a.problem("infusion_minutes", "an infusion needs its duration in minutes, e.g. [60, 30]")
    order = a.integer("order", 0, 99, 0)
    levels = _dose_levels(a, dose)
    tablets = a.int_list("tablets", ())
    if tablets and any(t <= 0 for t in tablets):
        a.problem("tablets", f"{list(tablets)}: tablet strengths must be positive mg")
    rounding = _rounding(a, tablets)
    source = a.text("source", "")
    a.done()
    if aid is None or names is None or kind_text is None or route is None or dose is None or days is None:
        return None
    return Agent(
        id=aid, names=names, kind=Kind(kind_text), route=route, dose=dose, days=days, slots=slots,
        infusion_minutes=minutes or (), order=order or 0, dose_levels=frozen_map(levels),
        rounding=rounding or Rounding(), tablets=tuple(sorted(tablets or (), reverse=True)), source=source,
    )


def _dose_spec(a: Reader) -> DoseSpec | None:
    d = a.table("dose", required=True)
    if d is None:
        return None
    basis = d.text("basis", choices=tuple(b.value for b in Basis))
    if basis == Basis.TEXT:
        text = d.text("text")
        d.done()
        return DoseSpec(Basis.TEXT, None, "", text) if text else None
    amount = d.number("amount", 0.0001, 1e9)
    unit = d.text("unit")
    text = d.text("text", "")
    d.done()
    if basis is None or amount is None or unit is None:
        return None
    if amount <= 0:
        return None
    return DoseSpec(Basis(basis), float(amount), unit, text)


def _days(a: Reader, cycle_days: int) -> tuple[int, ...] | None:
    value = a.raw("days")
    if value is None:
        return None
    if isinstance(value, list):
        if not value or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            a.problem("days", f"{_show(value)} must be a non-empty list of cycle days")
            return None
        days = tuple(value)
    elif isinstance(value, dict):
        span = Reader(value, a.source, a.where("days"), a.problems)
        first = span.integer("from", 1, 10_000)
        last = span.integer("to", 1, 10_000)
        step = span.integer("step", 1, 365, 1)
        span.done()
        if None in (first, last, step):
            return None
        if last < first:
            a.problem("days", f"'to' {last} is before 'from' {first}")
            return None
        days = tuple(range(first, last + 1, step))
    else:
        a.problem("days", f"{_show(value)} must be a list [1, 8] or a range {{ from = 1, to = 14, step = 2 }}")
        return None
    for day in days:
        if not 1 <= day <= cycle_days:
            a.problem("days", f"day {day} is outside a {cycle_days}-day cycle")
            return None
    if len(set(days)) != len(days):
        a.problem("days", f"{list(days)} lists a day twice")
        return None
    return tuple(sorted(days))


def _dose_levels(a: Reader, dose: DoseSpec | None) -> dict[int, float]:
    value = a.raw("dose_levels", {})
    if not isinstance(value, dict):
        a.problem("dose_levels", f"{_show(value)} must be a table like {{ \"0\" = 1000, \"-1\" = 750 }}")
        return {}
    levels: dict[int, float] = {}
    for key, amount in value.items():
        try:
            level = int(key)
        except ValueError:
            a.problem(f"dose_levels.{key}", "level names are whole numbers: \"0\", \"-1\", \"-2\"")
            continue
        if level > 0 or level < -9:
            a.problem(f"dose_levels.{key}", f"level {level} is outside -9–0 (reductions only)")
        elif not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
            a.problem(f"dose_levels.{key}", f"{_show(amount)} is not a positive amount")
        else:
            levels[level] = float(amount)
    if levels and dose is not None:
        if 0 not in levels:
            a.problem("dose_levels", "needs level \"0\" (the registered dose)")
        elif dose.amount is not None and levels[0] != dose.amount:
            a.problem("dose_levels.0", f"{levels[0]:g} differs from dose.amount {dose.amount:g}")
        ordered = [levels[k] for k in sorted(levels, reverse=True)]
        if ordered != sorted(ordered, reverse=True):
            a.problem("dose_levels", "lower levels must have smaller amounts")
    return levels


def _rounding(a: Reader, tablets: tuple[int, ...] | None) -> Rounding | None:
    r = a.table("rounding")
    if r is None:
        return Rounding()
    rule = r.text("rule", choices=ROUNDING_RULES)
    step = r.number("step", 0.01, 1000, 5)
    max_tablets = r.integer("max_tablets", 1, 30, 8)
    source = r.text("source", "")
    bands: dict[int, tuple] = {}
    band_data = r.raw("bands", {})
    if rule in ("nearest-combination", "bsa-bands") and not tablets:
        r.problem("rule", f"{rule!r} needs the agent's tablet strengths (tablets = [500, 150])")
    if rule == "bsa-bands":
        bands = _bands(r, band_data, tablets or ())
        if not source:
            r.problem("source", "a BSA band table must cite its source (e.g. the product label table)")
    elif band_data:
        r.problem("bands", "only used with rule = \"bsa-bands\"")
    r.done()
    if rule is None:
        return None
    return Rounding(rule, float(step or 5), max_tablets or 8, frozen_map(bands), source)


def _bands(r: Reader, data: Any, tablets: tuple[int, ...]) -> dict[int, tuple]:
    from picture_schedule.core import dosing

    strengths = tuple(sorted(tablets, reverse=True))
    out: dict[int, tuple] = {}
    if not isinstance(data, dict) or not data:
        r.problem("bands", "give a table per dose level: { \"0\" = [[low, high, mg, n500, n150], …] }")
        return out
    for key, rows in data.items():
        where = f"bands.{key}"
        try:
            level = int(key)
        except ValueError:
            r.problem(where, "level names are whole numbers: \"0\", \"-1\"")
            continue
        parsed = []
        for i, row in enumerate(rows if isinstance(rows, list) else []):
            if not (isinstance(row, list) and len(row) == 3 + len(strengths)
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)):
                r.problem(f"{where}[{i + 1}]", f"must be [bsa_low, bsa_high, mg, {', '.join(f'n{s}' for s in strengths)}]")
                continue
            counts = tuple((s, int(n)) for s, n in zip(strengths, row[3:]) if n)
            parsed.append(dosing.BsaBand(float(row[0]), float(row[1]), dosing.TabletDose(int(row[2]), counts)))
        try:
            dosing.check_bands(parsed)
        except ScheduleError as exc:
            r.problem(where, exc.message)
        out[level] = tuple(parsed)
    return out


def _visit(v: Reader) -> VisitSpec | None:
    vid = v.text("id")
    if vid is not None and not ID_PATTERN.match(vid):
        v.problem("id", f"{vid!r} must be lower-case letters, digits and hyphens")
    names = v.names("name")
    anchor = v.text("anchor", choices=ANCHORS)
    offset = v.integer("offset", -365, 3650, 0)
    cycles = v.int_list("cycles", ())
    window = v.int_list("window", (0, 0))
    time = v.time("time", None)
    source = v.text("source", "")
    if window is not None and (len(window) != 2 or window[0] > 0 or window[1] < 0):
        v.problem("window", f"{list(window)} must be [days_before ≤ 0, days_after ≥ 0]")
        window = None
    if cycles and anchor != "cycle":
        v.problem("cycles", "only used with anchor = \"cycle\"")
    v.done()
    if vid is None or names is None or anchor is None or offset is None or cycles is None or window is None:
        return None
    return VisitSpec(vid, names, anchor, offset, cycles, window[0], window[1], time, source)


# -- sites ------------------------------------------------------------------------------------


def load_site(path: Path | str) -> Site:
    data, label = read_toml(path)
    return site_from_data(data, label, Path(path).parent)


def site_from_data(data: dict[str, Any], label: str, folder: Path | None = None, path: str = "") -> Site:
    s = Reader(data, label, path)
    site = _site(s, folder)
    return _finish(s, lambda: site)


def _site(s: Reader, folder: Path | None) -> Site:
    defaults = Site()
    name = s.text("name", "")
    timezone = s.text("timezone", defaults.timezone)
    if timezone is not None:
        _check_zone(s, "timezone", timezone)
    days_text = s.str_list("clinic_days", ("mon", "tue", "wed", "thu", "fri"))
    clinic_days = defaults.clinic_days
    if days_text is not None:
        bad = [d for d in days_text if d.lower()[:3] not in WEEKDAYS]
        if bad:
            s.problem("clinic_days", f"{bad[0]!r} is not a weekday (mon … sun)")
        else:
            clinic_days = tuple(sorted({WEEKDAYS.index(d.lower()[:3]) + 1 for d in days_text}))
    location = s.text("location", "")
    fever = s.number("fever_threshold_c", 37.0, 39.0, 38.0, "°C")
    templates = s.text("templates", "")
    if templates and folder is not None and not Path(templates).is_absolute():
        templates = str(folder / templates)
    phones = s.table("phones")
    phone_day = phone_24h = ""
    if phones:
        phone_day = phones.text("day", "")
        phone_24h = phones.text("hotline", "")
        phones.done()
    country = subdivision = None
    closures: dict[dt.date, str] = {}
    openings: dict[dt.date, str] = {}
    hol = s.table("holidays")
    if hol:
        country = hol.text("country", None)
        subdivision = hol.text("subdivision", None)
        for key, target in (("closures", closures), ("openings", openings)):
            for c in hol.tables(key):
                day = c.date("date")
                reason = c.text("reason")
                c.done()
                if day and reason:
                    target[day] = reason
        if country:
            _check_country(hol, country, subdivision)
        hol.done()
    policy, max_shift, window = defaults.shift_policy, defaults.max_shift_days, defaults.interval_window
    sh = s.table("shift")
    if sh:
        policy = sh.text("policy", "none", SHIFT_POLICIES)
        max_shift = sh.integer("max_days", 0, 28, defaults.max_shift_days)
        w = sh.int_list("interval_window", list(defaults.interval_window))
        if w is not None and (len(w) != 2 or min(w) < 0):
            sh.problem("interval_window", f"{list(w)} must be [days_early ≥ 0, days_late ≥ 0]")
        elif w is not None:
            window = (w[0], w[1])
        sh.done()
    bsa_cap, threshold, step = None, defaults.dose_threshold, None
    do = s.table("dosing")
    if do:
        bsa_cap = do.number("bsa_cap_m2", 1.0, 3.0, None, "m²")
        pct = do.number("deviation_threshold_percent", 0, 50, defaults.dose_threshold * 100, "%")
        threshold = (pct if pct is not None else 5) / 100
        step = do.number("infusion_step_mg", 0.1, 100, None, "mg")
        do.done()
    start, prep, obs = defaults.infusion_time, defaults.preparation_minutes, defaults.observation_minutes
    inf = s.table("infusion")
    if inf:
        start = inf.time("start", defaults.infusion_time)
        prep = inf.integer("preparation_minutes", 0, 600, defaults.preparation_minutes)
        obs = inf.integer("observation_minutes", 0, 600, defaults.observation_minutes)
        inf.done()
    refresh, base_url = defaults.feed_refresh_hours, ""
    feed = s.table("feed")
    if feed:
        refresh = feed.integer("refresh_hours", 1, 24 * 7, defaults.feed_refresh_hours)
        base_url = feed.text("base_url", "")
        if base_url and not re.match(r"^https?://[^\s/]+", base_url):
            feed.problem("base_url", f"{base_url!r} is not an http(s) address")
        feed.done()
    visits = tuple(v for v in (_visit(t) for t in s.tables("visits")) if v is not None)
    chairs = None
    ch = s.table("chairs")
    if ch:
        chairs = _chairs(ch)
    source = s.where("") or s.source
    return Site(
        name=name or "", timezone=timezone or defaults.timezone, clinic_days=clinic_days,
        holiday_country=country, holiday_subdivision=subdivision, extra_closures=frozen_map(closures),
        extra_openings=frozen_map(openings), shift_policy=policy or "none", max_shift_days=max_shift or 0,
        interval_window=window, bsa_cap=bsa_cap, dose_threshold=threshold, infusion_step_mg=step,
        infusion_time=start or defaults.infusion_time, preparation_minutes=prep or 0,
        observation_minutes=obs if obs is not None else defaults.observation_minutes, location=location or "",
        phone_day=phone_day or "", phone_24h=phone_24h or "", fever_threshold_c=fever or 38.0,
        feed_refresh_hours=refresh or 12, feed_base_url=base_url or "", templates=templates or "",
        visits=visits, chairs=chairs, source=source,
    )


def _chairs(ch: Reader) -> Any:
    from picture_schedule.core.chair_plan import Unit

    count = ch.integer("count", 1, 1000)
    slot = ch.integer("slot_minutes", 1, 120, 15)
    nurse = ch.integer("nurse_starts_per_slot", 1, 1000, None)
    make_up = None
    pair = ch.raw("make_up_hours", None)
    if pair is not None:
        if not (isinstance(pair, list) and len(pair) == 2):
            ch.problem("make_up_hours", f"{_show(pair)} must be [\"08:00\", \"17:00\"]")
        else:
            times = Reader({"open": pair[0], "close": pair[1]}, ch.source, ch.where("make_up_hours"), ch.problems)
            opens, closes = times.time("open"), times.time("close")
            if opens and closes and closes <= opens:
                ch.problem("make_up_hours", f"closes {closes:%H:%M} before it opens {opens:%H:%M}")
            elif opens and closes:
                make_up = (opens, closes)
    hours: dict[int, tuple[dt.time, dt.time]] = {}
    h = ch.table("hours", required=True)
    if h:
        for key in list(h.data):
            if key.lower()[:3] not in WEEKDAYS:
                h.used.add(key)
                h.problem(key, "is not a weekday (mon … sun)")
                continue
            value = h.raw(key)
            if not (isinstance(value, list) and len(value) == 2):
                h.problem(key, f"{_show(value)} must be [\"08:00\", \"17:00\"]")
                continue
            pair = Reader({"open": value[0], "close": value[1]}, h.source, h.where(key), h.problems)
            opens, closes = pair.time("open"), pair.time("close")
            if opens and closes:
                if closes <= opens:
                    h.problem(key, f"closes {closes:%H:%M} before it opens {opens:%H:%M}")
                else:
                    hours[WEEKDAYS.index(key.lower()[:3]) + 1] = (opens, closes)
        h.done()
    ch.done()
    if count is None:
        return None
    return Unit(chairs=count, hours=hours, slot_minutes=slot or 15, nurse_starts_per_slot=nurse,
                make_up_hours=make_up)


def _check_country(r: Reader, country: str, subdivision: str | None) -> None:
    from picture_schedule.core.clinic import ClinicCalendar

    try:
        ClinicCalendar(country=country, subdivision=subdivision)
    except ScheduleError as exc:
        name = "subdivision" if exc.field and exc.field.endswith("subdivision") else "country"
        r.problem(name, exc.message)


def _check_zone(r: Reader, name: str, zone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(name, f"{zone!r} is not an IANA time zone (e.g. Asia/Shanghai, Europe/London)")


# -- courses ----------------------------------------------------------------------------------


def load_course(path: Path | str) -> Course:
    """A patient's course file (TOML) with its regimen and site resolved relative to it."""
    data, label = read_toml(path)
    return course_from_data(data, label, Path(path).parent)


def course_from_data(data: dict[str, Any], label: str, folder: Path | None = None) -> Course:
    c = Reader(data, label)
    patient = c.text("patient")
    if patient is not None and not patient.strip():
        c.problem("patient", "is empty: give the pseudonymous study number")
    display = c.text("display_name", "")
    regimen_ref = c.text("regimen", "picture")
    regimen = None
    if regimen_ref:
        try:
            regimen = load_regimen(regimen_ref, folder)
        except Problems as exc:
            c.problems.extend(exc.problems)
        except ScheduleError as exc:
            c.problems.append(exc if exc.source else InputError(exc.message, source=label, field="regimen"))
    start = c.date("start")
    cycles = c.integer("cycles", 1, 99, regimen.cycles if regimen else 6)
    timezone = c.text("timezone", "")
    if timezone:
        _check_zone(c, "timezone", timezone)
    language = c.text("language", "en", LANGUAGES)
    body = _body(c)
    times = _times(c)
    site = _course_site(c, folder)
    prescribed = _prescribed(c, c.raw("prescribed", {}), "prescribed", regimen)
    created = c.datetime("created")
    changes = tuple(ch for ch in (_change(t, regimen, cycles or 99) for t in c.tables("changes")) if ch)
    c.done()
    if c.problems:
        raise c.problems[0] if len(c.problems) == 1 else Problems(c.problems)
    assert regimen is not None and start is not None and cycles is not None
    course = Course(
        patient=patient.strip(), regimen=regimen, start=start, cycles=cycles, site=site,
        display_name=display or "", body=body, times=times, timezone=timezone or "",
        language=language or "en", prescribed=frozen_map(prescribed), changes=changes,
        created=created, source=label,
    )
    _check_doses(course)
    return course


def _check_doses(course: Course) -> None:
    """Dose problems that need the whole course (BSA range, undefined levels) fail the load."""
    from picture_schedule.core.prescribing import course_bsa, level_amount

    try:
        course_bsa(course)
    except ScheduleError as exc:
        exc.source = course.source
        raise
    for i, change in enumerate(course.changes, start=1):
        for target, level in change.dose_level.items():
            agents = [a for a in course.regimen.agents if a.dose_levels] if target == "all" else [
                course.regimen.agent(target)]
            for agent in agents:
                try:
                    level_amount(agent, level)
                except ScheduleError as exc:
                    raise InputError(exc.message, source=course.source, field=f"changes[{i}].dose_level") from None


def _body(c: Reader) -> Body | None:
    b = c.table("body")
    if b is None:
        return None
    height = b.number("height_cm", 100, 230, None, "cm")
    weight = b.number("weight_kg", 25, 250, None, "kg")
    bsa = b.number("bsa_m2", 0.5, 3.5, None, "m²")
    formula = b.text("formula", "mosteller", ("mosteller", "dubois"))
    given = {k for k in ("height_cm", "weight_kg", "bsa_m2") if k in b.data}
    if "bsa_m2" not in given and not {"height_cm", "weight_kg"} <= given:
        b.problem(None, "give height_cm and weight_kg, or bsa_m2")
    b.done()
    return Body(height, weight, bsa, formula or "mosteller")


def _times(c: Reader) -> Times:
    t = c.table("times")
    if t is None:
        return Times()
    d = Times()
    morning = t.time("morning", d.morning)
    evening = t.time("evening", d.evening)
    injection = t.time("injection", d.injection)
    first = t.text("first_capecitabine_dose", "morning", ("morning", "evening"))
    if morning and evening and evening <= morning:
        t.problem("evening", f"{evening:%H:%M} is not after the morning time {morning:%H:%M}")
    t.done()
    return Times(morning or d.morning, evening or d.evening, injection or d.injection, Slot(first or "morning"))


def _course_site(c: Reader, folder: Path | None) -> Site | None:
    value = c.raw("site", None)
    if value is None:
        return None
    if isinstance(value, str):
        path = Path(value)
        if folder is not None and not path.is_absolute():
            path = folder / path
        try:
            data, label = read_toml(path, value)
        except ScheduleError as exc:
            c.problems.append(InputError(exc.message, source=c.source, field=f"site ({value})"))
            return None
        s = Reader(data, label, "", c.problems)
        site = _site(s, path.parent)
        s.done()
        return site
    if isinstance(value, dict):
        s = Reader(value, c.source, "site", c.problems)
        site = _site(s, folder)
        s.done()
        return site
    c.problem("site", f"{_show(value)} must be a site file path or a [site] table")
    return None


def _prescribed(r: Reader, value: Any, where: str, regimen: Regimen | None) -> dict[str, Prescribed]:
    out: dict[str, Prescribed] = {}
    if not isinstance(value, dict):
        r.problem(where, f"{_show(value)} must be a table {{ capecitabine = {{ amount = 1650, unit = \"mg\" }} }}")
        return out
    for agent_id, spec in value.items():
        field = f"{where}.{agent_id}"
        r.used.add(where)
        if regimen is not None and agent_id not in [a.id for a in regimen.agents]:
            r.problems.append(InputError(
                f"{agent_id!r} is not an agent of {regimen.id} ({', '.join(a.id for a in regimen.agents)})",
                source=r.source, field=r.where(field)))
            continue
        p = Reader(spec, r.source, r.where(field), r.problems)
        amount = p.number("amount", 0.0001, 1e12)
        unit = p.text("unit", choices=("mg", "IU", "MIU", "µg", "mL"))
        p.done()
        if amount and unit:
            out[agent_id] = Prescribed(float(amount), unit)
    return out


def _change(t: Reader, regimen: Regimen | None, cycles: int) -> Change | None:
    cycle = t.integer("cycle", 1, cycles)
    reason = t.text("reason")
    if reason is not None and not reason.strip():
        t.problem("reason", "is empty: every change needs its reason")
        reason = None
    delay = t.integer("delay_days", -28, 365, 0)
    agent_ids = [a.id for a in regimen.agents] if regimen else []
    levels: dict[str, int] = {}
    raw_level = t.raw("dose_level", None)
    if isinstance(raw_level, int) and not isinstance(raw_level, bool):
        levels = {"all": raw_level}
    elif isinstance(raw_level, dict):
        for key, level in raw_level.items():
            if regimen and key not in agent_ids and key != "all":
                t.problem(f"dose_level.{key}", f"not an agent of {regimen.id} ({', '.join(agent_ids)})")
            elif not isinstance(level, int) or isinstance(level, bool):
                t.problem(f"dose_level.{key}", f"{_show(level)} is not a whole-number level (0, -1, -2)")
            else:
                levels[key] = level
    elif raw_level is not None:
        t.problem("dose_level", f"{_show(raw_level)} must be a level (-1) or a table {{ capecitabine = -1 }}")
    omit = t.str_list("omit", ())
    for agent_id in omit or ():
        if regimen and agent_id not in agent_ids:
            t.problem("omit", f"{agent_id!r} is not an agent of {regimen.id} ({', '.join(agent_ids)})")
    hold = t.int_list("hold_days", ())
    if hold and regimen:
        oral_days = {d for a in regimen.agents if a.kind is Kind.ORAL for d in a.days} | {
            d + 1 for a in regimen.agents if a.kind is Kind.ORAL for d in a.days}
        for day in hold:
            if day not in oral_days:
                t.problem("hold_days", f"day {day} has no oral doses to hold (oral days: "
                          f"{min(oral_days)}–{max(oral_days)})")
    stop = t.boolean("stop", False)
    prescribed = _prescribed(t, t.raw("prescribed", {}), "prescribed", regimen)
    recorded = t.datetime("recorded")
    by = t.text("by", "")
    if not (delay or levels or omit or hold or stop or prescribed):
        t.problem(None, "says nothing happened: give delay_days, dose_level, omit, hold_days, stop or prescribed")
    t.done()
    if cycle is None or reason is None:
        return None
    return Change(
        cycle=cycle, reason=reason.strip(), delay_days=delay or 0, dose_level=frozen_map(levels),
        omit=tuple(omit or ()), hold_days=tuple(hold or ()), stop=bool(stop),
        prescribed=frozen_map(prescribed), recorded=recorded, by=by or "",
    )


def validate(path: Path | str) -> tuple[str, list[ScheduleError]]:
    """Check a regimen, course or site file: its kind and every problem found (empty: valid)."""
    try:
        data, label = read_toml(path)
    except ScheduleError as exc:
        return "file", [exc]
    if not data:
        return "file", [InputError("is empty: expected a regimen, course or site file", source=label)]
    kind = "regimen" if "agents" in data else "course" if "patient" in data or "start" in data else "site"
    try:
        if kind == "regimen":
            regimen_from_data(data, label)
        elif kind == "course":
            course_from_data(data, label, Path(path).parent)
        else:
            site_from_data(data, label, Path(path).parent)
    except Problems as exc:
        return kind, exc.problems
    except ScheduleError as exc:
        return kind, [exc]
    return kind, []
