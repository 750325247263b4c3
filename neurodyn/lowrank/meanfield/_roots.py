"""Fixed points in κ-space of low-rank latent systems (rank ≤ 3): grid of starts + Newton.

A small dedicated solver for a few dimensions; for fixed points of whole networks use
`neurodyn.fixedpoints.find`. At a fixed point the input coordinates sit at v = u, and κ solves

    G(κ) = −κ + F(κ, u) = 0,     F = nᵀφ(Mκ + Iu)/N  (or its mean-field limit).

The result is a `neurodyn.fixedpoints.FixedPoints` of the latent system's vector field (as
`fixedpoints.find(system, ..., dynamics="continuous")` returns), decomposed by
`fixedpoints.decompose`; `classify` gives the spectrum of the κ-block and the type of each
point.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from ..._validate import ArgumentTypeError, check_array, check_finite_tree, check_int, check_number
from ...fixedpoints import CONVERGED, FixedPoints, decompose
from ...models import LatentDynamics, LowRankRNN
from .._populations import LowRankMixture, check_mixture
from ._theory import MeanFieldDynamics, dynamics

_BOUNDED = {"tanh": 1.0, "sigmoid": 1.0}
_DEFAULT_GRID = {1: 201, 2: 41, 3: 15}
# Newton runs from every grid point in one vmapped program; beyond this many starts a typo
# (n_grid=10**4 at rank 3) would exhaust memory before anything is said.
MAX_STARTS = 1_000_000


class KappaSpectrum(NamedTuple):
    """The κ-space view of latent fixed points (`classify`).

    Attributes:
        eigenvalues: `[K, R]` eigenvalues of the κ-block of the vector field's Jacobian
            (1/ms; the v-directions always relax at −1/τ).
        kinds: "stable", "saddle", "unstable" or "marginal" (an eigenvalue with |Re| < 1e-6/τ),
            judged on the κ-block.
    """

    eigenvalues: np.ndarray
    kinds: tuple[str, ...]


def _second_moment_n(system) -> np.ndarray:
    if isinstance(system, LatentDynamics):
        return np.mean(np.asarray(system.n, np.float64) ** 2, axis=0)
    r = system.rank
    cols = np.arange(r, 2 * r)
    mu = np.asarray(system.means, np.float64)[:, cols]
    var = np.diagonal(np.asarray(system.covariances, np.float64), axis1=1, axis2=2)[:, cols]
    return np.asarray(system.weights, np.float64) @ (mu**2 + var)


def default_radius(system: LatentDynamics | MeanFieldDynamics | LowRankMixture) -> float:
    """The radius of a box in κ-space that holds every mean-field fixed point.

    A box that holds every fixed point: |κ_r| = |⟨n_r φ⟩| ≤ sup|φ| · √⟨n_r²⟩ for bounded φ
    (tanh, sigmoid); for unbounded φ a heuristic 5√⟨n_r²⟩ (pass `radius=` to be sure)."""
    system = as_system(system)
    bound = _BOUNDED.get(system.nonlinearity, 5.0)
    return float(1.05 * bound * np.sqrt(np.max(_second_moment_n(system))) + 1e-6)


def as_system(system, name: str = "system") -> LatentDynamics | MeanFieldDynamics:
    """A latent system (exact or mean-field) with finite arrays, or a mixture's mean field."""
    if isinstance(system, LowRankMixture):
        return dynamics(check_mixture(system, name))
    if isinstance(system, (LatentDynamics, MeanFieldDynamics)):
        lead = system.m if isinstance(system, LatentDynamics) else system.weights
        if lead.ndim != (2 if isinstance(system, LatentDynamics) else 1):
            raise ValueError(
                f"{name} is a stacked batch of latent systems ({type(system).__name__} with "
                "a leading member axis); analyse one network at a time"
            )
        return check_finite_tree(system, name)
    hint = " (pass its latent system, lowrank.latent(model))" if isinstance(
        system, LowRankRNN) else ""
    raise ArgumentTypeError(
        f"{name} must be a LatentDynamics, a MeanFieldDynamics or a LowRankMixture, got "
        f"{type(system).__name__}{hint}"
    )


