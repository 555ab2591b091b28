"""A course's doses: the regimen's dose at a dose level, for this patient's body, rounded by rule.

Pure: values in, a `Dose` and its warnings out (notes: codes and parameters, worded by the
outputs). Prescribed doses always win over calculated ones; a prescribed dose far from the
calculated one is kept and warned about, never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from picture_schedule.core import dosing
from picture_schedule.core.model import (
    Agent,
    Basis,
    Course,
    Dose,
    DoseBasis,
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
        basis = DoseBasis(Basis.TEXT, None, spec.unit, rule="text")
        if rx is not None:
            return _prescribed_dose(agent, rx, level, None, course, replace(basis, rule="prescribed"))
        note = Note("confirm-dose", {"agent": agent.id, "name": agent.names, "text": spec.text})
        return Dose(None, "", spec.text, level=level, confirm=True, basis=basis), (note,)

    amount = level_amount(agent, level)
    assert amount is not None
    if spec.basis is Basis.FLAT:
        calculated = float(amount)
        basis = DoseBasis(Basis.FLAT, float(amount), spec.unit, calculated=calculated, rule="flat")
    else:
        bsa = course_bsa(course)
        if bsa is None:  # no body measures: the dose stays per m²
            basis = DoseBasis(Basis.PER_M2, float(amount), spec.unit, rule="per-m2")
            if rx is not None:
                return _prescribed_dose(agent, rx, level, None, course, replace(basis, rule="prescribed"))
            text = f"{format_amount(amount)} {spec.unit}/m²"
            return Dose(amount, f"{spec.unit}/m²", text, level=level, basis=basis), ()
        calculated = dosing.scaled_dose(amount, bsa)
        basis = DoseBasis(Basis.PER_M2, float(amount), spec.unit, bsa_m2=bsa, calculated=calculated)

    if rx is not None:
        return _prescribed_dose(agent, rx, level, calculated, course, replace(basis, rule="prescribed"))
    return _rounded_dose(course, agent, level, calculated, basis), ()


def _rounded_dose(course: Course, agent: Agent, level: int, calculated: float, basis: DoseBasis) -> Dose:
    unit = agent.dose.unit
    rule = agent.rounding.rule
    if agent.dose.basis is Basis.FLAT:
        return Dose(calculated, unit, f"{format_amount(calculated)} {unit}", level=level, calculated=calculated,
                    basis=basis)
    if rule == "nearest-combination":
        tablets = dosing.nearest_combination(calculated, agent.tablets, agent.rounding.max_tablets)
        return _tablet_dose(tablets, level, calculated, replace(basis, rule=rule))
    if rule == "bsa-bands":
        bsa = course_bsa(course)
        assert bsa is not None
        bands = agent.rounding.bands.get(level)
        if not bands:
            raise DoseError(f"no BSA band table for dose level {level} of {agent.id}", field="rounding.bands")
        return _tablet_dose(dosing.band_dose(bsa, bands), level, calculated, replace(basis, rule=rule))
    step = course.settings.infusion_step_mg or (agent.rounding.step if rule == "step" else None)
    amount = float(dosing.round_to_step(calculated, step)) if step else round(calculated, 2)
    basis = replace(basis, rule="step", step=float(step)) if step else replace(basis, rule="none")
    return Dose(amount, unit, f"{format_amount(amount)} {unit}", level=level, calculated=calculated, basis=basis)


def _tablet_dose(tablets: dosing.TabletDose, level: int, calculated: float, basis: DoseBasis) -> Dose:
    return Dose(
        float(tablets.mg), "mg", tablets.describe(), level=level, calculated=calculated, tablets=tablets.tablets,
        basis=basis,
    )


def _prescribed_dose(
    agent: Agent, rx: Prescribed, level: int, calculated: float | None, course: Course, basis: DoseBasis,
) -> tuple[Dose, tuple[Note, ...]]:
    """The prescription as given, with a warning when it cannot be made from the tablets or lies
    beyond the site's threshold from the calculated dose. Never changed."""
    text = f"{format_amount(rx.amount)} {rx.unit}"
    tablets: tuple[tuple[int, int], ...] = ()
    notes: list[Note] = []
    if agent.tablets and rx.unit == "mg":
        made = dosing.nearest_combination(rx.amount, agent.tablets, agent.rounding.max_tablets)
        if made.mg == rx.amount:
            text, tablets = made.describe(), made.tablets
        else:
            notes.append(Note("dose-tablets", {
                "agent": agent.id, "name": agent.names, "amount": rx.amount, "unit": rx.unit,
                "strengths": tuple(agent.tablets),
            }))
    threshold = course.settings.dose_threshold
    if calculated is not None and dosing.exceeds_threshold(rx.amount, calculated, threshold):
        notes.append(Note("dose-deviation", {
            "agent": agent.id, "name": agent.names, "amount": rx.amount, "unit": rx.unit,
            "calculated": calculated, "deviation": dosing.deviation(rx.amount, calculated),
            "threshold": threshold,
        }))
    dose = Dose(
        rx.amount, rx.unit, text, level=level, calculated=calculated, prescribed=True,
        tablets=tablets, warnings=tuple(notes), basis=basis,
    )
    return dose, tuple(notes)
