"""Chair-plan outputs: the coordinator's HTML report, the CSV and the unit's iCalendar.

Renderers over a :class:`~picture_schedule.core.chair_plan.ChairPlan` (and, for the notes, the cohort's
schedules). They assign no chairs and compute no schedule dates: every day, start and end comes
from the plan. The report's calendar grid and hour axis are layout only.

Heavy libraries (jinja2, icalendar) are imported inside the functions that use them.
"""

from __future__ import annotations

import calendar as _calendar
import csv
import datetime as dt
import hashlib
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from picture_schedule.core.chair_plan import WEEKDAYS, ChairPlan, DayLoad, Unit
from picture_schedule.core.model import Schedule, Site
from picture_schedule.render.messages import describe, reason_text
from picture_schedule.render.tabular import spreadsheet_safe

__all__ = [
    "CSV_COLUMNS",
    "LEVELS",
    "PRODID",
    "Report",
    "UNPLACED_LISTED",
    "report",
    "to_csv",
    "to_html",
    "to_ics",
    "uid_for",
]

CSV_COLUMNS = ("patient", "cycle", "date", "chair", "start", "end", "minutes", "regimen", "note", "status", "reason")
PRODID = "-//picture-schedule//chair plan//EN"
UID_SALT = b"picture-schedule/chairs/uid/v1"
UID_DOMAIN = "chairs.picture-schedule"

#: Unplaced visits the report lists one by one (the earliest); the rest it counts per day, so its
#: size grows with the days planned, not with the visits left out (the CSV keeps every row).
UNPLACED_LISTED = 200
#: Unplaced visits named in a day's row of "Chairs by day" before "and N more not placed".
DAY_UNPLACED_NAMED = 10

#: Heatmap levels by the share of the day's chair time asked for (demand / available), upper bounds.
LEVELS = ((0.25, "up to 25 %"), (0.5, "25–50 %"), (0.75, "50–75 %"), (1.0, "75–100 %"))

# Layout of the SVG figures (user units; the SVGs scale to the page width).
_CELL_W, _CELL_H, _MONTH_TITLE = 40, 34, 22
_CHART_W, _CHART_H, _CHART_LEFT, _CHART_BOTTOM, _CHART_TOP = 760, 262, 64, 62, 14


