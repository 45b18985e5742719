"""The import graph of the project's packages: no cycles, one direction, no private names.

Every module of ``accounts``, ``households``, ``monitoring``, ``reports`` and ``config``
(migrations excluded) is parsed with :mod:`ast`; every ``import`` and ``from … import``
counts, at module level or inside a function (a lazy import is still an edge: it only
postpones the cycle to the first call). The checks:

- **no cycle** between project modules;
- **layering**: dependencies point one way, reports → monitoring → households → accounts.
  ``config``'s shared helpers (``config.api``, ``config.forms``, the Celery app, settings) may
  be imported by every app and import nothing above ``accounts``; ``config``'s composition
  root (the URL confs, WSGI) may import everything and is imported by nothing;
- **no private names across modules**: no ``from x import _name`` outside ``x`` (a package's
  ``__init__`` re-exporting a submodule's private name counts too).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "households", "monitoring", "reports", "config")
SKIPPED_PARTS = frozenset({"migrations", "__pycache__"})

#: The apps from the bottom up: a module may import its own layer and the layers below.
LAYERS = ("accounts", "households", "monitoring", "reports")
#: ``config`` modules that assemble the apps (everything may be imported by them).
COMPOSITION_ROOT = frozenset({"config.urls", "config.api_urls", "config.wsgi"})


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``source`` imports ``target`` (a project module)."""

    source: str
    target: str
    names: tuple[str, ...]
    line: int


# --- parsing ---------------------------------------------------------------------------------


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path = ROOT, packages=PACKAGES) -> dict[str, Path]:
    """Module name → file, for every project module (migrations excluded)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if SKIPPED_PARTS.isdisjoint(path.relative_to(root).parts):
                modules[module_name(path, root)] = path
    return modules


def _absolute(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str, modules) -> str | None:
    """The project module ``name`` names, or its nearest enclosing project module."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(source: str, tree: ast.AST, modules, *, is_package: bool = False) -> list[Import]:
    """The project imports in ``tree`` (module ``source``), in functions and classes too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known(alias.name, modules)
                if target:
                    found.append(Import(source, target, (), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, source, is_package)
            plain = []
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    found.append(Import(source, submodule, (), node.lineno))
                else:
                    plain.append(alias.name)
            target = _known(base, modules)
            if plain and target:
                found.append(Import(source, target, tuple(plain), node.lineno))
    return [edge for edge in found if edge.target != source]


def project_imports(root: Path = ROOT, packages=PACKAGES) -> list[Import]:
    modules = project_modules(root, packages)
    edges = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges += imports_of(name, tree, modules, is_package=path.name == "__init__.py")
    return edges


# --- the checks ------------------------------------------------------------------------------


def find_cycles(edges: list[Import]) -> list[list[str]]:
    """One cycle (``[a, b, …, a]``) per strongly connected component with more than one module."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    return [_cycle_in(component, graph) for component in _components(graph) if len(component) > 1]


