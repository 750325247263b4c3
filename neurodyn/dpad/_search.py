"""Choosing where DPAD's nonlinearity goes (Sani, Pesaran & Shanechi 2024, "flexible DPAD").

Every candidate placement (none, Cz, Cy, K, A, or combinations) is fitted on the training folds of
an inner cross-validation; candidates train together as one vmapped batch per fold (their maps
differ only in the gates of `_maps.Map`). The winner has the best held-out behaviour prediction
(CC, or AUC for categorical behaviour); among the candidates within `tol` of it, the one with the
best neural prediction is chosen. It is then refitted on all the data.

This module knows DPAD only through the `Placeable` protocol (`DPAD.search` passes itself in),
so that `_dpad.py` can offer `search` without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import jax
import numpy as np

from .._typing import Key
from .._validate import ArgumentTypeError, check_int, check_number
from ._checks import by_name
from ._fitting import parse_nonlinear
from .metrics import Data, Scores, split_folds, split_inputs

DEFAULT_CANDIDATES = ("none", "Cz", "Cy", "K", "A", "all")


class Placeable(Protocol):
    """What `choose_placement` needs of a model (DPAD has it)."""

    def check_data(self, y: Data, z: Data, u: Data | None = None) -> Any: ...
    def fit(self, y: Data, z: Data, u: Data | None = None, *, key: Key) -> Placeable: ...
    def fit_placements(self, y: Data, z: Data, placements: Sequence[Any], *,
                       key: Key, u: Data | None = None) -> list[Placeable]: ...
    def score(self, y: Data, z: Data, u: Data | None = None) -> Scores: ...


class SearchRow(NamedTuple):
    """One candidate's held-out scores in `dpad.search`, averaged over the folds.

    The behaviour's `cc` (continuous) or `auc` (categorical), and the neural `y_cc` (None where
    it does not apply)."""

    nonlinear: str
    cc: float | None = None
    auc: float | None = None
    y_cc: float | None = None

    def __getitem__(self, key: Any) -> Any:  # row["cc"]: deprecated, use row.cc
        return by_name(self, key)


class SearchResult(NamedTuple):
    """`model` is the chosen DPAD refitted on all data; `table` has one row per candidate."""

    model: Any
    chosen: str
    table: tuple[SearchRow, ...]


def _label(spec: Any) -> str:
    names = sorted(parse_nonlinear(spec))
    return ",".join(names) if names else "none"


def choose_placement(
    make_model: Callable[[str | None], Placeable],
    y: Data,
    z: Data,
    *,
    key: Key,
    candidates: Sequence[Any] = DEFAULT_CANDIDATES,
    n_folds: int = 3,
    tol: float = 0.005,
    u: Data | None = None,
) -> SearchResult:
    """The search of the module docstring: `make_model(nonlinear)` builds an unfitted model
    (`nonlinear` = None, 'all' or the chosen placement); `key` is an already checked key; `u`
    the measured inputs (None: none), split into the same folds as y."""
    if isinstance(candidates, str) or not isinstance(candidates, (list, tuple)):
        raise ArgumentTypeError(f"candidates must be a list of nonlinearity placements such as "
                                f"('none', 'Cz'), got {candidates!r}")
    if not candidates:
        raise ValueError("candidates must hold at least one placement, got none")
    sets = [parse_nonlinear(c) for c in candidates]
    labels = [_label(c) for c in candidates]
    if len(set(labels)) != len(labels):
        raise ValueError(f"candidates must be distinct, got {labels}")
    n_folds = check_int(n_folds, "n_folds", low=2)
    tol = check_number(tol, "tol", low=0)
    template = make_model("all" if any(sets) else None)
    template.check_data(y, z, u)  # every bad input refused before the first fit
    folds = split_folds(y, z, n_folds)
    u_folds = split_inputs(y, u, n_folds)
    scores: list[list[Scores]] = [[] for _ in sets]
    for fold, ((y_tr, z_tr, y_te, z_te), (u_tr, u_te)) in enumerate(zip(folds, u_folds)):
        fitted = template.fit_placements(y_tr, z_tr, sets, key=jax.random.fold_in(key, fold),
                                         u=u_tr)
        for c, model in enumerate(fitted):
            scores[c].append(model.score(y_te, z_te, u_te))
    behaviour = "auc" if scores[0][0].auc is not None else "cc"
    table = []
    for label, s in zip(labels, scores):
        row = {"nonlinear": label}
        for name in (behaviour, "y_cc"):
            if getattr(s[0], name) is not None:
                row[name] = float(np.nanmean([getattr(f, name) for f in s]))
        table.append(SearchRow(**row))
    best_b = np.nanmax([getattr(r, behaviour) for r in table])
    close = [r for r in table if getattr(r, behaviour) >= best_b - tol]
    chosen = max(close, key=lambda r: 0.0 if r.y_cc is None else r.y_cc).nonlinear
    final = make_model(None if chosen == "none" else chosen)
    final.fit(y, z, u, key=jax.random.fold_in(key, n_folds))
    return SearchResult(model=final, chosen=chosen, table=tuple(table))
