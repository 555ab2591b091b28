"""The coordinator's chair page (issue 13): ``/chairs``, ``/chairs/book``, ``/chairs/suggest``.

The page computes what ``chairs plan --db ROSTER --site FILE`` and ``chairs suggest`` compute; these
tests run the command line beside it and compare. The expected times were checked by hand: the
example site starts infusions at 09:00, and PICTURE's cycle-1 day 1 takes 15 min preparation +
60 min tislelizumab + 120 min oxaliplatin + 30 min observation = 225 min, so 09:00–12:45.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.web_support import EXAMPLES, PASSWORD, csrf, fast_hashing, login, web  # noqa: F401  (fixtures)

#: A unit of 2 chairs open 08:00–12:00 (240 min) on weekdays, one infusion start per 15-min slot.
TIGHT_CHAIRS = """[chairs]
count = 2
slot_minutes = 15
nurse_starts_per_slot = 1
hours = { mon = ["08:00", "12:00"], tue = ["08:00", "12:00"], wed = ["08:00", "12:00"], thu = ["08:00", "12:00"], fri = ["08:00", "12:00"] }
"""


def _site_chairs(site: Path, chairs: str) -> None:
    """Replace the site file's [chairs] section (the last one of the example) with ``chairs``."""
    text = site.read_text(encoding="utf-8")
    site.write_text(text[:text.index("[chairs]")] + chairs, encoding="utf-8")
    stamp = site.stat().st_mtime + 2  # the page reloads the site when its time stamp changes
    os.utime(site, (stamp, stamp))


def _text(page: str) -> str:
    """The page's visible words, one space between them."""
    page = page[page.index("<main"):]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _proposal(page: str, patient: str, cycle: int) -> tuple[str, str]:
    """(chair, "HH:MM–HH:MM") of a proposed booking row on the page."""
    row = re.search(rf'<tr class="\w+" id="b-{re.escape(patient)}-{cycle}">(.*?)</tr>', page, re.S)
    assert row, f"no proposal for {patient} cycle {cycle}"
    chair = re.search(r'class="num chair"[^>]*>(\d+)<', row.group(1))
    time = re.search(r'class="time"[^>]*>([\d:]+–[\d:]+)<', row.group(1))
    assert chair and time
    return chair.group(1), time.group(1)


def _cli_rows(cli, *args: str) -> dict[tuple[str, int], dict[str, str]]:
    """``chairs plan … --csv -`` rows by (patient, cycle)."""
    result = cli("chairs", "plan", *args, "--csv", "-")
    assert result.exit_code == 0, result.output
    text = result.stdout if hasattr(result, "stdout") else result.output
    lines = [line for line in text.splitlines() if line.startswith("patient,") or re.match(r"[^,]+,\d+,\d{4}-", line)]
    return {(row["patient"], int(row["cycle"])): row for row in csv.DictReader(io.StringIO("\n".join(lines)))}


def _book(client, month: str = "2026-12"):
    """Open the month's page and press "book" on it (the fingerprint of what it showed)."""
    page = client.get(f"/chairs?month={month}").get_data(as_text=True)
    shown = re.search(r'name="plan" value="([^"]+)"', page)
    plan = shown.group(1) if shown else ""
    return client.post("/chairs/book", data={"csrf_token": csrf(page), "month": month, "plan": plan})


def _stored(web) -> list[tuple[str, int, str, str, str, str, int, str]]:
    conn = web.roster._conn()
    return [tuple(row) for row in conn.execute(
        "SELECT p.patient, b.cycle, b.day, b.chair, b.start_time, b.end_time, b.revision, b.booked_by FROM bookings b "
        "JOIN patients p ON p.id = b.patient_id ORDER BY p.patient, b.cycle")]


def _feed(client, token: str) -> tuple[str, str]:
    response = client.get(f"/feed/{token}.ics")
    assert response.status_code == 200
    return response.headers["ETag"], response.get_data(as_text=True).replace("\r\n ", "")


# ------------------------------------------------------------------------------------- roles


@pytest.mark.parametrize("path", ["/chairs", "/chairs?month=2026-12", "/chairs/suggest"])
def test_anonymous_is_sent_to_login(web, path):
    response = web.client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["viewer", "nurse"])
