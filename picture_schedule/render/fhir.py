"""A course as one FHIR R4 Bundle (JSON) for a hospital's systems: Patient, CarePlan, MedicationRequests
and Appointments, built from the :class:`~picture_schedule.core.model.Schedule` only.

Plain dictionaries and the standard library's ``json``: no FHIR library is needed at run time (the
tests parse every bundle with ``fhir.resources``). Values in, bytes out: the same schedule and the
same ``today`` give the same bytes (keys sorted, no clock read, no random identifier).

- **Patient**: the pseudonymous study number as an identifier, its system from the site setting
  ``[fhir] identifier_system``; a name only with ``include_name`` (the course's ``display_name``).
- **CarePlan**: the course (intent ``plan``; status ``active``, ``completed`` once every cycle is
  before ``today``, ``revoked`` when the course was stopped), the regimen as title and description
  with its source, one activity per MedicationRequest and Appointment, one note per recorded change
  (the reason as typed, who, when) and one per warning of the schedule.
- **MedicationRequest**: one per agent and dose period (a new one whenever the agent's dose changes:
  a dose level, a new prescription). Intent ``order`` for a prescribed dose, ``proposal`` for a
  calculated one. One ``dosageInstruction`` per run of doses the scheduler expanded: a run is a
  stretch of one cycle with no dose left out (a hold or a time change ends it), written as
  ``timing.repeat`` (``boundsPeriod`` from the first to the last dose, as instants; ``frequency``
  per ``period`` days at each ``timeOfDay``, counted from the first day). Expanding every repeat —
  every ``period``-th day from the first, at each time of day, within the bounds — gives exactly the
  scheduler's dose events. An infusion is ``timing.event`` (its start) with its duration.
- **Appointment**: one per day-1 visit (the infusions of a cycle together) and per site visit;
  ``booked`` when the cycle has a chair booking, ``proposed`` otherwise, ``cancelled`` when a change
  removed it; a visit the clinic calendar could not place (tentative) is ``proposed`` with a comment.

Every reference is a ``urn:uuid:`` full URL of an entry of the bundle. The UUIDs are name-based
(UUID 5) on the study number and a date-free key (``medication/capecitabine/c4``, the event id), so
a regenerated bundle gives the same resources the same URLs. A ``transaction`` bundle writes the
Patient as a conditional create (``ifNoneExist``: a patient the server knows is used as it is, never
overwritten) and every other entry as a conditional update (``PUT Type?identifier=…``): sending it
again updates, never duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from picture_schedule.core.model import (
    Agent,
    Basis,
    Change,
    Cycle,
    Dose,
    Event,
    Kind,
    Schedule,
    Status,
    format_amount,
)
from picture_schedule.core.prescribing import course_bsa, level_amount
from picture_schedule.core.scheduler import event_id
from picture_schedule.errors import InputError
from picture_schedule.render.messages import describe

__all__ = ["CODE_SYSTEMS", "bundle", "full_url", "to_fhir"]

#: Changing the namespace changes every full URL: a receiving system would see new resources.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:treatment-schedule:fhir:v1")
#: FHIR's URIs of the code systems a regimen's ``codes`` table may name.
CODE_SYSTEMS = {"atc": "http://www.whocc.no/atc", "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm"}
URI_IDENTIFIER = "urn:ietf:rfc:3986"  # the identifier system whose values are URIs (our urn:uuid: URLs)
UCUM = "http://unitsofmeasure.org"
DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
#: Dose units as the regimen and course files write them → UCUM codes; other units stay text only.
UCUM_UNITS = {"mg": "mg", "g": "g", "µg": "ug", "ug": "ug", "mcg": "ug", "IU": "[iU]", "mL": "mL", "ml": "mL"}
VISIT_MINUTES = 30  # a timed visit (the site gives no duration): as in the calendar
_ORDER = {"Patient": 0, "CarePlan": 1, "MedicationRequest": 2, "Appointment": 3}


def to_fhir(schedule: Schedule, *, today: dt.date, transaction: bool = False, include_name: bool = False) -> bytes:
    """The course's bundle as UTF-8 JSON (keys sorted, two-space indents, a final newline).

    ``today`` decides which requests are completed and whether the care plan is; the core has no
    clock, so the caller passes it. ``transaction``: a transaction bundle of conditional updates
    instead of a collection. ``include_name``: the course's display name on the Patient.
    """
    data = bundle(schedule, today=today, transaction=transaction, include_name=include_name)
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def bundle(schedule: Schedule, *, today: dt.date, transaction: bool = False, include_name: bool = False
           ) -> dict[str, Any]:
    """The bundle as a dictionary (what :func:`to_fhir` writes)."""
    schedule = schedule.detailed()
    if not schedule.course.patient:
        raise InputError("a FHIR bundle is of one patient's course: give --course FILE or --patient ID, "
                         "not a plain --start")
    return _Bundle(schedule, today, include_name).build(transaction)


def full_url(patient: str, key: str) -> str:
    """The ``urn:uuid:`` URL of the resource with date-free ``key`` in ``patient``'s bundle."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, patient + chr(0) + key)}"


