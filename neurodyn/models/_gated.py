"""Vanilla, GRU and LSTM networks: discrete-time maps with PyTorch's equations and layout.

Each model keeps PyTorch's parameters as they are (`weight_ih [G·H, I]`, `weight_hh [G·H, H]`,
`bias_ih`, `bias_hh [G·H]`, the G gates stacked in PyTorch's order), so a trained
`torch.nn.RNN`/`GRU`/`LSTM` maps onto it exactly (`neurodyn.models.from_torch`). With
a_g = W_ig u + b_ig and ĥ_g = W_hg h + b_hg for gate g, and σ the logistic function:

    RNN    h' = φ(a + ĥ)                                  (φ = tanh or relu)
    GRU    r = σ(a_r + ĥ_r),  z = σ(a_z + ĥ_z),  n = tanh(a_n + r ⊙ ĥ_n),  h' = (1 − z) ⊙ n + z ⊙ h
    LSTM   i, f, o = σ(a_· + ĥ_·),  g = tanh(a_g + ĥ_g),  c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')

(Elman 1990; Cho et al. 2014, EMNLP; Hochreiter & Schmidhuber 1997, Neural Comput.; the GRU
variant with b_hn inside r ⊙ (·) is PyTorch's and cuDNN's.) The readout is affine,
z = h W_out + b_out. The state of an LSTM is the vector x = [h, c] of 2H numbers (h first),
so that the analyses (fixed points, Jacobians, flows) see one map x ↦ F(x, u).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._noise import NOISE_RNGS, step_normal
from .._nonlinearity import get_nonlinearity
from .._validate import check_bool, check_choice, check_int, check_key, check_number
from ._network import AbstractNetwork, Rollout, resolve_train

# `train=` groups of the discrete-time networks and the fields each names.
DISCRETE_GROUPS = {"input": "weight_ih", "recurrent": "weight_hh",
                   "bias": ("bias_ih", "bias_hh"), "readout": ("w_out", "b_out")}
"""The `train=` groups of the discrete-time networks (RNN, GRU, LSTM) and the fields each names.

