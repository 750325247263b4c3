"""The one dynamical-system type every neurodyn model and analysis speaks.

A dynamical system is an equinox Module with a state of `n_states` numbers and `n_inputs`
inputs that defines the noise-free map

    x_{t+1} = F(x_t, u_t)                                   (`step`)

and, for a system that discretises an ODE, its continuous-time counterpart

    dx/dt = f(x, u)                                          (`vector_field`).

An input `u=None` stands for the system's default input (`default_input()`, zeros). The
fixed-point finder, the linearisation, the flow fields and the latent simulators take any
`AbstractDynamicalSystem`; nothing there guesses at attribute names.

`AbstractEulerSystem` is the common case of the rate networks and their reductions: the
forward-Euler discretisation of τ dx/dt = D(x, u) with step α = dt/τ,

    x_{t+1} = x_t + α D(x_t, u_t),     dx/dt = D(x, u)/τ,

so a subclass writes only the drive D (the bracket of the update rule).
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._nonlinearity import get_nonlinearity


class AbstractDynamicalSystem(eqx.Module):
    """A discrete-time map x ↦ F(x, u) on `n_states` numbers driven by `n_inputs` inputs.

    Subclasses provide `n_states`, `n_inputs` (fields or properties) and `step`. Those that
    discretise an ODE also provide `vector_field` and set `continuous = True`. A system whose
    dynamics have an exact lower-dimensional reduction returns it from `reduction()`.
    """

    n_states: eqx.AbstractVar[int]
    n_inputs: eqx.AbstractVar[int]

    # True when `vector_field` is defined (the system discretises an ODE).
    continuous: ClassVar[bool] = False

    @abc.abstractmethod
    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """One noise-free update x ↦ F(x, u); `u=None` means `default_input()`."""

    def vector_field(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """dx/dt = f(x, u) (continuous-time systems only)."""
        raise TypeError(
            f"dynamics: a {type(self).__name__} is a discrete-time map and has no vector "
            "field; use dynamics='discrete'"
        )

    def default_input(self) -> Float[Array, " inputs"]:
        """The input used when `u` is None: zeros, in the system's floating dtype."""
        return jnp.zeros((self.n_inputs,), dtype=self.dtype)

    def input_or_default(self, u: Float[ArrayLike, " inputs"] | None) -> Float[Array, " inputs"]:
        """`u` as an array, or `default_input()` when it is None."""
        return self.default_input() if u is None else jnp.asarray(u)

    @property
    def dtype(self) -> jnp.dtype:
        """The floating dtype of the system's arrays (the default float when it has none)."""
        for leaf in jax.tree_util.tree_leaves(self):
            if isinstance(leaf, jax.Array | jax.ShapeDtypeStruct) and jnp.issubdtype(
                leaf.dtype, jnp.floating
            ):
                return leaf.dtype
        return jnp.result_type(float)

    def reduction(self) -> AbstractDynamicalSystem | None:
        """An exact lower-dimensional system with the same fixed points, or None.

        A reduction also defines `lift(z) -> x` (and `project(x) -> z`), so that what is found
        in the reduced coordinates can be mapped back to this system's states.
        """
        return None


class AbstractEulerSystem(AbstractDynamicalSystem):
    """The forward-Euler discretisation of τ dx/dt = D(x, u): x ↦ x + α D(x, u), α = dt/τ.

    Subclasses provide `tau`, `dt` (ms), `nonlinearity` (a name for `phi`) and `drive`.
    """

    tau: eqx.AbstractVar[float]
    dt: eqx.AbstractVar[float]
    nonlinearity: eqx.AbstractVar[str]

    continuous: ClassVar[bool] = True

    @abc.abstractmethod
    def drive(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"]
    ) -> Float[Array, " states"]:
        """D(x, u), the bracket of the update rule (u is never None here)."""

    @property
    def alpha(self) -> float:
        """The Euler step α = dt/τ."""
        return self.dt / self.tau

    def phi(self, x: ArrayLike) -> Array:
        """The single-neuron nonlinearity φ named by `nonlinearity`."""
        return get_nonlinearity(self.nonlinearity)(x)

    def vector_field(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """dx/dt = D(x, u)/τ, in units of 1/ms."""
        return self.drive(x, self.input_or_default(u)) / self.tau

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        """One noise-free update x ↦ x + α D(x, u)."""
        return x + self.alpha * self.drive(x, self.input_or_default(u))
