"""JSON (the machine contract) and CSV renderings of a Schedule."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from picture_schedule.core.model import Booking, Course, Cycle, Dose, DoseBasis, Event, Kind, Schedule
from picture_schedule.core.prescribing import course_bsa
from picture_schedule.render.messages import message_record, reason_text

CSV_FIELDS = (
    "id", "date", "time", "kind", "agent", "cycle", "day", "slot", "dose", "dose_amount", "dose_unit",
    "confirm_dose", "status", "moved", "move_reason", "window_earliest", "window_latest",
)


#: First characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) read a cell as a
#: formula or a command: OWASP's list for CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def spreadsheet_safe(cell: Any) -> Any:
    """A CSV cell a spreadsheet will show, never run (OWASP's advice on CSV injection).

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single
    quote (``'=HYPERLINK(…)``), so it is shown as text; a plain number such as ``-7`` or ``+3`` is
    left as it is (it is a number to a spreadsheet, never a formula). Numbers (int, float) and
    other text pass unchanged. The csv module quotes the cell when it holds a comma or a quote.
    """
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


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
        "warning": reason_text(dose.warnings, "en"),
        "basis": basis_record(dose.basis),
    }


def basis_record(basis: DoseBasis | None) -> dict[str, Any] | None:
    """How a dose was reached: the regimen's amount at its level, the BSA, the calculated amount, the rule."""
    if basis is None:
        return None
    return {
        "per": basis.per.value,
        "regimen_amount": basis.regimen_amount,
        "unit": basis.unit,
        "bsa_m2": basis.bsa_m2,
        "calculated": None if basis.calculated is None else round(basis.calculated, 2),
        "rule": basis.rule,
        "step": basis.step,
    }


def body_record(course: Course) -> dict[str, Any] | None:
    """The body measures behind per-m² doses, and the BSA used (2 decimals, after any site cap)."""
    body = course.body
    if body is None:
        return None
    return {
        "height_cm": body.height_cm,
        "weight_kg": body.weight_kg,
        "measured": body.measured.isoformat() if body.measured else None,
        "formula": None if body.bsa_m2 is not None else body.formula,
        "bsa_given": body.bsa_m2,
        "bsa_m2": course_bsa(course),
        "bsa_cap_m2": course.settings.bsa_cap,
    }


def booking_record(booking: Booking | None) -> dict[str, Any] | None:
    if booking is None:
        return None
    return {
        "chair": booking.chair, "start": booking.start.strftime("%H:%M"), "end": booking.end.strftime("%H:%M"),
        "date": booking.day.isoformat() if booking.day else None, "revision": booking.revision,
        "recorded": booking.recorded.isoformat() if booking.recorded else None,
    }


def change_records(schedule: Schedule) -> list[dict[str, Any]]:
    """Every recorded change, as typed in the course, with its worded summary."""
    from picture_schedule.core.scheduler import change_reason

    out = []
    for change in schedule.course.changes:
        reason = change_reason(schedule.regimen, change)
        out.append({
            "cycle": change.cycle,
            "reason": change.reason,
            "by": change.by or None,
            "recorded": change.recorded.isoformat() if change.recorded else None,
            "delay_days": change.delay_days,
            "dose_level": dict(change.dose_level),
            "prescribed": {a: {"amount": p.amount, "unit": p.unit} for a, p in change.prescribed.items()},
            "omit": list(change.omit),
            "hold_days": list(change.hold_days),
            "stop": change.stop,
            "text": reason_text(reason, "en"),
        })
    return out


def _cycle_record(c: Cycle) -> dict[str, Any]:
    return {
        "number": c.number,
        "planned_day1": c.planned_day1.isoformat(),
        "day1": c.day1.isoformat(),
        "last_day": c.last_day.isoformat(),
        "status": c.status.value,
        "status_reason": reason_text(c.status_reason, "en"),
        "delay_days": c.delay_days,
        "delay_reason": reason_text(c.delay_reason, "en"),
        "shift_reason": reason_text(c.shift_reason, "en"),
        "move_reason": reason_text(c.move_reason, "en"),
        "move_reasons": [message_record(r) for r in c.move_reason],
        "dose_levels": dict(c.dose_levels),
        "omitted": list(c.omitted),
        "held_days": list(c.held_days),
        "infusion_start": c.infusion_start.strftime("%H:%M") if c.infusion_start else None,
        "chair_minutes": c.chair_minutes,
        "booking": booking_record(c.booking),
        "time_confirmed": c.time_confirmed,
        "changes": [message_record(r) for r in c.changes],
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
        "status_reason": reason_text(e.status_reason, "en"),
        "time_confirmed": e.booked if e.kind is Kind.INFUSION and e.day == 1 else None,
        "moved": e.moved,
        "move_reason": reason_text(e.move_reason, "en"),
        "move_reasons": [message_record(r) for r in e.move_reason],
        "window": [e.window[0].isoformat(), e.window[1].isoformat()] if e.window else None,
        "revision": e.revision,
        "changes": [message_record(r) for r in e.changes],
    }


def schedule_record(schedule: Schedule) -> dict[str, Any]:
    """The JSON contract (documented in docs/reference/schedule.md)."""
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
        "body": body_record(course),
        "start": course.start.isoformat(),
        "end": schedule.end.isoformat(),
        "timezone": course.zone,
        "fingerprint": schedule.fingerprint(),
        "cycles": [_cycle_record(c) for c in schedule.cycles],
        "changes": change_records(schedule),
        "events": [event_record(e) for e in schedule.events],
        "cancelled": [event_record(e) for e in schedule.cancelled],
        "notes": [message_record(n) for n in schedule.notes],
        "estimated_holiday_years": list(schedule.estimated_years),
    }


def to_json(schedule: Schedule) -> str:
    return json.dumps(schedule_record(schedule), ensure_ascii=False, indent=2) + "\n"


def to_csv(schedule: Schedule) -> str:
    """One row per event, planned and cancelled, sorted by date then time (cells made
    :func:`spreadsheet_safe`)."""
    schedule = schedule.detailed()
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for e in sorted((*schedule.events, *schedule.cancelled), key=lambda e: e.sort_key):
        rec = event_record(e)
        dose = rec.pop("dose") or {}
        window = rec.pop("window") or ["", ""]
        row = {
            **{k: rec[k] for k in CSV_FIELDS if k in rec},
            "time": rec["time"] or "", "slot": rec["slot"] or "",
            "dose": dose.get("text", ""), "dose_amount": "" if dose.get("amount") is None else dose["amount"],
            "dose_unit": dose.get("unit", ""), "confirm_dose": "yes" if dose.get("confirm") else "",
            "moved": "yes" if e.moved else "", "window_earliest": window[0], "window_latest": window[1],
        }
        writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
    return out.getvalue()
