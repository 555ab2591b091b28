"""The roster store: migrations, tokens, changes through the course rules, export, crash safety."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest

from picture_schedule import api
from picture_schedule.errors import InputError, ScheduleError
from picture_schedule.loading import load_course
from picture_schedule.core.model import Change, frozen_map
from picture_schedule.errors import RosterError
from picture_schedule.roster.feeds import etag_of, render_feed
from picture_schedule.roster.migrations import MIGRATIONS, Migration, migrate
from picture_schedule.roster.publish import publish
from picture_schedule.roster.store import Roster
from picture_schedule.roster.tokens import new_token, static_name, token_hash
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """The sample course beside its site file, as a nurse keeps them."""
    folder = tmp_path / "courses"
    folder.mkdir()
    shutil.copy(EXAMPLES / "course-example.toml", folder)
    shutil.copy(EXAMPLES / "site-nanjing.toml", folder)
    return folder


@pytest.fixture
def course_file(course_dir: Path) -> Path:
    return course_dir / "course-example.toml"


class Clock:
    """A clock that stands still unless moved: the store must still make Last-Modified rise."""

    def __init__(self) -> None:
        self.now = dt.datetime(2027, 1, 20, 2, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Roster:
    with Roster(tmp_path / "roster.sqlite3", clock=Clock()) as opened:
        yield opened


def delay(cycle: int = 3, days: int = 7, reason: str = "neutrophils low", by: str = "nurse Li") -> Change:
    return Change(cycle=cycle, reason=reason, delay_days=days, by=by)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}


# -- migrations -----------------------------------------------------------------------------------


def test_migrations_create_the_schema_from_an_empty_file(tmp_path):
    path = tmp_path / "new.sqlite3"
    Roster(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1].version
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {"patients", "course_files", "tokens", "feeds", "journal"} <= tables(path)
    assert (path.stat().st_mode & 0o777) == 0o600  # health data: the owner's only


def test_reopening_is_idempotent_and_keeps_the_data(tmp_path, course_file):
    path = tmp_path / "roster.sqlite3"
    with Roster(path) as first:
        first.add(course_file, by="nurse Li")
    for _ in range(3):
        with Roster(path) as again:
            assert again.version == MIGRATIONS[-1].version
            assert [p.patient for p in again.patients()] == ["PIC-001"]


def test_each_connection_enforces_foreign_keys_and_waits_when_busy(store):
    conn = store._conn()
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO feeds (patient_id, body, etag, last_modified, max_age, renderer) "
                     "VALUES (999, x'00', 'e', 'l', 1, 'r')")


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "roster.sqlite3"
    broken = (*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "broken", "CREATE TABLE extra (a);\nINSERT INTO nowhere VALUES (1);"))
    with pytest.raises(RosterError, match="no such table: nowhere"):
        Roster(path, migrations=broken)
    assert "extra" not in tables(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == MIGRATIONS[-1].version


def test_a_later_migration_upgrades_an_existing_roster(tmp_path, course_file):
    path = tmp_path / "roster.sqlite3"
    with Roster(path) as old:
        old.add(course_file)
    newer = (*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "notes", "ALTER TABLE patients ADD COLUMN note TEXT"))
    with Roster(path, migrations=newer) as upgraded:
        assert upgraded.version == MIGRATIONS[-1].version + 1
        assert [p.patient for p in upgraded.patients()] == ["PIC-001"]


def test_a_roster_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "roster.sqlite3"
    Roster(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {MIGRATIONS[-1].version + 5}")
    with pytest.raises(RosterError, match="newer than this picture-schedule"):
        Roster(path)


def test_concurrent_migration_runs_each_step_once(tmp_path):
    path = tmp_path / "roster.sqlite3"
    path.touch(mode=0o600)
    conns = [sqlite3.connect(path, isolation_level=None, timeout=10) for _ in range(2)]
    assert migrate(conns[0]) == MIGRATIONS[-1].version
    assert migrate(conns[1]) == MIGRATIONS[-1].version  # sees the new version, does nothing


@pytest.mark.parametrize("content", [b"not a database at all" * 100, None])
def test_files_that_are_not_rosters_are_refused(tmp_path, content):
    path = tmp_path / "other.sqlite3"
    if content is None:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE something (a)")
    else:
        path.write_bytes(content)
    with pytest.raises(RosterError) as caught:
        Roster(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RosterError, match="does not exist"):
        Roster(tmp_path / "nowhere" / "roster.sqlite3")


# -- tokens ---------------------------------------------------------------------------------------


def test_tokens_have_at_least_128_random_bits_and_are_url_safe():
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    for token in list(tokens)[:50]:
        assert len(token) == 32
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    # every character position varies (no fixed prefix or structure)
    for i in range(32):
        assert len({t[i] for t in tokens}) > 20


def test_the_roster_keeps_only_hashes_of_the_token(store, course_file, tmp_path):
    enrolment = store.add(course_file, by="nurse Li")
    token = enrolment.token
    stored = store._conn().execute("SELECT token_hash, static_name FROM tokens").fetchone()
    assert bytes(stored[0]) == hashlib.sha256(token.encode()).digest() == token_hash(token)
    assert stored[1] == static_name(token)
    # the public file name is a different derivation: not the token, not the lookup hash
    assert static_name(token) not in (token, token_hash(token).hex(), base64.urlsafe_b64encode(token_hash(token)).decode())
    assert token_hash(token).hex()[:32] != static_name(token)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("roster.sqlite3*"))
    assert token.encode() not in raw
    assert store.feed(token) is not None


def test_lookup_accepts_only_token_shaped_strings(store, course_file):
    store.add(course_file)
    for junk in ("", "short", "x" * 500, "../../etc/passwd", "a b c d e f g h i j k l m n o p"):
        assert store.feed(junk) is None


# -- add, change, export --------------------------------------------------------------------------


def test_the_feed_is_the_ics_of_the_course(store, course_file):
    enrolment = store.add(course_file)
    feed = store.feed(enrolment.token)
    assert feed.body == render_feed(api.schedule(load_course(course_file)))
    assert feed.etag == etag_of(feed.body) and feed.etag.startswith('"') and not feed.etag.startswith("W/")
    assert feed.max_age == 12 * 3600  # the site's [feed] refresh_hours


def test_a_change_is_appended_to_the_nurses_text_with_comments_kept(store, course_file):
    store.add(course_file)
    before = store.course_text("PIC-001")
    store.clock.now += dt.timedelta(minutes=5)
    store.change("PIC-001", Change(cycle=5, reason="patient's \"holiday\"", delay_days=3, by="nurse Li",
                                   dose_level=frozen_map({"oxaliplatin": -1})))
    text = store.course_text("PIC-001")
    assert text.startswith(before.rstrip("\n"))
    assert "# pseudonymous study number (required; never a name)" in text
    block = text[len(before.rstrip("\n")):]
    assert block.lstrip("\n").startswith("[[changes]]\ncycle = 5\ndelay_days = 3\n")
    assert "dose_level = { oxaliplatin = -1 }" in block
    last = tomllib.loads(text)["changes"][-1]
    assert last["reason"] == 'patient\'s "holiday"' and last["by"] == "nurse Li"
    # recorded: the store's clock, as wall time in the course's zone (Asia/Shanghai, UTC+8)
    assert last["recorded"] == dt.datetime(2027, 1, 20, 10, 35)


def test_export_round_trips_through_the_loader(store, course_file, course_dir):
    store.add(course_file)
    store.change("PIC-001", delay(cycle=3, days=7))
    store.change("PIC-001", Change(cycle=4, reason="HFS", hold_days=(8, 9), by="Dr Wang"))
    exported = course_dir / "exported.toml"
    exported.write_text(store.course_text("PIC-001"), encoding="utf-8")
    loaded = load_course(exported)
    from_roster = store.course("PIC-001")
    assert len(loaded.changes) == 4
    assert loaded.changes[-1].hold_days == (8, 9) and loaded.changes[-1].by == "Dr Wang"
    assert api.schedule(loaded).fingerprint() == api.schedule(from_roster).fingerprint()
    assert render_feed(api.schedule(loaded)) == store.feed(store.rotate("PIC-001").token).body


def test_a_change_that_breaks_the_course_is_refused_and_nothing_is_written(store, course_file):
    enrolment = store.add(course_file)
    before = (store.course_text("PIC-001"), store.feed(enrolment.token), len(store.journal("PIC-001")))
    for bad, message in (
        (Change(cycle=9, reason="x", delay_days=1, by="n"), "9 is outside 1–6"),
        (Change(cycle=2, reason="x", omit=("aspirin",), by="n"), "not an agent"),
        (Change(cycle=2, reason="x", dose_level=frozen_map({"capecitabine": -7}), by="n"), "level"),
        (Change(cycle=2, reason="x", hold_days=(20,), by="n"), "no oral doses"),
        (Change(cycle=2, reason="x", delay_days=400, by="n"), "outside"),
    ):
        with pytest.raises(ScheduleError, match=message) as caught:
            store.change("PIC-001", bad)
        assert "roster PIC-001" in str(caught.value)
    with pytest.raises(InputError, match="--by"):
        store.change("PIC-001", Change(cycle=2, reason="x", delay_days=1, by=" "))
    after = (store.course_text("PIC-001"), store.feed(enrolment.token), len(store.journal("PIC-001")))
    assert after == before


def test_last_modified_rises_with_each_change_even_within_a_second(store, course_file):
    enrolment = store.add(course_file)
    seen = [store.feed(enrolment.token)]
    for days in (1, 2, 3):
        store.change("PIC-001", delay(cycle=2, days=days, reason=f"delay {days}"))
        seen.append(store.feed(enrolment.token))
    stamps = [f.last_modified for f in seen]
    assert stamps == sorted(set(stamps))
    assert len({f.etag for f in seen}) == 4
    reasons = [e.reason for e in store.journal("PIC-001") if e.action == "change"]
    assert reasons == ["delay 1", "delay 2", "delay 3"]


def test_rotate_kills_the_old_token_at_once(store, course_file):
    old = store.add(course_file).token
    new = store.rotate("PIC-001", by="nurse Li").token
    assert old != new
    assert store.feed(old) is None
    assert store.feed(new) is not None
    assert [e.action for e in store.journal("PIC-001")] == ["add", "rotate"]


def test_remove_kills_the_feed_and_keeps_the_history(store, course_file):
    token = store.add(course_file, by="nurse Li").token
    store.change("PIC-001", delay())
    text = store.course_text("PIC-001")
    store.remove("PIC-001", by="nurse Li")
    assert store.feed(token) is None  # the same answer as for a token that never existed
    assert store.patients() == []
    assert [p.patient for p in store.patients(removed=True)] == ["PIC-001"]
    assert store.info("PIC-001").removed_by == "nurse Li"
    assert store.course_text("PIC-001") == text  # the course and its changes stay
    assert [(e.action, e.by, e.reason) for e in store.journal("PIC-001")] == [
        ("add", "nurse Li", ""), ("change", "nurse Li", "neutrophils low"), ("remove", "nurse Li", "")]
    conn = store._conn()
    for table in ("tokens", "feeds"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert store.feed_count() == 0 and store.published() == []
    assert store.refresh(force=True) == 0  # a removed patient has no feed to re-render


def test_a_removed_patient_cannot_be_changed_rotated_removed_again_or_re_enrolled(store, course_file):
    store.add(course_file)
    store.remove("PIC-001")
    for attempt, words in (
        (lambda: store.change("PIC-001", delay()), "no change can be recorded"),
        (lambda: store.rotate("PIC-001"), "no new link"),
        (lambda: store.remove("PIC-001"), "already removed"),
        (lambda: store.add(course_file), "enrolled again only after 'roster purge PIC-001'"),
    ):
        with pytest.raises(InputError, match=words) as caught:
            attempt()
        assert "PIC-001" in str(caught.value)
    assert [e.action for e in store.journal("PIC-001")] == ["add", "remove"]


def test_purge_deletes_a_removed_patient_for_good_and_frees_the_study_number(store, course_file):
    store.add(course_file)
    store.change("PIC-001", delay())
    with pytest.raises(InputError, match="remove them first"):
        store.purge("PIC-001")
    store.remove("PIC-001", by="nurse Li")
    store.purge("PIC-001", by="Dr Wang")
    with pytest.raises(InputError, match="no patient 'PIC-001'"):
        store.course_text("PIC-001")
    conn = store._conn()
    for table in ("patients", "course_files", "tokens", "feeds"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert [tuple(row) for row in conn.execute("SELECT patient_id, patient, action, by, reason, detail "
                                               "FROM journal")] == [(None, "PIC-001", "purge", "Dr Wang", "", "")]
    token = store.add(course_file).token  # the study number can be enrolled again
    assert store.feed(token) is not None
    assert [e.action for e in store.journal("PIC-001")] == ["add"]  # a new history


def test_a_patient_is_enrolled_once(store, course_file):
    store.add(course_file)
    with pytest.raises(InputError, match="already on the roster"):
        store.add(course_file)


def test_unknown_patients_are_named(store):
    for call in (lambda: store.course("PIC-404"), lambda: store.rotate("PIC-404"),
                 lambda: store.change("PIC-404", delay()), lambda: store.remove("PIC-404")):
        with pytest.raises(InputError, match="no patient 'PIC-404' on the roster"):
            call()


def test_the_roster_keeps_copies_of_the_files_a_course_names(store, tmp_path):
    """Site via ../, regimen by absolute path: both copied at add, the originals can go."""
    sites = tmp_path / "sites"
    sites.mkdir()
    shutil.copy(EXAMPLES / "site-nanjing.toml", sites / "nanjing.toml")
    regimen = tmp_path / "regimens" / "picture-local.toml"
    regimen.parent.mkdir()
    shutil.copy(ROOT / "picture_schedule" / "regimens" / "picture.toml", regimen)
    patients = tmp_path / "patients"
    patients.mkdir()
    text = (EXAMPLES / "course-example.toml").read_text(encoding="utf-8")
    text = text.replace('site = "site-nanjing.toml"', 'site = "../sites/nanjing.toml"')
    text = text.replace('regimen = "picture"', f'regimen = "{regimen}"')
    course = patients / "PIC-001.toml"
    course.write_text(text, encoding="utf-8")
    original = api.schedule(load_course(course))
    expected = render_feed(original)
    token = store.add(course).token
    assert store.feed(token).body == expected
    shutil.rmtree(sites)
    regimen.unlink()
    store.change("PIC-001", delay())
    assert {(k, r) for k, r, _ in store.course_files("PIC-001")} == {
        ("site", "../sites/nanjing.toml"), ("regimen", str(regimen))}
    assert store.course("PIC-001").settings.name == "Example day unit, Nanjing"
    store.change("PIC-001", Change(cycle=3, reason="undo", delay_days=-7, by="n"))
    assert store.feed(token).body != expected  # two changes recorded: new stamps and sequences
    assert api.schedule(store.course("PIC-001")).cycles[5].day1 == original.cycles[5].day1


def test_a_course_with_an_inline_changes_array_is_rewritten_whole(store, course_dir):
    course = course_dir / "inline.toml"
    course.write_text(textwrap.dedent("""\
        patient = "PIC-002"
        start = 2026-12-07
        site = "site-nanjing.toml"
        changes = [{ cycle = 2, delay_days = 7, reason = "flu" }]
        """), encoding="utf-8")
    store.add(course)
    store.change("PIC-002", delay(cycle=4, days=2))
    changes = tomllib.loads(store.course_text("PIC-002"))["changes"]
    assert [(c["cycle"], c["reason"]) for c in changes] == [(2, "flu"), (4, "neutrophils low")]


def test_refresh_re_renders_feeds_from_other_code(store, course_file):
    token = store.add(course_file).token
    original = store.feed(token)
    store._conn().execute("UPDATE feeds SET renderer = 'old', body = x'00', etag = '\"old\"'")
    assert store.refresh() == 1
    renewed = store.feed(token)
    assert renewed.body == original.body and renewed.last_modified > original.last_modified
    assert store.refresh() == 0


# -- publishing -----------------------------------------------------------------------------------


def test_publish_writes_active_feeds_and_deletes_the_rest(store, course_file, course_dir, tmp_path):
    out = tmp_path / "public"
    out.mkdir()
    (out / "README.txt").write_text("not ours")
    first = store.add(course_file)
    second_file = course_dir / "second.toml"
    second_file.write_text(course_file.read_text().replace("PIC-001", "PIC-002"))
    second = store.add(second_file)
    report = publish(store, out)
    assert (report.written, report.unchanged, report.deleted) == (2, 0, 0)
    for enrolment in (first, second):
        path = out / f"{enrolment.static_name}.ics"
        feed = store.feed(enrolment.token)
        assert path.read_bytes() == feed.body
        assert path.stat().st_mtime == feed.last_modified.timestamp()
        assert enrolment.token not in path.name
    assert publish(store, out) == type(report)(0, 2, 0)
    rotated = store.rotate("PIC-001")
    store.remove("PIC-002")
    report = publish(store, out)
    assert (report.written, report.deleted) == (1, 2)
    assert sorted(p.name for p in out.iterdir()) == sorted(["README.txt", f"{rotated.static_name}.ics"])


# -- crash safety ---------------------------------------------------------------------------------

WRITER = """
import sys
from picture_schedule.core.model import Change
from picture_schedule.roster.store import Roster
store = Roster(sys.argv[1])
start = int(sys.argv[2])
for i in range(start, start + 1000):
    store.change("PIC-001", Change(cycle=2, delay_days=1, reason=f"burst {i}", by="burst"))
    print(f"ACK {i}", flush=True)
