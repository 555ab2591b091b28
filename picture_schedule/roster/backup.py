"""`roster backup`: a consistent copy of the roster in a new, private file.

The copy is made with SQLite's backup API (one snapshot, even while the server reads and nurses
write), converted to a self-contained file (no ``-wal``), checked, synced, and only then given its
name. It is created with mode 0600 (health data, like the roster) and never written over a file:
an existing name, and above all the roster itself (or its ``-wal``/``-shm`` files), is refused. The
temporary file is named as :mod:`picture_schedule.output` names its own, so one left by a killed
backup is removed by the next write into that folder.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from picture_schedule.errors import RosterError

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


def backup(store: Roster, target: str | Path) -> None:
    """Copy ``store`` into the new file ``target`` (see the module)."""
    target = Path(target)
    label = str(target)
    real, mine = os.path.realpath(target), os.path.realpath(store.path)
    if real == mine or real in (mine + "-wal", mine + "-shm", mine + "-journal"):
        raise RosterError("is the roster itself; give the backup a new file name", source=label)
    if os.path.lexists(target):
        raise RosterError("exists; a backup is never written over a file: give a new name "
                          "(e.g. with the date: roster-2027-01-20.sqlite3)", source=label)
    folder = Path(real).parent
    if not folder.is_dir():
        raise RosterError(f"folder {str(target.parent)!r} does not exist", source=label)
    temp = folder / f".{target.name[:120]}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    try:
        try:
            os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            _copy(store, temp, label)
            _fsync(temp, os.O_RDONLY)
            try:
                os.link(temp, target)  # fails if the name was taken meanwhile: nothing is written over
            except FileExistsError:
                raise RosterError("exists; a backup is never written over a file", source=label) from None
            except OSError:  # a file system without hard links
                if os.path.lexists(target):
                    raise RosterError("exists; a backup is never written over a file", source=label) from None
                os.rename(temp, target)
        except (OSError, sqlite3.Error) as exc:
            raise RosterError(f"cannot be written ({getattr(exc, 'strerror', None) or exc})", source=label) from None
    finally:
        for leftover in (temp, Path(f"{temp}-journal")):
            try:
                os.unlink(leftover)
            except OSError:
                pass
    try:
        _fsync(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))  # the new name survives a power loss
    except OSError:
        pass  # not every file system syncs a folder


def _copy(store: Roster, temp: Path, label: str) -> None:
    copy = sqlite3.connect(temp, isolation_level=None)
    try:
        store.copy_into(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        ok = copy.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        copy.close()
    if ok != "ok":
        raise RosterError(f"the copy failed its check ({ok})", source=label)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
