"""Losses for trained RNNs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float, Scalar

from .._validate import ArgumentTypeError
from ..tasks import Trials


def masked_mse(outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Scalar:
    """Masked mean-squared error, normalised per trial by its number of masked entries.

        L = (1/B) Σ_b  Σ_{t,o} M_bto (z_bto − y_bto)² / max(1, Σ_{t,o} M_bto)

    (the loss of Dubreuil et al. 2022, where trials of different lengths weigh the same).
    """
    if not isinstance(trials, Trials):
        raise ArgumentTypeError(f"trials must be a Trials batch, got {type(trials).__name__}")
    if np.shape(outputs) != trials.targets.shape:
        raise ValueError(
            f"outputs must have the shape of trials.targets {tuple(trials.targets.shape)}, got "
            f"{tuple(np.shape(outputs))}"
        )
    err = trials.mask * (outputs - trials.targets) ** 2
    per_trial = jnp.sum(err, axis=(1, 2)) / jnp.maximum(jnp.sum(trials.mask, axis=(1, 2)), 1.0)
    return jnp.mean(per_trial)
