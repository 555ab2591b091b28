"""Courses from stored text: the course text plus the files it names, loaded without touching disk."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from picture_schedule.core.model import Course
from picture_schedule.errors import InputError, RosterError


def referenced_files(text: str, course_file: Path) -> list[tuple[str, str, str]]:
    """(kind, ref, text) of the site and regimen files a course file names by path."""
    from picture_schedule.loading import builtin_regimens, parse_toml

    data = parse_toml(text, str(course_file))
    folder = course_file.parent
    found = []
    site = data.get("site")
    if isinstance(site, str):
        found.append(("site", site, _read_ref(folder, site, course_file, "site")))
    regimen = data.get("regimen", "picture")
    if isinstance(regimen, str) and regimen not in builtin_regimens():
        found.append(("regimen", regimen, _read_ref(folder, regimen, course_file, "regimen")))
    return found


def _read_ref(folder: Path, ref: str, course_file: Path, field: str) -> str:
    path = Path(ref) if Path(ref).is_absolute() else folder / ref
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{ref!r} cannot be read ({exc})", source=str(course_file), field=field) from None


def load_stored_course(text: str, files: Sequence[tuple[str, str, str]], label: str, templates: str = "") -> Course:
    """Load a course from its stored text and copies of the files it names, exactly as
    ``load_course`` loads the file beside those files (same relative names, same loader)."""
    from picture_schedule.loading import course_from_data, parse_toml

    data = parse_toml(text, label)
    with tempfile.TemporaryDirectory(prefix="picture-roster-") as tmp:
        root = Path(tmp)
        depth = max((Path(ref).parts.count("..") for _, ref, _ in files if not Path(ref).is_absolute()), default=0)
        folder = root.joinpath(*(["course"] * (depth + 1)))
        folder.mkdir(parents=True)
        for kind, ref, body in files:
            if Path(ref).is_absolute():
                target = root / "absolute" / kind / Path(ref).name
                data[kind] = str(target)
            else:
                target = Path(os.path.normpath(folder / ref))
                if root not in target.parents:
                    raise RosterError(f"stored {kind} path {ref!r} leaves its folder", source=label)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        course = course_from_data(data, label, folder)
    if templates and course.site is not None and course.site.templates:
        course = dataclasses.replace(course, site=dataclasses.replace(course.site, templates=templates))
    return course
