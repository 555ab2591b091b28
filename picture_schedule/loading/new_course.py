"""A fresh course file for a new patient: what `picture-schedule new` writes.

The file holds the patient's own facts only (study number, start, body measures and when they were
measured, site, language; optionally regimen, cycles, and the times and prescribed doses the web
page's enrolment form asks for): no changes, so a new patient never inherits another's history. It
is checked with the course rules before anyone writes it, with the site file found where the course
file will be.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from picture_schedule.core.model import Course, Prescribed, Slot, Times, format_amount
from picture_schedule.loading.course import course_from_text


@dataclass(frozen=True)
class NewCourse:
    """The facts of a new patient's course, as the nurse gives them."""

    patient: str
    start: dt.date
    height_cm: float
    weight_kg: float
    site: str | None  # a site file (path as the user gave it), or None: no clinic calendar
    language: str = "en"
    regimen: str = "picture"
    cycles: int | None = None  # None: the regimen's
    measured: dt.date | None = None  # when height and weight were measured
    created: dt.datetime | None = None  # when the course is set up (calendar stamps come from it)
    times: Times | None = None  # None: no [times] table (the defaults)
    prescribed: tuple[tuple[str, Prescribed], ...] = ()  # (agent id, dose) the prescriber wrote


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def site_reference(site: str, folder: Path) -> str:
    """``site`` (a path from the current folder) as the course file names it: relative to ``folder``."""
    path = Path(site)
    if path.is_absolute():
        return path.as_posix()
    try:
        return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive (Windows): keep it absolute
        return path.resolve().as_posix()


def course_text(new: NewCourse, folder: Path) -> str:
    """The course file's text for ``new``, to be written in ``folder`` (the site is named relative to it)."""
    lines = [
        "# A patient's course of treatment: one file per patient, kept by the nurse. Every field is",
        "# documented in docs/reference/course.md. Lines starting with # are comments.",
        "",
        f"patient = {_toml(new.patient.strip())}                 # pseudonymous study number (never a name)",
        f"regimen = {_toml(new.regimen)}                 # built-in regimen name, or a path to a regimen .toml",
        f"start = {new.start.isoformat()}                  # cycle 1 day 1",
        f"cycles = {new.cycles}" if new.cycles is not None else "# cycles = 6                       # default: the regimen's",
        f"language = {_toml(new.language)}                     # en | zh-CN",
    ]
    if new.site:
        lines.append(f"site = {_toml(site_reference(new.site, folder))}          # the unit's site file (relative to this file)")
    if new.created is not None:
        lines.append(f"created = {new.created.replace(microsecond=0).isoformat()}       # when the course was set up")
    lines += [
        "",
        "[body]",
        f"height_cm = {format_amount(new.height_cm)}",
        f"weight_kg = {format_amount(new.weight_kg)}",
        f"measured = {new.measured.isoformat()}" if new.measured else "# measured = 2026-12-01             # when height and weight were measured",
        'formula = "mosteller"               # mosteller | dubois',
        "",
        *_times_lines(new.times),
        *_prescribed_lines(new.prescribed),
        "",
        "# Changes are recorded as treatment goes on (docs/reference/course.md#changes), or with",
        "# `picture-schedule roster change` once the patient is on the roster:",
        "# [[changes]]",
        "# cycle = 3",
        "# delay_days = 7",
        '# reason = "neutrophils 1.1 on the pre-cycle blood test"',
        "# recorded = 2027-01-17T15:20:00",
        '# by = "nurse Li"',
        "",
    ]
    return "\n".join(lines)


def _times_lines(times: Times | None) -> list[str]:
    if times is None:
        return []
    lines = ["[times]", f'morning = "{times.morning:%H:%M}"', f'evening = "{times.evening:%H:%M}"',
             f'injection = "{times.injection:%H:%M}"']
    if times.first_capecitabine_dose is not Slot.MORNING:
        lines.append(f"first_capecitabine_dose = {_toml(str(times.first_capecitabine_dose))}")
    return [*lines, ""]


def _key(name: str) -> str:
    """A TOML key: bare when it can be (agent ids are), else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml(name)


def _prescribed_lines(prescribed: tuple[tuple[str, Prescribed], ...]) -> list[str]:
    if not prescribed:
        return ["# [prescribed]                      # doses the prescriber wrote print in preference to the calculated ones",
                '# oxaliplatin = { amount = 185, unit = "mg" }']
    return ["[prescribed]                        # doses the prescriber wrote print in preference to the calculated ones",
            *(f"{_key(agent)} = {{ amount = {format_amount(dose.amount)}, unit = {_toml(dose.unit)} }}"
              for agent, dose in prescribed)]


def new_course(new: NewCourse, target: str | Path) -> tuple[str, Course]:
    """The course file's text for ``new`` and the course it gives, checked with the course rules
    (one :class:`~picture_schedule.errors.InputError` or ``Problems`` naming ``target`` and the field)."""
    path = Path(target)
    folder = path.parent if str(target) != "-" else Path(".")
    text = course_text(new, folder)
    label = str(target) if str(target) != "-" else "new course"
    return text, course_from_text(text, label, folder)
