"""The enrolment page, /patients/new (issue 13): a nurse enrols a patient through a form that is checked
by the course loader, field by field, and sees the new link once."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from tests.conftest import ROOT
from tests.web_support import PASSWORD, csrf, fast_hashing, login, web  # noqa: F401  (fixtures)

STARTS = "2026-12-10"  # a Thursday, no holiday in China: cycle 1 day 1 stays on it


def _form(**changes: str) -> dict[str, str]:
    """A complete, valid form for PIC-002 (what a nurse types), with ``changes``."""
    values = {"patient": "PIC-002", "language": "en", "regimen": "picture", "start": STARTS, "cycles": "",
              "height_cm": "152", "weight_kg": "48", "measured": "2026-11-30", "morning": "08:00",
              "evening": "20:00", "injection": "08:00"}
    values.update(changes)
    return values


def _post(client, **changes: str):
    page = client.get("/patients/new").get_data(as_text=True)
    return client.post("/patients/new", data={**_form(**changes), "csrf_token": csrf(page)})


class _Containers(HTMLParser):
    """The text inside each element that has an id (nested elements' text included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, str | None]] = []
        self.text: dict[str, str] = {}
        self.attrs: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        self.attrs.append((tag, found))
        if tag not in ("input", "br", "img", "meta", "link"):
            self.open.append((tag, found.get("id")))
            if found.get("id"):
                self.text.setdefault(str(found["id"]), "")

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, element_id in self.open:
            if element_id:
                self.text[element_id] += data


def _parse(page: str) -> _Containers:
    parser = _Containers()
    parser.feed(page)
    return parser


def _snapshot(roster) -> tuple:
    every = roster.patients() + roster.patients(removed=True)  # (removed=True gives the removed only)
    return ([(p.patient, p.removed_at) for p in every], [(e.action, e.by) for p in every for e in roster.journal(p.patient)])


def _token(page: str) -> str:
    found = re.search(r"/feed/([A-Za-z0-9_-]{20,})\.ics", page)
    assert found, "no feed link on the page"
    return found.group(1)


# -- who may enrol ---------------------------------------------------------------------------------


def test_a_viewer_may_neither_see_nor_send_the_form(web):
    client = web.client("viewer")
    assert client.get("/patients/new").status_code == 403
    token = csrf(client.get("/login").get_data(as_text=True))
    before = _snapshot(web.roster)
    assert client.post("/patients/new", data={**_form(), "csrf_token": token}).status_code == 403
    assert _snapshot(web.roster) == before


def test_without_a_login_the_form_sends_you_to_log_in(web):
    client = web.client()
    response = client.get("/patients/new")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/patients/new"
    before = _snapshot(web.roster)
    assert client.post("/patients/new", data=_form()).status_code in (302, 400)  # no session, no CSRF token
    assert _snapshot(web.roster) == before


def test_a_nurse_and_a_coordinator_get_the_form(web):
    for role in ("nurse", "coordinator"):
        assert web.client(role).get("/patients/new").status_code == 200


# -- the empty form --------------------------------------------------------------------------------


def test_the_form_labels_every_input_and_says_what_happens(web):
    response = web.client("nurse").get("/patients/new")
    page = response.get_data(as_text=True)
    parsed = _parse(page)
    controls = [(tag, attrs) for tag, attrs in parsed.attrs if tag in ("input", "select", "textarea")
                and attrs.get("type") != "hidden"]
    labelled = {attrs.get("for") for tag, attrs in parsed.attrs if tag == "label"}
    assert len(controls) >= 14
    for _tag, attrs in controls:
        assert attrs.get("id") in labelled, attrs
    required = {attrs["name"] for _tag, attrs in controls if "required" in attrs}
    assert required == {"patient", "language", "regimen", "start", "height_cm", "weight_kg", "measured",
                        "morning", "evening", "injection"}
    assert "The link is shown once. Print the diary now, or make a new link later." in page
    assert "style=" not in page and "<script" not in page and " on" + "click" not in page  # CSP: nothing inline
    assert response.headers["Cache-Control"] == "no-store"
    # the defaults a nurse sees: today in Nanjing (02:00 UTC is 10:00 there), the course example's times
    fields = {attrs.get("name"): attrs for _tag, attrs in controls}
    assert fields["measured"]["value"] == "2026-12-01" and fields["measured"]["type"] == "date"
    assert (fields["morning"]["value"], fields["evening"]["value"], fields["injection"]["value"]) == \
        ("08:00", "20:00", "08:00")
    assert fields["start"]["type"] == "date" and fields["morning"]["type"] == "time"
    # the unit's site by its name; the built-in regimens; one dose field per agent, with its unit
    assert "Example day unit, Nanjing" in parsed.text["site"]
    regimens = re.findall(r'<option value="([a-z0-9-]+)"', page.split('id="regimen"')[1].split("</select>")[0])
    assert regimens == ["picture", "capox"]
    assert "(mg)" in parsed.text["field-rx-oxaliplatin"] and "(mg)" in parsed.text["field-rx-tislelizumab"]
    assert "Only with picture" in parsed.text["field-rx-tislelizumab"]
    units = re.findall(r'<option value="([^"]*)"', page.split('id="rx-interleukin-2-unit"')[1].split("</select>")[0])
    assert units == ["", "mg", "IU", "MIU", "µg", "mL"]  # no unit chosen for the nurse: IU and MIU differ a million-fold


def test_the_hints_give_the_limits_the_loader_enforces(web):
    """The form says 100–230 cm and 25–250 kg; the loader accepts exactly those ends and nothing beyond."""
    from picture_schedule.errors import ScheduleError
    from picture_schedule.loading.new_course import NewCourse, new_course

    parsed = _parse(web.client("nurse").get("/patients/new").get_data(as_text=True))
    assert "100–230" in parsed.text["height_cm-hint"] and "25–250" in parsed.text["weight_kg-hint"]
    target = web.folder / "limits.toml"
    for height, weight, ok in ((100, 25, True), (230, 250, True), (99.9, 48, False), (230.1, 48, False),
                               (152, 24.9, False), (152, 250.1, False)):
        new = NewCourse(patient="L-1", start=dt.date(2026, 12, 10), height_cm=height, weight_kg=weight, site=None)
        if ok:
            new_course(new, target)
        else:
            with pytest.raises(ScheduleError):
                new_course(new, target)


# -- a valid enrolment -----------------------------------------------------------------------------


def test_a_valid_enrolment_stores_the_patient_and_shows_the_link_once(web):
    from icalendar import Calendar

    client = web.client("nurse")
    response = _post(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:2000]
    assert response.headers["Cache-Control"] == "no-store"
    info = web.roster.info("PIC-002")
    assert (info.regimen, info.start, info.language, info.added_by) == ("picture", STARTS, "en", "nurse")
    assert [(e.action, e.by) for e in web.roster.journal("PIC-002")] == [("add", "nurse")]
    token = _token(page)
    assert f"https://calendar.example.org/feed/{token}.ics" in page  # the site's [feed] base_url
    assert f"webcal://calendar.example.org/feed/{token}.ics" in page
    # the link works, through the same application
    feed = client.get(f"/feed/{token}.ics")
    assert feed.status_code == 200
    calendar = Calendar.from_ical(feed.get_data())
    starts = {event.decoded("DTSTART") for event in calendar.walk("VEVENT")}
    assert any(getattr(day, "date", lambda: day)() == dt.date(2026, 12, 10) for day in starts)
    # never again: not on the empty form, not after reloading it, not on a second send of the same form
    again = client.get("/patients/new").get_data(as_text=True)
    assert token not in again and 'value="PIC-002"' not in again
    resent = _post(client)
    assert resent.status_code == 400 and token not in resent.get_data(as_text=True)


def test_the_stored_course_is_what_picture_schedule_new_writes(web, runner, monkeypatch):
    """One path: the form's course is the CLI's `new` file for the same values (but for `created`,
    which each stamps with its own clock)."""
    from picture_schedule.cli.main import main

    assert _post(web.client("nurse")).status_code == 200
    stored = web.roster.course_text("PIC-002")
    assert 'site = "site-nanjing.toml"' in stored  # relative to the site file's folder
    assert "created = 2026-12-01T10:00:00" in stored  # the fixed clock, 02:00 UTC, in Nanjing's zone
    monkeypatch.chdir(web.folder)
    result = runner.invoke(main, ["new", "--patient", "PIC-002", "--start", STARTS, "--height", "152", "--weight",
                                 "48", "--measured", "2026-11-30", "--site", "site-nanjing.toml", "--lang", "en",
                                 "-o", "cli.toml"])
    assert result.exit_code == 0, result.output
    written = (web.folder / "cli.toml").read_text(encoding="utf-8")

    def without_created(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("created = ")]

    assert without_created(stored) == without_created(written)


def test_times_and_prescriptions_reach_the_course(web, monkeypatch):
    from picture_schedule.core.model import Prescribed
    from picture_schedule.loading.new_course import NewCourse, course_text

    response = _post(web.client("nurse"), morning="07:30", evening="19:00", injection="09:15", cycles="4",
                     **{"rx-oxaliplatin": "230", "rx-interleukin-2": "1", "rx-interleukin-2-unit": "MIU"})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    course = web.roster.course("PIC-002")
    assert (f"{course.times.morning:%H:%M}", f"{course.times.evening:%H:%M}", f"{course.times.injection:%H:%M}") == \
        ("07:30", "19:00", "09:15")
    assert course.cycles == 4
    assert dict(course.prescribed) == {"oxaliplatin": Prescribed(230, "mg"), "interleukin-2": Prescribed(1, "MIU")}
    # and the text is new_course's for the same values
    new = NewCourse(patient="PIC-002", start=dt.date(2026, 12, 10), height_cm=152, weight_kg=48,
                    site=str(web.site.relative_to(web.folder)), language="en", cycles=4,
                    measured=dt.date(2026, 11, 30), created=dt.datetime(2026, 12, 1, 10, 0),
                    times=course.times, prescribed=(("oxaliplatin", Prescribed(230, "mg")),
                                                    ("interleukin-2", Prescribed(1, "MIU"))))
    monkeypatch.chdir(web.folder)  # NewCourse takes the site as a path from the current folder, as the CLI does
    assert web.roster.course_text("PIC-002") == course_text(new, web.folder)


def test_default_times_write_no_times_table(web):
    assert _post(web.client("nurse")).status_code == 200
    assert "[times]" not in web.roster.course_text("PIC-002")
    assert "[prescribed]\n" not in web.roster.course_text("PIC-002")


def test_the_link_page_is_made_before_the_roster_commits(web, monkeypatch):
    """If the page that shows the link cannot be made, the link would be lost: nothing is stored."""
    import picture_schedule.web.linkpage as linkpage

    def broken(*args, **kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(linkpage, "show_link", broken)
    before = _snapshot(web.roster)
    assert _post(web.client("nurse")).status_code == 500
    assert _snapshot(web.roster) == before


# -- rejected forms --------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"height_cm": "20"}, "height_cm", "20 is outside 100–230 cm"),
    ({"weight_kg": "300"}, "weight_kg", "300 is outside 25–250 kg"),
    ({"height_cm": "abc"}, "height_cm", "'abc' is not a number"),
    ({"height_cm": ""}, "height_cm", "is required"),
    ({"start": "2026-02-30"}, "start", "'2026-02-30' is not a real date"),
    ({"start": "next week"}, "start", "'next week' is not a date in the form YYYY-MM-DD"),
    ({"start": ""}, "start", "is required"),
    ({"measured": "2026-13-01"}, "measured", "'2026-13-01' is not a real date"),
    ({"patient": ""}, "patient", "is empty: give the pseudonymous study number"),
    ({"patient": "P" * 33}, "patient", "is 33 characters long; at most 32 are allowed"),
    ({"patient": "PIC\u202e002"}, "patient", "holds the control or bidirectional character U+202E"),
    ({"cycles": "100"}, "cycles", "100 is outside 1–99"),
    ({"language": "fr"}, "language", "'fr' is not one of: en, zh-CN"),
    ({"regimen": "../../etc/passwd.toml"}, "regimen", "is not one of: picture, capox"),
    ({"evening": "07:00"}, "evening", "07:00 is not after the morning time 08:00"),
    ({"morning": "25:00"}, "morning", "'25:00' is not a clock time (HH:MM, 00:00–23:59)"),
    ({"rx-interleukin-2": "1"}, "rx-interleukin-2", "'' is not one of: mg, IU, MIU, µg, mL"),
    ({"regimen": "capox", "rx-tislelizumab": "200"}, "rx-tislelizumab",
     "'tislelizumab' is not an agent of capox (oxaliplatin, capecitabine)"),
    ({"rx-oxaliplatin": "0"}, "rx-oxaliplatin", "0 is outside 0.0001–1e+12"),
])
def test_a_rejected_form_shows_the_loaders_words_next_to_the_field(web, changes, field, message):
    before = _snapshot(web.roster)
    response = _post(web.client("nurse"), **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    parsed = _parse(page)
    assert message in parsed.text[f"field-{field}"], parsed.text[f"field-{field}"]
    assert message in parsed.text["error-summary"]  # and in the summary at the top
    assert 'aria-invalid="true"' in page
    assert _snapshot(web.roster) == before
    # what the nurse typed is still there to correct
    for name, value in changes.items():
        if name not in ("language", "regimen", "rx-interleukin-2-unit") and value:
            assert f'value="{value}"' in page or value.replace("'", "&#39;") in page


def test_every_problem_is_shown_at_once(web):
    response = _post(web.client("nurse"), patient="", height_cm="20", weight_kg="abc", start="2026-02-30")
    parsed = _parse(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "is empty" in parsed.text["field-patient"]
    assert "20 is outside 100–230 cm" in parsed.text["field-height_cm"]
    assert "'abc' is not a number" in parsed.text["field-weight_kg"]
    assert "is not a real date" in parsed.text["field-start"]


def test_a_time_that_cannot_be_read_is_not_blamed_on_the_other_times(web):
    """The evening is checked against the morning: with no readable morning, nothing is said of the evening."""
    response = _post(web.client("nurse"), morning="25:00", evening="07:00")
    parsed = _parse(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "is not a clock time" in parsed.text["field-morning"]
    assert "field-error" not in response.get_data(as_text=True).split('id="field-evening"')[1].split("</div>")[0]


def test_a_study_number_on_the_roster_is_refused_with_the_rosters_words(web):
    before = _snapshot(web.roster)
    response = _post(web.client("nurse"), patient="PIC-001")
    assert response.status_code == 400
    parsed = _parse(response.get_data(as_text=True))
    assert "patient 'PIC-001' is already on the roster" in parsed.text["field-patient"]
    assert _snapshot(web.roster) == before


def test_a_form_without_its_csrf_token_is_refused(web):
    client = web.client("nurse")
    before = _snapshot(web.roster)
    response = client.post("/patients/new", data=_form())
    assert response.status_code == 400
    assert _snapshot(web.roster) == before


def test_a_problem_in_the_site_file_goes_to_the_summary(web):
    text = web.site.read_text(encoding="utf-8").replace("fever_threshold_c = 38.0", "fever_threshold_c = 45.0")
    web.site.write_text(text, encoding="utf-8")
    before = _snapshot(web.roster)
    response = _post(web.client("nurse"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    box = _parse(page).text["error-summary"]
    assert "site-nanjing.toml: fever_threshold_c" in box
    assert str(web.folder) not in box  # the server's folders are its business
    assert _snapshot(web.roster) == before


# -- escaping, languages, no site ------------------------------------------------------------------


def test_a_study_number_that_looks_like_html_is_shown_as_text(web):
    study = "<script>alert(1)</script>"
    client = web.client("nurse")
    rejected = _post(client, patient=study, height_cm="20").get_data(as_text=True)
    assert study not in rejected and "&lt;script&gt;alert(1)&lt;/script&gt;" in rejected
    response = _post(client, patient=study)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:2000]
    assert web.roster.info(study).patient == study  # the loader allows it: it is stored as it is
    assert study not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_form_speaks_the_members_language(web):
    from picture_schedule.roster.staff import member, set_language

    set_language(web.roster, member(web.roster, "nurse").id, "zh-CN")
    client = web.client("nurse")
    page = client.get("/patients/new").get_data(as_text=True)
    for words in ("研究编号", "身高", "体重", "链接只显示一次。请现在打印日记，或以后重新生成链接。", "白细胞介素-2"):
        assert words in page
    assert "Study number" not in page
    assert '<option value="zh-CN" selected>' in page.split('id="language"')[1]  # the patient's language too


def test_every_word_of_the_page_has_its_chinese(web):
    from babel.messages.pofile import read_po

    from picture_schedule.web.enrol import LABELS

    template = (ROOT / "templates" / "web" / "enrol.html").read_text(encoding="utf-8")
    words = set(re.findall(r'_\("((?:[^"\\]|\\.)+)"', template)) | set(LABELS.values())
    with (ROOT / "templates" / "locale" / "zh_CN" / "LC_MESSAGES" / "web-enrol.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    for word in words:
        entry = catalog.get(word)
        assert entry is not None and entry.string, word
        assert re.findall(r"%\(\w+\)s", word) == re.findall(r"%\(\w+\)s", entry.string) or \
            sorted(re.findall(r"%\(\w+\)s", word)) == sorted(re.findall(r"%\(\w+\)s", entry.string)), word


def test_without_a_site_file_the_page_says_so_and_enrols_without_one(web):
    from picture_schedule.web.app import WebSettings, create_app

    app = create_app(web.roster, WebSettings(site=None, access_log=False, clock=web.clock, secret_key=b"t" * 32))
    app.config["TESTING"] = True
    client = app.test_client()
    login(client, "nurse", PASSWORD)
    page = client.get("/patients/new").get_data(as_text=True)
    assert "This server has no site file" in _parse(page).text["site"]
    response = _post(client, patient="PIC-009")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    text = web.roster.course_text("PIC-009")
    assert "\nsite = " not in text and "created = 2026-12-01T10:00:00" in text  # Shanghai, the default zone