"""


def test_kill_9_during_a_burst_of_writes_loses_nothing_acknowledged(tmp_path, course_file):
    db = tmp_path / "roster.sqlite3"
    with Roster(db) as store:
        token = store.add(course_file).token
    acked: list[int] = []
    in_flight: set[int] = set()  # committed by a writer killed before it could say so
    next_index = 0
    for kill_after, extra_ms in ((2, 0), (3, 37), (2, 91), (1, 150)):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(next_index)], stdout=subprocess.PIPE,
                                text=True, cwd=ROOT)
        got = 0
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while got < kill_after and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line.startswith("ACK "), line
            acked.append(int(line.split()[1]))
            got += 1
        time.sleep(extra_ms / 1000)  # land somewhere inside the next write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for line in proc.stdout.read().splitlines():  # acknowledged before the kill landed
            acked.append(int(line.split()[1]))
        proc.stdout.close()
        with Roster(db) as store:
            assert store.integrity() == "ok"
            recorded = [int(e.reason.split()[1]) for e in store.journal("PIC-001") if e.action == "change"]
            # every acknowledged change is there; beyond them, at most the one in flight at each kill
            assert set(acked) <= set(recorded)
            assert set(recorded) - set(acked) <= in_flight | {max(acked) + 1}
            in_flight |= set(recorded) - set(acked)
            # the course text, the change count and the feed cache were written together
            text_changes = tomllib.loads(store.course_text("PIC-001"))["changes"][2:]
            assert [int(c["reason"].split()[1]) for c in text_changes] == recorded
            assert store.info("PIC-001").changes == len(recorded)
            feed = store.feed(token)
            assert feed.body == render_feed(api.schedule(store.course("PIC-001")))
            next_index = max(recorded) + 1
        # SQLite's own files only: a killed roster writer leaves no temporary file behind
        files = {p.name for p in tmp_path.iterdir() if p.is_file()}
        assert "roster.sqlite3" in files
        assert files <= {"roster.sqlite3", "roster.sqlite3-wal", "roster.sqlite3-shm"}, files
    assert len(acked) >= 8


@pytest.mark.parametrize("changed", ["core/scheduler.py", "loading/course.py", "render/ics.py", "regimens/picture.toml"])
def test_cached_feeds_rerender_when_any_code_that_shapes_them_changes(changed, tmp_path, monkeypatch):
    """An upgrade that changes the scheduler, a loader, a renderer or a regimen changes the key."""
    import importlib.resources

    from picture_schedule.roster import feeds

    package = Path(feeds.__file__).resolve().parent.parent
    copy = tmp_path / "picture_schedule"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(importlib.resources, "files", lambda name: copy)
    monkeypatch.setattr(feeds, "_renderer_key", None)
    before = feeds.renderer_key()
    monkeypatch.setattr(feeds, "_renderer_key", None)
    assert feeds.renderer_key() == before  # stable when nothing changed
    with (copy / changed).open("a", encoding="utf-8") as handle:
        handle.write("\n# upgraded\n")
    monkeypatch.setattr(feeds, "_renderer_key", None)
    assert feeds.renderer_key() != before
