"""CLI commands beyond `schedule` and `validate`, one module each; registered on the main group.

Each module keeps its heavy imports (icalendar, jinja2, weasyprint, holidays …) inside the command
functions, so `picture-schedule --help` stays fast.
"""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    # one line per command module
    pass