def _hours(minutes: int) -> str:
    """Chair minutes as hours and minutes: 1065 → "17:45"."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def _percent(share: float) -> str:
    return f"{round(share * 100)} %"


def _clock(moment: dt.datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


# ------------------------------------------------------------------------------ the report


@dataclass(frozen=True)
class Cell:
    """One day in the calendar heatmap."""

    x: int
    y: int
    day: int
    date: str
    kind: str  # "none", "level1"…"level4", "over", "closed", "holiday"
    label: str  # visits that day, "H" for a holiday, "" otherwise
    title: str  # tooltip text


@dataclass(frozen=True)
class Month:
    x: int
    y: int
    title: str
    weekdays: tuple[tuple[int, str], ...]
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Bar:
    """One clock hour in the occupancy chart."""

    x: int
    width: int
    cx: int
    hour: str
    mean: float
    peak: float
    mean_y: float
    peak_y: float
    mean_label: str
    peak_label: str


@dataclass(frozen=True)
class DayRow:
    date: str
    weekday: str
    visits: int
    booked_hours: str
    available_hours: str
    demand_hours: str
    load: str
    peak: int
    patients: str
    status: str
    over: bool


@dataclass(frozen=True)
class UnplacedRow:
    date: str
    weekday: str
    patient: str
    cycle: int
    minutes: int
    regimen: str
    reason: str
    note: str


@dataclass(frozen=True)
class UnplacedDay:
    """The unplaced visits of one day beyond the first :data:`UNPLACED_LISTED`, counted."""

    date: str
    weekday: str
    visits: int
    hours: str  # chair time they asked for
    reasons: str  # "no chair free for 195 min before 15:00 (12); …"


@dataclass(frozen=True)
class NoteRow:
    text: str
    patients: str
    count: int


@dataclass(frozen=True)
class Report:
    """Everything the template shows, already formatted (view model)."""

    title: str
    site: str
    cohort: str
    period: str
    unit: tuple[tuple[str, str], ...]
    figures: tuple[tuple[str, str], ...]
    over: tuple[DayRow, ...]
    unplaced: tuple[UnplacedRow, ...]  # the first UNPLACED_LISTED, one by one
    days: tuple[DayRow, ...]
    months: tuple[Month, ...]
    heatmap_size: tuple[int, int]
    legend: tuple[tuple[str, str], ...]
    bars: tuple[Bar, ...]
    chart: Mapping[str, object]
    hour_columns: tuple[str, ...]
    hour_rows: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    notes: tuple[NoteRow, ...]
    skipped: tuple[str, ...] = field(default=())
    unplaced_total: int = 0
    unplaced_days: tuple[UnplacedDay, ...] = ()  # the rest, by day


def _level(load: DayLoad) -> str:
    if load.over_capacity:
        return "over"
    if load.available_minutes == 0:
        return "over"
    share = load.demand_minutes / load.available_minutes
    for number, (bound, _label) in enumerate(LEVELS, start=1):
        if share <= bound:
            return f"level{number}"
    return "over"


def _status(load: DayLoad) -> str:
    parts = []
    if load.demand_minutes > load.available_minutes:
        parts.append("demand above capacity")
    if load.unplaced:
        parts.append(f"{len(load.unplaced)} not placed")
    return "; ".join(parts) or "ok"


def _unit_rows(unit: Unit) -> tuple[tuple[str, str], ...]:
    hours: dict[str, list[str]] = defaultdict(list)
    for weekday, (opens, closes) in unit.hours.items():
        hours[f"{opens:%H:%M}–{closes:%H:%M}"].append(WEEKDAYS[weekday - 1][:3])
    opening = "; ".join(f"{', '.join(days)} {span}" for span, days in hours.items()) or "never open"
    return (
        ("Chairs", str(unit.chairs)),
        ("Opening hours", opening),
        ("Start slots", f"every {unit.slot_minutes} min from opening"),
        ("Nurse limit", (f"{unit.nurse_starts_per_slot} start{'' if unit.nurse_starts_per_slot == 1 else 's'} "
                         "per slot") if unit.nurse_starts_per_slot else "none"),
    )


def _months(plan: ChairPlan, first: dt.date, last: dt.date, closures: Mapping[dt.date, str]) -> tuple[
        tuple[Month, ...], tuple[int, int]]:
    """One calendar block per month from ``first`` to ``last`` (each drawn as its own SVG, so the
    months flow across printed pages), and the size of a block."""
    months: list[Month] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        cells = []
        for week, days in enumerate(_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)):
            for column, day in enumerate(days):
                if day.month == month:
                    cells.append(_cell(plan, day, column, week, 0, 0, closures))
        title = dt.date(year, month, 1).strftime("%B %Y")
        weekdays = tuple((c * _CELL_W + _CELL_W // 2, WEEKDAYS[c][:2]) for c in range(7))
        months.append(Month(0, 0, title, weekdays, tuple(cells)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months), (7 * _CELL_W, _MONTH_TITLE + 16 + 6 * _CELL_H)


def _cell(plan: ChairPlan, day: dt.date, column: int, week: int, ox: int, oy: int,
          closures: Mapping[dt.date, str]) -> Cell:
    x = ox + column * _CELL_W
    y = oy + _MONTH_TITLE + 16 + week * _CELL_H
    load = plan.day(day)
    iso = day.isoformat()
    if load is not None:
        visits = len(load.patients) + len(load.unplaced)
        share = load.demand_minutes / load.available_minutes if load.available_minutes else None
        title = (f"{iso}: {visits} visit{'s' if visits != 1 else ''}, "
                 f"{_hours(load.demand_minutes)} of {_hours(load.available_minutes)} chair-hours"
                 + (f" ({_percent(share)})" if share is not None else "")
                 + f", peak {load.peak_chairs} of {plan.unit.chairs} chairs"
                 + (f", {len(load.unplaced)} not placed" if load.unplaced else ""))
        label = f"{visits}!" if load.over_capacity else str(visits)
        return Cell(x, y, day.day, iso, _level(load), label, title)
    if day in closures:
        return Cell(x, y, day.day, iso, "holiday", "H", f"{iso}: closed ({closures[day]})")
    if plan.unit.opening(day) is None:
        return Cell(x, y, day.day, iso, "closed", "", f"{iso}: unit closed on {WEEKDAYS[day.weekday()]}s")
    return Cell(x, y, day.day, iso, "none", "", f"{iso}: no day-1 visits")


def _bars(plan: ChairPlan, hourly: Mapping[dt.date, list[tuple[int, float]]]) -> tuple[
        tuple[Bar, ...], dict[str, object], int]:
    """Mean and highest share of chair time in use per clock hour, over the days with bookings."""
    per_hour: dict[int, list[float]] = defaultdict(list)
    days = 0
    for load in plan.days:
        if not load.patients:
            continue
        days += 1
        for hour, share in hourly[load.day]:
            per_hour[hour].append(share)
    hours = sorted(per_hour)
    plot_w = _CHART_W - _CHART_LEFT - 8
    plot_h = _CHART_H - _CHART_BOTTOM - _CHART_TOP
    slot = plot_w / max(len(hours), 1)
    bars = []
    for i, hour in enumerate(hours):
        shares = per_hour[hour]
        mean = sum(shares) / days if days else 0.0  # an hour the unit is shut counts as empty
        peak = max(shares)
        x = _CHART_LEFT + i * slot
        bars.append(Bar(
            x=round(x + slot * 0.15), width=max(round(slot * 0.7), 4), cx=round(x + slot / 2),
            hour=f"{hour:02d}:00",
            mean=mean, peak=peak,
            mean_y=round(_CHART_TOP + plot_h * (1 - mean), 1),
            peak_y=round(_CHART_TOP + plot_h * (1 - peak), 1),
            mean_label=_percent(mean), peak_label=_percent(peak),
        ))
    grid = [(round(_CHART_TOP + plot_h * (1 - f), 1), f"{round(f * 100)} %") for f in (0, 0.25, 0.5, 0.75, 1)]
    base = _CHART_TOP + plot_h
    chart = {"width": _CHART_W, "height": _CHART_H, "left": _CHART_LEFT, "right": _CHART_W - 8,
             "top": _CHART_TOP, "base": base, "grid": grid,
             "hour_y": base + 16, "mean_y": base + 36, "peak_y": base + 54}
    return tuple(bars), chart, days


def _notes(schedules: Iterable[Schedule]) -> tuple[NoteRow, ...]:
    """Each distinct warning of the cohort's schedules, with the patients it concerns."""
    who: dict[str, list[str]] = {}
    for schedule in schedules:
        for note in schedule.notes:
            who.setdefault(describe(note, "en"), []).append(schedule.course.patient)
    rows = []
    for text, patients in who.items():
        unique = list(dict.fromkeys(patients))
        shown = ", ".join(unique[:12]) + (f" and {len(unique) - 12} more" if len(unique) > 12 else "")
        rows.append(NoteRow(text, shown, len(unique)))
    return tuple(rows)


