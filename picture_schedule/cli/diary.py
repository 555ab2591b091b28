"""`picture-schedule diary`: the printable patient diary, HTML or PDF (by the output's extension)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from picture_schedule.cli.options import course_options, output_option
from picture_schedule.core.model import LANGUAGES
from picture_schedule.errors import OutputError


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


@click.command("diary")
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
            feed_url: str | None, output: str) -> None:
    """A printable diary for the patient: cover, when to call, month calendars, daily log, medicines.

    Writes HTML, or PDF when the output file ends in .pdf (Chinese needs the fonts-noto-cjk package).

    \b
    Examples:
      picture-schedule diary --course patient.toml -o diary.pdf
      picture-schedule diary --course patient.toml --lang zh-CN -o diary-zh.pdf
      picture-schedule diary --start 2026-12-07 --large-print --paper letter -o diary.html
      picture-schedule diary --course patient.toml --templates my-unit/ --feed-url https://… -o diary.pdf
      picture-schedule diary --patient PIC-001 --db roster.sqlite3 -o diary.pdf
    """
    from picture_schedule import api
    from picture_schedule.output import write_output
    from picture_schedule.render.diary import diary_html, diary_pdf

    kind = output_kind(output)
    if output != "-" and not Path(output).resolve().parent.is_dir():  # fail before rendering
        raise OutputError(f"folder {str(Path(output).parent)!r} does not exist", source=output)
    expanded = api.schedule(course)
    render = diary_pdf if kind == "pdf" else diary_html
    write_output(output, render(expanded, language=language or course.language or "en", templates=templates,
                                feed_url=feed_url, large_print=large_print, paper=paper))
