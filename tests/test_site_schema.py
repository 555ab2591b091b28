"""The site schema: one declaration of every site setting, from which the Site defaults, the loader's
checks and the reference page come."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from typing import Any

import pytest

from picture_schedule.core.chair_plan import Unit
from picture_schedule.core.model import Names, Site, VisitSpec
from picture_schedule.core.site_schema import SETTINGS, TABLES, settings_of, site_defaults
from picture_schedule.errors import Problems, ScheduleError
from picture_schedule.loading import load_site, site_from_data
from picture_schedule.loading.site_schema import reference_markdown
from tests.conftest import ROOT

LABEL = "unit.toml"
REQUIRED_IN = {  # the least a [[visits]] or [chairs] table needs, so one key can be tried alone
    "visits": {"id": "bloods", "name": "Bloods", "anchor": "cycle"},
    "chairs": {"count": 3, "hours": {"mon": ["08:00", "17:00"]}},
}


def problems(data: dict[str, Any]) -> list[str]:
    try:
        site_from_data(data, LABEL)
    except Problems as exc:
        return [str(p) for p in exc.problems]
    except ScheduleError as exc:
        return [str(exc)]
    return []


def with_value(table: str, key: str, value: Any) -> dict[str, Any]:
    """A site file that sets ``table.key`` (plus what its table requires)."""
    if not table:
        return {key: value}
    inner = {**REQUIRED_IN.get(table, {}), key: value}
    return {table: [inner] if table == "visits" else inner}


# -- Site defaults come from the schema --------------------------------------------------------------


def test_every_site_field_has_its_default_in_the_schema():
    fields = {f.name for f in dataclasses.fields(Site)} - {"source"}
    assert fields == set(site_defaults())
    site = Site()
    for name, value in site_defaults().items():
        assert getattr(site, name) == value, name


def test_site_defaults_as_the_documentation_states_them():
    """Checked by hand against the README's site table (the values a unit gets when it says nothing)."""
    site = Site()
    assert site.timezone == "Asia/Shanghai"
    assert site.clinic_days == (1, 2, 3, 4, 5)
    assert site.holiday_country is None and site.holiday_subdivision is None
    assert dict(site.extra_closures) == {} and dict(site.extra_openings) == {}
    assert (site.shift_policy, site.max_shift_days, site.interval_window) == ("none", 7, (3, 7))
    assert site.bsa_cap is None and site.infusion_step_mg is None
    assert site.dose_threshold == pytest.approx(0.05)
    assert (site.infusion_time, site.preparation_minutes, site.observation_minutes) == (dt.time(9, 0), 0, 30)
    assert site.fever_threshold_c == 38.0
    assert site.feed_refresh_hours == 12 and site.feed_base_url == ""
    assert site.fhir_identifier_system == "urn:picture-schedule:study-number"
    assert site.name == site.location == site.phone_day == site.phone_24h == site.templates == ""
    assert site.visits == () and site.chairs is None


def test_every_default_written_out_gives_the_site_defaults():
    data: dict[str, Any] = {}
    for s in SETTINGS:
        if s.default is not None and s.table not in REQUIRED_IN:
            (data.setdefault(s.table, {}) if s.table else data)[s.key] = s.default
    assert site_from_data(data, LABEL) == Site(source=LABEL)
    assert site_from_data({}, LABEL) == Site(source=LABEL)


def test_visit_and_chair_defaults_written_out_change_nothing():
    visit = {**REQUIRED_IN["visits"], **{s.key: s.default for s in settings_of("visits") if s.default is not None}}
    chairs = {**REQUIRED_IN["chairs"], **{s.key: s.default for s in settings_of("chairs") if s.default is not None}}
    written = site_from_data({"visits": [visit], "chairs": chairs}, LABEL)
    bare = site_from_data({"visits": [REQUIRED_IN["visits"]], "chairs": REQUIRED_IN["chairs"]}, LABEL)
    assert written == bare
    assert bare.visits == (VisitSpec("bloods", Names("Bloods"), "cycle", 0, (), 0, 0, None, ""),)
    assert bare.chairs == Unit(chairs=3, hours={1: (dt.time(8), dt.time(17))})
    assert [s.default for s in settings_of("chairs") if s.key == "slot_minutes"] == [Unit.slot_minutes]


