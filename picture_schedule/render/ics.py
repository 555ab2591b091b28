"""iCalendar (RFC 5545 + RFC 7986) for a patient's calendar app: import or subscribe.

One VEVENT per thing the patient does or attends, built from the :class:`~picture_schedule.core.model.Schedule`
only (this module computes no schedule dates):

- **Infusion appointment**: the day-1 infusions of a cycle are one timed event starting at
  ``cycle.infusion_start`` and lasting ``cycle.chair_minutes``, at the site's location. Infusions on
  other days (not in PICTURE) are one event each.
- **Tablets**: one short timed event per dose, or with ``oral_events="daily"`` one all-day event per
  tablet day (per medicine).
- **Injections** and **visits**: one event each; a visit shows its window in the description.

Identity: each VEVENT has a *key* built from the schedule's date-free event ids (a merged event has
its own date-free key, e.g. ``picture/c3/infusions/d1``). The UID is a salted SHA-256 of the key and
the course's study number, so the UID reveals neither the study number nor the medicines, and a
regenerated file updates the events a client already has. ``SEQUENCE`` is the number of recorded
changes that altered the event (for a merged event the sum over its parts, which rises whenever any
part changes), plus one when it is cancelled. ``DTSTAMP``, ``LAST-MODIFIED`` and ``CREATED`` come
from the course file (``created`` and each change's ``recorded``), never from the clock: the same
course gives the same bytes.

``detail="discreet"`` writes neutral titles ("Morning tablets", "Hospital appointment") and no
medicine, diagnosis, trial, visit or patient names; ``detail="full"`` names medicines and doses.
Neither ever writes the patient's display name or study number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from picture_schedule.core.model import (
    LANGUAGES,
    Course,
    Cycle,
    Dose,
    Event,
    Kind,
    Note,
    Schedule,
    Slot,
    Status,
    format_amount,
)
from picture_schedule.core.scheduler import event_id
from picture_schedule.errors import InputError
from picture_schedule.i18n import gettext
from picture_schedule.render.messages import describe, reason_text

if TYPE_CHECKING:
    from icalendar import Calendar
    from icalendar import Event as VEvent

__all__ = ["DETAILS", "KINDS", "METHODS", "ORAL_EVENTS", "PRODID", "parse_include", "to_ics", "uid_for"]

KINDS = tuple(kind.value for kind in Kind)  # oral, infusion, injection, visit
DETAILS = ("discreet", "full")
ORAL_EVENTS = ("per-dose", "daily")
METHODS = ("PUBLISH",)

#: Neutral on purpose: a calendar's PRODID is stored by every cloud calendar and must not name the trial.
PRODID = "-//treatment-schedule//iCalendar v1//EN"
#: Changing the salt or the domain changes every UID: clients would duplicate every event.
UID_SALT = b"treatment-schedule/uid/v1"
UID_DOMAIN = "treatment-schedule"
COLOR = "teal"  # RFC 7986: a CSS3 colour name
DOSE_MINUTES = 15  # how long a tablet or injection event lasts in the calendar
VISIT_MINUTES = 30  # a timed visit (the site gives no duration; the window is in the description)
EVENING_BEFORE = dt.time(18, 0)  # reminder the evening before an appointment
_UTC = dt.UTC
_MIDNIGHT = dt.time(0)


# -- public API -----------------------------------------------------------------------------------


def to_ics(
    schedule: Schedule,
    *,
    language: str | None = None,
    detail: str = "discreet",
    alarms: bool = True,
    include: frozenset[str] | None = None,
    method: str | None = None,
    oral_events: str = "per-dose",
) -> bytes:
    """The schedule as an iCalendar file (UTF-8 bytes, CRLF lines).

    ``language`` None: the course's. ``method`` None: a subscription feed (removed events are left
    out); ``"PUBLISH"``: a file for import (removed events are included as STATUS:CANCELLED).
    ``include``: the event kinds to write (None: all). Bad values raise :class:`InputError`.
    """
    schedule = schedule.detailed()
    options = _Options.check(schedule.course, language, detail, include, method, oral_events)
    entries = [e for e in _entries(schedule, options) if options.publish or not e.cancelled]
    return _Writer(schedule, options, alarms).calendar(entries).to_ical()


def parse_include(text: str) -> frozenset[str]:
    """``"oral,visit"`` → ``frozenset({"oral", "visit"})``; an unknown kind raises InputError."""
    kinds = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not kinds:
        raise InputError(f"{text!r} names no event kind (choose from {', '.join(KINDS)})", source="--include")
    return _check_kinds(kinds)


def uid_for(course: Course, key: str) -> str:
    """The UID of the VEVENT with date-free ``key`` in ``course``'s calendar.

    SHA-256 over a fixed salt, the study number and the key: stable across regenerations, the same
    in every language and detail level, and neither the study number nor the key can be read back
    from it. (Study numbers are pseudonymous and a fixed salt does not stop someone who knows the
    scheme from testing guesses; the hash keeps them out of sight in cloud calendars, nothing more.)
    """
    digest = hashlib.sha256(UID_SALT + b"\0" + course.patient.encode() + b"\0" + key.encode())
    return f"{digest.hexdigest()[:32]}@{UID_DOMAIN}"


# -- options --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    language: str
    full: bool
    include: frozenset[str]
    publish: bool
    daily: bool

    @classmethod
    def check(
        cls, course: Course, language: str | None, detail: str, include: Iterable[str] | None,
        method: str | None, oral_events: str,
    ) -> _Options:
        language = language or course.language
        if language not in LANGUAGES:
            raise InputError(f"{language!r} is not a supported language ({', '.join(LANGUAGES)})", source="--lang")
        if detail not in DETAILS:
            raise InputError(f"{detail!r} is not a detail level ({', '.join(DETAILS)})", source="--detail")
        if method is not None and method.upper() not in METHODS:
            raise InputError(f"{method!r} is not a method (publish, or none for a feed)", source="--method")
        if oral_events not in ORAL_EVENTS:
            raise InputError(f"{oral_events!r} is not one of {', '.join(ORAL_EVENTS)}", source="--oral-events")
        kinds = frozenset(KINDS) if include is None else _check_kinds(include)
        return cls(language, detail == "full", kinds, method is not None, oral_events == "daily")


def _check_kinds(kinds: Iterable[str]) -> frozenset[str]:
    kinds = list(kinds)
    for kind in kinds:
        if kind not in KINDS:
            raise InputError(f"{kind!r} is not an event kind (choose from {', '.join(KINDS)})", source="--include")
    return frozenset(kinds)


# -- what to write: entries -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One VEVENT: the schedule events it stands for, under a date-free key."""

    key: str
    kind: Kind
    events: tuple[Event, ...]  # planned first, then cancelled; never empty
    appointment: bool = False  # the day-1 infusions of a cycle, merged

    @property
    def planned(self) -> tuple[Event, ...]:
        """The events that still take place (planned or tentative)."""
        return tuple(e for e in self.events if e.status is not Status.CANCELLED)

    @property
    def tentative(self) -> bool:
        return any(e.tentative for e in self.planned)

    @property
    def cancelled(self) -> bool:
        return not self.planned

    @property
    def shown(self) -> tuple[Event, ...]:
        """The events the VEVENT describes: the planned ones, or all of a cancelled entry."""
        return self.planned or self.events

    @property
    def first(self) -> Event:
        return self.shown[0]

    @property
    def sequence(self) -> int:
        return sum(e.revision for e in self.events) + (1 if self.cancelled else 0)

    @property
    def modified(self) -> dt.datetime | None:
        return max((e.modified for e in self.events if e.modified is not None), default=None)


