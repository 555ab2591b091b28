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

import base64
import dataclasses
import datetime as dt
import hashlib
import os
import re
import secrets
import sqlite3
import tempfile
import threading
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from picture_schedule.errors import InputError, ScheduleError
from picture_schedule.core.model import Change, Course, Schedule

__all__ = [
    "MIGRATIONS", "Enrolment", "Feed", "JournalEntry", "Migration", "PatientInfo", "Store", "StoreError",
    "default_db_path", "migrate", "new_token", "render_feed", "static_name", "token_hash",
]

TOKEN_BYTES = 24  # 192 random bits; token_urlsafe(24) is 32 characters of [A-Za-z0-9_-]
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,128}")  # what a link may carry (≥ 128 bits)
STATIC_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
_STATIC_PREFIX = b"picture-schedule/static-feed-name/v1\0"
BUSY_TIMEOUT_MS = 30_000
APPLICATION_ID = 0x50494354  # "PICT": marks the file as a picture-schedule roster


class StoreError(ScheduleError):
    """The roster cannot be opened, read or written (not a roster, newer schema, disk error…)."""


# -- tokens ---------------------------------------------------------------------------------------


def new_token() -> str:
    """A fresh feed token: 192 bits from the OS's CSPRNG, URL-safe (32 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """What the roster stores to find a feed by its token (SHA-256, 32 bytes)."""
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


def static_name(token: str) -> str:
    """The published file name of a token's feed: a different derivation from :func:`token_hash`.

    Neither the token nor the stored lookup hash can be computed from it, and it cannot be computed
    from the lookup hash, so the static site's names and the server's lookup hashes are separate
    secrets. 192 bits, URL-safe, 32 characters.
    """
    digest = hashlib.sha256(_STATIC_PREFIX + token.encode("ascii", "replace")).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode("ascii")


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


# -- migrations -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "patients, course files, tokens, feeds, journal", """
        CREATE TABLE patients (
            id          INTEGER PRIMARY KEY,
            patient     TEXT NOT NULL UNIQUE,
            course_text TEXT NOT NULL,
            file_name   TEXT NOT NULL,
            templates   TEXT NOT NULL DEFAULT '',
            added_at    TEXT NOT NULL,
            added_by    TEXT NOT NULL DEFAULT '',
            changed_at  TEXT NOT NULL,
            changes     INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE TABLE course_files (
            patient_id INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            kind       TEXT NOT NULL CHECK (kind IN ('site', 'regimen')),
            ref        TEXT NOT NULL,
            body       TEXT NOT NULL,
            PRIMARY KEY (patient_id, kind)
        ) STRICT;
        CREATE TABLE tokens (
            patient_id  INTEGER PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            token_hash  BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
            static_name TEXT NOT NULL UNIQUE,
            created_at  TEXT NOT NULL
        ) STRICT;
        CREATE TABLE feeds (
            patient_id    INTEGER PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            body          BLOB NOT NULL,
            etag          TEXT NOT NULL,
            last_modified TEXT NOT NULL,
            max_age       INTEGER NOT NULL,
            renderer      TEXT NOT NULL
        ) STRICT;
        CREATE TABLE journal (
            id         INTEGER PRIMARY KEY,
            patient_id INTEGER REFERENCES patients(id) ON DELETE CASCADE,
            patient    TEXT NOT NULL,
            action     TEXT NOT NULL,
            at         TEXT NOT NULL,
            by         TEXT NOT NULL DEFAULT '',
            reason     TEXT NOT NULL DEFAULT '',
            detail     TEXT NOT NULL DEFAULT ''
        ) STRICT;
        CREATE INDEX journal_by_patient ON journal(patient_id, id);
    """),
)


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS, label: str = "") -> int:
    """Bring the schema to the last migration; each step in its own transaction. Returns the version.

    Safe when several processes open a new roster at once: the version is read again under the
    write lock, so each step runs exactly once.
    """
    latest = migrations[-1].version if migrations else 0
    for migration in migrations:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > latest:
            raise StoreError(f"the roster has schema version {current}, newer than this picture-schedule "
                             f"knows ({latest}): upgrade picture-schedule", source=label or None)
        if migration.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if migration.version > current:
                if migration.version != current + 1:
                    raise StoreError(f"schema version {current} cannot be upgraded by migration "
                                     f"{migration.version}", source=label or None)
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(migration.version)}")
                if migration.version == 1:
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _statements(sql: str) -> Iterator[str]:
    """Split a migration script into statements (``executescript`` would commit on its own)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


def default_db_path() -> Path:
    """``roster.sqlite3`` in the platform's user data folder (platformdirs)."""
    from platformdirs import user_data_path

    return user_data_path("picture-schedule", appauthor=False) / "roster.sqlite3"


# -- rendering ------------------------------------------------------------------------------------


def render_feed(schedule: Schedule) -> bytes:
    """A patient's feed: exactly what ``picture-schedule ics --course FILE`` writes with its defaults
    (discreet titles, the course's language, reminders, every kind, a subscription feed)."""
    from picture_schedule.render.ics import to_ics

    return to_ics(schedule)


_renderer_key: str | None = None


def renderer_key() -> str:
    """Changes whenever installed code or data that shapes a feed changes (cached feeds then re-render)."""
    global _renderer_key
    if _renderer_key is None:
        from importlib import metadata, resources

        from picture_schedule import __version__

        digest = hashlib.sha256(__version__.encode())
        package = resources.files("picture_schedule")
        for folder in (package, package / "render", package / "regimens"):
            for item in sorted(folder.iterdir(), key=lambda p: p.name):
                if item.name.endswith((".py", ".toml")):
                    digest.update(item.name.encode() + b"\0" + item.read_bytes())
        try:
            from picture_schedule.resources import templates_dir

            for po in sorted(Path(templates_dir()).rglob("*.po")):
                digest.update(po.name.encode() + b"\0" + po.read_bytes())
        except Exception:  # noqa: BLE001  (templates are optional for the key)
            pass
        for dist in ("icalendar", "holidays", "tzdata"):
            try:
                digest.update(f"{dist}={metadata.version(dist)}".encode())
            except metadata.PackageNotFoundError:
                pass
        _renderer_key = digest.hexdigest()[:16]
    return _renderer_key


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


# -- course text ----------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_value(value: Any) -> str:
    import tomli_w

    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return tomli_w.dumps({"v": value})[4:].rstrip("\n")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_value(key)


def change_table(change: Change) -> dict[str, Any]:
    """A change as the ``[[changes]]`` table of a course file."""
    table: dict[str, Any] = {"cycle": change.cycle}
    if change.delay_days:
        table["delay_days"] = change.delay_days
    if change.dose_level:
        levels = dict(change.dose_level)
        table["dose_level"] = levels["all"] if list(levels) == ["all"] else levels
    if change.omit:
        table["omit"] = list(change.omit)
    if change.hold_days:
        table["hold_days"] = list(change.hold_days)
    if change.stop:
        table["stop"] = True
    if change.prescribed:
        table["prescribed"] = {k: {"amount": _number(p.amount), "unit": p.unit} for k, p in change.prescribed.items()}
    table["reason"] = change.reason
    if change.recorded is not None:
        table["recorded"] = change.recorded
    if change.by:
        table["by"] = change.by
    return table


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def change_block(change: Change) -> str:
    """The TOML text appended to a course file for ``change`` (inline tables, like a nurse writes)."""
    lines = ["[[changes]]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in change_table(change).items()]
    return "\n".join(lines) + "\n"


def append_change(text: str, change: Change, label: str) -> str:
    """The course text with ``change`` appended as a ``[[changes]]`` block, comments kept.

    A course whose changes are an inline array (``changes = [ … ]``) cannot be appended to; it is
    rewritten whole (its comments are lost, its content kept).
    """
    from picture_schedule.loading import parse_toml

    block = change_block(change)
    candidate = text.rstrip("\n") + "\n\n" + block
    try:
        tomllib.loads(candidate)
        return candidate
    except tomllib.TOMLDecodeError:
        pass
    import tomli_w

    data = parse_toml(text, label)
    changes = data.get("changes")
    if changes is not None and not isinstance(changes, list):
        raise InputError("'changes' is not a list of tables; fix the course file", source=label, field="changes")
    data["changes"] = [*(changes or []), change_table(change)]
    return tomli_w.dumps(data)


# -- the store ------------------------------------------------------------------------------------

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


class Store:
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
            raise StoreError("is a folder; give a roster file name", source=self.label)
        if not self.path.exists():
            if not create:
                raise StoreError("no such roster (add a patient first: picture-schedule roster add)",
                                 source=self.label)
            if not self.path.parent.is_dir():
                raise StoreError(f"folder {str(self.path.parent)!r} does not exist", source=self.label)
            try:  # health data: readable by its owner only (SQLite gives -wal/-shm the same mode)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise StoreError(f"cannot be created ({exc.strerror})", source=self.label) from None
        with self._guard():
            conn = self._conn()
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and version != 0):
                raise StoreError("is an SQLite file but not a picture-schedule roster", source=self.label)
            if app_id == 0 and conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
                raise StoreError("is an SQLite file but not a picture-schedule roster", source=self.label)
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
                raise StoreError(f"cannot use write-ahead logging (journal mode {mode})", source=self.label)
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

    def __enter__(self) -> Store:
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
            raise StoreError(text, source=self.label) from None

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
        except StoreError:
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


# -- courses from stored text ---------------------------------------------------------------------


def referenced_files(text: str, course_file: Path) -> list[tuple[str, str, str]]:
    """(kind, ref, text) of the site and regimen files a course file names by path."""
    from picture_schedule.loading import builtin_regimens, parse_toml

    data = parse_toml(text, str(course_file))
    folder = course_file.parent
    found = []
    site = data.get("site")
    if isinstance(site, str):
        found.append(("site", site, _read_ref(folder, site, course_file, "site")))
    regimen = data.get("regimen", "picture")
    if isinstance(regimen, str) and regimen not in builtin_regimens():
        found.append(("regimen", regimen, _read_ref(folder, regimen, course_file, "regimen")))
    return found


def _read_ref(folder: Path, ref: str, course_file: Path, field: str) -> str:
    path = Path(ref) if Path(ref).is_absolute() else folder / ref
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{ref!r} cannot be read ({exc})", source=str(course_file), field=field) from None


def load_stored_course(text: str, files: Sequence[tuple[str, str, str]], label: str, templates: str = "") -> Course:
    """Load a course from its stored text and copies of the files it names, exactly as
    ``load_course`` loads the file beside those files (same relative names, same loader)."""
    from picture_schedule.loading import course_from_data, parse_toml

    data = parse_toml(text, label)
    with tempfile.TemporaryDirectory(prefix="picture-roster-") as tmp:
        root = Path(tmp)
        depth = max((Path(ref).parts.count("..") for _, ref, _ in files if not Path(ref).is_absolute()), default=0)
        folder = root.joinpath(*(["course"] * (depth + 1)))
        folder.mkdir(parents=True)
        for kind, ref, body in files:
            if Path(ref).is_absolute():
                target = root / "absolute" / kind / Path(ref).name
                data[kind] = str(target)
            else:
                target = Path(os.path.normpath(folder / ref))
                if root not in target.parents:
                    raise StoreError(f"stored {kind} path {ref!r} leaves its folder", source=label)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        course = course_from_data(data, label, folder)
    if templates and course.site is not None and course.site.templates:
        course = dataclasses.replace(course, site=dataclasses.replace(course.site, templates=templates))
    return course


# -- static publishing ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PublishReport:
    written: int
    unchanged: int
    deleted: int


def publish(store: Store, out: str | Path) -> PublishReport:
    """Write every active feed to ``out/<static name>.ics`` (atomically, one file at a time), leave
    unchanged files alone, delete the files of removed or rotated feeds. Each file's modification time
    is its feed's Last-Modified, so a static web server sends the same Last-Modified as ``serve``.

    Only files named like a static name (32 URL-safe characters + ``.ics``) are ever deleted.
    """
    from picture_schedule.output import write_atomic

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise StoreError("is not a folder", source=str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot be created ({exc.strerror})", source=str(folder)) from None
    store.refresh()
    active = store.published()
    keep = set()
    written = unchanged = deleted = 0
    for name, feed in active:
        target = folder / f"{name}.ics"
        keep.add(target.name)
        stamp = feed.last_modified.timestamp()
        try:
            same = target.read_bytes() == feed.body
        except OSError:
            same = False
        if not same:
            write_atomic(target, feed.body, mode=0o644)
            written += 1
        else:
            unchanged += 1
        if not same or os.stat(target).st_mtime != stamp:
            os.utime(target, (stamp, stamp))
    for item in folder.iterdir():
        if item.suffix == ".ics" and STATIC_NAME_PATTERN.fullmatch(item.stem) and item.name not in keep:
            item.unlink(missing_ok=True)
            deleted += 1
    return PublishReport(written, unchanged, deleted)
