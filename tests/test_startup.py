"""Lean start-up: the common commands never import the heavy renderers' libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("icalendar", "jinja2", "weasyprint", "holidays", "babel", "segno", "waitress")

PROBE = """
import json, sys
from picture_schedule.cli.main import main
try:
    main(args=sys.argv[1:], prog_name="picture-schedule")
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""


def loaded_modules(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    line = [x for x in done.stderr.splitlines() if x.startswith("MODULES=")][-1]
    return set(json.loads(line[len("MODULES="):]))


def test_help_is_lean():
    modules = loaded_modules("--help")
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_schedule_is_lean():
    modules = loaded_modules("schedule", "--start", "2026-12-07", "--format", "json")
    assert "picture_schedule" in modules
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_probe_can_see_a_heavy_import():
    """The check above can fail: a course with a CN holiday calendar does import holidays."""
    modules = loaded_modules("schedule", "--course", "examples/course-example.toml")
    assert "holidays" in modules
