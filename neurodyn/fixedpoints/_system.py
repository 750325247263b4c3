"""The dynamical-system interface as the fixed-point analyses use it, and the checks on what
is passed to it.

A system is a `neurodyn.AbstractDynamicalSystem`: `n_states` numbers, `n_inputs` inputs,
`step(x, u) -> x_next` and, when `continuous`, `vector_field(x, u) -> dx/dt`. Here inputs are
carried as `[..., I]` arrays; an input of width 0 stands for "no input" and is passed as
`u=None` (the system's `default_input()`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._dynamics import AbstractDynamicalSystem, AbstractEulerSystem
from .._validate import (
    ArgumentTypeError,
    check_array,
    check_choice,
    check_finite_tree,
    check_int,
)
from ._result import DYNAMICS


def check_is_system(system, name: str = "system") -> AbstractDynamicalSystem:
    """`system` is a `neurodyn.AbstractDynamicalSystem` (a clear error naming it otherwise)."""
    if not isinstance(system, AbstractDynamicalSystem):
        raise ArgumentTypeError(
            f"{name} must be a neurodyn.AbstractDynamicalSystem (a model, a LatentDynamics, a "
            f"fitted state-space model, or your own subclass with n_states, n_inputs and "
            f"step), got {type(system).__name__}"
        )
    return system


def system_dt(system: AbstractDynamicalSystem) -> float:
    """The time step (ms) of an Euler system; 1.0 (one step) for any other map."""
    return float(system.dt) if isinstance(system, AbstractEulerSystem) else 1.0


def check_system(system, dynamics: str, period: int = 1) -> None:
    """`system` is a dynamical system with the method the dynamics need, and no NaN/Inf in its
    arrays; `dynamics` and `period` are valid."""
    check_is_system(system)
    dynamics = check_choice(dynamics, "dynamics", DYNAMICS)
    if dynamics == "continuous" and not system.continuous:
        raise ValueError(
            f"system: a {type(system).__name__} is a discrete-time map with no "
            f"`vector_field(x, u)` for dynamics='continuous'; use dynamics='discrete'"
        )
    period = check_int(period, "period")
    if period > 1 and dynamics != "discrete":
        raise ValueError(
            "period: period-k orbits are defined for discrete maps: use dynamics='discrete'"
        )
    check_finite_tree(system, "system")


check_dynamics = check_system


def _u(u: Array) -> Array | None:
    return None if u.shape[-1] == 0 else u


def flow(
    system: AbstractDynamicalSystem, dynamics: str, period: int = 1
) -> Callable[[Array, Array], Array]:
    """`G(x, u)`: Fᵏ(x, u) for discrete time, f(x, u) for continuous time (u a `[I]` array)."""
    if dynamics == "continuous":
        return lambda x, u: system.vector_field(x, _u(u))

    if period == 1:
        return lambda x, u: system.step(x, _u(u))

    def fk(x, u):
        return jax.lax.fori_loop(0, period, lambda _, y: system.step(y, _u(u)), x)

    return fk


def residual_fn(
    system: AbstractDynamicalSystem, dynamics: str, period: int = 1
) -> Callable[[Array, Array], Array]:
    """r(x, u): Fᵏ(x, u) − x (discrete) or f(x, u) (continuous); q = ½‖r‖²."""
    g = flow(system, dynamics, period)
    if dynamics == "continuous":
        return g
    return lambda x, u: g(x, u) - x


def check_states(
    system: AbstractDynamicalSystem, states, name: str = "initial_states"
) -> Float[Array, "points states"]:
    """`[P, N]` finite states of the system's width (a single `[N]` state is promoted)."""
    states = jnp.asarray(check_array(states, name, finite=False))
    if not jnp.issubdtype(states.dtype, jnp.floating):
        states = states.astype(jnp.result_type(float))
    if states.ndim == 1:
        states = states[None]
    if states.ndim != 2 or states.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape [n_points, n_states] with n_points >= 1, got {states.shape}"
        )
    n = int(system.n_states)
    if states.shape[1] != n:
        raise ValueError(
            f"{name} have the wrong width: they must have width {n} (the n_states of the "
            f"{type(system).__name__}), got shape {states.shape}"
        )
    if not isinstance(states, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(states))):
        bad = int(np.sum(~np.all(np.isfinite(np.asarray(states)), axis=1)))
        raise ValueError(f"{name}: {bad} row(s) contain NaN or Inf values")
    return states


def check_inputs(
    system: AbstractDynamicalSystem, inputs, n_points: int, dtype
) -> Float[Array, "points inputs"]:
    """`[P, I]` inputs: None → width 0, one `[I]` input → repeated, or one per point."""
    if inputs is None:
        return jnp.zeros((n_points, 0), dtype)
    inputs = jnp.asarray(check_array(inputs, "inputs", finite=False), dtype)
    n_in = int(system.n_inputs)
    if inputs.ndim == 1:
        inputs = jnp.broadcast_to(inputs[None], (n_points, inputs.shape[0]))
    if inputs.ndim != 2 or inputs.shape[0] != n_points:
        raise ValueError(
            f"inputs must be None, one input of shape [n_inputs] or one per point of shape "
            f"[{n_points}, n_inputs], got shape {inputs.shape}"
        )
    if inputs.shape[1] not in (0, n_in):  # width 0: no input
        raise ValueError(
            f"inputs must have width n_inputs={n_in} (the {type(system).__name__}'s), got "
            f"shape {inputs.shape}"
        )
    if not isinstance(inputs, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(inputs))):
        raise ValueError("inputs contain NaN or Inf values")
    return inputs


def check_callable(system: AbstractDynamicalSystem, states: Array, inputs: Array,
                   dynamics: str, period: int = 1, name: str = "initial_states") -> None:
    """Trace the system once on one point: a clear error if it rejects the shapes."""
    g = flow(system, dynamics, period)
    try:
        out = jax.eval_shape(g, states[0], inputs[0])
    except Exception as err:  # noqa: BLE001 - any failure here is a shape/interface problem
        raise ValueError(
            f"system: the {type(system).__name__} could not be evaluated on a state of shape "
            f"{tuple(states.shape[1:])} and an input of shape {tuple(inputs.shape[1:])}: {err}"
        ) from None
    if getattr(out, "shape", None) != tuple(states.shape[1:]):
        raise ValueError(
            f"{name}: the {type(system).__name__} maps a state of shape "
            f"{tuple(states.shape[1:])} to shape {getattr(out, 'shape', None)}; {name} have the "
            "wrong width (or system is not a single network)"
        )
