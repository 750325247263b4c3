"""LinearRNN, the model added by following CONTRIBUTING.md's recipe: every check is against a
closed form or a NumPy loop written here."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinput import FUZZ, assert_clear_error, bad_key, bad_nonnegative_number
from hypothesis import given
from jaxcompat import enable_x64

import neurodyn as nd


def make(n=12, n_in=2, n_out=1, **kw):
    return nd.models.LinearRNN(n, n_in, n_out, key=jax.random.key(3), **kw)


def test_is_a_dynamical_system_with_a_linear_drive():
    model = make()
    assert isinstance(model, nd.models.AbstractRNN)
    assert isinstance(model, nd.AbstractDynamicalSystem) and model.continuous
    assert model.n_states == 12 and model.nonlinearity == "identity"
    # W is ρ times an orthogonal matrix: every singular value is ρ
    np.testing.assert_allclose(np.linalg.svd(np.asarray(model.W), compute_uv=False), 0.9,
                               rtol=1e-5)


def test_simulate_matches_numpy_loop():
    model = make()
    u = np.asarray(jax.random.normal(jax.random.key(4), (3, 20, 2)), np.float64)
    roll = model.simulate(jnp.asarray(u, jnp.float32), key=None, noise=False)
    w, w_in = np.asarray(model.W, np.float64), np.asarray(model.input_weights, np.float64)
    w_out, a = np.asarray(model.readout_weights, np.float64), model.dt / model.tau
    x = np.zeros((3, 12))
    states = []
    for t in range(20):
        x = x + a * (-x + x @ w.T + u[:, t] @ w_in)
        states.append(x)
    states = np.stack(states, axis=1)
    np.testing.assert_allclose(roll.states, states, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(roll.outputs, states @ w_out / 12, rtol=1e-4, atol=1e-5)


def test_fixed_point_and_jacobian_are_the_closed_forms():
    with enable_x64():
        model = jax.tree_util.tree_map(
            lambda v: v.astype(jnp.float64) if isinstance(v, jax.Array) else v, make())
        u = jnp.array([0.7, -0.4])
        expected = np.linalg.solve(np.eye(12) - np.asarray(model.W),
                                   np.asarray(u @ model.input_weights))
        np.testing.assert_allclose(model.steady_state(u), expected, rtol=1e-10)
        starts = jax.random.normal(jax.random.key(5), (4, 12), jnp.float64)
        fps = nd.fixedpoints.find(model, starts, inputs=u)
        assert len(fps) >= 1
        np.testing.assert_allclose(fps.xstar[0], expected, rtol=1e-6, atol=1e-8)
        a = model.dt / model.tau
        lam = np.linalg.eigvals(np.eye(12) + a * (np.asarray(model.W) - np.eye(12)))
        found = np.asarray(fps.eigenvalues[0])
        np.testing.assert_allclose(np.sort_complex(found), np.sort_complex(lam), atol=1e-8)


def test_save_load_round_trip(tmp_path):
    model = make(rho=0.5, train=("W",))
    nd.save(tmp_path / "linear.eqx", model)
    back = nd.load(tmp_path / "linear.eqx")
    assert type(back) is nd.models.LinearRNN and back.train == ("W",) and back.rho == 0.5
    np.testing.assert_array_equal(back.W, model.W)


def test_training_lowers_the_loss(decision_task):
    model = make(32, 1, 1)
    fit = nd.train.fit(model, decision_task, key=jax.random.key(6), steps=60, eval_every=30,
                       progress=False)
    assert fit.history.val_loss[-1] < fit.history.initial_val_loss
    assert not np.array_equal(fit.model.W, model.W)  # W is trained by default


@FUZZ
@given(value=bad_nonnegative_number())
def test_bad_rho(value):
    assert_clear_error("LinearRNN", "rho", lambda: make(rho=value))


@FUZZ
@given(value=bad_key())
def test_bad_key(value):
    assert_clear_error("LinearRNN", "key", lambda: nd.models.LinearRNN(4, 1, 1, key=value))


def test_bad_steady_state_input():
    with pytest.raises(ValueError, match="u must have shape"):
        make().steady_state(jnp.ones(3))
