"""Bring your own network: any step function or equinox RNN cell as a dynamical system.

The analyses (`fixedpoints.find`, `linearize`, `flow_field`, the plots) take an
`AbstractDynamicalSystem`. These adapters make one out of what a user already has:

- `StepFunction(step, n_states, n_inputs)`: any function `step(x, u) -> x'` on a state of
  `n_states` numbers and an input of `n_inputs` numbers (a map x_{t+1} = F(x_t, u_t));
- `from_cell(cell)`: an `equinox.nn.GRUCell` or `equinox.nn.LSTMCell`, whose update
  h_{t+1} = cell(u_t, h_t) is the map. An LSTM's state is the pair (h, c), flattened into one
  vector x = [h, c] of 2·hidden_size numbers (`CellSystem.split` undoes it).

`trajectory(inputs)` runs either over a batch of input sequences (the states that
`neurodyn.dpad.fit_network` takes). Both are checked when built: the function is called once
on abstract values (nothing is computed) and must return a state of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._dynamics import AbstractDynamicalSystem
from .._validate import ArgumentTypeError, check_array, check_int

__all__ = ["AbstractAdapter", "CellSystem", "StepFunction", "from_cell"]


def _check_step(step, n_states: int, n_inputs: int, dtype, name: str) -> None:
    """Evaluate `step` on abstract arrays: a clear error if it fails or changes the shape."""
    x = jax.ShapeDtypeStruct((n_states,), dtype)
    u = jax.ShapeDtypeStruct((n_inputs,), dtype)
    try:
        out = jax.eval_shape(step, x, u)
    except Exception as err:  # noqa: BLE001 - any failure here means the function does not fit
        raise ValueError(
            f"{name} could not be evaluated as {name}(x, u) on a state x of shape ({n_states},) "
            f"(n_states) and an input u of shape ({n_inputs},) (n_inputs): "
            f"{type(err).__name__}: {err}"
        ) from None
    shape = getattr(out, "shape", None)
    if shape != (n_states,):
        what = f"shape {shape}" if shape is not None else f"a {type(out).__name__}"
        raise ValueError(
            f"{name} must return the next state, an array of shape ({n_states},) (n_states), "
            f"got {what}"
        )
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(f"{name} must return a floating-point state, got dtype {out.dtype}")


class AbstractAdapter(AbstractDynamicalSystem):
    """A dynamical system wrapped around a user's update rule, with `trajectory` to run it."""

    def trajectory(
        self,
        inputs: Float[ArrayLike, "*batch time inputs"],
        *,
        x0: Float[ArrayLike, "*batch states"] | None = None,
    ) -> Float[Array, "*batch time states"]:
        """The states x_1 … x_T visited under `inputs` `[B, T, I]` (or one trial `[T, I]`) from
        `x0` (default zeros): x_{t+1} = F(x_t, u_t), as `Rollout.states` of a model (e.g. for
        `neurodyn.dpad.fit_network`)."""
        inputs = check_array(inputs, "inputs", ndim=(2, 3))
        if inputs.shape[-1] != self.n_inputs:
            raise ValueError(f"inputs: last axis must equal n_inputs={self.n_inputs}, got shape "
                             f"{inputs.shape}")
        shape = inputs.shape[:-2] + (self.n_states,)
        if x0 is None:
            x0 = np.zeros(shape)
        x0 = check_array(x0, "x0", shape=shape)
        dtype = self.dtype
        return _trajectory(self, jnp.asarray(inputs, dtype), jnp.asarray(x0, dtype))


@eqx.filter_jit
def _trajectory(system: AbstractAdapter, inputs: Array, x0: Array) -> Array:
    def one(x, u):
        def body(state, u_t):
            state = system.step(state, u_t)
            return state, state

        return jax.lax.scan(body, x, u)[1]

    return one(x0, inputs) if inputs.ndim == 2 else jax.vmap(one)(x0, inputs)


