"""The vanilla, GRU and LSTM networks (`nd.models.RNN`, `GRU`, `LSTM`): each update against a
NumPy reference written here, against torch.nn.RNN/GRU/LSTM with the same weights (an optional
peer), a GRU trained on the 3-bit flip-flop whose fixed points are the 8 memories, the analyses
and plots on it, save/load, and bad inputs."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinput import FUZZ, assert_clear_error, bad_bool, bad_count, bad_key
from hypothesis import given

import neurodyn as nd
from neurodyn import fixedpoints as fp

H, N_IN, N_OUT = 6, 2, 3
CASES = [("RNN", dict(nonlinearity="tanh")), ("RNN", dict(nonlinearity="relu")),
         ("GRU", {}), ("LSTM", {}), ("GRU", dict(bias=False)), ("LSTM", dict(bias=False))]


def make(kind, seed=0, **kw):
    return getattr(nd.models, kind)(H, N_IN, N_OUT, key=jax.random.key(seed), **kw)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_step(model, x, u):
    """The update, written from the equations (Elman; Cho et al. 2014 in PyTorch's variant;
    Hochreiter & Schmidhuber 1997), in float64."""
    w_ih, w_hh = (np.asarray(a, np.float64) for a in (model.weight_ih, model.weight_hh))
    zero = np.zeros(w_ih.shape[0])
    b_ih = zero if model.bias_ih is None else np.asarray(model.bias_ih, np.float64)
    b_hh = zero if model.bias_hh is None else np.asarray(model.bias_hh, np.float64)
    kind = type(model).__name__
    h = x[..., :H]
    gi, gh = u @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if kind == "RNN":
        s = gi + gh
        return np.tanh(s) if model.nonlinearity == "tanh" else np.maximum(s, 0)
    if kind == "GRU":
        r = sigmoid(gi[..., :H] + gh[..., :H])
        z = sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
        n = np.tanh(gi[..., 2 * H:] + r * gh[..., 2 * H:])
        return (1 - z) * n + z * h
    c = x[..., H:]
    i, f, g, o = (gi[..., k * H:(k + 1) * H] + gh[..., k * H:(k + 1) * H] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return np.concatenate([sigmoid(o) * np.tanh(c), c], axis=-1)


def numpy_rollout(model, u, x0, xi=None):
    x, xs = np.asarray(x0, np.float64), []
    for t in range(u.shape[1]):
        x = numpy_step(model, x, u[:, t])
        if xi is not None:
            x = x + model.noise_std * xi[:, t]
        xs.append(x)
    xs = np.stack(xs, 1)
    z = xs[..., :H] @ np.asarray(model.w_out, np.float64) + np.asarray(model.b_out, np.float64)
    return xs, z


@pytest.mark.parametrize("kind, kw", CASES)
def test_simulate_and_step_match_numpy(kind, kw):
    model = make(kind, **kw)
    assert isinstance(model, nd.models.AbstractNetwork) and not model.continuous
    assert model.n_states == (2 * H if kind == "LSTM" else H)
    u = np.asarray(jax.random.normal(jax.random.key(1), (3, 12, N_IN)), np.float64)
    x0 = 0.5 * np.asarray(jax.random.normal(jax.random.key(2), (3, model.n_states)), np.float64)
    roll = model.simulate(jnp.asarray(u, jnp.float32), key=None, x0=jnp.asarray(x0, jnp.float32))
    xs, zs = numpy_rollout(model, u, x0)
    np.testing.assert_allclose(roll.states, xs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(roll.outputs, zs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.step(x0[0], u[0, 0]), numpy_step(model, x0[0], u[0, 0]),
                               rtol=1e-5, atol=1e-6)
    # zeros without x0 and h0; u=None is the zero input
    start = model.simulate(jnp.asarray(u, jnp.float32), key=None).states
    np.testing.assert_allclose(start, numpy_rollout(model, u, np.zeros_like(x0))[0], atol=1e-5)
    np.testing.assert_allclose(model.step(x0[0]), numpy_step(model, x0[0], np.zeros(N_IN)),
                               rtol=1e-5, atol=1e-6)


def test_noise_is_added_to_the_state_after_each_update():
    model = make("LSTM", noise_std=0.3)
    u = np.asarray(jax.random.normal(jax.random.key(3), (2, 5, N_IN)), np.float64)
    xi = np.asarray(jax.random.normal(jax.random.key(4), (2, 5, 2 * H)), np.float64)
    roll = model.simulate(jnp.asarray(u, jnp.float32), key=None,
                          noise=jnp.asarray(xi, jnp.float32))
    np.testing.assert_allclose(roll.states, numpy_rollout(model, u, np.zeros((2, 2 * H)), xi)[0],
                               rtol=1e-5, atol=1e-5)
    # the fast stream is the same draws as fast_normal, the threefry draws as jax.random.normal
    key = jax.random.key(5)
    fast = model.simulate(jnp.asarray(u, jnp.float32), key=key)
    same = model.simulate(jnp.asarray(u, jnp.float32), key=None,
                          noise=nd.models.fast_normal(key, (2, 5, 2 * H)))
    np.testing.assert_allclose(fast.states, same.states, atol=1e-6)
    assert not np.allclose(fast.states, model.simulate(u, key=None, noise=False).states)


@pytest.mark.parametrize("kind, kw", CASES)
def test_matches_torch_with_the_same_weights(kind, kw):
    torch = pytest.importorskip("torch")
    model = make(kind, seed=7, **kw)
    bias = kw.get("bias", True)
    extra = {"nonlinearity": kw["nonlinearity"]} if kind == "RNN" else {}
    net = getattr(torch.nn, kind)(N_IN, H, bias=bias, batch_first=True, **extra).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(np.asarray(model.weight_ih, np.float64)))
        net.weight_hh_l0.copy_(torch.from_numpy(np.asarray(model.weight_hh, np.float64)))
        if bias:
            net.bias_ih_l0.copy_(torch.from_numpy(np.asarray(model.bias_ih, np.float64)))
            net.bias_hh_l0.copy_(torch.from_numpy(np.asarray(model.bias_hh, np.float64)))
    # (the shapes of the NumPy test: its compiled simulation is reused)
    u = np.asarray(jax.random.normal(jax.random.key(8), (3, 12, N_IN)), np.float64)
    x0 = 0.3 * np.asarray(jax.random.normal(jax.random.key(9), (3, model.n_states)), np.float64)
    h0 = torch.from_numpy(x0[None, :, :H].copy())
    start = (h0, torch.from_numpy(x0[None, :, H:].copy())) if kind == "LSTM" else h0
    with torch.no_grad():
        out, _ = net(torch.from_numpy(u), start)
    roll = model.simulate(jnp.asarray(u, jnp.float32), key=None, x0=jnp.asarray(x0, jnp.float32))
    np.testing.assert_allclose(np.asarray(roll.states)[..., :H], out.numpy(), atol=1e-5)


# ------------------------------------------------------------------ a trained flip-flop GRU
@pytest.fixture(scope="module")
def flipflop_gru():
    """A 16-unit GRU trained on the 3-bit flip-flop (Golub & Sussillo 2018 preset), and the
    fixed points of its zero-input dynamics from states its trajectories visit."""
    task = nd.tasks.FlipFlop(preset="golub2018")
    model = nd.models.GRU(16, task.n_inputs, task.n_outputs, key=jax.random.key(0))
    fit = nd.train.fit(model, task, key=jax.random.key(1), steps=600, batch_size=64,
                       learning_rate=1e-2, clip_norm=1.0, eval_every=300, progress=False)
    trials = task.sample(jax.random.key(5), 64)
    roll = fit.model.simulate(trials.inputs, key=None, noise=False)
    x0 = fp.sample_states(roll, 128, key=jax.random.key(6), noise_scale=0.2)
    fps = fp.find(fit.model, x0, jnp.zeros(task.n_inputs), progress=False)
    return fit, task, roll, fps


def test_flipflop_gru_holds_the_eight_memories_in_stable_fixed_points(flipflop_gru):
    fit, task, roll, fps = flipflop_gru
    assert float(fit.history.val_accuracy[-1]) > 0.95
    memories = fps[fps.stable]
    z = np.asarray(fit.model.readout(memories.xstar))
    assert memories.n_points == 8
    assert {tuple(np.sign(row).astype(int)) for row in z} == set(
        itertools.product((-1, 1), repeat=3))
    assert np.all(np.abs(z) > 0.8)
    # the Jacobians found are those of the map (autodiff of the NumPy-checked step)
    lin = fp.linearize(fit.model, memories.xstar[0], jnp.zeros(3))
    jac = jax.jacobian(fit.model.step)(memories.xstar[0], jnp.zeros(3))
    np.testing.assert_allclose(lin.A, jac, atol=1e-6)
    assert np.all(np.abs(np.linalg.eigvals(np.asarray(jac))) < 1)
    assert np.all(np.asarray(fps.n_unstable)[~np.asarray(fps.stable)] >= 1)  # saddles


def test_dpad_and_plots_take_the_gru(flipflop_gru):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fit, task, roll, fps = flipflop_gru
    y, z = nd.dpad.network_data(roll.states, roll.outputs)
    assert y.shape == (64, task.n_steps, 16) and z.shape == (64, task.n_steps, 3)
    ax = nd.plot.plot_fixed_points(fps, roll)
    assert len(ax.collections) + len(ax.lines) > 0
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize("kind, kw", [("RNN", dict(nonlinearity="relu")), ("GRU", {}),
                                      ("LSTM", dict(bias=False, learn_h0=True))])
def test_save_load_round_trip(tmp_path, kind, kw):
    model = make(kind, seed=3, train=("recurrent", "readout"), **kw)
    if model.learn_h0:
        model = eqx.tree_at(lambda m: m.h0, model, jnp.arange(2 * H, dtype=jnp.float32) / H)
    loaded = nd.load(nd.save(tmp_path / f"{kind}.eqx", model))
    assert type(loaded) is type(model) and loaded.hyperparameters() == model.hyperparameters()
    assert jax.tree_util.tree_structure(loaded) == jax.tree_util.tree_structure(model)
    for a, b in zip(jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(loaded)):
        np.testing.assert_array_equal(a, b)
    x, u = np.linspace(-1, 1, model.n_states), np.array([0.5, -1.0])
    np.testing.assert_array_equal(loaded.step(x, u), model.step(x, u))


def test_train_groups_and_h0():
    gru = make("GRU", train=("recurrent",), learn_h0=True)
    flags = gru.trainable()
    assert flags.weight_hh and not flags.weight_ih and not flags.bias_ih and not flags.h0
    assert make("LSTM", learn_h0=True).trainable().h0
    lstm = make("LSTM", learn_h0=True)
    assert lstm.h0.shape == (2 * H,) and "h0" in lstm.train


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_bad_constructor_arguments(kind):
    cls = getattr(nd.models, kind)

    @FUZZ
    @given(size=bad_count(), flag=bad_bool(), key=bad_key())
    def check(size, flag, key):
        k = jax.random.key(0)
        assert_clear_error(kind, "n_neurons", lambda: cls(size, N_IN, N_OUT, key=k))
        assert_clear_error(kind, "bias", lambda: cls(H, N_IN, N_OUT, bias=flag, key=k))
        assert_clear_error(kind, "learn_h0", lambda: cls(H, N_IN, N_OUT, learn_h0=flag, key=k))
        assert_clear_error(kind, "key", lambda: cls(H, N_IN, N_OUT, key=key))

    check()
    k = jax.random.key(0)
    assert_clear_error(kind, "train", lambda: cls(H, N_IN, N_OUT, train=("J",), key=k))
    assert_clear_error(kind, "train", lambda: cls(H, N_IN, N_OUT, train=("h0",), key=k))
    assert_clear_error(kind, "noise_std", lambda: cls(H, N_IN, N_OUT, noise_std=-1.0, key=k))
    assert_clear_error(kind, "noise_rng", lambda: cls(H, N_IN, N_OUT, noise_rng="x", key=k))


def test_bad_simulate_arguments():
    model = make("LSTM", noise_std=0.1)
    u = jnp.zeros((2, 5, N_IN))
    assert_clear_error("LSTM.simulate", "inputs", lambda: model.simulate(u[..., :1], key=None))
    assert_clear_error("LSTM.simulate", "x0",
                       lambda: model.simulate(u, key=None, x0=jnp.zeros((2, H))))
    assert_clear_error("LSTM.simulate", "key", lambda: model.simulate(u, key=None))
    assert_clear_error("LSTM.simulate", "noise",
                       lambda: model.simulate(u, key=None, noise=jnp.zeros((2, 5, H))))
    assert_clear_error("RNN", "nonlinearity", lambda: make("RNN", nonlinearity="tanhh"))
    stacked = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), make("GRU"))
    assert_clear_error("GRU.simulate", "model", lambda: stacked.simulate(u, key=None))


@pytest.mark.slow
def test_every_task_trains_every_kind():
    """fit on every registered task (the three kinds in turn), and fit_ensemble of each kind."""
    kinds = ["RNN", "GRU", "LSTM"]
    for i, name in enumerate(nd.tasks.names()):
        try:
            task = nd.tasks.make(name)
        except (ImportError, TypeError, ValueError):  # needs an optional package or arguments
            continue
        model = getattr(nd.models, kinds[i % 3])(8, task.n_inputs, task.n_outputs,
                                                 key=jax.random.key(i))
        fit = nd.train.fit(model, task, key=jax.random.key(0), steps=3, batch_size=4,
                           eval_every=3, val_trials=8, progress=False, keep_best=False)
        assert fit.history.loss.shape == (3,) and np.all(np.isfinite(fit.history.loss)), name
        assert not np.array_equal(fit.model.weight_hh, model.weight_hh), name
    task = nd.tasks.FlipFlop(preset="golub2018")
    for kind in kinds:
        fit = nd.train.fit_ensemble(
            lambda key, kind=kind: getattr(nd.models, kind)(8, 3, 3, learn_h0=True, key=key),
            task, keys=jax.random.split(jax.random.key(1), 2), steps=3, batch_size=4,
            eval_every=3, val_trials=8, progress=False, keep_best=False)
        assert fit.model.weight_hh.shape[0] == 2 and np.all(np.isfinite(fit.history.loss))
        assert np.abs(np.asarray(fit.model.h0)).max() > 0  # h0 trained
