"""The DPAD latent model (Sani, Pesaran & Shanechi 2024, Nat. Neurosci. 27, 2033–2045), as pure
functions.

In predictor form, with y the (normalised) neural activity and z the behaviour:

    x1_{k+1} = A1(x1_k) + K1(y_k)                     behaviour-prioritised states (step 1)
    x2_{k+1} = A2(x2_k) + K2(y_k, x1_{k+1})           the remaining neural dynamics (step 3)
    ŷ_k = Cy1(x1_k) + Cy2(x2_k)                        (Cy1: step 2, Cy2: step 3)
    ẑ_k = Cz1(x1_k) + Cz2(x2_k)                        (Cz1: step 1, Cz2: optional step 4)

With measured inputs u (a stimulus, a task cue: known, never predicted), every map also receives
u_k: A1(x1_k, u_k) + K1(y_k, u_k), A2(x2_k, u_k) + K2(y_k, x1_{k+1}, u_k), and the readouts
Cy1(x1_k, u_k), Cz1(x1_k, u_k), Cy2(x2_k, u_k), Cz2(x2_k, u_k). In the linear case this is the
Kalman predictor of x_{k+1} = A x_k + B u_k + w, y_k = Cy x_k + Dy u_k + v, z_k = Cz x_k + Dz u_k
+ ε: x_{k+1} = (A − K Cy) x_k + K y_k + (B − K Dy) u_k, ŷ = Cy x + Dy u, ẑ = Cz x + Dz u (the
DPAD package's input option; Sani, Pesaran & Shanechi 2024, Methods).

ŷ is the mean of y (Gaussian) or its log-rate (Poisson counts); ẑ is the behaviour (continuous) or
its class logits (categorical). Losses are masked means over valid samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._checks import by_name
from ._maps import Map

Batch = dict[str, Array]
"""A training minibatch: named arrays `[blocks, block_len, ·]` (see `_fitting`)."""


class Recursion(eqx.Module):
    """x_{k+1} = A(x_k) + K(v_k) with readout C(x_k); v_k = y_k, or [y_k, x1_{k+1}] for x2.

    With `n_measured` > 0 the last `n_measured` entries of v_k are the measured input u_k, which
    A and C also receive: x_{k+1} = A(x_k, u_k) + K(v_k), readout C(x_k, u_k)."""

    A: Map
    K: Map
    C: Map
    n_states: int = eqx.field(static=True)
    n_measured: int = eqx.field(static=True, default=0)

    def _with_u(self, x, v):
        if self.n_measured == 0:
            return x
        return jnp.concatenate([x, v[..., v.shape[-1] - self.n_measured:]], axis=-1)

    def states(
        self, v: Float[ArrayLike, "time inputs"]
    ) -> tuple[Float[Array, "time states"], Float[Array, "time states"]]:
        """(x_k, x_{k+1}) for k = 0…T−1 from x_0 = 0: the predicted and the next state."""

        def body(x, vk):
            x_next = self.A(self._with_u(x, vk)) + self.K(vk)
            return x_next, (x, x_next)

        _, (x, x_next) = jax.lax.scan(body, jnp.zeros((self.n_states,)), v)
        return x, x_next

    def step(
        self, x: Float[ArrayLike, " states"], v: Float[ArrayLike, " inputs"]
    ) -> Float[Array, " states"]:
        return self.A(self._with_u(x, v)) + self.K(v)

    def read(
        self, x: Float[ArrayLike, " states"], v: Float[ArrayLike, " inputs"]
    ) -> Float[Array, " outputs"]:
        """The readout C(x_k) (C(x_k, u_k) with measured inputs) at one time step."""
        return self.C(self._with_u(x, v))

    def outputs(self, v: Float[ArrayLike, "time inputs"]) -> Float[Array, "time outputs"]:
        """The readouts C(x_k[, u_k]) along the states driven by v from x_0 = 0."""
        x, _ = self.states(v)
        if self.n_measured == 0:
            return readout(self.C, x)
        return jax.vmap(self.read)(x, v)


class Readout(eqx.Module):
    """A readout trained on frozen states (steps 2 and 4): out = offset + C(x)."""

    C: Map


class DPADModules(NamedTuple):
    """The fitted maps of a DPAD model: the recursions and readouts of its two sections.

    Each is None where its section is absent: the behaviour recursion `rec1` (A1, K1, Cz1), its
    neural readout `Cy1`, the neural recursion `rec2` (A2, K2, Cy2) and its behaviour readout
    `Cz2`."""

    rec1: Recursion | None
    Cy1: Map | None
    rec2: Recursion | None
    Cz2: Map | None

    def __getitem__(self, key: Any) -> Any:  # modules["rec1"]: deprecated, use modules.rec1
        return by_name(self, key)


def readout(C: Map, x: Float[ArrayLike, "time states"]) -> Array:
    return jax.vmap(C)(x)


@dataclass(frozen=True)
class LossFn:
    """`fn(model, batch, kind)` as a hashable callable, so compiled training programs are reused."""

    fn: Callable
    kind: str

    def __call__(self, model: eqx.Module, batch: Batch) -> Float[Array, ""]:
        return self.fn(model, batch, self.kind)


# ----------------------------------------------------------------------- losses
def _masked_mean(values, mask):
    return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def neural_loss(eta: Array, y: Array, mask: Array, kind: str) -> Float[Array, ""]:
    """Gaussian: mean squared error; Poisson: negative log-likelihood exp(η) − y η, η = log rate."""
    if kind == "poisson":
        eta = jnp.clip(eta, -20.0, 20.0)
        per = jnp.exp(eta) - y * eta
    else:
        per = (eta - y) ** 2
    return _masked_mean(per, mask[..., None] * jnp.ones_like(per))


def behaviour_loss(pred: Array, z: Array, mask: Array, kind: str) -> Float[Array, ""]:
    """Continuous: masked mean squared error; categorical: masked cross-entropy of the logits."""
    if kind == "categorical":
        logp = jax.nn.log_softmax(pred, axis=-1)
        labels = jnp.clip(z[..., 0], 0, pred.shape[-1] - 1)
        nll = -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
        return _masked_mean(nll, mask[..., 0])
    return _masked_mean((pred - jnp.where(mask > 0, z, 0.0)) ** 2, mask)


# ------------------------------------------------------------ losses per step
def loss_step1(rec: Recursion, batch: Batch, z_kind: str) -> Float[Array, ""]:
    def one(y_in, z, z_mask):
        return rec.outputs(y_in), z, z_mask

    pred, z, z_mask = jax.vmap(one)(batch["y_in"], batch["z"], batch["z_mask"])
    return behaviour_loss(pred, z, z_mask, z_kind)


def loss_readout_y(ro: Readout, batch: Batch, y_kind: str) -> Float[Array, ""]:
    eta = batch["y_offset"] + jax.vmap(lambda x: readout(ro.C, x))(batch["x"])
    return neural_loss(eta, batch["y_tgt"], batch["y_mask"], y_kind)


def loss_step3(rec: Recursion, batch: Batch, y_kind: str) -> Float[Array, ""]:
    eta = batch["y_offset"] + jax.vmap(rec.outputs)(batch["u2"])
    return neural_loss(eta, batch["y_tgt"], batch["y_mask"], y_kind)


def loss_readout_z(ro: Readout, batch: Batch, z_kind: str) -> Float[Array, ""]:
    pred = batch["z_offset"] + jax.vmap(lambda x: readout(ro.C, x))(batch["x"])
    return behaviour_loss(pred, batch["z"], batch["z_mask"], z_kind)
