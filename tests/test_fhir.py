"""The FHIR bundle: parsed by a real FHIR model library (fhir.resources, R4B), every reference
resolving inside the bundle, mCODE's required elements present, and its requests and appointments
checked against the schedule JSON by an expansion written here (not the renderer's)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle  # the test extra's FHIR models (never needed at run time)

from picture_schedule.core.model import Booking, Status
from picture_schedule.core.scheduler import schedule
from picture_schedule.errors import Problems, ScheduleError
from picture_schedule.loading import load_course
from picture_schedule.loading.regimen import regimen_from_toml
from picture_schedule.render.fhir import bundle, to_fhir
from picture_schedule.render.tabular import to_json
from tests.conftest import DATA, ROOT


EXAMPLE = ROOT / "examples" / "course-example.toml"
CHANGES = DATA / "courses" / "fhir-changes.toml"
TENTATIVE = DATA / "courses" / "fhir-tentative.toml"
EVENING = DATA / "courses" / "evening-first.toml"
SCENARIOS = {"example": EXAMPLE, "changes": CHANGES, "tentative": TENTATIVE, "evening-first": EVENING}
TODAY = dt.date(2027, 2, 1)
ATC = "http://www.whocc.no/atc"

#: mCODE 4.0.0's CancerRelatedMedicationRequest (on US Core 6.1.0 MedicationRequest): the elements a
#: MedicationRequest must have (status, intent, medication[x], subject 1..1) and the invariant
#: mcode-reason-required (reasonCode or reasonReference). See docs/fhir.md.
MR_STATUSES = {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
MR_INTENTS = {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order",
              "option"}


def rendered(path: Path, **options: Any) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """(bundle as parsed JSON, schedule JSON, the bytes)."""
    expanded = schedule(load_course(path))
    data = to_fhir(expanded, today=options.pop("today", TODAY), **options)
    return json.loads(data), json.loads(to_json(expanded)), data


def resources(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == kind]


def references(node: Any) -> list[str]:
    """Every ``reference`` string anywhere in ``node``."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(references(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(references(item))
    return found


def instant(day: str, clock: str, zone: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), tzinfo=ZoneInfo(zone))


def expand(timing: dict[str, Any], zone: str) -> list[dt.datetime]:
    """FHIR Timing → the instants it names: ``event`` as listed; ``repeat`` every ``period``-th day from
    the first day of ``boundsPeriod``, at each ``timeOfDay`` (wall time in ``zone``), within the bounds."""
    if "event" in timing:
        events = [dt.datetime.fromisoformat(e) for e in timing["event"]]
        assert timing["repeat"]["count"] == len(events)
        return events
    repeat = timing["repeat"]
    assert repeat["periodUnit"] == "d" and repeat["frequency"] == len(repeat["timeOfDay"])
    start = dt.datetime.fromisoformat(repeat["boundsPeriod"]["start"])
    end = dt.datetime.fromisoformat(repeat["boundsPeriod"]["end"])
    tz = ZoneInfo(zone)
    day, last, out = start.astimezone(tz).date(), end.astimezone(tz).date(), []
    while day <= last:
        for clock in repeat["timeOfDay"]:
            moment = dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=tz)
            if start <= moment <= end:
                out.append(moment)
        day += dt.timedelta(days=repeat["period"])
    return out


# -- the bundle is FHIR ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("transaction", [False, True], ids=["collection", "transaction"])
def test_every_bundle_parses_with_the_fhir_models(name, transaction):
    _, _, data = rendered(SCENARIOS[name], transaction=transaction)
    parsed = Bundle.model_validate_json(data)
    assert parsed.type == ("transaction" if transaction else "collection")
    kinds = Counter(type(e.resource).__name__ for e in parsed.entry)
    assert kinds["Patient"] == kinds["CarePlan"] == 1
    assert kinds["MedicationRequest"] >= 4 and kinds["Appointment"] >= 6
    assert set(kinds) == {"Patient", "CarePlan", "MedicationRequest", "Appointment"}


