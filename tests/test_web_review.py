"""An adversarial review of the web page (issue 13): each test is an attack or an odd input that once
went wrong, or a door that must stay shut. Everything through Flask's test client, on the example
roster of tests/web_support.py (PIC-001 enrolled; accounts viewer, nurse, coordinator)."""

from __future__ import annotations

import html
import re
import threading
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web_support import PASSWORD, csrf, fast_hashing, web  # noqa: F401  (fixtures)

STUDY = "PIC-001"
ENROL = {"patient": "PIC-002", "language": "en", "regimen": "picture", "start": "2026-12-10", "cycles": "",
         "height_cm": "152", "weight_kg": "48", "measured": "2026-11-30", "morning": "08:00", "evening": "20:00",
         "injection": "08:00"}
#: Values that have broken web forms elsewhere: empty, spaces, NUL, bidi overrides, numbers that are
#: not (nan, inf, 1e309, 4300+ digits), dates at the edges of the calendar, markup, separators.
ODD = ["", " ", "\x00", "a\x00b", "\u202eRTL", "\r\n", "nan", "inf", "-inf", "1e309", "-0", "-1", "0", "9" * 5000,
       "99999999999999999999999", "0001-01-01", "9999-12-31", "0000-00", "2026-02-30", "24:00", "23:59:60",
       "１５２", "1_000", "1,650", "<script>alert(1)</script>", "javascript:alert(1)", "%(x)s", "x" * 2000]


def page_token(client, path: str = "/patients") -> str:
    return csrf(client.get(path).get_data(as_text=True))


def hidden_fields(page: str, ending: str = "/change/confirm") -> dict[str, str]:
    """The hidden fields of the form whose action ends with ``ending``."""
    start = re.search(f'action="[^"]*{re.escape(ending)}"', page).start()
    form = page[start:page.index("</form>", start)]
    return {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)}


def state(web) -> tuple:
    """Everything a form could change: patients, their changes, the history, the staff accounts."""
    from picture_schedule.roster.staff import members

    patients = web.roster.patients() + web.roster.patients(removed=True)  # (removed=True: the removed only)
    return ([(p.patient, p.changes, p.removed_at, p.token_created) for p in patients],
            [(e.action, e.by, e.reason) for p in patients for e in web.roster.journal(p.patient)],
            [(m.username, m.language, m.epoch) for m in members(web.roster)])


# -- robustness: odd values never give the 500 page ------------------------------------------------------


@pytest.mark.parametrize("month", ["0000-01", "0000-12"])
def test_a_month_in_year_0_is_refused_at_its_field_not_a_500(web, month):
    coordinator = web.client("coordinator")
    shown = coordinator.get("/chairs", query_string={"month": month})
    assert shown.status_code == 400 and "is not a month" in shown.get_data(as_text=True)
    before = state(web)
    booked = coordinator.post("/chairs/book", data={"month": month, "plan": "", "csrf_token": page_token(coordinator)})
    assert booked.status_code == 400 and state(web) == before


@pytest.mark.parametrize("target", ["/patients\r\nSet-Cookie: x=1", "/\nLocation: //evil.example", "/\x00",
                                    "/\t/evil.example", "/\x7f"])
def test_a_next_with_control_characters_is_replaced_by_the_list_not_a_500(web, target):
    client = web.client()
    page = client.get("/login").get_data(as_text=True)
    sent = client.post("/login", query_string={"next": target},
                       data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf(page)})
    assert sent.status_code == 302 and sent.headers["Location"] == "/patients"
    moved = client.post("/language", data={"language": "zh-CN", "next": target, "csrf_token": page_token(client)})
    assert moved.status_code == 302 and moved.headers["Location"] == "/patients"


def test_a_login_with_huge_or_odd_fields_is_a_plain_refusal(web):
    client = web.client()
    token = page_token(client, "/login")
    for fields in ({"username": "u" * 10_000, "password": "p" * 100_000}, {"username": "nurse\x00", "password": "x"},
                   {"username": "\u202enurse", "password": PASSWORD}, {}, {"password": PASSWORD}):
        assert client.post("/login", data={**fields, "csrf_token": token}).status_code == 401
    too_big = client.post("/login", data={"username": "nurse", "password": "x" * 1_100_000, "csrf_token": token})
    assert too_big.status_code == 413 and "frame-ancestors 'none'" in too_big.headers["Content-Security-Policy"]


