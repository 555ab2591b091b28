"""The checkers themselves: lint catches what it should, the parsers agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from picture_schedule.render.vtimezone import vtimezone
from tests import icalcheck
from tests.icalcheck import (
    MissingTimezone,
    icaljs_available,
    lint,
    parse_ical,
    parse_icaljs,
    parse_icalendar,
    parse_vobject,
    require_icaljs,
)

LONDON = ZoneInfo("Europe/London")
STAMP = "DTSTAMP:20250101T000000Z"


def _ics(*lines: str, end: bytes = b"\r\n") -> bytes:
    return end.join(line.encode() for line in lines) + end


def _calendar(*event_lines: str) -> bytes:
    return _ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *event_lines, "END:VCALENDAR")


def _sample() -> bytes:
    """Events in London around the end of summer time, made by icalendar."""
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//picture-schedule//tests//EN")
    cal.add("VERSION", "2.0")
    cal.add_component(vtimezone("Europe/London", date(2025, 10, 1), date(2025, 11, 30)))

    def event(uid: str, **props: object) -> None:
        component = icalendar.Event()
        component.add("UID", uid)
        component.add("DTSTAMP", datetime(2025, 1, 1, tzinfo=UTC))
        for name, value in props.items():
            component.add(name.replace("_", "-"), value)
        cal.add_component(component)

    # The long, accented summary is folded by icalendar, never inside a character.
    event(
        "infusion@test",
        summary="Oxaliplatin infusion — cycle 3, day 1 (Übersicht: Ärztin, Café, 東京) " * 2,
        dtstart=datetime(2025, 10, 25, 9, 30, tzinfo=LONDON),
        dtend=datetime(2025, 10, 25, 13, 0, tzinfo=LONDON),
        sequence=2,
        status="CONFIRMED",
    )
    event("visit@test", summary="Visit", dtstart=datetime(2025, 10, 27, 9, 0, tzinfo=LONDON),
          duration=timedelta(hours=1, minutes=30))
    event("tablets@test", summary="Capecitabine", dtstart=date(2025, 10, 26), dtend=date(2025, 10, 27))
    event("call@test", summary="Phone call", dtstart=datetime(2025, 11, 3, 14, 0, tzinfo=UTC),
          dtend=datetime(2025, 11, 3, 14, 15, tzinfo=UTC), status="CANCELLED", sequence=1)
    event("series@test", summary="Moved visit", dtstart=datetime(2025, 11, 10, 11, 0, tzinfo=LONDON),
          dtend=datetime(2025, 11, 10, 12, 0, tzinfo=LONDON),
          recurrence_id=datetime(2025, 11, 7, 11, 0, tzinfo=LONDON))
    return cal.to_ical()


# --------------------------------------------------------------------------- lint


def test_a_file_made_by_icalendar_is_clean() -> None:
    data = _sample()
    assert b"\r\n " in data  # something was folded
    assert lint(data) == []


def test_lf_line_endings_are_a_problem() -> None:
    problems = lint(_sample().replace(b"\r\n", b"\n"))
    assert "file does not end with CRLF" in problems
    assert "line 1: ends with LF, not CRLF" in problems


def test_a_line_longer_than_75_octets_is_a_problem() -> None:
    summary = "SUMMARY:" + "é" * 34  # 8 + 68 = 76 octets, though only 42 characters
    data = _calendar("BEGIN:VEVENT", "UID:a@test", STAMP, summary, "END:VEVENT")
    assert lint(data) == ["line 7: 76 octets, more than 75"]


def test_folding_inside_a_utf8_character_is_a_problem() -> None:
    e_acute = "é".encode()
    data = _calendar("BEGIN:VEVENT", "UID:a@test", STAMP, "@SUMMARY@", "END:VEVENT").replace(
        b"@SUMMARY@", b"SUMMARY:Caf" + e_acute[:1] + b"\r\n " + e_acute[1:] + b" au lait"
    )
    problems = lint(data)
    assert problems == [
        "line 7: folding splits a UTF-8 character",
        "line 8: folding splits a UTF-8 character",
    ]


def test_bytes_that_are_not_utf8_are_a_problem() -> None:
    data = _calendar("BEGIN:VEVENT", "UID:a@test", STAMP, "@SUMMARY@", "END:VEVENT").replace(
        b"@SUMMARY@", b"SUMMARY:Caf\xe9 au lait"  # Latin-1
    )
    assert lint(data) == ["line 7: not UTF-8 (invalid continuation byte)"]


def test_duplicate_uids_are_a_problem_unless_recurrence_ids_differ() -> None:
    twice = ["BEGIN:VEVENT", "UID:a@test", STAMP, "DTSTART:20250101T090000Z", "END:VEVENT"] * 2
    assert lint(_calendar(*twice)) == ["UID a@test appears 2 times"]
    override = ["BEGIN:VEVENT", "UID:a@test", STAMP, "RECURRENCE-ID:20250108T090000Z", "END:VEVENT"]
    assert lint(_calendar(*twice[:5], *override)) == []
    assert lint(_calendar(*twice[:5], *override, *override)) == [
        "UID a@test with RECURRENCE-ID 20250108T090000Z appears 2 times"
    ]


def test_unbalanced_begin_and_end_are_problems() -> None:
    assert lint(_calendar("BEGIN:VEVENT", "UID:a@test", STAMP)) == [
        "line 7: END:VCALENDAR closes BEGIN:VEVENT of line 4",
        "line 1: BEGIN:VCALENDAR never ends",
    ]
    assert "line 2: END:VEVENT without BEGIN" in lint(_ics("VERSION:2.0", "END:VEVENT"))


def test_calendar_and_event_need_their_required_properties() -> None:
    data = _ics("BEGIN:VCALENDAR", "BEGIN:VEVENT", "SUMMARY:x", "END:VEVENT", "END:VCALENDAR")
    assert lint(data) == [
        "line 2: VEVENT needs one UID",
        "line 2: VEVENT needs one DTSTAMP",
        "line 1: VCALENDAR needs VERSION:2.0, has None",
        "line 1: VCALENDAR needs one PRODID",
    ]


def test_a_tzid_without_vtimezone_is_a_problem() -> None:
    data = _calendar("BEGIN:VEVENT", "UID:a@test", STAMP, "DTSTART;TZID=Europe/Paris:20250101T090000", "END:VEVENT")
    assert lint(data) == ["line 7: TZID=Europe/Paris has no VTIMEZONE"]


# ------------------------------------------------------------------------ parsers


def _expected() -> list[dict[str, object]]:
    def utc(*args: int, zone: ZoneInfo = LONDON) -> datetime:
        return datetime(*args, tzinfo=zone).astimezone(UTC)

    summary = "Oxaliplatin infusion — cycle 3, day 1 (Übersicht: Ärztin, Café, 東京) " * 2
    return [
        {"uid": "infusion@test", "summary": summary, "start_utc": utc(2025, 10, 25, 8, 30, zone=UTC),
         "end_utc": utc(2025, 10, 25, 12, 0, zone=UTC), "recurrence_id": None, "sequence": 2, "status": "CONFIRMED"},
        {"uid": "visit@test", "summary": "Visit", "start_utc": utc(2025, 10, 27, 9, 0, zone=UTC),
         "end_utc": utc(2025, 10, 27, 10, 30, zone=UTC), "recurrence_id": None, "sequence": None, "status": None},
        {"uid": "tablets@test", "summary": "Capecitabine", "start_utc": date(2025, 10, 26),
         "end_utc": date(2025, 10, 27), "recurrence_id": None, "sequence": None, "status": None},
        {"uid": "call@test", "summary": "Phone call", "start_utc": utc(2025, 11, 3, 14, 0, zone=UTC),
         "end_utc": utc(2025, 11, 3, 14, 15, zone=UTC), "recurrence_id": None, "sequence": 1, "status": "CANCELLED"},
        {"uid": "series@test", "summary": "Moved visit", "start_utc": utc(2025, 11, 10, 11, 0, zone=UTC),
         "end_utc": utc(2025, 11, 10, 12, 0, zone=UTC), "recurrence_id": utc(2025, 11, 7, 11, 0, zone=UTC),
         "sequence": None, "status": None},
    ]


@pytest.mark.parametrize("parse", [parse_icalendar, parse_ical, parse_vobject, parse_icaljs])
def test_the_parsers_agree_on_a_sample_with_daylight_saving(parse: icalcheck.Parser) -> None:
    if parse is parse_icaljs:
        require_icaljs()
    assert parse(_sample()) == _expected()


@pytest.mark.parametrize("parse", [parse_icalendar, parse_ical, parse_vobject, parse_icaljs])
def test_the_parsers_refuse_a_tzid_without_vtimezone(parse: icalcheck.Parser) -> None:
    if parse is parse_icaljs:
        require_icaljs()
    data = _calendar("BEGIN:VEVENT", "UID:a@test", STAMP, "DTSTART;TZID=Europe/Paris:20250101T090000", "END:VEVENT")
    with pytest.raises(MissingTimezone, match="Europe/Paris"):
        parse(data)


@pytest.mark.parametrize("parse", [parse_icalendar, parse_ical, parse_vobject, parse_icaljs])
def test_the_parsers_read_local_times_through_the_embedded_vtimezone(parse: icalcheck.Parser) -> None:
    """A VTIMEZONE that lies (London on +0300 all year) is believed, not replaced."""
    if parse is parse_icaljs:
        require_icaljs()
    data = _calendar(
        "BEGIN:VTIMEZONE", "TZID:Europe/London", "BEGIN:STANDARD", "DTSTART:19700101T000000",
        "RDATE:19700101T000000", "TZOFFSETFROM:+0300", "TZOFFSETTO:+0300", "TZNAME:XXX", "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT", "UID:a@test", STAMP, "DTSTART;TZID=Europe/London:20250701T090000", "END:VEVENT",
    )
    (event,) = parse(data)
    assert event["start_utc"] == datetime(2025, 7, 1, 6, 0, tzinfo=UTC)


def test_ical_is_strict() -> None:
    data = _calendar("BEGIN:VEVENT", "UID:a@test", STAMP, "DTSTART:2025-01-01", "END:VEVENT")
    with pytest.raises(Exception, match="Expected value to match DATE-TIME pattern: 2025-01-01"):
        parse_ical(data)


def test_icaljs_explains_why_it_cannot_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(icalcheck, "ICALJS_PACKAGE", tmp_path / "missing" / "package.json")
    assert icaljs_available() == "ical.js is not installed: run `npm ci --prefix tests/js`"
    monkeypatch.setattr(icalcheck.shutil, "which", lambda name: None)
    assert icaljs_available() == "node is not on PATH: install Node.js (20 or later)"
    with pytest.raises(RuntimeError, match="node is not on PATH"):
        parse_icaljs(_sample())