def test_every_setting_without_a_default_accepts_its_example():
    data: dict[str, Any] = {"holidays": {"country": "GB"}}
    for s in SETTINGS:
        if s.default is None and s.table not in REQUIRED_IN and s.key != "country":
            (data.setdefault(s.table, {}) if s.table else data)[s.key] = s.example
    data["visits"] = [{**REQUIRED_IN["visits"], **{s.key: s.example for s in settings_of("visits")
                                                   if s.example is not None}}]
    data["chairs"] = {s.key: s.example for s in settings_of("chairs") if s.example is not None}
    site = site_from_data(data, LABEL)
    assert (site.holiday_country, site.holiday_subdivision) == ("GB", "SCT")
    assert (site.bsa_cap, site.infusion_step_mg) == (2.0, 5)
    assert site.visits[0].time == dt.time(8, 0) and site.visits[0].names == Names("Blood test", "血液检查")
    assert site.chairs == Unit(chairs=12, hours={1: (dt.time(8), dt.time(17, 30))}, nurse_starts_per_slot=3,
                               make_up_hours=(dt.time(8), dt.time(17, 30)))
    for s in SETTINGS:
        if s.example is not None and s.table not in REQUIRED_IN and s.key not in ("subdivision", "templates"):
            assert site_from_data(with_value(s.table, s.key, s.example), LABEL) != Site(source=LABEL), s.name


def test_the_example_site_file_holds_only_schema_keys():
    data = tomllib.loads((ROOT / "examples" / "site-nanjing.toml").read_text(encoding="utf-8"))
    names = {s.name for s in SETTINGS}
    for key, value in data.items():
        if isinstance(value, dict):
            assert {f"{key}.{k}" for k in value} <= names, key
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            assert {f"{key}.{k}" for item in value for k in item} <= names, key
        else:
            assert key in names
    site = load_site(ROOT / "examples" / "site-nanjing.toml")
    assert site.dose_threshold == pytest.approx(0.05) and site.infusion_step_mg == 5
    assert site.preparation_minutes == 15 and site.shift_policy == "next"


# -- the loader checks what the schema declares --------------------------------------------------------

# Every setting, a bad value and the whole message it must give (written by hand).
BAD = {
    "name": (5, "name: 5 is not text"),
    "timezone": ("Mars/Olympus", "timezone: 'Mars/Olympus' is not an IANA time zone (e.g. Asia/Shanghai, "
                                 "Europe/London)"),
    "clinic_days": (["mon", "funday"], "clinic_days: 'funday' is not a weekday (mon … sun)"),
    "location": (["Ward 3"], "location: a list is not text"),
    "fever_threshold_c": (39.5, "fever_threshold_c: 39.5 is outside 37–39 °C"),
    "templates": (3, "templates: 3 is not text"),
    "phones.day": (123, "phones.day: 123 is not text"),
    "phones.hotline": (True, "phones.hotline: true is not text"),
    "holidays.country": ("XX", "holidays.country: 'XX' is not a country the holidays package knows (use an "
                               "ISO 3166-1 code such as 'CN')"),
    "holidays.subdivision": ("SCT", "holidays.subdivision: 'SCT' needs the country it belongs to (country = …)"),
    "holidays.closures": ([{"date": "2027-02-30", "reason": "audit"}],
                          "holidays.closures[1].date: '2027-02-30' is not a real date (day is out of range for "
                          "month)"),
    "holidays.openings": ("2027-02-13", "holidays.openings: '2027-02-13' is not a list of tables ([[openings]])"),
    "shift.policy": ("later", "shift.policy: 'later' is not one of: none, next, previous, nearest"),
    "shift.max_days": (40, "shift.max_days: 40 is outside 0–28"),
    "shift.interval_window": ([3], "shift.interval_window: [3] must be [days_early ≥ 0, days_late ≥ 0]"),
    "dosing.bsa_cap_m2": (3.5, "dosing.bsa_cap_m2: 3.5 is outside 1–3 m²"),
    "dosing.deviation_threshold_percent": (60, "dosing.deviation_threshold_percent: 60 is outside 0–50 %"),
    "dosing.infusion_step_mg": (0, "dosing.infusion_step_mg: 0 is outside 0.1–100 mg"),
    "infusion.start": ("25:00", "infusion.start: '25:00' is not a clock time (HH:MM, 00:00–23:59)"),
    "infusion.preparation_minutes": (-5, "infusion.preparation_minutes: -5 is outside 0–600"),
    "infusion.observation_minutes": (601, "infusion.observation_minutes: 601 is outside 0–600"),
    "feed.refresh_hours": (0, "feed.refresh_hours: 0 is outside 1–168"),
    "feed.base_url": ("calendar.example.org", "feed.base_url: 'calendar.example.org' is not an http(s) address"),
    "fhir.identifier_system": ("study number", "fhir.identifier_system: 'study number' is not an absolute URI: "
                                               "urn:… or http(s)://…"),
    "visits.id": ("Bloods", "visits[1].id: 'Bloods' must be lower-case letters, digits and hyphens (at most 64)"),
    "visits.name": (5, "visits[1].name: 5 is not text or a table { en = …, zh-CN = … }"),
    "visits.anchor": ("week", "visits[1].anchor: 'week' is not one of: cycle, last-cycle, end, start"),
    "visits.offset": (4000, "visits[1].offset: 4000 is outside -365–3650"),
    "visits.cycles": (["2"], "visits[1].cycles: a list is not a list of whole numbers"),
    "visits.window": ([1, 3], "visits[1].window: [1, 3] must be [days_before ≤ 0, days_after ≥ 0]"),
    "visits.time": ("8am", "visits[1].time: '8am' is not a clock time (HH:MM, 00:00–23:59)"),
    "visits.source": (1, "visits[1].source: 1 is not text"),
    "chairs.count": (0, "chairs.count: 0 is outside 1–1000"),
    "chairs.slot_minutes": (121, "chairs.slot_minutes: 121 is outside 1–120"),
    "chairs.nurse_starts_per_slot": (0, "chairs.nurse_starts_per_slot: 0 is outside 1–1000"),
    "chairs.make_up_hours": (["17:00", "08:00"], "chairs.make_up_hours: closes 08:00 before it opens 17:00"),
    "chairs.hours": ({"funday": ["08:00", "17:00"]}, "chairs.hours.funday: is not a weekday (mon … sun)"),
}


