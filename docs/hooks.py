"""MkDocs hooks: the parts of the site that are made from the repository at build time.

Nothing the site shows about the code, the tutorials, the studies or the benchmarks is copied
into docs/: it is read from where it lives, on every build, so it cannot drift.

- The API reference: one page per public namespace (`apiref.namespaces()`), one mkdocstrings
  entry per public name, made from the package's source. A name added to a subpackage's
  `__init__` appears with the next build.
- The tutorials: notebooks/*.ipynb, rendered by mkdocs-jupyter with their stored outputs.
- The reproductions: experiments/README.md and, per study, its results.md and figure.png.
- Includes: a line `<!-- include: FILE -->` or `<!-- include: FILE#Heading -->` (the section
  under that heading) is replaced by that file's text; `<!-- include-code: FILE LANG -->` by
  the file in a code block; `<!-- benchmarks -->` and `<!-- notebooks -->` by the lists of
  benchmark scripts and of tutorials.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import griffe
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apiref  # noqa: E402

ROOT = apiref.ROOT
NOTEBOOKS = ROOT / "notebooks"
EXPERIMENTS = ROOT / "experiments"
BENCHMARKS = ROOT / "benchmarks"
_INCLUDE = re.compile(r"^<!-- include: (?P<file>[^#\s]+)(?:#(?P<heading>[^>]+?))? -->$", re.M)
_INCLUDE_CODE = re.compile(r"^<!-- include-code: (?P<file>\S+) (?P<lang>\S+) -->$", re.M)
_CODE_NAME = re.compile(r"<code>(?:nd|neurodyn)\.([A-Za-z_][\w.]*)</code>")

_ANCHOR = re.compile(r"(<a [^>]*>.*?</a>|<autoref [^>]*>.*?</autoref>)", re.S)
_state: dict = {}


# ---------------------------------------------------------------- the API reference


# A sentence ends at . ! or ? before a capital, a code span or the end, but not after e.g., i.e.,
# et al., cf., vs.
_SENTENCE_END = re.compile(
    r"(?<!\be\.g)(?<!\bi\.e)(?<!\bal)(?<!\bcf)(?<!\bvs)[.!?](?=\s+[A-Z`(]|$)"
)


def first_sentence(doc: str) -> str:
    """The summary of a docstring for the tables: its first sentence, on one line."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    for end in _SENTENCE_END.finditer(paragraph):
        before = paragraph[: end.end()]
        if before.count("(") <= before.count(")"):  # not inside a citation's parentheses
            return before
    return paragraph


def _summary(obj) -> str:
    try:
        doc = obj.docstring.value if obj.docstring else ""
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return ""
    return first_sentence(doc)


def _target_path(obj) -> str:
    try:
        return obj.final_target.path if obj.is_alias else obj.path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return obj.target_path if obj.is_alias else obj.path


def _kind(obj) -> str:
    if not obj.is_alias:
        return obj.kind.value
    try:
        return obj.final_target.kind.value
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return "unresolved"  # e.g. `A, B = range(2)`: griffe sees no object to document


def reference() -> dict:
    """Per namespace: (name, kind, summary, home) rows; home is where the entry is documented."""
    spaces = apiref.namespaces()
    package = griffe.load(
        apiref.PACKAGE, search_paths=[str(ROOT)], resolve_aliases=True, resolve_external=False
    )
    by_path = {ns.path: ns for ns in spaces}

    def get(path: str):
        return package[path.split(".", 1)[1]]

    target = {}
    for ns in spaces:
        for name in ns.names:
            target[f"{ns.path}.{name}"] = _target_path(get(f"{ns.path}.{name}"))
    pages = {}
    for ns in spaces:
        rows = []
        for name in ns.names:
            path = f"{ns.path}.{name}"
            obj = get(path)
            if name in ns.modules:
                rows.append((name, "module", _summary(obj), f"{ns.path}.{name}"))
                continue
            real = target[path]
            owner = max((p for p in by_path if real.startswith(p + ".")), key=len, default="")
            home = path
            if owner and owner != ns.path:
                same = [f"{owner}.{n}" for n in by_path[owner].names
                        if target.get(f"{owner}.{n}") == real]
                home = same[0] if same else path
            kind = _kind(obj)
            rows.append((name, kind, _summary(obj), home))
        pages[ns.path] = (ns, rows)
    return pages


