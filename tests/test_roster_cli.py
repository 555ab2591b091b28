"""`picture-schedule roster …` and `publish` end to end through click, on a temporary roster."""

from __future__ import annotations

import re
import shutil
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from picture_schedule import api
from picture_schedule.loading import load_course
from picture_schedule.roster.feeds import render_feed
from picture_schedule.roster.store import Roster
from picture_schedule.roster.tokens import static_name
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
LINK = re.compile(r"(https|webcal)://calendar\.example\.org/feed/([A-Za-z0-9_-]{32})\.ics")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLES / "course-example.toml", tmp_path)
    shutil.copy(EXAMPLES / "site-nanjing.toml", tmp_path)
    return tmp_path


@pytest.fixture
def db(folder: Path) -> str:
    return str(folder / "roster.sqlite3")


@pytest.fixture
def roster(cli, db):
    """Run `picture-schedule roster SUB … --db DB`."""

    def run(sub: str, *args: str):
        return cli("roster", sub, "--db", db, *args)

    return run


def added(roster, folder: Path, *extra: str) -> str:
    result = roster("add", "--course", str(folder / "course-example.toml"), "--by", "nurse Li", *extra)
    assert result.exit_code == 0, result.output
    links = LINK.findall(result.output)
    assert [scheme for scheme, _ in links] == ["https", "webcal"]
    assert links[0][1] == links[1][1]
    return links[0][1]


def one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]


# -- add ------------------------------------------------------------------------------------------


def test_add_prints_working_https_and_webcal_links(roster, folder, db):
    token = added(roster, folder)
    with Roster(db) as store:
        feed = store.feed(token)
    assert feed is not None
    assert feed.body == render_feed(api.schedule(load_course(folder / "course-example.toml")))


def test_add_writes_the_qr_code_of_the_webcal_link(roster, folder):
    import segno

    token = added(roster, folder, "--qr", str(folder / "qr.svg"))
    link = f"webcal://calendar.example.org/feed/{token}.ics"
    svg = (folder / "qr.svg").read_bytes()
    ET.fromstring(svg)  # well-formed SVG
    expected = segno.make(link, error="m")
    assert expected.designator  # the same payload encodes to the same symbol
    from io import BytesIO

    buffer = BytesIO()
    expected.save(buffer, kind="svg", scale=4, border=4)
    assert svg == buffer.getvalue()


