"""`latent(model)`: the exact κ/v reduction of a noise-free LowRankRNN, and lift/project."""

from __future__ import annotations

from collections.abc import Sequence

from jaxtyping import Array, ArrayLike, Float, Real

from .._validate import ArgumentTypeError, check_array, check_finite_tree
from ..models import LatentDynamics, LowRankRNN
from ._checks import check_lowrank


def latent(model: LowRankRNN) -> LatentDynamics:
    """The exact (R + n_inputs)-dimensional latent system s = (κ, v) of a LowRankRNN.

        κ_{t+1} = κ_t + α(−κ_t + nᵀφ(Mκ_t + Iv_t)/N),   v_{t+1} = v_t + α(−v_t + u_t)

    with M = m and I = W_inᵀ (input gains folded in); x = Mκ + Iv. Noise is left out: with
    σ > 0 the network leaves span(M, I) and the reduction describes its noise-free skeleton.
    """
    return LatentDynamics(check_lowrank(model))


def _system(model_or_latent) -> LatentDynamics:
    if isinstance(model_or_latent, LatentDynamics):
        if model_or_latent.m.ndim != 2:
            raise ValueError(
                f"model_or_latent is a stacked batch of latent systems (m has shape "
                f"{model_or_latent.m.shape}); reduce one network at a time"
            )
        return check_finite_tree(model_or_latent, "model_or_latent")
    if not isinstance(model_or_latent, LowRankRNN):
        raise ArgumentTypeError(
            f"model_or_latent must be a LowRankRNN or its LatentDynamics "
            f"(lowrank.latent(model)), got {type(model_or_latent).__name__}"
        )
    return LatentDynamics(check_lowrank(model_or_latent, "model_or_latent"))


def _states(value, name: str, size: int, what: str):
    """A finite array `[..., size]` of real numbers, as a JAX array."""
    arr = check_array(value, name, ndim=tuple(range(1, 8)), to="jax")
    if arr.shape[-1:] != (size,):
        raise ValueError(f"{name} must have last axis {what} = {size}, got shape {arr.shape}")
    return arr


def lift(
    model_or_latent: LowRankRNN | LatentDynamics, s: Real[ArrayLike, "*batch latents"] | Sequence
) -> Float[Array, "*batch neurons"]:
    """Full states x = Mκ + Iv of latent states s = (κ, v) `[..., R + n_inputs]`."""
    system = _system(model_or_latent)
    s = _states(s, "s", system.n_states, "rank + n_inputs")
    return system.lift(s)


def project(
    model_or_latent: LowRankRNN | LatentDynamics, x: Float[ArrayLike, "*batch neurons"]
) -> Float[Array, "*batch latents"]:
    """Latent coordinates s = [M, I]⁺x of full states x `[..., N]` (least squares off span)."""
    system = _system(model_or_latent)
    x = _states(x, "x", system.n_neurons, "n_neurons")
    return system.project(x)
