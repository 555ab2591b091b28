"""Printing many diaries (issue 14): a cohort folder or the roster into one folder of PDFs, one
patient's failure reported while the others print; the roster's kept diaries (printed once per
change); the printers (WeasyPrint, and Chromium where installed: same page counts).

Behaviour only: how fast this is, is measured by `make bench`, not here.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from picture_schedule.core.model import Change
from picture_schedule.render.diary_batch import DiaryJob, file_names, jobs_from_folder, print_diaries
from picture_schedule.render.printing import PrintJob
from picture_schedule.roster.store import Roster

from tests.conftest import ROOT, need

EXAMPLES = ROOT / "examples"
CHROMIUM = "/usr/bin/chromium"


def page_count(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def course_file(folder: Path, patient: str, *, cycles: int = 1, language: str = "en", start: str = "2026-12-07") -> Path:
    """The example course for ``patient``, shortened to ``cycles`` (quick to print)."""
    text = (EXAMPLES / "course-example.toml").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key == "patient":
            line = f'patient = "{patient}"'
        elif key == "cycles":
            line = f"cycles = {cycles}"
        elif key == "language":
            line = f'language = "{language}"'
        elif key == "start":
            line = f"start = {start}"
        elif line.startswith("[[changes]]"):
            break  # the example's changes name later cycles
        lines.append(line)
    path = folder / f"{patient}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not (folder / "site-nanjing.toml").exists():
        shutil.copy(EXAMPLES / "site-nanjing.toml", folder)
    return path


@pytest.fixture
def cohort(tmp_path) -> Path:
    folder = tmp_path / "courses"
    folder.mkdir()
    for patient in ("PIC-101", "PIC-102", "PIC-103"):
        course_file(folder, patient)
    (folder / "PIC-104.toml").write_text('patient = "PIC-104"\nstart = 2026-13-07\n', encoding="utf-8")  # no 13th month
    return folder


class FakePrinter:
    """Prints a PDF-looking digest of the HTML, and counts what it printed (no real engine)."""

    engine = "weasyprint"

    def __init__(self) -> None:
        self.printed: list[PrintJob] = []

    def pdf(self, job: PrintJob) -> bytes:
        self.printed.append(job)
        return b"%PDF-fake " + hashlib.sha256(job.html.encode()).hexdigest().encode()

    def close(self) -> None:
        pass


# -- file names and jobs ------------------------------------------------------------------------------


def test_file_names_are_safe_and_distinct():
    assert file_names(["PIC-001", "PIC/../002", "pic-001", "PIC-001", "…", ""]) == [
        "PIC-001.pdf", "PIC_.._002.pdf", "pic-001-2.pdf", "PIC-001-3.pdf", "diary.pdf", "diary-2.pdf"]


def test_a_folder_gives_a_job_per_course_file_and_skips_site_files(cohort):
    jobs = jobs_from_folder(cohort)
    assert [job.patient for job in jobs] == ["PIC-101", "PIC-102", "PIC-103", "PIC-104.toml"]
    assert all(job.course is not None for job in jobs[:3])
    assert jobs[3].course is None and "PIC-104.toml" in jobs[3].problem  # the bad file, by name


# -- printing a batch ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_patients_failure_is_reported_and_the_others_print(cohort, tmp_path):
    out = tmp_path / "diaries"
    ticks: list[int] = []

    class Recorder:
        def __init__(self, length: int, label: str) -> None:
            assert length == 4

        def __enter__(self):
            return ticks.append

        def __exit__(self, *exc: object) -> None:
            pass

    printed = print_diaries(jobs_from_folder(cohort), out, workers=2, progress=Recorder)
    assert [p.patient for p in printed] == ["PIC-101", "PIC-102", "PIC-103", "PIC-104.toml"]
    assert [p.ok for p in printed] == [True, True, True, False]
    assert "13" in printed[3].problem and "\n" not in printed[3].problem
    assert sorted(f.name for f in out.iterdir()) == ["PIC-101.pdf", "PIC-102.pdf", "PIC-103.pdf"]
    for p in printed[:3]:
        assert p.path is not None and p.path.read_bytes().startswith(b"%PDF-")
        assert 4 <= page_count(p.path.read_bytes()) <= 10  # one cycle: cover, call us, months, a log, medicines
    alone = print_diaries([DiaryJob("PIC-101", jobs_from_folder(cohort)[0].course)], tmp_path / "one", workers=1)
    assert alone[0].path is not None and alone[0].path.read_bytes() == printed[0].path.read_bytes()  # pool = one process
    assert ticks[-1] == 4 and ticks == sorted(ticks)


@pytest.mark.slow
def test_a_chromium_batch_prints_each_diary_with_the_same_pages_and_reports_the_bad_one(cohort, tmp_path):
    """One browser prints the folder while the next diary is made (a thread): every patient's PDF,
    page for page as WeasyPrint prints it, in the jobs' order; the bad course file reported."""
    from pypdf import PdfReader

    from picture_schedule.render.chromium import find_chromium

    need(find_chromium() is not None, "Chromium is not installed (Debian package chromium; `make test` installs it as root)")
    browser = print_diaries(jobs_from_folder(cohort), tmp_path / "chromium", engine="chromium")
    weasy = print_diaries(jobs_from_folder(cohort), tmp_path / "weasyprint", workers=1)
    assert [p.ok for p in browser] == [True, True, True, False] and "13" in browser[3].problem
    for b, w in zip(browser[:3], weasy[:3]):
        assert b.patient == w.patient and b.path is not None and w.path is not None
        assert page_count(b.path.read_bytes()) == page_count(w.path.read_bytes())
        assert b.patient in PdfReader(io.BytesIO(b.path.read_bytes())).pages[0].extract_text()  # their own diary


