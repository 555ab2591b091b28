"""Enrolling a patient through the form: ``/patients/new`` (nurse and above).

One path with the command line: the form's values become a
:class:`~picture_schedule.loading.new_course.NewCourse`, whose text is exactly what
``picture-schedule new`` writes for the same values (``course_text``), checked by the course loader
(``new_course``). Every problem is shown next to its field in the loader's words (a problem that
belongs to no field in a summary at the top), with status 400, and nothing is stored. A valid course
is enrolled all or nothing with a new link (``roster/handout.enrol``): the page that shows the link
once (web/linkpage.py) is made just before the roster commits, so if it cannot be made nothing is
stored, and nothing of it is kept for a reload or the back button.

The course is named as if it were a file beside the server's site file (``--site``), so it names
the site relative to that folder, as a course the nurse wrote there would.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, g, render_template, request

from picture_schedule.errors import Problems, RosterError, ScheduleError
from picture_schedule.loading.reader import STUDY_NUMBER_MAX
from picture_schedule.web.common import now, requires, roster, settings, t, today, unit_site

if TYPE_CHECKING:
    from picture_schedule.core.model import Agent, Regimen
    from picture_schedule.roster.handout import Handout

bp = Blueprint("enrol", __name__)

DEFAULT_REGIMEN = "picture"

#: The form's fields and their labels (the template and the summary of problems use the same words).
LABELS = {
    "patient": "Study number",
    "language": "Patient's language",
    "regimen": "Regimen",
    "start": "Start (cycle 1 day 1)",
    "cycles": "Number of cycles",
    "height_cm": "Height",
    "weight_kg": "Weight",
    "measured": "Date measured",
    "morning": "Morning tablets",
    "evening": "Evening tablets",
    "injection": "Injection",
    "site": "Site",
}
TIME_FIELDS = ("morning", "evening", "injection")

#: A problem's field in the course file → the form field it is shown next to.
_LOADER_FIELDS = {
    "patient": "patient", "regimen": "regimen", "start": "start", "cycles": "cycles", "language": "language",
    "site": "site", "body.height_cm": "height_cm", "body.weight_kg": "weight_kg", "body.measured": "measured",
    "times.morning": "morning", "times.evening": "evening", "times.injection": "injection",
}


@dataclass(frozen=True)
class AgentField:
    """One optional prescribed dose on the form: an agent of one or more built-in regimens."""

    id: str
    name: str  # in the page's language
    unit: str  # the regimen's unit ("mg"), or "" when the prescriber names it (a dose known only as text)
    regimens: tuple[str, ...]  # the built-in regimens that have this agent
    basis: str  # per_m2 | flat | text

    @property
    def name_attr(self) -> str:
        return f"rx-{self.id}"


@dataclass
class Checked:
    """The form as checked: the values typed (shown again), the problems by field, the rest."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)

    def add(self, name: str | None, message: str) -> None:
        if name is None:
            self.summary.append(message)
        elif message not in self.errors.setdefault(name, []):
            self.errors[name].append(message)

    def __bool__(self) -> bool:  # "has problems"
        return bool(self.errors or self.summary)


@functools.lru_cache(maxsize=None)
def _regimen(name: str) -> Regimen:
    from picture_schedule.loading import load_regimen

    return load_regimen(name)


def regimens() -> list[Regimen]:
    """The built-in regimens, the default first."""
    from picture_schedule.loading import builtin_regimens

    names = sorted(builtin_regimens(), key=lambda n: (n != DEFAULT_REGIMEN, n))
    return [_regimen(name) for name in names]


def agent_fields(language: str) -> list[AgentField]:
    """One prescription field per agent of any built-in regimen (in the default regimen's order first).
    A form without JavaScript cannot change its fields when the regimen changes, so each field says
    which regimens it belongs to and the loader refuses a dose for an agent of another regimen."""
    from picture_schedule.core.model import Basis

    seen: dict[str, tuple[Agent, list[str]]] = {}
    for regimen in regimens():
        for agent in regimen.agents:
            seen.setdefault(agent.id, (agent, []))[1].append(regimen.id)
    return [AgentField(agent.id, agent.names.get(language), "" if agent.dose.basis is Basis.TEXT else agent.dose.unit,
                       tuple(ids), str(agent.dose.basis)) for agent, ids in seen.values()]


def _site_path() -> str | None:
    return settings().site or None


def _site_state() -> tuple[str, str]:
    """The site's name (or "") and a problem loading it (or "")."""
    if not _site_path():
        return "", ""
    try:
        site = unit_site()
    except (ScheduleError, OSError) as exc:
        return "", str(exc)
    return str(site.name or Path(str(_site_path())).name), ""


