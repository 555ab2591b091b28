"""Inputs are bounded and templates are fenced: issue 12's rows 6, 10 (templates) and 13.

- Row 6: an input file over 1 MB, a field over its length (study number 32 characters, reason 500,
  --by 100), a control or bidirectional character in an identifier, and anything but a regular file
  as an input: one `Error:` line, exit 2, within a second, without reading the input.
- Row 10: --templates with a relative path works; a missing templates folder is an error, in
  `validate` too.
- Row 13: a group with no subcommand prints its help and exits 0.
- A site's templates run in Jinja's sandbox, and the PDF they make reads only their own folder.

FIFOs are made in the test's own ``tmp_path`` (opening one for reading would wait for ever: a test
that hangs here means an input was opened before it was checked).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from picture_schedule.loading.reader import INPUT_FILE_MAX, REASON_MAX, STUDY_NUMBER_MAX
from picture_schedule.roster.store import Roster
from tests.conftest import DATA, ROOT, need

EXAMPLES = ROOT / "examples"
CLI = [sys.executable, "-m", "picture_schedule"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("course-example.toml", "site-nanjing.toml", "cohort-23.csv"):
        shutil.copy(EXAMPLES / name, tmp_path)
    return tmp_path


def with_field(folder: Path, line_start: str, line: str, name: str = "course.toml") -> Path:
    """The example course with the line starting with ``line_start`` replaced by ``line``."""
    text = (folder / "course-example.toml").read_text(encoding="utf-8")
    lines = [line if old.startswith(line_start) else old for old in text.splitlines()]
    assert line in lines
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timed(cli, *args: str, **kwargs):
    started = time.monotonic()
    result = cli(*args, **kwargs)
    return result, time.monotonic() - started


def one_error(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- row 6: sizes ---------------------------------------------------------------------------------------


def oversized(path: Path, text: str) -> Path:
    """``text`` padded with a TOML/CSV comment to one byte over the limit."""
    body = text.encode("utf-8")
    path.write_bytes(b"#" + b"x" * (INPUT_FILE_MAX - len(body)) + b"\n" + body)
    assert path.stat().st_size == INPUT_FILE_MAX + 2
    return path


@pytest.mark.parametrize("which", ["course", "site", "regimen", "cohort"])
def test_an_input_file_over_1_mb_is_refused_at_once(cli, folder, which):
    course = folder / "course-example.toml"
    site = folder / "site-nanjing.toml"
    if which == "course":
        oversized(course, course.read_text(encoding="utf-8"))
        args = ("schedule", "--course", course)
    elif which == "site":
        oversized(site, site.read_text(encoding="utf-8"))
        args = ("schedule", "--course", course)
    elif which == "regimen":
        regimen = oversized(folder / "regimen.toml", (ROOT / "picture_schedule" / "regimens" / "capox.toml")
                            .read_text(encoding="utf-8"))
        args = ("schedule", "--start", "2026-12-07", "--regimen", regimen)
    else:
        cohort = folder / "cohort-23.csv"
        oversized(cohort, cohort.read_text(encoding="utf-8"))
        args = ("chairs", "plan", "--cohort", cohort, "--site", DATA / "chairs" / "site-three-chairs.toml")
    result, seconds = timed(cli, *args)
    one_error(result, "1,000,000 bytes")
    assert seconds < 1


def test_a_file_of_exactly_the_limit_is_read(cli, folder):
    course = folder / "course-example.toml"
    text = course.read_text(encoding="utf-8").encode("utf-8")
    course.write_bytes(b"#" + b"x" * (INPUT_FILE_MAX - len(text) - 2) + b"\n" + text)
    assert course.stat().st_size == INPUT_FILE_MAX
    assert cli("schedule", "--course", course).exit_code == 0


@pytest.mark.parametrize("field", ["patient", "reason"])
def test_a_field_over_its_length_in_a_course_file(cli, folder, field):
    if field == "patient":
        limit = STUDY_NUMBER_MAX
        course = with_field(folder, "patient =", f'patient = "{"P" * (limit + 1)}"')
    else:
        limit = REASON_MAX
        course = folder / "course.toml"
        course.write_text((folder / "course-example.toml").read_text(encoding="utf-8")
                          + f'\n[[changes]]\ncycle = 2\ndelay_days = 1\nreason = "{"x" * (limit + 1)}"\n',
                          encoding="utf-8")
    result, seconds = timed(cli, "schedule", "--course", course)
    one_error(result, field, f"{limit + 1:,} characters long; at most {limit}")
    assert seconds < 1


def test_the_longest_study_number_and_reason_are_accepted(cli, folder):
    course = with_field(folder, "patient =", f'patient = "{"P" * STUDY_NUMBER_MAX}"')
    course.write_text(course.read_text(encoding="utf-8")
                      + f'\n[[changes]]\ncycle = 2\ndelay_days = 1\nreason = "{"x" * REASON_MAX}"\n', encoding="utf-8")
    assert cli("schedule", "--course", course).exit_code == 0


@pytest.mark.parametrize("option, value, words", [
    ("--reason", "x" * 10_000_000, ["--reason", "10,000,000 characters long; at most 500"]),
    ("--reason", "neutrophils\x1b[2J low", ["--reason", "U+001B"]),
    ("--by", "nurse Li" * 50, ["--by", "at most 100"]),
    ("--by", "nurse\u202eiL", ["--by", "U+202E"]),
])
def test_roster_change_refuses_long_or_hostile_text_at_once(cli, folder, option, value, words):
    db = folder / "roster.sqlite3"
    assert cli("roster", "add", "--db", db, "--course", folder / "course-example.toml").exit_code == 0
    values = {"--reason": "neutrophils 1.1", "--by": "nurse Li", option: value}
    result, seconds = timed(cli, "roster", "change", "PIC-001", "--db", db, "--cycle", "3", "--delay-days", "7",
                            "--reason", values["--reason"], "--by", values["--by"])
    one_error(result, *words)
    assert seconds < 1
    with Roster(db) as store:  # nothing was recorded
        assert store.info("PIC-001").changes == 0


# -- row 6: control and bidirectional characters in identifiers ------------------------------------------

HOSTILE = {
    "ESC": "PIC\x1b[31m01",
    "newline": "PIC\n001",
    "C1 (NEL)": "PIC\x85001",
    "RLO U+202E": "PIC\u202e100",
    "LRE U+202A": "PIC\u202a001",
    "FSI U+2068": "PIC\u2068001",
    "RLM U+200F": "PIC-001\u200f",
    "NUL": "PIC\x00001",
}


def toml_string(value: str) -> str:
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in value) + '"'


@pytest.mark.parametrize("name", HOSTILE)
def test_a_study_number_with_a_control_or_bidi_character_is_refused(cli, folder, name):
    course = with_field(folder, "patient =", f"patient = {toml_string(HOSTILE[name])}")
    line = one_error(cli("validate", course), "patient", "control or bidirectional character")
    assert "\x1b" not in line and "\u202e" not in line


@pytest.mark.parametrize("name", ["ESC", "RLO U+202E", "C1 (NEL)"])
def test_a_cohort_patient_with_a_control_or_bidi_character_is_refused(cli, folder, name):
    cohort = folder / "cohort.csv"
    cohort.write_text(f"patient,start\n{HOSTILE[name]},2026-12-07\nPIC-002,2026-12-08\n", encoding="utf-8")
    result = cli("chairs", "plan", "--cohort", cohort, "--site", DATA / "chairs" / "site-three-chairs.toml")
    one_error(result, "row 2, column patient", "control or bidirectional character")


@pytest.mark.parametrize("agent_id", ["capecitabine\n", "cape\u202ecitabine", "c" * 65])
def test_an_agent_id_with_a_control_character_or_too_long_is_refused(cli, folder, agent_id):
    text = (ROOT / "picture_schedule" / "regimens" / "capox.toml").read_text(encoding="utf-8")
    assert 'id = "capecitabine"' in text
    regimen = folder / "regimen.toml"
    regimen.write_text(text.replace('id = "capecitabine"', f"id = {toml_string(agent_id)}", 1), encoding="utf-8")
    one_error(cli("validate", regimen), "id", "lower-case letters, digits and hyphens (at most 64)")


# -- row 6: only regular files are inputs -------------------------------------------------------------


def test_a_fifo_as_the_site_file_is_refused_without_being_opened(folder):
    """`site = "/dev/zero"` read 4.6 GB; the same check refuses a FIFO (which an open would wait on)."""
    os.mkfifo(folder / "site.fifo")
    course = with_field(folder, "site =", 'site = "site.fifo"')
    started = time.monotonic()
    done = subprocess.run([*CLI, "schedule", "--course", str(course)], capture_output=True, text=True, timeout=60, check=False,
                          cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"Error: {course}: site (site.fifo): is not a regular file (a device, FIFO or socket); give a file"]
    assert time.monotonic() - started < 10  # a child process's start-up included


@pytest.mark.parametrize("option", ["--course", "--regimen", "--cohort"])
def test_a_fifo_given_on_the_command_line_is_refused_without_being_opened(folder, option):
    fifo = folder / "input.fifo"
    os.mkfifo(fifo)
    args = {"--course": ["schedule", "--course", str(fifo)],
            "--regimen": ["schedule", "--start", "2026-12-07", "--regimen", str(fifo)],
            "--cohort": ["chairs", "plan", "--cohort", str(fifo), "--site", str(DATA / "chairs" / "site-three-chairs.toml")]}
    done = subprocess.run([*CLI, *args[option]], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "is not a regular file" in done.stderr


def test_a_device_node_as_the_site_file_is_refused(folder):
    need(os.geteuid() == 0, "making a device node needs root")
    os.mknod(folder / "zero", 0o600 | 0o020000, os.makedev(1, 5))  # the zero device, inside the test folder
    course = with_field(folder, "site =", 'site = "zero"')
    done = subprocess.run([*CLI, "schedule", "--course", str(course)], capture_output=True, text=True, timeout=60, check=False,
                          cwd=ROOT)
    assert done.returncode == 2
    assert "site (zero): is not a regular file" in done.stderr


# -- row 10: templates folders ------------------------------------------------------------------------


def test_a_relative_templates_folder_is_the_current_folders(cli, folder, monkeypatch):
    shutil.copytree(DATA / "diary" / "templates-cli", folder / "mine")
    monkeypatch.chdir(folder)
    for output in ("diary.html", "diary.pdf"):
        result = cli("diary", "--course", "course-example.toml", "--templates", "mine", "-o", output)
        assert result.exit_code == 0, result.output
    assert 'data-override="cli-contacts"' in (folder / "diary.html").read_text(encoding="utf-8")
    assert (folder / "diary.pdf").read_bytes().startswith(b"%PDF-")  # its base URL is made absolute


def test_a_missing_templates_folder_is_an_error(cli, folder):
    one_error(cli("diary", "--course", folder / "course-example.toml", "--templates", folder / "nowhere",
                  "-o", folder / "d.html"), "--templates", "nowhere")
    assert not (folder / "d.html").exists()


def test_validate_refuses_a_site_whose_templates_folder_is_missing(cli, folder):
    site = folder / "site-nanjing.toml"
    site.write_text(site.read_text(encoding="utf-8").replace('name = ', 'templates = "diary-templates"\nname = ', 1),
                    encoding="utf-8")
    result = cli("validate", site)
    one_error(result, "templates", "folder 'diary-templates' does not exist")
    (folder / "diary-templates").mkdir()
    assert cli("validate", site).exit_code == 0


# -- row 13: bare groups -------------------------------------------------------------------------------


@pytest.mark.parametrize("group", [(), ("roster",), ("chairs",)])
def test_a_group_without_a_subcommand_prints_its_help(cli, group):
    bare = cli(*group)
    assert bare.exit_code == 0
    assert bare.output == cli(*group, "--help").output
    assert bare.output.startswith("Usage: ") and "Commands:" in bare.output


# -- template folders are code: the sandbox ----------------------------------------------------------


def test_site_templates_reach_data_not_python(cli, folder):
    templates = folder / "templates"
    templates.mkdir()
    (templates / "diary-logo.html").write_text(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    result = cli("diary", "--course", folder / "course-example.toml", "--templates", templates,
                 "-o", folder / "d.html")
    one_error(result, "template error", "unsafe")
    assert not (folder / "d.html").exists()


def test_a_template_cannot_attach_other_files_to_the_pdf(cli, folder):
    pytest.importorskip("PIL")
    from PIL import Image

    templates = folder / "templates"
    templates.mkdir()
    Image.new("RGB", (40, 40), (200, 0, 0)).save(templates / "logo.png")
    secret = folder / "secret.txt"
    secret.write_text("not for the patient", encoding="utf-8")
    (templates / "diary-logo.html").write_text(
        f'<img src="logo.png" alt="logo"><a rel="attachment" href="{secret.as_uri()}">notes</a>', encoding="utf-8")
    result = cli("diary", "--course", folder / "course-example.toml", "--templates", templates,
                 "-o", folder / "d.pdf")
    assert result.exit_code == 0, result.output
    pdf = (folder / "d.pdf").read_bytes()
    assert b"/EmbeddedFile" not in pdf  # WeasyPrint's own fetcher would attach the file
    assert b"/Subtype /Image" in pdf  # the logo beside the templates still prints
