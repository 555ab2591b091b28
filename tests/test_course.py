"""A patient's course: doses, changes, holidays and visits, with worked examples checked by hand."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picture_schedule import load_course, schedule
from picture_schedule.errors import ScheduleError
from picture_schedule.loading import course_from_data, validate
from picture_schedule.core.model import Kind, Reason, Slot
from picture_schedule.render.messages import describe, reason_text

from tests.conftest import DATA

D = dt.date
COURSES = DATA / "courses"


def course(name: str):
    return load_course(COURSES / name)


def day1s(s):
    return [c.day1 for c in s.cycles]


def agent_events(s, agent, cycle=None):
    return [e for e in s.events if e.agent == agent and (cycle is None or e.cycle == cycle)]


# -- doses --------------------------------------------------------------------------------------


def test_doses_from_height_and_weight_by_hand():
    s = schedule(course("base.toml"))
    # BSA 1.70 m²; capecitabine 1000 × 1.70 = 1700 mg: 1650 and 1750 are both 50 mg away, ties go
    # down → 1650 = 3 × 500 + 1 × 150 (1700 itself needs 9 tablets)
    cape = agent_events(s, "capecitabine", 1)[0].dose
    assert cape.amount == 1650 and cape.text == "1650 mg = 3 × 500 mg + 1 × 150 mg"
    assert cape.calculated == pytest.approx(1700)
    # oxaliplatin 130 × 1.70 = 221 mg → nearest 5 mg → 220 mg
    assert agent_events(s, "oxaliplatin", 1)[0].dose.text == "220 mg"
    assert agent_events(s, "tislelizumab", 1)[0].dose.text == "200 mg"
    il2 = agent_events(s, "interleukin-2", 1)[0].dose
    assert il2.text == "100IU HD" and il2.confirm
    assert any(n.code == "confirm-dose" for n in s.notes)


def test_dose_reduction_from_cycle_4_by_hand():
    s = schedule(course("reduce-c4.toml"))
    # level -1 for every agent with levels: capecitabine 750 × 1.70 = 1275 → 1250 (1 × 500 + 5 × 150)
    # and 1300 (2 × 500 + 2 × 150) tie → 1250; oxaliplatin 100 × 1.70 = 170 mg
    for n in (1, 2, 3):
        assert agent_events(s, "capecitabine", n)[0].dose.amount == 1650
        assert agent_events(s, "oxaliplatin", n)[0].dose.amount == 220
    for n in (4, 5, 6):
        assert agent_events(s, "capecitabine", n)[0].dose.text == "1250 mg = 1 × 500 mg + 5 × 150 mg"
        assert agent_events(s, "oxaliplatin", n)[0].dose.amount == 170
        assert agent_events(s, "tislelizumab", n)[0].dose.amount == 200  # flat, no levels
    assert [c.dose_levels["capecitabine"] for c in s.cycles] == [0, 0, 0, -1, -1, -1]
    assert day1s(s)[3] == D(2027, 2, 8)  # a dose change moves no date


def test_prescribed_dose_wins_and_is_warned_when_far():
    s = schedule(course("prescribed-far.toml"))
    ox = agent_events(s, "oxaliplatin", 1)[0].dose
    # calculated 130 × 1.70 = 221 mg; prescribed 200 mg is −9.5 % → over the 5 % threshold: warned, kept
    assert ox.amount == 200 and ox.prescribed
    (warning,) = ox.warnings
    assert warning.code == "dose-deviation" and warning.params["agent"] == "oxaliplatin"
    assert "-9.5 %" in describe(warning, "en") and "-9.5%" in describe(warning, "zh-CN")
    assert warning in s.notes and "oxaliplatin" in describe(warning, "en").lower()
    il2 = agent_events(s, "interleukin-2", 1)[0].dose
    assert il2.text == "1000000 IU" and not il2.confirm


# -- changes ------------------------------------------------------------------------------------


def test_delay_cycle_3_by_7_days_by_hand():
    s = schedule(course("delay-c3.toml"))
    assert day1s(s) == [D(2026, 12, 7), D(2026, 12, 28), D(2027, 1, 25), D(2027, 2, 15),
                        D(2027, 3, 8), D(2027, 3, 29)]
    c3 = s.cycles[2]
    typed = (Reason.typed("neutropenia"),)
    assert (c3.planned_day1, c3.delay_days, c3.delay_reason) == (D(2027, 1, 18), 7, typed)
    assert s.cycles[3].move_reason == (Reason("follows", {"cycle": 3, "reasons": typed}),)
    assert reason_text(s.cycles[3].move_reason, "en") == "follows cycle 3: neutropenia"
    first = agent_events(s, "capecitabine", 3)[0]
    assert first.date == D(2027, 1, 25) and first.moved and first.revision == 1
    assert first.modified == dt.datetime(2027, 1, 17, 15, 20)
    assert all(not e.moved and e.revision == 0 for e in s.events if e.cycle < 3)


def test_oxaliplatin_omission_cycle_2():
    s = schedule(course("omit-oxaliplatin-c2.toml"))
    assert [e.cycle for e in agent_events(s, "oxaliplatin")] == [1, 3, 4, 5, 6]
    assert [e.id for e in s.cancelled] == ["picture/c2/oxaliplatin/d1"]
    assert s.cycles[1].omitted == ("oxaliplatin",)
    assert s.cycles[1].chair_minutes == 30 + 30  # tislelizumab 30 min + 30 min observation
    assert len(agent_events(s, "capecitabine", 2)) == 28  # the cycle still happens


def test_stop_after_cycle_5():
    s = schedule(course("stop-after-c5.toml"))
    assert len(s.cycles) == 5
    counts = Counter(e.agent for e in s.events)
    assert counts == {"capecitabine": 140, "interleukin-2": 35, "oxaliplatin": 5, "tislelizumab": 5}
    assert {e.cycle for e in s.cancelled} == {6} and len(s.cancelled) == 28 + 7 + 2
    assert s.end == D(2027, 3, 21)


def test_hold_days_are_not_made_up():
    s = schedule(course("hold-c2.toml"))
    days = sorted({e.day for e in agent_events(s, "capecitabine", 2)})
    assert days == [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14]
    assert len(agent_events(s, "capecitabine", 2)) == 22
    assert len([e for e in s.cancelled if e.agent == "capecitabine"]) == 6
    assert s.cycles[1].held_days == (8, 9, 10)


def test_evening_first_dose_convention():
    s = schedule(course("evening-first.toml"))
    c1 = agent_events(s, "capecitabine", 1)
    assert len(c1) == 28
    assert (c1[0].date, c1[0].slot, c1[0].time) == (D(2026, 12, 7), Slot.EVENING, dt.time(19, 30))
    assert (c1[-1].date, c1[-1].slot, c1[-1].day) == (D(2026, 12, 21), Slot.MORNING, 15)


# -- holidays and shift policies (2026 dates are the State Council's announced ones) -------------

CN = {"holidays": {"country": "CN"}}


def course_on(start: str, policy: str, max_days: int = 10, cycles: int = 1):
    data = {"patient": "P", "start": D.fromisoformat(start), "cycles": cycles,
            "site": {**CN, "shift": {"policy": policy, "max_days": max_days}}}
    return schedule(course_from_data(data, "test.toml"))


@pytest.mark.parametrize("policy, expected", [
    # National Day 2026: closed Thu 1 – Wed 7 October; Mon 5 Oct is a holiday
    ("next", D(2026, 10, 8)),       # Thu 8 Oct, +3
    ("previous", D(2026, 9, 30)),   # Wed 30 Sep, −5
    ("nearest", D(2026, 10, 8)),    # +3 beats −5
    ("none", D(2026, 10, 5)),       # stays, flagged
])
def test_national_day_each_policy(policy, expected):
    s = course_on("2026-10-05", policy)
    assert s.cycles[0].day1 == expected
    if policy == "none":
        assert any(n.code == "closed-day1" for n in s.notes)
    else:
        assert "National Day" in reason_text(s.cycles[0].shift_reason, "en")
        assert s.cycles[0].move_reason


@pytest.mark.parametrize("policy, expected", [
    # Spring Festival 2026: closed Sun 15 – Mon 23 Feb; Sat 14 Feb is a make-up working day (open)
    ("next", D(2026, 2, 24)),       # +8
    ("previous", D(2026, 2, 14)),   # −2: the make-up Saturday
    ("nearest", D(2026, 2, 14)),
])
def test_spring_festival_each_policy_and_make_up_day(policy, expected):
    assert course_on("2026-02-16", policy).cycles[0].day1 == expected


def test_shift_beyond_max_is_flagged_not_moved():
    s = course_on("2026-02-16", "next", max_days=5)
    assert s.cycles[0].day1 == D(2026, 2, 16)
    assert any(n.code == "closed-day1" and "5 days" in describe(n, "en") for n in s.notes)


def test_later_cycles_count_from_the_shifted_day1():
    s = course_on("2026-09-16", "next", cycles=3)
    # c1 Wed 16 Sep; c2 target Wed 7 Oct (National Day) → Thu 8 Oct; c3 = 8 Oct + 21 = Thu 29 Oct
    assert day1s(s) == [D(2026, 9, 16), D(2026, 10, 8), D(2026, 10, 29)]
    tablets = agent_events(s, "capecitabine", 2)
    assert tablets[0].date == D(2026, 10, 8) and tablets[-1].date == D(2026, 10, 21)
    # 22 days between c1 and c2: inside the default −3/+7 window, nothing flagged
    assert not any(n.code == "interval" for n in s.notes)


def test_interval_outside_window_is_flagged():
    data = {"patient": "P", "start": D(2026, 12, 7), "cycles": 3,
            "site": {"shift": {"interval_window": [0, 3]}},
            "changes": [{"cycle": 2, "delay_days": 7, "reason": "infection"}]}
    s = schedule(course_from_data(data, "t.toml"))
    assert [describe(n, "en") for n in s.notes if n.code == "interval"] == [
        "cycle 2 starts 28 days after cycle 1 (allowed 21 −0/+3)"]


def test_estimated_holiday_years_are_announced():
    s = schedule(load_course(Path(__file__).parent.parent / "examples" / "course-example.toml"))
    assert 2027 in s.estimated_years
    assert any(n.code == "estimated-holidays" and 2027 in n.params["years"] and "2027" in describe(n, "en")
               for n in s.notes)


# -- visits -------------------------------------------------------------------------------------


def test_visit_anchored_to_start_does_not_slip():
    s = schedule(course("visit-start-anchor.toml"))
    (mri,) = [e for e in s.events if e.agent == "mri"]
    assert mri.date == D(2027, 2, 8)  # 2026-12-07 + 63 days, although cycle 3 moved 14 days
    assert mri.window == (D(2027, 2, 5), D(2027, 2, 15))
    (bloods,) = [e for e in s.events if e.agent == "bloods"]
    # cycle 3 day 1: 2027-01-18 + 14 = Mon 2027-02-01; bloods the day before is Sun 31 Jan, closed
    # (the inline site keeps Monday–Friday), as is Sat 30 → Fri 29 Jan, the window's first day
    assert s.cycles[2].day1 == D(2027, 2, 1) and bloods.date == D(2027, 1, 29)
    assert bloods.kind is Kind.VISIT


def test_visit_on_closed_day_moves_inside_its_window():
    data = {"patient": "P", "start": D(2026, 12, 7), "cycles": 2,
            "site": {"visits": [{"id": "bloods", "name": "Bloods", "anchor": "cycle", "cycles": [2],
                                 "offset": -1, "window": [-2, 0]}]}}
    s = schedule(course_from_data(data, "t.toml"))
    (v,) = [e for e in s.events if e.agent == "bloods"]
    # c2 day 1 Mon 28 Dec; target Sun 27 Dec closed (weekend); Sat 26 closed; Fri 25 Dec open
    assert v.date == D(2026, 12, 25) and v.moved and "weekend" in reason_text(v.move_reason, "en")


def test_visit_window_without_open_day_is_flagged():
    data = {"patient": "P", "start": D(2026, 12, 7), "cycles": 2,
            "site": {"visits": [{"id": "bloods", "name": "Bloods", "anchor": "cycle", "cycles": [2],
                                 "offset": -1, "window": [-1, 0]}]}}
    s = schedule(course_from_data(data, "t.toml"))
    assert any(n.code == "visit-window" for n in s.notes)


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    start=st.dates(D(2025, 1, 1), D(2030, 12, 31)),
    cycle=st.integers(1, 6),
    delay=st.integers(1, 60),
)
def test_a_delay_never_moves_an_earlier_cycle(start, cycle, delay):
    base = {"patient": "P", "start": start}
    plain = schedule(course_from_data(base, "t.toml"))
    delayed = schedule(course_from_data(
        {**base, "changes": [{"cycle": cycle, "delay_days": delay, "reason": "r"}]}, "t.toml"))
    for before, after in zip(plain.cycles, delayed.cycles):
        if before.number < cycle:
            assert before.day1 == after.day1
        else:
            assert after.day1 == before.day1 + dt.timedelta(days=delay)
    for c in delayed.cycles:
        assert len(agent_events(delayed, "capecitabine", c.number)) == 28


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(D(2026, 1, 1), D(2026, 12, 31)),
    policy=st.sampled_from(["next", "previous", "nearest"]),
    delays=st.lists(st.tuples(st.integers(1, 6), st.integers(1, 21)), max_size=3),
)
def test_every_cycle_keeps_28_doses_on_a_holiday_calendar(start, policy, delays):
    data = {"patient": "P", "start": start, "site": {**CN, "shift": {"policy": policy, "max_days": 10}},
            "changes": [{"cycle": c, "delay_days": d, "reason": "r"} for c, d in delays]}
    s = schedule(course_from_data(data, "t.toml"))
    assert len(s.cycles) == 6
    for c in s.cycles:
        assert len(agent_events(s, "capecitabine", c.number)) == 28
        assert c.day1 >= s.cycles[0].day1
    for a, b in zip(s.cycles, s.cycles[1:]):  # a policy shift never overlaps the previous cycle's tablets
        assert b.day1 > max(e.date for e in agent_events(s, "capecitabine", a.number))


def test_a_pulled_forward_cycle_never_overlaps_the_previous_tablets():
    """Spring Festival 2026 closes 02-15..02-23; 02-14 is a make-up Saturday, open. Cycle 2 (day 1
    2026-02-02) takes tablets until 02-15, so cycle 3 (due 02-23) may not be pulled back to 02-14:
    under "previous" no day within 10 days fits, and day 1 stays on 02-23, flagged as closed."""
    data = {"patient": "P", "start": D(2026, 1, 12), "site": {**CN, "shift": {"policy": "previous", "max_days": 10}}}
    s = schedule(course_from_data(data, "t.toml"))
    assert [c.day1 for c in s.cycles[:3]] == [D(2026, 1, 12), D(2026, 2, 2), D(2026, 2, 23)]
    assert max(e.date for e in agent_events(s, "capecitabine", 2)) == D(2026, 2, 15)
    assert any(n.code == "closed-day1" and n.params["cycle"] == 3 for n in s.notes)


def test_a_negative_delay_into_the_previous_tablets_is_refused():
    data = {"patient": "P", "start": D(2026, 3, 2), "changes": [{"cycle": 2, "delay_days": -8, "reason": "r"}]}
    with pytest.raises(ScheduleError, match=r"t.toml: changes \(cycle 2\): cycle 2 would start on 2026-03-15"):
        schedule(course_from_data(data, "t.toml"))
    data["changes"][0]["delay_days"] = -7  # into the rest week: allowed
    assert schedule(course_from_data(data, "t.toml")).cycles[1].day1 == D(2026, 3, 16)


# -- broken course files: every invalid field gives its own message ---------------------------

BROKEN = (sorted((COURSES / "broken").glob("*.toml")) + sorted((DATA / "regimens" / "broken").glob("*.toml"))
          + sorted((DATA / "sites" / "broken").glob("*.toml")))


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_course_file_explains_itself(path):
    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    kind, problems = validate(path)
    assert problems, f"{path.name} was accepted"
    messages = [str(p) for p in problems]
    assert any(expected in m for m in messages), messages
    assert all(path.name in m for m in messages), messages
    if "regimens" in path.parts or "sites" in path.parts:
        assert kind == path.parent.parent.name.rstrip("s")
    else:
        with pytest.raises(ScheduleError):
            load_course(path)


def test_broken_files_cover_every_field():
    assert len(BROKEN) >= 50


def test_bsa_band_rounding_from_a_regimen_table():
    """A site whose pharmacy uses the label's table: BSA 1.70 falls in the 1.67–1.78 band → 1750 mg."""
    data = {"patient": "P", "start": D(2026, 12, 7), "regimen": str(DATA / "regimens" / "picture-label-bands.toml"),
            "body": {"bsa_m2": 1.70}}
    s = schedule(course_from_data(data, "t.toml"))
    dose = agent_events(s, "capecitabine", 1)[0].dose
    assert dose.text == "1750 mg = 2 × 500 mg + 5 × 150 mg"
    assert dose.calculated == pytest.approx(1700)
    # a reduced level without its own table is an error, not a silent fallback
    data["changes"] = [{"cycle": 2, "dose_level": {"capecitabine": -1}, "reason": "toxicity"}]
    with pytest.raises(ScheduleError, match="no BSA band table for dose level -1"):
        schedule(course_from_data(data, "t.toml"))


