"""Every output tells the same true story (issue 11).

A visit or day 1 the clinic calendar could not place on an open day is tentative everywhere; a
booked chair time reaches the patient and an unbooked one says "time to be confirmed"; every
change keeps its reason, who and when; every dose shows its basis; a new patient starts from
`new`, never from someone else's history; patient paper speaks plainly. The last test checks that
the table, the JSON, the calendar (parsed with icalendar) and the diary (parsed HTML) agree, for
random courses on a calendar with holidays.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picture_schedule.core.model import Booking, Status
from picture_schedule.core.scheduler import event_id, schedule
from picture_schedule.errors import ScheduleError
from picture_schedule.loading import course_from_data
from picture_schedule.render.diary import diary_html
from picture_schedule.render.ics import to_ics, uid_for
from picture_schedule.render.tabular import schedule_record
from picture_schedule.render.text import to_table

from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
D = dt.date
CLOSED_TEXT = "clinic closed on this day: your care team will confirm a new date"


def course(**fields):
    data = {"patient": "PIC-T", "start": D(2026, 12, 7), "site": "site-nanjing.toml",
            "created": dt.datetime(2026, 11, 30, 10, 0), "body": {"height_cm": 152, "weight_kg": 48}}
    data.update(fields)
    return course_from_data(data, "story.toml", EXAMPLES)


def calendar_events(ics: bytes) -> list:
    from icalendar import Calendar

    return list(Calendar.from_ical(ics).walk("VEVENT"))


def unescape(text: str) -> str:
    """RFC 5545 TEXT unescaped (icalendar leaves an X- property's value as written)."""
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m[1] in "nN" else m[1], text)


def by_uid(ics: bytes) -> dict:
    return {str(e["UID"]): e for e in calendar_events(ics)}


