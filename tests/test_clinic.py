"""Clinic calendar: mainland-China holidays, make-up working days, shift policies, intervals.

Expected dates are written by hand from the State Council General Office notices
(国务院办公厅关于20xx年部分节假日安排的通知), not computed from the holidays package.
Dates for 2027 and later are the package's rule-based estimates (no notice yet in holidays 0.109):
those tests say so, and must be rewritten when an upgrade brings the real notice.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picture_schedule.core.clinic import ClinicCalendar, Closure, ShiftPolicy, interval_flag, shift_day
from picture_schedule.core.model import Names, Note, Reason
from picture_schedule.errors import CalendarError
from picture_schedule.render.messages import describe

NEXT, PREVIOUS, NEAREST, NONE = ShiftPolicy.NEXT, ShiftPolicy.PREVIOUS, ShiftPolicy.NEAREST, ShiftPolicy.NONE
CN = ClinicCalendar(country="CN")  # Monday–Friday unit in Nanjing


def holiday(key: str, observed: bool = False) -> Reason:
    return Reason("holiday", {"key": key, "observed": observed})


def words(reason: Reason | None) -> tuple[str, str]:
    """A reason as the English and the Chinese outputs word it."""
    assert reason is not None
    return describe(reason, "en"), describe(reason, "zh-CN")


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# Days off (holiday blocks, weekends inside included) and weekend make-up working days, per notice.
NOTICES = {
    2024: (  # 国办发明电〔2023〕7号
        [*days("2023-12-30", "2024-01-01"), *days("2024-02-10", "2024-02-17"),
         *days("2024-04-04", "2024-04-06"), *days("2024-05-01", "2024-05-05"),
         *days("2024-06-08", "2024-06-10"), *days("2024-09-15", "2024-09-17"),
         *days("2024-10-01", "2024-10-07")],
        ["2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
         "2024-09-29", "2024-10-12"],
    ),
    2025: (  # 国办发明电〔2024〕12号
        [date(2025, 1, 1), *days("2025-01-28", "2025-02-04"), *days("2025-04-04", "2025-04-06"),
         *days("2025-05-01", "2025-05-05"), *days("2025-05-31", "2025-06-02"),
         *days("2025-10-01", "2025-10-08")],
        ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    ),
    2026: (  # 国办发明电〔2025〕7号
        [*days("2026-01-01", "2026-01-03"), *days("2026-02-15", "2026-02-23"),
         *days("2026-04-04", "2026-04-06"), *days("2026-05-01", "2026-05-05"),
         *days("2026-06-19", "2026-06-21"), *days("2026-09-25", "2026-09-27"),
         *days("2026-10-01", "2026-10-07")],
        ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
    ),
}


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_every_day_of_an_announced_year_matches_the_notice(year: int) -> None:
    off, worked = NOTICES[year]
    off_days, worked_days = set(off), {date.fromisoformat(d) for d in worked}
    wrong = []
    for day in days(f"{year}-01-01", f"{year}-12-31"):
        expected = day in worked_days or (day.isoweekday() <= 5 and day not in off_days)
        if CN.is_open(day) != expected:
            wrong.append(f"{day} {'open' if expected else 'closed'} in the notice")
    assert wrong == []


# --- Spring Festival and National Day 2026 (announced) ------------------------------------------


@pytest.mark.parametrize("day", days("2026-02-15", "2026-02-23"))
def test_spring_festival_2026_is_closed(day: date) -> None:
    assert not CN.is_open(day)


def test_spring_festival_2026_reasons() -> None:
    assert CN.closure(date(2026, 2, 16)) == Closure(
        date(2026, 2, 16), Reason("holidays", {"names": (holiday("spring-festival-eve"),)}))
    assert CN.closure(date(2026, 2, 17)) == Closure(
        date(2026, 2, 17), Reason("holidays", {"names": (holiday("spring-festival"),)}))
    assert CN.closure(date(2026, 2, 20)) == Closure(date(2026, 2, 20), Reason(
        "day-off-swapped", {"festivals": (holiday("spring-festival"),), "worked": date(2026, 2, 14)}))
    assert CN.closure(date(2026, 2, 15)) == Closure(
        date(2026, 2, 15), Reason("festival-weekend", {"festivals": (holiday("spring-festival"),)}))
    assert [words(CN.closure(date(2026, 2, d)).reason) for d in (16, 17, 20, 15)] == [  # type: ignore[union-attr]
        ("Spring Festival (New Year's Eve)", "春节（除夕）"),
        ("Spring Festival", "春节"),
        ("Spring Festival (day off swapped with working Saturday 2026-02-14)", "春节（调休，2026-02-14 周六上班）"),
        ("Spring Festival holiday (weekend)", "春节假期（周末）"),
    ]


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_spring_festival_2026_make_up_saturdays_are_open(day: date) -> None:
    assert CN.is_open(day)
    assert CN.note(day) == Reason("make-up-day", {"festivals": (holiday("spring-festival"),)})
    assert words(CN.note(day)) == ("make-up working day (Spring Festival)", "调休上班日（春节）")


def test_make_up_day_opens_even_when_its_weekday_is_not_a_clinic_day() -> None:
    tuesday_thursday = ClinicCalendar(clinic_days=(2, 4), country="CN")
    assert tuesday_thursday.is_open(date(2026, 9, 20))  # Sunday worked for National Day
    assert words(tuesday_thursday.note(date(2026, 9, 20))) == ("make-up working day (National Day)", "调休上班日（国庆节）")
    assert not tuesday_thursday.is_open(date(2026, 9, 21))  # Monday
    wednesday = tuesday_thursday.closure(date(2026, 9, 23))
    assert wednesday == Closure(date(2026, 9, 23), Reason("weekday-closed", {"weekday": 3}))
    assert words(wednesday.reason) == ("clinic closed on Wednesdays", "本科室周三不开诊")


@pytest.mark.parametrize("day", days("2026-10-01", "2026-10-07"))
def test_national_day_2026_is_closed(day: date) -> None:
    assert not CN.is_open(day)
    closure = CN.closure(day)
    assert closure is not None and "National Day" in describe(closure.reason, "en")
    assert "国庆节" in describe(closure.reason, "zh-CN")


def test_national_day_2026_make_up_days_and_neighbours() -> None:
    assert CN.is_open(date(2026, 9, 20)) and CN.is_open(date(2026, 10, 10))
    assert CN.is_open(date(2026, 9, 30)) and CN.is_open(date(2026, 10, 8))
    assert CN.note(date(2026, 10, 8)) is None  # an ordinary Thursday


def test_ordinary_weekend_is_closed() -> None:
    assert CN.closure(date(2026, 3, 7)) == Closure(date(2026, 3, 7), Reason("weekend"))
    assert CN.closure(date(2026, 3, 8)) == Closure(date(2026, 3, 8), Reason("weekend"))
    assert words(Reason("weekend")) == ("weekend", "周末")
    assert CN.note(date(2026, 3, 7)) is None


def test_extra_closure_and_extra_opening() -> None:
    calendar = ClinicCalendar(
        country="CN",
        extra_closures={date(2026, 3, 11): "ward move", date(2026, 2, 14): "staff training"},
        extra_openings={date(2026, 3, 14): "Saturday trial clinic", date(2026, 2, 17): "on call"},
    )
    ward_move = calendar.closure(date(2026, 3, 11))
    assert ward_move == Closure(date(2026, 3, 11), Reason.typed("ward move"))
    assert words(ward_move.reason) == ("ward move", "ward move")  # as the site wrote it, in every language
    assert calendar.closure(date(2026, 2, 14)) == Closure(date(2026, 2, 14), Reason.typed("staff training"))
    assert calendar.is_open(date(2026, 3, 14))  # ordinary Saturday
    assert calendar.note(date(2026, 3, 14)) == Reason.typed("Saturday trial clinic")
    assert calendar.is_open(date(2026, 2, 17))  # Spring Festival day 1
    assert calendar.note(date(2026, 2, 17)) == Reason.typed("on call")


def test_no_country_means_weekdays_only() -> None:
    calendar = ClinicCalendar()
    assert calendar.is_open(date(2026, 2, 17))
    assert not calendar.is_open(date(2026, 2, 14))
    assert calendar.note(date(2026, 2, 14)) is None
    assert calendar.estimated_years(date(2026, 1, 1), date(2030, 12, 31)) == ()


# --- 2027: the package's estimate (no State Council notice in holidays 0.109) ------------------


def test_spring_festival_2027_is_an_estimate() -> None:
    assert 2027 in CN.estimated_years(date(2027, 1, 1), date(2027, 12, 31))
    # Eve Fri 5 Feb, festival Sat 6 – Mon 8 Feb, weekend days moved to Tue 9 and Wed 10 Feb.
    assert [CN.is_open(d) for d in days("2027-02-04", "2027-02-11")] == [
        True, False, False, False, False, False, False, True,
    ]
    assert CN.closure(date(2027, 2, 8)) == Closure(
        date(2027, 2, 8), Reason("holidays", {"names": (holiday("spring-festival"),)}))
    observed = CN.closure(date(2027, 2, 9))
    assert observed == Closure(date(2027, 2, 9), Reason("holidays", {"names": (holiday("spring-festival", True),)}))
    assert words(observed.reason) == ("Spring Festival (observed)", "春节（补假）")
    assert CN.note(date(2027, 2, 13)) is None  # no make-up days are estimated
    assert not CN.is_open(date(2027, 2, 13))


# --- shift policies --------------------------------------------------------------------------------

SPRING_2026 = date(2026, 2, 17)  # Tuesday, Spring Festival day 1; closed 15–23 Feb, Sat 14 Feb worked
NATIONAL_2026 = date(2026, 10, 1)  # Thursday; closed 1–7 Oct, Wed 30 Sep and Thu 8 Oct open
SPRING_2027 = date(2027, 2, 8)  # Monday, estimate: closed 5–10 Feb


@pytest.mark.parametrize(
    ("planned", "policy", "max_shift", "actual"),
    [
        (SPRING_2026, NEXT, 7, date(2026, 2, 24)),
        (SPRING_2026, PREVIOUS, 3, date(2026, 2, 14)),  # the make-up Saturday
        (SPRING_2026, NEAREST, 7, date(2026, 2, 14)),  # 3 days back beats 7 forward
        (NATIONAL_2026, NEXT, 7, date(2026, 10, 8)),
        (NATIONAL_2026, PREVIOUS, 1, date(2026, 9, 30)),
        (NATIONAL_2026, NEAREST, 7, date(2026, 9, 30)),
        (date(2026, 10, 6), NEAREST, 7, date(2026, 10, 8)),
        (date(2026, 10, 4), NEAREST, 4, date(2026, 10, 8)),  # tie: 30 Sep and 8 Oct, later wins
        (SPRING_2027, NEXT, 3, date(2027, 2, 11)),
        (SPRING_2027, PREVIOUS, 4, date(2027, 2, 4)),
        (SPRING_2027, NEAREST, 4, date(2027, 2, 11)),
    ],
)
def test_policy_moves_a_closed_day_1(planned: date, policy: ShiftPolicy, max_shift: int, actual: date) -> None:
    shift = shift_day(planned, CN, policy, max_shift)
    assert (shift.actual, shift.blocked) == (actual, False)
    assert shift.closure == CN.closure(planned)
    assert shift.reason == Reason("shift-moved", {"planned": planned, "actual": actual, "days": (actual - planned).days,
                                                  "closure": shift.closure.reason})
    en, zh = words(shift.reason)
    assert en.startswith(f"moved from {planned} to {actual}") and actual.isoformat() in zh


@pytest.mark.parametrize(
    ("planned", "policy", "max_shift"),
    [
        (SPRING_2026, NEXT, 6),
        (SPRING_2026, PREVIOUS, 2),
        (SPRING_2026, NEAREST, 2),
        (SPRING_2026, NONE, 30),
        (NATIONAL_2026, NEXT, 6),
        (NATIONAL_2026, PREVIOUS, 0),
        (NATIONAL_2026, NEAREST, 0),
        (NATIONAL_2026, NONE, 30),
        (SPRING_2027, NEXT, 2),
        (SPRING_2027, PREVIOUS, 3),
    ],
)
def test_policy_blocks_when_no_open_day_is_near_enough(planned: date, policy: ShiftPolicy, max_shift: int) -> None:
    shift = shift_day(planned, CN, policy, max_shift)
    assert (shift.actual, shift.blocked) == (planned, True)
    assert shift.closure == CN.closure(planned)
    assert shift.reason is not None and shift.reason.params["closure"] == shift.closure.reason
    assert describe(shift.closure.reason, "en") in describe(shift.reason, "en")


def test_shift_reason_texts() -> None:
    shift = shift_day(SPRING_2026, CN, NEXT, 7)
    assert words(shift.reason) == (
        "moved from 2026-02-17 to 2026-02-24 (+7 days): Spring Festival", "由 2026-02-17 顺延至 2026-02-24（+7 天）：春节")
    assert shift.days == 7
    pulled = shift_day(SPRING_2026, CN, PREVIOUS, 3)
    assert words(pulled.reason) == (
        "moved from 2026-02-17 to 2026-02-14 (-3 days): Spring Festival", "由 2026-02-17 提前至 2026-02-14（-3 天）：春节")
    blocked = shift_day(SPRING_2026, CN, NEXT, 6)
    assert words(blocked.reason) == (
        "2026-02-17 is closed (Spring Festival) and no open day lies within 6 days after it (shift policy 'next')",
        "2026-02-17 不开诊（春节），之后 6 天内没有开诊日",
    )
    kept = shift_day(SPRING_2026, CN, NONE, 7)
    assert words(kept.reason) == (
        "2026-02-17 is closed (Spring Festival); shift policy 'none' keeps the planned day",
        "2026-02-17 不开诊（春节）；本中心规则为不调整",
    )


def test_open_day_is_never_moved() -> None:
    for policy in ShiftPolicy:
        shift = shift_day(date(2026, 2, 24), CN, policy, 7)
        assert shift == shift_day(date(2026, 2, 24), CN, policy, 0)
        assert (shift.actual, shift.reason, shift.closure, shift.blocked) == (date(2026, 2, 24), None, None, False)


def test_policy_may_be_given_as_text() -> None:
    assert shift_day(SPRING_2026, CN, "next", 7).actual == date(2026, 2, 24)  # type: ignore[arg-type]


# --- interval between cycles ------------------------------------------------------------------------


def test_interval_inside_window_is_not_flagged() -> None:
    assert interval_flag(date(2026, 1, 6), date(2026, 1, 27), 21, (0, 7), cycle=4) is None  # 21
    assert interval_flag(date(2026, 1, 6), date(2026, 2, 3), 21, (0, 7), cycle=4) is None  # 28


def flagged(*args, **kwargs) -> tuple[str, str]:
    note = interval_flag(*args, **kwargs)
    assert note is not None and note.code == "interval"
    return describe(note, "en"), describe(note, "zh-CN")


def test_interval_outside_window_is_flagged() -> None:
    assert interval_flag(date(2026, 1, 6), date(2026, 2, 4), 21, (0, 7), cycle=4) == Note("interval", {
        "cycle": 4, "previous_cycle": 3, "days": 29, "length": 21, "early": 0, "late": 7})
    assert flagged(date(2026, 1, 6), date(2026, 2, 4), 21, (0, 7), cycle=4) == (
        "cycle 4 starts 29 days after cycle 3 (allowed 21 −0/+7)", "第4周期与第3周期间隔 29 天（允许 21 −0/+7 天）"
    )
    assert flagged(date(2026, 1, 6), date(2026, 1, 23), 21, (3, 7), cycle=2, previous_cycle=1)[0] == (
        "cycle 2 starts 17 days after cycle 1 (allowed 21 −3/+7)"
    )
    assert flagged(date(2026, 1, 6), date(2026, 1, 26), 21, (0, 7))[0] == (
        "this cycle starts 20 days after the previous cycle (allowed 21 −0/+7)"
    )
    assert flagged(date(2026, 1, 6), date(2026, 1, 6), 21, (0, 7), cycle=2)[0] == (
        "cycle 2 starts on the same day as cycle 1 (allowed 21 −0/+7)"
    )
    assert flagged(date(2026, 1, 6), date(2026, 1, 5), 21, (0, 7), cycle=2) == (
        "cycle 2 starts 1 day before cycle 1 (allowed 21 −0/+7)", "第2周期比第1周期早 1 天开始（允许 21 −0/+7 天）"
    )


def test_pulling_spring_festival_forward_breaks_a_strict_window() -> None:
    previous = SPRING_2026 - timedelta(days=21)
    pulled = shift_day(SPRING_2026, CN, NEAREST, 7).actual
    assert flagged(previous, pulled, 21, (0, 7), cycle=5)[0] == "cycle 5 starts 18 days after cycle 4 (allowed 21 −0/+7)"


# --- estimated years ---------------------------------------------------------------------------------


def test_estimated_years_2026_to_2030() -> None:
    # holidays 0.109 carries the State Council notices up to 2026 (read in holidays/countries/china.py).
    assert CN.estimated_years(date(2026, 1, 1), date(2030, 12, 31)) == (2027, 2028, 2029, 2030)
    assert CN.estimated_years(date(2024, 7, 1), date(2026, 12, 31)) == ()
    assert CN.estimated_years(date(2026, 11, 20), date(2027, 3, 1)) == (2027,)


def test_estimated_years_is_empty_for_a_country_without_notices() -> None:
    assert ClinicCalendar(country="DE").estimated_years(date(2026, 1, 1), date(2030, 12, 31)) == ()


# --- settings errors ---------------------------------------------------------------------------------


def test_unknown_country() -> None:
    with pytest.raises(CalendarError) as caught:
        ClinicCalendar(country="XX")
    assert str(caught.value).startswith("site.holidays.country: 'XX' is not a country the holidays package knows")
    assert caught.value.field == "site.holidays.country"


def test_unknown_subdivision_lists_the_known_ones() -> None:
    with pytest.raises(CalendarError) as caught:
        ClinicCalendar(country="CN", subdivision="JS")
    assert str(caught.value) == (
        "site.holidays.subdivision: 'JS' is not a subdivision of CN the holidays package knows (known: none: leave it out)"
    )
    with pytest.raises(CalendarError, match="known: .*BW"):
        ClinicCalendar(country="DE", subdivision="XX")
    with pytest.raises(CalendarError, match="without a country"):
        ClinicCalendar(subdivision="JS")


@pytest.mark.parametrize("clinic_days", [(), (0, 1), (1, 8), (True,), ("1",)])
def test_bad_clinic_days(clinic_days: tuple[object, ...]) -> None:
    with pytest.raises(CalendarError, match="site.clinic_days"):
        ClinicCalendar(clinic_days=clinic_days)  # type: ignore[arg-type]


def test_bad_extra_days() -> None:
    with pytest.raises(CalendarError, match="both an extra closure and an extra opening: 2026-03-11"):
        ClinicCalendar(extra_closures={date(2026, 3, 11): "a"}, extra_openings={date(2026, 3, 11): "b"})
    with pytest.raises(CalendarError, match="is not a date"):
        ClinicCalendar(extra_closures={datetime(2026, 3, 11): "a"})
    with pytest.raises(CalendarError, match="give a reason"):
        ClinicCalendar(extra_closures={date(2026, 3, 11): " "})


def test_bad_policy_and_max_shift() -> None:
    with pytest.raises(CalendarError, match="'later' is not a shift policy .allowed: none, next, previous, nearest."):
        shift_day(SPRING_2026, CN, "later", 7)  # type: ignore[arg-type]
    with pytest.raises(CalendarError, match="maximum shift"):
        shift_day(SPRING_2026, CN, NEXT, -1)


def test_datetime_is_refused() -> None:
    with pytest.raises(TypeError):
        CN.is_open(datetime(2026, 2, 17, 9, 0))


# --- import cost ---------------------------------------------------------------------------------------


def test_clinic_without_country_does_not_import_holidays() -> None:
    code = (
        "import sys\n"
        "from datetime import date\n"
        "import picture_schedule.core.clinic as clinic\n"
        "calendar = clinic.ClinicCalendar(country=None, extra_closures={date(2026, 2, 17): 'x'})\n"
        "calendar.is_open(date(2026, 2, 14))\n"
        "clinic.shift_day(date(2026, 2, 17), calendar, clinic.ShiftPolicy.NEAREST, 7)\n"
        "calendar.estimated_years(date(2026, 1, 1), date(2027, 1, 1))\n"
        "assert 'holidays' not in sys.modules, sorted(m for m in sys.modules if 'holidays' in m)\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- invariants ----------------------------------------------------------------------------------------

CALENDARS = [
    CN,
    ClinicCalendar(clinic_days=(2, 4), country="CN", extra_closures={date(2026, 3, 12): "audit"}),
    ClinicCalendar(clinic_days=(1, 3, 5), extra_openings={date(2026, 2, 14): "extra list"}),
]


@settings(max_examples=400, deadline=None)
@given(
    planned=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    calendar=st.sampled_from(CALENDARS),
    policy=st.sampled_from(list(ShiftPolicy)),
    max_shift=st.integers(min_value=0, max_value=21),
)
def test_shift_invariants(planned: date, calendar: ClinicCalendar, policy: ShiftPolicy, max_shift: int) -> None:
    shift = shift_day(planned, calendar, policy, max_shift)
    assert shift.planned == planned
    assert calendar.is_open(shift.actual) or (shift.blocked and shift.actual == planned)
    assert abs((shift.actual - planned).days) <= max_shift
    if calendar.is_open(planned):
        assert (shift.actual, shift.blocked, shift.reason) == (planned, False, None)
        return
    assert shift.closure == calendar.closure(planned) and shift.reason is not None
    if policy is NEXT:
        assert shift.actual >= planned
    if policy is PREVIOUS:
        assert shift.actual <= planned
    if policy is NONE:
        assert shift.blocked
        return
    reach = {
        NEXT: range(1, max_shift + 1),
        PREVIOUS: range(-max_shift, 0),
        NEAREST: [*range(-max_shift, 0), *range(1, max_shift + 1)],
    }[policy]
    open_offsets = [k for k in reach if calendar.is_open(planned + timedelta(days=k))]
    if shift.blocked:
        assert open_offsets == []
    else:  # the chosen day is the closest open one, and the later one on a tie
        best = min(open_offsets, key=lambda k: (abs(k), -k))
        assert shift.actual == planned + timedelta(days=best)


@settings(max_examples=200, deadline=None)
@given(
    clinic_days=st.sets(st.integers(min_value=1, max_value=7), min_size=1),
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
)
def test_without_country_open_means_clinic_weekday(clinic_days: set[int], day: date) -> None:
    calendar = ClinicCalendar(clinic_days=clinic_days)
    assert calendar.is_open(day) == (day.isoweekday() in clinic_days)


def test_country_without_chinese_names_repeats_english() -> None:
    germany = ClinicCalendar(country="DE", subdivision="BY")
    christmas = germany.closure(date(2026, 12, 25))
    assert christmas == Closure(date(2026, 12, 25), Reason("holidays", {"names": (
        Reason("holiday-named", {"name": Names("Christmas Day", "")}),)}))
    assert words(christmas.reason) == ("Christmas Day", "Christmas Day")
