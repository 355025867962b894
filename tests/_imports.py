"""The project's import graph, read from the source with ``ast`` (nothing is imported).

Every import statement counts: module level, inside functions, in ``if TYPE_CHECKING:``
blocks, relative ones. ``from pkg import name`` is an edge to ``pkg`` (its ``__init__`` runs)
and to ``pkg.name`` when that is a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("portfolio", "simulation", "scenarios", "reports", "autoabs")

ALLOWED = {
    "portfolio": set(),
    "simulation": {"portfolio"},
    "scenarios": {"portfolio", "simulation"},
    "reports": {"portfolio", "simulation", "scenarios"},
    "autoabs": {"portfolio", "simulation", "scenarios", "reports"},
}
"""Packages each package may import besides itself: autoabs -> (reports, simulation,
scenarios) -> portfolio, reports and scenarios may use simulation, simulation never scenarios."""


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports (edges to itself left out)."""
    files = {_module_name(root, p): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = (package[: len(package) - node.level + 1] if node.level else [])
                module = ".".join([*base, *([node.module] if node.module else [])])
                targets.add(module)
                targets.update(f"{module}.{alias.name}" for alias in node.names)
        edges = set()
        for target in targets:
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
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
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def against_direction(graph: dict[str, set[str]],
                      allowed: dict[str, set[str]] = ALLOWED) -> list[str]:
    """Imports ``a -> b`` whose packages the documented direction does not allow."""
    bad = []
    for module, targets in sorted(graph.items()):
        source = module.split(".")[0]
        for target in sorted(targets):
            package = target.split(".")[0]
            if package != source and package not in allowed.get(source, set()):
                bad.append(f"{module} -> {target}")
    return bad
