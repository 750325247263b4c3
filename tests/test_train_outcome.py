"""Training that fails quietly: a fit that leaves the validation loss worse than it found it, or
cannot validate at all, says so (a `TrainingWarning` and `history.stop_reason`), and
`keep_best` never returns a model worse on the validation set than the starting one."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import neurodyn as nd
from neurodyn.train import TrainingWarning


def _val_loss(model, val, key):
    """The validation loss as `fit` computes it (noise key: the second half of split(key))."""
    outputs = model.simulate(val.inputs, key=jax.random.split(key)[1], states=False).outputs
    return float(nd.train.masked_mse(outputs, val))


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a),
                                                      jax.tree_util.tree_leaves(b)))


@pytest.fixture(scope="module")
def setting(decision_task):
    model = nd.models.LowRankRNN(16, 1, 1, 1, key=jax.random.key(0))
    val = decision_task.sample(jax.random.key(7), 32)
    return model, val, jax.random.key(1)


@pytest.mark.parametrize("keep_best", [True, False])
def test_learning_rate_too_large_warns_and_keep_best_returns_the_start(
        decision_task, setting, keep_best):
    # lr = 1e3: the loss climbs to ~1e6 while staying finite (no step is rejected).
    model, val, key = setting
    with pytest.warns(TrainingWarning, match="worse than at the start"):
        fit = nd.train.fit(model, decision_task, key=key, steps=20, eval_every=10,
                           val_trials=val, learning_rate=1e3, keep_best=keep_best,
                           progress=False)
    h = fit.history
    assert np.all(np.isfinite(h.loss)) and h.stop_reason == "worse_than_start"
    start = _val_loss(model, val, key)
    assert h.initial_val_loss == pytest.approx(start, rel=1e-5)
    assert np.all(h.val_loss > 100 * start)
    if keep_best:
        # The starting model is the best candidate: it comes back unchanged.
        assert h.best_step == 0 and _same(fit.model, model)
        assert _val_loss(fit.model, val, key) <= h.initial_val_loss * (1 + 1e-6)
    else:
        assert h.best_step == 20 and not _same(fit.model, model)
        assert _val_loss(fit.model, val, key) > 100 * start


def test_validation_that_is_never_finite_is_reported(decision_task, setting):
    model, _, key = setting

    def loss_fn(outputs, trials):  # NaN on the validation batch (16 trials) only
        loss = nd.train.masked_mse(outputs, trials)
        return loss if trials.batch_size == 8 else jnp.nan * loss

    kwargs = dict(key=key, steps=20, eval_every=10, batch_size=8, val_trials=16,
                  loss_fn=loss_fn, progress=False)
    with pytest.warns(TrainingWarning, match="could not validate"):
        fit = nd.train.fit(model, decision_task, **kwargs)
    h = fit.history
    assert h.stop_reason == "val_not_finite" and np.isnan(h.initial_val_loss)
    assert np.all(np.isfinite(h.loss)) and np.all(np.isnan(h.val_loss))
    # Nothing to choose by: the trained model comes back, as without keep_best.
    with pytest.warns(TrainingWarning, match="could not validate"):
        last = nd.train.fit(model, decision_task, keep_best=False, **kwargs)
    assert h.best_step == 20 and _same(fit.model, last.model) and not _same(fit.model, model)


def test_validation_trials_with_nan_are_refused(decision_task, setting):
    model, val, key = setting
    nan_val = eqx.tree_at(lambda t: t.inputs, val, jnp.full_like(val.inputs, jnp.nan))
    with pytest.raises(ValueError, match="val_trials.inputs has .* NaN or Inf"):
        nd.train.fit(model, decision_task, key=key, steps=10, val_trials=nan_val,
                     progress=False)


def test_ordinary_fit_records_the_start_and_is_unchanged(decision_task, setting):
    model, val, key = setting
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        fit = nd.train.fit(model, decision_task, key=key, steps=20, eval_every=10,
                           val_trials=val, progress=False)
    h = fit.history
    assert h.stop_reason == "completed" and h.best_step in (10, 20)
    assert h.val_loss.min() < h.initial_val_loss
    assert h.to_dict()["initial_val_loss"] == h.initial_val_loss
    assert 0.0 <= h.initial_val_accuracy <= 1.0


def test_ensemble_judges_each_member(decision_task):
    # Member 1 starts with a zero readout: zero gradients, so Adam leaves it exactly where it
    # is (not worse); member 0 is driven worse by lr = 1e3. Keys chosen so that the flags differ.
    keys = jax.random.split(jax.random.key(3), 2)

    def quiet(k):
        return jax.random.uniform(k) < 0.5

    def make(k):
        model = nd.models.LowRankRNN(16, 1, 1, 1, key=k)
        scale = jnp.where(quiet(k), 0.0, 1.0)
        return eqx.tree_at(lambda m: (m.w_out, m.g_out), model,
                           (model.w_out * scale, model.g_out * scale))

    init_keys = [jax.random.split(k)[0] for k in keys]
    assert [bool(quiet(k)) for k in init_keys] == [False, True]
    val = decision_task.sample(jax.random.key(8), 32)
    with pytest.warns(TrainingWarning, match=r"member\(s\) \[0\]:"):
        ens = nd.train.fit_ensemble(make, decision_task, keys=keys, steps=20, eval_every=10,
                                    val_trials=val, learning_rate=1e3, progress=False)
    h = ens.history
    assert list(h.stop_reason) == ["worse_than_start", "completed"]
    assert h.initial_val_loss.shape == (2,) and h.best_step[0] == 0
    assert _same(nd.train.member(ens.model, 0), make(init_keys[0]))
    assert h.val_loss[1, -1] == h.initial_val_loss[1]


def test_training_step_has_no_host_checks(decision_task):
    # simulate's eager checks must not reach the compiled training step: its program holds no
    # callbacks (no eqx.error_if, no debug or pure callbacks).
    from neurodyn.train._core import _chunk, _Spec

    model = nd.models.LowRankRNN(16, 1, 1, 1, key=jax.random.key(0))
    optimizer = optax.adam(1e-2)
    spec = _Spec(decision_task, optimizer, 8, nd.train.masked_mse)
    params, frozen = eqx.partition(model, model.trainable())
    jaxpr = jax.make_jaxpr(lambda p, s, k: _chunk(p, frozen, s, k, jnp.arange(2), spec))(
        params, optimizer.init(params), jax.random.key(1))
    assert "callback" not in str(jaxpr)


def test_to_full_rank_draws_nothing(monkeypatch):
    # No hidden fixed key: every array of the full-rank copy comes from the low-rank model.
    model = nd.models.LowRankRNN(12, 2, 1, 1, key=jax.random.key(0))

    def refuse(*args, **kwargs):
        raise AssertionError("to_full_rank made a key of its own")

    for name in ("key", "PRNGKey"):
        monkeypatch.setattr(jax.random, name, refuse)
    full = model.to_full_rank()
    np.testing.assert_allclose(full.J, model.m @ model.n.T / 12, rtol=1e-6)
    assert full.train == ("J", "input_gains", "output_gains")
