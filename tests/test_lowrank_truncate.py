"""Connectivity statistics and SVD truncation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import lowrank as lr


def test_loadings_and_overlaps():
    model = nd.models.LowRankRNN(64, 2, 2, 1, key=jax.random.key(0))
    model = eqx.tree_at(lambda m: (m.g_in, m.g_out), model, (jnp.array([2.0, 0.5]),
                                                            jnp.array([3.0])))
    load = lr.loadings(model)
    assert load.names == ("m1", "m2", "n1", "n2", "in1", "in2", "out1")
    np.testing.assert_allclose(load.values[:, 4], 2.0 * model.w_in[0])
    np.testing.assert_allclose(load.values[:, 6], 3.0 * model.w_out[:, 0])
    ov = lr.overlap_matrix(model)
    np.testing.assert_allclose(ov.matrix[2:4, 0:2], model.overlaps, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ov.between("n2", "m1"), model.overlaps[1, 0], rtol=1e-5)
    with pytest.raises(ValueError, match="unknown vector"):
        ov.between("n3", "m1")
    # At s = 0 the effective overlap of a tanh network is the plain overlap nᵀm/N.
    np.testing.assert_allclose(lr.effective_overlap(model), model.overlaps, rtol=1e-5, atol=1e-6)


def test_truncating_a_rank_r_network_at_rank_r_reproduces_it():
    low = nd.models.LowRankRNN(80, 3, 2, 2, noise_std=0.1, key=jax.random.key(1))
    low = eqx.tree_at(lambda m: m.g_in, low, jnp.array([0.5, 2.0]))
    full = low.to_full_rank()
    back = lr.truncate(full, 3)
    assert isinstance(back, nd.models.LowRankRNN) and back.rank == 3
    np.testing.assert_allclose(back.J, low.J, atol=1e-5)
    # Dubreuil's convention: m = √N U S, n = √N V, so nᵀn/N = I.
    np.testing.assert_allclose(back.n.T @ back.n / 80, np.eye(3), atol=1e-5)
    inputs = jax.random.normal(jax.random.key(2), (2, 30, 2))
    xi = jax.random.normal(jax.random.key(3), (2, 30, 80))
    a = low.simulate(inputs, key=None, noise=xi)
    b = back.simulate(inputs, key=None, noise=xi)
    np.testing.assert_allclose(b.states, a.states, atol=1e-4)
    np.testing.assert_allclose(b.outputs, a.outputs, atol=1e-4)
    assert set(back.train) == {"m", "n", "input_gains", "output_gains"}


@pytest.mark.slow
def test_truncation_relative_to_initial_connectivity():
    n = 60
    base = nd.models.FullRankRNN(n, 1, 1, rho=1.0, key=jax.random.key(4))
    low = nd.models.LowRankRNN(n, 2, 1, 1, key=jax.random.key(5))
    trained = eqx.tree_at(lambda f: f.J, base, base.J + low.J)
    delta = lr.truncate(trained, 2, relative_to=base)
    np.testing.assert_allclose(delta.J, low.J, atol=1e-5)
    np.testing.assert_allclose(lr.truncate(trained, 2, relative_to=base.J).J, low.J, atol=1e-5)
    # Eckart–Young: the rank-r truncation error is the norm of the dropped singular values.
    s = np.linalg.svd(np.asarray(trained.J, np.float64), compute_uv=False)
    for r in (1, 5, 20):
        err = np.linalg.norm(np.asarray(trained.J - lr.truncate(trained, r).J, np.float64))
        np.testing.assert_allclose(err, np.sqrt(np.sum(s[r:] ** 2)), rtol=1e-4)


def test_truncation_curve_of_trained_network(trained_decision, decision_task):
    full = trained_decision.model.to_full_rank()
    curve = lr.truncation_curve(full, decision_task, [1, 2], key=jax.random.key(6),
                                n_trials=256)
    np.testing.assert_array_equal(curve.ranks, [1, 2])
    assert np.all(curve.accuracy >= 0.95)


def test_truncation_bad_input():
    low = nd.models.LowRankRNN(20, 2, 1, 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="full-rank"):
        lr.truncate(low, 1)
    full = low.to_full_rank()
    for rank in (0, 21, 2.5):
        with pytest.raises(ValueError, match="rank"):
            lr.truncate(full, rank)
    nan = eqx.tree_at(lambda f: f.J, full, full.J.at[0, 1].set(jnp.nan))
    with pytest.raises(ValueError, match="NaN"):
        lr.truncate(nan, 1)
    with pytest.raises(ValueError, match="relative_to"):
        lr.truncate(full, 1, relative_to=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="keep_base"):
        lr.truncation_curve(full, None, [1], key=jax.random.key(0), keep_base=True)
    with pytest.raises(ValueError, match="stacked ensemble"):
        lr.loadings(jax.tree_util.tree_map(lambda x: jnp.stack([x, x]) if eqx.is_array(x)
                                           else x, low))


@pytest.mark.slow
def test_rank_sweep_decision_task(decision_task):
    sweep = lr.rank_sweep(decision_task, (1, 2), key=jax.random.key(0), n_seeds=2,
                          n_neurons=64, steps=300, n_trials=256)
    assert sweep.accuracy.shape == (2, 2)
    assert sweep.minimal_rank == 1
