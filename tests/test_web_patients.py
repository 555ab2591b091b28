"""The staff pages about patients: the list, a patient's page, changes, new links, removal, printing
(issue 13), through Flask's test client.

Dates checked by hand: the example course (examples/course-example.toml) starts Monday 7 December
2026 with 21-day cycles, so cycle 2 day 1 is Monday 28 December 2026; the clock of the tests
(tests/web_support.py) reads 1 December 2026, before the start, so the next appointment is cycle 1
day 1, 7 December, at the site's infusion time 09:00.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import sqlite3
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from tests.web_support import csrf, fast_hashing, web  # noqa: F401  (fixtures)

STUDY = "PIC-001"
SCRIPT = "<script>alert(1)</script>"


def text_of(response) -> str:
    """The visible text of a page's <main>, tags removed, entities decoded, spaces collapsed."""
    page = response.get_data(as_text=True)
    page = page[page.find("<main"):]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def token_of(client, path: str = "/patients") -> str:
    return csrf(client.get(path).get_data(as_text=True))


def hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action``."""
    start = page.index(f'action="{action}"')
    form = page[start:page.index("</form>", start)]
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)}


def preview(client, study: str = STUDY, **fields: str):
    form = {"csrf_token": token_of(client, f"/patients/{quote(study)}"), **fields}
    return client.post(f"/patients/{quote(study)}/change", data=form)


def day1(web, cycle: int, study: str = STUDY) -> dt.date:
    from picture_schedule.core.scheduler import schedule

    return next(c.day1 for c in schedule(web.roster.course(study)).cycles if c.number == cycle)


def feed_token(client, page: str) -> str:
    found = re.search(r"/feed/([A-Za-z0-9_-]{32,})\.ics", page)
    assert found, "no feed link on the page"
    return found.group(1)


def rotate(client, study: str = STUDY) -> str:
    """Make a new link through the pages; the page that shows it."""
    token = token_of(client, f"/patients/{quote(study)}")
    confirm = client.post(f"/patients/{quote(study)}/rotate", data={"csrf_token": token})
    assert confirm.status_code == 200
    made = client.post(f"/patients/{quote(study)}/rotate/confirm", data={"csrf_token": token})
    assert made.status_code == 200
    return made.get_data(as_text=True)


# -- doors: roles, login, CSRF, unknown patients -------------------------------------------------------

GETS = ["/patients", f"/patients/{STUDY}", f"/patients/{STUDY}/diary.pdf", f"/patients/{STUDY}/diary.html",
        f"/patients/{STUDY}/calendar.ics"]
POSTS = [f"/patients/{STUDY}/change", f"/patients/{STUDY}/change/confirm", f"/patients/{STUDY}/rotate",
         f"/patients/{STUDY}/rotate/confirm", f"/patients/{STUDY}/remove", f"/patients/{STUDY}/remove/confirm"]
CHANGE = {"cycle": "2", "delay_days": "7", "reason": "neutrophils 1.1"}


@pytest.mark.parametrize("path", GETS + POSTS)
def test_every_route_sends_a_visitor_without_login_to_the_login_page(web, path):
    client = web.client()
    if path in GETS:
        answer = client.get(path)
    else:  # a form with a valid token (from the login page), but no login
        answer = client.post(path, data={"csrf_token": token_of(client, "/login"), **CHANGE})
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=")


def test_a_viewer_reads_the_list_and_the_page_but_may_not_change_print_or_remove(web):
    client = web.client("viewer")
    before = web.roster.course_text(STUDY)
    assert client.get("/patients").status_code == 200
    page = client.get(f"/patients/{STUDY}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "History" in text_of(page) and "Schedule by cycle" in text_of(page)
    assert not re.search(r'action="[^"]*/(change|rotate|remove)', body)  # no forms for a viewer
    assert "/diary.pdf" not in body and "/calendar.ics" not in body
    token = csrf(body)
    for path in POSTS:
        assert client.post(path, data={"csrf_token": token, **CHANGE}).status_code == 403, path
    for path in GETS[2:]:
        assert client.get(path).status_code == 403, path
    assert web.roster.course_text(STUDY) == before
    assert [p.patient for p in web.roster.patients()] == [STUDY]


def test_a_nurse_gets_every_page_and_form(web):
    client = web.client("nurse")
    body = client.get(f"/patients/{STUDY}").get_data(as_text=True)
    for action in ("change", "rotate", "remove"):
        assert f'action="/patients/{STUDY}/{action}"' in body
    assert f'href="/patients/{STUDY}/calendar.ics?lang=en"' in body


def test_a_coordinator_is_a_nurse_too(web):
    client = web.client("coordinator")
    assert preview(client, **CHANGE).status_code == 200


def test_an_unknown_study_number_is_not_found(web):
    client = web.client("nurse")
    token = token_of(client)
    for path in ("/patients/PIC-999", "/patients/PIC-999/diary.pdf", "/patients/PIC-999/calendar.ics"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Not found." in text_of(answer)
    for path in ("/patients/PIC-999/change", "/patients/PIC-999/rotate/confirm", "/patients/PIC-999/remove/confirm"):
        assert client.post(path, data={"csrf_token": token, **CHANGE}).status_code == 404, path


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(web):
    client = web.client("nurse")
    journal = web.roster.journal(STUDY)
    for path in POSTS:
        answer = client.post(path, data=CHANGE)
        assert answer.status_code == 400, path
    assert web.roster.journal(STUDY) == journal
    assert client.get(f"/feed/{'A' * 32}.ics").status_code == 404


def test_the_new_patient_page_still_reaches_the_enrolment_form(web):
    client = web.client("nurse")
    answer = client.get("/patients/new")
    assert answer.status_code == 200
    assert "patients.page" not in answer.get_data(as_text=True)
    with web.app.test_request_context("/patients/new"):
        from flask import request

        assert request.url_rule is not None and request.url_rule.endpoint == "enrol.new"


def test_security_headers_on_the_list_and_the_page(web):
    client = web.client("viewer")
    for path in ("/patients", f"/patients/{STUDY}"):
        answer = client.get(path)
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"
        body = answer.get_data(as_text=True)
        assert "<script" not in body and "style=" not in body and "onclick" not in body.lower()


# -- the list ------------------------------------------------------------------------------------------


def _row(page: str, study: str) -> str:
    """The text of the list's row for ``study``."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.DOTALL):
        if f">{html.escape(study)}</a>" in row:
            return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)))
    raise AssertionError(f"no row for {study}")


