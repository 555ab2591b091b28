"""CLI commands beyond `schedule` and `validate`, one module each; registered on the main group.

Each module keeps its heavy imports (icalendar, jinja2, weasyprint, holidays …) inside the command
functions, so `picture-schedule --help` stays fast.
"""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    # one line per command module
    from . import ics; main.add_command(ics.command)  # noqa: E702
    from . import diary; main.add_command(diary.command)  # noqa: E702
    from . import chairs; main.add_command(chairs.command)  # noqa: E702
    from . import roster; main.add_command(roster.command)  # noqa: E702
    from . import serve; main.add_command(serve.command)  # noqa: E702
    from . import publish; main.add_command(publish.command)  # noqa: E702
