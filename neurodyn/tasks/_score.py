"""`Score`, what every task's `evaluate` returns, and the scoring rules the tasks share."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Shaped

from ._deprecated import item_by_name


class Score(NamedTuple):
    """The score of a batch of network outputs on a task (`task.evaluate(outputs, trials)`).

    Every task fills `accuracy` (the fraction of correct trials; NaN when, under an outer
    `jit`, some outputs were not finite), per-trial `correct` and per-trial `choice` (what the
    network answered, in the task's units). The other fields are None unless the task
    computes them:

    - `no_response` `[B]`: the network never left fixation (one-hot layouts, ReadySetGo,
      Yang19);
    - `mse`: mean squared error to the targets (FlipFlop, SineWaveGenerator; graded targets of
      DelayComparison, on the mean decision output);
    - `correlation`: correlation of the mean decision output with a graded target;
    - `step_accuracy`: fraction of scored (step, bit) entries of the right sign (FlipFlop);
    - `r2` `[B]`: per-trial R² of the output (SineWaveGenerator);
    - `rule_accuracy` `[rules]`: accuracy per rule of the task (Yang19; NaN for an absent rule).
    """

    accuracy: Float[Array, ""]
    correct: Bool[Array, " batch"]
    choice: Shaped[Array, " batch *bits"]
    no_response: Bool[Array, " batch"] | None = None
    mse: Float[Array, ""] | None = None
    correlation: Float[Array, ""] | None = None
    step_accuracy: Float[Array, ""] | None = None
    r2: Float[Array, " batch"] | None = None
    rule_accuracy: Float[Array, " rules"] | None = None

    def to_dict(self) -> dict[str, Array]:
        """`{field: value}` of the fields the task filled (not None)."""
        return {k: v for k, v in self._asdict().items() if v is not None}

    def __getitem__(self, index: int | slice | str) -> Any:
        """Tuple indexing; by field name (as the dicts of old), deprecated."""
        return item_by_name(self, index, "Score (task.evaluate's result)")


# ---------------------------------------------------------------------------------------------
# Scoring rules


def window(bounds: Shaped[Array, "batch 2"], n_steps: int) -> Float[Array, "batch time"]:
    """1.0 where start <= t < stop, `[B, T]` float32, for `bounds [B, 2]`."""
    t = jnp.arange(n_steps, dtype=jnp.int32)[None, :]
    return ((t >= bounds[:, :1]) & (t < bounds[:, 1:2])).astype(jnp.float32)


def window_mean(
    x: Float[Array, "batch time"], win: Float[Array, "#batch time"]
) -> Float[Array, " batch"]:
    """Mean of `x [B, T]` over `win [B, T]`, per trial."""
    return jnp.sum(x * win, axis=1) / jnp.maximum(jnp.sum(win, axis=1), 1.0)


def score_sign(
    outputs: Float[Array, "batch time outputs"],
    win: Float[Array, "#batch time"],
    target: Float[Array, " batch"],
) -> Score:
    """Choice = sign of the mean output (unit 0) over the decision window; correct if it is the
    sign of the target (the accuracy of Dubreuil et al. 2022)."""
    mean = window_mean(outputs[:, :, 0], win)
    choice = jnp.where(mean >= 0, 1.0, -1.0)
    correct = choice == jnp.sign(target)
    return Score(accuracy=jnp.mean(correct), choice=choice, correct=correct)


def score_onehot(
    outputs: Float[Array, "batch time outputs"],
    win: Float[Array, "#batch time"],
    label: Shaped[Array, " batch"],
) -> Score:
    """Choice = the choice unit (1..n) with the largest mean output over the decision window;
    "no_response" when the fixation unit (0) stays above every choice unit there."""
    means = jnp.sum(outputs * win[:, :, None], axis=1) / jnp.maximum(
        jnp.sum(win, axis=1, keepdims=True), 1.0
    )
    choice = jnp.argmax(means[:, 1:], axis=1) + 1
    no_response = means[:, 0] > jnp.max(means[:, 1:], axis=1)
    correct = (choice == label) & ~no_response
    return Score(
        accuracy=jnp.mean(correct), choice=choice, correct=correct, no_response=no_response
    )
