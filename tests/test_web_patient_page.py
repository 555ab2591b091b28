"""The patient's own page behind their link (/p/<token>): found by the link's token only, the feed's
404 for any other, private headers, a discreet title, today's doses and the next appointment as the
schedule has them, the call-us signs in the diary's words, subscribe links that reach the feed, the
diary PDF with the patient's own link, and no token in any log."""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
import re
import types
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.web_support import Web, fast_hashing, make_web, web  # noqa: F401  (fixtures)

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNKNOWN_FEED = "/feed/unknownunknownunknownunknown.ics"
#: words no page title may hold: the diagnosis and the medicines of the regimen
CLINICAL_WORDS = ("cancer", "rectal", "capecitabine", "oxaliplatin", "tislelizumab", "interleukin", "picture",
                  "卡培他滨", "奥沙利铂", "替雷利珠", "癌")


# -- helpers ---------------------------------------------------------------------------------------


def enrol(web: Web, patient: str = "PIC-002", *, language: str = "en", display_name: str = "") -> str:
    """Enrol ``patient`` from the example course (no changes) with a known token; returns the token."""
    from picture_schedule.roster.tokens import new_token

    path = web.course_file(patient)
    text = path.read_text(encoding="utf-8").replace('language = "en"', f'language = "{language}"')
    if display_name:
        text = text.replace(f'patient = "{patient}"', f'patient = "{patient}"\ndisplay_name = "{display_name}"')
    path.write_text(text, encoding="utf-8")
    token = new_token()
    web.roster.add(path, by="setup", token=token)
    return token


def at(web: Web, moment: str) -> None:
    """Set the clock to ``moment`` (ISO, local time in Shanghai, the example site's zone)."""
    web.clock.now = dt.datetime.fromisoformat(moment).replace(tzinfo=SHANGHAI).astimezone(dt.UTC)


def section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    assert found, f"no section {name!r} on the page"
    return found.group(0)


