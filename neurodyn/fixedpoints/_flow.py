"""What the fixed-point figures draw, computed here (the plots only draw): the flow of a
system on a plane of its state space, and principal axes of trajectories."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._dynamics import AbstractDynamicalSystem
from .._validate import ArgumentTypeError, check_array, check_int
from ._result import FixedPoints
from ._system import check_inputs, check_system, flow

# Beyond this many points per axis the grid (resolution² evaluations) would exhaust memory.
MAX_RESOLUTION = 2001


class FlowField(NamedTuple):
    """The flow of a system on a grid of a plane of its state space.

    Attributes:
        x, y: `[ny, nx]` plane coordinates of the grid (state coordinates `axes`); `labels`
            name them.
        dx, dy: `[ny, nx]` the flow's components along x and y: F(x, u) − x (dynamics
            "discrete", per step) or f(x, u) (dynamics "continuous", per unit of time).
        speed: `[ny, nx]` √(dx² + dy²).
        points: `[K, 2]` the given fixed points in plane coordinates; `kinds` their type
            ("stable", "saddle", "unstable", "marginal"; "unclassified" without
            eigenvalues); `fixed_points` the `FixedPoints` themselves (or None).
        u: the constant input the plane was drawn at.
        dynamics: "discrete" or "continuous".
        axes: the two state coordinates of the plane.
    """

    x: np.ndarray
    y: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    speed: np.ndarray
    labels: tuple[str, str]
    points: np.ndarray
    kinds: tuple[str, ...]
    fixed_points: FixedPoints | None
    u: np.ndarray
    dynamics: str = "discrete"
    axes: tuple[int, int] = (0, 1)


# The name of the result of the deprecated `flow_2d` (the same class).
Flow2D = FlowField
"""Deprecated name of `FlowField`, the result of the deprecated `flow_2d`."""


def point_kinds(fps: FixedPoints) -> tuple[str, ...]:
    """"stable", "saddle", "unstable" or "marginal" (a mode on the stability boundary, none
    beyond it) for every point, from its eigenvalues; "unclassified" without them."""
    if fps.stable is None or fps.n_unstable is None:
        return ("unclassified",) * fps.n_points
    kinds = []
    for stable, n_unstable in zip(np.asarray(fps.stable), np.asarray(fps.n_unstable)):
        if stable:
            kinds.append("stable")
        elif n_unstable == 0:
            kinds.append("marginal")
        elif n_unstable == fps.n_states:
            kinds.append("unstable")
        else:
            kinds.append("saddle")
    return tuple(kinds)


def _check_lim(lim, name: str) -> tuple[float, float]:
    arr = check_array(lim, name, finite=False)
    if arr.shape != (2,) or not np.all(np.isfinite(arr)) or not arr[0] < arr[1]:
        raise ValueError(f"{name} must be (low, high) with low < high, got {lim}")
    return float(arr[0]), float(arr[1])


def _check_axes(axes, n: int) -> tuple[int, int]:
    if isinstance(axes, (str, bytes)) or np.ndim(axes) != 1 or len(axes) != 2:
        raise ArgumentTypeError(f"axes must be two state coordinates (i, j), got {axes!r}")
    i, j = (check_int(a, "axes", low=0, high=n - 1) for a in axes)
    if i == j:
        raise ValueError(f"axes must be two different state coordinates, got {axes!r}")
    return i, j


def flow_field(
    system: AbstractDynamicalSystem,
    u: Float[ArrayLike, " inputs"] | None = None,
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    axes: tuple[int, int] = (0, 1),
    state: Float[ArrayLike, " states"] | None = None,
    fixed_points: FixedPoints | None = None,
    labels: tuple[str, str] | None = None,
    resolution: int = 41,
    dynamics: str = "discrete",
) -> FlowField:
    """The flow of `system` on a grid over a plane of its state space, at constant input.

    The grid has `resolution²` points on the plane through `state` (default zeros) spanned by the
    state coordinates `axes`; the input is `u` (default: the system's `default_input()`).

        dynamics="discrete":    (dx, dy) = (F(x, u) − x)[axes]    (F = `system.step`)
        dynamics="continuous":  (dx, dy) = f(x, u)[axes]          (f = `system.vector_field`)

    The default time convention is that of `find` and `linearize` (discrete). For a 2-D
    system the plane is the whole state space. `fixed_points` (e.g. from `find`, or
    `neurodyn.lowrank.meanfield.fixed_points`) are placed on the plane and classified from
    their eigenvalues (`FlowField.points`, `kinds`).
    """
    check_system(system, dynamics)
    n = int(system.n_states)
    if n < 2:
        raise ValueError(f"system: a flow field needs at least 2 states, this one has {n}")
    axes = _check_axes(axes, n)
    resolution = check_int(resolution, "resolution", low=2, high=MAX_RESOLUTION)
    xlim, ylim = _check_lim(xlim, "xlim"), _check_lim(ylim, "ylim")
    if fixed_points is not None and not isinstance(fixed_points, FixedPoints):
        raise ArgumentTypeError(
            f"fixed_points must be FixedPoints or None, got {type(fixed_points).__name__}"
        )
    dtype = system.dtype
    if u is None:
        u = system.default_input()
    u = check_inputs(system, u, 1, dtype)[0]
    if u.shape[0] == 0:
        u = jnp.zeros((system.n_inputs,), dtype)
    if state is None:
        base = np.zeros(n)
    else:
        base = np.asarray(check_array(state, "state", shape=(n,)), np.float64)
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    states = np.broadcast_to(base, gx.shape + (n,)).copy()
    states[..., axes[0]] = gx
    states[..., axes[1]] = gy
    pts = jnp.asarray(states.reshape(-1, n), dtype)
    inputs = jnp.broadcast_to(u, (pts.shape[0], u.shape[0]))
    out = jax.jit(jax.vmap(flow(system, dynamics)))(pts, inputs)
    if dynamics == "discrete":
        out = out - pts
    out = np.asarray(out, np.float64).reshape(states.shape)
    dx, dy = out[..., axes[0]], out[..., axes[1]]
    if fixed_points is None:
        points, kinds = np.zeros((0, 2)), ()
    else:
        points, kinds = np.asarray(fixed_points.xstar)[:, list(axes)], point_kinds(fixed_points)
    if labels is None:
        labels = (f"x{axes[0] + 1}", f"x{axes[1] + 1}")
    return FlowField(gx, gy, dx, dy, np.hypot(dx, dy), tuple(labels), points, kinds,
                     fixed_points, np.asarray(u), dynamics, axes)


def flow_2d(
    system: AbstractDynamicalSystem,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    inputs: Float[ArrayLike, " inputs"] | None = None,
    *,
    dynamics: str = "continuous",
    resolution: int = 41,
) -> FlowField:
    """Deprecated alias of `flow_field` that keeps the old continuous-time default.

    Deprecated: `flow_field(system, u, xlim=..., ylim=..., dynamics=...)`, whose default
    time convention is discrete (as `find`'s and `linearize`'s); this alias keeps the old
    default, dynamics="continuous"."""
    warnings.warn(
        "fixedpoints.flow_2d is deprecated: use fixedpoints.flow_field(system, u, xlim=..., "
        "ylim=..., dynamics=...) (its default dynamics is 'discrete', as find's and "
        "linearize's; flow_2d's was 'continuous')", DeprecationWarning, stacklevel=2,
    )
    check_system(system, dynamics)
    if int(system.n_states) != 2:
        raise ValueError(f"flow_2d draws 2-D systems; this one has {system.n_states} states")
    return flow_field(system, inputs, xlim=xlim, ylim=ylim, dynamics=dynamics,
                      resolution=resolution)


class Projection(NamedTuple):
    """An affine projection onto principal axes: `(x − mean) @ components.T`."""

    mean: np.ndarray
    components: np.ndarray  # [K, N]
    explained_variance_ratio: np.ndarray

    def __call__(self, x: Float[ArrayLike, "*batch states"]) -> np.ndarray:
        return (np.asarray(x, np.float64) - self.mean) @ self.components.T


def pca(states: Float[ArrayLike, "*batch states"], n_components: int = 3) -> Projection:
    """Principal axes of `states` `[..., N]` (e.g. `Rollout.states`, or a `Rollout`)."""
    states = check_array(getattr(states, "states", states), "states", finite=False)
    if states.ndim < 2:
        raise ValueError(f"states must have shape [..., n_states], got {states.shape}")
    states = np.asarray(states, np.float64)
    flat = states.reshape(-1, states.shape[-1])
    flat = flat[np.all(np.isfinite(flat), axis=-1)]
    if flat.shape[0] < 2:
        raise ValueError("states: pca needs at least two finite states")
    k = min(check_int(n_components, "n_components"), flat.shape[1])
    mean = flat.mean(axis=0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    var = s**2
    return Projection(mean, vt[:k], var[:k] / max(var.sum(), np.finfo(float).tiny))
