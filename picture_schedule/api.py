"""The public facade for library users: load a course or a plain start, expand it on its site's calendar.

Only re-exports: the functions live in the layer they belong to (``core`` expands, ``loading``
reads files), so internal code imports them from there and never from here.
"""

from __future__ import annotations

from picture_schedule.core.scheduler import calendar_for, schedule
from picture_schedule.loading.course import course_from, plain_course

__all__ = ["calendar_for", "course_from", "plain_course", "schedule"]
