"""The patient's own page behind their link: ``/p/<token>``, and ``/p/<token>/diary.pdf``.

No login: the token is the capability, the same token as the calendar feed's. The patient is found
by the token's hash (:func:`~picture_schedule.roster.patient_link.patient_for_token`), so a link
opens the page exactly when it opens the feed; an unknown token, an old one replaced by a new link
and a removed patient's token all get the very 404 of an unknown feed (same body and headers:
web/errors.py answers it, and the page opens no session, web/common.py). Every answer is
``Cache-Control: no-store`` (web/common.py), ``Referrer-Policy: no-referrer`` (web/app.py), and the
page and the diary carry ``X-Robots-Tag: noindex``. The access log shows ``/p/<redacted>``.

What the page shows, in the course's language, on a phone first (320 px wide, no JavaScript), and
discreetly: its title names no diagnosis, medicine or person, and it shows no name or study number.

1. **Today** (in the course's time zone): each dose with its time and tablets (in the diary's words,
   :func:`~picture_schedule.render.diary_facts.tablets_text`), injections, the day-unit appointment,
   visits, doses held or left out; or "No treatment today".
2. **Next appointment** (day-unit treatment or visit): date, time ("time to be confirmed" without a
   chair booking), where; a date the clinic calendar could not fix says the care team confirms it.
3. **The next 14 days**, one line per medicine a day.
4. **When to call us straight away**: the diary's call-us signs and the site's phone numbers as
   ``tel:`` links.
5. **Your calendar on your phone**: the ``webcal://`` link (Apple), Google Calendar's "add by URL"
   link, ICSx⁵ and Outlook steps, the ``https://`` link to copy.
6. **Your diary**: the printable diary PDF with the QR code of this link.

Every date and dose comes from the schedule's events (:func:`~picture_schedule.core.scheduler.schedule`
of the stored course, with its chair bookings); the page computes none.

**The diary PDF.** It carries the link, so the roster never keeps it (it holds no link in clear).
Printing takes about 3 s, so the PDFs printed here are kept in this process's memory only
(:class:`PrintedDiaries`), by the hash of the token and the diary's key (a digest of everything the
diary shows, :meth:`DiaryCache.lookup`), for the :data:`DIARIES_KEPT` most recent: tapping
"download" again answers at once; a change to the course, a new link or a restart prints again. One
diary prints at a time per process, so a burst of requests cannot take every core.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Blueprint, Flask, abort, current_app, g, make_response, render_template, url_for

from picture_schedule.core.model import LANGUAGES, Dose, Event, Kind, Schedule, Slot, format_amount
from picture_schedule.errors import ScheduleError
from picture_schedule.web.common import fmt_time, now, roster, t

if TYPE_CHECKING:
    from flask import Response

    from picture_schedule.roster.store import Roster

bp = Blueprint("patient_page", __name__)

NEXT_DAYS = 14  # how far ahead the compact list reaches
DIARIES_KEPT = 32  # printed diaries (about 180 kB each) kept in memory
ROBOTS = "noindex, nofollow"
#: Google Calendar's "add by URL" link (not documented by Google: if it stops working, the page's
#: "From URL" steps still do). ``cid`` is the url-encoded ``webcal://`` link.
GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/r?cid="
APPOINTMENTS = (Kind.INFUSION, Kind.VISIT)  # what the patient attends at the unit
_KIND_ORDER = {"infusion": 0, "visit": 1, "oral": 2, "injection": 3, "held": 4, "omitted": 5}
_PHONE = re.compile(r"\+?\d[\d\s().-]*\d")
_LATE = dt.time(23, 59, 59)


# -- what the page shows --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Item:
    """One thing on a day, in the patient's words."""

    kind: str  # "oral", "injection", "infusion", "visit", "held" (a dose held), "omitted" (left out)
    when: str  # "08:00", "08:00 · 20:00", or ""
    label: str  # "Morning tablets", "Hospital appointment", a visit's name …
    what: str = ""  # the medicine and its dose: "Capecitabine 1650 mg"
    detail: str = ""  # the tablets that make the dose, how long in the unit, "held: do not take"
    confirm: str = ""  # the dose is known by its registry text only: ask the care team
    pending: str = ""  # the time or the date is not fixed yet: what the patient is told
    start: dt.time | None = None  # for ordering


@dataclasses.dataclass(frozen=True)
class Day:
    date: dt.date
    items: tuple[Item, ...]


def _unbroken(tablets: str) -> str:
    """Tablets that a narrow screen wraps only between strengths: "3 × 500 mg" stays on one line."""
    return tablets.replace(" × ", "\u00a0×\u00a0").replace(" mg", "\u00a0mg").replace(" 片", "\u00a0片")


def tel_uri(phone: str) -> str:
    """A ``tel:`` link for a number as a site writes it ("025-0000-0002 (example)" → ``tel:02500000002``),
    or "" when it holds no number."""
    found = _PHONE.search(phone or "")
    return "tel:" + re.sub(r"[^\d+]", "", found.group(0)) if found else ""


