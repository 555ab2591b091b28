"""The staff pages with a full roster (issue 13): each figure a median measured in this run, beside its target.

    python bench/bench_web.py            (or: make bench)

A roster of BENCH_PATIENTS patients (default 500: the example course, no changes, starts spread
over 40 weeks, enrolled from text), one nurse, the web application in-process (Flask's test client
sees exactly what waitress serves, minus the socket). Logged in as the nurse, each page is asked
BENCH_REQUESTS times (default 30) after two warm-up requests:

- ``/patients``: the whole list (every patient, from the stored schedule briefs: one query; the
  course texts' heads and the briefs are parsed once per version and kept in memory, so the first
  request, shown apart, parses all 500);
- ``/patients/<study>``: one patient's page (one schedule expanded, the history, the forms);
- ``/patients/<study>/diary.pdf`` for a diary that has not changed: answered from the roster's
  diary cache (kept by schedule fingerprint); the first request, which prints it, is shown apart.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "examples"

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "500"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
PAGE_TARGET_MS = 100.0  # issue 13: "/patients and a patient page under 100 ms at the median"
KEPT_DIARY_TARGET_MS = 100.0  # an unchanged diary answers like a page: from the cache, never printed
NOW = dt.datetime(2027, 1, 15, 2, 0, tzinfo=dt.UTC)  # mid-course for most patients
PASSWORD = "bench password, not secret"


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def course_text(template: str, study: str, start: dt.date) -> str:
    text = template.split("[[changes]]")[0].replace('patient = "PIC-001"', f'patient = "{study}"')
    return text.replace("start = 2026-12-07", f"start = {start.isoformat()}")


def build(folder: Path) -> tuple[Any, Any, float]:
    """The roster (PATIENTS enrolled) and the app; the seconds enrolment took."""
    from picture_schedule.roster.staff import add_staff
    from picture_schedule.roster.store import Roster
    from picture_schedule.web.app import WebSettings, create_app

    for name in ("course-example.toml", "site-nanjing.toml"):
        shutil.copy(EXAMPLES / name, folder / name)
    template = (folder / "course-example.toml").read_text(encoding="utf-8")
    roster = Roster(folder / "roster.sqlite3", clock=lambda: NOW)
    first = dt.date(2026, 6, 1)  # a Monday; then one start every weekday over 40 weeks
    # Setting up only: no sync to disk at each enrolment (a throw-away roster; the pages only read)
    roster._conn().execute("PRAGMA synchronous = OFF")
    began = time.perf_counter()
    for i in range(PATIENTS):
        week, day = divmod(i % 200, 5)
        start = first + dt.timedelta(weeks=week, days=day)
        study = f"PIC-{i + 1:04d}"
        roster.add(folder / f"{study}.toml", text=course_text(template, study, start), by="bench")
    enrolled = time.perf_counter() - began
    roster._conn().execute("PRAGMA synchronous = FULL")  # as served
    add_staff(roster, "nurse", "nurse", PASSWORD)
    app = create_app(roster, WebSettings(site=str(folder / "site-nanjing.toml"), access_log=False,
                                         clock=lambda: NOW, secret_key=b"bench" * 8))
    return roster, app, enrolled


def logged_in(app: Any) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the login page"
    token = found.group(1)
    answer = client.post("/login", data={"username": "nurse", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.status_code
    return client


def timed(client: Any, path: str, runs: int, warm: int = 2) -> tuple[list[float], int]:
    """Milliseconds of each request (after ``warm`` untimed ones) and the last body's size."""
    size = 0
    for _ in range(warm):
        client.get(path)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
        size = len(answer.data)
    return times, size


def line(label: str, times: list[float], target: float, size: int) -> None:
    median = statistics.median(times)
    p90 = sorted(times)[int(len(times) * 0.9) - 1]
    print(f"  {label:<30} median {median:6.1f} ms  p90 {p90:6.1f} ms  ({size / 1024:5.0f} kB)  "
          f"target < {target:g} ms: {verdict(median < target)}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as name:
        folder = Path(name)
        roster, app, enrolled = build(folder)
        try:
            print(f"staff pages with {PATIENTS} patients (in-process test client, median of {REQUESTS} requests)")
            print(f"  setting up: enrolment without disk syncs {enrolled:5.1f} s ({enrolled / PATIENTS * 1000:.0f} ms a patient)")
            client = logged_in(app)
            began = time.perf_counter()
            assert client.get("/patients").status_code == 200
            cold = (time.perf_counter() - began) * 1000
            print(f"  /patients, first request         {cold:7.1f} ms  (every course text and brief parsed; "
                  "later requests parse only what changed)")
            times, size = timed(client, "/patients", REQUESTS)
            line("/patients (the whole list)", times, PAGE_TARGET_MS, size)
            times, size = timed(client, "/patients?q=PIC-02", REQUESTS)
            line("/patients?q=PIC-02 (a search)", times, PAGE_TARGET_MS, size)
            study = f"PIC-{PATIENTS // 2:04d}"
            times, size = timed(client, f"/patients/{study}", REQUESTS)
            line(f"/patients/{study}", times, PAGE_TARGET_MS, size)
            began = time.perf_counter()
            first = client.get(f"/patients/{study}/diary.pdf")
            printed = (time.perf_counter() - began) * 1000
            assert first.status_code == 200 and first.data.startswith(b"%PDF-")
            times, size = timed(client, f"/patients/{study}/diary.pdf", REQUESTS, warm=0)
            print(f"  diary.pdf, first request (printed) {printed / 1000:6.2f} s")
            line("diary.pdf, unchanged (kept)", times, KEPT_DIARY_TARGET_MS, size)
        finally:
            roster.close()


if __name__ == "__main__":
    main()
