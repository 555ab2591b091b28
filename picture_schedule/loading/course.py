"""Course files: one patient's course (regimen, start, body, times, site, prescriptions, changes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from picture_schedule.core.model import (
    LANGUAGES,
    Body,
    Booking,
    Change,
    Course,
    Kind,
    Prescribed,
    Regimen,
    Site,
    Slot,
    Times,
    frozen_map,
)
from picture_schedule.errors import InputError, Problems, ScheduleError
from picture_schedule.loading.reader import (
    DISPLAY_NAME_MAX,
    NAME_MAX,
    REASON_MAX,
    STUDY_NUMBER_MAX,
    Reader,
    parse_toml,
    read_toml,
    show,
    text_problem,
)
from picture_schedule.loading.regimen import load_regimen, regimen_from_data, regimen_from_toml, regimen_text
from picture_schedule.loading.resolver import Resolver, resolver_for
from picture_schedule.loading.site import check_zone, site_from_data, site_from_reader


#: The units a prescribed dose may be written in (``[prescribed]``).
PRESCRIBED_UNITS = ("mg", "IU", "MIU", "µg", "mL")


def load_course(path: Path | str) -> Course:
    """A patient's course file (TOML) with its regimen and site resolved relative to it."""
    data, label = read_toml(path)
    return course_from_data(data, label, Path(path).parent)


def plain_course(start: dt.date, regimen: str | Path = "picture", cycles: int | None = None) -> Course:
    """A course with no patient and no site: the regimen as published from ``start``."""
    reg = load_regimen(regimen)
    if cycles is not None and not 1 <= cycles <= 99:
        raise InputError(f"{cycles} is outside 1–99", source="--cycles")
    return Course(patient="", regimen=reg, start=start, cycles=cycles or reg.cycles)


def course_from(
    *, start: dt.date | None = None, course: str | Path | None = None,
    regimen: str | Path | None = None, cycles: int | None = None,
) -> Course:
    """Exactly one of ``start`` or ``course``: the CLI's ``--start``/``--course``."""
    if (start is None) == (course is None):
        raise InputError("give either --start YYYY-MM-DD or --course FILE (exactly one)")
    if course is not None:
        if regimen is not None:
            raise InputError("--regimen goes with --start; a course file names its regimen", source="--regimen")
        loaded = load_course(course)
        if cycles is not None:
            raise InputError("--cycles goes with --start; a course file sets its cycles", source="--cycles")
        return loaded
    assert start is not None
    return plain_course(start, regimen or "picture", cycles)


def course_from_text(text: str, label: str, files: Resolver | Mapping[str, str] | Path | None = None) -> Course:
    """A course from its TOML text. The files it names are found in ``files``: a mapping of name → text
    (nothing is read from disk), a folder (as ``load_course`` finds them beside the course file) or a
    :class:`~picture_schedule.loading.resolver.Resolver`. Same checks and messages either way."""
    return course_from_data(parse_toml(text, label), label, files)


def course_from_data(data: dict[str, Any], label: str,
                     files: Resolver | Mapping[str, str] | Path | None = None) -> Course:
    """A course from parsed TOML; ``files`` finds the files it names (see :func:`course_from_text`)."""
    resolver = resolver_for(files)
    c = Reader(data, label)
    patient = c.text("patient")
    if patient is not None and not patient.strip():
        c.problem("patient", "is empty: give the pseudonymous study number")
    elif patient is not None and (problem := text_problem(patient.strip(), STUDY_NUMBER_MAX)):
        c.problem("patient", problem)
        patient = None
    display = c.text("display_name", "")
    if display and (problem := text_problem(display, DISPLAY_NAME_MAX)):
        c.problem("display_name", problem)
    regimen_ref = c.text("regimen", "picture")
    if regimen_ref is not None and not regimen_ref.strip():
        c.problem("regimen", "is empty: give a built-in regimen name (picture, capox) or a regimen file")
    regimen = _course_regimen(c, regimen_ref, resolver) if regimen_ref and regimen_ref.strip() else None
    start = c.date("start")
    cycles = c.integer("cycles", 1, 99, regimen.cycles if regimen else 6)
    timezone = c.text("timezone", "")
    if timezone:
        check_zone(c, "timezone", timezone)
    language = c.text("language", "en", LANGUAGES)
    body = _body(c)
    times = _times(c)
    site = _course_site(c, resolver)
    prescribed = _prescribed(c, c.raw("prescribed", {}), "prescribed", regimen)
    created = c.datetime("created")
    changes = tuple(ch for ch in (_change(t, regimen, cycles or 99) for t in c.tables("changes")) if ch)
    bookings = _bookings(c, cycles or 99)
    c.done()
    if c.problems:
        raise c.problems[0] if len(c.problems) == 1 else Problems(c.problems)
    assert regimen is not None and start is not None and cycles is not None
    course = Course(
        patient=patient.strip(), regimen=regimen, start=start, cycles=cycles, site=site,
        display_name=display or "", body=body, times=times, timezone=timezone or "",
        language=language or "en", prescribed=frozen_map(prescribed), changes=changes,
        created=created, source=label, bookings=frozen_map(bookings),
    )
    _check_doses(course)
    return course


