"""`flow_field` (deprecated): the flow of a low-rank latent system on a plane of κ-space, now
`neurodyn.fixedpoints.flow_field` with the mean-field fixed points (drawn by
`neurodyn.plot.plot_flow_field`)."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._validate import check_array, check_int
from ..fixedpoints import FlowField, flow_field as _flow_field
from ..models import LatentDynamics
from ._populations import LowRankMixture
from .meanfield import MeanFieldDynamics, classify, default_radius, fixed_points
from .meanfield._roots import as_system, system_dtype

# Beyond this many points per axis the grid (resolution² evaluations) would exhaust memory
# (fixedpoints.flow_field's limit, checked here before the fixed points are searched).
MAX_RESOLUTION = 2001


def flow_field(
    system: LatentDynamics | MeanFieldDynamics | LowRankMixture,
    u: Float[ArrayLike, " inputs"] | None = None,
    *,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    resolution: int = 41,
    input_index: int = 0,
) -> FlowField:
    """Deprecated: the latent flow field of a low-rank network, with its fixed points.

    Deprecated: `neurodyn.fixedpoints.flow_field(system, u, dynamics="continuous",
    fixed_points=meanfield.fixed_points(system, u), ...)` on the plane below.

    The vector field (1/ms) of a rank-2 latent system on the (κ1, κ2) plane, or of a rank-1
    system with inputs on the (κ, v_j) plane (j = `input_index`), at constant input `u`.
    `system` is a `LatentDynamics` (`lowrank.latent(model)`), a `MeanFieldDynamics` or a
    `LowRankMixture`. The input coordinates sit at their steady state v = u (for rank 1 the
    other ones). Fixed points come from `meanfield.fixed_points`, their `kinds` from the
    κ-block of the Jacobian (`meanfield.classify`); the default limits from
    `meanfield.default_radius`.
    """
    warnings.warn(
        "lowrank.flow_field is deprecated: use neurodyn.fixedpoints.flow_field(system, u, "
        "xlim=..., ylim=..., axes=..., dynamics='continuous', "
        "fixed_points=lowrank.meanfield.fixed_points(system, u)) (its default dynamics is "
        "'discrete', as find's and linearize's)", DeprecationWarning, stacklevel=2,
    )
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
    state = np.concatenate([np.zeros(rank), u]).astype(dtype)
    flow = _flow_field(system, jnp.asarray(u), xlim=xlim, ylim=ylim, axes=axes,
                       state=state, fixed_points=fps, labels=labels, resolution=resolution,
                       dynamics="continuous")
    return flow._replace(kinds=classify(system, fps).kinds, u=u)


def _check_lim(lim, name: str) -> tuple[float, float] | None:
    if lim is None:
        return None
    arr = check_array(lim, name, ndim=1)
    if arr.shape != (2,) or not arr[0] < arr[1]:
        raise ValueError(f"{name} must be (low, high) with low < high, got {tuple(arr.tolist())}")
    return float(arr[0]), float(arr[1])
