"""Printed diaries kept in the roster, so printing a diary whose course has not changed is instant.

Each patient's diary PDF is kept per language, paper, print size and engine (table ``diary_pdfs``,
migration 3), with the key it was printed under: a SHA-256 over the schedule's fingerprint (its
check code: every date and dose), the course text and the site and regimen files it names, the
templates it is printed with (the site's and the shipped ones, by content), and the versions of
picture-schedule and the engine. A request computes the key afresh (loading and expanding the
course: tens of milliseconds) and gets the kept PDF when the key matches; otherwise the diary is
printed and kept, replacing the old one ("rendered once per change, on first request").
A removed or purged patient's diaries are deleted with them (a trigger and a cascade).

The module works on the roster's SQLite connection (:meth:`Roster.diary_cache`), so the store keeps
one entry point and this file the whole cache.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from picture_schedule.core.model import Course, Schedule
from picture_schedule.errors import InputError, RosterError, ScheduleError
from picture_schedule.render.diary_batch import DiaryJob, Printed, Progress, no_progress, print_diaries
from picture_schedule.render.printing import DEFAULT_ENGINE, Printer
from picture_schedule.roster.bookings import stored_bookings
from picture_schedule.roster.stored_course import CourseFile, load_stored_course

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


@dataclasses.dataclass(frozen=True)
class DiaryKey:
    """Where a diary is kept (patient, language, paper, print size, engine) and what it must match."""

    patient_id: int
    language: str
    paper: str
    large_print: bool
    engine: str
    fingerprint: str
    digest: str


_folders_seen: dict[tuple[str, ...], tuple[tuple[tuple[str, int, int], ...], str]] = {}


def _folders_digest(folders: Sequence[Path]) -> str:
    """SHA-256 of every file's name and content under ``folders`` (templates and catalogues); read
    again only when a file's size or modification time changed."""
    files = sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size)
                   for folder in folders for p in Path(folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    key = tuple(str(f) for f in folders)
    seen = _folders_seen.get(key)
    if seen is not None and seen[0] == tuple(files):
        return seen[1]
    digest = hashlib.sha256()
    for name, _mtime, _size in files:
        digest.update(name.encode() + b"\0" + Path(name).read_bytes() + b"\0")
    _folders_seen[key] = (tuple(files), digest.hexdigest())
    return digest.hexdigest()


def _versions(engine: str) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    from picture_schedule import __version__

    found = [__version__]
    if engine == "weasyprint":
        try:
            found.append(version("weasyprint"))
        except PackageNotFoundError:
            found.append("?")
    return found


class DiaryCache:
    """The kept diaries of one roster connection (``label`` names the roster in messages)."""

    def __init__(self, conn: sqlite3.Connection, label: str,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.conn = conn
        self.label = label
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def patients(self) -> list[str]:
        """The study numbers on the roster (not removed), in order."""
        with self._guard():
            rows = self.conn.execute("SELECT patient FROM patients WHERE removed_at IS NULL ORDER BY patient").fetchall()
        return [str(row["patient"]) for row in rows]

    def lookup(self, patient: str, *, language: str | None = None, paper: str = "a4", large_print: bool = False,
               engine: str = DEFAULT_ENGINE, templates: str | Path | None = None) -> tuple[Course, Schedule, DiaryKey]:
        """The patient's course and schedule, and the key of the diary they print as now."""
        from picture_schedule.core.scheduler import schedule
        from picture_schedule.render.diary import template_folders
        from picture_schedule.resources import templates_dir

        with self._guard():
            row = self.conn.execute("SELECT id, course_text, templates, removed_at FROM patients WHERE patient = ?",
                                    (patient,)).fetchone()
            if row is None:
                raise InputError(f"no patient {patient!r} on the roster (see: picture-schedule roster list)",
                                 source=self.label)
            if row["removed_at"] is not None:
                raise InputError(f"patient {patient!r} was removed from the roster: no diary is printed",
                                 source=self.label)
            files = [CourseFile(r["kind"], r["ref"], r["body"]) for r in self.conn.execute(
                "SELECT kind, ref, body FROM course_files WHERE patient_id = ? ORDER BY kind", (row["id"],))]
            booked = stored_bookings(self.conn, row["id"])  # the chair times it prints
        course = load_stored_course(row["course_text"], files, f"roster {patient}", row["templates"], booked)
        expanded = schedule(course)
        lang = language or course.language or "en"
        folders = [*template_folders(expanded, templates), templates_dir()]
        fingerprint = expanded.fingerprint()
        digest = hashlib.sha256(json.dumps([
            fingerprint, lang, paper, large_print, engine, row["course_text"], row["templates"], repr(sorted(booked.items())),
            [list(f) for f in files], _folders_digest(folders), _versions(engine),
        ]).encode()).hexdigest()
        return course, expanded, DiaryKey(int(row["id"]), lang, paper, large_print, engine, fingerprint, digest)

    def get(self, key: DiaryKey) -> bytes | None:
        """The kept PDF printed under ``key``, or None."""
        with self._guard():
            row = self.conn.execute(
                "SELECT pdf FROM diary_pdfs WHERE patient_id = ? AND language = ? AND paper = ? AND large_print = ? "
                "AND engine = ? AND digest = ?",
                (key.patient_id, key.language, key.paper, int(key.large_print), key.engine, key.digest)).fetchone()
        return bytes(row["pdf"]) if row is not None else None

    def put(self, key: DiaryKey, pdf: bytes) -> None:
        """Keep ``pdf`` under ``key``, replacing the diary kept for the same language, paper, size, engine."""
        with self._guard():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute(
                    "INSERT INTO diary_pdfs (patient_id, language, paper, large_print, engine, digest, fingerprint, "
                    "printed_at, pdf) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS "
                    "(SELECT 1 FROM patients WHERE id = ? AND removed_at IS NULL) "
                    "ON CONFLICT (patient_id, language, paper, large_print, engine) DO UPDATE SET "
                    "digest = excluded.digest, fingerprint = excluded.fingerprint, printed_at = excluded.printed_at, "
                    "pdf = excluded.pdf",
                    (key.patient_id, key.language, key.paper, int(key.large_print), key.engine, key.digest,
                     key.fingerprint, self.clock().isoformat(timespec="seconds"), pdf, key.patient_id))
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def pdf(self, patient: str, *, language: str | None = None, paper: str = "a4", large_print: bool = False,
            engine: str = DEFAULT_ENGINE, templates: str | Path | None = None, feed_url: str | None = None,
            printer: Printer | None = None) -> bytes:
        """The patient's diary PDF: the kept one if nothing it shows changed, else printed now and kept.
        A diary with ``feed_url`` (its QR code opens the patient's calendar) is printed and never kept:
        the roster holds no link in clear."""
        from picture_schedule.render.diary import diary_pdf
        from picture_schedule.render.printing import open_printer

        _course, expanded, key = self.lookup(patient, language=language, paper=paper, large_print=large_print,
                                             engine=engine, templates=templates)
        kept = None if feed_url else self.get(key)
        if kept is not None:
            return kept
        own = printer is None and engine != DEFAULT_ENGINE
        use = open_printer(engine) if own else printer
        try:
            pdf = diary_pdf(expanded, language=key.language, templates=templates, feed_url=feed_url,
                            large_print=large_print, paper=paper, printer=use)
        finally:
            if own and use is not None:
                use.close()
        if not feed_url:
            self.put(key, pdf)
        return pdf

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite errors become one-line RosterErrors naming the roster."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise RosterError(f"kept diaries: {exc}", source=self.label) from None


def print_roster_diaries(
    roster: Roster, out: str | Path, *, patients: Sequence[str] | None = None,
    language: str | None = None, templates: str | Path | None = None, large_print: bool = False,
    paper: str = "a4", engine: str = DEFAULT_ENGINE, workers: int | None = None, progress: Progress = no_progress,
) -> list[Printed]:
    """Every roster patient's diary (or ``patients``') into the folder ``out``: kept diaries are
    written as they are, the others printed across the cores (:func:`print_diaries`) and kept."""
    cache: DiaryCache = roster.diary_cache()
    keys: dict[str, DiaryKey] = {}
    jobs = []
    for name in patients if patients is not None else cache.patients():
        try:
            course, _schedule, key = cache.lookup(name, language=language, paper=paper, large_print=large_print,
                                                  engine=engine, templates=templates)
            keys[name] = key
            jobs.append(DiaryJob(name, course))
        except ScheduleError as exc:
            jobs.append(DiaryJob(name, problem=" ".join(str(exc).split())))
    return print_diaries(
        jobs, out, language=language, templates=templates, large_print=large_print, paper=paper, engine=engine,
        workers=workers, progress=progress,
        # looked up by the thread that makes the diaries (with Chromium, not this one): its own connection
        reuse=lambda job, lang: roster.diary_cache().get(keys[job.patient]),
        keep=lambda job, lang, pdf: cache.put(keys[job.patient], pdf),
    )
