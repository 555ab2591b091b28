"""One patient's schedule as the staff pages show it: values for the templates, in the page's language.

Everything here reads an expanded :class:`~picture_schedule.core.model.Schedule` (never recomputes a
date) and words notes, reasons and changes through :mod:`picture_schedule.render.messages`, the way
every other output does. Staff words: the dose basis says how a dose was reached in a pharmacist's
terms (the diary says it in a patient's).
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from picture_schedule.core.model import (
    Basis,
    Booking,
    Change,
    Course,
    Dose,
    Kind,
    Prescribed,
    Regimen,
    Schedule,
    format_amount,
    frozen_map,
)
from picture_schedule.core.prescribing import course_bsa
from picture_schedule.render.messages import describe, reason_text
from picture_schedule.render.text import day_list
from picture_schedule.roster.records import JournalEntry
from picture_schedule.web.common import fmt_date, t


@dataclass(frozen=True)
class CycleRow:
    number: int
    day1: dt.date
    last_day: dt.date
    planned_day1: dt.date
    moved_by: int  # days from the planned day 1 (0: as planned)
    why_moved: str
    when: str  # "done", "current", "coming"
    tentative: str  # why day 1 is not confirmed ("" if it is)
    booking: Booking | None
    usual_time: dt.time | None  # the site's usual day-1 start, to be confirmed when not booked
    levels: tuple[tuple[str, int], ...]  # (medicine, level) reduced this cycle
    omitted: tuple[str, ...]
    held: str  # cycle days whose tablets are held ("" none)
    changes: tuple[str, ...]  # the recorded changes behind this cycle, worded


@dataclass(frozen=True)
class DoseRow:
    medicine: str
    cycles: str  # "Cycle 1", "Cycles 1–3"
    dose: str
    level: int
    how: str  # how the dose was reached
    confirm: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class StoppedRow:
    numbers: str  # "5–6"
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ScheduleView:
    cycles: tuple[CycleRow, ...]
    doses: tuple[DoseRow, ...]
    body: str  # the basis of per-m² doses ("" without body measures)
    notes: tuple[str, ...]
    stopped: StoppedRow | None
    end: dt.date
    tentative: int  # appointments not yet placed on an open day


def name_of(regimen: Regimen, agent_id: str, language: str) -> str:
    try:
        return regimen.agent(agent_id).names.get(language)
    except KeyError:
        return agent_id


def schedule_view(expanded: Schedule, language: str, today: dt.date) -> ScheduleView:
    """The page's view of ``expanded`` on ``today``, worded in ``language``."""
    regimen, course = expanded.regimen, expanded.course
    dates = functools.partial(fmt_date, language_=language)
    rows = []
    for c in expanded.cycles:
        when = "done" if c.last_day < today else "current" if c.day1 <= today else "coming"
        rows.append(CycleRow(
            number=c.number, day1=c.day1, last_day=c.last_day, planned_day1=c.planned_day1,
            moved_by=(c.day1 - c.planned_day1).days,
            why_moved=reason_text(c.move_reason, language, dates=dates) if c.moved else "",
            when=when,
            tentative=reason_text(c.status_reason, language, dates=dates) if c.tentative else "",
            booking=c.booking, usual_time=c.infusion_start,
            levels=tuple((name_of(regimen, a, language), lvl) for a, lvl in c.dose_levels.items() if lvl),
            omitted=tuple(name_of(regimen, a, language) for a in c.omitted),
            held=day_list(c.held_days) if c.held_days else "",
            changes=tuple(_actions(change, language) for change in c.changes),
        ))
    given = {c.number for c in expanded.cycles}
    gone = [n for n in range(1, course.cycles + 1) if n not in given]
    stopped = None
    if gone:
        from picture_schedule.core.scheduler import change_reason

        reasons = tuple(reason_text(change_reason(regimen, ch), language, dates=dates)
                        for ch in course.changes if ch.stop)
        stopped = StoppedRow(day_list(gone), reasons)
    return ScheduleView(
        cycles=tuple(rows), doses=tuple(dose_rows(expanded, language)), body=body_words(course, language),
        notes=tuple(dict.fromkeys(describe(n, language, dates=dates) for n in expanded.notes)),
        stopped=stopped, end=expanded.end, tentative=len(expanded.tentative))


def _actions(change: Any, language: str) -> str:
    """A recorded change's "change" reason, worded in full (actions, reason, who, when)."""
    return reason_text(change, language, dates=functools.partial(fmt_date, language_=language))