def test_every_setting_has_a_bad_value_case():
    assert set(BAD) == {s.name for s in SETTINGS}


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_a_bad_value_gives_the_documented_message(setting):
    value, message = BAD[setting.name]
    found = problems(with_value(setting.table, setting.key, value))
    assert found == [f"{LABEL}: {message}"]
    if setting.choices or setting.lo is not None:
        assert setting.allowed in message  # the message says what the reference page says is allowed


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.required], ids=lambda s: s.name)
def test_a_required_setting_left_out_is_named(setting):
    data = with_value(setting.table, setting.key, None)
    table = data[setting.table]
    (table[0] if isinstance(table, list) else table).pop(setting.key)
    where = "visits[1]" if setting.table == "visits" else setting.table
    assert problems(data) == [f"{LABEL}: {where}.{setting.key}: is required"]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name or "top")
def test_the_loader_accepts_exactly_the_schema_keys(table):
    """A key the schema does not declare is refused, and the message lists the schema's keys."""
    data = with_value(table.name, "colour", "blue")
    found = problems(data)
    assert len(found) == 1, found
    allowed = re.search(r"unknown field \(allowed here: (.*)\)$", found[0])
    assert allowed, found
    keys = {s.key for s in settings_of(table.name)}
    if not table.name:
        keys |= {t.name for t in TABLES if t.name}
    assert set(allowed[1].split(", ")) == keys


def test_an_empty_clinic_week_is_refused():
    assert problems({"clinic_days": []}) == [f"{LABEL}: clinic_days: is empty: name at least one weekday (mon … sun)"]


def test_an_inline_site_in_a_course_is_checked_by_the_same_schema():
    from picture_schedule.loading import course_from_data

    data = {"patient": "P1", "start": dt.date(2026, 12, 7), "site": {"shift": {"max_days": 40}}}
    with pytest.raises(ScheduleError, match=r"^course\.toml: site\.shift\.max_days: 40 is outside 0–28$"):
        course_from_data(data, "course.toml")


# -- the reference page ------------------------------------------------------------------------------


def test_the_reference_page_lists_every_key_under_its_table():
    page = reference_markdown()
    sections = re.split(r"(?m)^## ", page)[1:]
    headings = {section.splitlines()[0]: section for section in sections}
    assert len(headings) == len(TABLES)
    for table in TABLES:
        heading = "Top level" if not table.name else f"`[[{table.name}]]`" if table.array else f"`[{table.name}]`"
        section = headings[heading]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert [re.match(r"\| `([^`]+)`", row)[1] for row in rows] == [s.key for s in settings_of(table.name)]
        for s, row in zip(settings_of(table.name), rows):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
            assert len(cells) == 5, row
            assert cells[1] == s.kind.value
            assert cells[3] == s.allowed.replace("|", "\\|")
            assert s.doc in cells[4]


def test_the_reference_page_states_the_defaults():
    page = reference_markdown()
    for line, expected in (("clinic_days", '`["mon", "tue", "wed", "thu", "fri"]`'), ("max_days", "`7`"),
                           ("deviation_threshold_percent", "`5`"), ("start", '`"09:00"`'),
                           ("bsa_cap_m2", "not set"), ("count", "required"), ("policy", '`"none"`')):
        row = next(r for r in page.splitlines() if r.startswith(f"| `{line}` |"))
        assert row.split(" | ")[2] == expected, row
