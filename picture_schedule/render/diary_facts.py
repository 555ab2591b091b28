"""What the diary tells a patient beyond the dates: the words of notes and reasons, closed clinic
days, the basis of the doses and why treatment stopped. Values in, values out, for the templates.

Every note and reason is worded in the patient's plain words (:mod:`picture_schedule.render.messages`,
patient variants) with the diary's own date format, so one line never mixes two date formats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from picture_schedule.core.model import Schedule
from picture_schedule.core.prescribing import course_bsa
from picture_schedule.core.scheduler import change_reason
from picture_schedule.i18n import babel_locale
from picture_schedule.render.messages import describe, reason_text

#: Closures shaded without a label: the clinic's usual days off. Others (holidays, a unit's own
#: closures) are labelled "clinic closed" on the month grid.
USUAL_DAYS_OFF = ("weekend", "weekday-closed")


def date_words(language: str) -> Callable[[dt.date], str]:
    """The diary's short date (Dec 7 · 12月7日), for dates inside notes and reasons."""
    from babel.dates import format_skeleton

    locale = babel_locale(language)
    return lambda day: format_skeleton("MMMd", day, locale=locale)


def words(language: str) -> Callable[[Any], str]:
    """A note, a reason or several, in the patient's words and the diary's date format."""
    dates = date_words(language)
    return lambda reasons: reason_text(reasons, language, patient=True, dates=dates)


def notes(schedule: Schedule, language: str) -> list[str]:
    """The schedule's warnings, then each stop with its reason (a stopped cycle has no page of its own)."""
    dates = date_words(language)
    shown = [describe(note, language, patient=True, dates=dates) for note in schedule.notes]
    given = {c.number for c in schedule.cycles}
    for change in schedule.course.changes:
        if change.stop and change.cycle not in given:
            shown.append(reason_text(change_reason(schedule.regimen, change), language, patient=True, dates=dates))
    return list(dict.fromkeys(shown))


def closed_days(schedule: Schedule) -> dict[dt.date, bool]:
    """Each closed clinic day of the months shown → whether it is labelled (not a usual day off)."""
    return {day: reason.code not in USUAL_DAYS_OFF for day, reason in schedule.closures.items()}


def body_surface(schedule: Schedule) -> float | None:
    """The BSA the doses were worked out from (2 decimals, after any cap), or None without body measures."""
    return course_bsa(schedule.course)