class StepFunction(AbstractAdapter):
    """Any function `step(x, u) -> x'` as a discrete-time dynamical system x_{t+1} = F(x_t, u_t).

    `step` takes a state `[n_states]` and an input `[n_inputs]` (zeros when the analyses pass
    no input; an array of width 0 when `n_inputs=0`) and returns the next state `[n_states]`.
    It must be written with `jax.numpy` (it is traced, vmapped and differentiated). Arrays it
    closes over are constants; pass an `equinox.Module` with a `__call__` to keep its weights
    as leaves of the system.

        system = nd.models.StepFunction(lambda x, u: jnp.tanh(W @ x + B @ u), 3, 1)
        fps = nd.fixedpoints.find(system, starts, inputs=jnp.zeros(1))
    """

    fn: Callable[[Array, Array], Array]
    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)

    def __init__(self, step: Callable[[Array, Array], Array], n_states: int, n_inputs: int = 0):
        if not callable(step):
            raise ArgumentTypeError(
                f"step must be a function step(x, u) -> next state, got {type(step).__name__}"
            )
        self.n_states = check_int(n_states, "n_states", low=1)
        self.n_inputs = check_int(n_inputs, "n_inputs", low=0)
        _check_step(step, self.n_states, self.n_inputs, jnp.result_type(float), "step")
        self.fn = step

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """x' = step(x, u); `u=None` means zeros."""
        x = jnp.asarray(x)
        u = jnp.zeros((self.n_inputs,), x.dtype) if u is None else jnp.asarray(u)
        return self.fn(x, u)


_CELLS = {"GRUCell": 1, "LSTMCell": 2}  # the cell class -> how many hidden vectors it carries


class CellSystem(AbstractAdapter):
    """An equinox RNN cell (`equinox.nn.GRUCell`, `equinox.nn.LSTMCell`) as a dynamical system.

    The map is the cell's update h_{t+1} = cell(u_t, h_t) (Cho et al. 2014 for the GRU;
    Hochreiter & Schmidhuber 1997 for the LSTM). For an LSTM the state (h, c) is flattened to
    x = [h, c] (`n_states = 2 · hidden_size`); `split(x)` returns (h, c). Build it with
    `from_cell(cell)`; the cell's weights are leaves of the system.
    """

    cell: eqx.Module
    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    kind: str = eqx.field(static=True)

    def __init__(self, cell: eqx.Module):
        kind = type(cell).__name__
        if not isinstance(cell, (eqx.nn.GRUCell, eqx.nn.LSTMCell)):
            raise ArgumentTypeError(
                f"cell must be an equinox.nn.GRUCell or equinox.nn.LSTMCell, got {kind}; wrap "
                "any other update as neurodyn.models.StepFunction(step, n_states, n_inputs)"
            )
        self.cell = cell
        self.kind = kind
        self.hidden_size = int(cell.hidden_size)
        self.n_inputs = int(cell.input_size)
        self.n_states = _CELLS[kind] * self.hidden_size

    def split(self, x: Float[ArrayLike, "*batch states"]) -> tuple[Array, ...]:
        """The cell's hidden vectors from a flat state: (h,) for a GRU, (h, c) for an LSTM."""
        x = jnp.asarray(x)
        if self.kind == "LSTMCell":
            return x[..., : self.hidden_size], x[..., self.hidden_size:]
        return (x,)

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """x' = cell(u, x), with an LSTM's (h, c) flattened to [h, c]."""
        x = jnp.asarray(x)
        u = self.input_or_default(u)
        if self.kind == "LSTMCell":
            h, c = self.cell(u, self.split(x))
            return jnp.concatenate([h, c])
        return self.cell(u, x)


def from_cell(cell: eqx.Module) -> CellSystem:
    """The dynamical system h_{t+1} = cell(u_t, h_t) of an `equinox.nn.GRUCell`/`LSTMCell`.

    An LSTM's state (h, c) is flattened to one vector [h, c] (see `CellSystem`). Any other
    update rule: `StepFunction(step, n_states, n_inputs)`.
    """
    return CellSystem(cell)
