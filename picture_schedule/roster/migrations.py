"""The roster schema: numbered migrations applied in order, one transaction each."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator, Sequence

from picture_schedule.errors import RosterError

APPLICATION_ID = 0x50494354  # "PICT": marks the file as a picture-schedule roster

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
    # Removal is soft: the patient's token and feed go (the link dies), the course and the journal
    # stay until `roster purge`. removed_at is NULL while the patient is on the roster.
    Migration(2, "soft removal: patients.removed_at and removed_by", """
        ALTER TABLE patients ADD COLUMN removed_at TEXT;
        ALTER TABLE patients ADD COLUMN removed_by TEXT NOT NULL DEFAULT '';
    """),
    # Printed diaries, kept until something they show changes (roster/diary_cache.py): one a patient,
    # language, paper, print size and engine. Health data like the rest: they go with the patient,
    # on removal (the trigger) as on purge (the cascade).
    Migration(3, "kept diary PDFs: diary_pdfs", """
        CREATE TABLE diary_pdfs (
            patient_id  INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            language    TEXT NOT NULL,
            paper       TEXT NOT NULL,
            large_print INTEGER NOT NULL CHECK (large_print IN (0, 1)),
            engine      TEXT NOT NULL,
            digest      TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            printed_at  TEXT NOT NULL,
            pdf         BLOB NOT NULL,
            PRIMARY KEY (patient_id, language, paper, large_print, engine)
        ) STRICT;
        CREATE TRIGGER diary_pdfs_go_on_removal AFTER UPDATE OF removed_at ON patients
        WHEN NEW.removed_at IS NOT NULL
        BEGIN
            DELETE FROM diary_pdfs WHERE patient_id = NEW.id;
        END;
    """),
    # Day-1 chair bookings (`chairs plan --db … --book`, roster/bookings.py): one a patient and
    # cycle, the appointment time in the patient's outputs. revision counts how many times the
    # cycle was booked (calendar SEQUENCE); recorded is the wall time in the course's zone when it
    # was last booked. They stay with the course on removal and go with it on purge.
    Migration(4, "chair bookings: bookings", """
        CREATE TABLE bookings (
            patient_id INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            cycle      INTEGER NOT NULL CHECK (cycle >= 1),
            day        TEXT NOT NULL,
            chair      TEXT NOT NULL,
            start_time TEXT NOT NULL,
            end_time   TEXT NOT NULL,
            revision   INTEGER NOT NULL CHECK (revision >= 1),
            recorded   TEXT NOT NULL,
            booked_by  TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (patient_id, cycle)
        ) STRICT;
    """),
    # The unit's web page (web/): staff accounts (Argon2 hashes, never passwords), failed logins for
    # throttling, and each patient's schedule brief (cycles and appointments as JSON, written with the
    # feed; a table of its own so the list never reads a feed body) so the patient list never expands
    # a schedule. Every feed re-renders once to fill its brief.
    Migration(5, "web page: staff, login_failures, briefs", """
        CREATE TABLE staff (
            id            INTEGER PRIMARY KEY,
            username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
            role          TEXT NOT NULL CHECK (role IN ('viewer', 'nurse', 'coordinator')),
            password_hash TEXT NOT NULL,
            language      TEXT NOT NULL DEFAULT 'en',
            created_at    TEXT NOT NULL,
            created_by    TEXT NOT NULL DEFAULT '',
            disabled_at   TEXT,
            session_epoch INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE TABLE login_failures (
            username TEXT NOT NULL COLLATE NOCASE,
            address  TEXT NOT NULL,
            at       TEXT NOT NULL
        ) STRICT;
        CREATE INDEX login_failures_by_user ON login_failures(username, at);
        CREATE INDEX login_failures_by_address ON login_failures(address, at);
        CREATE TABLE briefs (
            patient_id INTEGER PRIMARY KEY REFERENCES patients(id) ON DELETE CASCADE,
            summary    TEXT NOT NULL
        ) STRICT;
        UPDATE feeds SET renderer = '';
    """),
)


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS, label: str = "") -> int:
    """Bring the schema to the last migration; each step in its own transaction. Returns the version.

    Safe when several processes open a new roster at once: the version is read again under the
    write lock, so each step runs exactly once.
    """
    latest = migrations[-1].version if migrations else 0
    for migration in migrations:
        current = schema_version(conn)
        if current > latest:
            raise RosterError(f"the roster has schema version {current}, newer than this picture-schedule "
                             f"knows ({latest}): upgrade picture-schedule", source=label or None)
        if migration.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)
            if migration.version > current:
                if migration.version != current + 1:
                    raise RosterError(f"schema version {current} cannot be upgraded by migration "
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
    return schema_version(conn)


def schema_version(conn: sqlite3.Connection) -> int:
    """The roster's schema version (``PRAGMA user_version``), whatever the connection's row factory."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return int(cursor.execute("PRAGMA user_version").fetchone()["user_version"])


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

