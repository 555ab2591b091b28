"""The roster: enrolled patients' courses, their changes, feed tokens and rendered feeds, in SQLite.

Glossary:

- **Roster**: the SQLite file (``--db``) a unit keeps; one row per enrolled patient.
- **Course text**: the patient's course file (TOML) as the nurse wrote it, with every change recorded
  through the roster appended as a ``[[changes]]`` block (comments kept). ``export`` gives it back.
- **Course files**: copies of the site and regimen files the course names by path, taken at
  ``add``, so the roster never depends on files that may move or change later.
- **Journal**: who did what to a patient's entry and when (add, change with its reason, rotate).
- **Token**: the secret in a patient's feed link, ≥ 128 random bits from :mod:`secrets`. The roster
  keeps only ``SHA-256(token)`` (to find the feed when the link is used) and a second, different
  derivation, the **static name**, which names the file ``publish`` writes. Neither gives the token
  back, so a link is shown once, when it is made; a lost link is replaced with ``rotate``.
- **Feed**: the patient's calendar (the bytes ``picture-schedule ics --course`` writes for the course,
  discreet, in the course's language), rendered once per change and kept with its ETag and
  Last-Modified, so serving a feed never renders anything.

Every change runs in one ``BEGIN IMMEDIATE`` transaction: read the course text, append the change,
load the result through the course loader (an invalid course is refused with the loader's message,
nothing written), expand, render, write. Concurrent writers queue on SQLite's write lock (busy
timeout); readers (the feed server) never wait in WAL mode.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sqlite3
import threading
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from picture_schedule.core.model import Change, Course, Schedule
from picture_schedule.errors import InputError, RosterError
from picture_schedule.roster.course_text import append_change, change_block
from picture_schedule.roster.feeds import etag_of, render_feed, renderer_key
from picture_schedule.roster.migrations import (
    APPLICATION_ID,
    MIGRATIONS,
    Migration,
    migrate,
)
from picture_schedule.roster.stored_course import load_stored_course, referenced_files
from picture_schedule.roster.tokens import (
    TOKEN_PATTERN,
    new_token,
    static_name,
    token_hash,
)

BUSY_TIMEOUT_MS = 30_000



# -- records --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Feed:
    """A patient's rendered calendar, as served."""

    body: bytes
    etag: str  # strong, quoted
    last_modified: dt.datetime  # UTC, whole seconds
    max_age: int  # seconds (the site's refresh interval)


@dataclasses.dataclass(frozen=True)
class Enrolment:
    """What ``add`` and ``rotate`` return: the only time the token exists outside a patient's phone."""

    patient: str
    token: str
    course: Course

    @property
    def static_name(self) -> str:
        return static_name(self.token)


@dataclasses.dataclass(frozen=True)
class PatientInfo:
    patient: str
    regimen: str
    start: str
    cycles: int
    language: str
    changes: int  # changes recorded through the roster
    added_at: dt.datetime
    added_by: str
    changed_at: dt.datetime
    file_name: str
    token_created: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    at: dt.datetime
    action: str  # add, change, rotate, remove, refresh
    by: str
    reason: str
    detail: str



# -- the store ------------------------------------------------------------------------------------

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def default_db_path() -> Path:
    """``roster.sqlite3`` in the platform's user data folder (platformdirs)."""
    from platformdirs import user_data_path

    return user_data_path("picture-schedule", appauthor=False) / "roster.sqlite3"


