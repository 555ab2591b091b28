"""`picture-schedule ics`: what a calendar app will read, checked with independent parsers.

Every instant is checked against the Schedule (the scheduler's local date and time in the course
zone) through four parsers that each use only the VTIMEZONE embedded in the file: icalendar,
allenporter's strict `ical`, vobject (dateutil), and Mozilla's ical.js under Node.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from picture_schedule import api, load_course
from picture_schedule.core.model import Change, Course, Kind, Schedule, Slot, Status
from picture_schedule.render.ics import to_ics, uid_for
from picture_schedule.core.scheduler import event_id
from tests import icalcheck
from tests.conftest import ROOT, need

DATA = Path(__file__).parent / "data" / "ics"
EXAMPLE = ROOT / "examples" / "course-example.toml"  # Asia/Shanghai, two recorded changes
LONDON = DATA / "course-london.toml"  # Europe/London, across the start of summer time
HOSTILE = DATA / "course-hostile.toml"
UTC = dt.UTC


# -- helpers ------------------------------------------------------------------------------------


def course(path: Path = LONDON, **changes) -> Course:
    return replace(load_course(path), **changes)


def parse(data: bytes):
    import icalendar

    return icalendar.Calendar.from_ical(data)


def vevents(data: bytes) -> list:
    return list(parse(data).walk("VEVENT"))


def unfolded(data: bytes) -> str:
    """The logical lines, unfolded, with RFC 5545 text escapes removed (for substring checks)."""
    text = data.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "")
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], text)


def appointment_key(s: Schedule, cycle: int) -> str:
    return event_id(s.regimen, cycle, "infusions", 1)


def expected_starts(s: Schedule) -> dict[str, dt.datetime | dt.date]:
    """UID → the instant (UTC) or date the Schedule gives, for every planned VEVENT (per-dose)."""
    zone = ZoneInfo(s.course.zone)
    out: dict[str, dt.datetime | dt.date] = {}

    def at(day: dt.date, time: dt.time | None) -> dt.datetime | dt.date:
        return day if time is None else dt.datetime.combine(day, time, zone).astimezone(UTC)

    for c in s.cycles:
        if c.infusion_start is not None:
            out[uid_for(s.course, appointment_key(s, c.number))] = at(c.day1, c.infusion_start)
    for e in s.events:
        if e.kind is not Kind.INFUSION:
            out[uid_for(s.course, e.id)] = at(e.date, e.time)
    return out


def expected_minutes(s: Schedule) -> dict[str, int]:
    """UID → duration: an appointment lasts the cycle's chair time, a timed visit 30 min, a dose 15."""
    out = {uid_for(s.course, appointment_key(s, c.number)): c.chair_minutes for c in s.cycles}
    for e in s.events:
        if e.kind is not Kind.INFUSION:
            out[uid_for(s.course, e.id)] = 30 if e.kind is Kind.VISIT else 15
    return out


PARSERS = {
    "icalendar": icalcheck.parse_icalendar,
    "ical": icalcheck.parse_ical,
    "vobject": icalcheck.parse_vobject,
    "ical.js": icalcheck.parse_icaljs,
}


def read_with(parser: str, data: bytes) -> list[dict]:
    if parser == "ical.js":
        need(icalcheck.icaljs_available() is None, icalcheck.icaljs_available() or "")
    return PARSERS[parser](data)


@pytest.fixture(scope="module")
def example() -> Schedule:
    return api.schedule(load_course(EXAMPLE))


@pytest.fixture(scope="module")
def london() -> Schedule:
    return api.schedule(load_course(LONDON))