class Plan:
    """A schedule's days, in the patient's words (``language``; the page's words come through
    :func:`~picture_schedule.web.common.t`, so the view sets ``g.language`` to it first)."""

    def __init__(self, schedule: Schedule, language: str) -> None:
        from picture_schedule.render import diary_facts

        self.schedule = schedule
        self.language = language
        self.words = diary_facts.words(language)
        self.tablets = lambda dose: _unbroken(diary_facts.tablets_text(dose, language))
        course, regimen = schedule.course, schedule.regimen
        self.names = {a.id: a.names.get(language) for a in regimen.agents}
        self.visit_names = {v.id: v.names.get(language) for v in (*regimen.visits, *course.settings.visits)}
        self.cycles = {c.number: c for c in schedule.cycles}
        self.by_date: dict[dt.date, list[Event]] = {}
        for event in schedule.events:
            self.by_date.setdefault(event.date, []).append(event)
        self.gone: dict[dt.date, list[Event]] = {}  # held or left out, in cycles that still run
        for event in schedule.cancelled:
            if event.kind is not Kind.VISIT and event.cycle in self.cycles:
                self.gone.setdefault(event.date, []).append(event)

    def day(self, date: dt.date) -> Day:
        """Everything on ``date``, in time order, one item per dose."""
        events = self.by_date.get(date, [])
        items = [self._dose(e) for e in events if e.kind in (Kind.ORAL, Kind.INJECTION)]
        items += [self._visit(e) for e in events if e.kind is Kind.VISIT]
        infusions: dict[int, list[Event]] = {}
        for e in events:
            if e.kind is Kind.INFUSION:
                infusions.setdefault(e.cycle, []).append(e)
        items += [self._appointment(group) for group in infusions.values()]
        items += [self._gone(e) for e in self.gone.get(date, [])]
        items.sort(key=lambda i: (i.start or _LATE, _KIND_ORDER[i.kind], i.label))
        return Day(date, tuple(items))

    def compact(self, date: dt.date) -> Day:
        """:meth:`day` with each medicine's doses of the day on one line (morning and evening)."""
        merged: list[Item] = []
        for item in self.day(date).items:
            same = next((m for m in merged if item.kind == "oral" and m.kind == "oral" and m.what == item.what
                         and m.detail == item.detail and m.confirm == item.confirm), None)
            if same is None:
                merged.append(item)
            else:
                merged[merged.index(same)] = dataclasses.replace(same, when=f"{same.when} · {item.when}",
                                                                 label=t("Tablets"))
        return Day(date, tuple(merged))

    def next_appointment(self, after: dt.date) -> Day | None:
        """The first day after ``after`` with something to attend at the unit (its appointments only)."""
        for event in self.schedule.events:  # sorted by date and time
            if event.date > after and event.kind in APPOINTMENTS:
                day = self.day(event.date)
                return Day(day.date, tuple(i for i in day.items if i.kind in ("infusion", "visit")))
        return None

    def coming(self, after: dt.date, days: int = NEXT_DAYS) -> list[Day]:
        """The days after ``after`` (up to ``days`` of them) that have something on them."""
        found = [self.compact(after + dt.timedelta(days=n)) for n in range(1, days + 1)]
        return [day for day in found if day.items]

    # one item each

    def _amount(self, dose: Dose | None) -> tuple[str, str]:
        """(what prints as the dose, the "confirm" sentence when only the registry text is known)."""
        if dose is None:
            return "", ""
        if dose.confirm or dose.amount is None:
            return dose.text, t("confirm with your care team")
        if dose.unit == "IU" and dose.amount >= 10000:
            from babel.numbers import format_decimal

            from picture_schedule.i18n import babel_locale

            return f"{format_decimal(dose.amount, locale=babel_locale(self.language))} {dose.unit}", ""
        return f"{format_amount(dose.amount)} {dose.unit}", ""

    def _dose(self, e: Event) -> Item:
        amount, confirm = self._amount(e.dose)
        what = f"{self.names.get(e.agent, e.agent)} {amount}".strip()
        if e.kind is Kind.INJECTION:
            label = t("Injection")
        elif e.slot is Slot.MORNING:
            label = t("Morning tablets")
        elif e.slot is Slot.EVENING:
            label = t("Evening tablets")
        else:
            label = t("Tablets")
        detail = self.tablets(e.dose) if e.dose is not None and not confirm else ""
        return Item(e.kind.value, fmt_time(e.time), label, what, detail, confirm, start=e.time)

    def _visit(self, e: Event) -> Item:
        pending = self.words(e.status_reason) if e.tentative and e.status_reason else ""
        return Item("visit", fmt_time(e.time), self.visit_names.get(e.agent) or t("Clinic visit"),
                    pending=pending, start=e.time)

    def _appointment(self, events: list[Event]) -> Item:
        """A cycle's infusions of one day: one appointment in the unit."""
        first = min(events, key=lambda e: e.sort_key)
        cycle = self.cycles.get(first.cycle)
        start, pending = first.time, ""
        if cycle is not None and first.date == cycle.day1 and cycle.chair_minutes:
            minutes = cycle.chair_minutes
            if cycle.booking is not None and first.booked:
                start = cycle.booking.start
            else:
                pending = t("time to be confirmed")
        else:
            minutes = sum(e.minutes for e in events)
        if first.tentative and first.status_reason:
            pending = self.words(first.status_reason)
        detail = t("Infusions in the day unit: about %(minutes)s minutes in all", minutes=minutes) if minutes else ""
        return Item("infusion", fmt_time(start), t("Hospital appointment"), detail=detail, pending=pending,
                    start=start)

    def _gone(self, e: Event) -> Item:
        cycle = self.cycles[e.cycle]
        name = self.names.get(e.agent, e.agent)
        if e.agent in cycle.omitted:
            return Item("omitted", fmt_time(e.time), name, detail=t("not given this cycle"), start=e.time)
        return Item("held", fmt_time(e.time), name,
                    detail=t("held by your care team: do not take this dose, and do not make it up later"),
                    start=e.time)