def _check_doses(course: Course) -> None:
    """Dose problems that need the whole course (BSA range, undefined levels) fail the load."""
    from picture_schedule.core.prescribing import course_bsa, level_amount

    try:
        course_bsa(course)
    except ScheduleError as exc:
        exc.source = course.source
        raise
    for i, change in enumerate(course.changes, start=1):
        for target, level in change.dose_level.items():
            agents = [a for a in course.regimen.agents if a.dose_levels] if target == "all" else [
                course.regimen.agent(target)]
            for agent in agents:
                try:
                    level_amount(agent, level)
                except ScheduleError as exc:
                    raise InputError(exc.message, source=course.source, field=f"changes[{i}].dose_level") from None


def _body(c: Reader) -> Body | None:
    b = c.table("body")
    if b is None:
        return None
    height = b.number("height_cm", 100, 230, None, "cm")
    weight = b.number("weight_kg", 25, 250, None, "kg")
    bsa = b.number("bsa_m2", 0.5, 3.5, None, "m²")
    formula = b.text("formula", "mosteller", ("mosteller", "dubois"))
    measured = b.date("measured", None)
    given = {k for k in ("height_cm", "weight_kg", "bsa_m2") if k in b.data}
    if "bsa_m2" not in given and not {"height_cm", "weight_kg"} <= given:
        b.problem(None, "give height_cm and weight_kg, or bsa_m2")
    b.done()
    return Body(height, weight, bsa, formula or "mosteller", measured)


def _bookings(c: Reader, cycles: int) -> dict[int, Booking]:
    """``[[bookings]]``: a day-1 chair booking per cycle (chair, start, end; optional date, recorded,
    revision), the appointment time the patient is given."""
    out: dict[int, Booking] = {}
    for b in c.tables("bookings"):
        cycle = b.integer("cycle", 1, cycles)
        chair = b.text("chair")
        if chair is not None and not chair.strip():
            b.problem("chair", "is empty: give the chair's name (C2)")
            chair = None
        elif chair is not None and (problem := text_problem(chair.strip(), NAME_MAX)):
            b.problem("chair", problem)
            chair = None
        start = b.time("start")
        end = b.time("end")
        if start is not None and end is not None and end <= start:
            b.problem("end", f"{end:%H:%M} is not after the start {start:%H:%M}")
            end = None
        day = b.date("date", None)
        recorded = b.datetime("recorded")
        revision = b.integer("revision", 1, 9999, 1)
        b.done()
        if cycle is not None and cycle in out:
            b.problem("cycle", f"cycle {cycle} is booked twice: keep one booking a cycle")
            continue
        if cycle is None or chair is None or start is None or end is None or revision is None:
            continue
        out[cycle] = Booking(chair.strip(), start, end, day=day, revision=revision, recorded=recorded)
    return out


def _times(c: Reader) -> Times:
    t = c.table("times")
    if t is None:
        return Times()
    d = Times()
    morning = t.time("morning", d.morning)
    evening = t.time("evening", d.evening)
    injection = t.time("injection", d.injection)
    first = t.text("first_capecitabine_dose", "morning", ("morning", "evening"))
    if morning and evening and evening <= morning:
        t.problem("evening", f"{evening:%H:%M} is not after the morning time {morning:%H:%M}")
    t.done()
    return Times(morning or d.morning, evening or d.evening, injection or d.injection, Slot(first or "morning"))


def _course_regimen(c: Reader, ref: str, files: Resolver) -> Regimen | None:
    """The regimen a course names: a built-in one, or a file ``files`` finds; problems go to ``c``."""
    try:
        text, label = regimen_text(ref, files)
    except ScheduleError as exc:  # unknown, missing or unreadable: name the course and the field
        field = f"regimen ({ref})" if exc.source else "regimen"
        c.problems.append(InputError(exc.message, source=c.source, field=field))
        return None
    try:
        return regimen_from_toml(text, label)
    except Problems as exc:
        c.problems.extend(exc.problems)
    except ScheduleError as exc:
        c.problems.append(exc if exc.source else InputError(exc.message, source=c.source, field="regimen"))
    return None


def _course_site(c: Reader, files: Resolver) -> Site | None:
    value = c.raw("site", None)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            data = parse_toml(files.read(value), value)
        except ScheduleError as exc:
            c.problems.append(InputError(exc.message, source=c.source, field=f"site ({value})"))
            return None
        s = Reader(data, value, "", c.problems)
        site = site_from_reader(s, files.folder_of(value))
        s.done()
        return site
    if isinstance(value, dict):
        s = Reader(value, c.source, "site", c.problems)
        site = site_from_reader(s, files.folder_of(None))
        s.done()
        return site
    c.problem("site", f"{show(value)} must be a site file path or a [site] table")
    return None