#: FHIR R4's required bindings the models do not check (a code is only a pattern to them).
REQUIRED_CODES = {
    "CarePlan.status": {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"},
    "CarePlan.intent": {"proposal", "plan", "order", "option"},
    "Appointment.status": {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                           "entered-in-error", "checked-in", "waitlist"},
    "Appointment.participant.status": {"accepted", "declined", "tentative", "needs-action"},
    "Appointment.participant.required": {"required", "optional", "information-only"},
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_codes_and_appointment_invariants(name):
    doc, _, _ = rendered(SCENARIOS[name])
    plan = resources(doc, "CarePlan")[0]
    assert plan["status"] in REQUIRED_CODES["CarePlan.status"] and plan["intent"] in REQUIRED_CODES["CarePlan.intent"]
    for a in resources(doc, "Appointment"):
        assert a["status"] in REQUIRED_CODES["Appointment.status"]
        for p in a["participant"]:
            assert p["status"] in REQUIRED_CODES["Appointment.participant.status"]
            assert p["required"] in REQUIRED_CODES["Appointment.participant.required"]
        assert ("start" in a) == ("end" in a)  # app-2
        assert "start" in a or a["status"] in ("proposed", "cancelled", "waitlist")  # app-3
    for request in resources(doc, "MedicationRequest"):
        for dosage in request["dosageInstruction"]:
            for amount in dosage.get("doseAndRate", []):
                assert amount["type"]["coding"][0]["code"] in ("calculated", "ordered")


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_reference_resolves_inside_the_bundle(name):
    doc, _, _ = rendered(SCENARIOS[name])
    urls = [e["fullUrl"] for e in doc["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(u.startswith("urn:uuid:") and len(u) == len("urn:uuid:") + 36 for u in urls)
    found = references(doc)
    assert found and set(found) <= set(urls)
    plan = resources(doc, "CarePlan")[0]
    activity = {a["reference"]["reference"] for a in plan["activity"]}
    by_url = {e["fullUrl"]: e["resource"]["resourceType"] for e in doc["entry"]}
    assert activity == {u for u, kind in by_url.items() if kind in ("MedicationRequest", "Appointment")}


@pytest.mark.parametrize("name", SCENARIOS)
def test_medication_requests_have_what_mcode_requires(name):
    doc, _, _ = rendered(SCENARIOS[name])
    patient_url = next(e["fullUrl"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient")
    for request in resources(doc, "MedicationRequest"):
        assert request["status"] in MR_STATUSES and request["intent"] in MR_INTENTS
        concept = request["medicationCodeableConcept"]
        assert concept["text"] or concept["coding"]
        assert request["subject"] == {"reference": patient_url}
        assert request.get("reasonCode") or request.get("reasonReference")
        assert request["dosageInstruction"]
    patient = resources(doc, "Patient")[0]
    assert patient["identifier"] == [{"system": "urn:picture-schedule:study-number",
                                      "value": load_course(SCENARIOS[name]).patient}]


def test_identical_input_gives_identical_bytes(tmp_path):
    first = rendered(CHANGES)[2]
    assert rendered(CHANGES)[2] == first
    copy = tmp_path / "courses" / "fhir-changes.toml"  # the same course from another folder
    copy.parent.mkdir()
    copy.write_text(CHANGES.read_text(encoding="utf-8").replace("../../../examples/", str(ROOT / "examples") + "/"),
                    encoding="utf-8")
    assert rendered(copy)[2] == first
    assert first.endswith(b"\n") and json.dumps(json.loads(first), sort_keys=True, ensure_ascii=False, indent=2
                                               ).encode() + b"\n" == first


# -- against the schedule JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_timings_expand_to_exactly_the_scheduled_doses(name):
    doc, sched, _ = rendered(SCENARIOS[name])
    zone = sched["timezone"]
    agent_of = {a["name"]: a["id"] for a in sched["regimen"]["agents"]}
    expected = Counter()
    amounts: dict[tuple[str, dt.datetime], Any] = {}
    minutes: dict[tuple[str, dt.datetime], int] = {}
    for e in sched["events"]:
        if e["kind"] != "visit":
            key = (e["agent"], instant(e["date"], e["time"], zone))
            expected[key] += 1
            amounts[key] = e["dose"]["amount"]
            minutes[key] = e["minutes"]
    got = Counter()
    for request in resources(doc, "MedicationRequest"):
        agent = agent_of[request["medicationCodeableConcept"]["text"]]
        for dosage in request["dosageInstruction"]:
            moments = expand(dosage["timing"], zone)
            assert moments, dosage["text"]
            amount = dosage["doseAndRate"][0]["doseQuantity"]["value"] if "doseAndRate" in dosage else None
            for moment in moments:
                got[(agent, moment)] += 1
                assert amount == amounts.get((agent, moment)), (agent, moment)
                if "event" in dosage["timing"]:
                    assert dosage["timing"]["repeat"]["duration"] == minutes[(agent, moment)]
    assert got == expected


def day1_dates(sched: dict[str, Any]) -> dict[int, tuple[str, bool]]:
    """cycle → (day-1 date, whether any infusion of it still takes place), from the schedule JSON."""
    found: dict[int, tuple[str, bool]] = {}
    for e in [*sched["events"], *sched["cancelled"]]:
        if e["kind"] == "infusion" and e["day"] == 1:
            _, planned = found.get(e["cycle"], (e["date"], False))
            found[e["cycle"]] = (e["date"], planned or e["status"] == "planned")
    return found


def appointment_date(appointment: dict[str, Any]) -> str:
    return appointment["start"][:10] if "start" in appointment else appointment["requestedPeriod"][0]["start"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_appointments_match_the_schedule_json(name):
    doc, sched, _ = rendered(SCENARIOS[name])
    expected = [(date, "proposed" if planned else "cancelled") for date, planned in day1_dates(sched).values()]
    for e in [*sched["events"], *sched["cancelled"]]:
        if e["kind"] == "visit":
            expected.append((e["date"], "cancelled" if e["status"] == "cancelled" else "proposed"))
    got = [(appointment_date(a), a["status"]) for a in resources(doc, "Appointment")]
    assert sorted(got) == sorted(expected)
    for a in resources(doc, "Appointment"):
        if "start" in a:  # instants in the course's zone, with its offset
            start, end = dt.datetime.fromisoformat(a["start"]), dt.datetime.fromisoformat(a["end"])
            assert sched["timezone"] == "Asia/Shanghai" and start.utcoffset() == dt.timedelta(hours=8)
            assert end > start
    cycles = {c["number"]: c for c in sched["cycles"]}
    for a in resources(doc, "Appointment"):
        if a["description"].startswith("Cycle ") and a["status"] == "proposed":
            number = int(a["description"].split()[1].rstrip(","))
            assert a["start"] == f"{cycles[number]['day1']}T{cycles[number]['infusion_start']}:00+08:00"
            assert a["minutesDuration"] == cycles[number]["chair_minutes"]


def test_the_example_course_has_one_request_per_agent_and_dose_period():
    """Checked by hand: the example reduces capecitabine from cycle 4 (two requests); the other agents
    keep one dose for six cycles; oxaliplatin is prescribed (an order), the rest calculated."""
    doc, _, _ = rendered(EXAMPLE)
    requests = resources(doc, "MedicationRequest")
    summary = [(r["medicationCodeableConcept"]["text"], r["intent"], len(r["dosageInstruction"])) for r in requests]
    assert summary == [("Tislelizumab", "proposal", 6), ("Oxaliplatin", "order", 6), ("Capecitabine", "proposal", 3),
                       ("Capecitabine", "proposal", 3), ("Interleukin-2", "proposal", 6)]
    first, second = requests[2], requests[3]
    assert second["priorPrescription"] == {"reference": next(
        e["fullUrl"] for e in doc["entry"] if e["resource"] is first)}
    assert second["authoredOn"] == "2027-02-10T09:05:00+08:00" and second["requester"] == {"display": "Dr Wang"}
    dose = second["dosageInstruction"][0]["doseAndRate"][0]
    assert dose["doseQuantity"] == {"value": 1250, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dose["type"]["coding"][0]["code"] == "calculated"
    assert "750 mg/m² (dose level -1) × BSA 1.70 m² (Mosteller) = 1275 mg" in second["dosageInstruction"][0]["text"]
    oxaliplatin = requests[1]["dosageInstruction"][0]["doseAndRate"]
    assert [(d["type"]["coding"][0]["code"], d["doseQuantity"]["value"]) for d in oxaliplatin] == [
        ("ordered", 230), ("calculated", 221)]
    assert [c["coding"] for c in (r["medicationCodeableConcept"] for r in requests[:3])] == [
        [{"system": ATC, "code": "L01FF09"}], [{"system": ATC, "code": "L01XA03"}], [{"system": ATC, "code": "L01BC06"}]]


def test_capecitabine_and_interleukin_timings_as_the_regimen_states_them():
    doc, _, _ = rendered(EXAMPLE)
    requests = {r["medicationCodeableConcept"]["text"]: r for r in reversed(resources(doc, "MedicationRequest"))}
    cape = requests["Capecitabine"]["dosageInstruction"][0]["timing"]["repeat"]  # the first request's
    assert cape == {"boundsPeriod": {"start": "2026-12-07T08:00:00+08:00", "end": "2026-12-20T20:00:00+08:00"},
                    "frequency": 2, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00", "20:00:00"]}
    il2 = requests["Interleukin-2"]
    assert il2["dosageInstruction"][0]["timing"]["repeat"] == {
        "boundsPeriod": {"start": "2026-12-07T08:00:00+08:00", "end": "2026-12-19T08:00:00+08:00"},
        "frequency": 1, "period": 2, "periodUnit": "d", "timeOfDay": ["08:00:00"]}
    assert "doseAndRate" not in il2["dosageInstruction"][0]
    assert '100IU HD (confirm with the care team)' in il2["dosageInstruction"][0]["text"]
    assert any('only the registry text "100IU HD" is known' in n["text"] for n in il2["note"])
    assert il2["medicationCodeableConcept"] == {"text": "Interleukin-2", "coding": [{"system": ATC, "code": "L03AC"}]}
    tisl = requests["Tislelizumab"]["dosageInstruction"]
    assert [d["timing"]["repeat"]["duration"] for d in tisl] == [60, 30, 30, 30, 30, 30]


def test_a_hold_splits_the_cycle_and_a_stop_revokes_the_plan():
    doc, _, _ = rendered(CHANGES, today=dt.date(2027, 6, 1))
    plan = resources(doc, "CarePlan")[0]
    assert plan["status"] == "revoked"
    assert [n.get("authorString") for n in plan["note"][:5]] == ["nurse Li", "nurse Li", "Dr Wang", "Dr Wang", "Dr Wang"]
    assert plan["note"][0] == {"text": "Cycle 2: oral doses held on cycle days 8, 9. Reason: diarrhoea grade 2",
                               "authorString": "nurse Li", "time": "2026-12-31T11:00:00+08:00"}
    assert plan["note"][4]["text"] == ("Cycle 6: treatment stopped from this cycle on. "
                                       "Reason: clinical complete response")
    requests = resources(doc, "MedicationRequest")
    cape = [r for r in requests if r["medicationCodeableConcept"]["text"] == "Capecitabine"]
    bounds = [d["timing"]["repeat"]["boundsPeriod"] for d in cape[0]["dosageInstruction"]]
    assert bounds[1:3] == [  # cycle 2 (day 1 2026-12-28): days 1–7, then days 10–14
        {"start": "2026-12-28T08:00:00+08:00", "end": "2027-01-03T20:00:00+08:00"},
        {"start": "2027-01-06T08:00:00+08:00", "end": "2027-01-10T20:00:00+08:00"}]
    assert [r["status"] for r in cape] == ["completed", "stopped"]
    assert cape[1]["statusReason"] == {"text": "clinical complete response"}
    oxaliplatin = [r for r in requests if r["medicationCodeableConcept"]["text"] == "Oxaliplatin"]
    assert len(oxaliplatin) == 1 and len(oxaliplatin[0]["dosageInstruction"]) == 4  # cycle 5 left out
    assert {"text": "Left out of cycle 5: neuropathy grade 2"} in oxaliplatin[0]["note"]
    cancelled = [a for a in resources(doc, "Appointment") if a["status"] == "cancelled"]
    assert cancelled and all(a["cancelationReason"]["text"].startswith("Treatment stopped from cycle 6")
                             for a in cancelled)


def test_statuses_follow_today():
    early, _, _ = rendered(EXAMPLE, today=dt.date(2026, 12, 1))
    late, _, _ = rendered(EXAMPLE, today=dt.date(2027, 5, 1))
    assert resources(early, "CarePlan")[0]["status"] == "active"
    assert resources(late, "CarePlan")[0]["status"] == "completed"  # cycle 6 ended 2027-04-18
    assert {r["status"] for r in resources(early, "MedicationRequest")} == {"active"}
    assert {r["status"] for r in resources(late, "MedicationRequest")} == {"completed"}
    mid, _, _ = rendered(EXAMPLE, today=dt.date(2027, 2, 14))
    assert [r["status"] for r in resources(mid, "MedicationRequest")] == [
        "active", "active", "completed", "active", "active"]  # capecitabine's cycles 1–3 ended on 2027-02-07


# -- tentative visits, bookings, names, sites ----------------------------------------------------------


def test_a_tentative_visit_is_proposed_with_a_comment():
    expanded = schedule(load_course(TENTATIVE))
    bloods = next(e for e in expanded.events if e.id == "picture/c4/visit-bloods")
    assert bloods.date == dt.date(2027, 2, 10) and bloods.window == (dt.date(2027, 2, 8), dt.date(2027, 2, 10))
    events = tuple(dataclasses.replace(e, status=Status.TENTATIVE) if e is bloods else e for e in expanded.events)
    doc = bundle(dataclasses.replace(expanded, events=events), today=TODAY)
    appointments = resources(doc, "Appointment")
    tentative = [a for a in appointments if "comment" in a]
    assert len(tentative) == 1
    assert tentative[0]["status"] == "proposed" and tentative[0]["participant"][0]["status"] == "tentative"
    assert tentative[0]["start"] == "2027-02-10T08:00:00+08:00"
    assert "care team will confirm the date" in tentative[0]["comment"]


def test_the_tentative_course_comments_exactly_the_visits_the_schedule_marks_tentative():
    doc, sched, _ = rendered(TENTATIVE)
    tentative = sorted(e["date"] for e in sched["events"] if e["status"] == "tentative")
    assert sorted(appointment_date(a) for a in resources(doc, "Appointment") if "comment" in a) == tentative
    assert "2027-02-10" in [appointment_date(a) for a in resources(doc, "Appointment")]


def test_a_chair_booking_makes_the_day1_visit_booked():
    expanded = schedule(load_course(EXAMPLE))
    booking = Booking(chair="C3", start=dt.time(10, 15), end=dt.time(13, 30))
    cycles = tuple(dataclasses.replace(c, booking=booking) if c.number == 2 else c for c in expanded.cycles)
    doc = bundle(dataclasses.replace(expanded, cycles=cycles), today=TODAY)
    day1 = [a for a in resources(doc, "Appointment") if a["description"].startswith("Cycle ")]
    assert [a["status"] for a in day1] == ["proposed", "booked", "proposed", "proposed", "proposed", "proposed"]
    assert (day1[1]["start"], day1[1]["end"]) == ("2026-12-28T10:15:00+08:00", "2026-12-28T13:30:00+08:00")
    assert day1[1]["participant"][0]["status"] == "accepted"


def test_the_name_only_with_include_name():
    without, _, _ = rendered(TENTATIVE)
    with_name, _, _ = rendered(TENTATIVE, include_name=True)
    assert b"Twenty-Two" not in rendered(TENTATIVE)[2]
    assert "name" not in resources(without, "Patient")[0]
    assert resources(with_name, "Patient")[0]["name"] == [{"text": "Test Patient Twenty-Two"}]


def test_the_site_names_the_identifier_system_and_a_transaction_updates_by_identifier(tmp_path):
    course = tmp_path / "course.toml"
    course.write_text('patient = "PIC|7, A"\nstart = 2026-12-07\n[site]\n[site.fhir]\n'
                      'identifier_system = "https://hospital.example.org/ids/study"\n', encoding="utf-8")
    doc, _, data = rendered(course, transaction=True)
    Bundle.model_validate_json(data)
    assert resources(doc, "Patient")[0]["identifier"] == [
        {"system": "https://hospital.example.org/ids/study", "value": "PIC|7, A"}]
    requests = [e["request"] for e in doc["entry"]]
    assert requests[0] == {"method": "POST", "url": "Patient",  # a conditional create: never overwrites the record
                           "ifNoneExist": "identifier=https://hospital.example.org/ids/study|PIC%5C%7C7%5C%2C%20A"}
    for entry in doc["entry"][1:]:
        kind = entry["resource"]["resourceType"]
        assert entry["request"] == {"method": "PUT", "url": f"{kind}?identifier=urn:ietf:rfc:3986|{entry['fullUrl']}"}
        assert entry["resource"]["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": entry["fullUrl"]}]


def test_a_bad_identifier_system_is_refused(tmp_path):
    course = tmp_path / "course.toml"
    course.write_text('patient = "P1"\nstart = 2026-12-07\n[site.fhir]\nidentifier_system = "study numbers"\n',
                      encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"site\.fhir\.identifier_system: 'study numbers' is not an absolute URI"):
        load_course(course)


def test_full_urls_are_stable_across_changes():
    """Adding changes keeps the URLs of what they leave in place (the calendar's UID rule)."""
    base = rendered(EXAMPLE)[0]
    changed = rendered(CHANGES)[0]  # another study number: other URLs
    assert not {e["fullUrl"] for e in base["entry"]} & {e["fullUrl"] for e in changed["entry"]}
    expanded = schedule(load_course(EXAMPLE))
    without = bundle(dataclasses.replace(expanded, course=dataclasses.replace(expanded.course, changes=())),
                     today=TODAY)
    keep = {e["fullUrl"] for e in without["entry"]} & {e["fullUrl"] for e in base["entry"]}
    assert len(keep) == len(without["entry"])  # every resource of the plan is still there, at its URL


# -- the regimen's codes -------------------------------------------------------------------------------


REGIMEN = """id = "mini"
version = "1"
title = "Mini"
source = "test"
cycle_days = 21
cycles = 2
[[agents]]
id = "oxaliplatin"
name = "Oxaliplatin"
kind = "infusion"
route = "IV"
dose = { basis = "flat", amount = 100, unit = "mg" }
days = [1]
infusion_minutes = [120]
"""


@pytest.mark.parametrize(("codes", "message"), [
    ('{ atc = "L01XA3" }', "agents[1].codes.atc: 'L01XA3' is not a WHO ATC code"),
    ('{ atc = "l01xa03" }', "agents[1].codes.atc: 'l01xa03' is not a WHO ATC code"),
    ('{ rxnorm = "RX32592" }', "agents[1].codes.rxnorm: 'RX32592' is not an RxNorm concept id"),
    ('{ snomed = "123" }', "agents[1].codes.snomed: unknown field (allowed here: atc, rxnorm)"),
    ('"L01XA03"', "agents[1].codes: expected a table, got 'L01XA03'"),
])
def test_medication_codes_are_checked_field_by_field(codes, message):
    with pytest.raises(ScheduleError) as caught:  # one problem: that problem itself
        regimen_from_toml(REGIMEN + f"codes = {codes}\n", "mini.toml")
    assert not isinstance(caught.value, Problems)
    assert str(caught.value).startswith(f"mini.toml: {message}")


def test_medication_codes_load():
    regimen = regimen_from_toml(REGIMEN + 'codes = { atc = "L01XA03", rxnorm = "32592" }\n', "mini.toml")
    assert dict(regimen.agents[0].codes) == {"atc": "L01XA03", "rxnorm": "32592"}
    assert dict(regimen_from_toml(REGIMEN, "mini.toml").agents[0].codes) == {}


# -- the command line ----------------------------------------------------------------------------------


def test_the_command_writes_the_bundle(cli, tmp_path):
    target = tmp_path / "bundle.json"
    result = cli("fhir", "--course", EXAMPLE, "--today", "2027-02-01", "-o", target)
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == rendered(EXAMPLE)[2]
    assert target.stat().st_mode & 0o077 == 0  # health data: the owner's only


def test_the_command_refuses_a_plain_start(cli):
    result = cli("fhir", "--start", "2026-12-07")
    assert result.exit_code == 2
    assert result.output.startswith("Error: a FHIR bundle is of one patient's course")


def test_the_roster_exports_one_bundle_per_patient(cli, tmp_path):
    db = tmp_path / "roster.sqlite3"
    for course in (EXAMPLE, TENTATIVE):
        assert cli("roster", "add", "--course", course, "--db", db).exit_code == 0
    out = tmp_path / "export"
    result = cli("roster", "fhir", "--db", db, "--out", out, "--today", "2027-02-01")
    assert result.exit_code == 0, result.output
    assert result.output == f"{out}: 2 bundles written\n"
    assert sorted(p.name for p in out.iterdir()) == ["PIC-001.fhir.json", "PIC-T22.fhir.json"]
    assert (out / "PIC-001.fhir.json").read_bytes() == rendered(EXAMPLE)[2]
    single = tmp_path / "single.json"
    assert cli("fhir", "--patient", "PIC-T22", "--db", db, "--today", "2027-02-01", "-o", single).exit_code == 0
    assert single.read_bytes() == (out / "PIC-T22.fhir.json").read_bytes()


def test_the_renderer_needs_no_fhir_library():
    """fhir.resources is a test dependency only: the command writes plain JSON with the standard library."""
    from tests.test_startup import loaded_modules

    modules = loaded_modules("fhir", "--course", str(EXAMPLE), "--today", "2027-02-01")
    assert "picture_schedule" in modules
    assert not modules & {"fhir", "fhir_core", "pydantic"}
