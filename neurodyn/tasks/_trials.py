"""The `Trials` pytree: one batch of trials of a task."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, Float, Int


class Trials(eqx.Module):
    """A batch of trials, batch-first and time second.

    Attributes:
        inputs: `[B, T, I]` network inputs.
        targets: `[B, T, O]` desired outputs (zero where masked).
        mask: `[B, T, O]` 1 where the loss counts, 0 elsewhere.
        conditions: per-trial condition values, `{name: [B]}` (coherence, target, …).
        epochs: per-trial epoch boundaries in time steps, `{name: [B, 2]}` as [start, stop).
        dt: the time step in ms.
    """

    inputs: Float[Array, "batch time inputs"]
    targets: Float[Array, "batch time outputs"]
    mask: Float[Array, "batch time outputs"]
    conditions: dict[str, Array]
    epochs: dict[str, Int[Array, "batch 2"]]
    dt: float = eqx.field(static=True)

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def n_steps(self) -> int:
        return self.inputs.shape[1]

    @property
    def time(self) -> np.ndarray:
        """Time of each step in ms, measured at the end of the step."""
        return (np.arange(self.n_steps) + 1) * self.dt

    def __getitem__(self, index: Any) -> Trials:
        """Select trials along the batch axis (an int, slice, mask or index array)."""

        def take(x: Array) -> Array:
            out = x[index]
            return out[None] if isinstance(index, int) else out

        return jax.tree_util.tree_map(take, self)
