"""The coordinator's chair plan: ``/chairs`` (a month's plan, and "book" to store it) and
``/chairs/suggest`` (start dates for a new patient).

The same library calls as the command line, on the roster this server holds and the site file
given to ``web --site`` (its ``[chairs]`` day unit):

- ``GET /chairs?month=YYYY-MM`` shows what ``chairs plan --db ROSTER --site FILE --from <1st> --to
  <last day>`` computes (:func:`~picture_schedule.planning.chair_summary.plan_courses`): days over
  capacity and visits not placed first, then the month's heatmap, the chairs by day and by hour,
  and each proposed booking beside the one stored (:mod:`~picture_schedule.web.chairs_view`).
- ``POST /chairs/book`` stores that month's bookings as ``--book`` does
  (:func:`~picture_schedule.roster.bookings.book`: one transaction, every changed patient's feed
  rendered again, a "book" line in their history by the logged-in member). The page sends a
  fingerprint of the bookings it showed; if planning again gives other ones (the roster changed
  meanwhile), nothing is stored and the page says so.
- ``GET /chairs/suggest`` is ``chairs suggest`` with the roster's patients on the chairs
  (:func:`~picture_schedule.planning.chair_summary.suggest_for_courses`).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for

from picture_schedule.errors import ScheduleError
from picture_schedule.web.common import requires, roster, settings, t, today, unit_site

bp = Blueprint("chairs", __name__)

_MONTH = re.compile(r"(\d{4})-(\d{2})")
#: How many starts the suggest form may ask for (as ``chairs suggest --count``).
MOST_STARTS = 100


class MonthError(ValueError):
    """The ``month`` parameter is not a month the page can show."""


class PlanChanged(Exception):
    """Planning again at "book" gave other bookings than the page showed: nothing is stored."""


def _month(text: str | None) -> dt.date:
    """The first day of the month ``YYYY-MM`` (default: this month in the unit's zone)."""
    from picture_schedule.loading.reader import check_date_range

    if text is None or not text.strip():
        return today().replace(day=1)
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:  # (year 0 is no year)
        raise MonthError(t("%(value)s is not a month: give it as YYYY-MM, for example %(example)s.",
                           value=repr(text.strip()[:20]), example=f"{today():%Y-%m}"))
    first = dt.date(int(match[1]), int(match[2]), 1)
    try:
        check_date_range(first)
        check_date_range(_last_day(first))
    except ScheduleError as exc:
        raise MonthError(exc.message) from None
    return first


def _last_day(month: dt.date) -> dt.date:
    return month.replace(day=_calendar.monthrange(month.year, month.month)[1])


def _shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _unit() -> tuple[str, Any, Any] | str:
    """(site path, site, its [chairs] unit), or why the page cannot plan (a sentence)."""
    from picture_schedule.core.chair_plan import Unit

    path = settings().site
    if not path:
        return t("This server was started without a site file, so it does not know the unit's chairs. Start it "
                 "again with a site file that has a [chairs] section: picture-schedule web --db ROSTER --site FILE.")
    site = unit_site()
    if not isinstance(site.chairs, Unit):
        return t("The site file %(file)s has no [chairs] section, so the page does not know the unit's chairs.",
                 file=path)
    return path, site, site.chairs


def _setup(reason: str, status: int = 200) -> Any:
    return render_template("chairs_setup.html", reason=reason), status


def _plan_month(courses: Any, path: str, month: dt.date, *, book: bool = False) -> Any:
    """``chairs plan --db ROSTER --site FILE --from <month's 1st> --to <its last day>``, for ``courses``."""
    from picture_schedule.planning.chair_summary import plan_courses

    return plan_courses(courses, source=roster().label, site_path=path, first=month, last=_last_day(month), book=book)


def _month_page(month: dt.date | None, *, error: str = "", value: str = "") -> dict[str, Any]:
    """What every rendering of chairs.html needs: the month, its neighbours, the picker's value."""
    from picture_schedule.web.chairs_view import month_title

    shown = month or today().replace(day=1)
    return {"month_value": value or f"{shown:%Y-%m}", "error": error, "view": None, "unit": (),
            "previous": (f"{_shift(shown, -1):%Y-%m}", month_title(_shift(shown, -1))),
            "next": (f"{_shift(shown, 1):%Y-%m}", month_title(_shift(shown, 1)))}


@bp.route("/chairs")
@requires("coordinator")
def plan() -> Any:
    from picture_schedule.roster.bookings import active_courses
    from picture_schedule.web.chairs_view import month_view, unit_facts

    try:
        month = _month(request.args.get("month"))
    except MonthError as exc:
        return render_template("chairs.html", **_month_page(None, error=str(exc),
                                                            value=request.args.get("month", "")[:20])), 400
    unit = _unit()
    if isinstance(unit, str):
        return _setup(unit)
    path, site, chairs = unit
    report = _plan_month(active_courses(roster()), path, month)
    page = _month_page(month)
    page.update(view=month_view(report, site, month), unit=unit_facts(site, chairs))
    return render_template("chairs.html", **page)


@bp.route("/chairs/book", methods=["POST"])
@requires("coordinator")
def book() -> Any:
    from picture_schedule.roster.bookings import book as store_bookings
    from picture_schedule.web.chairs_view import fingerprint, month_title

    try:
        month = _month(request.form.get("month") or "?")
    except MonthError as exc:
        return render_template("chairs.html", **_month_page(None, error=str(exc),
                                                            value=request.form.get("month", "")[:20])), 400
    unit = _unit()
    if isinstance(unit, str):
        return _setup(unit, 400)
    path = unit[0]
    shown = request.form.get("plan", "")
    held: dict[str, Any] = {}

    def planner(courses: Any) -> Any:
        held.update((course.patient, course.bookings) for course in courses)
        report = _plan_month(courses, path, month, book=True)
        if fingerprint(report.bookings) != shown:
            raise PlanChanged
        return report

    try:
        report, booked = store_bookings(roster(), planner, by=g.member.username)
    except PlanChanged:
        flash(t("The plan changed since the page was shown (a patient was enrolled, changed or booked "
                "meanwhile). Nothing was stored: check the plan below and book again."), "warning")
        return redirect(url_for("chairs.plan", month=f"{month:%Y-%m}"))
    cycles = [(patient, cycle) for patient, numbers in booked.patients for cycle in numbers]
    new = sum(1 for patient, cycle in cycles if cycle not in held.get(patient, {}))
    title = month_title(month)
    if cycles:
        message = t("Bookings of %(month)s stored: %(new)s new, %(changed)s changed, for %(patients)s. Their "
                    "calendars, diaries and feeds now give the booked times.", month=title, new=new,
                    changed=len(cycles) - new, patients=", ".join(patient for patient, _ in booked.patients))
    else:
        message = t("Nothing changed: every booking of %(month)s was already stored.", month=title)
    stale = [(s.course.patient, note.params["cycle"]) for s in report.schedules for note in s.notes
             if note.code == "booking-stale"]
    again = sum(1 for patient, cycle in stale if cycle in report.bookings.get(patient, {}))
    if again:
        message += " " + t("Stale bookings booked again for their new day 1: %(n)s.", n=again)
    if len(stale) > again:
        message += " " + t("Stale bookings still to be booked: %(n)s (see “Needs attention”).", n=len(stale) - again)
    flash(message, "success")
    return redirect(url_for("chairs.plan", month=f"{month:%Y-%m}"))


@bp.route("/chairs/suggest")
@requires("coordinator")
def suggest() -> Any:
    from picture_schedule.loading import load_regimen
    from picture_schedule.loading.reader import parse_date
    from picture_schedule.loading.regimen import builtin_regimens
    from picture_schedule.planning.chair_summary import HORIZON, suggest_for_courses
    from picture_schedule.roster.bookings import active_courses
    from picture_schedule.web.chairs_view import starts_view

    unit = _unit()
    if isinstance(unit, str):
        return _setup(unit)
    names = builtin_regimens()
    choices = [(name, load_regimen(name).title.get(g.language)) for name in names]
    args = request.args
    values = {"regimen": args.get("regimen", "picture" if "picture" in names else names[0])[:100],
              "earliest": args.get("earliest", today().isoformat())[:20], "count": args.get("count", "5")[:10]}
    errors: dict[str, str] = {}
    result = None
    if "regimen" in args:  # the form was sent
        if values["regimen"] not in names:
            errors["regimen"] = t("Choose one of the regimens in the list.")
        try:
            earliest = parse_date(values["earliest"])
        except ScheduleError as exc:
            errors["earliest"] = exc.message
        count = int(values["count"]) if values["count"].strip().isdecimal() else 0
        if not 1 <= count <= MOST_STARTS:
            errors["count"] = t("Give a whole number from 1 to %(most)s.", most=MOST_STARTS)
        if not errors:
            starts = suggest_for_courses(active_courses(roster()), source=roster().label, site_path=unit[0],
                                         regimen=values["regimen"], earliest=earliest, count=count)
            result = starts_view(starts, HORIZON)
    return render_template("chairs_suggest.html", values=values, errors=errors, result=result, choices=choices,
                           most=MOST_STARTS), 400 if errors else 200


def register(app: Flask) -> None:
    app.register_blueprint(bp)
