"""End-to-end through click's CliRunner: the schedule and validate commands and every error case."""

from __future__ import annotations

import csv
import io
import json

import pytest

from picture_schedule import __version__


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def _all_commands() -> list[list[str]]:
    import click

    from picture_schedule.cli.main import main

    found: list[list[str]] = [[]]

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name, command in group.commands.items():
            found.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(main, [])
    return found


@pytest.mark.parametrize("command", _all_commands(), ids=lambda c: " ".join(c) or "main")
def test_every_command_has_help_with_an_example(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "picture-schedule" in result.output


def test_schedule_json_done_when(cli):
    """The issue's 'done when': counts and cycle 6 day 1 on 2027-03-22."""
    result = cli("schedule", "--start", "2026-12-07", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["start"] == "2026-12-07"
    assert data["regimen"]["id"] == "picture"
    assert [c["day1"] for c in data["cycles"]][-1] == "2027-03-22"
    kinds = {}
    for e in data["events"]:
        kinds[e["agent"]] = kinds.get(e["agent"], 0) + 1
    assert kinds == {"capecitabine": 168, "interleukin-2": 42, "oxaliplatin": 6, "tislelizumab": 6}
    first = data["events"][0]
    assert set(first) >= {"id", "date", "time", "kind", "agent", "cycle", "day", "slot", "dose"}
    assert [(e["date"], e["time"] or "") for e in data["events"]] == sorted(
        (e["date"], e["time"] or "") for e in data["events"])


def test_schedule_csv_one_row_per_event(cli):
    result = cli("schedule", "--start", "2026-12-07", "--format", "csv", "--cycles", "2")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 2 * (28 + 7 + 2)
    assert rows[0]["date"] == "2026-12-07"
    assert {"id", "date", "time", "kind", "agent", "cycle", "day", "slot", "dose"} <= set(rows[0])


def test_schedule_table_is_readable(cli):
    result = cli("schedule", "--start", "2026-12-07")
    assert result.exit_code == 0
    assert "Cycle 6  Mon 2027-03-22 → Sun 2027-04-11" in result.output
    assert "confirm with your care team" in result.output


def test_schedule_to_file(cli, tmp_path):
    out = tmp_path / "s.json"
    result = cli("schedule", "--start", "2026-12-07", "--format", "json", "-o", out)
    assert result.exit_code == 0
    assert result.output == ""
    assert json.loads(out.read_text())["cycles"][0]["day1"] == "2026-12-07"
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temp file left behind


def test_capox_regimen_by_name_and_path(cli, tmp_path):
    from picture_schedule.resources import templates_dir  # noqa: F401  (import works)

    result = cli("schedule", "--start", "2026-12-07", "--regimen", "capox", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["regimen"]["id"] == "capox"


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--start", "2026-02-30"], ["2026-02-30", "not a real date"]),
        (["--start", "07/12/2026"], ["YYYY-MM-DD"]),
        (["--start", "9999-12-25"], ["outside the supported dates"]),
        (["--start", "2026-12-07", "--regimen", "/"], ["is a folder"]),
        (["--start", "2026-12-07", "--cycles", "0"], ["--cycles", "1–99"]),
        (["--start", "2026-12-07", "--cycles", "100"], ["--cycles", "1–99"]),
        (["--start", "2026-12-07", "--regimen", "folfox"], ["unknown regimen", "picture"]),
        (["--start", "2026-12-07", "--format", "xml"], ["xml"]),
        ([], ["--start", "--course"]),
        (["--start", "2026-12-07", "--course", "x.toml"], ["exactly one"]),
    ],
)
def test_schedule_errors_are_one_line(cli, args, words):
    line = one_error_line(cli("schedule", *args))
    for word in words:
        assert word in line


def test_unwritable_output_leaves_nothing(cli, tmp_path):
    line = one_error_line(cli("schedule", "--start", "2026-12-07", "-o", tmp_path / "missing" / "s.json"))
    assert "does not exist" in line
    assert list(tmp_path.iterdir()) == []


def test_failed_run_keeps_the_old_file(cli, tmp_path):
    out = tmp_path / "s.json"
    out.write_text("old")
    one_error_line(cli("schedule", "--start", "2026-02-30", "-o", out))
    assert out.read_text() == "old"


def test_readonly_folder(cli, tmp_path):
    import os

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root ignores permissions: use a path under a file instead
            target = tmp_path / "file"
            target.write_text("x")
            line = one_error_line(cli("schedule", "--start", "2026-12-07", "-o", target / "s.json"))
        else:
            line = one_error_line(cli("schedule", "--start", "2026-12-07", "-o", folder / "s.json"))
        assert "s.json" in line
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize(
    "text, words",
    [
        ("id = 'x'\nversion 2\n", ["bad.toml", "not valid TOML", "line 2"]),
        ("", ["bad.toml", "id", "is required"]),
    ],
)
def test_malformed_regimen_file(cli, tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = cli("schedule", "--start", "2026-12-07", "--regimen", path)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr


def test_invalid_regimen_day_outside_cycle(cli, tmp_path):
    from pathlib import Path

    import picture_schedule

    text = (Path(picture_schedule.__file__).parent / "regimens" / "picture.toml").read_text()
    text = text.replace("days = { from = 1, to = 14 }", "days = { from = 1, to = 22 }")
    path = tmp_path / "picture.toml"
    path.write_text(text)
    line = one_error_line(cli("schedule", "--start", "2026-12-07", "--regimen", path))
    assert line.endswith("picture.toml: agents[3].days: day 15 is outside a 21-day cycle") or (
        "agents[3].days: day" in line and "outside a 21-day cycle" in line)


def test_validate_good_and_bad(cli, tmp_path):
    from picture_schedule.loading import builtin_regimens

    assert "picture" in builtin_regimens()
    bad = tmp_path / "course.toml"
    bad.write_text('patient = ""\nstart = "2026-02-30"\n')
    result = cli("validate", bad)
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert len(errors) >= 2 and all(line.startswith("Error: ") for line in errors)


@pytest.mark.parametrize("days, text", [
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], "1–14"),
    ([1, 3, 5, 7, 9, 11, 13], "1, 3 … 13"),
    ([1, 2, 3, 8], "1–3, 8"),
    ([1, 8], "1, 8"),
    ([8, 9, 10], "8–10"),
])
def test_day_lists_read_like_a_protocol(days, text):
    from picture_schedule.render.text import day_list

    assert day_list(days) == text


def test_table_shows_course_changes_in_words(cli):
    result = cli("schedule", "--course", "examples/course-example.toml")
    assert result.exit_code == 0
    out = result.output
    assert "planned day 1 Mon 2027-01-18, moved +7 days: neutrophils" in out
    assert "follows cycle 3" in out
    assert "Capecitabine 1250 mg = 1 × 500 mg + 5 × 150 mg: 28 doses at 08:00 and 20:00" in out
    assert "Blood test before the cycle (window 25 Dec – 27 Dec); moved from 2026-12-27: weekend" in out
    assert "holiday dates for 2027 are estimates" in out
