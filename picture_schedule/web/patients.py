"""The roster's pages: the patient list, one patient's schedule and history, and what a nurse does
to a patient's entry.

- ``GET /patients`` (viewer): the list, from the stored schedule briefs (roster/listing.py: one
  query, no schedule expanded); ``?q=`` searches study numbers, ``?removed=1`` shows removed patients.
- ``GET /patients/<study>`` (viewer): the schedule by cycle, doses and their basis, bookings, flags,
  notes, the history; a nurse also gets the forms.
- ``POST …/change`` (nurse): the change tried on the stored course without writing (roster/preview.py):
  the schedule before and after; ``POST …/change/confirm`` records it (only if the schedule it gives
  is still the one previewed) with the member as ``by``.
- ``POST …/rotate`` and ``…/remove`` (nurse): a confirmation page; ``…/confirm`` does it.
- ``GET …/diary.pdf``, ``…/diary.html``, ``…/calendar.ics`` (nurse): printing and the full-detail
  calendar are a nurse's tasks (the issue: "a nurse … prints"; a viewer reads the pages). The PDF
  comes from the roster's diary cache (kept by schedule fingerprint); ``?handout=`` prints the QR code
  of a link made in the last 30 minutes by the same member (not kept).

Study numbers may hold any character ("/" too): the routes use the ``path`` converter, and the
fixed endings (``/diary.pdf``, ``/change``…) take precedence over a study number ending so.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, g, redirect, render_template, request, url_for

from picture_schedule.core.model import DEFAULT_TIMEZONE, Change, Course, Schedule
from picture_schedule.errors import ScheduleError
from picture_schedule.roster.records import PatientInfo
from picture_schedule.web.change_form import (
    UNITS,
    ChangeForm,
    level_choices,
    oral_days,
    place_errors,
    read_form,
    try_change,
)
from picture_schedule.web.common import (
    LANGUAGES,
    fmt_moment,
    handouts,
    requires,
    roster,
    t,
    today,
    unit_site,
    unit_zone,
)

bp = Blueprint("patients", __name__)


class ChangedMeanwhile(ScheduleError):
    """The patient's schedule changed between the preview and "Confirm" (someone else recorded a change
    or booked a chair): nothing is recorded, the preview is shown again."""


@bp.route("/")
def root() -> Any:
    return redirect(url_for("patients.index"))


# -- the list ----------------------------------------------------------------------------------------


@bp.route("/patients")
@requires("viewer")
def index() -> Any:
    from picture_schedule.roster.listing import patient_rows
    from picture_schedule.web.patient_list import list_item, natural_key, visit_names

    query = request.args.get("q", "").strip()[:100]
    removed = request.args.get("removed") == "1"
    descending = request.args.get("sort") == "desc"
    rows = patient_rows(roster(), removed=removed, query=query)
    rows.sort(key=lambda row: natural_key(row.info.patient), reverse=descending)
    day = today()
    visits = visit_names(g.language, unit_site())
    items = [list_item(row, day, visits, g.language) for row in rows]
    return render_template("patients.html", items=items, query=query, removed=removed, descending=descending,
                           today=day)


# -- one patient -------------------------------------------------------------------------------------


def _info(study: str) -> PatientInfo:
    """The patient's entry, or the 404 page."""
    try:
        return roster().info(study)
    except ScheduleError:
        abort(404)


def _active(study: str) -> PatientInfo:
    """The entry of a patient on the roster (a removed patient's page has no forms: 404 for them)."""
    info = _info(study)
    if info.removed_at is not None:
        abort(404)
    return info


@bp.route("/patients/<path:study>")
@requires("viewer")
def page(study: str) -> Any:
    return _page(study)


