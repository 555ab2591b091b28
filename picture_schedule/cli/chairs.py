"""`picture-schedule chairs`: a day unit's infusion chairs for a cohort: plan them, suggest starts.

Thin: parse the options, call :mod:`picture_schedule.planning.chair_summary` (imported inside the
commands, so `picture-schedule --help` stays fast), write what it rendered, print its summary.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import click

from click.core import ParameterSource

from picture_schedule.cli.options import DATE

if TYPE_CHECKING:
    from picture_schedule.planning.chair_summary import ChairReport

#: What ``-o`` writes.
FORMATS = ("html", "csv", "ics")
#: Seconds of work before a progress bar appears (on a terminal only).
PROGRESS_DELAY = 1.0


class Progress:
    """``progress(n)`` callbacks drawn as a click progress bar on stderr.

    The bar appears only when stderr is a terminal and only once ``delay`` seconds have passed
    since ``started`` (the start of the command), so quick work prints nothing.
    """

    def __init__(self, length: int, label: str, *, started: float, delay: float = PROGRESS_DELAY,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.length = length
        self.label = label
        self.started = started
        self.delay = delay
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.enabled = length > 0 and _isatty(self.stream)
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if self.clock() - self.started < self.delay:
                return
            self.bar = click.progressbar(length=self.length, label=self.label, file=self.stream)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _progress_bars() -> Callable[[int, str], Progress]:
    """The library's ``progress(length, label)``: bars timed from now (the start of the command)."""
    return functools.partial(Progress, started=time.monotonic())


