"""The layout keeps its promises: imports only go downward, no import cycles, no oversized module.

Every module under picture_schedule/ is parsed with ``ast`` (nothing is imported), and each import
is recorded with where it sits: at module level, inside a function (deferred), or under
``if TYPE_CHECKING:`` (for type hints only). A string constant that names one of the package's
modules exactly (the CLI's command registry, the package's lazy ``__init__``) is a deferred import.

The layers, from the top (a module may import its own sub-package and any layer below it)::

    cli → web → roster, planning → render → loading → core

- ``roster`` and ``planning`` are peers: neither imports the other.
- ``errors``, ``output``, ``i18n`` and ``resources`` are the shared base: any module may import
  them, and they import only each other.
- ``api`` is the public facade for library users: only the CLI (and the package's entry points)
  import it; internal code imports the function from the layer it lives in.
- ``picture_schedule`` (the package ``__init__``) and ``__main__`` are entry points. The
  ``__init__`` imports nothing of the package at module level (its names are loaded on first use),
  so ``from picture_schedule import __version__`` is allowed everywhere; a name it re-exports is
  resolved to the module it comes from.

Which imports count:
- the layer rule: all of them, deferred and TYPE_CHECKING ones too. A deferred import still makes
  the lower layer depend on the upper one; only the moment of the import changes.
- cycles: module-level imports only. A deferred import runs after both modules are fully loaded, so
  it cannot fail the way a module-level cycle does; and the layer rule already keeps deferred imports
  from pointing upward, so a deferred cycle can only close inside one sub-package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = "picture_schedule"
PACKAGE_DIR = ROOT / PACKAGE

#: Layered sub-packages, by rank (higher imports lower). Equal ranks are peers.
LAYERS = {"core": 0, "loading": 1, "render": 2, "planning": 3, "roster": 3, "web": 4, "cli": 6}
SHARED = {f"{PACKAGE}.{name}" for name in ("errors", "output", "i18n", "resources")}
FACADE = f"{PACKAGE}.api"
FACADE_RANK = 5  # above every library layer, below the CLI
ENTRY_POINTS = {PACKAGE, f"{PACKAGE}.__main__"}

#: No module is longer than this (lines), so no file has to be read in sections to be understood.
MAX_LINES = 600


# -- the import graph --------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int
    when: str  # "module": at import time; "deferred": inside a function or by name; "typing": TYPE_CHECKING
    file: str  # the importer's path from the folder holding the package

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.target} ({self.when})"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = PACKAGE_DIR) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}


MODULES = modules()


def exports(known: dict[str, Path]) -> dict[str, str]:
    """The package ``__init__``'s lazy re-exports: name → the module it is loaded from."""
    tree = ast.parse(known[PACKAGE].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
            return dict(ast.literal_eval(node.value))
    return {}


class _Collector(ast.NodeVisitor):
    def __init__(self, name: str, file: str, known: set[str], exported: dict[str, str]) -> None:
        self.name = name
        self.file = file
        self.package = name if file.endswith("__init__.py") else name.rpartition(".")[0]
        self.known = known
        self.exported = exported
        self.found: list[Import] = []
        self.unresolved: list[str] = []
        self._functions = 0
        self._typing = 0

    @property
    def _when(self) -> str:
        return "typing" if self._typing else "deferred" if self._functions else "module"

    def _add(self, target: str, line: int, when: str | None = None) -> None:
        if target == PACKAGE or target.startswith(PACKAGE + "."):
            if target in self.known:
                self.found.append(Import(self.name, target, line, when or self._when, self.file))
            else:
                self.unresolved.append(f"{self.file}:{line} imports {target}, which is not a module")

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._functions += 1
        self.generic_visit(node)
        self._functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self._typing += 1
            for child in node.body:
                self.visit(child)
            self._typing -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base_parts = self.package.split(".")[: len(self.package.split(".")) - (node.level - 1)]
            base = ".".join([*base_parts, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        for alias in node.names:
            if f"{base}.{alias.name}" in self.known:
                self._add(f"{base}.{alias.name}", node.lineno)
            elif base == PACKAGE and alias.name in self.exported:
                self._add(self.exported[alias.name], node.lineno)
            else:
                self._add(base, node.lineno)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value in self.known and node.value != self.name:
            self._add(node.value, node.lineno, "deferred")  # imported by name (import_module)


def collect(known: dict[str, Path] = MODULES) -> tuple[list[Import], list[str]]:
    exported = exports(known)
    found: list[Import] = []
    unresolved: list[str] = []
    for name, path in known.items():
        file = path.relative_to(known[PACKAGE].parent.parent).as_posix()
        collector = _Collector(name, file, set(known), exported)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(collector.found)
        unresolved.extend(collector.unresolved)
    return found, unresolved


IMPORTS, UNRESOLVED = collect()


# -- the rules ---------------------------------------------------------------------------------


def room(module: str) -> str:
    """Where a module lives: a layer's name, "shared", "facade" or "entry" ("unknown": nowhere yet)."""
    if module in ENTRY_POINTS:
        return "entry"
    if module in SHARED:
        return "shared"
    if module == FACADE:
        return "facade"
    sub = module.split(".")[1] if module.count(".") >= 1 else ""
    return sub if sub in LAYERS else "unknown"


def rank(module: str) -> int:
    where = room(module)
    return FACADE_RANK if where == "facade" else LAYERS[where]


def violation(imp: Import) -> str | None:
    """Why ``imp`` breaks the layer rule, or None when it may stand."""
    source, target = room(imp.importer), room(imp.target)
    if imp.importer == imp.target or source == "entry":
        return None
    if imp.target == PACKAGE:
        return None  # the lazy __init__ (its own module-level imports are checked below)
    if target == "entry":
        return "nothing imports __main__"
    if target == "shared":
        return None
    if source == "shared":
        return "a shared base module imports only shared base modules"
    if target == "facade":
        return None if source == "cli" else "only the CLI imports api.py: import the function from its own layer"
    if source == target:
        return None
    if rank(imp.target) < rank(imp.importer):
        return None
    if rank(imp.target) == rank(imp.importer):
        return f"{source} and {target} are peers: neither imports the other"
    return f"{source} may not import upward into {target}"


def violations(imports: Iterable[Import]) -> list[str]:
    return [f"{imp}: {why}" for imp in imports if (why := violation(imp))]


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """The module-level import cycles: strongly connected groups of two or more modules (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.when == "module" and imp.importer != imp.target:
            graph.setdefault(imp.importer, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# -- the tests ---------------------------------------------------------------------------------


def test_the_parser_sees_every_kind_of_import():
    """Module-level, deferred, TYPE_CHECKING and by-name imports are all found (so the rules below
    check something): a few the package is known to have."""
    kinds = {(imp.importer, imp.target, imp.when) for imp in IMPORTS}
    assert (f"{PACKAGE}.loading.course", f"{PACKAGE}.loading.reader", "module") in kinds
    assert (f"{PACKAGE}.cli.commands", f"{PACKAGE}.cli.roster", "deferred") in kinds  # by name, in the registry
    assert {(room(a), room(b), when) for a, b, when in kinds} >= {
        ("cli", "render", "deferred"), ("cli", "roster", "typing"), ("loading", "core", "module")}
    assert len(MODULES) > 30 and len(IMPORTS) > 100


def test_every_import_names_a_module():
    assert UNRESOLVED == []


def test_every_module_has_a_place_in_the_layers():
    assert [m for m in MODULES if room(m) == "unknown"] == []


def test_imports_only_go_downward():
    assert violations(IMPORTS) == []


def test_no_import_cycles_between_modules():
    assert cycles(IMPORTS) == []


def test_internal_code_does_not_import_the_facade():
    users = sorted({imp.importer for imp in IMPORTS if imp.target == FACADE})
    assert all(room(user) in ("cli", "entry") for user in users), users


def test_the_package_init_imports_nothing_of_the_package_at_module_level():
    """What makes `from picture_schedule import __version__` safe in every layer."""
    assert [str(imp) for imp in IMPORTS if imp.importer == PACKAGE and imp.when == "module"] == []


def oversized(known: dict[str, Path]) -> dict[str, int]:
    """The modules longer than MAX_LINES, with their length."""
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in known.items()}
    return {name: n for name, n in lengths.items() if n > MAX_LINES}


def test_no_module_is_oversized():
    assert oversized(MODULES) == {}


# -- the checks can fail -------------------------------------------------------------------------


def _fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in {"__init__.py": "_EXPORTS = {'schedule': 'picture_schedule.api'}\n", **files}.items():
        path = tmp_path / PACKAGE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {p.parent for p in (tmp_path / PACKAGE).rglob("*.py")}:
        (folder / "__init__.py").touch()
    return modules(tmp_path / PACKAGE)


def test_the_rules_catch_upward_imports_facade_use_peers_and_cycles(tmp_path):
    known = _fake_package(tmp_path, {
        "api.py": "",
        "errors.py": "def f():\n    from picture_schedule.core import model\n",
        "core/model.py": "from picture_schedule.core import clinic\n",
        "core/clinic.py": "import picture_schedule.core.model\n",
        "core/scheduler.py": "def f():\n    from picture_schedule.loading.reader import x\n",
        "loading/reader.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from picture_schedule.render import text\n",
        "render/text.py": "from picture_schedule import schedule\n",
        "roster/store.py": "PLANNER = 'picture_schedule.planning.cohort'\n",
        "planning/cohort.py": "from picture_schedule.core import model\nfrom picture_schedule import errors\n",
        "cli/main.py": "from picture_schedule import api\nfrom picture_schedule.roster import store\n",
        "web/pages.py": "from picture_schedule.cli.main import x\n",
    })
    imports, unresolved = collect(known)
    assert unresolved == []
    found = "\n".join(violations(imports))
    assert "core/scheduler.py:2 imports picture_schedule.loading.reader (deferred): core may not import upward" in found
    assert "loading/reader.py:3 imports picture_schedule.render.text (typing)" in found
    assert "render/text.py:1 imports picture_schedule.api" in found and "only the CLI imports api.py" in found
    assert "roster/store.py:1 imports picture_schedule.planning.cohort (deferred): roster and planning are peers" in found
    assert "errors.py:2 imports picture_schedule.core.model (deferred): a shared base module" in found
    assert "web/pages.py:1 imports picture_schedule.cli.main (module): web may not import upward into cli" in found
    assert "cli/main.py" not in found and "planning/cohort.py" not in found
    assert cycles(imports) == [["picture_schedule.core.clinic", "picture_schedule.core.model"]]


def test_a_deferred_import_closes_no_cycle(tmp_path):
    known = _fake_package(tmp_path, {
        "core/model.py": "from picture_schedule.core import clinic\n",
        "core/clinic.py": "def f():\n    from picture_schedule.core import model\n",
    })
    assert cycles(collect(known)[0]) == []


def test_an_import_of_a_missing_module_is_reported(tmp_path):
    known = _fake_package(tmp_path, {"core/model.py": "import picture_schedule.core.gone\n"})
    assert collect(known)[1] == ["picture_schedule/core/model.py:1 imports picture_schedule.core.gone, which is not a module"]


def test_the_size_limit_counts_lines(tmp_path):
    known = _fake_package(tmp_path, {
        "core/long.py": "x = 1\n" * (MAX_LINES + 1),
        "core/full.py": "x = 1\n" * MAX_LINES,
    })
    assert oversized(known) == {"picture_schedule.core.long": MAX_LINES + 1}
