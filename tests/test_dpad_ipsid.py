"""PSID with measured inputs (IPSID) and the PSID options: equal to the `PSID` package (an optional
peer) up to a change of basis, recovery of a simulated system with inputs, bad inputs."""

import warnings

import jax
import numpy as np
import pytest
from badinput import assert_clear_error

from neurodyn import dpad
from neurodyn.dpad._ssm import LinearSSM, linear_recursion


def _system(rng, nx=4, ny=5, nz=2, nu=2):
    """x1 (2 states) drives z, x2 only y; u drives both and feeds through to y and z."""
    A = np.diag([0.95, 0.8, 0.7, -0.6])[:nx, :nx]
    A[2, 0] = 0.3
    Cz = np.zeros((nz, nx))
    Cz[:, :2] = rng.standard_normal((nz, 2))
    return LinearSSM(A=A, Cy=rng.standard_normal((ny, nx)), Cz=Cz, Q=0.1 * np.eye(nx),
                     R=0.5 * np.eye(ny), S=np.zeros((nx, ny)), z_noise=0.2 * np.eye(nz),
                     B=0.5 * rng.standard_normal((nx, nu)), Dy=0.3 * rng.standard_normal((ny, nu)),
                     Dz=0.2 * rng.standard_normal((nz, nu)))


@pytest.fixture(scope="module")
def data():
    """1400 training and 400 test samples of a system with coloured inputs, means off zero."""
    rng = np.random.default_rng(0)
    ssm = _system(rng)
    u = linear_recursion(np.array([[0.7, 0.0], [0.0, 0.5]]), rng.standard_normal((1800, 2)))
    y, z, _ = ssm.simulate(1800, key=jax.random.key(1), u=u)
    y, z, u = y + 3.0, z - 2.0, u + 1.0
    return (y[:1400], z[:1400], u[:1400]), (y[1400:], u[1400:])


def _close(a, b, what):
    scale = max(1.0, float(np.max(np.abs(b)))) if np.size(b) else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-8 * scale, err_msg=what)


def _markov(A, B, C, k=4):
    """C A^j B, j < k: invariant under x -> T x."""
    out, M = [], B
    for _ in range(k):
        out.append(C @ M)
        M = A @ M
    return np.concatenate(out, axis=1)


def assert_same(ours, ref, y_test, u_test=None):
    """Equal predictions of z and y, eigenvalues, invariant Markov parameters and matrices after
    aligning the state bases (T from the predicted states, then checked on every matrix)."""
    z_ref, y_ref, x_ref = ref.predict(y_test, u_test)
    z_hat, y_hat, x = ours.predict_trials(y_test, u_test) if isinstance(y_test, list) \
        else ours.predict(y_test, u_test)
    if isinstance(y_test, list):
        z_ref, y_ref, x_ref = (np.concatenate(a) for a in (z_ref, y_ref, x_ref))
        y_hat, x = np.concatenate(y_hat), np.concatenate(x)
        z_hat = np.concatenate(z_hat)
    _close(y_hat, y_ref, "y prediction")
    if z_ref is not None:
        _close(z_hat, z_ref, "z prediction")
    eig = np.sort_complex(np.linalg.eigvals(ours.A))
    _close(eig, np.sort_complex(np.linalg.eigvals(ref.A)), "eigenvalues of A")
    _close(_markov(ours.A, ours.K, ours.Cy), _markov(ref.A, ref.K, ref.C), "Cy A^k K")
    T = np.linalg.lstsq(x, x_ref, rcond=None)[0].T
    Ti = np.linalg.inv(T)
    _close(T @ ours.A @ Ti, ref.A, "T A T^-1")
    _close(ours.Cy @ Ti, ref.C, "Cy T^-1")
    if z_ref is not None:
        _close(_markov(ours.A, ours.K, ours.Cz), _markov(ref.A, ref.K, ref.Cz), "Cz A^k K")
    if u_test is not None:
        _close(_markov(ours.A, ours.B, ours.Cy), _markov(ref.A, ref.B, ref.C), "Cy A^k B")
        _close(T @ ours.B, ref.B, "T B")
        _close(ours.Dy, ref.D, "Dy")
        if z_ref is not None:
            _close(_markov(ours.A, ours.B, ours.Cz), _markov(ref.A, ref.B, ref.Cz), "Cz A^k B")
            _close(ours.Dz, ref.Dz, "Dz")


@pytest.fixture(scope="module")
def pkg():
    return pytest.importorskip("PSID")


def test_ipsid_equals_package(pkg, data):
    (y, z, u), (yt, ut) = data
    assert_same(dpad.PSID(4, 2, 4).fit(y, z, u=u), pkg.IPSID(y, z, u, nx=4, n1=2, i=4), yt, ut)


