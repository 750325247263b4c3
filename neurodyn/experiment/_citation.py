"""`citation()`: BibTeX for neurodyn and for the published methods a run used.

Every field below was checked against the paper's publisher record or its authors' own
citation text; a field that could not be checked is left out rather than guessed.
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

from .._validate import ArgumentTypeError, check_bool
from .._version import __version__

if TYPE_CHECKING:  # _config imports this module (Config.methods)
    from ._config import Config

# Kept consistent with CITATION.cff (tests/test_citation.py compares them).
SOFTWARE = {
    "title": "neurodyn: training and reverse-engineering recurrent neural networks in JAX",
    "author": "{The neurodyn developers}",
    "year": "2026",
    "license": "MIT",
}

_ENTRIES: dict[str, tuple[str, dict]] = {
    "mastrogiuseppe2018": ("article", {
        "author": "Mastrogiuseppe, Francesca and Ostojic, Srdjan",
        "title": "Linking Connectivity, Dynamics, and Computations in Low-Rank Recurrent "
                 "Neural Networks",
        "journal": "Neuron", "volume": "99", "number": "3", "pages": "609--623.e29",
        "year": "2018", "doi": "10.1016/j.neuron.2018.07.003",
    }),
    "dubreuil2022": ("article", {
        "author": "Dubreuil, Alexis and Valente, Adrian and Beiran, Manuel and "
                  "Mastrogiuseppe, Francesca and Ostojic, Srdjan",
        "title": "The role of population structure in computations through neural dynamics",
        "journal": "Nature Neuroscience", "volume": "25", "pages": "783--794",
        "year": "2022", "doi": "10.1038/s41593-022-01088-4",
    }),
    "beiran2021": ("article", {
        "author": "Beiran, Manuel and Dubreuil, Alexis and Valente, Adrian and "
                  "Mastrogiuseppe, Francesca and Ostojic, Srdjan",
        "title": "Shaping Dynamics With Multiple Populations in Low-Rank Recurrent Networks",
        "journal": "Neural Computation", "volume": "33", "year": "2021",
        "doi": "10.1162/neco_a_01381",
    }),
    "sussillo2013": ("article", {
        "author": "Sussillo, David and Barak, Omri",
        "title": "Opening the Black Box: Low-Dimensional Dynamics in High-Dimensional "
                 "Recurrent Neural Networks",
        "journal": "Neural Computation", "volume": "25", "number": "3", "pages": "626--649",
        "year": "2013", "doi": "10.1162/NECO_a_00409",
    }),
    "golub2018": ("article", {
        "author": "Golub, Matthew D. and Sussillo, David",
        "title": "FixedPointFinder: A Tensorflow toolbox for identifying and characterizing "
                 "fixed points in recurrent neural networks",
        "journal": "Journal of Open Source Software", "volume": "3", "number": "31",
        "pages": "1003", "year": "2018", "doi": "10.21105/joss.01003",
    }),
    "sani2021": ("article", {
        "author": "Sani, Omid G. and Abbaspourazad, Hamidreza and Wong, Yan T. and "
                  "Pesaran, Bijan and Shanechi, Maryam M.",
        "title": "Modeling behaviorally relevant neural dynamics enabled by preferential "
                 "subspace identification",
        "journal": "Nature Neuroscience", "volume": "24", "pages": "140--149",
        "year": "2021", "doi": "10.1038/s41593-020-00733-0",
    }),
    "sani2024": ("article", {
        "author": "Sani, Omid G. and Pesaran, Bijan and Shanechi, Maryam M.",
        "title": "Dissociative and prioritized modeling of behaviorally relevant neural "
                 "dynamics using recurrent neural networks",
        "journal": "Nature Neuroscience", "volume": "27", "pages": "2033--2045",
        "year": "2024", "doi": "10.1038/s41593-024-01731-2",
    }),
    "mante2013": ("article", {
        "author": "Mante, Valerio and Sussillo, David and Shenoy, Krishna V. and "
                  "Newsome, William T.",
        "title": "Context-dependent computation by recurrent dynamics in prefrontal cortex",
        "journal": "Nature", "volume": "503", "number": "7474", "pages": "78--84",
        "year": "2013", "doi": "10.1038/nature12742",
    }),
    "yang2019": ("article", {
        "author": "Yang, Guangyu Robert and Joglekar, Madhura R. and Song, H. Francis and "
                  "Newsome, William T. and Wang, Xiao-Jing",
        "title": "Task representations in neural networks trained to perform many cognitive "
                 "tasks",
        "journal": "Nature Neuroscience", "volume": "22", "number": "2", "pages": "297--306",
        "year": "2019", "doi": "10.1038/s41593-018-0310-2",
    }),
    "vahidi2024": ("article", {
        "author": "Vahidi, Parsa and Sani, Omid G. and Shanechi, Maryam M.",
        "title": "Modeling and dissociation of intrinsic and input-driven neural population "
                 "dynamics underlying behavior",
        "journal": "Proceedings of the National Academy of Sciences", "volume": "121",
        "number": "7", "pages": "e2212887121", "year": "2024",
        "doi": "10.1073/pnas.2212887121",
    }),
    "valente2022": ("inproceedings", {
        "author": "Valente, Adrian and Pillow, Jonathan W. and Ostojic, Srdjan",
        "title": "Extracting computational mechanisms from neural data using low-rank RNNs",
        "booktitle": "Advances in Neural Information Processing Systems", "volume": "35",
        "year": "2022",
    }),
    "romo1999": ("article", {  # DOI not verified: left out
        "author": "Romo, Ranulfo and Brody, Carlos D. and Hern{\\'a}ndez, Adri{\\'a}n and "
                  "Lemus, Luis",
        "title": "Neuronal correlates of parametric working memory in the prefrontal cortex",
        "journal": "Nature", "volume": "399", "number": "6735", "pages": "470--473",
        "year": "1999",
    }),
}

# What a method or analysis name (as in a config) means in papers.
METHODS = {
    "neurodyn": [],
    "lowrank": ["mastrogiuseppe2018", "dubreuil2022"],
    "LowRankRNN": ["mastrogiuseppe2018", "dubreuil2022"],
    "populations": ["beiran2021", "dubreuil2022"],
    "fixed_points": ["sussillo2013", "golub2018"],
    "fixedpoints": ["sussillo2013", "golub2018"],
    "psid": ["sani2021"],
    "dpad": ["sani2024", "sani2021"],
    "ipsid": ["vahidi2024", "sani2021"],
    "lint": ["valente2022", "mastrogiuseppe2018"],
}
# Tasks that come from a paper.
TASK_PAPERS = {
    "ContextDecisionMaking": ["mante2013"],
    "DelayComparison": ["romo1999"],
    "Yang19": ["yang2019"],
    "FlipFlop": ["sussillo2013"],
    "PerceptualDecisionMaking": ["dubreuil2022"],
}


def keys() -> list[str]:
    """The citation keys `citation` knows (besides `neurodyn`)."""
    return sorted(_ENTRIES)


def _software_entry() -> str:
    fields = dict(SOFTWARE, version=__version__)
    return _format("misc", "neurodyn", fields)


def _format(kind: str, key: str, fields: dict) -> str:
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items())
    return f"@{kind}{{{key},\n{body}\n}}"


def methods_of(config: Config) -> list[str]:
    """Citation keys for what a `Config` runs: its model, task, and enabled analyses."""
    if config.data is not None:  # a recording's run: its analyses only
        return config.data.citation_keys()
    out: list[str] = []
    if config.model.type == "LowRankRNN":
        out += METHODS["LowRankRNN"]
    out += TASK_PAPERS.get(config.task.name, [])
    a = config.analyses
    if a.fixed_points.enabled:
        out += METHODS["fixed_points"]
    if a.lowrank.enabled and config.model.type == "LowRankRNN":
        out += METHODS["lowrank"]
    if a.dpad.enabled:
        for m in a.dpad.methods:
            out += METHODS[m]
    return list(dict.fromkeys(out))


def resolve_methods(methods: Config | str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The citation keys behind `methods` (see `citation`).

    A `ValueError` names an unknown method or key."""
    if methods is None:
        return []
    if hasattr(methods, "analyses") and hasattr(methods, "model"):
        return methods_of(methods)
    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, (list, tuple)) or not all(isinstance(m, str) for m in methods):
        raise ArgumentTypeError(f"methods must be None, a run Config, a name or a list of names "
                                f"(e.g. ['psid', 'dpad']), got {methods!r:.60}")
    out: list[str] = []
    for m in methods:
        if m in _ENTRIES:
            out.append(m)
        elif m in METHODS:
            out += METHODS[m]
        elif m in TASK_PAPERS:
            out += TASK_PAPERS[m]
        else:
            raise ValueError(
                f"methods: unknown method or key {m!r}; known: "
                f"{', '.join(sorted(set(METHODS) | set(_ENTRIES) | set(TASK_PAPERS)))}"
            )
    return list(dict.fromkeys(out))


def citation(methods: Config | str | list[str] | tuple[str, ...] | None = None, *,
             quiet: bool = False, file: io.TextIOBase | None = None) -> str:
    """BibTeX for neurodyn and the papers behind `methods`, printed to `file` and returned.

    `methods`: None (neurodyn alone), a run `Config` (what it used: model, task, analyses),
    or names — analyses ("lowrank", "fixed_points", "psid", "dpad", "populations"), task
    names ("ContextDecisionMaking", …) or citation keys ("sussillo2013", see `keys()`).
    Printed to `file` (default standard output) unless `quiet`.
    """
    quiet = check_bool(quiet, "quiet")
    if file is not None and not callable(getattr(file, "write", None)):
        raise ArgumentTypeError(f"file must be a text file (with write) or None, got "
                                f"{type(file).__name__}")
    entries = [_software_entry()]
    for key in resolve_methods(methods):
        kind, fields = _ENTRIES[key]
        entries.append(_format(kind, key, fields))
    text = "\n\n".join(entries) + "\n"
    if not quiet:
        print(text, file=sys.stdout if file is None else file, end="")
    return text
