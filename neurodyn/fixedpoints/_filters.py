"""Post-processing of candidate points: pure, vectorised filters, each reported.

Rules, applied in this order (each optional but the first):

1. `non_finite`: a NaN/Inf state or q.
2. `q > max_q`: not a fixed point at the tolerance asked for (slow points survive a larger
   `max_q`).
3. `outlier`: farther from the centroid of the starting points than `outlier_distance` times
   their mean distance to it (FixedPointFinder's rule, Golub & Sussillo 2018).
4. `duplicate`: within `tol_unique` (Euclidean) of a point with lower q and the same
   condition. Greedy in order of q, computed as a leader clustering in one `lax.while_loop`:
   each pass keeps the best unassigned point and retires everything within `tol_unique` of it,
   so the work is O(kept · P · N), with no P × P matrix and no Python loop.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._typing import ArrayLike, Float, Int
from .._validate import ArgumentTypeError, check_array, check_number
from ._result import FixedPoints, Report


def q_limits(x: Float[ArrayLike, "points states"], tol_q: float, rtol: float
             ) -> np.ndarray:
    """`[P]` the convergence limit of q at each point: max(tol_q, ½ rtol² ‖x‖²) (see `find`)."""
    x = np.asarray(x, np.float64)
    return np.maximum(tol_q, 0.5 * rtol**2 * np.sum(x * x, axis=-1))


def _padded_size(n: int) -> int:
    """Next power of two ≥ n (≥ 8): batches padded to it share compilations."""
    return max(8, 1 << (max(n, 1) - 1).bit_length())


@eqx.filter_jit
def _unique_sorted(xs, cs, valid, tol):
    p = xs.shape[0]

    def cond(state):
        unassigned, _ = state
        return jnp.any(unassigned)

    def body(state):
        unassigned, keep = state
        i = jnp.argmax(unassigned)
        d = jnp.sqrt(jnp.sum((xs - xs[i][None, :]) ** 2, axis=-1))
        same = (d <= tol) & (cs == cs[i])
        keep = keep.at[i].set(True)
        return unassigned & ~same & (jnp.arange(p) != i), keep

    _, keep = jax.lax.while_loop(cond, body, (valid, jnp.zeros((p,), bool)))
    return keep


def unique_mask(x: Float[ArrayLike, "points states"], q: Float[ArrayLike, " points"],
                condition_id: Int[ArrayLike, " points"], tol: float | Float[ArrayLike, ""]
                ) -> np.ndarray:
    """Boolean `[P]` mask of the points kept by the greedy de-duplication (lowest q first)."""
    x, q, cid = np.asarray(x), np.asarray(q), np.asarray(condition_id)
    n = x.shape[0]
    order = np.argsort(np.where(np.isnan(q), np.inf, q), kind="stable")
    size = _padded_size(n)
    xs = np.zeros((size,) + x.shape[1:], x.dtype)
    xs[:n] = x[order]
    cs = np.full((size,), -1, np.int32)
    cs[:n] = cid[order]
    valid = np.arange(size) < n
    keep_sorted = np.asarray(_unique_sorted(xs, cs, valid, np.asarray(tol, x.dtype)))[:n]
    keep = np.zeros((n,), bool)
    keep[order] = keep_sorted
    return keep


def outlier_mask(xstar: Float[ArrayLike, "points states"],
                 reference: Float[ArrayLike, "starts states"], scale: float) -> np.ndarray:
    """True for points within `scale` × (mean distance of `reference` to its centroid) of that
    centroid."""
    ref = np.asarray(reference, np.float64)
    centroid = ref.mean(axis=0)
    spread = np.mean(np.linalg.norm(ref - centroid, axis=-1))
    dist = np.linalg.norm(np.asarray(xstar, np.float64) - centroid, axis=-1)
    if spread == 0:  # all starts at one point: measure in units of that point's norm
        spread = max(float(np.linalg.norm(centroid)), 1.0)
    return dist <= scale * spread


def filter_points(
    fps: FixedPoints,
    *,
    max_q: float | None = None,
    tol_unique: float | None = 1e-3,
    outlier_distance: float | None = 10.0,
    reference_states: Float[ArrayLike, "starts states"] | None = None,
) -> FixedPoints:
    """Apply the filters to `fps` and record in `fps.report` how many points each removed.

    Args:
        max_q: keep q ≤ max_q (None: no q filter; `find` by default keeps the points that
            meet its convergence test, q < max(tol_q, ½ rtol² ‖x‖²)).
        tol_unique: de-duplication distance (None: keep duplicates).
        outlier_distance: outlier scale (None: keep outliers).
        reference_states: the states whose spread defines outliers (default
            `fps.initial_states`).
    """
    if not isinstance(fps, FixedPoints):
        raise ArgumentTypeError(f"fps must be FixedPoints, got {type(fps).__name__}")
    max_q = check_number(max_q, "max_q", low=0.0, low_open=True, allow_none=True)
    tol_unique = check_number(tol_unique, "tol_unique", low=0.0, low_open=True, allow_none=True)
    outlier_distance = check_number(outlier_distance, "outlier_distance", low=0.0,
                                    low_open=True, allow_none=True)
    if reference_states is not None:
        reference_states = check_array(reference_states, "reference_states", ndim=2,
                                       min_size=1)
        if reference_states.shape[1] != fps.n_states:
            raise ValueError(f"reference_states must have width {fps.n_states}, got shape "
                             f"{tuple(reference_states.shape)}")
    return apply_filters(fps, q_limit=max_q, tol_unique=tol_unique,
                         outlier_distance=outlier_distance, reference_states=reference_states)


def apply_filters(fps: FixedPoints, *, q_limit: float | Float[ArrayLike, " points"] | None,
                  tol_unique: float | None, outlier_distance: float | None,
                  reference_states: Float[ArrayLike, "starts states"] | None = None
                  ) -> FixedPoints:
    """`filter_points` on checked settings; `q_limit` is None, one number or one per point."""
    if reference_states is None:
        reference_states = fps.initial_states
    removed = []
    # every rule on NumPy copies, then one selection of the points kept
    x, q = np.asarray(fps.xstar), np.asarray(fps.q)
    cid = np.asarray(fps.condition_id)
    idx = np.arange(fps.n_points)

    def apply(idx, keep, rule):
        keep = np.asarray(keep, bool)
        removed.append((rule, int(np.sum(~keep))))
        return idx[keep]

    idx = apply(idx, np.all(np.isfinite(x), axis=-1) & np.isfinite(q), "non_finite")
    if q_limit is not None:
        limit = np.broadcast_to(np.asarray(q_limit, np.float64), q.shape)
        idx = apply(idx, q[idx] <= limit[idx], "q > max_q")
    if outlier_distance is not None:
        idx = apply(idx, outlier_mask(x[idx], reference_states, outlier_distance), "outlier")
    if tol_unique is not None and idx.size > 0:
        keep = unique_mask(x[idx], q[idx], cid[idx], jnp.asarray(tol_unique))
        idx = apply(idx, keep, "duplicate")
    fps = fps[idx]
    report = fps.report or Report(n_starts=fps.n_points, outcome=())
    report = dataclasses.replace(
        report, removed=report.removed + tuple(removed), n_kept=fps.n_points
    )
    return dataclasses.replace(fps, report=report)
