"""The README is true: every command is documented, and its `$ picture-schedule …` examples run."""

from __future__ import annotations

import re
import shlex
import shutil

import click
import pytest

from picture_schedule.cli import main

from .conftest import ROOT

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


EXAMPLES = examples()


def test_readme_has_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES)
def test_readme_example_runs(example, tmp_path, runner, monkeypatch):
    if any(word in example for word in (" serve", "roster ", "publish ")):
        pytest.skip("needs a roster database or a running server: covered by tests/test_roster_cli.py and test_server.py")
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(example)[1:]
    result = runner.invoke(main, argv)
    expect_error = "2026-02-30" in example
    if expect_error:
        assert result.exit_code == 2
    else:
        assert result.exit_code == 0, (example, result.output)
