"""The chair planner: hand-worked days, the rules one by one, and invariants."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picture_schedule.core.chair_plan import (
    Appointment,
    ChairPlan,
    Suggestion,
    Unit,
    plan,
    suggest,
)
from picture_schedule.errors import CalendarError, InputError
from picture_schedule.render.messages import reason_text

MONDAY = date(2027, 3, 1)
SUNDAY = date(2027, 2, 28)
WEEKDAYS_8_TO_12 = {weekday: (time(8), time(12)) for weekday in range(1, 6)}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def visit(patient: str, minutes: int, day: date = MONDAY, cycle: int = 1) -> Appointment:
    return Appointment(patient=patient, cycle=cycle, day=day, minutes=minutes)


def placed(result: ChairPlan) -> dict[str, tuple[int, datetime, datetime]]:
    return {b.appointment.patient: (b.chair, b.start, b.end) for b in result.bookings}


# ------------------------------------------------------------------ hand-worked days


def test_hand_worked_monday_three_chairs_five_patients() -> None:
    """3 chairs, 08:00–12:00, visits of 150, 150, 150, 90 and 120 min on one Monday.

    Longest first: P1, P2, P3 (150 min each) take chairs 1, 2, 3 at 08:00 and end
    at 10:30. Next is P5 (120 min): the first chair frees at 10:30, and 10:30 + 120
    min = 12:30 is after closing, so P5 cannot be placed anywhere. P4 (90 min) then
    takes chair 1 at 10:30 and ends exactly at 12:00.

    Load: booked 3 × 150 + 90 = 540 min; available 3 × 240 = 720 min; demand 540 +
    120 = 660 min (below what is available, but P5 is unplaced, so the day is over
    capacity); at most 3 chairs in use.
    """
    unit = Unit(chairs=3, hours=WEEKDAYS_8_TO_12, slot_minutes=15)
    cohort = [visit("P1", 150), visit("P2", 150), visit("P3", 150), visit("P4", 90), visit("P5", 120)]

    result = plan(cohort, unit)

    assert placed(result) == {
        "P1": (1, at(MONDAY, 8), at(MONDAY, 10, 30)),
        "P2": (2, at(MONDAY, 8), at(MONDAY, 10, 30)),
        "P3": (3, at(MONDAY, 8), at(MONDAY, 10, 30)),
        "P4": (1, at(MONDAY, 10, 30), at(MONDAY, 12)),
    }
    assert [(u.appointment.patient, reason_text(u.reason, "en")) for u in result.unplaced] == [
        ("P5", "no chair free for 120 min before 12:00")
    ]
    (load,) = result.days
    assert load.day == MONDAY
    assert load.booked_minutes == 540
    assert load.available_minutes == 720
    assert load.demand_minutes == 660
    assert load.peak_chairs == 3
    assert load.patients == ("P1", "P2", "P3", "P4")
    assert load.unplaced == result.unplaced
    assert load.over_capacity
    assert result.over_capacity_days == (load,)
    assert (result.booked_minutes, result.unplaced_minutes, result.demand_minutes) == (540, 120, 660)


def test_hand_worked_hourly_occupancy() -> None:
    """Same Monday: 08–10 all three chairs busy; 10–11 three chairs for 30 min and
    chair 1 for the other 30 (120 of 180 chair minutes); 11–12 chair 1 only (60/180)."""
    unit = Unit(chairs=3, hours=WEEKDAYS_8_TO_12)
    cohort = [visit("P1", 150), visit("P2", 150), visit("P3", 150), visit("P4", 90), visit("P5", 120)]

    result = plan(cohort, unit)

    assert result.hourly(MONDAY) == [(8, 1.0), (9, 1.0), (10, 120 / 180), (11, 60 / 180)]
    assert result.hourly(SUNDAY) == []
    assert result.hourly(MONDAY + timedelta(days=1)) == [(8, 0.0), (9, 0.0), (10, 0.0), (11, 0.0)]


def test_hourly_counts_only_open_minutes_of_a_partial_hour() -> None:
    """Open 08:30–10:00: the 8 o'clock hour has 30 open minutes per chair."""
    unit = Unit(chairs=2, hours={1: (time(8, 30), time(10))})

    result = plan([visit("P1", 90)], unit)

    assert result.hourly(MONDAY) == [(8, 30 / 60), (9, 60 / 120)]


