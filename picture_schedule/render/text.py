"""A readable per-cycle summary for a terminal (English)."""

from __future__ import annotations

from collections.abc import Sequence

from picture_schedule.core.model import Basis, Course, Dose, Event, Kind, Schedule, format_amount
from picture_schedule.core.prescribing import course_bsa
from picture_schedule.output import for_terminal
from picture_schedule.render.messages import describe, reason_text


def day_list(days: Sequence[int]) -> str:
    """[1..14] → "1–14"; [1, 3, …, 13] → "1, 3 … 13"; [1, 2, 3, 8] → "1–3, 8"."""
    ordered = sorted(set(days))
    steps = {b - a for a, b in zip(ordered, ordered[1:])}
    if len(ordered) > 3 and len(steps) == 1 and steps != {1}:
        return f"{ordered[0]}, {ordered[1]} … {ordered[-1]}"
    runs: list[list[int]] = []
    for d in sorted(set(days)):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _when(e: Event) -> str:
    return f"{e.date:%a %d %b} {e.time:%H:%M}" if e.time else f"{e.date:%a %d %b}"


RULES = {
    "flat": "flat dose",
    "text": "registry text only: confirm",
    "per-m2": "no body measures: per m²",
    "prescribed": "prescribed",
    "nearest-combination": "nearest tablet combination",
    "bsa-bands": "BSA band table",
    "none": "not rounded",
}


def body_line(course: Course) -> str:
    """Height, weight, when measured, formula and BSA: the basis of every per-m² dose."""
    body = course.body
    if body is None:
        return "Body: no measures given (per-m² doses print per m²)"
    bsa = course_bsa(course)
    measured = f", measured {body.measured:%Y-%m-%d}" if body.measured else ", date measured not given"
    if body.bsa_m2 is not None:
        basis = f"BSA {body.bsa_m2:.2f} m² as given{measured}"
    else:
        basis = (f"{format_amount(body.height_cm)} cm, {format_amount(body.weight_kg)} kg{measured}; "
                 f"{body.formula.capitalize()} formula")
    cap = course.settings.bsa_cap
    capped = f" (capped at {cap:.2f} m²)" if cap is not None and bsa is not None and bsa >= cap else ""
    return f"Body: {basis}; BSA {bsa:.2f} m²{capped}" if bsa is not None else f"Body: {basis}"


def basis_text(dose: Dose) -> str:
    """"1000 mg/m² × 1.42 m² = 1420 mg, nearest tablet combination → 1400 mg = 1 × 500 mg + 6 × 150 mg"."""
    basis = dose.basis
    if basis is None:
        return dose.text
    rule = f"rounded to {format_amount(basis.step)} {basis.unit}" if basis.rule == "step" else RULES.get(
        basis.rule, basis.rule)
    if basis.per is Basis.PER_M2 and basis.bsa_m2 is not None and basis.calculated is not None:
        worked = (f"{format_amount(basis.regimen_amount)} {basis.unit}/m² × {basis.bsa_m2:.2f} m² = "
                  f"{format_amount(round(basis.calculated, 1))} {basis.unit}")
        return f"{worked}, {rule} → {dose.text}"
    return f"{dose.text} ({rule})"


