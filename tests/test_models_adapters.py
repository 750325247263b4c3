"""Bring-your-own-network adapters (`StepFunction`, `from_cell`): the analyses on a plain function
and on equinox's GRU/LSTM cells, checked against closed forms, SciPy root finding and finite
differences of NumPy ports of the updates written here."""

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from badinput import assert_clear_error
from jaxcompat import enable_x64

import neurodyn as nd

matplotlib.use("Agg")


def _to64(tree):
    return jax.tree_util.tree_map(
        lambda a: a.astype(jnp.float64) if eqx.is_array(a) else a, tree)


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


# ------------------------------------------------------------------ a plain function (analytic)
DT = 0.1


def bistable(x, u):
    """x' = x + 0.1 (x − x³ + u), y' = y/2: the fixed points are the roots of x³ − x − u = 0."""
    return jnp.stack([x[0] + DT * (x[0] - x[0] ** 3 + u[0]), 0.5 * x[1]])


def cubic_roots(u: float) -> np.ndarray:
    """The three real roots of x³ − x − u = 0 (|u| < 2/√27), by the trigonometric formula."""
    theta = np.arccos(1.5 * np.sqrt(3.0) * u)
    k = np.arange(3)
    return np.sort(2.0 / np.sqrt(3.0) * np.cos(theta / 3.0 - 2.0 * np.pi * k / 3.0))


def test_plain_function_fixed_points_match_the_closed_form():
    with enable_x64():
        system = nd.models.StepFunction(bistable, 2, 1)
        assert isinstance(system, nd.AbstractDynamicalSystem) and not system.continuous
        u = 0.2
        starts = np.stack(np.meshgrid(np.linspace(-1.6, 1.6, 9), [-0.5, 0.5]), -1).reshape(-1, 2)
        fps = nd.fixedpoints.find(system, starts, inputs=np.array([u]), tol_q=1e-26,
                                  progress=False)
        order = np.argsort(np.asarray(fps.xstar)[:, 0])
        xstar = np.asarray(fps.xstar)[order]
        roots = cubic_roots(u)
        np.testing.assert_allclose(xstar[:, 0], roots, atol=1e-9)
        np.testing.assert_allclose(xstar[:, 1], 0.0, atol=1e-9)
        # Jacobian diag(1 + 0.1 (1 − 3x²), 1/2): the outer roots stable, the middle a saddle
        lam = np.sort(np.abs(np.asarray(fps.eigenvalues)[order]), axis=1)
        expected = np.sort(np.stack([np.abs(1 + DT * (1 - 3 * roots**2)),
                                     np.full(3, 0.5)], 1), axis=1)
        np.testing.assert_allclose(lam, expected, atol=1e-9)
        assert np.asarray(fps.stable)[order].tolist() == [True, False, True]


def test_plain_function_without_inputs_and_its_flow_field():
    system = nd.models.StepFunction(lambda x, u: 0.5 * x + jnp.array([0.3, -0.2]), 2)
    assert system.n_inputs == 0 and system.default_input().shape == (0,)
    fps = nd.fixedpoints.find(system, np.ones((3, 2)), progress=False)
    np.testing.assert_allclose(fps.xstar[0], [0.6, -0.4], atol=1e-5)  # x* = b / (1 − 1/2)
    flow = nd.fixedpoints.flow_field(system, xlim=(-1, 1), ylim=(-1, 1), resolution=5,
                                     fixed_points=fps)
    np.testing.assert_allclose(flow.dx, -0.5 * flow.x + 0.3, atol=1e-6)
    np.testing.assert_allclose(flow.dy, -0.5 * flow.y - 0.2, atol=1e-6)
    assert flow.kinds == ("stable",)
    ax = nd.plot.plot_flow_2d(flow, fps)
    assert ax.collections or ax.lines
    matplotlib.pyplot.close("all")


# ------------------------------------------------------------------ equinox's GRU cell
def gru_numpy(cell, h, u):
    """The GRU update as equinox writes it (Cho et al. 2014), in NumPy."""
    w_ih, w_hh = np.asarray(cell.weight_ih), np.asarray(cell.weight_hh)
    b, bn, n = np.asarray(cell.bias), np.asarray(cell.bias_n), h.shape[0]
    gi, gh = w_ih @ u + b, w_hh @ h
    r = _sigmoid(gi[:n] + gh[:n])
    z = _sigmoid(gi[n:2 * n] + gh[n:2 * n])
    cand = np.tanh(gi[2 * n:] + r * (gh[2 * n:] + bn))
    return (1 - z) * cand + z * h, cand


