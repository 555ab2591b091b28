"""Static publishing: every live feed written as a file under its static name."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from picture_schedule.errors import RosterError
from picture_schedule.roster.store import Roster

STATIC_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")

@dataclasses.dataclass(frozen=True)
class PublishReport:
    written: int
    unchanged: int
    deleted: int


def publish(store: Roster, out: str | Path) -> PublishReport:
    """Write every active feed to ``out/<static name>.ics`` (atomically, one file at a time), leave
    unchanged files alone, delete the files of removed or rotated feeds. Each file's modification time
    is its feed's Last-Modified, so a static web server sends the same Last-Modified as ``serve``.

    Only files named like a static name (32 URL-safe characters + ``.ics``) are ever deleted.
    """
    from picture_schedule.output import write_atomic

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise RosterError("is not a folder", source=str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RosterError(f"cannot be created ({exc.strerror})", source=str(folder)) from None
    store.refresh()
    active = store.published()
    keep = set()
    written = unchanged = deleted = 0
    for name, feed in active:
        target = folder / f"{name}.ics"
        keep.add(target.name)
        stamp = feed.last_modified.timestamp()
        try:
            same = target.read_bytes() == feed.body
        except OSError:
            same = False
        if not same:
            write_atomic(target, feed.body)  # the umask decides: the web server must read them
            written += 1
        else:
            unchanged += 1
        if not same or os.stat(target).st_mtime != stamp:
            os.utime(target, (stamp, stamp))
    for item in folder.iterdir():
        if item.suffix == ".ics" and STATIC_NAME_PATTERN.fullmatch(item.stem) and item.name not in keep:
            item.unlink(missing_ok=True)
            deleted += 1
    return PublishReport(written, unchanged, deleted)