def to_table(schedule: Schedule) -> str:
    schedule = schedule.detailed()
    r, course = schedule.regimen, schedule.course
    lines = [f"{r.title.en}  ({r.version})"]
    if course.patient:
        lines.append(f"Patient {course.patient}")
    lines.append(
        f"Start {course.start:%a %Y-%m-%d} · {len(schedule.cycles)} of {course.cycles} cycles of "
        f"{r.cycle_days} days · ends {schedule.end:%a %Y-%m-%d} · times in {course.zone}"
    )
    lines.append(body_line(course))
    lines.extend(_dose_basis(schedule))
    specs = (*r.visits, *(course.site.visits if course.site else ()))
    visit_names = {v.id: v.names.en for v in specs}
    by_cycle: dict[int, list[Event]] = {}
    for e in schedule.events:
        by_cycle.setdefault(e.cycle, []).append(e)
    cancelled: dict[int, list[Event]] = {}
    for e in schedule.cancelled:
        cancelled.setdefault(e.cycle, []).append(e)
    for c in schedule.cycles:
        lines.append("")
        flag = "  TENTATIVE" if c.tentative else ""
        lines.append(f"Cycle {c.number}  {c.day1:%a %Y-%m-%d} → {c.last_day:%a %Y-%m-%d}{flag}")
        if c.status_reason is not None:
            lines.append(f"  ! day 1 {c.day1:%Y-%m-%d}: {reason_text(c.status_reason, 'en')}")
        if c.infusion_start is not None:
            if c.booking is not None:
                lines.append(f"  chair {c.booking.chair} booked {c.booking.start:%H:%M}–{c.booking.end:%H:%M}")
            else:
                lines.append(f"  day-1 time {c.infusion_start:%H:%M} to be confirmed (no chair booked)")
        for change in c.changes:
            lines.append(f"  change: {reason_text(change, 'en')}")
        if c.moved:
            lines.append(f"  planned day 1 {c.planned_day1:%a %Y-%m-%d}, moved {c.delay_days:+d} days: "
                         f"{reason_text(c.move_reason, 'en')}")
        reduced = {a: lvl for a, lvl in c.dose_levels.items() if lvl}
        if reduced:
            lines.append("  dose level " + ", ".join(f"{a} {lvl}" for a, lvl in reduced.items()))
        if c.omitted:
            lines.append("  omitted this cycle: " + ", ".join(c.omitted))
        if c.held_days:
            lines.append(f"  oral doses held on days {day_list(c.held_days)} (not made up)")
        events = by_cycle.get(c.number, [])
        for agent in r.agents:
            mine = [e for e in events if e.agent == agent.id]
            if not mine:
                continue
            dose = mine[0].dose
            dose_text = dose.text if dose else ""
            if dose and dose.confirm:
                dose_text += " (registry text: confirm with your care team)"
            if agent.kind is Kind.INFUSION:
                for e in mine:
                    flag = "  TENTATIVE" if e.tentative else ""
                    lines.append(f"  {'day ' + str(e.day):<16}{_when(e):<20}{agent.names.en} {dose_text} "
                                 f"{agent.route}, {e.minutes} min{flag}")
            else:
                days = [e.day for e in mine]
                times = sorted({e.time.strftime("%H:%M") for e in mine if e.time})
                label = ("day " if len(set(days)) == 1 else "days ") + day_list(days)
                what = "doses" if agent.kind is Kind.ORAL else "injections"
                span = f"{mine[0].date:%d %b} – {mine[-1].date:%d %b}"
                lines.append(f"  {label:<16}{span:<20}{agent.names.en} {dose_text}: "
                             f"{len(mine)} {what} at {' and '.join(times)}")
        for e in (v for v in events if v.kind is Kind.VISIT):
            lines.append(_visit_line(e, visit_names))
        gone = cancelled.get(c.number, [])
        if gone:
            lines.append(f"  cancelled: {len(gone)} events")
    stopped = sorted({e.cycle for e in schedule.cancelled} - {c.number for c in schedule.cycles})
    if stopped:
        lines.append("")
        lines.append(f"Stopped: cycles {day_list(stopped)} will not be given.")
        from picture_schedule.core.scheduler import change_reason

        for recorded in course.changes:
            if recorded.cycle in stopped:
                lines.append(f"  change: {reason_text(change_reason(r, recorded), 'en')}")
    visits = [e for e in schedule.events if e.kind is Kind.VISIT and e.cycle not in {c.number for c in schedule.cycles}]
    for e in visits:
        lines.append(_visit_line(e, visit_names))
    if schedule.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  ! {describe(n, 'en')}" for n in schedule.notes)
    return "\n".join(for_terminal(line) for line in lines) + "\n"  # no raw control character reaches a terminal


def _visit_line(e: Event, visit_names: dict[str, str]) -> str:
    window = f" (window {e.window[0]:%d %b} – {e.window[1]:%d %b})" if e.window else ""
    moved = f"; {reason_text(e.move_reason, 'en')}" if e.move_reason else ""
    line = f"  {'visit':<16}{_when(e):<20}{visit_names.get(e.agent, e.agent)}{window}{moved}"
    if e.tentative:
        line += f"  TENTATIVE: {reason_text(e.status_reason, 'en')}"
    return line


def _dose_basis(schedule: Schedule) -> list[str]:
    """Each medicine's dose and how it was reached, for the cycles it holds in."""
    lines = ["Doses:"]
    cycles = [c.number for c in schedule.cycles]
    for agent in schedule.regimen.agents:
        spans: list[tuple[list[int], Dose]] = []
        for number in cycles:
            dose = next((e.dose for e in schedule.events if e.cycle == number and e.agent == agent.id and e.dose), None)
            if dose is None:
                continue
            if spans and spans[-1][1] == dose and spans[-1][0][-1] == cycles[cycles.index(number) - 1]:
                spans[-1][0].append(number)
            else:
                spans.append(([number], dose))
        for numbers, dose in spans:
            which = f"cycle {numbers[0]}" if len(numbers) == 1 else f"cycles {numbers[0]}–{numbers[-1]}"
            level = f", dose level {dose.level}" if dose.level else ""
            lines.append(f"  {agent.names.en} ({which}{level}): {basis_text(dose)}")
    return lines


#: The notes of an appointment left tentative: a person must confirm a date.
TENTATIVE_CODES = ("closed-day1", "visit-window")


def course_warnings(course: Course) -> list[str]:
    """What ``validate`` warns about a valid course: each appointment the clinic calendar could not place
    on an open day (tentative), and each chair booking that no longer matches its day 1."""
    from picture_schedule.core.scheduler import schedule

    expanded = schedule(course)
    lines = [f"tentative: {describe(note, 'en')}" for note in expanded.notes if note.code in TENTATIVE_CODES]
    lines += [describe(note, "en") for note in expanded.notes if note.code == "booking-stale"]
    return lines
