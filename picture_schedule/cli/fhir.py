"""`picture-schedule fhir`: a patient's course as one FHIR R4 bundle for the hospital's systems."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from picture_schedule.cli.options import course_options, fhir_options, output_option, today_in


@click.command("fhir")
@course_options(patient=True)
@output_option
@fhir_options
def command(course: Any, output: str, transaction: bool, include_name: bool, today: dt.date | None) -> None:
    """Write a FHIR R4 bundle of a course: Patient, CarePlan, MedicationRequests and Appointments.

    The bundle is JSON for a hospital information system, an EHR's oncology module or a trial's data
    platform. The Patient carries the study number (never a name unless --include-name).

    \b
    Examples:
      picture-schedule fhir --course patient.toml -o PIC-001-fhir.json
      picture-schedule fhir --patient PIC-001 --db roster.sqlite3 --transaction -o PIC-001-fhir.json
    """
    from picture_schedule import api
    from picture_schedule.output import write_output
    from picture_schedule.render.fhir import to_fhir

    data = to_fhir(api.schedule(course), today=today or today_in(course.zone), transaction=transaction,
                   include_name=include_name)
    write_output(output, data, private=True)  # health data: created 0600
