"""Independent checks of the iCalendar files we write.

- :func:`lint` reads the raw bytes for what RFC 5545 demands and parsers forgive
  (CRLF, 75-octet lines, folding inside a UTF-8 character, UIDs, BEGIN/END,
  missing VTIMEZONEs).
- :func:`parse_ical` (allenporter's strict ``ical``), :func:`parse_vobject`,
  :func:`parse_icaljs` (Mozilla's ical.js under Node, as Thunderbird reads it) and
  :func:`parse_icalendar` read a file into the same plain list of events.

Every parser converts local times with **only the VTIMEZONEs embedded in the
file**, never with its own copy of the zone, because that is what a client
without the zone, or with another tzdata, does. A TZID without a VTIMEZONE
raises :class:`MissingTimezone`.

ical.js is installed from tests/js/package.json: ``npm ci --prefix tests/js``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).parent / "js"
ICALJS_SCRIPT = JS_DIR / "icaljs_dump.mjs"
ICALJS_PACKAGE = JS_DIR / "node_modules" / "ical.js" / "package.json"

#: One event as every parser reports it. Times are aware UTC datetimes, dates
#: for all-day events, or naive datetimes for floating times; ``end`` is None
#: when the event has neither DTEND nor DURATION; ``sequence`` None when absent.
Event = dict[str, Any]
Parser = Callable[[bytes], list[Event]]


class MissingTimezone(ValueError):
    """A property names a TZID that no VTIMEZONE in the file defines."""


# ---------------------------------------------------------------------------- lint


def lint(data: bytes) -> list[str]:
    """Problems RFC 5545 forbids in ``data``; an empty list means clean."""
    problems: list[str] = []
    if data and not data.endswith(b"\r\n"):
        problems.append("file does not end with CRLF")
    physical = data.split(b"\n")
    if physical[-1] == b"":
        physical.pop()
    for number, raw in enumerate(physical, start=1):
        line = raw.removesuffix(b"\r")
        if line == raw and (number < len(physical) or data.endswith(b"\n")):
            problems.append(f"line {number}: ends with LF, not CRLF")
        if b"\r" in line:
            problems.append(f"line {number}: bare CR")
        if len(line) > 75:
            problems.append(f"line {number}: {len(line)} octets, more than 75")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            if _fold_splits_character(physical, number):
                problems.append(f"line {number}: folding splits a UTF-8 character")
            else:
                problems.append(f"line {number}: not UTF-8 ({error.reason})")
    text = data.replace(b"\r\n", b"\n").decode("utf-8", errors="replace")
    problems.extend(_lint_content(_unfold(text)))
    return problems


def _fold_splits_character(physical: list[bytes], number: int) -> bool:
    """Whether line ``number`` (1-based) is invalid only because a fold cut a character."""

    def joined(first: int) -> bytes:  # physical lines first and first + 1 (0-based), unfolded
        return physical[first].removesuffix(b"\r") + physical[first + 1].removesuffix(b"\r")[1:]

    for first in (number - 1, number - 2):
        if 0 <= first < len(physical) - 1 and physical[first + 1][:1] in (b" ", b"\t"):
            try:
                joined(first).decode("utf-8")
                return True
            except UnicodeDecodeError:
                pass
    return False


def _unfold(text: str) -> list[tuple[int, str]]:
    """Logical lines, each with the number of the physical line it starts on."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    logical: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line[:1] in (" ", "\t") and logical:
            start, previous = logical[-1]
            logical[-1] = (start, previous + line[1:])
        else:
            logical.append((number, line))
    return logical


_NAME = re.compile(r"[A-Za-z0-9-]+")


