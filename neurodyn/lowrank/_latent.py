"""`latent(model)`: the exact κ/v reduction of a noise-free LowRankRNN, and lift/project."""

from __future__ import annotations

from jaxtyping import Array, Float

from ..models._latent import LatentDynamics
from ._checks import check_lowrank


def latent(model) -> LatentDynamics:
    """The exact (R + n_inputs)-dimensional latent system s = (κ, v) of a LowRankRNN.

        κ_{t+1} = κ_t + α(−κ_t + nᵀφ(Mκ_t + Iv_t)/N),   v_{t+1} = v_t + α(−v_t + u_t)

    with M = m and I = W_inᵀ (input gains folded in); x = Mκ + Iv. Noise is left out: with
    σ > 0 the network leaves span(M, I) and the reduction describes its noise-free skeleton.
    """
    return LatentDynamics(check_lowrank(model))


def _system(model_or_latent) -> LatentDynamics:
    if isinstance(model_or_latent, LatentDynamics):
        return model_or_latent
    return latent(model_or_latent)


def lift(model_or_latent, s: Float[Array, "*batch latents"]) -> Float[Array, "*batch neurons"]:
    """Full states x = Mκ + Iv of latent states s = (κ, v) `[..., R + n_inputs]`."""
    system = _system(model_or_latent)
    if s.shape[-1:] != (system.n_latents,):
        raise ValueError(
            f"s must have last axis rank + n_inputs = {system.n_latents}, got shape {s.shape}"
        )
    return system.lift(s)


def project(model_or_latent, x: Float[Array, "*batch neurons"]) -> Float[Array, "*batch latents"]:
    """Latent coordinates s = [M, I]⁺x of full states x `[..., N]` (least squares off span)."""
    system = _system(model_or_latent)
    if x.shape[-1:] != (system.n_neurons,):
        raise ValueError(
            f"x must have last axis n_neurons = {system.n_neurons}, got shape {x.shape}"
        )
    return system.project(x)
