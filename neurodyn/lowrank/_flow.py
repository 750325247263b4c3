"""Flow fields of low-rank latent systems on a plane of κ-space (computed here, drawn by
`neurodyn.plot.plot_flow_field`)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..models._latent import LatentDynamics
from ._checks import check_count
from .meanfield import KappaFixedPoints, MeanFieldDynamics, default_radius, dynamics, fixed_points


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
    if not isinstance(system, (LatentDynamics, MeanFieldDynamics)):
        system = dynamics(system)
    rank, n_in = system.rank, system.n_inputs
    if rank == 2:
        axes, labels = (0, 1), ("κ1", "κ2")
    elif rank == 1 and n_in >= 1:
        input_index = check_count("input_index", input_index, 0, n_in - 1)
        axes, labels = (0, 1 + input_index), ("κ1", f"v{input_index + 1}")
    else:
        raise ValueError(
            f"flow_field draws rank-2 systems, or rank-1 systems with at least one input; got "
            f"rank {rank} with {n_in} inputs"
        )
    resolution = check_count("resolution", resolution, 2)
    u = np.zeros(n_in, np.float32) if u is None else np.asarray(u, np.float32)
    if u.shape != (n_in,) or not np.all(np.isfinite(u)):
        raise ValueError(f"u must be a finite array of shape ({n_in},), got {u.shape}")
    fps = fixed_points(system, jnp.asarray(u))
    r = 1.3 * default_radius(system)
    xlim = (-r, r) if xlim is None else tuple(map(float, xlim))
    if ylim is None:
        ylim = (-r, r) if rank == 2 else (min(-1.0, 1.5 * float(u[input_index]) - 0.5),
                                          max(1.0, 1.5 * float(u[input_index]) + 0.5))
    ylim = tuple(map(float, ylim))
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if len(lim) != 2 or not np.all(np.isfinite(lim)) or lim[0] >= lim[1]:
            raise ValueError(f"{name} must be (low, high) with low < high, got {lim}")

    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    gx, gy = np.meshgrid(xs, ys)
    base = np.concatenate([np.zeros(rank), u]).astype(np.float32)
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
