"""VTIMEZONEs are read the same way by icalendar, ical, vobject and ical.js.

Each scenario is a tiny calendar with events at local times on the days around
every transition in its span. Every parser converts them with only the embedded
VTIMEZONE, and must land on the UTC instants Python's zoneinfo gives.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picture_schedule.errors import InputError
from picture_schedule.render.vtimezone import observances, vtimezone
from tests.icalcheck import (
    Parser,
    lint,
    parse_ical,
    parse_icaljs,
    parse_icalendar,
    parse_vobject,
    require_icaljs,
)

SCENARIOS = {
    "london": ("Europe/London", date(2025, 1, 6), date(2025, 12, 15)),
    "new-york": ("America/New_York", date(2025, 1, 6), date(2025, 12, 15)),
    "shanghai": ("Asia/Shanghai", date(2025, 1, 6), date(2025, 12, 15)),
    "sydney": ("Australia/Sydney", date(2025, 1, 6), date(2026, 6, 30)),
    # The US moved daylight saving from April–October to March–November in 2007.
    "new-york-2007-rule-change": ("America/New_York", date(2006, 1, 2), date(2008, 12, 29)),
    # tzdata's "negative" daylight saving: GMT in winter is the saving.
    "dublin": ("Europe/Dublin", date(2025, 1, 6), date(2025, 12, 15)),
    # Turkey stayed on summer time from September 2016.
    "istanbul-2016": ("Europe/Istanbul", date(2016, 1, 4), date(2016, 12, 19)),
    # A one-off change (western Amazonas, -05 to -04 on 24 June 2008) is not a yearly rule.
    "eirunepe-2008": ("America/Eirunepe", date(2008, 1, 7), date(2008, 12, 15)),
}

PARSERS: dict[str, Parser] = {
    "icalendar": parse_icalendar,
    "ical": parse_ical,
    "vobject": parse_vobject,
    "icaljs": parse_icaljs,
}


def _unambiguous(local: datetime, zone: ZoneInfo) -> bool:
    """Whether ``local`` happens exactly once (not in a gap, not repeated)."""
    aware = local.replace(tzinfo=zone)
    if aware.utcoffset() != aware.replace(fold=1).utcoffset():
        return False
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def _probe_times(zone: ZoneInfo, first: date, last: date) -> list[datetime]:
    """Local times every half hour on the days around each offset change, and at the ends."""
    days = {first, last}
    day = first
    while day <= last:
        midnight = datetime.combine(day, datetime.min.time())
        if midnight.replace(tzinfo=zone).utcoffset() != (midnight + timedelta(days=1)).replace(tzinfo=zone).utcoffset():
            days.update(day + timedelta(days=n) for n in (-1, 0, 1, 2))
        day += timedelta(days=1)
    times = [
        datetime.combine(day, datetime.min.time()) + timedelta(minutes=30 * n)
        for day in sorted(days)
        for n in range(48)
    ]
    return [t for t in times if _unambiguous(t, zone) and _unambiguous(t + timedelta(hours=1), zone)]


@functools.cache
def _probe(name: str) -> tuple[bytes, dict[str, tuple[datetime, datetime]]]:
    """The calendar of a scenario and, by UID, the UTC start and end zoneinfo gives."""
    tzid, first, last = SCENARIOS[name]
    zone = ZoneInfo(tzid)
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//picture-schedule//tests//EN")
    cal.add("VERSION", "2.0")
    cal.add_component(vtimezone(tzid, first, last))
    expected = {}
    for number, local in enumerate(_probe_times(zone, first, last)):
        start, end = local.replace(tzinfo=zone), (local + timedelta(hours=1)).replace(tzinfo=zone)
        event = icalendar.Event()
        event.add("UID", f"{name}-{number}@picture-schedule.test")
        event.add("DTSTAMP", datetime(2025, 1, 1, tzinfo=UTC))
        event.add("SUMMARY", f"{local:%Y-%m-%d %H:%M} {tzid}")
        event.add("DTSTART", start)
        event.add("DTEND", end)
        cal.add_component(event)
        expected[str(event["UID"])] = (start.astimezone(UTC), end.astimezone(UTC))
    return cal.to_ical(), expected


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_parser_reads_the_utc_instants_of_zoneinfo(scenario: str, parser: str) -> None:
    if parser == "icaljs":
        require_icaljs()
    data, expected = _probe(scenario)
    read = {e["uid"]: (e["start_utc"], e["end_utc"]) for e in PARSERS[parser](data)}
    wrong = {uid: (read.get(uid), want) for uid, want in expected.items() if read.get(uid) != want}
    assert not wrong, f"{len(wrong)} of {len(expected)} misread, e.g. {next(iter(wrong.items()))}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_probe_covers_the_transitions_and_lints_clean(scenario: str) -> None:
    data, expected = _probe(scenario)
    assert lint(data) == []
    offsets = {start - start.astimezone(ZoneInfo(SCENARIOS[scenario][0])).replace(tzinfo=UTC)
               for start, _ in expected.values()}
    assert len(offsets) == (1 if scenario == "shanghai" else 2)


def test_a_one_off_change_is_not_taken_for_a_yearly_rule() -> None:
    (before, after) = observances(*SCENARIOS["eirunepe-2008"])
    assert (before.rule, after.rule) == (None, None)
    assert before.start == datetime(1970, 1, 1) and before.offset_to == timedelta(hours=-5)
    assert after.dates == (datetime(2008, 6, 24),) and after.offset_to == timedelta(hours=-4)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tzid_is_the_iana_name(scenario: str) -> None:
    tzid, first, last = SCENARIOS[scenario]
    assert str(vtimezone(tzid, first, last)["TZID"]) == tzid


def _text(tzid: str, first: date, last: date) -> str:
    return vtimezone(tzid, first, last).to_ical().decode()


def test_london_is_two_yearly_rules() -> None:
    text = _text("Europe/London", date(2025, 1, 6), date(2025, 12, 15))
    assert text.replace("\r\n", "\n") == (
        "BEGIN:VTIMEZONE\n"
        "TZID:Europe/London\n"
        "BEGIN:DAYLIGHT\n"
        "DTSTART:20240331T010000\n"
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\n"
        "TZNAME:BST\n"
        "TZOFFSETFROM:+0000\n"
        "TZOFFSETTO:+0100\n"
        "END:DAYLIGHT\n"
        "BEGIN:STANDARD\n"
        "DTSTART:20241027T020000\n"
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\n"
        "TZNAME:GMT\n"
        "TZOFFSETFROM:+0100\n"
        "TZOFFSETTO:+0000\n"
        "END:STANDARD\n"
        "END:VTIMEZONE\n"
    )
    assert len(text.encode()) < 1200


def test_new_york_uses_the_current_us_rule() -> None:
    text = _text("America/New_York", date(2025, 1, 6), date(2025, 12, 15))
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n" in text
    assert "TZNAME:EDT" in text and "TZNAME:EST" in text
    assert "RDATE" not in text and "UNTIL" not in text


def test_sydney_saves_daylight_in_the_southern_summer() -> None:
    tz = vtimezone("Australia/Sydney", date(2025, 1, 6), date(2026, 6, 30))
    (daylight,), (standard,) = tz.walk("DAYLIGHT"), tz.walk("STANDARD")
    assert daylight["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=1SU;BYMONTH=10"
    assert standard["RRULE"].to_ical() == b"FREQ=YEARLY;BYDAY=1SU;BYMONTH=4"
    assert daylight["TZOFFSETTO"].to_ical() == "+1100"
    assert standard["TZOFFSETTO"].to_ical() == "+1000"
    assert daylight["DTSTART"].dt.time().hour == 2  # 02:00 AEST becomes 03:00 AEDT
    assert standard["DTSTART"].dt.time().hour == 3  # 03:00 AEDT becomes 02:00 AEST


def test_shanghai_is_one_standard_observance() -> None:
    tz = vtimezone("Asia/Shanghai", date(2025, 1, 6), date(2025, 12, 15))
    (standard,) = tz.subcomponents
    assert standard.name == "STANDARD"
    assert standard["TZOFFSETFROM"].to_ical() == standard["TZOFFSETTO"].to_ical() == "+0800"
    assert str(standard["TZNAME"]) == "CST"
    assert standard["DTSTART"].dt < datetime(2024, 1, 1)
    assert "RRULE" not in standard
    assert len(tz.to_ical()) < 400


def test_a_rule_change_in_the_span_falls_back_to_explicit_onsets() -> None:
    text = _text("America/New_York", date(2006, 1, 2), date(2008, 12, 29))
    assert "RRULE" not in text
    # Old rule (first Sunday in April, last in October), then the 2007 one.
    for onset in ("20050403T020000", "20061029T020000", "20070311T020000", "20071104T020000", "20091101T020000"):
        assert f"RDATE:{onset}\r\n" in text
    assert "RDATE:20041031T020000" not in text  # before the span: a year before the first event
    assert len(text.encode()) < 1500


def test_an_observance_without_rule_repeats_its_dtstart_as_rdate() -> None:
    for tzid, first, last in (SCENARIOS["shanghai"], SCENARIOS["new-york-2007-rule-change"]):
        for observance in observances(tzid, first, last):
            if observance.rule is None:
                assert observance.dates[0] == observance.start


def test_dublin_summer_is_daylight_time() -> None:
    tz = vtimezone("Europe/Dublin", date(2025, 1, 6), date(2025, 12, 15))
    (daylight,) = tz.walk("DAYLIGHT")
    assert str(daylight["TZNAME"]) == "IST"
    assert daylight["TZOFFSETTO"].to_ical() == "+0100"


def test_dropping_daylight_saving_falls_back_to_explicit_onsets() -> None:
    kinds = [(o.name, o.rule) for o in observances(*SCENARIOS["istanbul-2016"])]
    assert all(rule is None for _, rule in kinds)
    assert kinds[-1][0] == "+03"  # permanent +03 from 7 September 2016


def test_unknown_zone_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown time zone 'Europe/Atlantis'"):
        vtimezone("Europe/Atlantis", date(2025, 1, 1), date(2025, 2, 1))


def test_first_after_last_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="after"):
        vtimezone("Europe/London", date(2025, 2, 1), date(2025, 1, 1))


ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("posix/", "right/")))


@settings(max_examples=40, deadline=None)
@given(
    tzid=st.sampled_from(ZONES),
    first=st.dates(date(1995, 1, 1), date(2040, 12, 31)),
    days=st.integers(0, 800),
)
def test_any_zone_over_any_span_is_read_as_zoneinfo_reads_it(tzid: str, first: date, days: int) -> None:
    """Two independent readers of VTIMEZONE (ical's own, dateutil's via icalendar) on every
    hour of the days around each change, and on the first and last day."""
    from ical.calendar_stream import IcsCalendarStream
    from ical.timezone import IcsTimezoneInfo

    last = first + timedelta(days=days)
    component = vtimezone(tzid, first, last)
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{component.to_ical().decode()}END:VCALENDAR\r\n"
    (parsed,) = IcsCalendarStream.calendar_from_ics(text).timezones
    readers = {"ical": IcsTimezoneInfo.from_timezone(parsed), "dateutil": component.to_tz(lookup_tzid=False)}
    zone = ZoneInfo(tzid)
    for local in _probe_times(zone, first, last)[::2]:
        want = local.replace(tzinfo=zone).astimezone(UTC)
        for name, reader in readers.items():
            assert local.replace(tzinfo=reader).astimezone(UTC) == want, (name, local)
