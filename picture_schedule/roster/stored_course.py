"""Courses from stored text: the course text plus the files it names, loaded without touching disk."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from picture_schedule.core.model import Booking, Course, frozen_map
from picture_schedule.errors import InputError, ScheduleError

if TYPE_CHECKING:
    from picture_schedule.loading.resolver import Resolver


class CourseFile(NamedTuple):
    """A copy of a file a course names: ``kind`` site or regimen, ``ref`` the name the course gives it."""

    kind: str
    ref: str
    text: str


def referenced_files(text: str, course_file: Path) -> list[CourseFile]:
    """The site and regimen files a course file names by path, read from beside it."""
    from picture_schedule.loading import FolderResolver, builtin_regimens, parse_toml

    data = parse_toml(text, str(course_file))
    files = FolderResolver(course_file.parent)
    found = []
    site = data.get("site")
    if isinstance(site, str):
        found.append(CourseFile("site", site, _read_ref(files, site, course_file, "site")))
    regimen = data.get("regimen", "picture")
    if isinstance(regimen, str) and regimen not in builtin_regimens():
        found.append(CourseFile("regimen", regimen, _read_ref(files, regimen, course_file, "regimen")))
    return found


def _read_ref(files: Resolver, ref: str, course_file: Path, field: str) -> str:
    try:
        return files.read(ref)
    except ScheduleError as exc:
        raise InputError(exc.message, source=str(course_file), field=f"{field} ({ref})") from None


def load_stored_course(text: str, files: Sequence[CourseFile], label: str, templates: str = "",
                       bookings: Mapping[int, Booking] | None = None) -> Course:
    """Load a course from its stored text and copies of the files it names, exactly as
    ``load_course`` loads the file beside those files (same names, same loader), from memory.

    ``templates`` is the site's diary template folder as resolved when the course was added (a stored
    site file has no folder of its own to resolve it against). ``bookings``: the chair bookings the
    roster keeps for the patient (cycle → booking); they replace the course text's for those cycles."""
    from picture_schedule.loading import course_from_text

    course = course_from_text(text, label, {file.ref: file.text for file in files})
    if templates and course.site is not None and course.site.templates:
        course = dataclasses.replace(course, site=dataclasses.replace(course.site, templates=templates))
    if bookings:
        course = dataclasses.replace(course, bookings=frozen_map({**course.bookings, **bookings}))
    return course
