"""The feed server over real HTTP on 127.0.0.1: `picture-schedule serve` as a subprocess (and
waitress in a thread for the failure paths), checked against `picture-schedule ics`."""

from __future__ import annotations

import http.client
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest

from picture_schedule.roster.store import Roster
from tests.conftest import ROOT

BIN = Path(sys.executable).parent
CLI = str(BIN / "picture-schedule")
EXAMPLES = ROOT / "examples"


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([CLI, *args], capture_output=True, cwd=ROOT)
    if check:
        assert done.returncode == 0, done.stderr.decode()
    return done


class Server:
    """`picture-schedule serve` on a free loopback port, its log in a file."""

    def __init__(self, db: Path, log: Path, *extra: str) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.proc = subprocess.Popen([CLI, "serve", "--db", str(db), "--port", "0", *extra], stdout=self.handle,
                                     stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"on http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
            if found:
                self.port = int(found[1])
                return
            assert self.proc.poll() is None, log.read_text()
            time.sleep(0.05)
        raise AssertionError(f"server did not start: {log.read_text()}")

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        conn.close()
        return response

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.handle.close()


@pytest.fixture(scope="module")
def roster(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("roster")
    courses = folder / "courses"
    courses.mkdir()
    shutil.copy(EXAMPLES / "site-nanjing.toml", courses)
    text = (EXAMPLES / "course-example.toml").read_text(encoding="utf-8")
    db = folder / "roster.sqlite3"
    tokens: dict[str, str] = {}
    with Roster(db) as store:
        for number in range(1, 8):
            patient = f"PIC-{number:03d}"
            course = courses / f"{patient}.toml"
            course.write_text(text.replace('"PIC-001"', f'"{patient}"'), encoding="utf-8")
            tokens[patient] = store.add(course, by="nurse Li").token
    server = Server(db, folder / "serve.log")
    yield {"db": db, "courses": courses, "tokens": tokens, "server": server, "issued": set(tokens.values())}
    server.stop()
    log = server.log.read_text(errors="replace")
    for token in [*tokens.values()]:
        assert token not in log


@pytest.fixture(scope="module")
def server(roster) -> Server:
    return roster["server"]


def feed_path(token: str) -> str:
    return f"/feed/{token}.ics"


def headers_of(response: http.client.HTTPResponse) -> dict[str, str]:
    return {k.lower(): v for k, v in response.getheaders() if k.lower() != "date"}


def sequences(body: bytes) -> dict[str, int]:
    from icalendar import Calendar

    return {str(e["UID"]): int(e.get("SEQUENCE", 0)) for e in Calendar.from_ical(body).walk("VEVENT")}


# -- the feed -------------------------------------------------------------------------------------


def test_the_feed_equals_picture_schedule_ics_for_the_same_course(roster, server):
    response = server.request("GET", feed_path(roster["tokens"]["PIC-001"]))
    assert response.status == 200
    expected = run_cli("ics", "--course", str(roster["courses"] / "PIC-001.toml")).stdout
    assert response.body == expected
    assert response.body.startswith(b"BEGIN:VCALENDAR\r\n")


def test_feed_headers(roster, server):
    response = server.request("GET", feed_path(roster["tokens"]["PIC-001"]))
    h = headers_of(response)
    assert h["content-type"] == "text/calendar; charset=utf-8"
    assert int(h["content-length"]) == len(response.body)
    assert re.fullmatch(r'"[0-9a-f]{32}"', h["etag"])  # strong (no W/)
    assert h["cache-control"] == "private, max-age=43200"  # the site's refresh_hours = 12
    assert parsedate_to_datetime(h["last-modified"]).tzinfo is not None
    assert "content-disposition" not in h
    assert "set-cookie" not in h


def test_head_has_the_headers_and_no_body(roster, server):
    path = feed_path(roster["tokens"]["PIC-001"])
    get, head = server.request("GET", path), server.request("HEAD", path)
    assert head.status == 200 and head.body == b""
    assert headers_of(head) == headers_of(get)


def test_conditional_requests_get_304(roster, server):
    path = feed_path(roster["tokens"]["PIC-001"])
    first = server.request("GET", path)
    etag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
    later = format_datetime(parsedate_to_datetime(modified).replace(year=2099), usegmt=True)
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"nope", {etag}'}, {"If-None-Match": f"W/{etag}"},
                    {"If-None-Match": "*"}, {"If-Modified-Since": modified}, {"If-Modified-Since": later}):
        response = server.request("GET", path, headers)
        assert response.status == 304, headers
        assert response.body == b""
        assert response.getheader("ETag") == etag
        assert response.getheader("Cache-Control") == "private, max-age=43200"
    for headers in ({"If-None-Match": '"other"'}, {"If-Modified-Since": earlier}, {"If-Modified-Since": "garbage"},
                    {"If-None-Match": '"other"', "If-Modified-Since": later}):  # If-None-Match wins
        response = server.request("GET", path, headers)
        assert response.status == 200, headers
        assert response.body == first.body
    assert server.request("HEAD", path, {"If-None-Match": etag}).status == 304


def test_a_change_bumps_sequence_etag_and_last_modified(roster, server, tmp_path):
    token = roster["tokens"]["PIC-002"]
    before = server.request("GET", feed_path(token))
    run_cli("roster", "change", "PIC-002", "--db", str(roster["db"]), "--cycle", "5", "--delay-days", "7",
            "--reason", "family wedding", "--by", "nurse Li")
    after = server.request("GET", feed_path(token))
    assert after.getheader("ETag") != before.getheader("ETag")
    assert parsedate_to_datetime(after.getheader("Last-Modified")) > parsedate_to_datetime(
        before.getheader("Last-Modified"))
    old, new = sequences(before.body), sequences(after.body)
    assert old.keys() == new.keys()  # same events updated, none duplicated
    raised = [uid for uid in old if new[uid] > old[uid]]
    assert raised and all(new[uid] >= old[uid] for uid in old)
    assert server.request("GET", feed_path(token), {"If-None-Match": before.getheader("ETag")}).status == 200
    # and it is still exactly what `ics` writes for the exported course
    exported = roster["courses"] / "PIC-002-exported.toml"
    run_cli("roster", "export", "PIC-002", "--db", str(roster["db"]), "-o", str(exported))
    assert after.body == run_cli("ics", "--course", str(exported)).stdout


# -- what is not served ---------------------------------------------------------------------------


def test_unknown_rotated_and_removed_tokens_look_like_any_missing_path(roster, server):
    nothing = server.request("GET", "/no/such/path")
    assert nothing.status == 404
    old3 = roster["tokens"]["PIC-003"]
    old4 = roster["tokens"]["PIC-004"]
    run_cli("roster", "rotate", "PIC-003", "--db", str(roster["db"]))
    run_cli("roster", "remove", "PIC-004", "--db", str(roster["db"]), "--yes")
    for path in (feed_path("A" * 32), feed_path(old3), feed_path(old4), feed_path(old3[:-1]), "/feed/", "/",
                 "/feed", "/index.html", "/feed/x.ics"):
        response = server.request("GET", path)
        assert response.status == 404, path
        assert response.body == nothing.body
        assert headers_of(response) == headers_of(nothing)


def test_path_traversal_and_oversized_paths_are_404(roster, server):
    token = roster["tokens"]["PIC-001"]
    for path in ("/feed/../healthz", "/feed/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd", "/feed/..%2f..%2fetc%2fpasswd",
                 f"/feed/{token}.ics/..", f"/feed/{token}.ics/", f"/feed/../feed/{token}.ics", f"/feed/{token}.ics%00",
                 "/feed/" + "A" * 300 + ".ics", "/" + "a" * 10_000,
                 f"/feed/{token}.ics" + "/" * 300):
        response = server.request("GET", path)
        assert response.status == 404, path
        assert response.body == b"Not found\n"
    assert server.request("GET", f"/feed/{token}.ics?x=1").status == 200  # the query is ignored


def test_other_methods_are_405_whatever_the_token(roster, server):
    for token in (roster["tokens"]["PIC-001"], "B" * 32):
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            response = server.request(method, feed_path(token))
            assert response.status == 405, method
            assert response.getheader("Allow") == "GET, HEAD"
    assert server.request("POST", "/healthz").status == 405
    assert server.request("POST", "/other").status == 404


def test_healthz(server):
    response = server.request("GET", "/healthz")
    assert (response.status, response.body) == (200, b"ok\n")
    assert response.getheader("Cache-Control") == "no-store"


def test_the_log_has_no_token(roster, server):
    token = roster["tokens"]["PIC-001"]
    server.request("GET", feed_path(token))
    server.request("GET", f"/{token}.ics")
    server.request("GET", f"/FEED/{token}.ics")
    time.sleep(0.3)
    log = server.log.read_text(errors="replace")
    assert "/feed/<redacted " in log
    assert token not in log
    assert "GET /healthz" in log


# -- concurrent writers while serving ------------------------------------------------------------


def test_concurrent_roster_changes_from_several_processes_lose_no_update(roster, server):
    """Eight `roster change` processes at once, while a client keeps polling the feed."""
    db, token = str(roster["db"]), roster["tokens"]["PIC-005"]
    stop = threading.Event()
    problems: list[str] = []
    polled: list[str] = []

    def poll() -> None:
        while not stop.is_set():
            response = server.request("GET", feed_path(token))
            if response.status != 200 or not response.body.endswith(b"END:VCALENDAR\r\n"):
                problems.append(f"{response.status} {len(response.body)}")
            polled.append(response.getheader("ETag"))

    poller = threading.Thread(target=poll)
    poller.start()
    procs = [subprocess.Popen([CLI, "roster", "change", "PIC-005", "--db", db, "--cycle", str(2 + n % 4),
                               "--delay-days", "1", "--reason", f"writer {n}", "--by", f"process {n}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT) for n in range(8)]
    outcomes = [(p.wait(timeout=300), p.stderr.read().decode()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    stop.set()
    poller.join()
    assert [code for code, _ in outcomes] == [0] * 8, outcomes
    assert problems == []
    assert len(polled) > 3
    with Roster(db) as store:
        reasons = sorted(e.reason for e in store.journal("PIC-005") if e.action == "change")
        assert reasons == sorted(f"writer {n}" for n in range(8))
        course = store.course("PIC-005")
        assert sorted(c.reason for c in course.changes[2:]) == reasons
        assert store.integrity() == "ok"
    final = server.request("GET", feed_path(token))
    exported = roster["courses"] / "PIC-005-exported.toml"
    run_cli("roster", "export", "PIC-005", "--db", db, "-o", str(exported))
    assert final.body == run_cli("ics", "--course", str(exported)).stdout


# -- waitress in a thread: the failure paths -----------------------------------------------------


class BrokenStore:
    def feed(self, token: str):
        raise RuntimeError(f"disk on fire while reading {token}")

    def healthy(self) -> bool:
        return False


def test_an_internal_error_is_500_without_a_token_in_any_log(caplog):
    from waitress.server import create_server

    from picture_schedule.roster.feed_app import RedactingFilter, create_app

    server = create_server(create_app(BrokenStore()), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    token = "C" * 32
    caplog.handler.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO):
            conn = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)
            conn.request("GET", feed_path(token))
            response = conn.getresponse()
            assert response.status == 500
            assert token.encode() not in response.read()
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert (response.status, response.read()) == (503, b"roster unavailable\n")
            conn.close()
    finally:
        server.close()
        thread.join(timeout=5)
    assert "internal error" in caplog.text
    assert token not in caplog.text


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port``, read from /proc (no traffic is sent)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add(address)
    return found


def test_serve_binds_to_loopback_by_default(server):
    """The fixture starts `serve` without --host: it listens on 127.0.0.1 only (checked in /proc)."""
    assert re.search(r"on http://127\.0\.0\.1:\d+", server.log.read_text(errors="replace"))
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("no /proc/net/tcp on this system to read listening sockets from")
    assert listening_addresses(server.port) == {"127.0.0.1"}


def test_the_load_test_runs_bounded_and_loopback_only():
    """`make bench`'s server benchmark, shrunk: it must keep working (figures are not checked)."""
    env = {**os.environ, "BENCH_SECONDS": "0.3", "BENCH_CLIENTS": "2"}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_server.py")], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for label in ("serve 200", "serve 304", "http.server 200", "http.server 304"):
        line = next(x for x in lines if x.strip().startswith(label))
        assert re.search(r"req/s .* p50 .* p99 .* errors 0$", line), line
    source = (ROOT / "bench" / "bench_server.py").read_text()
    assert re.findall(r'HOST = "([^"]+)"', source) == ["127.0.0.1"]


def test_a_port_in_use_is_a_one_line_error(tmp_path):
    """Another program already listens on the port: `serve` says so in one line, exit status 2."""
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        from picture_schedule.roster.store import Roster

        Roster(tmp_path / "roster.sqlite3", create=True).close()
        done = subprocess.run(
            [sys.executable, "-m", "picture_schedule", "serve", "--db", str(tmp_path / "roster.sqlite3"),
             "--port", str(port)], capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"Error: serve: cannot listen on 127.0.0.1:{port} (Address already in use)"]


# -- issue 12: connections, signals, damaged rows, memory ------------------------------------------


def get_within(port: int, path: str, seconds: float) -> tuple[int, bytes, float]:
    """GET ``path`` with a socket timeout of ``seconds``: (status, body, elapsed); raises on timeout."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), time.monotonic() - started
    finally:
        conn.close()


def idle_sockets(port: int, count: int) -> list:
    """``count`` loopback connections: half send nothing, half a request line they never finish."""
    import socket

    opened = []
    for number in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if number % 2:
            sock.sendall(b"GET /feed/")  # a slow client: the request never completes
        opened.append(sock)
    return opened


@pytest.fixture
def two_patients(tmp_path) -> dict:
    """A roster of its own (PIC-001, PIC-002), for tests that stop, damage or replace it."""
    shutil.copy(EXAMPLES / "site-nanjing.toml", tmp_path)
    text = (EXAMPLES / "course-example.toml").read_text(encoding="utf-8")
    db = tmp_path / "roster.sqlite3"
    tokens = {}
    with Roster(db) as store:
        for patient in ("PIC-001", "PIC-002"):
            course = tmp_path / f"{patient}.toml"
            course.write_text(text.replace('"PIC-001"', f'"{patient}"'), encoding="utf-8")
            tokens[patient] = store.add(course, by="nurse Li").token
    return {"db": db, "tokens": tokens, "folder": tmp_path}


def test_200_idle_connections_do_not_stop_a_feed(roster, server):
    """Row 8: waitress' default (100 connections) let idle sockets lock every client out for minutes."""
    token = roster["tokens"]["PIC-002"]  # never rotated or removed by the tests above
    opened = idle_sockets(server.port, 200)
    try:
        time.sleep(0.3)  # let the server accept them all
        status, body, elapsed = get_within(server.port, feed_path(token), 1.0)
        assert status == 200 and body.startswith(b"BEGIN:VCALENDAR")
        assert elapsed < 1.0
    finally:
        for sock in opened:
            sock.close()


def test_the_slow_client_test_fails_with_waitress_old_limit(two_patients):
    """The check above can fail: with --connection-limit 100 the same 200 sockets stall the GET."""
    server = Server(two_patients["db"], two_patients["folder"] / "serve.log", "--connection-limit", "100")
    opened = idle_sockets(server.port, 200)
    try:
        time.sleep(0.3)
        with pytest.raises(TimeoutError):
            get_within(server.port, feed_path(two_patients["tokens"]["PIC-001"]), 1.0)
    finally:
        for sock in opened:
            sock.close()
        server.stop()


def test_idle_connections_are_closed_after_the_channel_timeout(two_patients):
    server = Server(two_patients["db"], two_patients["folder"] / "serve.log", "--channel-timeout", "2")
    try:
        opened = idle_sockets(server.port, 2)
        started = time.monotonic()
        for sock in opened:
            sock.settimeout(15)
            assert sock.recv(100) == b""  # closed by the server
            sock.close()
        assert 1.5 <= time.monotonic() - started < 10
    finally:
        server.stop()


def test_sigterm_stops_the_server_cleanly(two_patients):
    server = Server(two_patients["db"], two_patients["folder"] / "serve.log")
    assert get_within(server.port, "/healthz", 5)[0] == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0
    server.handle.close()
    log = server.log.read_text(errors="replace")
    assert "picture-schedule: stopped (SIGTERM)" in log
    assert "Traceback" not in log


def test_healthz_fails_when_the_roster_file_is_replaced_or_deleted(two_patients):
    """Row 2's aftermath: the roster overwritten under a running server must not look healthy."""
    db = two_patients["db"]
    server = Server(db, two_patients["folder"] / "serve.log")
    try:
        assert get_within(server.port, "/healthz", 5)[:2] == (200, b"ok\n")
        assert get_within(server.port, feed_path(two_patients["tokens"]["PIC-001"]), 5)[0] == 200
        impostor = db.with_name("impostor.txt")
        impostor.write_text("Cycle 1 …\n")
        os.replace(impostor, db)
        assert get_within(server.port, "/healthz", 5)[:2] == (503, b"roster unavailable\n")
        db.unlink()
        assert get_within(server.port, "/healthz", 5)[0] == 503
    finally:
        server.stop()


def test_a_damaged_row_fails_its_own_feed_only_and_names_the_patient(two_patients):
    import sqlite3

    with sqlite3.connect(two_patients["db"]) as conn:
        conn.execute("UPDATE feeds SET last_modified = 'garbage' WHERE patient_id = "
                     "(SELECT id FROM patients WHERE patient = 'PIC-002')")
    server = Server(two_patients["db"], two_patients["folder"] / "serve.log")
    try:
        status, body, _ = get_within(server.port, feed_path(two_patients["tokens"]["PIC-002"]), 5)
        assert (status, body) == (500, b"Internal error\n")
        assert get_within(server.port, feed_path(two_patients["tokens"]["PIC-001"]), 5)[0] == 200
        assert get_within(server.port, "/healthz", 5)[0] == 200
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    errors = [line for line in log.splitlines() if "damaged" in line]
    assert len(errors) == 1 and "'PIC-002'" in errors[0], log
    assert "Traceback" not in log
    for token in two_patients["tokens"].values():
        assert token not in log


def test_a_damaged_row_at_start_up_is_logged_and_the_others_are_served(two_patients):
    """A stale feed (another version rendered it) whose stored course no longer loads: one error
    line naming the patient; the server starts, and that feed keeps its last rendering."""
    import sqlite3

    with sqlite3.connect(two_patients["db"]) as conn:
        conn.execute("UPDATE feeds SET renderer = 'an older version'")
        conn.execute("UPDATE patients SET course_text = 'start = [unfinished' WHERE patient = 'PIC-002'")
    server = Server(two_patients["db"], two_patients["folder"] / "serve.log")
    try:
        for token in two_patients["tokens"].values():
            assert get_within(server.port, feed_path(token), 5)[0] == 200
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    errors = [line for line in log.splitlines() if "damaged" in line]
    assert len(errors) == 1 and "'PIC-002'" in errors[0], log
    assert "serving 2 feed(s)" in log and "Traceback" not in log


def peak_memory_kb(pid: int) -> int:
    return int(re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())[1])


def test_start_up_memory_does_not_grow_with_the_roster(two_patients):
    """Row 9: counting feeds used to load every body (622 MB for 5,000 feeds). Here 600 copies of a
    real feed (~70 MB of bodies) must cost the server less than 15 MB more than 2 feeds do."""
    import secrets
    import sqlite3

    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc/<pid>/status to read a process's peak memory from")
    small = two_patients["db"]
    big = small.with_name("big.sqlite3")
    shutil.copy(small, big)
    with sqlite3.connect(big) as conn:
        row = conn.execute("SELECT p.course_text, p.file_name, p.added_at, f.body, f.etag, f.last_modified, "
                           "f.max_age, f.renderer FROM patients p JOIN feeds f ON f.patient_id = p.id").fetchone()
        for number in range(600):
            patient_id = conn.execute(
                "INSERT INTO patients (patient, course_text, file_name, added_at, changed_at) VALUES (?, ?, ?, ?, ?)",
                (f"COPY-{number:04d}", row[0], row[1], row[2], row[2])).lastrowid
            conn.execute("INSERT INTO feeds VALUES (?, ?, ?, ?, ?, ?)", (patient_id, *row[3:]))
            conn.execute("INSERT INTO tokens VALUES (?, ?, ?, ?)",
                         (patient_id, secrets.token_bytes(32), secrets.token_urlsafe(24), row[2]))
        bodies = conn.execute("SELECT sum(length(body)) FROM feeds").fetchone()[0]
    assert bodies > 50_000_000
    peaks = {}
    for db in (small, big):
        server = Server(db, db.with_suffix(".log"))
        try:
            peaks[db.name] = peak_memory_kb(server.proc.pid)
        finally:
            server.stop()
    assert "serving 602 feed(s)" in big.with_suffix(".log").read_text()
    assert peaks["big.sqlite3"] - peaks["roster.sqlite3"] < 15_000, peaks
