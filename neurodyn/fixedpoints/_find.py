"""`find`: fixed points, slow points and period-k points of any dynamical system.

Sussillo & Barak (2013) minimise q(x) = ½‖F(x, u) − x‖² from many starting states; the
minima with q = 0 are fixed points, those with small q > 0 slow points. Golub & Sussillo's
FixedPointFinder (2018) runs one Adam optimiser jointly on the mean q. Here every point has its
own Adam state and step size and stops on its own; the points run together in vmapped,
jitted chunks (a `tqdm` bar moves between chunks), and after each chunk a damped
Newton–Krylov iteration (J_r Δ = −r) polishes the points that are near true fixed points to
machine precision, so Adam only has to reach the basin. The live points are gathered into
blocks of a few fixed sizes (to bound recompilation), so finished points cost nothing.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._dynamics import AbstractDynamicalSystem
from .._validate import check_array, check_int, check_key, check_number
from ..models import Rollout
from ._filters import apply_filters, q_limits
from ._jacobian import decompose
from ._loop import optimise
from ._optimize import Params, Static, init_carry
from ._result import CONVERGED, MAX_STEPS, STATUS_NAMES, FixedPoints, Report
from ._settings import check_search, default_rtol
from ._system import (
    check_callable,
    check_inputs,
    check_states,
    check_system,
    flow,
    system_dt,
)


def _condition_ids(inputs, condition_id, n_points: int):
    if condition_id is not None:
        cid = check_array(condition_id, "condition_id", dtype="int", shape=(n_points,))
        return jnp.asarray(cid, jnp.int32)
    u = np.asarray(inputs)
    if u.shape[1] == 0:
        return jnp.zeros((n_points,), jnp.int32)
    # Labels in order of first appearance (np.unique alone would number the inputs in sorted
    # order, so that the first input given need not be condition 0).
    _, first, inverse = np.unique(u, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return jnp.asarray(rank[inverse.reshape(-1)], jnp.int32)


@eqx.filter_jit
def _displacement(system, x, u, d: int):
    g = jax.vmap(flow(system, "discrete", d))
    return jnp.sqrt(jnp.sum((g(x, u) - x) ** 2, axis=-1))


def _min_period(system, x, u, period: int, tol: float):
    """Smallest d | period with ‖Fᵈ(x) − x‖ ≤ tol, per point."""
    out = np.full((x.shape[0],), period, np.int32)
    for d in sorted((d for d in range(1, period) if period % d == 0), reverse=True):
        dist = np.asarray(_displacement(system, x, u, d))
        out = np.where(dist <= tol, d, out)
    return out


def find(
    system: AbstractDynamicalSystem,
    initial_states: Float[ArrayLike, "points states"],
    inputs: Float[ArrayLike, "points inputs"] | Float[ArrayLike, " inputs"] | None = None,
    *,
    dynamics: str = "discrete",
    period: int = 1,
    tol_q: float = 1e-12,
    rtol: float | None = None,
    max_steps: int = 5000,
    learning_rate: float = 0.3,
    chunk_size: int = 100,
    patience: int = 20,
    lr_factor: float = 0.5,
    lr_min: float = 1e-6,
    stall_steps: int | None = 300,
    newton: bool = True,
    newton_steps: int = 8,
    newton_radius: float = 10.0,
    krylov_dim: int = 12,
    filter: bool = True,
    max_q: float | None = None,
    tol_unique: float | None = 1e-3,
    outlier_distance: float | None = 10.0,
    jacobians: bool = True,
    condition_id: Int[ArrayLike, " points"] | None = None,
    latent: bool = False,
    progress: bool = True,
) -> FixedPoints:
    """Fixed points of `system` from every starting point at once.

    Minimises, per point,

        q(x) = ½‖Fᵏ(x, u) − x‖²   (dynamics="discrete", F = `system.step`, k = `period`)
        q(x) = ½‖f(x, u)‖²        (dynamics="continuous", f = `system.vector_field`)

    with Adam and a per-point step size that halves on a plateau, then Newton-polishes
    (Sussillo & Barak 2013; Golub & Sussillo 2018). `system` is a
    `neurodyn.AbstractDynamicalSystem`: an RNN, a `LatentDynamics`, a fitted state-space
    model, or your own subclass.

    Args:
        initial_states: `[P, N]` starting states (see `sample_states`).
        inputs: None, one constant input `[I]` for all points, or one per point `[P, I]`
            (input-conditioned fixed points, e.g. one set per context).
        tol_q, rtol: a point has converged when

                q(x) < max(tol_q, ½ rtol² ‖x‖²),   i.e. ‖r(x)‖ < max(√(2 tol_q), rtol ‖x‖),

            the absolute tolerance or the rounding floor of q at x, whichever is larger. The
            floor: r = F(x) − x is computed from terms of the size of x (x, α·(−x + J φ(x) +
            W u), their sum), so each component carries a rounding error of a few units of
            roundoff u = eps/2 times |x_i|, and even the float nearest an exact fixed point
            has |r_i| ≈ k·u·|x_i| (k a few roundings, measured 1–3 on trained networks). So
            q = ½‖r‖² cannot fall below about ½ (k u)² ‖x‖² = (k²/8) · eps² · N · s² (N the
            state size, s the rms state). In float32 (eps = 1.2e-7) at N = 128 and s = 3 that
            is ~1e-11: tol_q = 1e-12 is out of reach, in float64 (eps = 2.2e-16) it is ~3e-26.
            `rtol=None` sets rtol = 4 · period · eps(dtype) / T (k = 8 roundings of margin,
            times the k-fold map; T = 1 for maps; for a vector field, whose terms are those of
            the map divided by the system's time constant, T = `system.tau` if it has one).
            Float64 searches are therefore governed by tol_q alone, as before; `rtol=0` turns
            the floor off.
        max_steps, learning_rate, chunk_size: Adam budget per point, initial step size, and
            steps per jitted chunk (the progress bar and Newton polishing run between chunks).
            FixedPointFinder starts at 1.0, which is faster on large networks; 0.3 misses
            fewer of the points that few starts lead to on small systems.
        patience, lr_factor, lr_min: the step size is multiplied by `lr_factor` after `patience`
            steps without a 0.1 % fall in q; a point whose step size drops below `lr_min`
            has stopped moving.
        stall_steps: with `newton`, a point whose q has not halved in `stall_steps` steps
            (checked every `stall_steps` steps) has stopped descending too, since Newton could
            not finish it. None: no such test.
            A point that stopped (either way) is restarted from its best state, with fresh
            Adam moments and the initial step size, while it is still descending: its gradient
            is not negligible, ‖J_rᵀ r‖ ≥ 1e-5 ‖J_r‖₂ ‖r‖ (MINPACK's cosine test; a slow
            point has J_rᵀ r = 0), and its q has halved since it last (re)started. Otherwise
            it is reported with status "stalled" (a slow point, or a local minimum of q above
            zero). Adam's step size collapses in narrow curved valleys of q far from the fixed
            points, where the gradient is still large; restarts bring those starts home.
        newton, newton_steps: after each Adam chunk, polish every live point whose q has not
            risen since it was last polished with up to `newton_steps` inexact Newton
            iterations, each the longest of Δ, Δ/2, Δ/4, Δ/8 that lowers q (backtracking).
        krylov_dim: each Newton step solves J Δ = −r by GMRES in a Krylov space of at most
            this many dimensions (Jacobian-vector products only; its cost grows as
            krylov_dim² · N); states of at most max(krylov_dim, 32) dimensions get exact
            Newton steps (full Jacobian and LU).
        newton_radius: Newton's result is taken only if it lies within `newton_radius` ×
            (the point's current Adam step size) of where Adam is, in the max norm, so Newton
            finishes the point Adam is converging to and never jumps elsewhere: Newton's basins
            favour stable points and would hide saddles, and would pull every slow point of an
            approximate line attractor into its one true fixed point. `inf` lets Newton go
            anywhere (fastest when only exact fixed points matter, e.g. on a linear system
            whose q is ill-conditioned, where Adam crawls along the slow direction).
        filter, max_q, tol_unique, outlier_distance: post-processing (see `filter_points`);
            `max_q=None` keeps the points that meet the convergence test above (pass a
            larger value to keep slow points). With `filter=False` every start comes back,
            with its `status`.
        jacobians: compute Jacobians, eigen-decomposition and stability of the kept points
            (for a `LowRankRNN` from its rank-R structure: see `decompose`).
        condition_id: `[P]` integer labels (default: the distinct inputs numbered 0, 1, … in
            the order they first appear in `inputs`); de-duplication never merges points of
            different conditions.
        latent: search the system's exact reduction, `system.reduction()` (for a `LowRankRNN`
            its rank + n_inputs dimensional latent system in orthonormal coordinates,
            `neurodyn.models.OrthonormalLatent`), and lift the points back to the system's
            state space (initial states are projected onto the reduced coordinates; the
            filters run on the lifted points against the original starts). A system without
            a reduction is an error.

    Returns:
        `FixedPoints`, with `report` saying how many starts converged, stalled, ran out of
        steps or diverged, and how many points each filter removed. Points that do not
        converge are never dropped silently: they are counted there, and returned with
        `filter=False`.
    """
    settings = dict(
        dynamics=dynamics, period=period, tol_q=tol_q, rtol=rtol, max_steps=max_steps,
        learning_rate=learning_rate, chunk_size=chunk_size, patience=patience,
        lr_factor=lr_factor, lr_min=lr_min, stall_steps=stall_steps,
        newton=newton, newton_steps=newton_steps, newton_radius=newton_radius,
        krylov_dim=krylov_dim, max_q=max_q, tol_unique=tol_unique,
        outlier_distance=outlier_distance,
    )
    flags = check_search(settings, filter=filter, jacobians=jacobians, latent=latent,
                         progress=progress)
    if flags["latent"]:
        return _find_reduced(system, initial_states, inputs, condition_id, settings, flags)
    return _search(system, initial_states, inputs, condition_id, settings, flags)


def _find_reduced(system, initial_states, inputs, condition_id, settings: dict,
                  flags: dict) -> FixedPoints:
    """`find` on `system.reduction()`, with the points lifted to the system.

    The filters run on the lifted points, against the system's own starting states: an
    outlier is judged by the spread of the starts in the full state space (their projections
    onto the reduced span spread far less, and would make every point off the origin an
    outlier). The reduction's coordinates are orthonormal (‖z‖ = ‖x‖), so the convergence
    test means the same in both."""
    check_system(system, settings["dynamics"], settings["period"])
    reduced = system.reduction()
    if reduced is None:
        raise ValueError(
            f"system: latent=True searches the system's exact reduction (`reduction()`, e.g. "
            f"a LowRankRNN's latent system); a {type(system).__name__} has none"
        )
    x0 = check_states(system, initial_states)
    inner = dict(flags, filter=False, jacobians=False)
    fz = _search(reduced, reduced.project(x0), inputs, condition_id, dict(settings), inner)
    fps = dataclasses.replace(
        fz, xstar=reduced.lift(fz.xstar), initial_states=x0, dt=system_dt(system)
    )
    if flags["filter"]:
        limit = (q_limits(fz.xstar, fz.report.tol_q, fz.report.rtol)
                 if settings["max_q"] is None else settings["max_q"])
        fps = apply_filters(fps, q_limit=limit, tol_unique=settings["tol_unique"],
                            outlier_distance=settings["outlier_distance"])
    return decompose(system, fps) if flags["jacobians"] else fps


def _search(system, initial_states, inputs, condition_id, settings: dict,
            flags: dict) -> FixedPoints:
    """The search itself, with `settings` and `flags` checked by `check_search`."""
    check_system(system, settings["dynamics"], settings["period"])
    dynamics, period = settings["dynamics"], settings["period"]
    x0 = check_states(system, initial_states)
    n_points = x0.shape[0]
    u = check_inputs(system, inputs, n_points, x0.dtype)
    check_callable(system, x0, u, dynamics, period)
    cid = _condition_ids(u, condition_id, n_points)
    s = settings
    rtol = default_rtol(system, x0.dtype, dynamics, period) if s["rtol"] is None else s["rtol"]
    if not s["newton"]:  # Adam alone approaches a slow manifold slowly: only lr_min stalls it
        s["stall_steps"] = None

    static = Static(dynamics, int(period), s["newton_steps"], s["krylov_dim"])
    params = Params(
        *(jnp.asarray(s[k], x0.dtype) for k in ("tol_q", "lr_factor", "lr_min")),
        jnp.asarray(s["patience"], jnp.int32),
        jnp.asarray(1e-3, x0.dtype),
        jnp.asarray(s["newton_radius"], x0.dtype),
        jnp.asarray(0.5 * rtol**2, x0.dtype),
    )
    carry = optimise(
        system, init_carry(x0, s["learning_rate"]), u, static, params,
        max_steps=s["max_steps"], chunk_size=s["chunk_size"], newton=s["newton"],
        stall_steps=s["stall_steps"],
        learning_rate=s["learning_rate"], progress=flags["progress"],
    )

    q = carry.q_best
    limit = q_limits(carry.x_best, s["tol_q"], rtol)
    status = np.where(carry.active, MAX_STEPS, carry.status)
    status = np.where((status != CONVERGED) & (q < limit), CONVERGED, status).astype(np.int32)
    if period > 1:
        tol_period = s["tol_unique"] if s["tol_unique"] is not None else 1e-3
        min_period = _min_period(system, carry.x_best, u, int(period), tol_period)
    else:
        min_period = np.ones((n_points,), np.int32)
    counts = np.bincount(status, minlength=len(STATUS_NAMES))
    report = Report(
        n_starts=n_points,
        outcome=tuple((name, int(c)) for name, c in zip(STATUS_NAMES, counts)),
        n_kept=n_points,
        tol_q=s["tol_q"],
        rtol=float(rtol),
    )
    fps = FixedPoints(
        xstar=jnp.asarray(carry.x_best),
        inputs=u,
        q=jnp.asarray(q),
        status=jnp.asarray(status),
        initial_states=x0,
        n_iters=jnp.asarray(carry.n_iters),
        min_period=jnp.asarray(min_period),
        condition_id=cid,
        dynamics=dynamics,
        period=int(period),
        dt=system_dt(system),
        report=report,
    )
    if flags["filter"]:
        fps = apply_filters(
            fps, q_limit=limit if s["max_q"] is None else s["max_q"],
            tol_unique=s["tol_unique"], outlier_distance=s["outlier_distance"],
        )
    if flags["jacobians"]:
        fps = decompose(system, fps)
    return fps


def sample_states(
    states: Float[ArrayLike, "*batch states"] | Rollout,
    n: int,
    *,
    key: PRNGKeyArray,
    noise_scale: float = 0.0,
) -> Float[Array, "n states"]:
    """`n` starting points drawn (with replacement) from the states of trajectories.

    `states` is `[..., N]` (e.g. `Rollout.states` `[B, T, N]`, or a `Rollout`); each draw is
    a random visited state plus `noise_scale` · N(0, I) (Golub & Sussillo 2018 perturb
    their samples so that the search also starts off the trajectories).
    """
    states = getattr(states, "states", states)
    states = check_array(states, "states", finite=False)
    if states.ndim < 2 or states.shape[-1] == 0 or states.size == 0:
        raise ValueError(f"states must have shape [..., n_states] with some states, got "
                         f"{states.shape}")
    n = check_int(n, "n")
    noise_scale = check_number(noise_scale, "noise_scale", low=0.0)
    key = check_key(key)
    flat = jnp.asarray(states).reshape(-1, states.shape[-1])
    if not np.all(np.isfinite(np.asarray(flat))):
        raise ValueError("states contain NaN or Inf values")
    k_idx, k_noise = jax.random.split(key)
    idx = jax.random.randint(k_idx, (n,), 0, flat.shape[0])
    noise = jax.random.normal(k_noise, (n, flat.shape[1]), flat.dtype)
    return flat[idx] + noise_scale * noise
