"""The low-rank analyses with their defaults on float32 networks (and float64 ones) whose fixed
points are known independently (SciPy root finding on the same loadings, or on the mean-field
equation), and networks built without any hidden PRNG key."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxcompat import enable_x64
from scipy import integrate, optimize

import neurodyn as nd
from neurodyn import lowrank as lr


def _network(m, n, *, n_inputs=0):
    """A noise-free float32 LowRankRNN with the given loadings [N, R]."""
    size, rank = m.shape
    net = nd.models.LowRankRNN(size, rank, n_inputs, 1, noise_std=0.0, key=jax.random.key(0))
    return eqx.tree_at(lambda x: (x.m, x.n), net,
                       (jnp.asarray(m, jnp.float32), jnp.asarray(n, jnp.float32)))


def _roots_1d(m, n):
    """κ = ⟨n tanh(m κ)⟩ solved in float64 by Brent's method: (−κ*, 0, κ*)."""
    m, n = np.asarray(m, np.float64), np.asarray(n, np.float64)

    def g(k):
        return -k + np.mean(n * np.tanh(m * k))

    top = np.sqrt(np.mean(n**2)) * 1.05
    pos = optimize.brentq(g, 1e-3, top, xtol=1e-14)
    neg = optimize.brentq(g, -top, -1e-3, xtol=1e-14)
    return np.array([neg, 0.0, pos])


def _bistable_loadings(size, sigma, seed):
    z = np.random.default_rng(seed).standard_normal(size)
    return z, sigma * z


def test_rank_one_float32_defaults_give_the_three_fixed_points():
    """N = 4096 float32 network with n = 2m: κ = 0 unstable, ±κ* stable (scipy reference)."""
    m, n = _bistable_loadings(4096, 2.0, 0)
    net = _network(m[:, None], n[:, None])
    assert net.m.dtype == jnp.float32
    ref = _roots_1d(np.asarray(net.m[:, 0]), np.asarray(net.n[:, 0]))
    fps = lr.meanfield.fixed_points(lr.latent(net))
    assert lr.meanfield.classify(lr.latent(net), fps).kinds == ("stable", "unstable", "stable")
    np.testing.assert_allclose(np.asarray(fps.xstar)[:, 0], ref, rtol=1e-5, atol=1e-6)
    # The analytic eigenvalue of the trivial state: (⟨n m⟩ φ'(0) − 1)/τ.
    np.testing.assert_allclose(lr.meanfield.classify(lr.latent(net), fps).eigenvalues[1].real,
                               (np.mean(m * n) - 1) / net.tau, rtol=1e-4)


def test_rank_two_float32_defaults_give_the_nine_fixed_points():
    """Two decoupled bistable halves: the fixed points are the 3 × 3 products of each half's
    own roots (4 stable, 4 saddles, 1 unstable), by default and in the flow field."""
    a_m, a_n = _bistable_loadings(1024, 3.0, 1)  # overlaps 3/2 and 2 once divided by N
    b_m, b_n = _bistable_loadings(1024, 4.0, 2)
    zeros = np.zeros(1024)
    m = np.stack([np.concatenate([a_m, zeros]), np.concatenate([zeros, b_m])], axis=1)
    n = np.stack([np.concatenate([a_n, zeros]), np.concatenate([zeros, b_n])], axis=1)
    net = _network(m, n)
    m32, n32 = np.asarray(net.m, np.float64), np.asarray(net.n, np.float64)
    # Each half is a rank-1 network of 1024 neurons whose drive is divided by N = 2048.
    k1 = _roots_1d(m32[:1024, 0], n32[:1024, 0] / 2)
    k2 = _roots_1d(m32[1024:, 1], n32[1024:, 1] / 2)
    ref = np.array([[a, b] for a in k1 for b in k2])
    fps = lr.meanfield.fixed_points(lr.latent(net))
    np.testing.assert_allclose(np.asarray(fps.xstar), ref, rtol=1e-5, atol=1e-6)
    assert sorted(lr.meanfield.classify(lr.latent(net), fps).kinds) == sorted(
        ["stable"] * 4 + ["saddle"] * 4 + ["unstable"])
    flow = lr.flow_field(lr.latent(net), resolution=5)
    np.testing.assert_allclose(flow.points, ref, rtol=1e-5, atol=1e-6)


def _mean_field_kappa(sigma):
    """κ* of the rank-one mixture with Var m = 1, Cov(m, n) = σ: σ⟨φ'(κ z)⟩ = 1 (quad)."""

    def gain(k):
        f = lambda z: (1 - np.tanh(k * z) ** 2) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        return integrate.quad(f, -np.inf, np.inf, epsabs=1e-13)[0]

    return optimize.brentq(lambda k: sigma * gain(k) - 1, 1e-3, 10 * sigma, xtol=1e-13)


def test_meanfield_float32_defaults_against_scipy():
    sigma = 2.0
    mix = lr.mixture([1.0], [[0.0, 0.0]], [[[1.0, sigma], [sigma, 1.0 + sigma**2]]], rank=1)
    assert mix.means.dtype == jnp.float32
    fps = lr.meanfield.fixed_points(mix)
    k = _mean_field_kappa(sigma)
    assert lr.meanfield.classify(mix, fps).kinds == ("stable", "unstable", "stable")
    np.testing.assert_allclose(np.asarray(fps.xstar)[:, 0], [-k, 0.0, k], rtol=1e-5, atol=1e-6)


