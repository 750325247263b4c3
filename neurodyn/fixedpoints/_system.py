"""The duck-typed dynamical-system interface and the checks on what is passed to it.

A dynamical system is any object with `step(x, u) -> x_next` (discrete time) and/or
`vector_field(x, u) -> dx/dt` (continuous time), where `u` may be None. Here inputs are carried
as `[..., I]` arrays; an input of width 0 stands for "no input" and is passed as `u=None`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._validate import check_array, check_choice, check_finite_tree, check_int
from ._result import DYNAMICS


def state_size(system) -> int | None:
    """The state size a system declares, if it declares one."""
    for name in ("n_latents", "n_states", "state_size", "n_neurons"):
        value = getattr(system, name, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return None


def input_size(system) -> int | None:
    value = getattr(system, "n_inputs", None)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return None


def system_dt(system) -> float:
    dt = getattr(system, "dt", None)
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        return 1.0
    return dt if np.isfinite(dt) and dt > 0 else 1.0


def check_system(system, dynamics: str, period: int = 1) -> None:
    """`system` has the method the dynamics need, and no NaN/Inf in its arrays; `dynamics`
    and `period` are valid."""
    dynamics = check_choice(dynamics, "dynamics", DYNAMICS)
    method = "step" if dynamics == "discrete" else "vector_field"
    if not callable(getattr(system, method, None)):
        raise ValueError(
            f"system must have a `{method}(x, u)` method for dynamics={dynamics!r} (a model, "
            f"a LatentDynamics, a fitted state-space model); {type(system).__name__} has none"
        )
    period = check_int(period, "period")
    if period > 1 and dynamics != "discrete":
        raise ValueError(
            "period: period-k orbits are defined for discrete maps: use dynamics='discrete'"
        )
    check_finite_tree(system, "system")


check_dynamics = check_system


def _u(u):
    return None if u.shape[-1] == 0 else u


def flow(system, dynamics: str, period: int = 1):
    """`G(x, u)`: Fᵏ(x, u) for discrete time, f(x, u) for continuous time (u a `[I]` array)."""
    if dynamics == "continuous":
        return lambda x, u: system.vector_field(x, _u(u))

    if period == 1:
        return lambda x, u: system.step(x, _u(u))

    def fk(x, u):
        return jax.lax.fori_loop(0, period, lambda _, y: system.step(y, _u(u)), x)

    return fk


def residual_fn(system, dynamics: str, period: int = 1):
    """r(x, u): Fᵏ(x, u) − x (discrete) or f(x, u) (continuous); q = ½‖r‖²."""
    g = flow(system, dynamics, period)
    if dynamics == "continuous":
        return g
    return lambda x, u: g(x, u) - x


def check_states(system, states, name: str = "initial_states") -> jax.Array:
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
    n = state_size(system)
    if n is not None and states.shape[1] != n:
        raise ValueError(
            f"{name} must have width {n} (the state size of the {type(system).__name__}), got "
            f"shape {states.shape}"
        )
    if not isinstance(states, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(states))):
        bad = int(np.sum(~np.all(np.isfinite(np.asarray(states)), axis=1)))
        raise ValueError(f"{name}: {bad} row(s) contain NaN or Inf values")
    return states


def check_inputs(system, inputs, n_points: int, dtype) -> jax.Array:
    """`[P, I]` inputs: None → width 0, one `[I]` input → repeated, or one per point."""
    if inputs is None:
        return jnp.zeros((n_points, 0), dtype)
    inputs = jnp.asarray(check_array(inputs, "inputs", finite=False), dtype)
    n_in = input_size(system)
    if inputs.ndim == 1:
        inputs = jnp.broadcast_to(inputs[None], (n_points, inputs.shape[0]))
    if inputs.ndim != 2 or inputs.shape[0] != n_points:
        raise ValueError(
            f"inputs must be None, one input of shape [n_inputs] or one per point of shape "
            f"[{n_points}, n_inputs], got shape {inputs.shape}"
        )
    if n_in is not None and inputs.shape[1] not in (0, n_in):  # width 0: no input
        raise ValueError(
            f"inputs must have width n_inputs={n_in} (the {type(system).__name__}'s), got "
            f"shape {inputs.shape}"
        )
    if not isinstance(inputs, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(inputs))):
        raise ValueError("inputs contain NaN or Inf values")
    return inputs


def check_callable(system, states, inputs, dynamics: str, period: int = 1,
                   name: str = "initial_states") -> None:
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
