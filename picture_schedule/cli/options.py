"""Shared click options and parameter types for every command (imported by `cli` and `commands`)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from picture_schedule.errors import InputError, ScheduleError
from picture_schedule.loading import parse_date

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(str(value))
        except ScheduleError as exc:
            self.fail(exc.message, param, ctx)


DATE = DateParam()


def db_option(func: Callable) -> Callable:
    """``--db PATH`` (or $PICTURE_SCHEDULE_DB); default: roster.sqlite3 in the user data folder."""
    return click.option(
        "--db", "db", type=click.Path(dir_okay=False), envvar="PICTURE_SCHEDULE_DB", show_envvar=True,
        help="The roster file. [default: roster.sqlite3 in the user data folder]")(func)


def open_roster(db: str | None, *, create: bool = False) -> Roster:
    """The roster at ``db`` (or the default path); only ``roster add`` creates a new one."""
    from picture_schedule.roster.store import Roster, default_db_path

    if db is None:
        path = default_db_path()
        if create:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    else:
        path = Path(db)
    return Roster(path, create=create)


def course_options(func: Callable | None = None, *, patient: bool = False) -> Callable:
    """--start or --course (with --regimen and --cycles for a plain start); passes ``course``.

    ``patient=True`` adds ``--patient ID`` with ``--db``: the course as it stands in the roster.
    """
    if func is None:
        return functools.partial(course_options, patient=patient)

    @click.option("--start", type=DATE, help="Cycle 1 day 1 of a plain plan (no patient).")
    @click.option("--course", "course_file", type=click.Path(dir_okay=False),
                  help="A patient's course file (TOML) instead of --start.")
    @click.option("--regimen", help="Built-in regimen name (picture, capox) or a regimen TOML file. [default: picture]")
    @click.option("--cycles", type=int, help="Number of cycles (1–99). [default: the regimen's]")
    @functools.wraps(func)
    def wrapper(*args: Any, start: Any, course_file: Any, regimen: Any, cycles: Any,
                patient: str | None = None, db: str | None = None, **kwargs: Any) -> Any:
        from picture_schedule.api import course_from

        if patient is None:
            course = course_from(start=start, course=course_file, regimen=regimen, cycles=cycles)
        else:
            if start is not None or course_file is not None or regimen is not None or cycles is not None:
                raise InputError("give --patient (with --db) or --course/--start, not both", source="--patient")
            store = open_roster(db)
            try:
                course = store.course(patient)
            finally:
                store.close()
        return func(*args, course=course, **kwargs)

    if not patient:
        return wrapper
    with_db: Callable = db_option(wrapper)
    return click.option("--patient", metavar="ID", help="A patient on the roster (see --db) instead of --course.")(
        with_db)


def output_option(func: Callable) -> Callable:
    return click.option("-o", "--output", default="-", show_default=True, metavar="FILE",
                        help="Where to write; '-' is standard output.")(func)
