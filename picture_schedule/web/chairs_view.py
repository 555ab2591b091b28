"""What the chairs page shows, worded in the page's language: a view over ``chairs plan``'s result.

:func:`month_view` turns the :class:`~picture_schedule.planning.chair_summary.ChairReport` of one
month (what ``chairs plan --db ROSTER --site FILE --from … --to …`` computes) into rows for the
template: what needs attention first (days over capacity, visits not placed, stale bookings), the
month's calendar heatmap, the chairs by day and by hour, and each proposed booking compared with
the one stored. It assigns no chair and computes no date: every one comes from the plan and the
schedules. :func:`starts_view` does the same for ``chairs suggest``'s starts.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import hashlib
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from picture_schedule.core.chair_plan import ChairPlan, DayLoad, Unit
from picture_schedule.core.model import Booking, Schedule, Site
from picture_schedule.planning.chair_summary import ChairReport, Starts
from picture_schedule.planning.cohort import calendar
from picture_schedule.render.chair_report import LEVELS
from picture_schedule.render.messages import describe, reason_text
from picture_schedule.web.common import fmt_date, t

__all__ = ["MonthView", "StartsView", "fingerprint", "month_view", "starts_view", "unit_facts"]


def _hours(minutes: int) -> str:
    """Chair minutes as hours:minutes (1065 → "17:45"), as the report writes them."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def _clock(moment: dt.datetime | dt.time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _language() -> str:
    from flask import g

    return str(g.get("language") or "en")


def _babel_locale() -> str:
    from picture_schedule.i18n import babel_locale

    return babel_locale(_language())


def month_title(month: dt.date) -> str:
    """"December 2026" / "2026年12月"."""
    from babel.dates import format_date

    return format_date(month, "y年M月" if _language() == "zh-CN" else "MMMM y", locale=_babel_locale())


def _weekday(day: dt.date) -> str:
    from babel.dates import get_day_names

    return str(get_day_names("abbreviated", locale=_babel_locale())[day.weekday()])


# --------------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class Cell:
    """One day of the month's heatmap (``day`` None: a cell before the 1st or after the last)."""

    day: dt.date | None
    kind: str = "pad"  # none, level1…level4, over, holiday, closed, pad
    visits: int = 0
    mark: str = ""  # what the cell shows under the day's number: visits ("4", "5!"), "H", "–"
    share: str = ""  # "13 %"
    words: str = ""  # the cell in a sentence, for screen readers


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    visits: int
    booked: str  # chair-hours, h:mm
    demand: str
    available: str
    load: str
    peak: int
    starts: str  # "3 of 3 at 09:00": the busiest start slot (nurse starts)
    patients: str
    status: str
    over: bool
    unplaced: int


@dataclass(frozen=True)
class Proposal:
    """One proposed booking: a patient's cycle on a chair, and how it compares with what is stored."""

    patient: str
    cycle: int
    day: dt.date
    chair: int
    start: str
    end: str
    minutes: int
    status: str  # new, changed, stored
    was: str  # the stored booking it replaces ("" unless changed)
    moved: str  # why it is not at the planned time
    note: str  # why day 1 moved off a closed day


@dataclass(frozen=True)
class Unplaced:
    patient: str
    cycle: int
    day: dt.date
    minutes: int
    reason: str


@dataclass(frozen=True)
class Stale:
    """A stored booking for a date its cycle no longer has."""

    patient: str
    cycle: int
    text: str
    day1: dt.date
    fate: str
    month: str  # YYYY-MM of the new day 1: the page that books it


@dataclass(frozen=True)
class MonthView:
    month: dt.date
    title: str
    weekdays: tuple[str, ...]
    weeks: tuple[tuple[Cell, ...], ...]
    legend: tuple[tuple[str, str, str], ...]  # (class, mark, words)
    over: tuple[DayRow, ...]
    unplaced: tuple[Unplaced, ...]
    stale: tuple[Stale, ...]
    days: tuple[DayRow, ...]
    hour_columns: tuple[str, ...]
    hour_rows: tuple[tuple[dt.date, tuple[tuple[str, str], ...]], ...]  # day, ((value, class), …)
    proposals: tuple[Proposal, ...]
    counts: Mapping[str, int]  # new, changed, stored
    notes: tuple[tuple[str, str], ...]  # (text, patients)
    fingerprint: str
    chairs: int