def _content_line(line: str) -> tuple[str, dict[str, list[str]], str] | None:
    """Split ``NAME;PARAM=a,"b":value``; None when it is not a content line."""
    match = _NAME.match(line)
    if match is None:
        return None
    name, position, params = match.group().upper(), match.end(), {}
    while position < len(line) and line[position] == ";":
        param = _NAME.match(line, position + 1)
        if param is None or param.end() >= len(line) or line[param.end()] != "=":
            return None
        values: list[str] = []
        position = param.end()
        while position < len(line) and line[position] == ("," if values else "="):
            position += 1
            if line[position : position + 1] == '"':
                close = line.find('"', position + 1)
                if close < 0:
                    return None
                values.append(line[position + 1 : close])
                position = close + 1
            else:
                value = re.match(r'[^";:,]*', line[position:])
                assert value is not None
                values.append(value.group())
                position += value.end()
        params[param.group().upper()] = values
    if position >= len(line) or line[position] != ":":
        return None
    return name, params, line[position + 1 :]


def _lint_content(lines: list[tuple[int, str]]) -> list[str]:
    problems: list[str] = []
    # Each open component: its name, line, properties seen, TZIDs referenced.
    stack: list[dict[str, Any]] = []
    keys: Counter[tuple[str, str]] = Counter()
    calendars = 0
    for number, line in lines:
        if not line:
            problems.append(f"line {number}: empty line")
            continue
        parsed = _content_line(line)
        if parsed is None:
            problems.append(f"line {number}: not a content line: {line[:40]!r}")
            continue
        name, params, value = parsed
        if name == "BEGIN":
            stack.append({"name": value.upper(), "line": number, "props": {}, "tzids": set(), "vtimezones": set()})
            continue
        if name == "END":
            if not stack:
                problems.append(f"line {number}: END:{value} without BEGIN")
                continue
            component = stack.pop()
            if component["name"] != value.upper():
                problems.append(
                    f"line {number}: END:{value} closes BEGIN:{component['name']} of line {component['line']}"
                )
            problems.extend(_check_component(component, keys))
            if component["name"] == "VTIMEZONE" and stack:
                stack[0]["vtimezones"].add(component["props"].get("TZID", [""])[0])
            if component["name"] == "VCALENDAR":
                calendars += 1
            continue
        if not stack:
            problems.append(f"line {number}: {name} outside any component")
            continue
        stack[-1]["props"].setdefault(name, []).append(value)
        if "TZID" in params and stack[0]["name"] == "VCALENDAR":
            stack[0]["tzids"].update((tzid, number) for tzid in params["TZID"])
    for component in reversed(stack):
        problems.append(f"line {component['line']}: BEGIN:{component['name']} never ends")
    if calendars == 0 and not stack:
        problems.append("no VCALENDAR")
    for (uid, recurrence_id), count in sorted(keys.items()):
        if count > 1:
            which = f" with RECURRENCE-ID {recurrence_id}" if recurrence_id else ""
            problems.append(f"UID {uid}{which} appears {count} times")
    return problems


def _check_component(component: dict[str, Any], keys: Counter[tuple[str, str]]) -> list[str]:
    name, props, where = component["name"], component["props"], f"line {component['line']}"
    problems = []
    if name == "VCALENDAR":
        if props.get("VERSION") != ["2.0"]:
            problems.append(f"{where}: VCALENDAR needs VERSION:2.0, has {props.get('VERSION')}")
        if len(props.get("PRODID", [])) != 1:
            problems.append(f"{where}: VCALENDAR needs one PRODID")
        for tzid, number in sorted(component["tzids"]):
            if tzid not in component["vtimezones"]:
                problems.append(f"line {number}: TZID={tzid} has no VTIMEZONE")
    if name in ("VEVENT", "VTODO", "VJOURNAL"):
        for required in ("UID", "DTSTAMP"):
            if len(props.get(required, [])) != 1:
                problems.append(f"{where}: {name} needs one {required}")
        if "UID" in props:
            keys[(props["UID"][0], props.get("RECURRENCE-ID", [""])[0])] += 1
    if name == "VTIMEZONE" and "TZID" not in props:
        problems.append(f"{where}: VTIMEZONE without TZID")
    return problems


# ------------------------------------------------------------------------- parsers
# Each parser reads a time property as (value, tzid): a date, a naive local time
# and its TZID, a naive floating time (tzid None) or an aware UTC time. _Reader
# turns those into what an Event holds, with only the embedded VTIMEZONEs.