def _next_appointment(web, study: str, today: dt.date):
    """The first infusion or visit on or after ``today``, from the expanded schedule."""
    from picture_schedule.core.model import Kind
    from picture_schedule.core.scheduler import schedule

    events = [e for e in schedule(web.roster.course(study)).events
              if e.kind in (Kind.INFUSION, Kind.VISIT) and e.date >= today]
    return min(events, key=lambda e: e.sort_key)


def test_the_list_shows_the_patient_before_the_start(web):
    client = web.client("viewer")
    page = client.get("/patients").get_data(as_text=True)
    row = _row(page, STUDY)
    upcoming = _next_appointment(web, STUDY, dt.date(2026, 12, 1))
    assert (upcoming.date, upcoming.time, upcoming.cycle, upcoming.day) == (dt.date(2026, 12, 7), dt.time(9, 0), 1, 1)
    assert "Mon 7 Dec 2026 09:00" in row and "cycle 1 day 1 (infusion)" in row  # by hand: see the module
    assert "not started" in row
    assert "picture" in row and "Mon 7 Dec 2026" in row
    assert "2 warnings" in row  # the registry-text dose and the estimated 2027 holidays
    assert f'href="/patients/{STUDY}"' in page


def test_the_list_follows_the_clock_into_cycle_1(web):
    web.clock.advance(days=9)  # Thursday 10 December 2026 (a new login: the old session would have expired)
    client = web.client("viewer")
    row = _row(client.get("/patients").get_data(as_text=True), STUDY)
    upcoming = _next_appointment(web, STUDY, dt.date(2026, 12, 10))
    # by hand: cycle 2's blood test is due the day before Monday 28 December, within 2 days earlier:
    # Sunday 27 and Saturday 26 are closed, so Friday 25 December at 08:00
    assert (upcoming.date, upcoming.time) == (dt.date(2026, 12, 25), dt.time(8, 0))
    assert "Cycle 1 of 6" in row
    assert "Fri 25 Dec 2026 08:00" in row and "Blood test before the cycle" in row