def test_ipsid_horizons_and_unequal_trials(pkg, data):
    """(i_y, i_z) = (5, 3); trials of unequal length, one shorter than a window (skipped by the
    subspace stages, with a warning, as the package does, but used for the readout)."""
    (y, z, u), (yt, ut) = data
    cuts = np.cumsum([310, 7, 380, 300, 403])
    ys, zs, us = (np.split(a, cuts[:-1]) for a in (y, z, u))
    with pytest.warns(UserWarning, match="shorter than 2 \\* horizon"):
        ours = dpad.PSID(4, 2, (5, 3)).fit(ys, zs, u=us)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pkg.IPSID(ys, zs, us, nx=4, n1=2, i=[5, 3])
    assert_same(ours, ref, [yt[:150], yt[150:]], [ut[:150], ut[150:]])


def test_ipsid_input_driven_behaviour_states(pkg, data):
    """n3: IPSID's additional steps (x1 purged of input-only behaviour, then x3)."""
    (y, z, u), (yt, ut) = data
    ours = dpad.PSID(5, 2, 4, n3=1, n_pre=6).fit(y, z, u=u)
    ref = pkg.IPSID(y, z, u, nx=5, n1=2, i=4, remove_nonYrelated_fromX1=True, n_pre=6, n3=1)
    assert_same(ours, ref, yt, ut)
    # x3 is behaviour-only: no neural readout, no neural feedback, no coupling to x1, x2.
    assert np.all(ours.Cy[:, 4:] == 0) and np.all(ours.K[4:] == 0)
    assert np.all(ours.A[:4, 4:] == 0) and np.all(ours.A[4:, :4] == 0)
    assert np.all(ours.A[:2, 2:] == 0)  # and x1 is still autonomous


def test_no_behaviour_and_plain_psid(pkg, data):
    """n1 = 0 with z = None, with inputs (ISID) and without (SID); PSID with (i_y, i_z)."""
    (y, z, u), (yt, ut) = data
    assert_same(dpad.PSID(4, 0, 4).fit(y, u=u), pkg.IPSID(y, None, u, nx=4, n1=0, i=4), yt, ut)
    assert_same(dpad.PSID(3, 0, 4).fit(y), pkg.PSID(y, None, 3, 0, 4), yt)
    assert_same(dpad.PSID(4, 2, (5, 3)).fit(y, z), pkg.IPSID(y, z, None, nx=4, n1=2, i=[5, 3]),
                yt)
    z_hat, _, _ = dpad.PSID(3, 0, 4).fit(y).predict(yt)
    assert z_hat.shape == (len(yt), 0)


def test_missing_samples(pkg, data):
    """NaN in z: the package's missing_marker on the mean-filled, centred behaviour; NaN in y:
    the package on mean-imputed y."""
    (y, z, u), (yt, ut) = data
    rng = np.random.default_rng(1)
    zm = np.where(rng.random(z.shape) < 0.08, np.nan, z)
    ym = np.where(rng.random(y.shape) < 0.04, np.nan, y)
    ours = dpad.PSID(4, 2, 4, missing="mean").fit(ym, zm, u=u)
    z_mean, y_mean = np.nanmean(zm, axis=0), np.nanmean(ym, axis=0)
    z_filled = np.where(np.isnan(zm), 0.0, zm - z_mean)
    ref = pkg.IPSID(np.where(np.isnan(ym), y_mean, ym), z_filled, u, nx=4, n1=2, i=4,
                    remove_mean_Z=False, missing_marker=0.0)
    ref.ZPrepModel.mean, ref.ZPrepModel.remove_mean = z_mean, True
    assert_same(ours, ref, yt, ut)
    with pytest.raises(ValueError, match="NaN"):  # refused by default, as before
        dpad.PSID(4, 2, 4).fit(y, zm, u=u)


@pytest.mark.parametrize("option", ["no mean removal", "zscore"])
def test_preprocessing_options(pkg, data, option):
    (y, z, u), (yt, ut) = data
    if option == "zscore":
        ours = dpad.PSID(4, 2, 4, zscore=True).fit(y, z, u=u)
        ref = pkg.IPSID(y, z, u, nx=4, n1=2, i=4, zscore_Y=True, zscore_Z=True, zscore_U=True)
    else:
        y, z, u, yt, ut = y - 3.0, z + 2.0, u - 1.0, yt - 3.0, ut - 1.0
        ours = dpad.PSID(4, 2, 4, remove_mean=False).fit(y, z, u=u)
        ref = pkg.IPSID(y, z, u, nx=4, n1=2, i=4, remove_mean_Y=False, remove_mean_Z=False,
                        remove_mean_U=False)
    assert_same(ours, ref, yt, ut)


# ------------------------------------------------------------------- ground truth (no package)
@pytest.fixture(scope="module")
def truth():
    """x1 (eigenvalue 0.9) drives z, x2 (0.5) only y; a coloured input (pole 0.8) drives both."""
    rng = np.random.default_rng(3)
    A = np.array([[0.9, 0.0], [0.2, 0.5]])
    ssm = LinearSSM(A=A, Cy=rng.standard_normal((4, 2)), Cz=np.array([[1.0, 0.0]]),
                    Q=0.05 * np.eye(2), R=0.5 * np.eye(4), S=np.zeros((2, 4)),
                    z_noise=0.1 * np.eye(1), B=np.array([[1.0], [0.5]]), Dy=np.zeros((4, 1)),
                    Dz=np.zeros((1, 1)))
    u = linear_recursion(np.array([[0.8]]), rng.standard_normal((20_000, 1)))
    y, z, _ = ssm.simulate(20_000, key=jax.random.key(2), u=u)
    return ssm, y, z, u