def _entries(schedule: Schedule, options: _Options) -> list[_Entry]:
    regimen = schedule.regimen
    groups: dict[str, list[Event]] = {}
    kinds: dict[str, Kind] = {}
    appointments: set[str] = set()
    for event in (*schedule.events, *schedule.cancelled):
        if event.kind.value not in options.include:
            continue
        if event.kind is Kind.INFUSION and event.day == 1:
            key = event_id(regimen, event.cycle, "infusions", 1)
            appointments.add(key)
        elif event.kind is Kind.ORAL and options.daily:
            key = event_id(regimen, event.cycle, event.agent, event.day)
        else:
            key = event.id
        groups.setdefault(key, []).append(event)
        kinds[key] = event.kind
    entries = [_Entry(key, kinds[key], tuple(events), key in appointments) for key, events in groups.items()]
    return sorted(entries, key=lambda e: (e.first.date, e.first.time or _MIDNIGHT, e.key))


# -- writing --------------------------------------------------------------------------------------


class _Writer:
    def __init__(self, schedule: Schedule, options: _Options, alarms: bool) -> None:
        self.schedule = schedule
        self.course = schedule.course
        self.regimen = schedule.regimen
        self.site = schedule.course.settings
        self.options = options
        self.alarms = alarms
        self.zone = ZoneInfo(self.course.zone)
        self.cycles: dict[int, Cycle] = {c.number: c for c in schedule.cycles}
        self.stamp = self._stamp()
        self.created = self._utc(self.course.created) if self.course.created else None
        self.visit_names = {v.id: v.names for v in (*self.regimen.visits, *self.site.visits)}

    # text
    def _(self, message: str, **values: Any) -> str:
        text = gettext(self.options.language, message)
        return text.format(**values) if values else text

    # instants
    def _utc(self, moment: dt.datetime) -> dt.datetime:
        """A course-file time (naive: wall time in the course zone) as UTC."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(_UTC)

    def _stamp(self) -> dt.datetime:
        """The latest time recorded in the course file; without any, midnight of the course start."""
        recorded = [c.recorded for c in self.course.changes if c.recorded is not None]
        recorded += [b.recorded for b in self.course.bookings.values() if b.recorded is not None]
        known = [self._utc(m) for m in (self.course.created, *recorded) if m is not None]
        return max(known) if known else self._utc(dt.datetime.combine(self.course.start, _MIDNIGHT))

    def _local(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.zone)

    def _end(self, start: dt.datetime, minutes: int) -> dt.datetime:
        """``minutes`` of elapsed time after ``start``, back in the course zone."""
        return (start.astimezone(_UTC) + dt.timedelta(minutes=minutes)).astimezone(self.zone)

    # calendar
    def calendar(self, entries: Sequence[_Entry]) -> Calendar:
        from icalendar import Calendar, vDuration, vText

        from picture_schedule.render.vtimezone import vtimezone

        cal = Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        if self.options.publish:
            cal.add("method", "PUBLISH")
        name = self._calendar_name()
        # icalendar escapes only the properties it knows as TEXT: the X- and RFC 7986 ones get vText
        cal.add("name", vText(name))
        cal.add("x-wr-calname", vText(name))
        cal.add("x-wr-caldesc", vText(self._calendar_description()))
        cal.add("x-wr-timezone", vText(self.course.zone))
        refresh = dt.timedelta(hours=self.site.feed_refresh_hours)
        cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(refresh))
        cal.add("color", vText(COLOR))
        spans = [self._when(entry) for entry in entries]
        timed = [start.date() for start, _ in spans if isinstance(start, dt.datetime)]
        if timed:  # one VTIMEZONE, exact for the span of the timed events written
            cal.add_component(vtimezone(self.course.zone, min(timed), max(timed)))
        for entry, span in zip(entries, spans):
            cal.add_component(self._vevent(entry, span))
        return cal

    def _calendar_name(self) -> str:
        if self.options.full:
            return self._("{title}: treatment calendar", title=self.regimen.title.get(self.options.language))
        return self._("Treatment calendar")

    def _calendar_description(self) -> str:
        lines = [self._(
            "Hospital appointments, tablets, injections and visits. Your paper diary has the details; "
            "your care team's instructions come first."
        )]
        if self.options.full:
            lines.insert(0, self.regimen.title.get(self.options.language))
        lines.extend(self._notes(self.schedule.notes))
        if self.options.full:  # a stop leaves no event in a feed: the calendar says why
            given = set(self.cycles)
            lines.extend("! " + self._("Change: {change}", change=self._words(r))
                         for r in self._stops() if r.params["cycle"] not in given)
        lines.extend(self._phones())
        return "\n".join(lines)

    def _stops(self) -> list[Any]:
        from picture_schedule.core.scheduler import change_reason

        return [change_reason(self.regimen, c) for c in self.course.changes if c.stop]

    def _notes(self, notes: Iterable[Note]) -> list[str]:
        shown: list[str] = []
        for note in notes:
            text = describe(note, self.options.language, patient=True)
            if not self.options.full and self._sensitive(note):
                text = self._("A dose needs checking with your care team: see your paper diary.") if note.code in (
                    "confirm-dose", "dose-deviation") else self._(
                    "Your care team has a note about this schedule: see your paper diary.")
            text = "! " + text
            if text not in shown:
                shown.append(text)
        return shown

    def _sensitive(self, note: Note) -> bool:
        """Whether a note names a medicine, the regimen or trial, or a visit (discreet mode hides them)."""
        if {"agent", "visit"} & set(note.params):
            return True
        terms = {self.regimen.id, self.regimen.trial, self.regimen.title.en, self.regimen.title.zh}
        for agent in self.regimen.agents:
            terms |= {agent.id, agent.names.en, agent.names.zh}
        for names in self.visit_names.values():
            terms |= {names.en, names.zh}
        text = "\n".join(describe(note, language) for language in LANGUAGES).casefold()
        return any(term and term.casefold() in text for term in terms)

    def _phones(self) -> list[str]:
        lines = []
        if self.site.phone_day:
            lines.append(self._("Care team (office hours): {phone}", phone=self.site.phone_day))
        if self.site.phone_24h:
            lines.append(self._("24-hour line: {phone}", phone=self.site.phone_24h))
        return lines

    # events
    def _vevent(self, entry: _Entry, span: tuple[dt.date | dt.datetime, dt.date | dt.datetime]) -> VEvent:
        from icalendar import Event as VEvent

        vevent = VEvent()
        vevent.add("uid", uid_for(self.course, entry.key))
        vevent.add("dtstamp", self.stamp)
        if self.created is not None:
            vevent.add("created", self.created)
        modified = entry.modified
        if modified is not None:
            vevent.add("last-modified", self._utc(modified))
        elif self.created is not None:
            vevent.add("last-modified", self.created)
        vevent.add("sequence", entry.sequence)
        title = self._title(entry)
        if entry.cancelled:
            title = self._("Cancelled: {title}", title=title)
        elif entry.tentative:
            title = self._("To be confirmed: {title}", title=title)
        vevent.add("summary", title)
        start, end = span
        vevent.add("dtstart", start)
        vevent.add("dtend", end)
        if entry.kind in (Kind.INFUSION, Kind.VISIT) and self.site.location:
            vevent.add("location", self.site.location)
        vevent.add("description", "\n".join(self._description(entry)))
        vevent.add("categories", [self._category(entry.kind)])
        vevent.add("class", "PRIVATE")
        busy = entry.kind in (Kind.INFUSION, Kind.VISIT) and not entry.cancelled
        vevent.add("transp", "OPAQUE" if busy else "TRANSPARENT")
        vevent.add("status", "CANCELLED" if entry.cancelled else "TENTATIVE" if entry.tentative else "CONFIRMED")
        if self.alarms and not entry.cancelled:
            for trigger in self._triggers(entry, start):
                vevent.add_component(self._alarm(title, trigger))
        return vevent

    def _when(self, entry: _Entry) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime]:
        first = entry.first
        if entry.kind is Kind.ORAL and self.options.daily or first.time is None:
            return first.date, first.date + dt.timedelta(days=1)  # all-day: DTEND is the next date
        if entry.appointment and not entry.cancelled:
            cycle = self.cycles[first.cycle]
            assert cycle.infusion_start is not None
            start = self._local(first.date, cycle.infusion_start)
            booking = cycle.booking
            if booking is not None and booking.end > booking.start:  # the chair time the coordinator booked
                return start, self._local(first.date, booking.end)
            return start, self._end(start, cycle.chair_minutes)
        start = self._local(first.date, first.time)
        minutes = {Kind.INFUSION: first.minutes, Kind.VISIT: VISIT_MINUTES}.get(entry.kind, DOSE_MINUTES)
        return start, self._end(start, minutes or DOSE_MINUTES)

    def _triggers(self, entry: _Entry, start: dt.date | dt.datetime) -> list[dt.timedelta]:
        """Alarm offsets from DTSTART: at dose time; 18:00 the evening before an appointment or visit.

        Offsets are durations from the event's own start (RELATED=START), so no alarm needs a date.
        """
        if entry.kind in (Kind.INFUSION, Kind.VISIT):
            at = start.time() if isinstance(start, dt.datetime) else _MIDNIGHT
            return [_since_midnight(EVENING_BEFORE) - dt.timedelta(days=1) - _since_midnight(at)]
        if isinstance(start, dt.datetime):
            return [dt.timedelta(0)]
        # an all-day tablet day: one alarm at each dose time, counted from the start of the day
        return [_since_midnight(t) for t in sorted({e.time for e in entry.shown if e.time is not None})]

    def _alarm(self, title: str, trigger: dt.timedelta) -> Any:
        from icalendar import Alarm

        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        alarm.add("trigger", trigger)
        return alarm

    def _category(self, kind: Kind) -> str:
        return {
            Kind.ORAL: self._("Tablets"),
            Kind.INFUSION: self._("Hospital appointment"),
            Kind.INJECTION: self._("Injection"),
            Kind.VISIT: self._("Clinic visit"),
        }[kind]

    # titles
    def _title(self, entry: _Entry) -> str:
        first, full = entry.first, self.options.full
        if entry.kind is Kind.ORAL:
            slots = self._slots(entry)
            if full:
                what = f"{self._medicine(first.agent)} {self._dose(first.dose)}".strip()
                return self._("{what} ({slots})", what=what, slots=slots) if self.options.daily and slots else what
            if self.options.daily:
                return self._("Tablets: {slots}", slots=slots) if slots else self._("Tablets")
            if first.slot is Slot.MORNING:
                return self._("Morning tablets")
            if first.slot is Slot.EVENING:
                return self._("Evening tablets")
            return self._("Tablets")
        if entry.kind is Kind.INFUSION:
            if not full:
                return self._("Hospital appointment")
            names = " + ".join(self._medicine(e.agent) for e in entry.shown)
            return self._("Infusion: {medicines}", medicines=names)
        if entry.kind is Kind.INJECTION:
            if not full:
                return self._("Injection")
            return self._("{medicine} injection: {dose}", medicine=self._medicine(first.agent),
                          dose=self._dose(first.dose))
        if not full:
            return self._("Clinic visit")
        visit = self.visit_names.get(first.agent)
        return visit.get(self.options.language) if visit else self._("Clinic visit")

    def _slots(self, entry: _Entry) -> str:
        slots = {e.slot for e in entry.shown}
        if {Slot.MORNING, Slot.EVENING} <= slots:
            return self._("morning and evening")
        if Slot.MORNING in slots:
            return self._("morning")
        if Slot.EVENING in slots:
            return self._("evening")
        return ""

    def _medicine(self, agent_id: str) -> str:
        try:
            return self.regimen.agent(agent_id).names.get(self.options.language)
        except KeyError:
            return agent_id

    def _dose(self, dose: Dose | None) -> str:
        """What prints for a dose: "1650 mg = 3 × 500 mg + 1 × 150 mg", "200 mg", "100IU HD (confirm …)"."""
        if dose is None:
            return ""
        if dose.confirm:
            return self._("{dose} (confirm with your care team)", dose=dose.text)
        if dose.tablets and dose.amount is not None:
            parts = " + ".join(self._("{count} × {strength} mg", count=count, strength=strength)
                               for strength, count in dose.tablets)
            return f"{format_amount(dose.amount)} {dose.unit} = {parts}"
        return dose.text

    # descriptions
    def _description(self, entry: _Entry) -> list[str]:
        first, full = entry.first, self.options.full
        lines: list[str] = []
        if entry.cancelled:
            lines.append(self._("Cancelled by your care team: this no longer takes place."))
        if first.cycle and entry.kind is not Kind.VISIT:  # a visit's cycle day can be before day 1
            lines.append(self._("Cycle {cycle}, day {day}", cycle=first.cycle, day=first.day))
        if entry.kind is Kind.ORAL and self.options.daily:
            times = sorted({e.time for e in entry.shown if e.time is not None})
            if times:
                lines.append(self._("Times: {times}", times=", ".join(f"{t:%H:%M}" for t in times)))
        for reason in dict.fromkeys(e.status_reason for e in entry.shown if e.tentative and e.status_reason):
            lines.append("! " + self._words(reason))
        if entry.appointment and not entry.cancelled:
            cycle = self.cycles[first.cycle]
            lines.append(self._("About {minutes} minutes in the unit (preparation, treatment and observation).",
                                minutes=cycle.chair_minutes))
            if cycle.booking is not None:
                lines.append(self._("Your appointment: {start} to {end}.", start=f"{cycle.booking.start:%H:%M}",
                                    end=f"{cycle.booking.end:%H:%M}"))
            else:
                lines.append(self._("Time to be confirmed: your care team will tell you the time of this "
                                    "appointment."))
        if entry.appointment and full:  # each medicine with its own dose, also in a cancelled appointment
            for e in entry.shown:
                lines.append(self._("{medicine} {dose}, infusion over {minutes} min",
                                    medicine=self._medicine(e.agent), dose=self._dose(e.dose), minutes=e.minutes))
        elif full and first.dose is not None and entry.kind is not Kind.VISIT:
            lines.append(self._("Dose: {dose}", dose=self._dose(first.dose)))
        for agent, dose in self._doses(entry):
            if dose.level and not full:
                lines.append(self._("The dose was changed by your care team."))
            elif dose.level < 0:
                lines.append(self._("{medicine}: reduced dose (level {level}).", medicine=self._medicine(agent),
                                    level=dose.level))
            elif dose.level:
                lines.append(self._("{medicine}: dose level {level}.", medicine=self._medicine(agent),
                                    level=dose.level))
            if dose.confirm and not full:
                lines.append(self._("Confirm this dose with your care team."))
            if dose.warnings:
                lines.append(reason_text(dose.warnings, self.options.language, patient=True) if full else
                             self._("Check this dose with your care team."))
        if first.window is not None:
            earliest, latest = first.window
            if earliest != latest:
                lines.append(self._("Window: {earliest} to {latest}", earliest=earliest.isoformat(),
                                    latest=latest.isoformat()))
        if any(e.moved for e in entry.shown):
            reasons = sorted({self._words(e.move_reason) for e in entry.shown if e.move_reason})
            if full and reasons:
                lines.extend(self._("Moved: {reason}", reason=r) for r in reasons)
            else:
                lines.append(self._("This date differs from the original plan."))
        if full:  # each recorded change behind this event, with its reason as typed, who and when
            changes = [*(r for e in entry.events for r in e.changes)]
            if entry.appointment and first.cycle in self.cycles:
                changes[:0] = self.cycles[first.cycle].changes
            lines.extend(self._("Change: {change}", change=self._words(r)) for r in dict.fromkeys(changes))
        if entry.kind is Kind.INFUSION:
            lines.extend(self._phones())
        return list(dict.fromkeys(lines))

    def _words(self, reasons: Any) -> str:
        """Reasons in the calendar's language, in the patient's plain words."""
        return reason_text(reasons, self.options.language, patient=True)

    @staticmethod
    def _doses(entry: _Entry) -> list[tuple[str, Dose]]:
        """(agent, dose) of each medicine the entry shows: a dose label belongs to its own medicine."""
        doses: list[tuple[str, Dose]] = []
        for e in entry.shown:
            if e.dose is not None and (e.agent, e.dose) not in doses:
                doses.append((e.agent, e.dose))
        return doses


def _since_midnight(time: dt.time) -> dt.timedelta:
    return dt.timedelta(hours=time.hour, minutes=time.minute, seconds=time.second)
