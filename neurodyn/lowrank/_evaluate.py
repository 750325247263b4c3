"""Task accuracy of a network (or a stacked ensemble), on fresh noisy trials."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np

from ..models import AbstractRNN
from ..tasks import AbstractTask
from ._checks import check_count, check_finite


def _accuracy(model, trials, key, task):
    outputs = model.simulate(trials.inputs, key=key).outputs
    return task.evaluate(outputs, trials)["accuracy"]


def evaluate(model, task, *, key, n_trials: int = 512) -> float | np.ndarray:
    """Accuracy of `model` on `n_trials` trials sampled from `task`, with recurrent noise.

    A stacked ensemble (leading member axis on every array, as from `fit_ensemble`) is
    evaluated member by member on the same trials and returns an array `[E]`.
    """
    if not isinstance(model, AbstractRNN):
        raise ValueError(f"model must be a neurodyn RNN, got {type(model).__name__}")
    if not isinstance(task, AbstractTask):
        raise ValueError(f"task must be a neurodyn task, got {type(task).__name__}")
    n_trials = check_count("n_trials", n_trials, 1)
    check_finite(model)
    k_trials, k_noise = jax.random.split(key)
    trials = task.sample(k_trials, n_trials)
    stacked = model.w_in.ndim == 3
    if stacked:
        fn = eqx.filter_jit(eqx.filter_vmap(_accuracy, in_axes=(eqx.if_array(0), None, None, None)))
        return np.asarray(fn(model, trials, k_noise, task))
    return float(eqx.filter_jit(_accuracy)(model, trials, k_noise, task))