class Roster:
    """A roster file. Thread-safe: each thread gets its own SQLite connection.

    ``clock`` (aware datetimes) and ``renderer`` (Schedule → feed bytes) are arguments so tests and
    tools can fix them; the defaults are the wall clock and :func:`render_feed`.
    """

    def __init__(self, path: str | Path, *, clock: Clock = _utc_now,
                 renderer: Callable[[Schedule], bytes] = render_feed, create: bool = True,
                 migrations: Sequence[Migration] = MIGRATIONS) -> None:
        self.path = Path(path)
        self.label = str(path)
        self.clock = clock
        self.renderer = renderer
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise RosterError("is a folder; give a roster file name", source=self.label)
        if not self.path.exists():
            if not create:
                raise RosterError("no such roster (add a patient first: picture-schedule roster add)",
                                 source=self.label)
            if not self.path.parent.is_dir():
                raise RosterError(f"folder {str(self.path.parent)!r} does not exist", source=self.label)
            try:  # health data: readable by its owner only (SQLite gives -wal/-shm the same mode)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise RosterError(f"cannot be created ({exc.strerror})", source=self.label) from None
        with self._guard():
            conn = self._conn()
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and version != 0):
                raise RosterError("is an SQLite file but not a picture-schedule roster", source=self.label)
            if app_id == 0 and conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
                raise RosterError("is an SQLite file but not a picture-schedule roster", source=self.label)
            self.version = migrate(conn, migrations, self.label)

    # connections
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise RosterError(f"cannot use write-ahead logging (journal mode {mode})", source=self.label)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> Roster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite errors become one-line StoreErrors naming the roster."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "not a database" in text:
                text = "is not an SQLite roster file"
            elif "locked" in text or "busy" in text:
                text = f"is busy: another command held it for over {BUSY_TIMEOUT_MS // 1000} s ({exc})"
            raise RosterError(text, source=self.label) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error."""
        with self._guard():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # reading
    def _row(self, conn: sqlite3.Connection, patient: str) -> sqlite3.Row | tuple:
        row = conn.execute(
            "SELECT id, course_text, templates, changed_at, changes FROM patients WHERE patient = ?", (patient,)
        ).fetchone()
        if row is None:
            raise InputError(f"no patient {patient!r} on the roster (see: picture-schedule roster list)",
                             source=self.label)
        return row

    def _files(self, conn: sqlite3.Connection, patient_id: int) -> list[tuple[str, str, str]]:
        return conn.execute("SELECT kind, ref, body FROM course_files WHERE patient_id = ? ORDER BY kind",
                            (patient_id,)).fetchall()

    def patients(self) -> list[PatientInfo]:
        with self._guard():
            rows = self._conn().execute(
                "SELECT p.patient, p.course_text, p.changes, p.added_at, p.added_by, p.changed_at, "
                "p.file_name, t.created_at FROM patients p LEFT JOIN tokens t ON t.patient_id = p.id "
                "ORDER BY p.patient").fetchall()
        return [self._info(*row) for row in rows]

    def info(self, patient: str) -> PatientInfo:
        for info in self.patients():
            if info.patient == patient:
                return info
        with self._guard():
            self._row(self._conn(), patient)  # raises the unknown-patient error
        raise AssertionError("unreachable")

    def _info(self, patient: str, text: str, changes: int, added_at: str, added_by: str, changed_at: str,
              file_name: str, token_created: str | None) -> PatientInfo:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            data = {}
        start = data.get("start", "")
        return PatientInfo(
            patient=patient, regimen=str(data.get("regimen", "picture")), start=str(start),
            cycles=int(data.get("cycles", 0) or 0), language=str(data.get("language", "en")), changes=changes,
            added_at=_parse_iso(added_at), added_by=added_by, changed_at=_parse_iso(changed_at),
            file_name=file_name, token_created=_parse_iso(token_created) if token_created else None,
        )

    def journal(self, patient: str) -> list[JournalEntry]:
        with self._guard():
            conn = self._conn()
            row = self._row(conn, patient)
            rows = conn.execute("SELECT at, action, by, reason, detail FROM journal WHERE patient_id = ? "
                                "ORDER BY id", (row[0],)).fetchall()
        return [JournalEntry(_parse_iso(at), action, by, reason, detail) for at, action, by, reason, detail in rows]

    def course_text(self, patient: str) -> str:
        """The course file as it stands: the nurse's text plus every recorded change (``export``)."""
        with self._guard():
            return self._row(self._conn(), patient)[1]

    def course_files(self, patient: str) -> list[tuple[str, str, str]]:
        """(kind, ref, text) of the site and regimen files the course names by path."""
        with self._guard():
            conn = self._conn()
            return self._files(conn, self._row(conn, patient)[0])

    def course(self, patient: str) -> Course:
        """The patient's course, loaded from the roster (as ``--course`` would load the exported file)."""
        with self._guard():
            conn = self._conn()
            row = self._row(conn, patient)
            files = self._files(conn, row[0])
        return load_stored_course(row[1], files, f"roster {patient}", row[2])

    def feed(self, token: str) -> Feed | None:
        """The feed a token opens, or None (unknown, rotated or removed: the caller cannot tell which)."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        with self._guard():
            row = self._conn().execute(
                "SELECT f.body, f.etag, f.last_modified, f.max_age FROM tokens t "
                "JOIN feeds f ON f.patient_id = t.patient_id WHERE t.token_hash = ?", (token_hash(token),)
            ).fetchone()
        if row is None:
            return None
        return Feed(bytes(row[0]), row[1], _parse_iso(row[2]), row[3])

    def published(self) -> list[tuple[str, Feed]]:
        """(static name, feed) of every active feed, for ``publish``."""
        with self._guard():
            rows = self._conn().execute(
                "SELECT t.static_name, f.body, f.etag, f.last_modified, f.max_age FROM tokens t "
                "JOIN feeds f ON f.patient_id = t.patient_id ORDER BY t.static_name").fetchall()
        return [(name, Feed(bytes(body), etag, _parse_iso(lm), age)) for name, body, etag, lm, age in rows]

    def healthy(self) -> bool:
        try:
            with self._guard():
                self._conn().execute("SELECT count(*) FROM patients").fetchone()
            return True
        except RosterError:
            return False

    def integrity(self) -> str:
        with self._guard():
            return self._conn().execute("PRAGMA integrity_check").fetchone()[0]

    # writing
    def _now(self, conn: sqlite3.Connection | None = None, patient_id: int | None = None) -> dt.datetime:
        """Now, in whole seconds, and later than the patient's last change (Last-Modified must rise)."""
        now = self.clock().astimezone(dt.UTC).replace(microsecond=0)
        if conn is not None and patient_id is not None:
            row = conn.execute("SELECT max(p.changed_at, coalesce(f.last_modified, '')) FROM patients p "
                               "LEFT JOIN feeds f ON f.patient_id = p.id WHERE p.id = ?", (patient_id,)).fetchone()
            if row and row[0]:
                last = _parse_iso(row[0])
                if now <= last:
                    now = last + dt.timedelta(seconds=1)
        return now

    def _render(self, course: Course) -> tuple[bytes, int]:
        from picture_schedule import api

        body = self.renderer(api.schedule(course))
        return body, course.settings.feed_refresh_hours * 3600

    def _store_feed(self, conn: sqlite3.Connection, patient_id: int, body: bytes, max_age: int,
                    when: dt.datetime) -> None:
        conn.execute(
            "INSERT INTO feeds (patient_id, body, etag, last_modified, max_age, renderer) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (patient_id) DO UPDATE SET body = excluded.body, etag = excluded.etag, "
            "last_modified = excluded.last_modified, max_age = excluded.max_age, renderer = excluded.renderer",
            (patient_id, body, etag_of(body), _iso(when), max_age, renderer_key()))

    def _store_token(self, conn: sqlite3.Connection, patient_id: int, when: dt.datetime,
                     token: str | None = None) -> str:
        token = token or new_token()
        if not TOKEN_PATTERN.fullmatch(token) or len(token) < 32:
            raise InputError("a feed token must be 32 or more URL-safe characters (use new_token())")
        conn.execute("DELETE FROM tokens WHERE patient_id = ?", (patient_id,))
        conn.execute("INSERT INTO tokens (patient_id, token_hash, static_name, created_at) VALUES (?, ?, ?, ?)",
                     (patient_id, token_hash(token), static_name(token), _iso(when)))
        return token

    @staticmethod
    def _journal(conn: sqlite3.Connection, patient_id: int | None, patient: str, action: str, when: dt.datetime,
                 by: str = "", reason: str = "", detail: str = "") -> None:
        conn.execute("INSERT INTO journal (patient_id, patient, action, at, by, reason, detail) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", (patient_id, patient, action, _iso(when), by, reason, detail))

    def add(self, course_file: str | Path, *, by: str = "", token: str | None = None) -> Enrolment:
        """Enrol the patient of ``course_file``: keep its text (and its site/regimen files), render the
        feed, store the hash of ``token`` (default: a new one). Refused if the course is invalid or the
        patient is already enrolled. (A caller passes ``token`` to build what carries the link, e.g.
        a diary, before anything is committed.)"""
        from picture_schedule.loading import load_course

        path = Path(course_file)
        course = load_course(path)  # validates; errors name the file and field
        text = path.read_text(encoding="utf-8")
        files = referenced_files(text, path)
        templates = os.path.abspath(course.site.templates) if course.site and course.site.templates else ""
        # The feed comes from the stored copy, exactly as every later change will load it.
        stored = load_stored_course(text, files, f"roster {course.patient}", templates)
        body, max_age = self._render(stored)
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM patients WHERE patient = ?", (course.patient,)).fetchone():
                raise InputError(f"patient {course.patient!r} is already on the roster (record changes with "
                                 "'roster change'; to start again, 'roster remove' first)", source=str(path))
            now = self._now()
            cur = conn.execute(
                "INSERT INTO patients (patient, course_text, file_name, templates, added_at, added_by, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (course.patient, text, path.name, templates, _iso(now), by, _iso(now)))
            patient_id = cur.lastrowid
            assert patient_id is not None
            for kind, ref, file_text in files:
                conn.execute("INSERT INTO course_files (patient_id, kind, ref, body) VALUES (?, ?, ?, ?)",
                             (patient_id, kind, ref, file_text))
            self._store_feed(conn, patient_id, body, max_age, now)
            token = self._store_token(conn, patient_id, now, token)
            self._journal(conn, patient_id, course.patient, "add", now, by, detail=path.name)
        return Enrolment(course.patient, token, stored)

    def change(self, patient: str, change: Change) -> Course:
        """Record ``change`` (its ``recorded`` is set here; ``by`` is required) and re-render the feed.

        The whole read-append-validate-render-write is one transaction, so concurrent changes queue
        and none is lost; a change that makes the course invalid is refused with the loader's
        message and nothing is written.
        """
        if not change.by.strip():
            raise InputError("say who records the change (--by)", source="--by")
        if not change.reason.strip():
            raise InputError("every change needs its reason (--reason)", source="--reason")
        with self._write() as conn:
            row = self._row(conn, patient)
            patient_id, text, templates = row[0], row[1], row[2]
            files = self._files(conn, patient_id)
            label = f"roster {patient}"
            current = load_stored_course(text, files, label, templates)
            now = self._now(conn, patient_id)
            from zoneinfo import ZoneInfo

            recorded = now.astimezone(ZoneInfo(current.zone)).replace(tzinfo=None)
            change = dataclasses.replace(change, recorded=recorded, by=change.by.strip(), reason=change.reason.strip())
            new_text = append_change(text, change, label)
            course = load_stored_course(new_text, files, label, templates)
            body, max_age = self._render(course)
            conn.execute("UPDATE patients SET course_text = ?, changed_at = ?, changes = changes + 1 WHERE id = ?",
                         (new_text, _iso(now), patient_id))
            self._store_feed(conn, patient_id, body, max_age, now)
            self._journal(conn, patient_id, patient, "change", now, change.by, change.reason, change_block(change))
        return course

    def rotate(self, patient: str, *, by: str = "", token: str | None = None) -> Enrolment:
        """A new token for ``patient`` (default: made here); the old link stops working at once."""
        with self._write() as conn:
            row = self._row(conn, patient)
            patient_id = row[0]
            now = self._now()
            token = self._store_token(conn, patient_id, now, token)
            self._journal(conn, patient_id, patient, "rotate", now, by)
            text, templates, files = row[1], row[2], self._files(conn, patient_id)
        return Enrolment(patient, token, load_stored_course(text, files, f"roster {patient}", templates))

    def remove(self, patient: str, *, by: str = "") -> None:
        """Take ``patient`` off the roster: course, changes, token and feed go; one journal line stays."""
        with self._write() as conn:
            row = self._row(conn, patient)
            conn.execute("DELETE FROM patients WHERE id = ?", (row[0],))
            self._journal(conn, None, patient, "remove", self._now(), by)

    def refresh(self, *, force: bool = False) -> int:
        """Re-render feeds made by other code or data (after an upgrade); returns how many changed bytes."""
        key = renderer_key()
        with self._guard():
            stale = [p for (p,) in self._conn().execute(
                "SELECT p.patient FROM patients p LEFT JOIN feeds f ON f.patient_id = p.id "
                "WHERE ? OR f.renderer IS NOT ? ORDER BY p.patient", (force, key)).fetchall()]
        changed = 0
        for patient in stale:
            with self._write() as conn:
                try:
                    row = self._row(conn, patient)
                except InputError:
                    continue  # removed meanwhile
                patient_id = row[0]
                course = load_stored_course(row[1], self._files(conn, patient_id), f"roster {patient}", row[2])
                body, max_age = self._render(course)
                old = conn.execute("SELECT etag, last_modified FROM feeds WHERE patient_id = ?",
                                   (patient_id,)).fetchone()
                if old and old[0] == etag_of(body):
                    conn.execute("UPDATE feeds SET renderer = ?, max_age = ? WHERE patient_id = ?",
                                 (key, max_age, patient_id))
                    continue
                now = self._now(conn, patient_id)
                self._store_feed(conn, patient_id, body, max_age, now)
                self._journal(conn, patient_id, patient, "refresh", now, detail="feed re-rendered")
                changed += 1
        return changed