"h0" (the initial state) is a group too when a network has `learn_h0=True`."""
# Trained by default: everything (plus "h0" with `learn_h0=True`).
DISCRETE_TRAIN = ("bias", "input", "readout", "recurrent")


class AbstractDiscreteRNN(AbstractNetwork):
    """A network whose update is a map, parameterised as PyTorch's recurrent layers are.

        x_{t+1} = F(x_t, u_t) + σ ξ_t,     z_t = h_{t+1} W_out + b_out

    Subclasses set `n_gates` (G), write `_update(x, a)` (the new state from the state x and the
    input drive a = W_ih u + b_ih) and, when the state holds more than h, `hidden(x)`.

    Constructor arguments (`RNN`, `GRU`, `LSTM`):
    `n_neurons` is the hidden size H. `bias=False` drops b_ih and b_hh (as PyTorch's
    `bias=False`). `train` names the parameter groups that training updates, from "input"
    (W_ih), "recurrent" (W_hh), "bias" (b_ih, b_hh), "readout" (W_out, b_out) and "h0"; by
    default all of them. `learn_h0=True` gives the network a trainable initial state h0
    (zeros at initialisation; "h0" is then added to the default groups), the state before the
    first input. `noise_std` (default 0: a PyTorch network has none) adds σ ξ_t to the state
    after each update, with draws made by `noise_rng` as in `LowRankRNN`. Weights are drawn as
    PyTorch draws them: U(−1/√H, 1/√H).
    """

    n_gates: ClassVar[int]
    weight_ih: eqx.AbstractVar[Float[Array, "gates_hidden inputs"]]
    weight_hh: eqx.AbstractVar[Float[Array, "gates_hidden hidden"]]
    bias_ih: eqx.AbstractVar[Float[Array, " gates_hidden"] | None]
    bias_hh: eqx.AbstractVar[Float[Array, " gates_hidden"] | None]
    w_out: eqx.AbstractVar[Float[Array, "hidden outputs"]]
    b_out: eqx.AbstractVar[Float[Array, " outputs"]]
    bias: eqx.AbstractVar[bool]

    def _init_common(self, n_neurons, n_inputs, n_outputs, bias, noise_std, noise_rng, train,
                     learn_h0, key) -> None:
        """Check the arguments and draw the weights as PyTorch does: every weight and bias
        ~ U(−1/√H, 1/√H) (the readout as a `torch.nn.Linear(H, O)`: the same bound)."""
        self.n_neurons = check_int(n_neurons, "n_neurons", low=1)
        self.n_inputs = check_int(n_inputs, "n_inputs", low=0)
        self.n_outputs = check_int(n_outputs, "n_outputs", low=0)
        self.bias = check_bool(bias, "bias")
        self.noise_std = check_number(noise_std, "noise_std", low=0)
        self.noise_rng = check_choice(noise_rng, "noise_rng", NOISE_RNGS)
        self.train = resolve_train(train, DISCRETE_TRAIN, tuple(DISCRETE_GROUPS), learn_h0)
        key = check_key(key, "key")
        h, g = self.n_neurons, self.n_gates * self.n_neurons
        bound = 1.0 / np.sqrt(h)
        k = jax.random.split(key, 6)

        def uniform(k, shape):
            return jax.random.uniform(k, shape, minval=-bound, maxval=bound)

        self.weight_ih = uniform(k[0], (g, self.n_inputs))
        self.weight_hh = uniform(k[1], (g, h))
        self.bias_ih = uniform(k[2], (g,)) if self.bias else None
        self.bias_hh = uniform(k[3], (g,)) if self.bias else None
        self.w_out = uniform(k[4], (h, self.n_outputs))
        self.b_out = uniform(k[5], (self.n_outputs,))
        self._init_h0(learn_h0)

    # ------------------------------------------------------------------ dynamics
    @abc.abstractmethod
    def _update(self, x: Array, a: Array) -> Array:
        """The noise-free new state from state(s) x [..., S] and input drive a [..., G·H]."""

    def hidden(self, x: Float[ArrayLike, "*batch states"]) -> Float[Array, "*batch neurons"]:
        """The hidden activity h of a state x (the state itself, except for an LSTM)."""
        return jnp.asarray(x)

    def _recurrent_drive(self, h: Array) -> Array:
        """W_hh h + b_hh for h [..., H]."""
        out = h @ self.weight_hh.T
        return out if self.bias_hh is None else out + jnp.broadcast_to(self.bias_hh, out.shape)

    def input_drive(self, u: Float[ArrayLike, "*batch inputs"]) -> Float[Array, "*batch gates"]:
        """W_ih u + b_ih, the input's contribution to the G gates (stacked in PyTorch's order)."""
        out = jnp.asarray(u) @ self.weight_ih.T
        return out if self.bias_ih is None else out + jnp.broadcast_to(self.bias_ih, out.shape)

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """One noise-free update x ↦ F(x, u) (the equations of the module docstring)."""
        return self._update(jnp.asarray(x), self.input_drive(self.input_or_default(u)))

    def readout(self, x: Float[ArrayLike, "*batch states"]) -> Float[Array, "*batch outputs"]:
        """Network output z = h W_out + b_out, with h = `hidden(x)`."""
        z = self.hidden(x) @ self.w_out
        return z + jnp.broadcast_to(self.b_out, z.shape)

    # ---------------------------------------------------------------- simulation
    def _simulate_core(self, inputs, x0, xi, words, with_states=True) -> Rollout:
        batch_shape = inputs.shape[:-2]
        n_steps, n = inputs.shape[-2], self.n_states
        n_trials = int(np.prod(batch_shape))
        # Time-major [T, trials, ·]; the input drive of every step in one matmul up front.
        u_tm = jnp.swapaxes(inputs.reshape((n_trials,) + inputs.shape[-2:]), 0, 1)
        a_tm = self.input_drive(u_tm.astype(self._param_dtype()))
        if xi is not None:
            xi = jnp.swapaxes(xi.reshape((n_trials, n_steps, n)), 0, 1)
        sigma = self.noise_std

        def body(x, xs):
            a, t, noise = xs
            x = self._update(x, a)
            if noise is not None:
                x = x + sigma * noise
            elif words is not None:
                x = x + sigma * step_normal(words, t, n_trials, n, x.dtype)
            return x, (x if with_states else None, self.readout(x))

        steps = jnp.arange(n_steps, dtype=jnp.uint32)
        _, (states, outputs) = lax.scan(body, x0.reshape((n_trials, n)), (a_tm, steps, xi))

        def batch_major(a):
            return jnp.swapaxes(a, 0, 1).reshape(batch_shape + a.shape[:1] + a.shape[2:])

        return Rollout(states=None if states is None else batch_major(states),
                       outputs=batch_major(outputs))

    # ---------------------------------------------------------------- bookkeeping
    def _param_dtype(self) -> jnp.dtype:
        return self.weight_hh.dtype

    def default_input(self) -> Float[Array, " inputs"]:
        """Zeros in the dtype of the weights (the input when `u` is None)."""
        return jnp.zeros((self.n_inputs,), dtype=self.weight_hh.dtype)

    def _param_groups(self) -> dict[str, str | tuple[str, ...]]:
        return dict(DISCRETE_GROUPS)

    def _check_weight_shapes(self) -> None:
        h, n_in, n_out = self.n_neurons, self.n_inputs, self.n_outputs
        g = self.n_gates * h
        expected = {"weight_ih": (g, n_in), "weight_hh": (g, h), "w_out": (h, n_out),
                    "b_out": (n_out,)}
        if self.bias:
            expected.update(bias_ih=(g,), bias_hh=(g,))
        for field, shape in expected.items():
            got = tuple(jnp.shape(getattr(self, field)))
            if got != shape:
                raise ValueError(
                    f"model: {field} has shape {got} where a {type(self).__name__} of "
                    f"n_neurons={h}, n_inputs={n_in}, n_outputs={n_out} has {shape} (a stacked "
                    "ensemble? pick a member with neurodyn.train.member(model, i) or simulate "
                    "the members under eqx.filter_vmap)"
                )
        self._check_h0_shape()

    def hyperparameters(self) -> dict:
        """The constructor arguments (without `key`) that rebuild a model of this shape."""
        return dict(n_neurons=self.n_neurons, n_inputs=self.n_inputs, n_outputs=self.n_outputs,
                    bias=self.bias, noise_std=self.noise_std, noise_rng=self.noise_rng,
                    train=list(self.train), **self._h0_hyperparameters())




class RNN(AbstractDiscreteRNN):
    """A vanilla (Elman) network h_{t+1} = φ(W_hh h_t + b_hh + W_ih u_t + b_ih) (`torch.nn.RNN`).

    φ is named by `nonlinearity` (PyTorch's are "tanh" and "relu"); the other arguments are
    those of every `AbstractDiscreteRNN`.
    """

    n_gates: ClassVar[int] = 1
    weight_ih: Float[Array, "hidden inputs"]
    weight_hh: Float[Array, "hidden hidden"]
    bias_ih: Float[Array, " hidden"] | None
    bias_hh: Float[Array, " hidden"] | None
    w_out: Float[Array, "hidden outputs"]
    b_out: Float[Array, " outputs"]
    h0: Float[Array, " hidden"] | None
    n_neurons: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    bias: bool = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)
    noise_std: float = eqx.field(static=True)
    noise_rng: str = eqx.field(static=True)
    train: tuple[str, ...] = eqx.field(static=True)
    learn_h0: bool = eqx.field(static=True)

    def __init__(self, n_neurons: int, n_inputs: int, n_outputs: int, *,
                 nonlinearity: str = "tanh", bias: bool = True, noise_std: float = 0.0,
                 noise_rng: str = "fast", train: str | Sequence[str] = DISCRETE_TRAIN,
                 learn_h0: bool = False, key: PRNGKeyArray):
        get_nonlinearity(nonlinearity)
        self.nonlinearity = nonlinearity
        self._init_common(n_neurons, n_inputs, n_outputs, bias, noise_std, noise_rng, train,
                          learn_h0, key)

    @property
    def n_states(self) -> int:
        """The state is h: `n_neurons` numbers."""
        return self.n_neurons

    def phi(self, x: ArrayLike) -> Array:
        """The nonlinearity φ named by `nonlinearity`."""
        return get_nonlinearity(self.nonlinearity)(x)

    def _update(self, x, a):
        return self.phi(a + self._recurrent_drive(x))

    def hyperparameters(self) -> dict:
        """The constructor arguments (without `key`) that rebuild a model of this shape."""
        return dict(super().hyperparameters(), nonlinearity=self.nonlinearity)


class GRU(AbstractDiscreteRNN):
    """A gated recurrent unit network (Cho et al. 2014), with `torch.nn.GRU`'s equations:

        r = σ(a_r + W_hr h + b_hr),  z = σ(a_z + W_hz h + b_hz),
        n = tanh(a_n + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h,   a = W_ih u + b_ih

    with the gates stacked (r, z, n) in `weight_ih`, `weight_hh` and the biases. Arguments as
    for every `AbstractDiscreteRNN`.
    """

    n_gates: ClassVar[int] = 3
    weight_ih: Float[Array, "gates_hidden inputs"]
    weight_hh: Float[Array, "gates_hidden hidden"]
    bias_ih: Float[Array, " gates_hidden"] | None
    bias_hh: Float[Array, " gates_hidden"] | None
    w_out: Float[Array, "hidden outputs"]
    b_out: Float[Array, " outputs"]
    h0: Float[Array, " hidden"] | None
    n_neurons: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    bias: bool = eqx.field(static=True)
    noise_std: float = eqx.field(static=True)
    noise_rng: str = eqx.field(static=True)
    train: tuple[str, ...] = eqx.field(static=True)
    learn_h0: bool = eqx.field(static=True)

    def __init__(self, n_neurons: int, n_inputs: int, n_outputs: int, *, bias: bool = True,
                 noise_std: float = 0.0, noise_rng: str = "fast",
                 train: str | Sequence[str] = DISCRETE_TRAIN, learn_h0: bool = False,
                 key: PRNGKeyArray):
        self._init_common(n_neurons, n_inputs, n_outputs, bias, noise_std, noise_rng, train,
                          learn_h0, key)

    @property
    def n_states(self) -> int:
        """The state is h: `n_neurons` numbers."""
        return self.n_neurons

    def _update(self, x, a):
        hh = self._recurrent_drive(x)
        a_r, a_z, a_n = jnp.split(a, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(hh, 3, axis=-1)
        r = jax.nn.sigmoid(a_r + h_r)
        z = jax.nn.sigmoid(a_z + h_z)
        n = jnp.tanh(a_n + r * h_n)
        return (1 - z) * n + z * x


class LSTM(AbstractDiscreteRNN):
    """A long short-term memory network (Hochreiter & Schmidhuber 1997), as `torch.nn.LSTM`.

    The equations are PyTorch's (no peepholes, no projection):

        i, f, o = σ(a_· + W_h· h + b_h·),  g = tanh(a_g + W_hg h + b_hg),   a = W_ih u + b_ih
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    with the gates stacked (i, f, g, o). The state is x = [h, c] (2H numbers, h first): the
    rollout's states, `h0` (PyTorch's (h_0, c_0) concatenated), the fixed points and the
    Jacobians are all in that order; the readout reads h = x[:H] (`hidden`). Arguments as
    for every `AbstractDiscreteRNN`.
    """

    n_gates: ClassVar[int] = 4
    weight_ih: Float[Array, "gates_hidden inputs"]
    weight_hh: Float[Array, "gates_hidden hidden"]
    bias_ih: Float[Array, " gates_hidden"] | None
    bias_hh: Float[Array, " gates_hidden"] | None
    w_out: Float[Array, "hidden outputs"]
    b_out: Float[Array, " outputs"]
    h0: Float[Array, " states"] | None
    n_neurons: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    bias: bool = eqx.field(static=True)
    noise_std: float = eqx.field(static=True)
    noise_rng: str = eqx.field(static=True)
    train: tuple[str, ...] = eqx.field(static=True)
    learn_h0: bool = eqx.field(static=True)

    def __init__(self, n_neurons: int, n_inputs: int, n_outputs: int, *, bias: bool = True,
                 noise_std: float = 0.0, noise_rng: str = "fast",
                 train: str | Sequence[str] = DISCRETE_TRAIN, learn_h0: bool = False,
                 key: PRNGKeyArray):
        self._init_common(n_neurons, n_inputs, n_outputs, bias, noise_std, noise_rng, train,
                          learn_h0, key)

    @property
    def n_states(self) -> int:
        """The state is [h, c]: 2 · `n_neurons` numbers."""
        return 2 * self.n_neurons

    def hidden(self, x: Float[ArrayLike, "*batch states"]) -> Float[Array, "*batch neurons"]:
        """h = x[..., :H], the hidden activity (the first half of the state)."""
        return jnp.asarray(x)[..., : self.n_neurons]

    def cell(self, x: Float[ArrayLike, "*batch states"]) -> Float[Array, "*batch neurons"]:
        """c = x[..., H:], the cell state (the second half of the state)."""
        return jnp.asarray(x)[..., self.n_neurons:]

    def _update(self, x, a):
        h, c = x[..., : self.n_neurons], x[..., self.n_neurons:]
        gates = a + self._recurrent_drive(h)
        g_i, g_f, g_g, g_o = jnp.split(gates, 4, axis=-1)
        c = jax.nn.sigmoid(g_f) * c + jax.nn.sigmoid(g_i) * jnp.tanh(g_g)
        h = jax.nn.sigmoid(g_o) * jnp.tanh(c)
        return jnp.concatenate([h, c], axis=-1)