def test_a_comma_in_a_prescribed_amount_is_refused_never_read_as_a_decimal_point(web):
    """"1,650" is 1650 mg to a nurse used to thousands separators (and in China, where "," is never a
    decimal sign); read as 1.65 mg it previewed a dose 1000 times too small."""
    nurse = web.client("nurse")
    token = page_token(nurse, f"/patients/{STUDY}")
    answer = nurse.post(f"/patients/{STUDY}/change", data={"cycle": "2", "reason": "new prescription",
                                                           "rx-capecitabine": "1,650", "csrf_token": token})
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400 and "1,650 is not an amount" in page and "1.65 mg" not in page
    typed = nurse.post(f"/patients/{STUDY}/change", data={"cycle": "2", "reason": "new prescription",
                                                          "rx-capecitabine": "1650", "csrf_token": token})
    assert typed.status_code == 200 and "1650 mg" in typed.get_data(as_text=True)


_value = st.one_of(st.sampled_from(ODD), st.text(max_size=40), st.integers(-10**6, 10**6).map(str))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({}, optional={name: _value for name in
                                                  [*ENROL, "rx-capecitabine", "rx-oxaliplatin", "rx-tislelizumab",
                                                   "rx-interleukin-2", "rx-interleukin-2-unit"]}))
def test_the_enrolment_form_never_answers_500_and_stores_nothing_when_it_refuses(web, values):
    nurse = web.client("nurse")
    token = page_token(nurse, "/patients/new")
    before = state(web)
    answer = nurse.post("/patients/new", data={**ENROL, "patient": "PIC-H", **values, "csrf_token": token})
    assert answer.status_code in (200, 400), answer.status_code
    if answer.status_code == 400:
        assert state(web) == before
    else:  # enrolled: exactly one new patient (removed, so that the next example may use its number again)
        new = {p.patient for p in web.roster.patients()} - {p[0] for p in before[0]}
        assert len(new) == 1
        web.roster.remove(new.pop(), by="test")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({}, optional={name: _value for name in
                                                  ["cycle", "delay_days", "dose_level", "level-all",
                                                   "level-capecitabine", "omit", "hold_days", "stop", "reason",
                                                   "rx-capecitabine", "rx-capecitabine-unit", "expect"]}))
def test_the_change_form_never_answers_500_and_a_tampered_confirmation_records_nothing(web, values):
    nurse = web.client("nurse")
    token = page_token(nurse, f"/patients/{STUDY}")
    before = state(web)
    form = {"cycle": "3", "reason": "odd values", **values, "csrf_token": token}
    preview = nurse.post(f"/patients/{STUDY}/change", data=form)
    assert preview.status_code in (200, 400), preview.status_code
    assert state(web) == before  # a preview writes nothing
    confirmed = nurse.post(f"/patients/{STUDY}/change/confirm", data={**form, "expect": values.get("expect", "")})
    assert confirmed.status_code in (400, 409), confirmed.status_code  # no fingerprint a person could guess
    assert state(web) == before


# -- authorization --------------------------------------------------------------------------------------


def test_a_viewer_with_a_valid_csrf_token_changes_nothing_anywhere(web):
    viewer = web.client("viewer")
    token = page_token(viewer, f"/patients/{STUDY}")
    before = state(web)
    for path in ("/patients/new", *(f"/patients/{STUDY}/{action}" for action in
                                    ("change", "change/confirm", "rotate", "rotate/confirm", "remove", "remove/confirm")),
                 "/chairs/book"):
        assert viewer.post(path, data={**ENROL, "cycle": "2", "delay_days": "7", "reason": "r", "month": "2026-12",
                                       "csrf_token": token}).status_code == 403, path
    for path in (f"/patients/{STUDY}/diary.pdf", f"/patients/{STUDY}/diary.html", f"/patients/{STUDY}/calendar.ics",
                 "/patients/new", "/chairs", "/chairs/suggest"):
        assert viewer.get(path).status_code == 403, path
    nurse = web.client("nurse")
    assert nurse.post("/chairs/book", data={"month": "2026-12", "plan": "", "csrf_token": page_token(nurse)}
                      ).status_code == 403
    assert state(web) == before


def _rotate(client, study: str = STUDY) -> str:
    token = page_token(client, f"/patients/{quote(study, safe='')}")
    made = client.post(f"/patients/{quote(study, safe='')}/rotate/confirm", data={"csrf_token": token})
    assert made.status_code == 200
    return made.get_data(as_text=True)


def _handout(page: str) -> str:
    return html.unescape(re.search(r"diary\.html\?handout=([^\"&]+)", page).group(1))


def _feed_token(page: str) -> str:
    return re.search(r"/feed/([A-Za-z0-9_-]{32,})\.ics", page).group(1)


