"""The command line: parse, load, call the library, render. Errors become one line and status 2."""

from __future__ import annotations

import sys
from typing import Any

import click

from picture_schedule import __version__
from picture_schedule.cli.options import course_options, output_option
from picture_schedule.errors import Problems, ScheduleError

FORMATS = ("table", "json", "csv")


class Main(click.Group):
    """Turns every user mistake into ``Error: …`` on one line and exit status 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
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
            for problem in exc.problems:
                click.echo(f"Error: {problem}", err=True)
            sys.exit(2)
        except ScheduleError as exc:
            _fail(str(exc))
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str) -> None:
    click.echo(f"Error: {' '.join(message.split())}", err=True)
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
def validate(files: tuple[str, ...]) -> None:
    """Check regimen, course or site files and explain every problem.

    \b
    Example:
      picture-schedule validate examples/course-example.toml picture_schedule/regimens/picture.toml
    """
    from picture_schedule.loading import validate as check

    problems: list[ScheduleError] = []
    for name in files:
        kind, found = check(name)
        if found:
            problems.extend(found)
        else:
            click.echo(f"{name}: valid {kind} file")
    if problems:
        raise Problems(problems)


from picture_schedule.cli.commands import register  # noqa: E402  (registers on main)

register(main)
