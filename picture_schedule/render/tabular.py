"""JSON (the machine contract) and CSV renderings of a Schedule."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from picture_schedule.core.model import Dose, Event, Schedule

CSV_FIELDS = (
    "id", "date", "time", "kind", "agent", "cycle", "day", "slot", "dose", "dose_amount", "dose_unit",
    "confirm_dose", "status", "moved", "move_reason", "window_earliest", "window_latest",
)


def _dose(dose: Dose | None) -> dict[str, Any] | None:
    if dose is None:
        return None
    return {
        "text": dose.text,
        "amount": dose.amount,
        "unit": dose.unit,
        "level": dose.level,
        "calculated": dose.calculated,
        "prescribed": dose.prescribed,
        "confirm": dose.confirm,
        "tablets": [{"strength_mg": s, "count": n} for s, n in dose.tablets],
        "warning": dose.warning,
    }


def event_record(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "date": e.date.isoformat(),
        "time": e.time.strftime("%H:%M") if e.time else None,
        "kind": e.kind.value,
        "agent": e.agent,
        "cycle": e.cycle,
        "day": e.day,
        "slot": e.slot.value if e.slot else None,
        "dose": _dose(e.dose),
        "minutes": e.minutes or None,
        "status": e.status.value,
        "moved": e.moved,
        "move_reason": e.move_reason,
        "window": [e.window[0].isoformat(), e.window[1].isoformat()] if e.window else None,
        "revision": e.revision,
    }


def schedule_record(schedule: Schedule) -> dict[str, Any]:
    """The JSON contract (documented in the README)."""
    schedule = schedule.detailed()
    r, course = schedule.regimen, schedule.course
    return {
        "regimen": {
            "id": r.id, "version": r.version, "trial": r.trial, "title": r.title.en, "source": r.source,
            "cycle_days": r.cycle_days, "cycles": r.cycles,
            "agents": [
                {"id": a.id, "name": a.names.en, "kind": a.kind.value, "route": a.route,
                 "dose": a.dose.describe(), "days": list(a.days), "slots": [s.value for s in a.slots],
                 "infusion_minutes": list(a.infusion_minutes), "order": a.order}
                for a in r.agents
            ],
        },
        "patient": course.patient or None,
        "start": course.start.isoformat(),
        "end": schedule.end.isoformat(),
        "timezone": course.zone,
        "fingerprint": schedule.fingerprint(),
        "cycles": [
            {
                "number": c.number,
                "planned_day1": c.planned_day1.isoformat(),
                "day1": c.day1.isoformat(),
                "last_day": c.last_day.isoformat(),
                "delay_days": c.delay_days,
                "delay_reason": c.delay_reason,
                "shift_reason": c.shift_reason,
                "move_reason": c.move_reason,
                "dose_levels": dict(c.dose_levels),
                "omitted": list(c.omitted),
                "held_days": list(c.held_days),
                "infusion_start": c.infusion_start.strftime("%H:%M") if c.infusion_start else None,
                "chair_minutes": c.chair_minutes,
            }
            for c in schedule.cycles
        ],
        "events": [event_record(e) for e in schedule.events],
        "cancelled": [event_record(e) for e in schedule.cancelled],
        "notes": [{"code": n.code, "text": n.en} for n in schedule.notes],
        "estimated_holiday_years": list(schedule.estimated_years),
    }


def to_json(schedule: Schedule) -> str:
    return json.dumps(schedule_record(schedule), ensure_ascii=False, indent=2) + "\n"


def to_csv(schedule: Schedule) -> str:
    """One row per event, planned and cancelled, sorted by date then time."""
    schedule = schedule.detailed()
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for e in sorted((*schedule.events, *schedule.cancelled), key=lambda e: e.sort_key):
        rec = event_record(e)
        dose = rec.pop("dose") or {}
        window = rec.pop("window") or ["", ""]
        writer.writerow({
            **{k: rec[k] for k in CSV_FIELDS if k in rec},
            "time": rec["time"] or "", "slot": rec["slot"] or "",
            "dose": dose.get("text", ""), "dose_amount": "" if dose.get("amount") is None else dose["amount"],
            "dose_unit": dose.get("unit", ""), "confirm_dose": "yes" if dose.get("confirm") else "",
            "moved": "yes" if e.moved else "", "window_earliest": window[0], "window_latest": window[1],
        })
    return out.getvalue()
