"""A readable per-cycle summary for a terminal (English)."""

from __future__ import annotations

from collections.abc import Sequence

from picture_schedule.core.model import Event, Kind, Schedule


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
        lines.append(f"Cycle {c.number}  {c.day1:%a %Y-%m-%d} → {c.last_day:%a %Y-%m-%d}")
        if c.moved:
            lines.append(f"  planned day 1 {c.planned_day1:%a %Y-%m-%d}, moved {c.delay_days:+d} days: {c.move_reason}")
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
                    lines.append(f"  {'day ' + str(e.day):<16}{_when(e):<20}{agent.names.en} {dose_text} "
                                 f"{agent.route}, {e.minutes} min")
            else:
                days = [e.day for e in mine]
                times = sorted({e.time.strftime("%H:%M") for e in mine if e.time})
                label = ("day " if len(set(days)) == 1 else "days ") + day_list(days)
                what = "doses" if agent.kind is Kind.ORAL else "injections"
                span = f"{mine[0].date:%d %b} – {mine[-1].date:%d %b}"
                lines.append(f"  {label:<16}{span:<20}{agent.names.en} {dose_text}: "
                             f"{len(mine)} {what} at {' and '.join(times)}")
        for e in (v for v in events if v.kind is Kind.VISIT):
            window = f" (window {e.window[0]:%d %b} – {e.window[1]:%d %b})" if e.window else ""
            moved = f"; {e.move_reason}" if e.move_reason else ""
            lines.append(f"  {'visit':<16}{_when(e):<20}{visit_names.get(e.agent, e.agent)}{window}{moved}")
        gone = cancelled.get(c.number, [])
        if gone:
            lines.append(f"  cancelled: {len(gone)} events")
    stopped = sorted({e.cycle for e in schedule.cancelled} - {c.number for c in schedule.cycles})
    if stopped:
        lines.append("")
        lines.append(f"Stopped: cycles {day_list(stopped)} will not be given.")
    visits = [e for e in schedule.events if e.kind is Kind.VISIT and e.cycle not in {c.number for c in schedule.cycles}]
    for e in visits:
        lines.append(f"  {'visit':<16}{_when(e):<20}{visit_names.get(e.agent, e.agent)}")
    if schedule.notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"  ! {n.en}" for n in schedule.notes)
    return "\n".join(lines) + "\n"
