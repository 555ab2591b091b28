"""Writing outputs: atomically (temp file in the same folder, then rename), or to stdout for ``-``."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from picture_schedule.errors import OutputError


def write_output(target: str | Path | None, data: str | bytes) -> None:
    """Write ``data`` to ``target`` (``None`` or ``-``: stdout). A failed write leaves the old file."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if target is None or str(target) == "-":
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
        return
    write_atomic(Path(target), payload)


def write_atomic(path: Path, payload: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``payload`` in one rename; never a half-written file."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError("is a folder; give a file name", source=str(path))
    if not folder.is_dir():
        raise OutputError(f"folder {str(folder)!r} does not exist", source=str(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", source=str(path)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write ({exc.strerror})", source=str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
