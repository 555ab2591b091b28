"""CLI commands beyond `schedule` and `validate`, one module each; registered on the main group.

Each module keeps its heavy imports (icalendar, jinja2, weasyprint, holidays …) inside the command
functions, so `picture-schedule --help` stays fast.
"""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    from picture_schedule.cli import chairs, diary, ics, publish, roster, serve

    for module in (ics, diary, chairs, roster, serve, publish):
        main.add_command(module.command)
