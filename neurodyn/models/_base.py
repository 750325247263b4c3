"""The recurrent-network base class shared by every neurodyn RNN.

All models follow the discrete-time update of Dubreuil et al. (2022), Nat. Neurosci.:

    x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t,   α = dt/τ,   ξ_t ~ N(0, I)
    z_t     = φ(x_{t+1}) W_out / N

where W_in = diag(g_in) w_in and W_out = w_out diag(g_out) carry trainable per-channel gains.
Subclasses only say how J φ(x) is computed (low-rank or dense).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._dynamics import AbstractEulerSystem
from .._noise import NOISE_RNGS, check_stream_size, stream_key
from .._validate import (
    ArgumentTypeError,
    check_array,
    check_bool,
    check_choice,
    check_finite_tree,
    check_int,
    check_key,
    check_number,
)
from ._scan import run_rnn


class Rollout(NamedTuple):
    """A simulated trajectory: `states[..., T, N]` (x after each update; None when simulated
    with `states=False`), `outputs[..., T, O]`."""

    states: Float[Array, "*batch time neurons"] | None
    outputs: Float[Array, "*batch time outputs"]


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


def check_train(train: str | Iterable[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Normalise the `train=` argument (a group name or a collection of them) to a sorted
    tuple of known parameter groups."""
    if isinstance(train, str):
        train = (train,)
    if not isinstance(train, Iterable) or isinstance(train, (bytes, Mapping)):
        raise ArgumentTypeError(
            f"train must be a parameter group name or a sequence of them from {list(allowed)}, "
            f"got {type(train).__name__} {train!r}"
        )
    train = tuple(train)
    odd = [name for name in train if not isinstance(name, str)]
    if odd:
        raise ArgumentTypeError(
            f"train must hold parameter group names (strings) from {list(allowed)}, got {odd!r}"
        )
    train = tuple(sorted(set(train)))
    unknown = [name for name in train if name not in allowed]
    if unknown:
        raise ValueError(
            f"train: unknown parameter group(s) {unknown}; choose from {list(allowed)}"
        )
    return train


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


