"""Shape metrics between two sets of activity: orthogonal Procrustes (with partial whitening),
CCA / SVCCA and linear CKA.

An activity set is a `[conditions, time, units]` array (or `[samples, units]`); two sets are
compared sample by sample, so their conditions and time steps must match, while their unit
counts may differ (one may be a network, the other a recording).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike, Float
from .._validate import check_bool, check_choice, check_int, check_number
from ._checks import activity_pair

METRICS = ("angular", "euclidean")


class CanonicalCorrelations(NamedTuple):
    """Canonical correlations between two activity sets, largest first.

    Attributes:
        correlations: `[min(n_x, n_y)]` ρ_1 ≥ ρ_2 ≥ …; directions that a set does not span (or
            that SVCCA dropped) give 0.
        mean: the mean of the first `n_components` correlations.
        n_components: how many correlations `mean` averages (min of the two sets' ranks, or of
            the numbers of directions SVCCA kept).
    """

    correlations: Float[Array, " components"]
    mean: Float[Array, ""]
    n_components: Float[Array, ""]


def _centre(x: Array, centre: bool) -> Array:
    return x - jnp.mean(x, axis=0, keepdims=True) if centre else x


def _inv_sqrt(s: Array) -> Array:
    w, v = jnp.linalg.eigh(s)
    floor = jnp.finfo(s.dtype).eps * jnp.max(jnp.abs(w)) * s.shape[0]
    return (v / jnp.sqrt(jnp.maximum(w, floor))[None, :]) @ v.T


def _whiten(x: Array, alpha: float) -> Array:
    """φ_α(X) = X (α I + (1 − α) XᵀX / m)^(−1/2) (Williams et al. 2021)."""
    if alpha == 1.0:
        return x
    n = x.shape[1]
    cov = x.T @ x / jnp.asarray(x.shape[0], x.dtype)
    return x @ _inv_sqrt(alpha * jnp.eye(n, dtype=x.dtype) + (1.0 - alpha) * cov)


@functools.partial(jax.jit, static_argnames=("metric", "alpha", "centre"))
def _procrustes(x, y, metric, alpha, centre):
    x = _whiten(_centre(x, centre), alpha)
    y = _whiten(_centre(y, centre), alpha)
    # The optimal (semi-)orthogonal map R = V Uᵀ from XᵀY = U S Vᵀ; distances are computed from
    # the residual X − YR, not from ‖X‖² + ‖Y‖² − 2‖XᵀY‖_*, which cancels in float32.
    if metric == "angular":
        x = x / jnp.linalg.norm(x)
        y = y / jnp.linalg.norm(y)
    n = max(x.shape[1], y.shape[1])  # the smaller set zero-padded: R orthogonal
    x = jnp.pad(x, ((0, 0), (0, n - x.shape[1])))
    y = jnp.pad(y, ((0, 0), (0, n - y.shape[1])))
    u, _, vt = jnp.linalg.svd(x.T @ y)
    residual = jnp.linalg.norm(x - y @ (vt.T @ u.T))
    if metric == "angular":  # ‖X̂ − ŶR‖² = 2 − 2 cos θ
        return 2.0 * jnp.arcsin(jnp.clip(residual / 2.0, 0.0, 1.0))
    return residual / jnp.sqrt(jnp.asarray(x.shape[0], x.dtype))


def procrustes(
    x: Float[ArrayLike, "*samples units_x"],
    y: Float[ArrayLike, "*samples units_y"],
    *,
    metric: str = "angular",
    alpha: float = 1.0,
    centre: bool = True,
) -> Float[Array, ""]:
    """Generalised shape (Procrustes) distance between two activity sets.

    Williams, Kunz, Kornblith & Linderman 2021, NeurIPS, "Generalized shape metrics on neural
    representations".

    Each set X (`[samples, units]`, conditions × time flattened) is centred (`centre`) and
    partially whitened, φ_α(X) = X (α I + (1 − α) XᵀX / m)^(−1/2) (α = 1: none, plain
    Procrustes; α = 0: full whitening, a CCA distance); then, with the nuclear norm ‖·‖_*,

        angular:   θ = arccos( ‖φ(X)ᵀφ(Y)‖_* / (‖φ(X)‖_F ‖φ(Y)‖_F) )          (radians, in [0, π/2])
        euclidean: d = min_Q ‖φ(X) − φ(Y) Q‖_F / √m = √((‖φ(X)‖² + ‖φ(Y)‖² − 2‖φ(X)ᵀφ(Y)‖_*)/m)

    the minimum over orthogonal Q (semi-orthogonal when the unit counts differ, i.e. the smaller
    set zero-padded). Both are metrics, invariant to rotations of either set; the angular one
    also to isotropic scaling. At α = 0 with equal unit counts, cos θ is the mean canonical
    correlation.
    """
    xf, yf = activity_pair(x, y)
    metric = check_choice(metric, "metric", METRICS)
    alpha = check_number(alpha, "alpha", low=0.0, high=1.0)
    centre = check_bool(centre, "centre")
    return _procrustes(xf, yf, metric, alpha, centre)


def _basis(x: Array, keep: Array | None = None) -> tuple[Array, Array]:
    """Orthonormal basis of the column space of X (`[m, n]`), columns outside it (or beyond the
    first `keep`) zeroed; and how many columns are kept."""
    u, s, _ = jnp.linalg.svd(x, full_matrices=False)
    tol = jnp.finfo(x.dtype).eps * max(x.shape) * s[0]
    mask = s > tol
    if keep is not None:
        mask &= jnp.arange(s.size) < keep
    return u * mask[None, :].astype(u.dtype), jnp.sum(mask)


def _correlations(ux, kx, uy, ky) -> CanonicalCorrelations:
    rho = jnp.clip(jnp.linalg.svd(ux.T @ uy, compute_uv=False), 0.0, 1.0)
    k = jnp.minimum(kx, ky)
    rho = rho[: min(ux.shape[1], uy.shape[1])]
    first = jnp.arange(rho.size) < k
    mean = jnp.sum(jnp.where(first, rho, 0.0)) / jnp.maximum(k, 1).astype(rho.dtype)
    return CanonicalCorrelations(rho, mean, k.astype(rho.dtype))


@functools.partial(jax.jit, static_argnames=("centre",))
def _cca(x, y, centre):
    ux, kx = _basis(_centre(x, centre))
    uy, ky = _basis(_centre(y, centre))
    return _correlations(ux, kx, uy, ky)


def cca(
    x: Float[ArrayLike, "*samples units_x"],
    y: Float[ArrayLike, "*samples units_y"],
    *,
    centre: bool = True,
) -> CanonicalCorrelations:
    """Canonical correlations between two activity sets (Hotelling 1936).

    ρ_i = σ_i(Q_xᵀ Q_y), the singular values of the product of orthonormal bases of the two
    (centred) sets' column spaces: the cosines of the principal angles between them. Invariant
    to any invertible linear map of either set's units.
    """
    xf, yf = activity_pair(x, y)
    return _cca(xf, yf, check_bool(centre, "centre"))


def _n_kept(s: Array, variance: float) -> Array:
    frac = jnp.cumsum(s**2) / jnp.sum(s**2)
    return jnp.sum(frac < variance - 1e-12) + 1


@functools.partial(jax.jit, static_argnames=("variance", "n_components", "centre"))
def _svcca(x, y, variance, n_components, centre):
    x, y = _centre(x, centre), _centre(y, centre)
    keeps = []
    for z in (x, y):
        if n_components is not None:
            keeps.append(jnp.asarray(min(n_components, z.shape[1])))
        else:
            keeps.append(_n_kept(jnp.linalg.svd(z, compute_uv=False), variance))
    ux, kx = _basis(x, keeps[0])
    uy, ky = _basis(y, keeps[1])
    return _correlations(ux, kx, uy, ky)


def svcca(
    x: Float[ArrayLike, "*samples units_x"],
    y: Float[ArrayLike, "*samples units_y"],
    *,
    variance: float = 0.99,
    n_components: int | None = None,
    centre: bool = True,
) -> CanonicalCorrelations:
    """SVCCA: canonical correlations between the top singular directions of two sets.

    Raghu, Gilmer, Yosinski & Sohl-Dickstein 2017, NeurIPS.

    Each centred set keeps its first k singular directions, k the fewest that explain
    `variance` of its variance (or `n_components`, if given); the result holds the canonical
    correlations of the two reduced sets, and `mean` their mean, the SVCCA similarity.
    """
    xf, yf = activity_pair(x, y)
    variance = check_number(variance, "variance", low=0.0, high=1.0, low_open=True)
    n_components = check_int(n_components, "n_components", allow_none=True)
    return _svcca(xf, yf, variance, n_components, check_bool(centre, "centre"))


@functools.partial(jax.jit, static_argnames=("centre",))
def _cka(x, y, centre):
    x, y = _centre(x, centre), _centre(y, centre)
    cross = jnp.sum((y.T @ x) ** 2)
    return cross / jnp.sqrt(jnp.sum((x.T @ x) ** 2) * jnp.sum((y.T @ y) ** 2))


def cka(
    x: Float[ArrayLike, "*samples units_x"],
    y: Float[ArrayLike, "*samples units_y"],
    *,
    centre: bool = True,
) -> Float[Array, ""]:
    """Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019, ICML).

        CKA(X, Y) = ‖YᵀX‖_F² / (‖XᵀX‖_F ‖YᵀY‖_F),   X, Y centred over samples,

    equal to HSIC(K, L)/√(HSIC(K, K) HSIC(L, L)) with linear kernels K = XXᵀ, L = YYᵀ. A
    similarity in [0, 1] (1: the same up to rotation and isotropic scaling).
    """
    xf, yf = activity_pair(x, y)
    return _cka(xf, yf, check_bool(centre, "centre"))


