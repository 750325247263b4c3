import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import neurodyn as nd


def test_masked_mse_matches_numpy(decision_task):
    trials = decision_task.sample(jax.random.key(0), 16)
    mask = np.asarray(jax.random.bernoulli(jax.random.key(1), 0.3, trials.mask.shape), np.float32)
    mask[0] = 0.0  # a trial with nothing masked in must not divide by zero
    trials = nd.tasks.Trials(
        inputs=trials.inputs, targets=trials.targets, mask=jnp.asarray(mask),
        conditions=trials.conditions, epochs=trials.epochs, dt=trials.dt,
    )
    out = np.asarray(jax.random.normal(jax.random.key(2), trials.targets.shape))
    tgt = np.asarray(trials.targets)
    ref = np.mean([
        (mask[b] * (out[b] - tgt[b]) ** 2).sum() / max(mask[b].sum(), 1) for b in range(16)
    ])
    assert float(nd.train.masked_mse(jnp.asarray(out), trials)) == pytest.approx(ref, rel=1e-5)


def test_trains_rank_one_decision_network(trained_decision, decision_task):
    fit = trained_decision
    test = decision_task.sample(jax.random.key(123), 1000)
    outputs = fit.model.simulate(test.inputs, key=jax.random.key(9)).outputs
    accuracy = float(decision_task.evaluate(outputs, test).accuracy)
    assert accuracy >= 0.95
    h = fit.history
    assert h.loss.shape == (400,) and np.all(np.isfinite(h.loss))
    assert h.loss[-50:].mean() < 0.2 * h.loss[:10].mean()
    assert list(h.eval_step) == [100, 200, 300, 400] and h.stop_reason == "completed"
    assert h.best_step == h.eval_step[np.argmin(h.val_loss)]
    # Only the trained groups moved.
    assert np.array_equal(fit.model.w_in, nd.models.LowRankRNN(128, 1, 1, 1,
                                                               key=jax.random.key(0)).w_in)


def test_same_seed_same_history(decision_task):
    def run():
        model = nd.models.LowRankRNN(32, 1, 1, 1, key=jax.random.key(0))
        return nd.train.fit(model, decision_task, key=jax.random.key(5), steps=30,
                            eval_every=10, val_trials=32, progress=False)

    a, b = run(), run()
    np.testing.assert_array_equal(a.history.loss, b.history.loss)
    np.testing.assert_array_equal(a.history.val_loss, b.history.val_loss)
    np.testing.assert_array_equal(a.model.m, b.model.m)


def test_validation_scores_the_parameters_each_chunk_ends_with(decision_task):
    # Validation runs inside the compiled chunk: recompute the last one from the returned model
    # (keep_best=False: the model after the last chunk) with the validation noise key.
    model = nd.models.LowRankRNN(32, 1, 1, 1, key=jax.random.key(0))
    val = decision_task.sample(jax.random.key(7), 16)
    key = jax.random.key(8)
    fit = nd.train.fit(model, decision_task, key=key, steps=20, eval_every=10, val_trials=val,
                       keep_best=False, progress=False)
    outputs = fit.model.simulate(val.inputs, key=jax.random.split(key)[1]).outputs
    assert fit.history.val_loss[-1] == pytest.approx(
        float(nd.train.masked_mse(outputs, val)), rel=1e-5)
    assert fit.history.val_accuracy[-1] == pytest.approx(
        float(decision_task.evaluate(outputs, val).accuracy))
    assert not np.array_equal(fit.model.m, model.m)


def test_non_finite_loss_stops_and_returns_last_good(decision_task):
    model = nd.models.LowRankRNN(32, 1, 1, 1, key=jax.random.key(0))
    # An optimiser that blows the parameters up after a few steps.
    boom = optax.chain(optax.adam(1e-2), optax.scale_by_schedule(
        lambda s: jnp.where(s >= 5, jnp.inf, 1.0)))
    with pytest.warns(RuntimeWarning, match="non-finite"):
        fit = nd.train.fit(model, decision_task, key=jax.random.key(1), steps=20, eval_every=10,
                           optimizer=boom, val_trials=16, keep_best=False, progress=False)
    assert fit.history.stop_reason == "non_finite"
    leaves = jax.tree_util.tree_leaves(fit.model)
    assert all(np.all(np.isfinite(np.asarray(x))) for x in leaves if hasattr(x, "shape"))
    assert np.isnan(fit.history.loss[6:]).all() and np.isfinite(fit.history.loss[:5]).all()


def test_early_stop(decision_task):
    model = nd.models.LowRankRNN(32, 1, 1, 1, key=jax.random.key(0))
    # An optimiser that never moves the parameters (a learning rate of 0 is refused).
    fit = nd.train.fit(model, decision_task, key=jax.random.key(1), steps=200, eval_every=10,
                       optimizer=optax.set_to_zero(), early_stop=2, val_trials=16,
                       progress=False)
    # With no updates nothing improves after the first evaluation.
    assert fit.history.stop_reason == "early_stop"
    assert list(fit.history.eval_step) == [10, 20, 30]


def test_ensemble_members_equal_independent_fits(decision_task):
    keys = jax.random.split(jax.random.key(0), 3)
    val = decision_task.sample(jax.random.key(99), 32)

    def make(k):
        return nd.models.LowRankRNN(32, 1, 1, 1, key=k)

    ens = nd.train.fit_ensemble(make, decision_task, keys=keys, steps=40, eval_every=20,
                                val_trials=val, progress=False)
    assert ens.history.loss.shape == (3, 40) and ens.history.val_accuracy.shape == (3, 2)
    assert ens.model.m.shape == (3, 32, 1)
    for i in (0, 2):
        k_init, k_train = jax.random.split(keys[i])
        single = nd.train.fit(make(k_init), decision_task, key=k_train, steps=40, eval_every=20,
                              val_trials=val, progress=False)
        np.testing.assert_allclose(ens.history.loss[i], single.history.loss, rtol=1e-4)
        np.testing.assert_allclose(nd.train.member(ens.model, i).m, single.model.m, atol=1e-4)
    assert not np.allclose(ens.history.loss[0], ens.history.loss[1])


def test_fit_argument_errors(decision_task):
    model = nd.models.LowRankRNN(8, 1, 2, 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="n_inputs"):
        nd.train.fit(model, decision_task, key=jax.random.key(0), steps=1, progress=False)
    model = nd.models.LowRankRNN(8, 1, 1, 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="steps"):
        nd.train.fit(model, decision_task, key=jax.random.key(0), steps=0)
    with pytest.raises(ValueError, match="task"):
        nd.train.fit(model, "PerceptualDecisionMaking", key=jax.random.key(0), steps=1)
    with pytest.raises(ValueError, match="clip_norm"):
        nd.train.fit(model, decision_task, key=jax.random.key(0), steps=1, clip_norm=-1.0)
