"""`picture-schedule ics`: the course as an iCalendar file to import or to serve as a feed."""

from __future__ import annotations

from typing import Any

import click

from picture_schedule.cli.options import LANGUAGES, course_options, output_option

KIND_NAMES = "oral,infusion,injection,visit"


@click.command("ics")
@course_options
@output_option
@click.option("--lang", "language", type=click.Choice(LANGUAGES),
              help="Language of titles and descriptions. [default: the course's]")
@click.option("--detail", type=click.Choice(["discreet", "full"]), default="discreet", show_default=True,
              help="discreet: neutral titles, no medicine names; full: medicines and doses.")
@click.option("--alarms/--no-alarms", default=True, show_default=True,
              help="Reminders at each dose and the evening before each appointment.")
@click.option("--include", metavar="KINDS", default=KIND_NAMES, show_default=True,
              help="Comma-separated event kinds to write.")
@click.option("--method", type=click.Choice(["publish"], case_sensitive=False),
              help="publish: a file for import, with cancelled events. [default: none, a subscription feed]")
@click.option("--oral-events", type=click.Choice(["per-dose", "daily"]), default="per-dose", show_default=True,
              help="One short event per tablet dose, or one all-day event per tablet day.")
def command(course: Any, output: str, language: str | None, detail: str, alarms: bool, include: str,
            method: str | None, oral_events: str) -> None:
    """Write an iCalendar (.ics) file for Apple, Google, Outlook or Android calendars.

    \b
    Examples:
      picture-schedule ics --course patient.toml --method publish -o treatment.ics
      picture-schedule ics --course patient.toml --detail full --lang zh-CN -o treatment.ics
      picture-schedule ics --start 2026-12-07 --include infusion,visit --no-alarms
    """
    from picture_schedule import api
    from picture_schedule.output import write_output
    from picture_schedule.render.ics import parse_include, to_ics

    kinds = parse_include(include)
    data = to_ics(api.schedule(course), language=language, detail=detail, alarms=alarms, include=kinds,
                  method=method.upper() if method else None, oral_events=oral_events)
    write_output(output, data)