def cycle_doses(expanded: Schedule, language: str) -> dict[int, dict[str, str]]:
    """cycle → medicine → the dose it gets that cycle ("" if none)."""
    found: dict[int, dict[str, str]] = {}
    for e in expanded.events:
        if e.dose is None or e.kind is Kind.VISIT:
            continue
        found.setdefault(e.cycle, {}).setdefault(name_of(expanded.regimen, e.agent, language), e.dose.text)
    return found


def dose_rows(expanded: Schedule, language: str) -> list[DoseRow]:
    """Each medicine's dose and how it was reached, for each run of cycles it holds in."""
    cycles = [c.number for c in expanded.cycles]
    first_dose: dict[tuple[int, str], Dose] = {}
    for e in expanded.events:
        if e.dose is not None:
            first_dose.setdefault((e.cycle, e.agent), e.dose)
    rows = []
    for agent in expanded.regimen.agents:
        spans: list[tuple[list[int], Dose]] = []
        for i, number in enumerate(cycles):
            dose = first_dose.get((number, agent.id))
            if dose is None:
                continue
            if spans and spans[-1][1] == dose and i > 0 and spans[-1][0][-1] == cycles[i - 1]:
                spans[-1][0].append(number)
            else:
                spans.append(([number], dose))
        for numbers, dose in spans:
            label = (t("Cycle %(n)s", language, n=numbers[0]) if len(numbers) == 1 else
                     t("Cycles %(first)s–%(last)s", language, first=numbers[0], last=numbers[-1]))
            rows.append(DoseRow(agent.names.get(language), label, dose.text, dose.level, basis_words(dose, language),
                                dose.confirm, tuple(describe(w, language) for w in dose.warnings)))
    return rows


def basis_words(dose: Dose, language: str) -> str:
    """How a dose was reached, in staff words: "1000 mg/m² × 1.71 m² = 1710 mg, nearest tablet combination"."""
    basis = dose.basis
    if basis is None:
        return ""
    rules = {
        "flat": t("flat dose", language),
        "text": t("registry text only: confirm the dose", language),
        "per-m2": t("no body measures: dose per m²", language),
        "prescribed": t("prescribed", language),
        "nearest-combination": t("nearest tablet combination", language),
        "bsa-bands": t("BSA band table", language),
        "none": t("not rounded", language),
    }
    rule = (t("rounded to %(step)s %(unit)s", language, step=format_amount(basis.step), unit=basis.unit)
            if basis.rule == "step" else rules.get(basis.rule, basis.rule))
    if basis.per is Basis.PER_M2 and basis.bsa_m2 is not None and basis.calculated is not None:
        worked = (f"{format_amount(basis.regimen_amount)} {basis.unit}/m² × {basis.bsa_m2:.2f} m² = "
                  f"{format_amount(round(basis.calculated, 1))} {basis.unit}")
        return f"{worked}, {rule}"
    return rule


def body_words(course: Course, language: str) -> str:
    """Height, weight, when measured, formula and BSA: the basis of every per-m² dose."""
    body = course.body
    if body is None:
        return t("No body measures: doses per m² are printed per m².", language)
    bsa = course_bsa(course)
    parts = []
    if body.bsa_m2 is not None:
        parts.append(t("BSA %(bsa)s m² as given", language, bsa=f"{body.bsa_m2:.2f}"))
    else:
        parts.append(t("%(height)s cm, %(weight)s kg", language, height=format_amount(body.height_cm),
                       weight=format_amount(body.weight_kg)))
        parts.append(t("Du Bois formula", language) if body.formula == "dubois" else t("Mosteller formula", language))
    parts.append(t("measured %(date)s", language, date=fmt_date(body.measured, language)) if body.measured else
                 t("date measured not given", language))
    if bsa is not None:
        cap = course.settings.bsa_cap
        capped = cap is not None and bsa >= cap
        parts.append(t("BSA %(bsa)s m² (capped)", language, bsa=f"{bsa:.2f}") if capped else
                     t("BSA %(bsa)s m²", language, bsa=f"{bsa:.2f}"))
    return "; ".join(parts)


# -- before and after a change ---------------------------------------------------------------------


@dataclass(frozen=True)
class CompareRow:
    number: int
    before: dt.date | None  # None: not given before
    after: dt.date | None  # None: not given after (stopped)
    moved: int  # days (after − before)
    doses: tuple[tuple[str, str, str], ...]  # (medicine, before, after) of the doses that change
    changed: bool


