"""A PSID model with measured inputs (IPSID) as a neurodyn dynamical system."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._dynamics import AbstractDynamicalSystem

if TYPE_CHECKING:  # it builds its system from this module
    from ._psid import PSID


def _float32(a, what: str) -> Array:
    """`a` as a float32 JAX array; a value beyond float32's range is a clear error, not Inf."""
    a = np.asarray(a, np.float64)
    out = a.astype(np.float32)
    lost = ~np.isfinite(out)
    if what != "model":
        lost |= (out == 0) & (a != 0)
    if lost.any():
        raise ValueError(
            f"as_system: the {what} is beyond float32's range (the system's precision): "
            f"{a[lost].ravel()[0]:.3g}; rescale the data before fitting"
        )
    return jnp.asarray(out)


def _trailing(v, ndim: int):
    """v [n] shaped to broadcast against an array of rank ndim (strict rank promotion)."""
    return v.reshape((1,) * (ndim - 1) + (-1,))


class IPSIDSystem(AbstractDynamicalSystem):
    """The steady-state Kalman predictor of an IPSID model as a discrete-time map.

    IPSID is PSID with measured inputs (Vahidi, Sani & Shanechi 2024, PNAS). The map's input is the
    neural observation and the measured input concatenated, v = [y_k; u_k] (`n_inputs` = ny + nu):

        x_{k+1} = (A − K Cy) x_k + K ỹ_k + (B − K Dy) ũ_k,
        ỹ = (y − mean_y)/scale_y,  ũ = (u − mean_u)/scale_u,   ẑ = (Cz x + Dz ũ)·scale_z + mean_z

    A missing input (`v=None`) is the training mean of both (ỹ = ũ = 0), under which the only
    fixed point is x* = 0. `readout(x, v)` and `predict_neural(x, v)` read the measured part
    of the same v (its training mean if None).
    """

    F: Float[Array, "states states"]
    K: Float[Array, "states neural"]
    G: Float[Array, "states measured"]
    Cy: Float[Array, "neural states"]
    Dy: Float[Array, "neural measured"]
    Cz: Float[Array, "behaviour states"]
    Dz: Float[Array, "behaviour measured"]
    y_mean: Float[Array, " neural"]
    y_scale: Float[Array, " neural"]
    u_mean: Float[Array, " measured"]
    u_scale: Float[Array, " measured"]
    z_mean: Float[Array, " behaviour"]
    z_scale: Float[Array, " behaviour"]

    def __init__(self, F: Array, K: Array, G: Array, Cy: Array, Dy: Array, Cz: Array,
                 Dz: Array, y_mean: Array, y_scale: Array, u_mean: Array, u_scale: Array,
                 z_mean: Array, z_scale: Array):
        # Explicit: the base class's AbstractVars (n_states, n_inputs: properties here) would
        # otherwise enter the generated __init__.
        self.F, self.K, self.G, self.Cy, self.Dy, self.Cz, self.Dz = F, K, G, Cy, Dy, Cz, Dz
        self.y_mean, self.y_scale, self.u_mean, self.u_scale = y_mean, y_scale, u_mean, u_scale
        self.z_mean, self.z_scale = z_mean, z_scale

    @classmethod
    def from_psid(cls, psid: PSID) -> IPSIDSystem:
        """The predictor of a fitted `PSID` with measured inputs."""
        m, g = psid.model, psid.model.gain
        yp, zp, up = psid.y_prep, psid.z_prep, psid.u_prep
        return cls(*(_float32(a, "model") for a in (m.A - g.K @ m.Cy, g.K, m.B - g.K @ m.Dy,
                                                     m.Cy, m.Dy, m.Cz, m.Dz)),
                   _float32(yp.mean, "mean of y"), _float32(yp.scale, "scale of y"),
                   _float32(up.mean, "mean of u"), _float32(up.scale, "scale of u"),
                   _float32(zp.mean, "mean of z"), _float32(zp.scale, "scale of z"))

    @property
    def n_states(self) -> int:
        return self.F.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.K.shape[1] + self.G.shape[1]

    @property
    def n_neural(self) -> int:
        """The number of neural channels (the first entries of the input)."""
        return self.K.shape[1]

    def default_input(self) -> Float[Array, " inputs"]:
        """The training means of the neural and the measured input, [mean_y; mean_u]."""
        return jnp.concatenate([self.y_mean, self.u_mean])

    def _measured(self, v) -> Array:
        """ũ from v = [y; u]."""
        u = jnp.asarray(v)[..., self.n_neural:]
        return (u - _trailing(self.u_mean, u.ndim)) / _trailing(self.u_scale, u.ndim)

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """One predictor step with input u = [y; u_measured] (None: both at their means)."""
        if u is None:
            return self.F @ x
        u = jnp.asarray(u)
        y_tilde = (u[: self.n_neural] - self.y_mean) / self.y_scale
        return self.F @ x + self.K @ y_tilde + self.G @ self._measured(u)

    def readout(self, x: Float[ArrayLike, "*batch states"],
                u: Float[ArrayLike, "*batch inputs"] | None = None
                ) -> Float[Array, "*batch behaviour"]:
        """Predicted behaviour ẑ = Cz x + Dz ũ (in the units of z)."""
        out = x @ self.Cz.T
        if u is not None:  # ũ = 0 otherwise
            out = out + self._measured(u) @ self.Dz.T
        return out * _trailing(self.z_scale, out.ndim) + _trailing(self.z_mean, out.ndim)

    def predict_neural(self, x: Float[ArrayLike, "*batch states"],
                       u: Float[ArrayLike, "*batch inputs"] | None = None
                       ) -> Float[Array, "*batch neural"]:
        """Predicted neural activity ŷ = Cy x + Dy ũ (in the units of y)."""
        out = x @ self.Cy.T
        if u is not None:
            out = out + self._measured(u) @ self.Dy.T
        return out * _trailing(self.y_scale, out.ndim) + _trailing(self.y_mean, out.ndim)