def test_the_list_reads_no_schedule(web, monkeypatch):
    """The list comes from the stored briefs: expanding a schedule would fail here."""
    from picture_schedule.core import scheduler

    def refuse(*args, **kwargs):
        raise AssertionError("the patient list expanded a schedule")

    monkeypatch.setattr(scheduler, "schedule", refuse)
    monkeypatch.setattr(scheduler, "expand", refuse)
    assert web.client("viewer").get("/patients").status_code == 200


def test_a_patient_without_a_stored_brief_shows_a_dash(web):
    conn = sqlite3.connect(web.roster.path)
    conn.execute("DELETE FROM briefs")
    conn.commit()
    conn.close()
    row = _row(web.client("viewer").get("/patients").get_data(as_text=True), STUDY)
    assert "—" in row and "schedule brief not made yet" in row
    assert "Mon 7 Dec 2026" in row  # the start still shows (from the course text)


def test_search_by_study_number_any_case(web):
    for study in ("PIC-002", "PIC-010", "XYZ-9"):
        web.roster.add(web.course_file(study), by="setup")
    client = web.client("viewer")
    found = client.get("/patients?q=pic").get_data(as_text=True)
    assert all(f">{s}</a>" in found for s in ("PIC-001", "PIC-002", "PIC-010")) and ">XYZ-9</a>" not in found
    assert found.index(">PIC-002</a>") < found.index(">PIC-010</a>")  # numbers in order, not as text
    assert 'value="pic"' in found  # the box keeps what was typed
    assert ">XYZ-9</a>" in client.get("/patients?q=z-9").get_data(as_text=True)
    nothing = client.get("/patients?q=nobody")
    assert "No study number contains “nobody”." in text_of(nothing)
    backwards = client.get("/patients?sort=desc").get_data(as_text=True)
    assert backwards.index(">XYZ-9</a>") < backwards.index(">PIC-010</a>") < backwards.index(">PIC-001</a>")


def test_removed_patients_are_hidden_unless_asked(web):
    web.roster.add(web.course_file("PIC-002"), by="setup")
    web.roster.remove("PIC-002", by="nurse")
    client = web.client("viewer")
    page = client.get("/patients")
    assert ">PIC-002</a>" not in page.get_data(as_text=True)
    assert "Show removed patients" in text_of(page)
    shown = client.get("/patients?removed=1").get_data(as_text=True)
    assert ">PIC-002</a>" in shown and "removed" in _row(shown, "PIC-002")
    assert "removed" not in _row(shown, STUDY)


# -- a patient's page ----------------------------------------------------------------------------------


def test_the_page_shows_the_schedule_doses_bookings_notes_and_history(web):
    from picture_schedule.core.scheduler import schedule

    expanded = schedule(web.roster.course(STUDY))
    page = web.client("viewer").get(f"/patients/{STUDY}")
    words = text_of(page)
    for cycle in expanded.cycles:  # each cycle's day 1, as the schedule has it
        assert f"{cycle.day1:%a} {cycle.day1.day} {cycle.day1:%b %Y}" in words
    assert "planned Mon 18 Jan 2027 (+7 days): neutrophils 1.2" in words  # the example's recorded delay
    assert "BSA 1.70 m²" in words and "Mosteller formula" in words  # 168 cm, 62 kg: √(168 × 62 / 3600) = 1.70
    assert "1000 mg/m² × 1.70 m² = 1700 mg, nearest tablet combination" in words
    assert "1650 mg = 3 × 500 mg + 1 × 150 mg" in words
    assert "time to be confirmed (usual start 09:00)" in words  # no chair booked
    assert "only the registry text \"100IU HD\" is known" in words  # a note, worded as every output words it
    assert "made 2026-12-01 10:00 (Asia/Shanghai)" in words  # 02:00 UTC in the course zone; the link's date, never the link
    assert "enrolled" in words and "setup" in words


