"""Recordings in, end to end: a simulated NWB session (units spiking as an inhomogeneous Poisson
process driven by a decision network; tests/nwbsession.py) read, binned, smoothed and
trial-aligned into a `Recording`, then PSID / IPSID / DPAD and LINT, the fixed points of each
fitted model, and the figures; each step checked against the session's ground truth or a
NumPy/SciPy reference written here."""

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from nwbsession import shared_session  # noqa: E402
from scipy import ndimage  # noqa: E402

import neurodyn as nd  # noqa: E402

pytest.importorskip("pynwb")
BIN, SIGMA = 20.0, 40.0


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return shared_session(tmp_path_factory, n_trials=48, n_neurons=40)


@pytest.fixture(scope="module")
def continuous(session):
    return nd.data.read_nwb(session.path, bin_ms=BIN, behaviour="lever", inputs="motion")


@pytest.fixture(scope="module")
def trials(session, continuous):
    T = session.states.shape[1]
    return continuous.smoothed(SIGMA).aligned("start_time", after=T * BIN)


@pytest.fixture(scope="module")
def split(trials):
    idx = np.arange(trials.n_trials)
    return idx[: 3 * trials.n_trials // 4], idx[3 * trials.n_trials // 4:]


def _part(arrays, idx):
    return [arrays[i] for i in idx]


def test_read_bin_align_recovers_the_session(session, continuous, trials):
    B, T, N = session.states.shape
    assert continuous.n_trials == 1 and len(continuous.trial_table) == B
    assert (trials.n_trials, trials.n_channels, trials.n_inputs) == (B, N, 1)
    # the stimulus and behaviour series come back sample for sample, trial by trial
    np.testing.assert_allclose(np.stack(trials.u)[..., 0],
                               np.asarray(session.trials.inputs)[..., 0], atol=1e-9)
    np.testing.assert_allclose(np.stack(trials.z), session.outputs, atol=1e-9)
    np.testing.assert_allclose(trials.conditions["coherence"],
                               np.asarray(session.trials.conditions["coherence"]), atol=1e-7)
    np.testing.assert_array_equal(trials.conditions["choice"], session.choice)
    np.testing.assert_allclose(trials.conditions["start_time"], session.start_times)
    # smoothing before cutting = SciPy's Gaussian filter of the whole session, then windows
    reference = ndimage.gaussian_filter1d(continuous.y[0].astype(float), SIGMA / BIN, axis=0,
                                          mode="nearest")
    first = np.rint((session.start_times - continuous.t_start) * 1000 / BIN).astype(int)
    for i in (0, B // 2, B - 1):
        np.testing.assert_allclose(trials.y[i], reference[first[i]:first[i] + T], atol=1e-12)
    # the binned spike counts are Poisson with the network's rates: summed over trials, each
    # (bin, unit) count has mean and variance Σ_trials r·dt, so its z-scores are ~ N(0, 1)
    counts = np.stack(continuous.aligned("start_time", after=T * BIN).y).sum(0)
    expected = session.rates.sum(0) * BIN / 1000.0
    zs = (counts - expected) / np.sqrt(expected)
    assert abs(zs.mean()) < 5 / np.sqrt(zs.size) + 0.05 and 0.8 < zs.var() < 1.2


def test_psid_and_ipsid_decode_the_behaviour(trials, split):
    train, test = split
    (y, z), u = trials.arrays(), trials.inputs()
    # reference: an instantaneous least-squares decoder of z from the smoothed activity
    X = np.concatenate(_part(y, train))
    X1 = np.column_stack([X, np.ones(len(X))])
    w = np.linalg.lstsq(X1, np.concatenate(_part(z, train)), rcond=None)[0]
    Xt = np.concatenate(_part(y, test))
    ols = np.corrcoef(np.column_stack([Xt, np.ones(len(Xt))]) @ w[:, 0],
                      np.concatenate(_part(z, test))[:, 0])[0, 1]
    ccs = {}
    for name, uu in (("psid", None), ("ipsid", u)):
        model = nd.dpad.PSID(2, 1, 5, zscore=True).fit(
            _part(y, train), _part(z, train), None if uu is None else _part(uu, train))
        ccs[name] = model.score(_part(y, test), _part(z, test),
                                None if uu is None else _part(uu, test)).cc
    assert ols > 0.8
    for name, cc in ccs.items():  # two latent states do as well as the N-unit decoder
        assert cc > ols - 0.05, (name, cc, ols)


def test_fixed_points_of_the_fitted_ipsid_model_solve_the_linear_system(trials, split):
    train, _ = split
    (y, z), u = trials.arrays(), trials.inputs()
    model = nd.dpad.PSID(2, 1, 5, zscore=True).fit(_part(y, train), _part(z, train),
                                                   _part(u, train))
    system = model.as_system()
    F, K, G = (np.asarray(a, np.float64) for a in (system.F, system.K, system.G))
    y_mean = np.asarray(system.y_mean, np.float64)
    for c in (0.0, 0.2, -0.4):  # the mean activity, and a constant stimulus of coherence c
        v = np.concatenate([y_mean, [c]])
        u_t = (c - np.asarray(system.u_mean)) / np.asarray(system.u_scale)
        x_star = np.linalg.solve(np.eye(2) - F, G @ u_t)  # ỹ = 0 at the mean
        x0 = jnp.asarray(np.random.default_rng(0).standard_normal((4, 2)), jnp.float32)
        fps = nd.fixedpoints.find(system, x0, jnp.asarray(v, jnp.float32), progress=False)
        assert fps.n_points == 1
        np.testing.assert_allclose(np.asarray(fps.xstar)[0], x_star, rtol=1e-3, atol=1e-4)
        stable = np.all(np.abs(np.linalg.eigvals(F)) < 1)
        assert bool(np.asarray(fps.stable)[0]) == stable


def test_figures_of_the_recording(session, continuous, trials):
    spikes = [np.asarray(s) for s in _spike_times(session)]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    nd.plot.plot_raster(spikes, ax=axes[0], trials=continuous.trial_table, window=(0.0, 4.0))
    assert len(axes[0].collections) >= len(spikes)
    avg = trials.average("coherence")
    nd.plot.plot_conditions(avg, ax=axes[1], condition="coherence")
    nd.plot.plot_conditions(avg, ax=axes[2], signal="u", channel=0, condition="coherence")
    coherences = np.unique(np.asarray(session.trials.conditions["coherence"]))
    assert len(axes[1].lines) == len(coherences) == avg.n_trials
    for line, c in zip(axes[2].lines, avg.conditions["coherence"]):
        # each condition's mean input over the stimulus epoch is its coherence (noise averages)
        assert abs(np.mean(line.get_ydata()[10:40]) - c) < 0.05
    with pytest.raises(ValueError, match="condition"):
        nd.plot.plot_conditions(avg, condition="choice")
    plt.close("all")


def _spike_times(session):
    import pynwb

    with pynwb.NWBHDF5IO(session.path, "r") as io:
        units = io.read().units
        return [np.asarray(units.get_unit_spike_times(i)) for i in range(len(units))]


@pytest.mark.slow
def test_dpad_with_inputs_and_its_fixed_points(trials, split):
    train, test = split
    (y, z), u = trials.arrays(), trials.inputs()
    model = nd.dpad.DPAD(2, 1, max_epochs=30, n_init=1).fit(
        _part(y, train), _part(z, train), _part(u, train), key=jax.random.key(0))
    psid = nd.dpad.PSID(2, 1, 5, zscore=True).fit(_part(y, train), _part(z, train),
                                                  _part(u, train))
    cc = model.score(_part(y, test), _part(z, test), _part(u, test)).cc
    assert cc > psid.score(_part(y, test), _part(z, test), _part(u, test)).cc - 0.05
    system = model.as_system()
    v = jnp.asarray(np.concatenate([np.concatenate(_part(y, train)).mean(0), [0.0]]),
                    jnp.float32)
    x0 = jnp.asarray(np.random.default_rng(1).standard_normal((8, 2)), jnp.float32)
    fps = nd.fixedpoints.find(system, x0, v, progress=False)
    assert fps.n_points >= 1
    residual = np.asarray(jax.vmap(lambda x: system.step(x, v) - x)(fps.xstar))
    assert np.abs(residual).max() < 1e-4


@pytest.mark.slow
def test_lint_student_of_the_recording_has_the_teachers_rank_and_attractors(session, trials):
    avg = trials.average("coherence")  # condition averages, as Valente et al. fit
    y = np.stack(trials.y)
    activity = (y - y.mean((0, 1))) / y.std((0, 1))
    inputs = np.stack(trials.u)
    sweep = nd.lowrank.fit_activity_ranks(activity, inputs, (1, 2, 3), key=jax.random.key(0),
                                          steps=800, dt=BIN, readout="linear", progress=False)
    assert sweep.chosen_rank == 1, (sweep.r2_train, sweep.r2_test)
    student = sweep.fits[0].model
    # teacher and student: two stable decision attractors (and a saddle between them)
    for net in (session.network, student):
        roll = net.simulate(jnp.asarray(np.stack(avg.u), net.m.dtype), key=jax.random.key(1))
        x0 = nd.fixedpoints.sample_states(roll, 32, key=jax.random.key(2), noise_scale=0.5)
        fps = nd.fixedpoints.find(net, x0, None, progress=False)
        assert int(np.asarray(fps.stable).sum()) == 2, net
