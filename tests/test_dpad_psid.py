"""PSID against ground truth, the `psid` package (optional), bad inputs; metrics; as_system."""

import jax
import numpy as np
import pytest

from neurodyn import dpad
from neurodyn.dpad._ssm import linear_recursion


@pytest.fixture(scope="module")
def truth():
    """PSID's own test design: relevant + irrelevant latents and a behaviour-only process."""
    ssm = dpad.random_ssm(key=jax.random.key(0), nx=4, n1=2, ny=5, nz=2)
    y, z, _ = ssm.simulate(60_000, key=jax.random.key(1))
    y_test, z_test, _ = ssm.simulate(20_000, key=jax.random.key(2))
    return ssm, y, z, y_test, z_test


def test_linear_recursion_matches_loop():
    rng = np.random.default_rng(0)
    F = np.array([[0.9, 0.2], [-0.1, 0.8]])
    u = rng.standard_normal((300, 2))
    x = [np.array([1.0, -2.0])]
    for k in range(299):
        x.append(F @ x[-1] + u[k])
    np.testing.assert_allclose(linear_recursion(F, u, x[0]), np.array(x), atol=1e-12)


def test_psid_reaches_true_kalman_predictor(truth):
    ssm, y, z, y_test, z_test = truth
    ideal = dpad.metrics.cc(z_test, ssm.predict(y_test)[0]).mean()
    fitted = dpad.PSID(nx=4, n1=2, horizon=10).fit(y, z)
    cc = fitted.score(y_test, z_test).cc
    assert abs(cc - ideal) < 0.01
    # Prioritisation: 2 behaviour-relevant states beat 2 states of plain SID (n1 = 0).
    sid = dpad.PSID(nx=2, n1=0, horizon=10).fit(y, z).score(y_test, z_test).cc
    psid2 = dpad.PSID(nx=2, n1=2, horizon=10).fit(y, z).score(y_test, z_test).cc
    assert psid2 > sid + 0.05
    assert abs(psid2 - ideal) < 0.02


def test_psid_structure_and_outputs(truth):
    _, y, z, y_test, _ = truth
    fitted = dpad.PSID(nx=4, n1=2, horizon=10).fit(y[:20_000], z[:20_000])
    assert fitted.A.shape == (4, 4) and np.allclose(fitted.A[:2, 2:], 0.0)  # block-triangular
    assert np.max(np.abs(np.linalg.eigvals(fitted.A))) < 1
    assert np.max(np.abs(np.linalg.eigvals(fitted.A - fitted.K @ fitted.Cy))) < 1
    z_hat, y_hat, x = fitted.predict(y_test[:500])
    assert z_hat.shape == (500, 2) and y_hat.shape == (500, 5) and x.shape == (500, 4)
    _, _, xf = fitted.predict(y_test[:500], filtered=True)
    np.testing.assert_allclose(xf, x + (y_test[:500] - y_hat) @ fitted.model.gain.Kf.T,
                               atol=1e-8)


def test_psid_list_of_trials(truth):
    _, y, z, y_test, z_test = truth
    ys, zs = np.split(y[:40_000], 20), np.split(z[:40_000], 20)
    fitted = dpad.PSID(nx=4, n1=2, horizon=5).fit(ys, zs)
    z_hat, y_hat, x = fitted.predict_trials(np.split(y_test[:4000], 4))
    assert isinstance(z_hat, list) and len(z_hat) == 4 and z_hat[0].shape == (1000, 2)
    one = dpad.PSID(nx=4, n1=2, horizon=5).fit(y[:40_000], z[:40_000])
    assert abs(fitted.score(y_test, z_test).cc - one.score(y_test, z_test).cc) < 0.02


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda y, z: dpad.PSID(2, 1, 5).fit(y, z[:-1]), "same number of time samples"),
        (lambda y, z: dpad.PSID(2, 1, 5).fit(np.where(np.arange(len(y))[:, None] == 3, np.nan,
                                                      y), z), "NaN"),
        (lambda y, z: dpad.PSID(2, 3, 5), "n1"),
        (lambda y, z: dpad.PSID(0, 0, 5), "nx"),
        (lambda y, z: dpad.PSID(4, 4, 1).fit(y, z[:, :1]), "horizon"),
        (lambda y, z: dpad.PSID(4, 1, 1).fit(y[:, :2], z), "horizon"),
        (lambda y, z: dpad.PSID(2, 1, 5).fit(y, np.ones((len(y), 1), int)), "constant"),
        (lambda y, z: dpad.PSID(2, 1, 600).fit(y, z), "shorter than 2 \\* horizon"),
        (lambda y, z: dpad.PSID(2, 1, 5).fit([y, y[:, :3]], [z, z]), "same number of channels"),
        (lambda y, z: dpad.PSID(2, 1, 5).fit(y[None, None], z), "shape"),
    ],
)
def test_psid_bad_input(truth, make, message):
    _, y, z, _, _ = truth
    with pytest.raises(ValueError, match=message):
        make(y[:1000], z[:1000])


