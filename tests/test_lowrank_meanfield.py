"""Mean-field theory against finite-N networks drawn from the same statistics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurodyn import lowrank as lr


def rank_one(sigma_mn):
    """m, n jointly Gaussian, Var m = 1, Cov(m, n) = σ_mn (Mastrogiuseppe & Ostojic 2018)."""
    return lr.mixture([1.0], [[0.0, 0.0]], [[[1.0, sigma_mn], [sigma_mn, 1.0 + sigma_mn**2]]],
                      rank=1, noise_std=0.0)


@jax.jit
def run_full(net, x0):
    """300 noise-free steps of the full network without input (its own `step`)."""
    return jax.lax.scan(lambda x, _: (net.step(x), None), x0, None, length=300)[0]


def test_gauss_hermite_moments():
    z, w = lr.meanfield.gauss_hermite(20)
    np.testing.assert_allclose([w.sum(), w @ z, w @ z**2, w @ z**4], [1, 0, 1, 3], atol=1e-12)
    with pytest.raises(ValueError):
        lr.meanfield.gauss_hermite(0)


def test_rank_one_below_one_only_trivial_fixed_point():
    mix = rank_one(0.8)
    fps = lr.meanfield.fixed_points(mix)
    kappa_fps = lr.meanfield.classify(mix, fps)
    np.testing.assert_allclose(np.asarray(fps.xstar), [[0.0]], atol=1e-6)
    assert kappa_fps.kinds == ("stable",)
    # Eigenvalue of the trivial state: (σ_mn φ'(0) − 1)/τ.
    np.testing.assert_allclose(kappa_fps.eigenvalues.real, [[(0.8 - 1) / mix.tau]], rtol=1e-4)
    net = lr.resample(mix, 4000, key=jax.random.key(0))
    finite = lr.meanfield.fixed_points(lr.latent(net))
    assert lr.meanfield.classify(lr.latent(net), finite).kinds == ("stable",)
    x0 = jax.random.normal(jax.random.key(1), (4000,)) + 2 * net.m[:, 0]
    assert np.abs(np.asarray(lr.project(net, run_full(net, x0)))).max() < 1e-6


def test_rank_one_above_one_two_symmetric_stable_states():
    sigma = 2.0
    mix = rank_one(sigma)
    fps = lr.meanfield.fixed_points(mix)
    assert lr.meanfield.classify(mix, fps).kinds == ("stable", "unstable", "stable")
    kappa_star = np.asarray(fps.xstar)[2, 0]
    np.testing.assert_allclose(np.asarray(fps.xstar)[:, 0], [-kappa_star, 0.0, kappa_star],
                               atol=1e-6)
    # The self-consistency of the theory: κ* = σ_mn κ* ⟨φ'(κ* z)⟩ (Stein), by Monte Carlo.
    z = np.random.default_rng(0).standard_normal(2_000_000)
    gain = np.mean(1 - np.tanh(kappa_star * z) ** 2)
    np.testing.assert_allclose(sigma * gain, 1.0, rtol=2e-3)
    # Mean-field dynamics relax to ±κ*.
    traj = lr.meanfield.simulate(mix, jnp.zeros((2, 300, 0)), s0=jnp.array([[0.1], [-0.1]]))
    np.testing.assert_allclose(traj.states[:, -1, 0], [kappa_star, -kappa_star], rtol=1e-4)

    # Finite N = 4000 networks drawn from the same statistics: the full network, simulated from
    # a random state, settles on ±Mκ with κ within a few percent of the theory; the exact
    # latent system's own fixed points are where the simulation went.
    kappas = []
    for i in range(6):
        net = lr.resample(mix, 4000, key=jax.random.key(10 + i))
        sign = 1.0 if i % 2 else -1.0
        x0 = jax.random.normal(jax.random.key(20 + i), (4000,)) + sign * 0.3 * net.m[:, 0]
        k_sim = float(lr.project(net, run_full(net, x0))[0])
        finite = lr.meanfield.fixed_points(lr.latent(net))
        assert lr.meanfield.classify(lr.latent(net), finite).kinds == ("stable", "unstable",
                                                                         "stable")
        np.testing.assert_allclose(np.abs(k_sim), np.asarray(finite.xstar)[2, 0], rtol=1e-4)
        assert np.sign(k_sim) == sign
        assert abs(abs(k_sim) / kappa_star - 1) < 0.08
        kappas.append(abs(k_sim))
    assert abs(np.mean(kappas) / kappa_star - 1) < 0.03


@pytest.mark.slow
def test_fixed_point_finder_agrees_on_rank_one():
    fixedpoints = pytest.importorskip("neurodyn.fixedpoints")
    mix = rank_one(2.0)
    net = lr.resample(mix, 2000, key=jax.random.key(3))
    system = lr.latent(net)
    found = fixedpoints.find(system, jnp.linspace(-2.0, 2.0, 9)[:, None], progress=False)
    ours = lr.meanfield.fixed_points(system)
    order = np.argsort(np.asarray(found.xstar[:, 0]))
    np.testing.assert_allclose(np.asarray(found.xstar)[order], np.asarray(ours.xstar),
                               atol=1e-4)
    np.testing.assert_array_equal(np.asarray(found.stable)[order], ours.stable)


def two_population_mixture():
    """Rank one, one input, one output (columns m1, n1, in1, out1); two populations with
    different means and covariances."""
    cov_a = np.array([[1.0, 1.2, 0.2, 0.3], [1.2, 2.5, 0.0, 0.0], [0.2, 0.0, 1.0, 0.0],
                      [0.3, 0.0, 0.0, 4.0]])
    cov_b = np.array([[0.5, -0.3, 0.0, 0.0], [-0.3, 1.0, 0.4, 0.0], [0.0, 0.4, 2.0, 0.0],
                      [0.0, 0.0, 0.0, 1.0]])
    means = np.array([[0.5, 0.8, 0.0, 1.0], [-0.3, 0.2, 1.0, -0.5]])
    return lr.mixture([0.6, 0.4], means, np.stack([cov_a, cov_b]), rank=1, n_inputs=1,
                      n_outputs=1, noise_std=0.0)


def test_meanfield_drive_is_the_large_n_limit():
    """Gauss–Hermite + Stein against a Monte-Carlo population average over 50 000 neurons."""
    mix = two_population_mixture()
    theory = lr.meanfield.dynamics(mix)
    net = lr.resample(mix, 50_000, key=jax.random.key(5))
    finite = lr.latent(net)
    states = jnp.array([[0.0, 0.0], [0.7, -0.4], [-1.2, 0.9], [2.0, 1.5]])
    for s in states:
        np.testing.assert_allclose(theory.recurrent_drive(s), finite.recurrent_drive(s),
                                   atol=2e-2)
        np.testing.assert_allclose(theory.readout(s), finite.readout(s), atol=3e-2)
    gains = theory.population_gains(states[1])
    assert gains.shape == (2,) and np.all((gains > 0) & (gains <= 1))
    # Trajectories under a pulse input follow the theory too.
    u = jnp.zeros((60, 1)).at[5:25, 0].set(1.0)
    mf = lr.meanfield.simulate(mix, u)
    fin = finite.simulate(u)
    np.testing.assert_allclose(mf.states, fin.states, atol=3e-2)
    np.testing.assert_allclose(mf.outputs, fin.outputs, atol=5e-2)


def test_meanfield_bad_input():
    with pytest.raises(ValueError, match="LowRankMixture"):
        lr.meanfield.dynamics("not a mixture")
    mix = rank_one(1.5)
    with pytest.raises(ValueError, match="u must have shape"):
        lr.meanfield.fixed_points(mix, jnp.zeros(2))
    with pytest.raises(ValueError, match="radius"):
        lr.meanfield.fixed_points(mix, radius=-1.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        lr.mixture([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]], rank=1)
    with pytest.raises(ValueError, match="expected weights"):
        lr.mixture([1.0], [[0.0, 0.0, 0.0]], [np.eye(3)], rank=1)
