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

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._progress import tqdm
from ._filters import filter_points
from ._jacobian import decompose
from ._optimize import Carry, Params, Static, chunk, init_carry, polish
from ._result import CONVERGED, MAX_STEPS, STALLED, STATUS_NAMES, FixedPoints, Report
from ._system import (
    check_callable,
    check_dynamics,
    check_inputs,
    check_positive,
    check_states,
    flow,
    system_dt,
)

# A point stalls when its q has not fallen below this fraction of its value `stall_steps` ago.
STALL_FACTOR = 0.5


# Points are optimised in blocks of at most about this many states × N² (N the state size):
# big enough that one jitted step is a matrix product rather than per-operation overhead, small
# enough that a Newton–Krylov block's Krylov bases stay in cache (a 1024-point GMRES at
# N = 128 costs 4× more per point than a 128-point one) and that finished points leave the
# batch. A block that is not full is padded to block/2 or block/4 points, so that each kernel
# is compiled for at most three batch sizes.
BLOCK_WORK = 2**21


def _block_size(n_points: int, n_states: int) -> int:
    """Most points run together: the power of two nearest below BLOCK_WORK / N² (at least
    64), or the smallest power of two ≥ P if that is smaller."""
    target = max(64, BLOCK_WORK // max(n_states, 1) ** 2)
    block = 1 << (target.bit_length() - 1)
    return min(block, 1 << (n_points - 1).bit_length())


def _padded(n: int, block: int) -> int:
    """The batch size for n ≤ block points: the smallest of block, block/2, block/4 that
    holds them."""
    size = block
    while size // 2 >= n and size // 2 >= max(block // 4, 1):
        size //= 2
    return size


def _condition_ids(inputs, condition_id, n_points: int):
    if condition_id is not None:
        cid = np.asarray(condition_id)
        if cid.shape != (n_points,) or not np.issubdtype(cid.dtype, np.integer):
            raise ValueError(
                f"condition_id must be an integer array of shape ({n_points},), got "
                f"{cid.dtype} {cid.shape}"
            )
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
    system,
    initial_states: Float[Array, "points states"],
    inputs: Float[Array, "points inputs"] | Float[Array, " inputs"] | None = None,
    *,
    dynamics: str = "discrete",
    period: int = 1,
    tol_q: float = 1e-12,
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
    condition_id=None,
    latent: bool = False,
    progress: bool = True,
) -> FixedPoints:
    """Fixed points of `system` from every starting point at once.

    Minimises, per point,

        q(x) = ½‖Fᵏ(x, u) − x‖²   (dynamics="discrete", F = `system.step`, k = `period`)
        q(x) = ½‖f(x, u)‖²        (dynamics="continuous", f = `system.vector_field`)

    with Adam and a per-point step size that halves on a plateau, then Newton-polishes
    (Sussillo & Barak 2013; Golub & Sussillo 2018). `system` is anything with `step(x, u)` /
    `vector_field(x, u)`: an RNN, a `LatentDynamics`, a fitted state-space model.

    Args:
        initial_states: `[P, N]` starting states (see `sample_states`).
        inputs: None, one constant input `[I]` for all points, or one per point `[P, I]`
            (input-conditioned fixed points, e.g. one set per context).
        tol_q: a point has converged when q < tol_q. In float32, q of an exact fixed point of a
            discrete map is limited by rounding to about N·1e-15 for unit-size states; enable
            `jax_enable_x64` for tighter tolerances on large networks.
        max_steps, learning_rate, chunk_size: Adam budget per point, initial step size, and
            steps per jitted chunk (the progress bar and Newton polishing run between chunks).
            FixedPointFinder starts at 1.0, which is faster on large networks; 0.3 misses
            fewer of the points that few starts lead to on small systems.
        patience, lr_factor, lr_min: the step size is multiplied by `lr_factor` after `patience`
            steps without a 0.1 % fall in q; a point whose step size drops below `lr_min`
            has stalled (a slow point, or q's minimum is not zero).
        stall_steps: with `newton`, a point whose q has not halved in `stall_steps` steps
            (checked every `stall_steps` steps) has stalled too, since Newton could not finish
            it; it is reported with status "stalled". None: no such test.
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
            `max_q` defaults to `tol_q` (pass a larger value to keep slow points). With
            `filter=False` every start comes back, with its `status`.
        jacobians: compute Jacobians, eigen-decomposition and stability of the kept points.
        condition_id: `[P]` integer labels (default: the distinct inputs numbered 0, 1, … in
            the order they first appear in `inputs`); de-duplication never merges points of
            different conditions.
        latent: for a `LowRankRNN`, search its exact latent reduction (rank + n_inputs
            dimensions; `neurodyn.lowrank.latent`) and lift the points back to the network's
            state space (initial states are projected onto the latent coordinates; the
            filters run on the lifted points against the original starts). The Jacobians
            are still the network's, N × N per point: for thousands of units pass
            `jacobians=False` and decompose the latent system (`OrthonormalLatent(model)`)
            or a few selected points.

    Returns:
        `FixedPoints`, with `report` saying how many starts converged, stalled, ran out of
        steps or diverged, and how many points each filter removed. Points that do not
        converge are never dropped silently: they are counted there, and returned with
        `filter=False`.
    """
    if latent:
        from ._latent import find_latent

        return find_latent(
            system, initial_states, inputs, dynamics=dynamics, period=period, tol_q=tol_q,
            max_steps=max_steps, learning_rate=learning_rate, chunk_size=chunk_size,
            patience=patience, lr_factor=lr_factor, lr_min=lr_min, stall_steps=stall_steps,
            newton=newton,
            newton_steps=newton_steps, newton_radius=newton_radius, krylov_dim=krylov_dim,
            filter=filter, max_q=max_q,
            tol_unique=tol_unique, outlier_distance=outlier_distance, jacobians=jacobians,
            condition_id=condition_id, progress=progress,
        )
    check_dynamics(system, dynamics, period)
    tol_q = check_positive("tol_q", tol_q)
    max_steps = check_positive("max_steps", max_steps, integer=True)
    learning_rate = check_positive("learning_rate", learning_rate)
    chunk_size = check_positive("chunk_size", chunk_size, integer=True)
    patience = check_positive("patience", patience, integer=True)
    lr_min = check_positive("lr_min", lr_min)
    stall_steps = check_positive("stall_steps", stall_steps, integer=True, allow_none=True)
    if not newton:  # Adam alone approaches a slow manifold slowly: only lr_min stalls it
        stall_steps = None
    newton_steps = check_positive("newton_steps", newton_steps, integer=True)
    krylov_dim = check_positive("krylov_dim", krylov_dim, integer=True)
    if isinstance(newton_radius, bool) or not newton_radius > 0:  # inf allowed
        raise ValueError(f"newton_radius must be > 0 (inf allowed), got {newton_radius!r}")
    if not 0 < lr_factor < 1:
        raise ValueError(f"lr_factor must be in (0, 1), got {lr_factor!r}")
    max_q = tol_q if max_q is None else check_positive("max_q", max_q)
    check_positive("tol_unique", tol_unique, allow_none=True)
    check_positive("outlier_distance", outlier_distance, allow_none=True)

    x0 = check_states(system, initial_states)
    n_points = x0.shape[0]
    u = check_inputs(system, inputs, n_points, x0.dtype)
    check_callable(system, x0, u, dynamics, period)
    cid = _condition_ids(u, condition_id, n_points)

    static = Static(dynamics, int(period), newton_steps, krylov_dim)
    params = Params(
        *(jnp.asarray(v, x0.dtype) for v in (tol_q, lr_factor, lr_min)),
        jnp.asarray(patience, jnp.int32),
        jnp.asarray(1e-3, x0.dtype),
        jnp.asarray(newton_radius, x0.dtype),
    )
    carry = _optimise(
        system, init_carry(x0, learning_rate), u, static, params, max_steps, chunk_size,
        newton, stall_steps, progress,
    )

    status = np.where(carry.active, MAX_STEPS, carry.status)
    q = carry.q_best
    status = np.where((status != CONVERGED) & (q < tol_q), CONVERGED, status).astype(np.int32)
    if period > 1:
        tol_period = tol_unique if tol_unique is not None else 1e-3
        min_period = _min_period(system, carry.x_best, u, int(period), tol_period)
    else:
        min_period = np.ones((n_points,), np.int32)
    counts = np.bincount(status, minlength=len(STATUS_NAMES))
    report = Report(
        n_starts=n_points,
        outcome=tuple((name, int(c)) for name, c in zip(STATUS_NAMES, counts)),
        n_kept=n_points,
        tol_q=tol_q,
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
    if filter:
        fps = filter_points(
            fps, max_q=max_q, tol_unique=tol_unique, outlier_distance=outlier_distance,
        )
    if jacobians:
        fps = decompose(system, fps)
    return fps


def _blocked(fn, carry: Carry, rows: np.ndarray, u_host: np.ndarray, block: int, *args):
    """`fn(part, u_part, *args)` on the points `rows` only, in blocks of `block` points (the
    last padded to a `_padded` size by repeating a row), written back into `carry`."""
    new = [a.copy() for a in carry]
    for start in range(0, rows.size, block):
        group = rows[start:start + block]
        size = _padded(group.size, block)
        idx = np.concatenate([group, np.full(size - group.size, group[0])])
        part = fn(Carry(*(a[idx] for a in carry)), u_host[idx], *args)
        for full, p in zip(new, part):
            full[idx] = np.asarray(p)
    return Carry(*new)


def _optimise(
    system, carry: Carry, u, static, params, max_steps, chunk_size, newton, stall_steps, progress
):
    """The host loop: jitted Adam chunks on the live points, then Newton–Krylov polishing of
    the live points whose q has fallen since they were last polished, then the stall test,
    with a progress bar between chunks. The state is kept in NumPy between calls and the live
    points are gathered into blocks of a few fixed sizes, so finished points cost nothing and
    only those sizes are ever compiled."""
    carry = Carry(*(np.asarray(a) for a in carry))
    u_host = np.asarray(u)
    n_points, n_states = carry.x.shape
    block = _block_size(n_points, n_states)
    q_tried = np.full((n_points,), np.inf, carry.q_best.dtype)
    q_check, next_check = None, stall_steps or max_steps + 1

    def adam(part, part_u, n):
        return chunk(system, part, part_u, np.int32(n), static, params)

    def newton_polish(part, part_u):
        return polish(system, part, part_u, static, params)

    bar = tqdm(total=max_steps, disable=not progress, desc="fixed points", unit="step")
    steps = 0
    try:
        while steps < max_steps:
            live = np.flatnonzero(carry.active)
            if live.size == 0:
                break
            # short chunks first, so that Newton can finish the easy points early
            n = min(chunk_size, max(8, 2 * steps), max_steps - steps)
            carry = _blocked(adam, carry, live, u_host, block, n)
            steps += n
            if newton:
                # Newton from a point's best state is deterministic: retry only if it moved
                due = np.flatnonzero(carry.active & (carry.q_best <= q_tried))
                if due.size:
                    carry = _blocked(newton_polish, carry, due, u_host, block)
                    q_tried[due] = carry.q_best[due]
            if q_check is None:
                q_check = carry.q_best.copy()
            elif steps >= next_check:
                # stalled: q has not halved in the last `stall_steps` steps
                stuck = carry.active & ~(carry.q_best <= STALL_FACTOR * q_check)
                carry = carry._replace(
                    active=carry.active & ~stuck,
                    status=np.where(stuck, STALLED, carry.status).astype(carry.status.dtype),
                )
                q_check = carry.q_best.copy()
                next_check = steps + stall_steps
            bar.update(n)
            live_q = carry.q_best[carry.active]
            bar.set_postfix(
                active=int(live_q.size), max_q=f"{live_q.max():.2e}" if live_q.size else "-"
            )
    finally:
        bar.close()
    return carry


def sample_states(
    states,
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
    states = jnp.asarray(states)
    if states.ndim < 2 or states.shape[-1] == 0 or states.size == 0:
        raise ValueError(f"states must have shape [..., n_states] with some states, got "
                         f"{states.shape}")
    n = check_positive("n", n, integer=True)
    if not np.isfinite(noise_scale) or noise_scale < 0:
        raise ValueError(f"noise_scale must be a finite number >= 0, got {noise_scale!r}")
    flat = states.reshape(-1, states.shape[-1])
    if not np.all(np.isfinite(np.asarray(flat))):
        raise ValueError("states contain NaN or Inf values")
    k_idx, k_noise = jax.random.split(key)
    idx = jax.random.randint(k_idx, (n,), 0, flat.shape[0])
    noise = jax.random.normal(k_noise, (n, flat.shape[1]), flat.dtype)
    return flat[idx] + noise_scale * noise

