"""The web page's demo (scripts/web_demo.py, run by `make demo`): the example cohort on a roster, one
account per role with a printed random password, and a command that serves it."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.web_support import fast_hashing  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
NOW = dt.datetime(2027, 2, 15, 1, 30, tzinfo=dt.UTC)


def _demo_module():
    spec = importlib.util.spec_from_file_location("web_demo", ROOT / "scripts" / "web_demo.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["web_demo"] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def web_demo():
    return _demo_module()


def test_the_demo_roster_holds_the_cohort_and_one_account_per_role(tmp_path, fast_hashing, web_demo):
    from picture_schedule.roster.staff import authenticate, members
    from picture_schedule.roster.store import Roster

    demo = web_demo.build(tmp_path, clock=lambda: NOW)
    assert demo.roster == tmp_path / "roster.sqlite3" and demo.site.is_file()
    roster = Roster(demo.roster, clock=lambda: NOW, create=False)
    try:
        patients = {p.patient: p for p in roster.patients()}
        # the 23 rows of examples/cohort-23.csv, PIC-001 from the example course file
        assert sorted(patients) == [f"PIC-{n:03d}" for n in range(1, 24)]
        example = (ROOT / "examples" / "course-example.toml").read_text(encoding="utf-8")
        assert roster.course_text("PIC-001") == example
        assert roster.course("PIC-002").start == dt.date(2026, 12, 10)
        assert roster.course("PIC-023").start == dt.date(2027, 6, 22)
        # the cohort's delays (PIC-004 3:7, PIC-007 2:7;4:7, PIC-011 4:14) recorded as changes by "demo"
        delays = {p: [(c.cycle, c.delay_days, c.by) for c in roster.course(p).changes]
                  for p in ("PIC-004", "PIC-007", "PIC-011", "PIC-002")}
        assert delays == {"PIC-004": [(3, 7, "demo")], "PIC-007": [(2, 7, "demo"), (4, 7, "demo")],
                          "PIC-011": [(4, 14, "demo")], "PIC-002": []}
        assert {roster.course(p).language for p in patients} == {"en", "zh-CN"}  # both languages shown
        assert all(roster.course(p).body is not None for p in patients)  # doses print in mg
        assert {(m.username, m.role) for m in members(roster)} == {
            ("viewer", "viewer"), ("nurse", "nurse"), ("coordinator", "coordinator")}
        for username, password in demo.passwords.items():
            assert len(password) >= 12
            member = authenticate(roster, username, password, "127.0.0.1")
            assert member is not None and member.username == username
        assert len(set(demo.passwords.values())) == 3
    finally:
        roster.close()

    printed = web_demo.report(demo)
    for username, password in demo.passwords.items():
        assert re.search(rf"^\s+{username}\s+{re.escape(password)}\s", printed, re.M), printed
    assert set(demo.tokens) == {"PIC-001", "PIC-002"}
    for token in demo.tokens.values():
        assert f"http://127.0.0.1:8080/p/{token}" in printed
    command = printed.strip().splitlines()[-1].strip()
    assert shlex.split(command)[1:] == ["web", "--db", web_demo._shown(demo.roster), "--site",
                                        web_demo._shown(demo.site), "--port", "8080",
                                        "--base-url", "http://127.0.0.1:8080"]


def test_building_the_demo_again_replaces_its_roster_and_passwords_and_nothing_else(tmp_path, fast_hashing,
                                                                                     web_demo):
    from picture_schedule.roster.staff import authenticate
    from picture_schedule.roster.store import Roster

    keep = tmp_path / "notes.txt"
    keep.write_text("mine", encoding="utf-8")
    first = web_demo.build(tmp_path, clock=lambda: NOW)
    second = web_demo.build(tmp_path, clock=lambda: NOW)  # no "already on the roster" error
    assert keep.read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "roster.sqlite3", "site-nanjing.toml"]
    roster = Roster(second.roster, clock=lambda: NOW, create=False)
    try:
        assert len(roster.patients()) == 23
        assert authenticate(roster, "nurse", first.passwords["nurse"], "127.0.0.1") is None
        assert authenticate(roster, "nurse", second.passwords["nurse"], "127.0.0.1") is not None
    finally:
        roster.close()


def test_the_printed_command_serves_the_demo(tmp_path):
    """`python scripts/web_demo.py --out DIR` as `make demo` runs it, then the command it prints (on a
    free port): the login page answers, and a demo patient's page link is served."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "web_demo.py"), "--out", str(tmp_path / "web")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    command = shlex.split(done.stdout.strip().splitlines()[-1])
    assert command[0] == str(ROOT / ".venv" / "bin" / "picture-schedule") or command[0].endswith("picture-schedule")
    argv = [sys.executable, "-m", "picture_schedule", *command[1:]]
    argv[argv.index("--port") + 1] = "0"
    server = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                              start_new_session=True)
    try:
        assert server.stderr is not None
        address = None
        for _ in range(50):
            line = server.stderr.readline()
            found = re.search(r"web page on (http://127\.0\.0\.1:\d+)/", line)
            if found:
                address = found.group(1)
                break
        assert address, "the server did not say where it listens"
        with urllib.request.urlopen(f"{address}/login", timeout=10) as response:
            assert response.status == 200
            assert b'name="password"' in response.read()
        page = re.search(r"/p/([A-Za-z0-9_-]+)$", done.stdout, re.M)
        assert page
        with urllib.request.urlopen(f"{address}/feed/{page.group(1)}.ics", timeout=10) as response:
            assert response.read().startswith(b"BEGIN:VCALENDAR")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