def _page(study: str, *, form: ChangeForm | None = None, status: int = 200, course: Course | None = None) -> Any:
    """The patient's page (with ``form`` as typed and its problems, after a refused change)."""
    from picture_schedule.core.scheduler import schedule
    from picture_schedule.web.schedule_view import history_rows, schedule_view

    info = _info(study)
    language = g.language
    view = None
    regimen = None
    problem = ""
    try:
        course = course or roster().course(study)
        regimen = course.regimen
        if info.removed_at is None:
            view = schedule_view(schedule(course), language, today())
    except ScheduleError as exc:  # a stored course that no longer loads: the history still shows
        problem = str(exc)
    zone = course.zone if course is not None else (unit_zone() or DEFAULT_TIMEZONE)
    history = history_rows(roster().journal(study), regimen, language, zone)
    context = {"info": info, "course": course, "view": view, "history": history, "zone": zone, "problem": problem,
               "local": functools.partial(fmt_moment, zone=zone),
               "form": form or ChangeForm(), "levels": level_choices(course) if course else [],
               "oral_days": oral_days(course) if course else [], "units": UNITS, "languages_": LANGUAGES,
               "today": today()}
    return render_template("patient.html", **context), status


# -- recording a change ------------------------------------------------------------------------------


def _read_change(study: str) -> tuple[Course, ChangeForm, Change | None]:
    _active(study)
    course = roster().course(study)
    typed, change = read_form(request.form, course, g.member.username)
    return course, typed, change


@bp.route("/patients/<path:study>/change", methods=["POST"])
@requires("nurse")
def change(study: str) -> Any:
    """The change tried without writing: the schedule before and after, and "Confirm"."""
    course, typed, change = _read_change(study)
    preview = try_change(roster(), study, course, typed, change)
    if preview is None:
        return _page(study, form=typed, status=400, course=course)
    return _preview_page(study, typed, preview.before, preview.after, preview.change)


def _preview_page(study: str, typed: ChangeForm, before: Schedule, after: Schedule, change: Change, *,
                  meanwhile: bool = False, status: int = 200) -> Any:
    from picture_schedule.core.scheduler import change_reason
    from picture_schedule.render.messages import describe
    from picture_schedule.web.schedule_view import compare, new_notes

    language = g.language
    actions = [describe(a, language) for a in change_reason(after.regimen, change).params["actions"]]
    rows = compare(before, after, language)
    # a change that alters a cycle already begun rewrites what happened: say so before it is confirmed
    past = [row for row in rows if row.changed and row.before is not None and row.before < today()]
    return render_template("patient-preview.html", study=study, form=typed, rows=rows, past=past,
                           notes=new_notes(before, after, language), actions=actions, reason=change.reason,
                           expect=after.fingerprint(), meanwhile=meanwhile, end_before=before.end,
                           end_after=after.end), status


@bp.route("/patients/<path:study>/change/confirm", methods=["POST"])
@requires("nurse")
def change_confirm(study: str) -> Any:
    """Record the change previewed, if the schedule it gives is still the one previewed."""
    from picture_schedule.core.scheduler import schedule
    from picture_schedule.roster.preview import preview_change
    from picture_schedule.web.common import fmt_date

    course, typed, change = _read_change(study)
    if change is None or not typed.ok:
        try_change(roster(), study, course, typed, change)  # every problem at once
        return _page(study, form=typed, status=400, course=course)
    expect = request.form.get("expect", "")

    def still_as_previewed(new: Course) -> None:
        if schedule(new).fingerprint() != expect:
            raise ChangedMeanwhile("the schedule changed since the preview")

    try:
        recorded = roster().change(study, change, before_commit=still_as_previewed)
    except ChangedMeanwhile:
        try:
            preview = preview_change(roster(), study, change)
        except ScheduleError as exc:
            place_errors(typed, exc, len(roster().course(study).changes) + 1, change)
            return _page(study, form=typed, status=409)
        return _preview_page(study, typed, preview.before, preview.after, preview.change, meanwhile=True,
                             status=409)
    except ScheduleError as exc:
        place_errors(typed, exc, len(course.changes) + 1, change)
        return _page(study, form=typed, status=400)
    cycle = next((c for c in schedule(recorded).cycles if c.number == change.cycle), None)
    if cycle is not None:
        flash(t("Change recorded for %(study)s: cycle %(n)s day 1 is now %(date)s. The calendar is updated.",
                study=study, n=cycle.number, date=fmt_date(cycle.day1)), "success")
    else:
        flash(t("Change recorded for %(study)s: treatment stops before cycle %(n)s. The calendar is updated.",
                study=study, n=change.cycle), "success")
    return redirect(url_for("patients.page", study=study))