def _enable_x64():
    return enable_x64(True)


def test_float64_systems_work_and_agree():
    """Under jax_enable_x64 a float64 network (and mixture) is searched in float64; this used
    to fail inside JAX (a float32 Newton carry meeting float64 arrays)."""
    m, n = _bistable_loadings(512, 2.0, 3)
    with _enable_x64():
        net = nd.models.LowRankRNN(512, 1, 0, 1, noise_std=0.0, key=jax.random.key(0))
        net = eqx.tree_at(lambda x: (x.m, x.n), net,
                          (jnp.asarray(m[:, None], jnp.float64),
                           jnp.asarray(n[:, None], jnp.float64)))
        fps = lr.meanfield.fixed_points(lr.latent(net))
        np.testing.assert_allclose(np.asarray(fps.xstar)[:, 0], _roots_1d(m, n), rtol=1e-9,
                                   atol=1e-12)
        assert lr.meanfield.classify(lr.latent(net), fps).kinds == ("stable", "unstable", "stable")
        sigma = 2.0
        mix = lr.mixture([1.0], [[0.0, 0.0]], [[[1.0, sigma], [sigma, 1.0 + sigma**2]]],
                         rank=1)
        mix = eqx.tree_at(
            lambda x: (x.gmm.weights, x.gmm.means, x.gmm.covariances), mix,
            (mix.weights.astype(jnp.float64), mix.means.astype(jnp.float64),
             mix.covariances.astype(jnp.float64)))
        k = _mean_field_kappa(sigma)
        # 64 Gauss–Hermite nodes (the default) are accurate to ~1e-6 here, 256 to ~1e-13.
        fps = lr.meanfield.fixed_points(mix)
        np.testing.assert_allclose(np.asarray(fps.xstar)[:, 0], [-k, 0.0, k], rtol=1e-5, atol=1e-10)
        fps = lr.meanfield.fixed_points(lr.meanfield.dynamics(mix, quadrature=256))
        np.testing.assert_allclose(np.asarray(fps.xstar)[:, 0], [-k, 0.0, k], rtol=1e-11,
                                   atol=1e-12)


def test_truncate_and_resample_draw_no_hidden_key(monkeypatch):
    """Neither builds its network from a fixed key: every array comes from the SVD or from
    the draw of the user's key, and no concrete jax.random.key is made on the way."""
    full = nd.models.FullRankRNN(37, 1, 1, key=jax.random.key(4))
    sigma = 1.5
    mix = lr.mixture([1.0], [[0.0, 0.0, 0.0, 0.0]],
                     [np.array([[1.0, sigma, 0, 0], [sigma, 1 + sigma**2, 0, 0],
                                [0, 0, 1.0, 0], [0, 0, 0, 16.0]])], rank=1, n_inputs=1,
                     n_outputs=1)
    user_key = jax.random.key(11)
    made = []
    real_key = jax.random.key

    def recording_key(seed, *args, **kwargs):
        if not isinstance(seed, jax.core.Tracer):
            made.append(seed)
        return real_key(seed, *args, **kwargs)

    monkeypatch.setattr(jax.random, "key", recording_key)
    low = lr.truncate(full, 1)
    new, labels = lr.resample_labelled(mix, 41, key=user_key)  # a size never traced
    monkeypatch.undo()
    assert made == []
    # Every array of the resampled network is the mixture's draw from the user's key.
    x, lab = mix.gmm.sample(user_key, 41)
    np.testing.assert_array_equal(np.asarray(new.m[:, 0]), np.asarray(x[:, 0]))
    np.testing.assert_array_equal(np.asarray(new.n[:, 0]), np.asarray(x[:, 1]))
    np.testing.assert_array_equal(np.asarray(new.w_in[0]), np.asarray(x[:, 2]))
    np.testing.assert_array_equal(np.asarray(new.w_out[:, 0]), np.asarray(x[:, 3]))
    np.testing.assert_array_equal(np.asarray(labels), np.asarray(lab))
    np.testing.assert_array_equal(np.asarray(new.g_in), 1.0)
    # The truncation holds the SVD's factors and the full network's own inputs and readout.
    u, s, vt = np.linalg.svd(np.asarray(full.J, np.float64))
    np.testing.assert_allclose(np.asarray(low.J), s[0] * np.outer(u[:, 0], vt[0]), atol=1e-5)
    for name in ("w_in", "g_in", "w_out", "g_out"):
        np.testing.assert_array_equal(np.asarray(getattr(low, name)),
                                      np.asarray(getattr(full, name)))


def test_truncation_curve_scores_every_rank_on_one_draw(trained_decision, decision_task):
    """One split of the key gives the trials and the noise for all ranks (a paired comparison):
    each accuracy equals `evaluate` of that truncation with the same key."""
    full = trained_decision.model.to_full_rank()
    key = jax.random.key(7)
    curve = lr.truncation_curve(full, decision_task, [1, 2], key=key, n_trials=64)
    for r, acc in zip(curve.ranks, curve.accuracy):
        assert acc == lr.accuracy(lr.truncate(full, int(r)), decision_task, key=key, n_trials=64)