def test_viewer_and_nurse_may_not_see_or_book(web, role):
    client = web.client(role)
    for path in ("/chairs", "/chairs?month=2026-12", "/chairs/suggest?regimen=picture&earliest=2026-12-01&count=1"):
        assert client.get(path).status_code == 403
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/chairs/book", data={"csrf_token": token, "month": "2026-12", "plan": "x"})
    assert response.status_code == 403
    assert _stored(web) == []


def test_anonymous_book_is_sent_to_login_and_stores_nothing(web):
    client = web.client()
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/chairs/book", data={"csrf_token": token, "month": "2026-12", "plan": "x"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _stored(web) == []


def test_every_chairs_route_needs_a_coordinator(web):
    views = {rule.endpoint: web.app.view_functions[rule.endpoint] for rule in web.app.url_map.iter_rules()
             if rule.endpoint.startswith("chairs.")}
    assert set(views) == {"chairs.plan", "chairs.book", "chairs.suggest"}
    assert {getattr(view, "required_role", None) for view in views.values()} == {"coordinator"}


# ---------------------------------------------------------------------------------- the plan


def test_the_month_shows_the_bookings_the_command_line_plans(web, cli):
    page = web.client("coordinator").get("/chairs?month=2026-12")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    rows = _cli_rows(cli, "--db", web.folder / "roster.sqlite3", "--site", web.site)
    expected = rows[("PIC-001", 1)]
    assert (expected["chair"], expected["start"], expected["end"], expected["date"]) == ("1", "09:00", "12:45",
                                                                                         "2026-12-07")
    assert _proposal(text, "PIC-001", 1) == (expected["chair"], f"{expected['start']}–{expected['end']}")
    cycle2 = rows[("PIC-001", 2)]  # 2026-12-28, the other December day 1
    assert _proposal(text, "PIC-001", 2) == (cycle2["chair"], f"{cycle2['start']}–{cycle2['end']}")
    assert 'id="b-PIC-001-3"' not in text  # January's visit is not on December's page
    words = _text(text)
    assert "Infusion chairs: December 2026" in words
    assert "2 new, 0 changed, 0 already stored." in words
    assert "Every day-1 visit of this month has a chair" in words


def test_the_default_month_is_this_month_and_the_neighbours_are_linked(web):
    text = web.client("coordinator").get("/chairs").get_data(as_text=True)  # the clock: 2026-12-01
    assert "Infusion chairs: December 2026" in _text(text)
    assert 'href="/chairs?month=2026-11"' in text and 'href="/chairs?month=2027-01"' in text
    assert 'id="month" name="month" type="month" value="2026-12"' in text
    january = web.client("coordinator").get("/chairs?month=2027-01").get_data(as_text=True)
    assert 'href="/chairs?month=2026-12"' in january and 'href="/chairs?month=2027-02"' in january


