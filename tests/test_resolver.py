"""The files a course names, found on disk or given as texts by name: the same course either way."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from picture_schedule.errors import ScheduleError
from picture_schedule.loading import (
    FolderResolver,
    MappingResolver,
    course_from_text,
    load_course,
    validate,
)
from picture_schedule.roster.store import Roster
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
COURSE = EXAMPLES / "course-example.toml"
SITE = EXAMPLES / "site-nanjing.toml"
PICTURE = ROOT / "picture_schedule" / "regimens" / "picture.toml"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_example_course_from_texts_equals_the_course_from_disk():
    from_disk = load_course(COURSE)
    from_texts = course_from_text(text(COURSE), str(COURSE), {"site-nanjing.toml": text(SITE)})
    assert from_texts == from_disk
    assert from_texts.site is not None and from_texts.site.source == "site-nanjing.toml"
    assert from_texts.site.holiday_country == "CN" and from_texts.site.chairs is not None


def test_a_folder_resolver_is_what_load_course_uses():
    assert course_from_text(text(COURSE), str(COURSE), EXAMPLES) == load_course(COURSE)
    assert course_from_text(text(COURSE), str(COURSE), FolderResolver(EXAMPLES)) == load_course(COURSE)


def test_a_regimen_file_from_texts_equals_the_one_from_disk(tmp_path):
    (tmp_path / "regimens").mkdir()
    shutil.copy(PICTURE, tmp_path / "regimens" / "local.toml")
    shutil.copy(SITE, tmp_path)
    course = text(COURSE).replace('regimen = "picture"', 'regimen = "regimens/local.toml"')
    (tmp_path / "course.toml").write_text(course, encoding="utf-8")
    from_disk = load_course(tmp_path / "course.toml")
    files = {"regimens/local.toml": text(PICTURE), "site-nanjing.toml": text(SITE)}
    assert course_from_text(course, str(tmp_path / "course.toml"), files) == from_disk
    assert from_disk.regimen.id == "picture"


def test_texts_win_over_files_of_the_same_name_on_disk(tmp_path, monkeypatch):
    """Given texts, nothing is read from disk, not even a file of that name in the current folder."""
    (tmp_path / "site-nanjing.toml").write_text('name = "a different unit"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    course = course_from_text(text(COURSE), "course.toml", {"site-nanjing.toml": text(SITE)})
    assert course.site is not None and course.site.name == "Example day unit, Nanjing"


def test_a_name_is_found_however_the_same_path_is_written():
    files = MappingResolver({"sites/../site-nanjing.toml": "x = 1"})
    assert files.has("./site-nanjing.toml") and files.has("site-nanjing.toml")
    assert files.read("site-nanjing.toml") == "x = 1"
    assert not files.has("other/site-nanjing.toml")


@pytest.mark.parametrize("files, expected", [
    ({}, "roster PIC-001: site (site-nanjing.toml): no such file among the files given with the course "
         "(given: none)"),
    ({"site-beijing.toml": "name = 'B'"}, "roster PIC-001: site (site-nanjing.toml): no such file among the files "
                                          "given with the course (given: site-beijing.toml)"),
])
def test_a_missing_site_names_the_course_and_the_field(files, expected):
    with pytest.raises(ScheduleError) as caught:
        course_from_text(text(COURSE), "roster PIC-001", files)
    assert str(caught.value) == expected


def test_a_missing_regimen_file_names_the_course_and_the_field():
    course = text(COURSE).replace('regimen = "picture"', 'regimen = "local.toml"')
    with pytest.raises(ScheduleError) as caught:
        course_from_text(course, "roster PIC-001", {"site-nanjing.toml": text(SITE)})
    assert str(caught.value) == ("roster PIC-001: regimen (local.toml): no such regimen file among the files given "
                                 "with the course (given: site-nanjing.toml)")


def test_a_missing_regimen_file_on_disk_names_the_course_too(tmp_path):
    shutil.copy(SITE, tmp_path)
    course = text(COURSE).replace('regimen = "picture"', 'regimen = "local.toml"')
    (tmp_path / "course.toml").write_text(course, encoding="utf-8")
    kind, found = validate(tmp_path / "course.toml")
    assert kind == "course"
    assert [str(p) for p in found] == [f"{tmp_path / 'course.toml'}: regimen (local.toml): no such regimen file"]


def test_an_unknown_regimen_name_is_the_same_message_either_way():
    course = text(COURSE).replace('regimen = "picture"', 'regimen = "folfox"')
    with pytest.raises(ScheduleError) as from_texts:
        course_from_text(course, "c.toml", {"site-nanjing.toml": text(SITE)})
    with pytest.raises(ScheduleError) as from_disk:
        course_from_text(course, "c.toml", EXAMPLES)
    assert str(from_texts.value) == str(from_disk.value)
    assert str(from_disk.value).startswith("c.toml: regimen: unknown regimen 'folfox' (built-in: ")


def test_a_problem_inside_a_named_file_names_that_file_either_way():
    bad_site = text(SITE).replace("max_days = 7", "max_days = 40")
    with pytest.raises(ScheduleError) as caught:
        course_from_text(text(COURSE), "roster PIC-001", {"site-nanjing.toml": bad_site})
    assert str(caught.value) == "site-nanjing.toml: shift.max_days: 40 is outside 0–28"


# -- the roster keeps its files in the database and never in a temporary folder -------------------------


def test_the_roster_never_makes_a_temporary_folder(tmp_path, monkeypatch):
    empty = tmp_path / "tmp"
    empty.mkdir()
    monkeypatch.setenv("TMPDIR", str(empty))
    monkeypatch.setattr(tempfile, "tempdir", str(empty))

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the roster made a temporary folder")

    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    monkeypatch.setattr(tempfile, "TemporaryDirectory", refused)
    folder = tmp_path / "courses"
    folder.mkdir()
    shutil.copy(COURSE, folder)
    shutil.copy(SITE, folder)
    from picture_schedule.core.model import Change

    with Roster(tmp_path / "roster.sqlite3") as roster:
        enrolment = roster.add(folder / "course-example.toml", by="nurse Li")
        roster.change("PIC-001", Change(cycle=5, reason="neutrophils low", delay_days=7, by="nurse Li"))
        roster.rotate("PIC-001", by="nurse Li")
        assert roster.refresh(force=True) == 0
        course = roster.course("PIC-001")
    assert course.site == enrolment.course.site == load_course(folder / "course-example.toml").site
    assert course.changes[-1].delay_days == 7
    assert list(empty.iterdir()) == []
