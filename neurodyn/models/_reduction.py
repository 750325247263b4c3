"""`OrthonormalLatent`: the exact reduction of a LowRankRNN in orthonormal coordinates.

Every fixed point of x ↦ x + α(−x + m nᵀφ(x)/N + W_in u) lies in span(B), B = [m, W_inᵀ]
(it equals m nᵀφ(x*)/N + W_in u), and the network maps that span into itself, so its fixed
points can be searched in R + n_inputs dimensions (`LatentDynamics`, Beiran et al. 2021). The
latent coordinates s of that system are oblique (x = B s); here the same span is given
orthonormal coordinates, z = S Vᵀ s with B = U S Vᵀ (x = U z), so that q, distances and
tolerances mean exactly what they mean for the network: ½‖F(x) − x‖² = ½‖G(z) − z‖² and
‖x₁ − x₂‖ = ‖z₁ − z₂‖. `LowRankRNN.reduction()` returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._dynamics import AbstractDynamicalSystem
from ._latent import LatentDynamics

if TYPE_CHECKING:  # LowRankRNN imports this module (for its `reduction`)
    from ._lowrank import LowRankRNN


class OrthonormalLatent(AbstractDynamicalSystem):
    """The latent system of a LowRankRNN in orthonormal coordinates z of span([m, W_inᵀ]):

        step(z, u) = latent.step(z Z, u) S,     lift(z) = U z,     project(x) = Uᵀ x

    with s = z Z the minimum-norm latent coordinates (Z = `z_to_s`, S = `s_to_z`) and U
    (`basis`, N × K) orthonormal. `lift` maps reduced states to the network's, `project` the
    network's states to reduced coordinates (exact on the span, its orthogonal projection off it).
    """

    latent: LatentDynamics
    z_to_s: Float[Array, "reduced latents"]  # s = z @ z_to_s (minimum-norm latent coordinates)
    s_to_z: Float[Array, "latents reduced"]  # z = s @ s_to_z
    basis: Float[Array, "neurons reduced"]  # orthonormal: x = basis @ z
    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    tau: float = eqx.field(static=True)

    continuous: ClassVar[bool] = True

    def __init__(self, model: LowRankRNN):
        self.latent = LatentDynamics(model)
        b = np.asarray(self.latent.basis, np.float64)
        u, s, vt = np.linalg.svd(b, full_matrices=False)
        k = int(np.sum(s > s.max() * max(b.shape) * np.finfo(np.float32).eps))
        u, s, vt = u[:, :k], s[:k], vt[:k]
        dtype = self.latent.m.dtype
        self.basis = jnp.asarray(u, dtype)
        self.s_to_z = jnp.asarray(vt.T * s[None, :], dtype)
        self.z_to_s = jnp.asarray(vt.T / s[None, :], dtype).T
        self.n_states, self.n_inputs, self.dt = k, model.n_inputs, float(model.dt)
        self.tau = float(model.tau)

    def default_input(self) -> Float[Array, " inputs"]:
        return self.latent.default_input()

    def step(
        self, z: Float[ArrayLike, " reduced"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " reduced"]:
        """The network's noise-free update in the reduced coordinates."""
        return self.latent.step(z @ self.z_to_s, u) @ self.s_to_z

    def vector_field(
        self, z: Float[ArrayLike, " reduced"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " reduced"]:
        """The network's vector field in the reduced coordinates (1/ms)."""
        return self.latent.vector_field(z @ self.z_to_s, u) @ self.s_to_z

    def lift(self, z: Float[ArrayLike, "*batch reduced"]) -> Float[Array, "*batch neurons"]:
        """Network states x = U z of reduced states z."""
        return z @ self.basis.T

    def project(self, x: Float[ArrayLike, "*batch neurons"]) -> Float[Array, "*batch reduced"]:
        """Reduced coordinates z = Uᵀ x of network states x."""
        return x @ self.basis