@pytest.fixture(scope="module")
def gru_cell():
    # Recurrent weights ×4: seed 1 then has three fixed points (two stable, one saddle).
    cell = eqx.nn.GRUCell(1, 2, key=jax.random.key(1))
    return eqx.tree_at(lambda c: c.weight_hh, cell, 4.0 * cell.weight_hh)


def _fd_jacobian(f, x, eps=1e-6):
    cols = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(x.shape[0])]
    return np.stack(cols, axis=1)


def test_gru_cell_step_is_the_cell(gru_cell):
    system = nd.models.from_cell(gru_cell)
    assert (system.n_states, system.n_inputs, system.kind) == (2, 1, "GRUCell")
    h, u = np.array([0.3, -0.7]), np.array([0.5])
    np.testing.assert_allclose(system.step(h, u), gru_numpy(gru_cell, h, u)[0], rtol=1e-5,
                               atol=1e-6)


def test_gru_cell_fixed_points_agree_with_scipy(gru_cell):
    with enable_x64():
        cell = _to64(gru_cell)
        system = nd.models.from_cell(cell)
        u = np.zeros(1)
        grid = np.linspace(-0.95, 0.95, 9)
        starts = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2)
        fps = nd.fixedpoints.find(system, starts, inputs=u, tol_q=1e-26, max_steps=300,
                                  progress=False)
        found = np.asarray(fps.xstar)
    # A GRU's fixed points solve h = ñ(h) (the candidate state; the update gate z < 1):
    # SciPy's root finder on that equation from the same starts is the reference.
    roots = []
    for x0 in starts:
        sol = scipy.optimize.root(lambda h: gru_numpy(cell, h, u)[1] - h, x0, tol=1e-13)
        if sol.success and np.max(np.abs(gru_numpy(cell, sol.x, u)[1] - sol.x)) < 1e-11 and \
                not any(np.linalg.norm(sol.x - r) < 1e-6 for r in roots):
            roots.append(sol.x)
    roots = np.array(roots)
    assert len(roots) == 3 and len(found) == 3
    for r in roots:
        assert np.min(np.linalg.norm(found - r, axis=1)) < 1e-7
    # stability from the eigenvalues of a finite-difference Jacobian of the NumPy update
    for x, stable in zip(found, np.asarray(fps.stable)):
        jac = _fd_jacobian(lambda h: gru_numpy(cell, h, u)[0], x)
        assert stable == bool(np.max(np.abs(np.linalg.eigvals(jac))) < 1)
    assert sorted(np.asarray(fps.stable).tolist()) == [False, True, True]


def test_gru_cell_jacobians_match_finite_differences(gru_cell):
    with enable_x64():
        cell = _to64(gru_cell)
        system = nd.models.from_cell(cell)
        x, u = np.array([0.2, -0.4]), np.array([0.7])
        lin = nd.fixedpoints.linearize(system, x, u)
        jac_x = _fd_jacobian(lambda h: gru_numpy(cell, h, u)[0], x)
        jac_u = _fd_jacobian(lambda v: gru_numpy(cell, x, v)[0], u)
        np.testing.assert_allclose(lin.A, jac_x, atol=1e-8)
        np.testing.assert_allclose(lin.B, jac_u, atol=1e-8)


def test_trajectory_is_the_iterated_update(gru_cell):
    system = nd.models.from_cell(gru_cell)
    u = np.random.default_rng(4).normal(size=(3, 12, 1))
    x0 = np.random.default_rng(5).uniform(-0.5, 0.5, size=(3, 2))
    states = np.asarray(system.trajectory(u, x0=x0))
    assert states.shape == (3, 12, 2)
    for b in range(3):
        x = x0[b]
        for t in range(12):
            x = gru_numpy(gru_cell, x, u[b, t])[0]
            np.testing.assert_allclose(states[b, t], x, atol=1e-5)
    np.testing.assert_allclose(system.trajectory(u[0], x0=x0[0]), states[0], atol=1e-6)


def test_dpad_fit_network_takes_the_trajectories_of_a_step_function():
    # x' = A x + u with white u: the best one-step prediction of x₀ from the past is (A x)₀,
    # whose correlation with x₀ is √(1 − 1/P₀₀), P = A P Aᵀ + I (the stationary covariance).
    a = np.array([[0.9, 0.2], [-0.1, 0.7]])
    system = nd.models.StepFunction(lambda x, u: x @ jnp.asarray(a.T, x.dtype) + u, 2, 2)
    states = np.asarray(system.trajectory(np.random.default_rng(6).normal(size=(8, 400, 2))),
                        np.float64)
    fit = nd.dpad.fit_network(states, behaviour=states[..., :1], nx=2, n1=1, horizon=4)
    z_hat = np.asarray(fit.predict(states[0]).z)[:, 0]
    corr = np.corrcoef(z_hat, states[0, :, 0])[0, 1]
    best = np.sqrt(1 - 1 / scipy.linalg.solve_discrete_lyapunov(a, np.eye(2))[0, 0])
    assert best - 0.05 < corr < best + 0.02