def test_a_handout_prints_only_for_its_patient_and_its_member(web):
    web.roster.add(web.course_file("PIC-002"), by="setup")
    nurse = web.client("nurse")
    page = _rotate(nurse)
    handout, link = _handout(page), _feed_token(page)
    mine = nurse.get(f"/patients/{STUDY}/diary.html", query_string={"handout": handout})
    assert mine.status_code == 200 and link in mine.get_data(as_text=True)
    assert nurse.get("/patients/PIC-002/diary.html", query_string={"handout": handout}).status_code == 410
    assert web.client("coordinator").get(f"/patients/{STUDY}/diary.html",
                                         query_string={"handout": handout}).status_code == 410


def test_a_handout_whose_link_was_replaced_outside_the_page_prints_no_dead_qr_code(web):
    """A new link made with the command line (another process: this page's memory does not hear of
    it) voids the link held for printing: a diary with its QR code would subscribe to nothing."""
    from picture_schedule.roster.tokens import new_token

    nurse = web.client("nurse")
    handout = _handout(_rotate(nurse))
    web.roster.rotate(STUDY, by="nurse", token=new_token())  # as `picture-schedule roster rotate` does
    stale = nurse.get(f"/patients/{STUDY}/diary.html", query_string={"handout": handout})
    assert stale.status_code == 410 and "no longer held for printing" in stale.get_data(as_text=True)


def test_the_patient_page_dies_with_its_link_whatever_the_path(web):
    nurse = web.client("nurse")
    old = _feed_token(_rotate(nurse))
    anonymous = web.client()
    assert anonymous.get(f"/p/{old}").status_code == 200
    new = _feed_token(_rotate(nurse))
    unknown = anonymous.get("/feed/" + "A" * 43 + ".ics")

    def same(response) -> None:
        assert (response.status_code, response.data) == (404, unknown.data)
        assert sorted(response.headers.items()) == sorted(unknown.headers.items())

    for path in (f"/p/{old}", f"/p/{old}/diary.pdf", f"/p/{old}/", f"/p/{old}/x", f"/p/{old.upper()}",
                 "/p/" + "A" * 43, "/p/" + "A" * 5000, "/p/%00", "/p/"):
        same(anonymous.get(path))
    assert anonymous.get(f"/p/{new}").status_code == 200


# -- sessions --------------------------------------------------------------------------------------------


def test_a_session_cookie_copied_before_logout_no_longer_works_after_it(web):
    nurse = web.client("nurse")
    cookie = nurse.get_cookie("picture_session").value
    assert nurse.post("/logout", data={"csrf_token": page_token(nurse)}).status_code == 302
    copy = web.client()
    copy.set_cookie("picture_session", cookie)  # e.g. left in a shared workstation's browser profile
    assert copy.get("/patients").status_code == 302  # to the login page


def test_the_session_is_new_at_login(web):
    client = web.client()
    client.get("/login")
    planted = client.get_cookie("picture_session").value
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf(page)})
    after = client.get_cookie("picture_session")
    assert after.value != planted and after.http_only and after.same_site == "Lax"
    assert csrf(client.get("/patients").get_data(as_text=True)) != csrf(page)  # a CSRF token from before is dead


def test_argon2_uses_the_libraries_recommended_cost():
    from argon2 import PasswordHasher, profiles

    import picture_schedule.roster.staff as staff

    hasher = staff._hasher()
    assert isinstance(hasher, PasswordHasher)
    assert hasher.time_cost >= profiles.RFC_9106_LOW_MEMORY.time_cost
    assert hasher.memory_cost >= profiles.RFC_9106_LOW_MEMORY.memory_cost


# -- escaping --------------------------------------------------------------------------------------------


def test_markup_typed_anywhere_comes_back_as_text_on_every_page(web):
    study = '"><img src=x onerror=alert(1)>'
    reason = "</p><script>alert(2)</script>"
    coordinator = web.client("coordinator")
    token = page_token(coordinator, "/patients/new")
    path = f"/patients/{quote(study, safe='')}"
    pages = [coordinator.post("/patients/new", data={**ENROL, "patient": study, "csrf_token": token})]
    assert pages[0].status_code == 200
    preview = coordinator.post(f"{path}/change", data={"cycle": "2", "delay_days": "7", "reason": reason,
                                                       "csrf_token": token})
    pages.append(preview)
    recorded = coordinator.post(f"{path}/change/confirm",
                                data=hidden_fields(preview.get_data(as_text=True)))
    assert recorded.status_code == 302
    pages += [coordinator.get(recorded.headers["Location"]),  # the flash message and the history
              coordinator.post(f"{path}/change", data={"cycle": reason, "delay_days": reason, "hold_days": reason,
                                                       "omit": reason, "level-all": reason, reason: reason,
                                                       "csrf_token": token}),
              coordinator.get("/patients"), coordinator.get("/chairs"), coordinator.post(f"{path}/rotate", data={"csrf_token": token}),
              coordinator.post(f"{path}/rotate/confirm", data={"csrf_token": token}),
              coordinator.get("/chairs", query_string={"month": reason}),
              coordinator.get("/chairs/suggest", query_string={"regimen": reason, "earliest": reason, "count": reason}),
              coordinator.post("/patients/new", data={**{k: reason for k in ENROL}, "csrf_token": token}),
              web.client().get("/login", query_string={"next": reason})]
    removed = coordinator.post(f"{path}/remove/confirm", data={"csrf_token": token})
    pages += [coordinator.get(removed.headers["Location"]), coordinator.get("/patients?removed=1"), coordinator.get(path)]
    for answer in pages:
        body = answer.get_data(as_text=True)
        assert "<img src=x" not in body and "<script>alert" not in body, answer.request.path
        assert 'href="javascript' not in body.replace(" ", "")


