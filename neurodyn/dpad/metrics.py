"""Prediction metrics for behaviour and neural activity, and cross-validated evaluation.

All functions take the truth and the prediction as `[T, n]` arrays (or lists of trials, which are
concatenated) and ignore samples where the truth is NaN (missing behaviour).

    CC  = corr(z, ẑ) per dimension (Pearson),     R² = 1 − Σ(z − ẑ)² / Σ(z − z̄)²
    AUC = P(score of a random positive > score of a random negative), one class against the rest
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
from scipy import stats

from .._typing import ArrayLike
from .._validate import ArgumentTypeError, check_array, check_int, check_key
from ._checks import as_trials, by_name
from ._inputs import check_inputs

Data = ArrayLike | Sequence[ArrayLike]
"""One recording `[T, n]`, a batch `[B, T, n]` or a list of trials `[T_i, n]`."""


class Scores(NamedTuple):
    """Prediction metrics (`score`); a field that does not apply is None.

    Continuous behaviour: `cc`, `r2` (means over dimensions) and per dimension `cc_dims`,
    `r2_dims`. Categorical behaviour: `auc` (mean over classes), `auc_dims`, `accuracy`.
    Neural prediction (when y and y_hat are given): `y_cc`, `y_r2`.
    """

    cc: float | None = None
    r2: float | None = None
    cc_dims: np.ndarray | None = None
    r2_dims: np.ndarray | None = None
    auc: float | None = None
    auc_dims: np.ndarray | None = None
    accuracy: float | None = None
    y_cc: float | None = None
    y_r2: float | None = None

    def __getitem__(self, key: Any) -> Any:  # scores["cc"]: deprecated, use scores.cc
        return by_name(self, key)

    def items(self) -> list[tuple[str, Any]]:
        """Deprecated: the metrics that apply as (name, value) pairs; use `_asdict()`."""
        warnings.warn("Scores.items() is deprecated: Scores is a NamedTuple now, use its "
                      "attributes or _asdict()", DeprecationWarning, stacklevel=2)
        return [(k, v) for k, v in self._asdict().items() if v is not None]


class CrossValidation(NamedTuple):
    """Cross-validated scores: every fold's `Scores` and their mean.

    `folds`: the `Scores` of every held-out fold; `mean`: their scalar metrics averaged over
    the folds (NaN-aware; the per-dimension entries are in `folds`)."""

    folds: tuple[Scores, ...]
    mean: Scores


def _stack(x: Data, name: str) -> np.ndarray:
    trials, _ = as_trials(x, name, allow_nan=True)
    return np.concatenate(trials).astype(np.float64)


def _pair(z, z_hat, names=("z", "z_hat")) -> tuple[np.ndarray, np.ndarray]:
    z, z_hat = _stack(z, names[0]), _stack(z_hat, names[1])
    if z.shape != z_hat.shape:
        raise ValueError(f"{names[1]} must have the shape of {names[0]} (the truth), got "
                         f"{z_hat.shape} and {z.shape}")
    return z, z_hat


def _unit(v: np.ndarray) -> float:
    """The power of two nearest the largest |v|: dividing by it is exact, and keeps the sums of
    squares below from overflowing (|v| ~ 1e200) or underflowing (|v| ~ 1e-200)."""
    biggest = np.max(np.abs(v)) if v.size else 0.0
    return float(np.ldexp(1.0, np.frexp(biggest)[1] - 1)) if 0 < biggest < np.inf else 1.0


def cc(z: Data, z_hat: Data) -> np.ndarray:
    """Pearson correlation coefficient per dimension (NaN where either side is constant)."""
    z, z_hat = _pair(z, z_hat)
    out = np.full(z.shape[1], np.nan)
    for d in range(z.shape[1]):
        ok = np.isfinite(z[:, d]) & np.isfinite(z_hat[:, d])
        a, b = z[ok, d] - z[ok, d].mean(), z_hat[ok, d] - z_hat[ok, d].mean()
        a, b = a / _unit(a), b / _unit(b)
        denom = np.sqrt((a * a).sum() * (b * b).sum())
        if denom > 0:
            out[d] = (a * b).sum() / denom
    return out


def r2(z: Data, z_hat: Data) -> np.ndarray:
    """Coefficient of determination per dimension."""
    z, z_hat = _pair(z, z_hat)
    out = np.full(z.shape[1], np.nan)
    for d in range(z.shape[1]):
        ok = np.isfinite(z[:, d]) & np.isfinite(z_hat[:, d])
        u = _unit(z[ok, d])
        truth, pred = z[ok, d] / u, z_hat[ok, d] / u
        ss_tot = ((truth - truth.mean()) ** 2).sum()
        if ss_tot > 0:
            out[d] = 1 - ((truth - pred) ** 2).sum() / ss_tot
    return out


def _labels_and_scores(z, probs, classes):
    z = _stack(z, "z")
    probs = _stack(probs, "probs")
    if z.shape[1] != 1:
        raise ValueError(f"z must have one column of class labels, got shape {z.shape}")
    if probs.shape[0] != z.shape[0]:
        raise ValueError(f"probs must have one row per sample of z ({z.shape[0]}), got "
                         f"{probs.shape[0]}")
    if classes is None:
        classes = np.arange(probs.shape[1])
    else:
        classes = check_array(classes, "classes", shape=(probs.shape[1],))
    labels = z[:, 0]
    ok = np.isfinite(labels)
    return labels[ok], probs[ok], np.asarray(classes)


def auc(z: Data, probs: Data, classes: ArrayLike | None = None) -> np.ndarray:
    """One-vs-rest ROC AUC per class from class probabilities `probs [T, n_classes]`.

    `classes` are the labels of the probability columns (default 0 … n_classes − 1).
    Computed from the Mann–Whitney rank statistic (ties count one half).
    """
    labels, probs, classes = _labels_and_scores(z, probs, classes)
    out = np.full(classes.size, np.nan)
    for c, label in enumerate(classes):
        pos = labels == label
        n_pos, n_neg = pos.sum(), (~pos).sum()
        if n_pos and n_neg:
            ranks = stats.rankdata(probs[:, c])
            out[c] = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


def accuracy(z: Data, probs: Data, classes: ArrayLike | None = None) -> float:
    """Fraction of samples whose most probable class is the true label."""
    labels, probs, classes = _labels_and_scores(z, probs, classes)
    return float(np.mean(classes[np.argmax(probs, axis=1)] == labels))


def score(
    z: Data,
    z_hat: Data | None,
    *,
    y: Data | None = None,
    y_hat: Data | None = None,
    probs: Data | None = None,
    classes: ArrayLike | None = None,
) -> Scores:
    """The metrics of a prediction (CC, R², AUC, accuracy, neural CC/R²), as `Scores`.

    `cc`, `r2` (means over dimensions) with per-dimension `cc_dims`, `r2_dims` for continuous
    behaviour; `auc`, `accuracy` when class `probs` are given; and `y_cc`, `y_r2` for the neural
    prediction when `y`, `y_hat` are given."""
    out: dict = {}
    if probs is None and z_hat is None:
        raise ValueError("z_hat is required (or probs, for a categorical behaviour)")
    if (y is None) != (y_hat is None):
        raise ValueError(f"y and y_hat go together: got {'y' if y_hat is None else 'y_hat'} "
                         f"alone")
    if probs is not None:
        a = auc(z, probs, classes)
        out.update(auc=float(np.nanmean(a)), auc_dims=a, accuracy=accuracy(z, probs, classes))
    else:
        c, r = cc(z, z_hat), r2(z, z_hat)
        out.update(cc=float(np.nanmean(c)), r2=float(np.nanmean(r)), cc_dims=c, r2_dims=r)
    if y is not None and y_hat is not None:
        y, y_hat = _pair(y, y_hat, ("y", "y_hat"))
        cy, ry = cc(y, y_hat), r2(y, y_hat)
        out.update(y_cc=float(np.nanmean(cy)), y_r2=float(np.nanmean(ry)))
    return Scores(**out)


def evaluate(*args: Any, **kwargs: Any) -> Scores:
    """Deprecated alias of `score`."""
    warnings.warn("neurodyn.dpad.metrics.evaluate is deprecated: use metrics.score",
                  DeprecationWarning, stacklevel=2)
    return score(*args, **kwargs)


def split_folds(y: Data, z: Data, n_folds: int) -> list[tuple]:
    """Split data into contiguous cross-validation folds (whole trials, or blocks of time).

    Contiguous folds: for lists of trials, folds of whole trials; for one recording, contiguous
    blocks of time. Returns `[(y_train, z_train, y_test, z_test), ...]`."""
    n_folds = check_int(n_folds, "n_folds", low=2)
    ys, y_list = as_trials(y, "y", allow_nan=True)
    zs, _ = as_trials(z, "z", allow_nan=True)
    if len(ys) != len(zs) or any(a.shape[0] != b.shape[0] for a, b in zip(ys, zs)):
        raise ValueError("y and z must have the same trials and the same number of time "
                         "samples in each")
    if y_list:
        if len(ys) < n_folds:
            raise ValueError(f"{len(ys)} trials cannot make {n_folds} folds")
        parts = np.array_split(np.arange(len(ys)), n_folds)
        return [([ys[k] for k in range(len(ys)) if k not in set(p)],
                 [zs[k] for k in range(len(ys)) if k not in set(p)],
                 [ys[k] for k in p], [zs[k] for k in p]) for p in parts]
    T = ys[0].shape[0]
    if T < n_folds:
        raise ValueError(f"{T} time samples cannot make n_folds={n_folds} folds")
    edges = np.linspace(0, T, n_folds + 1).astype(int)
    folds = []
    for a, b in zip(edges[:-1], edges[1:]):
        train_y = [t for t in (ys[0][:a], ys[0][b:]) if t.shape[0]]
        train_z = [t for t in (zs[0][:a], zs[0][b:]) if t.shape[0]]
        folds.append((train_y, train_z, ys[0][a:b], zs[0][a:b]))
    return folds


def split_inputs(y: Data, u: Data | None, n_folds: int) -> list[tuple]:
    """The measured inputs `u` cut into the folds of `split_folds(y, ·, n_folds)`.

    Returns `[(u_train, u_test), ...]`, `(None, None)` per fold for u = None."""
    if u is None:
        return [(None, None)] * n_folds
    ys, several = as_trials(y, "y", allow_nan=True)
    us = check_inputs(u, ys)
    us = us if several else us[0]  # one recording: u is cut into the same time blocks
    return [(u_tr, u_te) for u_tr, _, u_te, _ in split_folds(us, us, n_folds)]


def _takes_key(model: Any) -> bool | None:
    """True if `model.fit` requires a key, False if it takes none, None if it is optional."""
    param = inspect.signature(model.fit).parameters.get("key")
    if param is None:
        return False
    return True if param.default is inspect.Parameter.empty else None


def cross_validate(make_model: Callable[[], Any], y: Data, z: Data, *, n_folds: int = 5,
                   u: Data | None = None, **fit_kwargs: Any) -> CrossValidation:
    """Fit `make_model()` on each training split and score it on the held-out fold.

    Returns `CrossValidation(folds, mean)`: the `Scores` of every fold and their scalar
    metrics averaged over the folds. The model must have `score(y, z) -> Scores` and either
    `fit(y, z)` (deterministic models such as PSID: pass no key) or `fit(y, z, key=...)`
    (DPAD: pass `key=`, a `jax.random.key`, required; fold f gets `jax.random.fold_in(key, f)`).
    Measured inputs `u` (for a model whose `fit` and `score` take `u=`) are split into the same
    folds as y. Other keyword arguments go to every `fit`.
    """
    if not callable(make_model):
        raise ArgumentTypeError(f"make_model must be a function returning an unfitted model, "
                                f"got {type(make_model).__name__}")
    key = fit_kwargs.pop("key") if "key" in fit_kwargs else _NO_KEY
    if key is not _NO_KEY:
        key = check_key(key)
    folds = []
    u_folds = split_inputs(y, u, check_int(n_folds, "n_folds", low=2))
    for f, (y_tr, z_tr, y_te, z_te) in enumerate(split_folds(y, z, n_folds)):
        u_tr, u_te = u_folds[f]
        with_u = {} if u is None else {"u": u_tr}
        model = make_model()
        if not (callable(getattr(model, "fit", None)) and callable(getattr(model, "score", None))):
            raise ArgumentTypeError(f"make_model must return a model with fit and score "
                                    f"methods, got {type(model).__name__}")
        takes = _takes_key(model)
        if key is _NO_KEY:
            if takes:
                raise ValueError(f"{type(model).__name__}.fit needs a PRNG key: pass "
                                 f"key=jax.random.key(...) to cross_validate")
            model = model.fit(y_tr, z_tr, **with_u, **fit_kwargs)
        else:
            if takes is False:
                raise ValueError(f"{type(model).__name__}.fit is deterministic and takes no "
                                 f"key: leave key out of cross_validate")
            model = model.fit(y_tr, z_tr, key=jax.random.fold_in(key, f), **with_u,
                              **fit_kwargs)
        folds.append(model.score(y_te, z_te) if u is None else model.score(y_te, z_te, u=u_te))
    mean = {name: float(np.nanmean([getattr(f, name) for f in folds]))
            for name, value in folds[0]._asdict().items() if np.isscalar(value)}
    return CrossValidation(tuple(folds), Scores(**mean))


_NO_KEY = object()  # cross_validate was given no key (there is no default key)
