"""The package's import structure: layers, no cycles, no reaching into private modules.

The rules are those of CONTRIBUTING.md: arrows only point down the layers below, every
neurodyn import is at module level (a function-local one only for an optional dependency),
and a subpackage uses another only through its public namespace.
"""

import ast
import collections
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "neurodyn"

BASE = {"_validate", "_noise", "_nonlinearity", "_dynamics", "_typing", "_version", "_progress",
        "_optim",
        "_cache"}
# What each part may import besides the shared base modules (neurodyn/_*.py).
ALLOWED = {
    "tasks": set(),
    "models": set(),
    "data": set(),
    "io": {"models"},
    "train": {"models", "tasks"},
    "fixedpoints": {"models", "io"},
    "lowrank": {"models", "tasks", "train", "fixedpoints", "io"},
    "dpad": {"models", "data", "io"},
    "compare": {"models", "fixedpoints", "io"},
    "plot": {"models", "tasks", "train", "fixedpoints", "lowrank", "dpad", "data", "compare"},
    "experiment": {"models", "tasks", "train", "fixedpoints", "lowrank", "dpad", "data", "io",
                   "plot"},
    "_cliargs": {"experiment", "tasks"},
    "cli": {"models", "tasks", "train", "fixedpoints", "lowrank", "dpad", "data", "io", "plot",
            "experiment", "_cliargs"},
}
# Function-local imports allowed: optional dependencies only (module -> imported name).
LOCAL_OK = set()


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        yield ".".join(parts), path, is_pkg


MODULES = {name: (path, is_pkg) for name, path, is_pkg in _modules()}


def _targets(module, is_pkg, node):
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "neurodyn"]
    if node.level == 0:
        if not (node.module or "").startswith("neurodyn"):
            return []
        base = node.module
    else:
        parts = module.split(".")
        if not is_pkg:
            parts = parts[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join(parts + ([node.module] if node.module else []))
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _imports():
    """(module, target module, is_local, line) for every neurodyn import."""
    out = []
    for module, (path, is_pkg) in MODULES.items():
        tree = ast.parse(path.read_text())
        parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            local, typing_only, p = False, False, parents.get(node)
            while p is not None:
                local |= isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef)
                typing_only |= isinstance(p, ast.If) and "TYPE_CHECKING" in ast.unparse(p.test)
                p = parents.get(p)
            if typing_only:
                continue
            for target in _targets(module, is_pkg, node):
                if target in MODULES:
                    out.append((module, target, local, node.lineno))
    return out


IMPORTS = _imports()


def _part(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "neurodyn"


def test_no_import_cycles_between_modules():
    graph = collections.defaultdict(set)
    for module, target, _, _ in IMPORTS:
        if not MODULES[module][1] and not MODULES[target][1]:  # packages re-export: skip them
            graph[module].add(target)
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_no_function_local_imports_of_neurodyn():
    local = [f"{m}:{line} imports {t}" for m, t, is_local, line in IMPORTS
             if is_local and (m, t) not in LOCAL_OK]
    assert local == []


def test_no_private_module_of_another_part():
    bad = []
    for module, target, _, line in IMPORTS:
        if _part(module) == _part(target) or _part(target) in BASE:
            continue
        if any(p.startswith("_") and not p.startswith("__") for p in target.split(".")[2:]):
            bad.append(f"{module}:{line} imports {target}")
    assert bad == []


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_layers_point_down(part):
    used = {_part(t) for m, t, _, _ in IMPORTS if _part(m) == part} - {part} - BASE
    assert used <= ALLOWED[part], f"{part} imports {sorted(used - ALLOWED[part])}"
