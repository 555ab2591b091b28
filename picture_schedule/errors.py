"""One error root. Every mistake a user can make ends as a `ScheduleError`.

The CLI turns it into one line on stderr (``Error: <message>``) and exit status 2.
The message names where the problem is (file, field or row), what was wrong and
what is allowed.
"""

from __future__ import annotations


class ScheduleError(Exception):
    """Root of all user-facing errors.

    ``source`` is a file name (or ``"--start"`` style option), ``field`` a dotted
    path inside it (``agents[2].days``) or ``row 4, column start``.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.field = field

    def __str__(self) -> str:
        return ": ".join(part for part in (self.source, self.field, self.message) if part)

    def located(self, source: str) -> ScheduleError:
        """The same error, naming ``source`` when it did not know its file yet."""
        if self.source is None:
            self.source = source
        return self


class InputError(ScheduleError):
    """A regimen, course, site or cohort file (or an option) holds a bad value."""


class DoseError(ScheduleError):
    """A dose cannot be calculated from the values given (e.g. weight out of range)."""


class CalendarError(ScheduleError):
    """Clinic calendar problems: unknown holiday country, no open day within a shift."""


class OutputError(ScheduleError):
    """An output cannot be written or rendered (unwritable path, missing font)."""


class Problems(ScheduleError):
    """Several problems found at once (validation of a whole file or cohort)."""

    def __init__(self, problems: list[ScheduleError]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class RosterError(ScheduleError):
    """The roster cannot be opened, read or written (not a roster, newer schema, disk error…)."""