class AbstractRNN(AbstractEulerSystem):
    """A rate RNN x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t with readout φ(x) W_out / N.

    Concrete models provide `recurrent(r)` (the product J r for rates r = φ(x)),
    `connectivity()` (the dense J) and the parameter fields `w_in [I, N]`, `g_in [I]`,
    `w_out [N, O]`, `g_out [O]`. A model is an `AbstractEulerSystem` on `n_states = n_neurons`
    numbers: `step(x, u)` is the noise-free map x + α D(x, u) and `vector_field(x, u)` its
    continuous-time counterpart D(x, u)/τ, with the drive D(x, u) = −x + J φ(x) + W_in u.
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
    def _param_groups(self) -> dict[str, str]:
        """Map of parameter-group name (as used in `train=`) to field name."""

    @abc.abstractmethod
    def hyperparameters(self) -> dict:
        """The constructor arguments (without `key`) that rebuild a model of this shape."""

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

    def simulate(
        self,
        inputs: Float[ArrayLike, "*batch time inputs"],
        *,
        key: PRNGKeyArray | None,
        x0: Float[ArrayLike, "*batch neurons"] | None = None,
        noise: bool | Float[ArrayLike, "*batch time neurons"] = True,
        states: bool = True,
    ) -> Rollout:
        """Run the network on `inputs` of shape `[B, T, I]` (or one trial `[T, I]`).

        `noise=True` adds `noise_std · ξ` after each update, with standard-normal draws ξ made
        from `key` by the model's `noise_rng`: "fast" (default) generates them step by step
        inside the simulation loop (`neurodyn.models.fast_normal(key, shape)` returns the same
        ξ as an array); "threefry" draws `ξ = jax.random.normal(key, inputs.shape[:-1] + (N,))`
        up front. `noise=False` runs noise-free (then `key` may be None); an array of that
        shape supplies the draws ξ yourself. `x0` (default zeros) is the state before the
        first input. Returns `Rollout(states, outputs)` where `states[t]` is x after the
        update with u_t. `states=False` returns `states=None` and never stores the [B, T, N]
        states: faster and lighter when only the outputs are needed (a loss, a validation).

        Bad arguments raise a `ValueError`/`TypeError` that names them. NaN or Inf in `inputs`,
        `x0`, the `noise` array or the weights raise a `ValueError` when the values are
        concrete; under `jit` (as inside `fit`) nothing is checked or added to the program.

        Reverse-mode gradients (`jax.grad`, `jax.vjp`) go through a hand-written adjoint pass
        (`neurodyn.models._scan`); forward mode (`jax.jvp`, `jax.jacfwd`) through `simulate` is
        not supported: differentiate `step` for Jacobians of the dynamics.
        """
        self._check_weight_shapes()
        inputs = self._check_inputs(inputs)
        batch_shape = inputs.shape[:-2]
        n = self.n_neurons
        if x0 is not None:
            x0 = check_array(x0, "x0", finite=False, to="jax")
            if x0.shape != batch_shape + (n,):
                raise ValueError(
                    f"x0 must have shape {batch_shape + (n,)} (batch shape of inputs plus "
                    f"n_neurons), got {x0.shape}"
                )
        states = check_bool(states, "states")
        if key is not None:
            key = check_key(key, "key")
        # Values are checked only where they are concrete (an eager call): inside `fit` and
        # any jitted caller everything is traced and these checks add nothing to the program.
        self._check_values(inputs, x0)
        if x0 is None:
            x0 = jnp.zeros(batch_shape + (n,), dtype=jnp.result_type(self.w_in, inputs))
        xi, words = self._noise_draws(inputs, key, noise)
        # The checks above run eagerly (clear errors); the loop itself is one compiled program,
        # so calling `simulate` from a notebook costs no more than inside a jitted function.
        return _simulate_compiled(self, inputs, x0, xi, words, states)

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

    def _noise_draws(self, inputs, key, noise):
        """(ξ array or None, stream words or None) for `simulate`."""
        noise_shape = inputs.shape[:-1] + (self.n_neurons,)
        if isinstance(noise, (bool, np.bool_)):
            if not noise or self.noise_std == 0:
                return None, None
            if key is None:
                raise ValueError(
                    "key is required when noise=True and noise_std > 0; pass key=jax.random.key(…)"
                    " or noise=False"
                )
            if self.noise_rng == "threefry":
                return jax.random.normal(key, noise_shape, dtype=self.w_in.dtype), None
            check_stream_size(int(np.prod(inputs.shape[:-2], dtype=np.int64)), self.n_neurons,
                              "inputs")
            return None, stream_key(key)
        xi = check_array(noise, "noise", to="jax")  # NaN/Inf refused (when concrete)
        if xi.shape != noise_shape:
            raise ValueError(
                f"noise must be True, False or an array of standard-normal draws of shape "
                f"{noise_shape}, got shape {xi.shape}"
            )
        return xi, None

    def _check_inputs(self, inputs) -> Array:
        inputs = check_array(inputs, "inputs", finite=False, to="jax")
        if inputs.ndim not in (2, 3):
            raise ValueError(
                f"inputs must have shape [batch, time, inputs] or [time, inputs], got shape "
                f"{inputs.shape}"
            )
        if inputs.shape[-1] != self.n_inputs:
            raise ValueError(
                f"inputs: last axis must equal n_inputs={self.n_inputs}, got shape {inputs.shape}"
            )
        return inputs

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

    def _check_values(self, inputs, x0) -> None:
        """NaN or Inf in the inputs, x0 or the weights: a clear error before the rollout
        (concrete values only; traced ones are the caller's to check)."""
        for name, value in (("inputs", inputs), ("x0", x0)):
            if value is not None and not isinstance(value, jax.core.Tracer):
                check_array(value, name)
        check_finite_tree(self, "model")

    # ---------------------------------------------------------------- training
    def trainable(self) -> AbstractRNN:
        """A pytree of booleans, True for the leaves that `train=` selects (for `eqx.partition`)."""
        groups = self._param_groups()
        flags = jax.tree_util.tree_map(lambda _: False, self)
        for group, field in groups.items():
            flags = eqx.tree_at(
                lambda m, field=field: getattr(m, field), flags, replace=group in self.train
            )
        return flags


@eqx.filter_jit
def _simulate_compiled(model, inputs, x0, xi, words, with_states):
    return model._simulate_core(inputs, x0, xi, words, with_states)
