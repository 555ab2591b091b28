"""Outputs never destroy what is not theirs: issue 12's rows for outputs, CSV cells and terminals.

Each test makes its FIFOs, device nodes, links and rosters inside its own ``tmp_path``; nothing here
opens a system path for writing (``/dev/full`` is only a redirect target of a child process, as a
shell's ``> /dev/full`` would be).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import errno
import io
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from picture_schedule.errors import OutputError
from picture_schedule.output import (
    SQLITE_MAGIC,
    Streamed,
    for_terminal,
    reading_inputs,
    write_all,
    write_output,
)
from tests.conftest import DATA, ROOT, need

EXAMPLES = ROOT / "examples"
CHAIR_SITE = DATA / "chairs" / "site-three-chairs.toml"
CLI = [sys.executable, "-m", "picture_schedule"]


def temps(folder: Path) -> list[str]:
    """Temporary files an atomic write may leave (``.<name>.<pid>-<hex>.tmp``)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """The example course and its site file, copied into the test's folder."""
    for name in ("course-example.toml", "site-nanjing.toml"):
        (tmp_path / name).write_bytes((EXAMPLES / name).read_bytes())
    return tmp_path / "course-example.toml"


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)

    def set_to(value: int) -> None:
        os.umask(value)

    yield set_to
    os.umask(old)


# -- row 1: devices, FIFOs and links ---------------------------------------------------------