def report(
    plan: ChairPlan,
    *,
    site: Site,
    cohort: str,
    patients: int,
    schedules: Sequence[Schedule] = (),
    closures: Mapping[dt.date, str] | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
    skipped: Sequence[str] = (),
) -> Report:
    """The view model of the HTML report. ``first``/``last``: the period shown (default: the plan's)."""
    closures = closures or {}
    days = plan.days
    first = first or (days[0].day if days else None)
    last = last or (days[-1].day if days else None)
    day_rows = tuple(_day_row(load, plan) for load in days)
    unplaced, unplaced_days = _unplaced(plan)
    if first is not None and last is not None:
        months, size = _months(plan, first, last, closures)
        period = f"{first:%a %d %b %Y} – {last:%a %d %b %Y}"
    else:
        months, size, period = (), (7 * _CELL_W, _MONTH_TITLE + 16 + 6 * _CELL_H), "no day-1 visits"
    hourly = {load.day: plan.hourly(load.day) for load in days}
    bars, chart, busy_days = _bars(plan, hourly)
    visits = len(plan.bookings) + len(plan.unplaced)
    busiest = max(days, key=lambda d: (d.demand_minutes, d.peak_chairs), default=None)
    figures = [
        ("Patients", str(patients)),
        ("Day-1 visits", str(visits)),
        ("Placed", str(len(plan.bookings))),
        ("Not placed", str(len(plan.unplaced))),
        ("Moved from their planned time", str(sum(1 for b in plan.bookings if b.moved))),
        ("Days with visits", str(len(days))),
        ("Days over capacity", str(len(plan.over_capacity_days))),
        ("Chair-hours asked for", _hours(plan.demand_minutes)),
    ]
    if busiest is not None:
        figures.append(("Busiest day", f"{busiest.day:%a %Y-%m-%d}: {_hours(busiest.demand_minutes)} of "
                                       f"{_hours(busiest.available_minutes)} chair-hours, "
                                       f"peak {busiest.peak_chairs} of {plan.unit.chairs} chairs"))
    hour_columns = tuple(b.hour for b in bars)
    hour_rows = []
    for load in days:
        shares = dict(hourly[load.day])
        values, classes = [], []
        for column in hour_columns:
            share = shares.get(int(column[:2]))
            if share is None:
                values.append("–")
                classes.append("shut")
            elif not share:
                values.append("")
                classes.append("h0")
            else:
                values.append(f"{round(share * 100)}")
                classes.append(f"h{min(4, math.ceil(share * 4))}")
        hour_rows.append((f"{load.day:%a %Y-%m-%d}", tuple(values), tuple(classes)))
    legend = (("none", "no day-1 visits"),
              *((f"level{n}", label) for n, (_bound, label) in enumerate(LEVELS, start=1)),
              ("over", "over capacity (!)"), ("holiday", "holiday (H)"), ("closed", "unit closed"))
    chart = {**chart, "days": busy_days}
    return Report(
        title="Infusion chair plan",
        site=site.name or site.source or "day unit",
        cohort=cohort,
        period=period,
        unit=_unit_rows(plan.unit),
        figures=tuple(figures),
        over=tuple(r for r in day_rows if r.over),
        unplaced=unplaced,
        days=day_rows,
        months=months,
        heatmap_size=size,
        legend=legend,
        bars=bars,
        chart=chart,
        hour_columns=hour_columns,
        hour_rows=tuple(hour_rows),
        notes=_notes(schedules),
        skipped=tuple(skipped),
        unplaced_total=len(plan.unplaced),
        unplaced_days=unplaced_days,
    )