# -- counts and instants ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [EXAMPLE, LONDON], ids=["shanghai", "london"])
def test_one_vevent_per_event_of_each_kind(path):
    s = api.schedule(load_course(path))
    assert len(s.cycles) == 6
    data = to_ics(s)
    found = Counter(str(v["CATEGORIES"].cats[0]) for v in vevents(data))
    kinds = Counter(e.kind for e in s.events)
    appointments = {e.cycle for e in s.events if e.kind is Kind.INFUSION and e.day == 1}
    assert found == {
        "Tablets": kinds[Kind.ORAL],  # 168: 6 × 28
        "Hospital appointment": len(appointments),  # the day-1 infusions of a cycle are one appointment
        "Injection": kinds[Kind.INJECTION],  # 42: 6 × 7
        "Clinic visit": kinds[Kind.VISIT],
    }
    assert kinds[Kind.ORAL] == 168 and kinds[Kind.INJECTION] == 42 and len(appointments) == 6
    assert set(expected_starts(s)) == {str(v["UID"]) for v in vevents(data)}


def test_daily_tablet_events_are_all_day_one_per_tablet_day(london):
    data = to_ics(london, oral_events="daily")
    tablets = [v for v in vevents(data) if str(v["CATEGORIES"].cats[0]) == "Tablets"]
    days = {e.date for e in london.events if e.kind is Kind.ORAL}
    assert len(tablets) == len(days) == 84
    assert {v["DTSTART"].dt for v in tablets} == days
    assert all(type(v["DTSTART"].dt) is dt.date for v in tablets)
    assert {str(v["SUMMARY"]) for v in tablets} == {"Tablets: morning and evening"}
    # one alarm at each dose time of the day, counted from the start of the day
    triggers = {tuple(sorted(a["TRIGGER"].dt for a in v.walk("VALARM"))) for v in tablets}
    assert triggers == {(dt.timedelta(hours=8, minutes=30), dt.timedelta(hours=19, minutes=45))}


def test_daily_first_dose_in_the_evening():
    c = course()
    s = api.schedule(replace(c, times=replace(c.times, first_capecitabine_dose=Slot.EVENING)))
    titles = {v["DTSTART"].dt: str(v["SUMMARY"]) for v in vevents(to_ics(s, oral_events="daily"))
              if str(v["CATEGORIES"].cats[0]) == "Tablets"}
    assert titles[dt.date(2027, 2, 1)] == "Tablets: evening"
    assert titles[dt.date(2027, 2, 15)] == "Tablets: morning"  # morning of day 15 ends cycle 1
    assert titles[dt.date(2027, 2, 8)] == "Tablets: morning and evening"


ZONES = [
    ("Asia/Shanghai", dt.date(2026, 12, 7)),
    ("Europe/London", dt.date(2027, 2, 1)),  # summer time starts 28 March 2027
    ("Europe/London", dt.date(2027, 9, 6)),  # and ends 31 October 2027
    ("America/New_York", dt.date(2027, 1, 4)),  # starts 14 March 2027
    ("America/New_York", dt.date(2027, 9, 6)),  # ends 7 November 2027
]


@pytest.mark.parametrize("parser", list(PARSERS))
@pytest.mark.parametrize(("zone", "start"), ZONES, ids=[f"{z}-{s:%Y-%m}" for z, s in ZONES])
def test_every_start_is_the_schedules_local_time(parser, zone, start):
    s = api.schedule(course(timezone=zone, start=start))
    expected = expected_starts(s)
    offsets = {v.astimezone(ZoneInfo(zone)).utcoffset() for v in expected.values() if isinstance(v, dt.datetime)}
    assert len(offsets) == (1 if zone == "Asia/Shanghai" else 2), "the course must cross a transition"
    events = read_with(parser, to_ics(s, method="PUBLISH", detail="full"))
    assert {e["uid"]: e["start_utc"] for e in events} == expected
    # ends: exact elapsed time, even on the night the clocks change
    minutes = expected_minutes(s)
    for e in events:
        if isinstance(e["start_utc"], dt.datetime):
            assert e["end_utc"] - e["start_utc"] == dt.timedelta(minutes=minutes[e["uid"]])
        else:
            assert e["end_utc"] == e["start_utc"] + dt.timedelta(days=1)