def system_dtype(system: LatentDynamics | MeanFieldDynamics) -> np.dtype:
    """The floating dtype the system computes in (float32, or float64 under jax_enable_x64)."""
    return (system.m if isinstance(system, LatentDynamics) else system.means).dtype


def fixed_points(
    system: LatentDynamics | MeanFieldDynamics | LowRankMixture,
    u: Float[ArrayLike, " inputs"] | None = None,
    *,
    radius: float | None = None,
    n_grid: int | None = None,
    tol: float = 1e-5,
    max_iter: int = 60,
) -> FixedPoints:
    """All fixed points in κ of a rank-1…3 latent system at constant input `u` (default 0).

    `system` is a `LatentDynamics` (exact, finite N), a `MeanFieldDynamics` or a
    `LowRankMixture` (its mean-field system). Newton's method (pseudo-inverse steps, at most
    `radius`/4 long) starts from an `n_grid`^R grid over [−radius, radius]^R; converged points
    (residual < `tol`·max(1, radius)) closer than 1e-3·radius are merged.

    Returns the `FixedPoints` of the latent vector field (dynamics "continuous"), sorted
    lexicographically in κ: `xstar [K, R + n_inputs]` the latent states (κ, v = u) (κ =
    `xstar[:, :R]`), `q` = ½‖f‖², `initial_states` the grid start each point was reached from,
    with Jacobians, eigenvalues and stability (`fixedpoints.decompose`). `classify(system,
    fps)` gives the κ-block's eigenvalues and the type of each point.
    """
    system = as_system(system)
    rank = system.rank
    if rank > 3:
        raise ValueError(
            f"system: fixed_points searches κ-space by grid for rank <= 3, got rank {rank}; use "
            "neurodyn.fixedpoints.find on the latent system instead"
        )
    dtype = system_dtype(system)
    if u is None:
        u = jnp.zeros((system.n_inputs,), dtype)
    else:
        u = check_array(u, "u", ndim=1)
        if u.shape != (system.n_inputs,):
            raise ValueError(f"u must have shape ({system.n_inputs},), got {u.shape}")
        u = jnp.asarray(u, dtype)
    radius = check_number(radius, "radius", low=0, low_open=True, allow_none=True)
    radius = default_radius(system) if radius is None else radius
    if n_grid is None:
        n_grid = _DEFAULT_GRID[rank]
    else:
        n_grid = check_int(n_grid, "n_grid", low=1, high=int(MAX_STARTS ** (1 / rank) + 1e-9))
    tol = check_number(tol, "tol", low=0, low_open=True)
    max_iter = check_int(max_iter, "max_iter", low=1)

    axis = np.linspace(-radius, radius, n_grid)
    starts = jnp.asarray(np.array(list(itertools.product(axis, repeat=rank))), dtype)
    kappa, res = _newton(system, starts, u, radius, max_iter)
    kappa, res = np.asarray(kappa, np.float64), np.asarray(res, np.float64)
    ok = np.isfinite(res) & (res < tol * max(1.0, radius)) & np.all(np.abs(kappa) <= 2 * radius,
                                                                       axis=1)
    kappa, res, begin = kappa[ok], res[ok], np.asarray(starts, np.float64)[ok]
    keep: list[int] = []
    for i in np.argsort(res):  # best residual first, then drop near-duplicates
        if not keep or np.min(np.linalg.norm(kappa[keep] - kappa[i], axis=1)) > 1e-3 * radius:
            keep.append(i)
    kappa, res, begin = kappa[keep], res[keep], begin[keep]
    # Lexicographic order, with coordinates that agree to the merge distance counted as equal
    # (so that float noise in κ1 does not decide the order of points that differ in κ2).
    order = np.lexsort(_tie_ranks(kappa, 1e-3 * radius).T[::-1]) if len(kappa) else \
        np.zeros(0, int)
    kappa, res = kappa[order].reshape(-1, rank), res[order]
    begin = begin[order].reshape(-1, rank)
    n_found, n_in = len(kappa), system.n_inputs
    v = np.broadcast_to(np.asarray(u, np.float64), (n_found, n_in))
    fps = FixedPoints(
        xstar=jnp.asarray(np.concatenate([kappa, v], axis=1), dtype),
        inputs=jnp.asarray(v, dtype),
        q=jnp.asarray(0.5 * (res / system.tau) ** 2, dtype),  # ½‖f‖², f = (−κ + F)/τ
        status=jnp.full((n_found,), CONVERGED, jnp.int32),
        initial_states=jnp.asarray(np.concatenate([begin, v], axis=1), dtype),
        n_iters=jnp.full((n_found,), max_iter, jnp.int32),
        min_period=jnp.ones((n_found,), jnp.int32),
        condition_id=jnp.zeros((n_found,), jnp.int32),
        dynamics="continuous",
        dt=float(system.dt),
    )
    return decompose(system, fps)


