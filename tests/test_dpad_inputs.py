"""DPAD with measured inputs u (the DPAD package's `U`; Sani, Pesaran & Shanechi 2024, Nat.
Neurosci.): on simulated systems driven by known inputs, behaviour prediction with u reaches the
ideal predictor (the Kalman filter of the true model, which knows u, written here in NumPy) and
without u it cannot; as_system, search, Poisson observations and bad inputs with u.

Every fit here has the same shapes (ny = 5, nu = 2, nz = 1, T = 5000, DPAD(2, 2, nonlinear='Cz')),
so the compiled training programs are shared between the tests.
"""

import functools
import re
from types import SimpleNamespace

import equinox as eqx
import jax
import numpy as np
import pytest
from badinput import assert_clear_error
from scipy import linalg

from neurodyn import dpad

T, T_TEST, NY, NU = 5000, 10_000, 5, 2
ROTATION = np.array([[0.9, 0.25], [-0.25, 0.9]])


def _dpad(**kwargs):
    return dpad.DPAD(2, 2, nonlinear="Cz", hidden=(32,), n_init=2, **kwargs)


def _system(seed, behaviour):
    """x_{k+1} = A x_k + B u_k + w_k,  y_k = Cy x_k + Dy u_k + v_k,
    z_k = behaviour(x_k) + Dz u_k + ε_k,  cov(w) = Q, cov(v) = R."""
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        A=ROTATION, B=rng.standard_normal((2, NU)), Cy=rng.standard_normal((NY, 2)),
        Dy=0.5 * rng.standard_normal((NY, NU)), Dz=np.array([[1.2, -0.9]]),
        Q=0.3 * np.eye(2), R=np.eye(NY), behaviour=behaviour)


def _simulate(s, n, seed):
    """(y, z, u, x) of length n: white Gaussian inputs, the state started from rest."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, NU))
    w = rng.multivariate_normal(np.zeros(2), s.Q, n)
    x = np.zeros((n, 2))
    for k in range(n - 1):
        x[k + 1] = s.A @ x[k] + s.B @ u[k] + w[k]
    y = x @ s.Cy.T + u @ s.Dy.T + rng.multivariate_normal(np.zeros(NY), s.R, n)
    z = s.behaviour(x) + u @ s.Dz.T + 0.1 * rng.standard_normal((n, 1))
    return y, z, u, x


def _kalman(s, y, u):
    """The steady-state Kalman predictor that knows the model and u: x_{k|k−1} and P (the
    prediction-error covariance, from the DARE).

        x_{k+1|k} = A x_{k|k−1} + B u_k + K (y_k − Cy x_{k|k−1} − Dy u_k)
    """
    P = linalg.solve_discrete_are(s.A.T, s.Cy.T, s.Q, s.R)
    K = s.A @ P @ s.Cy.T @ np.linalg.inv(s.Cy @ P @ s.Cy.T + s.R)
    x = np.zeros((len(y), 2))
    for k in range(len(y) - 1):
        x[k + 1] = s.A @ x[k] + s.B @ u[k] + K @ (y[k] - s.Cy @ x[k] - s.Dy @ u[k])
    return x, P


def _linear_readout(x):
    return x @ np.array([[1.0, -0.7]]).T


def _tanh_readout(x):
    return np.tanh(2.0 * x[:, :1])


@functools.cache
def _fitted(kind):
    """The system, test data, the ideal predictor's scores, and DPAD fitted with and without u."""
    behaviour = _linear_readout if kind == "linear" else _tanh_readout
    s = _system(0, behaviour)
    y, z, u, _ = _simulate(s, T, 1)
    y_test, z_test, u_test, _ = _simulate(s, T_TEST, 2)
    x, P = _kalman(s, y_test, u_test)
    if kind == "linear":  # E[z_k | past] = Cz x_{k|k−1} + Dz u_k
        ideal = _linear_readout(x)
    else:  # E[tanh(2 x1) | past] with x1 ~ N(x_{k|k−1}, P11): Gauss–Hermite
        ideal = dpad.gauss_hermite_mean(lambda v: np.tanh(2.0 * v), x[:, 0], P[0, 0])[:, None]
    ideal = ideal + u_test @ s.Dz.T
    with_u = _dpad().fit(y, z, u=u, key=jax.random.key(0))
    without = _dpad().fit(y, z, key=jax.random.key(0))
    return SimpleNamespace(
        kind=kind, system=s, y=y, z=z, u=u, y_test=y_test, z_test=z_test, u_test=u_test,
        ideal=dpad.metrics.score(z_test, ideal), with_u=with_u, without=without)


@pytest.fixture(params=["linear", "tanh"])
def fitted(request):
    return _fitted(request.param)


