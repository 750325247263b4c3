"""Rank sweeps: the minimal rank that solves a task (Dubreuil et al. 2022, Fig. 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from .._typing import Key
from .._validate import (
    ArgumentTypeError,
    check_finite_tree,
    check_int,
    check_key,
    check_number,
)
from ..models import LowRankRNN
from ..tasks import AbstractTask
from ..train import fit_ensemble
from ._checks import check_counts, check_task
from ._evaluate import accuracy_on, check_n_trials, draw_trials


class RankSweep(NamedTuple):
    """Accuracy `[len(ranks), n_seeds]` of networks trained at each rank.

    `minimal_rank` is the smallest rank at which the best seed reaches `threshold` (None if
    none does): a rank is enough when some network of that rank solves the task, since a
    failed seed says more about optimisation than about capacity. `models` holds the stacked
    ensemble trained at each rank.
    """

    ranks: np.ndarray
    accuracy: np.ndarray
    minimal_rank: int | None
    threshold: float
    models: tuple[Any, ...]


def rank_sweep(
    task: AbstractTask,
    ranks: Sequence[int] = (1, 2, 3),
    *,
    key: Key,
    n_seeds: int = 4,
    n_neurons: int = 128,
    steps: int = 500,
    threshold: float = 0.95,
    n_trials: int = 512,
    model_kwargs: dict | None = None,
    **fit_kwargs: Any,
) -> RankSweep:
    """Train LowRankRNNs of each rank on `task` over several seeds and score them.

    Train `n_seeds` LowRankRNNs of each rank on `task` (seeds vmapped with
    `train.fit_ensemble`) and score each on `n_trials` fresh trials.

    `model_kwargs` go to `LowRankRNN` (τ, dt, noise, train=…), `fit_kwargs` to `fit_ensemble`
    (learning_rate, batch_size, …).
    """
    task = check_task(task)
    n_neurons = check_int(n_neurons, "n_neurons", low=1)
    ranks = check_counts(ranks, "ranks", high=n_neurons)
    key = check_key(key)
    n_seeds = check_int(n_seeds, "n_seeds", low=1)
    steps = check_int(steps, "steps", low=1)
    threshold = check_number(threshold, "threshold", low=0, high=1, low_open=True)
    n_trials = check_n_trials(n_trials)
    if model_kwargs is not None and not isinstance(model_kwargs, dict):
        raise ArgumentTypeError(
            f"model_kwargs must be a dict of LowRankRNN settings or None, got "
            f"{type(model_kwargs).__name__}"
        )
    model_kwargs = dict(model_kwargs or {})
    fit_kwargs.setdefault("progress", False)
    accuracy, models = [], []
    k_train, k_eval = jax.random.split(key)
    # Every rank is scored on the same trials and noise (one draw, shared: a paired comparison).
    trials, k_noise = draw_trials(task, k_eval, n_trials)
    for i, rank in enumerate(ranks):
        def make(k, rank=rank):
            return LowRankRNN(n_neurons, rank, task.n_inputs, task.n_outputs, key=k,
                              **model_kwargs)

        keys = jax.random.split(jax.random.fold_in(k_train, i), n_seeds)
        result = fit_ensemble(make, task, keys=keys, steps=steps, **fit_kwargs)
        check_finite_tree(result.model, f"the trained rank-{rank} ensemble")
        accuracy.append(accuracy_on(result.model, task, trials, k_noise))
        models.append(result.model)
    accuracy = np.asarray(accuracy).reshape(len(ranks), n_seeds)
    solved = [r for r, acc in zip(ranks, accuracy) if np.max(acc) >= threshold]
    return RankSweep(np.asarray(ranks), accuracy, solved[0] if solved else None,
                     float(threshold), tuple(models))