def _created() -> dt.datetime:
    """Now, as a wall time in the unit's zone (the site's, else the default): the course's ``created``."""
    from zoneinfo import ZoneInfo

    from picture_schedule.core.model import DEFAULT_TIMEZONE

    try:
        zone = unit_site().timezone if _site_path() else DEFAULT_TIMEZONE
    except (ScheduleError, OSError):
        zone = DEFAULT_TIMEZONE
    return now().astimezone(ZoneInfo(zone or DEFAULT_TIMEZONE)).replace(tzinfo=None, second=0, microsecond=0)


def course_path(study: str) -> Path:
    """Where the course would be as a file: beside the site file (else beside the roster), named after
    the study number (characters that cannot be in a file name become ``_``)."""
    site = _site_path()
    folder = Path(site).parent if site else roster().path.parent
    name = re.sub(r"[^A-Za-z0-9._-]", "_", study.strip()) or "new"
    return folder / f"{name}.toml"


def site_argument() -> str | None:
    """The site file as ``NewCourse`` takes it (a path from the current folder), so that the course
    names it relative to its own folder whether ``--site`` was given absolute or relative."""
    site = _site_path()
    if not site or not os.path.isabs(site):
        return site
    try:
        return os.path.relpath(site)
    except ValueError:  # another drive (Windows): the course names it absolute
        return site


def _defaults() -> dict[str, str]:
    from picture_schedule.core.model import Times

    times = Times()
    return {"patient": "", "language": g.get("language") or "en", "regimen": DEFAULT_REGIMEN, "start": "",
            "cycles": "", "height_cm": "", "weight_kg": "", "measured": today().isoformat(),
            "morning": f"{times.morning:%H:%M}", "evening": f"{times.evening:%H:%M}",
            "injection": f"{times.injection:%H:%M}"}


def _number(text: str, kind: type = float) -> Any:
    """``text`` as a number if it is one; else the text itself, which the reader then names."""
    try:
        value = kind(text.strip())
    except ValueError:
        return text
    return value if kind is int or math.isfinite(value) else text


def read_form(form: Any, agents: list[AgentField]) -> tuple[Any, Checked]:
    """The form's values as a ``NewCourse`` and the problems found reading them (a required field
    left empty, text where a number, date or time goes), in the reader's words. Where a value could
    not be read, a stand-in takes its place so that the loader can still check the other fields;
    the caller never stores a course made with one."""
    from picture_schedule.core.model import Prescribed, Times
    from picture_schedule.loading.new_course import NewCourse
    from picture_schedule.loading.reader import Reader

    names = [*LABELS, *(f"{a.name_attr}{suffix}" for a in agents for suffix in ("", "-unit"))]
    values = {name: str(form.get(name, "")) for name in names}  # (a request is at most MAX_CONTENT_LENGTH)
    checked = Checked(values)
    data: dict[str, Any] = {k: v for k, v in values.items() if v.strip()}
    for name in ("height_cm", "weight_kg", *(a.name_attr for a in agents)):
        if name in data:
            data[name] = _number(data[name])
    if "cycles" in data:
        data["cycles"] = _number(data["cycles"], int)
    reader = Reader(data, "form")
    inf = math.inf
    height = reader.number("height_cm", -inf, inf)
    weight = reader.number("weight_kg", -inf, inf)
    start = reader.date("start")
    measured = reader.date("measured")
    cycles = reader.integer("cycles", -2**63, 2**63, None)
    regimen = reader.text("regimen", DEFAULT_REGIMEN, tuple(r.id for r in regimens()))
    clock = {name: reader.time(name, getattr(Times(), name)) for name in TIME_FIELDS}
    prescribed = []
    for agent in agents:
        amount = reader.number(agent.name_attr, -inf, inf, None)
        if amount is None:
            continue
        unit = agent.unit or values[f"{agent.name_attr}-unit"].strip()
        if regimen in agent.regimens:  # the unit of the chosen regimen's agent
            unit = _agent_unit(regimen, agent.id) or unit
        prescribed.append((agent.id, Prescribed(float(amount), unit)))
    for problem in reader.problems:
        checked.add(problem.field, problem.message)
    times = Times(*(clock[name] or getattr(Times(), name) for name in TIME_FIELDS))
    new = NewCourse(
        patient=values["patient"], start=start or today(), height_cm=height if height is not None else 170.0,
        weight_kg=weight if weight is not None else 70.0, site=site_argument(), language=values["language"],
        regimen=regimen or DEFAULT_REGIMEN, cycles=cycles, measured=measured or today(), created=_created(),
        times=None if times == Times() else times, prescribed=tuple(prescribed),
    )
    return new, checked


