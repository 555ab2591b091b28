"""Writing outputs safely: all or none, atomically, never over an input, a roster or a device.

The rules, for every command (``-o``, ``--csv``, ``--ics``, ``--qr``, ``--diary``, ``publish``):

- ``-`` (or ``None``) is standard output. A write error there (a full disk, a closed pipe) is an
  :class:`~picture_schedule.errors.OutputError`, one line at the CLI edge, never a traceback.
- A regular file is **replaced atomically**: the bytes go to a temporary file in the same folder
  (``.<name>.<pid>-<random>.tmp``), which is flushed and fsynced, given the old file's permission
  bits (a new file gets the umask's), renamed over the target, and the folder is fsynced. Any error,
  and SIGINT, SIGTERM or SIGHUP arriving during the write, removes the temporary file; the old file is
  left as it was. A temporary file left by a writer that was killed outright (``kill -9``, power
  loss) cannot remove itself: the next write into that folder removes every such file whose process
  is gone (its pid is in the name).
- Anything that is not a regular file (a character or block device, a FIFO) is **written through**
  and never replaced. A symbolic link is followed: its target is written through or replaced.
  A link to a missing file is refused (writing through it would create a file wherever it points).
- Refused, before anything is written: a folder, a missing folder, a read-only file, an SQLite
  database (the roster) and the ``-wal``, ``-shm`` and ``-journal`` files beside one, a file the same
  command read as an input (:func:`note_input`), and the same file named twice.
- New files honour the umask; ``private=True`` (files that carry a feed link: diaries with a QR
  code, QR codes, exports) creates them ``0600`` at most. A file that exists keeps its permission bits
  (and, when allowed, its owner and group).
- :func:`write_all` writes several outputs **all or none**: every target is checked and every
  temporary file staged before any is renamed; if one fails nothing is replaced. (Outputs that are
  written through, such as standard output, cannot be taken back: they are written after staging
  and before the renames, so a failing one also leaves every file as it was.)
  :func:`staged_outputs` splits it in two for a caller that commits something in between (the
  roster hands out a new link only once its files are staged).
- An output may be :class:`Streamed`: made piece by piece while it is written (the chair plan's
  CSV of 300,000 rows), under the same rules; a failure while it is made replaces nothing.
"""

from __future__ import annotations

import contextvars
import dataclasses
import errno
import os
import re
import signal
import stat
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from picture_schedule.errors import OutputError

__all__ = [
    "SQLITE_MAGIC", "Streamed", "check_targets", "for_terminal", "note_input", "reading_inputs", "staged_outputs",
    "write_all", "write_atomic", "write_output",
]

#: The first 16 bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
STDOUT = "-"
_STDOUT_LABEL = "standard output"
_TEMP = re.compile(r"\..+\.(\d+)-[0-9a-f]{8}\.tmp")
_STEM_BYTES = 120  # the target's name in a temporary file's name is cut to this (NAME_MAX is 255)
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

Target = str | Path | None


@dataclasses.dataclass(frozen=True)
class Streamed:
    """An output made piece by piece as it is written, never whole in memory (a CSV of 300,000
    rows): ``pieces()`` gives its bytes in order. Staged and renamed all or none like any other;
    a failure while it is made leaves the target as it was."""

    pieces: Callable[[], Iterable[bytes]]


Payload = str | bytes | Streamed


def _chunks(payload: bytes | Streamed) -> Iterator[bytes]:
    if isinstance(payload, Streamed):
        yield from payload.pieces()
    else:
        yield payload


# -- inputs: what the running command read ------------------------------------------------------

_inputs: contextvars.ContextVar[dict[tuple[int, int], str] | None] = contextvars.ContextVar(
    "picture_schedule_inputs", default=None)


@contextmanager
def reading_inputs() -> Iterator[dict[tuple[int, int], str]]:
    """Within this block, files passed to :func:`note_input` are refused as outputs (the CLI wraps
    every command in it). Yields the ``(st_dev, st_ino) → path`` registry."""
    registry: dict[tuple[int, int], str] = {}
    token = _inputs.set(registry)
    try:
        yield registry
    finally:
        _inputs.reset(token)


def note_input(path: str | Path) -> None:
    """Record that the running command reads ``path`` (loaders call this for every file they read)."""
    registry = _inputs.get()
    if registry is None:
        return
    try:
        info = os.stat(path)
    except OSError:
        return
    registry[(info.st_dev, info.st_ino)] = str(path)


