"""The PDF printer for one diary from the command line: WeasyPrint in a child process started before
the course is read (render.printer_process); the collector paused and a roomy stack while WeasyPrint
prints; a clear error on a machine with no fonts.

Behaviour only: how much time this saves is measured by `make bench` (bench_printing.py).
"""

from __future__ import annotations

import ctypes.util
import gc
import io

import pytest

from picture_schedule.errors import OutputError
from picture_schedule.loading import load_course
from picture_schedule.render import printer_process
from picture_schedule.render.diary import diary_pdf, diary_print_job
from picture_schedule.render.printer_process import PrinterProcess, load_weasyprint, printer_ahead
from picture_schedule.render.printing import PrintJob, WeasyPrinter, cyclic_gc_paused, on_roomy_stack

from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "course-example.toml"


@pytest.fixture(scope="module")
def job() -> PrintJob:
    from picture_schedule.api import schedule

    return diary_print_job(schedule(load_course(EXAMPLE)), language="en")


def pages_text(pdf: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_child_prints_the_same_pdf_as_this_process(job):
    """Same WeasyPrint, fonts and HTML: byte for byte the PDF an in-process printer makes."""
    with PrinterProcess() as printer:
        from_child = printer.pdf(job)
        again = printer.pdf(job)  # a second job: the first one's garbage collected in between
    here = WeasyPrinter().pdf(job)
    assert from_child == here == again
    text = pages_text(from_child)
    assert "My treatment diary" in text[0] and any("Daily log · cycle 6" in page for page in text)


def test_cli_pdf_equals_the_library_pdf(cli, tmp_path):
    """`diary -o x.pdf` (printed in the child) is the PDF diary_pdf() gives in-process."""
    from picture_schedule.api import schedule

    out = tmp_path / "diary.pdf"
    result = cli("diary", "--course", EXAMPLE, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == diary_pdf(schedule(load_course(EXAMPLE)), language="en")


def test_a_job_that_fails_in_the_child_is_one_error_here():
    with PrinterProcess() as printer:
        with pytest.raises(OutputError, match=r"internal error \(TypeError"):
            printer.pdf(PrintJob(None, "about:blank", ()))  # type: ignore[arg-type]
        # the child still serves the next job
        pdf = printer.pdf(PrintJob("<p>after a failure</p>", "about:blank", ()))
    assert "after a failure" in pages_text(pdf)[0]


def test_a_dead_child_is_a_clear_error_not_a_hang():
    printer = PrinterProcess()
    printer._process.kill()
    printer._process.join()
    with pytest.raises(OutputError, match="the PDF printer stopped unexpectedly"):
        printer.pdf(PrintJob("<p>x</p>", "about:blank", ()))
    printer.close()
    assert not printer._process.is_alive()


def test_close_after_a_cut_short_print_stops_the_child_at_once(monkeypatch):
    """Ctrl-C while the child prints: the parent leaves, the child is killed, not waited for."""
    printer = PrinterProcess()
    printer._busy = True  # as when an exception left pdf() while the child was printing
    printer._conn.send(PrintJob("<p>long</p>" * 20000, "about:blank", ()))
    printer.close()
    assert not printer._process.is_alive()
    assert printer._process.exitcode is not None and printer._process.exitcode < 0  # killed


def test_the_child_stops_when_told():
    printer = PrinterProcess()
    printer.pdf(PrintJob("<p>x</p>", "about:blank", ()))
    printer.close()
    assert printer._process.exitcode == 0


def test_no_child_with_one_core(monkeypatch):
    monkeypatch.setattr(printer_process, "usable_cores", lambda: 1)
    assert printer_ahead() is None


def test_one_core_cli_prints_in_this_process(cli, tmp_path, monkeypatch):
    """Without a second core the command prints as before, in its own process: the same PDF."""
    monkeypatch.setattr(printer_process, "usable_cores", lambda: 1)
    started = []
    monkeypatch.setattr(PrinterProcess, "__init__", lambda self: started.append(self))
    out = tmp_path / "diary.pdf"
    result = cli("diary", "--start", "2026-12-07", "--cycles", "1", "-o", out)
    assert result.exit_code == 0, result.output
    assert started == [] and out.read_bytes().startswith(b"%PDF-")


def test_html_starts_no_weasyprint_child(cli, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(printer_process, "printer_ahead", lambda: started.append(1))
    result = cli("diary", "--start", "2026-12-07", "--cycles", "1", "-o", tmp_path / "d.html")
    assert result.exit_code == 0, result.output
    assert started == []


def test_find_library_is_the_standard_one_again_after_loading(monkeypatch):
    standard = ctypes.util.find_library
    with printer_process._libraries_from_ldconfig():
        pass
    assert ctypes.util.find_library is standard
    with pytest.raises(RuntimeError):
        with printer_process._libraries_from_ldconfig():
            raise RuntimeError("while loading")
    assert ctypes.util.find_library is standard


def test_loading_falls_back_to_the_standard_search(monkeypatch, capsys):
    """A library the quick search misses: WeasyPrint is loaded again the standard way, and its
    advice printed before giving up (to standard output, the diary's when -o -) is not shown."""
    calls = []
    real_init = WeasyPrinter.__init__

    def init(self):
        calls.append(ctypes.util.find_library)
        if len(calls) == 1:
            print("WeasyPrint could not import some external libraries.")
            raise OSError("cannot load library 'libpango-1.0-0'")
        real_init(self)

    monkeypatch.setattr(WeasyPrinter, "__init__", init)
    printer = load_weasyprint()
    assert isinstance(printer, WeasyPrinter) and len(calls) == 2
    assert calls[0] is not calls[1] is ctypes.util.find_library  # the second try: the standard search
    assert capsys.readouterr().out == ""
    assert printer.pdf(PrintJob("<p>printed after the retry</p>", "about:blank", ())).startswith(b"%PDF-")


def test_collector_paused_while_printing_and_restored(monkeypatch):
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off: it stays off
    finally:
        gc.enable()
    with pytest.raises(ValueError):
        with cyclic_gc_paused():
            raise ValueError
    assert gc.isenabled()
    seen = []
    import weasyprint

    original = weasyprint.HTML.write_pdf

    def spy(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", spy)
    WeasyPrinter().pdf(PrintJob("<p>x</p>", "about:blank", ()))
    assert seen == [False] and gc.isenabled()


# -- the roomy stack (render.printing.on_roomy_stack) ---------------------------------------------


def _down(n: int) -> int:
    return 0 if n == 0 else _down(n - 1) + 1


def _recurse_often() -> None:
    for _ in range(2000):
        assert _down(300) == 300  # 300 frames: past at least one of CPython's 16 KiB frame chunks


def _page_faults(function) -> int:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    function()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_deep_recursion_on_the_roomy_stack_asks_the_system_for_no_memory():
    """2,000 dives 300 frames deep: on CPython's own stack each dive may open and free a 16 KiB chunk
    (a page fault each time, python/cpython#142183); on the roomy stack every frame fits in one chunk."""
    pytest.importorskip("resource")
    _recurse_often()
    plain = _page_faults(_recurse_often)
    roomy = _page_faults(lambda: on_roomy_stack(_recurse_often))
    assert roomy < 200, (plain, roomy)


def test_on_roomy_stack_gives_back_the_result_and_the_exception():
    assert on_roomy_stack(divmod, 17, 5) == (3, 2)
    with pytest.raises(ZeroDivisionError):
        on_roomy_stack(divmod, 1, 0)


def test_weasyprint_prints_on_the_roomy_stack_and_its_pdf_is_the_same(monkeypatch, job):
    import sys

    import weasyprint

    printer = WeasyPrinter()
    plain = weasyprint.HTML(string=job.html, base_url=job.base_url).write_pdf(font_config=printer._fonts)
    roomy_frames = []
    original = weasyprint.HTML.write_pdf

    def spy(self, *args, **kwargs):
        frame = sys._getframe()
        while frame is not None and frame.f_code.co_stacksize < 65_536:
            frame = frame.f_back
        roomy_frames.append(frame)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", spy)
    assert printer.pdf(job) == plain  # the same bytes as WeasyPrint printing on its own
    assert roomy_frames and roomy_frames[0] is not None


# -- no fonts at all ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_machine_with_no_fonts_gets_a_clear_error_not_a_crash(tmp_path):
    """With no font, Pango crashes the process (a segmentation fault); the diary says what to install."""
    import os
    import subprocess
    import sys

    from tests.conftest import need_program

    need_program("fc-list", "fontconfig")
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
                     f"<fontconfig><cachedir>{tmp_path}/cache</cachedir></fontconfig>")
    unit = tmp_path / "courses"
    unit.mkdir()
    (unit / "PIC-900.toml").write_text('patient = "PIC-900"\nstart = 2026-12-07\n', encoding="utf-8")
    out = tmp_path / "diary.pdf"
    env = {**os.environ, "FONTCONFIG_FILE": str(empty)}
    for argv, status in ((["diary", "--start", "2026-12-07", "-o", str(out)], 2),  # printed in the child
                         (["diary", "--cohort", str(unit), "--out", str(tmp_path / "unit")], 1)):  # the pool
        done = subprocess.run([sys.executable, "-m", "picture_schedule", *argv], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == status, done.stderr
        assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
        assert "no fonts are installed" in done.stderr and "fonts-dejavu-core" in done.stderr, done.stderr
    assert not out.exists() and not list((tmp_path / "unit").glob("*.pdf"))
