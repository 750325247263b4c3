"""The host loop of the fixed-point search: jitted Adam chunks and Newton–Krylov polishing on
blocks of the live points, the stall rule and restarts, and the progress bar between chunks."""

from __future__ import annotations

import jax
import numpy as np

from .._progress import tqdm
from ._optimize import ADAM, DESCENT_COSINE, Carry, chunk, descent_cosine, polish
from ._result import STALLED

# A point stalls when its q has not fallen below this fraction of its value `stall_steps` ago
# (and it is stationary: see `DESCENT_COSINE`).
STALL_FACTOR = 0.5

# Points are optimised in blocks of at most about this many states × N² (N the state size):
# big enough that one jitted step is a matrix product rather than per-operation overhead, small
# enough that a Newton–Krylov block's Krylov bases stay in cache (a 1024-point GMRES at
# N = 128 costs 4× more per point than a 128-point one) and that finished points leave the
# batch. A block that is not full is padded to block/2 or block/4 points, so that each kernel
# is compiled for at most three batch sizes.
BLOCK_WORK = 2**21


def block_size(n_points: int, n_states: int) -> int:
    """Most points run together: the power of two nearest below BLOCK_WORK / N² (at least
    64), or the smallest power of two ≥ P if that is smaller."""
    target = max(64, BLOCK_WORK // max(n_states, 1) ** 2)
    block = 1 << (target.bit_length() - 1)
    return min(block, 1 << (n_points - 1).bit_length())


def padded(n: int, block: int) -> int:
    """The batch size for n ≤ block points: the smallest of block, block/2, block/4 that
    holds them."""
    size = block
    while size // 2 >= n and size // 2 >= max(block // 4, 1):
        size //= 2
    return size


def _blocks(rows: np.ndarray, block: int):
    """(positions in `rows`, row indices padded by repeating a row) for each block."""
    for start in range(0, rows.size, block):
        idx = rows[start:start + block]
        size = padded(idx.size, block)
        yield np.arange(start, start + idx.size), np.concatenate(
            [idx, np.full(size - idx.size, idx[0], idx.dtype)]
        )


def blocked(fn, carry: Carry, rows: np.ndarray, u_host: np.ndarray, block: int, *args):
    """`fn(part, u_part, *args)` on the points `rows` only, in blocks of `block` points (the
    last padded to a `padded` size by repeating a row), written back into `carry`."""
    leaves, treedef = jax.tree_util.tree_flatten(carry)
    new = [a.copy() for a in leaves]
    for pos, idx in _blocks(rows, block):
        part = fn(treedef.unflatten([a[idx] for a in leaves]), u_host[idx], *args)
        for full, p in zip(new, jax.tree_util.tree_leaves(part)):
            full[rows[pos]] = np.asarray(p)[: pos.size]
    return treedef.unflatten(new)


def _set_rows(tree, rows: np.ndarray, values):
    """A copy of the NumPy pytree `tree` with `rows` of every leaf set to `values` (one row,
    broadcast)."""

    def put(a, v):
        a = a.copy()
        a[rows] = np.asarray(v)
        return a

    return jax.tree_util.tree_map(put, tree, values)


def _cosines(system, x, rows, u_host, block, static) -> np.ndarray:
    out = np.zeros(rows.size, x.dtype)
    for pos, idx in _blocks(rows, block):
        out[pos] = np.asarray(descent_cosine(system, x[idx], u_host[idx], static))[: pos.size]
    return out


def optimise(
    system, carry: Carry, u, static, params, *, max_steps, chunk_size, newton, stall_steps,
    learning_rate, progress,
):
    """Jitted Adam chunks on the live points, then Newton–Krylov polishing of the live points
    whose q has fallen since they were last polished, then the stall test and restarts, with a
    progress bar between chunks. The state is kept in NumPy between calls and the live points
    are gathered into blocks of a few fixed sizes, so finished points cost nothing and only
    those sizes are ever compiled.

    A point whose q stops falling (its step size fell below lr_min, or q has not halved in
    `stall_steps` steps) is restarted from its best state, with fresh Adam moments and the
    initial step size, if it is still descending: its gradient is not negligible
    (`DESCENT_COSINE`) and it has halved its q since it last (re)started. Otherwise it has
    stalled. (Each restart needs q halved, so there are at most log₂(q₀/tol_q) of them, and
    `max_steps` bounds them all.)"""
    carry = jax.tree_util.tree_map(np.asarray, carry)
    u_host = np.asarray(u)
    n_points, n_states = carry.x.shape
    block = block_size(n_points, n_states)
    q_tried = np.full((n_points,), np.inf, carry.q_best.dtype)
    q_check = np.full((n_points,), np.inf, carry.q_best.dtype)
    next_check = np.full((n_points,), stall_steps or max_steps + 1, np.int64)
    q_start = np.full((n_points,), np.inf, carry.q_best.dtype)  # q_best at the last restart

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
            was_active = carry.active.copy()
            carry = blocked(adam, carry, live, u_host, block, n)
            steps += n
            if newton:
                # Newton from a point's best state is deterministic: retry only if it moved
                due = np.flatnonzero(carry.active & (carry.q_best <= q_tried))
                if due.size:
                    carry = blocked(newton_polish, carry, due, u_host, block)
                    q_tried[due] = carry.q_best[due]
            if steps == n:  # the reference of the first stall test
                q_check = carry.q_best.copy()
            # stalled inside the chunk (step size below lr_min), or by the stall rule
            stuck = was_active & ~carry.active & (carry.status == STALLED)
            due = carry.active & (steps >= next_check)
            stuck |= due & ~(carry.q_best <= STALL_FACTOR * q_check)
            q_check[due] = carry.q_best[due]
            next_check[due] = steps + stall_steps if stall_steps else max_steps + 1
            carry = _restart_or_stall(
                system, carry, stuck, q_start, q_check, next_check, steps,
                stall_steps, max_steps, learning_rate, u_host, block, static,
            )
            bar.update(n)
            live_q = carry.q_best[carry.active]
            bar.set_postfix(
                active=int(live_q.size), max_q=f"{live_q.max():.2e}" if live_q.size else "-"
            )
    finally:
        bar.close()
    return carry


def _restart_or_stall(system, carry, stuck, q_start, q_check, next_check, steps,
                      stall_steps, max_steps, learning_rate, u_host, block, static):
    """Restart the stuck points that are still descending (updating the bookkeeping arrays in
    place); stop the others with status "stalled"."""
    if not stuck.any():
        return carry
    q = carry.q_best
    eligible = np.flatnonzero(stuck & (q <= STALL_FACTOR * q_start))
    again = np.zeros_like(stuck)
    if eligible.size and steps < max_steps:
        cos = _cosines(system, carry.x_best, eligible, u_host, block, static)
        again[eligible[cos >= DESCENT_COSINE]] = True
    stop = stuck & ~again
    new = carry._replace(
        active=np.where(again, True, carry.active & ~stop),
        status=np.where(stop | again, STALLED, carry.status).astype(carry.status.dtype),
    )
    if again.any():
        rows = np.flatnonzero(again)
        x, lr, bad = new.x.copy(), new.lr.copy(), new.bad.copy()
        q_plateau = new.q_plateau.copy()
        x[rows] = carry.x_best[rows]
        bad[rows] = 0
        lr[rows] = learning_rate
        q_plateau[rows] = q[rows]
        # fresh Adam moments and bias-correction count (one point's initial state, broadcast)
        adam = _set_rows(new.adam, rows, ADAM.init(x[rows[0]]))
        new = new._replace(x=x, adam=adam, lr=lr, bad=bad, q_plateau=q_plateau)
        q_start[rows] = q[rows]
        q_check[rows] = q[rows]
        next_check[rows] = steps + stall_steps if stall_steps else max_steps + 1
    return new
