"""The task interface."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ._trials import Trials


def steps(duration_ms: float, dt: float, name: str) -> int:
    """Number of whole time steps in an epoch; refuses durations that are not multiples of dt."""
    n = duration_ms / dt
    if duration_ms < 0 or abs(n - round(n)) > 1e-6:
        raise ValueError(
            f"{name} must be a non-negative multiple of dt={dt} ms, got {duration_ms} ms"
        )
    return int(round(n))


class AbstractTask(eqx.Module):
    """A cognitive task: a pure, jittable trial generator plus its evaluation.

    `sample(key, batch_size)` returns a `Trials` batch (vmapped, no Python loop over trials or
    time); `evaluate(outputs, trials)` scores network outputs the way the task's paper does and
    returns at least `accuracy`, plus per-trial `choice` and `correct`.
    """

    dt: eqx.AbstractVar[float]

    @property
    @abc.abstractmethod
    def n_inputs(self) -> int: ...

    @property
    @abc.abstractmethod
    def n_outputs(self) -> int: ...

    @property
    @abc.abstractmethod
    def n_steps(self) -> int:
        """Trial length in time steps (the maximum, for tasks with variable epochs)."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, batch_size: int) -> Trials: ...

    @abc.abstractmethod
    def evaluate(self, outputs: Float[Array, "batch time outputs"], trials: Trials) -> dict: ...

    def _check_batch_size(self, batch_size) -> int:
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(
            batch_size, (int, np.integer)
        ) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return int(batch_size)

    def _check_outputs(self, outputs, trials: Trials):
        outputs = jax.numpy.asarray(outputs)
        if outputs.shape != trials.targets.shape:
            raise ValueError(
                f"outputs must have the shape of trials.targets {trials.targets.shape} "
                f"[batch, time, n_outputs], got {outputs.shape}"
            )
        return outputs
