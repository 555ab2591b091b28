"""Lean start-up: the common commands never import the heavy renderers' libraries, and
`picture-schedule --help` imports nothing but click, the standard library and the CLI modules."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys

import pytest

HEAVY = ("icalendar", "jinja2", "weasyprint", "holidays", "babel", "segno", "waitress")

PROBE = """
import json, sys
from picture_schedule.cli.main import main
try:
    main(args=sys.argv[1:], prog_name="picture-schedule")
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_module_names(*args: str) -> set[str]:
    """Every module (dotted names) a fresh interpreter has loaded after ``picture-schedule ARGS``."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    line = [x for x in done.stderr.splitlines() if x.startswith("MODULES=")][-1]
    return set(json.loads(line[len("MODULES="):]))


def loaded_modules(*args: str) -> set[str]:
    """The top-level packages loaded after ``picture-schedule ARGS``."""
    return {name.split(".")[0] for name in loaded_module_names(*args)}


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


# -- `--help`: click and the CLI modules only ----------------------------------------------------

#: The library modules `--help` may load: the package (its __init__ is lazy), the CLI, and the shared
#: base modules the CLI's edge uses on every run (they import only the standard library).
HELP_MAY_LOAD = re.compile(r"picture_schedule(\.cli(\..+)?|\.errors|\.output)?")
LIBRARY_LAYERS = ("core", "loading", "render", "planning", "roster", "web", "api")


def interpreter_baseline() -> set[str]:
    """What a bare interpreter of this environment loads (site hooks such as the editable finder)."""
    done = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def click_and_its_deps() -> set[str]:
    names = {"click"}
    for requirement in importlib.metadata.requires("click") or []:
        if "extra ==" not in requirement:
            names.add(re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0].lower().replace("-", "_"))
    return names


def outsiders(modules: set[str]) -> list[str]:
    """The loaded modules that are not stdlib, click (and its dependencies), or allowed library modules."""
    allowed_top = set(sys.stdlib_module_names) | click_and_its_deps()
    baseline = interpreter_baseline()
    return sorted(
        name for name in modules
        if name not in baseline and name.split(".")[0] not in allowed_top and not HELP_MAY_LOAD.fullmatch(name)
    )


def test_help_loads_only_click_stdlib_and_the_cli():
    modules = loaded_module_names("--help")
    assert "click" in modules and "picture_schedule.cli.main" in modules  # the probe saw the CLI run
    assert outsiders(modules) == []
    library = sorted(m for m in modules if m.startswith("picture_schedule.") and m.split(".")[1] in LIBRARY_LAYERS)
    assert library == [], library


def test_help_check_can_fail():
    """The check above sees a library module or a third-party one when one is loaded."""
    from tests.conftest import ROOT

    modules = loaded_module_names("validate", str(ROOT / "picture_schedule" / "regimens" / "picture.toml"))
    found = outsiders(modules)
    assert "picture_schedule.core.model" in found and "picture_schedule.loading.reader" in found


def test_help_imports_no_command_module_and_a_command_imports_only_its_own():
    registered = {module for module, _help in _registry().values()}
    assert not loaded_module_names("--help") & registered
    roster_help = loaded_module_names("roster", "--help") & registered
    assert roster_help == {"picture_schedule.cli.roster"}


def _registry() -> dict[str, tuple[str, str]]:
    from picture_schedule.cli.commands import COMMANDS

    return dict(COMMANDS)


@pytest.mark.parametrize("name", sorted(_registry()))
def test_registered_short_help_is_the_commands_own(name):
    """`--help` lists a command from the registry without importing it: the registered text must be
    the first paragraph of the command's own help, or the listing would drift from the command."""
    import importlib

    module, short = _registry()[name]
    command = importlib.import_module(module).command
    assert command.name == name
    first_paragraph = " ".join(command.help.split("\n\n")[0].split())
    assert short == first_paragraph


def test_help_lists_every_command_as_click_would():
    """The lazy listing is the one click prints once every command is loaded."""

    def help_text(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    run = "main(['--help'], prog_name='picture-schedule')"
    lazy = help_text(f"from picture_schedule.cli.main import main; {run}")
    loaded = help_text(f"from picture_schedule.cli.main import main; main.commands; {run}")  # loads every command
    assert lazy == loaded
    listed = re.findall(r"^  (\w+) ", lazy.split("Commands:")[1], flags=re.MULTILINE)
    assert listed == sorted([*_registry(), "schedule", "validate"])


def test_the_cli_offers_the_models_languages():
    """cli/options.py writes the languages out (importing the model would slow `--help`)."""
    from picture_schedule.cli.options import LANGUAGES
    from picture_schedule.core.model import LANGUAGES as MODEL_LANGUAGES

    assert LANGUAGES == MODEL_LANGUAGES


def test_the_staff_command_offers_the_rosters_roles_and_the_web_page_the_models_languages():
    """cli/staff.py writes the roles out (importing the roster would slow `--help`)."""
    from picture_schedule.cli.staff import ROLES
    from picture_schedule.core.model import LANGUAGES as MODEL_LANGUAGES
    from picture_schedule.roster.staff import ROLES as ROSTER_ROLES
    from picture_schedule.web.common import LANGUAGES as WEB_LANGUAGES

    assert ROLES == ROSTER_ROLES
    assert tuple(WEB_LANGUAGES) == MODEL_LANGUAGES