def test_diaries_are_made_ahead_while_the_loop_waits():
    """_made_ahead: the next item is made while the loop still holds the one before, in order."""
    import threading

    from picture_schedule.render.diary_batch import _made_ahead

    second_made = threading.Event()

    def items():
        yield 1
        yield 2
        second_made.set()
        yield 3

    got = []
    for item in _made_ahead(items()):
        if item == 1:
            assert second_made.wait(timeout=10)  # made while this loop held the first
        got.append(item)
    assert got == [1, 2, 3]


def test_a_failure_in_the_making_reaches_the_loop_after_the_items_before_it():
    from picture_schedule.render.diary_batch import _made_ahead

    def items():
        yield "PIC-001"
        raise ValueError("the roster could not be read")

    got = []
    with pytest.raises(ValueError, match="roster could not be read"):
        for item in _made_ahead(items()):
            got.append(item)
    assert got == ["PIC-001"]


def test_leaving_the_loop_early_stops_the_making():
    import itertools
    import threading

    from picture_schedule.render.diary_batch import _made_ahead

    made = []

    def endless():
        for n in itertools.count():
            made.append(n)
            yield n

    before = threading.active_count()
    for item in _made_ahead(endless(), most=2):
        if item == 5:
            break
    assert len(made) <= 5 + 1 + 2 + 1  # what was taken, at most `most` waiting and one being put
    assert threading.active_count() == before  # the maker thread has ended


@pytest.mark.slow
def test_cli_prints_a_cohort_folder_and_exits_1_when_one_failed(cli, cohort, tmp_path):
    out = tmp_path / "out"
    result = cli("diary", "--cohort", cohort, "--out", out)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: PIC-104.toml: ")
    assert "Printed 3 of 4 diaries" in result.output
    assert "Printing diaries" not in result.output  # no progress bar when not on a terminal
    assert len(list(out.glob("*.pdf"))) == 3
    (cohort / "PIC-104.toml").unlink()
    again = cli("diary", "--cohort", cohort, "--out", out)
    assert again.exit_code == 0 and "Printed 3 of 3 diaries" in again.output


