"""Jacobians and eigen-decomposition of a low-rank network from its rank-R structure.

For a `LowRankRNN`, x ↦ x + α(−x + m nᵀφ(x)/N + W_in u), the Jacobian is

    discrete:    A = (1 − α) I + α m (φ′(x) ∘ n)ᵀ / N
    continuous:  A = (−I + m (φ′(x) ∘ n)ᵀ / N) / τ

and for the k-fold map a product of k such matrices. Each is a I + U Vᵀ with U an orthonormal
basis of span(m) (N × R) and V = (A − a I)ᵀ U (N × R, R vector-Jacobian products), a = (1 − α)ᵏ
or −1/τ. Its spectrum is exact in O(N² R) rather than O(N³) (Mastrogiuseppe & Ostojic 2018;
Dubreuil et al. 2022): with K = Vᵀ U (R × R), K C = C diag(μ),

* R eigenvalues a + μ_k, right eigenvectors U c_k, left eigenvectors V d_k / μ_k (d_k the rows
  of C⁻¹), since (U Vᵀ) U c = U K c and (V d)ᵀ U Vᵀ = dᵀ K Vᵀ;
* N − R eigenvalues a, right eigenvectors an orthonormal basis Q₂ of null(Vᵀ) (V = [Q₁ Q₂] R
  a complete QR), left eigenvectors Q₂ − Q₁ (Q₁ᵀU)⁻ᵀ (Q₂ᵀU)ᵀ: the basis of null(Uᵀ) dual to
  Q₂ and orthogonal to the first R right eigenvectors.

The left eigenvectors satisfy w_iᵀ v_j = δ_ij (right ones unit norm), as the dense `eig`
returns them. A point where K is singular or defective (a μ_k = 0 or a repeated μ_k, where the
eigenvector basis is ill-defined) falls back to the dense decomposition.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import LowRankRNN
from ._spectrum import mode_order
from ._system import flow

# K's eigenvectors must be this well conditioned, and its eigenvalues this far from zero
# relative to ‖K‖, for the structured decomposition; otherwise the dense one is used.
MAX_CONDITION = 1e8


def is_low_rank(system) -> bool:
    """One (not stacked) `LowRankRNN`, whose Jacobians have the rank-R structure."""
    return isinstance(system, LowRankRNN) and system.m.ndim == 2


def bulk_eigenvalue(system, dynamics: str, period: int) -> float:
    """a: the eigenvalue of the N − R modes outside span(m)."""
    if dynamics == "continuous":
        return -1.0 / float(system.tau)
    return (1.0 - float(system.alpha)) ** period


def column_basis(system) -> np.ndarray:
    """`[N, R']` an orthonormal basis of span(m) (R' = numerical rank of m)."""
    m = np.asarray(system.m, np.float64)
    u, s, _ = np.linalg.svd(m, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(m.shape) * np.finfo(np.float64).eps
    return u[:, keep]


@eqx.filter_jit
def _factors(system, states, inputs, basis, a, dynamics: str, period: int):
    g = flow(system, dynamics, period)

    def one(x, u):
        _, vjp = jax.vjp(lambda z: g(z, u), x)
        rows = jax.vmap(lambda c: vjp(c)[0])(basis.T)  # cᵀ A for each basis column c
        jac_u = jax.jacfwd(g, argnums=1)(x, u)
        return (rows - a * basis.T).T, jac_u

    return jax.vmap(one)(states, inputs)


def factors(system, states, inputs, dynamics: str, period: int):
    """(a, U `[N, R]`, V `[P, N, R]`, ∂G/∂u `[P, N, I]`) with ∂G/∂x = a I + U Vᵀ at each state."""
    a = bulk_eigenvalue(system, dynamics, period)
    basis = column_basis(system)
    dtype = states.dtype
    v, jac_u = _factors(system, states, inputs, jnp.asarray(basis, dtype),
                        jnp.asarray(a, dtype), dynamics, int(period))
    return a, basis, np.asarray(v, np.float64), jac_u


def dense(a: float, basis: np.ndarray, v: np.ndarray, dtype) -> jax.Array:
    """`[P, N, N]` a I + U Vᵀ."""
    n = basis.shape[0]
    u = jnp.asarray(basis, dtype)
    return a * jnp.eye(n, dtype=dtype)[None] + jnp.einsum("ir,pjr->pij", u, jnp.asarray(v, dtype))


def _householder(v: np.ndarray):
    """(H, T) with I − H T Hᵀ = Q the complete orthogonal factor of v = Q R (compact WY form of
    LAPACK's Householder reflectors: H `[N, R]` unit lower trapezoidal, T `[R, R]` upper
    triangular), and R's diagonal."""
    from scipy.linalg import qr

    (raw, tau), _ = qr(v, mode="raw")
    r = v.shape[1]
    h = np.tril(raw[:, :r], -1)
    h[np.arange(r), np.arange(r)] = 1.0
    t = np.zeros((r, r))
    for i in range(r):  # LAPACK dlarft, forward, columnwise
        t[i, i] = tau[i]
        t[:i, i] = -tau[i] * t[:i, :i] @ (h[:, :i].T @ h[:, i])
    return h, t, np.diag(raw[:r, :r])


def _one(a: float, u: np.ndarray, v: np.ndarray):
    """(outlier eigenvalues [R], their right and left eigenvectors [N, R], and the bulk's right
    and left eigenvectors as identity-plus-rank-2R factors (E₂ − F Gᵀ, E₂ = I[:, R:])), or None
    if degenerate. Nothing N × N is formed here."""
    n, r = u.shape
    k = v.T @ u
    mu, c = np.linalg.eig(k)
    if np.min(np.abs(mu)) <= np.linalg.norm(k, 2) / MAX_CONDITION or \
            np.linalg.cond(c) > MAX_CONDITION:
        return None
    d = np.linalg.inv(c)
    h, t, diag = _householder(v)
    if np.min(np.abs(diag)) <= np.abs(diag).max() / MAX_CONDITION:
        return None
    # Q = I − H T Hᵀ; Q₁ = Q[:, :R]; Q₂ = E₂ − H (T H[R:]ᵀ)
    q1 = -h @ (t @ h[:r].T)
    q1[:r] += np.eye(r)
    m2 = t @ h[r:].T  # [R, N − R]
    q2u = u[r:] - h[r:] @ (t.T @ (h.T @ u))  # Q₂ᵀ U, [N − R, R]
    x = np.linalg.solve((q1.T @ u).T, q2u.T)  # (Q₁ᵀU)⁻ᵀ (Q₂ᵀU)ᵀ, [R, N − R]
    right_r = u @ c
    scale = np.linalg.norm(right_r, axis=0)
    left_r = (v @ d.T) * (scale / mu)[None, :]
    bulk_right = (h, m2)  # Q₂ = E₂ − H m2
    bulk_left = (np.concatenate([h, q1], axis=1), np.concatenate([m2, x], axis=0))
    return mu + a, right_r / scale[None, :], left_r, bulk_right, bulk_left


def _write(out: np.ndarray, cols: slice, factors, r: int):
    """out[:, cols] = E₂ − F G (E₂ = I[:, R:]), in one pass over the N × (N − R) block."""
    f, g = factors
    block = f @ -g
    idx = np.arange(block.shape[1])
    block[idx + r, idx] += 1.0
    out[:, cols] = block


def eig(a: float, basis: np.ndarray, v: np.ndarray, dynamics: str, cdtype, dense_eig):
    """Eigenvalues `[P, N]`, right and left eigenvectors `[P, N, N]` of a I + U V_pᵀ, least
    stable first (as `fixedpoints.eig`); `dense_eig(p)` decomposes point p the dense way."""
    p_count, (n, r) = v.shape[0], basis.shape
    lam_all = np.empty((p_count, n), cdtype)
    right_all = np.empty((p_count, n, n), cdtype)
    left_all = np.empty((p_count, n, n), cdtype)
    for p in range(p_count):
        out = _one(a, basis, v[p]) if np.any(v[p]) else "identity"
        if out is None:
            lam_all[p], right_all[p], left_all[p] = (np.asarray(z)[0] for z in dense_eig(p))
            continue
        if isinstance(out, str):  # A = a I: any basis
            lam_all[p] = a
            right_all[p] = left_all[p] = np.eye(n)
            continue
        lam_r, right_r, left_r, bulk_right, bulk_left = out
        # least stable first: the outliers above the bulk, the bulk (n − r equal values, one
        # contiguous block), the outliers below it
        lam = np.concatenate([lam_r, [a]])
        order = mode_order(lam[None], dynamics)[0]
        at = int(np.flatnonzero(order == r)[0])
        above, below = order[:at], order[at + 1:]
        bulk = slice(at, at + n - r)
        lam_all[p, :at], lam_all[p, bulk], lam_all[p, at + n - r:] = lam[above], a, lam[below]
        for full, outl, bulk_f in ((right_all[p], right_r, bulk_right),
                                   (left_all[p], left_r, bulk_left)):
            full[:, :at] = outl[:, above]
            full[:, at + n - r:] = outl[:, below]
            _write(full, bulk, bulk_f, r)
    return lam_all, right_all, left_all
