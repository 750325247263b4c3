"""The task interface."""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._typing import Key
from .._validate import ArgumentTypeError, check_array, check_int
from ._score import Score
from ._trials import Trials

# The most time steps a trial may have. Generous (the library's tasks have 50-300 steps; a
# 10 s trial at dt = 1 ms has 10^4): it is there to turn a mistyped dt (1e-300) into a clear
# error instead of a task of 10^300 steps.
MAX_STEPS = 1_000_000
"""The most time steps a trial may have (turns a mistyped dt into a clear error)."""

# The input noise comes from a counter-based generator that addresses 2^32 draws per call
# (neurodyn/_noise.py): one batch holds at most that many input values.
MAX_INPUT_VALUES = 2**32


def too_many_steps(n: float, dt: float, what: str) -> ValueError:
    """The error for a trial (or epoch) `what` of `n` steps at time step `dt`."""
    return ValueError(
        f"dt={dt:g} ms would make {what} {n:.3g} time steps long; a trial may have at most "
        f"{MAX_STEPS} (neurodyn.tasks.MAX_STEPS): use a larger dt (ms) or shorter epochs"
    )


def steps(duration_ms: float, dt: float, name: str) -> int:
    """Number of whole time steps in an epoch; refuses durations that are not multiples of dt
    and epochs of more than `MAX_STEPS` steps."""
    n = duration_ms / dt
    if not math.isfinite(n) or n > MAX_STEPS:
        raise too_many_steps(n, dt, f"{name} ({duration_ms:g} ms)")
    if duration_ms < 0 or abs(n - round(n)) > 1e-6:
        raise ValueError(
            f"{name} must be a non-negative multiple of dt={dt} ms, got {duration_ms} ms"
        )
    return int(round(n))


class AbstractTask(eqx.Module):
    """A cognitive task: a pure, jittable trial generator plus its evaluation.

    `sample(key, batch_size)` returns a `Trials` batch (vmapped, no Python loop over trials or
    time); `evaluate(outputs, trials)` scores network outputs the way the task's paper does and
    returns a `Score`: `accuracy`, per-trial `choice` and `correct`, and what else the task
    measures.

    Every task class is either abstract (named `Abstract*`) or final: a concrete task is not
    subclassed further.
    """

    dt: eqx.AbstractVar[float]

    @property
    @abc.abstractmethod
    def n_inputs(self) -> int:
        """Number of input channels."""

    @property
    @abc.abstractmethod
    def n_outputs(self) -> int:
        """Number of output channels."""

    @property
    @abc.abstractmethod
    def n_steps(self) -> int:
        """Trial length in time steps (the maximum, for tasks with variable epochs)."""

    @abc.abstractmethod
    def sample(self, key: Key, batch_size: int) -> Trials:
        """`batch_size` random trials, drawn from `key`."""

    @abc.abstractmethod
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """The score of network `outputs` on `trials` (the task's paper's criterion)."""

    def __check_init__(self) -> None:
        n = self.n_steps
        if n > MAX_STEPS:
            raise too_many_steps(n, self.dt, "a trial")

    def _check_batch_size(self, batch_size: int) -> int:
        batch_size = check_int(batch_size, "batch_size", low=1)
        per_trial = max(1, self.n_steps * self.n_inputs)
        most = MAX_INPUT_VALUES // per_trial
        if batch_size > most:
            raise ValueError(
                f"batch_size must be at most {most} for this task, got {batch_size}: a batch of "
                f"{self.n_steps} steps x {self.n_inputs} inputs per trial would hold more than "
                "the 2**32 input values its noise generator addresses (draw several batches)"
            )
        return batch_size

    def _check_outputs(
        self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials
    ) -> Float[Array, "batch time outputs"]:
        """Eager checks of `evaluate`'s arguments: a `Trials` batch, and outputs of the shape
        of its targets with no NaN or Inf (a network that produced NaN has no score).
        Traced outputs (under an outer `jit`/`vmap`) are only checked for their shape; their
        non-finite trials are then scored as not correct and `accuracy` is NaN (`evaluator`)."""
        if not isinstance(trials, Trials):
            raise ArgumentTypeError(
                f"trials must be a neurodyn.tasks.Trials batch (from task.sample or "
                f"task.conditions), got {type(trials).__name__}"
            )
        outputs = check_array(outputs, "outputs", finite=False, to="jax")
        if outputs.shape != trials.targets.shape:
            raise ValueError(
                f"outputs must have the shape of trials.targets {trials.targets.shape} "
                f"[batch, time, n_outputs], got {outputs.shape}"
            )
        if not isinstance(outputs, jax.core.Tracer):
            bad = ~np.isfinite(np.asarray(outputs))
            if bad.any():
                trials_bad = int(bad.any(axis=(1, 2)).sum())
                raise ValueError(
                    f"outputs must be finite, got {int(bad.sum())} NaN or Inf value(s) in "
                    f"{trials_bad} of {outputs.shape[0]} trials (a network whose outputs "
                    "diverged has no score)"
                )
        return outputs