def compare(before: Schedule, after: Schedule, language: str) -> list[CompareRow]:
    """Day 1 and doses of every cycle, before and after a change; ``changed`` marks the rows that differ."""
    old = {c.number: c for c in before.cycles}
    new = {c.number: c for c in after.cycles}
    old_doses, new_doses = cycle_doses(before, language), cycle_doses(after, language)
    rows = []
    for number in sorted(set(old) | set(new)):
        was, now = old.get(number), new.get(number)
        a, b = old_doses.get(number, {}), new_doses.get(number, {})
        doses = tuple((name, a.get(name, ""), b.get(name, "")) for name in dict.fromkeys([*a, *b])
                      if a.get(name, "") != b.get(name, ""))
        moved = (now.day1 - was.day1).days if was and now else 0
        changed = bool(doses) or moved != 0 or (was is None) != (now is None) or (
            was is not None and now is not None and (was.tentative, was.booking) != (now.tentative, now.booking))
        rows.append(CompareRow(number, was.day1 if was else None, now.day1 if now else None, moved, doses, changed))
    return rows


def new_notes(before: Schedule, after: Schedule, language: str) -> list[str]:
    """The warnings the change brings (in ``after``, not in ``before``)."""
    dates = functools.partial(fmt_date, language_=language)
    seen = set(before.notes)
    return list(dict.fromkeys(describe(n, language, dates=dates) for n in after.notes if n not in seen))


# -- the history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime  # in the unit's time zone
    by: str
    action: str
    reason: str
    detail: tuple[str, ...]


def action_words(action: str, language: str) -> str:
    """A journal action in the page's words (an action this version does not know: as stored)."""
    words = {
        "add": t("enrolled", language),
        "change": t("change recorded", language),
        "book": t("chairs booked", language),
        "rotate": t("new calendar link", language),
        "remove": t("removed from the roster", language),
        "refresh": t("calendar re-made after an upgrade", language),
    }
    return words.get(action, action)


def history_rows(entries: Sequence[JournalEntry], regimen: Regimen | None, language: str,
                 zone: str) -> list[HistoryRow]:
    """The journal, oldest first, with each change's actions worded (its TOML block otherwise)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    rows = []
    for entry in entries:
        detail: tuple[str, ...] = ()
        if entry.action == "change":
            detail = _change_detail(entry.detail, regimen, language)
        elif entry.action == "book":
            detail = tuple(line for line in entry.detail.strip().splitlines() if line.strip())
        elif entry.action == "add" and entry.detail:
            detail = (t("from the course file %(name)s", language, name=entry.detail),)
        rows.append(HistoryRow(entry.at.astimezone(tz), entry.by, action_words(entry.action, language),
                               entry.reason, detail))
    return rows


def _change_detail(block: str, regimen: Regimen | None, language: str) -> tuple[str, ...]:
    """What a recorded change did, worded as the outputs word it; its TOML lines if it cannot be read."""
    from picture_schedule.core.scheduler import change_reason

    lines = tuple(line for line in block.strip().splitlines()[1:]
                  if line.strip() and not line.startswith(("reason", "recorded", "by ")))
    if regimen is None:
        return lines
    try:
        change = change_from_block(block)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return lines
    actions = change_reason(regimen, change).params["actions"]
    dates = functools.partial(fmt_date, language_=language)
    return tuple(describe(action, language, dates=dates) for action in actions) or lines


def change_from_block(block: str) -> Change:
    """The change of a journal's ``[[changes]]`` block (roster/course_text.py writes it)."""
    table = tomllib.loads(block)["changes"][0]
    levels = table.get("dose_level", {})
    levels = {"all": int(levels)} if isinstance(levels, int) else {str(k): int(v) for k, v in levels.items()}
    prescribed = {str(k): Prescribed(float(v["amount"]), str(v["unit"])) for k, v in table.get("prescribed", {}).items()}
    return Change(cycle=int(table["cycle"]), reason=str(table.get("reason", "")),
                  delay_days=int(table.get("delay_days", 0)), dose_level=frozen_map(levels),
                  omit=tuple(str(a) for a in table.get("omit", ())),
                  hold_days=tuple(int(d) for d in table.get("hold_days", ())), stop=bool(table.get("stop", False)),
                  prescribed=frozen_map(prescribed), by=str(table.get("by", "")))