def _agent_unit(regimen: str, agent_id: str) -> str:
    from picture_schedule.core.model import Basis

    for agent in _regimen(regimen).agents:
        if agent.id == agent_id and agent.dose.basis is not Basis.TEXT:
            return agent.dose.unit
    return ""


def form_field(problem: ScheduleError, label: str, agents: list[AgentField]) -> str | None:
    """The form field a loader problem about the course ``label`` belongs to (None: the summary)."""
    if problem.source != label or not problem.field:
        return None
    name = problem.field.split(" (", 1)[0]  # "site (site-nanjing.toml)", "regimen (x.toml)"
    if name in _LOADER_FIELDS:
        return _LOADER_FIELDS[name]
    for agent in agents:
        if name == f"prescribed.{agent.id}" or name.startswith(f"prescribed.{agent.id}."):
            return agent.name_attr
    return None


def describe(problem: ScheduleError, label: str) -> str:
    """A problem for the summary: its file (unless it is the course itself, whose path is the
    server's business), its field and the loader's message."""
    source = None if problem.source == label else problem.source
    return ": ".join(part for part in (source, problem.field, problem.message) if part)


def _problems(exc: ScheduleError) -> list[ScheduleError]:
    return exc.problems if isinstance(exc, Problems) else [exc]


def _on_roster(study: str) -> bool:
    try:
        roster().info(study)
    except ScheduleError:
        return False
    return True


def _page(checked: Checked, agents: list[AgentField], status: int = 200) -> Any:
    site_name, site_problem = _site_state()
    labels = {name: t(text) for name, text in LABELS.items()}
    labels.update({a.name_attr: a.name for a in agents})
    return render_template(
        "enrol.html", values=checked.values, errors=checked.errors, summary=checked.summary, labels=labels,
        regimens=regimens(), agents=agents, units=_units(), site_name=site_name, site_problem=site_problem,
        has_site=bool(_site_path()), site_file=Path(str(_site_path())).name if _site_path() else "",
        height_range=_range("HEIGHT_RANGE_CM"), weight_range=_range("WEIGHT_RANGE_KG"), study_max=STUDY_NUMBER_MAX,
    ), status


def _units() -> tuple[str, ...]:
    from picture_schedule.loading.course import PRESCRIBED_UNITS

    return PRESCRIBED_UNITS


def _range(name: str) -> tuple[int, int]:
    """The dosing module's limits, which the course loader enforces too (tests check they agree)."""
    from picture_schedule.core import dosing

    low, high = getattr(dosing, name)
    return int(low), int(high)


@bp.route("/patients/new", methods=["GET", "POST"])
@requires("nurse")
def new() -> Any:
    from picture_schedule.loading.new_course import new_course
    from picture_schedule.roster.handout import enrol

    agents = agent_fields(g.language)
    if request.method == "GET":
        return _page(Checked(_defaults()), agents)
    course, checked = read_form(request.form, agents)
    path = course_path(course.patient)
    label = str(path)
    unreadable = set(checked.errors)  # fields that got a stand-in: the loader's words on them would mislead
    if unreadable & set(TIME_FIELDS):  # (the evening is checked against the morning)
        unreadable |= set(TIME_FIELDS)
    try:
        text, _course = new_course(course, path)
    except ScheduleError as exc:
        for problem in _problems(exc):
            name = form_field(problem, label, agents)
            if name not in unreadable or name is None:
                checked.add(name, problem.message if name else describe(problem, label))
    if checked:
        return _page(checked, agents, 400)
    from picture_schedule.web.linkpage import show_link

    shown: list[str] = []

    def deliver(handout: Handout) -> None:  # the page is made before the commit: if it fails, nothing is stored
        shown.append(show_link(handout.patient, handout.token, enrolled=True))

    try:
        enrol(roster(), path, text=text, by=g.member.username, deliver=deliver)
    except RosterError as exc:  # the roster could not be written: nothing was stored
        checked.add(None, exc.message)
        return _page(checked, agents, 503)
    except ScheduleError as exc:
        on_roster = _on_roster(course.patient.strip())
        for problem in _problems(exc):
            name = "patient" if on_roster and problem.source == label and not problem.field else \
                form_field(problem, label, agents)
            checked.add(name, problem.message if name else describe(problem, label))
        return _page(checked, agents, 400)
    return shown[0]


def register(app: Flask) -> None:
    app.register_blueprint(bp)
