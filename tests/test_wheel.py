"""The wheel carries its regimens and templates: install it into a fresh venv, run from elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True,
    )
    (path,) = out.glob("picture_schedule-*.whl")
    return path


def test_wheel_contains_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "picture_schedule/regimens/picture.toml" in names
    assert "picture_schedule/regimens/capox.toml" in names
    templates = [n for n in names if n.startswith("picture_schedule/templates/")]
    assert any(n.endswith(".html") for n in templates), templates
    assert any(n.endswith(".po") for n in templates), templates
    # the web page's templates, stylesheets and words ship too
    for name in ("web/base.html", "web/login.html", "web/static/web.css", "web/static/patient.css",
                 "locale/zh_CN/LC_MESSAGES/web.po"):
        assert f"picture_schedule/templates/{name}" in names, name


def test_installed_wheel_runs_outside_the_repo(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run(
        [str(env_dir / "bin" / "picture-schedule"), "schedule", "--start", "2026-12-07", "--format", "json"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    )
    data = json.loads(run.stdout)
    assert data["cycles"][5]["day1"] == "2027-03-22"
    # the package it ran is the installed one, not the source tree
    where = subprocess.run([str(py), "-c", "import picture_schedule, sys; print(picture_schedule.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where
    templates = subprocess.run(
        [str(py), "-c", "from picture_schedule.resources import templates_dir; d = templates_dir(); "
         "print(d, sorted(p.name for p in d.glob('*.html')))"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in templates and ".html" in templates
    # the web page runs from the installed wheel: its login page, its stylesheet, its Chinese
    page = subprocess.run(
        [str(py), "-c", "import sys; from picture_schedule.roster.store import Roster; "
         "from picture_schedule.web.app import create_app; app = create_app(Roster(sys.argv[1])); "
         "c = app.test_client(); print(c.get('/login?lang=zh-CN').status_code, c.get('/static/web.css').status_code, "
         "'用户名' in c.get('/login?lang=zh-CN').get_data(as_text=True))", str(tmp_path / "roster.sqlite3")],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert page.split() == ["200", "200", "True"]