def test_psid_at_extreme_magnitudes(truth):
    """With zscore=True, y ~ 1e200 and z ~ 1e-200 (exact powers of two) standardise to the same
    bits as the data at unit scale: the same model, predictions exactly scaled back (the direct
    standard deviation overflowed). In the data's own units (zscore=False) the covariances would
    square 1e200 into 1e400 (or 1e-200 into 0): a clear error instead of NaN or a wrong model."""
    _, y, z, y_test, z_test = truth
    cy, cz = 2.0**664, 2.0**-664
    unit = dpad.PSID(4, 2, 10, zscore=True).fit(y[:20_000], z[:20_000])
    big = dpad.PSID(4, 2, 10, zscore=True).fit(y[:20_000] * cy, z[:20_000] * cz)
    z1, y1, x1 = unit.predict(y_test[:2000])
    z2, y2, x2 = big.predict(y_test[:2000] * cy)
    np.testing.assert_array_equal(x2, x1)
    np.testing.assert_array_equal(z2, z1 * cz)
    np.testing.assert_array_equal(y2, y1 * cy)
    assert big.score(y_test * cy, z_test * cz).cc == pytest.approx(
        unit.score(y_test, z_test).cc, rel=1e-12)
    with pytest.raises(ValueError, match="float32"):  # the system works in float32
        big.as_system()
    for bad_y, bad_z in ((y[:2000] * 1e200, z[:2000]), (y[:2000], z[:2000] * 1e-200)):
        with pytest.raises(ValueError, match="zscore=True"):
            dpad.PSID(4, 2, 10).fit(bad_y, bad_z)
    with pytest.raises(ValueError, match="finite"):  # 1e400 is Inf in float64
        dpad.PSID(4, 2, 10).fit(y[:2000] * 1e200 * 1e200, z[:2000])


def test_psid_not_fitted():
    with pytest.raises(RuntimeError, match="not fitted"):
        dpad.PSID(2, 1, 5).predict(np.zeros((10, 3)))


def test_psid_matches_psid_package(truth):
    """Same data, same model class: identical predictions (1e-6) and identical matrices up to a
    change of basis T (found from the two models' predicted states, then checked on every matrix).
    """
    psid_pkg = pytest.importorskip("PSID")
    _, y, z, y_test, _ = truth
    ours = dpad.PSID(nx=4, n1=2, horizon=10).fit(y[:10_000], z[:10_000])
    ref = psid_pkg.PSID(y[:10_000], z[:10_000], 4, 2, 10)
    z_ref, y_ref, x_ref = ref.predict(y_test[:3000])
    z_hat, y_hat, x = ours.predict(y_test[:3000])
    np.testing.assert_allclose(z_hat, z_ref, atol=1e-6)
    np.testing.assert_allclose(y_hat, y_ref, atol=1e-6)
    # x_ref = T x: T from least squares on the states, exact to rounding if the models agree.
    T = np.linalg.lstsq(x, x_ref, rcond=None)[0].T
    np.testing.assert_allclose(x @ T.T, x_ref, atol=1e-6)
    Ti = np.linalg.inv(T)
    np.testing.assert_allclose(T @ ours.A @ Ti, ref.A, atol=1e-6)
    np.testing.assert_allclose(ours.Cy @ Ti, ref.C, atol=1e-6)
    np.testing.assert_allclose(ours.Cz @ Ti, ref.Cz, atol=1e-6)
    np.testing.assert_allclose(T @ ours.K, ref.K, atol=1e-6)
    # The behaviour-relevant block is the same subspace: T keeps x1 in x1 (block-triangular).
    np.testing.assert_allclose(T[:2, 2:], 0.0, atol=1e-6)