# -- printed diaries, kept in memory ---------------------------------------------------------------


class PrintedDiaries:
    """Diaries printed with a link's QR code, kept in this process's memory only (never written):
    by (SHA-256 of the token, the diary's key), the ``size`` most recently used. Thread-safe; one
    diary prints at a time."""

    def __init__(self, size: int = DIARIES_KEPT) -> None:
        self.size = size
        self._items: OrderedDict[tuple[bytes, str], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._printing = threading.Lock()

    def pdf(self, store: Roster, patient: str, token: str, feed_url: str) -> bytes:
        from picture_schedule.roster.tokens import token_hash

        cache = store.diary_cache()
        _course, _schedule, key = cache.lookup(patient)
        name = (token_hash(token), key.digest)
        found = self._get(name)
        if found is not None:
            return found
        with self._printing:
            found = self._get(name)  # printed by another request while this one waited
            if found is not None:
                return found
            pdf = cache.pdf(patient, feed_url=feed_url)
            with self._lock:
                self._items[name] = pdf
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return pdf

    def _get(self, name: tuple[bytes, str]) -> bytes | None:
        with self._lock:
            found = self._items.get(name)
            if found is not None:
                self._items.move_to_end(name)
            return found


# -- the views ------------------------------------------------------------------------------------


def _patient(token: str) -> str:
    """The patient whose link this is, or the feed's 404."""
    from picture_schedule.roster.patient_link import patient_for_token

    patient = patient_for_token(roster(), token)
    if patient is None:
        abort(404)
    return patient


def _private(response: Response) -> Response:
    response.headers["X-Robots-Tag"] = ROBOTS
    return response


def _unavailable(exc: ScheduleError) -> Any:
    """The patient's stored course cannot be read or printed: said to the log (without the token),
    and to the patient in the feed server's words; never a staff page or a traceback."""
    from picture_schedule.roster.feed_app import redact

    logging.getLogger("picture_schedule.web").error("patient page: %s", redact(str(exc))[:300])
    return _private(make_response(b"Internal error\n", 500, {"Content-Type": "text/plain; charset=utf-8"}))


def _links(token: str, site_base_url: str) -> tuple[str, str]:
    """(https, webcal) links of this token's feed, on the same base as the link the nurse handed out."""
    from picture_schedule.roster.feed_app import feed_links
    from picture_schedule.web.linkpage import link_base

    return feed_links(link_base(site_base_url), token)


@bp.route("/p/<token>")
def page(token: str) -> Any:
    from zoneinfo import ZoneInfo

    from picture_schedule.core.scheduler import schedule
    from picture_schedule.render import diary_facts

    patient = _patient(token)
    try:
        course = roster().course(patient)
        expanded = schedule(course)
    except ScheduleError as exc:
        return _unavailable(exc)
    g.language = course.language if course.language in LANGUAGES else "en"
    today = now().astimezone(ZoneInfo(course.zone)).date()
    plan = Plan(expanded, g.language)
    site = course.settings
    https, webcal = _links(token, site.feed_base_url)
    html = render_template(
        "my-page.html", today=plan.day(today), next=plan.next_appointment(today), coming=plan.coming(today),
        days=NEXT_DAYS, location=site.location, hotline=site.phone_24h, day_phone=site.phone_day,
        alarms=diary_facts.alarms(site, g.language),
        stop_tablets=diary_facts.stop_tablets(expanded.regimen, g.language), https=https, webcal=webcal,
        google=GOOGLE_SUBSCRIBE + quote(webcal, safe=""), diary=url_for("patient_page.diary", token=token))
    return _private(make_response(html))


@bp.route("/p/<token>/diary.pdf")
def diary(token: str) -> Any:
    patient = _patient(token)
    diaries: PrintedDiaries = current_app.extensions["picture_patient_diaries"]
    try:
        _https, webcal = _links(token, roster().course(patient).settings.feed_base_url)
        pdf = diaries.pdf(roster(), patient, token, webcal)  # the QR code subscribes, as on the nurse's print
    except ScheduleError as exc:
        return _unavailable(exc)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = 'attachment; filename="diary.pdf"'
    return _private(response)


def register(app: Flask) -> None:
    app.extensions["picture_patient_diaries"] = PrintedDiaries()
    app.add_template_filter(tel_uri, "tel")
    app.register_blueprint(bp)
