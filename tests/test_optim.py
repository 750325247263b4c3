"""The optimisation core (`neurodyn._optim`) shared by training, DPAD and the fixed-point
search: masked per-member optax steps, non-finite rejection, early stopping, member indexing."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from neurodyn import train
from neurodyn._optim import (
    LoopState,
    chunk,
    init_state,
    member,
    track_best,
    update,
    where_tree,
)


def _adam_reference(grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba 2015, Algorithm 1) in NumPy float64, one member."""
    x = np.zeros_like(grads[0])
    m = v = np.zeros_like(x)
    xs = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        xs.append(x)
    return np.stack(xs)


def test_update_with_per_member_scale_is_adam_and_masks_members():
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((6, 3, 4))  # steps, members, parameters
    lr = np.array([0.1, 0.01, 0.5])
    active = np.array([[True, True, True]] * 3 + [[True, False, True]] * 3)
    opt = optax.scale_by_adam()
    step = jax.vmap(lambda g, s, p, lr, a: update(opt, g, s, p, scale=-lr, active=a,
                                                  reject_nonfinite=False))
    params = jnp.zeros((3, 4))
    state = jax.vmap(opt.init)(params)
    xs = []
    for g, a in zip(grads, active):
        params, state, ok = step(jnp.asarray(g, jnp.float32), state, params,
                                 jnp.asarray(lr, jnp.float32), jnp.asarray(a))
        np.testing.assert_array_equal(ok, a)
        xs.append(np.asarray(params))
    xs = np.stack(xs)
    for i in (0, 2):  # always active: plain Adam with its own step size
        np.testing.assert_allclose(xs[:, i], _adam_reference(grads[:, i], lr[i]), rtol=2e-5,
                                   atol=1e-6)
    # member 1 was frozen for the last three steps: parameters and step count stay
    np.testing.assert_array_equal(xs[3:, 1], np.broadcast_to(xs[2, 1], (3, 4)))
    np.testing.assert_array_equal(np.asarray(state.count), [6, 3, 6])


def test_update_rejects_non_finite_steps():
    opt = optax.adam(0.1)
    params = {"w": jnp.ones(3)}
    state = opt.init(params)
    good = {"w": jnp.array([1.0, -1.0, 0.5])}
    new, new_state, ok = update(opt, good, state, params, loss=jnp.asarray(1.0))
    assert bool(ok) and not np.allclose(new["w"], params["w"])
    for loss, grads in [(jnp.asarray(jnp.nan), good),
                        (jnp.asarray(1.0), {"w": jnp.array([1.0, jnp.inf, 0.0])})]:
        kept, kept_state, ok = update(opt, grads, state, params, loss=loss)
        assert not bool(ok)
        np.testing.assert_array_equal(kept["w"], params["w"])
        assert int(kept_state[0].count) == 0


def test_track_best_early_stopping_and_min_delta():
    params = jnp.zeros(2)
    state = init_state(optax.sgd(1.0), params)
    seen = []
    for i, loss in enumerate([1.0, np.nan, 0.5, 0.499, 0.6, 0.7]):
        state = state._replace(params=jnp.full(2, float(i)))
        state, improved = track_best(state, jnp.asarray(loss), patience=3, min_delta=0.01)
        seen.append((bool(improved), int(state.wait), bool(state.active)))
    # NaN never improves; 0.499 is not 1% below 0.5; three without improvement stop it
    assert seen == [(True, 0, True), (False, 1, True), (True, 0, True), (False, 1, True),
                    (False, 2, True), (False, 3, False)]
    assert float(state.best_loss) == 0.5
    np.testing.assert_array_equal(state.best, [2.0, 2.0])
    # a stopped member cannot improve any more
    state, improved = track_best(state, jnp.asarray(0.0), patience=3)
    assert not bool(improved) and float(state.best_loss) == 0.5


def test_track_best_on_stacked_members():
    state = LoopState(params=jnp.arange(6.0).reshape(3, 2), opt_state=None,
                      best=jnp.zeros((3, 2)), best_loss=jnp.array([1.0, 1.0, jnp.inf]),
                      wait=jnp.zeros(3, jnp.int32), active=jnp.array([True, False, True]))
    new, improved = track_best(state, jnp.array([0.5, 0.5, jnp.inf]))
    np.testing.assert_array_equal(improved, [True, False, False])
    np.testing.assert_array_equal(new.best, [[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(new.wait, [0, 1, 1])


def test_chunk_is_a_scan():
    carry, out = chunk(lambda c, x: (c + x, c * x), jnp.asarray(1.0), jnp.arange(4.0))
    assert float(carry) == 7.0
    np.testing.assert_array_equal(out, [0.0, 1.0, 4.0, 12.0])


def test_where_tree_broadcasts_member_flags():
    new = {"a": jnp.ones((3, 2)), "b": jnp.ones(3)}
    old = {"a": jnp.zeros((3, 2)), "b": jnp.zeros(3)}
    out = where_tree(np.array([True, False, True]), new, old)
    np.testing.assert_array_equal(out["a"], [[1, 1], [0, 0], [1, 1]])
    np.testing.assert_array_equal(out["b"], [1, 0, 1])


def test_member_indexes_stacks_and_keeps_leaf_kinds():
    stack = {"w": np.arange(12.0).reshape(4, 3), "b": jnp.arange(4.0), "name": "x"}
    one = member(stack, -1)
    assert isinstance(one["w"], np.ndarray) and isinstance(one["b"], jax.Array)
    np.testing.assert_array_equal(one["w"], [9.0, 10.0, 11.0])
    assert one["name"] == "x"
    some = member(stack, np.array([0, 2]))
    np.testing.assert_array_equal(some["b"], [0.0, 2.0])
    assert train.member is member
    with pytest.raises(ValueError, match="leading sizes"):
        member({"w": np.zeros((4, 3)), "b": np.zeros(3)}, 0)
    with pytest.raises(ValueError):
        member(stack, 4)
    with pytest.raises(ValueError):
        member(stack, np.array([0, 7]))
    with pytest.raises(TypeError):
        member({"name": "x"}, 0)


def test_history_fields_are_arrays_whatever_the_input():
    h = train.History(loss=[0.5, 0.4], eval_step=[2], val_loss=[0.3], val_accuracy=[1.0],
                      best_step=2, stop_reason="completed", config={},
                      initial_val_loss=0.6, initial_val_accuracy=0.5)
    for name in ("loss", "eval_step", "val_loss", "val_accuracy", "best_step", "stop_reason",
                 "initial_val_loss", "initial_val_accuracy"):
        assert isinstance(getattr(h, name), np.ndarray), name
    assert h.best_step.item() == 2 and h.stop_reason == "completed"
    assert str(h.stop_reason) == "completed" and float(h.initial_val_loss) == 0.6
    d = h.to_dict()
    assert d["best_step"] == 2 and isinstance(d["best_step"], int)
    assert d["stop_reason"] == "completed" and isinstance(d["initial_val_loss"], float)
    ens = train.History(loss=np.zeros((2, 3)), eval_step=[3], val_loss=np.zeros((2, 1)),
                        val_accuracy=np.zeros((2, 1)), best_step=[3, 0],
                        stop_reason=["completed", "early_stop"], config={},
                        initial_val_loss=[1.0, 2.0], initial_val_accuracy=[0.0, 0.0])
    assert ens.best_step.shape == (2,) and list(ens.stop_reason) == ["completed", "early_stop"]
