"""`picture-schedule web` as it runs for real: a process, waitress, a socket on 127.0.0.1 (issue 13).

The Flask test client skips waitress; these tests do not: waitress decides which proxy headers reach
the application, and only the real server shows whether ``--trusted-proxy`` works behind nginx.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import ROOT
from tests.web_support import PASSWORD

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def roster_file(tmp_path_factory) -> Path:
    from picture_schedule.roster.staff import add_staff
    from picture_schedule.roster.store import Roster
    from picture_schedule.roster.tokens import new_token

    folder = tmp_path_factory.mktemp("served")
    for name in ("course-example.toml", "site-nanjing.toml"):
        shutil.copy(ROOT / "examples" / name, folder / name)
    token = new_token()
    with Roster(folder / "roster.sqlite3") as roster:
        roster.add(folder / "course-example.toml", by="setup", token=token)
        add_staff(roster, "nurse", "nurse", PASSWORD)
    (folder / "token").write_text(token)
    return folder / "roster.sqlite3"


class WebProcess:
    def __init__(self, db: Path, *options: str) -> None:
        self.log = db.with_name(f"web-{time.monotonic_ns()}.log")
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "picture_schedule", "web", "--db", str(db), "--port", "0", *options],
            stdout=subprocess.DEVNULL, stderr=self._log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"web page on http://127\.0\.0\.1:(\d+)/", self.log.read_text())
            if found:
                self.port = int(found.group(1))
                return
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError("the web page did not start: " + self.log.read_text())

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        self._log.close()
        return code


def _login(server: WebProcess, forwarded: dict[str, str]):
    response, page = server.request("GET", "/login", headers=forwarded)
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    body = urlencode({"csrf_token": token, "username": "nurse", "password": PASSWORD})
    headers = {**forwarded, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    if forwarded.get("X-Forwarded-Proto") == "https":
        headers["Referer"] = f"https://{forwarded['X-Forwarded-Host']}/login"
    return server.request("POST", "/login", headers=headers, body=body)


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "unit.example.org", "X-Forwarded-For": "10.1.2.3"}


def test_behind_a_trusted_proxy_the_session_cookie_is_secure(roster_file):
    server = WebProcess(roster_file, "--trusted-proxy", "1", "--no-access-log")
    try:
        response, _ = _login(server, FORWARDED)
        assert response.status == 302
        assert "Secure" in response.getheader("Set-Cookie")
        assert response.getheader("Location") == "/patients"
    finally:
        assert server.stop() == 0


def test_without_trust_forwarded_headers_change_nothing(roster_file):
    server = WebProcess(roster_file, "--no-access-log")
    try:
        response, _ = _login(server, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "unit.example.org",
                                      "X-Forwarded-For": "10.1.2.3"})
        # not believed: the request stays plain HTTP, so the cookie is not Secure (and the login works)
        assert response.status == 302
        assert "Secure" not in response.getheader("Set-Cookie")
    finally:
        assert server.stop() == 0


def test_one_process_serves_pages_feeds_and_health_and_logs_no_token(roster_file):
    token = roster_file.with_name("token").read_text()
    server = WebProcess(roster_file)
    try:
        assert server.request("GET", "/healthz")[1] == b"ok\n"
        feed, body = server.request("GET", f"/feed/{token}.ics")
        assert feed.status == 200 and body.startswith(b"BEGIN:VCALENDAR")
        page, _ = server.request("GET", f"/p/{token}")
        assert page.status == 200 and page.getheader("Referrer-Policy") == "no-referrer"
        login, _ = server.request("GET", "/login")
        assert "default-src 'none'" in login.getheader("Content-Security-Policy")
    finally:
        assert server.stop() == 0
    log = server.log.read_text()
    assert "GET /p/" in log and "/feed/<redacted" in log
    assert token not in log


def test_it_listens_on_127_0_0_1_only_by_default(roster_file):
    server = WebProcess(roster_file, "--no-access-log")
    try:
        assert "http://127.0.0.1:" in server.log.read_text()
    finally:
        assert server.stop() == 0
