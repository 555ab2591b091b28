"""What the diary tells a patient beyond the dates: the words of notes and reasons, closed clinic
days, the basis of the doses and why treatment stopped. Values in, values out, for the templates.

Every note and reason is worded in the patient's plain words (:mod:`picture_schedule.render.messages`,
patient variants) with the diary's own date format, so one line never mixes two date formats.
The patient's own web page says the call-us signs and the tablets of a dose in the diary's words,
through :func:`alarms`, :func:`stop_tablets` and :func:`tablets_text`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from picture_schedule.core.model import Dose, Regimen, Schedule, Site
from picture_schedule.core.prescribing import course_bsa
from picture_schedule.core.scheduler import change_reason
from picture_schedule.i18n import babel_locale, gettext, ngettext
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


# -- the same words outside the diary (the patient's own web page) ----------------------------

#: When to call the 24-hour number straight away: the signs of the diary's call-us page, in its
#: order and with its message ids (``templates/diary-alerts.html``; a test checks the two agree).
ALARMS: tuple[tuple[str, str], ...] = (
    ("fever", "your temperature is <strong>%(t)s °C or higher</strong>, or you feel shivery, hot or suddenly unwell"),
    ("diarrhoea", "diarrhoea: 4 or more extra bowel movements in a day, or any diarrhoea at night"),
    ("vomiting", "you vomit more than once in 24 hours, or cannot keep food or drink down"),
    ("hands-feet", "your hands or feet are painful, red or swollen"),
    ("mouth", "mouth sores stop you eating or drinking"),
    ("chest", "chest pain, or your heart races or beats unevenly"),
    ("breathing", "you are short of breath, or have a new or worse cough"),
    ("rash", "a severe rash, blisters or peeling skin"),
    ("jaundice", "yellow skin or eyes, dark urine, or pain in the upper right of your belly"),
)
#: Printed under the signs when the regimen has capecitabine (as on the diary's call-us page).
STOP_TABLETS = ("If you have any of these, stop taking your capecitabine tablets and call us. Do not start them "
                "again until we tell you to.")


def alarms(site: Site, language: str) -> list[tuple[str, Any]]:
    """(code, sign) for each sign of the call-us list, in ``language``, as HTML (markupsafe.Markup:
    the fever sign holds the site's threshold in bold, escaped)."""
    from babel.numbers import format_decimal
    from markupsafe import Markup

    threshold = format_decimal(site.fever_threshold_c, format="0.0", locale=babel_locale(language))
    return [(code, Markup(gettext(language, text)) % {"t": threshold} if "%(t)s" in text
             else Markup.escape(gettext(language, text))) for code, text in ALARMS]


def stop_tablets(regimen: Regimen, language: str) -> str:
    """The call-us page's "stop your tablets" sentence, or "" when the regimen has no capecitabine."""
    return gettext(language, STOP_TABLETS) if any(a.id == "capecitabine" for a in regimen.agents) else ""


def tablets_text(dose: Dose, language: str) -> str:
    """The tablets that make up a dose, as the diary prints them: "3 × 500 mg tablets + 1 × 150 mg tablet"
    ("500 mg × 3 片 + 150 mg × 1 片"); "" for a dose not made of tablets."""
    return " + ".join(ngettext(language, "%(count)s × %(strength)s mg tablet", "%(count)s × %(strength)s mg tablets",
                               count) % {"count": count, "strength": strength} for strength, count in dose.tablets)