def test_with_inputs_reaches_the_ideal_predictor_without_them_it_cannot(fitted):
    f = fitted
    got = f.with_u.score(f.y_test, f.z_test, u=f.u_test)
    blind = f.without.score(f.y_test, f.z_test)
    assert got.cc > f.ideal.cc - 0.02 and got.r2 > f.ideal.r2 - 0.02, (got, f.ideal)
    # Dz u_k is unpredictable from the past of y: without u the gap is large.
    assert blind.cc < f.ideal.cc - 0.1, (
        f"without u: CC {blind.cc:.3f}, ideal {f.ideal.cc:.3f} (gap "
        f"{f.ideal.cc - blind.cc:.3f}); with u: {got.cc:.3f}")
    assert blind.r2 < f.ideal.r2 - 0.2


def test_without_inputs_the_model_is_the_one_without_them():
    """u=None is the model without inputs: no input columns in any map, and predictions equal
    whether u=None is passed or left out."""
    f = _fitted("linear")
    m = f.without
    assert m.nu == 0 and f.with_u.nu == NU
    rec1 = m.modules.rec1
    assert rec1.n_measured == 0 and np.shape(rec1.A.weight) == (2, 2)
    assert np.shape(rec1.K.weight) == (2, NY) and np.shape(rec1.C.weight) == (1, 2)
    assert np.shape(m.modules.Cy1.weight) == (NY, 2)
    rec1u = f.with_u.modules.rec1
    assert np.shape(rec1u.A.weight) == (2, 2 + NU) and np.shape(rec1u.K.weight) == (2, NY + NU)
    a, b = m.predict(f.y_test[:500]), m.predict(f.y_test[:500], u=None)
    for field_a, field_b in zip(a, b):
        np.testing.assert_array_equal(field_a, field_b)
    again = _dpad().fit(f.y, f.z, u=None, key=jax.random.key(0))
    np.testing.assert_array_equal(again.predict(f.y_test[:500]).z, a.z)


def test_inputs_enter_as_documented_and_as_system_steps_on_y_then_u():
    """The predicted states follow x_{k+1} = A [x_k; ũ_k] + K [ỹ_k; ũ_k] (A and K linear here,
    recomputed in NumPy from the fitted weights, ỹ, ũ standardised with the training
    statistics), ẑ = Cz([x_k; ũ_k]); as_system steps on the concatenation [y_k; u_k] and its
    readouts take the same u."""
    f = _fitted("linear")
    m, n = f.with_u, 100
    y, u = f.y_test[:n], f.u_test[:n]
    z_hat, y_hat, x = m.predict(y, u=u)
    yt = (y - f.y.mean(0)) / f.y.std(0)
    ut = (u - f.u.mean(0)) / f.u.std(0)
    rec1 = m.modules.rec1
    A, bA = np.asarray(rec1.A.weight, np.float64), np.asarray(rec1.A.bias, np.float64)
    K, bK = np.asarray(rec1.K.weight, np.float64), np.asarray(rec1.K.bias, np.float64)
    ref = np.zeros((n, 2))
    for k in range(n - 1):
        ref[k + 1] = A @ np.r_[ref[k], ut[k]] + bA + K @ np.r_[yt[k], ut[k]] + bK
    np.testing.assert_allclose(x, ref, atol=1e-3)

    system = m.as_system()
    assert system.n_inputs == NY + NU and system.n_measured == NU
    np.testing.assert_allclose(system.default_input(), np.r_[f.y.mean(0), f.u.mean(0)],
                               rtol=1e-5)
    step = eqx.filter_jit(system.step)
    xs = [np.zeros(2, np.float32)]
    for k in range(n - 1):
        xs.append(np.asarray(step(xs[-1], np.r_[y[k], u[k]].astype(np.float32))))
    np.testing.assert_allclose(np.array(xs), x, atol=1e-4)
    yu = np.concatenate([y, u], axis=1)
    np.testing.assert_allclose(np.asarray(system.readout(x, yu)), z_hat, atol=1e-4)
    np.testing.assert_allclose(np.asarray(system.predict_neural(x, yu)), y_hat, atol=1e-4)
    # The readout depends on u (Dz u): at the training mean it differs.
    assert not np.allclose(np.asarray(system.readout(x)), z_hat, atol=1e-2)


