"""`picture-schedule new`: a fresh course file for a new patient, from options or prompts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from picture_schedule.cli.options import DATE, LANGUAGES


@click.command("new")
@click.option("--patient", prompt="Study number", help="The pseudonymous study number (never a name).")
@click.option("--start", type=DATE, prompt="Start (cycle 1 day 1, YYYY-MM-DD)", help="Cycle 1 day 1.")
@click.option("--height", "height_cm", type=float, prompt="Height (cm)", help="Height in cm (100–230).")
@click.option("--weight", "weight_kg", type=float, prompt="Weight (kg)", help="Weight in kg (25–250).")
@click.option("--measured", type=DATE, default=lambda: dt.date.today().isoformat(),
              prompt="Date measured (YYYY-MM-DD)", help="When height and weight were measured. [default: today]")
@click.option("--site", prompt="Site file", type=click.Path(dir_okay=False),
              help="The unit's site file; the course names it relative to the course file.")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", prompt="Language",
              show_default=True, help="The patient's language (diary and calendar).")
@click.option("--regimen", default="picture", show_default=True,
              help="A built-in regimen name, or a regimen file.")
@click.option("--cycles", type=click.IntRange(1, 99), default=None, help="Number of cycles. [default: the regimen's]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="The course file to write. [default: <study number>.toml]")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def command(patient: str, start: dt.date, height_cm: float, weight_kg: float, measured: dt.date, site: str,
            language: str, regimen: str, cycles: int | None, output: str | None, force: bool) -> None:
    """Write a new patient's course file: study number, start, height, weight, site and language.

    The file has no changes and no prescriptions (never copy another patient's course): check it
    with 'validate', look at it with 'schedule', then add the prescriber's doses if any. Options left
    out are asked for.

    \b
    Example:
      picture-schedule new --patient PIC-002 --start 2026-12-10 --height 152 --weight 48 \\
        --measured 2026-12-03 --site examples/site-nanjing.toml --lang en -o examples/PIC-002.toml
    """
    from picture_schedule.errors import InputError
    from picture_schedule.loading.new_course import NewCourse, new_course
    from picture_schedule.output import write_output

    target = output or f"{patient.strip()}.toml"
    if target != "-" and (Path(target).exists() or Path(target).is_symlink()) and not force:
        raise InputError(f"{target} exists: choose another file, or give --force to replace it", source="-o")
    created = dt.datetime.now().replace(second=0, microsecond=0)
    new = NewCourse(patient=patient, start=start, height_cm=height_cm, weight_kg=weight_kg, site=site or None,
                    language=language, regimen=regimen, cycles=cycles, measured=measured, created=created)
    text, _course = new_course(new, target)
    write_output(target, text)
    if target != "-":
        click.echo(f"Wrote {target}: check it with 'picture-schedule validate {target}'.")
