"""Beyond isolated points: period-k orbits, unstable manifolds of saddles, and a summary of
approximate line (or ring) attractors."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._dynamics import AbstractDynamicalSystem
from .._typing import Array, Float
from .._validate import ArgumentTypeError, check_int, check_number
from ._result import FixedPoints
from ._system import check_system, flow


def _deprecated(cls: str, old: str, new: str) -> None:
    warnings.warn(f"{cls}.{old} is deprecated: use {cls}.{new}", DeprecationWarning,
                  stacklevel=3)


def _check_fps(fps, need_eig: bool = False) -> FixedPoints:
    if not isinstance(fps, FixedPoints):
        raise ArgumentTypeError(f"fps must be FixedPoints, got {type(fps).__name__}")
    if need_eig and fps.eigenvalues is None:
        raise ValueError(
            "fps have no eigen-decomposition: run find(..., jacobians=True) or "
            "fixedpoints.decompose(system, fps)"
        )
    return fps


@eqx.filter_jit
def _simulate(system, x0, u, n_steps: int, dynamics: str, dt):
    """States `[P, n_steps + 1, N]` from x0 under F (discrete) or Euler steps of f."""
    g = flow(system, dynamics)
    if dynamics == "discrete":
        one = g
    else:
        def one(x, u):
            return x + dt * g(x, u)

    def run(x, u):
        def body(x, _):
            y = one(x, u)
            return y, y

        _, xs = jax.lax.scan(body, x, None, length=n_steps)
        return jnp.concatenate([x[None], xs], axis=0)

    return jax.vmap(run)(x0, u)


def orbits(system: AbstractDynamicalSystem, fps: FixedPoints
           ) -> Float[Array, "points period states"]:
    """`[P, period, N]`: x*, F(x*), …, F^{k−1}(x*) for each period-k point."""
    fps = _check_fps(fps)
    check_system(system, "discrete")
    xs = _simulate(system, fps.xstar, fps.inputs, fps.period - 1, "discrete", None)
    return xs


class UnstableManifolds(NamedTuple):
    """Trajectories leaving saddles along their unstable modes.

    Attributes:
        saddle: `[S]` index into the `FixedPoints` of the saddle each row starts from.
        mode: `[S]` which unstable mode (0 = least stable).
        eigenvalue: `[S]` that mode's eigenvalue (`eigval`: its deprecated name).
        trajectories: `[S, 2, T + 1, N]` from x* + ε·v (branch 0) and x* − ε·v (branch 1).
        ends: `[S, 2]` index of the stable point each branch ends at (−1: none within
            `tol`), among the points of the same condition.
        end_distance: `[S, 2]` distance from the branch's last state to the nearest stable point.
    """

    saddle: np.ndarray
    mode: np.ndarray
    eigenvalue: np.ndarray
    trajectories: jax.Array
    ends: np.ndarray
    end_distance: np.ndarray

    @property
    def eigval(self) -> np.ndarray:
        """Deprecated: `eigenvalue`."""
        _deprecated("UnstableManifolds", "eigval", "eigenvalue")
        return self.eigenvalue


def unstable_manifolds(
    system: AbstractDynamicalSystem,
    fps: FixedPoints,
    *,
    n_steps: int = 500,
    eps: float = 1e-3,
    max_modes: int = 1,
    dt: float | None = None,
    tol: float = 1e-2,
) -> UnstableManifolds:
    """Trace the unstable manifold of every saddle by simulating from it.

    The simulations start from x* ± ε·v for each of the saddle's first `max_modes` unstable modes
    v (the real part of the eigenvector, normalised), to see which attractors a saddle connects.
    Discrete systems are iterated with `step` (k steps per period-k step are just F iterated);
    continuous ones are Euler-integrated with step `dt` (default: the system's `dt`)."""
    fps = _check_fps(fps, need_eig=True)
    check_system(system, fps.dynamics)
    n_steps = check_int(n_steps, "n_steps")
    eps = check_number(eps, "eps", low=0.0, low_open=True)
    max_modes = check_int(max_modes, "max_modes")
    tol = check_number(tol, "tol", low=0.0, low_open=True)
    dynamics = fps.dynamics
    if dynamics == "continuous":
        dt = getattr(system, "dt", None) if dt is None else dt
        dt = check_number(dt, "dt", low=0.0, low_open=True)
    n_unstable = np.asarray(fps.n_unstable)
    rows = [(p, i) for p in range(fps.n_points) for i in range(min(n_unstable[p], max_modes))]
    n = fps.n_states
    if not rows:
        empty = np.zeros((0,), np.int64)
        return UnstableManifolds(
            empty, empty, np.zeros((0,), np.complex64),
            jnp.zeros((0, 2, n_steps + 1, n), fps.xstar.dtype),
            np.zeros((0, 2), np.int64), np.zeros((0, 2)),
        )
    saddle = np.array([r[0] for r in rows])
    mode = np.array([r[1] for r in rows])
    vec = np.real(np.asarray(fps.eigenvectors)[saddle, :, mode])
    vec /= np.linalg.norm(vec, axis=-1, keepdims=True)
    xstar = np.asarray(fps.xstar)[saddle]
    starts = np.stack([xstar + eps * vec, xstar - eps * vec], axis=1).reshape(-1, n)
    u = np.repeat(np.asarray(fps.inputs)[saddle], 2, axis=0)
    traj = _simulate(
        system, jnp.asarray(starts, fps.xstar.dtype), jnp.asarray(u), n_steps, dynamics,
        None if dt is None else jnp.asarray(dt, fps.xstar.dtype),
    )
    traj = traj.reshape(len(rows), 2, n_steps + 1, n)

    end = np.asarray(traj[:, :, -1], np.float64)
    stable = np.flatnonzero(np.asarray(fps.stable))
    cond = np.asarray(fps.condition_id)
    ends = np.full((len(rows), 2), -1, np.int64)
    dist = np.full((len(rows), 2), np.inf)
    for r, p in enumerate(saddle):
        cands = stable[cond[stable] == cond[p]]
        if cands.size == 0:
            continue
        d = np.linalg.norm(end[r][:, None, :] - np.asarray(fps.xstar)[cands][None], axis=-1)
        j = np.argmin(d, axis=1)
        dist[r] = d[np.arange(2), j]
        ends[r] = np.where(dist[r] <= tol, cands[j], -1)
    eigval = np.asarray(fps.eigenvalues)[saddle, mode]
    return UnstableManifolds(saddle, mode, eigval, traj, ends, dist)


class LineAttractor(NamedTuple):
    """Slow points ordered along their manifold, one block per condition (Mante et al. 2013).

    Attributes:
        index: `[M]` index into the `FixedPoints`, in summary order (by condition, then by
            position).
        condition_id: `[M]`.
        position: `[M]` coordinate along the manifold: projection on the first principal
            axis of that condition's points.
        slow_eigenvalue: `[M]` the eigenvalue closest to the stability boundary (|λ| = 1 or
            Re λ = 0) (`slow_eigval`: its deprecated name).
        time_constant: `[M]` its time constant (ms, or steps without `dt`).
        next_time_constant: `[M]` the time constant of the next-slowest mode (the gap).
        right: `[M, N]` its right eigenvector (real part, unit norm, signed to point along
            increasing position); `left`: `[M, N]` its left eigenvector (the selection vector),
            scaled so that leftᵀ right = 1.
        alignment: `[M]` |cos| of the angle between `right` and the local direction of the
            manifold (finite differences between neighbours).
        direction: `[C, N]` the first principal axis of each condition's points.
        explained: `[C]` the fraction of the variance of each condition's points along that
            axis (1 for points exactly on a line; NaN for fewer than two distinct points).
    """

    index: np.ndarray
    condition_id: np.ndarray
    position: np.ndarray
    slow_eigenvalue: np.ndarray
    time_constant: np.ndarray
    next_time_constant: np.ndarray
    right: np.ndarray
    left: np.ndarray
    alignment: np.ndarray
    direction: np.ndarray
    explained: np.ndarray

    @property
    def slow_eigval(self) -> np.ndarray:
        """Deprecated: `slow_eigenvalue`."""
        _deprecated("LineAttractor", "slow_eigval", "slow_eigenvalue")
        return self.slow_eigenvalue


def line_attractor(fps: FixedPoints) -> LineAttractor:
    """Summarise approximate line attractors: their slowest modes along the manifold.

    For each condition, order its points along their first principal axis and report, at each,
    the mode closest to the stability boundary — its eigenvalue, time constant, right and left
    eigenvectors — and how well that mode lines up with the manifold."""
    fps = _check_fps(fps, need_eig=True)
    if fps.n_points == 0:
        raise ValueError("line_attractor needs at least one point")
    x = np.asarray(fps.xstar, np.float64)
    lam = np.asarray(fps.eigenvalues)
    right_all, left_all = np.asarray(fps.eigenvectors), np.asarray(fps.left_eigenvectors)
    boundary = np.abs(np.asarray(fps.distance_to_boundary, np.float64))
    tau = np.asarray(fps.time_constants, np.float64)
    cond = np.asarray(fps.condition_id)
    out = {k: [] for k in LineAttractor._fields}
    directions, explained = [], []
    for c in np.unique(cond):
        members = np.flatnonzero(cond == c)
        xc = x[members]
        centred = xc - xc.mean(axis=0)
        if len(members) > 1 and np.any(centred):
            _, sv, vt = np.linalg.svd(centred, full_matrices=False)
            direction = vt[0]
            explained.append(sv[0] ** 2 / np.sum(sv**2))
        else:
            direction = np.zeros(x.shape[1])
            explained.append(np.nan)
        pos = centred @ direction
        order = np.argsort(pos, kind="stable")
        members, xc, pos = members[order], xc[order], pos[order]
        directions.append(direction)
        if len(members) > 1:
            tangent = np.gradient(xc, axis=0)
        else:
            tangent = np.zeros_like(xc)
        for j, p in enumerate(members):
            ranked = np.argsort(boundary[p], kind="stable")
            i, i2 = ranked[0], ranked[1] if ranked.size > 1 else ranked[0]
            v = np.real(right_all[p, :, i])
            w = left_all[p, :, i]
            norm = np.linalg.norm(v) or 1.0
            sign = -1.0 if v @ (tangent[j] if np.any(tangent[j]) else direction) < 0 else 1.0
            v = sign * v / norm
            w = np.real(w) * sign * norm  # keeps wᵀv = 1 for a real mode
            t = tangent[j]
            tn = np.linalg.norm(t)
            out["index"].append(p)
            out["condition_id"].append(c)
            out["position"].append(pos[j])
            out["slow_eigenvalue"].append(lam[p, i])
            out["time_constant"].append(tau[p, i])
            out["next_time_constant"].append(tau[p, i2])
            out["right"].append(v)
            out["left"].append(w)
            out["alignment"].append(abs(v @ t) / tn if tn > 0 else np.nan)
    arrays = {k: np.asarray(v) for k, v in out.items() if k not in ("direction", "explained")}
    return LineAttractor(
        **arrays, direction=np.asarray(directions), explained=np.asarray(explained)
    )
