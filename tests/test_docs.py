"""The documentation is true.

- Every command is documented (the generated CLI reference counts).
- Every `$ picture-schedule …` line in a ```console block of README.md or docs/**/*.md runs, and
  prints what the lines after it in the block say, with the exit status that implies. The rules,
  stated for writers in docs/development.md:
  * each page is one session: its examples run in page order in one fresh folder that holds a copy
    of examples/, so a walkthrough (roster add, change, export …) builds on its earlier steps;
  * `$ export NAME=VALUE` sets an environment variable for the page's later commands; the roster
    defaults to `roster.sqlite3` in that folder;
  * the printed output (standard output and standard error, as a terminal shows them) must match
    the expected lines exactly, except that `…` in a line stands for any text within that line and
    a line holding only `…` stands for any number of lines (for long outputs and for values that
    change from run to run, such as feed tokens and clock times); a command with no lines after it
    must print nothing;
  * a command whose expected output has an `Error:` line must exit with status 2, any other with 0;
  * console blocks hold only such commands: commands the tests do not run go in ```sh blocks.
- The generated pages (CLI reference, site-file reference) are current, and the site builds with
  `mkdocs build --strict`.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from picture_schedule.cli.main import main

from tests.conftest import ROOT, need

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ELLIPSIS = "…"
CONSOLE = re.compile(r"^```console[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass
class Example:
    page: str
    line: int
    command: str
    expected: list[str] = field(default_factory=list)

    def words(self) -> list[str]:
        return shlex.split(self.command, comments=True)

    @property
    def program(self) -> str:
        words = self.words()
        return words[0] if words else ""


def page_name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def examples_of(path: Path) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    found: list[Example] = []
    for block in CONSOLE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        current: Example | None = None
        for offset, line in enumerate(block.group(1).splitlines()):
            if line.startswith("$ "):
                current = Example(page_name(path), first_line + offset, line[2:].strip())
                found.append(current)
            elif current is None:
                found.append(Example(page_name(path), first_line + offset, "", [line]))  # output before any command
            else:
                current.expected.append(line)
    for example in found:
        while example.expected and not example.expected[-1].strip():
            example.expected.pop()
    return found


EXAMPLES = {page_name(p): examples_of(p) for p in PAGES}
ALL = [e for page in EXAMPLES.values() for e in page]


def command_paths(group: click.Group, prefix: str = "picture-schedule") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
    return paths


DOCS_TEXT = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)


@pytest.mark.parametrize("path", command_paths(main))
def test_every_command_is_documented(path):
    assert path in DOCS_TEXT, f"neither README.md nor docs/ mention `{path}`"


def test_console_blocks_hold_only_commands_the_tests_run():
    odd = [f"{e.page}:{e.line}: $ {e.command}" for e in ALL
           if e.program not in ("picture-schedule", "export")
           or (e.program == "export" and (len(e.words()) != 2 or "=" not in e.words()[1] or e.expected))]
    assert not odd, "console blocks are run by tests/test_docs.py; put these in ```sh blocks:\n" + "\n".join(odd)


def test_the_docs_have_examples_for_every_user():
    assert len([e for e in EXAMPLES["README.md"] if e.program == "picture-schedule"]) >= 3
    for page in ("docs/quickstart.md", "docs/guides/nurse.md", "docs/guides/coordinator.md", "docs/calendars.md",
                 "docs/diary.md"):
        assert any(e.program == "picture-schedule" for e in EXAMPLES[page]), f"{page} has no console example"
    assert len(ALL) >= 40


# -- the output matcher: checked here on its own, so a docs failure is never the matcher's fault ---------

def expected_pattern(expected: list[str]) -> re.Pattern[str]:
    parts = []
    for line in expected:
        if line.strip() == ELLIPSIS:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.rstrip().split(ELLIPSIS)) + r"\n")
    return re.compile("".join(parts))


def normalised(output: str) -> str:
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def output_matches(expected: list[str], output: str) -> bool:
    return expected_pattern(expected).fullmatch(normalised(output)) is not None


@pytest.mark.parametrize("expected, output, matches", [
    ([], "", True),
    ([], "something\n", False),
    (["a", "b"], "a\nb\n", True),
    (["a", "b"], "a\nb\nc\n", False),
    (["a", "b"], "a\nc\n", False),
    (["a  ", "b"], "a\nb   \n\n", True),
    (["link: https://x/feed/….ics"], "link: https://x/feed/Ab-9_z.ics\n", True),
    (["link: https://x/feed/….ics"], "link: https://x/feed/Ab.ics\nmore\n", False),
    (["link: https://x/feed/….ics"], "link: https://y/feed/Ab.ics\n", False),
    (["first", "…", "last"], "first\nlast\n", True),
    (["first", "…", "last"], "first\n1\n2\n3\nlast\n", True),
    (["first", "…", "last"], "first\n1\n2\n3\n", False),
    (["…"], "anything\nat all\n", True),
    (["a (b) [c] *d*"], "a (b) [c] *d*\n", True),
])
def test_output_matcher(expected, output, matches):
    assert output_matches(expected, output) is matches


# -- running the examples ------------------------------------------------------------------------------

def expected_status(example: Example) -> int:
    return 2 if any(line.startswith("Error:") for line in example.expected) else 0


def run_page(page: str, folder: Path) -> list[str]:
    """Run a page's examples in order in `folder`; return a description of every mismatch."""
    from click.testing import CliRunner

    runner = CliRunner()
    env: dict[str, str | None] = {"PICTURE_SCHEDULE_DB": str(folder / "roster.sqlite3")}
    failures = []
    for example in EXAMPLES[page]:
        words = example.words()
        if example.program == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        if example.program != "picture-schedule":
            continue  # reported by test_console_blocks_hold_only_commands_the_tests_run
        result = runner.invoke(main, words[1:], env=env, prog_name="picture-schedule")
        problems = []
        if result.exit_code != expected_status(example):
            problems.append(f"exit status {result.exit_code}, expected {expected_status(example)}")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            problems.append("".join(traceback.format_exception(*result.exc_info)) if result.exc_info else "")
        if not output_matches(example.expected, result.output):
            diff = difflib.unified_diff(example.expected, normalised(result.output).splitlines(),
                                        "documented", "printed", lineterm="")
            problems.append("output differs:\n" + "\n".join(diff))
        if problems:
            failures.append(f"{example.page}:{example.line}: $ {example.command}\n  " + "\n  ".join(problems))
    return failures


