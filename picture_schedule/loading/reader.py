"""Reading TOML: one reader that collects every problem with its file, field and value; dates."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from picture_schedule.core.model import (
    Names,
)
from picture_schedule.errors import InputError, Problems, ScheduleError
from picture_schedule.output import note_input

_MISSING = object()
ID_PATTERN = re.compile(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")  # regimen, agent and visit ids (at most 64)

# Limits on what a command reads (docs/security.md): a bigger input is refused at once, never read.
INPUT_FILE_MAX = 1_000_000  # bytes: a course, site, regimen or cohort file
STUDY_NUMBER_MAX = 32  # characters
REASON_MAX = 500  # characters: a change's reason
NAME_MAX = 100  # characters: who did something (--by)
DISPLAY_NAME_MAX = 300  # characters: the name on a diary's cover

# C0 and C1 controls (and DEL), bidirectional marks, embeddings, overrides and isolates: they make a
# terminal run escape sequences or show a text reordered (U+202E turns "PIC-001" into "100-CIP").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def text_problem(value: str, limit: int, *, free_text: bool = False) -> str | None:
    """Why ``value`` cannot be a field of at most ``limit`` characters, or None. Identifiers (study
    numbers, ids, names) may hold no control or bidirectional character; free text (a reason) may
    also hold line breaks and tabs."""
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit} are allowed"
    found = (_UNSAFE_IN_TEXT if free_text else _UNSAFE).search(value)
    if found:
        return (f"holds the control or bidirectional character U+{ord(found[0]):04X} "
                f"(at character {found.start() + 1}); remove it")
    return None


def check_text(value: str, limit: int, *, source: str | None = None, field: str | None = None,
               free_text: bool = False) -> str:
    """``value`` if :func:`text_problem` finds nothing; else an :class:`InputError`."""
    problem = text_problem(value, limit, free_text=free_text)
    if problem:
        raise InputError(problem, source=source, field=field)
    return value


def read_toml(path: Path | str, label: str | None = None) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; errors name the file and the line."""
    label = label or str(path)
    return parse_toml(read_text(path, label), label), label


def read_text(path: Path | str, label: str | None = None, what: str = "", *, encoding: str = "utf-8") -> str:
    """A UTF-8 text file (see :func:`read_input`); errors name ``label`` (default: the path). ``what``
    ("regimen") names the kind of file expected in the messages."""
    label = label or str(path)
    try:
        return read_input(path, label, what).decode(encoding)
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", source=label) from None


