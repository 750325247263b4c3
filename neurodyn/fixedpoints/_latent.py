"""`find(model, ..., latent=True)`: search a LowRankRNN's exact latent reduction.

Every fixed point of x ↦ x + α(−x + m nᵀφ(x)/N + W_in u) lies in span(B), B = [m, W_inᵀ]
(it equals m nᵀφ(x*)/N + W_in u), and the network maps that span into itself, so the search can
run in R + n_inputs dimensions (`neurodyn.lowrank.latent`, Beiran et al. 2021). The latent
coordinates s of that system are oblique (x = B s); the search here uses orthonormal
coordinates of the same span, z = S Vᵀ s with B = U S Vᵀ (x = U z), so that q, distances and
tolerances mean exactly what they mean for the network: ½‖F(x) − x‖² = ½‖G(z) − z‖² and
‖x₁ − x₂‖ = ‖z₁ − z₂‖.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..models import LowRankRNN


class OrthonormalLatent(eqx.Module):
    """The latent system of a LowRankRNN in orthonormal coordinates z of span([m, W_inᵀ])."""

    latent: eqx.Module
    z_to_s: jnp.ndarray  # [K, L]: s = z @ z_to_s (minimum-norm latent coordinates)
    s_to_z: jnp.ndarray  # [L, K]: z = s @ s_to_z
    basis: jnp.ndarray  # [N, K] orthonormal: x = basis @ z
    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    tau: float = eqx.field(static=True)

    def __init__(self, model: LowRankRNN):
        from ..models._latent import LatentDynamics

        if not isinstance(model, LowRankRNN) or model.m.ndim != 2:
            raise ValueError(f"model must be one LowRankRNN, got {type(model).__name__}")

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

    def step(self, z, u=None):
        return self.latent.step(z @ self.z_to_s, u) @ self.s_to_z

    def vector_field(self, z, u=None):
        return self.latent.vector_field(z @ self.z_to_s, u) @ self.s_to_z

    def lift(self, z):
        return z @ self.basis.T

    def project(self, x):
        return x @ self.basis


def find_latent(model, initial_states, inputs, *, filter, max_q, tol_unique, outlier_distance,
                jacobians, latent, **kwargs):
    """`find` on the orthonormal latent system, with the points lifted to the network.

    The filters run on the lifted points, against the network's own starting states: an
    outlier is judged by the spread of the starts in the full state space (their projections
    onto the latent span spread far less, and would make every point off the origin an
    outlier). ‖z‖ = ‖x‖, so the convergence test means the same in both."""
    from ._filters import apply_filters, q_limits
    from ._find import find
    from ._jacobian import decompose
    from ._system import check_states

    if not isinstance(model, LowRankRNN):
        raise ValueError(
            f"system: latent=True needs a LowRankRNN (the reduction is exact for low-rank "
            f"networks), got {type(model).__name__}"
        )
    if model.m.ndim != 2:
        raise ValueError("system: latent=True needs one network, not a stacked ensemble")
    x0 = check_states(model, initial_states)
    system = OrthonormalLatent(model)
    fz = find(system, system.project(x0), inputs, filter=False, jacobians=False, **kwargs)
    fps = dataclasses.replace(
        fz, xstar=system.lift(fz.xstar), initial_states=x0, dt=float(model.dt)
    )
    if filter:
        limit = q_limits(fz.xstar, fz.report.tol_q, fz.report.rtol) if max_q is None else max_q
        fps = apply_filters(fps, q_limit=limit, tol_unique=tol_unique,
                            outlier_distance=outlier_distance)
    return decompose(model, fps) if jacobians else fps
