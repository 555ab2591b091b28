"""A WeasyPrint printer in a process of its own, started before the diary is laid out.

Printing one diary from the command line costs WeasyPrint's start-up (importing it, loading the
fonts: a third of a second) before any page is laid out. A :class:`PrinterProcess` starts that at once in
a forked child, on the machine's other core, while this process reads the course and writes the
HTML; the child then prints the PDF and hands the bytes back over a pipe. The PDF is the same as an
in-process print (the same WeasyPrint, fonts and HTML).

:func:`printer_ahead` gives one where it helps (two cores or more, and ``fork``), else ``None``
and the caller prints in its own process.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from picture_schedule.errors import OutputError
from picture_schedule.render.printing import PrintJob, WeasyPrinter


@contextmanager
def _libraries_from_ldconfig() -> Iterator[None]:
    """``ctypes.util.find_library`` answered from ldconfig's cache alone, while WeasyPrint loads.

    WeasyPrint names each of its seven libraries (Pango, HarfBuzz, …) several ways, for every
    platform; cffi asks ``find_library`` for each name that does not load, and on Linux that runs
    ldconfig, then gcc, then ld: a third of WeasyPrint's import (0.15 s). ldconfig alone finds what
    the loader can load; a name it does not know is tried by WeasyPrint under its next spelling
    (ending in the loader's own ``.so.N`` name). Only in this module's own processes.
    """
    import ctypes.util

    by_ldconfig = getattr(ctypes.util, "_findSoname_ldconfig", None)
    if by_ldconfig is None or not sys.platform.startswith("linux"):
        yield
        return
    standard = ctypes.util.find_library
    ctypes.util.find_library = by_ldconfig
    try:
        yield
    finally:
        ctypes.util.find_library = standard


def load_weasyprint() -> WeasyPrinter:
    """A printer, WeasyPrint imported the quick way (the standard way if that fails)."""
    import io
    from contextlib import redirect_stdout

    try:
        # WeasyPrint prints advice to standard output before its last try at a library: not ours
        with _libraries_from_ldconfig(), redirect_stdout(io.StringIO()):
            return WeasyPrinter()
    except OSError:  # a library only gcc or ld find: the standard search (the modules that failed
        return WeasyPrinter()  # to import are gone from sys.modules, so they load afresh)


def one_line(exc: BaseException) -> str:
    """A problem in one line: a ScheduleError's message, anything else as an internal error."""
    from picture_schedule.errors import ScheduleError

    if isinstance(exc, ScheduleError):
        return " ".join(str(exc).split())
    return f"internal error ({type(exc).__name__}: {' '.join(str(exc).split())}); please report it"


def _serve(conn: Any) -> None:
    """The child: load WeasyPrint, then print each job received until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends us
    # A diary leaves some 230,000 objects in reference cycles (0.2 s to collect): collect them between
    # jobs, never before an answer; the last job's are freed by the child's exit.
    gc.disable()
    printer = load_weasyprint()  # the start-up this process takes off the command's time
    printed = False
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        if printed:
            gc.collect()
        printed = True
        answer: tuple[str, bytes | str]
        try:
            answer = ("pdf", printer.pdf(job))
        except Exception as exc:  # noqa: BLE001 — sent back as one line for the parent to raise
            answer = ("error", one_line(exc))
        try:
            conn.send(answer)
        except OSError:  # the parent stopped waiting (Ctrl-C, an error): nothing to hand back
            return


class PrinterProcess:
    """Prints through WeasyPrint in a child process that starts loading at once (see the module)."""

    engine = "weasyprint"

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), name="picture-schedule printer",
                                        daemon=True)
        self._process.start()
        child.close()
        self._busy = False

    def pdf(self, job: PrintJob) -> bytes:
        self._busy = True
        try:
            self._conn.send(job)
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            raise OutputError("the PDF printer stopped unexpectedly; please report it") from None
        self._busy = False
        if kind == "error":
            raise OutputError(value)
        pdf: bytes = value
        return pdf

    def close(self) -> None:
        """Stop the child: at once when a print was cut short (Ctrl-C), else after it says goodbye."""
        if self._busy:
            self._process.kill()
        else:
            try:
                self._conn.send(None)
            except OSError:
                pass
        self._conn.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def __enter__(self) -> PrinterProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def printer_ahead() -> PrinterProcess | None:
    """A :class:`PrinterProcess` started now, where another core and ``fork`` make it pay; else None."""
    import multiprocessing

    if usable_cores() < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return PrinterProcess()
