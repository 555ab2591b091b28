"""Library entry points: load a course or a plain start, expand it on its site's calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from picture_schedule.core.model import Course, Schedule, Site
from picture_schedule.core.scheduler import expand
from picture_schedule.errors import InputError
from picture_schedule.loading import load_course, load_regimen


def calendar_for(site: Site):  # -> clinic.ClinicCalendar
    """The clinic calendar a site describes (holidays are imported only when a country is set)."""
    from picture_schedule.core.clinic import ClinicCalendar

    return ClinicCalendar(
        clinic_days=site.clinic_days,
        country=site.holiday_country,
        subdivision=site.holiday_subdivision,
        extra_closures=site.extra_closures,
        extra_openings=site.extra_openings,
    )


def schedule(course: Course) -> Schedule:
    """Expand a course; with a site, on the site's clinic calendar."""
    return expand(course, calendar_for(course.site) if course.site else None)


def plain_course(start: dt.date, regimen: str | Path = "picture", cycles: int | None = None) -> Course:
    """A course with no patient and no site: the regimen as published from ``start``."""
    reg = load_regimen(regimen)
    if cycles is not None and not 1 <= cycles <= 99:
        raise InputError(f"{cycles} is outside 1–99", source="--cycles")
    return Course(patient="", regimen=reg, start=start, cycles=cycles or reg.cycles)


def course_from(
    *, start: dt.date | None = None, course: str | Path | None = None,
    regimen: str | Path | None = None, cycles: int | None = None,
) -> Course:
    """Exactly one of ``start`` or ``course``: the CLI's ``--start``/``--course``."""
    if (start is None) == (course is None):
        raise InputError("give either --start YYYY-MM-DD or --course FILE (exactly one)")
    if course is not None:
        if regimen is not None:
            raise InputError("--regimen goes with --start; a course file names its regimen", source="--regimen")
        loaded = load_course(course)
        if cycles is not None:
            raise InputError("--cycles goes with --start; a course file sets its cycles", source="--cycles")
        return loaded
    assert start is not None
    return plain_course(start, regimen or "picture", cycles)