def test_ipsid_recovers_true_system(truth):
    ssm, y, z, u = truth
    fit = dpad.PSID(2, 1, 5).fit(y, z, u=u)
    eig = np.sort(np.linalg.eigvals(fit.A).real)
    np.testing.assert_allclose(eig, [0.5, 0.9], atol=0.05)
    assert abs(fit.A[0, 0] - 0.9) < 0.01  # the behaviour-relevant state is x1's
    # The input -> behaviour path, Cz A^k B, invariant to the basis.
    np.testing.assert_allclose(_markov(fit.A, fit.B, fit.Cz, 3),
                               _markov(ssm.A, ssm.B, ssm.Cz, 3), atol=0.05)
    # Without the inputs, PSID absorbs the input's own dynamics: biased eigenvalues.
    plain = np.sort(np.linalg.eigvals(dpad.PSID(2, 1, 5).fit(y, z).A).real)
    assert np.max(np.abs(plain - [0.5, 0.9])) > 0.1


def test_ipsid_predict_forms_and_system(truth):
    _, y, z, u = truth
    fit = dpad.PSID(2, 1, 5).fit(y[:5000], z[:5000], u=u[:5000])
    yb, ub = y[5000:6000].reshape(4, 250, 4), u[5000:6000].reshape(4, 250, 1)
    z_b, y_b, x_b = fit.predict(yb, ub)
    assert z_b.shape == (4, 250, 1) and y_b.shape == (4, 250, 4) and x_b.shape == (4, 250, 2)
    z_t, _, _ = fit.predict_trials(list(yb), list(ub))
    np.testing.assert_allclose(z_t[2], z_b[2], atol=1e-12)
    system = fit.as_system()
    assert isinstance(system, dpad.IPSIDSystem) and system.n_inputs == 5
    xs = [np.zeros(2)]
    v = np.concatenate([yb[0], ub[0]], axis=1)
    step = jax.jit(lambda x, v: system.step(x, v))
    for k in range(19):
        xs.append(np.asarray(step(xs[-1], v[k])))
    np.testing.assert_allclose(np.array(xs), x_b[0, :20], atol=1e-4)
    np.testing.assert_allclose(np.asarray(system.readout(x_b[0, :20], v[:20])), z_b[0, :20],
                               atol=1e-4)
    assert np.allclose(np.asarray(system.step(np.zeros(2))), 0.0)  # x* = 0 under the means


# ------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("case, argument", [
    ("u one sample short", "u"),
    ("NaN in u", "u"),
    ("u with fewer trials", "u"),
    ("u constant", "u"),
    ("n3 without u", "n3"),
    ("n3 < 0", "n3"),
    ("n1 + n3 > nx", "n3"),
    ("n3 with n1 = 0", "n3"),
    ("n1 > 0 without z", "n1"),
    ("horizon of three", "horizon"),
    ("missing unknown", "missing"),
    ("predict without u", "u"),
    ("predict with u, fitted without", "u"),
])
def test_ipsid_bad_input(truth, case, argument):
    _, y, z, u = truth
    y, z, u = y[:1000], z[:1000], u[:1000]
    calls = {
        "u one sample short": lambda: dpad.PSID(2, 1, 5).fit(y, z, u=u[:-1]),
        "NaN in u": lambda: dpad.PSID(2, 1, 5).fit(y, z, u=np.where(np.arange(1000)[:, None]
                                                                      == 5, np.nan, u)),
        "u with fewer trials": lambda: dpad.PSID(2, 1, 5).fit(np.split(y, 4), np.split(z, 4),
                                                              u=np.split(u, 2)),
        "u constant": lambda: dpad.PSID(2, 1, 5).fit(y, z, u=np.ones((1000, 1))),
        "n3 without u": lambda: dpad.PSID(3, 1, 5, n3=1).fit(y, z),
        "n3 < 0": lambda: dpad.PSID(3, 1, 5, n3=-1),
        "n1 + n3 > nx": lambda: dpad.PSID(3, 2, 5, n3=2),
        "n3 with n1 = 0": lambda: dpad.PSID(3, 0, 5, n3=1),
        "n1 > 0 without z": lambda: dpad.PSID(2, 1, 5).fit(y, u=u),
        "horizon of three": lambda: dpad.PSID(2, 1, (5, 3, 5)),
        "missing unknown": lambda: dpad.PSID(2, 1, 5, missing="drop"),
        "predict without u": lambda: dpad.PSID(2, 1, 5).fit(y, z, u=u).predict(y),
        "predict with u, fitted without": lambda: dpad.PSID(2, 1, 5).fit(y, z).predict(y, u),
    }
    assert_clear_error("PSID", argument, calls[case])
