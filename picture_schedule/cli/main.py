"""The command line: the main group, with `schedule` and `validate`; other commands are in commands.py.

Each command parses, loads, calls the library and prints; errors become one line and status 2.
"""

from __future__ import annotations

import errno
import sys
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError

from picture_schedule import __version__
from picture_schedule.cli.commands import LazyGroup
from picture_schedule.cli.options import course_options, output_option
from picture_schedule.errors import Problems, ScheduleError

FORMATS = ("table", "json", "csv")


class Main(LazyGroup):
    """Turns every user mistake into ``Error: …`` on one line and exit status 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from picture_schedule.output import quiet_stdout, reading_inputs

        try:
            with reading_inputs():  # outputs may not overwrite any file the command reads
                result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # a group with no subcommand: its help, as --help prints it
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _fail(exc.format_message() + hint)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except Problems as exc:
            from picture_schedule.output import for_terminal

            for problem in exc.problems:
                click.echo(f"Error: {for_terminal(str(problem))}", err=True)
            sys.exit(2)
        except ScheduleError as exc:
            _fail(str(exc))
        except OSError as exc:  # a full disk or an I/O error under standard output (click.echo)
            if exc.errno not in _STREAM_ERRORS:
                raise
            quiet_stdout()
            _fail(f"standard output: cannot write ({exc.strerror or exc})")
        sys.exit(result if isinstance(result, int) else 0)


_STREAM_ERRORS = (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG)


def _fail(message: str) -> None:
    from picture_schedule.output import for_terminal

    click.echo(f"Error: {for_terminal(' '.join(message.split()))}", err=True)
    sys.exit(2)


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="picture-schedule")
def main() -> None:
    """Treatment schedules, calendars and diaries for the PICTURE trial and regimens like it.

    \b
    Example:
      picture-schedule schedule --start 2026-12-07
      picture-schedule schedule --course examples/course-example.toml --format json -o schedule.json
    """


@main.command()
@course_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@output_option
def schedule(course: Any, fmt: str, output: str) -> None:
    """Expand a regimen or a patient's course into its cycles and every dated event.

    \b
    Examples:
      picture-schedule schedule --start 2026-12-07
      picture-schedule schedule --start 2026-12-07 --format json -o schedule.json
      picture-schedule schedule --start 2026-12-07 --regimen capox --cycles 4 --format csv
      picture-schedule schedule --course patient.toml
    """
    from picture_schedule import api
    from picture_schedule.output import write_output

    expanded = api.schedule(course)
    if fmt == "table":
        from picture_schedule.render.text import to_table

        text = to_table(expanded)
    elif fmt == "json":
        from picture_schedule.render.tabular import to_json

        text = to_json(expanded)
    else:
        from picture_schedule.render.tabular import to_csv

        text = to_csv(expanded)
    write_output(output, text)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True,
              help="Exit with status 1 when a course has warnings (an appointment on a day the clinic is closed).")
def validate(files: tuple[str, ...], strict: bool) -> int:
    """Check regimen, course or site files and explain every problem.

    A valid course is also expanded: each appointment the clinic calendar could not place on an open
    day is listed as a warning (tentative until a person confirms a date).

    \b
    Examples:
      picture-schedule validate examples/course-example.toml picture_schedule/regimens/picture.toml
      picture-schedule validate --strict patient.toml
    """
    from picture_schedule.loading import load_course
    from picture_schedule.loading import validate as check
    from picture_schedule.output import for_terminal
    from picture_schedule.render.text import course_warnings

    problems: list[ScheduleError] = []
    warned = False
    for name in files:
        kind, found = check(name)
        if not found and kind == "course":
            try:
                warnings = course_warnings(load_course(name))
            except ScheduleError as exc:
                found = [exc]
        if found:
            problems.extend(found)
            continue
        click.echo(f"{name}: valid {kind} file")
        if kind == "course":
            for warning in warnings:
                click.echo(f"Warning: {for_terminal(name)}: {for_terminal(warning)}", err=True)
            warned = warned or bool(warnings)
    if problems:
        raise Problems(problems)
    return 1 if strict and warned else 0
