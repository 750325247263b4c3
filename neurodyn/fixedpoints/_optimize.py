"""The pure, jitted kernel of the fixed-point search: Adam chunks and Newton polishing.

Every point is optimised independently (vmap), with its own adaptive learning rate: Adam
directions (`optax.scale_by_adam`, elementwise, so per point) scaled by a per-point step size
that is multiplied by `lr_factor` when q has not fallen by a relative `plateau_rtol` for
`patience` steps, as ReduceLROnPlateau does, but per point. A point stops when q < tol_q
(converged), when its step size falls below `lr_min` (stalled: a slow point or a failure), or
when q turns non-finite (the step is rejected and the point is frozen).

Only the structure of a search is static (dynamics, period, Newton iterations); tolerances and
rates are traced, so one compilation serves every setting for a given system and batch size.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg
import optax

from ._result import CONVERGED, NON_FINITE, STALLED
from ._system import residual_fn


class Static(NamedTuple):
    """The static structure of a search (hashable)."""

    dynamics: str
    period: int
    newton_steps: int


class Params(NamedTuple):
    """Traced scalars of a search."""

    tol_q: jax.Array
    lr_factor: jax.Array
    lr_min: jax.Array
    patience: jax.Array
    plateau_rtol: jax.Array
    newton_radius: jax.Array


class Carry(NamedTuple):
    """Per-point optimiser state, every array with a leading point axis (but `count`)."""

    x: jax.Array  # current state
    x_best: jax.Array  # lowest-q state so far
    q_best: jax.Array
    q_plateau: jax.Array  # reference value of the plateau test
    mu: jax.Array
    nu: jax.Array
    count: jax.Array  # Adam's step count (shared)
    lr: jax.Array
    bad: jax.Array  # steps since the last relative improvement
    active: jax.Array
    status: jax.Array
    n_iters: jax.Array


def init_carry(x, lr0: float) -> Carry:
    """The state before the first step (q is first evaluated there)."""
    p = x.shape[0]
    inf = jnp.full((p,), jnp.inf, x.dtype)
    return Carry(
        x=x,
        x_best=x,
        q_best=inf,
        q_plateau=inf,
        mu=jnp.zeros_like(x),
        nu=jnp.zeros_like(x),
        count=jnp.zeros((), jnp.int32),
        lr=jnp.full((p,), lr0, x.dtype),
        bad=jnp.zeros((p,), jnp.int32),
        active=jnp.ones((p,), bool),
        status=jnp.full((p,), STALLED, jnp.int32),
        n_iters=jnp.zeros((p,), jnp.int32),
    )


def _q(res, x, u):
    r = res(x, u)
    return 0.5 * jnp.sum(r * r)


def _adam_step(c: Carry, system, u, st: Static, pr: Params) -> Carry:
    res = residual_fn(system, st.dynamics, st.period)
    q, g = jax.vmap(jax.value_and_grad(functools.partial(_q, res)))(c.x, u)
    finite = jnp.isfinite(q) & jnp.all(jnp.isfinite(g), axis=-1)
    converged = c.active & finite & (q < pr.tol_q)
    broke = c.active & ~finite
    better = c.active & finite & (q < c.q_best)
    x_best = jnp.where(better[:, None], c.x, c.x_best)
    q_best = jnp.where(better, q, c.q_best)

    improved = finite & (q < c.q_plateau * (1.0 - pr.plateau_rtol))
    bad = jnp.where(improved, 0, c.bad + 1)
    decay = bad >= pr.patience
    lr = jnp.where(decay, c.lr * pr.lr_factor, c.lr)
    bad = jnp.where(decay, 0, bad)
    stalled = c.active & ~converged & ~broke & (lr < pr.lr_min)

    g = jnp.where(finite[:, None], g, 0.0)
    direction, state = optax.scale_by_adam().update(
        g, optax.ScaleByAdamState(c.count, c.mu, c.nu)
    )
    moving = c.active & ~converged & ~broke & ~stalled
    keep = c.active[:, None]
    return Carry(
        x=jnp.where(moving[:, None], c.x - c.lr[:, None] * direction, c.x),
        x_best=x_best,
        q_best=q_best,
        q_plateau=jnp.where(c.active & improved, q, c.q_plateau),
        mu=jnp.where(keep, state.mu, c.mu),
        nu=jnp.where(keep, state.nu, c.nu),
        count=state.count,
        lr=jnp.where(c.active, lr, c.lr),
        bad=jnp.where(c.active, bad, c.bad),
        active=moving,
        status=jnp.where(broke, NON_FINITE, jnp.where(converged, CONVERGED, c.status)),
        n_iters=c.n_iters + moving.astype(jnp.int32),
    )


def _newton_point(x, u, q0, system, st: Static):
    """Newton on r(x) = 0 (solve J_r Δ = −r), stopping at the first step that does not lower
    q; returns the last state that did."""
    res = residual_fn(system, st.dynamics, st.period)
    jac = jax.jacfwd(res)

    def body(carry, _):
        y, q, going = carry
        # LU directly: jnp.linalg.solve's differentiable wrapper only slows compilation here
        step = jax.scipy.linalg.lu_solve(jax.scipy.linalg.lu_factor(jac(y, u)), -res(y, u))
        trial = y + step
        qt = _q(res, trial, u)
        ok = going & jnp.isfinite(qt) & (qt < q) & jnp.all(jnp.isfinite(trial))
        return (jnp.where(ok, trial, y), jnp.where(ok, qt, q), ok), None

    (y, q, _), _ = jax.lax.scan(body, (x, q0, jnp.asarray(True)), None, length=st.newton_steps)
    return y, q


def _polish(system, c: Carry, u, st: Static, pr: Params) -> Carry:
    fn = functools.partial(_newton_point, system=system, st=st)
    x_new, q_new = jax.vmap(fn)(c.x_best, u, c.q_best)
    # A trust region tied to Adam's own step size: Newton may only finish the point that Adam
    # is converging to, never jump to another basin (Newton's basins favour stable points and
    # would hide the saddles that descent on q finds).
    near = jnp.max(jnp.abs(x_new - c.x_best), axis=-1) <= pr.newton_radius * c.lr
    better = c.active & (q_new < c.q_best) & near
    done = better & (q_new < pr.tol_q)
    return c._replace(
        x=jnp.where(better[:, None], x_new, c.x),
        x_best=jnp.where(better[:, None], x_new, c.x_best),
        q_best=jnp.where(better, q_new, c.q_best),
        q_plateau=jnp.where(better, jnp.minimum(q_new, c.q_plateau), c.q_plateau),
        active=c.active & ~done,
        status=jnp.where(done, CONVERGED, c.status),
    )


@eqx.filter_jit
def chunk(system, carry: Carry, u, n_steps, st: Static, pr: Params, polish: bool) -> Carry:
    """`n_steps` Adam steps on every active point (inactive points are left as they are),
    then, with `polish`, Newton polishing of every active point. `n_steps` is traced (a while
    loop), so chunks of any length share one compilation."""
    step = functools.partial(_adam_step, system=system, u=u, st=st, pr=pr)
    carry = jax.lax.fori_loop(0, n_steps, lambda _, c: step(c), carry)
    if polish:
        carry = _polish(system, carry, u, st, pr)
    return carry