def _plain(text: str) -> str:
    """A docstring's text for a table cell: `*` and `_` outside code spans are literal (x* is
    a fixed point, not emphasis) and `|` does not end the cell."""
    parts = re.split(r"(`[^`]*`)", text)
    parts = [p if p.startswith("`") else re.sub(r"([*_])", r"\\\1", p) for p in parts]
    return "".join(parts).replace("|", "\\|")


def _page_of(path: str, pages: dict) -> str:
    namespace = max((p for p in pages if path.startswith(p + ".")), key=len)
    return f"{pages[namespace][0].slug}.md"


def reference_page(ns, rows, pages) -> str:
    lines = [f"::: {ns.path}", "    options:", "      members: false", "      heading_level: 1", ""]
    lines += ["| name | kind | summary |", "|---|---|---|"]
    for name, kind, summary, home in rows:
        if kind == "module":
            link = f"{pages[home][0].slug}.md"
        else:
            link = ("" if home == f"{ns.path}.{name}" else _page_of(home, pages)) + f"#{home}"
        cell = _plain(summary)
        lines.append(f"| [`{name}`]({link}) | {kind} | {cell} |")
    lines.append("")
    for name, kind, _summary_, home in rows:
        path = f"{ns.path}.{name}"
        if kind == "module":
            continue
        if kind == "unresolved":
            source = apiref.ROOT / ns.file
            lines += [f"## `{name}` {{ #{path} }}", "",
                      f"Defined in `{source.relative_to(apiref.ROOT)}` by an assignment the "
                      "documentation tool cannot read (several names at once); see the "
                      "module's text above.", ""]
        elif home == path:
            lines += [f"::: {path}", ""]
        else:
            lines += [f"## `{name}` {{ #{path} }}", "",
                      f"The same object as [`{home}`][{home}], documented there.", ""]
    return "\n".join(lines)


