"""Flow fields of low-rank latent systems on a plane of κ-space (computed here, drawn by
`neurodyn.plot.plot_flow_field`)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._validate import check_array, check_int
from .meanfield import KappaFixedPoints, default_radius, fixed_points
from .meanfield._roots import as_system, system_dtype

# Beyond this many points per axis the grid (resolution² evaluations) would exhaust memory.
MAX_RESOLUTION = 2001


class FlowField(NamedTuple):
    """The latent vector field on a grid of a plane.

    Attributes:
        x, y: `[ny, nx]` plane coordinates of the grid; `labels` name them ("κ1", "κ2" or
            "κ1", "v1").
        dx, dy: `[ny, nx]` the vector field's components along x and y (1/ms).
        speed: `[ny, nx]` √(dx² + dy²).
        points: `[K, 2]` fixed points in plane coordinates; `kinds` their type
            ("stable", "saddle", "unstable", "marginal"); `fixed_points` the full result.
        u: the constant input the plane was drawn at.
    """

    x: np.ndarray
    y: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    speed: np.ndarray
    labels: tuple[str, str]
    points: np.ndarray
    kinds: tuple[str, ...]
    fixed_points: KappaFixedPoints
    u: np.ndarray


def flow_field(
    system,
    u=None,
    *,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    resolution: int = 41,
    input_index: int = 0,
) -> FlowField:
    """The vector field of a rank-2 latent system on the (κ1, κ2) plane, or of a rank-1
    system with inputs on the (κ, v_j) plane (j = `input_index`), at constant input `u`.

    `system` is a `LatentDynamics` (`lowrank.latent(model)`), a `MeanFieldDynamics` or a
    `LowRankMixture`. For rank 2 the input coordinates sit at their steady state v = u, so a
    constant input (a context cue, a stimulus) shifts the plane; for rank 1 the other input
    coordinates sit at v = u. Fixed points come from `meanfield.fixed_points` and are
    classified by the eigenvalues of the reduced (κ-block) Jacobian.
    """
    system = as_system(system)
    rank, n_in = system.rank, system.n_inputs
    input_index = check_int(input_index, "input_index", low=0)
    if rank == 2:
        axes, labels = (0, 1), ("κ1", "κ2")
    elif rank == 1 and n_in >= 1:
        input_index = check_int(input_index, "input_index", low=0, high=n_in - 1)
        axes, labels = (0, 1 + input_index), ("κ1", f"v{input_index + 1}")
    else:
        raise ValueError(
            f"system: flow_field draws rank-2 systems, or rank-1 systems with at least one "
            f"input; got rank {rank} with {n_in} inputs"
        )
    resolution = check_int(resolution, "resolution", low=2, high=MAX_RESOLUTION)
    dtype = system_dtype(system)
    if u is None:
        u = np.zeros(n_in, dtype)
    else:
        u = np.asarray(check_array(u, "u"), dtype)
        if u.shape != (n_in,):
            raise ValueError(f"u must be a finite array of shape ({n_in},), got {u.shape}")
    xlim, ylim = _check_lim(xlim, "xlim"), _check_lim(ylim, "ylim")
    fps = fixed_points(system, jnp.asarray(u))
    r = 1.3 * default_radius(system)
    xlim = (-r, r) if xlim is None else xlim
    if ylim is None:
        ylim = (-r, r) if rank == 2 else (min(-1.0, 1.5 * float(u[input_index]) - 0.5),
                                          max(1.0, 1.5 * float(u[input_index]) + 0.5))

    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    gx, gy = np.meshgrid(xs, ys)
    base = np.concatenate([np.zeros(rank), u]).astype(dtype)
    states = np.broadcast_to(base, gx.shape + (rank + n_in,)).copy()
    states[..., axes[0]] = gx
    states[..., axes[1]] = gy
    field = jax.jit(jax.vmap(lambda s: system.vector_field(s, jnp.asarray(u))))(
        jnp.asarray(states.reshape(-1, rank + n_in))
    )
    field = np.asarray(field, np.float64).reshape(states.shape)
    dx, dy = field[..., axes[0]], field[..., axes[1]]
    points = fps.states[:, list(axes)] if len(fps.kappa) else np.zeros((0, 2))
    return FlowField(
        gx, gy, dx, dy, np.hypot(dx, dy), labels, points, fps.kinds, fps, u
    )


def _check_lim(lim, name: str) -> tuple[float, float] | None:
    if lim is None:
        return None
    arr = check_array(lim, name, ndim=1)
    if arr.shape != (2,) or not arr[0] < arr[1]:
        raise ValueError(f"{name} must be (low, high) with low < high, got {tuple(arr.tolist())}")
    return float(arr[0]), float(arr[1])
