"""Whatever a course file holds, the answer is a schedule or a ScheduleError: never a traceback."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picture_schedule import schedule
from picture_schedule.errors import ScheduleError
from picture_schedule.loading import course_from_data

scalars = st.one_of(
    st.booleans(),  # TOML has no null st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.dates(dt.date(1900, 1, 1), dt.date(2300, 1, 1)),
    st.times(), st.sampled_from(["picture", "capox", "morning", "evening", "08:00", "25:61", "CN", "next",
                                 "zh-CN", "mosteller", "oxaliplatin", "capecitabine", "2026-02-30"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["height_cm", "weight_kg", "bsa_m2", "formula", "amount", "unit", "cycle", "reason", "delay_days",
         "dose_level", "omit", "hold_days", "stop", "morning", "evening", "policy", "max_days", "country",
         "capecitabine", "oxaliplatin", "interleukin-2", "all", "clinic_days", "shift", "holidays", "id",
         "name", "anchor", "offset", "window"]), inner, max_size=4)), max_leaves=8)

FIELDS = ["patient", "start", "cycles", "regimen", "language", "timezone", "body", "times", "prescribed",
          "changes", "site", "display_name", "created"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=8),
       st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
def test_any_course_data_is_a_schedule_or_a_clear_error(data, start):
    data.setdefault("patient", "P-1")
    data.setdefault("start", start)
    try:
        course = course_from_data(data, "fuzz.toml")
        schedule(course)
    except ScheduleError as exc:
        text = str(exc)
        assert text and "Traceback" not in text
        assert "fuzz.toml" in text or "regimen" in text or exc.source, text


changes = st.fixed_dictionaries(
    {"cycle": st.integers(-1, 8), "reason": st.sampled_from(["r", "", "neutropenia"])},
    optional={
        "delay_days": st.integers(-40, 400),
        "dose_level": st.one_of(st.integers(-4, 1), st.dictionaries(
            st.sampled_from(["capecitabine", "oxaliplatin", "tislelizumab", "all", "x"]), st.integers(-3, 0),
            max_size=2)),
        "omit": st.lists(st.sampled_from(["oxaliplatin", "tislelizumab", "capecitabine", "interleukin-2"]),
                         max_size=4),
        "hold_days": st.lists(st.integers(0, 22), max_size=5),
        "stop": st.booleans(),
        "prescribed": st.dictionaries(st.sampled_from(["capecitabine", "oxaliplatin"]), st.fixed_dictionaries(
            {"amount": st.integers(-5, 5000), "unit": st.sampled_from(["mg", "IU"])}), max_size=2),
    })
plausible = st.fixed_dictionaries(
    {"patient": st.just("P-2"), "start": st.dates(dt.date(2024, 1, 1), dt.date(2031, 12, 31))},
    optional={
        "cycles": st.integers(0, 12),
        "body": st.fixed_dictionaries({}, optional={
            "height_cm": st.floats(90, 240), "weight_kg": st.floats(20, 260), "bsa_m2": st.floats(0.3, 4),
            "formula": st.sampled_from(["mosteller", "dubois"])}),
        "times": st.fixed_dictionaries({}, optional={
            "first_capecitabine_dose": st.sampled_from(["morning", "evening"]),
            "morning": st.sampled_from(["06:00", "08:00"]), "evening": st.sampled_from(["18:00", "07:00"])}),
        "changes": st.lists(changes, max_size=4),
        "site": st.fixed_dictionaries({}, optional={
            "holidays": st.fixed_dictionaries({"country": st.sampled_from(["CN", "GB", "US"])}),
            "shift": st.fixed_dictionaries({}, optional={
                "policy": st.sampled_from(["none", "next", "previous", "nearest"]),
                "max_days": st.integers(0, 30), "interval_window": st.lists(st.integers(0, 9), min_size=2,
                                                                            max_size=2)}),
            "clinic_days": st.lists(st.sampled_from(["mon", "tue", "wed", "sat", "sun"]), min_size=1, max_size=3),
            "visits": st.lists(st.fixed_dictionaries({
                "id": st.just("v"), "name": st.just("Visit"),
                "anchor": st.sampled_from(["cycle", "last-cycle", "end", "start"]),
                "offset": st.integers(-30, 90), "window": st.sampled_from([[0, 0], [-2, 0], [-3, 7]])}),
                max_size=1),
        }),
    })


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible)
def test_plausible_courses_give_a_schedule_or_a_clear_error(data):
    try:
        s = schedule(course_from_data(data, "fuzz.toml"))
    except ScheduleError as exc:
        assert str(exc)
        return
    # what a schedule promises whatever the course: cycles in order, events inside their cycles
    for a, b in zip(s.cycles, s.cycles[1:]):
        assert b.day1 > a.day1
    for e in s.events:
        if e.kind.value != "visit":
            cycle = next(c for c in s.cycles if c.number == e.cycle)
            assert cycle.day1 <= e.date <= cycle.last_day + dt.timedelta(days=1)
