"""The recurrent-network base class shared by every neurodyn RNN.

All models follow the discrete-time update of Dubreuil et al. (2022), Nat. Neurosci.:

    x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t,   α = dt/τ,   ξ_t ~ N(0, I)
    z_t     = φ(x_{t+1}) W_out / N

where W_in = diag(g_in) w_in and W_out = w_out diag(g_out) carry trainable per-channel gains.
Subclasses only say how J φ(x) is computed (low-rank or dense).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._dynamics import AbstractEulerSystem
from .._noise import NOISE_RNGS
from .._validate import check_choice, check_int, check_number
from ._network import AbstractNetwork, Rollout, check_train, resolve_train
from ._scan import run_rnn

__all__ = ["AbstractRNN", "Rollout", "check_common", "check_noise_rng", "check_train", "init_io",
           "resolve_train"]


def check_common(
    n_neurons: int, n_inputs: int, n_outputs: int, tau: float, dt: float, noise_std: float
) -> tuple[int, int, int, float, float, float]:
    """Validation shared by all RNN constructors; returns the values normalised (Python ints
    and floats). Plain errors naming the argument, raised before anything is traced."""
    n_neurons = check_int(n_neurons, "n_neurons", low=1)
    n_inputs = check_int(n_inputs, "n_inputs", low=0)
    n_outputs = check_int(n_outputs, "n_outputs", low=0)
    tau = check_number(tau, "tau", low=0, low_open=True, unit="ms")
    dt = check_number(dt, "dt", low=0, low_open=True, unit="ms")
    if dt / tau > 1:
        raise ValueError(
            f"dt/tau must be <= 1 for a stable Euler update, got dt={dt} ms, tau={tau} ms "
            f"(dt/tau = {dt / tau:.3g})"
        )
    noise_std = check_number(noise_std, "noise_std", low=0)
    return n_neurons, n_inputs, n_outputs, tau, dt, noise_std


def check_noise_rng(noise_rng: str) -> str:
    return check_choice(noise_rng, "noise_rng", NOISE_RNGS)


# The `train=` names of the input and readout parameters every RNN has, and their fields.
IO_GROUPS = {"input_vectors": "w_in", "input_gains": "g_in", "output_vectors": "w_out",
             "output_gains": "g_out"}


def init_io(
    key_in: PRNGKeyArray, key_out: PRNGKeyArray, n_neurons: int, n_inputs: int, n_outputs: int,
    readout_std: float,
) -> tuple[Array, Array, Array, Array]:
    """(w_in, g_in, w_out, g_out) as Dubreuil et al. (2022) initialise them: w_in ~ N(0, 1),
    w_out ~ N(0, readout_std²), gains 1."""
    return (jax.random.normal(key_in, (n_inputs, n_neurons)), jnp.ones((n_inputs,)),
            readout_std * jax.random.normal(key_out, (n_neurons, n_outputs)),
            jnp.ones((n_outputs,)))


class AbstractRNN(AbstractEulerSystem, AbstractNetwork):
    """A rate RNN x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t with readout φ(x) W_out / N.

    Concrete models provide `recurrent(r)` (the product J r for rates r = φ(x)),
    `connectivity()` (the dense J) and the parameter fields `w_in [I, N]`, `g_in [I]`,
    `w_out [N, O]`, `g_out [O]`. A model is an `AbstractEulerSystem` on `n_states = n_neurons`
    numbers: `step(x, u)` is the noise-free map x + α D(x, u) and `vector_field(x, u)` its
    continuous-time counterpart D(x, u)/τ, with the drive D(x, u) = −x + J φ(x) + W_in u.
    With `learn_h0=True` a model has a trainable initial state `h0` [N] (zeros at
    initialisation; the group "h0" of `train=`), the state before the first input when
    `simulate` is given no `x0`.

    `simulate` differentiates through a hand-written adjoint pass (`neurodyn.models._scan`):
    reverse mode (`jax.grad`, `jax.vjp`) only; differentiate `step` for Jacobians.
    """

    n_neurons: eqx.AbstractVar[int]
    n_inputs: eqx.AbstractVar[int]
    n_outputs: eqx.AbstractVar[int]
    tau: eqx.AbstractVar[float]
    dt: eqx.AbstractVar[float]
    noise_std: eqx.AbstractVar[float]
    noise_rng: eqx.AbstractVar[str]
    nonlinearity: eqx.AbstractVar[str]
    train: eqx.AbstractVar[tuple[str, ...]]
    w_in: eqx.AbstractVar[Float[Array, "inputs neurons"]]
    g_in: eqx.AbstractVar[Float[Array, " inputs"]]
    w_out: eqx.AbstractVar[Float[Array, "neurons outputs"]]
    g_out: eqx.AbstractVar[Float[Array, " outputs"]]

    # ------------------------------------------------------------------ dynamics
    @abc.abstractmethod
    def recurrent(self, r: Float[Array, " neurons"]) -> Float[Array, " neurons"]:
        """The recurrent drive J r for a vector of rates r."""

    @abc.abstractmethod
    def connectivity(self) -> Float[Array, "neurons neurons"]:
        """The dense connectivity matrix J (N × N; for analysis, simulation never forms it)."""

    @property
    def n_states(self) -> int:
        """The state size of the dynamical system: `n_neurons`."""
        return self.n_neurons

    def default_input(self) -> Float[Array, " inputs"]:
        """Zeros in the dtype of the input weights (the input when `u` is None)."""
        return jnp.zeros((self.n_inputs,), dtype=self.w_in.dtype)

    @property
    def input_weights(self) -> Float[Array, "inputs neurons"]:
        """Effective input matrix W_in = diag(g_in) w_in."""
        return self.w_in * self.g_in[:, None]

    @property
    def readout_weights(self) -> Float[Array, "neurons outputs"]:
        """Effective readout matrix W_out = w_out diag(g_out) (applied as φ(x) W_out / N)."""
        return self.w_out * self.g_out[None, :]

    def drive(
        self, x: Float[ArrayLike, " neurons"], u: Float[ArrayLike, " inputs"]
    ) -> Float[Array, " neurons"]:
        """−x + J φ(x) + W_in u (the bracket of the update rule)."""
        return -x + self.recurrent(self.phi(x)) + u @ self.input_weights

    def readout(self, x: Float[ArrayLike, "*batch neurons"]) -> Float[Array, "*batch outputs"]:
        """Network output z = φ(x) W_out / N."""
        return self.phi(x) @ self.readout_weights / self.n_neurons

    # ---------------------------------------------------------------- simulation
    def recurrent_rows(self, r: Float[Array, "trials neurons"]) -> Float[Array, "trials neurons"]:
        """J r for each row of a [trials, N] matrix of rates (subclasses give a matmul form)."""
        return jax.vmap(self.recurrent)(r)

    def _simulate_core(self, inputs, x0, xi, words, with_states=True) -> Rollout:
        batch_shape = inputs.shape[:-2]
        n_steps, n = inputs.shape[-2], self.n_neurons
        n_trials = int(np.prod(batch_shape))  # explicit: reshape(-1) fails when n_inputs = 0
        # Time-major loop over [trials, N] states: no per-trial vmap of the scan, so no
        # [B, T, N] transposes, and the readout below works on the time-major states.
        u_tm = jnp.swapaxes(inputs.reshape((n_trials,) + inputs.shape[-2:]), 0, 1)
        flat_x0 = x0.reshape((n_trials, n))
        if xi is not None:
            xi = jnp.swapaxes(xi.reshape((n_trials, n_steps, n)), 0, 1)
        states_tm, outputs_tm = run_rnn((self, flat_x0, u_tm, xi), words, with_states)

        def batch_major(a):
            return jnp.swapaxes(a, 0, 1).reshape(batch_shape + a.shape[:1] + a.shape[2:])

        states = None if states_tm is None else batch_major(states_tm)
        return Rollout(states=states, outputs=batch_major(outputs_tm))

    def _check_weight_shapes(self) -> None:
        """The weights fit the sizes (refuses, e.g., a stacked ensemble: shapes only, so this
        is free inside jit and vmap)."""
        n, n_in, n_out = self.n_neurons, self.n_inputs, self.n_outputs
        for field, shape in (("w_in", (n_in, n)), ("g_in", (n_in,)),
                             ("w_out", (n, n_out)), ("g_out", (n_out,))):
            got = tuple(jnp.shape(getattr(self, field)))
            if got != shape:
                raise ValueError(
                    f"model: {field} has shape {got} where a {type(self).__name__} of "
                    f"n_neurons={n}, n_inputs={n_in}, n_outputs={n_out} has {shape} (a stacked "
                    "ensemble? pick a member with neurodyn.train.member(model, i) or simulate "
                    "the members under eqx.filter_vmap)"
                )
        self._check_h0_shape()

    def _param_dtype(self) -> jnp.dtype:
        return self.w_in.dtype