# -- terminal text ------------------------------------------------------------------------------

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def for_terminal(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters (C0, DEL, C1), bidirectional controls (U+202E …) and other
    invisible format characters shown as escapes (``\\e``, ``\\n``, ``\\u202e``), so what reaches a
    terminal is never an escape sequence or a reordering of the line. ``keep_newlines``: a text of
    several lines keeps its line breaks (each line is escaped)."""
    if keep_newlines:
        return "\n".join(for_terminal(line) for line in text.split("\n"))
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or char == " ":
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif unicodedata.category(char) == "Zs":  # other spaces (U+3000 ideographic space) are text
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


# -- planning the writes -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Plan:
    label: str  # the target as given (messages name it)
    kind: str  # "stdout", "through" or "replace"
    path: Path  # through: the path as given (the kernel follows links); replace: the real path
    existing: os.stat_result | None  # replace: the file being replaced, if any


def _identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _plan(target: Target) -> _Plan:
    if target is None or str(target) == STDOUT:
        return _Plan(_STDOUT_LABEL, "stdout", Path(STDOUT), None)
    label = str(target)
    path = Path(target)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise OutputError("is a symbolic link to a missing file; give the file itself", source=label) from None
        info = None
    except OSError as exc:
        raise OutputError(f"cannot be written ({exc.strerror})", source=label) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError("is a folder; give a file name", source=label)
    registry = _inputs.get() or {}
    if info is not None and _identity(info) in registry:
        raise OutputError(f"is an input of this command ({registry[_identity(info)]}); write the output "
                          "to another file", source=label)
    if info is not None and not stat.S_ISREG(info.st_mode):
        return _Plan(label, "through", path, None)
    real = Path(os.path.realpath(path))
    if info is not None:
        try:
            same = _identity(os.stat(real)) == _identity(info)
        except OSError:
            same = False
        if not same:  # a link /proc cannot name (a deleted file): write it as the link says
            return _Plan(label, "through", path, None)
        if _is_sqlite(real):
            raise OutputError("is an SQLite database (a roster?); refusing to write over it", source=label)
        if not os.access(real, os.W_OK):
            raise OutputError("is read-only; refusing to replace it", source=label)
    folder = real.parent
    if not folder.is_dir():
        raise OutputError(f"folder {str(path.parent)!r} does not exist", source=label)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write in folder {str(path.parent)!r} (permission denied)", source=label)
    return _Plan(label, "replace", real, info)


def _is_sqlite(path: Path) -> bool:
    """An SQLite database, or the write-ahead log, shared memory or journal beside one."""
    for suffix in ("-wal", "-shm", "-journal"):
        if path.name.endswith(suffix) and _is_sqlite(path.with_name(path.name[:-len(suffix)])):
            return True
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def check_targets(targets: Sequence[Target]) -> None:
    """Raise the :class:`OutputError` writing to ``targets`` would meet at the start; writes nothing.
    Commands that render for long may call it first, to fail before the work."""
    _plans(targets)


def _plans(targets: Sequence[Target]) -> list[_Plan]:
    plans = [_plan(target) for target in targets]
    seen: dict[object, str] = {}
    for plan in plans:
        if plan.kind == "stdout":
            key: object = STDOUT
        elif plan.kind == "replace":
            key = _identity(plan.existing) if plan.existing else plan.path
        else:
            key = _identity(os.stat(plan.path))
        if key in seen:
            raise OutputError(f"is named twice (also as {seen[key]}); give each output its own file",
                              source=plan.label)
        seen[key] = plan.label
    return plans


# -- writing -----------------------------------------------------------------------------------


class _Signalled(BaseException):
    """A termination signal arrived during a write (raised by the handler, re-sent after cleanup)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_abort() -> Iterator[None]:
    """SIGTERM/SIGHUP (whose handler is the default, killing the process) raise :class:`_Signalled`
    instead, so ``finally`` blocks remove temporary files; SIGINT already raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Signalled(signum)

    previous = {}
    for signum in _SIGNALS:
        if signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Signals wait (blocked) while the staged files are renamed, so a set is never cut in two."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, *_SIGNALS}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def write_output(target: Target, data: str | bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``target`` (``None`` or ``-``: standard output); see the module's rules."""
    write_all([(target, data)], private=private)


def write_atomic(path: str | Path, payload: bytes, *, private: bool = False) -> None:
    """Replace the file ``path`` with ``payload`` in one rename (the same rules as :func:`write_output`)."""
    write_all([(path, payload)], private=private)


def write_all(outputs: Sequence[tuple[Target, Payload]], *, private: bool = False) -> None:
    """Write every ``(target, data)``, or none: checks all targets, stages every file, then renames."""
    with staged_outputs(outputs, private=private) as finish:
        finish()


@contextmanager
def staged_outputs(outputs: Sequence[tuple[Target, Payload]], *,
                   private: bool = False) -> Iterator[Callable[[], None]]:
    """:func:`write_all` in two steps, for a caller that must commit something in between.

    On entering, every target is checked and every regular file staged (written to its temporary
    file and synced): a missing folder or a full disk fails here. The block then runs (the roster
    commits a new link in it) and calls the yielded ``finish``, which writes the outputs that are
    written through and renames the staged files. Leaving the block by an exception, a signal, or
    without calling ``finish`` removes every staged file: no target is touched.
    """
    plans = _plans([target for target, _ in outputs])
    payloads = [data.encode("utf-8") if isinstance(data, str) else data for _, data in outputs]  # Streamed: as it is
    staged: list[tuple[_Plan, Path]] = []

    def finish() -> None:
        for plan, payload in zip(plans, payloads):
            if plan.kind == "stdout":
                _write_stdout(payload)
            elif plan.kind == "through":
                _write_through(plan, payload)
        with _signals_held():
            for plan, temp in staged:
                try:
                    os.replace(temp, plan.path)
                except OSError as exc:
                    raise OutputError(f"cannot be replaced ({exc.strerror})", source=plan.label) from None
            for folder in dict.fromkeys(plan.path.parent for plan, _ in staged):
                _sync_folder(folder)

    try:
        with _signals_abort():
            for plan, payload in zip(plans, payloads):
                if plan.kind == "replace":
                    staged.append((plan, _stage(plan, payload, private)))
            yield finish
    except _Signalled as stop:
        _remove(staged)
        signal.raise_signal(stop.signum)  # the handler in place before the write decides (default: exit)
        raise OutputError("interrupted by a signal", source=plans[0].label) from None
    except BaseException:
        _remove(staged)
        raise
    _remove(staged)  # files not renamed (``finish`` not called) are not left behind


def _remove(staged: list[tuple[_Plan, Path]]) -> None:
    for _plan_, temp in staged:
        try:
            os.unlink(temp)
        except OSError:
            pass  # already renamed, or gone


def _stage(plan: _Plan, payload: bytes | Streamed, private: bool) -> Path:
    """A temporary file beside ``plan.path`` holding ``payload``, synced, with the final mode."""
    folder = plan.path.parent
    _sweep(folder)
    stem = plan.path.name.encode("utf-8", "surrogateescape")[:_STEM_BYTES].decode("utf-8", "ignore")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    mode = 0o600 if private else 0o666  # the umask applies to new files
    for _attempt in range(100):
        temp = folder / f".{stem}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
        try:
            fd = os.open(temp, flags, mode)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write here ({exc.strerror})", source=plan.label) from None
    else:
        raise OutputError("cannot make a temporary file beside it", source=plan.label)
    try:
        try:
            if plan.existing is not None:
                old = plan.existing
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(fd, old.st_uid, old.st_gid)
                    except OSError:
                        pass  # only root may give a file away: it becomes ours
                os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777)
            for chunk in _chunks(payload):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _unlink_quietly(temp)
        raise OutputError(f"cannot write ({exc.strerror})", source=plan.label) from None
    except BaseException:
        _unlink_quietly(temp)
        raise
    return temp


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


