"""The scheduler's promises: worked examples checked by hand, and invariants over random input."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from picture_schedule import expand_regimen, load_regimen
from picture_schedule.loading import regimen_from_data
from picture_schedule.core.model import Kind, Slot

D = dt.date
PICTURE = load_regimen("picture")


# -- worked examples (dates written by hand from a paper calendar) ------------------------------


def test_picture_from_2026_12_07_day1_dates_by_hand():
    s = expand_regimen(PICTURE, D(2026, 12, 7))
    # 21 days apart: Dec 7, Dec 28, Jan 18, Feb 8, Mar 1, Mar 22 (all Mondays)
    assert [c.day1 for c in s.cycles] == [
        D(2026, 12, 7), D(2026, 12, 28), D(2027, 1, 18), D(2027, 2, 8), D(2027, 3, 1), D(2027, 3, 22)]
    assert [c.last_day for c in s.cycles] == [
        D(2026, 12, 27), D(2027, 1, 17), D(2027, 2, 7), D(2027, 2, 28), D(2027, 3, 21), D(2027, 4, 11)]


def test_picture_counts_per_course():
    s = expand_regimen(PICTURE, D(2026, 12, 7))
    counts = Counter(e.agent for e in s.events)
    assert counts == {"capecitabine": 168, "interleukin-2": 42, "oxaliplatin": 6, "tislelizumab": 6}


def test_cycle_1_by_hand():
    s = expand_regimen(PICTURE, D(2026, 12, 7))
    c1 = [e for e in s.events if e.cycle == 1]
    cape = [e for e in c1 if e.agent == "capecitabine"]
    # morning of Mon 7 Dec … evening of Sun 20 Dec
    assert (cape[0].date, cape[0].slot) == (D(2026, 12, 7), Slot.MORNING)
    assert (cape[-1].date, cape[-1].slot) == (D(2026, 12, 20), Slot.EVENING)
    il2 = [e.date for e in c1 if e.agent == "interleukin-2"]
    assert il2 == [D(2026, 12, 7), D(2026, 12, 9), D(2026, 12, 11), D(2026, 12, 13),
                   D(2026, 12, 15), D(2026, 12, 17), D(2026, 12, 19)]
    infusions = [(e.agent, e.time, e.minutes) for e in c1 if e.kind is Kind.INFUSION]
    # tislelizumab first (order 1), 60 min in cycle 1; oxaliplatin after it, 120 min
    assert infusions == [("tislelizumab", dt.time(9, 0), 60), ("oxaliplatin", dt.time(10, 0), 120)]
    c2 = [(e.agent, e.time, e.minutes) for e in s.events if e.cycle == 2 and e.kind is Kind.INFUSION]
    assert c2 == [("tislelizumab", dt.time(9, 0), 30), ("oxaliplatin", dt.time(9, 30), 120)]


def test_ids_are_stable_and_readable():
    s = expand_regimen(PICTURE, D(2026, 12, 7), 1)
    ids = {e.id for e in s.events}
    assert "picture/c1/capecitabine/d14/evening" in ids
    assert "picture/c1/interleukin-2/d13" in ids
    assert "picture/c1/tislelizumab/d1" in ids


def test_events_sorted_by_date_then_time():
    s = expand_regimen(PICTURE, D(2026, 12, 7))
    keys = [(e.date, e.time) for e in s.events]
    assert keys == sorted(keys)


def test_capox_is_not_picture():
    capox = load_regimen("capox")
    s = expand_regimen(capox, D(2027, 1, 4))
    assert len(s.cycles) == 8
    assert Counter(e.agent for e in s.events) == {"capecitabine": 224, "oxaliplatin": 8}
    assert s.cycles[-1].day1 == D(2027, 1, 4) + dt.timedelta(days=7 * 21)  # 2027-05-31
    assert s.cycles[-1].day1 == D(2027, 5, 31)


# -- properties -------------------------------------------------------------------------------


@st.composite
def regimens(draw):
    """PICTURE-like regimens: random cycle length, oral/injection day patterns given as data."""
    cycle_days = draw(st.integers(14, 35))
    oral_to = draw(st.integers(1, cycle_days - 1))
    step = draw(st.integers(1, 3))
    inj_to = draw(st.integers(1, cycle_days))
    data = {
        "id": "variant", "version": "v", "title": "Variant", "source": "test", "cycle_days": cycle_days,
        "cycles": draw(st.integers(1, 8)),
        "agents": [
            {"id": "drip", "name": "Drip", "kind": "infusion", "route": "IV", "order": 1,
             "dose": {"basis": "flat", "amount": 200, "unit": "mg"}, "days": [1], "infusion_minutes": [60, 30]},
            {"id": "pill", "name": "Pill", "kind": "oral", "route": "oral", "slots": ["morning", "evening"],
             "dose": {"basis": "per_m2", "amount": 1000, "unit": "mg"}, "days": {"from": 1, "to": oral_to}},
            {"id": "jab", "name": "Jab", "kind": "injection", "route": "SC",
             "dose": {"basis": "text", "text": "as prescribed"}, "days": {"from": 1, "to": inj_to, "step": step}},
        ],
    }
    return regimen_from_data(data, "variant.toml")


starts = st.dates(D(2024, 1, 1), D(2035, 12, 31))


@settings(max_examples=150, deadline=None)
@given(starts, st.integers(1, 12))
def test_picture_invariants(start, cycles):
    s = expand_regimen(PICTURE, start, cycles)
    counts = Counter(e.agent for e in s.events)
    assert counts == {"capecitabine": 28 * cycles, "interleukin-2": 7 * cycles,
                      "oxaliplatin": cycles, "tislelizumab": cycles}
    for e in s.events:
        c = s.cycles[e.cycle - 1]
        assert c.day1 <= e.date <= c.last_day
        assert e.date == c.day1 + dt.timedelta(days=e.day - 1)
        if e.agent == "capecitabine":
            assert 1 <= e.day <= 14  # never on days 15–21
        if e.agent == "interleukin-2":
            assert e.day in (1, 3, 5, 7, 9, 11, 13)
    for a, b in zip(s.cycles, s.cycles[1:]):
        assert b.day1 == a.last_day + dt.timedelta(days=1)  # consecutive, non-overlapping
    assert s.cycles[0].day1 == start
    assert len({e.id for e in s.events}) == len(s.events)


@settings(max_examples=100, deadline=None)
@given(regimens(), starts, starts)
def test_variant_invariants_and_ids_independent_of_start(regimen, start_a, start_b):
    a = expand_regimen(regimen, start_a)
    b = expand_regimen(regimen, start_b)
    assert [e.id for e in a.events] == [e.id for e in b.events] or {e.id for e in a.events} == {e.id for e in b.events}
    assert len({e.id for e in a.events}) == len(a.events)
    pill_days = regimen.agent("pill").days
    jab_days = regimen.agent("jab").days
    n = regimen.cycles
    counts = Counter(e.agent for e in a.events)
    assert counts == {"drip": n, "pill": 2 * len(pill_days) * n, "jab": len(jab_days) * n}
    for e in a.events:
        cycle = a.cycles[e.cycle - 1]
        assert cycle.day1 <= e.date <= cycle.last_day
        assert (cycle.last_day - cycle.day1).days == regimen.cycle_days - 1
    for x, y in zip(a.cycles, a.cycles[1:]):
        assert (y.day1 - x.day1).days == regimen.cycle_days


@settings(max_examples=60, deadline=None)
@given(starts, st.lists(st.tuples(st.integers(1, 6), st.integers(0, 30)), max_size=3),
       st.sampled_from([None, "oxaliplatin", "tislelizumab"]))
def test_expand_cycles_matches_the_full_expansion(start, delays, omit):
    from picture_schedule.core.model import Change, Course
    from picture_schedule.core.scheduler import expand

    changes = tuple(Change(cycle=c, reason="r", delay_days=d) for c, d in delays if d) + (
        (Change(cycle=2, reason="r", omit=(omit,)),) if omit else ())
    course = Course(patient="P", regimen=PICTURE, start=start, cycles=6, changes=changes)
    full = expand(course)
    brief = expand(course, brief=True)
    assert brief.brief and brief.events == () and brief.notes == tuple(n for n in full.notes if n.code != "confirm-dose")
    assert [(c.number, c.day1, c.last_day, c.chair_minutes, c.infusion_start) for c in brief.cycles] == [
        (c.number, c.day1, c.last_day, c.chair_minutes, c.infusion_start) for c in full.cycles]


def test_a_brief_schedule_cannot_be_printed():
    import pytest

    from picture_schedule.core.model import Course
    from picture_schedule.render.tabular import to_csv, to_json
    from picture_schedule.render.text import to_table
    from picture_schedule.core.scheduler import expand

    brief = expand(Course(patient="P", regimen=PICTURE, start=D(2026, 12, 7), cycles=6), brief=True)
    for render in (to_json, to_csv, to_table):
        with pytest.raises(ValueError, match="brief schedule"):
            render(brief)
