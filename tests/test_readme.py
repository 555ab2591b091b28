"""The README is true: every command is documented, and its `$ picture-schedule …` examples run."""

from __future__ import annotations

import re
import shlex
import shutil

import click
import pytest

from picture_schedule.cli.main import main

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: str = "picture-schedule") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
    return paths


@pytest.mark.parametrize("path", command_paths(main))
def test_every_command_is_in_the_readme(path):
    assert path in README, f"README.md does not mention `{path}`"


def examples() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", README, flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ picture-schedule ")]


def roster_example(example: str) -> bool:
    """Needs the roster the walkthrough builds (and the export it writes)."""
    return example.split()[1] in ("roster", "publish") or "--patient" in example or "PIC-001-now" in example


EXAMPLES = examples()
# `serve` runs until stopped: tests/test_server.py starts it for real on 127.0.0.1 instead.
PLAIN = [e for e in EXAMPLES if not roster_example(e) and e.split()[1] != "serve"]
ROSTER = [e for e in EXAMPLES if roster_example(e)]


def run(example: str, runner, env: dict[str, str] | None = None):
    return runner.invoke(main, shlex.split(example, comments=True)[1:], env=env)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_examples():
    assert len(PLAIN) >= 15 and len(ROSTER) >= 5


@pytest.mark.parametrize("example", PLAIN)
def test_readme_example_runs(example, workdir, runner):
    result = run(example, runner)
    if "2026-02-30" in example:  # the documented error
        assert result.exit_code == 2
    else:
        assert result.exit_code == 0, (example, result.output)


def test_readme_roster_walkthrough_runs_in_order(workdir, runner):
    """The nurse's session: add, changes, list, show, export, rotate, publish, in README order."""
    env = {"PICTURE_SCHEDULE_DB": str(workdir / "roster.sqlite3")}
    for example in ROSTER:
        result = run(example, runner, env)
        assert result.exit_code == 0, (example, result.output)
    assert (workdir / "PIC-001-qr.svg").exists() and (workdir / "PIC-001-diary.pdf").exists()
