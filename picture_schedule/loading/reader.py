"""Reading TOML: one reader that collects every problem with its file, field and value; dates."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from picture_schedule.core.model import (
    Names,
)
from picture_schedule.errors import InputError, Problems, ScheduleError

_MISSING = object()



def read_toml(path: Path | str, label: str | None = None) -> tuple[dict[str, Any], str]:
    """Parse a TOML file; errors name the file and the line."""
    label = label or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", source=label) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a TOML file", source=label) from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", source=label) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", source=label) from None
    return parse_toml(text, label), label


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
