"""The trainable initial state h0 (`learn_h0=True`) of the rate networks: off by default (the
numbers of a model without it do not change), the start of `simulate` when on, trained by `fit`
through the hand-written adjoint pass (checked against finite differences), saved and loaded."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinput import assert_clear_error

import neurodyn as nd

N, N_IN, N_OUT = 10, 2, 1


def lowrank(**kw):
    return nd.models.LowRankRNN(N, 1, N_IN, N_OUT, noise_std=0.0, key=jax.random.key(2), **kw)


def with_h0(model, h0):
    return eqx.tree_at(lambda m: m.h0, model, jnp.asarray(h0, jnp.float32))


def numpy_rollout(model, u, x0):
    """x_{t+1} = x_t + α(−x_t + J tanh(x_t) + W_in u_t), z = tanh(x) W_out / N, from x0."""
    J = np.asarray(model.connectivity(), np.float64)
    w_in = np.asarray(model.input_weights, np.float64)
    w_out = np.asarray(model.readout_weights, np.float64)
    a = model.dt / model.tau
    x = np.broadcast_to(np.asarray(x0, np.float64), (u.shape[0], N)).copy()
    xs = []
    for t in range(u.shape[1]):
        x = x + a * (-x + np.tanh(x) @ J.T + u[:, t] @ w_in)
        xs.append(x)
    xs = np.stack(xs, 1)
    return xs, np.tanh(xs) @ w_out / N


@pytest.mark.parametrize("cls", ["LowRankRNN", "FullRankRNN", "LinearRNN"])
def test_off_by_default_and_the_same_weights_when_on(cls):
    args = (N, 1, N_IN, N_OUT) if cls == "LowRankRNN" else (N, N_IN, N_OUT)
    make = getattr(nd.models, cls)
    off = make(*args, key=jax.random.key(0))
    on = make(*args, learn_h0=True, key=jax.random.key(0))
    assert off.h0 is None and not off.learn_h0 and "h0" not in off.train
    assert "learn_h0" not in off.hyperparameters()  # the header of old models is unchanged
    assert on.learn_h0 and "h0" in on.train and on.hyperparameters()["learn_h0"] is True
    np.testing.assert_array_equal(on.h0, np.zeros(N))
    # h0 draws nothing from the key: every other array is the same
    same = [np.array_equal(a, b) for a, b in zip(
        jax.tree_util.tree_leaves(off), jax.tree_util.tree_leaves(eqx.tree_at(
            lambda m: m.h0, on, replace_fn=lambda _: None, is_leaf=lambda x: x is None)))]
    assert all(same) and len(same) == len(jax.tree_util.tree_leaves(off))
    u = jax.random.normal(jax.random.key(1), (3, 7, N_IN))
    np.testing.assert_array_equal(off.simulate(u, key=None, noise=False).outputs,
                                  on.simulate(u, key=None, noise=False).outputs)
    # only h0 is added to the trainable leaves
    n_off = sum(jax.tree_util.tree_leaves(off.trainable()))
    assert sum(jax.tree_util.tree_leaves(on.trainable())) == n_off + 1


def test_simulate_starts_from_h0_as_a_numpy_loop_does():
    h0 = np.linspace(-1.5, 1.5, N)
    model = with_h0(lowrank(learn_h0=True), h0)
    u = np.asarray(jax.random.normal(jax.random.key(3), (4, 9, N_IN)), np.float64)
    roll = model.simulate(jnp.asarray(u, jnp.float32), key=None, noise=False)
    xs, zs = numpy_rollout(model, u, h0)
    np.testing.assert_allclose(roll.states, xs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(roll.outputs, zs, rtol=1e-5, atol=1e-5)
    # an explicit x0 still wins over h0
    zero = model.simulate(jnp.asarray(u, jnp.float32), key=None, noise=False,
                          x0=jnp.zeros((4, N)))
    np.testing.assert_allclose(zero.states, numpy_rollout(model, u, np.zeros(N))[0],
                               rtol=1e-5, atol=1e-5)
    # one trial [T, N_IN] as well
    single = model.simulate(jnp.asarray(u[0], jnp.float32), key=None, noise=False)
    np.testing.assert_allclose(single.states, xs[0], rtol=1e-5, atol=1e-5)


def test_gradient_wrt_h0_matches_finite_differences():
    model = with_h0(lowrank(learn_h0=True), np.linspace(-1, 1, N))
    u = jax.random.normal(jax.random.key(4), (2, 6, N_IN))
    target = jnp.ones((2, 6, N_OUT))

    def loss(h0):
        m = eqx.tree_at(lambda m: m.h0, model, h0)
        return jnp.mean((m.simulate(u, key=None, noise=False).outputs - target) ** 2)

    h0 = np.asarray(model.h0, np.float64)
    grad = np.asarray(jax.grad(loss)(model.h0))
    eps = 1e-2
    fd = np.array([(float(loss(jnp.asarray(h0 + eps * e, jnp.float32)))
                    - float(loss(jnp.asarray(h0 - eps * e, jnp.float32)))) / (2 * eps)
                   for e in np.eye(N)])
    assert np.abs(grad).max() > 1e-4
    np.testing.assert_allclose(grad, fd, rtol=2e-2, atol=2e-5)


def test_fit_trains_h0_only_when_asked():
    task = nd.tasks.FlipFlop(preset="golub2018")
    kw = dict(key=jax.random.key(5), steps=30, batch_size=8, eval_every=30, val_trials=16,
              progress=False, keep_best=False)

    def make(**extra):
        return nd.models.LowRankRNN(N, 2, task.n_inputs, task.n_outputs, noise_std=0.0,
                                    learn_h0=True, key=jax.random.key(6), **extra)

    trained = nd.train.fit(make(), task, **kw).model
    assert np.abs(np.asarray(trained.h0)).max() > 1e-3
    assert not np.array_equal(trained.m, make().m)
    # an explicit `train` without "h0" keeps h0 out of what fit optimises
    frozen = make(train=("m", "n"))
    assert frozen.trainable().m and not frozen.trainable().h0


def test_save_load_and_full_rank_keep_h0(tmp_path):
    model = with_h0(lowrank(learn_h0=True), np.arange(N) / N)
    path = nd.save(tmp_path / "h0.eqx", model)
    loaded = nd.load(path)
    assert loaded.learn_h0 and loaded.train == model.train
    np.testing.assert_array_equal(loaded.h0, model.h0)
    full = model.to_full_rank()
    np.testing.assert_array_equal(full.h0, model.h0)
    u = jax.random.normal(jax.random.key(7), (2, 5, N_IN))
    np.testing.assert_allclose(full.simulate(u, key=None, noise=False).outputs,
                               model.simulate(u, key=None, noise=False).outputs, atol=1e-6)


def test_bad_h0_arguments():
    assert_clear_error("LowRankRNN", "h0", lambda: lowrank(train=("m", "h0")))
    assert_clear_error("LowRankRNN", "learn_h0", lambda: lowrank(learn_h0="yes"))
    assert_clear_error("FullRankRNN", "learn_h0", lambda: nd.models.FullRankRNN(
        N, N_IN, N_OUT, learn_h0=1, key=jax.random.key(0)))
    stacked = eqx.tree_at(lambda m: m.h0, lowrank(learn_h0=True), jnp.zeros((2, N)))
    assert_clear_error("LowRankRNN.simulate", "h0",
                       lambda: stacked.simulate(jnp.zeros((5, N_IN)), key=None))