def read_fifo_in_thread(path: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as handle:
            got.append(handle.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = read_fifo_in_thread(fifo)
    write_output(fifo, "through the pipe\n")
    thread.join(timeout=10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert temps(tmp_path) == []


def test_the_cli_writes_a_schedule_into_a_fifo(cli, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = read_fifo_in_thread(fifo)
    result = cli("schedule", "--start", "2026-12-07", "--format", "json", "-o", fifo)
    thread.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert got and got[0].startswith(b"{")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def character_device(tmp_path: Path) -> Path:
    """A node for the kernel's null device (major 1, minor 3) made inside the test's folder: writing
    to it discards the bytes, and the machine's /dev/null is never involved."""
    need(os.geteuid() == 0, "making a device node (mknod) needs root; run the tests as root or with CI=true")
    node = tmp_path / "null-device"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


def test_a_character_device_is_written_through_never_replaced(cli, tmp_path):
    node = character_device(tmp_path)
    before = os.lstat(node)
    result = cli("schedule", "--start", "2026-12-07", "-o", node)
    assert result.exit_code == 0, result.output
    after = os.lstat(node)
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert temps(tmp_path) == []


def test_a_symlink_to_a_regular_file_replaces_the_target_and_keeps_the_link(cli, tmp_path):
    target = tmp_path / "real" / "schedule.json"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = cli("schedule", "--start", "2026-12-07", "--format", "json", "-o", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("{")
    assert temps(target.parent) == [] and temps(tmp_path) == []


def test_a_symlink_to_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    thread, got = read_fifo_in_thread(fifo)
    write_output(link, b"via the link")
    thread.join(timeout=10)
    assert got == [b"via the link"]
    assert link.is_symlink() and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_dangling_symlink_is_refused(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere" / "missing.txt")
    with pytest.raises(OutputError, match="symbolic link to a missing file"):
        write_output(link, b"x")
    assert link.is_symlink() and not (tmp_path / "elsewhere").exists()


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        write_output(tmp_path, b"x")


# -- row 2: inputs and rosters ------------------------------------------------------------------


def test_writing_over_the_course_it_reads_is_refused(cli, course):
    before = course.read_bytes()
    result = cli("schedule", "--course", course, "-o", course)
    assert result.exit_code == 2
    assert error_lines(result) == [
        f"Error: {course}: is an input of this command ({course}); write the output to another file"]
    assert course.read_bytes() == before
    assert temps(course.parent) == []


def test_writing_over_the_site_file_a_course_names_is_refused(cli, course):
    site = course.parent / "site-nanjing.toml"
    before = site.read_bytes()
    result = cli("ics", "--course", course, "-o", site)
    assert result.exit_code == 2 and len(error_lines(result)) == 1
    assert "is an input of this command" in result.stderr
    assert site.read_bytes() == before


def test_a_hard_link_to_an_input_is_the_same_file(cli, course):
    alias = course.parent / "alias.toml"
    os.link(course, alias)
    result = cli("schedule", "--course", course, "-o", alias)
    assert result.exit_code == 2 and "is an input of this command" in result.stderr


def test_writing_over_the_cohort_it_reads_is_refused(cli, tmp_path):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("patient,start\nPIC-001,2027-01-04\n", encoding="utf-8")
    before = cohort.read_bytes()
    result = cli("chairs", "plan", "--cohort", cohort, "--site", CHAIR_SITE, "--csv", cohort)
    assert result.exit_code == 2 and len(error_lines(result)) == 1, result.output
    assert "is an input of this command" in result.stderr
    assert cohort.read_bytes() == before


def test_outside_a_command_nothing_is_an_input(tmp_path):
    """The registry is per command: a library call outside the CLI may write where it likes."""
    from picture_schedule.output import note_input

    path = tmp_path / "a.txt"
    path.write_text("old")
    note_input(path)  # no command running: not recorded
    write_output(path, "new")
    with reading_inputs():
        note_input(path)
        with pytest.raises(OutputError, match="is an input"):
            write_output(path, "newer")
    assert path.read_text() == "new"


def test_an_sqlite_database_is_never_overwritten(cli, tmp_path):
    db = tmp_path / "roster.sqlite3"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    before = db.read_bytes()
    assert before.startswith(SQLITE_MAGIC)
    result = cli("schedule", "--start", "2026-12-07", "-o", db)
    assert result.exit_code == 2
    assert error_lines(result) == [f"Error: {db}: is an SQLite database (a roster?); refusing to write over it"]
    assert db.read_bytes() == before


def test_the_write_ahead_log_beside_a_roster_is_never_overwritten(tmp_path):
    db = tmp_path / "roster.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    wal = tmp_path / "roster.sqlite3-wal"
    assert wal.exists()
    with pytest.raises(OutputError, match="SQLite database"):
        write_output(wal, b"x")
    conn.close()


def test_the_same_file_twice_in_one_command_is_refused(tmp_path):
    a = tmp_path / "a.csv"
    with pytest.raises(OutputError, match="named twice"):
        write_all([(a, b"1"), (tmp_path / "." / "a.csv", b"2")])
    assert not a.exists()


# -- row 5: modes -----------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_honours_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    write_output(tmp_path / "out.txt", "x")
    assert mode(tmp_path / "out.txt") == expected


def test_a_private_file_is_created_0600_whatever_the_umask(tmp_path, umask):
    umask(0o002)
    write_output(tmp_path / "diary.html", "link inside", private=True)
    assert mode(tmp_path / "diary.html") == 0o600


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    umask(0o077)
    path = tmp_path / "shared.csv"
    path.write_text("old")
    os.chmod(path, 0o664)
    write_output(path, "new")
    write_output(path, "newer", private=True)
    assert (path.read_text(), mode(path)) == ("newer", 0o664)


def test_roster_export_is_created_0600(cli, course, tmp_path, umask):
    umask(0o022)
    db = tmp_path / "roster.sqlite3"
    added = cli("roster", "add", "--db", db, "--course", course, "--by", "nurse Li")
    assert added.exit_code == 0, added.output
    exported = tmp_path / "export.toml"
    result = cli("roster", "export", "PIC-001", "--db", db, "-o", exported)
    assert result.exit_code == 0, result.output
    assert mode(exported) == 0o600
    result = cli("schedule", "--start", "2026-12-07", "-o", tmp_path / "plain.txt")
    assert mode(tmp_path / "plain.txt") == 0o644


def test_a_qr_code_file_is_created_0600(cli, course, tmp_path, umask):
    umask(0o022)
    db = tmp_path / "roster.sqlite3"
    qr = tmp_path / "qr.svg"
    result = cli("roster", "add", "--db", db, "--course", course, "--by", "nurse Li",
                 "--base-url", "https://feeds.example.org", "--qr", qr)
    assert result.exit_code == 0, result.output
    assert mode(qr) == 0o600


# -- row 12: several outputs, all or none -------------------------------------------------------


def test_one_target_in_a_missing_folder_writes_none(tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.csv"
    a.write_text("old a")
    with pytest.raises(OutputError, match="does not exist"):
        write_all([(a, "new a"), (b, "new b"), (tmp_path / "missing" / "c.ics", "new c")])
    assert a.read_text() == "old a" and not b.exists()
    assert temps(tmp_path) == []


def test_a_failure_while_staging_replaces_nothing(tmp_path, monkeypatch):
    """The disk fills up while the third file is being written: the first two stay as they were."""
    paths = [tmp_path / name for name in ("a.html", "b.csv", "c.ics")]
    for path in paths:
        path.write_text(f"old {path.name}")
    real_write, calls = os.write, []

    def filling_write(fd: int, data) -> int:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", filling_write)
    with pytest.raises(OutputError, match="No space left on device"):
        write_all([(path, f"new {path.name}") for path in paths])
    monkeypatch.undo()
    assert [p.read_text() for p in paths] == [f"old {p.name}" for p in paths]
    assert temps(tmp_path) == []


def test_chairs_plan_with_an_unwritable_third_output_writes_none(cli, tmp_path):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("patient,start\nPIC-001,2027-01-04\nPIC-002,2027-01-05\n", encoding="utf-8")
    report, table = tmp_path / "a.html", tmp_path / "b.csv"
    report.write_text("old report")
    table.write_text("old csv")
    result = cli("chairs", "plan", "--cohort", cohort, "--site", CHAIR_SITE, "-o", report, "--csv", table,
                 "--ics", tmp_path / "full-disk" / "c.ics")
    assert result.exit_code == 2 and len(error_lines(result)) == 1, result.output
    assert (report.read_text(), table.read_text()) == ("old report", "old csv")
    assert temps(tmp_path) == []


# -- stdout on a full disk ----------------------------------------------------------------------


class FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_standard_output_is_an_output_error(monkeypatch):
    stream = io.TextIOWrapper(io.BufferedWriter(FullDisk()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stream)
    with pytest.raises(OutputError) as caught:
        write_output("-", "x" * 100_000)
    assert str(caught.value) == "standard output: cannot write (No space left on device)"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [
    ("schedule", "--start", "2026-12-07"),
    ("schedule", "--start", "2026-12-07", "--format", "csv"),
    ("chairs", "plan", "--cohort", str(ROOT / "examples" / "cohort-23.csv"),
     "--site", str(ROOT / "examples" / "site-nanjing.toml")),
])
def test_a_full_disk_under_stdout_is_one_error_line(args):
    """`… > /dev/full`: the child's stdout is the full device (only redirected to, as a shell does)."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*CLI, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["Error: standard output: cannot write (No space left on device)"]


# -- row 11: signals and kill -9 -----------------------------------------------------------------

WRITER = textwrap.dedent("""
    import os, sys, time
    from picture_schedule import output
    real_fsync = os.fsync
    def stalled_fsync(fd):  # the bytes are in the temporary file: say so, and hang
        print("staged", flush=True)
        time.sleep(600)
    os.fsync = stalled_fsync
    output.write_output(sys.argv[1], b"new content")
""")


def start_writer(target: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "staged"
    return proc


def test_kill_9_mid_write_leaves_no_temporary_file_after_the_next_write(tmp_path):
    target = tmp_path / "schedule.csv"
    target.write_text("old")
    proc = start_writer(target)
    proc.kill()
    proc.wait(timeout=10)
    left = temps(tmp_path)
    assert len(left) == 1 and left[0].startswith(f".schedule.csv.{proc.pid}-"), left  # the test can fail
    assert target.read_text() == "old"
    done = subprocess.run([sys.executable, "-c", "import sys; from picture_schedule.output import write_output; "
                           "write_output(sys.argv[1], 'next')", str(target)], cwd=ROOT, timeout=60)
    assert done.returncode == 0
    assert target.read_text() == "next"
    assert temps(tmp_path) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_write_removes_the_temporary_file(tmp_path, signum):
    target = tmp_path / "schedule.csv"
    target.write_text("old")
    proc = start_writer(target)
    assert len(temps(tmp_path)) == 1
    proc.send_signal(signum)
    proc.wait(timeout=10)
    assert proc.returncode != 0
    assert temps(tmp_path) == []
    assert target.read_text() == "old"


def test_sigterm_while_a_fifo_waits_for_its_reader_leaves_the_staged_files_unreplaced(tmp_path):
    """-o a.csv and a FIFO nobody reads: a.csv is staged, the FIFO blocks; SIGTERM cleans up."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = tmp_path / "a.csv"
    target.write_text("old")
    script = ("import sys; from picture_schedule.output import write_all; print('go', flush=True); "
              "write_all([(sys.argv[1], b'new'), (sys.argv[2], b'into the fifo')])")
    proc = subprocess.Popen([sys.executable, "-c", script, str(target), str(fifo)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "go"
    deadline = time.monotonic() + 10
    while not temps(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert temps(tmp_path), "the file was not staged"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGTERM
    assert target.read_text() == "old" and temps(tmp_path) == []


# -- row 7: CSV cells and terminals --------------------------------------------------------------


@pytest.mark.parametrize("cell, safe", [
    ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    ("+SUM(1)", "'+SUM(1)"), ("@x", "'@x"), ("-2+3", "'-2+3"), ("\tTAB", "'\tTAB"), ("\rCR", "'\rCR"),
    ("-7", "-7"), ("+3", "+3"), ("-1.5", "-1.5"), ("PIC-001", "PIC-001"), ("", ""), (-7, -7), (2.5, 2.5),
])
def test_spreadsheet_safe_follows_owasp(cell, safe):
    from picture_schedule.render.tabular import spreadsheet_safe

    assert spreadsheet_safe(cell) == safe


def test_the_chairs_csv_neutralises_formulas_in_study_numbers(tmp_path):
    from picture_schedule.core.chair_plan import Appointment, plan
    from picture_schedule.loading import load_site
    from picture_schedule.render.chair_report import to_csv

    unit = load_site(CHAIR_SITE).chairs
    day = dt.date(2027, 1, 4)
    names = ['=HYPERLINK("http://evil.example","click")', "+SUM(1)", "@cmd", "-2+3", "PIC-004"]
    booked = plan([Appointment(name, 1, day, 120, "picture", note="=1+1" if i == 0 else "")
                   for i, name in enumerate(names)], unit)
    rows = list(csv.DictReader(io.StringIO(to_csv(booked))))
    assert sorted(r["patient"] for r in rows) == sorted(
        ["'" + n for n in names[:4]] + ["PIC-004"])
    assert {r["note"] for r in rows} == {"'=1+1", ""}
    for row in rows:  # numbers stay numbers
        assert row["cycle"] == "1" and row["minutes"] == "120"


def test_the_schedule_csv_neutralises_formulas_and_keeps_numbers():
    from picture_schedule import api
    from picture_schedule.core.model import Change
    from picture_schedule.render.tabular import to_csv

    course = api.course_from(start=dt.date(2026, 12, 7))
    course = dataclasses.replace(course, changes=(Change(cycle=2, delay_days=7, reason="=cmd|' /C calc'!A0"),))
    rows = list(csv.DictReader(io.StringIO(to_csv(api.schedule(course)))))
    reasons = {r["move_reason"] for r in rows if r["move_reason"]}
    assert "'=cmd|' /C calc'!A0" in reasons  # the delayed cycle's own reason, shown as text
    assert not any(r.startswith(("=", "+", "-", "@")) for r in reasons)


@pytest.mark.parametrize("text, shown", [
    ("PIC\x1b[2J-001", "PIC\\e[2J-001"), ("two\nlines", "two\\nlines"), ("abc\u202edef", "abc\\u202edef"),
    ("bell\x07", "bell\\x07"), ("c1\x9b31m", "c1\\x9b31m"), ("王小明 PIC-001", "王小明 PIC-001"),
    ("isolate\u2066x\u2069", "isolate\\u2066x\\u2069"), ("plain", "plain"),
])
def test_for_terminal_escapes_controls(text, shown):
    assert for_terminal(text) == shown


def test_the_schedule_table_escapes_control_characters():
    from picture_schedule import api
    from picture_schedule.core.model import Change
    from picture_schedule.render.text import to_table

    course = api.course_from(start=dt.date(2026, 12, 7))
    course = dataclasses.replace(course, patient="PIC\x1b]0;owned\x07-001\n\u202eevil",
                                 changes=(Change(cycle=2, delay_days=7, reason="low\x1b[31m counts\r\nok"),))
    table = to_table(api.schedule(course))
    assert not any(ch in table for ch in ("\x1b", "\x07", "\r", "\u202e"))
    assert "Patient PIC\\e]0;owned\\x07-001\\n\\u202eevil" in table.splitlines()
    assert "low\\e[31m counts\\r\\nok" in table


def test_roster_list_escapes_control_characters():
    from picture_schedule.roster.desk import patients_table
    from picture_schedule.roster.store import PatientInfo

    moment = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)

    class Store:
        def patients(self, removed: bool = False) -> list[PatientInfo]:
            return [PatientInfo("PIC\x1b[8m-001\u202e", "picture", "2026-12-07", 6, "en", 0, moment,
                                "nurse\nLi", moment, "c.toml", None)]

    table = patients_table(Store())  # type: ignore[arg-type]
    assert "\x1b" not in table and "\u202e" not in table
    assert len(table.splitlines()) == 2  # the newline in "added by" did not make a row
    assert "PIC\\e[8m-001\\u202e" in table and "nurse\\nLi" in table


# -- outputs made as they are written (output.Streamed: the chair plan's CSV) ---------------------


def test_a_streamed_output_is_written_piece_by_piece_into_a_file_a_fifo_and_standard_output(tmp_path, capfdbinary):
    made = []

    def pieces():
        for piece in (b"patient,cycle\n", b"PIC-001,1\n", b"PIC-002,1\n"):
            made.append(piece)
            yield piece

    out = tmp_path / "chairs.csv"
    out.write_text("old\n")
    write_all([(out, Streamed(pieces))])
    assert out.read_bytes() == b"patient,cycle\nPIC-001,1\nPIC-002,1\n" and len(made) == 3
    assert temps(tmp_path) == []
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = read_fifo_in_thread(fifo)
    write_output(fifo, Streamed(pieces))
    thread.join(timeout=10)
    assert got == [b"patient,cycle\nPIC-001,1\nPIC-002,1\n"]
    write_output("-", Streamed(pieces))
    assert capfdbinary.readouterr().out == b"patient,cycle\nPIC-001,1\nPIC-002,1\n"


def test_a_streamed_output_that_fails_half_way_leaves_every_file_as_it_was(tmp_path):
    report, table = tmp_path / "report.html", tmp_path / "chairs.csv"
    report.write_text("old report\n")
    table.write_text("old table\n")

    def pieces():
        yield b"patient,cycle\n"
        raise OutputError("the plan could not be read", source="chairs")

    with pytest.raises(OutputError, match="could not be read"):
        write_all([(report, "<p>new report</p>"), (table, Streamed(pieces))])
    assert report.read_text() == "old report\n" and table.read_text() == "old table\n"
    assert temps(tmp_path) == []


def test_chairs_plan_csv_is_streamed_and_the_same_as_to_csv(tmp_path):
    """The command's CSV is made day by day as it is written; it is the text to_csv() gives."""
    from picture_schedule.planning.chair_summary import plan_chairs
    from picture_schedule.render.chair_report import csv_days, to_csv

    report = plan_chairs(cohort_path=str(EXAMPLES / "cohort-23.csv"), site_path=str(CHAIR_SITE),
                         outputs=[(str(tmp_path / "chairs.csv"), "csv")])
    [(target, payload)] = report.outputs
    assert isinstance(payload, Streamed)
    assert report.plan is not None
    days = list(csv_days(report.plan))
    write_all(report.outputs)
    text = (tmp_path / "chairs.csv").read_text(encoding="utf-8")
    assert text.startswith("patient,") and text.count("\n") > 23 and len(days) > 1
    assert text == "".join(days) == to_csv(report.plan)
