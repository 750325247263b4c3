"""The documentation site (docs/): it builds strictly, documents every public name, and its
guides run.

- `mkdocs build --strict` of docs/mkdocs.yml passes (no broken link, reference or missing page).
  Skipped, with the reason, where mkdocs is not installed (`pip install -e ".[docs]"`; the
  `dev` extra that CI installs includes it).
- Every public name (everything a subpackage's `__init__` exports, listed by docs/apiref.py from
  the source), constants included, has a docstring whose first line is a one-sentence summary
  (PEP 257: it does not wrap onto a second line), and has an entry in the built API reference.
- The `python` code blocks of the how-to guides and the getting-started page run, in order, in
  a fresh folder (a `py` block is an illustration and is not run). The guides that run a whole
  pipeline are marked slow.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = DOCS / "pages"
sys.path.insert(0, str(DOCS))
import apiref  # noqa: E402

sys.path.remove(str(DOCS))

# The default run executes the guides whose programs compile in a few seconds (getting started,
# training, fixed points, devices, citing: about 60 s of CPU with the build, measured without
# the compilation cache). These compile more (the whole pipeline, DPAD, several fixed-point
# searches): 1-2 min each on 2 cores; `pytest -m slow tests/test_docs.py` runs them.
SLOW_GUIDES = {"configs.md", "sweeps.md", "dpad.md", "lowrank.md", "other-codebases.md"}


def _has(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


needs_mkdocs = pytest.mark.skipif(
    not (_has("mkdocs") and _has("mkdocstrings_handlers.python") and _has("mkdocs_jupyter")
         and _has("material")),
    reason='the docs tools are not installed (pip install -e ".[docs]")',
)


# ---------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(DOCS / "mkdocs.yml"),
         "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    seconds = time.perf_counter() - start
    problems = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0, (
        f"mkdocs build --strict failed after {seconds:.0f} s:\n" + "\n".join(problems or
                                                                        [proc.stderr[-4000:]]))
    print(f"\nmkdocs build --strict: {seconds:.1f} s")
    return out


@needs_mkdocs
def test_site_builds_strictly(site):
    for page in ("index.html", "concepts/index.html", "guides/train/index.html",
                 "reference/index.html", "changelog/index.html", "cite/index.html",
                 "benchmarks/index.html", "reproductions/index.html"):
        assert (site / page).is_file(), page
    # Every tutorial rendered with its stored figures; every study with its figure.
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        stored = sum("image/png" in out.get("data", {})
                     for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                     for out in cell.get("outputs", []))
        html = (site / "notebooks" / nb.stem / "index.html").read_text(encoding="utf-8")
        shown = html.count("data:image/png;base64")
        assert shown >= stored, f"{nb.name}: {stored} figures stored, {shown} on its page"
    for figure in sorted((ROOT / "experiments").glob("*/results/*/figure.png")):
        study, config = figure.parent.parent.parent.name, figure.parent.name
        assert (site / "reproductions" / study / config / "figure.png").is_file()


# ---------------------------------------------------------------- the API and its docstrings


def test_namespaces_match_the_package():
    """docs/apiref.py lists what each namespace really exports at run time."""
    for ns in apiref.namespaces():
        module = importlib.import_module(ns.path)
        exported = {n for n in vars(module) if not n.startswith("_")}
        missing = set(ns.names) - exported
        assert not missing, f"{ns.path}: apiref lists names the module lacks: {sorted(missing)}"
        if ns.file.name == "__init__.py":
            # A package exports exactly what its __init__ binds, plus submodules that Python
            # attached to it while importing them (which are not part of its API).
            extra = {n for n in exported - set(ns.names)
                     if not isinstance(getattr(module, n), types.ModuleType)}
            assert not extra, f"{ns.path}: names apiref does not see: {sorted(extra)}"
    paths = {ns.path for ns in apiref.namespaces()}
    assert {"neurodyn", "neurodyn.models", "neurodyn.tasks", "neurodyn.train",
            "neurodyn.fixedpoints", "neurodyn.lowrank", "neurodyn.dpad", "neurodyn.data",
            "neurodyn.plot", "neurodyn.io", "neurodyn.experiment"} <= paths


def _griffe_objects():
    griffe = pytest.importorskip("griffe", reason='griffe comes with the docs extra')
    package = griffe.load("neurodyn", search_paths=[str(ROOT)], resolve_aliases=True,
                          resolve_external=False)
    for ns in apiref.namespaces():
        for name in ns.names:
            path = f"{ns.path}.{name}"
            obj = package[path.split(".", 1)[1]]
            try:
                kind = obj.final_target.kind.value if obj.is_alias else obj.kind.value
                doc = obj.docstring.value if obj.docstring else ""
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                kind, doc = "attribute", ""  # `A, B = range(2)`: nothing to read a docstring from
            yield path, kind, doc


def _starts_with_summary(doc: str) -> bool:
    """A docstring that opens with a summary line: text on its first line, which is not a
    section header ("Args:") or a code example."""
    lines = doc.strip().splitlines()
    first = lines[0].strip() if lines else ""
    return bool(first) and not re.fullmatch(r"[A-Z][a-z]+:", first) and not first.startswith(
        (">>>", "```"))


def _one_line(doc: str) -> bool:
    """PEP 257's summary: the first sentence ends on the first line (a blank line, or nothing,
    follows it; or the line ends a sentence)."""
    lines = doc.strip().splitlines()
    return len(lines) == 1 or not lines[1].strip() or lines[0].rstrip().endswith((".", ":"))


def test_public_names_have_one_line_summaries():
    rows = list(_griffe_objects())
    code = [(p, k, d) for p, k, d in rows if k in ("function", "class", "module")]
    bad = [p for p, _, d in code if not _starts_with_summary(d)]
    wrapped = [p for p, _, d in code if _starts_with_summary(d) and not _one_line(d)]
    constants = [(p, d) for p, k, d in rows if k == "attribute"]
    documented = sum(bool(d.strip()) for _, d in constants)
    print(f"\n{len(code) - len(bad)}/{len(code)} public functions, classes and modules open with "
          f"a summary line; {len(code) - len(bad) - len(wrapped)}/{len(code)} have it on one line "
          f"(PEP 257); {documented}/{len(constants)} constants have a docstring")
    assert not bad, f"{len(bad)} public names lack a docstring that opens with a summary: {bad}"
    undocumented = [p for p, d in constants if not _starts_with_summary(d)]
    assert not undocumented, f"constants without an attribute docstring: {undocumented}"
    wrapped += [p for p, d in constants if _starts_with_summary(d) and not _one_line(d)]
    assert not wrapped, (
        f"{len(wrapped)} public docstrings open with a summary that wraps onto a second line "
        f"(PEP 257: one summary sentence on the first line, then a blank line): {wrapped}")


@needs_mkdocs
def test_every_public_name_is_in_the_reference(site):
    missing = []
    for ns in apiref.namespaces():
        html = (site / "reference" / ns.slug / "index.html").read_text(encoding="utf-8")
        for name in ns.names:
            path = f"{ns.path}.{name}"
            anchor = f'id="{path}"' in html
            page = name in ns.modules and (site / "reference" / f"{path[9:]}" / "index.html")
            if not (anchor or (page and page.is_file())):
                missing.append(path)
    total = len(apiref.public_names())
    print(f"\n{total - len(missing)}/{total} public names have an entry in the API reference")
    assert not missing, f"not in the API reference: {missing}"


# ---------------------------------------------------------------- the guides run


def _code_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)


GUIDES = [PAGES / "getting-started.md", *sorted((PAGES / "guides").glob("*.md"))]


@pytest.mark.parametrize(
    "page",
    [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW_GUIDES else [])
     for p in GUIDES if _code_blocks(p)],
)
def test_guide_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # A real module, as a reader's script would be (dataclasses look their class's module up).
    module = types.ModuleType(f"guide_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for i, block in enumerate(_code_blocks(page)):
        code = compile(block, f"{page.relative_to(ROOT)} (block {i + 1})", "exec")
        exec(code, module.__dict__)


def test_guides_have_code():
    """The guides the issue asks for exist and have code to run (all but the index)."""
    names = {p.name for p in GUIDES if _code_blocks(p)}
    assert {"train.md", "fixed-points.md", "lowrank.md", "dpad.md", "configs.md", "sweeps.md",
            "devices.md", "other-codebases.md", "cite.md"} <= names
