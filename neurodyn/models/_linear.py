"""Linear rate RNN: the network whose fixed points and Jacobian are known in closed form."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validate import check_array, check_key, check_number
from ._base import (
    IO_GROUPS,
    AbstractRNN,
    check_common,
    check_noise_rng,
    init_io,
    resolve_train,
)

LINEAR_GROUPS = ("W", "input_vectors", "input_gains", "output_vectors", "output_gains")
"""The parameter groups a `LinearRNN`'s `train=` may name (and "h0" with `learn_h0=True`)."""
# The groups trained by default (plus "h0" with `learn_h0=True`).
LINEAR_TRAIN = ("W", "input_vectors", "output_vectors")


class LinearRNN(AbstractRNN):
    """A linear rate network (φ the identity):

        x_{t+1} = x_t + α(−x_t + W x_t + W_in u_t) + σ ξ_t,     z_t = x_{t+1} W_out / N

    Under a constant input u the state relaxes to

        x*(u) = (I − W)⁻¹ W_in u,      with Jacobian  ∂F/∂x = I + α(W − I)

    for the noise-free map F (stable when every eigenvalue of W has real part below 1).
    W starts as ρ times a random orthogonal matrix (every eigenvalue on the circle of radius ρ;
    Saxe, McClelland & Ganguli 2014); input and readout vectors and gains as in `LowRankRNN`.
    By default `train` is W, input_vectors and output_vectors; `learn_h0` adds a trainable
    initial state h0 as in `LowRankRNN`.
    """

    W: Float[Array, "neurons neurons"]
    w_in: Float[Array, "inputs neurons"]
    g_in: Float[Array, " inputs"]
    w_out: Float[Array, "neurons outputs"]
    g_out: Float[Array, " outputs"]
    h0: Float[Array, " neurons"] | None
    n_neurons: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    noise_std: float = eqx.field(static=True)
    noise_rng: str = eqx.field(static=True)
    train: tuple[str, ...] = eqx.field(static=True)
    learn_h0: bool = eqx.field(static=True)
    readout_std: float = eqx.field(static=True)
    rho: float = eqx.field(static=True)

    def __init__(
        self,
        n_neurons: int,
        n_inputs: int,
        n_outputs: int,
        *,
        tau: float = 100.0,
        dt: float = 20.0,
        noise_std: float = 0.05,
        train: str | Sequence[str] = LINEAR_TRAIN,
        readout_std: float = 4.0,
        noise_rng: str = "fast",
        learn_h0: bool = False,
        rho: float = 0.9,
        key: PRNGKeyArray,
    ):
        n_neurons, n_inputs, n_outputs, tau, dt, noise_std = check_common(
            n_neurons, n_inputs, n_outputs, tau, dt, noise_std
        )
        self.rho = check_number(rho, "rho", low=0)
        self.train = resolve_train(train, LINEAR_TRAIN, LINEAR_GROUPS, learn_h0)
        self.readout_std = check_number(readout_std, "readout_std", low=0)
        self.noise_rng = check_noise_rng(noise_rng)
        key = check_key(key, "key")
        self.n_neurons, self.n_inputs, self.n_outputs = n_neurons, n_inputs, n_outputs
        self.tau, self.dt, self.noise_std = tau, dt, noise_std
        kw, ki, ko = jax.random.split(key, 3)
        q, r = jnp.linalg.qr(jax.random.normal(kw, (n_neurons, n_neurons)))
        self.W = self.rho * q * jnp.sign(jnp.diag(r))[None, :]  # Haar-distributed orthogonal
        self.w_in, self.g_in, self.w_out, self.g_out = init_io(
            ki, ko, n_neurons, n_inputs, n_outputs, self.readout_std)
        self._init_h0(learn_h0)

    @property
    def nonlinearity(self) -> str:
        """Always "identity": the network is linear."""
        return "identity"

    def connectivity(self) -> Float[Array, "neurons neurons"]:
        """The connectivity W (the trained parameter itself)."""
        return self.W

    def recurrent(self, r: Float[Array, " neurons"]) -> Float[Array, " neurons"]:
        return self.W @ r

    def recurrent_rows(self, r: Float[Array, "trials neurons"]) -> Float[Array, "trials neurons"]:
        return r @ self.W.T

    def steady_state(
        self, u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " neurons"]:
        """The fixed point x*(u) = (I − W)⁻¹ W_in u under a constant input u (zeros if None)."""
        u = self.default_input() if u is None else check_array(u, "u", to="jax")
        if u.shape != (self.n_inputs,):
            raise ValueError(f"u must have shape ({self.n_inputs},), got {u.shape}")
        eye = jnp.eye(self.n_neurons, dtype=self.W.dtype)
        return jnp.linalg.solve(eye - self.W, u @ self.input_weights)

    def _param_groups(self) -> dict[str, str]:
        return {"W": "W", **IO_GROUPS}

    def hyperparameters(self) -> dict:
        return dict(n_neurons=self.n_neurons, n_inputs=self.n_inputs, n_outputs=self.n_outputs,
                    tau=self.tau, dt=self.dt, noise_std=self.noise_std, train=list(self.train),
                    readout_std=self.readout_std, noise_rng=self.noise_rng, rho=self.rho,
                    **self._h0_hyperparameters())
