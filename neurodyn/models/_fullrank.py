"""Full-rank (dense) rate RNN."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._nonlinearity import get_nonlinearity
from .._validate import check_key, check_number
from ._base import (
    IO_GROUPS,
    AbstractRNN,
    check_common,
    check_noise_rng,
    init_io,
    resolve_train,
)

FULLRANK_GROUPS = ("J", "input_vectors", "input_gains", "output_vectors", "output_gains")
"""The parameter groups a `FullRankRNN`'s `train=` may name (and "h0" with `learn_h0=True`)."""
# The groups trained by default (plus "h0" with `learn_h0=True`).
FULLRANK_TRAIN = ("J", "input_gains", "output_gains")


class FullRankRNN(AbstractRNN):
    """A dense network x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t.

    J is initialised i.i.d. N(0, ρ²/N), so its spectrum fills a disc of radius ρ
    (Sompolinsky, Crisanti & Sommers 1988: ρ > 1 is chaotic for tanh). Input and readout
    vectors and gains are initialised as in `LowRankRNN`; `noise_rng` and `learn_h0` (a
    trainable initial state h0) as there. By default `train` is J, input_gains and
    output_gains (and h0 with `learn_h0=True`).
    """

    J: Float[Array, "neurons neurons"]
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
    nonlinearity: str = eqx.field(static=True)
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
        nonlinearity: str = "tanh",
        train: str | Sequence[str] = FULLRANK_TRAIN,
        readout_std: float = 4.0,
        noise_rng: str = "fast",
        learn_h0: bool = False,
        rho: float = 1.0,
        key: PRNGKeyArray,
    ):
        n_neurons, n_inputs, n_outputs, tau, dt, noise_std = check_common(
            n_neurons, n_inputs, n_outputs, tau, dt, noise_std
        )
        get_nonlinearity(nonlinearity)
        self.rho = check_number(rho, "rho", low=0)
        self.train = resolve_train(train, FULLRANK_TRAIN, FULLRANK_GROUPS, learn_h0)
        self.readout_std = check_number(readout_std, "readout_std", low=0)
        self.noise_rng = check_noise_rng(noise_rng)
        key = check_key(key, "key")
        self.n_neurons = n_neurons
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.tau, self.dt, self.noise_std = tau, dt, noise_std
        self.nonlinearity = nonlinearity
        kj, ki, ko = jax.random.split(key, 3)
        self.J = self.rho / np.sqrt(n_neurons) * jax.random.normal(kj, (n_neurons, n_neurons))
        self.w_in, self.g_in, self.w_out, self.g_out = init_io(
            ki, ko, n_neurons, n_inputs, n_outputs, self.readout_std)
        self._init_h0(learn_h0)

    def connectivity(self) -> Float[Array, "neurons neurons"]:
        """The dense connectivity J (the trained parameter itself)."""
        return self.J

    def recurrent(self, r: Float[Array, " neurons"]) -> Float[Array, " neurons"]:
        return self.J @ r

    def recurrent_rows(self, r: Float[Array, "trials neurons"]) -> Float[Array, "trials neurons"]:
        return r @ self.J.T

    def _param_groups(self):
        return {"J": "J", **IO_GROUPS}

    def hyperparameters(self) -> dict:
        return dict(
            n_neurons=self.n_neurons,
            n_inputs=self.n_inputs,
            n_outputs=self.n_outputs,
            tau=self.tau,
            dt=self.dt,
            noise_std=self.noise_std,
            nonlinearity=self.nonlinearity,
            train=list(self.train),
            readout_std=self.readout_std,
            noise_rng=self.noise_rng,
            rho=self.rho,
            **self._h0_hyperparameters(),
        )
