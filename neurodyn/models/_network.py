"""What every trainable neurodyn network shares, whatever its update rule.

A network is a dynamical system (`AbstractDynamicalSystem`) on `n_states` numbers with
`n_inputs` inputs and `n_outputs` outputs read out from its state, that `simulate`s batches of
trials with optional noise,

    x_{t+1} = F(x_t, u_t) + σ ξ_t,     z_t = readout(x_{t+1}),     x_0 = h0 (or 0),

and names its parameter groups (`train=`) for `neurodyn.train.fit`. The rate networks
(`AbstractRNN`: F is an Euler step of τ dx/dt = −x + J φ(x) + W_in u) and the PyTorch-style
maps (`AbstractDiscreteRNN`: vanilla, GRU, LSTM) are the two kinds. Both may carry a trainable
initial state `h0` (`learn_h0=True`): the state before the first input when no `x0` is given.
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

from .._dynamics import AbstractDynamicalSystem
from .._noise import check_stream_size, stream_key
from .._validate import (
    ArgumentTypeError,
    check_array,
    check_bool,
    check_finite_tree,
    check_key,
)


class Rollout(NamedTuple):
    """A simulated trajectory: `states[..., T, S]` and `outputs[..., T, O]`.

    `states[t]` is the state after the update with u_t (S = `n_states`; None when simulated with
    `states=False`)."""

    states: Float[Array, "*batch time states"] | None
    outputs: Float[Array, "*batch time outputs"]



def check_train(train: str | Iterable[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Normalise the `train=` argument to a sorted tuple of known parameter groups.

    `train` is a group name or a collection of them."""
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


def resolve_train(train: str | Iterable[str], default: tuple[str, ...],
                  allowed: tuple[str, ...], learn_h0: bool) -> tuple[str, ...]:
    """The `train=` groups, normalised. "h0" is a group only of a model with `learn_h0=True`,
    and is added to the class's default groups `default` when `train` is that default."""
    learn_h0 = check_bool(learn_h0, "learn_h0")
    groups = check_train(train, allowed + ("h0",))
    if learn_h0 and groups == tuple(sorted(default)):
        groups = tuple(sorted(groups + ("h0",)))
    if "h0" in groups and not learn_h0:
        raise ValueError(
            "train: the group 'h0' needs a model with a trainable initial state; pass "
            "learn_h0=True"
        )
    return groups