def page_param(page: str):
    renders_pdf = any(".pdf" in e.command for e in EXAMPLES[page])
    return pytest.param(page, marks=[pytest.mark.slow] if renders_pdf else [], id=page)


RUNNABLE = [page for page, found in EXAMPLES.items() if any(e.program == "picture-schedule" for e in found)]


@pytest.mark.parametrize("page", [page_param(p) for p in RUNNABLE])
def test_examples_print_what_the_page_says(page, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    failures = run_page(page, tmp_path)
    assert not failures, f"{len(failures)} example(s) of {page} do not do what the page says:\n\n" + "\n\n".join(failures)


# -- illustrations whose inputs are not in examples/ ------------------------------------------------------

def blocks_after(page: str, marker: str, count: int) -> list[str]:
    """The contents of the first `count` fenced blocks after `marker` on a page."""
    text = (ROOT / page).read_text(encoding="utf-8")
    assert marker in text, f"{page} no longer says {marker!r}"
    found = re.findall(r"^```[a-z]*\n(.*?)^```$", text[text.index(marker):], flags=re.S | re.M)
    assert len(found) >= count, (page, marker)
    return found[:count]


def test_nurse_guide_broken_course_prints_what_the_guide_says(tmp_path, monkeypatch):
    course, expected = blocks_after("docs/guides/nurse.md", "`PIC-002.toml`:", 2)
    (tmp_path / "PIC-002.toml").write_text(course, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["validate", "PIC-002.toml"], prog_name="picture-schedule")
    assert result.exit_code == 2
    assert normalised(result.output) == expected


@pytest.mark.parametrize("marker, cohort, site, extra", [
    ("(two of them for their cycle 2) gives:", "collide.csv", "site-three-chairs.toml", ["--format", "csv"]),
    ("writes nothing. For example:", "bad.csv", "site-three-chairs.toml", []),
])
def test_coordinator_guide_illustrations_are_real_output(marker, cohort, site, extra, tmp_path, monkeypatch):
    """The guide shows these from the test scenarios (tests/data/chairs/): its lines are the command's."""
    (expected,) = blocks_after("docs/guides/coordinator.md", marker, 1)
    monkeypatch.chdir(ROOT / "tests" / "data" / "chairs")
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["chairs", "plan", "--cohort", cohort, "--site", site, *extra,
                                       "-o", str(tmp_path / "out")], prog_name="picture-schedule")
    printed = normalised(result.output).splitlines()
    missing = [line for line in expected.splitlines() if line not in printed]
    assert not missing, f"printed:\n{result.output}"


# -- README and generated pages ------------------------------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_is_short_and_starts_with_the_two_set_up_commands():
    assert len(README.splitlines()) <= 200
    first_commands = re.search(r"```sh\n(.*?)```", README, flags=re.S)
    assert first_commands is not None
    assert [line.split("#")[0].strip() for line in first_commands.group(1).strip().splitlines()] == [
        "make demo", "make test"]


def test_readme_links_point_at_files_that_exist():
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert local, "the README links into docs/"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, missing


def test_no_page_refers_to_the_developers_notes():
    for path in [*PAGES, ROOT / "mkdocs.yml"]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "CLINICAL.md" not in text and "STYLE.md" not in text, path


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN_DOCS = _gen_docs()


@pytest.mark.parametrize("name", sorted(GEN_DOCS.PAGES))
def test_generated_page_is_current(name):
    generated = GEN_DOCS.PAGES[name]()
    path = ROOT / name
    assert path.exists() and path.read_text(encoding="utf-8") == generated, f"{name} is stale: run `make docs`"


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    need(importlib.util.find_spec("mkdocs") is not None and importlib.util.find_spec("material") is not None,
         "mkdocs and mkdocs-material are not installed (the test extras install them)")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ("index.html", "guides/patient/index.html", "reference/cli/index.html", "reference/site/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
