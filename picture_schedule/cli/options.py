"""Shared click options and parameter types for every command.

Imported by every command module when `picture-schedule --help` runs: nothing here may import the
library at module level (tests/test_startup.py), only inside the functions that run a command.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from picture_schedule.errors import InputError, ScheduleError

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster

#: The languages a course, a calendar and a diary can be in: core.model.LANGUAGES, written out so
#: that the options can offer them without importing the model (a test keeps the two equal).
LANGUAGES = ("en", "zh-CN")


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        from picture_schedule.loading.reader import parse_date

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
        from picture_schedule.loading.course import course_from

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


def fhir_options(func: Callable) -> Callable:
    """``--transaction``, ``--include-name`` and ``--today``: the options of a FHIR bundle (`fhir`, `roster fhir`)."""
    for option in reversed([
        click.option("--transaction", is_flag=True,
                     help="A transaction bundle to send to a FHIR server: sending it again updates the same "
                          "resources and never overwrites the server's patient. [default: a collection]"),
        click.option("--include-name", is_flag=True,
                     help="Put the course's display_name on the Patient. [default: the study number only]"),
        click.option("--today", type=DATE,
                     help="The date requests and the care plan are judged against (completed or active). "
                          "[default: today in the course's time zone]"),
    ]):
        func = option(func)
    return func


def today_in(zone: str) -> dt.date:
    """Today's date in the time zone ``zone`` (the command line reads the clock; the library never does)."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(zone)).date()