def test_a_booked_chair_shows_on_the_page(web):
    from picture_schedule.core.model import Booking
    from picture_schedule.roster.bookings import book

    def planner(courses):
        return SimpleNamespace(bookings={STUDY: {1: Booking("C3", dt.time(9, 0), dt.time(13, 15), dt.date(2026, 12, 7))}})

    book(web.roster, planner, by="coordinator")
    words = text_of(web.client("viewer").get(f"/patients/{STUDY}"))
    assert "chair C3, 09:00–13:15" in words
    assert "time to be confirmed (usual start 09:00)" in words  # cycle 2 and later: not booked
    assert "chairs booked" in words and "cycle 1: " in words  # the history


def test_a_removed_patient_shows_the_history_and_who_removed_them(web):
    web.roster.remove(STUDY, by="nurse")
    client = web.client("nurse")
    page = client.get(f"/patients/{STUDY}")
    assert page.status_code == 200
    words = text_of(page)
    assert "Removed from the roster on 2026-12-01 10:00 (Asia/Shanghai) by nurse." in words
    assert "removed from the roster" in words and "enrolled" in words  # the history
    assert "<form" not in page.get_data(as_text=True).split("<main", 1)[1]  # no forms
    assert client.get(f"/patients/{STUDY}/diary.pdf").status_code == 404
    token = token_of(client)
    assert client.post(f"/patients/{STUDY}/change", data={"csrf_token": token, **CHANGE}).status_code == 404


# -- recording a change ----------------------------------------------------------------------------------


def test_a_7_day_delay_is_previewed_then_recorded_on_confirm(web):
    client = web.client("nurse")
    text, feed, journal = web.roster.course_text(STUDY), web.roster.feed_count(), web.roster.journal(STUDY)
    assert day1(web, 2) == dt.date(2026, 12, 28)  # by hand: 7 December + 21 days
    shown = preview(client, **CHANGE)
    assert shown.status_code == 200
    words = text_of(shown)
    assert "cycle 2 delayed by 7 days" in words and "neutrophils 1.1" in words
    assert "Mon 28 Dec 2026 Mon 4 Jan 2027 (+7 days)" in words  # before → after, by hand: a Monday, open
    assert "Mon 7 Dec 2026 Mon 7 Dec 2026 — same" in words  # cycle 1 stays
    # the preview stored nothing
    assert web.roster.course_text(STUDY) == text and web.roster.journal(STUDY) == journal
    assert web.roster.feed_count() == feed and day1(web, 2) == dt.date(2026, 12, 28)

    fields = hidden_fields(shown.get_data(as_text=True), f"/patients/{STUDY}/change/confirm")
    assert fields["confirm"] == "1" and fields["cycle"] == "2" and fields["delay_days"] == "7"
    done = client.post(f"/patients/{STUDY}/change/confirm", data=fields)
    assert done.status_code == 302 and done.headers["Location"] == f"/patients/{STUDY}"
    assert day1(web, 2) == dt.date(2027, 1, 4)
    assert day1(web, 1) == dt.date(2026, 12, 7)
    last = web.roster.journal(STUDY)[-1]
    assert (last.action, last.by, last.reason) == ("change", "nurse", "neutrophils 1.1")
    recorded = web.roster.course(STUDY).changes[-1]
    assert (recorded.cycle, recorded.delay_days, recorded.by) == (2, 7, "nurse")
    page = client.get(f"/patients/{STUDY}")
    words = text_of(page)
    assert "Change recorded for PIC-001: cycle 2 day 1 is now Mon 4 Jan 2027." in words
    assert "cycle 2 delayed by 7 days" in words  # in the history, worded
    assert "Change recorded" not in text_of(client.get(f"/patients/{STUDY}"))  # the message shows once


def test_a_change_without_a_reason_is_refused_next_to_its_field(web):
    client = web.client("nurse")
    journal = web.roster.journal(STUDY)
    answer = preview(client, cycle="2", delay_days="7", reason="  ")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="err-reason">([^<]*)</p>', page)
    assert error and "every change needs its reason" in error.group(1)
    assert 'aria-describedby="hint-reason err-reason"' in page
    assert 'name="delay_days" min="-28" max="365" value="7"' in page  # as typed
    assert web.roster.journal(STUDY) == journal
    # nor can the confirmation be sent without one
    answer = client.post(f"/patients/{STUDY}/change/confirm",
                         data={"csrf_token": csrf(page), "cycle": "2", "delay_days": "7", "confirm": "1"})
    assert answer.status_code == 400 and web.roster.journal(STUDY) == journal