def test_every_timed_property_names_the_course_zone_with_a_vtimezone(london):
    data = to_ics(london)
    cal = parse(data)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    tzids = set(re.findall(rb";TZID=([^:;]+)", data))
    assert tzids == {b"Europe/London"}
    assert b"RRULE:FREQ=YEARLY" in data  # summer time as a yearly rule, not a list of dates
    assert len(data.split(b"BEGIN:VTIMEZONE")[1].split(b"END:VTIMEZONE")[0]) < 1000  # small


# -- raw bytes ----------------------------------------------------------------------------------


VARIANTS = [
    {},
    {"detail": "full"},
    {"language": "zh-CN"},
    {"language": "zh-CN", "detail": "full", "method": "PUBLISH"},
    {"oral_events": "daily", "alarms": False},
]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("path", [EXAMPLE, LONDON, HOSTILE], ids=["example", "london", "hostile"])
def test_raw_bytes_pass_the_lint(path, options):
    data = to_ics(api.schedule(load_course(path)), **options)
    assert icalcheck.lint(data) == []
    assert data.endswith(b"END:VCALENDAR\r\n")
    uids = [str(v["UID"]) for v in vevents(data)]
    assert len(uids) == len(set(uids))


def test_chinese_is_folded_between_characters():
    data = to_ics(api.schedule(load_course(HOSTILE)), detail="full")
    long_lines = [line for line in data.split(b"\r\n") if len(line) > 70]
    assert long_lines, "the hostile location must be long enough to fold"
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    for line in data.split(b"\r\n"):
        line.decode("utf-8")  # each physical line is whole UTF-8


# -- calendar properties ------------------------------------------------------------------------


def test_calendar_properties(london):
    feed, publish = parse(to_ics(london)), parse(to_ics(london, method="PUBLISH"))
    assert str(feed["VERSION"]) == "2.0"
    assert str(feed["PRODID"]) == "-//treatment-schedule//iCalendar v1//EN"
    assert str(feed["CALSCALE"]) == "GREGORIAN"
    assert str(feed["NAME"]) == str(feed["X-WR-CALNAME"]) == "Treatment calendar"
    assert str(feed["X-WR-TIMEZONE"]) == "Europe/London"
    assert str(feed["COLOR"]) == "teal"
    assert "METHOD" not in feed and str(publish["METHOD"]) == "PUBLISH"
    assert "SOURCE" not in feed and "URL" not in feed
    raw = to_ics(london)
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n" in raw  # the site's refresh_hours
    assert b"\r\nX-PUBLISHED-TTL:PT6H\r\n" in raw
    default = to_ics(api.schedule(course(site=replace(london.course.site, feed_refresh_hours=12))))
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT12H" in default