def read_input(path: Path | str, label: str | None = None, what: str = "") -> bytes:
    """The bytes of an input file: the one place every course, site, regimen and cohort file is read.

    Only a regular file of at most :data:`INPUT_FILE_MAX` bytes is read. Anything else (a device
    such as ``/dev/zero``, a FIFO, a socket) is refused after an ``os.stat``, before it is opened;
    a file that grows or is swapped after that check is still read no further than the limit."""
    label = label or str(path)
    kind = f"{what} " if what else ""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"no such {kind}file", source=label) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", source=label) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"is a folder, expected a {kind}file", source=label)
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"is not a regular file (a device, FIFO or socket); give a {kind}file", source=label)
    if info.st_size > INPUT_FILE_MAX:
        raise InputError(f"is {info.st_size:,} bytes; an input file may be at most {INPUT_FILE_MAX:,} bytes",
                         source=label)
    note_input(path)  # a command may not write its output over a file it reads
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", source=label) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the check and the open
            raise InputError(f"is not a regular file (a device, FIFO or socket); give a {kind}file", source=label)
        chunks, size = [], 0
        while size <= INPUT_FILE_MAX:
            chunk = os.read(fd, INPUT_FILE_MAX + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", source=label) from None
    finally:
        os.close(fd)
    if size > INPUT_FILE_MAX:
        raise InputError(f"is over {INPUT_FILE_MAX:,} bytes; an input file may be at most {INPUT_FILE_MAX:,} bytes",
                         source=label)
    return b"".join(chunks)


def parse_toml(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=label) from None


class Reader:
    """One TOML table with its dotted path; collects problems instead of stopping at the first."""

    def __init__(self, data: Any, source: str, path: str = "", problems: list[ScheduleError] | None = None):
        self.source = source
        self.path = path
        self.problems: list[ScheduleError] = [] if problems is None else problems
        self.data = data if isinstance(data, dict) else {}
        self.used: set[str] = set()
        if not isinstance(data, dict):
            self.problem(None, f"expected a table, got {show(data)}")

    def where(self, name: str | None) -> str:
        if name is None:
            return self.path
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str | None, message: str) -> None:
        self.problems.append(InputError(message, source=self.source, field=self.where(name) or None))

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        self.used.add(name)
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            self.problem(name, "is required")
            return None
        return default

    def typed(self, name: str, kinds: tuple[type, ...], what: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or (value is default and default is not _MISSING):
            return value
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.problem(name, f"{show(value)} is not {what}")
            return None
        return value

    def text(self, name: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> Any:
        value = self.typed(name, (str,), "text", default)
        if value is not None and choices and value not in choices:
            self.problem(name, f"{show(value)} is not one of: {', '.join(choices)}")
            return None
        return value

    def integer(self, name: str, lo: int, hi: int, default: Any = _MISSING) -> Any:
        value = self.typed(name, (int,), "a whole number", default)
        if isinstance(value, int) and not lo <= value <= hi:
            self.problem(name, f"{value} is outside {lo}–{hi}")
            return None
        return value

    def number(self, name: str, lo: float, hi: float, default: Any = _MISSING, unit: str = "") -> Any:
        value = self.typed(name, (int, float), "a number", default)
        if isinstance(value, (int, float)) and not lo <= value <= hi:
            self.problem(name, f"{value:g} is outside {lo:g}–{hi:g}{' ' + unit if unit else ''}")
            return None
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        return self.typed(name, (bool,), "true or false", default)

    def date(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        return self.as_date(name, value)

    def as_date(self, name: str, value: Any) -> dt.date | None:
        if isinstance(value, dt.datetime):
            self.problem(name, f"{value.isoformat()} has a time; give a date like 2026-12-07")
            return None
        if isinstance(value, dt.date):
            try:
                return check_date_range(value)
            except InputError as exc:
                self.problem(name, exc.message)
                return None
        if isinstance(value, str):
            try:
                return parse_date(value)
            except InputError as exc:
                self.problem(name, exc.message)
                return None
        self.problem(name, f"{show(value)} is not a date (YYYY-MM-DD)")
        return None

    def time(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        if isinstance(value, dt.time):
            return value
        if isinstance(value, str):
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
            if match:
                return dt.time(int(match[1]), int(match[2]))
        self.problem(name, f"{show(value)} is not a clock time (HH:MM, 00:00–23:59)")
        return None

    def datetime(self, name: str) -> dt.datetime | None:
        value = self.raw(name, None)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time(0))
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
        self.problem(name, f"{show(value)} is not a date and time (2027-01-20T10:30:00)")
        return None

    def names(self, name: str, default: Any = _MISSING) -> Names | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip():
                return Names(value)
            self.problem(name, "is empty")
            return None
        if isinstance(value, dict):
            sub = Reader(value, self.source, self.where(name), self.problems)
            en = sub.text("en")
            zh = sub.text("zh-CN", "")
            sub.done()
            return Names(en, zh or "") if en else None
        self.problem(name, f"{show(value)} is not text or a table {{ en = …, zh-CN = … }}")
        return None

    def table(self, name: str, required: bool = False) -> Reader | None:
        value = self.raw(name, _MISSING if required else None)
        if value is None:
            return None
        return Reader(value, self.source, self.where(name), self.problems)

    def tables(self, name: str) -> Iterator[Reader]:
        value = self.raw(name, [])
        if not isinstance(value, list):
            self.problem(name, f"{show(value)} is not a list of tables ([[{name}]])")
            return
        for i, item in enumerate(value):
            yield Reader(item, self.source, f"{self.where(name)}[{i + 1}]", self.problems)

    def int_list(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            self.problem(name, f"{show(value)} is not a list of whole numbers")
            return None
        return tuple(value)

    def str_list(self, name: str, default: Any = _MISSING) -> Any:
        value = self.raw(name, default)
        if value is None or value is default and default is not _MISSING:
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(name, f"{show(value)} is not a list of names")
            return None
        return tuple(value)

    def done(self) -> None:
        """Report fields nobody asked for (typos must not be silently ignored)."""
        for key in self.data:
            if key not in self.used:
                allowed = ", ".join(sorted(self.used))
                self.problem(key, f"unknown field (allowed here: {allowed})")


def show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a table" if isinstance(value, dict) else "a list"
    return str(value)


FIRST_DATE, LAST_DATE = dt.date(1970, 1, 1), dt.date(2199, 12, 31)


def parse_date(text: str, source: str | None = None) -> dt.date:
    """'2026-12-07' → date; impossible dates (2026-02-30) get a clear message."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if not match:
        raise InputError(f"{text!r} is not a date in the form YYYY-MM-DD", source=source)
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise InputError(f"{text!r} is not a real date ({exc})", source=source) from None
    return check_date_range(day, source)


def check_date_range(day: dt.date, source: str | None = None) -> dt.date:
    """Treatment dates are between 1970 and 2199 (holiday data and clocks cover that span)."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InputError(
            f"{day.isoformat()} is outside the supported dates {FIRST_DATE.isoformat()} – {LAST_DATE.isoformat()}",
            source=source)
    return day


def finish(reader: Reader, build: Callable[[], Any]) -> Any:
    reader.done()
    if reader.problems:
        raise reader.problems[0] if len(reader.problems) == 1 else Problems(reader.problems)
    return build()
