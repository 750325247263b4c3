"""Low-rank RNN (Mastrogiuseppe & Ostojic 2018; Dubreuil et al. 2022)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._nonlinearity import get_nonlinearity
from .._validate import check_int, check_key, check_number
from ._base import (
    IO_GROUPS,
    AbstractRNN,
    check_common,
    check_noise_rng,
    init_io,
    resolve_train,
)
from ._fullrank import FullRankRNN
from ._reduction import OrthonormalLatent

LOWRANK_GROUPS = ("m", "n", "input_vectors", "input_gains", "output_vectors", "output_gains")
"""The parameter groups a `LowRankRNN`'s `train=` may name (and "h0" with `learn_h0=True`)."""
# The groups trained by default (plus "h0" with `learn_h0=True`).
LOWRANK_TRAIN = ("m", "n", "input_gains", "output_gains")


class LowRankRNN(AbstractRNN):
    """A rank-R network with connectivity J = m nᵀ / N (Dubreuil et al. 2022, Nat. Neurosci.).

        x_{t+1} = x_t + α(−x_t + m nᵀ φ(x_t)/N + W_in u_t) + σ ξ_t,   z_t = φ(x_{t+1}) W_out / N

    Initialisation follows the paper: m, n, w_in ~ N(0, 1); w_out ~ N(0, 4²); gains 1.
    `train` names the parameter groups that training updates, from
    m, n, input_vectors, input_gains, output_vectors, output_gains (and h0); by default
    m, n, input_gains, output_gains. `learn_h0=True` gives the network a trainable initial
    state h0 (zeros at initialisation): the state before the first input. It is trained when
    "h0" is in `train`, which `learn_h0=True` adds to the default groups (give any other
    `train` to choose exactly). `noise_rng` picks how the noise draws ξ are made from a key
    ("fast" or "threefry"; see `simulate`).
    """

    m: Float[Array, "neurons rank"]
    n: Float[Array, "neurons rank"]
    w_in: Float[Array, "inputs neurons"]
    g_in: Float[Array, " inputs"]
    w_out: Float[Array, "neurons outputs"]
    g_out: Float[Array, " outputs"]
    h0: Float[Array, " neurons"] | None
    n_neurons: int = eqx.field(static=True)
    rank: int = eqx.field(static=True)
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

    def __init__(
        self,
        n_neurons: int,
        rank: int,
        n_inputs: int,
        n_outputs: int,
        *,
        tau: float = 100.0,
        dt: float = 20.0,
        noise_std: float = 0.05,
        nonlinearity: str = "tanh",
        train: str | Sequence[str] = LOWRANK_TRAIN,
        readout_std: float = 4.0,
        noise_rng: str = "fast",
        learn_h0: bool = False,
        key: PRNGKeyArray,
    ):
        n_neurons, n_inputs, n_outputs, tau, dt, noise_std = check_common(
            n_neurons, n_inputs, n_outputs, tau, dt, noise_std
        )
        rank = check_int(rank, "rank", low=1, high=n_neurons)
        get_nonlinearity(nonlinearity)
        self.train = resolve_train(train, LOWRANK_TRAIN, LOWRANK_GROUPS, learn_h0)
        self.readout_std = check_number(readout_std, "readout_std", low=0)
        self.noise_rng = check_noise_rng(noise_rng)
        key = check_key(key, "key")
        self.n_neurons, self.rank = n_neurons, rank
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.tau, self.dt, self.noise_std = tau, dt, noise_std
        self.nonlinearity = nonlinearity
        km, kn, ki, ko = jax.random.split(key, 4)
        self.m = jax.random.normal(km, (n_neurons, rank))
        self.n = jax.random.normal(kn, (n_neurons, rank))
        self.w_in, self.g_in, self.w_out, self.g_out = init_io(
            ki, ko, n_neurons, n_inputs, n_outputs, self.readout_std)
        self._init_h0(learn_h0)

    def recurrent(self, r: Float[Array, " neurons"]) -> Float[Array, " neurons"]:
        # J r = m (nᵀ r) / N without ever forming the N×N matrix.
        return self.m @ (r @ self.n) / self.n_neurons

    def recurrent_rows(self, r: Float[Array, "trials neurons"]) -> Float[Array, "trials neurons"]:
        # 1/N on the [trials, rank] side: the [trials, N] product (and its transpose in the
        # reverse pass of `simulate`) is then not scaled element by element.
        return ((r @ self.n) / self.n_neurons) @ self.m.T

    def connectivity(self) -> Float[Array, "neurons neurons"]:
        """The dense connectivity J = m nᵀ / N (N × N, built on each call; simulation never
        forms it)."""
        return self.m @ self.n.T / self.n_neurons

    @property
    def J(self) -> Float[Array, "neurons neurons"]:
        """Deprecated: use `connectivity()` (this property builds the N × N matrix on every
        access)."""
        warnings.warn(
            "LowRankRNN.J is deprecated: use model.connectivity() (it builds the N x N matrix "
            "m n^T / N on every access)", DeprecationWarning, stacklevel=3,
        )
        return self.connectivity()

    def reduction(self) -> OrthonormalLatent:
        """The exact (rank + n_inputs)-dimensional reduction in orthonormal coordinates of
        span([m, W_inᵀ]) (`OrthonormalLatent`): every fixed point of the network lies in that
        span, so `reduction().lift(z)` maps the reduced system's fixed points onto the
        network's. A stacked ensemble has none (a ValueError)."""
        return OrthonormalLatent(self)

    @property
    def overlaps(self) -> Float[Array, "rank rank"]:
        """The overlap matrix nᵀ m / N, whose eigenvalues are the non-zero eigenvalues of J."""
        return self.n.T @ self.m / self.n_neurons

    def _param_groups(self):
        return {"m": "m", "n": "n", **IO_GROUPS}

    def hyperparameters(self) -> dict:
        return dict(
            n_neurons=self.n_neurons,
            rank=self.rank,
            n_inputs=self.n_inputs,
            n_outputs=self.n_outputs,
            tau=self.tau,
            dt=self.dt,
            noise_std=self.noise_std,
            nonlinearity=self.nonlinearity,
            train=list(self.train),
            readout_std=self.readout_std,
            noise_rng=self.noise_rng,
            **self._h0_hyperparameters(),
        )

    def to_full_rank(
        self, *, train: str | Sequence[str] = ("J", "input_gains", "output_gains")
    ) -> FullRankRNN:
        """The same network as a `FullRankRNN` with J = m nᵀ/N (identical dynamics, the initial
        state h0 included)."""
        # Every array is replaced below, so nothing random is drawn: the constructor (with its
        # checks) runs on an abstract key under eval_shape and only its structure is kept.
        abstract_key = jax.ShapeDtypeStruct((2,), jnp.uint32)
        full = jax.eval_shape(lambda key: FullRankRNN(
            self.n_neurons,
            self.n_inputs,
            self.n_outputs,
            tau=self.tau,
            dt=self.dt,
            noise_std=self.noise_std,
            nonlinearity=self.nonlinearity,
            train=train,
            readout_std=self.readout_std,
            noise_rng=self.noise_rng,
            rho=0.0,
            learn_h0=self.learn_h0,
            key=key,
        ), abstract_key)
        full = eqx.tree_at(
            lambda f: (f.J, f.w_in, f.g_in, f.w_out, f.g_out),
            full,
            (self.connectivity(), self.w_in, self.g_in, self.w_out, self.g_out),
        )
        return full if self.h0 is None else eqx.tree_at(lambda f: f.h0, full, self.h0)
