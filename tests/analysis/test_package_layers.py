"""The analysis package's architecture, read from its imports (every `from clockbench...` in every
module, lazy ones included): the subpackages form layers, file <- measure <- theory <- documents,
with the exercise's plain data beside them, the experiment runner (which launches MPI) above
them, the command line on top and its launcher (analysis/clockbench/launch.py) above it; no module imports one of a layer above its own, so there is
no import cycle; and nothing but the command line imports the runner."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "analysis" / "clockbench"
# Each part may import only parts of a lower rank.
RANK = {"file": 0, "measure": 1, "theory": 2, "exercise": 3, "documents": 4, "experiment": 5, "cli": 6, "launch": 7}


def imports(package: Path) -> Dict[str, Set[str]]:
    """Module name -> the clockbench modules it imports (anywhere in its body)."""
    out: Dict[str, Set[str]] = {}
    for f in package.rglob("*.py"):
        name = "clockbench." + ".".join(f.relative_to(package).with_suffix("").parts)
        deps: Set[str] = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{name}: relative import from {node.module!r}: name the layer"
                if node.module and node.module.startswith("clockbench"):
                    deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("clockbench")}
        out[name] = deps
    return out


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] != "__init__" else "cli"


def violations(graph: Dict[str, Set[str]]) -> list:
    bad = []
    for module, deps in graph.items():
        for dep in deps:
            if part(dep) not in RANK or part(module) not in RANK:
                bad.append(f"{module} -> {dep}: not a known part of the package")
            elif part(dep) != part(module) and RANK[part(dep)] >= RANK[part(module)]:
                bad.append(f"{module} imports {dep}, a layer at or above its own")
    return bad


def cycles(graph: Dict[str, Set[str]]) -> list:
    found, state = [], {}

    def visit(node: str, path: list) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                found.append(" -> ".join(path[path.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    return found


def test_layers_and_no_cycles() -> None:
    graph = imports(PACKAGE)
    assert {part(m) for m in graph} <= set(RANK), sorted({part(m) for m in graph} - set(RANK))
    assert not violations(graph), "\n".join(violations(graph))
    assert not cycles(graph), "\n".join(cycles(graph))
    importers = sorted({m for m, deps in graph.items() for d in deps if part(d) == "experiment" and part(m) != "experiment"})
    assert importers == ["clockbench.cli"], importers


@pytest.mark.parametrize("planted", [
    {"clockbench.theory.finite": {"clockbench.documents.tables"}},           # a layer imported from below
    {"clockbench.documents.notebook": {"clockbench.experiment.runner"}},     # the cycle the split removed
])
def test_a_planted_import_is_caught(planted) -> None:
    graph = imports(PACKAGE)
    for module, deps in planted.items():
        graph[module] = graph[module] | deps
    assert violations(graph)