def _unplaced(plan: ChairPlan) -> tuple[tuple[UnplacedRow, ...], tuple[UnplacedDay, ...]]:
    """The first :data:`UNPLACED_LISTED` unplaced visits one by one, the others counted per day
    with their reasons (each reason's text made once)."""
    listed = []
    texts: dict[object, str] = {}
    per_day: dict[dt.date, tuple[list[int], dict[str, int]]] = {}
    for number, u in enumerate(plan.unplaced):
        a = u.appointment
        text = texts.get(u.reason)
        if text is None:
            text = texts[u.reason] = reason_text(u.reason, "en")
        if number < UNPLACED_LISTED:
            listed.append(UnplacedRow(a.day.isoformat(), WEEKDAYS[a.day.weekday()][:3], a.patient, a.cycle,
                                      a.minutes, a.regimen, text, a.note))
            continue
        totals, reasons = per_day.setdefault(a.day, ([0, 0], {}))
        totals[0] += 1
        totals[1] += a.minutes
        reasons[text] = reasons.get(text, 0) + 1
    days = tuple(
        UnplacedDay(day.isoformat(), WEEKDAYS[day.weekday()][:3], visits, _hours(minutes),
                    "; ".join(f"{text} ({count})" for text, count in reasons.items()))
        for day, ((visits, minutes), reasons) in sorted(per_day.items())
    )
    return tuple(listed), days


