"""The "record a change" form: what a nurse typed → a :class:`Change`, or each problem by its field.

The form only turns text into numbers (a delay that is not a whole number is refused here); every
rule of a change (cycle range, delay limits, dose levels, days with tablets, a reason) is checked by
the course loader when the change is tried on the stored course (roster/preview.py), and each of its
messages is put next to the field it names (``changes[N].hold_days`` → the "hold days" field).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from werkzeug.datastructures import MultiDict

from picture_schedule.core.model import Change, Course, Kind, Prescribed, frozen_map
from picture_schedule.errors import Problems, ScheduleError
from picture_schedule.web.common import t

if TYPE_CHECKING:
    from picture_schedule.roster.preview import Preview
    from picture_schedule.roster.store import Roster

UNITS = ("mg", "IU", "MIU", "µg", "mL")
#: Form fields: the one an error is shown next to. "what" is the group of things that happened;
#: "form" the form as a whole.
FIELDS = ("cycle", "delay_days", "dose_level", "omit", "hold_days", "stop", "prescribed", "reason", "what", "form")


@dataclass
class ChangeForm:
    """The form as typed (to show again) and the problems found, by field."""

    values: MultiDict[str, str] = field(default_factory=MultiDict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name if name in FIELDS else "form", []).append(message)

    def value(self, name: str) -> str:
        return str(self.values.get(name, ""))

    def checked(self, name: str, value: str = "1") -> bool:
        return value in self.values.getlist(name)

    def prescribing(self) -> bool:
        """Whether a prescribed dose was typed (its part of the form then shows open)."""
        return any(k.startswith("rx-") and not k.endswith("-unit") and v.strip() for k, v in self.values.items(multi=True))

    @property
    def ok(self) -> bool:
        return not self.errors

    def hidden(self) -> list[tuple[str, str]]:
        """The fields to post again with "Confirm" (every value typed, nothing else)."""
        return [(k, v) for k, v in self.values.items(multi=True) if k not in ("csrf_token", "confirm", "expect") and v]


def level_choices(course: Course) -> list[tuple[str, str, list[int]]]:
    """(field, agent id or "all", levels) of the medicines whose dose can be lowered; "all" first."""
    agents = [a for a in course.regimen.agents if a.dose_levels]
    every = sorted({lvl for a in agents for lvl in a.dose_levels}, reverse=True)
    choices = [("level-all", "all", every)] if len(agents) > 1 else []
    return choices + [(f"level-{a.id}", a.id, sorted(a.dose_levels, reverse=True)) for a in agents]


def oral_days(course: Course) -> list[int]:
    """The cycle days whose tablets can be held (as the loader counts them: an evening-first course
    takes its last dose the morning after the last day)."""
    days = {d for a in course.regimen.agents if a.kind is Kind.ORAL for d in a.days}
    return sorted(days | {d + 1 for d in days}) if days else []


def read_form(form: Mapping[str, str] | MultiDict[str, str], course: Course, by: str) -> tuple[ChangeForm, Change | None]:
    """The change the form describes (recorded by ``by``), or None when a field could not be read.
    A change without its reason is returned (reason "") with the problem noted: :func:`try_change`
    still finds its other problems, and it is never recorded."""
    values: MultiDict[str, str] = MultiDict(form.items(multi=True) if isinstance(form, MultiDict) else form.items())
    typed = ChangeForm(values)
    cycle = _integer(typed, "cycle", required=True)
    delay = _integer(typed, "delay_days") or 0
    levels: dict[str, int] = {}
    for name, target, _ in level_choices(course):
        raw = typed.value(name).strip()
        if raw:
            try:
                levels[target] = int(raw)
            except ValueError:
                typed.add("dose_level", t("%(value)s is not a dose level", value=raw))
    agent_ids = {a.id for a in course.regimen.agents}
    omit = tuple(a for a in values.getlist("omit") if a)
    for agent_id in omit:
        if agent_id not in agent_ids:
            typed.add("omit", t("%(value)s is not a medicine of this regimen", value=agent_id))
    hold: list[int] = []
    for part in re.split(r"[\s,，、]+", typed.value("hold_days").strip()):
        if part:
            try:
                hold.append(int(part))
            except ValueError:
                typed.add("hold_days", t("%(value)s is not a cycle day: give days like 8, 9", value=part))
    prescribed: dict[str, Prescribed] = {}
    for agent in course.regimen.agents:
        # as typed: "1,650" is 1650 mg to one nurse and 1.65 mg to another, so a comma is refused (as on
        # the enrolment form), never guessed
        raw = typed.value(f"rx-{agent.id}").strip()
        if not raw:
            continue
        unit = typed.value(f"rx-{agent.id}-unit") or "mg"
        try:
            amount = float(raw)
        except ValueError:
            typed.add("prescribed", t("%(value)s is not an amount", value=raw))
            continue
        if unit not in UNITS:
            typed.add("prescribed", t("%(value)s is not a unit", value=unit))
            continue
        prescribed[agent.id] = Prescribed(amount, unit)
    reason = typed.value("reason").strip()
    if not typed.ok or cycle is None:
        if not reason:
            typed.add("reason", t("is empty: every change needs its reason"))
        return typed, None
    if not reason:  # the change is still tried (with a stand-in reason) to find its other problems
        typed.add("reason", t("is empty: every change needs its reason"))
    return typed, Change(cycle=cycle, reason=reason, delay_days=delay, dose_level=frozen_map(levels), omit=omit,
                         hold_days=tuple(hold), stop=typed.checked("stop"), prescribed=frozen_map(prescribed), by=by)


def _integer(typed: ChangeForm, name: str, *, required: bool = False) -> int | None:
    raw = typed.value(name).strip().replace("−", "-")
    if not raw:
        if required:
            typed.add(name, t("is required"))
        return None
    if not re.fullmatch(r"[+-]?\d{1,6}", raw):
        typed.add(name, t("%(value)s is not a whole number", value=raw))
        return None
    return int(raw)


def place_errors(typed: ChangeForm, exc: ScheduleError, number: int, change: Change) -> None:
    """Put each problem of ``exc`` (the loader's, for the course with the change as ``changes[number]``)
    next to its field, in the loader's words."""
    for problem in exc.problems if isinstance(exc, Problems) else [exc]:
        name = _field_of(problem, number, change)
        message = problem.message
        if name == "what" and message.startswith("says nothing happened"):  # the file's keys mean nothing here
            message = t("Nothing was chosen: give a delay, a dose level, a medicine not given, tablets held, stop "
                        "or a prescribed dose.")
        typed.add(name, message)


def _field_of(problem: ScheduleError, number: int, change: Change) -> str:
    where = problem.field or ""
    prefix = f"changes[{number}]"
    if problem.source == "--reason":
        return "reason"
    if where == prefix:
        return "what"
    if where.startswith(prefix + "."):
        return where[len(prefix) + 1:].split(".")[0]
    if where.startswith("changes (cycle"):  # the scheduler's check of where a delay puts a cycle
        return "delay_days" if change.delay_days else "what"
    return "form"


def try_change(roster: Roster, patient: str, course: Course, typed: ChangeForm, change: Change | None) -> Preview | None:
    """The preview of ``change``, or None with every problem placed on ``typed`` (a change without
    its reason is tried with a stand-in reason, so that all its problems show at once)."""
    import dataclasses

    from picture_schedule.roster.preview import preview_change

    if change is None:
        return None
    probe = change if change.reason.strip() else dataclasses.replace(change, reason="-")
    try:
        preview = preview_change(roster, patient, probe)
    except ScheduleError as exc:
        place_errors(typed, exc, len(course.changes) + 1, change)
        return None
    return preview if typed.ok else None
