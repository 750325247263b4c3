"""The counter-based noise generator (`noise_rng="fast"`): reproducible, standard normal, and
free of correlations across time steps, trials, neurons and keys."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import neurodyn as nd
from neurodyn._noise import _cos_pi, _log, step_normal, stream_key

B, T, N = 48, 24, 256  # 294,912 draws per array
SHAPE = (B, T, N)


@pytest.fixture(scope="module")
def xi():
    return np.asarray(nd.models.fast_normal(jax.random.key(0), SHAPE), np.float64)


def test_reproducible_and_key_dependent():
    a = nd.models.fast_normal(jax.random.key(3), (4, 5, 7))
    b = nd.models.fast_normal(jax.random.key(3), (4, 5, 7))
    c = nd.models.fast_normal(jax.random.key(4), (4, 5, 7))
    np.testing.assert_array_equal(a, b)
    assert not np.any(np.asarray(a) == np.asarray(c))
    # ξ[:, t] is `step_normal` of that step, and a trial's draws do not depend on the batch size
    # (same bits; the floats of separately compiled programs may differ in the last place).
    words = stream_key(jax.random.key(3))
    np.testing.assert_allclose(a[:, 2], step_normal(words, 2, 4, 7), rtol=0, atol=1e-6)
    np.testing.assert_allclose(a[:2], nd.models.fast_normal(jax.random.key(3), (2, 5, 7)),
                               rtol=0, atol=1e-6)
    # vmapped over keys (an ensemble) gives each key's own draws.
    keys = jax.random.split(jax.random.key(5), 3)
    stacked = jax.vmap(lambda k: nd.models.fast_normal(k, (2, 3, 8)))(keys)
    for i in range(3):
        np.testing.assert_allclose(stacked[i], nd.models.fast_normal(keys[i], (2, 3, 8)),
                                   rtol=0, atol=1e-6)


def test_moments_and_distribution(xi):
    z = xi.ravel()
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # Tail masses match N(0, 1) (binomial tolerance).
    for c in (2.0, 3.0):
        p = 2 * stats.norm.sf(c)
        assert abs(np.mean(np.abs(z) > c) - p) < 5 * np.sqrt(p * (1 - p) / n)
    assert np.all(np.isfinite(z)) and np.max(np.abs(z)) < 5.8


def _independent(a, b):
    """Correlation ~ 0 and a chi-square test of independence on an 8x8 grid of normal quantiles."""
    a, b = a.ravel(), b.ravel()
    n = a.size
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(n)
    assert abs(np.corrcoef(a**2, b**2)[0, 1]) < 5 / np.sqrt(n)
    edges = stats.norm.ppf(np.linspace(0, 1, 9)[1:-1])
    table = np.zeros((8, 8))
    np.add.at(table, (np.searchsorted(edges, a), np.searchsorted(edges, b)), 1)
    assert stats.chi2_contingency(table).pvalue > 1e-4


def test_no_correlation_across_time_trials_neurons(xi):
    _independent(xi[:, :-1], xi[:, 1:])  # consecutive time steps
    _independent(xi[:-1], xi[1:])  # consecutive trials
    _independent(xi[..., :-1], xi[..., 1:])  # neighbouring neurons
    half = N // 2  # the two outputs of one Box–Muller pair
    _independent(xi[..., :half], xi[..., half:])


@pytest.mark.parametrize(
    "other", [jax.random.key(1), jax.random.split(jax.random.key(0))[0], jax.random.key(2**31)]
)
def test_distinct_keys_give_independent_streams(xi, other):
    _independent(xi, np.asarray(nd.models.fast_normal(other, SHAPE), np.float64))


def test_polynomial_cos_and_log_accuracy():
    w = np.linspace(-1, 1, 200_001, endpoint=False).astype(np.float32)
    c = np.asarray(_cos_pi(jnp.asarray(w)), np.float64)
    np.testing.assert_allclose(c, np.cos(np.pi * w.astype(np.float64)), rtol=0, atol=1e-6)
    # Every u the generator can make: k 2^-24 for k = 1 … 2^24 (a strided subset, both ends).
    k = np.concatenate([np.arange(1, 2**24 + 1, 61), np.arange(2**24 - 1000, 2**24 + 1)])
    u = (k * 2.0**-24).astype(np.float32)
    log_u = np.asarray(_log(jnp.asarray(u)), np.float64)
    np.testing.assert_allclose(log_u, np.log(u.astype(np.float64)), rtol=1e-7, atol=1e-7)
    assert np.all(log_u <= 0)


def test_simulate_uses_the_stream_per_trial():
    model = nd.models.LowRankRNN(9, 1, 1, 1, noise_std=0.3, key=jax.random.key(0))  # odd N
    inputs = jax.random.normal(jax.random.key(1), (3, 6, 1))
    batched = model.simulate(inputs, key=jax.random.key(2))
    single = model.simulate(inputs[0], key=jax.random.key(2))
    np.testing.assert_allclose(single.states, batched.states[0], atol=1e-6)
    given = model.simulate(inputs, key=None, noise=nd.models.fast_normal(jax.random.key(2),
                                                                          (3, 6, 9)))
    np.testing.assert_allclose(given.states, batched.states, atol=1e-6)
    noise_free = model.simulate(inputs, key=None, noise=False)
    assert not np.allclose(noise_free.states, batched.states, atol=1e-3)


def test_fast_normal_shape_error():
    with pytest.raises(ValueError, match="shape"):
        nd.models.fast_normal(jax.random.key(0), (5,))


def test_counter_limit_is_a_clear_error():
    # The counters of one step are uint32: 2 · trials · ceil(N/2) <= 2**32. Beyond that they
    # would wrap around and repeat draws; the error comes from the shapes alone (eval_shape:
    # nothing is allocated).
    key = jax.random.key(0)

    def shape_of(shape):
        return jax.eval_shape(lambda k: nd.models.fast_normal(k, shape), key).shape

    assert shape_of((2**31, 1, 2)) == (2**31, 1, 2)  # exactly 2**32 counters: the largest
    for too_many in ((2**31 + 1, 1, 2), (2**31, 1, 3), (2**16, 2**16, 1, 4)):
        with pytest.raises(ValueError, match=r"^shape: .* 2\*\*32"):
            shape_of(too_many)
    model = nd.models.LowRankRNN(4, 1, 1, 1, key=key)
    inputs = jax.ShapeDtypeStruct((2**30 + 1, 1, 1), jnp.float32)  # 2**31 + 2 pairs
    with pytest.raises(ValueError, match=r"^inputs: .* 2\*\*32"):
        jax.eval_shape(lambda u: model.simulate(u, key=key), inputs)
    # Without noise (or with the threefry generator) there is no such limit.
    jax.eval_shape(lambda u: model.simulate(u, key=None, noise=False), inputs)