def _day_row(load: DayLoad, plan: ChairPlan) -> DayRow:
    visits = len(load.patients) + len(load.unplaced)
    share = load.demand_minutes / load.available_minutes if load.available_minutes else None
    names = [f"{b.appointment.patient} c{b.appointment.cycle}" for b in plan.bookings_on(load.day)]
    names += [f"{u.appointment.patient} c{u.appointment.cycle} (not placed)"
              for u in load.unplaced[:DAY_UNPLACED_NAMED]]
    if len(load.unplaced) > DAY_UNPLACED_NAMED:
        names.append(f"and {len(load.unplaced) - DAY_UNPLACED_NAMED} more not placed")
    return DayRow(
        date=load.day.isoformat(),
        weekday=WEEKDAYS[load.day.weekday()][:3],
        visits=visits,
        booked_hours=_hours(load.booked_minutes),
        available_hours=_hours(load.available_minutes),
        demand_hours=_hours(load.demand_minutes),
        load=_percent(share) if share is not None else "closed",
        peak=load.peak_chairs,
        patients=", ".join(names),
        status=_status(load),
        over=load.over_capacity,
    )


def _environment(site_templates: str = ""):  # -> jinja2.Environment
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment as Environment  # a site's templates reach data, not Python

    from picture_schedule.resources import templates_dir

    loaders = [FileSystemLoader(site_templates)] if site_templates else []
    loaders.append(FileSystemLoader(str(templates_dir())))
    return Environment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def to_html(view: Report, *, site_templates: str = "") -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no JavaScript)."""
    template = _environment(site_templates).get_template("chairs_report.html")
    return template.render(r=view, chairs=view.unit[0][1])


# ------------------------------------------------------------------------------------ CSV


def to_csv(plan: ChairPlan) -> str:
    """One row per appointment: placed ones by day, start and chair; a day's unplaced ones after them."""
    return "".join(csv_days(plan))


def csv_days(plan: ChairPlan) -> Iterator[str]:
    """:func:`to_csv` a day at a time (the heading line first): a CSV of 300,000 rows is written
    without ever being held whole (``output.Streamed``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    reasons: dict[object, str] = {}
    for load in plan.days:
        for b in plan.bookings_on(load.day):  # by start, then chair; the reason: why not at the planned time
            a = b.appointment
            moved = "" if b.moved is None else reasons.get(b.moved)
            if moved is None:
                moved = reasons[b.moved] = reason_text(b.moved, "en")
            writer.writerow([spreadsheet_safe(cell) for cell in (  # no cell runs as a formula
                a.patient, a.cycle, a.day.isoformat(), b.chair, _clock(b.start), _clock(b.end), a.minutes,
                a.regimen, a.note, "placed", moved)])
        for u in sorted(load.unplaced, key=lambda item: (item.appointment.patient, item.appointment.cycle)):
            a = u.appointment
            text = reasons.get(u.reason)
            if text is None:
                text = reasons[u.reason] = reason_text(u.reason, "en")
            writer.writerow([spreadsheet_safe(cell) for cell in (
                a.patient, a.cycle, a.day.isoformat(), "", "", "", a.minutes, a.regimen, a.note, "unplaced", text)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


# -------------------------------------------------------------------------------- iCalendar


def uid_for(patient: str, cycle: int) -> str:
    """Stable UID of a patient's cycle in the unit calendar (the same whether placed or not)."""
    digest = hashlib.sha256(UID_SALT + b"\0" + patient.encode() + b"\0" + str(cycle).encode())
    return f"{digest.hexdigest()[:32]}@{UID_DOMAIN}"