def test_longest_first_packs_better_than_first_come() -> None:
    """2 chairs, 08:00–12:00: A and B need 120 min, C needs 240 min. Placing C first
    fills both chairs (C on chair 1 all morning, A then B on chair 2); placing A and
    B first would have left no chair free for four hours."""
    unit = Unit(chairs=2, hours=WEEKDAYS_8_TO_12)

    result = plan([visit("A", 120), visit("B", 120), visit("C", 240)], unit)

    assert result.unplaced == ()
    assert placed(result) == {
        "C": (1, at(MONDAY, 8), at(MONDAY, 12)),
        "A": (2, at(MONDAY, 8), at(MONDAY, 10)),
        "B": (2, at(MONDAY, 10), at(MONDAY, 12)),
    }


def test_ties_are_broken_by_patient_then_cycle() -> None:
    unit = Unit(chairs=1, hours=WEEKDAYS_8_TO_12)
    cohort = [visit("B", 60, cycle=1), visit("A", 60, cycle=2), visit("A", 60, cycle=1)]

    result = plan(cohort, unit)

    assert [(b.appointment.patient, b.appointment.cycle, b.start.time()) for b in result.bookings] == [
        ("A", 1, time(8)),
        ("A", 2, time(9)),
        ("B", 1, time(10)),
    ]


def test_starts_round_up_to_the_slot_grid() -> None:
    """A 50-min visit frees chair 1 at 08:50; the next start on a 15-min grid is 09:00."""
    unit = Unit(chairs=1, hours=WEEKDAYS_8_TO_12, slot_minutes=15)

    result = plan([visit("A", 50), visit("B", 40)], unit)

    assert placed(result) == {
        "A": (1, at(MONDAY, 8), at(MONDAY, 8, 50)),
        "B": (1, at(MONDAY, 9), at(MONDAY, 9, 40)),
    }


def test_a_visit_may_end_exactly_at_closing_but_not_after() -> None:
    unit = Unit(chairs=1, hours={1: (time(8), time(12))}, slot_minutes=30)

    result = plan([visit("A", 200), visit("B", 30), visit("C", 10)], unit)

    # A 08:00–11:20; next grid start 11:30: B (30 min) ends 12:00, C has no room.
    assert placed(result) == {
        "A": (1, at(MONDAY, 8), at(MONDAY, 11, 20)),
        "B": (1, at(MONDAY, 11, 30), at(MONDAY, 12)),
    }
    assert [reason_text(u.reason, "en") for u in result.unplaced] == ["no chair free for 10 min before 12:00"]


# ------------------------------------------------------------------ nurse limit


def test_nurse_limit_pushes_the_third_start_to_the_next_slot() -> None:
    unit = Unit(chairs=3, hours=WEEKDAYS_8_TO_12, slot_minutes=15, nurse_starts_per_slot=2)

    result = plan([visit("P1", 60), visit("P2", 60), visit("P3", 60)], unit)

    assert placed(result) == {
        "P1": (1, at(MONDAY, 8), at(MONDAY, 9)),
        "P2": (2, at(MONDAY, 8), at(MONDAY, 9)),
        "P3": (3, at(MONDAY, 8, 15), at(MONDAY, 9, 15)),
    }
    assert result.days[0].peak_chairs == 3


def test_without_nurse_limit_all_three_start_together() -> None:
    unit = Unit(chairs=3, hours=WEEKDAYS_8_TO_12, slot_minutes=15)

    result = plan([visit("P1", 60), visit("P2", 60), visit("P3", 60)], unit)

    assert {b.start for b in result.bookings} == {at(MONDAY, 8)}


def test_nurse_limit_can_leave_a_visit_unplaced() -> None:
    """One start per 60-min slot, 08:00–10:00: two 60-min visits use both slots;
    the third has a free chair but no start left."""
    unit = Unit(chairs=3, hours={1: (time(8), time(10))}, slot_minutes=60, nurse_starts_per_slot=1)

    result = plan([visit("P1", 60), visit("P2", 60), visit("P3", 60)], unit)

    assert placed(result) == {
        "P1": (1, at(MONDAY, 8), at(MONDAY, 9)),
        "P2": (1, at(MONDAY, 9), at(MONDAY, 10)),
    }
    assert [reason_text(u.reason, "en") for u in result.unplaced] == [
        "no chair free for 60 min before 10:00 within the nurse limit of 1 starts per slot"
    ]