def test_qr_png_and_https_links(roster, folder):
    result = roster("add", "--course", str(folder / "course-example.toml"), "--qr", str(folder / "qr.png"),
                    "--qr-link", "https", "--base-url", "https://feeds.example.net/unit-3/")
    assert result.exit_code == 0, result.output
    assert (folder / "qr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.search(r"^  https://feeds\.example\.net/unit-3/feed/[A-Za-z0-9_-]{32}\.ics$", result.output, re.M)
    assert re.search(r"^  webcal://feeds\.example\.net/unit-3/feed/[A-Za-z0-9_-]{32}\.ics$", result.output, re.M)


def test_static_links_name_the_published_file_not_the_token(roster, folder, db):
    result = roster("add", "--course", str(folder / "course-example.toml"), "--static")
    assert result.exit_code == 0, result.output
    name = LINK.findall(result.output)[0][1]
    with Roster(db) as store:
        assert store.feed(name) is None  # not a server token
        assert [n for n, _ in store.published()] == [name]


def test_add_without_a_base_url_prints_the_path(roster, folder):
    course = folder / "course-example.toml"
    course.write_text(course.read_text().replace('site = "site-nanjing.toml"', 'site = "site-local.toml"'))
    site = (folder / "site-nanjing.toml").read_text().replace('base_url = "https://calendar.example.org"', "")
    (folder / "site-local.toml").write_text(site)
    result = roster("add", "--course", str(course))
    assert result.exit_code == 0, result.output
    assert re.search(r"^  /feed/[A-Za-z0-9_-]{32}\.ics$", result.output, re.M)
    assert "--base-url" in result.output


@pytest.mark.parametrize("extra, words", [
    (("--qr", "qr.gif"), ["--qr", ".svg or .png"]),
    (("--base-url", "ftp://x"), ["--base-url", "not an http(s) address"]),
    (("--diary", "diary.docx"), ["--diary", ".pdf or .html"]),
    (("--qr", "missing/qr.svg"), ["--qr", "does not exist"]),
])
def test_bad_link_options_write_nothing(roster, folder, db, extra, words):
    args = [str(folder / a) if a.endswith((".gif", ".docx", ".svg")) else a for a in extra]
    one_line_error(roster("add", "--course", str(folder / "course-example.toml"), *args), *words)
    with Roster(db) as store:
        assert store.patients() == []


def test_a_patient_is_added_once(roster, folder):
    added(roster, folder)
    one_line_error(roster("add", "--course", str(folder / "course-example.toml")), "already on the roster")


def test_an_invalid_course_is_not_added(roster, folder, db):
    bad = folder / "bad.toml"
    bad.write_text((folder / "course-example.toml").read_text().replace("cycles = 6", "cycles = 0"))
    result = roster("add", "--course", str(bad))
    assert result.exit_code == 2
    assert "cycles" in result.output and "0 is outside 1–99" in result.output


# -- list, show, change, export -------------------------------------------------------------------


def test_list_and_show(roster, folder):
    added(roster, folder)
    listing = roster("list").output
    assert re.search(r"^PIC-001\s+picture\s+2026-12-07\s+6\s+0\s", listing, re.M)
    shown = roster("show", "PIC-001").output
    assert "site file site-nanjing.toml" in shown
    assert "add by nurse Li" in shown
    assert "not shown again" in shown


def test_change_is_recorded_and_shown(roster, folder, db):
    token = added(roster, folder)
    result = roster("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "neutrophils 1.2",
                    "--by", "nurse Li")
    assert result.exit_code == 0, result.output
    assert "cycle 3 day 1 is now" in result.output
    result = roster("change", "PIC-001", "--cycle", "4", "--dose-level", "capecitabine=-1", "--dose-level", "oxaliplatin=-1",
                    "--hold-days", "8,9", "--prescribed", "oxaliplatin=200mg", "--reason", "toxicity", "--by", "Dr Wang")
    assert result.exit_code == 0, result.output
    result = roster("change", "PIC-001", "--cycle", "6", "--stop", "--omit", "interleukin-2", "--dose-level", "-1",
                    "--reason", "patient's wish", "--by", "Dr Wang")
    assert result.exit_code == 0, result.output
    shown = roster("show", "PIC-001").output
    assert "change by nurse Li: neutrophils 1.2" in shown
    assert "dose_level = { capecitabine = -1, oxaliplatin = -1 }" in shown
    changes = tomllib.loads(roster("export", "PIC-001").output)["changes"]
    assert changes[-2]["prescribed"] == {"oxaliplatin": {"amount": 200, "unit": "mg"}}
    assert changes[-2]["hold_days"] == [8, 9]
    assert changes[-1]["dose_level"] == -1 and changes[-1]["stop"] is True and changes[-1]["omit"] == ["interleukin-2"]
    with Roster(db) as store:
        assert store.info("PIC-001").changes == 3
        assert store.feed(token) is not None


@pytest.mark.parametrize("args, words", [
    (["--cycle", "9", "--delay-days", "1"], ["changes[3].cycle", "9 is outside 1–6"]),
    (["--cycle", "2", "--omit", "aspirin"], ["'aspirin' is not an agent"]),
    (["--cycle", "2"], ["say what happened"]),
    (["--cycle", "2", "--dose-level", "capecitabine=x"], ["--dose-level", "not a level"]),
    (["--cycle", "2", "--hold-days", "8,x"], ["--hold-days"]),
    (["--cycle", "2", "--prescribed", "oxaliplatin"], ["--prescribed"]),
    (["--cycle", "2", "--dose-level", "capecitabine=-5"], ["level -5"]),
])
def test_invalid_changes_are_refused_and_nothing_is_written(roster, folder, db, args, words):
    added(roster, folder)
    before = roster("export", "PIC-001").output
    one_line_error(roster("change", "PIC-001", *args, "--reason", "r", "--by", "n"), *words)
    assert roster("export", "PIC-001").output == before


def test_change_needs_by_and_reason(roster, folder):
    added(roster, folder)
    assert roster("change", "PIC-001", "--cycle", "2", "--delay-days", "1", "--reason", "r").exit_code == 2
    assert roster("change", "PIC-001", "--cycle", "2", "--delay-days", "1", "--by", "n").exit_code == 2


def test_export_round_trips_through_the_loader(roster, folder):
    added(roster, folder)
    assert roster("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "r", "--by", "n").exit_code == 0
    out = folder / "exported.toml"
    assert roster("export", "PIC-001", "-o", str(out)).exit_code == 0
    original = (folder / "course-example.toml").read_text()
    text = out.read_text()
    assert text.startswith(original.rstrip("\n"))  # the nurse's file, comments and all
    course = load_course(out)
    assert [c.reason for c in course.changes][-1] == "r"
    assert api.schedule(course).cycles[2].delay_days == 14  # the file's 7 days + the roster's 7


@pytest.mark.parametrize("args", [
    ["show", "PIC-404"], ["export", "PIC-404"], ["rotate", "PIC-404"], ["remove", "PIC-404"],
    ["change", "PIC-404", "--cycle", "2", "--delay-days", "1", "--reason", "r", "--by", "n"],
])
def test_unknown_patient_is_one_line_and_exit_2(roster, folder, args):
    added(roster, folder)
    one_line_error(roster(*args), "no patient 'PIC-404' on the roster")


def test_a_missing_roster_is_not_created_by_read_commands(cli, folder):
    db = folder / "none.sqlite3"
    one_line_error(cli("roster", "list", "--db", str(db)), "no such roster")
    assert not db.exists()


def test_db_from_the_environment(cli, folder, db, monkeypatch):
    monkeypatch.setenv("PICTURE_SCHEDULE_DB", db)
    assert cli("roster", "add", "--course", str(folder / "course-example.toml")).exit_code == 0
    assert Path(db).exists()
    assert "PIC-001" in cli("roster", "list").output


# -- rotate, remove, publish ----------------------------------------------------------------------


def test_rotate_and_remove(roster, folder, db):
    old = added(roster, folder)
    result = roster("rotate", "PIC-001", "--by", "nurse Li", "--qr", str(folder / "new.svg"))
    assert result.exit_code == 0, result.output
    new = LINK.findall(result.output)[0][1]
    assert new != old and (folder / "new.svg").exists()
    with Roster(db) as store:
        assert store.feed(old) is None and store.feed(new) is not None
    assert roster("remove", "PIC-001", "--by", "nurse Li", "--yes").exit_code == 0
    with Roster(db) as store:
        assert store.feed(new) is None
    assert "empty" in roster("list").output


def test_publish(cli, roster, folder, db):
    token = added(roster, folder)
    out = folder / "public"
    result = cli("publish", "--db", db, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 written, 0 unchanged, 0 deleted" in result.output
    files = list(out.iterdir())
    assert [f.name for f in files] == [f"{static_name(token)}.ics"]
    with Roster(db) as store:
        assert files[0].read_bytes() == store.feed(token).body
    roster("rotate", "PIC-001")
    assert "1 written, 0 unchanged, 1 deleted" in cli("publish", "--db", db, "--out", str(out)).output
    assert roster("remove", "PIC-001", "--yes").exit_code == 0
    assert "0 written, 0 unchanged, 1 deleted" in cli("publish", "--db", db, "--out", str(out)).output
    assert list(out.iterdir()) == []
    one_line_error(cli("publish", "--db", db, "--out", str(folder / "course-example.toml")), "--out", "is a file")


# -- the diary carries the new link --------------------------------------------------------------


def test_add_writes_the_diary_with_the_qr_code(roster, folder):
    from picture_schedule.render import diary

    token = added(roster, folder, "--diary", str(folder / "diary.html"))
    html = (folder / "diary.html").read_text(encoding="utf-8")
    assert "<svg" in html
    assert diary.qr_svg(f"webcal://calendar.example.org/feed/{token}.ics") in html


# -- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["roster"], ["roster", "add"], ["roster", "list"], ["roster", "show"], ["roster", "change"],
    ["roster", "export"], ["roster", "rotate"], ["roster", "remove"], ["serve"], ["publish"],
])
def test_every_command_has_help_with_an_example(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "picture-schedule" in result.output


def test_patient_course_options_load_the_roster_course(roster, folder, db):
    """What `diary --patient ID --db PATH` uses: the course as the roster has it."""
    import click
    from click.testing import CliRunner

    from picture_schedule.cli.options import course_options

    @click.command()
    @course_options(patient=True)
    def probe(course) -> None:
        click.echo(f"{course.patient} {len(course.changes)} {course.start}")

    added(roster, folder)
    roster("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "r", "--by", "n")
    runner = CliRunner()
    assert runner.invoke(probe, ["--patient", "PIC-001", "--db", db]).output == "PIC-001 3 2026-12-07\n"
    assert runner.invoke(probe, ["--course", str(folder / "course-example.toml")]).output == "PIC-001 2 2026-12-07\n"
    assert runner.invoke(probe, ["--start", "2026-12-07"]).output == " 0 2026-12-07\n"
    both = runner.invoke(probe, ["--patient", "PIC-001", "--db", db, "--start", "2026-12-07"])
    assert both.exit_code != 0 and "not both" in str(both.exception)
    unknown = runner.invoke(probe, ["--patient", "PIC-404", "--db", db])
    assert "no patient 'PIC-404'" in str(unknown.exception)


def test_a_diary_that_cannot_be_made_leaves_the_roster_as_it_was(roster, folder, db, monkeypatch):
    """The QR code and diary are made before the roster commits: a failure adds no patient and
    kills no link."""
    from picture_schedule.errors import OutputError
    from picture_schedule.roster import handout

    def broken(*args, **kwargs):
        raise OutputError("no font for Chinese", source="diary")

    old = added(roster, folder)
    monkeypatch.setattr(handout, "diary_bytes", broken)
    one_line_error(roster("rotate", "PIC-001", "--qr", str(folder / "qr.svg"), "--diary", str(folder / "d.pdf")),
                   "no font for Chinese")
    assert not (folder / "qr.svg").exists()
    with Roster(db) as store:
        assert store.feed(old) is not None
        store.remove("PIC-001")
    one_line_error(roster("add", "--course", str(folder / "course-example.toml"), "--diary", str(folder / "d.html")),
                   "no font")
    with Roster(db) as store:
        assert store.patients() == []


def test_roster_list_is_lean(folder, db, roster):
    from tests.test_startup import HEAVY, loaded_modules

    added(roster, folder)
    modules = loaded_modules("roster", "list", "--db", db)
    assert "picture_schedule" in modules
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_diary_from_the_roster(cli, roster, folder, db):
    """`diary --patient ID --db PATH`: the course as it stands; a QR code only with --feed-url."""
    from picture_schedule.render import diary

    added(roster, folder)
    roster("change", "PIC-001", "--cycle", "3", "--delay-days", "7", "--reason", "r", "--by", "n")
    out = folder / "diary.html"
    result = cli("diary", "--patient", "PIC-001", "--db", db, "-o", str(out))
    assert result.exit_code == 0, result.output
    from_roster = out.read_text(encoding="utf-8")
    with Roster(db) as store:
        course = store.course("PIC-001")
    assert from_roster == diary.diary_html(api.schedule(course), language="en")
    link = "webcal://calendar.example.org/feed/" + "A" * 32 + ".ics"
    assert cli("diary", "--patient", "PIC-001", "--db", db, "--feed-url", link, "-o", str(out)).exit_code == 0
    assert diary.qr_svg(link) in out.read_text(encoding="utf-8")
    one_line_error(cli("diary", "--patient", "PIC-404", "--db", db, "-o", str(out)), "no patient 'PIC-404'")
    one_line_error(cli("diary", "--patient", "PIC-001", "--db", db, "--start", "2026-12-07", "-o", str(out)),
                   "not both")