def _os_user() -> str:
    """The name of the user running the command ("" when the system cannot tell)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""


@click.group("chairs")
def command() -> None:
    """Infusion chairs of a day unit: plan a cohort's day-1 visits, suggest starts for a new patient.

    \b
    The site file needs a [chairs] table (count, hours, slot_minutes, nurse_starts_per_slot).
    Examples:
      picture-schedule chairs plan --cohort examples/cohort-23.csv --site examples/site-nanjing.toml -o report.html
      picture-schedule chairs suggest --cohort examples/cohort-23.csv --site examples/site-nanjing.toml --regimen picture --earliest 2027-03-01
    """


@command.command("plan")
@click.option("--cohort", "cohort_path", metavar="FILE|DIR",
              help="Cohort CSV (patient,start[,regimen,cycles,delays,course]) or a folder of course files.")
@click.option("--db", "db", type=click.Path(dir_okay=False), envvar="PICTURE_SCHEDULE_DB", show_envvar=True,
              help="Instead of --cohort: the roster whose patients to plan (not removed), as it holds their courses.")
@click.option("--site", "site_path", required=True, metavar="FILE", help="Site file with a [chairs] table.")
@click.option("--from", "first", type=DATE, help="Plan only day-1 visits on or after this day.")
@click.option("--to", "last", type=DATE, help="Plan only day-1 visits on or before this day.")
@click.option("--book", is_flag=True,
              help="With --db: store each day-1 booking in the roster (the patients' appointment times).")
@click.option("--by", default=_os_user, show_default="your user name",
              help="Who books (kept in each patient's history; with --book).")
@click.option("-o", "--output", metavar="FILE", help="Write the report here ('-': standard output), as --format says.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True,
              help="What -o writes: the HTML report, the CSV or the calendar.")
@click.option("--csv", "csv_path", metavar="FILE", help="Write one row per appointment here ('-': standard output).")
@click.option("--ics", "ics_path", metavar="FILE", help="Write the unit's appointment calendar here ('-': standard output).")
def plan_command(cohort_path: str | None, db: str | None, site_path: str, first: dt.date | None,
                 last: dt.date | None, book: bool, by: str, output: str | None, fmt: str, csv_path: str | None,
                 ics_path: str | None) -> None:
    """Give every day-1 infusion visit of a cohort, or of the roster's patients, a chair and a start time.

    Visits with a planned time (the time already booked, else the site's [infusion] start) keep it
    when a chair is free then; the others, and those whose time is taken, are placed longest first,
    each at the earliest slot with a free chair that lets it end by closing time, and the summary
    and the CSV say why one moved. A visit that cannot be placed is listed, never dropped. Prints a
    summary; writes the HTML report (-o), the CSV (--csv) and the calendar (--ics) when asked.

    With --db instead of --cohort, the patients on the roster are planned as the roster holds their
    courses; --book stores each day-1 booking there in one step (every patient's calendar, diary
    and feed then give the booked time), and the files are written before it is stored.

    \b
    Examples:
      picture-schedule chairs plan --cohort examples/cohort-23.csv --site examples/site-nanjing.toml
      picture-schedule chairs plan --cohort examples/cohort-23.csv --site examples/site-nanjing.toml \\
          --from 2027-01-01 --to 2027-03-31 -o report.html --csv chairs.csv --ics chairs.ics
      picture-schedule chairs plan --db roster.sqlite3 --site examples/site-nanjing.toml \\
          --from 2027-02-01 --to 2027-02-28 --book --by "coordinator Zhao" --csv february.csv
    """
    from picture_schedule.errors import InputError
    from picture_schedule.output import write_all
    from picture_schedule.planning.chair_summary import plan_chairs, plan_courses

    wanted = [(target, kind) for target, kind in ((output, fmt), (csv_path, "csv"), (ics_path, "ics"))
              if target is not None]
    from_roster = cohort_path is None or click.get_current_context().get_parameter_source("db") not in (
        ParameterSource.ENVIRONMENT, ParameterSource.DEFAULT, None)
    if cohort_path is not None and from_roster:
        raise InputError("give --cohort or --db, not both", source="--db")
    if cohort_path is None and db is None:
        raise InputError("give the patients to plan: --cohort FILE|DIR, or --db ROSTER for the roster's patients",
                         source="--cohort")
    if book and not from_roster:
        raise InputError("--book stores bookings in a roster: give --db instead of --cohort", source="--book")
    options: dict[str, Any] = {"site_path": site_path, "first": first, "last": last, "outputs": wanted,
                               "progress": _progress_bars()}
    if not from_roster:
        report = plan_chairs(cohort_path=str(cohort_path), **options)
        write_all(report.outputs)  # everything was rendered first; all files are written or none
    else:
        from picture_schedule.cli.options import open_roster
        from picture_schedule.roster.bookings import active_courses
        from picture_schedule.roster.bookings import book as store_bookings

        roster = open_roster(db)
        try:
            if book:  # the files are written before the bookings are committed: a failure leaves neither
                report, _ = store_bookings(roster, lambda courses: plan_courses(
                    courses, source=roster.label, book=True, **options), by=by.strip(),
                    before_commit=lambda planned, _: write_all(planned.outputs))
            else:
                report = plan_courses(active_courses(roster), source=roster.label, **options)
                write_all(report.outputs)
        finally:
            roster.close()
    _print_summary(report)


def _print_summary(report: ChairReport) -> None:
    from picture_schedule.output import for_terminal

    written = [target for target, _data in report.outputs if target != "-"]
    wrote = f"Wrote {', '.join(written)}\n" if written else ""
    click.echo(for_terminal(report.summary + wrote, keep_newlines=True), nl=False,
               err=any(target == "-" for target, _data in report.outputs))


@command.command("suggest")
@click.option("--cohort", "cohort_path", required=True, metavar="FILE|DIR",
              help="Cohort CSV or a folder of course files (the patients already booked).")
@click.option("--site", "site_path", required=True, metavar="FILE", help="Site file with a [chairs] table.")
@click.option("--regimen", required=True, help="The new patient's regimen: a built-in name (picture, capox) or a regimen file.")
@click.option("--earliest", type=DATE, help="First start to try. [default: today]")
@click.option("--count", type=click.IntRange(1, 100), default=5, show_default=True, help="How many starts to list.")
def suggest_command(cohort_path: str, site_path: str, regimen: str, earliest: dt.date | None, count: int) -> None:
    """List the earliest starts for a new patient whose every day 1 fits the chairs left.

    Each candidate start is expanded on the site's calendar (holiday shifts applied); it fits when,
    planned with the cohort, every one of its day-1 visits gets a chair and no visit of the cohort
    loses its chair. Starts on days the clinic is closed are not suggested.

    \b
    Example:
      picture-schedule chairs suggest --cohort examples/cohort-23.csv --site examples/site-nanjing.toml \\
          --regimen picture --earliest 2027-03-01 --count 3
    """
    from picture_schedule.output import for_terminal
    from picture_schedule.planning.chair_summary import suggest_starts

    click.echo(for_terminal(suggest_starts(cohort_path=cohort_path, site_path=site_path, regimen=regimen, earliest=earliest,
                              count=count, progress=_progress_bars()), keep_newlines=True))
