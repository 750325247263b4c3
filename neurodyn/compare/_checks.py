"""Argument checks shared by the comparisons: activity sets and their pairing."""

from __future__ import annotations

import jax.numpy as jnp

from .._typing import Array
from .._validate import check_array


def activity(x, name: str, *, min_time: int = 1) -> Array:
    """A `[conditions, time, units]` (or `[time, units]`) activity set as a 3-D JAX array."""
    arr = check_array(x, name, ndim=(2, 3), min_size=1)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.shape[1] < min_time:
        raise ValueError(
            f"{name} must have at least {min_time} time steps (axis -2 of [conditions, time, "
            f"units]), got shape {list(arr.shape)}"
        )
    if arr.shape[2] < 1:
        raise ValueError(f"{name} must have at least one unit, got shape {list(arr.shape)}")
    return jnp.asarray(arr)


def activity_pair(x, y) -> tuple[Array, Array]:
    """Two activity sets flattened to `[samples, units]`: same conditions and time steps (the
    samples are compared one to one), any unit counts."""
    x2 = check_array(x, "x", ndim=(2, 3), min_size=1)
    y2 = check_array(y, "y", ndim=(2, 3), min_size=1)
    if x2.shape[:-1] != y2.shape[:-1]:
        raise ValueError(
            "x and y must have the same conditions and time steps (all axes but the last, units), "
            f"got x of shape {list(x2.shape)} and y of shape {list(y2.shape)}"
        )
    m = 1
    for s in x2.shape[:-1]:
        m *= s
    if m < 2:
        raise ValueError(f"x and y must hold at least 2 samples, got shape {list(x2.shape)}")
    xf = jnp.reshape(jnp.asarray(x2), (m, x2.shape[-1]))
    yf = jnp.reshape(jnp.asarray(y2), (m, y2.shape[-1]))
    dtype = jnp.result_type(xf.dtype, yf.dtype)
    return xf.astype(dtype), yf.astype(dtype)
