"""picture-schedule: treatment schedules, calendars, diaries and chair plans for the PICTURE trial.

The library is the product; the CLI is a thin layer over it::

    from picture_schedule import load_course, schedule
    expanded = schedule(load_course("patient.toml"))
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import course_from, plain_course, schedule
from .errors import ScheduleError
from .loading import load_course, load_regimen, load_site
from .model import Course, Cycle, Event, Regimen, Schedule, Site
from .scheduler import expand, expand_regimen

__all__ = [
    "Course", "Cycle", "Event", "Regimen", "Schedule", "ScheduleError", "Site", "__version__",
    "course_from", "expand", "expand_regimen", "load_course", "load_regimen", "load_site",
    "plain_course", "schedule",
]
