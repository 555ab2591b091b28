"""Course text: the stored course file with recorded changes appended as [[changes]] blocks."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import Any

from picture_schedule.core.model import Change
from picture_schedule.errors import InputError
from picture_schedule.loading.reader import NAME_MAX, REASON_MAX, check_text

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_value(value: Any) -> str:
    import tomli_w

    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return tomli_w.dumps({"v": value})[4:].rstrip("\n")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_value(key)


def change_table(change: Change) -> dict[str, Any]:
    """A change as the ``[[changes]]`` table of a course file."""
    table: dict[str, Any] = {"cycle": change.cycle}
    if change.delay_days:
        table["delay_days"] = change.delay_days
    if change.dose_level:
        levels = dict(change.dose_level)
        table["dose_level"] = levels["all"] if list(levels) == ["all"] else levels
    if change.omit:
        table["omit"] = list(change.omit)
    if change.hold_days:
        table["hold_days"] = list(change.hold_days)
    if change.stop:
        table["stop"] = True
    if change.prescribed:
        table["prescribed"] = {k: {"amount": _number(p.amount), "unit": p.unit} for k, p in change.prescribed.items()}
    table["reason"] = change.reason
    if change.recorded is not None:
        table["recorded"] = change.recorded
    if change.by:
        table["by"] = change.by
    return table


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def change_block(change: Change) -> str:
    """The TOML text appended to a course file for ``change`` (inline tables, like a nurse writes)."""
    lines = ["[[changes]]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in change_table(change).items()]
    return "\n".join(lines) + "\n"


def check_change(change: Change) -> None:
    """Refuse a change without who records it or why (``--by``, ``--reason``), or too long."""
    if not change.by.strip():
        raise InputError("say who records the change (--by)", source="--by")
    check_text(change.by.strip(), NAME_MAX, source="--by")
    if not change.reason.strip():
        raise InputError("every change needs its reason (--reason)", source="--reason")
    check_text(change.reason.strip(), REASON_MAX, source="--reason", free_text=True)


def append_change(text: str, change: Change, label: str) -> str:
    """The course text with ``change`` appended as a ``[[changes]]`` block, comments kept.

    A course whose changes are an inline array (``changes = [ … ]``) cannot be appended to; it is
    rewritten whole (its comments are lost, its content kept).
    """
    from picture_schedule.loading import parse_toml

    block = change_block(change)
    candidate = text.rstrip("\n") + "\n\n" + block
    try:
        tomllib.loads(candidate)
        return candidate
    except tomllib.TOMLDecodeError:
        pass
    import tomli_w

    data = parse_toml(text, label)
    changes = data.get("changes")
    if changes is not None and not isinstance(changes, list):
        raise InputError("'changes' is not a list of tables; fix the course file", source=label, field="changes")
    data["changes"] = [*(changes or []), change_table(change)]
    return tomli_w.dumps(data)
