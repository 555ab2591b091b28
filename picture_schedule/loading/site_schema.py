"""Reading and documenting site settings by the one schema (:mod:`picture_schedule.core.site_schema`).

``read_settings`` checks the keys of one table of a site file, each by its declared kind, range or
choices, and gives the values the model holds; ``reference_markdown`` writes the reference page.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from picture_schedule.core.site_schema import (
    SETTINGS,
    TABLES,
    WEEKDAYS,
    Setting,
    SettingKind,
    settings_of,
)
from picture_schedule.loading.reader import ID_PATTERN, Reader, show

__all__ = ["SETTINGS", "TABLES", "Setting", "SettingKind", "read_setting", "read_settings",
           "reference_markdown", "settings_of"]

_URL = re.compile(r"^https?://[^\s/]+")
_URI = re.compile(r"\A(?:urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+|https?://[^\s/]+\S*)\Z")  # FHIR identifier systems


def read_settings(r: Reader, table: str, folder: Path | None = None) -> dict[str, Any]:
    """Key → model value of every setting of ``table`` read from ``r`` (None where a problem was found).

    ``folder`` is where the file lies (relative folders are resolved against it; None: kept as written).
    """
    return {s.key: read_setting(r, s, folder) for s in settings_of(table)}


def read_setting(r: Reader, setting: Setting, folder: Path | None = None) -> Any:
    """One setting, checked: its model value; its default when not given; None after a problem."""
    key = setting.key
    r.used.add(key)
    if key not in r.data:
        if setting.required:
            r.problem(key, "is required")
            return None
        return setting.model_default
    value = _read(r, setting, folder)
    return setting.model_value(value)


def _read(r: Reader, s: Setting, folder: Path | None) -> Any:
    """The file value of ``s`` (present in ``r``), checked by its kind; None after a problem."""
    key, kind = s.key, s.kind
    if kind in (SettingKind.TEXT, SettingKind.COUNTRY, SettingKind.SUBDIVISION):
        return r.text(key, None, s.choices)
    if kind is SettingKind.INTEGER:
        assert s.lo is not None and s.hi is not None
        return r.integer(key, int(s.lo), int(s.hi), None)
    if kind is SettingKind.NUMBER:
        assert s.lo is not None and s.hi is not None
        return r.number(key, s.lo, s.hi, None, s.unit)
    if kind is SettingKind.TIME:
        return r.time(key, None)
    if kind is SettingKind.WEEKDAYS:
        days = r.str_list(key, None)
        bad = [d for d in days or () if d.lower()[:3] not in WEEKDAYS]
        if bad:
            r.problem(key, f"{bad[0]!r} is not a weekday ({s.allowed})")
            return None
        if days is not None and not days:
            r.problem(key, f"is empty: name at least one weekday ({s.allowed})")
            return None
        return days
    if kind is SettingKind.ZONE:
        zone = r.text(key, None)
        return zone if zone is None or check_zone(r, key, zone) else None
    if kind is SettingKind.URL:
        url = r.text(key, None)
        if url and not _URL.match(url):
            r.problem(key, f"{url!r} is not an {s.allowed}")
            return None
        return url
    if kind is SettingKind.URI:
        uri = r.text(key, None)
        if uri is not None and not _URI.match(uri):
            r.problem(key, f"{uri!r} is not {s.allowed}")
            return None
        return uri
    if kind is SettingKind.FOLDER:
        path = r.text(key, None)
        if path and folder is not None:  # a file on disk: the folder must be there (a stored copy has none)
            full = Path(path) if Path(path).is_absolute() else folder / path
            if not full.is_dir():
                r.problem(key, f"folder {path!r} does not exist (looked for {str(full)!r})")
                return None
            return str(full)
        return path
    if kind is SettingKind.DAYS_PAIR:
        pair = r.int_list(key, None)
        if pair is not None and (len(pair) != 2 or min(pair) < 0):
            r.problem(key, f"{list(pair)} must be {s.allowed}")
            return None
        return pair
    if kind is SettingKind.WINDOW:
        pair = r.int_list(key, None)
        if pair is not None and (len(pair) != 2 or pair[0] > 0 or pair[1] < 0):
            r.problem(key, f"{list(pair)} must be {s.allowed}")
            return None
        return pair
    if kind is SettingKind.DATED:
        return _dated(r, key)
    if kind is SettingKind.HOURS:
        return _hours(r, key)
    if kind is SettingKind.TIME_PAIR:
        return _time_pair(r, key, r.raw(key))
    if kind is SettingKind.NAMES:
        return r.names(key, None)
    if kind is SettingKind.ID:
        ident = r.text(key, None)
        if ident is not None and not ID_PATTERN.match(ident):
            r.problem(key, f"{ident!r} must be {s.allowed}")
            return None
        return ident
    if kind is SettingKind.INT_LIST:
        return r.int_list(key, None)
    raise AssertionError(f"no reader for {kind!r}")


def check_zone(r: Reader, name: str, zone: str) -> bool:
    """Whether ``zone`` is an IANA time zone; a problem on ``name`` when not."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(name, f"{zone!r} is not an IANA time zone (e.g. Asia/Shanghai, Europe/London)")
        return False
    return True


