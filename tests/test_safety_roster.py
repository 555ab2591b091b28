"""The roster loses nothing and hands out every link it makes: issue 12's rows 3, 4, 10 (roster) and 11.

- Row 3: `roster add/rotate/change` are all or nothing. A file that cannot be written or a standard
  output that cannot be printed to leaves the roster as it was (and the command can be run again);
  once the link is printed, a later failure says so and the user holds the link.
- Row 4: removal is soft (the feed dies at once, the history stays), confirmed unless --yes; purge is
  the only deletion. `roster backup` makes a consistent 0600 copy.
- Row 10: a damaged stored row is one `Error:` line naming the patient.

Rosters, FIFOs and outputs are made in each test's own ``tmp_path``; ``/dev/full`` is only the
redirect target of a child process (as a shell's ``> /dev/full``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest

from picture_schedule.errors import OutputError, RosterError
from picture_schedule.roster.backup import backup
from picture_schedule.roster.feed_app import create_app
from picture_schedule.roster.handout import LinkRequest, enrol, new_link
from picture_schedule.roster.migrations import MIGRATIONS
from picture_schedule.roster.store import Roster
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
CLI = [sys.executable, "-m", "picture_schedule"]
LINK = re.compile(r"https://calendar\.example\.org/feed/([A-Za-z0-9_-]{32})\.ics")
FULL = Path("/dev/full")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("course-example.toml", "site-nanjing.toml"):
        shutil.copy(EXAMPLES / name, tmp_path)
    return tmp_path


@pytest.fixture
def course(folder: Path) -> Path:
    return folder / "course-example.toml"


@pytest.fixture
def db(folder: Path) -> Path:
    return folder / "roster.sqlite3"


@pytest.fixture
def roster(cli, db):
    def run(sub: str, *args: str, **kwargs):
        return cli("roster", sub, "--db", db, *args, **kwargs)

    return run


def enrolled(roster, course: Path) -> str:
    result = roster("add", "--course", course, "--by", "nurse Li")
    assert result.exit_code == 0, result.output
    return LINK.findall(result.output)[0]


def one_error(output: str, *words: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def state(db: Path) -> tuple:
    """Everything a roster command could change: patients, tokens, feeds, journal."""
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                     for table in ("patients", "tokens", "feeds", "journal", "course_files"))


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def get(store: Roster, path: str) -> tuple[str, bytes]:
    environ: dict = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    seen: list[str] = []
    body = b"".join(create_app(store)(environ, lambda status, headers: seen.append(status)))
    return seen[0], body


def run_to_full_stdout(*args: str) -> subprocess.CompletedProcess:
    """`picture-schedule ARGS > /dev/full` (the device is only the child's redirect target)."""
    with open(FULL, "wb") as full:
        return subprocess.run([*CLI, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
                              cwd=ROOT)


needs_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")


# -- row 3: all or nothing ----------------------------------------------------------------------------


def test_add_with_a_diary_in_a_missing_folder_enrols_nobody(roster, course, folder, db):
    result = roster("add", "--course", course, "--diary", folder / "missing" / "PIC-001.html")
    one_error(result.output, "missing", "does not exist")
    assert result.exit_code == 2
    assert roster("list").output.strip() == "The roster is empty."
    enrolled(roster, course)  # a retry is not refused


def test_rotate_with_a_diary_in_a_missing_folder_keeps_the_old_link(roster, course, folder, db):
    old = enrolled(roster, course)
    before = state(db)
    result = roster("rotate", "PIC-001", "--diary", folder / "missing" / "d.html")
    one_error(result.output, "missing", "does not exist")
    assert state(db) == before
    with Roster(db) as store:
        assert store.feed(old) is not None


@pytest.mark.parametrize("command", ["add", "rotate"])
def test_a_full_disk_while_writing_the_diary_leaves_the_roster_as_it_was(roster, course, folder, db,
                                                                         monkeypatch, command):
    """The diary's bytes are written and synced before the roster commits: ENOSPC there (simulated
    at the fsync, where a full disk shows on many file systems) changes nothing."""
    old = enrolled(roster, course) if command == "rotate" else None
    before = state(db) if db.exists() else None

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    args = ("--course", course) if command == "add" else ("PIC-001",)
    result = roster(command, *args, "--by", "nurse Li", "--diary", folder / "d.html")
    one_error(result.output, "d.html", "No space left on device")
    assert result.exit_code == 2 and "feed/" not in result.output  # no link was shown
    assert not (folder / "d.html").exists() and temps(folder) == []
    if command == "add":
        assert roster("list").output.strip() == "The roster is empty."
    else:
        assert state(db) == before
        with Roster(db) as store:
            assert store.feed(old) is not None
    monkeypatch.undo()
    retried = roster(command, *args, "--by", "nurse Li", "--diary", folder / "d.html")
    assert retried.exit_code == 0, retried.output  # and a retry works
    assert (folder / "d.html").exists()


@needs_full
def test_add_to_a_full_standard_output_enrols_nobody(course, db):
    done = run_to_full_stdout("roster", "add", "--db", str(db), "--course", str(course), "--qr",
                              str(course.parent / "qr.svg"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["Error: standard output: cannot write (No space left on device)"]
    with Roster(db) as store:
        assert store.patients() == [] and store.patients(removed=True) == []
    assert not (course.parent / "qr.svg").exists() and temps(course.parent) == []
    again = subprocess.run([*CLI, "roster", "add", "--db", str(db), "--course", str(course)],
                           capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert again.returncode == 0 and LINK.search(again.stdout), again.stderr  # the retry is not refused


@needs_full
def test_rotate_to_a_full_standard_output_keeps_the_old_link(roster, course, db):
    old = enrolled(roster, course)
    before = state(db)
    done = run_to_full_stdout("roster", "rotate", "PIC-001", "--db", str(db))
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["Error: standard output: cannot write (No space left on device)"]
    assert state(db) == before
    with Roster(db) as store:
        assert store.feed(old) is not None


@needs_full
def test_a_change_that_cannot_be_printed_is_not_recorded(roster, course, db):
    """Otherwise the nurse, seeing an error, would record the delay again: 14 days instead of 7."""
    enrolled(roster, course)
    before = state(db)
    done = run_to_full_stdout("roster", "change", "PIC-001", "--db", str(db), "--cycle", "3", "--delay-days", "7",
                              "--reason", "neutrophils 1.1", "--by", "nurse Li")
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["Error: standard output: cannot write (No space left on device)"]
    assert state(db) == before


def test_a_link_that_cannot_be_handed_out_is_never_stored(course, folder, db):
    """The library's promise, with a writer that raises (as printing to a full disk does)."""

    def failing(handout) -> None:
        raise OutputError("cannot write (No space left on device)", source="standard output")

    with Roster(db) as store:
        with pytest.raises(OutputError):
            enrol(store, course, deliver=failing,
                  request=LinkRequest(diary_file=str(folder / "d.html"), qr_file=str(folder / "qr.png")))
        assert store.patients() == []
        token = store.add(course).token
        with pytest.raises(OutputError):
            new_link(store, "PIC-001", deliver=failing)
        assert store.feed(token) is not None
    assert sorted(p.name for p in folder.iterdir()) == ["course-example.toml", "roster.sqlite3",
                                                        "site-nanjing.toml"]


class CommitFails(Roster):
    """A roster whose commit fails after the link was handed out (a disk error at COMMIT)."""

    def add(self, *args, before_commit=None, **kwargs):
        if before_commit is not None:
            before_commit()
        raise RosterError("disk I/O error", source=self.label)


def test_a_commit_that_fails_after_the_link_was_printed_says_the_link_is_void(course, folder, db):
    printed: list[str] = []
    with CommitFails(db) as store:
        with pytest.raises(RosterError, match="nothing was saved: the link printed above does not work"):
            enrol(store, course, deliver=lambda handout: printed.append(handout.text),
                  request=LinkRequest(diary_file=str(folder / "d.html")))
        assert store.patients() == []
    assert LINK.search(printed[0])
    assert not (folder / "d.html").exists() and temps(folder) == []


def test_a_file_that_cannot_be_put_in_place_after_the_commit_leaves_the_user_the_link(roster, course, folder, db,
                                                                                        monkeypatch):
    def refuse(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", refuse)
    result = roster("add", "--course", course, "--diary", folder / "d.html")
    assert result.exit_code == 2
    token = LINK.findall(result.stdout)[0]  # printed before the commit
    one_error(result.stderr, "d.html", "the roster has the new link printed above")
    monkeypatch.undo()
    with Roster(db) as store:
        assert store.feed(token) is not None
    assert temps(folder) == []


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from picture_schedule.roster.handout import LinkRequest, enrol
    from picture_schedule.roster.store import Roster

    def deliver(handout):
        print("LINK", handout.text.splitlines()[1].strip(), flush=True)
        time.sleep(600)  # killed here: the diary is staged, the roster not committed

    enrol(Roster(sys.argv[1]), sys.argv[2], deliver=deliver, request=LinkRequest(diary_file=sys.argv[3]))
""")


def test_kill_9_during_a_hand_over_leaves_no_patient_and_the_next_write_sweeps_the_temporary_file(
        cli, course, folder, db):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(db), str(course), str(folder / "d.html")],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("LINK https://")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert len(temps(folder)) == 1  # the staged diary: a killed writer cannot remove it
    with Roster(db) as store:
        assert store.patients() == [] and store.integrity() == "ok"  # the link it printed was never stored
    result = cli("roster", "add", "--db", db, "--course", course, "--diary", folder / "d.html")
    assert result.exit_code == 0, result.output
    assert temps(folder) == []  # the next write in that folder removed the dead writer's file


# -- row 4: soft removal, history, purge ------------------------------------------------------------


def test_remove_asks_first_and_a_no_removes_nothing(roster, course, db):
    enrolled(roster, course)
    before = state(db)
    declined = roster("remove", "PIC-001", input="n\n")
    assert declined.exit_code == 1 and "Nothing removed." in declined.output
    unanswered = roster("remove", "PIC-001")  # standard input closed: no answer is not a yes
    assert unanswered.exit_code == 2 and "give --yes" in unanswered.output
    assert state(db) == before
    accepted = roster("remove", "PIC-001", "--by", "nurse Li", input="y\n")
    assert accepted.exit_code == 0 and "Removed PIC-001" in accepted.output


def test_a_removed_patients_feed_dies_at_once_like_an_unknown_link(roster, course, db):
    token = enrolled(roster, course)
    with Roster(db) as store:
        assert get(store, f"/feed/{token}.ics")[0] == "200 OK"
        unknown = get(store, f"/feed/{'A' * 32}.ics")
        assert roster("remove", "PIC-001", "--yes").exit_code == 0
        assert get(store, f"/feed/{token}.ics") == unknown  # the same 404, by the server already running
        assert unknown[0] == "404 Not Found"


def test_history_keeps_everything_after_removal(roster, course, db):
    enrolled(roster, course)
    assert roster("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "neutrophils 1.1",
                  "--by", "nurse Li").exit_code == 0
    assert roster("rotate", "PIC-001", "--by", "nurse Wu").exit_code == 0
    assert roster("remove", "PIC-001", "--by", "Dr Wang", "--yes").exit_code == 0
    history = roster("history", "PIC-001")
    assert history.exit_code == 0, history.output
    lines = history.output.splitlines()
    assert lines[0] == "patient     PIC-001"
    assert lines[1].startswith("removed     ") and "by Dr Wang" in lines[1]
    actions = [re.sub(r"^  \d{4}-\d\d-\d\d \d\d:\d\d UTC  ", "", line) for line in lines[3:]]
    assert actions == ["add by nurse Li", "change by nurse Li: neutrophils 1.1", "      cycle = 3",
                       "      delay_days = 7", "rotate by nurse Wu", "remove by Dr Wang"]
    listed = roster("list", "--removed").output.splitlines()
    assert listed[0].split()[:5] == ["patient", "regimen", "start", "cycles", "changes"]
    assert listed[1].split()[0] == "PIC-001" and listed[1].endswith("Dr Wang")
    assert roster("list").output.strip() == "The roster is empty."
    assert roster("show", "PIC-001").exit_code == 0  # still readable
    assert roster("export", "PIC-001").exit_code == 0


@pytest.mark.parametrize("args, words", [
    (("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "r", "--by", "n"),
     ["was removed", "no change can be recorded"]),
    (("rotate", "PIC-001"), ["was removed", "no new link"]),
    (("remove", "PIC-001", "--yes"), ["already removed"]),
])
def test_a_removed_patient_cannot_be_changed(roster, course, db, args, words):
    enrolled(roster, course)
    assert roster("remove", "PIC-001", "--yes").exit_code == 0
    before = state(db)
    result = roster(*args)
    assert result.exit_code == 2
    one_error(result.output, "PIC-001", *words)
    assert state(db) == before


def test_a_study_number_is_enrolled_again_only_after_purge(roster, course, db):
    enrolled(roster, course)
    assert roster("remove", "PIC-001", "--yes").exit_code == 0
    one_error(roster("add", "--course", course).output, "was removed", "roster purge PIC-001")
    declined = roster("purge", "PIC-001", input="n\n")
    assert declined.exit_code == 1 and roster("history", "PIC-001").exit_code == 0
    assert roster("purge", "PIC-001", "--by", "Dr Wang", input="y\n").exit_code == 0
    one_error(roster("history", "PIC-001").output, "no patient 'PIC-001'")
    enrolled(roster, course)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT patient, action, by FROM journal WHERE patient_id IS NULL").fetchall() == [
            ("PIC-001", "purge", "Dr Wang")]


def test_purge_refuses_a_patient_on_the_roster(roster, course, db):
    enrolled(roster, course)
    before = state(db)
    one_error(roster("purge", "PIC-001", "--yes").output, "remove them first")
    assert state(db) == before


def test_a_roster_made_before_soft_removal_is_upgraded(tmp_path, course):
    with Roster(tmp_path / "new.sqlite3") as store:
        token = store.add(course).token
    db = tmp_path / "old.sqlite3"
    Roster(db, migrations=MIGRATIONS[:1]).close()  # a roster of the version before soft removal
    with sqlite3.connect(db) as conn:  # holding the same patient
        conn.execute("ATTACH DATABASE ? AS new", (str(tmp_path / "new.sqlite3"),))
        for table in ("patients", "course_files", "tokens", "feeds", "journal"):
            columns = ", ".join(row[1] for row in conn.execute(f"PRAGMA main.table_info({table})"))
            conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM new.{table}")
    with Roster(db) as store:
        assert store.version == MIGRATIONS[-1].version
        assert [p.patient for p in store.patients()] == ["PIC-001"] and store.feed(token) is not None
        store.remove("PIC-001")
        assert store.feed(token) is None and [p.patient for p in store.patients(removed=True)] == ["PIC-001"]


# -- backup -----------------------------------------------------------------------------------------


def test_backup_is_a_private_copy_that_opens_as_the_same_roster(roster, course, folder, db):
    token = enrolled(roster, course)
    assert roster("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "r", "--by", "n").exit_code == 0
    old = os.umask(0o022)
    try:
        result = roster("backup", folder / "copy.sqlite3")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    copy = folder / "copy.sqlite3"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert not (folder / "copy.sqlite3-wal").exists()  # one self-contained file
    with Roster(db) as original, Roster(copy, create=False) as restored:
        assert restored.patients() == original.patients()
        assert restored.journal("PIC-001") == original.journal("PIC-001")
        assert restored.course_text("PIC-001") == original.course_text("PIC-001")
        assert restored.feed(token) == original.feed(token)
        assert restored.integrity() == "ok"
    assert temps(folder) == []


def test_backup_leaves_out_what_another_writer_has_not_committed(course, folder, db):
    with Roster(db) as store:
        store.add(course)
        writer = sqlite3.connect(db, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE patients SET changes = 99")
        backup(store, folder / "copy.sqlite3")  # does not wait for the writer: WAL readers never do
        writer.execute("ROLLBACK")
        writer.close()
    with Roster(folder / "copy.sqlite3", create=False) as restored:
        assert restored.info("PIC-001").changes == 0


def test_backup_never_writes_over_the_roster_or_any_file(roster, course, folder, db):
    enrolled(roster, course)
    (folder / "link.sqlite3").symlink_to(db)
    (folder / "old-backup.sqlite3").write_bytes(b"yesterday")
    before = db.read_bytes()
    for target, words in (
        (db, ["is the roster itself"]),
        (folder / "link.sqlite3", ["is the roster itself"]),
        (Path(f"{db}-wal"), ["is the roster itself"]),
        (folder / "old-backup.sqlite3", ["exists", "never written over"]),
        (folder / "missing" / "b.sqlite3", ["does not exist"]),
    ):
        result = roster("backup", target)
        assert result.exit_code == 2
        one_error(result.output, *words)
    assert db.read_bytes() == before and (folder / "old-backup.sqlite3").read_bytes() == b"yesterday"
    with Roster(db) as store:
        assert store.integrity() == "ok" and len(store.patients()) == 1


# -- row 10: damaged rows ---------------------------------------------------------------------------


@pytest.mark.parametrize("damage", [
    "UPDATE patients SET changed_at = 'garbage'",
    "UPDATE journal SET at = 'garbage'",
    "UPDATE patients SET course_text = 'start = [[[ not TOML'",
    "UPDATE patients SET course_text = 'cycles = \"six\"'",
])
@pytest.mark.parametrize("command", [("list",), ("show", "PIC-001"), ("history", "PIC-001")])
def test_a_damaged_row_is_one_error_line_naming_the_patient(roster, course, db, damage, command):
    enrolled(roster, course)
    with sqlite3.connect(db) as conn:
        conn.execute(damage)
    result = roster(*command)
    if "journal" in damage and command == ("list",):
        assert result.exit_code == 0  # the list does not read the journal
        return
    assert result.exit_code == 2, result.output
    one_error(result.output, "PIC-001")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_damaged_entry_can_still_be_removed_and_purged(roster, course, db):
    """The way out of a damaged row: its link dies, and it can be deleted."""
    token = enrolled(roster, course)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE patients SET changed_at = 'garbage'")
    assert roster("remove", "PIC-001", "--yes").exit_code == 0
    with Roster(db) as store:
        assert store.feed(token) is None
    assert roster("purge", "PIC-001", "--yes").exit_code == 0
    enrolled(roster, course)


def test_a_damaged_row_does_not_stop_a_change_with_a_traceback(roster, course, db):
    enrolled(roster, course)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE patients SET changed_at = 'garbage'")
    result = roster("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "r", "--by", "n")
    assert result.exit_code == 2
    one_error(result.output, "PIC-001", "damaged")


# -- row 11: kill -9 of a roster writer: tests/test_store.py -------------------------------------------
# test_kill_9_during_a_burst_of_writes_loses_nothing_acknowledged: every acknowledged change survives,
# and nothing but the roster's own files is left in its folder.


def test_a_removed_patient_gets_no_feed_again(roster, course, db):
    """`serve` and `publish` re-render stale feeds at start: never a removed patient's."""
    enrolled(roster, course)
    assert roster("remove", "PIC-001", "--yes").exit_code == 0
    with Roster(db) as store:
        assert store.refresh(force=True) == 0
        assert store.feed_count() == 0 and store.published() == []
