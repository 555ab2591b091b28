"""The words of the core's messages: every note and reason a schedule carries, in each language.

The core says what happened as a code and its parameters (``NOTE_CODES`` and ``REASON_CODES`` in
:mod:`picture_schedule.core.model`); this module holds the English wording of each code and fills
in the parameters. The English templates are the gettext message ids, with the code as message
context; the Chinese ones are in ``templates/locale/zh_CN/LC_MESSAGES/messages.po``. Every output
words a note or a reason through :func:`describe` and nowhere else. What a person typed (a change's
reason, a site's closure) is printed as written, in every language.

Dates are ISO (``2026-02-17``) in every language, as on the rest of the calendars' texts, unless
the output gives its own date format (the diary words dates as the rest of its pages do).

Two audiences: staff (tables, JSON, the roster) and patients (diary, calendars). A code may have a
patient variant, ``patient`` (or ``<variant>/patient``), in plain words without staff terms
("registry text", "shift policy", "(observed)"); without one, patients read the staff wording.
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from picture_schedule.core.model import Message, Names, format_amount
from picture_schedule.i18n import translations

__all__ = ["HOLIDAY_NAMES", "SEPARATORS", "TEMPLATES", "WEEKDAYS", "describe", "message_record", "reason_text"]

Template = str | tuple[str, str]  # English, or (singular, plural) when the message counts something

#: code → variant → English template. The gettext context is the code, or ``code/variant``.
TEMPLATES: Mapping[str, Mapping[str, Template]] = MappingProxyType({
    # -- notes ---------------------------------------------------------------------------------
    "estimated-holidays": {"": "holiday dates for {years} are estimates: the official calendar is not announced "
                               "yet; check day-1 dates again when it is",
                           "patient": "holiday dates for {years} are not announced yet: your care team will check "
                                      "your dates when they are"},
    "closed-day1": {"": "cycle {cycle} day 1: {reason}"},
    "shift": {"": "cycle {cycle} day 1 {reason}"},
    "interval": {
        "after": ("cycle {cycle} starts {days} day after cycle {previous_cycle} (allowed {length} −{early}/+{late})",
                  "cycle {cycle} starts {days} days after cycle {previous_cycle} (allowed {length} −{early}/+{late})"),
        "same-day": "cycle {cycle} starts on the same day as cycle {previous_cycle} (allowed {length} −{early}/+{late})",
        "before": ("cycle {cycle} starts {days} day before cycle {previous_cycle} (allowed {length} −{early}/+{late})",
                   "cycle {cycle} starts {days} days before cycle {previous_cycle} (allowed {length} −{early}/+{late})"),
        "after-unnumbered": ("this cycle starts {days} day after the previous cycle (allowed {length} −{early}/+{late})",
                             "this cycle starts {days} days after the previous cycle (allowed {length} −{early}/+{late})"),
        "same-day-unnumbered": "this cycle starts on the same day as the previous cycle (allowed {length} −{early}/+{late})",
        "before-unnumbered": (
            "this cycle starts {days} day before the previous cycle (allowed {length} −{early}/+{late})",
            "this cycle starts {days} days before the previous cycle (allowed {length} −{early}/+{late})"),
        "after/patient": ("cycle {cycle} starts {days} day after cycle {previous_cycle}, not the usual {length}: "
                          "your care team will check this",
                          "cycle {cycle} starts {days} days after cycle {previous_cycle}, not the usual {length}: "
                          "your care team will check this"),
        "same-day/patient": "cycle {cycle} starts on the same day as cycle {previous_cycle}: your care team will "
                            "check this",
        "before/patient": ("cycle {cycle} starts {days} day before cycle {previous_cycle}: your care team will "
                           "check this",
                           "cycle {cycle} starts {days} days before cycle {previous_cycle}: your care team will "
                           "check this"),
        "after-unnumbered/patient": (
            "this cycle starts {days} day after the previous cycle, not the usual {length}: your care team will "
            "check this",
            "this cycle starts {days} days after the previous cycle, not the usual {length}: your care team will "
            "check this"),
        "same-day-unnumbered/patient": "this cycle starts on the same day as the previous cycle: your care team "
                                       "will check this",
        "before-unnumbered/patient": (
            "this cycle starts {days} day before the previous cycle: your care team will check this",
            "this cycle starts {days} days before the previous cycle: your care team will check this"),
    },
    "visit-window": {"": "{name}: no open clinic day between {earliest} and {latest} (target {target}: {closure})",
                     "patient": "{name}: the clinic is closed from {earliest} to {latest} ({closure}): your care "
                                "team will confirm a new date"},
    "confirm-dose": {"": "{name}: only the registry text \"{text}\" is known; confirm the dose with your care team",
                     "patient": "{name}: your care team will tell you the exact dose (\"{text}\")"},
    "dose-tablets": {"": "{name}: prescribed {amount} {unit} cannot be made from {strengths} mg tablets"},
    "dose-deviation": {"": "{name}: prescribed {amount} {unit} is {deviation} % from the calculated {calculated} mg "
                           "(threshold {threshold} %)",
                       "patient": "{name}: the prescribed {amount} {unit} differs by {deviation} % from the calculated "
                                  "{calculated} mg: your care team will check it"},
    "booking-stale": {"": "cycle {cycle}: the chair was booked for {booked}, but day 1 is now {day1}; the booking "
                          "is not used: book the chair again",
                      "patient": "cycle {cycle}: your appointment time on {day1} is to be confirmed"},
    # -- reasons -------------------------------------------------------------------------------
    "typed": {"": "{text}"},
    "follows": {"": "follows cycle {cycle}: {reasons}"},
    "cycle-shift": {"": "cycle {cycle} day 1 {reason}"},
    "visit-moved": {"": "moved from {target}: {closure}"},
    "shift-moved": {
        "later": ("moved from {planned} to {actual} ({days} day): {closure}",
                  "moved from {planned} to {actual} ({days} days): {closure}"),
        "earlier": ("moved from {planned} to {actual} ({days} day): {closure}",
                    "moved from {planned} to {actual} ({days} days): {closure}"),
    },
    "shift-none": {"": "{planned} is closed ({closure}); shift policy 'none' keeps the planned day",
                   "patient": "{planned}: the clinic is closed ({closure}); your care team will confirm a new date"},
    "shift-blocked": {
        "next": ("{planned} is closed ({closure}) and no open day lies within {max_shift} day after it "
                 "(shift policy 'next')",
                 "{planned} is closed ({closure}) and no open day lies within {max_shift} days after it "
                 "(shift policy 'next')"),
        "previous": ("{planned} is closed ({closure}) and no open day lies within {max_shift} day before it "
                     "(shift policy 'previous')",
                     "{planned} is closed ({closure}) and no open day lies within {max_shift} days before it "
                     "(shift policy 'previous')"),
        "nearest": ("{planned} is closed ({closure}) and no open day lies within {max_shift} day either side "
                    "of it (shift policy 'nearest')",
                    "{planned} is closed ({closure}) and no open day lies within {max_shift} days either side "
                    "of it (shift policy 'nearest')"),
        "next/patient": "{planned}: the clinic is closed ({closure}); your care team will confirm a new date",
        "previous/patient": "{planned}: the clinic is closed ({closure}); your care team will confirm a new date",
        "nearest/patient": "{planned}: the clinic is closed ({closure}); your care team will confirm a new date",
    },
    "weekend": {"": "weekend"},
    "weekday-closed": {"": "clinic closed on {weekday}s"},
    "holidays": {"": "{names}"},
    "festival-weekend": {"": "{festivals} holiday (weekend)"},
    "day-off-swapped": {
        "": "{festivals} (day off swapped with working {weekday} {worked})",
        "unnamed": "day off swapped with working {weekday} {worked}",
    },
    "holiday": {"": "{name}", "observed": "{name} (observed)", "observed/patient": "{name} (day off in lieu)"},
    "holiday-named": {"": "{name}"},
    "make-up-day": {"": "make-up working day ({festivals})", "unnamed": "make-up working day"},
    "unit-closed": {"": "unit closed on {weekday}"},
    "longer-than-opening": {"": "longer than opening hours ({minutes} min; open {opens}–{closes}, {span} min)"},
    "no-chair": {"": "no chair free for {minutes} min before {closes}"},
    "no-chair-nurse-limit": {"": "no chair free for {minutes} min before {closes} within the nurse limit of "
                                 "{limit} starts per slot"},
    "chair-moved": {"": "moved from {planned} to {start}: {reason}"},
    "planned-busy": {"": "no chair free at {planned} for {minutes} min"},
    "planned-nurse-limit": {"": "the nurse limit of {limit} starts per slot is reached at {planned}"},
    "planned-outside-hours": {"": "a {minutes}-min visit at {planned} does not fit the opening hours {opens}–{closes}"},
    "unconfirmed": {"": "clinic closed on this day: your care team will confirm a new date"},
    "unconfirmed-cycle": {"": "day 1 of cycle {cycle} falls on a day the clinic is closed: your care team will "
                              "confirm new dates"},
    "change": {
        "": "{actions}: {reason}",
        "by": "{actions}: {reason} ({by})",
        "recorded": "{actions}: {reason} ({recorded})",
        "by-recorded": "{actions}: {reason} ({by}, {recorded})",
    },
    "delayed": {
        "later": ("cycle {cycle} delayed by {days} day", "cycle {cycle} delayed by {days} days"),
        "earlier": ("cycle {cycle} brought forward by {days} day", "cycle {cycle} brought forward by {days} days"),
    },
    "dose-level": {
        "": "{name} at dose level {level} from cycle {cycle}",
        "full": "{name} back to the full dose from cycle {cycle}",
    },
    "prescribed": {"": "{name} prescribed {amount} {unit} from cycle {cycle}"},
    "omitted": {"": "{name} not given in cycle {cycle}"},
    "held": {"": "tablets held on days {days} of cycle {cycle}"},
    "stopped": {"": "treatment stopped from cycle {cycle}"},
})

#: Stable holiday key (core/clinic.py) → English name; gettext context "holiday".
HOLIDAY_NAMES: Mapping[str, str] = MappingProxyType({
    "new-year": "New Year's Day",
    "spring-festival-eve": "Spring Festival (New Year's Eve)",
    "spring-festival": "Spring Festival",
    "spring-festival-extended": "Spring Festival (extended holiday)",
    "qingming": "Qingming Festival",
    "labour-day": "Labour Day",
    "dragon-boat": "Dragon Boat Festival",
    "mid-autumn": "Mid-Autumn Festival",
    "national-day": "National Day",
})

#: ISO weekday 1–7 → English name; gettext context "weekday".
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: How lists inside a message are joined; gettext context "separator".
SEPARATORS: Mapping[str, str] = MappingProxyType({
    "list": ", ",  # years, tablet strengths
    "reasons": "; ",  # several reasons, several holidays on one day
    "and": " and ",  # the festivals of one block of days off
})


# -- wording ----------------------------------------------------------------------------------------


DateFormat = Callable[[dt.date], str]


def describe(message: Message, language: str, *, patient: bool = False, dates: DateFormat | None = None) -> str:
    """``message`` (a note or a reason) worded in ``language`` ("en", "zh-CN"). ``patient``: in the
    patient variant's plain words where there is one; ``dates``: how to word a date (default ISO)."""
    words = _Words(language, patient, dates)
    return words.message(message)