# -- a new link, removal -----------------------------------------------------------------------------


@bp.route("/patients/<path:study>/rotate", methods=["POST"])
@requires("nurse")
def rotate(study: str) -> Any:
    _active(study)
    return render_template("patient-confirm.html", study=study, action="rotate",
                           target=url_for("patients.rotate_confirm", study=study))


@bp.route("/patients/<path:study>/rotate/confirm", methods=["POST"])
@requires("nurse")
def rotate_confirm(study: str) -> Any:
    from picture_schedule.roster.handout import new_link
    from picture_schedule.web.linkpage import show_link

    _active(study)
    handout = new_link(roster(), study, by=g.member.username)  # a ScheduleError: the error page, nothing changed
    return show_link(study, handout.token, enrolled=False)


@bp.route("/patients/<path:study>/remove", methods=["POST"])
@requires("nurse")
def remove(study: str) -> Any:
    _active(study)
    return render_template("patient-confirm.html", study=study, action="remove",
                           target=url_for("patients.remove_confirm", study=study))


@bp.route("/patients/<path:study>/remove/confirm", methods=["POST"])
@requires("nurse")
def remove_confirm(study: str) -> Any:
    _active(study)
    roster().remove(study, by=g.member.username)
    handouts().forget(study)
    flash(t("%(study)s was removed from the roster. The calendar link no longer works; the history is kept.",
            study=study), "success")
    return redirect(url_for("patients.index"))


# -- printing and the full calendar ------------------------------------------------------------------


def _language_arg() -> str | None:
    chosen = request.args.get("lang", "")
    return chosen if chosen in LANGUAGES else None


def safe_filename(study: str, suffix: str) -> str:
    """A file name from a study number: letters, digits, dot, dash and underscore only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", study).strip("._") or "patient"
    return f"{stem[:80]}{suffix}"


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _feed_url(study: str) -> str | None:
    """The link the diary's QR code carries, from ``?handout=`` (None: a diary without QR code);
    a handout that expired or is not this member's: the error page (410), nothing printed."""
    from picture_schedule.roster.feed_app import feed_links
    from picture_schedule.web.linkpage import link_base

    handout = request.args.get("handout", "")
    if not handout:
        return None
    from picture_schedule.roster.patient_link import patient_for_token

    token = handouts().get(handout, study, g.member.id)
    # a link replaced or removed outside this page (the command line, another server) prints no dead QR code
    if token is None or patient_for_token(roster(), token) != study:
        abort(Response(render_template(
            "error.html", status=410,
            message=t("The new link is no longer held for printing (after 30 minutes, a restart, or a newer link). "
                      "Print the diary without the QR code, or make a new link.")), 410))
    return feed_links(link_base(roster().course(study).settings.feed_base_url), token)[1]


@bp.route("/patients/<path:study>/diary.pdf")
@requires("nurse")
def diary_pdf(study: str) -> Any:
    _active(study)
    feed_url = _feed_url(study)
    pdf = roster().diary_cache().pdf(study, language=_language_arg(), feed_url=feed_url)
    return _download(pdf, "application/pdf", safe_filename(study, "-diary.pdf"))


@bp.route("/patients/<path:study>/diary.html")
@requires("nurse")
def diary_html(study: str) -> Any:
    from picture_schedule.render.diary import diary_html as render_html

    _active(study)
    feed_url = _feed_url(study)
    _course, expanded, key = roster().diary_cache().lookup(study, language=_language_arg())
    html = render_html(expanded, language=key.language, feed_url=feed_url)
    # a download: the diary is one self-contained file with its own styles, which this site's
    # Content-Security-Policy (no inline styles) would strip if it were shown here
    return _download(html.encode("utf-8"), "text/html", safe_filename(study, "-diary.html"))


@bp.route("/patients/<path:study>/calendar.ics")
@requires("nurse")
def calendar(study: str) -> Any:
    from picture_schedule.core.scheduler import schedule
    from picture_schedule.render.ics import to_ics

    _active(study)
    body = to_ics(schedule(roster().course(study)), language=_language_arg(), detail="full")
    return _download(body, "text/calendar", safe_filename(study, "-full.ics"))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
