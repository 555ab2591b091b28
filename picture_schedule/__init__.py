"""picture-schedule: treatment schedules, calendars, diaries and chair plans for the PICTURE trial.

The library is the product; the CLI is a thin layer over it::

    from picture_schedule import load_course, schedule
    expanded = schedule(load_course("patient.toml"))

Names are imported on first use, so ``picture-schedule --help`` loads only click and the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "course_from": "picture_schedule.api",
    "plain_course": "picture_schedule.api",
    "schedule": "picture_schedule.api",
    "ScheduleError": "picture_schedule.errors",
    "load_course": "picture_schedule.loading",
    "load_regimen": "picture_schedule.loading",
    "load_site": "picture_schedule.loading",
    "Course": "picture_schedule.core.model",
    "Cycle": "picture_schedule.core.model",
    "Event": "picture_schedule.core.model",
    "Regimen": "picture_schedule.core.model",
    "Schedule": "picture_schedule.core.model",
    "Site": "picture_schedule.core.model",
    "expand": "picture_schedule.core.scheduler",
    "expand_regimen": "picture_schedule.core.scheduler",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'picture_schedule' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return __all__
