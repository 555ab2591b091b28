"""Many diaries in one run: a whole unit's, from the roster or a folder of course files.

Each diary's HTML is made in this process (a tenth of a second each) and handed at once to the
worker processes printing PDFs across the machine's cores, one printer per worker, each keeping its
fonts (WeasyPrint) or its browser (Chromium) between diaries: the workers start with the first
diary and print while the later ones are still being made. A patient whose course cannot be read
or expanded, or whose diary fails to print, is reported by name; the others still print.

Glossary
--------
DiaryJob
    One patient's diary to print: the study number, and the course (or why there is none).
Printed
    What became of one job: the PDF file written, or the problem that stopped it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from picture_schedule.core.model import Course
from picture_schedule.errors import OutputError, ScheduleError
from picture_schedule.render.fonts import CJK_PACKAGE, cjk_font_available, needs_cjk
from picture_schedule.render.printer_process import load_weasyprint, one_line, usable_cores
from picture_schedule.render.printing import DEFAULT_ENGINE, ENGINES, Printer, PrintJob, open_printer

T = TypeVar("T")

#: Characters kept in a PDF's file name; anything else in a study number becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

Tick = Callable[[int], None]
#: ``progress(length, label)``: a context manager giving ``tick(done)`` (the CLI draws a bar).
Progress = Callable[[int, str], AbstractContextManager[Tick]]


@contextmanager
def no_progress(length: int, label: str) -> Iterator[Tick]:
    """The default ``progress``: reports nothing."""
    yield lambda done: None


@dataclass(frozen=True)
class DiaryJob:
    """One patient's diary: ``course``, or ``problem`` saying why there is none."""

    patient: str
    course: Course | None = None
    problem: str = ""


@dataclass(frozen=True)
class Printed:
    """The PDF written for ``patient``, or the ``problem`` (one line) that stopped it."""

    patient: str
    path: Path | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.path is not None


def file_names(patients: Sequence[str]) -> list[str]:
    """``PIC-001.pdf`` for each study number: file-system safe and distinct (``x.pdf``, ``x-2.pdf``)."""
    names: list[str] = []
    taken: set[str] = set()
    for patient in patients:
        stem = _UNSAFE.sub("_", patient).strip("._") or "diary"
        name, n = f"{stem}.pdf", 1
        while name.lower() in taken:
            n += 1
            name = f"{stem}-{n}.pdf"
        taken.add(name.lower())
        names.append(name)
    return names


# -- worker processes: one printer each, made once ------------------------------------------------

_printer: Printer | None = None


def _start_worker(engine: str) -> None:
    global _printer
    _printer = load_weasyprint() if engine == "weasyprint" else open_printer(engine)


def _print_in_worker(job: PrintJob) -> bytes | str:
    """The PDF, or the problem as one line (an exception may not survive the trip back)."""
    assert _printer is not None, "the worker's printer is made by _start_worker"
    try:
        return _printer.pdf(job)
    except Exception as exc:  # noqa: BLE001
        return one_line(exc)


def jobs_from_folder(folder: str | Path) -> list[DiaryJob]:
    """A job for every course file (``*.toml`` with a patient or a start) of ``folder``, by file name;
    regimen and site files there are skipped. A file that does not load is a job with its problem."""
    from picture_schedule.loading import load_course, read_toml

    path = Path(folder)
    if not path.is_dir():
        raise OutputError(f"{str(folder)!r} is not a folder of course files", source="--cohort")
    jobs = []
    for file in sorted(path.glob("*.toml")):
        try:
            data, _ = read_toml(file)
            if "agents" in data or ("patient" not in data and "start" not in data):
                continue  # a regimen or a site file
            course = load_course(file)
            jobs.append(DiaryJob(course.patient or file.stem, course))
        except Exception as exc:  # noqa: BLE001 — reported under the file's name; the others print
            jobs.append(DiaryJob(file.name, problem=one_line(exc)))
    if not jobs:
        raise OutputError("holds no course files (*.toml with patient and start)", source=str(folder))
    return jobs


