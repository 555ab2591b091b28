"""The patient list as the web page shows it: each patient's entry and schedule brief, in one query.

The list never expands a schedule: each row carries the brief stored with the feed
(:mod:`~picture_schedule.roster.summary`), which says which cycle is current and which appointment
is next on any day. A patient whose brief is not written yet (before the roster's first refresh
after an upgrade) has ``summary`` None; a row damaged outside picture-schedule has a ``problem``
instead of failing the whole list.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sqlite3
import tomllib
from typing import TYPE_CHECKING, Any

from picture_schedule.errors import RosterError
from picture_schedule.roster.records import PatientInfo
from picture_schedule.roster.summary import Summary, parse_summary

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


@dataclasses.dataclass(frozen=True)
class PatientRow:
    """One line of the patient list: the patient's entry and their schedule in brief."""

    info: PatientInfo
    summary: Summary | None  # None: no brief stored yet (or it could not be read)
    problem: str = ""  # the stored row is damaged: what could not be read


_QUERY = ("SELECT p.patient, p.course_text, p.changes, p.added_at, p.added_by, p.changed_at, p.file_name, "
          "p.removed_at, p.removed_by, t.created_at AS token_created, b.summary FROM patients p "
          "LEFT JOIN tokens t ON t.patient_id = p.id LEFT JOIN briefs b ON b.patient_id = p.id "
          "WHERE (? OR p.removed_at IS NULL) ORDER BY p.patient")

_TABLE_HEADER = re.compile(r"^\[", re.MULTILINE)


def patient_rows(roster: Roster, *, removed: bool = False, query: str = "") -> list[PatientRow]:
    """The patients on the roster (``removed``: and those removed, kept until purged) whose study
    number holds ``query`` (any case), by study number: one SQL query, no schedule expanded."""
    wanted = query.strip().casefold()
    with roster._guard():  # the roster's own connection and error mapping (this package's)
        rows = roster._conn().execute(_QUERY, (removed,)).fetchall()
    return [_row(row) for row in rows if wanted in str(row["patient"]).casefold()]


@functools.lru_cache(maxsize=4096)
def _top_level(text: str) -> tuple[str, str, int, str]:
    """regimen, start, cycles and language of a course text (kept per text: a list of 500 patients
    parses only the texts that changed since it was last shown). They are top-level keys, before the
    first table header, so only that head is parsed; a head that is not valid TOML by itself (a
    header-like line inside a string) is parsed whole."""
    found = _TABLE_HEADER.search(text)
    data: dict[str, Any] | None = None
    if found is not None:
        try:
            data = tomllib.loads(text[:found.start()])
        except tomllib.TOMLDecodeError:
            pass
    if data is None:
        data = tomllib.loads(text)
    return (str(data.get("regimen", "picture")), str(data.get("start", "")), _int(data.get("cycles", 0)),
            str(data.get("language", "en")))


_summary = functools.lru_cache(maxsize=4096)(parse_summary)  # a Summary is frozen: shared safely


def _row(row: sqlite3.Row) -> PatientRow:
    from picture_schedule.roster.store import _parse_iso

    patient = str(row["patient"])
    problem = ""
    try:
        regimen, start, cycles, language = _top_level(str(row["course_text"]))
    except (TypeError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        regimen, start, cycles, language = "", "", 0, ""
        problem = f"the stored course text is damaged ({' '.join(str(exc).split())})"
    try:
        token_created, removed_at = row["token_created"], row["removed_at"]
        info = PatientInfo(
            patient=patient, regimen=regimen, start=start, cycles=cycles, language=language,
            changes=int(row["changes"]), added_at=_parse_iso(row["added_at"]), added_by=str(row["added_by"]),
            changed_at=_parse_iso(row["changed_at"]), file_name=str(row["file_name"]),
            token_created=_parse_iso(token_created) if token_created else None,
            removed_at=_parse_iso(removed_at) if removed_at is not None else None,
            removed_by=str(row["removed_by"] or ""),
        )
    except (TypeError, ValueError) as exc:
        raise RosterError(f"the stored row of patient {patient!r} is damaged ({' '.join(str(exc).split())})",
                          source="roster") from None
    summary = None
    if row["summary"]:
        try:
            summary = _summary(str(row["summary"]))
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            problem = problem or f"the stored schedule brief is damaged ({' '.join(str(exc).split())})"
    return PatientRow(info, summary, problem)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
