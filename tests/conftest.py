"""Shared fixtures: the CLI runner, paths to scenario files, and real-parts availability."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: bool, reason: str) -> None:
    """Skip with a visible reason when a real part is missing — but never in CI, where it must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def need_program(name: str, package: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed (Debian package {package}; `make test` installs it as root)")
    assert path is not None
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def cli(runner):
    """Run the CLI in-process; returns click's Result."""
    from picture_schedule.cli.main import main

    def run(*args: str, **kwargs):
        return runner.invoke(main, [str(a) for a in args], **kwargs)

    return run
