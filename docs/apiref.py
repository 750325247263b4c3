"""The public API of neurodyn, read from its source: which namespaces, which names in each.

The site's API reference (`hooks.py`) and the docstring-coverage test (`tests/test_docs.py`) both
take the list from here, so a name added to a subpackage's `__init__` appears in the reference
and is checked without anyone editing the docs. Nothing here imports neurodyn or mkdocs: the
source files are parsed (`ast`), so the list can be made while the package does not import.

A *namespace* is `neurodyn` and every module it exports with `from . import x as x`, recursively
(`neurodyn.dpad.metrics`, `neurodyn.lowrank.meanfield`). Its *public names* are:

- in a package's `__init__.py`, every name it binds that does not start with an underscore
  (`from ._x import Name as Name`, `from . import x as x`, a def, a class, an assignment);
- in a plain module (`neurodyn/io.py`), its own defs, classes and assignments, and the imports
  it re-exports explicitly (`from x import Name as Name`): `import json` is not an export.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "neurodyn"


@dataclass(frozen=True)
class Namespace:
    """One public module of neurodyn and the names it exports, in source order."""

    path: str  # dotted, e.g. "neurodyn.lowrank.meanfield"
    file: Path
    names: tuple[str, ...]
    modules: tuple[str, ...]  # the names among `names` that are public submodules
    doc: str

    @property
    def slug(self) -> str:
        """The reference page's name: "neurodyn" for the top level, else the path below it."""
        return "neurodyn" if self.path == PACKAGE else self.path[len(PACKAGE) + 1 :]


def _module_file(dotted: str, root: Path = ROOT) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _bound_names(tree: ast.Module, is_package: bool) -> list[str]:
    names: list[str] = []

    def add(name: str) -> None:
        if not name.startswith("_") and name not in names:
            names.append(name)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    add(target.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if is_package and alias.asname is not None:
                    add(alias.asname)
                elif alias.asname is not None and alias.asname == alias.name:
                    add(alias.name)  # the explicit re-export of a plain module
        elif isinstance(node, ast.Import) and is_package:
            for alias in node.names:
                if alias.asname is not None:
                    add(alias.asname)
    return names


def _submodules(tree: ast.Module, dotted: str, root: Path) -> list[str]:
    """The names bound by `from . import x as x` that are modules of this package."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None:
            for alias in node.names:
                name = alias.asname or alias.name
                if not name.startswith("_") and _module_file(f"{dotted}.{alias.name}", root):
                    found.append(name)
    return found


def namespaces(root: Path = ROOT) -> list[Namespace]:
    """Every public namespace of neurodyn, the top level first, then alphabetically."""
    result: dict[str, Namespace] = {}
    todo = [PACKAGE]
    while todo:
        dotted = todo.pop()
        file = _module_file(dotted, root)
        if file is None or dotted in result:
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        is_package = file.name == "__init__.py"
        subs = _submodules(tree, dotted, root) if is_package else []
        result[dotted] = Namespace(
            path=dotted,
            file=file,
            names=tuple(_bound_names(tree, is_package)),
            modules=tuple(subs),
            doc=ast.get_docstring(tree) or "",
        )
        todo.extend(f"{dotted}.{name}" for name in subs)
    return sorted(result.values(), key=lambda ns: (ns.path != PACKAGE, ns.path))


def public_names(root: Path = ROOT) -> list[str]:
    """Every public name as a dotted path (`neurodyn.models.LowRankRNN`), modules included."""
    return [f"{ns.path}.{name}" for ns in namespaces(root) for name in ns.names]


if __name__ == "__main__":
    for ns in namespaces():
        print(f"{ns.path}: {len(ns.names)} names")
    print(f"total: {len(public_names())}")