Time = date | datetime


class _Reader:
    def __init__(self, zones: dict[str, tzinfo]) -> None:
        self.zones = zones

    def time(self, value: Time | None, tzid: str | None) -> Time | None:
        if value is None or not isinstance(value, datetime):
            return value
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        if tzid is None:
            return value  # floating
        if tzid not in self.zones:
            raise MissingTimezone(f"TZID={tzid} has no VTIMEZONE in the file")
        return value.replace(tzinfo=self.zones[tzid]).astimezone(UTC)

    def end(self, start: Time, tzid: str | None, duration: timedelta) -> Time | None:
        """DTSTART + DURATION as RFC 5545 says: days are nominal (wall clock), the rest exact."""
        if not isinstance(start, datetime):
            return start + duration
        nominal = self.time(start + timedelta(days=duration.days), tzid)
        assert nominal is not None
        return nominal + (duration - timedelta(days=duration.days))

    def event(self, raw: dict[str, Any]) -> Event:
        """``raw`` holds uid, summary, sequence, status and (value, tzid) pairs
        for dtstart, dtend, recurrence_id, plus duration (a timedelta or None)."""
        start, start_tzid = raw["dtstart"]
        if raw["dtend"][0] is not None:
            end = self.time(*raw["dtend"])
        elif raw["duration"] is not None:
            end = self.end(start, start_tzid, raw["duration"])
        else:
            end = None
        return {
            "uid": _str(raw["uid"]),
            "summary": _str(raw["summary"]),
            "start_utc": self.time(start, start_tzid),
            "end_utc": end,
            "recurrence_id": self.time(*raw["recurrence_id"]),
            "sequence": None if raw["sequence"] is None else int(raw["sequence"]),
            "status": None if raw["status"] is None else str(raw["status"]).upper(),
        }


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def parse_ical(data: bytes) -> list[Event]:
    """The events of ``data`` as read by the strict ``ical`` package (its own VTIMEZONE code)."""
    from ical.calendar_stream import IcsCalendarStream
    from ical.timezone import IcsTimezoneInfo
    from ical.types.recur import RecurrenceId

    def split(value: Time | str | None) -> tuple[Time | None, str | None]:
        if isinstance(value, RecurrenceId):  # kept as text, its TZID as .tzinfo
            plain = RecurrenceId.to_value(str(value))
            if value.tzinfo is None or not isinstance(plain, datetime):
                return plain, None
            value = plain.replace(tzinfo=value.tzinfo)
        assert not isinstance(value, str)
        # ical attaches a zoneinfo for IANA TZIDs, ignoring the VTIMEZONE: undo that.
        if not isinstance(value, datetime) or value.tzinfo is None or value.tzinfo is UTC:
            return value, None
        return value.replace(tzinfo=None), getattr(value.tzinfo, "key", None) or str(value.tzinfo)

    events = []
    for cal in IcsCalendarStream.from_ics(data.decode("utf-8")).calendars:
        reader = _Reader({tz.tz_id: IcsTimezoneInfo.from_timezone(tz) for tz in cal.timezones})
        for event in cal.events:
            events.append(
                reader.event(
                    {
                        "uid": event.uid,
                        "summary": event.summary,
                        "dtstart": split(event.dtstart),
                        "dtend": split(event.dtend),
                        "duration": event.duration,
                        "recurrence_id": split(event.recurrence_id),
                        "sequence": event.sequence,
                        "status": event.status.value if event.status else None,
                    }
                )
            )
    return events