def text_of(fragment: str) -> str:
    """The words of an HTML fragment, tags removed, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def title(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page, re.S)
    assert found
    return html.unescape(found.group(1))


def href(page: str, css_class: str) -> str:
    found = re.search(rf'<a class="{css_class}" href="([^"]+)"', page)
    assert found, f"no link of class {css_class!r}"
    return html.unescape(found.group(1))


def schedule_of(web: Web, patient: str) -> Any:
    from picture_schedule.core.scheduler import schedule

    return schedule(web.roster.course(patient))


def tablets_in_words(tablets: tuple[tuple[int, int], ...]) -> str:
    """The diary's English for a dose's tablets, written out here from (strength, count) pairs."""
    return " + ".join(f"{count} × {strength} mg tablet{'' if count == 1 else 's'}" for strength, count in tablets)


def alarms_of(page: str) -> dict[str, str]:
    """Each call-us sign of a page (the web page or the diary's HTML): code → its words."""
    return {code: text_of(body) for code, body in re.findall(r'<li data-alarm="([^"]+)">(.*?)</li>', page, re.S)}


def same_answer(a: Any, b: Any) -> None:
    """Two responses a client cannot tell apart: status, body and every header."""
    assert (a.status_code, a.data) == (b.status_code, b.data)
    assert sorted(a.headers.items()) == sorted(b.headers.items())


# -- the link is the key ---------------------------------------------------------------------------


def test_the_page_is_private_and_opens_no_session(web):
    token = enrol(web)
    for client in (web.client(), web.client("nurse")):  # a staff login in the same browser changes nothing
        response = client.get(f"/p/{token}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Robots-Tag"].startswith("noindex")
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert "Set-Cookie" not in response.headers and "Vary" not in response.headers
        page = response.get_data(as_text=True)
        assert "Log out" not in page and "/patients" not in page  # not the staff layout
        assert 'name="referrer" content="no-referrer"' in page


def test_unknown_rotated_and_removed_links_get_exactly_the_feeds_404(web):
    client = web.client()
    feed_404 = client.get(UNKNOWN_FEED)
    assert feed_404.status_code == 404
    old = enrol(web, "PIC-002")
    gone = enrol(web, "PIC-003")
    assert client.get(f"/p/{old}").status_code == 200 and client.get(f"/p/{gone}").status_code == 200

    from picture_schedule.roster.tokens import new_token

    new = new_token()
    web.roster.rotate("PIC-002", by="nurse", token=new)
    web.roster.remove("PIC-003", by="nurse")
    assert client.get(f"/p/{new}").status_code == 200
    for token in (old, gone, "unknownunknownunknownunknown", "short", new[:-1] + "!"):
        for path in (f"/p/{token}", f"/p/{token}/diary.pdf"):
            same_answer(client.get(path), feed_404)
            same_answer(web.client("nurse").get(path), feed_404)
    assert client.get(f"/feed/{old}.ics").status_code == 404  # the page and the feed die together


def test_the_title_names_no_diagnosis_medicine_or_person(web):
    token = enrol(web, "PIC-002", display_name="Li Hua")
    zh = enrol(web, "PIC-003", language="zh-CN", display_name="李华")
    for link in (token, zh):
        page = web.client().get(f"/p/{link}").get_data(as_text=True)
        words = title(page).lower()
        assert words in ("my treatment calendar", "我的治疗日历")
        assert not any(word in words for word in CLINICAL_WORDS)
        assert "Li Hua" not in page and "李华" not in page  # no name, and no study number either
        assert "PIC-002" not in page and "PIC-003" not in page


# -- today and what comes next ---------------------------------------------------------------------


def test_todays_tablets_are_the_schedules_in_the_diarys_words(web):
    from picture_schedule.render.diary import diary_html

    token = enrol(web)
    at(web, "2026-12-08T08:00")  # cycle 1 day 2: capecitabine morning and evening
    expanded = schedule_of(web, "PIC-002")
    doses = [e for e in expanded.events if e.date == dt.date(2026, 12, 8)]
    assert doses and {e.agent for e in doses} == {"capecitabine"}
    today = text_of(section(web.client().get(f"/p/{token}").get_data(as_text=True), "today"))
    assert "Tue 8 Dec 2026" in today
    diary = text_of(diary_html(expanded, language="en"))
    for dose in doses:
        tablets = tablets_in_words(dose.dose.tablets)
        assert tablets == "3 × 500 mg tablets + 1 × 150 mg tablet"  # 1650 mg for this body size
        assert tablets in diary  # what the diary prints for this dose
        label = {"morning": "Morning tablets", "evening": "Evening tablets"}[dose.slot.value]
        assert f"{dose.time:%H:%M} {label} Capecitabine {dose.dose.amount:g} mg {tablets}" in today
    assert "No treatment today" not in today


def test_day_one_shows_the_appointment_with_its_time_to_be_confirmed(web):
    token = enrol(web)
    at(web, "2026-12-07T07:00")
    expanded = schedule_of(web, "PIC-002")
    infusions = [e for e in expanded.events if e.date == dt.date(2026, 12, 7) and e.kind.value == "infusion"]
    assert infusions and not any(e.booked for e in infusions)
    today = text_of(section(web.client().get(f"/p/{token}").get_data(as_text=True), "today"))
    cycle = expanded.cycles[0]
    assert (f"{cycle.infusion_start:%H:%M} Hospital appointment Infusions in the day unit: about "
            f"{cycle.chair_minutes} minutes in all ⚠ time to be confirmed") in today
    assert "08:00 Injection Interleukin-2 100IU HD ⚠ confirm with your care team" in today
    assert today.index("08:00 Morning tablets") < today.index("Hospital appointment") < today.index("20:00")


def test_a_rest_day_says_no_treatment(web):
    token = enrol(web)
    at(web, "2026-12-23T09:00")  # cycle 1 day 17
    expanded = schedule_of(web, "PIC-002")
    assert (dt.date(2026, 12, 23) - expanded.cycles[0].day1).days + 1 == 17
    assert not [e for e in expanded.events if e.date == dt.date(2026, 12, 23)]
    today = section(web.client().get(f"/p/{token}").get_data(as_text=True), "today")
    assert "No treatment today." in text_of(today) and 'class="item' not in today


def test_held_tablets_say_do_not_take_them(web):
    from picture_schedule.core.model import Change

    token = enrol(web)
    web.roster.change("PIC-002", Change(cycle=1, reason="diarrhoea grade 2", hold_days=(2,), by="nurse"))
    at(web, "2026-12-08T07:00")
    expanded = schedule_of(web, "PIC-002")
    assert not [e for e in expanded.events if e.date == dt.date(2026, 12, 8)]
    assert [e for e in expanded.cancelled if e.date == dt.date(2026, 12, 8)]
    today = text_of(section(web.client().get(f"/p/{token}").get_data(as_text=True), "today"))
    assert today.count("held by your care team: do not take this dose") == 2
    assert "Morning tablets" not in today and "No treatment today" not in today


def test_the_next_appointment_is_the_schedules(web):
    token = enrol(web)
    at(web, "2026-12-08T08:00")
    expanded = schedule_of(web, "PIC-002")
    first = next(e for e in expanded.events if e.date > dt.date(2026, 12, 8) and e.kind.value in ("infusion", "visit"))
    assert (first.date, first.agent) == (dt.date(2026, 12, 25), "bloods")
    page = web.client().get(f"/p/{token}").get_data(as_text=True)
    shown = text_of(section(page, "next"))
    assert "Fri 25 Dec 2026" in shown and f"{first.time:%H:%M} Blood test before the cycle" in shown
    assert "Where: Day Treatment Unit, 3rd floor" in shown
    coming = text_of(section(page, "coming"))
    assert "Wed 9 Dec 2026 08:00 · 20:00 Tablets Capecitabine 1650 mg" in coming
    assert "Mon 21 Dec 2026" not in coming  # a rest day: nothing to list
    assert "Tue 22 Dec 2026" not in coming  # 14 days after the 8th end on the 22nd …
    at(web, "2026-12-26T08:00")  # … and on the 26th the next is cycle 2's day 1, not booked
    shown = text_of(section(web.client().get(f"/p/{token}").get_data(as_text=True), "next"))
    assert "Mon 28 Dec 2026" in shown and "Hospital appointment" in shown and "time to be confirmed" in shown


def test_a_date_the_clinic_cannot_keep_says_the_care_team_confirms_it(web):
    site = web.site.read_text(encoding="utf-8")
    site = site.replace('policy = "next"', 'policy = "none"').replace(
        '# closures = [{ date = 2027-01-04, reason = "unit training day" }]',
        'closures = [{ date = 2026-12-28, reason = "unit training day" }]')
    web.site.write_text(site, encoding="utf-8")
    token = enrol(web)  # cycle 2 day 1 stays on the closed 28 December: tentative
    at(web, "2026-12-27T20:00")
    day1 = [e for e in schedule_of(web, "PIC-002").events
            if e.date == dt.date(2026, 12, 28) and e.kind.value == "infusion"]
    assert day1 and all(e.tentative for e in day1)
    shown = text_of(section(web.client().get(f"/p/{token}").get_data(as_text=True), "next"))
    assert "Mon 28 Dec 2026" in shown
    assert "Hospital appointment" in shown and "your care team will confirm a new date" in shown


def test_a_booked_chair_gives_the_appointment_its_time(web):
    from picture_schedule.core.model import Booking
    from picture_schedule.roster.bookings import book

    token = enrol(web)
    booking = Booking("C3", dt.time(10, 15), dt.time(13, 30), day=dt.date(2026, 12, 28))
    book(web.roster, lambda courses: types.SimpleNamespace(bookings={"PIC-002": {2: booking}}), by="coordinator")
    at(web, "2026-12-26T08:00")
    day1 = [e for e in schedule_of(web, "PIC-002").events
            if e.date == dt.date(2026, 12, 28) and e.kind.value == "infusion"]
    assert day1 and all(e.booked for e in day1)
    shown = text_of(section(web.client().get(f"/p/{token}").get_data(as_text=True), "next"))
    assert "Mon 28 Dec 2026 10:15 Hospital appointment" in shown and "to be confirmed" not in shown


# -- calling the unit ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_call_us_signs_are_the_diarys_with_phone_links(web, language):
    from picture_schedule.render.diary import diary_html

    token = enrol(web, language=language)
    page = web.client().get(f"/p/{token}").get_data(as_text=True)
    shown = alarms_of(section(page, "call-us"))
    printed = alarms_of(diary_html(schedule_of(web, "PIC-002"), language=language))
    assert len(printed) == 9 and shown == printed
    assert ("38.0" in shown["fever"]) and ("<strong>38.0 °C" in page or "<strong>达到或超过 38.0 °C" in page)
    stop = {"en": "stop taking your capecitabine tablets", "zh-CN": "请停服卡培他滨片"}[language]
    assert stop in text_of(section(page, "call-us"))
    calls = re.findall(r'<a class="button call" href="(tel:[^"]+)">([^<]+)</a>', page)
    assert calls == [("tel:02500000002", "025-0000-0002 (example)"), ("tel:02500000001", "025-0000-0001 (example)")]


def test_phone_numbers_become_tel_links():
    from picture_schedule.web.patient_page import tel_uri

    assert tel_uri("025-0000-0002 (example)") == "tel:02500000002"
    assert tel_uri("+86 25 8888 0000 ext. 12") == "tel:+862588880000"
    assert tel_uri("(025) 8888-0000") == "tel:02588880000"
    assert tel_uri("ask at the desk") == "" and tel_uri("") == ""


# -- subscribing -----------------------------------------------------------------------------------


def test_the_subscribe_links_reach_this_patients_feed(web):
    from icalendar import Calendar

    token = enrol(web)
    page = web.client().get(f"/p/{token}").get_data(as_text=True)
    https = text_of(re.search(r'<p class="link">(.*?)</p>', page, re.S).group(1))
    assert https == f"https://calendar.example.org/feed/{token}.ics"  # the site's [feed] base_url
    webcal = href(page, "button")
    assert webcal == "webcal://" + https.split("://", 1)[1]
    google = href(page, "button secondary")
    parts = urlsplit(google)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "calendar.google.com", "/calendar/r")
    assert parse_qs(parts.query) == {"cid": [webcal]}
    feed = web.client().get(urlsplit(https).path)  # the same app serves the feed
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.data)
    assert len(calendar.walk("VEVENT")) > 50
    assert feed.data == web.roster.feed(token).body
    steps = text_of(section(page, "calendar"))
    assert "ICSx⁵" in steps and "Subscribe from web" in steps and "From URL" in steps