def test_every_problem_shows_next_to_its_field_in_the_loaders_words(web):
    client = web.client("nurse")
    journal = web.roster.journal(STUDY)
    answer = preview(client, cycle="9", hold_days="20", reason="")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)

    def error(field: str) -> str:
        found = re.search(rf'id="err-{field}">([^<]*)<', page)
        return html.unescape(found.group(1)) if found else ""

    assert error("cycle") == "9 is outside 1–6"  # the course loader's message
    assert error("hold_days") == "day 20 has no oral doses to hold (oral days: 1–15)"
    assert "every change needs its reason" in error("reason")
    assert preview(client, cycle="two", reason="x").status_code == 400
    nothing = preview(client, cycle="2", reason="nothing happened")
    assert nothing.status_code == 400 and "Nothing was chosen" in error_of(nothing, "what")
    too_early = preview(client, cycle="2", delay_days="-20", reason="x")
    assert too_early.status_code == 400 and "negative delay_days" in error_of(too_early, "delay_days")
    assert web.roster.journal(STUDY) == journal


def error_of(response, field: str) -> str:
    found = re.search(rf'id="err-{field}">([^<]*)<', response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else ""


def test_a_dose_level_omission_hold_and_stop_preview_as_the_outputs_word_them(web):
    client = web.client("nurse")
    shown = preview(client, cycle="4", **{"level-oxaliplatin": "-1"}, omit="interleukin-2", hold_days="8, 9",
                    reason="neuropathy grade 2")
    assert shown.status_code == 200, error_of(shown, "form")
    words = text_of(shown)
    assert "Oxaliplatin at dose level -1 from cycle 4" in words
    assert "Interleukin-2 not given in cycle 4" in words and "tablets held on days 8, 9 of cycle 4" in words
    stop = preview(client, cycle="5", stop="1", reason="progression")
    words = text_of(stop)
    assert "treatment stopped from cycle 5" in words
    assert re.search(r"5 Mon 8 Mar 2027 not given .* changed", words)  # cycle 5 is no longer given


def test_a_confirmation_after_someone_else_changed_the_schedule_records_nothing(web):
    from picture_schedule.core.model import Change

    client = web.client("nurse")
    shown = preview(client, **CHANGE)
    fields = hidden_fields(shown.get_data(as_text=True), f"/patients/{STUDY}/change/confirm")
    web.roster.change(STUDY, Change(cycle=1, delay_days=7, reason="bed shortage", by="coordinator"))
    changes = len(web.roster.course(STUDY).changes)
    answer = client.post(f"/patients/{STUDY}/change/confirm", data=fields)
    assert answer.status_code == 409
    assert "The schedule changed since the preview" in text_of(answer)
    assert len(web.roster.course(STUDY).changes) == changes  # not recorded
    again = hidden_fields(answer.get_data(as_text=True), f"/patients/{STUDY}/change/confirm")
    assert client.post(f"/patients/{STUDY}/change/confirm", data=again).status_code == 302
    assert len(web.roster.course(STUDY).changes) == changes + 1


def test_preview_change_writes_nothing(web):
    from picture_schedule.core.model import Change
    from picture_schedule.roster.preview import preview_change

    def dump() -> list[str]:
        conn = sqlite3.connect(web.roster.path)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()

    before = dump()
    shown = preview_change(web.roster, STUDY, Change(cycle=2, delay_days=7, reason="x", by="nurse"))
    assert [c.day1 for c in shown.before.cycles][1] == dt.date(2026, 12, 28)
    assert [c.day1 for c in shown.after.cycles][1] == dt.date(2027, 1, 4)
    # stamped as Roster.change would: now in Shanghai, a second after the enrolment (stamps only rise)
    assert shown.number == 3 and shown.change.recorded == dt.datetime(2026, 12, 1, 10, 0, 1)
    assert dump() == before


# -- a new link and removal ----------------------------------------------------------------------------


def test_a_new_link_is_shown_once_and_the_old_one_stops_working(web):
    client = web.client("nurse")
    confirm = client.post(f"/patients/{STUDY}/rotate", data={"csrf_token": token_of(client)})
    assert "The old link stops working at once" in text_of(confirm)
    assert client.get(f"/patients/{STUDY}").status_code == 200  # the confirmation page changed nothing
    first = feed_token(client, rotate(client))
    assert client.get(f"/feed/{first}.ics").status_code == 200
    page = rotate(client)
    second = feed_token(client, page)
    assert second != first
    assert client.get(f"/feed/{first}.ics").status_code == 404
    feed = client.get(f"/feed/{second}.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    words = text_of_page(page)
    assert f"webcal://calendar.example.org/feed/{second}.ics" in words  # the site's [feed] base_url
    assert f"https://calendar.example.org/feed/{second}.ics" in words
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)
    assert "Print diary (with QR code)" in words
    assert re.search(rf'href="/patients/{STUDY}/diary.pdf\?handout=[A-Za-z0-9_-]+"', page)
    last = web.roster.journal(STUDY)[-1]
    assert (last.action, last.by) == ("rotate", "nurse")
    assert second not in client.get(f"/patients/{STUDY}").get_data(as_text=True)  # never shown again


def text_of_page(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_qr_code_holds_the_webcal_link(web):
    import base64

    import segno

    client = web.client("nurse")
    page = rotate(client)
    token = feed_token(client, page)
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1))
    expected = io.BytesIO()
    segno.make(f"webcal://calendar.example.org/feed/{token}.ics", error="m").save(
        expected, kind="svg", scale=4, border=4, xmldecl=False, svgclass=None, lineclass=None)
    assert svg == expected.getvalue()


