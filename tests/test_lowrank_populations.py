"""Gaussian mixtures in JAX, population structure, resampling and inactivation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import lowrank as lr

RESTARTS = 4  # one value throughout, so that the compiled EM programs are shared
TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUE_MEANS = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -2.0], [-3.0, 3.0, 2.0]])
TRUE_COVS = np.array([
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.0]],
    [[0.5, -0.2, 0.0], [-0.2, 0.8, 0.0], [0.0, 0.0, 0.3]],
    [[2.0, 0.0, 0.6], [0.0, 0.4, 0.0], [0.6, 0.0, 1.0]],
])


@pytest.fixture(scope="module")
def known_data():
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=4000, p=TRUE_WEIGHTS)
    x = np.stack([rng.multivariate_normal(TRUE_MEANS[k], TRUE_COVS[k]) for k in labels])
    return x.astype(np.float32), labels


def test_gmm_recovers_known_mixture(known_data):
    x, _ = known_data
    gmm = lr.fit_gmm(x, 3, key=jax.random.key(0), n_restarts=RESTARTS)
    # Components come ordered by weight, as the true ones are.
    np.testing.assert_allclose(gmm.weights, TRUE_WEIGHTS, atol=0.03)
    np.testing.assert_allclose(gmm.means, TRUE_MEANS, atol=0.12)
    np.testing.assert_allclose(gmm.covariances, TRUE_COVS, atol=0.15)
    # The total log-likelihood is what an independent SciPy evaluation gives.
    from scipy.stats import multivariate_normal

    dens = sum(
        float(w) * multivariate_normal(np.asarray(m, np.float64), np.asarray(c, np.float64)).pdf(x)
        for w, m, c in zip(gmm.weights, gmm.means, gmm.covariances)
    )
    np.testing.assert_allclose(float(gmm.log_likelihood), np.log(dens).sum(), rtol=1e-4)
    np.testing.assert_allclose(gmm.log_prob(jnp.asarray(x)), np.log(dens), rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_bic_picks_the_true_number_of_components(known_data):
    x, labels = known_data
    fits = {k: lr.fit_gmm(x, k, key=jax.random.key(k), n_restarts=RESTARTS) for k in (2, 3, 4)}
    assert min(fits, key=lambda k: fits[k].bic) == 3
    assert fits[3].n_parameters == 2 + 3 * 3 + 3 * 6
    pred = np.asarray(fits[3].predict(jnp.asarray(x)))
    # Components are ordered by weight, the true labels too: agreement without permutation.
    assert np.mean(pred == labels) > 0.97


def _two_population_network(n_neurons, key):
    cov = np.eye(4)
    means = np.array([[2.0, 2.0, 0.0, 3.0], [-2.0, 0.5, 2.0, -3.0]])
    mix = lr.mixture([0.5, 0.5], means, np.stack([0.3 * cov, 0.3 * cov]), rank=1, n_inputs=1,
                     n_outputs=1)
    return mix, *lr.resample_labelled(mix, n_neurons, key=key)


def test_fit_mixture_population_labels_and_resample_statistics():
    mix, net, labels = _two_population_network(1000, jax.random.key(1))
    assert net.n_neurons == 1000 and net.rank == 1
    np.testing.assert_array_equal(net.g_in, 1.0)
    fit = lr.fit_mixture(net, 2, key=jax.random.key(2), n_restarts=RESTARTS)
    assert fit.names == ("m1", "n1", "in1", "out1")
    pred = np.asarray(lr.population_labels(fit, net))
    agree = max(np.mean(pred == labels), np.mean(pred != labels))
    assert agree > 0.99
    # A large resampled network has the overlap matrix the mixture predicts:
    # (1/N) aᵀb → Σ_p π_p (Σ_p + μ_p μ_pᵀ).
    big = lr.resample(fit, 10000, key=jax.random.key(3))
    predicted = sum(
        w * (c + np.outer(m, m)) for w, m, c in zip(fit.weights, fit.means, fit.covariances)
    )
    np.testing.assert_allclose(lr.overlap_matrix(big).matrix, predicted, atol=0.15)
    sel = lr.select_populations(net, (1, 2), key=jax.random.key(4), n_restarts=RESTARTS)
    assert sel.best.n_populations == 2 and sel.bic[1] < sel.bic[0]


@pytest.mark.slow
def test_resampling_folds_gains_in():
    model = nd.models.LowRankRNN(128, 1, 1, 1, key=jax.random.key(5))
    model = eqx.tree_at(lambda m: (m.g_in, m.g_out), model, (jnp.array([3.0]), jnp.array([0.1])))
    mix = lr.fit_mixture(model, 1, key=jax.random.key(6), n_restarts=RESTARTS)
    new = lr.resample(mix, 20000, key=jax.random.key(7))
    # Effective input and readout vectors keep the trained gains' scale.
    np.testing.assert_allclose(jnp.std(new.input_weights), jnp.std(model.input_weights),
                               rtol=0.03)
    np.testing.assert_allclose(jnp.std(new.readout_weights), jnp.std(model.readout_weights),
                               rtol=0.03)
    np.testing.assert_allclose(jnp.std(new.m), jnp.std(model.m), rtol=0.03)


def test_silence():
    mix, net, labels = _two_population_network(200, jax.random.key(8))
    mask = np.asarray(labels) == 0
    quiet = lr.silence(net, mask)
    np.testing.assert_array_equal(np.asarray(quiet.J)[mask], 0.0)
    np.testing.assert_array_equal(np.asarray(quiet.J)[:, mask], 0.0)
    np.testing.assert_allclose(np.asarray(quiet.J)[np.ix_(~mask, ~mask)],
                               np.asarray(net.J)[np.ix_(~mask, ~mask)])
    inputs = jax.random.normal(jax.random.key(9), (2, 20, 1))
    out = lr.silence(net, np.ones(200, bool)).simulate(inputs, key=jax.random.key(0)).outputs
    np.testing.assert_array_equal(out, 0.0)
    with pytest.raises(ValueError, match="boolean array of shape"):
        lr.silence(net, labels)


def test_resampled_decision_network_keeps_accuracy(trained_decision, decision_task):
    """One-population resampling of a trained rank-one decision network (Dubreuil et al. 2022:
    0.9996 mean accuracy over 100 networks)."""
    model = trained_decision.model
    key = jax.random.key(11)
    acc_trained = lr.accuracy(model, decision_task, key=key, n_trials=256)
    assert acc_trained >= 0.95
    mix = lr.fit_mixture(model, 1, key=jax.random.key(12), n_restarts=RESTARTS)
    for i in range(3):
        new = lr.resample(mix, 512, key=jax.random.key(20 + i))
        assert lr.accuracy(new, decision_task, key=key, n_trials=256) >= 0.95


def test_population_bad_input():
    model = nd.models.LowRankRNN(30, 1, 1, 1, key=jax.random.key(0))
    for bad in (0, 31, 1.5):
        with pytest.raises(ValueError, match="n_populations"):
            lr.fit_mixture(model, bad, key=jax.random.key(0))
    nan = eqx.tree_at(lambda m: m.m, model, model.m.at[0, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="NaN"):
        lr.fit_mixture(nan, 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="LowRankRNN"):
        lr.fit_mixture(model.to_full_rank(), 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="n_components"):
        lr.fit_gmm(np.zeros((5, 2)), 6, key=jax.random.key(0))
    with pytest.raises(ValueError, match="NaN"):
        lr.fit_gmm(np.full((5, 2), np.nan), 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="LowRankMixture"):
        lr.resample("mixture", 10, key=jax.random.key(0))


def test_resample_has_one_return_type_and_labels_come_from_resample_labelled():
    mix, net, labels = _two_population_network(50, jax.random.key(9))
    assert isinstance(lr.resample(mix, 50, key=jax.random.key(9)), nd.models.LowRankRNN)
    drawn = lr.resample_labelled(mix, 50, key=jax.random.key(9))
    assert isinstance(drawn, lr.Resampled)
    np.testing.assert_array_equal(drawn.model.m, net.m)
    np.testing.assert_array_equal(drawn.labels, labels)
    with pytest.warns(DeprecationWarning, match="resample_labelled"):
        old_model, old_labels = lr.resample(mix, 50, key=jax.random.key(9), return_labels=True)
    np.testing.assert_array_equal(old_labels, labels)