def test_the_links_follow_the_servers_base_url_when_it_is_given(tmp_path, fast_hashing):
    made = make_web(tmp_path, settings={"base_url": "https://unit.example.net/"})
    try:
        token = enrol(made)
        page = made.client().get(f"/p/{token}").get_data(as_text=True)
        assert f"webcal://unit.example.net/feed/{token}.ics" == href(page, "button")
    finally:
        made.roster.close()


# -- language --------------------------------------------------------------------------------------


def test_a_chinese_course_gets_a_chinese_page(web):
    token = enrol(web, language="zh-CN")
    at(web, "2026-12-08T08:00")
    page = web.client("nurse").get(f"/p/{token}").get_data(as_text=True)  # the nurse's language does not matter
    assert '<html lang="zh-Hans">' in page and title(page) == "我的治疗日历"
    today = text_of(section(page, "today"))
    assert "2026年12月8日 周二" in today
    assert "08:00 早上服药 卡培他滨 1650 mg 500 mg × 3 片 + 150 mg × 1 片" in today
    assert "20:00 晚上服药" in today
    assert "体温" in text_of(section(page, "call-us"))
    for english in ("Morning tablets", "Today", "Next appointment", "Call us", "Add to my phone", "Download my diary"):
        assert english not in page


def test_every_word_of_the_page_has_its_chinese():
    """Every ``_("…")`` of the template and ``t("…")`` of the view has a translation in web-patient.po."""
    from babel.messages.pofile import read_po

    from picture_schedule.resources import templates_dir

    root = templates_dir()
    with (root / "locale" / "zh_CN" / "LC_MESSAGES" / "web-patient.po").open("rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle) if m.id}
    import picture_schedule.web.patient_page as view

    sources = [(root / "web" / "my-page.html").read_text(encoding="utf-8"),
               Path(view.__file__).read_text(encoding="utf-8")]
    found = {html.unescape(m) for text in sources for m in re.findall(r'\b(?:_|t)\(\s*"((?:[^"\\]|\\.)*)"', text)}
    assert len(found) > 40
    for message in found:
        assert catalogue.get(message), f"no Chinese for {message!r}"
        for placeholder in re.findall(r"%\(\w+\)s", message):
            assert placeholder in catalogue[message], f"{message!r}: {placeholder} lost in the Chinese"


# -- the diary -------------------------------------------------------------------------------------


@pytest.mark.slow  # prints a PDF
def test_the_diary_pdf_is_this_patients_with_their_link_and_printed_once(web, monkeypatch):
    from pypdf import PdfReader

    from picture_schedule.roster.diary_cache import DiaryCache

    token = enrol(web)
    page = web.client().get(f"/p/{token}").get_data(as_text=True)
    link = re.search(r'<a class="button secondary" href="(/p/[^"]+/diary\.pdf)"', page).group(1)
    response = web.client().get(link)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Robots-Tag"].startswith("noindex")
    reader = PdfReader(io.BytesIO(response.data))
    words = "".join("".join(p.extract_text() for p in reader.pages).split())
    assert "Mytreatmentdiary" in words and "PIC-002" in words
    assert f"webcal://calendar.example.org/feed/{token}.ics" in words  # the QR code's link, printed under it
    assert "1650mg" in words

    def no_printing(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("printed again")

    monkeypatch.setattr(DiaryCache, "pdf", no_printing)
    assert web.client().get(link).data == response.data  # kept in memory: not printed again
    web.roster.rotate("PIC-002", by="nurse")
    assert web.client().get(link).status_code == 404  # the old link's diary is gone with it


# -- logs ------------------------------------------------------------------------------------------


def test_no_token_reaches_the_access_log(tmp_path, fast_hashing, caplog):
    made = make_web(tmp_path, settings={"access_log": True})
    try:
        token = enrol(made)
        caplog.set_level(logging.INFO, logger="picture_schedule.access")
        client = made.client()
        for path in (f"/p/{token}", f"/p/{token}/nothing", f"/feed/{token}.ics", f"/p/{token[:-2]}xy/diary.pdf"):
            client.get(path)
        lines = [r.getMessage() for r in caplog.records if r.name == "picture_schedule.access"]
        assert len(lines) == 4 and any("/p/<redacted>" in line for line in lines)
        assert not any(token in line or token[:20] in line for line in lines)
    finally:
        made.roster.close()