_swept: set[tuple[int, int]] = set()


def _sweep(folder: Path) -> None:
    """Remove temporary files left in ``folder`` by writers that were killed outright (once per
    folder and process: the name holds the writer's pid; a file whose process is gone is stale)."""
    try:
        key = _identity(os.stat(folder))
    except OSError:
        return
    if key in _swept:
        return
    _swept.add(key)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if match is None or int(match[1]) == os.getpid() or _alive(int(match[1])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _sync_folder(folder: Path) -> None:
    """fsync the folder so the rename itself survives a power loss (not every file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise OutputError(f"written, but the folder could not be synced ({exc.strerror})",
                              source=str(folder)) from None
    finally:
        os.close(fd)


def _write_through(plan: _Plan, payload: bytes | Streamed) -> None:
    """Write into a device or FIFO as it is (opening a FIFO waits for its reader)."""
    try:
        fd = os.open(plan.path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OutputError(f"cannot be opened for writing ({exc.strerror})", source=plan.label) from None
    try:
        for chunk in _chunks(payload):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror})", source=plan.label) from None
    finally:
        os.close(fd)


def _write_stdout(payload: bytes | Streamed) -> None:
    try:
        sys.stdout.flush()
        buffer = sys.stdout.buffer
        for chunk in _chunks(payload):
            buffer.write(chunk)
        buffer.flush()
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise  # the reader went away (``| head``): click ends quietly with status 1
        quiet_stdout()
        raise OutputError(f"cannot write ({exc.strerror or exc})", source=_STDOUT_LABEL) from None


def quiet_stdout() -> None:
    """After a failed write to standard output, point it at the null device, so Python's own flush
    at exit does not fail a second time with a traceback-like message (the recipe of Python's docs)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file descriptor (tests replace sys.stdout): nothing is flushed at exit
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