def _components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _cycle_in(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start = min(component)
    previous = {start: None}
    queue = [start]
    for node in queue:
        for child in sorted(graph[node] & component):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle in {component}")  # pragma: no cover


def layer_of(module: str) -> str:
    """``accounts`` … ``reports``, or ``config`` (shared helpers) or ``root`` (composition)."""
    if module in COMPOSITION_ROOT:
        return "root"
    return module.partition(".")[0]


def allowed(source: str, target: str) -> bool:
    """May ``source`` import ``target`` under the layering?"""
    above, below = layer_of(source), layer_of(target)
    if above == "root" or above == below:
        return True
    if below == "root":
        return False
    if below == "config":
        return True
    if above == "config":
        return below == LAYERS[0]
    return LAYERS.index(below) < LAYERS.index(above)


def layering_violations(edges: list[Import]) -> list[str]:
    return sorted(
        {f"{e.source}:{e.line} imports {e.target}" for e in edges if not allowed(e.source, e.target)}
    )


def private_imports(edges: list[Import]) -> list[str]:
    """Every ``from x import _name`` (``x`` is never the importer: self-imports are dropped)."""
    found = set()
    for e in edges:
        private = [n for n in e.names if n.startswith("_") and not n.startswith("__")]
        if private:
            found.add(f"{e.source}:{e.line} imports {', '.join(private)} from {e.target}")
    return sorted(found)


# --- the project -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edges():
    return project_imports()


def test_the_graph_is_found(edges):
    sources = {e.source for e in edges}
    assert {"monitoring.services.exits", "households.services", "reports.selectors"} <= sources
    assert any(e.source == "config.api_urls" and e.target.startswith("monitoring") for e in edges)


def test_no_import_cycles(edges):
    cycles = find_cycles(edges)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_dependencies_point_one_way(edges):
    violations = layering_violations(edges)
    assert not violations, "imports against the layering:\n" + "\n".join(violations)


def test_no_private_names_across_modules(edges):
    found = private_imports(edges)
    assert not found, "private names imported from another module:\n" + "\n".join(found)


# --- the checker itself, on small synthetic projects -----------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


SYNTHETIC = {
    "accounts/__init__.py": "",
    "accounts/models.py": "X = 1\n",
    "monitoring/__init__.py": "",
    "monitoring/models/__init__.py": "from .cases import Case\n",
    "monitoring/models/cases.py": "from accounts.models import X\nCase = X\n",
    "monitoring/migrations/0001_initial.py": "from monitoring.services import exits\n",
    "monitoring/services/__init__.py": "",
    "monitoring/services/procedure.py": "from monitoring.models import Case\n",
    "monitoring/services/cases.py": "from monitoring.services.procedure import Case\n",
    "monitoring/services/exits.py": "from . import procedure\n",
}


def _edges_of(tmp_path: Path, files: dict[str, str]) -> list[Import]:
    _write(tmp_path, files)
    return project_imports(tmp_path, ("accounts", "monitoring"))


def test_checker_resolves_absolute_relative_and_submodule_imports(tmp_path):
    pairs = {(e.source, e.target) for e in _edges_of(tmp_path, SYNTHETIC)}
    assert pairs == {
        ("monitoring.models", "monitoring.models.cases"),
        ("monitoring.models.cases", "accounts.models"),
        ("monitoring.services.procedure", "monitoring.models"),
        ("monitoring.services.cases", "monitoring.services.procedure"),
        ("monitoring.services.exits", "monitoring.services.procedure"),
    }
    assert not find_cycles(_edges_of(tmp_path, SYNTHETIC))


def test_checker_finds_a_cycle_made_by_a_lazy_import(tmp_path):
    files = dict(SYNTHETIC)
    files["monitoring/services/exits.py"] = (
        "from . import procedure\n\n\ndef close():\n    from monitoring.services import cases\n"
    )
    files["monitoring/services/cases.py"] += "from monitoring.services.exits import close\n"
    cycles = find_cycles(_edges_of(tmp_path, files))
    assert cycles == [["monitoring.services.cases", "monitoring.services.exits", "monitoring.services.cases"]]


def test_checker_fails_the_project_if_exits_imports_cases_again(tmp_path):
    """services/cases.py closes cases through services/exits.py: the other way is a cycle."""
    for path in project_modules().values():
        copy = tmp_path / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    exits = tmp_path / "monitoring" / "services" / "exits.py"
    exits.write_text(
        exits.read_text(encoding="utf-8") + "\n\ndef _later():\n    from monitoring.services import cases\n",
        encoding="utf-8",
    )
    cycles = find_cycles(project_imports(tmp_path))
    assert any({"monitoring.services.cases", "monitoring.services.exits"} <= set(c) for c in cycles), cycles


def test_checker_finds_a_longer_cycle_and_reports_its_path(tmp_path):
    files = dict(SYNTHETIC)
    files["monitoring/models/cases.py"] += "from monitoring.services import cases as c\n"
    (cycle,) = find_cycles(_edges_of(tmp_path, files))
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {
        "monitoring.models",
        "monitoring.models.cases",
        "monitoring.services.cases",
        "monitoring.services.procedure",
    }


def test_checker_finds_imports_against_the_layering(tmp_path):
    files = dict(SYNTHETIC)
    files["accounts/models.py"] = "X = 1\n\n\ndef f():\n    from monitoring.models import Case\n"
    violations = layering_violations(_edges_of(tmp_path, files))
    assert violations == ["accounts.models:5 imports monitoring.models"]


def test_layering_rules():
    assert allowed("reports.selectors", "monitoring.models")
    assert allowed("monitoring.models.cases", "households.models")
    assert allowed("households.models", "accounts.models")
    assert not allowed("households.demo", "monitoring.models")
    assert not allowed("accounts.admin", "households.models")
    assert not allowed("monitoring.selectors", "reports.selectors")
    assert allowed("monitoring.forms", "config.forms")
    assert allowed("config.api", "accounts.errors")
    assert not allowed("config.api", "monitoring.models")
    assert allowed("config.urls", "reports.api")
    assert not allowed("monitoring.pages.home", "config.urls")


def test_checker_finds_private_names_from_another_module(tmp_path):
    files = dict(SYNTHETIC)
    files["accounts/models.py"] = "X = 1\n_Y = 2\n"
    files["monitoring/models/cases.py"] = "from accounts.models import X, _Y\nCase = X\n"
    files["monitoring/services/procedure.py"] = "from monitoring.models import Case, __all__\n"
    assert private_imports(_edges_of(tmp_path, files)) == [
        "monitoring.models.cases:1 imports _Y from accounts.models"
    ]


def test_a_package_reexporting_a_private_name_counts(tmp_path):
    files = dict(SYNTHETIC)
    files["monitoring/models/cases.py"] = "Case = 1\n_helper = 2\n"
    files["monitoring/models/__init__.py"] = "from .cases import Case, _helper\n"
    assert private_imports(_edges_of(tmp_path, files)) == [
        "monitoring.models:1 imports _helper from monitoring.models.cases"
    ]
