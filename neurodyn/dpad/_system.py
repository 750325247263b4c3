"""Fitted PSID and DPAD models as neurodyn dynamical systems: `step(x, u)` with the neural
observation as the input u (for a DPAD model fitted with measured inputs, u = [y; u_measured]),
so the fixed-point finder and flow-field plots apply to them.

For u held at a constant activity level (by default the training mean), the fixed points of
x ↦ step(x, u) are the latent states the model settles in under that input.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._dynamics import AbstractDynamicalSystem
from ._model import Recursion

if TYPE_CHECKING:  # both build their systems from this module
    from ._dpad import DPAD
    from ._psid import PSID


def _float32(a, what: str):
    """`a` as a float32 JAX array; a value beyond float32's range is a clear error, not Inf (nor
    0, for the data's means and scales; tiny model entries may round to 0)."""
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


class LinearSystem(AbstractDynamicalSystem):
    """The steady-state Kalman predictor of a PSID model as a discrete-time map:

        x_{k+1} = (A − K Cy) x_k + K ỹ_k,    ỹ = (y − mean_y)/scale_y,
        ẑ = Cz x · scale_z + mean_z

    A missing input (`u=None`) is the training mean of y (ỹ = 0).
    """

    F: Float[Array, "states states"]
    K: Float[Array, "states inputs"]
    Cy: Float[Array, "inputs states"]
    Cz: Float[Array, "behaviour states"]
    y_mean: Float[Array, " inputs"]
    y_scale: Float[Array, " inputs"]
    z_mean: Float[Array, " behaviour"]
    z_scale: Float[Array, " behaviour"]

    def __init__(self, F: Array, K: Array, Cy: Array, Cz: Array, y_mean: Array,
                 y_scale: Array, z_mean: Array, z_scale: Array):
        # Explicit: the base class's AbstractVars (n_states, n_inputs, here properties) would
        # otherwise enter the generated __init__.
        self.F, self.K, self.Cy, self.Cz = F, K, Cy, Cz
        self.y_mean, self.y_scale, self.z_mean, self.z_scale = y_mean, y_scale, z_mean, z_scale

    @classmethod
    def from_psid(cls, psid: PSID) -> LinearSystem:
        m, g = psid.model, psid.model.gain
        yp, zp = psid.y_prep, psid.z_prep
        return cls(_float32(m.A - g.K @ m.Cy, "model"), _float32(g.K, "model"),
                   _float32(m.Cy, "model"), _float32(m.Cz, "model"),
                   _float32(yp.mean, "mean of y"), _float32(yp.scale, "scale of y"),
                   _float32(zp.mean, "mean of z"), _float32(zp.scale, "scale of z"))

    @property
    def n_states(self) -> int:
        return self.F.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.K.shape[1]

    def default_input(self) -> Float[Array, " inputs"]:
        """The training mean of the neural input."""
        return self.y_mean

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """One predictor step; u = None holds the neural input at its training mean."""
        if u is None:  # ỹ = 0 exactly
            return self.F @ x
        return self.F @ x + self.K @ ((u - self.y_mean) / self.y_scale)

    def readout(self, x: Float[ArrayLike, "*batch states"]) -> Float[Array, "*batch behaviour"]:
        """Predicted behaviour ẑ = Cz x (in the units of z)."""
        out = x @ self.Cz.T
        return out * _trailing(self.z_scale, out.ndim) + _trailing(self.z_mean, out.ndim)

    def predict_neural(self, x: Float[ArrayLike, "*batch states"]) -> Float[Array, "*batch inputs"]:
        """Predicted neural activity ŷ = Cy x (in the units of y)."""
        out = x @ self.Cy.T
        return out * _trailing(self.y_scale, out.ndim) + _trailing(self.y_mean, out.ndim)