def _prescribed(r: Reader, value: Any, where: str, regimen: Regimen | None) -> dict[str, Prescribed]:
    out: dict[str, Prescribed] = {}
    if not isinstance(value, dict):
        r.problem(where, f"{show(value)} must be a table {{ capecitabine = {{ amount = 1650, unit = \"mg\" }} }}")
        return out
    for agent_id, spec in value.items():
        field = f"{where}.{agent_id}"
        r.used.add(where)
        if regimen is not None and agent_id not in [a.id for a in regimen.agents]:
            r.problems.append(InputError(
                f"{agent_id!r} is not an agent of {regimen.id} ({', '.join(a.id for a in regimen.agents)})",
                source=r.source, field=r.where(field)))
            continue
        p = Reader(spec, r.source, r.where(field), r.problems)
        amount = p.number("amount", 0.0001, 1e12)
        unit = p.text("unit", choices=PRESCRIBED_UNITS)
        p.done()
        if amount and unit:
            out[agent_id] = Prescribed(float(amount), unit)
    return out


def _change(t: Reader, regimen: Regimen | None, cycles: int) -> Change | None:
    cycle = t.integer("cycle", 1, cycles)
    reason = t.text("reason")
    if reason is not None and not reason.strip():
        t.problem("reason", "is empty: every change needs its reason")
        reason = None
    elif reason is not None and (problem := text_problem(reason.strip(), REASON_MAX, free_text=True)):
        t.problem("reason", problem)
        reason = None
    delay = t.integer("delay_days", -28, 365, 0)
    agent_ids = [a.id for a in regimen.agents] if regimen else []
    levels: dict[str, int] = {}
    raw_level = t.raw("dose_level", None)
    if isinstance(raw_level, int) and not isinstance(raw_level, bool):
        levels = {"all": raw_level}
    elif isinstance(raw_level, dict):
        for key, level in raw_level.items():
            if regimen and key not in agent_ids and key != "all":
                t.problem(f"dose_level.{key}", f"not an agent of {regimen.id} ({', '.join(agent_ids)})")
            elif not isinstance(level, int) or isinstance(level, bool):
                t.problem(f"dose_level.{key}", f"{show(level)} is not a whole-number level (0, -1, -2)")
            else:
                levels[key] = level
    elif raw_level is not None:
        t.problem("dose_level", f"{show(raw_level)} must be a level (-1) or a table {{ capecitabine = -1 }}")
    omit = t.str_list("omit", ())
    for agent_id in omit or ():
        if regimen and agent_id not in agent_ids:
            t.problem("omit", f"{agent_id!r} is not an agent of {regimen.id} ({', '.join(agent_ids)})")
    hold = t.int_list("hold_days", ())
    if hold and regimen:
        oral_days = {d for a in regimen.agents if a.kind is Kind.ORAL for d in a.days} | {
            d + 1 for a in regimen.agents if a.kind is Kind.ORAL for d in a.days}
        for day in hold:
            if day not in oral_days:
                t.problem("hold_days", f"day {day} has no oral doses to hold (oral days: "
                          f"{min(oral_days)}–{max(oral_days)})")
    stop = t.boolean("stop", False)
    prescribed = _prescribed(t, t.raw("prescribed", {}), "prescribed", regimen)
    recorded = t.datetime("recorded")
    by = t.text("by", "")
    if by and (problem := text_problem(by, NAME_MAX)):
        t.problem("by", problem)
    if not (delay or levels or omit or hold or stop or prescribed):
        t.problem(None, "says nothing happened: give delay_days, dose_level, omit, hold_days, stop or prescribed")
    t.done()
    if cycle is None or reason is None:
        return None
    return Change(
        cycle=cycle, reason=reason.strip(), delay_days=delay or 0, dose_level=frozen_map(levels),
        omit=tuple(omit or ()), hold_days=tuple(hold or ()), stop=bool(stop),
        prescribed=frozen_map(prescribed), recorded=recorded, by=by or "",
    )


def validate(path: Path | str) -> tuple[str, list[ScheduleError]]:
    """Check a regimen, course or site file: its kind and every problem found (empty: valid)."""
    try:
        data, label = read_toml(path)
    except ScheduleError as exc:
        return "file", [exc]
    if not data:
        return "file", [InputError("is empty: expected a regimen, course or site file", source=label)]
    kind = "regimen" if "agents" in data else "course" if "patient" in data or "start" in data else "site"
    try:
        if kind == "regimen":
            regimen_from_data(data, label)
        elif kind == "course":
            course_from_data(data, label, Path(path).parent)
        else:
            site_from_data(data, label, Path(path).parent)
    except Problems as exc:
        return kind, exc.problems
    except ScheduleError as exc:
        return kind, [exc]
    return kind, []