def stamp(schedules: Iterable[Schedule], zone: str) -> dt.datetime | None:
    """DTSTAMP from the data: the latest time recorded in any course file (``created``, changes'
    ``recorded``; wall time in the site zone); without any, midnight of the earliest start. UTC."""
    tz = ZoneInfo(zone)
    known: list[dt.datetime] = []
    starts: list[dt.date] = []
    for schedule in schedules:
        course = schedule.course
        starts.append(course.start)
        for moment in (course.created, *(c.recorded for c in course.changes)):
            if moment is not None:
                known.append((moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(dt.UTC))
    if known:
        return max(known)
    if starts:
        return dt.datetime.combine(min(starts), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return None


def to_ics(plan: ChairPlan, *, site: Site, dtstamp: dt.datetime) -> bytes:
    """The unit's appointment calendar: a timed event per booking (study number, cycle, chair) in
    the site's zone with its VTIMEZONE, and an all-day event per visit that could not be placed.
    No names: study numbers only."""
    from icalendar import Calendar, Event, vText

    from picture_schedule.render.vtimezone import vtimezone

    zone = ZoneInfo(site.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = f"Infusion chairs: {site.name}" if site.name else "Infusion chairs"
    cal.add("name", vText(name))
    cal.add("x-wr-calname", vText(name))
    cal.add("x-wr-timezone", vText(site.timezone))
    if plan.bookings:
        cal.add_component(vtimezone(site.timezone, plan.bookings[0].start.date(), plan.bookings[-1].start.date()))
    entries: list[tuple[tuple[object, ...], Event]] = []
    for b in plan.bookings:
        a = b.appointment
        event = Event()
        event.add("uid", uid_for(a.patient, a.cycle))
        event.add("dtstamp", dtstamp)
        event.add("dtstart", b.start.replace(tzinfo=zone))
        event.add("dtend", b.end.replace(tzinfo=zone))
        event.add("summary", f"{a.patient} · cycle {a.cycle} · chair {b.chair}")
        lines = [f"Chair {b.chair}, {_clock(b.start)}–{_clock(b.end)} ({a.minutes} min)"]
        if a.regimen:
            lines.append(f"Regimen: {a.regimen}")
        lines += [text for text in (a.note, reason_text(b.moved, "en")) if text]
        event.add("description", "\n".join(lines))
        if site.location:
            event.add("location", site.location)
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        entries.append(((a.day, 0, b.start, b.chair), event))
    for u in plan.unplaced:
        a = u.appointment
        event = Event()
        event.add("uid", uid_for(a.patient, a.cycle))
        event.add("dtstamp", dtstamp)
        event.add("dtstart", a.day)
        event.add("dtend", a.day + dt.timedelta(days=1))
        event.add("summary", f"NOT PLACED: {a.patient} · cycle {a.cycle}")
        lines = [f"No chair: {reason_text(u.reason, 'en')}", f"Needs {a.minutes} min"]
        if a.regimen:
            lines.append(f"Regimen: {a.regimen}")
        if a.note:
            lines.append(a.note)
        event.add("description", "\n".join(lines))
        event.add("status", "TENTATIVE")
        event.add("transp", "TRANSPARENT")
        entries.append(((a.day, 1, dt.datetime.min, a.patient, a.cycle), event))
    for _key, event in sorted(entries, key=lambda item: item[0]):
        cal.add_component(event)
    return cal.to_ical()
