"""`LatentFit`: what a PSID/DPAD fit to a network's activity found, in a saveable form."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import ArrayLike, Float


class LatentFit(eqx.Module):
    """Held-out trials of a PSID or DPAD model fitted to a trained network (`nd.save`/`nd.load`).

    `latents [B, T, nx]` are the model's one-step-ahead states (the first `n1` prioritised for
    behaviour), `behaviour [B, T, nz]` the network's actual behaviour (its outputs) and
    `prediction [B, T, nz]` the model's prediction of it from the network's states.
    """

    latents: Float[ArrayLike, "trials time states"]
    behaviour: Float[ArrayLike, "trials time behaviour"]
    prediction: Float[ArrayLike, "trials time behaviour"]
    method: str = eqx.field(static=True)
    nx: int = eqx.field(static=True)
    n1: int = eqx.field(static=True)

    def __check_init__(self):
        if self.method not in ("psid", "dpad"):
            raise ValueError(f"method must be 'psid' or 'dpad', got {self.method!r}")
        if self.latents.ndim != 3 or self.latents.shape[-1] != self.nx:
            raise ValueError(f"latents must be [trials, time, nx={self.nx}], got "
                             f"{self.latents.shape}")
        if self.behaviour.shape != self.prediction.shape or self.behaviour.ndim != 3:
            raise ValueError("behaviour and prediction must both be [trials, time, behaviour]")

    def hyperparameters(self) -> dict:
        b, t, nz = self.behaviour.shape
        return {"method": self.method, "nx": self.nx, "n1": self.n1, "n_trials": b,
                "n_time": t, "n_behaviour": nz}


def skeleton(hp: dict) -> LatentFit:
    """An empty `LatentFit` of the saved shapes (for `neurodyn.load`)."""
    b, t = hp["n_trials"], hp["n_time"]
    return LatentFit(
        jnp.zeros((b, t, hp["nx"]), jnp.float32), jnp.zeros((b, t, hp["n_behaviour"]),
                                                            jnp.float32),
        jnp.zeros((b, t, hp["n_behaviour"]), jnp.float32), hp["method"], hp["nx"], hp["n1"],
    )
