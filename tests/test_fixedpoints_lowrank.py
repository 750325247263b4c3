"""The eigen-decomposition of a LowRankRNN's Jacobian from its rank-R structure, against the
dense path (forward-mode N × N Jacobians and `numpy.linalg.eig`): same eigenvalues, the same
eigenspaces (compared through their spectral projectors, which do not depend on the basis
chosen inside a repeated eigenvalue), the N − R-fold bulk eigenvalue handled exactly."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import fixedpoints as fp

KEY = jax.random.key
N, R = 40, 2


@pytest.fixture(scope="module")
def net():
    """Rank 2 with a non-symmetric overlap matrix: complex outlier eigenvalues at some points."""
    model = nd.models.LowRankRNN(N, R, 2, 1, noise_std=0.0, key=KEY(1))
    m = jax.random.normal(KEY(2), (N, R))
    n = m @ jnp.array([[2.0, 0.5], [-0.8, 1.6]]) + 0.3 * jax.random.normal(KEY(3), (N, R))
    return eqx.tree_at(lambda z: (z.m, z.n), model, (m, n))


def _projector(right, left, members):
    return right[:, members] @ left[:, members].T


@pytest.mark.parametrize("dynamics,period", [("discrete", 1), ("discrete", 2),
                                             ("continuous", 1)])
def test_structured_decomposition_matches_dense_eig(net, dynamics, period):
    x0 = 2.0 * jax.random.normal(KEY(4), (32, N))
    fps = fp.find(net, x0, jnp.array([0.3, -0.2]), dynamics=dynamics, period=period,
                  max_q=1e-3, jacobians=False, progress=False)
    assert fps.n_points >= 1
    fast = fp.decompose(net, fps)
    slow = fp.decompose(net, fps, low_rank=False)
    np.testing.assert_allclose(fast.jacobians, slow.jacobians, atol=1e-6)
    np.testing.assert_allclose(fast.input_jacobians, slow.input_jacobians, atol=1e-7)
    np.testing.assert_array_equal(fast.n_unstable, slow.n_unstable)
    np.testing.assert_array_equal(fast.stable, slow.stable)
    bulk = (1 - net.alpha) ** period if dynamics == "discrete" else -1.0 / net.tau
    for p in range(fps.n_points):
        jac = np.asarray(slow.jacobians[p], np.float64)
        lam_ref, right_ref = np.linalg.eig(jac)
        left_ref = np.linalg.inv(right_ref).T
        lam = np.asarray(fast.eigenvalues[p], np.complex128)
        right = np.asarray(fast.eigenvectors[p], np.complex128)
        left = np.asarray(fast.left_eigenvectors[p], np.complex128)
        scale = np.abs(lam_ref).max()
        np.testing.assert_allclose(np.sort(lam), np.sort(lam_ref), atol=1e-5 * scale)
        # N − R eigenvalues exactly at the bulk value, the rest from the R × R matrix
        at_bulk = np.abs(lam - bulk) < 1e-6 * scale
        assert at_bulk.sum() == N - R
        np.testing.assert_array_equal(lam[at_bulk], np.float32(bulk))
        # least stable first, as the dense path orders them
        key = np.abs(lam) if dynamics == "discrete" else lam.real
        assert np.all(np.diff(key) <= 1e-6 * scale)
        # eigenvectors: unit norm, eigen-equations, duality
        np.testing.assert_allclose(np.linalg.norm(right, axis=0), 1.0, atol=1e-5)
        np.testing.assert_allclose(jac @ right, right * lam[None], atol=1e-5 * scale)
        np.testing.assert_allclose(left.T @ jac, lam[:, None] * left.T, atol=1e-5 * scale)
        np.testing.assert_allclose(left.T @ right, np.eye(N), atol=1e-4)
        # the same eigenspaces: the spectral projector onto each eigenvalue (the bulk one of
        # rank N − R included) is the dense one
        for value in np.unique(np.round(lam, 5)):
            mine = np.abs(lam - value) < 1e-4 * scale
            ref = np.abs(lam_ref - value) < 1e-4 * scale
            assert mine.sum() == ref.sum()
            np.testing.assert_allclose(_projector(right, left, mine),
                                       _projector(right_ref, left_ref, ref), atol=1e-4)


def test_linearize_and_jacobians_of_a_low_rank_network(net):
    x = jax.random.normal(KEY(5), (3, N))
    u = jnp.array([0.5, 1.0])
    lin = fp.linearize(net, x[0], u)
    dense = jax.jacfwd(net.step)(x[0], u)
    np.testing.assert_allclose(lin.A, dense, atol=1e-6)
    np.testing.assert_allclose(lin.B, jax.jacfwd(net.step, argnums=1)(x[0], u), atol=1e-6)
    jc, _ = fp.jacobians(net, x, u, dynamics="continuous")
    np.testing.assert_allclose(jc, jax.vmap(jax.jacfwd(net.vector_field))(x, jnp.tile(u, (3, 1))),
                               atol=1e-7)


def test_low_rank_flag(net):
    fps = fp.find(net, jax.random.normal(KEY(6), (8, N)), jnp.zeros(2), jacobians=False,
                  max_q=1e-3, progress=False)
    with pytest.raises(ValueError, match="low_rank"):
        fp.decompose(net.to_full_rank(), fps, low_rank=True)
    with pytest.raises(ValueError, match="low_rank"):
        fp.decompose(net, fps, low_rank="yes")
    full = fp.decompose(net.to_full_rank(), fps)  # the dense path, same answer
    np.testing.assert_allclose(np.sort(np.asarray(full.eigenvalues, complex), axis=-1),
                               np.sort(np.asarray(fp.decompose(net, fps).eigenvalues, complex),
                                       axis=-1), atol=1e-5)
