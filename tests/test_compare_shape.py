"""Shape metrics (compare.procrustes, cca, svcca, cka) against SciPy and closed forms written
here, with their invariances."""

import numpy as np
import pytest
import scipy.linalg
from badinput import assert_clear_error

from neurodyn import compare

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 30, 6))                       # conditions × time × units
Y = X @ RNG.normal(size=(6, 8)) + 0.5 * RNG.normal(size=(4, 30, 8))   # 8 units, related
Q6 = np.linalg.qr(RNG.normal(size=(6, 6)))[0]


def _flat(z, centre=True):
    z = z.reshape(-1, z.shape[-1])
    return z - z.mean(0) if centre else z


def _canonical_correlations(x, y):
    """Björck & Golub: QR of each centred set, then the singular values of Q_xᵀ Q_y."""
    qx, _ = np.linalg.qr(_flat(x))
    qy, _ = np.linalg.qr(_flat(y))
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def test_procrustes_euclidean_matches_scipy_orthogonal_procrustes():
    x, y = _flat(X), _flat(Y)
    xp = np.pad(x, ((0, 0), (0, 2)))                  # the smaller set zero-padded
    r, _ = scipy.linalg.orthogonal_procrustes(y, xp)  # argmin ‖y R − x‖
    want = np.linalg.norm(xp - y @ r) / np.sqrt(len(x))
    got = float(compare.procrustes(X, Y, metric="euclidean"))
    assert got == pytest.approx(want, rel=1e-4)


def test_procrustes_angular_closed_form_and_invariances():
    x, y = _flat(X), _flat(Y)
    xp = np.pad(x, ((0, 0), (0, 2)))
    r, _ = scipy.linalg.orthogonal_procrustes(y, xp)
    cos = np.sum(xp * (y @ r)) / (np.linalg.norm(x) * np.linalg.norm(y))
    got = float(compare.procrustes(X, Y))
    assert got == pytest.approx(np.arccos(cos), rel=1e-4)
    # rotation of either set, isotropic scaling and a shift (centred) leave it unchanged
    assert float(compare.procrustes(3.0 * X @ Q6 + 1.0, Y)) == pytest.approx(got, rel=1e-4)
    assert float(compare.procrustes(X @ Q6, X)) < 2e-3        # identical up to rotation
    assert float(compare.procrustes(X, X, metric="euclidean")) < 1e-3
    # a metric: symmetric, and the triangle inequality on a third set
    z = RNG.normal(size=(4, 30, 5))
    dxy, dyx = float(compare.procrustes(X, Y)), float(compare.procrustes(Y, X))
    assert dxy == pytest.approx(dyx, rel=1e-5)
    assert dxy <= float(compare.procrustes(X, z)) + float(compare.procrustes(z, Y)) + 1e-6


def test_fully_whitened_procrustes_is_the_mean_canonical_correlation():
    """Williams et al. 2021: at α = 0 (equal unit counts) cos θ = mean canonical correlation."""
    y6 = Y[..., :6]
    rho = _canonical_correlations(X, y6)
    got = float(compare.procrustes(X, y6, alpha=0.0))
    assert np.cos(got) == pytest.approx(rho.mean(), rel=1e-4)


def test_cca_matches_qr_svd_reference_and_is_linearly_invariant():
    res = compare.cca(X, Y)
    want = _canonical_correlations(X, Y)
    np.testing.assert_allclose(np.asarray(res.correlations), want, atol=1e-5)
    assert float(res.mean) == pytest.approx(want.mean(), rel=1e-5)
    assert float(res.n_components) == 6
    # any invertible linear map of the units leaves the correlations unchanged
    mixed = compare.cca(X @ RNG.normal(size=(6, 6)), 2.0 * Y)
    np.testing.assert_allclose(np.asarray(mixed.correlations), want, atol=1e-4)
    np.testing.assert_allclose(np.asarray(compare.cca(X, X @ Q6).correlations), 1.0, atol=1e-5)


def test_svcca_keeps_the_directions_explaining_the_variance():
    # a set whose variance lives in 2 directions (plus a tiny third) of 6 units
    basis = np.linalg.qr(RNG.normal(size=(6, 6)))[0]
    low = RNG.normal(size=(4, 30, 3)) * np.array([3.0, 2.0, 1e-3])
    x = low @ basis[:3]
    res = compare.svcca(x, Y, variance=0.99)
    assert float(res.n_components) == 2
    # the reference: project on the top-2 principal directions of x, top-k of Y, then CCA
    xc, yc = _flat(x), _flat(Y)
    ux = np.linalg.svd(xc, full_matrices=False)[0][:, :2]
    uy, sy, _ = np.linalg.svd(yc, full_matrices=False)
    ky = int(np.searchsorted(np.cumsum(sy**2) / np.sum(sy**2), 0.99) + 1)
    want = np.linalg.svd(ux.T @ uy[:, :ky], compute_uv=False)
    assert float(res.mean) == pytest.approx(want.mean(), rel=1e-4)
    fixed = compare.svcca(X, Y, n_components=3)
    assert float(fixed.n_components) == 3


def test_cka_matches_hsic_definition_and_invariances():
    x, y = _flat(X, False), _flat(Y, False)
    m = len(x)
    h = np.eye(m) - 1.0 / m
    k, l_ = h @ x @ x.T @ h, h @ y @ y.T @ h

    def hsic(a, b):
        return np.sum(a * b)

    want = hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))
    assert float(compare.cka(X, Y)) == pytest.approx(want, rel=1e-4)
    assert float(compare.cka(X, 5.0 * X @ Q6)) == pytest.approx(1.0, abs=1e-5)
    assert float(compare.cka(2.0 * X @ Q6, Y)) == pytest.approx(want, rel=1e-4)


def test_bad_inputs_name_the_argument():
    for name, call in [
        ("y", lambda: compare.procrustes(X, Y[:3])),        # different condition counts
        ("y", lambda: compare.cca(X, Y[:, :10])),           # different time steps
        ("x", lambda: compare.cka("a", Y)),
        ("x", lambda: compare.cka(np.zeros(5), Y)),
        ("metric", lambda: compare.procrustes(X, Y, metric="cosine")),
        ("alpha", lambda: compare.procrustes(X, Y, alpha=1.5)),
        ("centre", lambda: compare.cca(X, Y, centre=1)),
        ("variance", lambda: compare.svcca(X, Y, variance=0.0)),
        ("n_components", lambda: compare.svcca(X, Y, n_components=0)),
    ]:
        assert_clear_error(f"compare:{name}", name, call)
