"""`picture-schedule roster fhir`: every patient on the roster as a FHIR bundle, one file each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from picture_schedule.cli.options import db_option, fhir_options, open_roster, today_in


@click.command("fhir")
@db_option
@click.option("--out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder to write <study number>.fhir.json files into (created if missing).")
@fhir_options
def command(db: str | None, out: str, transaction: bool, include_name: bool, today: dt.date | None) -> None:
    """Write every patient's FHIR bundle to DIR as <study number>.fhir.json.

    Each file is what 'picture-schedule fhir --patient ID' writes for that patient, with every change
    recorded in the roster. Files are created readable by their owner only.

    \b
    Example:
      picture-schedule roster fhir --out fhir-export
    """
    from picture_schedule.roster.fhir_export import export_bundles

    def judge_on(course: Any) -> dt.date:
        return today or today_in(course.zone)

    store = open_roster(db)
    try:
        written = export_bundles(store, out, today=judge_on, transaction=transaction, include_name=include_name)
    finally:
        store.close()
    click.echo(f"{out}: {len(written)} bundle{'' if len(written) == 1 else 's'} written")
