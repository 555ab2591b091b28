"""The chair planner's "planned time first" rule: a visit keeps the time the patient was given when
a chair is free then, and otherwise goes to the earliest fit and says why (core/chair_plan.py,
rules 2 and 3). Hand-worked days, then the rules read literally, minute by minute, as a reference."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picture_schedule.core.chair_plan import Appointment, ChairPlan, Unit, plan
from picture_schedule.errors import InputError
from picture_schedule.render.messages import reason_text

MONDAY = date(2027, 3, 1)
WEEKDAYS = {weekday: (time(8), time(17)) for weekday in range(1, 6)}


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute))


def visit(patient: str, minutes: int, planned: time | None = None, *, booked: bool = False,
          chair: int | None = None) -> Appointment:
    return Appointment(patient=patient, cycle=1, day=MONDAY, minutes=minutes, planned=planned, booked=booked,
                       chair=chair)


def placed(result: ChairPlan) -> dict[str, tuple[int, datetime, str]]:
    """patient → (chair, start, why it moved: "" when at its planned time or without one)."""
    return {b.appointment.patient: (b.chair, b.start, reason_text(b.moved, "en")) for b in result.bookings}


# ------------------------------------------------------------------ hand-worked days


def test_a_patient_whose_planned_time_is_free_keeps_it() -> None:
    """Two chairs. P1 (60 min) was told 09:00 and chair 1 is free then: 09:00 it is, although
    08:00 was free too. P2 has no planned time and takes the earliest fit, chair 2 at 08:00."""
    unit = Unit(chairs=2, hours=WEEKDAYS)

    result = plan([visit("P1", 60, time(9)), visit("P2", 120)], unit)

    assert placed(result) == {"P1": (1, at(9), ""), "P2": (2, at(8), "")}


def test_a_patient_who_collides_is_moved_and_the_plan_says_why() -> None:
    """One chair, both told 09:00. P1 (240 min) is longer, so it goes first and keeps 09:00
    (until 13:00); P2 (120 min) cannot have 09:00 and goes to the earliest fit: 08:00 does not
    leave 120 min before 09:00, so 13:00."""
    unit = Unit(chairs=1, hours=WEEKDAYS)

    result = plan([visit("P2", 120, time(9)), visit("P1", 240, time(9))], unit)

    assert placed(result) == {
        "P1": (1, at(9), ""),
        "P2": (1, at(13), "moved from 09:00 to 13:00: no chair free at 09:00 for 120 min"),
    }


def test_a_booked_time_goes_before_a_longer_visit_that_is_not_booked() -> None:
    """Re-planning keeps what patients were told: P1 (180 min) holds a booking at 09:00, P2 (240
    min, longer) was only given the site's 09:00. Longest first would give 09:00 to P2; the
    booking goes first, so P1 keeps it and P2 moves (13:00: before 09:00 there is only an hour)."""
    unit = Unit(chairs=1, hours=WEEKDAYS)

    result = plan([visit("P1", 180, time(9), booked=True), visit("P2", 240, time(9))], unit)

    assert placed(result) == {
        "P1": (1, at(9), ""),
        "P2": (1, at(12), "moved from 09:00 to 12:00: no chair free at 09:00 for 240 min"),
    }


def test_a_booking_keeps_its_chair_when_that_chair_is_free() -> None:
    unit = Unit(chairs=3, hours=WEEKDAYS)

    result = plan([visit("P1", 60, time(9), booked=True, chair=3), visit("P2", 60, time(9))], unit)

    assert placed(result) == {"P1": (3, at(9), ""), "P2": (1, at(9), "")}


def test_the_nurse_limit_moves_the_next_planned_start_and_says_so() -> None:
    """Three chairs, one start a slot, all three told 09:00 (60 min). P1 (by study number) keeps
    09:00 on chair 1; the others take the earliest free slots: P2 08:00, on chair 1, whose hour
    before P1 is free; P3 08:15, on chair 2 (chair 1 is P2's until 09:00)."""
    unit = Unit(chairs=3, hours=WEEKDAYS, nurse_starts_per_slot=1)

    result = plan([visit("P1", 60, time(9)), visit("P2", 60, time(9)), visit("P3", 60, time(9))], unit)

    why = "the nurse limit of 1 starts per slot is reached at 09:00"
    assert placed(result) == {
        "P1": (1, at(9), ""),
        "P2": (1, at(8), f"moved from 09:00 to 08:00: {why}"),
        "P3": (2, at(8, 15), f"moved from 09:00 to 08:15: {why}"),
    }


def test_a_planned_time_outside_opening_hours_moves_with_the_hours() -> None:
    unit = Unit(chairs=1, hours=WEEKDAYS)

    result = plan([visit("P1", 120, time(16))], unit)

    assert placed(result) == {
        "P1": (1, at(8), "moved from 16:00 to 08:00: a 120-min visit at 16:00 does not fit the opening hours "
                         "08:00–17:00"),
    }


def test_the_free_time_before_a_planned_booking_is_used() -> None:
    """One chair, 08:00–12:00. P1 holds 10:00–11:30. P2 (120 min, no planned time) fits exactly
    into 08:00–10:00 before it; P3 (30 min) then only fits after P1, at 11:30."""
    unit = Unit(chairs=1, hours={1: (time(8), time(12))})

    result = plan([visit("P1", 90, time(10)), visit("P2", 120), visit("P3", 30)], unit)

    assert placed(result) == {"P1": (1, at(10), ""), "P2": (1, at(8), ""), "P3": (1, at(11, 30), "")}
    assert result.unplaced == ()


def test_a_planned_time_off_the_slot_grid_is_kept() -> None:
    """The patient was told 09:10 (a booking made on another grid): kept, though the unit's grid
    is 15 minutes. Visits placed by earliest fit stay on the grid: P3 (70 min, longest first) fills
    08:00–09:10 exactly; P2 (60 min) goes after P1 ends at 10:40, at the next grid start, 10:45."""
    unit = Unit(chairs=1, hours=WEEKDAYS)

    result = plan([visit("P1", 90, time(9, 10), booked=True), visit("P2", 60), visit("P3", 70)], unit)

    assert placed(result) == {"P1": (1, at(9, 10), ""), "P3": (1, at(8), ""), "P2": (1, at(10, 45), "")}


@pytest.mark.parametrize("kwargs", [{"planned": time(9, 0, 30)}, {"planned": "09:00"}, {"chair": 0},
                                    {"chair": True}])
def test_appointment_rejects_bad_planned_time_or_chair(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        Appointment("P1", 1, MONDAY, 60, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the rules read literally

PATIENTS = [f"P{i:02d}" for i in range(1, 7)]


@st.composite
def units(draw: st.DrawFn) -> Unit:
    hours = {}
    for weekday in sorted(draw(st.sets(st.integers(1, 3), min_size=1))):
        opens = draw(st.integers(7 * 60, 9 * 60))
        closes = opens + draw(st.integers(60, 6 * 60))
        hours[weekday] = (time(opens // 60, opens % 60), time(closes // 60, closes % 60))
    return Unit(chairs=draw(st.integers(1, 4)), hours=hours, slot_minutes=draw(st.sampled_from([5, 15, 30, 60])),
                nurse_starts_per_slot=draw(st.none() | st.integers(1, 3)))


appointments = st.builds(
    Appointment,
    patient=st.sampled_from(PATIENTS),
    cycle=st.integers(1, 3),
    day=st.integers(0, 2).map(lambda offset: MONDAY + timedelta(days=offset)),
    minutes=st.integers(1, 300),
    planned=st.none() | st.integers(6 * 60, 16 * 60).map(lambda m: time(m // 60, m % 60)),
    booked=st.booleans(),
    chair=st.none() | st.integers(1, 5),
)
cohorts = st.lists(appointments, max_size=25)
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference(cohort: list[Appointment], unit: Unit) -> tuple[Counter, Counter]:
    """Rules 2 and 3 as the module states them, minute by minute: first each visit with a planned
    time (booked ones first, each group longest first) at that minute, if it lies within opening
    hours, its slot has a free start and a chair is free for the whole visit (its booked chair if
    free, else the lowest); then every other visit longest first at the earliest grid start.
    Returns (Counter of (appointment, chair, start, moved or not), Counter of unplaced)."""
    busy: dict[tuple[date, int], set[int]] = {}
    starts: Counter = Counter()
    booked: Counter = Counter()
    missed: Counter = Counter()
    limit = unit.nurse_starts_per_slot

    def hours(a: Appointment) -> tuple[int, int] | None:
        found = unit.hours.get(a.day.isoweekday())
        return None if found is None else (found[0].hour * 60 + found[0].minute, found[1].hour * 60 + found[1].minute)

    def free(a: Appointment, start: int) -> list[int]:
        return [chair for chair in range(1, unit.chairs + 1)
                if busy.setdefault((a.day, chair), set()).isdisjoint(range(start, start + a.minutes))]

    def take(a: Appointment, chair: int, start: int, opens: int, moved: bool) -> None:
        busy[a.day, chair].update(range(start, start + a.minutes))
        starts[a.day, (start - opens) // unit.slot_minutes] += 1
        booked[a, chair, datetime.combine(a.day, time(start // 60, start % 60)), moved] += 1

    later = [a for a in cohort if a.planned is None]
    first = sorted((a for a in cohort if a.planned is not None), key=lambda a: (
        a.day, not a.booked, -a.minutes, a.patient, a.cycle, a.regimen, a.note, a.planned, a.chair or 0))
    for a in first:
        opening = hours(a)
        assert a.planned is not None
        start = a.planned.hour * 60 + a.planned.minute
        if opening is None or start < opening[0] or start + a.minutes > opening[1] or (
                limit is not None and starts[a.day, (start - opening[0]) // unit.slot_minutes] >= limit):
            later.append(a)
            continue
        chairs = free(a, start)
        if not chairs:
            later.append(a)
            continue
        take(a, a.chair if a.chair in chairs else chairs[0], start, opening[0], False)
    for a in sorted(later, key=lambda a: (a.day, -a.minutes, a.patient, a.cycle, a.regimen, a.note,
                                          a.planned is None, a.planned or time(), a.booked, a.chair or 0)):
        opening = hours(a)
        done = False
        if opening is not None:
            start = opening[0]
            while not done and start + a.minutes <= opening[1]:
                chairs = free(a, start)
                if chairs and (limit is None or starts[a.day, (start - opening[0]) // unit.slot_minutes] < limit):
                    take(a, chairs[0], start, opening[0], a.planned is not None)
                    done = True
                start += unit.slot_minutes
        if not done:
            missed[a] += 1
    return booked, missed


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_plan_matches_the_literal_rules_with_planned_times(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    booked, missed = reference(cohort, unit)
    assert Counter((b.appointment, b.chair, b.start, b.moved is not None) for b in result.bookings) == booked
    assert Counter(u.appointment for u in result.unplaced) == missed


@PROPERTY
@given(unit=units(), cohort=cohorts, data=st.data())
def test_plan_with_planned_times_is_independent_of_input_order(unit: Unit, cohort: list[Appointment],
                                                               data: st.DataObject) -> None:
    assert plan(data.draw(st.permutations(cohort)), unit) == plan(cohort, unit)


@PROPERTY
@given(unit=units(), cohort=cohorts)
def test_a_moved_visit_names_its_planned_and_its_booked_time(unit: Unit, cohort: list[Appointment]) -> None:
    result = plan(cohort, unit)

    for b in result.bookings:
        a = b.appointment
        if b.moved is None:
            assert a.planned is None or b.start.time() == a.planned
        else:
            assert a.planned is not None and b.start.time() != a.planned
            assert b.moved.params["planned"] == a.planned and b.moved.params["start"] == b.start.time()
            assert reason_text(b.moved, "en").startswith(f"moved from {a.planned:%H:%M} to {b.start:%H:%M}: ")
    by_chair: dict[tuple[date, int], list[tuple[datetime, datetime]]] = {}
    for b in result.bookings:
        by_chair.setdefault((b.appointment.day, b.chair), []).append((b.start, b.end))
    for spans in by_chair.values():
        spans.sort()
        assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
