"""The exact latent reduction: full and latent simulations agree; fixed points carry over."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import lowrank as lr


@pytest.fixture(scope="module")
def oblique_model():
    """Rank 2, 3 inputs with gains, m deliberately not orthogonal to the input vectors."""
    model = nd.models.LowRankRNN(200, 2, 3, 2, noise_std=0.0, key=jax.random.key(0))
    model = eqx.tree_at(
        lambda m: (m.g_in, m.g_out, m.m),
        model,
        (jnp.array([0.5, 1.5, 2.0]), jnp.array([0.7, 1.3]), model.m + 0.7 * model.w_in[:2].T),
    )
    return model


def test_latent_matches_full_simulation(oblique_model):
    model = oblique_model
    system = lr.latent(model)
    assert system.n_latents == 5
    s0 = jax.random.normal(jax.random.key(1), (3, 5))
    inputs = jax.random.normal(jax.random.key(2), (3, 60, 3))
    lat = system.simulate(inputs, s0=s0)
    full = model.simulate(inputs, key=None, x0=lr.lift(system, s0), noise=False)
    np.testing.assert_allclose(lr.lift(system, lat.states), full.states, atol=1e-5)
    np.testing.assert_allclose(lat.outputs, full.outputs, atol=1e-5)
    np.testing.assert_allclose(lr.project(model, full.states), lat.states, atol=1e-5)
    # One step of each map, with and without input.
    u = inputs[0, 0]
    np.testing.assert_allclose(system.lift(system.step(s0[0], u)),
                               model.step(system.lift(s0[0]), u), atol=1e-5)
    np.testing.assert_allclose(system.lift(system.vector_field(s0[0])),
                               model.vector_field(system.lift(s0[0])), atol=1e-6)


@pytest.mark.slow
def test_off_subspace_component_decays_as_one_minus_alpha(oblique_model):
    model = oblique_model
    system = lr.latent(model)
    x0 = jax.random.normal(jax.random.key(3), (model.n_neurons,))
    inputs = jnp.zeros((80, 3))
    full = model.simulate(inputs, key=None, x0=x0, noise=False).states
    resid = full - system.lift(system.project(full))
    norms = np.linalg.norm(np.asarray(resid), axis=-1)
    expected = np.linalg.norm(np.asarray(x0 - system.lift(system.project(x0)))) * (
        1 - model.alpha
    ) ** np.arange(1, 81)
    np.testing.assert_allclose(norms, expected, rtol=1e-3, atol=1e-6)


@pytest.mark.slow
def test_projection_convention_orthogonal_case():
    """κ = mᵀx/‖m‖² when m ⟂ W_in (the convention of DESIGN.md)."""
    model = nd.models.LowRankRNN(50, 1, 1, 1, key=jax.random.key(4))
    w = model.w_in[0]
    m = model.m[:, 0] - (model.m[:, 0] @ w) / (w @ w) * w
    model = eqx.tree_at(lambda mdl: mdl.m, model, m[:, None])
    x = jax.random.normal(jax.random.key(5), (50,))
    kappa = lr.project(model, x)[0]
    np.testing.assert_allclose(kappa, m @ x / (m @ m), rtol=1e-5)


def _newton_full(model, x, u, iters):
    """An independent solve of the full network: Newton on step(x, u) − x, in float64 NumPy."""
    f_and_jac = jax.jit(lambda x: (model.step(x, u), jax.jacfwd(model.step)(x, u)))
    for _ in range(iters):
        fx, jac = (np.asarray(a, np.float64) for a in f_and_jac(jnp.asarray(x, jnp.float32)))
        x = x - np.linalg.solve(jac - np.eye(len(x)), fx - x)
    return x, jac


def test_kappa_fixed_points_are_network_fixed_points():
    model = nd.models.LowRankRNN(120, 2, 1, 1, noise_std=0.0, key=jax.random.key(6))
    # Bistable along m1, decaying along m2: overlap matrix ≈ diag(2, 0.5).
    n = jnp.stack([2.0 * model.m[:, 0], 0.5 * model.m[:, 1]], axis=1)
    n = n + 0.3 * jax.random.normal(jax.random.key(7), n.shape)
    model = eqx.tree_at(lambda m: m.n, model, n)
    system = lr.latent(model)
    u = jnp.array([0.2])
    fps = lr.meanfield.fixed_points(system, u)
    kappa_fps = lr.meanfield.classify(system, fps)
    assert len(fps) == 3
    assert kappa_fps.kinds.count("stable") == 2 and kappa_fps.kinds.count("saddle") == 1
    for state, eig in zip(np.asarray(fps.xstar), kappa_fps.eigenvalues):
        x_star = system.lift(jnp.asarray(state, jnp.float32))
        # A fixed point of the full network's map, which an independent Newton solve on the
        # full network does not move...
        assert np.abs(np.asarray(model.step(x_star, u) - x_star)).max() < 1e-5
        x_ref, step_jac = _newton_full(model, np.asarray(x_star, np.float64), u, iters=3)
        np.testing.assert_allclose(x_ref, np.asarray(x_star), atol=1e-4)
        # ...whose full Jacobian holds the reduced spectrum: (eig(σ̃) − 1)/τ, and −1/τ for the
        # N − R directions off span(m).
        full_eig = np.linalg.eigvals((step_jac - np.eye(model.n_neurons)) / model.dt)
        for lam in eig:
            assert np.min(np.abs(full_eig - lam)) < 1e-4 / model.tau
        n_fast = np.sum(np.abs(full_eig + 1 / model.tau) < 1e-4 / model.tau)
        assert n_fast == model.n_neurons - model.rank
        sigma = lr.effective_overlap(model, jnp.asarray(state, jnp.float32))
        np.testing.assert_allclose(np.sort(np.linalg.eigvals(sigma).real),
                                   np.sort((eig * model.tau + 1).real), atol=1e-4)


def test_latent_bad_input():
    full = nd.models.FullRankRNN(20, 1, 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="LowRankRNN"):
        lr.latent(full)
    model = nd.models.LowRankRNN(20, 1, 1, 1, key=jax.random.key(0))
    bad = eqx.tree_at(lambda m: m.n, model, model.n.at[3, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="NaN"):
        lr.latent(bad)
    system = lr.latent(model)
    with pytest.raises(ValueError, match="rank \\+ n_inputs"):
        lr.lift(system, jnp.zeros(5))
    with pytest.raises(ValueError, match="n_neurons"):
        lr.project(system, jnp.zeros(7))
    with pytest.raises(ValueError, match="inputs must have shape"):
        system.simulate(jnp.zeros((10, 2)))
