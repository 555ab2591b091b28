"""The web page in a real browser: Debian's Chromium driven by Playwright, the app served by waitress.

Each test gets a fresh roster (tests/web_support.py: PIC-001 enrolled, one account per role) served
on a free port of 127.0.0.1; the browser is started once per module. Pages are loaded under the real
Content-Security-Policy (a page that needs an inline script or style attribute breaks here), except
for the accessibility checks, which inject axe-core (tests/js, from npm) and so bypass the CSP.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from tests.conftest import ROOT, need
from tests.web_support import PASSWORD, Web, fast_hashing, web  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
SCRIPT_STUDY = "<script>alert(1)</script>"
WAIT_MS = 15_000  # a page that takes longer than this is broken, not slow


# -- the browser and the server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need(CHROMIUM.exists(), "Chromium is not installed at /usr/bin/chromium (Debian package chromium; "
                            "`make test` installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Served:
    """The app of ``web`` served over HTTP by waitress, as ``picture-schedule web`` serves it."""

    web: Web
    url: str
    dialogs: list[str] = field(default_factory=list)  # every alert/confirm/prompt a page opened
    csp_errors: list[str] = field(default_factory=list)  # every Content-Security-Policy complaint

    def new_page(self, browser: Any, *, width: int = 1280, height: int = 900, bypass_csp: bool = False) -> Any:
        context = browser.new_context(base_url=self.url, viewport={"width": width, "height": height},
                                      bypass_csp=bypass_csp, accept_downloads=True, locale="en-GB")
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        def console(message: Any) -> None:
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                self.csp_errors.append(message.text)

        page.on("dialog", dialog)
        page.on("console", console)
        return page


@pytest.fixture
def served(web: Web) -> Iterator[Served]:
    from waitress.server import create_server

    web.app.config["TESTING"] = False  # exactly as served: errors become pages, not exceptions
    server = create_server(web.app, host="127.0.0.1", port=0, threads=4, ident="picture-schedule")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield Served(web, f"http://127.0.0.1:{server.effective_port}")
    finally:
        server.task_dispatcher.shutdown(timeout=5)
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    opened = served.new_page(browser)
    yield opened
    opened.context.close()
    assert not served.csp_errors, served.csp_errors  # the pages need nothing the CSP forbids


def log_in(page: Any, username: str, password: str = PASSWORD, *, language: str | None = None) -> Any:
    page.goto("/login" + (f"?lang={language}" if language else ""))
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]:not(.small)")
    return page


def csrf_token(page: Any) -> str:
    """The CSRF token of the page (every logged-in page has at least the log-out form's)."""
    value = page.get_attribute("input[name=csrf_token]", "value")
    assert value
    return str(value)


def field_error(page: Any, control: Any) -> str:
    """The error shown next to ``control`` (a form input): the text its ``aria-describedby`` points
    to, or the ``.field-error`` in its own field."""
    return str(control.evaluate("""el => {
        const said = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)
            .map(id => document.getElementById(id)).filter(e => e && /error/.test(e.className + ' ' + e.id))
            .map(e => e.innerText);
        const box = el.closest('.field, fieldset, p, div');
        const near = box ? Array.from(box.querySelectorAll('.field-error, .error')).map(e => e.innerText) : [];
        return said.concat(near).join(' | ');
    }"""))


# -- logging in --------------------------------------------------------------------------------


def test_a_wrong_password_shows_the_error_and_the_right_one_reaches_the_patient_list(page, served):
    page.goto("/patients")
    assert urlsplit(page.url).path == "/login"  # not logged in: the login page first
    page.fill("#username", "nurse")
    page.fill("#password", "not the password")
    with page.expect_navigation() as sent:
        page.click("form button[type=submit]:not(.small)")
    assert sent.value.status == 401
    assert "Wrong user name or password" in page.inner_text("[role=alert]")
    assert urlsplit(page.url).path == "/login"
    assert page.input_value("#username") == "nurse" and page.input_value("#password") == ""

    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]:not(.small)")
    assert urlsplit(page.url).path == "/patients"  # where the login was going
    assert "nurse" in page.inner_text("header")
    cookie = next(c for c in page.context.cookies() if c["name"] == "picture_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    with page.expect_navigation():
        page.click("header form[action='/logout'] button")
    assert urlsplit(page.url).path == "/login"
    page.goto("/patients")
    assert urlsplit(page.url).path == "/login"  # logged out for real



# -- enrolling a patient -------------------------------------------------------------------------------


def fill_enrolment(page: Any, study: str, *, height: str = "168", weight: str = "62", start: str = "2026-12-14",
                   language: str = "en") -> None:
    page.fill("#patient", study)
    page.select_option("#language", language)
    page.fill("#start", start)
    page.fill("#height_cm", height)
    page.fill("#weight_kg", weight)


def submit(page: Any, selector: str = "main form button[type=submit]") -> Any:
    """Click the form's submit button; the response of the page it leads to."""
    with page.expect_navigation() as sent:
        page.click(selector)
    return sent.value


def loader_message(height_cm: float) -> str:
    """What the course loader says about a height, in its own words (the page must say the same)."""
    from picture_schedule.errors import ScheduleError
    from picture_schedule.loading.new_course import NewCourse, new_course

    try:
        new_course(NewCourse(patient="X", start=dt.date(2026, 12, 14), height_cm=height_cm, weight_kg=62, site=None),
                   ROOT / "x.toml")
    except ScheduleError as exc:
        assert exc.field == "body.height_cm"
        return exc.message
    raise AssertionError(f"the loader accepts a height of {height_cm} cm")


def feed_token(text: str) -> str:
    found = re.search(r"/feed/([A-Za-z0-9_-]{22,})\.ics", text)
    assert found, text[:500]
    return found.group(1)


def read_calendar(body: bytes) -> Any:
    import icalendar

    calendar = icalendar.Calendar.from_ical(body)
    assert calendar.walk("VEVENT"), "a feed without events"
    return calendar


def test_a_nurse_enrols_a_patient_and_a_rejected_form_shows_the_problem_next_to_its_field(page, served):
    roster = served.web.roster
    log_in(page, "nurse")
    page.goto("/patients/new")
    fill_enrolment(page, "PIC-777", height="20")
    assert submit(page).status == 400
    height = page.locator("#height_cm")
    assert loader_message(20) in field_error(page, height)  # "20 is outside 100–230 cm", beside the height
    assert height.get_attribute("aria-invalid") == "true"
    assert page.locator(".field-error").count() == 1  # nothing else was wrong
    assert page.input_value("#patient") == "PIC-777" and page.input_value("#height_cm") == "20"  # kept
    assert [p.patient for p in roster.patients()] == ["PIC-001"]  # nothing stored

    page.fill("#height_cm", "168")
    answer = submit(page)
    assert answer.status == 200
    assert "PIC-777" in page.inner_text("h1")
    shown = page.inner_text("main")
    token = feed_token(shown)
    assert f"webcal://calendar.example.org/feed/{token}.ics" in shown  # the site's base_url, both links
    assert f"https://calendar.example.org/feed/{token}.ics" in shown
    assert page.locator("img[src^='data:image/svg+xml']").count() == 1  # the QR code
    assert sorted(p.patient for p in roster.patients()) == ["PIC-001", "PIC-777"]
    assert roster.journal("PIC-777")[0].by == "nurse"  # the logged-in nurse enrolled them
    feed = page.request.get(f"/feed/{token}.ics")  # the link shown is the patient's working feed
    assert feed.status == 200
    read_calendar(feed.body())
    page.reload()  # a reload sends the form again: refused, and the link is never shown twice
    assert token not in page.inner_text("body")





# -- recording a change, printing ----------------------------------------------------------------------


def parse_day(text: str) -> dt.date:
    """A date as the English pages print it: "Mon 28 Dec 2026"."""
    found = re.search(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}", text)
    assert found, text
    return dt.datetime.strptime(found.group(0), "%a %d %b %Y").date()


def day1(page: Any, cycle: int) -> dt.date:
    """Cycle ``cycle``'s day 1 on the patient page's schedule."""
    row = page.locator("table.cycles tbody tr").filter(has=page.locator(f"th:text-is('{cycle}')"))
    assert row.count() == 1
    return parse_day(row.locator("td").first.locator("strong").inner_text())


def test_a_nurse_records_a_7_day_delay_after_seeing_the_schedule_before_and_after(page, served):
    roster = served.web.roster
    changes = len(roster.course("PIC-001").changes)
    log_in(page, "nurse")
    page.goto("/patients/PIC-001")
    before = day1(page, 2)
    assert before == dt.date(2026, 12, 28)  # start Monday 7 December + 21 days (no holiday near)
    form = page.locator("main form[action$='/change']")
    form.locator("[name=cycle]").fill("2")
    form.locator("[name=delay_days]").fill("7")
    form.locator("[name=reason]").fill("neutrophils 1.1 × 10⁹/L on the pre-cycle blood test")
    with page.expect_navigation() as sent:
        form.locator("button[type=submit]").click()
    assert sent.value.status == 200
    assert "PIC-001" in page.inner_text("h1")
    row = page.locator("table.compare tbody tr").filter(has=page.locator("th:text-is('2')"))
    cells = row.locator("td")
    assert parse_day(cells.nth(0).inner_text()) == before
    assert parse_day(cells.nth(1).inner_text()) == before + dt.timedelta(days=7)
    assert "+7" in cells.nth(1).inner_text()
    first = page.locator("table.compare tbody tr").filter(has=page.locator("th:text-is('1')")).locator("td")
    assert parse_day(first.nth(0).inner_text()) == parse_day(first.nth(1).inner_text())  # cycle 1 stays
    assert len(roster.course("PIC-001").changes) == changes  # nothing recorded before the confirmation

    with page.expect_navigation() as sent:
        page.click("main form[action$='/change/confirm'] button[type=submit]")
    assert sent.value.status == 200 and urlsplit(page.url).path == "/patients/PIC-001"
    assert day1(page, 2) == dt.date(2027, 1, 4)  # a week later, a Monday the unit is open
    assert day1(page, 1) == dt.date(2026, 12, 7)
    assert "2027" in page.inner_text("[role=status]")  # "cycle 2 day 1 is now Mon 4 Jan 2027"
    recorded = roster.course("PIC-001").changes
    assert len(recorded) == changes + 1
    assert (recorded[-1].cycle, recorded[-1].delay_days, recorded[-1].by) == (2, 7, "nurse")
    history = page.inner_text("table.history")
    assert "neutrophils 1.1" in history and "nurse" in history


def test_a_refused_change_shows_the_problem_next_to_its_field(page, served):
    log_in(page, "nurse")
    page.goto("/patients/PIC-001")
    form = page.locator("main form[action$='/change']")
    form.locator("[name=cycle]").fill("2")
    form.locator("[name=delay_days]").fill("7")
    with page.expect_navigation() as sent:  # no reason
        form.locator("button[type=submit]").click()
    assert sent.value.status == 400
    assert "reason" in field_error(page, page.locator("main form[action$='/change'] [name=reason]"))
    assert page.input_value("main form[action$='/change'] [name=delay_days]") == "7"  # as typed


def test_the_diary_pdf_downloads_and_reads_back(page, served):
    from pypdf import PdfReader

    log_in(page, "nurse")
    page.goto("/patients/PIC-001")
    link = page.locator("main a[href*='/diary.pdf']").first
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == "PIC-001-diary.pdf"
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert "PIC-001" in text
    assert re.search(r"Cycle 1\b", text)  # the English diary (the first link: the patient's language)




def test_a_coordinator_books_a_months_chairs_and_the_patient_page_shows_the_booking(page, served):
    roster = served.web.roster
    assert not roster.course("PIC-001").bookings
    log_in(page, "coordinator")
    answer = page.goto("/chairs?month=2026-12")
    assert answer is not None and answer.status == 200
    assert "PIC-001" in page.inner_text("main")  # its cycle 1 day 1 (Mon 7 Dec 2026) needs a chair
    with page.expect_navigation() as sent:
        page.click("main form[action='/chairs/book'] button[type=submit]")
    assert sent.value.status == 200 and urlsplit(page.url).path == "/chairs"
    assert "stored" in page.inner_text("main [role=status], main .success").lower()
    booked = roster.course("PIC-001").bookings
    assert 1 in booked  # cycle 1, stored with the coordinator as its author
    assert any(entry.action == "book" and entry.by == "coordinator" for entry in roster.journal("PIC-001"))
    page.goto("/patients/PIC-001")
    row = page.locator("table.cycles tbody tr").filter(has=page.locator("th:text-is('1')"))
    assert re.search(r"chair \S+, \d\d:\d\d–\d\d:\d\d", row.inner_text())  # the booked chair and time


# -- the patient's own page ----------------------------------------------------------------------------


def enrol_directly(web: Web, study: str, language: str) -> str:
    """Enrol ``study`` (the example course, no changes) in ``language``; the token of their link."""
    path = web.course_file(study)
    text = path.read_text(encoding="utf-8").replace('language = "en"', f'language = "{language}"')
    assert f'language = "{language}"' in text
    return str(web.roster.add(path, text=text, by="setup").token)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_patients_page_fits_a_phone_and_its_subscribe_link_gives_a_feed(browser, served, language):
    from urllib.parse import parse_qs

    token = enrol_directly(served.web, "PIC-002", language)
    page = served.new_page(browser, width=320, height=640)
    try:
        answer = page.goto(f"/p/{token}")
        assert answer is not None and answer.status == 200
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert page.evaluate("document.documentElement.lang") == ("zh-Hans" if language == "zh-CN" else "en")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"the page is {width} px wide on a 320 px phone: it scrolls sideways"
        text = page.inner_text("body")
        assert "PIC-002" not in text and "PIC-002" not in page.title()  # discreet: no study number
        for word in ("cancer", "oxaliplatin", "capecitabine", "PICTURE"):  # nor a diagnosis in the title
            assert word.lower() not in page.title().lower()
        if language == "zh-CN":
            assert re.search(r"[\u4e00-\u9fff]", page.title())

        webcal = page.get_attribute("a[href^='webcal://']", "href")
        assert webcal == f"webcal://calendar.example.org/feed/{token}.ics"  # the site's feed address
        https = f"https://calendar.example.org/feed/{token}.ics"
        assert https in text  # to copy into Google Calendar or ICSx⁵
        google = page.get_attribute("a[href^='https://calendar.google.com/']", "href")
        assert google is not None and parse_qs(urlsplit(google).query)["cid"] == [webcal]
        # follow the https link, on this server (calendar.example.org is the site's public name for it)
        feed = page.request.get(urlsplit(https).path)
        assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
        calendar = read_calendar(feed.body())
        assert {str(e.get("DTSTART").dt)[:10] for e in calendar.walk("VEVENT")} >= {"2026-12-07"}  # day 1
        phone_links = page.eval_on_selector_all("a[href^='tel:']", "links => links.map(a => a.href)")
        assert "tel:02500000002" in phone_links  # the site's 24-hour hotline, one tap away
    finally:
        page.context.close()
    assert served.csp_errors == []


def test_an_unknown_patient_link_is_the_feeds_404(page, served):
    answer = page.goto("/p/" + "A" * 32)
    assert answer is not None and answer.status == 404
    feed = page.request.get("/feed/" + "A" * 32 + ".ics")
    assert feed.status == 404 and feed.body() == answer.body()


# -- roles -----------------------------------------------------------------------------------------


def test_a_viewer_sees_no_change_forms_and_is_refused_when_posting_one(page, served):
    roster = served.web.roster
    before = roster.course_text("PIC-001")
    log_in(page, "viewer")
    answer = page.goto("/patients/PIC-001")
    assert answer is not None and answer.status == 200
    assert "PIC-001" in page.inner_text("main")
    actions = page.eval_on_selector_all("main form", "forms => forms.map(f => f.getAttribute('action') || '')")
    assert not [a for a in actions if re.search(r"/(change|rotate|remove)(/|$)", a)], actions
    assert page.locator("header a[href='/patients/new'], header a[href='/chairs']").count() == 0
    token = csrf_token(page)  # a valid token: the refusal is about the role, not a forged form
    change = {"csrf_token": token, "cycle": "2", "delay_days": "7", "reason": "neutrophils 1.1"}
    for path, form in [("/patients/PIC-001/change", change), ("/patients/PIC-001/change/confirm", change),
                       ("/patients/PIC-001/rotate/confirm", {"csrf_token": token}),
                       ("/patients/PIC-001/remove/confirm", {"csrf_token": token, "reason": "test"}),
                       ("/patients/new", {"csrf_token": token, "patient": "PIC-779", "start": "2026-12-14",
                                          "height_cm": "168", "weight_kg": "62"})]:
        refused = page.request.post(path, form=form, max_redirects=0)
        assert refused.status == 403, (path, refused.status)
    for path in ("/patients/new", "/chairs", "/patients/PIC-001/diary.pdf"):
        assert page.request.get(path, max_redirects=0).status == 403, path
    assert roster.course_text("PIC-001") == before  # nothing recorded
    assert [p.patient for p in roster.patients()] == ["PIC-001"]
    # fetch() from the page itself, as a script would: refused the same way
    status = page.evaluate("""async t => (await fetch('/patients/PIC-001/change/confirm', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: new URLSearchParams({csrf_token: t, cycle: '2', delay_days: '7', reason: 'x'})})).status""", token)
    assert status == 403
    assert roster.course_text("PIC-001") == before


def test_a_nurse_may_not_book_chairs(page, served):
    log_in(page, "nurse")
    page.goto("/patients")
    token = csrf_token(page)
    assert page.request.get("/chairs", max_redirects=0).status == 403
    assert page.request.post("/chairs/book", form={"csrf_token": token, "month": "2026-12"},
                             max_redirects=0).status == 403


# -- forged and hostile requests ---------------------------------------------------------------------


def test_a_form_sent_without_its_csrf_token_is_refused_and_changes_nothing(page, served):
    log_in(page, "nurse")
    page.goto("/patients/new")
    fill_enrolment(page, "PIC-778")
    page.evaluate("document.querySelector('main form input[name=csrf_token]').remove()")
    assert page.locator("main form input[name=csrf_token]").count() == 0
    answer = submit(page)
    assert answer.status == 400
    assert "expired or was not sent from this page" in page.inner_text("[role=alert]")
    assert [p.patient for p in served.web.roster.patients()] == ["PIC-001"]
    # a token from another session is no better than none
    other = served.new_page(page.context.browser)
    try:
        log_in(other, "nurse")
        other.goto("/patients/new")
        foreign = csrf_token(other)
    finally:
        other.context.close()
    page.goto("/patients/new")
    fill_enrolment(page, "PIC-778")
    page.evaluate("t => { document.querySelector('main form input[name=csrf_token]').value = t; }", foreign)
    assert submit(page).status == 400
    assert [p.patient for p in served.web.roster.patients()] == ["PIC-001"]


def test_a_study_number_holding_a_script_is_shown_as_text(page, served):
    log_in(page, "nurse")
    page.goto("/patients/new")
    fill_enrolment(page, SCRIPT_STUDY)
    assert submit(page).status == 200
    assert SCRIPT_STUDY in page.inner_text("h1")  # the link page names the patient, literally
    assert page.locator("main script").count() == 0
    assert sorted(p.patient for p in served.web.roster.patients()) == sorted(["PIC-001", SCRIPT_STUDY])
    for path in ("/patients", "/patients/" + quote(SCRIPT_STUDY, safe="")):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        assert SCRIPT_STUDY in page.inner_text("main"), path
        assert page.locator("main script").count() == 0, path
    page.goto("/patients?q=" + quote(SCRIPT_STUDY, safe=""))  # searched for: shown as typed, never run
    assert page.locator("main script").count() == 0
    assert served.dialogs == []  # no alert() ever ran


# -- accessibility: axe-core in the page -------------------------------------------------------------


def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (one line each)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').split('\\n').slice(1, 2).join(''))}));
    }""")
    return [f"{v['impact']} {v['id']} ({v['help']}): {'; '.join(v['nodes'])}"
            for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def axe_page(browser: Any, served: Served) -> Iterator[Any]:
    need(AXE.exists(), "axe-core is not installed in tests/js (npm ci --prefix tests/js; `make system-deps` does it)")
    opened = served.new_page(browser, bypass_csp=True)  # axe is injected as a script: the CSP would block it
    yield opened
    opened.context.close()


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_login_page_has_no_serious_accessibility_violation(axe_page, language):
    axe_page.goto(f"/login?lang={language}")
    assert axe_violations(axe_page) == []
    axe_page.fill("#username", "nurse")
    axe_page.fill("#password", "wrong password")
    with axe_page.expect_navigation():
        axe_page.click("form button[type=submit]:not(.small)")
    assert axe_page.locator("[role=alert]").count() == 1
    assert axe_violations(axe_page) == []  # with the error shown



def _as(page: Any, served: Served, role: str, language: str) -> None:
    from picture_schedule.roster.staff import member, set_language

    set_language(served.web.roster, member(served.web.roster, role).id, language)
    log_in(page, role)


def _patients(page: Any, served: Served, language: str) -> None:
    _as(page, served, "viewer", language)
    page.goto("/patients")


def _patient(page: Any, served: Served, language: str) -> None:
    _as(page, served, "nurse", language)  # with every form a nurse has
    page.goto("/patients/PIC-001")


def _enrol_refused(page: Any, served: Served, language: str) -> None:
    _as(page, served, "nurse", language)
    page.goto("/patients/new")
    fill_enrolment(page, "PIC-780", height="20", language=language)
    assert submit(page).status == 400


def _link(page: Any, served: Served, language: str) -> None:
    _as(page, served, "nurse", language)
    page.goto("/patients/new")
    fill_enrolment(page, "PIC-781", language=language)
    assert submit(page).status == 200


def _change_preview(page: Any, served: Served, language: str) -> None:
    _as(page, served, "nurse", language)
    page.goto("/patients/PIC-001")
    form = page.locator("main form[action$='/change']")
    form.locator("[name=cycle]").fill("2")
    form.locator("[name=delay_days]").fill("7")
    form.locator("[name=reason]").fill("neutrophils 1.1")
    with page.expect_navigation() as sent:
        form.locator("button[type=submit]").click()
    assert sent.value.status == 200


def _chairs(page: Any, served: Served, language: str) -> None:
    _as(page, served, "coordinator", language)
    page.goto("/chairs")


def _chair_starts(page: Any, served: Served, language: str) -> None:
    _as(page, served, "coordinator", language)
    page.goto("/chairs/suggest?regimen=picture&earliest=2026-12-07&count=3")


def _my_page(page: Any, served: Served, language: str) -> None:
    page.goto("/p/" + enrol_directly(served.web, "PIC-002", language))


PAGES = {"patients": _patients, "patient": _patient, "enrol-refused": _enrol_refused, "link": _link,
         "change-preview": _change_preview, "chairs": _chairs, "chair-starts": _chair_starts, "my-page": _my_page}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_has_no_serious_accessibility_violation(axe_page, served, name, language):
    PAGES[name](axe_page, served, language)
    assert axe_page.evaluate("document.documentElement.lang") == ("zh-Hans" if language == "zh-CN" else "en")
    assert axe_violations(axe_page) == []