def fingerprint(bookings: Mapping[str, Mapping[int, Booking]]) -> str:
    """A short digest of the proposed bookings: the page sends it with "book", and the bookings are
    stored only if planning again gives the same ones (nothing moved since the page was shown)."""
    rows = sorted((patient, cycle, str(b.day), b.chair, _clock(b.start), _clock(b.end))
                  for patient, cycles in bookings.items() for cycle, b in cycles.items())
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:24]


def _level(load: DayLoad) -> str:
    """The heatmap's shade: the share of the day's chair time asked for (the report's levels)."""
    if load.over_capacity or not load.available_minutes:
        return "over"
    share = load.demand_minutes / load.available_minutes
    return next((f"level{n}" for n, (bound, _label) in enumerate(LEVELS, start=1) if share <= bound), "over")


def _share(load: DayLoad) -> str:
    return f"{round(100 * load.demand_minutes / load.available_minutes)} %" if load.available_minutes else "–"


def _busiest_slot(plan: ChairPlan, day: dt.date) -> tuple[int, dt.time] | None:
    """(starts, slot time) of the slot with the most infusion starts on ``day``, counted on the unit's
    grid as the planner counts them against the nurse limit."""
    opening = plan.unit.opening(day)
    bookings = plan.bookings_on(day)
    if opening is None or not bookings:
        return None
    slot = plan.unit.slot_minutes
    counts = Counter((b.start.hour * 60 + b.start.minute - opening[0]) // slot for b in bookings)
    index, starts = max(counts.items(), key=lambda item: (item[1], -item[0]))
    minute = opening[0] + index * slot
    return starts, dt.time(*divmod(minute, 60))


def _day_row(plan: ChairPlan, load: DayLoad) -> DayRow:
    busiest = _busiest_slot(plan, load.day)
    limit = plan.unit.nurse_starts_per_slot
    if busiest is None:
        starts = "–"
    elif limit:
        starts = t("%(starts)s of %(limit)s at %(time)s", starts=busiest[0], limit=limit, time=_clock(busiest[1]))
    else:
        starts = t("%(starts)s at %(time)s", starts=busiest[0], time=_clock(busiest[1]))
    names = [f"{b.appointment.patient} c{b.appointment.cycle}" for b in plan.bookings_on(load.day)]
    names += [t("%(patient)s c%(cycle)s (not placed)", patient=u.appointment.patient, cycle=u.appointment.cycle)
              for u in load.unplaced]
    status = []
    if load.demand_minutes > load.available_minutes:
        status.append(t("more chair time asked for than the unit has"))
    if load.unplaced:
        status.append(t("not placed: %(n)s", n=len(load.unplaced)))
    return DayRow(load.day, len(load.patients) + len(load.unplaced), _hours(load.booked_minutes),
                  _hours(load.demand_minutes), _hours(load.available_minutes), _share(load), load.peak_chairs,
                  starts, ", ".join(names), ("；" if _language() == "zh-CN" else "; ").join(status) or t("within capacity"), load.over_capacity, len(load.unplaced))


def _cell(plan: ChairPlan, day: dt.date, closed: Mapping[dt.date, str]) -> Cell:
    load = plan.day(day)
    date = fmt_date(day)
    if load is not None:
        visits = len(load.patients) + len(load.unplaced)
        words = t("%(date)s: day-1 visits: %(visits)s; chair-hours asked for: %(demand)s of %(available)s "
                  "(%(share)s); peak chairs in use: %(peak)s of %(chairs)s", date=date, visits=visits, demand=_hours(load.demand_minutes),
                  available=_hours(load.available_minutes), share=_share(load), peak=load.peak_chairs,
                  chairs=plan.unit.chairs)
        if load.over_capacity:
            words += "; " + t("over capacity; not placed: %(n)s", n=len(load.unplaced))
        return Cell(day, _level(load), visits, f"{visits}!" if load.over_capacity else str(visits), _share(load), words)
    if day in closed:
        return Cell(day, "holiday", mark="H", words=t("%(date)s: closed (%(reason)s)", date=date, reason=closed[day]))
    if plan.unit.opening(day) is None:
        return Cell(day, "closed", mark="–", words=t("%(date)s: the unit is closed", date=date))
    return Cell(day, "none", words=t("%(date)s: no day-1 visits", date=date))


def _closures(site: Site, unit: Unit, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """Days the unit has hours but the clinic is closed (holidays, closures), and why, in the page's words."""
    clinic = calendar(site)
    found: dict[dt.date, str] = {}
    day = first
    while day <= last:
        closure = clinic.closure(day) if unit.opening(day) is not None else None
        if closure is not None:
            found[day] = reason_text(closure.reason, _language())
        day += dt.timedelta(days=1)
    return found


def _weeks(plan: ChairPlan, month: dt.date, closed: Mapping[dt.date, str]) -> tuple[tuple[Cell, ...], ...]:
    weeks = []
    for days in _calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        weeks.append(tuple(_cell(plan, d, closed) if d.month == month.month else Cell(None) for d in days))
    return tuple(weeks)


def _hour_table(plan: ChairPlan) -> tuple[tuple[str, ...], tuple[tuple[dt.date, tuple[tuple[str, str], ...]], ...]]:
    hourly = {load.day: dict(plan.hourly(load.day)) for load in plan.days}
    hours = sorted({hour for shares in hourly.values() for hour in shares})
    rows = []
    for day, shares in hourly.items():
        cells = []
        for hour in hours:
            share = shares.get(hour)
            if share is None:
                cells.append(("–", "shut"))
            elif not share:
                cells.append(("0", "h0"))
            else:
                cells.append((str(round(share * 100)), f"h{min(4, math.ceil(share * 4))}"))
        rows.append((day, tuple(cells)))
    return tuple(f"{hour:02d}" for hour in hours), tuple(rows)


def _describe_booking(booking: Booking) -> str:
    day = fmt_date(booking.day) if booking.day else ""
    return t("%(date)s %(start)s–%(end)s, chair %(chair)s", date=day, start=_clock(booking.start),
             end=_clock(booking.end), chair=booking.chair).strip()


def _proposals(plan: ChairPlan, schedules: Mapping[str, Schedule]) -> tuple[Proposal, ...]:
    lang = _language()
    shifts = {(s.course.patient, c.number): c.shift_reason for s in schedules.values() for c in s.cycles}
    rows = []
    for b in plan.bookings:
        a = b.appointment
        held = schedules[a.patient].course.bookings.get(a.cycle) if a.patient in schedules else None
        wanted = Booking(str(b.chair), b.start.time(), b.end.time(), day=a.day)
        status = "new" if held is None else "stored" if held.same_slot(wanted) else "changed"
        rows.append(Proposal(a.patient, a.cycle, a.day, b.chair, _clock(b.start), _clock(b.end), a.minutes, status,
                             _describe_booking(held) if status == "changed" and held else "",
                             reason_text(b.moved, lang), reason_text(shifts.get((a.patient, a.cycle)), lang)))
    return tuple(sorted(rows, key=lambda p: (p.patient, p.cycle)))


def _stale(schedules: Mapping[str, Schedule], placed: Mapping[str, Mapping[int, Booking]], month: dt.date,
           ) -> tuple[Stale, ...]:
    rows = []
    for schedule in schedules.values():
        for note in schedule.notes:
            if note.code != "booking-stale":
                continue
            cycle, day1 = note.params["cycle"], note.params["day1"]
            if cycle in placed.get(schedule.course.patient, {}):
                fate = t("booking this month books it again")
            elif (day1.year, day1.month) == (month.year, month.month):
                fate = t("no chair in this plan: see the visits not placed")
            else:
                fate = t("its day 1 is in %(month)s: book that month", month=month_title(day1.replace(day=1)))
            rows.append(Stale(schedule.course.patient, cycle, describe(note, _language()), day1, fate,
                              f"{day1:%Y-%m}"))
    return tuple(sorted(rows, key=lambda s: (s.patient, s.cycle)))


def _notes(schedules: Mapping[str, Schedule], month: dt.date) -> tuple[tuple[str, str], ...]:
    """The schedules' warnings that concern this month's planning (estimated holidays, intervals)."""
    who: dict[str, list[str]] = {}
    for schedule in schedules.values():
        for note in schedule.notes:
            if note.code in ("estimated-holidays", "interval"):
                who.setdefault(describe(note, _language()), []).append(schedule.course.patient)
    return tuple((text, ", ".join(dict.fromkeys(patients))) for text, patients in who.items())


def month_view(report: ChairReport, site: Site, month: dt.date) -> MonthView:
    """The page's view of the month's plan (``report``: :func:`plan_courses` for that month)."""
    plan = report.plan
    assert plan is not None, "plan_courses gives the plan"
    last = month.replace(day=_calendar.monthrange(month.year, month.month)[1])
    schedules = {s.course.patient: s for s in report.schedules}
    closed = _closures(site, plan.unit, month, last)
    days = tuple(_day_row(plan, load) for load in plan.days)
    proposals = _proposals(plan, schedules)
    counts = Counter(p.status for p in proposals)
    hour_columns, hour_rows = _hour_table(plan)
    monday = dt.date(2024, 1, 1)  # a Monday: the weekday names' order
    shares = (t("up to 25 %"), t("25–50 %"), t("50–75 %"), t("75–100 %"))  # the bounds of LEVELS
    legend = (("none", "", t("no day-1 visits")),
              *((f"level{n}", "", t("chair time asked for: %(share)s", share=share))
                for n, share in enumerate(shares, start=1)),
              ("over", "!", t("over capacity (more than the unit has, or a visit not placed)")),
              ("holiday", "H", t("clinic closed (holiday)")), ("closed", "–", t("unit closed")))
    unplaced = tuple(Unplaced(u.appointment.patient, u.appointment.cycle, u.appointment.day, u.appointment.minutes,
                              reason_text(u.reason, _language())) for u in plan.unplaced)
    return MonthView(
        month=month, title=month_title(month),
        weekdays=tuple(_weekday(monday + dt.timedelta(days=n)) for n in range(7)),
        weeks=_weeks(plan, month, closed), legend=legend,
        over=tuple(row for row in days if row.over), unplaced=unplaced,
        stale=_stale(schedules, report.bookings, month), days=days,
        hour_columns=hour_columns, hour_rows=hour_rows, proposals=proposals,
        counts={key: counts.get(key, 0) for key in ("new", "changed", "stored")},
        notes=_notes(schedules, month), fingerprint=fingerprint(report.bookings), chairs=plan.unit.chairs,
    )


def unit_facts(site: Site, unit: Unit) -> tuple[tuple[str, str], ...]:
    """The unit as the page states it: chairs, opening hours, start slots, nurse limit."""
    hours: dict[str, list[str]] = {}
    monday = dt.date(2024, 1, 1)
    for weekday, (opens, closes) in unit.hours.items():
        hours.setdefault(f"{_clock(opens)}–{_clock(closes)}", []).append(
            _weekday(monday + dt.timedelta(days=weekday - 1)))
    comma = "、" if _language() == "zh-CN" else ", "
    opening = "; ".join(f"{comma.join(days)} {span}" for span, days in hours.items()) or t("never open")
    limit = unit.nurse_starts_per_slot
    return ((t("Day unit"), site.name or site.source), (t("Chairs"), str(unit.chairs)), (t("Opening hours"), opening),
            (t("Start slots"), t("every %(minutes)s min from opening", minutes=unit.slot_minutes)),
            (t("Nurse limit"), t("at most %(n)s infusion starts per slot", n=limit) if limit else t("no limit")))


@dataclass(frozen=True)
class StartRow:
    number: int
    start: dt.date
    peak: int
    day1s: tuple[dt.date, ...]
    shifts: tuple[str, ...]


@dataclass(frozen=True)
class StartsView:
    heading: str
    rows: tuple[StartRow, ...]
    shortfall: str
    notes: tuple[str, ...]
    chairs: int


def starts_view(starts: Starts, horizon: int) -> StartsView:
    """``chairs suggest``'s starts, in the page's words (the same starts and dates as its text)."""
    lang = _language()
    rows: list[StartRow] = []
    notes: dict[str, None] = {}
    for number, (suggestion, expanded) in enumerate(starts.found, start=1):
        shifts = tuple(reason_text(c.shift_reason, lang) for c in expanded.cycles if c.shift_reason)
        rows.append(StartRow(number, suggestion.start, suggestion.peak_chairs, suggestion.day1s, shifts))
        notes.update((describe(n, lang), None) for n in expanded.notes if n.code in ("estimated-holidays", "interval"))
    heading = t("Starts for a new %(regimen)s patient (cycles: %(cycles)s) from %(date)s, with the patients on "
                "the roster (%(patients)s) on %(chairs)s chairs:", regimen=starts.regimen.id, cycles=starts.regimen.cycles,
                date=fmt_date(starts.earliest), patients=starts.patients, chairs=starts.unit.chairs)
    if not rows:
        shortfall = t("None: no start within %(days)s days fits the chairs left.", days=horizon)
    elif len(rows) < starts.count:
        shortfall = t("Only %(found)s of %(asked)s: no other start within %(days)s days fits.", found=len(rows),
                      asked=starts.count, days=horizon)
    else:
        shortfall = ""
    return StartsView(heading, tuple(rows), shortfall, tuple(notes), starts.unit.chairs)
