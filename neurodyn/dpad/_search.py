"""Choosing where DPAD's nonlinearity goes (Sani, Pesaran & Shanechi 2024, "flexible DPAD").

Every candidate placement (none, Cz, Cy, K, A, or combinations) is fitted on the training folds of
an inner cross-validation; candidates train together as one vmapped batch per fold (their maps
differ only in the gates of `_maps.Map`). The winner has the best held-out behaviour prediction
(CC, or AUC for categorical behaviour); among the candidates within `tol` of it, the one with the
best neural prediction is chosen. It is then refitted on all the data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .._validate import ArgumentTypeError, check_int, check_number
from ._checks import typed_key
from ._fitting import parse_nonlinear
from ._prep import Normaliser
from ._train import take
from .metrics import split_folds

DEFAULT_CANDIDATES = ("none", "Cz", "Cy", "K", "A", "all")


@dataclass
class SearchResult:
    """`model` is the chosen DPAD refitted on all data; `table` has one row per candidate."""

    model: object
    chosen: str
    table: list[dict]


def _label(spec) -> str:
    names = sorted(parse_nonlinear(spec))
    return ",".join(names) if names else "none"


def search(y, z, nx, n1, *, key, candidates=DEFAULT_CANDIDATES, n_folds: int = 3,
           tol: float = 0.005, **dpad_kwargs) -> SearchResult:
    """Fit every candidate nonlinearity placement with `n_folds`-fold inner cross-validation and
    return the best one refitted on all the data (see the module docstring). `key` (a
    `jax.random.key`, required) seeds every fit."""
    import jax

    from ._dpad import DPAD

    key = typed_key(key)
    if "nonlinear" in dpad_kwargs:
        raise ValueError("search chooses `nonlinear` itself; pass candidates=... instead")
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
    template = DPAD(nx, n1, nonlinear="all" if any(sets) else None, **dpad_kwargs)
    template._validate(y, z)  # every bad input refused before the first fit
    scores = [[] for _ in sets]
    for fold, (y_tr, z_tr, y_te, z_te) in enumerate(split_folds(y, z, n_folds)):
        model = copy.copy(template)
        ys, zs, kind = model._validate(y_tr, z_tr)
        model.norm = Normaliser.fit(ys, zs, y_kind=model.neural, z_kind=kind,
                                    zscore=model.zscore)
        model.ny = ys[0].shape[1]
        fitter = model._fitter(model.ny, sets)
        mods, _ = fitter.fit(model.norm.prepare(ys, zs), key=jax.random.fold_in(key, fold))
        for c in range(len(sets)):
            m = copy.copy(model)
            m.nonlinear = sets[c]
            m.modules = {k: None if v is None else take(v, c) for k, v in mods.items()}
            scores[c].append(m.score(y_te, z_te))
    behaviour_key = "auc" if "auc" in scores[0][0] else "cc"
    table = []
    for label, s in zip(labels, scores):
        row = {"nonlinear": label}
        for k in (behaviour_key, "y_cc"):
            if k in s[0]:
                row[k] = float(np.nanmean([f[k] for f in s]))
        table.append(row)
    best_b = np.nanmax([r[behaviour_key] for r in table])
    close = [r for r in table if r[behaviour_key] >= best_b - tol]
    chosen = max(close, key=lambda r: r.get("y_cc", 0.0))["nonlinear"]
    final = DPAD(nx, n1, nonlinear=None if chosen == "none" else chosen, **dpad_kwargs)
    final.fit(y, z, key=jax.random.fold_in(key, n_folds))
    return SearchResult(model=final, chosen=chosen, table=table)
