"""`picture-schedule diary`: the printable patient diary, HTML or PDF (by the output's extension)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from picture_schedule.cli.options import LANGUAGES, course_options, open_roster, output_option
from picture_schedule.errors import InputError, OutputError

#: render.printing.ENGINES, written out so --help imports no library module (a test keeps them equal).
ENGINES = ("weasyprint", "chromium")


def output_kind(output: str) -> str:
    """``html`` or ``pdf`` from ``-o``: ``-`` (standard output) and ``.html``/``.htm`` are HTML."""
    if output == "-":
        return "html"
    suffix = Path(output).suffix.lower()
    if suffix in (".html", ".htm"):
        return "html"
    if suffix == ".pdf":
        return "pdf"
    raise OutputError("give a file name ending in .html or .pdf (or '-' for HTML on standard output)",
                      source=output)


def batch_options(func: Callable) -> Callable:
    """--all or --patients (roster) or --cohort (folder), into --out DIR: many diaries in one run.
    Without them the command prints one diary; with them it calls :func:`print_batch`."""

    @click.option("--all", "all_patients", is_flag=True, help="Every patient on the roster (--db): one PDF each in --out.")
    @click.option("--patients", metavar="ID,ID…", help="These patients of the roster (--db): one PDF each in --out.")
    @click.option("--cohort", metavar="DIR", type=click.Path(file_okay=False),
                  help="A folder of course files: one PDF each in --out.")
    @click.option("--out", metavar="DIR", type=click.Path(file_okay=False),
                  help="Folder for the PDFs of --all, --patients or --cohort (made if missing), named by study number.")
    @click.option("--engine", type=click.Choice(ENGINES), default=ENGINES[0], show_default=True,
                  help="What prints the PDF: WeasyPrint, or the installed Chromium (one browser for a whole batch).")
    @functools.wraps(func)
    def wrapper(*, all_patients: bool, patients: str | None, cohort: str | None, out: str | None, engine: str,
                **options: Any) -> Any:
        if not (all_patients or patients or cohort or out):
            if options.get("patient") is not None and _kept_diary_applies(options):
                return print_kept(engine=engine, **options)
            printer = _weasyprint_ahead(engine, options.get("output", "-"))
            try:
                return func(engine=engine, printer=printer, **options)
            finally:
                if printer is not None:
                    printer.close()
        return print_batch(all_patients=all_patients, patients=patients, cohort=cohort, out=out, engine=engine,
                           **options)

    return wrapper


def _weasyprint_ahead(engine: str, output: str) -> Any:
    """For one PDF by WeasyPrint: its printer process, started before the course is even read, so
    WeasyPrint loads on another core meanwhile (render.printer_process); None where it cannot help."""
    if engine != ENGINES[0] or not output.lower().endswith(".pdf"):
        return None
    from picture_schedule.render.printer_process import printer_ahead

    return printer_ahead()


def _kept_diary_applies(options: dict[str, Any]) -> bool:
    """A roster patient's PDF alone (no --start/--course): the roster's kept diary serves it."""
    single = ("start", "course_file", "regimen", "cycles")
    return all(options.get(name) is None for name in single) and options.get("output", "-").lower().endswith(".pdf")


def print_kept(*, patient: str, db: str | None, output: str, engine: str, language: str | None,
               templates: str | None, large_print: bool, paper: str, feed_url: str | None, **_: Any) -> None:
    """``--patient ID --db R -o x.pdf``: the diary the roster keeps, printed anew only after a change."""
    from picture_schedule.output import check_targets, write_output

    check_targets([output])
    with open_roster(db) as roster:
        pdf = roster.diary_cache().pdf(patient, language=language, paper=paper, large_print=large_print,
                                       engine=engine, templates=templates, feed_url=feed_url)
    write_output(output, pdf, private=bool(feed_url))  # a diary with the feed link's QR code is created 0600


def print_batch(*, all_patients: bool, patients: str | None, cohort: str | None, out: str | None, engine: str,
                db: str | None, language: str | None, templates: str | None, large_print: bool, paper: str,
                **single: Any) -> int:
    """Print the batch; one ``Error: <patient>: …`` line a failed diary, exit status 1 if any failed."""
    import time

    from picture_schedule.cli.chairs import Progress
    from picture_schedule.output import for_terminal
    from picture_schedule.render.diary_batch import jobs_from_folder, print_diaries

    given = [name for name, on in (("--all", all_patients), ("--patients", patients), ("--cohort", cohort)) if on]
    if len(given) != 1:
        raise InputError("give one of --all, --patients or --cohort with --out DIR", source="--out")
    if out is None:
        raise InputError(f"{given[0]} prints one PDF a patient: give the folder with --out DIR", source=given[0])
    for option, value in (("--start", single.get("start")), ("--course", single.get("course_file")),
                          ("--regimen", single.get("regimen")), ("--cycles", single.get("cycles")),
                          ("--patient", single.get("patient")), ("--feed-url", single.get("feed_url"))):
        if value is not None:
            raise InputError(f"{option} is for one diary; {given[0]} prints many", source=option)
    if single.get("output", "-") != "-":
        raise InputError(f"-o is for one diary; {given[0]} writes into --out", source="-o")
    progress = functools.partial(Progress, started=time.monotonic())
    if cohort is not None:
        printed = print_diaries(jobs_from_folder(cohort), out, language=language, templates=templates,
                                large_print=large_print, paper=paper, engine=engine, progress=progress)
    else:
        from picture_schedule.roster.diary_cache import print_roster_diaries

        names = [p.strip() for p in patients.split(",") if p.strip()] if patients else None
        with open_roster(db) as roster:
            printed = print_roster_diaries(roster, out, patients=names, language=language, templates=templates,
                                           large_print=large_print, paper=paper, engine=engine, progress=progress)
    failed = [p for p in printed if not p.ok]
    for p in failed:
        click.echo(f"Error: {for_terminal(p.patient)}: {for_terminal(p.problem)}", err=True)
    click.echo(f"Printed {len(printed) - len(failed)} of {len(printed)} diaries into {out}", err=bool(failed))
    return 1 if failed else 0


@click.command("diary")
@batch_options
@course_options(patient=True)  # --start/--course, or --patient ID --db PATH (the course from the roster)
@click.option("--lang", "language", type=click.Choice(LANGUAGES),
              help="Language of the diary. [default: the course's language, else en]")
@click.option("--templates", type=click.Path(exists=True, file_okay=False), metavar="DIR",
              help="Folder of templates that replace the shipped ones by name (e.g. diary-cover.html, "
                   "diary-contacts.html, diary-logo.html); the rest come from the defaults.")
@click.option("--large-print", is_flag=True, help="Bigger text and boxes.")
@click.option("--paper", type=click.Choice(("a4", "letter")), default="a4", show_default=True)
@click.option("--feed-url", metavar="URL", help="The patient's calendar subscription link, printed as a QR code "
              "on the cover. Without it the cover says to ask the nurse for the link.")
@output_option
def command(course: Any, language: str | None, templates: str | None, large_print: bool, paper: str,
            feed_url: str | None, output: str, engine: str, printer: Any = None) -> None:
    """A printable diary for the patient: cover, when to call, month calendars, daily log, medicines.

    Writes HTML, or PDF when the output file ends in .pdf (Chinese needs the fonts-noto-cjk package).
    A whole unit's diaries in one run: --all or --patients (from the roster), or --cohort (a folder
    of course files), with --out DIR: the PDFs are printed across the machine's cores.

    \b
    Examples:
      picture-schedule diary --course patient.toml -o diary.pdf
      picture-schedule diary --course patient.toml --lang zh-CN -o diary-zh.pdf
      picture-schedule diary --start 2026-12-07 --large-print --paper letter -o diary.html
      picture-schedule diary --course patient.toml --templates my-unit/ --feed-url https://… -o diary.pdf
      picture-schedule diary --patient PIC-001 --db roster.sqlite3 -o diary.pdf
      picture-schedule diary --db roster.sqlite3 --all --out diaries/
      picture-schedule diary --cohort courses/ --out diaries/ --engine chromium
    """
    from picture_schedule import api
    from picture_schedule.output import check_targets, write_output
    from picture_schedule.render.diary import diary_html, diary_pdf
    from picture_schedule.render.printing import open_printer

    kind = output_kind(output)
    check_targets([output])  # fail before rendering (missing folder, an input, a roster…)
    # Chromium starts now and gets ready while the diary is laid out (WeasyPrint's process, where
    # there is one, started before the course was read: see batch_options).
    own = printer is None and kind == "pdf" and engine != ENGINES[0]
    if own:
        printer = open_printer(engine)
    try:
        expanded = api.schedule(course)
        lang = language or course.language or "en"
        if kind == "html":
            data: str | bytes = diary_html(expanded, language=lang, templates=templates, feed_url=feed_url,
                                           large_print=large_print, paper=paper)
        else:
            data = diary_pdf(expanded, language=lang, templates=templates, feed_url=feed_url,
                             large_print=large_print, paper=paper, printer=printer)
    finally:
        if own:
            printer.close()
    write_output(output, data, private=bool(feed_url))  # a diary with the feed link's QR code is created 0600
