"""The roster: enrolled patients' courses, their changes, feed tokens and rendered feeds, in SQLite.

Glossary:

- **Roster**: the SQLite file (``--db``) a unit keeps; one row per enrolled patient.
- **Course text**: the patient's course file (TOML) as the nurse wrote it, with every change recorded
  through the roster appended as a ``[[changes]]`` block (comments kept). ``export`` gives it back.
- **Course files**: copies of the site and regimen files the course names by path, taken at
  ``add``, so the roster never depends on files that may move or change later.
- **Journal**: who did what to a patient's entry and when (add, change with its reason, rotate,
  remove). It stays when the patient is removed; only ``purge`` deletes it.
- **Removed**: taken off by ``remove``: token and feed deleted (the link dies), course and journal
  kept, nothing more recorded. ``purge`` deletes them; only then is the study number free again.
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
from typing import TYPE_CHECKING

from picture_schedule.core.model import Change, Course, Schedule
from picture_schedule.errors import InputError, RosterError, ScheduleError
from picture_schedule.loading.reader import NAME_MAX, check_text, read_text
from picture_schedule.roster.bookings import stored_bookings, with_booking_tables
from picture_schedule.roster.course_text import append_change, change_block, check_change
from picture_schedule.roster.feeds import Rendered, etag_of, render_feed, renderer_key
from picture_schedule.roster.migrations import (
    APPLICATION_ID,
    MIGRATIONS,
    Migration,
    migrate,
    schema_version,
)
from picture_schedule.roster.records import Enrolment, Feed, JournalEntry, PatientInfo
from picture_schedule.roster.stored_course import (
    CourseFile,
    load_stored_course,
    referenced_files,
)
from picture_schedule.roster.tokens import (
    TOKEN_PATTERN,
    new_token,
    static_name,
    token_hash,
)

if TYPE_CHECKING:
    from picture_schedule.roster.diary_cache import DiaryCache

BUSY_TIMEOUT_MS = 30_000

__all__ = ["BUSY_TIMEOUT_MS", "Enrolment", "Feed", "JournalEntry", "PatientInfo", "Roster", "default_db_path"]


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
            app_id = conn.execute("PRAGMA application_id").fetchone()["application_id"]
            version = schema_version(conn)
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and version != 0):
                raise RosterError("is an SQLite file but not a picture-schedule roster", source=self.label)
            if app_id == 0 and conn.execute("SELECT count(*) AS objects FROM sqlite_schema").fetchone()["objects"]:
                raise RosterError("is an SQLite file but not a picture-schedule roster", source=self.label)
            self.version = migrate(conn, migrations, self.label)
        opened = os.stat(self.path)
        self._identity = (opened.st_dev, opened.st_ino)  # healthy() notices a replaced file

    # connections
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row  # columns by name, never by position
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()["journal_mode"]
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
                if conn.in_transaction:  # a failed COMMIT may have ended it already
                    conn.execute("ROLLBACK")
                raise

    # reading
    def _row(self, conn: sqlite3.Connection, patient: str) -> sqlite3.Row:
        row = conn.execute(
            "SELECT id, course_text, templates, changed_at, changes, removed_at FROM patients WHERE patient = ?",
            (patient,)).fetchone()
        if row is None:
            raise InputError(f"no patient {patient!r} on the roster (see: picture-schedule roster list)",
                             source=self.label)
        return row

    def _active_row(self, conn: sqlite3.Connection, patient: str, refused: str) -> sqlite3.Row:
        """The patient's row; a removed patient is refused: ``refused`` says what cannot be done."""
        row = self._row(conn, patient)
        if row["removed_at"] is not None:
            raise InputError(f"patient {patient!r} was removed from the roster on {str(row['removed_at'])[:10]}: "
                             f"{refused} (their history: picture-schedule roster history {patient})",
                             source=self.label)
        return row

    def _damaged(self, patient: str, exc: Exception, what: str = "row") -> RosterError:
        """A row changed outside picture-schedule: one line naming the patient, never a traceback."""
        return RosterError(f"the stored {what} of patient {patient!r} is damaged ({' '.join(str(exc).split())})",
                           source=self.label)

    def _files(self, conn: sqlite3.Connection, patient_id: int) -> list[CourseFile]:
        rows = conn.execute("SELECT kind, ref, body FROM course_files WHERE patient_id = ? ORDER BY kind",
                            (patient_id,)).fetchall()
        return [CourseFile(row["kind"], row["ref"], row["body"]) for row in rows]

    _INFO = ("SELECT p.patient, p.course_text, p.changes, p.added_at, p.added_by, p.changed_at, p.file_name, "
             "p.removed_at, p.removed_by, t.created_at AS token_created FROM patients p "
             "LEFT JOIN tokens t ON t.patient_id = p.id")

    def patients(self, *, removed: bool = False) -> list[PatientInfo]:
        """The patients on the roster, by study number; ``removed``: instead, those removed (kept
        with their history until purged)."""
        where = "p.removed_at IS NOT NULL" if removed else "p.removed_at IS NULL"
        with self._guard():
            rows = self._conn().execute(f"{self._INFO} WHERE {where} ORDER BY p.patient").fetchall()
        return [self._info(row) for row in rows]

    def info(self, patient: str) -> PatientInfo:
        """One patient's entry (on the roster or removed)."""
        with self._guard():
            conn = self._conn()
            row = conn.execute(f"{self._INFO} WHERE p.patient = ?", (patient,)).fetchone()
            if row is None:
                self._row(conn, patient)  # raises the unknown-patient error
        return self._info(row)

    def _info(self, row: sqlite3.Row) -> PatientInfo:
        try:
            data = tomllib.loads(row["course_text"])
            token_created, removed_at = row["token_created"], row["removed_at"]
            return PatientInfo(
                patient=row["patient"], regimen=str(data.get("regimen", "picture")), start=str(data.get("start", "")),
                cycles=int(data.get("cycles", 0) or 0), language=str(data.get("language", "en")),
                changes=int(row["changes"]), added_at=_parse_iso(row["added_at"]), added_by=row["added_by"],
                changed_at=_parse_iso(row["changed_at"]), file_name=row["file_name"],
                token_created=_parse_iso(token_created) if token_created else None,
                removed_at=_parse_iso(removed_at) if removed_at is not None else None,
                removed_by=str(row["removed_by"]),
            )
        except (TypeError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
            raise self._damaged(str(row["patient"]), exc) from None

    def journal(self, patient: str) -> list[JournalEntry]:
        """Everything done to the patient's entry, oldest first (kept after removal, until purge)."""
        with self._guard():
            conn = self._conn()
            row = self._row(conn, patient)
            rows = conn.execute("SELECT at, action, by, reason, detail FROM journal WHERE patient_id = ? "
                                "ORDER BY id", (row["id"],)).fetchall()
        try:
            return [JournalEntry(_parse_iso(r["at"]), str(r["action"]), str(r["by"]), str(r["reason"]),
                                 str(r["detail"])) for r in rows]
        except (TypeError, ValueError) as exc:
            raise self._damaged(patient, exc, "journal") from None

    def course_text(self, patient: str) -> str:
        """The course file as it stands: the nurse's text, every recorded change and chair booking (``export``)."""
        with self._guard():
            row = self._row(conn := self._conn(), patient)
            return with_booking_tables(row["course_text"], stored_bookings(conn, row["id"]), f"roster {patient}")

    def course_files(self, patient: str) -> list[CourseFile]:
        """(kind, ref, text) of the site and regimen files the course names by path."""
        with self._guard():
            conn = self._conn()
            return self._files(conn, self._row(conn, patient)["id"])

    def course(self, patient: str) -> Course:
        """The patient's course, loaded from the roster (as ``--course`` would load the exported file)."""
        with self._guard():
            conn = self._conn()
            row = self._row(conn, patient)
            files, booked = self._files(conn, row["id"]), stored_bookings(conn, row["id"])
        return load_stored_course(row["course_text"], files, f"roster {patient}", row["templates"], booked)

    def diary_cache(self) -> DiaryCache:
        """The patients' printed diaries, kept until something they show changes (roster/diary_cache.py)."""
        from picture_schedule.roster.diary_cache import DiaryCache

        with self._guard():
            return DiaryCache(self._conn(), self.label, self.clock)

    def feed(self, token: str) -> Feed | None:
        """The feed a token opens, or None (unknown, rotated or removed: the caller cannot tell which)."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        with self._guard():
            row = self._conn().execute(
                "SELECT f.body, f.etag, f.last_modified, f.max_age, p.patient FROM tokens t "
                "JOIN feeds f ON f.patient_id = t.patient_id JOIN patients p ON p.id = t.patient_id "
                "WHERE t.token_hash = ?", (token_hash(token),)
            ).fetchone()
        if row is None:
            return None
        try:
            return Feed(bytes(row["body"]), str(row["etag"]), _parse_iso(row["last_modified"]), int(row["max_age"]))
        except (TypeError, ValueError) as exc:  # a row damaged outside picture-schedule: this feed only
            raise RosterError(f"the stored feed of patient {row['patient']!r} is damaged ({exc})",
                              source=self.label) from None

    def feed_count(self) -> int:
        """How many feeds a link opens (counted by SQLite: no feed body is read)."""
        with self._guard():
            return int(self._conn().execute(
                "SELECT count(*) AS feeds FROM tokens t JOIN feeds f ON f.patient_id = t.patient_id"
            ).fetchone()["feeds"])

    def published(self) -> list[tuple[str, Feed]]:
        """(static name, feed) of every active feed, for ``publish``."""
        with self._guard():
            rows = self._conn().execute(
                "SELECT t.static_name, f.body, f.etag, f.last_modified, f.max_age, p.patient FROM tokens t "
                "JOIN feeds f ON f.patient_id = t.patient_id JOIN patients p ON p.id = t.patient_id "
                "ORDER BY t.static_name").fetchall()
        published = []
        for r in rows:
            try:
                feed = Feed(bytes(r["body"]), str(r["etag"]), _parse_iso(r["last_modified"]), int(r["max_age"]))
            except (TypeError, ValueError) as exc:
                raise self._damaged(str(r["patient"]), exc, "feed") from None
            published.append((str(r["static_name"]), feed))
        return published

    def healthy(self) -> bool:
        """The roster file is still the one opened (not replaced or deleted), still an SQLite file,
        and answers a query."""
        try:
            info = os.stat(self.path)
            with open(self.path, "rb") as handle:
                magic = handle.read(16)
        except OSError:
            return False
        if (info.st_dev, info.st_ino) != self._identity or magic != b"SQLite format 3\x00":
            return False
        try:
            with self._guard():
                self._conn().execute("SELECT count(*) FROM patients").fetchone()
            return True
        except RosterError:
            return False

    def integrity(self) -> str:
        with self._guard():
            return self._conn().execute("PRAGMA integrity_check").fetchone()["integrity_check"]

    # writing
    def _now(self, conn: sqlite3.Connection | None = None, patient_id: int | None = None) -> dt.datetime:
        """Now, in whole seconds, and later than the patient's last change (Last-Modified must rise)."""
        now = self.clock().astimezone(dt.UTC).replace(microsecond=0)
        if conn is not None and patient_id is not None:
            row = conn.execute("SELECT p.patient, max(p.changed_at, coalesce(f.last_modified, '')) AS last "
                               "FROM patients p LEFT JOIN feeds f ON f.patient_id = p.id WHERE p.id = ?",
                               (patient_id,)).fetchone()
            if row and row["last"]:
                try:
                    last = _parse_iso(row["last"])
                except (TypeError, ValueError) as exc:
                    raise self._damaged(str(row["patient"]), exc) from None
                if now <= last:
                    now = last + dt.timedelta(seconds=1)
        return now

    def _render(self, course: Course) -> Rendered:
        from picture_schedule.core.scheduler import schedule
        from picture_schedule.roster.summary import summary_json

        expanded = schedule(course)
        return Rendered(self.renderer(expanded), course.settings.feed_refresh_hours * 3600, summary_json(expanded))

    def _store_feed(self, conn: sqlite3.Connection, patient_id: int, rendered: Rendered, when: dt.datetime) -> None:
        conn.execute("INSERT OR REPLACE INTO feeds (patient_id, body, etag, last_modified, max_age, renderer) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (patient_id, rendered.body, etag_of(rendered.body), _iso(when),
                                                   rendered.max_age, renderer_key()))
        conn.execute("INSERT OR REPLACE INTO briefs (patient_id, summary) VALUES (?, ?)", (patient_id, rendered.summary))

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

    def add(self, course_file: str | Path, *, by: str = "", token: str | None = None, text: str | None = None,
            before_commit: Callable[[], None] | None = None) -> Enrolment:
        """Enrol the patient of ``course_file``: keep its text (and its site/regimen files), render the
        feed, store the hash of ``token`` (default: a new one). Refused if the course is invalid or the
        study number is on the roster, or was removed and not purged. (A caller passes ``token`` to
        build what carries the link, e.g. a diary, before anything is committed, and ``before_commit``
        to hand the link out while the enrolment can still be rolled back: if it raises, nothing is
        written. With ``text``, the course is that text, named ``course_file``, and its files are found
        beside that name: the web page's enrolment form.)"""
        from picture_schedule.loading import course_from_text, load_course

        check_text(by, NAME_MAX, source="--by")
        path = Path(course_file)  # validates; errors name the file and field
        course = load_course(path) if text is None else course_from_text(text, str(path), path.parent)
        text = read_text(path) if text is None else text
        files = referenced_files(text, path)
        templates = os.path.abspath(course.site.templates) if course.site and course.site.templates else ""
        # The feed comes from the stored copy, exactly as every later change will load it.
        stored = load_stored_course(text, files, f"roster {course.patient}", templates)
        rendered = self._render(stored)
        with self._write() as conn:
            existing = conn.execute("SELECT removed_at FROM patients WHERE patient = ?", (course.patient,)).fetchone()
            if existing is not None and existing["removed_at"] is None:
                raise InputError(f"patient {course.patient!r} is already on the roster (record changes with "
                                 "'roster change'; to start again, 'roster remove' and 'roster purge' first)",
                                 source=str(path))
            if existing is not None:
                raise InputError(f"patient {course.patient!r} was removed from the roster on "
                                 f"{str(existing['removed_at'])[:10]} and their history is kept: a study number is "
                                 f"enrolled again only after 'roster purge {course.patient}', which deletes that history",
                                 source=str(path))
            now = self._now()
            cur = conn.execute(
                "INSERT INTO patients (patient, course_text, file_name, templates, added_at, added_by, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (course.patient, text, path.name, templates, _iso(now), by, _iso(now)))
            patient_id = cur.lastrowid
            assert patient_id is not None
            for file in files:
                conn.execute("INSERT INTO course_files (patient_id, kind, ref, body) VALUES (?, ?, ?, ?)",
                             (patient_id, file.kind, file.ref, file.text))
            self._store_feed(conn, patient_id, rendered, now)
            token = self._store_token(conn, patient_id, now, token)
            self._journal(conn, patient_id, course.patient, "add", now, by, detail=path.name)
            if before_commit is not None:
                before_commit()
        return Enrolment(course.patient, token, stored)

    def change(self, patient: str, change: Change, *,
               before_commit: Callable[[Course], None] | None = None) -> Course:
        """Record ``change`` (its ``recorded`` is set here; ``by`` is required) and re-render the feed.

        The whole read-append-validate-render-write is one transaction, so concurrent changes queue
        and none is lost; a change that makes the course invalid is refused with the loader's
        message and nothing is written. ``before_commit`` gets the new course while the change can
        still be rolled back (if it raises, nothing is written).
        """
        check_change(change)
        with self._write() as conn:
            row = self._active_row(conn, patient, "no change can be recorded for a removed patient")
            patient_id, text, templates = row["id"], row["course_text"], row["templates"]
            files = self._files(conn, patient_id)
            label = f"roster {patient}"
            current = load_stored_course(text, files, label, templates)
            now = self._now(conn, patient_id)
            from zoneinfo import ZoneInfo

            recorded = now.astimezone(ZoneInfo(current.zone)).replace(tzinfo=None)
            change = dataclasses.replace(change, recorded=recorded, by=change.by.strip(), reason=change.reason.strip())
            new_text = append_change(text, change, label)
            course = load_stored_course(new_text, files, label, templates, stored_bookings(conn, patient_id))
            rendered = self._render(course)
            conn.execute("UPDATE patients SET course_text = ?, changed_at = ?, changes = changes + 1 WHERE id = ?",
                         (new_text, _iso(now), patient_id))
            self._store_feed(conn, patient_id, rendered, now)
            self._journal(conn, patient_id, patient, "change", now, change.by, change.reason, change_block(change))
            if before_commit is not None:
                before_commit(course)
        return course

    def rotate(self, patient: str, *, by: str = "", token: str | None = None,
               before_commit: Callable[[], None] | None = None) -> Enrolment:
        """A new token for ``patient`` (default: made here); the old link stops working at once.
        ``before_commit``: as for :meth:`add` (if it raises, the old link still works)."""
        check_text(by, NAME_MAX, source="--by")
        with self._write() as conn:
            row = self._active_row(conn, patient, "a removed patient gets no new link")
            patient_id = row["id"]
            now = self._now()
            token = self._store_token(conn, patient_id, now, token)
            self._journal(conn, patient_id, patient, "rotate", now, by)
            text, templates, files = row["course_text"], row["templates"], self._files(conn, patient_id)
            booked = stored_bookings(conn, patient_id)
            if before_commit is not None:
                before_commit()
        return Enrolment(patient, token, load_stored_course(text, files, f"roster {patient}", templates, booked))

    def remove(self, patient: str, *, by: str = "") -> None:
        """Take ``patient`` off the roster: their token and feed are deleted (the link dies at once,
        with the same 404 as an unknown link); the course, the changes and the journal are kept, and
        nothing more can be recorded for them. :meth:`purge` deletes them."""
        check_text(by, NAME_MAX, source="--by")
        with self._write() as conn:
            row = self._row(conn, patient)
            if row["removed_at"] is not None:
                raise InputError(f"patient {patient!r} was already removed on {str(row['removed_at'])[:10]}",
                                 source=self.label)
            now = self._now()
            conn.execute("DELETE FROM tokens WHERE patient_id = ?", (row["id"],))
            conn.execute("DELETE FROM feeds WHERE patient_id = ?", (row["id"],))
            conn.execute("UPDATE patients SET removed_at = ?, removed_by = ? WHERE id = ?", (_iso(now), by, row["id"]))
            self._journal(conn, row["id"], patient, "remove", now, by)

    def purge(self, patient: str, *, by: str = "") -> None:
        """Delete a removed patient for good: course, copies of their files, changes and journal. The
        roster's journal keeps one line (study number, time, who purged). Only a removed patient can be
        purged, so that two steps stand between a patient and the loss of their history."""
        check_text(by, NAME_MAX, source="--by")
        with self._write() as conn:
            row = self._row(conn, patient)
            if row["removed_at"] is None:
                raise InputError(f"patient {patient!r} is on the roster: remove them first "
                                 f"('roster remove {patient}'); only removed patients are purged", source=self.label)
            conn.execute("DELETE FROM patients WHERE id = ?", (row["id"],))  # cascades to files and journal
            self._journal(conn, None, patient, "purge", self._now(), by)

    def copy_into(self, copy: sqlite3.Connection) -> None:
        """Copy the whole roster into the connection ``copy`` with SQLite's backup API: one
        consistent snapshot, even while others write (see :mod:`~picture_schedule.roster.backup`)."""
        with self._guard():
            self._conn().backup(copy)

    def refresh(self, *, force: bool = False, on_error: Callable[[RosterError], None] | None = None) -> int:
        """Re-render feeds made by other code or data (after an upgrade); returns how many changed bytes.

        A patient whose stored row cannot be loaded raises a RosterError naming them; with
        ``on_error`` it is passed there instead and the other patients are refreshed (``serve``)."""
        key = renderer_key()
        with self._guard():
            stale = [r["patient"] for r in self._conn().execute(
                "SELECT p.patient FROM patients p LEFT JOIN feeds f ON f.patient_id = p.id "
                "WHERE p.removed_at IS NULL AND (? OR f.renderer IS NOT ?) ORDER BY p.patient",
                (force, key)).fetchall()]
        changed = 0
        for patient in stale:
            try:
                changed += self._refresh_one(patient, key)
            except (ScheduleError, ValueError, TypeError) as exc:
                if isinstance(exc, RosterError) and exc.source == self.label:
                    raise  # the roster itself failed (busy, not a database): not one patient's row
                damaged = RosterError(f"the stored row of patient {patient!r} is damaged "
                                      f"({' '.join(str(exc).split())})", source=self.label)
                if on_error is None:
                    raise damaged from None
                on_error(damaged)
        return changed

    def _refresh_one(self, patient: str, key: str) -> int:
        with self._write() as conn:
            try:
                row = self._row(conn, patient)
            except InputError:
                return 0  # purged meanwhile
            if row["removed_at"] is not None:
                return 0  # removed meanwhile: no feed any more
            patient_id = row["id"]
            course = load_stored_course(row["course_text"], self._files(conn, patient_id), f"roster {patient}",
                                        row["templates"], stored_bookings(conn, patient_id))
            rendered = self._render(course)
            old = conn.execute("SELECT etag, last_modified FROM feeds WHERE patient_id = ?",
                               (patient_id,)).fetchone()
            if old and old["etag"] == etag_of(rendered.body):
                conn.execute("UPDATE feeds SET renderer = ?, max_age = ? WHERE patient_id = ?",
                             (key, rendered.max_age, patient_id))
                conn.execute("INSERT OR REPLACE INTO briefs (patient_id, summary) VALUES (?, ?)",
                             (patient_id, rendered.summary))
                return 0
            now = self._now(conn, patient_id)
            self._store_feed(conn, patient_id, rendered, now)
            self._journal(conn, patient_id, patient, "refresh", now, detail="feed re-rendered")
            return 1