def parse_vobject(data: bytes) -> list[Event]:
    """The events of ``data`` as read by vobject (VTIMEZONEs through dateutil's tzical)."""
    import vobject

    def split(prop: Any) -> tuple[Time | None, str | None]:
        if prop is None:
            return None, None
        value = prop.value
        tzid = (prop.params.get("X-VOBJ-ORIGINAL-TZID") or prop.params.get("TZID") or [None])[0]
        if isinstance(value, datetime) and tzid is not None:
            return value.replace(tzinfo=None), tzid
        return value, None

    events = []
    for cal in vobject.readComponents(data.decode("utf-8")):
        reader = _Reader({str(vtz.tzid.value): vtz.gettzinfo() for vtz in cal.contents.get("vtimezone", [])})
        for vevent in cal.contents.get("vevent", []):
            def prop(name: str) -> Any:
                return vevent.contents.get(name, [None])[0]

            def value(name: str) -> Any:
                return None if prop(name) is None else prop(name).value

            events.append(
                reader.event(
                    {
                        "uid": value("uid"),
                        "summary": value("summary"),
                        "dtstart": split(prop("dtstart")),
                        "dtend": split(prop("dtend")),
                        "duration": value("duration"),
                        "recurrence_id": split(prop("recurrence-id")),
                        "sequence": value("sequence"),
                        "status": value("status"),
                    }
                )
            )
    return events


def parse_icalendar(data: bytes) -> list[Event]:
    """The events of ``data`` as read by icalendar, zones from ``Timezone.to_tz(lookup_tzid=False)``."""
    import icalendar

    def split(prop: Any) -> tuple[Time | None, str | None]:
        if prop is None:
            return None, None
        value, tzid = prop.dt, prop.params.get("TZID")
        if isinstance(value, datetime) and tzid is not None:
            return value.replace(tzinfo=None), str(tzid)
        return value, None

    events = []
    for cal in icalendar.Calendar.from_ical(data, multiple=True):
        reader = _Reader({tz.tz_name: tz.to_tz(lookup_tzid=False) for tz in cal.timezones})
        for vevent in cal.walk("VEVENT"):
            duration: Any = vevent.get("DURATION")
            events.append(
                reader.event(
                    {
                        "uid": vevent.get("UID"),
                        "summary": vevent.get("SUMMARY"),
                        "dtstart": split(vevent.get("DTSTART")),
                        "dtend": split(vevent.get("DTEND")),
                        "duration": None if duration is None else duration.dt,
                        "recurrence_id": split(vevent.get("RECURRENCE-ID")),
                        "sequence": vevent.get("SEQUENCE"),
                        "status": vevent.get("STATUS"),
                    }
                )
            )
    return events


def icaljs_available() -> str | None:
    """Why ical.js cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js (20 or later)"
    if not ICALJS_PACKAGE.exists():
        return "ical.js is not installed: run `npm ci --prefix tests/js`"
    return None


def require_icaljs() -> None:
    """Skip the calling test when ical.js is missing; fail it under CI, which must install it."""
    from tests.conftest import need

    reason = icaljs_available()
    need(reason is None, reason or "")


def parse_icaljs(data: bytes) -> list[Event]:
    """The events of ``data`` as read by Mozilla's ical.js under Node (tests/js/icaljs_dump.mjs)."""
    if (reason := icaljs_available()) is not None:
        raise RuntimeError(reason)
    completed = subprocess.run(
        ["node", str(ICALJS_SCRIPT)], input=data, capture_output=True, check=False, timeout=60
    )
    if completed.returncode != 0:
        raise RuntimeError(f"ical.js failed: {completed.stderr.decode('utf-8', 'replace').strip()}")
    result = json.loads(completed.stdout)
    if result["problems"]:
        raise MissingTimezone("; ".join(result["problems"]))
    return [
        {
            "uid": e["uid"],
            "summary": e["summary"],
            "start_utc": _from_js(e["start"]),
            "end_utc": _from_js(e["end"]),
            "recurrence_id": _from_js(e["recurrence_id"]),
            "sequence": e["sequence"],
            "status": e["status"].upper() if e["status"] else None,
        }
        for e in result["events"]
    ]


def _from_js(value: dict[str, Any] | None) -> Time | None:
    if value is None:
        return None
    if "utc" in value:
        return datetime.fromtimestamp(value["utc"], UTC)
    if "date" in value:
        return date.fromisoformat(value["date"])
    return datetime.fromisoformat(value["floating"])