def _dated(r: Reader, key: str) -> dict[dt.date, str]:
    found: dict[dt.date, str] = {}
    for item in r.tables(key):
        day = item.date("date")
        reason = item.text("reason")
        item.done()
        if day and reason:
            found[day] = reason
    return found


def _time_pair(r: Reader, key: str, value: Any) -> tuple[dt.time, dt.time] | None:
    """["08:00", "17:30"] → (08:00, 17:30), closing after opening; None after a problem."""
    if not (isinstance(value, list) and len(value) == 2):
        r.problem(key, f"{show(value)} must be [\"08:00\", \"17:00\"]")
        return None
    pair = Reader({"open": value[0], "close": value[1]}, r.source, r.where(key), r.problems)
    opens, closes = pair.time("open"), pair.time("close")
    if opens is None or closes is None:
        return None
    if closes <= opens:
        r.problem(key, f"closes {closes:%H:%M} before it opens {opens:%H:%M}")
        return None
    return opens, closes


def _hours(r: Reader, key: str) -> dict[int, tuple[dt.time, dt.time]] | None:
    """{ mon = ["08:00", "17:30"], … } → ISO weekday → (opens, closes)."""
    h = r.table(key)
    if h is None:
        return None
    hours: dict[int, tuple[dt.time, dt.time]] = {}
    for day in list(h.data):
        h.used.add(day)
        if day.lower()[:3] not in WEEKDAYS:
            h.problem(day, "is not a weekday (mon … sun)")
            continue
        pair = _time_pair(h, day, h.data[day])
        if pair is not None:
            hours[WEEKDAYS.index(day.lower()[:3]) + 1] = pair
    h.done()
    return hours


# -- the reference page ---------------------------------------------------------------------------


def _code(value: Any) -> str:
    """A file value as TOML, for the reference page."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return f"{value:.1f}" if value.is_integer() else f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_code(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_code(v)}" for k, v in value.items()) + " }"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(s: Setting) -> str:
    if s.required:
        return "required"
    if s.default is None:
        return "not set"
    if s.default == "":
        return "empty"
    return f"`{_code(s.default)}`"


def reference_markdown() -> str:
    """The site file reference (Markdown): one table per section with key, type, default, allowed values
    and description, generated from the schema the loader checks files with."""
    lines = [
        "# Site file reference",
        "",
        "A site file holds a treating unit's settings. A course names it with `site = \"file.toml\"` "
        "(relative to the course file) or carries the same keys in an inline `[site]` table. Every key is "
        "optional unless marked *required*; a key that is not listed here is refused, and every problem "
        "names the file, the key and the value.",
    ]
    for table in TABLES:
        settings = settings_of(table.name)
        if not table.name:
            heading = "Top level"
        elif table.array:
            heading = f"`[[{table.name}]]`"
        else:
            heading = f"`[{table.name}]`"
        lines += ["", f"## {heading}", "", table.doc, "",
                  "| key | type | default | allowed | description |", "|---|---|---|---|---|"]
        for s in settings:
            example = f" Example: `{s.key} = {_code(s.example)}`." if s.example is not None else ""
            lines.append(f"| `{s.key}` | {_cell(s.kind.value)} | {_cell(_default(s))} | {_cell(s.allowed)} | "
                         f"{_cell(s.doc + example)} |")
    return "\n".join(lines) + "\n"
