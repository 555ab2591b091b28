"""Every patient on the roster as a FHIR bundle: one file per patient in a folder."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from picture_schedule.core.model import Course
from picture_schedule.core.scheduler import schedule
from picture_schedule.errors import RosterError
from picture_schedule.render.fhir import to_fhir
from picture_schedule.roster.store import Roster

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SUFFIX = ".fhir.json"


def bundle_file_name(patient: str) -> str:
    """``PIC-001`` → ``PIC-001.fhir.json``; a study number that is not a plain file name is
    percent-encoded (``PIC/1`` → ``PIC%2F1.fhir.json``), so it can never name another folder."""
    stem = patient if _PLAIN_NAME.fullmatch(patient) else quote(patient, safe="")
    return stem + SUFFIX


def export_bundles(store: Roster, out: str | Path, *, today: Callable[[Course], dt.date], transaction: bool = False,
                   include_name: bool = False) -> list[Path]:
    """Write one bundle per patient on the roster to ``out/<study number>.fhir.json`` (created 0600,
    all or none; the folder is created if missing). ``today(course)``: the date each course is judged
    against. Returns the files written, by study number."""
    from picture_schedule.output import write_all

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise RosterError("is not a folder", source=str(folder))
    outputs: list[tuple[str | Path | None, str | bytes]] = []
    seen: dict[str, str] = {}
    for info in store.patients():
        name = bundle_file_name(info.patient)
        if name.casefold() in seen:  # one file on a case-insensitive disk
            raise RosterError(f"study numbers {seen[name.casefold()]!r} and {info.patient!r} would share the "
                              f"file {name}", source=str(folder))
        seen[name.casefold()] = info.patient
        course = store.course(info.patient)
        data = to_fhir(schedule(course), today=today(course), transaction=transaction, include_name=include_name)
        outputs.append((folder / name, data))
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise RosterError(f"cannot be created ({exc.strerror})", source=str(folder)) from None
    write_all(outputs, private=True)
    return [Path(target) for target, _ in outputs if target is not None]