def test_downloads_are_named_without_the_study_numbers_quotes_or_line_breaks(web):
    study = 'A"; x=\\y'  # a study number may hold quotes and backslashes
    nurse = web.client("nurse")
    enrolled = nurse.post("/patients/new", data={**ENROL, "patient": study, "csrf_token": page_token(nurse)})
    assert enrolled.status_code == 200
    for ending in ("diary.html", "calendar.ics"):
        answer = nurse.get(f"/patients/{quote(study, safe='')}/{ending}")
        assert answer.status_code == 200
        disposition = answer.headers["Content-Disposition"]
        assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"', disposition), disposition


# -- headers ---------------------------------------------------------------------------------------------


def test_no_store_on_every_private_answer_and_the_csp_on_every_error(web, monkeypatch):
    nurse = web.client("nurse")
    link = _feed_token(_rotate(nurse))
    private = [nurse.get(path) for path in ("/patients", f"/patients/{STUDY}", f"/patients/{STUDY}/diary.html",
                                            f"/patients/{STUDY}/calendar.ics", "/patients/new")]
    private += [web.client("coordinator").get("/chairs"), web.client().get(f"/p/{link}")]
    errors = [web.client("viewer").get("/chairs"), nurse.get("/nowhere"), nurse.get("/logout"),
              nurse.post("/logout"), web.client("coordinator").get("/chairs?month=x")]
    import picture_schedule.web.patients as patients

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(patients, "patient_rows", broken, raising=False)
    monkeypatch.setattr("picture_schedule.roster.listing.patient_rows", broken)
    errors.append(nurse.get("/patients"))
    assert [e.status_code for e in errors] == [403, 404, 405, 400, 400, 500]
    for answer in private + errors:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path
        csp = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "boom" not in errors[-1].get_data(as_text=True)


# -- two people at once ----------------------------------------------------------------------------------


def _at_once(*calls):
    """Run ``calls`` in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_nurses_confirming_changes_at_once_record_one_and_show_the_other_again(web):
    nurses = [web.client("nurse"), web.client("coordinator")]
    forms = []
    for client, delay in zip(nurses, ("7", "3")):
        token = page_token(client, f"/patients/{STUDY}")
        preview = client.post(f"/patients/{STUDY}/change", data={"cycle": "3", "delay_days": delay, "reason": "r",
                                                                 "csrf_token": token})
        forms.append(hidden_fields(preview.get_data(as_text=True)))
    changes = len(web.roster.course(STUDY).changes)
    answers = _at_once(*(lambda c=c, f=f: c.post(f"/patients/{STUDY}/change/confirm", data=f)
                         for c, f in zip(nurses, forms)))
    assert sorted(a.status_code for a in answers) == [302, 409]
    assert len(web.roster.course(STUDY).changes) == changes + 1
    refused = next(a for a in answers if a.status_code == 409)
    assert "The schedule changed since the preview" in refused.get_data(as_text=True)


def test_the_same_study_number_enrolled_twice_at_once_is_one_patient(web):
    nurses = [web.client("nurse"), web.client("coordinator")]
    tokens = [page_token(client, "/patients/new") for client in nurses]
    answers = _at_once(*(lambda c=c, t=t: c.post("/patients/new", data={**ENROL, "csrf_token": t})
                         for c, t in zip(nurses, tokens)))
    assert sorted(a.status_code for a in answers) == [200, 400]
    refused = next(a for a in answers if a.status_code == 400)
    assert "is already on the roster" in html.unescape(refused.get_data(as_text=True))
    assert [p.patient for p in web.roster.patients()].count("PIC-002") == 1
