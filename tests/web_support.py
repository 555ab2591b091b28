"""Helpers for the web page's tests: a roster with patients and one account per role, logged-in
test clients, CSRF tokens. Import the fixtures you need into a test module::

    from tests.web_support import web, fast_hashing  # noqa: F401  (fixtures)
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
PASSWORD = "correct horse battery"  # every test account's
ROLES = ("viewer", "nurse", "coordinator")
#: "Now" for the web tests: before the example course starts (2026-12-07), after it was set up.
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=False)
def fast_hashing(monkeypatch):
    """Argon2 with the smallest cost: the same code path, milliseconds per login instead of ~0.1 s."""
    from argon2 import PasswordHasher

    import picture_schedule.roster.staff as staff

    monkeypatch.setattr(staff, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def csrf(page: str) -> str:
    """The CSRF token of the first form on ``page`` (HTML text)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Clock:
    """A settable clock (aware UTC datetimes) for the roster and the pages."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Web:
    """A roster in a temporary folder (the example course enrolled as PIC-001), one account per role,
    and the Flask app over it."""

    folder: Path
    roster: Any
    app: Any
    clock: Clock
    site: Path

    def client(self, role: str | None = None) -> Any:
        """A test client, logged in as the account named after ``role`` (None: not logged in)."""
        client = self.app.test_client()
        if role is not None:
            login(client, role)
        return client

    def course_file(self, patient: str, start: str = "2026-12-07", **body: Any) -> Path:
        """A course file for ``patient`` beside the site file (from the example, no changes)."""
        text = (EXAMPLES / "course-example.toml").read_text(encoding="utf-8")
        text = text.split("[[changes]]")[0].replace('patient = "PIC-001"', f'patient = "{patient}"')
        text = text.replace("start = 2026-12-07", f"start = {start}")
        path = self.folder / f"{patient.replace('/', '_')}.toml"
        path.write_text(text, encoding="utf-8")
        return path


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def make_web(folder: Path, *, enrol: bool = True, settings: dict[str, Any] | None = None) -> Web:
    from picture_schedule.roster.staff import add_staff
    from picture_schedule.roster.store import Roster
    from picture_schedule.web.app import WebSettings, create_app

    for name in ("course-example.toml", "site-nanjing.toml"):
        shutil.copy(EXAMPLES / name, folder / name)
    clock = Clock()
    roster = Roster(folder / "roster.sqlite3", clock=clock)
    if enrol:
        roster.add(folder / "course-example.toml", by="setup")
    for role in ROLES:
        add_staff(roster, role, role, PASSWORD)
    chosen: dict[str, Any] = {"site": str(folder / "site-nanjing.toml"), "access_log": False, "clock": clock,
                              "secret_key": b"test" * 8, **(settings or {})}  # ``settings`` may override any
    app = create_app(roster, WebSettings(**chosen))
    app.config["TESTING"] = True
    return Web(folder, roster, app, clock, folder / "site-nanjing.toml")


@pytest.fixture
def web(tmp_path, fast_hashing):
    made = make_web(tmp_path)
    yield made
    made.roster.close()