class Diary(HTMLParser):
    """What a reader of the diary sees, and where: each month-grid day's marks, the visit list, and
    the visible text (outside <style>)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.text: list[str] = []
        self.days: dict[str, dict] = {}  # data-date → {"classes", "marks": [...]}
        self.visit_rows: dict[str, dict] = {}  # date → {"status", "text"}
        self._day: dict | None = None
        self._mark: dict | None = None
        self._row: dict | None = None
        self._depth = 0
        self.table_classes: list[str] = []  # the classes of the latest <table> opened
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "style":
            self.hidden += 1
        classes = (a.get("class") or "").split()
        if tag == "td" and "day" in classes and a.get("data-date"):
            self._day = self.days[a["data-date"]] = {"classes": classes, "marks": []}
        elif tag == "div" and "mark" in classes and self._day is not None:
            self._mark = {"kind": a.get("data-kind"), "events": (a.get("data-events") or "").split(),
                          "status": a.get("data-status", "planned"), "text": ""}
            self._day["marks"].append(self._mark)
            self._depth = 0
        elif tag == "div" and self._mark is not None:
            self._depth += 1
        elif tag == "tr" and a.get("data-date") and "visits" in self.table_classes:
            self._row = self.visit_rows[a["data-date"]] = {"status": a.get("data-status", "planned"), "text": ""}
        if tag == "table":
            self.table_classes = classes

    def handle_endtag(self, tag):
        if tag == "style":
            self.hidden -= 1
        if tag == "div" and self._mark is not None:
            if self._depth:
                self._depth -= 1
            else:
                self._mark = None
        if tag == "td" and self._mark is None:
            self._day = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self.hidden:
            return
        self.text.append(data)
        if self._mark is not None:
            self._mark["text"] += data
        if self._row is not None:
            self._row["text"] += data

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())

    def marks(self, kind: str) -> list[tuple[str, dict]]:
        return [(day, m) for day, cell in self.days.items() for m in cell["marks"] if m["kind"] == kind]


# -- 1. unresolved appointments are loud --------------------------------------------------------------


@pytest.fixture(scope="module")
def spring():
    """Cycle 4 moves to 2027-02-11 for Spring Festival; the pre-cycle blood test's window
    (02-08..02-10) has no open day, so it stays on 02-10, tentative."""
    return schedule(course())


def test_a_visit_with_no_open_day_is_tentative_in_the_schedule(spring):
    c4 = spring.cycles[3]
    assert c4.day1 == D(2027, 2, 11) and c4.status is Status.PLANNED
    (bloods,) = spring.tentative
    assert (bloods.id, bloods.date, bloods.time) == ("picture/c4/visit-bloods", D(2027, 2, 10), dt.time(8, 0))
    assert bloods.status_reason is not None and bloods.status_reason.code == "unconfirmed"
    assert "visit-window" in {n.code for n in spring.notes}


def test_a_tentative_visit_is_flagged_in_the_table_and_json(spring):
    line = next(x for x in to_table(spring).splitlines() if "Wed 10 Feb 08:00" in x)
    assert "Blood test before the cycle" in line and "TENTATIVE" in line and CLOSED_TEXT in line
    record = schedule_record(spring)
    (event,) = [e for e in record["events"] if e["id"] == "picture/c4/visit-bloods"]
    assert event["status"] == "tentative" and event["status_reason"] == CLOSED_TEXT
    assert all(e["status"] == "planned" for e in record["events"] if e["id"] != event["id"])


@pytest.mark.parametrize("language, words", [("en", CLOSED_TEXT), ("zh-CN", "当天门诊不开放：医护团队会与您确认新的日期")])
def test_a_tentative_visit_is_tentative_in_the_calendar(spring, language, words):
    event = by_uid(to_ics(spring, language=language))[uid_for(spring.course, "picture/c4/visit-bloods")]
    assert str(event["STATUS"]) == "TENTATIVE"
    assert words in str(event["DESCRIPTION"])
    assert event["DTSTART"].dt == dt.datetime(2027, 2, 10, 8, 0, tzinfo=event["DTSTART"].dt.tzinfo)
    others = [e for e in calendar_events(to_ics(spring, language=language)) if e["UID"] != event["UID"]]
    assert {str(e["STATUS"]) for e in others} == {"CONFIRMED"}


def test_a_tentative_visit_is_marked_on_the_month_grid_and_the_visit_list(spring):
    diary = Diary(diary_html(spring, language="en"))
    (mark,) = [m for day, m in diary.marks("visit") if "picture/c4/visit-bloods" in m["events"]]
    assert mark["status"] == "tentative" and "Clinic closed: date to be confirmed" in mark["text"]
    assert [m["status"] for _, m in diary.marks("visit")].count("tentative") == 1
    row = diary.visit_rows["2027-02-10"]
    assert row["status"] == "tentative" and CLOSED_TEXT in row["text"]


def test_a_closed_day_1_under_policy_none_makes_the_cycle_tentative(tmp_path):
    site = (EXAMPLES / "site-nanjing.toml").read_text().replace('policy = "next"', 'policy = "none"')
    (tmp_path / "site.toml").write_text(site)
    s = schedule(course_from_data({"patient": "PIC-N", "start": D(2026, 12, 7), "site": "site.toml",
                                   "body": {"height_cm": 152, "weight_kg": 48}}, "none.toml", tmp_path))
    c4 = s.cycles[3]
    assert c4.day1 == D(2027, 2, 8) and c4.tentative  # Spring Festival: stays, unconfirmed
    mine = [e for e in s.events if e.cycle == 4 and e.kind.value != "visit"]
    assert mine and all(e.tentative for e in mine)
    assert {e.status_reason.code for e in mine if e.kind.value == "infusion"} == {"unconfirmed"}
    assert {e.status_reason.code for e in mine if e.kind.value != "infusion"} == {"unconfirmed-cycle"}
    assert not any(e.tentative for e in s.events if e.cycle in (1, 2, 3, 5, 6) and e.kind.value != "visit")
    appointment = by_uid(to_ics(s))[uid_for(s.course, "picture/c4/infusions/d1")]
    assert str(appointment["STATUS"]) == "TENTATIVE" and CLOSED_TEXT in str(appointment["DESCRIPTION"])
    assert "To be confirmed" in str(appointment["SUMMARY"])
    header = next(x for x in to_table(s).splitlines() if x.startswith("Cycle 4"))
    assert header == "Cycle 4  Mon 2027-02-08 → Sun 2027-02-28  TENTATIVE"
    assert schedule_record(s)["cycles"][3]["status"] == "tentative"
    diary = Diary(diary_html(s, language="en"))
    (mark,) = [m for day, m in diary.marks("infusion") if day == "2027-02-08"]
    assert mark["status"] == "tentative" and "Clinic closed: date to be confirmed" in mark["text"]


def test_validate_warns_and_strict_fails(cli, tmp_path):
    (tmp_path / "site-nanjing.toml").write_text((EXAMPLES / "site-nanjing.toml").read_text())
    path = tmp_path / "c.toml"
    path.write_text('patient = "PIC-T"\nstart = 2026-12-07\nsite = "site-nanjing.toml"\n'
                    "[body]\nheight_cm = 152\nweight_kg = 48\n")
    plain = cli("validate", path)
    assert plain.exit_code == 0
    assert f"{path}: valid course file" in plain.stdout
    (warning,) = plain.stderr.splitlines()
    assert warning.startswith(f"Warning: {path}: tentative: Blood test before the cycle")
    assert "2027-02-08 and 2027-02-10" in warning
    assert cli("validate", "--strict", path).exit_code == 1
    assert cli("validate", "--strict", EXAMPLES / "site-nanjing.toml").exit_code == 0


# -- 2. booked times reach the patient ------------------------------------------------------------------


BOOKED = [{"cycle": 1, "chair": "C2", "start": "08:00", "end": "11:45"}]


def test_a_booking_is_the_day_1_time_and_the_infusions_follow_it():
    s = schedule(course(bookings=BOOKED))
    c1, c2 = s.cycles[0], s.cycles[1]
    assert c1.booking == Booking("C2", dt.time(8, 0), dt.time(11, 45)) and c1.time_confirmed
    assert c2.booking is None and not c2.time_confirmed
    day1 = sorted((e for e in s.events if e.cycle == 1 and e.kind.value == "infusion"), key=lambda e: e.time)
    assert [(e.agent, e.time, e.booked) for e in day1] == [
        ("tislelizumab", dt.time(8, 0), True), ("oxaliplatin", dt.time(9, 0), True)]  # 60 min, then oxaliplatin
    assert c2.infusion_start == dt.time(9, 0)  # the site's [infusion] start


def test_booked_and_unbooked_times_in_every_output():
    s = schedule(course(bookings=BOOKED))
    table = to_table(s)
    assert "  chair C2 booked 08:00–11:45" in table
    assert table.count("day-1 time 09:00 to be confirmed (no chair booked)") == 5
    record = schedule_record(s)
    assert [c["time_confirmed"] for c in record["cycles"]] == [True] + [False] * 5
    assert record["cycles"][0]["booking"]["chair"] == "C2" and record["cycles"][1]["booking"] is None
    infusions = [e for e in record["events"] if e["kind"] == "infusion"]
    assert {e["time_confirmed"] for e in infusions if e["cycle"] == 1} == {True}
    assert {e["time_confirmed"] for e in infusions if e["cycle"] == 2} == {False}
    events = by_uid(to_ics(s))
    first = events[uid_for(s.course, "picture/c1/infusions/d1")]
    second = events[uid_for(s.course, "picture/c2/infusions/d1")]
    assert (first["DTSTART"].dt.time(), first["DTEND"].dt.time()) == (dt.time(8, 0), dt.time(11, 45))
    assert "Your appointment: 08:00 to 11:45." in str(first["DESCRIPTION"])
    assert "Time to be confirmed" not in str(first["DESCRIPTION"])
    assert second["DTSTART"].dt.time() == dt.time(9, 0) and "Time to be confirmed" in str(second["DESCRIPTION"])
    diary = Diary(diary_html(s, language="en"))
    assert "Your appointment on day 1: 08:00 to 11:45" in diary.visible
    assert diary.visible.count("Day 1 appointment at about 09:00: time to be confirmed") == 5
    (mark,) = [m for day, m in diary.marks("infusion") if day == "2026-12-07"]
    assert "08:00" in mark["text"] and "to be confirmed" not in mark["text"]


def test_a_booking_that_changes_raises_the_sequence():
    def sequence(bookings):
        s = schedule(course(bookings=bookings))
        return int(by_uid(to_ics(s))[uid_for(s.course, "picture/c1/infusions/d1")]["SEQUENCE"])

    unbooked, booked = sequence([]), sequence(BOOKED)
    rebooked = sequence([{**BOOKED[0], "start": "10:00", "end": "13:45", "revision": 2}])
    assert unbooked < booked < rebooked


def test_a_booking_for_another_date_is_not_used_and_is_flagged(cli, tmp_path):
    stale = [{**BOOKED[0], "cycle": 4, "date": D(2027, 2, 8)}]  # cycle 4 moved to 02-11 for Spring Festival
    s = schedule(course(bookings=stale))
    assert s.cycles[3].booking is None and s.cycles[3].infusion_start == dt.time(9, 0)
    assert "booking-stale" in {n.code for n in s.notes}
    assert schedule(course(bookings=[{**stale[0], "date": D(2027, 2, 11)}])).cycles[3].booking is not None


@pytest.mark.parametrize("booking, message", [
    ({"cycle": 1, "chair": "C2", "start": "08:00", "end": "07:00"}, "bookings[1].end: 07:00 is not after the start"),
    ({"cycle": 9, "chair": "C2", "start": "08:00", "end": "09:00"}, "bookings[1].cycle: 9 is outside 1–6"),
    ({"cycle": 1, "chair": " ", "start": "08:00", "end": "09:00"}, "bookings[1].chair: is empty"),
    ({"cycle": 1, "chair": "C2", "start": "8 am", "end": "09:00"}, "bookings[1].start: '8 am' is not a clock time"),
    ({"cycle": 1, "chair": "C2", "start": "08:00"}, "bookings[1].end: is required"),
    ({"cycle": 1, "chair": "C2", "start": "08:00", "end": "09:00", "seat": 3}, "bookings[1].seat: unknown field"),
])
def test_course_file_bookings_have_field_level_errors(booking, message):
    with pytest.raises(ScheduleError, match=re.escape(message)):
        course(bookings=[booking])


def test_one_booking_a_cycle():
    with pytest.raises(ScheduleError, match=re.escape("bookings[2].cycle: cycle 1 is booked twice")):
        course(bookings=[BOOKED[0], BOOKED[0]])


# -- 3. every change keeps its reason --------------------------------------------------------------------

CHANGES = [
    {"cycle": 4, "dose_level": {"oxaliplatin": -1}, "reason": "hand-foot syndrome grade 2", "by": "Dr Wang",
     "recorded": dt.datetime(2027, 2, 1, 9, 0)},
    {"cycle": 5, "omit": ["tislelizumab"], "reason": "infusion reaction, grade 2", "by": "Dr Li"},
    {"cycle": 5, "hold_days": [8, 9], "reason": "diarrhoea; grade 2"},
    {"cycle": 6, "stop": True, "reason": "proceed to surgery", "by": "Dr Wang",
     "recorded": dt.datetime(2027, 3, 1, 9, 0)},
]
REASONS = [c["reason"] for c in CHANGES]


@pytest.fixture(scope="module")
def changed():
    return schedule(course(changes=CHANGES))


def test_every_reason_with_who_and_when_is_in_the_table_and_json(changed):
    table = to_table(changed)
    assert "change: Oxaliplatin at dose level -1 from cycle 4: hand-foot syndrome grade 2 (Dr Wang, 2027-02-01 09:00)" in table
    assert "change: Tislelizumab not given in cycle 5: infusion reaction, grade 2 (Dr Li)" in table
    assert "change: tablets held on days 8, 9 of cycle 5: diarrhoea; grade 2" in table
    assert "change: treatment stopped from cycle 6: proceed to surgery (Dr Wang, 2027-03-01 09:00)" in table
    record = schedule_record(changed)
    assert [c["reason"] for c in record["changes"]] == REASONS
    assert record["changes"][0]["by"] == "Dr Wang" and record["changes"][0]["recorded"] == "2027-02-01T09:00:00"
    c4 = record["cycles"][3]["changes"]
    assert c4[0]["params"]["reason"]["params"]["text"] == "hand-foot syndrome grade 2"
    cancelled_c6 = [e for e in record["cancelled"] if e["cycle"] == 6]
    assert cancelled_c6 and all("proceed to surgery" in json.dumps(e["changes"]) for e in cancelled_c6)


def test_every_reason_is_in_the_full_calendar_and_dose_labels_belong_to_their_agent(changed):
    events = calendar_events(to_ics(changed, detail="full", method="PUBLISH"))
    text = "\n".join(str(e["DESCRIPTION"]) for e in events)
    for reason in REASONS:
        assert reason in text, reason
    cancelled = next(e for e in events if str(e["UID"]) == uid_for(changed.course, "picture/c6/infusions/d1"))
    description = str(cancelled["DESCRIPTION"])
    assert str(cancelled["STATUS"]) == "CANCELLED" and "proceed to surgery" in description
    assert "Oxaliplatin: reduced dose (level -1)." in description
    assert "Reduced dose" not in text and "Tislelizumab: reduced" not in text
    assert "Change: Oxaliplatin at dose level -1 from cycle 4" in text
    feed = to_ics(changed, detail="full")  # a feed leaves the stopped cycle out: its calendar says why
    from icalendar import Calendar

    assert "proceed to surgery (Dr Wang, 2027-03-01 09:00)" in unescape(str(Calendar.from_ical(feed)["X-WR-CALDESC"]))
    discreet = "\n".join(str(e["DESCRIPTION"]) for e in calendar_events(to_ics(changed, method="PUBLISH")))
    assert not any(reason in discreet for reason in REASONS)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_reason_is_in_the_diary_in_the_patients_language(changed, language):
    diary = Diary(diary_html(changed, language=language)).visible
    for reason in REASONS:
        assert reason in diary, reason
    if language == "zh-CN":
        assert "自第6周期起停止治疗：proceed to surgery" in diary
        assert "奥沙利铂自第4周期起调整为剂量水平 -1：hand-foot syndrome grade 2" in diary
    else:
        assert "treatment stopped from cycle 6: proceed to surgery (Dr Wang, Mar 1 09:00)" in diary


# -- 4. dose basis everywhere --------------------------------------------------------------------------


def test_the_basis_of_a_dose_is_in_the_table_json_and_diary():
    """152 cm, 48 kg: Mosteller √(152 × 48 / 3600) = 1.4236 → 1.42 m²; capecitabine 1000 mg/m² × 1.42
    = 1420 mg; 1400 (1 × 500 + 6 × 150, 20 mg away) beats 1450 (30 mg away)."""
    s = schedule(course(body={"height_cm": 152, "weight_kg": 48, "measured": D(2026, 12, 1)}))
    table = to_table(s)
    assert "Body: 152 cm, 48 kg, measured 2026-12-01; Mosteller formula; BSA 1.42 m²" in table
    assert ("Capecitabine (cycles 1–6): 1000 mg/m² × 1.42 m² = 1420 mg, nearest tablet combination → "
            "1400 mg = 1 × 500 mg + 6 × 150 mg") in table
    assert "Oxaliplatin (cycles 1–6): 130 mg/m² × 1.42 m² = 184.6 mg, rounded to 5 mg → 185 mg" in table
    record = schedule_record(s)
    assert record["body"] == {"height_cm": 152, "weight_kg": 48, "measured": "2026-12-01", "formula": "mosteller",
                              "bsa_given": None, "bsa_m2": 1.42, "bsa_cap_m2": None}
    cape = next(e for e in record["events"] if e["agent"] == "capecitabine")["dose"]
    assert cape["amount"] == 1400 and cape["basis"] == {
        "per": "per_m2", "regimen_amount": 1000.0, "unit": "mg", "bsa_m2": 1.42, "calculated": 1420.0,
        "rule": "nearest-combination", "step": None}
    tisle = next(e for e in record["events"] if e["agent"] == "tislelizumab")["dose"]
    assert tisle["basis"]["rule"] == "flat"
    diary = Diary(diary_html(s, language="en")).visible
    assert "Height and weight 152 cm, 48 kg" in diary and "Measured Tue, Dec 1, 2026" in diary
    assert "Body surface area 1.42 m² (Mosteller formula)" in diary
    assert "1000 mg/m² × 1.42 m² = 1420 mg, rounded to tablets you can take" in diary


# -- 5. a new patient starts from `new` ------------------------------------------------------------------


def test_new_then_validate_then_schedule(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site.toml").write_text((EXAMPLES / "site-nanjing.toml").read_text())
    target = tmp_path / "patients" / "PIC-009.toml"
    target.parent.mkdir()
    args = ["new", "--patient", "PIC-009", "--start", "2027-03-01", "--height", "152", "--weight", "48",
            "--measured", "2027-02-26", "--site", "site.toml", "--lang", "zh-CN", "-o", "patients/PIC-009.toml"]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    data = tomllib.loads(target.read_text())
    assert data["patient"] == "PIC-009" and data["site"] == "../site.toml" and data["language"] == "zh-CN"
    assert data["body"] == {"height_cm": 152, "weight_kg": 48, "measured": D(2027, 2, 26), "formula": "mosteller"}
    assert "changes" not in data and "prescribed" not in data and "bookings" not in data
    assert cli("validate", target).exit_code == 0
    shown = cli("schedule", "--course", target)
    assert shown.exit_code == 0 and "Patient PIC-009" in shown.stdout and "BSA 1.42 m²" in shown.stdout
    again = cli(*args)
    assert again.exit_code == 2 and "exists" in again.stderr and "--force" in again.stderr
    assert cli(*args, "--force").exit_code == 0


def test_new_asks_for_what_is_left_out(cli, tmp_path):
    (tmp_path / "site.toml").write_text((EXAMPLES / "site-nanjing.toml").read_text())
    target = tmp_path / "PIC-010.toml"
    answers = "PIC-010\n2027-03-01\n160\n55\n2027-02-27\n" + f"{tmp_path / 'site.toml'}\nen\n"
    result = cli("new", "-o", target, input=answers)
    assert result.exit_code == 0, result.output
    assert "Study number" in result.output and "Height (cm)" in result.output
    data = tomllib.loads(target.read_text())
    assert (data["patient"], data["start"], data["body"]["weight_kg"]) == ("PIC-010", D(2027, 3, 1), 55)


def test_new_refuses_a_bad_measure_with_a_field_error_and_writes_nothing(cli, tmp_path):
    target = tmp_path / "PIC-011.toml"
    result = cli("new", "--patient", "PIC-011", "--start", "2027-03-01", "--height", "300", "--weight", "48",
                 "--measured", "2027-02-26", "--site", EXAMPLES / "site-nanjing.toml", "--lang", "en", "-o", target)
    assert result.exit_code == 2 and "body.height_cm: 300 is outside 100–230 cm" in result.stderr
    assert not target.exists()


# -- 6. patient paper speaks plainly ---------------------------------------------------------------------

STAFF_TERMS = ("registry text", "check day-1 dates", "(observed)", "shift policy", "target ")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_patient_paper_has_no_staff_terms_and_one_date_format(spring, language):
    diary = Diary(diary_html(spring, language=language)).visible
    for term in STAFF_TERMS:
        assert term not in diary, term
    assert not ISO_DATE.search(diary), ISO_DATE.search(diary)
    assert "registry" not in diary.lower()
    calendar = "\n".join(str(e["DESCRIPTION"]) for e in calendar_events(to_ics(spring, language=language,
                                                                             detail="full")))
    for term in STAFF_TERMS:
        assert term not in calendar, term


def test_closed_clinic_days_are_shaded_on_the_month_grid(spring):
    diary = Diary(diary_html(spring, language="en"))
    closed = {day for day, cell in diary.days.items() if "closed-day" in cell["classes"]}
    assert {"2027-02-08", "2027-02-09", "2027-02-10", "2027-02-06", "2026-12-12"} <= closed  # holiday, weekend
    assert {"2027-02-11", "2026-12-07"}.isdisjoint(closed)
    assert set(spring.closures) >= {D(2027, 2, 10), D(2026, 12, 12)}


def test_roster_list_shows_the_regimens_cycles_for_a_course_that_leaves_them_out(cli, tmp_path):
    (tmp_path / "site-nanjing.toml").write_text((EXAMPLES / "site-nanjing.toml").read_text())
    path = tmp_path / "c.toml"
    path.write_text('patient = "PIC-C0"\nstart = 2026-12-07\nsite = "site-nanjing.toml"\n'
                    "[body]\nheight_cm = 152\nweight_kg = 48\n")
    db = tmp_path / "roster.sqlite3"
    assert cli("roster", "add", "--db", db, "--course", path, "--by", "nurse Li").exit_code == 0
    listed = cli("roster", "list", "--db", db)
    (row,) = [line.split() for line in listed.stdout.splitlines() if line.startswith("PIC-C0")]
    assert row[3] == "6"


# -- the consistency property: every output tells the same story -------------------------------------------

TYPED = ["neutrophils 1.1 × 10⁹/L", "grade 2, hand-foot; day 3", "patient's decision", "infection"]
AGENTS = ["tislelizumab", "oxaliplatin", "capecitabine", "interleukin-2"]


@st.composite
def changes(draw):
    picked = []
    for i in range(draw(st.integers(0, 4))):
        cycle = draw(st.integers(1, 6))
        kind = draw(st.sampled_from(["delay", "level", "omit", "hold", "stop"]))
        change = {"cycle": cycle, "reason": f"{draw(st.sampled_from(TYPED))} #{i}"}
        if kind == "delay":
            change["delay_days"] = draw(st.integers(1, 14))
        elif kind == "level":
            change["dose_level"] = draw(st.sampled_from([{"all": -1}, {"oxaliplatin": -1}, {"capecitabine": -2}]))
        elif kind == "omit":
            change["omit"] = [draw(st.sampled_from(AGENTS))]
        elif kind == "hold":
            change["hold_days"] = sorted(draw(st.sets(st.integers(1, 14), min_size=1, max_size=3)))
        else:
            change["stop"] = True
        if draw(st.booleans()):
            change["by"] = "nurse Li"
        picked.append(change)
    return picked


@st.composite
def bookings(draw):
    cycles = draw(st.sets(st.integers(1, 6), max_size=3))
    return [{"cycle": n, "chair": "C1", "start": start, "end": "13:00"}
            for n, start in ((n, draw(st.sampled_from(["07:30", "08:00", "10:15"]))) for n in sorted(cycles))]


def _appointments(record: dict) -> dict[str, tuple[str, str, str]]:
    """From the JSON: each appointment (a cycle's day-1 infusions, a visit) → (date, time, status)."""
    found = {}
    for cycle in record["cycles"]:
        day1 = sorted((e for e in record["events"] if e["cycle"] == cycle["number"] and e["kind"] == "infusion"
                       and e["day"] == 1), key=lambda e: e["time"])
        if day1:
            found[day1[0]["id"]] = (day1[0]["date"], day1[0]["time"], day1[0]["status"])
    for e in record["events"]:
        if e["kind"] == "visit":
            found[e["id"]] = (e["date"], e["time"], e["status"])
    return found


def _table_appointments(table: str) -> set[tuple[str, str, bool]]:
    """From the table: (day month, time, tentative) of each cycle's first day-1 infusion and each visit."""
    found, first = set(), False
    for line in table.splitlines():
        if line.startswith("Cycle "):
            first = True
        match = re.match(r"  (day 1|visit)\s+\w{3} (\d\d \w{3}) (\d\d:\d\d)\s", line)
        if not match:
            continue
        if match[1] == "visit" or first:
            found.add((match[2], match[3], "TENTATIVE" in line))
            first = first and match[1] != "day 1"
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.dates(D(2026, 8, 1), D(2027, 3, 31)), recorded=changes(), booked=bookings())
def test_table_json_calendar_and_diary_tell_the_same_story(start, recorded, booked):
    try:
        s = schedule(course(start=start, changes=recorded, bookings=booked))
    except ScheduleError:
        return  # a course the rules refuse (a delay past the last cycle is fine; an overlap is not)
    record = schedule_record(s)
    appointments = _appointments(record)
    given_cycles = {c["number"] for c in record["cycles"]}

    # the table
    table = to_table(s)
    expected = {(dt.date.fromisoformat(d).strftime("%d %b"), t, status == "tentative")
                for d, t, status in appointments.values()}
    assert _table_appointments(table) == expected

    # the calendar, parsed
    ics = to_ics(s, detail="full", method="PUBLISH")
    events = by_uid(ics)
    for eid, (day, time, status) in appointments.items():
        parts = eid.split("/")
        key = event_id(s.regimen, int(parts[1][1:]), "infusions", 1) if "visit" not in eid else eid
        event = events[uid_for(s.course, key)]
        start_at = event["DTSTART"].dt
        assert (start_at.date().isoformat(), start_at.strftime("%H:%M")) == (day, time), eid
        assert str(event["STATUS"]) == {"planned": "CONFIRMED", "tentative": "TENTATIVE"}[status], eid

    # the diary, parsed
    diary = Diary(diary_html(s, language="en"))
    for eid, (day, time, status) in appointments.items():
        kind = "visit" if "visit" in eid else "infusion"
        (mark,) = [(d, m) for d, m in diary.marks(kind) if eid in m["events"]]
        assert mark[0] == day, eid
        assert re.search(r"\d\d:\d\d", mark[1]["text"])[0] == time, eid
        assert mark[1]["status"] == status, eid

    # every change's reason, in each output that shows its cycle (a stop: always)
    calendar_text = "\n".join(str(e["DESCRIPTION"]) for e in events.values())
    from icalendar import Calendar

    calendar_text += "\n" + unescape(str(Calendar.from_ical(ics)["X-WR-CALDESC"]))
    for change in recorded:
        shown = change["cycle"] in given_cycles or change.get("stop")
        if not shown:
            continue
        reason = change["reason"]
        assert reason in table, reason
        assert reason in [c["reason"] for c in record["changes"]]
        assert reason in calendar_text, reason
        assert reason in diary.visible, reason
        if change["cycle"] in given_cycles:
            cycle = next(c for c in record["cycles"] if c["number"] == change["cycle"])
            assert any(reason in c["text"] for c in cycle["changes"]), reason


def test_every_calendar_sentence_has_a_chinese_translation():
    """Each literal the calendar words through gettext (``self._("…")`` in render/ics.py) is in the catalogue."""
    import ast

    from picture_schedule.i18n import translations

    tree = ast.parse((ROOT / "picture_schedule" / "render" / "ics.py").read_text(encoding="utf-8"))
    literals = [node.args[0].value for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]
    assert len(literals) > 30
    zh = translations("zh-CN")
    missing = [text for text in literals if zh.gettext(text) == text]
    assert missing == []
