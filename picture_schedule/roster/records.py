"""What the roster returns: a served feed, an enrolment (the token, this once), a patient's entry, a
journal line. Frozen values; :mod:`~picture_schedule.roster.store` makes them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from picture_schedule.core.model import Course
from picture_schedule.roster.tokens import static_name


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
    removed_at: dt.datetime | None = None  # None: on the roster
    removed_by: str = ""


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    at: dt.datetime
    action: str  # add, change, book, rotate, remove, refresh (purge: a line with no patient left)
    by: str
    reason: str
    detail: str
