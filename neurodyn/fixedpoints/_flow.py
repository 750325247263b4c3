"""What the fixed-point figures draw, computed here (the plots only draw): the flow of a 2-D
system on a grid, and principal axes of trajectories."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._validate import check_array, check_int
from ._system import check_dynamics, check_inputs, flow, state_size


class Flow2D(NamedTuple):
    """The flow of a 2-D system on a grid: `x, y, dx, dy` are `[ny, nx]`; `dx, dy` are
    f(x, u) (continuous) or F(x, u) − x (discrete). `u` is the constant input used."""

    x: np.ndarray
    y: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    u: np.ndarray
    dynamics: str


def flow_2d(
    system,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    inputs=None,
    *,
    dynamics: str = "continuous",
    resolution: int = 41,
) -> Flow2D:
    """Evaluate a 2-D system's vector field (or map displacement) on a `resolution²` grid."""
    check_dynamics(system, dynamics)
    n = state_size(system)
    if n is not None and n != 2:
        raise ValueError(f"flow_2d draws 2-D systems; this one has {n} states")
    resolution = check_int(resolution, "resolution", low=2)
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        lim = check_array(lim, name, finite=False)
        if lim.shape != (2,) or not np.all(np.isfinite(lim)) or lim[0] >= lim[1]:
            raise ValueError(f"{name} must be (low, high) with low < high, got {lim}")
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    pts = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=-1), jnp.float32)
    u = check_inputs(system, inputs, pts.shape[0], pts.dtype)
    g = flow(system, dynamics)
    out = jax.jit(jax.vmap(g))(pts, u)
    if dynamics == "discrete":
        out = out - pts
    out = np.asarray(out, np.float64).reshape(gx.shape + (2,))
    return Flow2D(gx, gy, out[..., 0], out[..., 1], np.asarray(u[0]), dynamics)


class Projection(NamedTuple):
    """An affine projection onto principal axes: `(x − mean) @ components.T`."""

    mean: np.ndarray
    components: np.ndarray  # [K, N]
    explained_variance_ratio: np.ndarray

    def __call__(self, x):
        return (np.asarray(x, np.float64) - self.mean) @ self.components.T


def pca(states, n_components: int = 3) -> Projection:
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