def test_removal_asks_first_then_hides_the_patient_and_kills_the_link(web):
    client = web.client("nurse")
    token = feed_token(client, rotate(client))
    ask = client.post(f"/patients/{STUDY}/remove", data={"csrf_token": token_of(client)})
    assert ask.status_code == 200 and "Remove PIC-001 from the roster?" in text_of(ask)
    assert client.get(f"/feed/{token}.ics").status_code == 200  # asking changed nothing
    done = client.post(f"/patients/{STUDY}/remove/confirm", data={"csrf_token": token_of(client)})
    assert done.status_code == 302 and done.headers["Location"] == "/patients"
    listing = client.get("/patients")
    assert ">PIC-001</a>" not in listing.get_data(as_text=True)
    assert "PIC-001 was removed from the roster." in text_of(listing)
    assert client.get(f"/feed/{token}.ics").status_code == 404
    assert web.roster.info(STUDY).removed_by == "nurse"
    again = client.post(f"/patients/{STUDY}/remove/confirm", data={"csrf_token": token_of(client)})
    assert again.status_code == 404


# -- printing and the full calendar --------------------------------------------------------------------


@pytest.mark.slow
def test_the_diary_pdf_is_printed_once_then_served_from_the_cache(web, monkeypatch):
    from pypdf import PdfReader

    from picture_schedule.render import diary

    client = web.client("nurse")
    first = client.get(f"/patients/{STUDY}/diary.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.headers["Content-Disposition"] == 'attachment; filename="PIC-001-diary.pdf"'
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(first.data)).pages)
    assert STUDY in text and "Cycle 1" in text
    conn = sqlite3.connect(web.roster.path)
    kept = conn.execute("SELECT language, length(pdf) FROM diary_pdfs").fetchall()
    conn.close()
    assert kept == [("en", len(first.data))]

    def no_printing(*args, **kwargs):
        raise AssertionError("printed again although nothing changed")

    monkeypatch.setattr(diary, "diary_pdf", no_printing)
    second = client.get(f"/patients/{STUDY}/diary.pdf")
    assert second.status_code == 200 and second.data == first.data


@pytest.mark.slow
def test_a_diary_with_the_new_links_qr_code_needs_the_handout_of_this_member(web):
    from pypdf import PdfReader

    nurse = web.client("nurse")
    page = rotate(nurse)
    link = html.unescape(re.search(r'href="(/patients/PIC-001/diary\.pdf\?handout=[^"]+)"', page).group(1))
    printed = nurse.get(link + "&lang=zh-CN")
    assert printed.status_code == 200 and printed.data.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(printed.data)).pages)
    assert STUDY in text and "周期" in text  # in Chinese, as asked
    conn = sqlite3.connect(web.roster.path)
    assert conn.execute("SELECT count(*) FROM diary_pdfs").fetchone()[0] == 0  # a diary with a link is not kept
    conn.close()
    other = web.client("coordinator")  # another member cannot print with this nurse's link
    refused = other.get(link)
    assert refused.status_code == 410 and "no longer held for printing" in text_of(refused)
    assert nurse.get(f"/patients/{STUDY}/diary.pdf?handout=made-up").status_code == 410