# ------------------------------------------------------------------ equinox's LSTM cell
def lstm_numpy(cell, x, u):
    """The LSTM update (Hochreiter & Schmidhuber 1997) on the flat state [h, c], in NumPy."""
    n = x.shape[0] // 2
    h, c = x[:n], x[n:]
    lin = np.asarray(cell.weight_ih) @ u + np.asarray(cell.weight_hh) @ h + np.asarray(cell.bias)
    i, f, g, o = _sigmoid(lin[:n]), _sigmoid(lin[n:2 * n]), np.tanh(lin[2 * n:3 * n]), \
        _sigmoid(lin[3 * n:])
    c = f * c + i * g
    return np.concatenate([o * np.tanh(c), c])


def test_lstm_cell_flattened_state_step_and_jacobians():
    with enable_x64():
        cell = _to64(eqx.nn.LSTMCell(2, 3, key=jax.random.key(2)))
        system = nd.models.from_cell(cell)
        assert (system.n_states, system.n_inputs, system.hidden_size) == (6, 2, 3)
        x = np.array([0.1, -0.2, 0.3, 0.5, -0.1, 0.4])
        u = np.array([0.3, -0.6])
        np.testing.assert_allclose(system.step(x, u), lstm_numpy(cell, x, u), atol=1e-12)
        h, c = system.split(x)
        np.testing.assert_array_equal(np.concatenate([h, c]), x)
        lin = nd.fixedpoints.linearize(system, x, u)
        np.testing.assert_allclose(lin.A, _fd_jacobian(lambda v: lstm_numpy(cell, v, u), x),
                                   atol=1e-8)
        np.testing.assert_allclose(lin.B, _fd_jacobian(lambda v: lstm_numpy(cell, x, v), u),
                                   atol=1e-8)


def test_cell_weights_are_leaves_of_the_system(gru_cell):
    system = nd.models.from_cell(gru_cell)
    leaves = jax.tree_util.tree_leaves(eqx.filter(system, eqx.is_array))
    assert sum(leaf.size for leaf in leaves) == sum(
        leaf.size for leaf in jax.tree_util.tree_leaves(eqx.filter(gru_cell, eqx.is_array)))


# ------------------------------------------------------------------ bad input
def test_bad_inputs_name_the_argument():
    step = nd.models.StepFunction
    assert_clear_error("StepFunction", "step", lambda: step("not a function", 2, 1))
    assert_clear_error("StepFunction", "step", lambda: step(lambda x, u: x[:1], 2, 1))
    assert_clear_error("StepFunction", "step", lambda: step(lambda x, u: (x, x), 2, 1))
    assert_clear_error("StepFunction", "step", lambda: step(lambda x: x, 2, 1))
    assert_clear_error("StepFunction", "step", lambda: step(lambda x, u: x + u, 2, 3))
    assert_clear_error("StepFunction", "step",
                       lambda: step(lambda x, u: jnp.zeros(2, jnp.int32), 2, 1))
    assert_clear_error("StepFunction", "n_states", lambda: step(bistable, 0, 1))
    assert_clear_error("StepFunction", "n_states", lambda: step(bistable, 2.5, 1))
    assert_clear_error("StepFunction", "n_inputs", lambda: step(bistable, 2, -1))
    assert_clear_error("from_cell", "cell", lambda: nd.models.from_cell(object()))
    system = step(bistable, 2, 1)
    assert_clear_error("trajectory", "inputs", lambda: system.trajectory(np.zeros((4, 2))))
    assert_clear_error("trajectory", "inputs", lambda: system.trajectory(np.zeros(4)))
    assert_clear_error("trajectory", "x0", lambda: system.trajectory(np.zeros((3, 4, 1)),
                                                                     x0=np.zeros(2)))
    assert_clear_error("from_cell", "cell",
                       lambda: nd.models.from_cell(eqx.nn.Linear(2, 2, key=jax.random.key(0))))
    # the analyses refuse a bare function with a pointer to the adapter
    err = assert_clear_error("find", "system",
                             lambda: nd.fixedpoints.find(bistable, np.zeros((1, 2))))
    assert "AbstractDynamicalSystem" in str(err)