def reference_index(pages) -> str:
    total = sum(len(rows) for _, rows in pages.values())
    lines = [
        "# API reference", "",
        "Generated at build time from the docstrings of every public name: everything that a "
        "subpackage's `__init__` exports. The equations and papers are those the docstrings "
        f"give. {total} names in {len(pages)} namespaces.", "",
        "| namespace | names | what it holds |", "|---|---|---|",
    ]
    for ns, rows in pages.values():
        summary = first_sentence(ns.doc).replace("|", "\\|")
        lines.append(f"| [`{ns.path}`]({ns.slug}.md) | {len(rows)} | {summary} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the reproductions


def _studies() -> list[Path]:
    return sorted(p for p in EXPERIMENTS.iterdir() if (p / "results").is_dir())


def _strip_h1(text: str) -> tuple[str, str]:
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("# "):
        return lines[0][2:].strip(), "\n".join(lines[1:])
    return "", text


def study_page(study: Path) -> str:
    title, parts = study.name, []
    for config in ("paper", "small"):
        results = study / "results" / config / "results.md"
        if not results.is_file():
            continue
        heading, body = _strip_h1(results.read_text(encoding="utf-8"))
        title = heading or title
        body = body.replace("](figure.png)", f"]({study.name}/{config}/figure.png)")
        label = ("at the published scale (`paper` config)" if config == "paper"
                 else "at a small size (`small` config; the test run executes it)")
        parts += [f"## Measured {label}", "", "```bash",
                  f"python experiments/{study.name}/run.py --config {config}", "```", "", body, ""]
    head = [f"# {title}", "", f"Study folder: `experiments/{study.name}/`. Each table puts what "
            "neurodyn measured beside the published figure; the text below is the study's own "
            "`results.md`, read at build time.", ""]
    return "\n".join(head + parts)


def reproductions_index() -> str:
    text = (EXPERIMENTS / "README.md").read_text(encoding="utf-8")
    links = [f"- [`{s.name}`]({s.name}.md)" for s in _studies()]
    return text + "\n\n## The studies\n\n" + "\n".join(links) + "\n"


# ---------------------------------------------------------------- includes


def _section(text: str, heading: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(#+) (.*)$", line)
        if match and match.group(2).strip() == heading.strip():
            level = len(match.group(1))
            body = []
            for rest in lines[i + 1 :]:
                m = re.match(r"^(#+) ", rest)
                if m and len(m.group(1)) <= level:
                    break
                body.append(rest)
            return "\n".join(body).strip("\n")
    raise ValueError(f"include: no heading {heading!r}")


def _benchmarks() -> str:
    lines = ["| `python …` | what it measures |", "|---|---|"]
    for script in sorted(BENCHMARKS.glob("[!_]*.py")):
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
        first = doc.strip().split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
        lines.append(f"| `benchmarks/{script.name}` | {first} |")
    return "\n".join(lines)


def _notebooks() -> str:
    lines = ["| notebook | what it shows |", "|---|---|"]
    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        text = "".join(next((c["source"] for c in cells if c["cell_type"] == "markdown"), []))
        title, body = _strip_h1(text)
        first = body.strip().split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
        first = first.split(". ")[0].rstrip(".") + "."  # its first sentence
        lines.append(f"| [{title or nb.stem}]({nb.name}) | {first} |")
    return "\n".join(lines)


def expand_includes(markdown: str) -> str:
    """Replace the include markers of a page (see the module docstring)."""

    def include(match: re.Match) -> str:
        text = (ROOT / match.group("file")).read_text(encoding="utf-8")
        return _section(text, match.group("heading")) if match.group("heading") else text

    def include_code(match: re.Match) -> str:
        text = (ROOT / match.group("file")).read_text(encoding="utf-8").rstrip("\n")
        return f"```{match.group('lang')}\n{text}\n```"

    markdown = _INCLUDE.sub(include, markdown)
    markdown = _INCLUDE_CODE.sub(include_code, markdown)
    if "<!-- notebooks -->" in markdown:
        markdown = markdown.replace("<!-- notebooks -->", _notebooks())
    if "<!-- benchmarks -->" in markdown:
        markdown = markdown.replace("<!-- benchmarks -->", _benchmarks())
    return markdown


# ---------------------------------------------------------------- mkdocs events


def on_config(config):
    # mkdocs-jupyter keeps converted notebooks in a cache relative to the working directory:
    # keep it in docs/ (git-ignored) wherever mkdocs is started.
    jupyter = config["plugins"].get("mkdocs-jupyter")
    if jupyter is not None:
        jupyter.config["cache_dir"] = str(Path(__file__).resolve().parent / ".cache" / "jupyter")
    pages = reference()
    _state["pages"] = pages
    reference_nav = [{"Overview": "reference/index.md"}]
    reference_nav += [{ns.path: f"reference/{ns.slug}.md"} for ns, _ in pages.values()]
    tutorials = [f"notebooks/{nb.name}" for nb in sorted(NOTEBOOKS.glob("*.ipynb"))]
    studies = [{"Overview": "reproductions/index.md"}]
    studies += [{s.name: f"reproductions/{s.name}.md"} for s in _studies()]
    fill = {"API reference": reference_nav, "Tutorials": ["notebooks/index.md", *tutorials],
            "Reproductions": studies}
    for i, entry in enumerate(config["nav"]):
        if isinstance(entry, dict):
            (title,) = entry
            if title in fill:
                config["nav"][i] = {title: fill[title]}
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files, which claims the .ipynb files
def on_files(files: Files, config) -> Files:
    pages = _state["pages"]
    for ns, rows in pages.values():
        files.append(File.generated(config, f"reference/{ns.slug}.md",
                                    content=reference_page(ns, rows, pages)))
    files.append(File.generated(config, "reference/index.md", content=reference_index(pages)))
    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        # src_dir/src_uri must be the notebook itself (mkdocs-jupyter rereads the file from them)
        files.append(File(f"notebooks/{nb.name}", src_dir=str(ROOT), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    files.append(File.generated(config, "reproductions/index.md", content=reproductions_index()))
    for study in _studies():
        files.append(File.generated(config, f"reproductions/{study.name}.md",
                                    content=study_page(study)))
        for figure in sorted((study / "results").glob("*/figure.png")):
            uri = f"reproductions/{study.name}/{figure.parent.name}/figure.png"
            files.append(File.generated(config, uri, abs_src_path=str(figure)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    return expand_includes(markdown)


def on_page_content(html: str, page, config, files) -> str:
    # `nd.models.LowRankRNN` or `neurodyn.fixedpoints.find` in prose and docstrings: link it to
    # its reference entry when there is one (optional: no warning when there is none). Text that
    # is already a link is left alone.
    def link(match: re.Match) -> str:
        return (f'<autoref identifier="neurodyn.{match.group(1)}" optional>'
                f"{match.group(0)}</autoref>")

    parts = _ANCHOR.split(html)
    return "".join(
        p if p.startswith(("<a ", "<autoref ")) else _CODE_NAME.sub(link, p) for p in parts
    )
