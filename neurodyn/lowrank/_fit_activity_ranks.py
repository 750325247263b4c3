"""The rank of a recording: LINT fits at several ranks, scored on held-out trials (Valente,
Pillow & Ostojic 2022, NeurIPS, Fig. 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from .._typing import ArrayLike, Float, Key
from .._validate import check_array, check_key, check_number
from ._checks import check_counts
from ._fit_activity import ActivityFit, activity_r2, check_activity, fit_to_activity


class ActivityRankSweep(NamedTuple):
    """LINT fits of one recording at several ranks (`fit_activity_ranks`).

    Attributes:
        ranks: the ranks fitted, `[R]`.
        r2_train: explained variance of the training trials, `[R]`.
        r2_test: explained variance of the held-out trials, `[R]`.
        chosen_rank: the smallest rank whose held-out R² is within `tolerance` of the best
            held-out R² of the sweep: r* = min{r : R²_test(r) ≥ max_r' R²_test(r') − tolerance}.
        tolerance: that tolerance.
        fits: the `ActivityFit` of each rank (fitted on the training trials).
        train_trials, test_trials: the trial indices of each part.
    """

    ranks: np.ndarray
    r2_train: np.ndarray
    r2_test: np.ndarray
    chosen_rank: int
    tolerance: float
    fits: tuple[ActivityFit, ...]
    train_trials: np.ndarray
    test_trials: np.ndarray


def _split(n_trials: int, test_fraction: float, test_trials, key) -> tuple[np.ndarray, ...]:
    if test_trials is not None:
        test = check_array(test_trials, "test_trials", ndim=1, dtype="int")
        test = np.unique(test.astype(np.int64))
        if test.size == 0 or test.min() < 0 or test.max() >= n_trials:
            raise ValueError(
                f"test_trials must be trial indices in [0, {n_trials - 1}], at least one, got "
                f"{test_trials!r}"
            )
    else:
        n_test = int(round(test_fraction * n_trials))
        if n_test < 1 or n_test >= n_trials:
            raise ValueError(
                f"test_fraction={test_fraction} of {n_trials} trials leaves {n_test} held-out "
                "trials; need at least one held-out and one training trial (more trials, or "
                "another test_fraction)"
            )
        perm = np.asarray(jax.random.permutation(key, n_trials))
        test = np.sort(perm[:n_test])
    train = np.setdiff1d(np.arange(n_trials), test)
    if train.size == 0:
        raise ValueError("test_trials must leave at least one training trial")
    return train, test


def fit_activity_ranks(
    activity: Float[ArrayLike, "trials time units"],
    inputs: Float[ArrayLike, "trials time inputs"],
    ranks: Sequence[int] = (1, 2, 3, 4),
    *,
    key: Key,
    test_fraction: float = 0.2,
    test_trials: Sequence[int] | None = None,
    tolerance: float = 0.01,
    mask: Float[ArrayLike, "trials time"] | None = None,
    **fit_kwargs: Any,
) -> ActivityRankSweep:
    """Fit LINT networks of several ranks and choose the rank on held-out trials.

    Each rank in `ranks` is fitted (`fit_to_activity`) to the training trials and scored by
    the explained variance of the held-out trials.

    The held-out trials are `test_trials`, or a random `test_fraction` of the trials (drawn
    from `key`). The chosen rank is the smallest whose held-out R² is within `tolerance` of the
    best held-out R² of the sweep (Valente, Pillow & Ostojic 2022, NeurIPS, pick the rank where
    the R² of their fits stops rising). `fit_kwargs` go to `fit_to_activity` (steps,
    learning_rate, readout, n_neurons, …); every rank is fitted with the same settings.
    """
    activity, inputs, weights = check_activity(activity, inputs, mask)
    ranks = check_counts(ranks, "ranks", high=activity.shape[-1])
    key = check_key(key)
    test_fraction = check_number(test_fraction, "test_fraction", low=0, high=1, low_open=True,
                                 high_open=True)
    tolerance = check_number(tolerance, "tolerance", low=0)
    for name in ("activity", "inputs", "rank", "key", "mask"):
        if name in fit_kwargs:
            raise TypeError(f"fit_activity_ranks: {name} is set by the sweep, not in fit_kwargs")
    k_split, k_fit = jax.random.split(key)
    train, test = _split(activity.shape[0], test_fraction, test_trials, k_split)
    fits, r2_train, r2_test = [], [], []
    for i, rank in enumerate(ranks):
        fit = fit_to_activity(activity[train], inputs[train], rank,
                              key=jax.random.fold_in(k_fit, i), mask=weights[train], **fit_kwargs)
        fits.append(fit)
        r2_train.append(fit.r2)
        r2_test.append(activity_r2(fit, activity[test], inputs[test], mask=weights[test]))
    r2_test = np.asarray(r2_test)
    best = np.nanmax(r2_test) if np.isfinite(r2_test).any() else np.nan
    good = [r for r, v in zip(ranks, r2_test) if np.isfinite(v) and v >= best - tolerance]
    chosen = min(good) if good else int(ranks[int(np.argmax(r2_train))])
    return ActivityRankSweep(
        ranks=np.asarray(ranks), r2_train=np.asarray(r2_train), r2_test=r2_test,
        chosen_rank=int(chosen), tolerance=float(tolerance), fits=tuple(fits),
        train_trials=train, test_trials=test,
    )