def test_poisson_observations_with_inputs():
    """Counts y ~ Poisson(exp(c (Cy x + Dy u) + 1)) of a linear system (c sets the log-rate's
    standard deviation to 0.7): with u, the predicted log-rates and the behaviour track the
    truth better than without."""
    s = _system(3, _linear_readout)
    rng = np.random.default_rng(5)
    data, c = [], None
    for n, seed in ((T, 6), (4000, 7)):
        _, z, u, x = _simulate(s, n, seed)
        eta = x @ s.Cy.T + u @ s.Dy.T
        c = 0.7 / eta.std() if c is None else c
        rate = np.exp(c * eta + 1.0)
        data.append((rng.poisson(rate), z, u, rate))
    (y, z, u, _), (y_test, z_test, u_test, rate_test) = data
    with_u = _dpad(neural="poisson").fit(y, z, u=u, key=jax.random.key(1))
    blind = _dpad(neural="poisson").fit(y, z, key=jax.random.key(1))
    got, got_blind = with_u.predict(y_test, u=u_test), blind.predict(y_test)
    assert np.all(got.y > 0) and np.all(np.isfinite(got.y))
    log_r2 = dpad.metrics.r2(np.log(rate_test), np.log(got.y)).mean()
    log_r2_blind = dpad.metrics.r2(np.log(rate_test), np.log(got_blind.y)).mean()
    cc = dpad.metrics.cc(z_test, got.z).mean()
    cc_blind = dpad.metrics.cc(z_test, got_blind.z).mean()
    assert log_r2 > log_r2_blind + 0.1, (log_r2, log_r2_blind)
    assert cc > cc_blind + 0.05, (cc, cc_blind)
    assert with_u.score(y_test, z_test, u=u_test).cc == pytest.approx(cc)


class _Aligned:
    """A model whose fit and score check that u arrives cut as y is (here u = 2 y[:, :1])."""

    def fit(self, y, z, u=None):
        self._check(y, u)
        return self

    def score(self, y, z, u=None):
        self._check(y, u)
        return dpad.metrics.score(np.concatenate(z) if isinstance(z, list) else z,
                                  np.concatenate(z) if isinstance(z, list) else z)

    @staticmethod
    def _check(y, u):
        ys = y if isinstance(y, list) else [y]
        us = u if isinstance(u, list) else [u]
        assert len(ys) == len(us)
        for a, b in zip(ys, us):
            np.testing.assert_array_equal(b, 2 * a[:, :1])


@pytest.mark.parametrize("trials", [False, True])
def test_cross_validate_cuts_u_into_the_folds_of_y(trials):
    rng = np.random.default_rng(0)
    y, z = rng.standard_normal((90, 3)), rng.standard_normal((90, 1))
    u = 2 * y[:, :1]
    if trials:
        y, z, u = ([a[i:i + 30] for i in range(0, 90, 30)] for a in (y, z, u))
    cv = dpad.metrics.cross_validate(_Aligned, y, z, u=u, n_folds=3)
    assert len(cv.folds) == 3 and cv.mean.cc == pytest.approx(1.0)


# ----------------------------------------------------------------------------- bad input
def _expect(entry, pattern, call):
    err = assert_clear_error(entry, "u", call)
    assert re.search(pattern, str(err)), str(err)


def test_bad_inputs_are_clear_errors():
    f = _fitted("linear")
    y, z, u = f.y[:300], f.z[:300], f.u[:300]
    key = jax.random.key(0)
    model = _dpad()
    _expect("DPAD.fit", "same number of time samples", lambda: model.fit(y, z, u=u[:-1], key=key))
    _expect("DPAD.fit", "NaN", lambda: model.fit(y, z, u=np.where(u > 2, np.nan, u), key=key))
    _expect("DPAD.fit", "trial", lambda: model.fit(y, z, u=[u, u], key=key))
    _expect("DPAD.fit", "u", lambda: model.fit(y, z, u="stimulus", key=key))
    with_u, without = f.with_u, f.without
    _expect("DPAD.predict", "u is required", lambda: with_u.predict(y))
    _expect("DPAD.score", "u is required", lambda: with_u.score(y, z))
    _expect("DPAD.predict", "without measured inputs", lambda: without.predict(y, u=u))
    _expect("DPAD.predict", "2 measured input", lambda: with_u.predict(y, u=u[:, :1]))
    _expect("DPAD.predict", "same number of time samples", lambda: with_u.predict(y, u=u[:50]))
    _expect("DPAD.predict_trials", "Inf",
            lambda: with_u.predict_trials([y], u=[np.where(u > 2, np.inf, u)]))
    _expect("dpad.search", "same number of time samples",
            lambda: dpad.search(y, z, 2, 2, u=u[:-3], key=key))


@pytest.mark.slow
def test_search_with_inputs():
    """search splits u into the folds as y, and the chosen model predicts from y and u."""
    f = _fitted("tanh")
    result = dpad.search(f.y, f.z, 2, 2, u=f.u, candidates=("none", "Cz"), n_folds=2,
                         key=jax.random.key(0), hidden=(32,), n_init=2)
    assert result.chosen == "Cz1,Cz2"
    score = result.model.score(f.y_test, f.z_test, u=f.u_test)
    assert score.cc > f.ideal.cc - 0.02
