"""A course's doses: the regimen's dose at a dose level, for this patient's body, rounded by rule.

Pure: values in, a `Dose` and its warnings out. Prescribed doses always win over calculated ones;
a prescribed dose far from the calculated one is kept and warned about, never changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from picture_schedule.core import dosing
from picture_schedule.core.model import (
    Agent,
    Basis,
    Course,
    Dose,
    Note,
    Prescribed,
    format_amount,
)
from picture_schedule.errors import DoseError


def course_bsa(course: Course) -> float | None:
    """The course's body-surface area in m² (2 decimals, capped by the site), or None without body."""
    body = course.body
    if body is None:
        return None
    if body.bsa_m2 is not None:
        value = dosing.round_bsa(body.bsa_m2)
    else:
        assert body.height_cm is not None and body.weight_kg is not None
        value = dosing.body_surface_area(body.height_cm, body.weight_kg, body.formula)
    return dosing.capped_bsa(value, course.settings.bsa_cap)


def level_amount(agent: Agent, level: int) -> float | None:
    """The regimen's amount (per m² or flat) at ``level``; level 0 is the registered dose."""
    if level == 0 and 0 not in agent.dose_levels:
        return agent.dose.amount
    if level not in agent.dose_levels:
        raise DoseError(
            f"dose level {level} is not defined for {agent.id} "
            f"(defined: {', '.join(str(k) for k in sorted(agent.dose_levels, reverse=True)) or '0'})",
            field="changes.dose_level",
        )
    return agent.dose_levels[level]


def dose_for(
    course: Course, agent: Agent, level: int, prescribed: Mapping[str, Prescribed] | None = None
) -> tuple[Dose, tuple[Note, ...]]:
    """The dose of ``agent`` at ``level`` for ``course`` with the prescriptions in force."""
    prescribed = course.prescribed if prescribed is None else prescribed
    rx = prescribed.get(agent.id)
    spec = agent.dose
    if spec.basis is Basis.TEXT:
        if rx is not None:
            return _prescribed_dose(agent, rx, level, None, course)
        note = Note(
            "confirm-dose",
            f"{agent.names.en}: only the registry text \"{spec.text}\" is known; confirm the dose "
            "with your care team",
            f"{agent.names.zh or agent.names.en}：仅有登记文本“{spec.text}”，请与医护团队确认剂量",
        )
        return Dose(None, "", spec.text, level=level, confirm=True), (note,)

    amount = level_amount(agent, level)
    assert amount is not None
    if spec.basis is Basis.FLAT:
        calculated = float(amount)
    else:
        bsa = course_bsa(course)
        if bsa is None:  # no body measures: the dose stays per m²
            if rx is not None:
                return _prescribed_dose(agent, rx, level, None, course)
            text = f"{format_amount(amount)} {spec.unit}/m²"
            return Dose(amount, f"{spec.unit}/m²", text, level=level), ()
        calculated = dosing.scaled_dose(amount, bsa)

    if rx is not None:
        return _prescribed_dose(agent, rx, level, calculated, course)
    return _rounded_dose(course, agent, level, calculated), ()


def _rounded_dose(course: Course, agent: Agent, level: int, calculated: float) -> Dose:
    unit = agent.dose.unit
    rule = agent.rounding.rule
    if agent.dose.basis is Basis.FLAT:
        return Dose(calculated, unit, f"{format_amount(calculated)} {unit}", level=level, calculated=calculated)
    if rule == "nearest-combination":
        tablets = dosing.nearest_combination(calculated, agent.tablets, agent.rounding.max_tablets)
        return _tablet_dose(tablets, level, calculated)
    if rule == "bsa-bands":
        bsa = course_bsa(course)
        assert bsa is not None
        bands = agent.rounding.bands.get(level)
        if not bands:
            raise DoseError(f"no BSA band table for dose level {level} of {agent.id}", field="rounding.bands")
        return _tablet_dose(dosing.band_dose(bsa, bands), level, calculated)
    step = course.settings.infusion_step_mg or (agent.rounding.step if rule == "step" else None)
    amount = float(dosing.round_to_step(calculated, step)) if step else round(calculated, 2)
    return Dose(amount, unit, f"{format_amount(amount)} {unit}", level=level, calculated=calculated)


def _tablet_dose(tablets: dosing.TabletDose, level: int, calculated: float) -> Dose:
    return Dose(
        float(tablets.mg), "mg", tablets.describe(), level=level, calculated=calculated, tablets=tablets.tablets
    )


def _prescribed_dose(
    agent: Agent, rx: Prescribed, level: int, calculated: float | None, course: Course
) -> tuple[Dose, tuple[Note, ...]]:
    """The prescription as given, with a warning (in each language) when it cannot be made from the
    tablets or lies beyond the site's threshold from the calculated dose. Never changed."""
    text = f"{format_amount(rx.amount)} {rx.unit}"
    tablets: tuple[tuple[int, int], ...] = ()
    notes: list[Note] = []
    name_zh = agent.names.zh or agent.names.en
    if agent.tablets and rx.unit == "mg":
        made = dosing.nearest_combination(rx.amount, agent.tablets, agent.rounding.max_tablets)
        if made.mg == rx.amount:
            text, tablets = made.describe(), made.tablets
        else:
            strengths = ", ".join(str(t) for t in agent.tablets)
            notes.append(Note(
                "dose-tablets",
                f"{agent.names.en}: prescribed {text} cannot be made from {strengths} mg tablets",
                f"{name_zh}：处方剂量 {text} 无法用 {strengths} mg 片剂组成，请核对",
            ))
    threshold = course.settings.dose_threshold
    if calculated is not None and dosing.exceeds_threshold(rx.amount, calculated, threshold):
        pct = dosing.deviation(rx.amount, calculated) * 100
        amount = f"{format_amount(rx.amount)} {rx.unit}"
        notes.append(Note(
            "dose-deviation",
            f"{agent.names.en}: prescribed {amount} is {pct:+.1f} % from the calculated {calculated:.0f} mg "
            f"(threshold {threshold * 100:g} %)",
            f"{name_zh}：处方剂量 {amount} 与计算剂量 {calculated:.0f} mg 相差 {pct:+.1f}%"
            f"（阈值 {threshold * 100:g}%），请核对",
        ))
    dose = Dose(
        rx.amount, rx.unit, text, level=level, calculated=calculated, prescribed=True,
        tablets=tablets, warning="; ".join(n.en for n in notes),
    )
    return dose, tuple(notes)