class AbstractNetwork(AbstractDynamicalSystem):
    """A trainable network: a dynamical system with a readout, simulated in batches of trials.

    Subclasses give `readout(x)`, the compiled loop `_simulate_core`, `_param_groups()` (the
    `train=` names → field names), `hyperparameters()`, `_check_weight_shapes()` and
    `_param_dtype()`. `simulate`, the initial state (`h0`), the noise draws and `trainable()`
    are shared.
    """

    n_neurons: eqx.AbstractVar[int]
    n_inputs: eqx.AbstractVar[int]
    n_outputs: eqx.AbstractVar[int]
    noise_std: eqx.AbstractVar[float]
    noise_rng: eqx.AbstractVar[str]
    train: eqx.AbstractVar[tuple[str, ...]]
    learn_h0: eqx.AbstractVar[bool]
    h0: eqx.AbstractVar[Float[Array, " states"] | None]

    @abc.abstractmethod
    def readout(self, x: Float[ArrayLike, "*batch states"]) -> Float[Array, "*batch outputs"]:
        """The network's output z for a state x."""

    @abc.abstractmethod
    def _param_groups(self) -> dict[str, str | tuple[str, ...]]:
        """Map of parameter-group name (as used in `train=`) to field name(s)."""

    @abc.abstractmethod
    def hyperparameters(self) -> dict:
        """The constructor arguments (without `key`) that rebuild a model of this shape."""

    @abc.abstractmethod
    def _check_weight_shapes(self) -> None:
        """Raise a ValueError when the weights do not fit the sizes (a stacked ensemble)."""

    @abc.abstractmethod
    def _param_dtype(self) -> jnp.dtype:
        """The floating dtype of the weights (of the noise draws and of the zero state)."""

    @abc.abstractmethod
    def _simulate_core(self, inputs, x0, xi, words, with_states=True) -> Rollout:
        """The compiled loop: `x0` [*batch, n_states], `xi` standard-normal draws
        [*batch, T, n_states] or None, `words` the fast noise stream or None."""

    def _init_h0(self, learn_h0: bool) -> None:
        """Set `learn_h0` and `h0` (zeros [n_states] when learned, else None); call it in
        `__init__` once the sizes are set."""
        self.learn_h0 = check_bool(learn_h0, "learn_h0")
        self.h0 = jnp.zeros((self.n_states,)) if self.learn_h0 else None

    def _h0_hyperparameters(self) -> dict:
        # Only when set, so that the header of a model without h0 is what it always was.
        return {"learn_h0": True} if self.learn_h0 else {}

    def initial_state(self, batch_shape: tuple[int, ...] = (), dtype=None
                      ) -> Float[Array, "*batch states"]:
        """x_0 for a batch: the trainable initial state `h0` when the model has one
        (`learn_h0=True`), else zeros."""
        dtype = self._param_dtype() if dtype is None else dtype
        shape = tuple(batch_shape) + (self.n_states,)
        if self.h0 is None:
            return jnp.zeros(shape, dtype=dtype)
        return jnp.broadcast_to(self.h0.astype(dtype), shape)

    def simulate(
        self,
        inputs: Float[ArrayLike, "*batch time inputs"],
        *,
        key: PRNGKeyArray | None,
        x0: Float[ArrayLike, "*batch states"] | None = None,
        noise: bool | Float[ArrayLike, "*batch time states"] = True,
        states: bool = True,
    ) -> Rollout:
        """Run the network on `inputs` of shape `[B, T, I]` (or one trial `[T, I]`).

        `noise=True` adds `noise_std · ξ` to the state after each update, with standard-normal
        draws ξ made from `key` by the model's `noise_rng`: "fast" (default) generates them
        step by step inside the simulation loop (`neurodyn.models.fast_normal(key, shape)`
        returns the same ξ as an array); "threefry" draws `ξ = jax.random.normal(key,
        inputs.shape[:-1] + (n_states,))` up front. `noise=False` runs noise-free (then `key`
        may be None); an array of that shape supplies the draws ξ yourself. `x0` is the state
        before the first input (default: the trainable initial state `h0` when the model has
        one, else zeros). Returns `Rollout(states, outputs)` where `states[t]` is the state
        after the update with u_t. `states=False` returns `states=None` and never stores the
        [B, T, n_states] states: faster and lighter when only the outputs are needed.

        Bad arguments raise a `ValueError`/`TypeError` that names them. NaN or Inf in `inputs`,
        `x0`, the `noise` array or the weights raise a `ValueError` when the values are
        concrete; under `jit` (as inside `fit`) nothing is checked or added to the program.
        """
        self._check_weight_shapes()
        inputs = self._check_inputs(inputs)
        batch_shape = inputs.shape[:-2]
        n = self.n_states
        if x0 is not None:
            x0 = check_array(x0, "x0", finite=False, to="jax")
            if x0.shape != batch_shape + (n,):
                raise ValueError(
                    f"x0 must have shape {batch_shape + (n,)} (batch shape of inputs plus "
                    f"the {n} states), got {x0.shape}"
                )
        states = check_bool(states, "states")
        if key is not None:
            key = check_key(key, "key")
        # Values are checked only where they are concrete (an eager call): inside `fit` and
        # any jitted caller everything is traced and these checks add nothing to the program.
        self._check_values(inputs, x0)
        if x0 is None:
            x0 = self.initial_state(batch_shape, jnp.result_type(self._param_dtype(), inputs))
        xi, words = self._noise_draws(inputs, key, noise)
        # The checks above run eagerly (clear errors); the loop itself is one compiled program.
        return _simulate_compiled(self, inputs, x0, xi, words, states)

    def _noise_draws(self, inputs, key, noise):
        """(ξ array or None, stream words or None) for `simulate`."""
        noise_shape = inputs.shape[:-1] + (self.n_states,)
        if isinstance(noise, (bool, np.bool_)):
            if not noise or self.noise_std == 0:
                return None, None
            if key is None:
                raise ValueError(
                    "key is required when noise=True and noise_std > 0; pass key=jax.random.key(…)"
                    " or noise=False"
                )
            if self.noise_rng == "threefry":
                return jax.random.normal(key, noise_shape, dtype=self._param_dtype()), None
            check_stream_size(int(np.prod(inputs.shape[:-2], dtype=np.int64)), self.n_states,
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

    def _check_h0_shape(self) -> None:
        if self.h0 is not None and tuple(jnp.shape(self.h0)) != (self.n_states,):
            raise ValueError(
                f"model: h0 has shape {tuple(jnp.shape(self.h0))} where a "
                f"{type(self).__name__} has ({self.n_states},) (a stacked ensemble? pick a "
                "member with neurodyn.train.member(model, i))"
            )

    def _check_values(self, inputs, x0) -> None:
        """NaN or Inf in the inputs, x0 or the weights: a clear error before the rollout
        (concrete values only; traced ones are the caller's to check)."""
        for name, value in (("inputs", inputs), ("x0", x0)):
            if value is not None and not isinstance(value, jax.core.Tracer):
                check_array(value, name)
        check_finite_tree(self, "model")

    def trainable(self) -> AbstractNetwork:
        """A pytree of booleans, True for the leaves that `train=` selects (for `eqx.partition`)."""
        flags = jax.tree_util.tree_map(lambda _: False, self)
        for group, fields in {**self._param_groups(), "h0": "h0"}.items():
            for field in (fields,) if isinstance(fields, str) else fields:
                if getattr(self, field) is None:
                    continue
                flags = eqx.tree_at(
                    lambda m, field=field: getattr(m, field), flags, replace=group in self.train
                )
        return flags


@eqx.filter_jit
def _simulate_compiled(model, inputs, x0, xi, words, with_states):
    return model._simulate_core(inputs, x0, xi, words, with_states)