def print_diaries(
    jobs: Sequence[DiaryJob], out: str | Path, *, language: str | None = None, templates: str | Path | None = None,
    large_print: bool = False, paper: str = "a4", engine: str = DEFAULT_ENGINE, workers: int | None = None,
    progress: Progress = no_progress, reuse: Callable[[DiaryJob, str], bytes | None] | None = None,
    keep: Callable[[DiaryJob, str, bytes], None] | None = None,
) -> list[Printed]:
    """Print every job's diary into the folder ``out`` (made if missing; its parent must exist) as
    ``<study number>.pdf``; returns one :class:`Printed` a job, in the jobs' order.

    ``language``: every diary's, else each course's own (else English). ``workers``: processes
    printing at once (default: the machine's cores; Chromium prints from one browser).
    ``reuse(job, language)`` may give a PDF printed before (a cache), written as it is; it is asked
    where the diaries are made, in another thread with Chromium. ``keep(job, language, pdf)`` is
    told of each PDF printed, in this thread.
    """
    from picture_schedule.core.scheduler import schedule
    from picture_schedule.output import check_targets, write_atomic
    from picture_schedule.render.diary import diary_print_job

    if engine not in ENGINES:
        raise OutputError(f"{engine!r} is not a PDF engine ({', '.join(ENGINES)})", source="--engine")
    folder = Path(out)
    if not folder.is_dir():
        if not folder.parent.is_dir():
            raise OutputError(f"folder {str(folder.parent)!r} does not exist", source=str(out))
        folder.mkdir()
    targets = [folder / name for name in file_names([job.patient for job in jobs])]
    check_targets(targets)  # never over a course file, a roster or another input

    results: dict[int, Printed] = {}
    languages: dict[int, str] = {}
    fonts: bool | None = None  # fontconfig is asked once a batch

    def write(index: int, pdf: bytes) -> None:
        try:
            write_atomic(targets[index], pdf)
            results[index] = Printed(jobs[index].patient, path=targets[index])
        except Exception as error:  # noqa: BLE001 — a full disk is reported for this patient
            results[index] = Printed(jobs[index].patient, problem=one_line(error))

    def printables() -> Iterator[tuple[int, PrintJob]]:
        """Each diary's HTML, made here while the workers print the ones made before."""
        nonlocal fonts
        for index, job in enumerate(jobs):
            if job.course is None:
                results[index] = Printed(job.patient, problem=job.problem or "no course")
                continue
            try:
                lang = languages[index] = language or job.course.language or "en"
                kept = reuse(job, lang) if reuse is not None else None
                if kept is not None:
                    write(index, kept)
                    continue
                printable = diary_print_job(schedule(job.course), language=lang, templates=templates,
                                            large_print=large_print, paper=paper, check_fonts=False)
                if needs_cjk(printable.html, lang):
                    fonts = cjk_font_available() if fonts is None else fonts
                    if not fonts:
                        raise OutputError(f"Chinese text needs a CJK font and none is installed: install {CJK_PACKAGE}")
            except Exception as exc:  # noqa: BLE001 — one patient's problem must not stop the others
                results[index] = Printed(job.patient, problem=one_line(exc))
                continue
            yield index, printable

    with progress(len(jobs), "Printing diaries") as tick:
        for index, pdf, failure in _print_all(printables(), engine, workers, len(jobs)):
            if pdf is not None:
                write(index, pdf)
                if keep is not None and results[index].ok:
                    try:
                        keep(jobs[index], languages[index], pdf)
                    except ScheduleError:  # a busy roster: the PDF is written; the cache is only a help
                        pass
            else:
                results[index] = Printed(jobs[index].patient, problem=one_line(failure or RuntimeError("no PDF")))
            tick(len(results))
    return [results[i] for i in range(len(jobs))]


def _print_all(ready: Iterable[tuple[int, PrintJob]], engine: str, workers: int | None,
               most: int) -> Iterable[tuple[int, bytes | None, BaseException | None]]:
    """(index, pdf, exception) as each job finishes: in this process, or across worker processes
    that start with the first job and print while the later ones are still being made."""
    count = workers if workers is not None else usable_cores()
    count = max(1, min(count, most))
    if engine == "chromium" or count == 1:  # one browser prints them all; one job needs no pool
        printer = open_printer(engine)
        try:
            # While the browser prints one diary, this process makes the next (a thread: waiting for
            # the browser leaves Python free). WeasyPrint in this process would only take turns with it.
            for index, job in (_made_ahead(ready) if engine == "chromium" else ready):
                try:
                    yield index, printer.pdf(job), None
                except Exception as exc:  # noqa: BLE001
                    yield index, None, exc
        finally:
            printer.close()
        return
    with ProcessPoolExecutor(max_workers=count, initializer=_start_worker, initargs=(engine,)) as pool:
        futures: dict[Future[bytes | str], int] = {pool.submit(_print_in_worker, job): index
                                                   for index, job in ready}
        for future in as_completed(futures):
            died = future.exception()  # the worker itself died (BrokenProcessPool)
            result = None if died else future.result()
            if isinstance(result, str):
                yield futures[future], None, OutputError(result)
            else:
                yield futures[future], result, died


def _made_ahead(items: Iterable[T], most: int = 2) -> Iterator[T]:
    """``items`` made in a thread of their own, at most ``most`` ahead of the loop taking them; an
    exception in the making reaches the loop. Leaving the loop early stops the making."""
    import queue
    import threading

    made: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=most)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                made.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 — handed to the loop, raised there
            put(("error", exc))

    maker = threading.Thread(target=make, name="picture-schedule diaries ahead", daemon=True)
    maker.start()
    try:
        while True:
            kind, value = made.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        maker.join(timeout=5)