def reason_text(reasons: Message | Iterable[Message] | None, language: str, *, patient: bool = False,
                dates: DateFormat | None = None) -> str:
    """One reason or note, or several (a cycle's delay and shift, a dose's warnings) joined, in
    ``language``; "" for none."""
    if reasons is None:
        return ""
    if isinstance(reasons, Message):
        return describe(reasons, language, patient=patient, dates=dates)
    words = _Words(language, patient, dates)
    return words.join([words.message(r) for r in reasons], "reasons")


def message_record(message: Message) -> dict[str, Any]:
    """A note or reason for JSON: its code, its parameters as JSON values, and its English text."""
    return {"code": message.code, "params": _json(message.params), "text": describe(message, "en")}


def _json(value: Any) -> Any:
    if isinstance(value, Message):
        return {"code": value.code, "params": _json(value.params)}
    if isinstance(value, Mapping):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, Names):
        return {"en": value.en, "zh-CN": value.zh}
    if isinstance(value, tuple):
        return [_json(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return value


class _Words:
    """Wording in one language (the catalogue is cached by :mod:`picture_schedule.i18n`)."""

    def __init__(self, language: str, patient: bool = False, dates: DateFormat | None = None) -> None:
        self.language = language
        self.patient = patient
        self.dates = dates
        # English is the templates themselves: no catalogue, so JSON and tables never load Babel
        self.catalogue: Any = _ENGLISH if language == "en" else translations(language)

    def message(self, message: Message) -> str:
        prepare = _PREPARE.get(message.code, _plain)
        variant, values, count = prepare(self, message.params)
        if self.patient:
            plain = f"{variant}/patient" if variant else "patient"
            variant = plain if plain in TEMPLATES[message.code] else variant
        template = TEMPLATES[message.code][variant]
        context = message.code if not variant else f"{message.code}/{variant}"
        if isinstance(template, tuple):
            text = self.catalogue.npgettext(context, template[0], template[1], 1 if count is None else count)
        else:
            text = self.catalogue.pgettext(context, template)
        return text.format(**values)

    def value(self, value: Any) -> str:
        if isinstance(value, Message):
            return self.message(value)
        if isinstance(value, Names):
            return value.get(self.language)
        if isinstance(value, bool) or value is None:
            return ""
        if isinstance(value, float):
            return format_amount(value)
        if isinstance(value, dt.datetime):
            day = self.dates(value.date()) if self.dates else value.date().isoformat()
            return f"{day} {value:%H:%M}"
        if isinstance(value, dt.date):
            return self.dates(value) if self.dates else value.isoformat()
        if isinstance(value, dt.time):
            return value.strftime("%H:%M")
        if isinstance(value, tuple):
            return self.join([self.value(v) for v in value], "list")
        return str(value)

    def join(self, texts: list[str], separator: str) -> str:
        return self.catalogue.pgettext("separator", SEPARATORS[separator]).join(t for t in texts if t)

    def weekday(self, iso: int) -> str:
        return self.catalogue.pgettext("weekday", WEEKDAYS[iso - 1])


_ENGLISH = gettext.NullTranslations()

Prepared = tuple[str, dict[str, str], "int | None"]  # variant, placeholder values, count for plurals


def _plain(words: _Words, params: Mapping[str, Any]) -> Prepared:
    return "", {name: words.value(value) for name, value in params.items()}, None


def _interval(words: _Words, params: Mapping[str, Any]) -> Prepared:
    variant, values, _ = _plain(words, params)
    days = params["days"]
    variant = "after" if days > 0 else "same-day" if days == 0 else "before"
    if params["cycle"] is None:
        variant += "-unnumbered"
    values["days"] = str(abs(days))
    return variant, values, abs(days)


def _shift_moved(words: _Words, params: Mapping[str, Any]) -> Prepared:
    _, values, _ = _plain(words, params)
    days = params["days"]
    values["days"] = f"{days:+d}"
    return ("later" if days > 0 else "earlier"), values, abs(days)


def _shift_blocked(words: _Words, params: Mapping[str, Any]) -> Prepared:
    _, values, _ = _plain(words, params)
    return params["policy"], values, params["max_shift"]


def _follows(words: _Words, params: Mapping[str, Any]) -> Prepared:
    _, values, _ = _plain(words, params)
    values["reasons"] = words.join([words.message(r) for r in params["reasons"]], "reasons")
    return "", values, None


def _holidays(words: _Words, params: Mapping[str, Any]) -> Prepared:
    return "", {"names": words.join([words.message(n) for n in params["names"]], "reasons")}, None


def _festivals(words: _Words, params: Mapping[str, Any]) -> Prepared:
    _, values, _ = _plain(words, params)
    values["festivals"] = words.join([words.message(f) for f in params["festivals"]], "and")
    if "worked" in params:
        values["weekday"] = words.weekday(params["worked"].isoweekday())
    return ("" if params["festivals"] else "unnamed"), values, None


def _holiday(words: _Words, params: Mapping[str, Any]) -> Prepared:
    name = words.catalogue.pgettext("holiday", HOLIDAY_NAMES[params["key"]])
    return ("observed" if params["observed"] else ""), {"name": name}, None


def _weekday(words: _Words, params: Mapping[str, Any]) -> Prepared:
    return "", {"weekday": words.weekday(params["weekday"])}, None


def _change(words: _Words, params: Mapping[str, Any]) -> Prepared:
    _, values, _ = _plain(words, params)
    values["actions"] = words.join([words.message(r) for r in params["actions"]], "reasons")
    variant = "-".join(part for part, given in (("by", params["by"]), ("recorded", params["recorded"])) if given)
    return variant, values, None


def _delayed(words: _Words, params: Mapping[str, Any]) -> Prepared:
    _, values, _ = _plain(words, params)
    days = params["days"]
    values["days"] = str(abs(days))
    return ("later" if days > 0 else "earlier"), values, abs(days)


def _dose_level(words: _Words, params: Mapping[str, Any]) -> Prepared:
    return ("full" if params["level"] == 0 else ""), _plain(words, params)[1], None


def _deviation(words: _Words, params: Mapping[str, Any]) -> Prepared:
    _, values, _ = _plain(words, params)
    values["deviation"] = f"{params['deviation'] * 100:+.1f}"
    values["calculated"] = f"{params['calculated']:.0f}"
    values["threshold"] = f"{params['threshold'] * 100:g}"
    return "", values, None


_PREPARE: Mapping[str, Callable[[_Words, Mapping[str, Any]], Prepared]] = MappingProxyType({
    "interval": _interval,
    "shift-moved": _shift_moved,
    "shift-blocked": _shift_blocked,
    "follows": _follows,
    "holidays": _holidays,
    "festival-weekend": _festivals,
    "day-off-swapped": _festivals,
    "make-up-day": _festivals,
    "holiday": _holiday,
    "weekday-closed": _weekday,
    "unit-closed": _weekday,
    "dose-deviation": _deviation,
    "change": _change,
    "delayed": _delayed,
    "dose-level": _dose_level,
})
