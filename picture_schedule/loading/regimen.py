"""Regimen files: agents, doses, days, dose levels, rounding, visits."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, cast

from picture_schedule.core.model import (
    Agent,
    Basis,
    DoseSpec,
    Kind,
    Names,
    Regimen,
    Rounding,
    Slot,
    VisitSpec,
    frozen_map,
)
from picture_schedule.errors import InputError, ScheduleError
from picture_schedule.loading.reader import ID_PATTERN, Reader, finish, parse_toml, show
from picture_schedule.loading.resolver import Resolver, resolver_for
from picture_schedule.loading.site_schema import read_settings

ROUNDING_RULES = ("nearest-combination", "bsa-bands", "step", "none")
#: Standard medication codes an agent may carry (``codes = { atc = "L01XA03" }``): system → (pattern, what).
MEDICATION_CODES = {
    "atc": (re.compile(r"\A[A-Z](?:[0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?)?\Z"),
            "a WHO ATC code such as \"L01XA03\" (or a group such as \"L03AC\")"),
    "rxnorm": (re.compile(r"\A[1-9][0-9]{0,9}\Z"), "an RxNorm concept id (RxCUI), digits only"),
}


def builtin_regimens() -> list[str]:
    """Names of the regimens shipped in the package."""
    folder = resources.files("picture_schedule") / "regimens"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_regimen(ref: str | Path, relative_to: Path | Resolver | None = None) -> Regimen:
    """A built-in regimen by name (``picture``) or a regimen TOML file by path (relative to
    ``relative_to``: a folder, or a resolver of the files a course names)."""
    text, label = regimen_text(ref, relative_to)
    return regimen_from_toml(text, label)


def regimen_text(ref: str | Path, relative_to: Path | Resolver | None = None) -> tuple[str, str]:
    """The TOML text of a regimen reference and the label errors should use."""
    name = str(ref)
    if name in builtin_regimens():
        resource = resources.files("picture_schedule") / "regimens" / f"{name}.toml"
        return resource.read_text(encoding="utf-8"), f"{name}.toml"
    files = resolver_for(relative_to)
    if not Path(name).suffix and not files.has(name):
        raise InputError(f"unknown regimen {name!r} (built-in: {', '.join(builtin_regimens())}; or give a .toml path)")
    return files.read(name, "regimen"), name


def regimen_from_toml(text: str, label: str) -> Regimen:
    return regimen_from_data(parse_toml(text, label), label)


def regimen_from_data(data: dict[str, Any], label: str) -> Regimen:
    r = Reader(data, label)
    rid = r.text("id")
    if rid is not None and not ID_PATTERN.match(rid):
        r.problem("id", f"{rid!r} must be lower-case letters, digits and hyphens (at most 64)")
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
    visits = tuple(v for v in (visit_spec(t) for t in r.tables("visits")) if v is not None)
    return finish(r, lambda: Regimen(
        rid, version, trial, cast(Names, title), source, cycle_days, cycles, tuple(agents), visits))


def _agent(a: Reader, cycle_days: int) -> Agent | None:
    aid = a.text("id")
    if aid is not None and not ID_PATTERN.match(aid):
        a.problem("id", f"{aid!r} must be lower-case letters, digits and hyphens (at most 64)")
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
    codes = _codes(a)
    a.done()
    if aid is None or names is None or kind_text is None or route is None or dose is None or days is None:
        return None
    return Agent(
        id=aid, names=names, kind=Kind(kind_text), route=route, dose=dose, days=days, slots=slots,
        infusion_minutes=minutes or (), order=order or 0, dose_levels=frozen_map(levels),
        rounding=rounding or Rounding(), tablets=tuple(sorted(tablets or (), reverse=True)), source=source,
        codes=frozen_map(codes),
    )


def _codes(a: Reader) -> dict[str, str]:
    """The agent's optional ``codes`` table: each key a known code system, each value checked."""
    c = a.table("codes")
    if c is None:
        return {}
    codes: dict[str, str] = {}
    for system, (pattern, what) in MEDICATION_CODES.items():
        code = c.text(system, None)
        if code is None:
            continue
        if not pattern.match(code):
            c.problem(system, f"{show(code)} is not {what}")
        else:
            codes[system] = code
    c.done()
    return codes


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
            a.problem("days", f"{show(value)} must be a non-empty list of cycle days")
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
        a.problem("days", f"{show(value)} must be a list [1, 8] or a range {{ from = 1, to = 14, step = 2 }}")
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
        a.problem("dose_levels", f"{show(value)} must be a table like {{ \"0\" = 1000, \"-1\" = 750 }}")
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
            a.problem(f"dose_levels.{key}", f"{show(amount)} is not a positive amount")
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


def visit_spec(v: Reader) -> VisitSpec | None:
    """One ``[[visits]]`` table (regimen or site file), checked by the schema's visit settings."""
    values = read_settings(v, "visits")
    if values["cycles"] and values["anchor"] != "cycle":
        v.problem("cycles", "only used with anchor = \"cycle\"")
    v.done()
    if any(values[key] is None for key in ("id", "name", "anchor", "offset", "cycles", "window")):
        return None
    earliest, latest = values["window"]
    return VisitSpec(values["id"], values["name"], values["anchor"], values["offset"], values["cycles"], earliest,
                     latest, values["time"], values["source"] or "")