# ------------------------------------------------------------------ cannot be placed


def test_closed_weekday_is_unplaced_with_reason() -> None:
    unit = Unit(chairs=3, hours=WEEKDAYS_8_TO_12)

    result = plan([visit("P1", 60, day=SUNDAY)], unit)

    assert result.bookings == ()
    assert [reason_text(u.reason, "en") for u in result.unplaced] == ["unit closed on Sunday"]
    assert [u.reason.code for u in result.unplaced] == ["unit-closed"]
    (load,) = result.days
    assert (load.day, load.booked_minutes, load.available_minutes, load.peak_chairs) == (SUNDAY, 0, 0, 0)
    assert load.over_capacity


def test_longer_than_opening_hours_is_unplaced_with_reason() -> None:
    unit = Unit(chairs=3, hours=WEEKDAYS_8_TO_12)

    result = plan([visit("P1", 241), visit("P2", 240)], unit)

    assert placed(result) == {"P2": (1, at(MONDAY, 8), at(MONDAY, 12))}
    assert [(u.appointment.patient, reason_text(u.reason, "en")) for u in result.unplaced] == [
        ("P1", "longer than opening hours (241 min; open 08:00–12:00, 240 min)")
    ]
    assert result.days[0].over_capacity


def test_demand_above_capacity_is_over_capacity_even_when_everything_fits() -> None:
    """Over capacity also means demand > available (cannot happen with all booked,
    so a day with nothing unplaced and demand within capacity is not over)."""
    unit = Unit(chairs=1, hours=WEEKDAYS_8_TO_12)

    result = plan([visit("A", 120), visit("B", 120)], unit)

    assert result.unplaced == ()
    assert not result.days[0].over_capacity


def test_empty_cohort_gives_an_empty_plan() -> None:
    unit = Unit(chairs=1, hours=WEEKDAYS_8_TO_12)
    calls: list[int] = []

    result = plan([], unit, progress=calls.append)

    assert (result.bookings, result.unplaced, result.days) == ((), (), ())
    assert calls == []


# ------------------------------------------------------------------ values and errors


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"chairs": 0}, "chairs"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"nurse_starts_per_slot": 0}, "nurse_starts_per_slot"),
        ({"hours": {8: (time(8), time(12))}}, "hours[8]"),
        ({"hours": {1: (time(12), time(8))}}, "hours[1]"),
        ({"hours": {1: (time(8), time(12, 0, 30))}}, "hours[1]"),
        ({"hours": {1: "08:00-12:00"}}, "hours[1]"),
    ],
)
def test_unit_rejects_bad_settings(kwargs: dict[str, object], field: str) -> None:
    settings_ = {"chairs": 2, "hours": WEEKDAYS_8_TO_12, **kwargs}
    with pytest.raises(InputError) as caught:
        Unit(**settings_)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize("minutes", [0, -5, 1.5, True])
def test_appointment_rejects_bad_chair_time(minutes: object) -> None:
    with pytest.raises(InputError, match="chair time") as caught:
        Appointment("P1", 2, MONDAY, minutes)  # type: ignore[arg-type]
    assert caught.value.field == "patient P1, cycle 2"


def test_appointment_rejects_a_datetime_as_day() -> None:
    with pytest.raises(InputError, match="must be a date"):
        Appointment("P1", 1, at(MONDAY, 8), 60)


def test_unit_hours_are_read_only_and_the_unit_hashable() -> None:
    hours = dict(WEEKDAYS_8_TO_12)
    unit = Unit(chairs=2, hours=hours)
    hours[6] = (time(8), time(12))

    assert 6 not in unit.hours
    assert unit.hours == WEEKDAYS_8_TO_12
    assert hash(unit) == hash(Unit(chairs=2, hours=WEEKDAYS_8_TO_12))
    with pytest.raises(TypeError):
        unit.hours[6] = (time(8), time(12))  # type: ignore[index]


def test_progress_is_cumulative_and_reported_about_every_percent() -> None:
    unit = Unit(chairs=4, hours=WEEKDAYS_8_TO_12)
    cohort = [visit(f"P{i:04d}", 30, day=MONDAY + timedelta(days=i % 50)) for i in range(1000)]
    calls: list[int] = []

    plan(cohort, unit, progress=calls.append)

    assert calls == sorted(calls)
    assert calls[-1] == 1000
    assert len(calls) <= 101
    assert all(later - earlier >= 10 for earlier, later in zip(calls, calls[1:]))