def test_the_diary_html_is_a_download_in_the_language_asked(web):
    client = web.client("nurse")
    answer = client.get(f"/patients/{STUDY}/diary.html?lang=zh-CN")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="PIC-001-diary.html"'
    body = answer.get_data(as_text=True)
    assert STUDY in body and 'lang="zh' in body


def test_the_full_calendar_parses_and_holds_the_patients_events(web):
    import icalendar

    from picture_schedule.core.model import Kind
    from picture_schedule.core.scheduler import schedule

    answer = web.client("nurse").get(f"/patients/{STUDY}/calendar.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="PIC-001-full.ics"'
    calendar = icalendar.Calendar.from_ical(answer.data)
    events = list(calendar.walk("VEVENT"))
    starts = {e.decoded("DTSTART").date() if isinstance(e.decoded("DTSTART"), dt.datetime) else e.decoded("DTSTART")
              for e in events}
    expanded = schedule(web.roster.course(STUDY))
    assert {c.day1 for c in expanded.cycles} <= starts
    assert {e.date for e in expanded.events if e.kind is Kind.VISIT} <= starts
    summaries = " ".join(str(e.get("SUMMARY")) for e in events)
    assert "Oxaliplatin" in summaries  # full detail: medicines named (the feed is discreet)


def test_file_names_are_made_safe():
    from picture_schedule.web.patients import safe_filename

    assert safe_filename("PIC-001", ".pdf") == "PIC-001.pdf"
    assert safe_filename(SCRIPT, "-diary.pdf") == "script_alert_1_script-diary.pdf"
    assert safe_filename('../"x"', ".ics") == "x.ics"
    assert safe_filename("研究", ".ics") == "patient.ics"


# -- hostile and unusual study numbers -----------------------------------------------------------------


def test_a_study_number_holding_a_script_is_escaped_and_its_page_works(web):
    web.roster.add(web.course_file(SCRIPT), by="setup")
    client = web.client("nurse")
    listing = client.get("/patients").get_data(as_text=True)
    assert SCRIPT not in listing and html.escape(SCRIPT) in listing
    href = html.unescape(re.search(r'href="(/patients/%3Cscript[^"]*)"', listing).group(1))
    page = client.get(href)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert SCRIPT not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert client.get("/patients/" + quote(SCRIPT, safe="")).status_code == 200
    searched = client.get("/patients?q=" + quote(SCRIPT, safe="")).get_data(as_text=True)
    assert SCRIPT not in searched and html.escape(SCRIPT) in searched
    shown = preview(client, SCRIPT, **CHANGE)  # its forms work too
    assert shown.status_code == 200 and SCRIPT not in shown.get_data(as_text=True)


def test_a_study_number_with_slashes_and_spaces(web):
    study = "UNIT 3/PIC 7"
    web.roster.add(web.course_file(study), by="setup")
    client = web.client("nurse")
    listing = client.get("/patients").get_data(as_text=True)
    assert 'href="/patients/UNIT%203/PIC%207"' in listing
    page = client.get("/patients/UNIT%203/PIC%207")
    assert page.status_code == 200 and "<h1>UNIT 3/PIC 7</h1>" in page.get_data(as_text=True)
    shown = preview(client, study, **CHANGE)
    assert shown.status_code == 200
    fields = hidden_fields(shown.get_data(as_text=True), "/patients/UNIT%203/PIC%207/change/confirm")
    assert client.post("/patients/UNIT%203/PIC%207/change/confirm", data=fields).status_code == 302
    assert day1(web, 2, study) == dt.date(2027, 1, 4)
    assert day1(web, 2) == dt.date(2026, 12, 28)  # PIC-001 untouched
    ics = client.get("/patients/UNIT%203/PIC%207/calendar.ics")
    assert ics.status_code == 200 and 'filename="UNIT_3_PIC_7-full.ics"' in ics.headers["Content-Disposition"]


# -- words ---------------------------------------------------------------------------------------------


def test_the_pages_speak_chinese_to_a_chinese_speaking_member(web):
    client = web.client("nurse")
    answer = client.post("/language", data={"csrf_token": token_of(client), "language": "zh-CN", "next": "/patients"})
    assert answer.status_code == 302
    listing = text_of(client.get("/patients"))
    assert "研究编号" in listing and "下次就诊" in listing and "未开始" in listing
    assert "2026年12月7日" in listing
    page = text_of(client.get(f"/patients/{STUDY}"))
    assert "按周期的日程" in page and "记录变更" in page and "历史记录" in page
    assert "仅有登记文本" in page  # the note, worded by the core's catalogue
    shown = text_of(preview(client, **CHANGE))
    assert "核对 PIC-001 的变更" in shown and "第2周期推迟 7 天" in shown


def _page_messages() -> dict[str, str]:
    """Every ``_()`` of this page's templates (with or without parameters) and ``t()`` of its modules."""
    import ast

    from jinja2 import Environment
    from jinja2.ext import extract_from_ast

    from tests.conftest import ROOT

    env = Environment(extensions=["jinja2.ext.i18n"])
    found: dict[str, str] = {}
    for name in ("patients.html", "patient.html", "patient-change-form.html", "patient-preview.html",
                 "patient-confirm.html", "link.html"):
        tree = env.parse((ROOT / "templates" / "web" / name).read_text(encoding="utf-8"))
        for _line, _function, message in extract_from_ast(tree, gettext_functions=("_",)):
            message = message[0] if isinstance(message, tuple) else message  # _("… %(n)s", n=…)
            if isinstance(message, str):
                found[message] = name
    for name in ("patients.py", "patient_list.py", "schedule_view.py", "change_form.py", "linkpage.py"):
        for node in ast.walk(ast.parse((ROOT / "picture_schedule" / "web" / name).read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found[node.args[0].value] = name
    return found


def test_every_word_of_these_pages_has_its_chinese_with_its_placeholders():
    from picture_schedule.i18n import gettext

    messages = _page_messages()
    assert len(messages) > 150 and "Cycle %(n)s of %(total)s" in messages and "Today: %(date)s." in messages
    missing = [m for m in messages if gettext("zh-CN", m, web=True) == m and re.search(r"[A-Za-z]{2,}", re.sub(r"%\(\w+\)s", "", m))]
    assert missing == []
    for message in messages:
        chinese = gettext("zh-CN", message, web=True)
        assert sorted(re.findall(r"%\(\w+\)s", chinese)) == sorted(re.findall(r"%\(\w+\)s", message)), message


def test_this_catalogue_changes_no_other_outputs_words():
    """All catalogues are merged: a message this one shares with another (the diary's, another page's)
    must read the same in both, or the diary would change with the web page."""
    from babel.messages.pofile import read_po

    from tests.conftest import ROOT

    folder = ROOT / "templates" / "locale" / "zh_CN" / "LC_MESSAGES"
    with (folder / "web-patients.po").open("rb") as handle:
        mine = {m.id: m.string for m in read_po(handle) if m.id and not m.context}
    for other in sorted(folder.glob("*.po")):
        if other.name == "web-patients.po":
            continue
        with other.open("rb") as handle:
            for message in read_po(handle):
                if not message.context and message.id in mine:
                    assert message.string == mine[message.id], (other.name, message.id)


def test_a_change_to_a_cycle_already_begun_is_flagged_before_it_is_confirmed(web):
    """Today 2026-12-01: cycle 2 (day 1 on 2026-12-28) is to come; once the clock passes its day 1,
    delaying it rewrites what happened, and the preview says so."""
    client = web.client("nurse")
    ahead = preview(client, **CHANGE).get_data(as_text=True)
    assert "already begun" not in ahead
    web.clock.now = dt.datetime(2026, 12, 29, 2, 0, tzinfo=dt.UTC)  # cycle 2 began the day before
    client = web.client("nurse")
    behind = preview(client, **CHANGE).get_data(as_text=True)
    assert "This change alters cycles that have already begun (cycle 2 began on Mon 28 Dec 2026)" in behind
