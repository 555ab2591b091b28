"""The command registry: every command beyond `schedule` and `validate`, imported on first use.

`picture-schedule --help` lists each command with the short help written here, without importing
its module; running a command (or asking for its own help) imports only that module. Each module
defines ``command`` (a click command or group) and keeps its library imports inside the command
functions. tests/test_startup.py checks that each short help here is the first paragraph of the
command's own help, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

import click
from click.formatting import HelpFormatter

#: name → (module defining ``command``, the first paragraph of its help).
COMMANDS: Mapping[str, tuple[str, str]] = {
    "chairs": ("picture_schedule.cli.chairs",
               "Infusion chairs of a day unit: plan a cohort's day-1 visits, suggest starts for a new patient."),
    "diary": ("picture_schedule.cli.diary",
              "A printable diary for the patient: cover, when to call, month calendars, daily log, medicines."),
    "fhir": ("picture_schedule.cli.fhir",
             "Write a FHIR R4 bundle of a course: Patient, CarePlan, MedicationRequests and Appointments."),
    "ics": ("picture_schedule.cli.ics",
            "Write an iCalendar (.ics) file for Apple, Google, Outlook or Android calendars."),
    "new": ("picture_schedule.cli.new",
            "Write a new patient's course file: study number, start, height, weight, site and language."),
    "publish": ("picture_schedule.cli.publish",
                "Write every active feed to DIR as <static name>.ics; delete removed and rotated ones."),
    "roster": ("picture_schedule.cli.roster",
               "Keep a unit's patients in a roster and give each a secret calendar feed link."),
    "serve": ("picture_schedule.cli.serve",
              "Serve every patient's calendar feed at /feed/<token>.ics (and /healthz)."),
    "staff": ("picture_schedule.cli.staff",
              "The web page's staff accounts: add, list, disable, change a password."),
    "web": ("picture_schedule.cli.web",
            "Serve the unit's web page: staff pages, each patient's own page and calendar feeds."),
}


class LazyGroup(click.Group):
    """A click group whose registered commands are imported when first looked up.

    ``commands`` (the attribute click and the tests read) still holds every command: reading it
    imports the ones not yet loaded. Click itself goes through :meth:`get_command` and
    :meth:`list_commands`, which import one command or none.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]] = COMMANDS, **kwargs: Any) -> None:
        self._lazy = dict(lazy)
        self._loaded: dict[str, click.Command] = {}
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> dict[str, click.Command]:
        for name in list(self._lazy):
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: Mapping[str, click.Command]) -> None:
        self._loaded = dict(value)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        # click's own add_command writes through ``commands``, which would import every lazy command.
        name = name or cmd.name
        if name is None:
            raise TypeError("Command has no name.")
        self._lazy.pop(name, None)
        self._loaded[name] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            self._load(cmd_name)
        return self._loaded.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self._loaded, *self._lazy})

    def format_commands(self, ctx: click.Context, formatter: HelpFormatter) -> None:
        """Like click's, but a command not imported yet is listed with its registered short help."""
        names = self.list_commands(ctx)
        shown = [n for n in names if n in self._lazy or not self._loaded[n].hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(n) for n in shown)
        rows = []
        for name in shown:
            # a stand-in with the registered help shortens it exactly as the command itself would
            command = click.Command(name, help=self._lazy[name][1]) if name in self._lazy else self._loaded[name]
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _load(self, name: str) -> None:
        module, _short_help = self._lazy[name]
        command = import_module(module).command
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.command is not a click command")
        self._loaded[name] = command
        del self._lazy[name]