def test_visits_of_a_stopped_cycle_are_cancelled_on_their_would_be_date():
    data = {"patient": "P", "start": D(2026, 12, 7),
            "site": {"clinic_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "visits": [{"id": "bloods", "name": "Bloods", "anchor": "cycle", "offset": -1}]},
            "changes": [{"cycle": 6, "stop": True, "reason": "complete response"}]}
    s = schedule(course_from_data(data, "t.toml"))
    (gone,) = [e for e in s.cancelled if e.agent == "bloods"]
    # cycle 6 would have started Mon 2027-03-22; its bloods the day before
    assert gone.id == "picture/c6/visit-bloods" and gone.date == D(2027, 3, 21)
    assert len([e for e in s.events if e.agent == "bloods"]) == 5


def test_move_reasons_in_chinese():
    s = schedule(course("delay-c3.toml"))
    assert reason_text(s.cycles[2].move_reason, "zh-CN") == "neutropenia"  # the nurse's own words stay as written
    assert reason_text(s.cycles[3].move_reason, "zh-CN") == "随第3周期调整：neutropenia"
    shifted = reason_text(course_on("2026-10-05", "next").cycles[0].move_reason, "zh-CN")
    assert "顺延至 2026-10-08" in shifted and "国庆节" in shifted
    data = {"patient": "P", "start": D(2026, 12, 7), "cycles": 2,
            "site": {"visits": [{"id": "bloods", "name": "Bloods", "anchor": "cycle", "cycles": [2],
                                 "offset": -1, "window": [-2, 0]}]}}
    (v,) = [e for e in schedule(course_from_data(data, "t.toml")).events if e.agent == "bloods"]
    assert reason_text(v.move_reason, "zh-CN") == "由 2026-12-27 调整：周末"


def test_prescription_that_tablets_cannot_make_is_warned_even_without_body_measures():
    data = {"patient": "P", "start": D(2026, 12, 7), "cycles": 1,
            "prescribed": {"capecitabine": {"amount": 1700, "unit": "mg"}}}
    s = schedule(course_from_data(data, "t.toml"))
    dose = agent_events(s, "capecitabine", 1)[0].dose
    assert dose.amount == 1700 and dose.prescribed  # kept as prescribed, never changed
    (note,) = [n for n in s.notes if n.code == "dose-tablets"]
    assert note.params["strengths"] == (500, 150) and note.params["amount"] == 1700
    assert describe(note, "en") == "Capecitabine: prescribed 1700 mg cannot be made from 500, 150 mg tablets"
    assert "无法用 500, 150 mg 片剂组成" in describe(note, "zh-CN")
