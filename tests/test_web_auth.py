"""The web page's doors: logins, sessions, roles, CSRF, throttling, headers (issue 13)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.web_support import PASSWORD, csrf, fast_hashing, login, make_web, web  # noqa: F401  (fixtures)


def _post_login(client, username: str, password: str):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(page)})


def test_pages_need_a_login_and_keep_where_you_were_going(web):
    client = web.client()
    response = client.get("/patients?q=PIC")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    answer = client.post(response.headers["Location"],
                         data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf(login_page)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/patients?q=PIC"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_a_login_never_sends_you_to_another_site(web, target):
    client = web.client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", query_string={"next": target},
                         data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf(page)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/patients"


def test_wrong_password_and_unknown_user_get_the_same_answer(web):
    client = web.client()
    wrong = _post_login(client, "nurse", "not the password")
    unknown = _post_login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong user name or password." in wrong.get_data(as_text=True)
    assert wrong.get_data(as_text=True).replace("nurse", "nobody") == unknown.get_data(as_text=True)
    assert client.get("/patients").status_code == 302  # still not logged in


def test_the_login_form_needs_its_csrf_token(web):
    client = web.client()
    client.get("/login")
    response = client.post("/login", data={"username": "nurse", "password": PASSWORD})
    assert response.status_code == 400
    assert "form had expired" in response.get_data(as_text=True)


def test_logout_is_a_post_with_csrf_and_ends_the_session(web):
    client = web.client("nurse")
    page = client.get("/nowhere").get_data(as_text=True)  # any page with the layout
    assert client.get("/logout").status_code == 405  # a link cannot log anyone out
    assert client.post("/logout").status_code == 400  # nor a form from elsewhere
    assert client.post("/logout", data={"csrf_token": csrf(page)}).status_code == 302
    assert client.get("/patients").status_code == 302


def test_throttling_after_five_failures_even_with_the_right_password(web):
    client = web.client()
    for _ in range(5):
        assert _post_login(client, "nurse", "wrong password!").status_code == 401
    blocked = _post_login(client, "nurse", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.get_data(as_text=True)
    # another account is not locked by the failures of this one
    assert _post_login(web.client(), "viewer", PASSWORD).status_code == 302
    web.clock.advance(minutes=16)  # the failures age out
    assert _post_login(client, "nurse", PASSWORD).status_code == 302


def test_throttling_by_address_whatever_the_names(web):
    client = web.client()
    for n in range(20):
        _post_login(client, f"guess{n}", "wrong password!")
    assert _post_login(client, "coordinator", PASSWORD).status_code == 429


def test_a_success_clears_the_count(web):
    client = web.client()
    for _ in range(4):
        _post_login(client, "nurse", "wrong password!")
    assert _post_login(client, "nurse", PASSWORD).status_code == 302
    other = web.client()
    for _ in range(4):
        assert _post_login(other, "nurse", "wrong password!").status_code == 401
    assert _post_login(other, "nurse", PASSWORD).status_code == 302


def test_session_ends_after_inactivity_but_not_while_in_use(web):
    client = web.client("nurse")
    for _ in range(3):  # 3 × 20 min, each within the 30-minute limit
        web.clock.advance(minutes=20)
        assert client.get("/patients").status_code == 200
    web.clock.advance(minutes=31)
    response = client.get("/patients")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "session ended" in page


def test_disabling_an_account_or_changing_its_password_ends_its_sessions(web):
    from picture_schedule.roster.staff import disable, set_password

    nurse, viewer = web.client("nurse"), web.client("viewer")
    disable(web.roster, "nurse")
    assert nurse.get("/patients").status_code == 302
    assert _post_login(web.client(), "nurse", PASSWORD).status_code == 401  # cannot log in again
    set_password(web.roster, "viewer", "another password")
    assert viewer.get("/patients").status_code == 302
    assert _post_login(web.client(), "viewer", "another password").status_code == 302
    set_password(web.roster, "nurse", "nurse is back again")  # enabled again with the new password
    assert _post_login(web.client(), "nurse", "nurse is back again").status_code == 302


def test_cookie_flags_and_secure_only_behind_a_trusted_https_proxy(tmp_path, fast_hashing):
    (tmp_path / "a").mkdir()
    plain = make_web(tmp_path / "a")
    cookie = login(plain.app.test_client(), "nurse").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    # an untrusted X-Forwarded-Proto changes nothing
    client = plain.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", headers={"X-Forwarded-Proto": "https"},
                         data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf(page)})
    assert "Secure" not in answer.headers["Set-Cookie"]
    (tmp_path / "b").mkdir()
    proxied = make_web(tmp_path / "b", settings={"trusted_proxy": 1})
    client = proxied.app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "unit.example.org", "X-Forwarded-For": "10.1.2.3"}
    page = client.get("/login", headers=headers, base_url="https://unit.example.org").get_data(as_text=True)
    answer = client.post("/login", headers={**headers, "Referer": "https://unit.example.org/login"},
                         base_url="https://unit.example.org", data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf(page)})
    assert answer.status_code == 302
    assert "Secure" in answer.headers["Set-Cookie"]
    plain.roster.close()
    proxied.roster.close()


def test_throttling_counts_the_proxied_address_only_when_trusted(tmp_path, fast_hashing):
    made = make_web(tmp_path, settings={"trusted_proxy": 1})
    for n in range(20):
        _post_login(made.app.test_client(), f"guess{n}", "x" * 12)  # no X-Forwarded-For: the peer's address
    with sqlite3.connect(tmp_path / "roster.sqlite3") as conn:
        addresses = {row[0] for row in conn.execute("SELECT address FROM login_failures")}
    assert addresses == {"127.0.0.1"}
    client = made.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    other = client.post("/login", headers={"X-Forwarded-For": "10.9.9.9"},
                        data={"username": "nurse", "password": PASSWORD, "csrf_token": csrf(page)})
    assert other.status_code == 302  # another address behind the proxy is not locked out
    made.roster.close()


@pytest.mark.parametrize("path", ["/login", "/patients", "/nowhere", "/healthz", "/feed/unknownunknownunknownunknown.ics",
                                  "/static/web.css", "/p/unknownunknownunknownunknown"])
def test_security_headers_on_every_response(web, path):
    response = web.client("nurse").get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    expected = "no-referrer" if path.startswith(("/p/", "/feed/")) else "same-origin"
    assert response.headers["Referrer-Policy"] == expected


def test_staff_pages_are_not_stored_by_browsers_or_proxies(web):
    client = web.client("nurse")
    assert client.get("/patients").headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_the_feed_routes_answer_through_the_web_app(web):
    from picture_schedule.roster.tokens import new_token

    token = new_token()
    web.roster.add(web.course_file("PIC-777"), by="setup", token=token)
    response = web.client().get(f"/feed/{token}.ics")
    assert response.status_code == 200 and response.data.startswith(b"BEGIN:VCALENDAR")
    assert web.client().get("/healthz").data == b"ok\n"


def test_no_inline_script_or_style_in_any_template():
    """The CSP forbids inline script and style attributes: no template may rely on them."""
    import re

    from picture_schedule.resources import templates_dir

    for page in (templates_dir() / "web").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"{page.name}: inline <script>"
        assert not re.search(r"\sstyle=", text), f"{page.name}: inline style attribute"
        assert not re.search(r"\son[a-z]+=", text), f"{page.name}: inline event handler"
        assert "|safe" not in text.replace(" ", ""), f"{page.name}: |safe turns autoescaping off"


def test_language_is_chosen_per_member(web):
    client = web.client("nurse")
    page = client.get("/nowhere").get_data(as_text=True)  # any page with the layout
    assert client.post("/language", data={"language": "zh-CN", "next": "/patients",
                                          "csrf_token": csrf(page)}).status_code == 302
    assert "退出登录" in client.get("/nowhere").get_data(as_text=True)
    assert "Log out" in web.client("viewer").get("/nowhere").get_data(as_text=True)  # others keep theirs
    assert client.post("/language", data={"language": "fr", "csrf_token": csrf(page)}).status_code == 302
    assert "退出登录" in client.get("/nowhere").get_data(as_text=True)  # an unknown language changes nothing


def test_login_page_language_from_the_link_or_the_browser(web):
    assert "用户名" in web.client().get("/login?lang=zh-CN").get_data(as_text=True)
    assert "用户名" in web.client().get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "User name" in web.client().get("/login").get_data(as_text=True)


def test_passwords_are_stored_as_argon2_hashes_only(web):
    with sqlite3.connect(web.folder / "roster.sqlite3") as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM staff")]
        dump = "\n".join(conn.iterdump())
    assert len(hashes) == 3 and all(h.startswith("$argon2id$") for h in hashes)
    assert PASSWORD not in dump


def test_roles_are_ordered(web):
    from picture_schedule.roster.staff import member

    viewer, nurse, coordinator = (member(web.roster, name) for name in ("viewer", "nurse", "coordinator"))
    assert viewer.may("viewer") and not viewer.may("nurse")
    assert nurse.may("nurse") and not nurse.may("coordinator")
    assert coordinator.may("viewer") and coordinator.may("nurse") and coordinator.may("coordinator")


def test_every_page_route_declares_its_role(web):
    """Every view but the login, the patient's page, static files and errors needs a login."""
    open_views = {"auth.login", "auth.logout", "static", "patients.root"}
    for rule in web.app.url_map.iter_rules():
        if rule.endpoint in open_views or rule.endpoint.startswith("patient_page."):
            continue
        view = web.app.view_functions[rule.endpoint]
        assert getattr(view, "required_role", None) in ("viewer", "nurse", "coordinator"), rule.rule


def test_session_cookie_cannot_be_forged(web):
    client = web.app.test_client()
    client.set_cookie("picture_session", "eyJtZW1iZXIiOjF9.forged.signature", domain="localhost")
    assert client.get("/patients").status_code == 302


def test_parallel_guesses_cannot_pass_the_limit(web, monkeypatch):
    """Each attempt is counted before its password is checked, in the transaction that counts: 20
    guesses at once check at most 5 passwords; the others are refused unchecked."""
    import threading

    import picture_schedule.roster.staff as staff

    checked: list[int] = []
    fast = staff._hasher

    class Counting:
        def __init__(self) -> None:
            self.inner = fast()

        def verify(self, hashed: str, password: str) -> bool:
            checked.append(1)
            return self.inner.verify(hashed, password)

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

    monkeypatch.setattr(staff, "_hasher", Counting)
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        start.wait()
        try:
            outcomes.append("none" if staff.authenticate(web.roster, "nurse", f"guess number {n}", "10.0.0.9") is None
                            else "admitted")
        except staff.Throttled:
            outcomes.append("throttled")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == staff.MAX_FAILURES
    assert sorted(outcomes) == ["none"] * 5 + ["throttled"] * 15
