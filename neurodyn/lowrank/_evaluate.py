"""Task accuracy of a network (or a stacked ensemble), on fresh noisy trials."""

from __future__ import annotations

import warnings
from typing import Any

import equinox as eqx
import jax
import numpy as np

from .._typing import Key
from .._validate import check_int, check_key
from ..models import AbstractRNN
from ..tasks import AbstractTask, Trials
from ._checks import check_rnn, check_task


def check_n_trials(n_trials: int) -> int:
    return check_int(n_trials, "n_trials", low=1)


def _accuracy(model, trials, key, task):
    outputs = model.simulate(trials.inputs, key=key).outputs
    return task.evaluate(outputs, trials).accuracy


def draw_trials(task: AbstractTask, key: Key, n_trials: int) -> tuple[Trials, Key]:
    """The trials and the noise key of one evaluation: `key` is split once, into both."""
    k_trials, k_noise = jax.random.split(key)
    return task.sample(k_trials, n_trials), k_noise


def accuracy_on(model: AbstractRNN, task: AbstractTask, trials: Trials, k_noise: Key
                ) -> np.float64 | np.ndarray:
    """Accuracy of `model` on given trials and noise, of shape `*members`: a NumPy float64
    scalar (shape ()) for one network, an array `[E]` for a stacked ensemble."""
    stacked = model.w_in.ndim == 3
    if stacked:
        fn = eqx.filter_jit(eqx.filter_vmap(_accuracy, in_axes=(eqx.if_array(0), None, None, None)))
        return np.asarray(fn(model, trials, k_noise, task))
    return np.float64(eqx.filter_jit(_accuracy)(model, trials, k_noise, task))


def accuracy(model: AbstractRNN, task: AbstractTask, *, key: Key, n_trials: int = 512
             ) -> np.float64 | np.ndarray:
    """Accuracy of `model` on `n_trials` trials sampled from `task`, with recurrent noise.

    NumPy values of shape `*members`, as NumPy's own reductions give: a float64 scalar (shape
    (), also a Python float) for one network; for a stacked ensemble (leading member axis on
    every array, as from `fit_ensemble`) an array `[E]`, member by member on the same trials
    and noise.
    """
    model = check_rnn(model)
    task = check_task(task)
    n_trials = check_n_trials(n_trials)
    key = check_key(key)
    trials, k_noise = draw_trials(task, key, n_trials)
    return accuracy_on(model, task, trials, k_noise)


def evaluate(*args: Any, **kwargs: Any) -> np.float64 | np.ndarray:
    """Deprecated alias of `accuracy`."""
    warnings.warn("neurodyn.lowrank.evaluate is deprecated: use lowrank.accuracy",
                  DeprecationWarning, stacklevel=2)
    return accuracy(*args, **kwargs)