class DPADSystem(AbstractDynamicalSystem):
    """A fitted DPAD model's latent recursion on x = [x1; x2], a discrete-time map:

        x1_{k+1} = A1(x1_k) + K1(ỹ_k),    x2_{k+1} = A2(x2_k) + K2(ỹ_k, x1_{k+1})

    with ỹ the normalised neural input (a missing input, `u=None`, is the training mean of y:
    ỹ = 0). `readout(x)` gives the behaviour (class probabilities for categorical behaviour)
    and `predict_neural(x)` the neural prediction.

    For a model fitted with `n_measured` = nu measured inputs, the system's input is the neural
    observation and the measured input concatenated, u = [y_k; u_k] (`n_inputs` = ny + nu), and
    every map also takes the normalised measured input ũ_k: x1_{k+1} = A1(x1_k, ũ_k) +
    K1(ỹ_k, ũ_k), x2_{k+1} = A2(x2_k, ũ_k) + K2(ỹ_k, x1_{k+1}, ũ_k); `readout(x, u)` and
    `predict_neural(x, u)` then read the measured part of the same u (its training mean if
    None).
    """

    rec1: Recursion | None
    Cy1: eqx.Module | None
    rec2: Recursion | None
    Cz2: eqx.Module | None
    y_mean: Float[Array, " neural"]
    y_scale: Float[Array, " neural"]
    z_mean: Float[Array, " behaviour"]
    z_scale: Float[Array, " behaviour"]
    u_mean: Float[Array, " measured"]
    u_scale: Float[Array, " measured"]
    n1: int = eqx.field(static=True)
    n2: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    z_kind: str = eqx.field(static=True)
    y_kind: str = eqx.field(static=True)
    n_measured: int = eqx.field(static=True)

    def __init__(self, rec1: Recursion | None, Cy1: eqx.Module | None, rec2: Recursion | None,
                 Cz2: eqx.Module | None, y_mean: Array, y_scale: Array, z_mean: Array,
                 z_scale: Array, n1: int, n2: int, n_inputs: int, z_kind: str, y_kind: str,
                 u_mean: Array | None = None, u_scale: Array | None = None):
        # Explicit: `n_inputs` satisfies the base class's AbstractVar, which would otherwise
        # move it to the front of the generated __init__'s arguments. n_inputs = ny + nu.
        self.rec1, self.Cy1, self.rec2, self.Cz2 = rec1, Cy1, rec2, Cz2
        self.y_mean, self.y_scale, self.z_mean, self.z_scale = y_mean, y_scale, z_mean, z_scale
        self.u_mean = jnp.zeros((0,)) if u_mean is None else u_mean
        self.u_scale = jnp.ones((0,)) if u_scale is None else u_scale
        self.n1, self.n2, self.n_inputs = n1, n2, n_inputs
        self.n_measured = int(self.u_mean.shape[0])
        self.z_kind, self.y_kind = z_kind, y_kind

    @classmethod
    def from_dpad(cls, dpad: DPAD) -> DPADSystem:
        norm = dpad.norm
        to = lambda t: jax.tree_util.tree_map(jnp.asarray, t)  # noqa: E731
        n_z = norm.n_z_out
        z_mean = np.zeros(n_z) if norm.z is None else norm.z.mean
        z_scale = np.ones(n_z) if norm.z is None else norm.z.scale
        u_mean = u_scale = None
        if norm.u is not None:
            u_mean = _float32(norm.u.mean, "mean of u")
            u_scale = _float32(norm.u.scale, "scale of u")
        m = dpad.modules
        return cls(to(m.rec1), to(m.Cy1), to(m.rec2), to(m.Cz2),
                   _float32(norm.y.mean, "mean of y"), _float32(norm.y.scale, "scale of y"),
                   _float32(z_mean, "mean of z"), _float32(z_scale, "scale of z"),
                   dpad.n1, dpad.nx - dpad.n1, dpad.ny + norm.n_measured, norm.z_kind,
                   norm.y_kind, u_mean, u_scale)

    @property
    def n_states(self) -> int:
        return self.n1 + self.n2

    @property
    def n_neural(self) -> int:
        """The number of neural channels (the first entries of the input)."""
        return self.n_inputs - self.n_measured

    def default_input(self) -> Float[Array, " inputs"]:
        """The training mean of the neural input (and of the measured input, if any)."""
        return jnp.concatenate([self.y_mean, self.u_mean])

    def _measured(self, u, batch: tuple[int, ...]):
        """The normalised measured part ũ of inputs u [*, ny + nu], as [prod(batch), nu]."""
        if u is None:
            m = jnp.zeros((self.n_measured,))
        else:
            u = jnp.asarray(u)
            m = (u[..., self.n_neural:] - _trailing(self.u_mean, u.ndim)) \
                / _trailing(self.u_scale, u.ndim)
        m = jnp.broadcast_to(m, batch + (self.n_measured,))
        return m.reshape((math.prod(batch), self.n_measured))

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """One step of the latent recursion; u = None holds the inputs at their training mean."""
        if u is None:
            y = jnp.zeros((self.n_neural,))
        else:
            y = (u[: self.n_neural] - self.y_mean) / self.y_scale
        extra = [] if self.n_measured == 0 else [self._measured(u, ())[0]]
        x = jnp.asarray(x)
        x1, x2 = x[: self.n1], x[self.n1:]
        parts = []
        x1n = jnp.zeros((0,))
        if self.rec1 is not None:
            x1n = self.rec1.step(x1, jnp.concatenate([y, *extra]) if extra else y)
            parts.append(x1n)
        if self.rec2 is not None:
            parts.append(self.rec2.step(x2, jnp.concatenate([y, x1n, *extra])))
        return jnp.concatenate(parts)

    def _with_u(self, s, m):
        return s if self.n_measured == 0 else jnp.concatenate([s, m])

    def _behaviour_out(self, x, m):
        out = 0.0
        if self.rec1 is not None:
            out = out + self.rec1.C(self._with_u(x[: self.n1], m))
        if self.Cz2 is not None:
            out = out + self.Cz2(self._with_u(x[self.n1:], m))
        return out

    def readout(
        self, x: Float[ArrayLike, "*batch states"],
        u: Float[ArrayLike, "*ubatch inputs"] | None = None,
    ) -> Float[Array, "*batch behaviour"]:
        """Predicted behaviour (or class probabilities) from latent states.

        For a model with measured inputs, `u` is the input [y; u] of `step`: only its measured
        part is read (None holds it at its training mean)."""
        flat = x.reshape((-1, x.shape[-1]))
        out = jax.vmap(self._behaviour_out)(flat, self._measured(u, x.shape[:-1]))
        if self.z_kind == "categorical":
            out = jax.nn.softmax(out, axis=-1)
        else:
            out = out * self.z_scale[None] + self.z_mean[None]
        return out.reshape(x.shape[:-1] + (out.shape[-1],))

    def predict_neural(
        self, x: Float[ArrayLike, "*batch states"],
        u: Float[ArrayLike, "*ubatch inputs"] | None = None,
    ) -> Float[Array, "*batch neural"]:
        """Predicted neural activity (rates for Poisson data) from latent states.

        `u` as `readout` takes it (for a model with measured inputs)."""
        def one(s, m):
            eta = jnp.zeros((self.n_neural,))
            if self.Cy1 is not None:
                eta = eta + self.Cy1(self._with_u(s[: self.n1], m))
            if self.rec2 is not None:
                eta = eta + self.rec2.C(self._with_u(s[self.n1:], m))
            return eta

        eta = jax.vmap(one)(x.reshape((-1, x.shape[-1])), self._measured(u, x.shape[:-1]))
        if self.y_kind == "poisson":
            out = jnp.exp(eta)
        else:
            out = eta * self.y_scale[None] + self.y_mean[None]
        return out.reshape(x.shape[:-1] + (out.shape[-1],))
