"""The pure, jitted kernels of the fixed-point search: Adam chunks and Newton–Krylov polishing.

Every point is optimised independently (vmap), with its own adaptive learning rate: Adam
directions (Kingma & Ba 2015: `optax.scale_by_adam` with a per-point state, so that a point's
bias-correction count does not depend on which other points share its batch; the masked
per-member step of `neurodyn._optim.update`) scaled by a per-point step size
that is multiplied by `lr_factor` when q has not fallen by a relative `plateau_rtol` for
`patience` steps, as ReduceLROnPlateau does, but per point. A point stops when q < tol_q
(converged), when its step size falls below `lr_min` (stalled: a slow point or a failure), or
when q turns non-finite (the step is rejected and the point is frozen).

Polishing is inexact Newton on r(x) = 0 (r = Fᵏ(x) − x, or f(x)): each step solves
J_r Δ = −r by GMRES in a Krylov space of at most `krylov_dim` dimensions, built from
Jacobian-vector products, so it costs `krylov_dim` evaluations of the dynamics rather than a
full Jacobian and an LU factorisation (N times as many at N = 128). With krylov_dim ≥ N the
solve is exact, i.e. plain Newton.

Only the structure of a search is static (dynamics, period, Newton and Krylov sizes);
tolerances and rates are traced, so one compilation serves every setting for a given system
and batch size.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._optim import update
from ._result import CONVERGED, NON_FINITE, STALLED
from ._system import residual_fn

# A Newton iteration goes on only while each step cuts q at least this much (‖r‖ tenfold):
# inside Newton's basin it does far better, outside it this stops it after one step.
NEWTON_PROGRESS = 1e-2
# Newton steps tried per iteration: Δ, Δ/2, …, Δ/2^(NEWTON_BACKTRACK − 1)
NEWTON_BACKTRACK = 4
# Adam directions (Kingma & Ba 2015; the constants are the defaults of optax and torch); the
# step size is each point's own `lr`, applied by `update`'s per-member scale
ADAM = optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8)


class Static(NamedTuple):
    """The static structure of a search (hashable)."""

    dynamics: str
    period: int
    newton_steps: int
    krylov_dim: int


class Params(NamedTuple):
    """Traced scalars of a search."""

    tol_q: jax.Array
    lr_factor: jax.Array
    lr_min: jax.Array
    patience: jax.Array
    plateau_rtol: jax.Array
    newton_radius: jax.Array
    rtol2: jax.Array  # ½ rtol²: a point has converged when q < max(tol_q, rtol2 · ‖x‖²)


class Carry(NamedTuple):
    """Per-point optimiser state, every array with a leading point axis."""

    x: jax.Array  # current state
    x_best: jax.Array  # lowest-q state so far
    q_best: jax.Array
    q_plateau: jax.Array  # reference value of the plateau test
    adam: optax.ScaleByAdamState  # per point: moments, and steps since the last (re)start
    lr: jax.Array
    bad: jax.Array  # steps since the last relative improvement
    active: jax.Array
    status: jax.Array
    n_iters: jax.Array  # Adam steps taken


def init_carry(x, lr0: float) -> Carry:
    """The state before the first step (q is first evaluated there)."""
    p = x.shape[0]
    inf = jnp.full((p,), jnp.inf, x.dtype)
    return Carry(
        x=x,
        x_best=x,
        q_best=inf,
        q_plateau=inf,
        adam=jax.vmap(ADAM.init)(x),
        lr=jnp.full((p,), lr0, x.dtype),
        bad=jnp.zeros((p,), jnp.int32),
        active=jnp.ones((p,), bool),
        status=jnp.full((p,), STALLED, jnp.int32),
        n_iters=jnp.zeros((p,), jnp.int32),
    )


def tolerance(x, pr: Params):
    """Per point: the q below which it has converged, max(tol_q, ½ rtol² ‖x‖²) (the rounding
    floor of q at x; see `find`)."""
    return jnp.maximum(pr.tol_q, pr.rtol2 * jnp.sum(x * x, axis=-1))


def _q(res, x, u):
    r = res(x, u)
    return 0.5 * jnp.sum(r * r)


def _adam_step(c: Carry, system, u, st: Static, pr: Params) -> Carry:
    res = residual_fn(system, st.dynamics, st.period)
    q, g = jax.vmap(jax.value_and_grad(functools.partial(_q, res)))(c.x, u)
    finite = jnp.isfinite(q) & jnp.all(jnp.isfinite(g), axis=-1)
    converged = c.active & finite & (q < tolerance(c.x, pr))
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
    moving = c.active & ~converged & ~broke & ~stalled
    # x ← x − lr · Adam(g) for the moving points; the others keep x and their Adam state
    step = jax.vmap(functools.partial(update, ADAM, reject_nonfinite=False))
    x, adam, _ = step(g, c.adam, c.x, scale=-c.lr, active=moving)
    return Carry(
        x=x,
        x_best=x_best,
        q_best=q_best,
        q_plateau=jnp.where(c.active & improved, q, c.q_plateau),
        adam=adam,
        lr=jnp.where(c.active, lr, c.lr),
        bad=jnp.where(c.active, bad, c.bad),
        active=moving,
        status=jnp.where(broke, NON_FINITE, jnp.where(converged, CONVERGED, c.status)),
        n_iters=c.n_iters + moving.astype(jnp.int32),
    )


@eqx.filter_jit
def chunk(system, carry: Carry, u, n_steps, st: Static, pr: Params) -> Carry:
    """Up to `n_steps` Adam steps on every active point (inactive points are left as they
    are); stops early once no point is active. `n_steps` is traced, so chunks of any length
    share one compilation."""
    step = functools.partial(_adam_step, system=system, u=u, st=st, pr=pr)

    def cond(state):
        i, c = state
        return (i < n_steps) & jnp.any(c.active)

    def body(state):
        i, c = state
        return i + 1, step(c)

    _, carry = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), carry))
    return carry


def gmres(matvec, b, k: int):
    """min ‖A Δ − b‖ over the Krylov space span{b, Ab, …, A^{k−1}b} (GMRES without restarts,
    Saad & Schultz 1986), A given as `matvec`. Arnoldi with classical Gram–Schmidt applied
    twice (as stable as modified Gram–Schmidt, and vectorised); an exact solve when k ≥ the
    dimension and A is nonsingular."""
    n = b.shape[-1]
    beta = jnp.sqrt(jnp.sum(b * b))
    basis = jnp.zeros((k + 1, n), b.dtype).at[0].set(b / jnp.where(beta > 0, beta, 1.0))
    hess = jnp.zeros((k + 1, k), b.dtype)
    eps = jnp.finfo(b.dtype).eps

    def body(j, state):
        basis, hess = state
        w = matvec(basis[j])
        scale = jnp.sqrt(jnp.sum(w * w))
        h = basis @ w  # rows not yet filled are zero and contribute nothing
        w = w - h @ basis
        h2 = basis @ w
        w = w - h2 @ basis
        h = h + h2
        norm = jnp.sqrt(jnp.sum(w * w))
        ok = norm > 10 * eps * scale  # otherwise the space is invariant: stop growing it
        basis = basis.at[j + 1].set(jnp.where(ok, w / jnp.where(ok, norm, 1.0), 0.0))
        hess = hess.at[:, j].set(h.at[j + 1].set(jnp.where(ok, norm, 0.0)))
        return basis, hess

    basis, hess = jax.lax.fori_loop(0, k, body, (basis, hess))
    # min ‖H y − β e₁‖ through a QR factorisation of the (k+1) × k Hessenberg matrix; a zero
    # diagonal of R (an invariant subspace reached early) gets a unit pivot and y = 0 there
    qmat, rmat = jnp.linalg.qr(hess)
    diag = jnp.diagonal(rmat)
    small = jnp.abs(diag) <= 10 * eps * jnp.max(jnp.abs(diag))
    rmat = rmat + jnp.diag(jnp.where(small, 1.0, 0.0))
    rhs = jnp.where(small, 0.0, beta * qmat[0])
    y = jax.scipy.linalg.solve_triangular(rmat, rhs, lower=False)
    return y @ basis[:k]


# States of at most this many dimensions get exact Newton steps (full Jacobian, LU) whatever
# krylov_dim is: cheaper there than GMRES, whose cost grows as krylov_dim² · N.
EXACT_NEWTON_MAX = 32


def newton_direction(res, x, u, krylov_dim: int):
    """(r(x), Δ) with J_r Δ ≈ −r: an LU solve with the full Jacobian when the state has at
    most max(`krylov_dim`, EXACT_NEWTON_MAX) dimensions, otherwise GMRES in `krylov_dim`
    dimensions."""
    if x.shape[-1] <= max(krylov_dim, EXACT_NEWTON_MAX):
        r = res(x, u)
        jac = jax.jacfwd(res)(x, u)
        return r, jax.scipy.linalg.lu_solve(jax.scipy.linalg.lu_factor(jac), -r)
    r, lin = jax.linearize(lambda z: res(z, u), x)
    return r, gmres(lin, -r, krylov_dim)


def _newton_point(x, u, q0, radius, pr: Params, system, st: Static):
    """Inexact Newton on r(x) = 0 from x (GMRES for J_r Δ = −r), for at most `newton_steps`
    steps; a step is taken only if it lowers q and stays within `radius` (max norm) of the
    starting x; the iteration stops at the first step that does not cut q by `NEWTON_PROGRESS`."""
    res = residual_fn(system, st.dynamics, st.period)

    def cond(state):
        y, q, going, i = state
        return going & (i < st.newton_steps) & (q >= tolerance(y, pr))

    def body(state):
        y, q, _, i = state
        _, step = newton_direction(res, y, u, st.krylov_dim)
        # backtracking: the longest of the steps Δ, Δ/2, Δ/4, … that lowers q (the Newton
        # direction is a descent direction of q), within the trust region
        scales = 0.5 ** jnp.arange(NEWTON_BACKTRACK, dtype=y.dtype)
        trials = y[None] + scales[:, None] * step[None]
        qts = jax.vmap(lambda z: _q(res, z, u))(trials)
        oks = (
            jnp.isfinite(qts)
            & (qts < q)
            & jnp.all(jnp.isfinite(trials), axis=-1)
            & (jnp.max(jnp.abs(trials - x[None]), axis=-1) <= radius)
        )
        k = jnp.argmax(oks)
        ok, trial, qt = oks[k], trials[k], qts[k]
        going = ok & (qt < NEWTON_PROGRESS * q)
        return jnp.where(ok, trial, y), jnp.where(ok, qt, q), going, i + 1

    y, q, _, _ = jax.lax.while_loop(cond, body, (x, q0, jnp.asarray(True), jnp.asarray(0)))
    return y, q


@eqx.filter_jit
def polish(system, c: Carry, u, st: Static, pr: Params) -> Carry:
    """Newton–Krylov polishing of every active point, from its best state so far.

    A trust region tied to Adam's own step size: Newton may only finish the point that Adam
    is converging to, never jump to another basin (Newton's basins favour stable points and
    would hide the saddles that descent on q finds)."""
    fn = functools.partial(_newton_point, pr=pr, system=system, st=st)
    radius = jnp.where(c.active, pr.newton_radius * c.lr, 0.0)
    x_new, q_new = jax.vmap(fn)(c.x_best, u, c.q_best, radius)
    better = c.active & (q_new < c.q_best)
    done = better & (q_new < tolerance(x_new, pr))
    return c._replace(
        x=jnp.where(better[:, None], x_new, c.x),
        x_best=jnp.where(better[:, None], x_new, c.x_best),
        q_best=jnp.where(better, q_new, c.q_best),
        q_plateau=jnp.where(better, jnp.minimum(q_new, c.q_plateau), c.q_plateau),
        active=c.active & ~done,
        status=jnp.where(done, CONVERGED, c.status),
    )


# A point whose q has stopped falling is restarted (fresh Adam moments, the initial step size,
# from its best state) while it is still far from stationary: while the gradient of q is at
# least this fraction of the largest it could be for its residual, ‖J_rᵀ r‖ / (‖J_r‖₂ ‖r‖)
# (the cosine test of MINPACK's least-squares solvers, Moré, Garbow & Hillstrom 1980). A slow
# point (a local minimum of q above zero) has J_rᵀ r = 0, up to rounding (~1e-4 in float32 at
# q ~ 1e-5); a point caught in a narrow curved valley, where Adam's step size collapses, still
# has a cosine of 4e-4 to 2e-2 (measured on the 128-unit flip-flop network). A slow point is
# restarted at most once (a second restart needs q halved), which costs one `stall_steps`.
DESCENT_COSINE = 1e-5
# power iterations (one JVP and one VJP each) for the estimate of ‖J_r‖₂
POWER_STEPS = 4


def _cosine(res, x, u):
    def norm(v):
        return jnp.sqrt(jnp.sum(v * v))

    def unit(v):
        n = norm(v)
        return v / jnp.where(n > 0, n, 1.0)

    r, jvp = jax.linearize(lambda z: res(z, u), x)
    vjp = jax.linear_transpose(jvp, x)
    (g,) = vjp(r)
    v = jax.lax.fori_loop(0, POWER_STEPS, lambda _, v: unit(vjp(jvp(v))[0]), unit(g))
    scale = norm(jvp(v)) * norm(r)
    return jnp.where(scale > 0, norm(g) / jnp.where(scale > 0, scale, 1.0), 0.0)


@eqx.filter_jit
def descent_cosine(system, x, u, st: Static):
    """`[P]` ‖J_rᵀ r‖ / (‖J_r‖₂ ‖r‖) at every point (0 where r or J_r vanishes): how far each
    point is from a stationary point of q (`DESCENT_COSINE`)."""
    res = residual_fn(system, st.dynamics, st.period)
    return jax.vmap(functools.partial(_cosine, res))(x, u)