@pytest.mark.parametrize("month, words", [
    ("2026-13", "'2026-13' is not a month: give it as YYYY-MM"),
    ("December", "'December' is not a month"),
    ("2026-1", "'2026-1' is not a month"),
    ("1800-01", "1800-01-01 is outside the supported dates"),
])
def test_a_bad_month_is_a_400_with_the_reason_at_the_field(web, month, words):
    response = web.client("coordinator").get(f"/chairs?month={month}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert words in _text(text)
    assert 'id="month-error"' in text and 'aria-invalid="true"' in text
    assert "Traceback" not in text


def test_over_capacity_and_unplaced_come_first_with_their_reasons(web):
    for patient in ("PIC-002", "PIC-003"):
        web.roster.add(web.course_file(patient, "2026-12-07"), by="setup")
    _site_chairs(web.site, TIGHT_CHAIRS)
    text = web.client("coordinator").get("/chairs?month=2026-12").get_data(as_text=True)
    words = _text(text)
    # Checked by hand: three 225-min visits on Mon 7 Dec; 09:00 + 225 min ends after 12:00, so every one is
    # placed by earliest fit, longest first, ties by study number: PIC-001 08:00 on chair 1, PIC-002 08:15
    # (one start per slot) on chair 2 until 12:00, and PIC-003 finds no chair.
    assert _proposal(text, "PIC-001", 1) == ("1", "08:00–11:45")
    assert _proposal(text, "PIC-002", 1) == ("2", "08:15–12:00")
    assert 'id="b-PIC-003-1"' not in text
    assert "moved from 09:00 to 08:00: a 225-min visit at 09:00 does not fit the opening hours 08:00–12:00" in words
    unplaced = re.search(r'<table class="stack" id="unplaced">(.*?)</table>', text, re.S)
    assert unplaced is not None
    unplaced_words = _text("<main>" + unplaced.group(1))
    assert "PIC-003 1 Mon 7 Dec 2026 225 no chair free for 225 min before 12:00" in unplaced_words
    assert "Days over capacity: 2. Visits not placed: 2. Stale bookings: 0." in words  # 7 and 28 December
    # first what needs attention, then the month, then the proposals
    assert text.index('id="unplaced"') < text.index('class="heatmap"') < text.index('id="bookings-heading"')
    cell = re.search(r'<td class="cell over"><span class="dn" aria-hidden="true">7</span>(.*?)</td>', text, re.S)
    assert cell is not None and ">3!<" in cell.group(1)  # 3 visits, "!": over capacity, readable without colour


def test_the_page_words_reasons_in_chinese(web):
    for patient in ("PIC-002", "PIC-003"):
        web.roster.add(web.course_file(patient, "2026-12-07"), by="setup")
    _site_chairs(web.site, TIGHT_CHAIRS)
    client = web.client("coordinator")
    page = client.get("/chairs?month=2026-12").get_data(as_text=True)
    client.post("/language", data={"csrf_token": csrf(page), "language": "zh-CN", "next": "/chairs?month=2026-12"})
    words = _text(client.get("/chairs?month=2026-12").get_data(as_text=True))
    assert "输液椅：2026年12月" in words and "需要处理" in words and "未安排的就诊" in words
    # the reason in messages.po's words ("no chair free for {minutes} min before {closes}")
    assert "12:00 前没有空闲 225 分钟的输液椅" in words
    assert "no chair free" not in words


# ------------------------------------------------------------------------------------- booking


def test_book_stores_the_month_as_the_command_line_would_and_updates_the_feed(web, cli):
    token = web.roster.rotate("PIC-001", by="test").token
    client = web.client("coordinator")
    etag_before, feed_before = _feed(client, token)
    response = _book(client)
    assert response.status_code == 302 and response.headers["Location"] == "/chairs?month=2026-12"
    stored = _stored(web)
    assert stored == [("PIC-001", 1, "2026-12-07", "1", "09:00", "12:45", 1, "coordinator"),
                      ("PIC-001", 2, "2026-12-28", "1", "09:00", "12:15", 1, "coordinator")]
    course = web.roster.course("PIC-001")
    assert (course.bookings[1].chair, course.bookings[1].start, course.bookings[1].day) == (
        "1", dt.time(9), dt.date(2026, 12, 7))
    assert 3 not in course.bookings  # only the month shown is booked
    journal = [entry for entry in web.roster.journal("PIC-001") if entry.action == "book"]
    assert len(journal) == 1 and journal[0].by == "coordinator"
    etag_after, feed_after = _feed(client, token)
    assert etag_after != etag_before
    assert "Your appointment: 09:00 to 12:45." in feed_after and "Your appointment: 09:00 to 12:45." not in feed_before
    words = _text(client.get("/chairs?month=2026-12").get_data(as_text=True))
    assert "Bookings of December 2026 stored: 2 new, 0 changed, for PIC-001." in words
    assert "0 new, 0 changed, 2 already stored." in words
    assert "there is nothing to book" in words
    # the command line now finds the same bookings unchanged
    result = cli("chairs", "plan", "--db", web.folder / "roster.sqlite3", "--site", web.site,
                 "--from", "2026-12-01", "--to", "2026-12-31")
    assert "Bookings: 0 new, 0 changed, 2 unchanged, 0 stale: nothing changed" in result.output


def test_booking_again_without_changes_changes_nothing(web):
    token = web.roster.rotate("PIC-001", by="test").token
    client = web.client("coordinator")
    page = client.get("/chairs?month=2026-12").get_data(as_text=True)
    form = {"csrf_token": csrf(page), "month": "2026-12", "plan": re.search(r'name="plan" value="([^"]+)"', page)[1]}
    assert client.post("/chairs/book", data=form).status_code == 302
    before, etag = _stored(web), _feed(client, token)[0]
    journal = len(web.roster.journal("PIC-001"))
    assert "there is nothing to book" in _text(client.get("/chairs?month=2026-12").get_data(as_text=True))
    response = client.post("/chairs/book", data=form)  # the same form sent again (back button, double click)
    assert response.status_code == 302
    assert _stored(web) == before  # revision still 1
    assert _feed(client, token)[0] == etag
    assert len(web.roster.journal("PIC-001")) == journal
    words = _text(client.get("/chairs?month=2026-12").get_data(as_text=True))
    assert "Nothing changed: every booking of December 2026 was already stored." in words


def test_book_without_csrf_is_refused(web):
    client = web.client("coordinator")
    response = client.post("/chairs/book", data={"month": "2026-12", "plan": "x"})
    assert response.status_code == 400
    assert _stored(web) == []


def test_book_stores_nothing_when_the_plan_changed_since_it_was_shown(web):
    client = web.client("coordinator")
    page = client.get("/chairs?month=2026-12").get_data(as_text=True)
    shown = re.search(r'name="plan" value="([^"]+)"', page).group(1)
    web.roster.add(web.course_file("PIC-002", "2026-12-07"), by="nurse")  # enrolled meanwhile
    response = client.post("/chairs/book", data={"csrf_token": csrf(page), "month": "2026-12", "plan": shown})
    assert response.status_code == 302
    assert _stored(web) == []
    words = _text(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "The plan changed since the page was shown" in words and "Nothing was stored" in words


def test_book_with_a_bad_month_is_a_400(web):
    client = web.client("coordinator")
    page = client.get("/chairs").get_data(as_text=True)
    response = client.post("/chairs/book", data={"csrf_token": csrf(page), "month": "2026-00", "plan": "x"})
    assert response.status_code == 400
    assert "'2026-00' is not a month" in _text(response.get_data(as_text=True))
    assert _stored(web) == []


def test_a_stale_booking_is_shown_and_booked_again(web):
    from picture_schedule.core.model import Change

    client = web.client("coordinator")
    _book(client)
    web.roster.change("PIC-001", Change(cycle=2, reason="neutrophils 1.3", delay_days=2, by="nurse"))
    words = _text(client.get("/chairs?month=2026-12").get_data(as_text=True))
    # cycle 2: booked for Mon 28 Dec, day 1 now Wed 30 Dec (2 days later, an open day)
    assert "Stale bookings: 1." in words
    assert "cycle 2: the chair was booked for 2026-12-28, but day 1 is now 2026-12-30" in words
    assert "0 new, 1 changed, 1 already stored." in words
    _book(client)
    assert [row[:5] for row in _stored(web)] == [("PIC-001", 1, "2026-12-07", "1", "09:00"),
                                                 ("PIC-001", 2, "2026-12-30", "1", "09:00")]
    assert _stored(web)[1][6] == 2  # re-booked: revision 2
    words = _text(client.get("/chairs?month=2026-12").get_data(as_text=True))
    assert "0 new, 1 changed, for PIC-001." in words
    assert "Stale bookings booked again for their new day 1: 1." in words


# ------------------------------------------------------------------------------------ suggest


def _cli_starts(output: str) -> list[tuple[str, str, list[str]]]:
    return [(m[1], m[2], m[3].split(", ")) for m in re.finditer(
        r"^\s+\d+\. \w{3} (\d{4}-\d{2}-\d{2}): peak (\d+) of \d+ chairs; day 1s (.*)$", output, re.M)]


def _web_starts(page: str) -> list[tuple[str, str, list[str]]]:
    body = re.search(r'<table class="stack starts">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body is not None, "no table of starts"
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S):
        days = re.findall(r'<time datetime="([\d-]+)">', row)
        peak = re.search(r'data-label="Peak chairs \(of \d+\)">(\d+)<', row)
        assert peak is not None
        found.append((days[0], peak.group(1), days[1:]))
    return found


def test_suggest_gives_the_starts_the_command_line_gives(web, cli, tmp_path):
    _site_chairs(web.site, TIGHT_CHAIRS.replace("count = 2", "count = 1"))
    cohort = tmp_path / "cohort"  # the roster's one patient, as a folder of course files
    cohort.mkdir()
    for name in ("course-example.toml", "site-nanjing.toml"):
        shutil.copy(EXAMPLES / name, cohort / name)
    result = cli("chairs", "suggest", "--cohort", cohort, "--site", web.site, "--regimen", "picture",
                 "--earliest", "2026-12-07", "--count", "4")
    assert result.exit_code == 0, result.output
    expected = _cli_starts(result.output)
    assert len(expected) == 4
    response = web.client("coordinator").get("/chairs/suggest?regimen=picture&earliest=2026-12-07&count=4")
    assert response.status_code == 200
    assert _web_starts(response.get_data(as_text=True)) == expected
    # by hand: one chair, and PIC-001 has it on Mon 7 Dec (its cycle 1): the new patient cannot start then
    assert "2026-12-07" not in [start for start, _peak, _days in expected]
    assert all(dt.date.fromisoformat(start).isoweekday() <= 5 for start, _peak, _days in expected)


def test_the_suggest_form_without_parameters_shows_the_defaults(web):
    text = web.client("coordinator").get("/chairs/suggest").get_data(as_text=True)
    assert 'id="earliest" name="earliest" type="date" value="2026-12-01"' in text  # today, by the clock
    assert '<option value="picture" selected>' in text
    assert "Starts that fit" not in text


@pytest.mark.parametrize("query, field, words", [
    ("regimen=picture&earliest=2026-02-30&count=3", "earliest", "'2026-02-30' is not a real date"),
    ("regimen=picture&earliest=soon&count=3", "earliest", "'soon' is not a date in the form YYYY-MM-DD"),
    ("regimen=picture&earliest=2026-12-01&count=0", "count", "Give a whole number from 1 to 100."),
    ("regimen=picture&earliest=2026-12-01&count=many", "count", "Give a whole number from 1 to 100."),
    ("regimen=../../etc/passwd&earliest=2026-12-01&count=3", "regimen", "Choose one of the regimens in the list."),
])
def test_suggest_shows_each_mistake_at_its_field(web, query, field, words):
    response = web.client("coordinator").get(f"/chairs/suggest?{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', text, re.S)
    assert error is not None and words in html.unescape(error.group(1))
    assert "Starts that fit" not in text


# ------------------------------------------------------------------------------ no [chairs]


def test_a_site_without_chairs_explains_what_to_add(web):
    _site_chairs(web.site, "")
    client = web.client("coordinator")
    for path in ("/chairs?month=2026-12", "/chairs/suggest"):
        response = client.get(path)
        assert response.status_code == 200
        words = _text(response.get_data(as_text=True))
        assert "has no [chairs] section" in words and "site-nanjing.toml" in words
        assert "docs/guides/coordinator.md" in words
    page = client.get("/chairs").get_data(as_text=True)
    response = client.post("/chairs/book", data={"csrf_token": csrf(page), "month": "2026-12", "plan": "x"})
    assert response.status_code == 400 and "has no [chairs] section" in _text(response.get_data(as_text=True))
    assert _stored(web) == []


def test_a_server_without_a_site_file_says_how_to_start_it(web):
    from picture_schedule.web.app import WebSettings, create_app

    app = create_app(web.roster, WebSettings(site=None, access_log=False, clock=web.clock, secret_key=b"t" * 32))
    app.config["TESTING"] = True
    client = app.test_client()
    login(client, "coordinator", PASSWORD)
    words = _text(client.get("/chairs").get_data(as_text=True))
    assert "started without a site file" in words and "--site FILE" in words


# ------------------------------------------------------------------------------- the markup


def _check_markup(page: str) -> None:
    assert "style=" not in page and "<script" not in page and "onclick" not in page.lower()
    labels = set(re.findall(r'<label for="([^"]+)"', page))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        if 'type="hidden"' in tag:
            continue
        found = re.search(r'\bid="([^"]+)"', tag)
        assert found and found.group(1) in labels, f"no label for {tag}"


def test_the_pages_have_labels_and_no_inline_style_or_script(web):
    for patient in ("PIC-002", "PIC-003"):
        web.roster.add(web.course_file(patient, "2026-12-07"), by="setup")
    _site_chairs(web.site, TIGHT_CHAIRS)
    client = web.client("coordinator")
    for path in ("/chairs?month=2026-12", "/chairs?month=2026-13", "/chairs/suggest",
                 "/chairs/suggest?regimen=picture&earliest=2026-12-07&count=2",
                 "/chairs/suggest?regimen=x&earliest=x&count=x"):
        _check_markup(client.get(path).get_data(as_text=True))
    _site_chairs(web.site, "")
    _check_markup(client.get("/chairs").get_data(as_text=True))


def test_wide_tables_scroll_inside_a_wrapper(web):
    text = web.client("coordinator").get("/chairs?month=2026-12").get_data(as_text=True)
    for table in ("heatmap", "stack proposals", "stack days", "hours"):
        assert re.search(rf'<div class="scroll">\s*<table class="{table}"', text), table