@pytest.mark.parametrize("args, message", [
    (["--all"], "give the folder with --out DIR"),
    (["--all", "--cohort", "{cohort}", "--out", "{tmp}/o"], "one of --all, --patients or --cohort"),
    (["--cohort", "{cohort}", "--out", "{tmp}/o", "-o", "{tmp}/x.pdf"], "-o is for one diary"),
    (["--cohort", "{cohort}", "--out", "{tmp}/o", "--start", "2026-12-07"], "--start is for one diary"),
    (["--cohort", "{cohort}", "--out", "{tmp}/missing/o"], "does not exist"),
    (["--out", "{tmp}/o"], "one of --all, --patients or --cohort"),
])
def test_batch_option_mistakes_are_one_line(cli, cohort, tmp_path, args, message):
    result = cli("diary", *[a.format(cohort=cohort, tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and message in result.output, result.output


# -- the roster's kept diaries ------------------------------------------------------------------------


@pytest.fixture
def roster(tmp_path):
    folder = tmp_path / "courses"
    folder.mkdir()
    store = Roster(tmp_path / "roster.sqlite3")
    for patient in ("PIC-201", "PIC-202"):
        store.add(course_file(folder, patient, cycles=2), by="nurse")
    yield store
    store.close()


def kept_rows(store: Roster) -> list[tuple]:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute("SELECT p.patient, d.language, d.paper, d.large_print FROM diary_pdfs d "
                            "JOIN patients p ON p.id = d.patient_id ORDER BY 1, 2, 3, 4").fetchall()
    finally:
        conn.close()


def test_an_unchanged_diary_is_printed_once(roster):
    printer = FakePrinter()
    cache = roster.diary_cache()
    first = cache.pdf("PIC-201", printer=printer)
    assert cache.pdf("PIC-201", printer=printer) == first
    assert len(printer.printed) == 1
    assert kept_rows(roster) == [("PIC-201", "en", "a4", 0)]


def test_each_language_paper_and_print_size_is_kept_apart(roster):
    printer = FakePrinter()
    cache = roster.diary_cache()
    variants = [dict(), dict(language="zh-CN"), dict(paper="letter"), dict(large_print=True)]
    pdfs = [cache.pdf("PIC-201", printer=printer, **v) for v in variants]  # type: ignore[arg-type]
    assert len(set(pdfs)) == 4 and len(printer.printed) == 4
    for v, pdf in zip(variants, pdfs):
        assert cache.pdf("PIC-201", printer=printer, **v) == pdf  # type: ignore[arg-type]
    assert len(printer.printed) == 4
    assert kept_rows(roster) == [("PIC-201", "en", "a4", 0), ("PIC-201", "en", "a4", 1),
                                 ("PIC-201", "en", "letter", 0), ("PIC-201", "zh-CN", "a4", 0)]


def test_a_change_to_the_course_prints_the_diary_again(roster):
    printer = FakePrinter()
    cache = roster.diary_cache()
    before = cache.pdf("PIC-202", printer=printer)
    roster.change("PIC-202", Change(cycle=2, reason="neutropenia", delay_days=7, by="nurse"))
    after = cache.pdf("PIC-202", printer=printer)
    assert after != before and len(printer.printed) == 2
    assert "data-date=\"2027-01-04\"" in printer.printed[1].html  # cycle 2 day 1, a week later
    _course, schedule, key = cache.lookup("PIC-202")
    assert key.fingerprint == schedule.fingerprint() != cache.lookup("PIC-201")[2].fingerprint
    assert kept_rows(roster) == [("PIC-202", "en", "a4", 0)]  # the old diary is replaced, not piled up


def test_a_diary_with_the_calendar_link_is_never_kept(roster):
    printer = FakePrinter()
    roster.diary_cache().pdf("PIC-201", printer=printer, feed_url="https://calendar.example.org/feed/secret.ics")
    assert kept_rows(roster) == []


def test_removing_or_purging_a_patient_deletes_their_kept_diaries(roster):
    printer = FakePrinter()
    cache = roster.diary_cache()
    cache.pdf("PIC-201", printer=printer)
    cache.pdf("PIC-202", printer=printer)
    roster.remove("PIC-201", by="nurse")
    assert kept_rows(roster) == [("PIC-202", "en", "a4", 0)]
    roster.remove("PIC-202", by="nurse")
    roster.purge("PIC-202", by="nurse")
    assert kept_rows(roster) == []


def test_unknown_and_removed_patients_are_one_line_errors(roster):
    from picture_schedule.errors import InputError

    roster.remove("PIC-202", by="nurse")
    with pytest.raises(InputError, match="no patient 'PIC-999'"):
        roster.diary_cache().pdf("PIC-999", printer=FakePrinter())
    with pytest.raises(InputError, match="removed"):
        roster.diary_cache().pdf("PIC-202", printer=FakePrinter())


@pytest.mark.slow
def test_the_roster_batch_prints_kept_diaries_without_printing_again(cli, roster, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = cli("diary", "--db", roster.path, "--all", "--out", out)
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in out.iterdir()) == ["PIC-201.pdf", "PIC-202.pdf"]
    assert kept_rows(roster) == [("PIC-201", "en", "a4", 0), ("PIC-202", "en", "a4", 0)]
    printed = (out / "PIC-201.pdf").read_bytes()

    def no_printing(*args, **kwargs):
        raise AssertionError("an unchanged diary was printed again")

    monkeypatch.setattr("picture_schedule.render.diary.diary_print_job", no_printing)
    again = cli("diary", "--db", roster.path, "--patients", "PIC-201,PIC-404", "--out", tmp_path / "again")
    assert again.exit_code == 1
    assert "Error: PIC-404: " in again.output and "Printed 1 of 2 diaries" in again.output
    assert (tmp_path / "again" / "PIC-201.pdf").read_bytes() == printed
    single = cli("diary", "--db", roster.path, "--patient", "PIC-201", "-o", tmp_path / "one.pdf")
    assert single.exit_code == 0, single.output
    assert (tmp_path / "one.pdf").read_bytes() == printed


@pytest.mark.slow
def test_a_chromium_roster_batch_keeps_its_diaries_and_reuses_them_from_the_making_thread(
        roster, tmp_path, monkeypatch):
    """With Chromium the kept diaries are looked up by the thread that makes the next diary (its own
    roster connection) while this thread keeps the new ones: the second run prints nothing again."""
    from picture_schedule.render.chromium import find_chromium
    from picture_schedule.roster.diary_cache import print_roster_diaries

    need(find_chromium() is not None, "Chromium is not installed (Debian package chromium; `make test` installs it as root)")
    first = print_roster_diaries(roster, tmp_path / "first", engine="chromium")
    assert [p.ok for p in first] == [True, True], first

    def no_printing(*args, **kwargs):
        raise AssertionError("an unchanged diary was made again")

    monkeypatch.setattr("picture_schedule.render.diary.diary_print_job", no_printing)
    again = print_roster_diaries(roster, tmp_path / "again", engine="chromium")
    assert [p.ok for p in again] == [True, True], again
    for a, b in zip(first, again):
        assert a.path is not None and b.path is not None and a.path.read_bytes() == b.path.read_bytes()


def test_a_version_2_roster_gains_the_kept_diaries_table(tmp_path):
    from picture_schedule.roster.migrations import MIGRATIONS, migrate, schema_version

    conn = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    migrate(conn, MIGRATIONS[:2])
    assert schema_version(conn) == 2
    assert migrate(conn) == MIGRATIONS[-1].version >= 3
    assert conn.execute("SELECT count(*) FROM diary_pdfs").fetchone() == (0,)
    conn.close()


# -- printers -------------------------------------------------------------------------------------


def test_engines_offered_by_the_cli_are_the_printers():
    from picture_schedule.cli.diary import ENGINES as CLI_ENGINES
    from picture_schedule.render.printing import ENGINES

    assert CLI_ENGINES == ENGINES


def test_an_unknown_engine_is_refused(cohort, tmp_path):
    from picture_schedule.errors import OutputError
    from picture_schedule.render.printing import open_printer

    with pytest.raises(OutputError, match="not a PDF engine"):
        open_printer("typewriter")
    with pytest.raises(OutputError, match="not a PDF engine"):
        print_diaries(jobs_from_folder(cohort), tmp_path / "o", engine="typewriter")



def _png(size: int) -> bytes:
    """A black square PNG ``size`` pixels wide: the size tells the pictures apart in the PDF."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (size, size), 0).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["weasyprint", "chromium"])
def test_a_printer_reads_only_the_jobs_folders(tmp_path, engine):
    """A template may show its own folder's logo; a file elsewhere or the network is never read."""
    from pypdf import PdfReader

    from picture_schedule.render.printing import open_printer

    from picture_schedule.render.chromium import find_chromium

    need(engine != "chromium" or find_chromium() is not None, "Chromium is not installed (Debian package chromium)")
    own, elsewhere = tmp_path / "templates", tmp_path / "elsewhere"
    own.mkdir()
    elsewhere.mkdir()
    (own / "logo.png").write_bytes(_png(3))
    (elsewhere / "secret.png").write_bytes(_png(5))
    (own / "link.png").symlink_to(elsewhere / "secret.png")  # inside by name, outside in fact
    html = ('<!DOCTYPE html><html><head><title>t</title></head><body><p>images:</p>'
            '<img src="logo.png" style="width:10mm"> <img src="../elsewhere/secret.png" style="width:10mm">'
            '<img src="link.png" style="width:10mm">'
            f'<img src="{(elsewhere / "secret.png").as_uri()}" style="width:10mm">'
            '<img src="http://127.0.0.1:9/remote.png" style="width:10mm"></body></html>')
    if engine == "weasyprint":
        printer = open_printer(engine)
    else:
        from picture_schedule.render.chromium import ChromiumPrinter

        printer = ChromiumPrinter(workdir=tmp_path)
    try:
        pdf = printer.pdf(PrintJob(html, own.as_uri() + "/", (own,)))
    finally:
        printer.close()
    sizes = [image.image.size for image in PdfReader(io.BytesIO(pdf)).pages[0].images]
    assert (3, 3) in sizes and (5, 5) not in sizes, sizes  # the logo beside the templates, not the other file


def test_a_missing_chromium_is_a_one_line_error(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("picture_schedule.render.chromium.PROGRAMS", ())
    monkeypatch.delenv("PICTURE_SCHEDULE_CHROMIUM", raising=False)
    result = cli("diary", "--start", "2026-12-07", "--cycles", "1", "--engine", "chromium", "-o", tmp_path / "d.pdf")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "Chromium is not installed" in result.output and not (tmp_path / "d.pdf").exists()