def classify(
    system: LatentDynamics | MeanFieldDynamics | LowRankMixture, fps: FixedPoints
) -> KappaSpectrum:
    """The κ-block eigenvalues and the stability type of each mean-field fixed point.

    The eigenvalues of the κ-block of the vector field's Jacobian at each of `fps`'s
    points (R per point, 1/ms) and each point's type, judged on them: "marginal" if an
    eigenvalue has |Re| < 1e-6/τ, else "stable", "unstable" or "saddle" (all Re < 0, all
    Re > 0, mixed). The v-directions, which always relax at −1/τ, are left out."""
    system = as_system(system)
    if not isinstance(fps, FixedPoints):
        raise ArgumentTypeError(f"fps must be FixedPoints, got {type(fps).__name__}")
    if fps.n_states != system.n_latents or fps.dynamics != "continuous":
        raise ValueError(
            f"fps must be fixed points of the system's vector field (dynamics 'continuous', "
            f"{system.n_latents} states: meanfield.fixed_points(system)), got "
            f"{fps.dynamics!r} with {fps.n_states} states"
        )
    rank = system.rank
    if fps.n_points == 0:
        return KappaSpectrum(np.zeros((0, rank), complex), ())
    if fps.jacobians is None:
        fps = decompose(system, fps)
    eig = np.linalg.eigvals(np.asarray(fps.jacobians, np.float64)[:, :rank, :rank])
    scale = 1e-6 / system.tau
    kinds = []
    for ev in eig:
        re = ev.real
        if np.any(np.abs(re) < scale):
            kinds.append("marginal")
        elif np.all(re < 0):
            kinds.append("stable")
        elif np.all(re > 0):
            kinds.append("unstable")
        else:
            kinds.append("saddle")
    return KappaSpectrum(eig, tuple(kinds))


def _tie_ranks(values: np.ndarray, tol: float) -> np.ndarray:
    """Per column, the rank of each value among the column's clusters (sorted values closer
    than `tol` to the previous one share its cluster)."""
    ranks = np.zeros(values.shape, int)
    for j in range(values.shape[1]):
        order = np.argsort(values[:, j], kind="stable")
        gaps = np.diff(values[order, j]) > tol
        ranks[order, j] = np.concatenate([[0], np.cumsum(gaps)])
    return ranks


def _residual_fn(system, u):
    def g(kappa):
        s = jnp.concatenate([kappa, u])
        return -kappa + system.recurrent_drive(s)

    return g


@jax.jit
def _newton_impl(system, starts, u, radius, max_iter_arr):
    g = _residual_fn(system, u)
    jac = jax.jacfwd(g)
    max_step = radius / 4

    def solve(k0):
        def body(_, k):
            r = g(k)
            a = jac(k)
            # Levenberg–Marquardt-regularised Newton: a plain step where J is well
            # conditioned, a short gradient-like step near singular points.
            lhs = a.T @ a + 1e-9 * jnp.eye(a.shape[0], dtype=a.dtype)
            step = -jnp.linalg.solve(lhs, a.T @ r)
            norm = jnp.linalg.norm(step)
            step = step * jnp.minimum(1.0, max_step / jnp.maximum(norm, 1e-30))
            k_new = k + step
            return jnp.where(jnp.all(jnp.isfinite(k_new)), k_new, k)

        k = jax.lax.fori_loop(0, max_iter_arr, body, k0)
        return k, jnp.linalg.norm(g(k))

    return jax.vmap(solve)(starts)


def _newton(system, starts, u, radius, max_iter):
    return _newton_impl(system, starts, u, jnp.asarray(radius, starts.dtype), jnp.int32(max_iter))