def test_appointment_location_duration_and_description(london):
    appointment = next(v for v in vevents(to_ics(london, detail="full"))
                       if str(v["UID"]) == uid_for(london.course, appointment_key(london, 1)))
    cycle = london.cycles[0]
    assert str(appointment["LOCATION"]) == "Day Unit, Ward 5"
    assert appointment["DTSTART"].dt == dt.datetime(2027, 2, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    assert appointment["DTEND"].dt - appointment["DTSTART"].dt == dt.timedelta(minutes=cycle.chair_minutes)
    assert cycle.chair_minutes == 20 + 60 + 120 + 30
    assert str(appointment["SUMMARY"]) == "Infusion: Tislelizumab + Oxaliplatin"
    description = str(appointment["DESCRIPTION"])
    assert "Tislelizumab 200 mg, infusion over 60 min" in description
    assert "24-hour line: 020 0000 0002" in description
    assert str(appointment["TRANSP"]) == "OPAQUE" and str(appointment["CLASS"]) == "PRIVATE"


def test_visits_show_their_window(london):
    visit = next(v for v in vevents(to_ics(london, detail="full")) if str(v["SUMMARY"]) == "Response assessment (MRI)")
    assert visit["DTSTART"].dt == dt.datetime(2027, 3, 29, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    assert "Window: 2027-03-26 to 2027-04-05" in str(visit["DESCRIPTION"])
    assert str(visit["LOCATION"]) == "Day Unit, Ward 5"


# -- doses in full mode -------------------------------------------------------------------------


def test_full_names_medicines_doses_and_tablets(example):
    en = vevents(to_ics(example, detail="full"))
    titles = Counter(str(v["SUMMARY"]) for v in en)
    assert titles["Capecitabine 1650 mg = 3 × 500 mg + 1 × 150 mg"] == 3 * 28
    assert titles["Capecitabine 1250 mg = 1 × 500 mg + 5 × 150 mg"] == 3 * 28  # level -1 from cycle 4
    assert titles["Interleukin-2 injection: 100IU HD (confirm with your care team)"] == 42
    zh = Counter(str(v["SUMMARY"]) for v in vevents(to_ics(example, detail="full", language="zh-CN")))
    assert zh["卡培他滨 1650 mg = 500 mg × 3 片 + 150 mg × 1 片"] == 3 * 28
    assert zh["白细胞介素-2注射：100IU HD（请与医护团队确认）"] == 42
    assert zh["输注：替雷利珠单抗 + 奥沙利铂"] == 6


def test_discreet_titles_are_neutral(example):
    titles = Counter(str(v["SUMMARY"]) for v in vevents(to_ics(example)))
    visits = sum(1 for e in example.events if e.kind is Kind.VISIT)
    assert titles == {"Morning tablets": 84, "Evening tablets": 84, "Injection": 42,
                      "Hospital appointment": 6, "Clinic visit": visits}
    zh = Counter(str(v["SUMMARY"]) for v in vevents(to_ics(example, language="zh-CN")))
    assert zh == {"早上服药": 84, "晚上服药": 84, "注射": 42, "医院预约": 6, "门诊就诊": visits}


def test_language_defaults_to_the_courses():
    s = api.schedule(load_course(HOSTILE))  # language = "zh-CN"
    assert s.course.language == "zh-CN"
    assert to_ics(s) == to_ics(s, language="zh-CN") != to_ics(s, language="en")


# -- privacy ------------------------------------------------------------------------------------


def forbidden_words(s: Schedule) -> set[str]:
    r = s.regimen
    words = {r.trial, "PICTURE", "PICTURE202407", "CapeOX", "CAPOX", r.title.en, r.title.zh, s.course.patient,
             # diagnosis words, in both languages
             "rectal", "rectum", "cancer", "adenocarcinoma", "carcinoma", "tumour", "tumor", "oncology",
             "chemotherapy", "chemo", "pMMR", "MSS", "直肠", "癌", "肿瘤", "化疗", "PD-1", "IL-2"}
    for agent in r.agents:
        words |= {agent.id, agent.names.en, agent.names.zh}
    for v in (*r.visits, *s.course.settings.visits):
        words |= {v.names.en, v.names.zh}
    return {w for w in words if w}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("path", [EXAMPLE, LONDON], ids=["example", "london"])
def test_discreet_names_no_medicine_trial_diagnosis_or_patient(path, language):
    c = load_course(path)
    changes = (*c.changes, Change(cycle=5, reason="capecitabine stopped: rectal bleeding", omit=("capecitabine",),
                                  recorded=dt.datetime(2027, 3, 30, 9)))
    s = api.schedule(replace(c, changes=changes))
    words = forbidden_words(s)
    assert {"Capecitabine", "卡培他滨", "NCT06504875", "PICTURE", "cancer", "癌", s.course.patient} <= words
    for options in ({}, {"method": "PUBLISH"}, {"oral_events": "daily"}):
        text = unfolded(to_ics(s, language=language, **options)).casefold()
        found = sorted(w for w in words if w.casefold() in text)
        assert found == [], f"discreet calendar names {found}"
    full = unfolded(to_ics(s, language=language, detail="full")).casefold()
    assert any(a.names.get(language).casefold() in full for a in s.regimen.agents)  # the check can see names


@pytest.mark.parametrize("detail", ["discreet", "full"])
def test_no_display_name_or_study_number_in_any_mode(detail):
    for path in (LONDON, HOSTILE):
        c = load_course(path)
        assert c.display_name
        for language in ("en", "zh-CN"):
            text = unfolded(to_ics(api.schedule(c), detail=detail, language=language, method="PUBLISH"))
            assert c.display_name not in text and "Jane" not in text and "张三" not in text
            assert c.patient not in text


def test_uid_hides_the_study_number_and_event_id(london):
    uid = uid_for(london.course, london.events[0].id)
    assert re.fullmatch(r"[0-9a-f]{32}@treatment-schedule", uid)
    assert uid != uid_for(replace(london.course, patient="LDN-043"), london.events[0].id)


# -- hostile text -------------------------------------------------------------------------------


@pytest.mark.parametrize("parser", ["icalendar", "ical", "vobject"])
def test_hostile_course_text_round_trips(parser):
    c = load_course(HOSTILE)
    site = c.settings
    assert "\n" in site.location and ";" in site.location and "🏥" in site.location
    data = to_ics(api.schedule(c), detail="full", language="en")
    assert icalcheck.lint(data) == []
    if parser == "icalendar":
        locations = {str(v["LOCATION"]) for v in vevents(data) if "LOCATION" in v}
        descriptions = [str(v["DESCRIPTION"]) for v in vevents(data)]
    elif parser == "ical":
        from ical.calendar_stream import IcsCalendarStream

        events = IcsCalendarStream.from_ics(data.decode()).calendars[0].events
        locations = {e.location for e in events if e.location}
        descriptions = [e.description or "" for e in events]
    else:
        import vobject

        events = next(vobject.readComponents(data.decode())).contents["vevent"]
        locations = {e.location.value for e in events if "location" in e.contents}
        descriptions = [e.description.value for e in events]
    assert locations == {site.location}
    assert any(f"Care team (office hours): {site.phone_day}" in d for d in descriptions)
    assert any(f"24-hour line: {site.phone_24h}" in d for d in descriptions)
    reason = c.changes[0].reason
    assert any(f"Moved: {reason}" in d for d in descriptions)


def test_hostile_text_is_escaped_not_pasted():
    data = to_ics(api.schedule(load_course(HOSTILE)), detail="full")
    text = data.decode().replace("\r\n ", "")
    assert "LOCATION:住院部 3 号楼\\; Ward 5\\, Bed 12\\nC:\\\\path \"east\" wing 🏥💊" in text
    # no course text starts a content line of its own
    names = {line.split(":")[0].split(";")[0] for line in text.split("\r\n") if line}
    assert names <= {
        "BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "NAME", "X-WR-CALNAME", "X-WR-CALDESC",
        "X-WR-TIMEZONE", "REFRESH-INTERVAL", "X-PUBLISHED-TTL", "COLOR", "TZID", "DTSTART", "TZNAME", "RRULE",
        "RDATE", "TZOFFSETFROM", "TZOFFSETTO", "UID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "SUMMARY",
        "DTEND", "LOCATION", "DESCRIPTION", "CATEGORIES", "CLASS", "TRANSP", "STATUS", "ACTION", "TRIGGER",
    }


# -- identity and updates -----------------------------------------------------------------------

DELAY = Change(cycle=3, delay_days=7, reason="neutrophils 1.2", recorded=dt.datetime(2027, 2, 21, 15, 20))


def by_uid(data: bytes, parser: str = "ical") -> dict[str, dict]:
    return {e["uid"]: e for e in read_with(parser, data)}


@pytest.mark.parametrize("parser", ["ical", "ical.js"])
def test_a_delay_keeps_uids_and_raises_sequence_of_moved_events_only(parser):
    base = api.schedule(course())
    delayed = api.schedule(course(changes=(DELAY,)))
    for options in ({}, {"method": "PUBLISH"}, {"oral_events": "daily"}):
        before, after = by_uid(to_ics(base, **options), parser), by_uid(to_ics(delayed, **options), parser)
        assert set(before) == set(after)
        moved = {uid for uid in before if before[uid]["start_utc"] != after[uid]["start_utc"]}
        unmoved = set(before) - moved
        assert moved and unmoved
        assert all(after[uid]["sequence"] > before[uid]["sequence"] for uid in moved)
        assert all(after[uid]["sequence"] == before[uid]["sequence"] for uid in unmoved)
    # moved: exactly the events whose date the scheduler changed (cycles 3-6 and the bloods before them)
    was = {e.id: e.date for e in base.events}
    moved_ids = {e.id for e in delayed.events if e.kind is not Kind.INFUSION and e.date != was[e.id]}
    moved_ids |= {appointment_key(delayed, c.number) for c in delayed.cycles if c.moved}
    assert {int(k.split("/")[1][1:]) for k in moved_ids if "/c" in k} == {3, 4, 5, 6}
    before, after = by_uid(to_ics(base), parser), by_uid(to_ics(delayed), parser)
    assert {uid for uid in before if before[uid]["start_utc"] != after[uid]["start_utc"]} == {
        uid_for(delayed.course, key) for key in moved_ids}
    revision = {e.id: e.revision for e in delayed.events}
    for key in moved_ids:  # one change: revision 1; an appointment counts both its infusions
        assert after[uid_for(delayed.course, key)]["sequence"] == revision.get(key, 2)
        assert revision.get(key, 1) == 1


def test_last_modified_and_dtstamp_come_from_the_course_file():
    delayed = api.schedule(course(changes=(DELAY,)))
    events = {str(v["UID"]): v for v in vevents(to_ics(delayed))}
    london = ZoneInfo("Europe/London")
    recorded = dt.datetime(2027, 2, 21, 15, 20, tzinfo=london).astimezone(UTC)
    created = dt.datetime(2027, 1, 20, 10, 0, tzinfo=london).astimezone(UTC)
    moved = events[uid_for(delayed.course, appointment_key(delayed, 3))]
    unmoved = events[uid_for(delayed.course, appointment_key(delayed, 1))]
    assert moved["LAST-MODIFIED"].dt == recorded and unmoved["LAST-MODIFIED"].dt == created
    assert {v["DTSTAMP"].dt for v in events.values()} == {recorded}  # the latest time in the file
    assert {v["CREATED"].dt for v in events.values()} == {created}


def test_a_plain_plan_stamps_from_its_start():
    s = api.schedule(api.course_from(start=dt.date(2026, 12, 7)))
    events = vevents(to_ics(s))
    # midnight of the start in the course zone (Asia/Shanghai) is 16:00 UTC the day before
    assert {v["DTSTAMP"].dt for v in events} == {dt.datetime(2026, 12, 6, 16, 0, tzinfo=UTC)}
    assert not any("LAST-MODIFIED" in v or "CREATED" in v for v in events)


OMIT = (
    Change(cycle=2, omit=("interleukin-2",), reason="injection site reaction", recorded=dt.datetime(2027, 2, 20, 9)),
    Change(cycle=5, stop=True, reason="stopped", recorded=dt.datetime(2027, 4, 10, 9)),
)


@pytest.mark.parametrize("parser", ["ical", "vobject", "ical.js"])
def test_removed_events_are_cancelled_in_publish_and_absent_from_the_feed(parser):
    base = api.schedule(course())
    changed = api.schedule(course(changes=OMIT))
    assert changed.cancelled
    plain = by_uid(to_ics(base, method="PUBLISH"), parser)
    publish = by_uid(to_ics(changed, method="PUBLISH"), parser)
    feed = by_uid(to_ics(changed), parser)
    cancelled = {uid for uid, e in publish.items() if e["status"] == "CANCELLED"}
    assert set(publish) == set(plain)  # nothing new, nothing lost: clients can match every event
    assert set(feed) == set(publish) - cancelled
    assert all(e["status"] == "CONFIRMED" for e in feed.values())
    expected = {uid_for(changed.course, e.id) for e in changed.cancelled if e.kind is not Kind.INFUSION}
    expected |= {uid_for(changed.course, appointment_key(changed, n)) for n in (5, 6)}
    assert cancelled == expected
    il2 = {uid_for(changed.course, e.id) for e in changed.cancelled if e.kind is Kind.INJECTION and e.cycle == 2}
    assert len(il2) == 7 and il2 <= cancelled
    for uid in cancelled:
        assert publish[uid]["sequence"] > plain[uid]["sequence"]


def test_cancelled_events_have_no_alarm_and_say_so():
    changed = api.schedule(course(changes=OMIT))
    cancelled = [v for v in vevents(to_ics(changed, method="PUBLISH")) if str(v["STATUS"]) == "CANCELLED"]
    assert cancelled and not any(v.walk("VALARM") for v in cancelled)
    assert all(str(v["SUMMARY"]).startswith("Cancelled: ") for v in cancelled)
    cancelled_event = next(e for e in changed.cancelled if e.kind is Kind.INJECTION)
    assert cancelled_event.status is Status.CANCELLED
    one = next(v for v in cancelled if str(v["UID"]) == uid_for(changed.course, cancelled_event.id))
    assert one["SEQUENCE"] == cancelled_event.revision + 1


# -- alarms -------------------------------------------------------------------------------------


def test_alarms_at_dose_time_and_the_evening_before_appointments(london):
    events = vevents(to_ics(london))
    for v in events:
        alarms = v.walk("VALARM")
        assert len(alarms) == 1 and str(alarms[0]["ACTION"]) == "DISPLAY"
        assert str(alarms[0]["DESCRIPTION"]) == str(v["SUMMARY"])
        trigger, start = alarms[0]["TRIGGER"].dt, v["DTSTART"].dt
        kind = str(v["CATEGORIES"].cats[0])
        if kind in ("Tablets", "Injection"):
            assert trigger == dt.timedelta(0)
        elif isinstance(start, dt.datetime):  # appointment or timed visit: 18:00 the day before
            when = start.replace(tzinfo=None) + trigger
            assert (when.time(), start.date() - when.date()) == (dt.time(18, 0), dt.timedelta(days=1))
        else:  # all-day visit
            assert trigger == -dt.timedelta(hours=6)
    assert not any(v.walk("VALARM") for v in vevents(to_ics(london, alarms=False)))


# -- include and options ------------------------------------------------------------------------


def test_include_writes_only_those_kinds(london):
    found = Counter(str(v["CATEGORIES"].cats[0]) for v in vevents(to_ics(london, include=frozenset({"infusion", "visit"}))))
    assert set(found) == {"Hospital appointment", "Clinic visit"}
    oral = vevents(to_ics(london, include=frozenset({"oral"})))
    assert {str(v["CATEGORIES"].cats[0]) for v in oral} == {"Tablets"}


@pytest.mark.parametrize(("options", "message"), [
    ({"include": frozenset({"pills"})}, "'pills' is not an event kind"),
    ({"detail": "secret"}, "'secret' is not a detail level"),
    ({"language": "fr"}, "'fr' is not a supported language"),
    ({"method": "REQUEST"}, "'REQUEST' is not a method"),
    ({"oral_events": "weekly"}, "'weekly' is not one of per-dose, daily"),
])
def test_bad_options_raise_input_errors(london, options, message):
    from picture_schedule.errors import InputError

    with pytest.raises(InputError, match=message):
        to_ics(london, **options)


# -- determinism --------------------------------------------------------------------------------


def test_two_runs_give_identical_bytes(example):
    for options in VARIANTS:
        assert to_ics(example, **options) == to_ics(api.schedule(load_course(EXAMPLE)), **options)


def test_bytes_do_not_depend_on_the_machine_clock_or_zone(tmp_path):
    """A fresh interpreter with another local zone writes the same bytes as this one."""
    script = (
        "import sys; from picture_schedule import api, load_course; from picture_schedule.render.ics import to_ics;"
        f"sys.stdout.buffer.write(to_ics(api.schedule(load_course({str(EXAMPLE)!r})), method='PUBLISH'))"
    )
    env = {**os.environ, "TZ": "America/Los_Angeles", "LANG": "C"}
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, env=env, cwd=ROOT)
    assert other.stdout == to_ics(api.schedule(load_course(EXAMPLE)), method="PUBLISH")


# -- command line -------------------------------------------------------------------------------


def test_cli_writes_what_the_library_writes(cli, tmp_path, example):
    out = tmp_path / "out.ics"
    result = cli("ics", "--course", EXAMPLE, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == to_ics(example)
    result = cli("ics", "--course", EXAMPLE, "--lang", "zh-CN", "--detail", "full", "--method", "publish",
                 "--oral-events", "daily", "--no-alarms", "--include", "oral, infusion", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == to_ics(example, language="zh-CN", detail="full", method="PUBLISH",
                                      oral_events="daily", alarms=False,
                                      include=frozenset({"oral", "infusion"}))
    assert icalcheck.lint(out.read_bytes()) == []


def test_cli_to_stdout_from_a_plain_start(cli):
    result = cli("ics", "--start", "2026-12-07", "--cycles", "2", "--include", "infusion")
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert icalcheck.lint(data) == []
    assert len(vevents(data)) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--include", "oral,pills"], "Error: --include: 'pills' is not an event kind (choose from oral, infusion, "
                                  "injection, visit)"),
    (["--include", ","], "Error: --include: ',' names no event kind"),
    (["--lang", "fr"], "Error: Invalid value for '--lang'"),
    (["--detail", "everything"], "Error: Invalid value for '--detail'"),
    (["--method", "request"], "Error: Invalid value for '--method'"),
    (["--oral-events", "weekly"], "Error: Invalid value for '--oral-events'"),
    (["--start", "2026-12-07"], "Error: give either --start YYYY-MM-DD or --course FILE (exactly one)"),
])
def test_cli_errors_are_one_line_exit_2_and_write_nothing(cli, tmp_path, args, message):
    out = tmp_path / "out.ics"
    result = cli("ics", "--course", EXAMPLE, *args, "-o", out)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_missing_course_file(cli, tmp_path):
    result = cli("ics", "--course", tmp_path / "nobody.toml")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "nobody.toml" in result.stderr


def test_help_and_renderer_import_do_not_load_icalendar():
    script = (
        "import sys; from click.testing import CliRunner; from picture_schedule.cli.main import main;"
        "import picture_schedule.render.ics, picture_schedule.cli.ics;"
        "r = CliRunner().invoke(main, ['ics', '--help']); assert r.exit_code == 0, r.output;"
        "print(sorted(m for m in ('icalendar', 'babel', 'ical', 'vobject') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


# -- samples ------------------------------------------------------------------------------------


@pytest.mark.parametrize("parser", list(PARSERS))
@pytest.mark.parametrize("name", ["calendar-discreet.ics", "calendar-full.ics", "calendar-zh-CN.ics"])
def test_samples_import_cleanly(name, parser):
    """The committed samples (kept current by tests/test_samples.py) read alike in every parser."""
    data = (ROOT / "samples" / name).read_bytes()
    assert icalcheck.lint(data) == []
    s = api.schedule(load_course(EXAMPLE))
    events = read_with(parser, data)
    assert len(events) == len(vevents(data)) > 100
    if "daily" not in name and "zh-CN" not in name:
        assert {e["uid"]: e["start_utc"] for e in events} == expected_starts(s)