class _Period:
    """One agent's run of cycles at one dose: one MedicationRequest."""

    def __init__(self, agent: Agent, dose: Dose, cycle: int) -> None:
        self.agent = agent
        self.dose = dose
        self.cycles: list[int] = [cycle]
        self.events: list[Event] = []  # the planned dose events of its cycles
        self.omitted: list[int] = []  # cycles where a change left the agent out

    @property
    def key(self) -> str:
        return f"medication/{self.agent.id}/c{self.cycles[0]}"


class _Bundle:
    def __init__(self, schedule: Schedule, today: dt.date, include_name: bool) -> None:
        self.schedule = schedule
        self.course = schedule.course
        self.regimen = schedule.regimen
        self.site = self.course.settings
        self.today = today
        self.include_name = include_name
        self.zone = ZoneInfo(self.course.zone)
        self.cycles: dict[int, Cycle] = {c.number: c for c in schedule.cycles}
        self.stop = next((c for c in self.course.changes if c.stop), None)
        self.entries: list[tuple[str, str, dict[str, Any]]] = []  # (type, key, resource)

    def url(self, key: str) -> str:
        return full_url(self.course.patient, key)

    def ref(self, key: str) -> dict[str, str]:
        return {"reference": self.url(key)}

    # -- times --------------------------------------------------------------------------------------

    def instant(self, day: dt.date, time: dt.time) -> str:
        """A wall time in the course's zone as an instant with its offset: 2026-12-07T09:00:00+08:00."""
        return dt.datetime.combine(day, time, tzinfo=self.zone).isoformat()

    def moment(self, when: dt.datetime) -> str:
        """A course-file time (naive: wall time in the course zone) as a dateTime with offset."""
        aware = when.replace(tzinfo=self.zone) if when.tzinfo is None else when.astimezone(self.zone)
        return aware.isoformat()

    def later(self, day: dt.date, time: dt.time, minutes: int) -> str:
        start = dt.datetime.combine(day, time, tzinfo=self.zone)
        return (start.astimezone(dt.UTC) + dt.timedelta(minutes=minutes)).astimezone(self.zone).isoformat()

    # -- the bundle ---------------------------------------------------------------------------------

    def build(self, transaction: bool) -> dict[str, Any]:
        self.entries.append(("Patient", "patient", self.patient()))
        requests = self.medication_requests()
        appointments = self.appointments()
        self.entries.append(("CarePlan", "careplan", self.care_plan([*requests, *appointments])))
        self.entries.extend(requests)
        self.entries.extend(appointments)
        self.entries.sort(key=lambda entry: _ORDER[entry[0]])  # stable: within a type, the order built
        entries = []
        for kind, key, resource in self.entries:
            entry: dict[str, Any] = {"fullUrl": self.url(key), "resource": resource}
            if transaction and kind == "Patient":  # never overwrite the hospital's own record of the patient
                entry["request"] = {"method": "POST", "url": "Patient", "ifNoneExist": self.search(resource)}
            elif transaction:
                entry["request"] = {"method": "PUT", "url": f"{kind}?{self.search(resource)}"}
            entries.append(entry)
        return {"resourceType": "Bundle", "type": "transaction" if transaction else "collection", "entry": entries}

    def search(self, resource: dict[str, Any]) -> str:
        """``identifier=system|value`` of the resource's first identifier (escaped for a search)."""
        ident = resource["identifier"][0]
        return f"identifier={_search_token(ident['system'])}|{_search_token(ident['value'])}"

    def identifier(self, key: str) -> list[dict[str, str]]:
        return [{"system": URI_IDENTIFIER, "value": self.url(key)}]

    # -- Patient ------------------------------------------------------------------------------------

    def patient(self) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{"system": self.site.fhir_identifier_system, "value": self.course.patient}],
        }
        if self.include_name and self.course.display_name:
            resource["name"] = [{"text": self.course.display_name}]
        return resource

    # -- CarePlan -----------------------------------------------------------------------------------

    def care_plan(self, activities: Sequence[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
        regimen, course = self.regimen, self.course
        if self.stop is not None:
            status = "revoked"
        elif self.schedule.cycles and self.schedule.cycles[-1].last_day < self.today:
            status = "completed"
        else:
            status = "active"
        trial = f", trial {regimen.trial}" if regimen.trial else ""
        resource: dict[str, Any] = {
            "resourceType": "CarePlan",
            "identifier": self.identifier("careplan"),
            "status": status,
            "intent": "plan",
            "title": regimen.title.en,
            "description": (f"Regimen {regimen.id} ({regimen.version}{trial}): {course.cycles} cycles of "
                            f"{regimen.cycle_days} days from {course.start.isoformat()}. Source: {regimen.source}"),
            "subject": self.ref("patient"),
            "period": {"start": self.schedule.start.isoformat(), "end": self.schedule.end.isoformat()},
            "activity": [{"reference": self.ref(key)} for _, key, _ in activities],
        }
        if course.created is not None:
            resource["created"] = self.moment(course.created)
        notes = [self.change_note(change) for change in course.changes]
        notes += [{"text": "Warning: " + describe(note, "en")} for note in self.schedule.notes]
        if notes:
            resource["note"] = notes
        return resource

    def change_note(self, change: Change) -> dict[str, Any]:
        note: dict[str, Any] = {"text": f"Cycle {change.cycle}: {'; '.join(self.change_parts(change))}. "
                                        f"Reason: {change.reason}"}
        if change.by:
            note["authorString"] = change.by
        if change.recorded is not None:
            note["time"] = self.moment(change.recorded)
        return note

    def change_parts(self, change: Change) -> list[str]:
        parts = []
        if change.delay_days > 0:
            parts.append(f"day 1 delayed by {change.delay_days} days (later cycles follow)")
        elif change.delay_days < 0:
            parts.append(f"day 1 brought forward by {-change.delay_days} days (later cycles follow)")
        for target, level in change.dose_level.items():
            who = "every agent with dose levels" if target == "all" else self.name(target)
            parts.append(f"{who} at dose level {level} from this cycle on")
        for agent_id, rx in change.prescribed.items():
            parts.append(f"{self.name(agent_id)} prescribed {format_amount(rx.amount)} {rx.unit} from this cycle on")
        if change.omit:
            parts.append(f"{', '.join(self.name(a) for a in change.omit)} left out of this cycle")
        if change.hold_days:
            parts.append(f"oral doses held on cycle days {', '.join(str(d) for d in change.hold_days)}")
        if change.stop:
            parts.append("treatment stopped from this cycle on")
        return parts or ["recorded"]

    def name(self, agent_id: str) -> str:
        try:
            return self.regimen.agent(agent_id).names.en
        except KeyError:
            return agent_id

    # -- MedicationRequests -------------------------------------------------------------------------

    def periods(self, agent: Agent) -> list[_Period]:
        """The agent's dose periods over the cycles given (a stopped cycle is not given)."""
        planned: dict[int, list[Event]] = {}
        doses: dict[int, Dose] = {}
        for event in (*self.schedule.events, *self.schedule.cancelled):
            if event.agent == agent.id and event.kind is agent.kind and event.cycle in self.cycles:
                if event.dose is not None:
                    doses.setdefault(event.cycle, event.dose)
                if event.status is not Status.CANCELLED:  # planned, or tentative (its date to be confirmed)
                    planned.setdefault(event.cycle, []).append(event)
        periods: list[_Period] = []
        for number in sorted(doses):
            if periods and periods[-1].dose == doses[number]:
                periods[-1].cycles.append(number)
            else:
                periods.append(_Period(agent, doses[number], number))
            if number in planned:
                periods[-1].events.extend(sorted(planned[number], key=lambda e: e.sort_key))
            elif agent.id in self.cycles[number].omitted:
                periods[-1].omitted.append(number)
        return [p for p in periods if p.events]  # a period whose every dose was left out requests nothing

    def medication_requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for agent in self.regimen.agents:
            periods = self.periods(agent)
            for i, period in enumerate(periods):
                prior = periods[i - 1].key if i else None
                out.append(("MedicationRequest", period.key,
                            self.medication_request(period, prior, last=i == len(periods) - 1)))
        return out

    def medication_request(self, period: _Period, prior: str | None, *, last: bool) -> dict[str, Any]:
        agent, dose = period.agent, period.dose
        finished = max(e.date for e in period.events) < self.today
        status = "active" if not finished else "stopped" if last and self.stop is not None else "completed"
        concept: dict[str, Any] = {"text": agent.names.en}
        codings = [{"system": CODE_SYSTEMS[s], "code": code} for s, code in sorted(agent.codes.items())]
        if codings:
            concept["coding"] = codings
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "identifier": self.identifier(period.key),
            "status": status,
            "intent": "order" if dose.prescribed else "proposal",
            "medicationCodeableConcept": concept,
            "subject": self.ref("patient"),
            "basedOn": [self.ref("careplan")],
            # mCODE's CancerRelatedMedicationRequest asks for a reason (code or reference); the course
            # file holds no diagnosis, so the reason is the regimen, in words
            "reasonCode": [{"text": f"Cancer treatment: {self.regimen.title.en}"
                                    + (f" ({self.regimen.trial})" if self.regimen.trial else "")}],
            "dosageInstruction": self.dosages(period),
        }
        if status == "stopped" and self.stop is not None:
            resource["statusReason"] = {"text": self.stop.reason}
        if prior is not None:
            resource["priorPrescription"] = self.ref(prior)
        started = self.started_by(period)
        if started is not None and started.recorded is not None:
            resource["authoredOn"] = self.moment(started.recorded)
        elif started is None and self.course.created is not None:
            resource["authoredOn"] = self.moment(self.course.created)
        if started is not None and started.by:
            resource["requester"] = {"display": started.by}
        notes = [{"text": self.basis(period)}]
        if dose.confirm:
            notes.append({"text": f"To confirm: only the registry text \"{dose.text}\" is known (kept verbatim); "
                                  "confirm the dose and route with the care team before use."})
        for number in period.omitted:
            reasons = [c.reason for c in self.course.changes if c.cycle == number and agent.id in c.omit]
            notes.append({"text": f"Left out of cycle {number}: {'; '.join(reasons)}"})
        resource["note"] = notes
        return resource

    def started_by(self, period: _Period) -> Change | None:
        """The change that began this dose period (a dose level or a prescription), if any."""
        first, agent = period.cycles[0], period.agent.id
        for change in reversed(self.course.changes):
            if change.cycle == first and (agent in change.prescribed or agent in change.dose_level
                                          or ("all" in change.dose_level and period.agent.dose_levels)):
                return change
        return None

    def basis(self, period: _Period) -> str:
        """How the dose came about, in words: prescribed, or calculated from BSA and a rounding rule."""
        agent, dose = period.agent, period.dose
        if dose.confirm:
            return f"Registry text, verbatim: \"{dose.text}\"; no amount is known."
        level = f" (dose level {dose.level})" if dose.level else ""
        bsa = course_bsa(self.course) if agent.dose.basis is Basis.PER_M2 else None
        calculation = ""
        if bsa is not None and dose.calculated is not None:
            per_m2 = level_amount(agent, dose.level)
            formula = self.course.body.formula.capitalize() if self.course.body else ""
            calculation = (f"{format_amount(per_m2)} {agent.dose.unit}/m²{level} × BSA {bsa:.2f} m² ({formula}) = "
                           f"{format_amount(dose.calculated)} {agent.dose.unit}")
        if dose.prescribed:
            text = f"Prescribed: {dose.text}." + (f" Calculated for comparison: {calculation}." if calculation else "")
        elif agent.dose.basis is Basis.FLAT:
            text = f"Flat dose from the regimen: {dose.text}{level}."
        elif bsa is None:
            text = f"{dose.text}{level}: no body measures, so the dose stays per m²."
        else:
            rule = agent.rounding.rule
            if rule == "step":
                step = self.site.infusion_step_mg or agent.rounding.step
                rounding = f"rounded to {format_amount(step)} mg steps"
            elif rule == "nearest-combination":
                rounding = (f"the nearest amount the {' and '.join(f'{t} mg' for t in agent.tablets)} tablets make "
                            f"(at most {agent.rounding.max_tablets} a dose)")
            elif rule == "bsa-bands":
                rounding = f"the BSA band table ({agent.rounding.source})"
            else:
                rounding = "not rounded"
            text = f"Calculated: {calculation}; {rounding}: {dose.text}."
        warnings = " ".join(describe(note, "en") for note in dose.warnings)
        return f"{text} {warnings}".strip()

    def dosages(self, period: _Period) -> list[dict[str, Any]]:
        dosages: list[dict[str, Any]] = []
        step = _natural_step(period.agent)
        for number in period.cycles:
            events = [e for e in period.events if e.cycle == number]
            runs = [[e] for e in events] if period.agent.kind is Kind.INFUSION else _runs(events, step)
            for run in runs:
                dosage = {"sequence": len(dosages) + 1, "text": self.dosage_text(period, run, step),
                          "timing": self.timing(period.agent, run, step), "route": {"text": period.agent.route}}
                amounts = self.dose_and_rate(period.dose)
                if amounts:
                    dosage["doseAndRate"] = amounts
                dosages.append(dosage)
        return dosages

    def timing(self, agent: Agent, run: Sequence[Event], step: int | None) -> dict[str, Any]:
        first, last = run[0], run[-1]
        if agent.kind is Kind.INFUSION:
            assert first.time is not None
            return {"event": [self.instant(first.date, first.time)],
                    "repeat": {"count": 1, "duration": first.minutes, "durationUnit": "min"}}
        assert first.time is not None and last.time is not None
        times = sorted({e.time for e in run if e.time is not None})
        return {"repeat": {
            "boundsPeriod": {"start": self.instant(first.date, first.time), "end": self.instant(last.date, last.time)},
            "frequency": len(times),
            "period": _period_days(run, step),
            "periodUnit": "d",
            "timeOfDay": [t.strftime("%H:%M:%S") for t in times],
        }}

    def dosage_text(self, period: _Period, run: Sequence[Event], step: int | None) -> str:
        first, last = run[0], run[-1]
        days = f"day {first.day}" if first.day == last.day else f"days {first.day}–{last.day}"
        when = f"Cycle {first.cycle}, {days} ({first.date.isoformat()}"
        when += ")" if first.date == last.date else f" to {last.date.isoformat()})"
        times = sorted({e.time for e in run if e.time is not None})
        if period.agent.kind is Kind.INFUSION:
            how = f"infusion over {first.minutes} min from {first.time:%H:%M}" if first.time else "infusion"
        else:
            days_apart = _period_days(run, step)
            every = "daily" if days_apart == 1 else "every other day" if days_apart == 2 else f"every {days_apart} days"
            often = {1: "once", 2: "twice"}.get(len(times), f"{len(times)} times")
            clock = " and ".join(f"{t:%H:%M}" for t in times)
            how = f"{often} {every} at {clock}, {len(run)} dose{'s' if len(run) > 1 else ''}"
        dose = f"{period.dose.text} (confirm with the care team)" if period.dose.confirm else period.dose.text
        return f"{when}: {dose}, {how}. {self.basis(period)}"

    def dose_and_rate(self, dose: Dose) -> list[dict[str, Any]]:
        if dose.amount is None:
            return []
        kind = "ordered" if dose.prescribed else "calculated"
        out = [{"type": _dose_rate_type(kind), "doseQuantity": _quantity(dose.amount, dose.unit)}]
        if dose.prescribed and dose.calculated is not None and dose.calculated != dose.amount:
            out.append({"type": _dose_rate_type("calculated"), "doseQuantity": _quantity(dose.calculated, dose.unit)})
        return out

    # -- Appointments -------------------------------------------------------------------------------

    def appointments(self) -> list[tuple[str, str, dict[str, Any]]]:
        day1: dict[int, list[Event]] = {}
        visits: list[Event] = []
        for event in (*self.schedule.events, *self.schedule.cancelled):
            if event.kind is Kind.INFUSION and event.day == 1:
                day1.setdefault(event.cycle, []).append(event)
            elif event.kind is Kind.VISIT:
                visits.append(event)
        found = [(sorted(events, key=lambda e: e.sort_key), True) for events in day1.values()]
        found += [([event], False) for event in visits]
        found.sort(key=lambda item: item[0][0].sort_key)
        out = []
        for events, is_day1 in found:
            key = event_id(self.regimen, events[0].cycle, "infusions", 1) if is_day1 else events[0].id
            resource = self.day1_visit(events, key) if is_day1 else self.site_visit(events[0], key)
            out.append(("Appointment", key, resource))
        return out

    def appointment(self, key: str, status: str, description: str) -> dict[str, Any]:
        participant = {"actor": self.ref("patient"), "required": "required",
                       "status": "accepted" if status == "booked" else "needs-action"}
        return {"resourceType": "Appointment", "identifier": self.identifier(key), "status": status,
                "description": description, "participant": [participant]}

    def day1_visit(self, events: Sequence[Event], key: str) -> dict[str, Any]:
        planned = [e for e in events if e.status is not Status.CANCELLED]
        first = events[0]
        names = " and ".join(self.name(e.agent) for e in (planned or events))
        where = f" at {self.site.location}" if self.site.location else ""
        if not planned:
            resource = self.appointment(key, "cancelled", f"Cycle {first.cycle}, day 1: {names} infusions{where}")
            resource["requestedPeriod"] = [{"start": first.date.isoformat(), "end": first.date.isoformat()}]
            resource["cancelationReason"] = {"text": self.cancel_reason(first)}
            return resource
        cycle = self.cycles[first.cycle]
        booking = cycle.booking
        resource = self.appointment(key, "booked" if booking else "proposed",
                                    f"Cycle {first.cycle}, day 1: {names} infusions{where}, about "
                                    f"{cycle.chair_minutes} minutes in the unit")
        if booking is not None:
            resource["start"] = self.instant(first.date, booking.start)
            resource["end"] = self.instant(first.date, booking.end)
            resource["comment"] = f"Chair {booking.chair}."
        else:
            assert cycle.infusion_start is not None
            resource["start"] = self.instant(first.date, cycle.infusion_start)
            resource["end"] = self.later(first.date, cycle.infusion_start, cycle.chair_minutes)
            resource["minutesDuration"] = cycle.chair_minutes
        return resource

    def site_visit(self, event: Event, key: str) -> dict[str, Any]:
        names = {v.id: v.names for v in (*self.regimen.visits, *self.site.visits)}
        name = names[event.agent].en if event.agent in names else event.agent
        window = ""
        if event.window is not None and event.window[0] != event.window[1]:
            window = f" (window {event.window[0].isoformat()} to {event.window[1].isoformat()})"
        if event.status is Status.CANCELLED:
            resource = self.appointment(key, "cancelled", name + window)
            resource["cancelationReason"] = {"text": self.cancel_reason(event)}
        else:
            resource = self.appointment(key, "proposed", name + window)
        if event.status is Status.TENTATIVE:
            resource["participant"][0]["status"] = "tentative"
            resource["comment"] = ("The clinic is closed on every day of this visit's window: the date shown is the "
                                   "target, and the care team will confirm the date.")
        if event.time is not None and event.status is not Status.CANCELLED:
            resource["start"] = self.instant(event.date, event.time)
            resource["end"] = self.later(event.date, event.time, VISIT_MINUTES)
            resource["minutesDuration"] = VISIT_MINUTES
        else:
            resource["requestedPeriod"] = [{"start": event.date.isoformat(), "end": event.date.isoformat()}]
        return resource

    def cancel_reason(self, event: Event) -> str:
        """The typed reason of the change that removed the event (a stop, or leaving an agent out)."""
        changes = self.course.changes
        if self.stop is not None and event.cycle >= self.stop.cycle:
            return f"Treatment stopped from cycle {self.stop.cycle}: {self.stop.reason}"
        reasons = [c.reason for c in changes if c.cycle == event.cycle and (event.agent in c.omit or c.stop)]
        return "; ".join(reasons) or "Removed by a recorded change to the course."


def _natural_step(agent: Agent) -> int | None:
    """Days between an agent's dose days when they are evenly spaced (1: days 1–14; 2: every other day)."""
    gaps = {b - a for a, b in zip(agent.days, agent.days[1:])}
    return gaps.pop() if len(gaps) == 1 else None


def _runs(events: Sequence[Event], natural: int | None) -> list[list[Event]]:
    """The planned doses of one agent in one cycle, cut into runs that one ``timing.repeat`` states
    exactly: each dose is the next slot after the one before (the next time of day, or the first time
    of day ``period`` days later). The period is the agent's own spacing of days when it has one,
    else the run's first change of day fixes it."""
    ordered = sorted(events, key=lambda e: e.sort_key)
    times = sorted({e.time for e in ordered if e.time is not None})
    runs: list[list[Event]] = []
    step = natural
    for event in ordered:
        if runs:
            prev = runs[-1][-1]
            assert prev.time is not None and event.time is not None
            later_today = [t for t in times if t > prev.time]
            if later_today:
                follows = event.date == prev.date and event.time == later_today[0]
            else:
                gap = (event.date - prev.date).days
                follows = event.time == times[0] and gap > 0 and (step is None or gap == step)
                if follows and step is None:
                    step = gap
            if follows:
                runs[-1].append(event)
                continue
        runs.append([event])
        step = natural
    return runs


def _period_days(run: Sequence[Event], natural: int | None) -> int:
    """Days between the run's dose days (a run on one day: the agent's spacing, or 1)."""
    days = sorted({e.date for e in run})
    return (days[1] - days[0]).days if len(days) > 1 else natural or 1


def _quantity(amount: float, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": _number(amount), "unit": unit}
    code = UCUM_UNITS.get(unit)
    if code is None and unit.endswith("/m²") and unit[:-3] in UCUM_UNITS:
        code = UCUM_UNITS[unit[:-3]] + "/m2"
    if code is not None:
        quantity.update(system=UCUM, code=code)
    return quantity


def _dose_rate_type(code: str) -> dict[str, Any]:
    return {"coding": [{"system": DOSE_RATE_TYPE, "code": code}]}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _search_token(text: str) -> str:
    """A token of a FHIR search: its ``\\ | , $`` escaped with a backslash, then percent-encoded."""
    for char in "\\|,$":
        text = text.replace(char, "\\" + char)
    return quote(text, safe=":/")
