"""The roster as the unit's desk reads it: the list of patients, one patient's sheet and history, a
change recorded.

Each function makes its calls to :class:`~picture_schedule.roster.store.Roster` and returns the
text ``picture-schedule roster list``, ``show``, ``history`` and ``change`` print.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from picture_schedule.core.model import Change, Course, Prescribed, frozen_map
from picture_schedule.core.scheduler import schedule
from picture_schedule.errors import InputError, RosterError, ScheduleError
from picture_schedule.output import for_terminal
from picture_schedule.render.messages import describe

if TYPE_CHECKING:
    from picture_schedule.roster.store import Roster


def patients_table(store: Roster, *, removed: bool = False) -> str:
    """One row per patient on the roster (``removed``: per patient removed and not purged), in aligned
    columns, or a sentence saying there is none."""
    patients = store.patients(removed=removed)
    if not patients:
        return "No removed patient is kept on the roster." if removed else "The roster is empty."
    rows: list[tuple[str, ...]] = [
        ("patient", "regimen", "start", "cycles", "changes", "removed (UTC)", "removed by") if removed else
        ("patient", "regimen", "start", "cycles", "changes", "last change (UTC)", "added by")]
    for p in patients:
        when, who = (p.removed_at, p.removed_by) if removed and p.removed_at else (p.changed_at, p.added_by)
        rows.append(tuple(for_terminal(cell) for cell in (  # no raw control character reaches a terminal
            p.patient, p.regimen, p.start, _cycles(store, p.patient, p.cycles), str(p.changes),
            f"{when:%Y-%m-%d %H:%M}", who or "-")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _cycles(store: Roster, patient: str, typed: int) -> str:
    """The course's number of cycles: as typed, or (left out: the regimen's) from the course itself."""
    if typed:
        return str(typed)
    try:
        return str(store.course(patient).cycles)
    except ScheduleError:  # a removed patient's course is no longer kept
        return "-"


def patient_sheet(store: Roster, patient: str) -> str:
    """A patient's entry: course, schedule, files kept, feed link and the history of changes."""
    info = store.info(patient)
    course = store.course(patient)
    expanded = schedule(course)
    lines = [
        f"patient     {info.patient}",
        f"regimen     {course.regimen.id} {course.regimen.version}, {course.cycles} cycles from {course.start}",
        f"language    {course.language}; time zone {course.zone}",
        f"site        {course.settings.name or '-'}",
        f"schedule    {len(expanded.events)} events, ends {expanded.end}; fingerprint {expanded.fingerprint()}",
        f"course file {info.file_name} (+ {info.changes} change(s) recorded here)",
    ]
    for kind, ref, _ in store.course_files(patient):
        lines.append(f"            {kind} file {ref} (copy kept in the roster)")
    if info.token_created:
        lines.append(f"feed link   made {info.token_created:%Y-%m-%d %H:%M} UTC; not shown again "
                     "(only a hash is kept): 'roster rotate' makes a new one")
    if info.removed_at:
        lines.append(_removed_line(info.removed_at, info.removed_by))
    lines.append("history")
    lines.extend(_journal_lines(store, patient))
    for note in expanded.notes:
        lines.append(f"note: {describe(note, 'en')}")
    return "\n".join(for_terminal(line) for line in lines)  # no raw control character reaches a terminal


def history(store: Roster, patient: str) -> str:
    """Everything done to a patient's entry, oldest first: enrolment, each change with its reason and
    who, new links, removal. Kept after removal (until ``purge``)."""
    info = store.info(patient)
    lines = [f"patient     {info.patient}"]
    if info.removed_at:
        lines.append(_removed_line(info.removed_at, info.removed_by))
    lines.append("history")
    lines.extend(_journal_lines(store, patient))
    return "\n".join(for_terminal(line) for line in lines)  # no raw control character reaches a terminal


def _removed_line(when: object, by: str) -> str:
    return (f"removed     {when:%Y-%m-%d %H:%M} UTC{f' by {by}' if by else ''}; the feed link no longer "
            "works ('roster purge' deletes this entry)")


def _journal_lines(store: Roster, patient: str) -> list[str]:
    lines = []
    for entry in store.journal(patient):
        who = f" by {entry.by}" if entry.by else ""
        line = f"  {entry.at:%Y-%m-%d %H:%M} UTC  {entry.action}{who}"
        if entry.reason:
            line += f": {entry.reason}"
        lines.append(line)
        if entry.action == "change":
            for detail in entry.detail.strip().splitlines()[1:]:
                if not detail.startswith(("reason", "recorded", "by ")):
                    lines.append(f"      {detail}")
        elif entry.action == "book":  # the chair bookings made, and the ones they replace
            lines.extend(f"      {detail}" for detail in entry.detail.strip().splitlines())
    return lines


def record_change(
    store: Roster, patient: str, *, cycle: int, reason: str, by: str, delay_days: int = 0,
    dose_levels: Sequence[tuple[str, int]] = (), omit: Sequence[str] = (), hold_days: Sequence[int] = (),
    stop: bool = False, prescribed: Sequence[tuple[str, float, str]] = (),
    deliver: Callable[[str], None] | None = None,
) -> str:
    """Record a change from ``cycle`` on (checked with the course rules first) and say where it leaves
    the course. ``dose_levels``: ``(agent or "all", level)``; ``prescribed``: ``(agent, amount, unit)``.

    ``deliver`` gets that sentence before the roster commits: if it raises (the CLI cannot print it),
    the change is not recorded, so running the command again never records it twice."""
    levels = dict(dose_levels)
    record = Change(
        cycle=cycle, reason=reason, delay_days=delay_days, dose_level=frozen_map(levels), omit=tuple(omit),
        hold_days=tuple(hold_days), stop=stop,
        prescribed=frozen_map({agent: Prescribed(amount, unit) for agent, amount, unit in prescribed}), by=by,
    )
    if not (delay_days or levels or omit or hold_days or stop or prescribed):
        raise InputError("say what happened: --delay-days, --dose-level, --omit, --hold-days, --stop or --prescribed")
    said: list[str] = []
    delivered: list[bool] = []

    def report(course: Course) -> None:
        expanded = schedule(course)
        cycle_info = next((c for c in expanded.cycles if c.number == cycle), None)
        if cycle_info is not None:
            where = f"; cycle {cycle} day 1 is now {cycle_info.day1}"
        else:
            where = f"; the course now has {len(expanded.cycles)} cycle(s)"
        said.append(f"Recorded change {len(course.changes)} for {patient}{where}. The feed is updated.")
        if deliver is not None:
            deliver(said[-1])
            delivered.append(True)

    try:
        store.change(patient, record, before_commit=report)
    except ScheduleError as exc:
        if not delivered:
            raise  # rolled back before anything was printed
        raise RosterError(f"{exc}; nothing was saved: the change printed above was not recorded") from None
    return said[-1]