# ------------------------------------------------------------------ properties

PATIENTS = [f"P{i:02d}" for i in range(1, 7)]


@st.composite
def units(draw: st.DrawFn) -> Unit:
    hours = {}
    for weekday in sorted(draw(st.sets(st.integers(1, 7)))):
        opens = draw(st.integers(6 * 60, 10 * 60))
        closes = min(opens + draw(st.integers(20, 8 * 60)), 23 * 60 + 59)
        hours[weekday] = (time(opens // 60, opens % 60), time(closes // 60, closes % 60))
    return Unit(
        chairs=draw(st.integers(1, 4)),
        hours=hours,
        slot_minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 60])),
        nurse_starts_per_slot=draw(st.none() | st.integers(1, 3)),
    )


appointments = st.builds(
    Appointment,
    patient=st.sampled_from(PATIENTS),
    cycle=st.integers(1, 6),
    day=st.integers(0, 9).map(lambda offset: MONDAY + timedelta(days=offset)),
    minutes=st.integers(1, 300),
    regimen=st.sampled_from(["", "PICTURE"]),
    note=st.sampled_from(["", "shifted from 2027-03-08: holiday"]),
)
cohorts = st.lists(appointments, max_size=30)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_plan(cohort: list[Appointment], unit: Unit) -> tuple[Counter, Counter]:
    """The rules read literally: every grid start from opening, every chair from 1,
    minute by minute. Returns (Counter of (appointment, chair, start), Counter of unplaced)."""
    busy: dict[tuple[date, int], set[int]] = {}
    starts: Counter = Counter()
    booked: Counter = Counter()
    missed: Counter = Counter()
    order = sorted(cohort, key=lambda a: (a.day, -a.minutes, a.patient, a.cycle, a.regimen, a.note))
    for a in order:
        hours = unit.hours.get(a.day.isoweekday())
        done = False
        if hours is not None:
            opens = hours[0].hour * 60 + hours[0].minute
            closes = hours[1].hour * 60 + hours[1].minute
            start = opens
            while not done and start + a.minutes <= closes:
                if unit.nurse_starts_per_slot is None or starts[a.day, start] < unit.nurse_starts_per_slot:
                    for chair in range(1, unit.chairs + 1):
                        taken = busy.setdefault((a.day, chair), set())
                        if taken.isdisjoint(range(start, start + a.minutes)):
                            taken.update(range(start, start + a.minutes))
                            starts[a.day, start] += 1
                            booked[a, chair, at(a.day, start // 60, start % 60)] += 1
                            done = True
                            break
                start += unit.slot_minutes
        if not done:
            missed[a] += 1
    return booked, missed


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_plan_matches_the_literal_earliest_fit_rule(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    booked, missed = reference_plan(cohort, unit)
    assert Counter((b.appointment, b.chair, b.start) for b in result.bookings) == booked
    assert Counter(u.appointment for u in result.unplaced) == missed


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_no_chair_holds_two_overlapping_bookings(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    by_chair: dict[tuple[date, int], list[tuple[datetime, datetime]]] = {}
    for b in result.bookings:
        by_chair.setdefault((b.appointment.day, b.chair), []).append((b.start, b.end))
    for spans in by_chair.values():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end <= start


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_bookings_lie_within_opening_hours_on_the_slot_grid(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    for b in result.bookings:
        day = b.appointment.day
        opens, closes = unit.hours[day.isoweekday()]
        assert b.start.date() == b.end.date() == day
        assert at(day, opens.hour, opens.minute) <= b.start
        assert b.end <= at(day, closes.hour, closes.minute)
        assert b.end - b.start == timedelta(minutes=b.appointment.minutes)
        offset = (b.start - at(day, opens.hour, opens.minute)) // timedelta(minutes=1)
        assert offset % unit.slot_minutes == 0
        assert 1 <= b.chair <= unit.chairs
    if unit.nurse_starts_per_slot is not None:
        per_slot = Counter(b.start for b in result.bookings)
        assert max(per_slot.values(), default=0) <= unit.nurse_starts_per_slot


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_every_appointment_is_booked_or_unplaced_exactly_once(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    outcomes = [b.appointment for b in result.bookings] + [u.appointment for u in result.unplaced]
    assert Counter(outcomes) == Counter(cohort)
    assert all(u.reason for u in result.unplaced)


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_minutes_add_up(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    booked = sum(b.appointment.minutes for b in result.bookings)
    unplaced = sum(u.appointment.minutes for u in result.unplaced)
    assert result.booked_minutes == booked
    assert sum((b.end - b.start) // timedelta(minutes=1) for b in result.bookings) == booked
    assert booked + unplaced == result.demand_minutes == sum(a.minutes for a in cohort)


@PROPERTY
@given(unit=units(), cohort=cohorts, data=st.data())
def test_plan_is_independent_of_input_order(unit: Unit, cohort: list[Appointment], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(cohort))

    assert plan(shuffled, unit) == plan(cohort, unit)


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_day_loads_agree_with_the_bookings(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    assert [load.day for load in result.days] == sorted({a.day for a in cohort})
    for load in result.days:
        bookings = result.bookings_on(load.day)
        unplaced = tuple(u for u in result.unplaced if u.appointment.day == load.day)
        assert load.unplaced == unplaced
        assert load.booked_minutes == sum(b.appointment.minutes for b in bookings)
        assert load.available_minutes == unit.available_minutes(load.day)
        assert load.patients == tuple(dict.fromkeys(b.appointment.patient for b in bookings))
        assert load.over_capacity == (load.demand_minutes > load.available_minutes or bool(unplaced))
        minutes = Counter(
            minute
            for b in bookings
            for minute in range(
                b.start.hour * 60 + b.start.minute,
                b.start.hour * 60 + b.start.minute + b.appointment.minutes,
            )
        )
        assert load.peak_chairs == max(minutes.values(), default=0)
        assert load.peak_chairs <= unit.chairs
        opening = unit.opening(load.day)
        occupied = 0.0
        for hour, share in result.hourly(load.day):
            assert opening is not None
            low, high = max(opening[0], hour * 60), min(opening[1], hour * 60 + 60)
            occupied += share * unit.chairs * (high - low)
        assert math.isclose(occupied, load.booked_minutes, abs_tol=1e-6)


# ------------------------------------------------------------------ suggest

# Two chairs, weekdays 08:00–12:00. The new patient has three cycles of 21 days, each
# a 180-min day-1 infusion; a weekend start is impossible (the caller's rule).
#
# The cohort, by hand:
#   Mon 1 Mar   X1, X2 240 min: both chairs full all morning      -> a start on Mon 1 Mar fails
#   Tue 2 Mar   free, but Tue 23 Mar (its cycle 2) has Y1, Y2 240  -> Tue 2 Mar fails at cycle 2
#   Wed 3 Mar   Z1 240 + Z2 120: the newcomer (180, placed before Z2 by longest first)
#               would take chair 2 08:00–11:00 and push Z2 out  -> fails (Z2 would be unplaced)
#   Thu 4 Mar   free; 25 Mar, 15 Apr free                        -> first suggestion
#   Fri 5 Mar   free, but the caller says this start is impossible (raises)
#   Sat, Sun    the caller returns []
#   Mon 8 Mar   free; 29 Mar, 19 Apr free                        -> second suggestion
SUGGEST_UNIT = Unit(chairs=2, hours=WEEKDAYS_8_TO_12)
SUGGEST_COHORT = [
    visit("X1", 240, day=date(2027, 3, 1)),
    visit("X2", 240, day=date(2027, 3, 1)),
    visit("Y1", 240, day=date(2027, 3, 23)),
    visit("Y2", 240, day=date(2027, 3, 23)),
    visit("Z1", 240, day=date(2027, 3, 3)),
    visit("Z2", 120, day=date(2027, 3, 3)),
]


def new_patient(start: date) -> list[Appointment]:
    if start.isoweekday() > 5:
        return []
    if start == date(2027, 3, 5):
        raise CalendarError("no open day within the shift")
    return [visit("NEW", 180, day=start + timedelta(days=21 * (n - 1)), cycle=n) for n in (1, 2, 3)]


def test_suggest_hand_worked() -> None:
    result = suggest(SUGGEST_COHORT, SUGGEST_UNIT, new_patient, date(2027, 3, 1), 2)

    assert result == [
        Suggestion(date(2027, 3, 4), (date(2027, 3, 4), date(2027, 3, 25), date(2027, 4, 15)), 1),
        Suggestion(date(2027, 3, 8), (date(2027, 3, 8), date(2027, 3, 29), date(2027, 4, 19)), 1),
    ]


def test_suggested_starts_fit_when_re_planned_and_earlier_starts_do_not() -> None:
    assert plan(SUGGEST_COHORT, SUGGEST_UNIT).unplaced == ()
    suggestions = suggest(SUGGEST_COHORT, SUGGEST_UNIT, new_patient, date(2027, 3, 1), 2)

    for suggestion in suggestions:
        result = plan([*SUGGEST_COHORT, *new_patient(suggestion.start)], SUGGEST_UNIT)
        assert result.unplaced == ()
        assert suggestion.peak_chairs == max(result.day(d).peak_chairs for d in suggestion.day1s)  # type: ignore[union-attr]

    # Every earlier open start leaves something unplaced, each for the reason worked by hand.
    for start, patient, day in [
        (date(2027, 3, 1), "NEW", date(2027, 3, 1)),
        (date(2027, 3, 2), "NEW", date(2027, 3, 23)),
        (date(2027, 3, 3), "Z2", date(2027, 3, 3)),
    ]:
        result = plan([*SUGGEST_COHORT, *new_patient(start)], SUGGEST_UNIT)
        assert [(u.appointment.patient, u.appointment.day) for u in result.unplaced] == [(patient, day)]


def test_suggest_peak_counts_the_busiest_day() -> None:
    cohort = [visit("A", 60, day=date(2027, 3, 25))]

    (first,) = suggest(cohort, SUGGEST_UNIT, new_patient, date(2027, 3, 4), 1)

    assert first.start == date(2027, 3, 4)
    assert first.peak_chairs == 2  # 25 Mar: A and the newcomer side by side at 08:00


def test_suggest_tolerates_days_already_over_capacity() -> None:
    """A day that is already over capacity may still take the newcomer if what was
    booked stays booked; here 1 Mar has three 240-min visits on two chairs (one is
    already unplaced), so the newcomer cannot fit there, but can from 2 Mar."""
    cohort = [visit(f"W{i}", 240, day=date(2027, 3, 1)) for i in range(3)]

    result = suggest(cohort, SUGGEST_UNIT, new_patient, date(2027, 3, 1), 1)

    assert [s.start for s in result] == [date(2027, 3, 2)]


def test_suggest_stops_at_the_horizon() -> None:
    assert suggest(SUGGEST_COHORT, SUGGEST_UNIT, new_patient, date(2027, 3, 1), 5, horizon_days=4) == [
        Suggestion(date(2027, 3, 4), (date(2027, 3, 4), date(2027, 3, 25), date(2027, 4, 15)), 1)
    ]


@pytest.mark.parametrize(("count", "horizon"), [(0, 10), (1, 0)])
def test_suggest_rejects_bad_count_or_horizon(count: int, horizon: int) -> None:
    with pytest.raises(InputError):
        suggest([], SUGGEST_UNIT, new_patient, MONDAY, count, horizon_days=horizon)


@settings(max_examples=100, deadline=None)
@given(
    unit=units(),
    cohort=cohorts,
    minutes=st.integers(30, 300),
    cycles=st.integers(1, 3),
)
def test_suggest_agrees_with_re_planning_everything(
    unit: Unit, cohort: list[Appointment], minutes: int, cycles: int
) -> None:
    """For each start in a short window: suggested exactly when re-planning the whole
    cohort with the newcomer books the newcomer and unplaces nothing that was booked."""

    def newcomer(start: date) -> list[Appointment]:
        return [
            Appointment("NEW", n, start + timedelta(days=7 * (n - 1)), minutes) for n in range(1, cycles + 1)
        ]

    before = Counter(u.appointment for u in plan(cohort, unit).unplaced)
    expected = []
    for offset in range(10):
        start = MONDAY + timedelta(days=offset)
        after = plan([*cohort, *newcomer(start)], unit)
        if Counter(u.appointment for u in after.unplaced) <= before:
            expected.append(start)

    result = suggest(cohort, unit, newcomer, MONDAY, 10, horizon_days=10)

    assert [s.start for s in result] == expected