# ------------------------------------------------------------------------------ metrics
def test_metrics_against_numpy():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 3))
    z_hat = z + rng.standard_normal((500, 3))
    for d in range(3):
        assert np.isclose(dpad.metrics.cc(z, z_hat)[d], np.corrcoef(z[:, d], z_hat[:, d])[0, 1])
    r2 = 1 - ((z - z_hat) ** 2).sum(0) / ((z - z.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(dpad.metrics.r2(z, z_hat), r2)
    z_missing = z.copy()
    z_missing[:100, 0] = np.nan
    assert np.isclose(dpad.metrics.cc(z_missing, z_hat)[0],
                      np.corrcoef(z[100:, 0], z_hat[100:, 0])[0, 1])


def test_auc_and_accuracy_against_brute_force():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    probs = rng.dirichlet(np.ones(3), 300) + 0.3 * np.eye(3)[labels]
    auc = dpad.metrics.auc(labels, probs)
    for c in range(3):
        pos, neg = probs[labels == c, c], probs[labels != c, c]
        brute = np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :])
        assert np.isclose(auc[c], brute)
    assert np.isclose(dpad.metrics.accuracy(labels, probs), np.mean(probs.argmax(1) == labels))


def test_cross_validate_psid(truth):
    _, y, z, _, _ = truth
    out = dpad.metrics.cross_validate(lambda: dpad.PSID(2, 2, 5), y[:20_000], z[:20_000],
                                      n_folds=3)
    assert len(out.folds) == 3 and 0.3 < out.mean.cc < 1


# ------------------------------------------------------------------------- as_system
def test_psid_as_system_is_its_predictor(truth):
    _, y, z, y_test, _ = truth
    fitted = dpad.PSID(nx=4, n1=2, horizon=10).fit(y[:20_000], z[:20_000])
    system = fitted.as_system()
    z_hat, _, x = fitted.predict(y_test[:50])
    xs = [np.zeros(4)]
    for k in range(49):
        xs.append(np.asarray(system.step(xs[-1], y_test[k])))
    np.testing.assert_allclose(np.array(xs), x, atol=1e-4)
    np.testing.assert_allclose(np.asarray(system.readout(x)), z_hat, atol=1e-4)
    # Under the mean neural input the predictor's only fixed point is x* = 0.
    fixedpoints = pytest.importorskip("neurodyn.fixedpoints")
    fps = fixedpoints.find(system, np.random.default_rng(0).standard_normal((4, 4)),
                              system.y_mean, progress=False)
    assert np.allclose(np.asarray(fps.xstar), 0.0, atol=1e-3)


# ----------------------------------------------------------------- trained networks
def test_prioritised_latents_of_trained_network(trained_decision, decision_task):
    """At n1 = rank, PSID's prioritised latent predicts the trial's coherence from the network's
    states better than a non-prioritised model of the same size (its one state follows the
    dominant, choice-related direction instead)."""
    model = trained_decision.model
    trials = decision_task.sample(jax.random.key(5), batch_size=128)
    roll = model.simulate(trials.inputs, key=jax.random.key(6))
    test_trials = decision_task.sample(jax.random.key(7), batch_size=128)
    test = model.simulate(test_trials.inputs, key=jax.random.key(8))
    coherence = trials.conditions["coherence"]
    fit = dpad.fit_network(roll, coherence, nx=1, n1=1, horizon=3)
    ndm = dpad.fit_network(roll, coherence, nx=1, n1=0, horizon=3)
    y, z = dpad.network_data(test.states, test_trials.conditions["coherence"])
    y, z = list(y), list(z.astype(float))
    cc_fit, cc_ndm = fit.score(y, z).cc, ndm.score(y, z).cc
    assert cc_fit > cc_ndm + 0.02
    assert cc_fit > 0.8


def test_network_data_shapes():
    states = np.zeros((4, 10, 6))
    y, z = dpad.network_data(states, np.arange(4))
    assert y.shape == (4, 10, 6) and z.shape == (4, 10, 1)
    _, z = dpad.network_data(states, {"a": np.arange(4), "b": np.ones(4)})
    assert z.shape == (4, 10, 2)
    with pytest.raises(ValueError, match="rows"):
        dpad.network_data(states, np.arange(3))
