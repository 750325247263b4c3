import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import neurodyn as nd


def test_decision_trials_structure(decision_task):
    task = decision_task
    assert task.n_inputs == 1 and task.n_outputs == 1 and task.dt == 20.0
    # 100 + 800 + 100 + 20 ms at dt = 20 ms.
    assert task.n_steps == 51
    B = 256  # the batch size of every task test, so that `sample` compiles once
    trials = task.sample(jax.random.key(0), B)
    assert trials.inputs.shape == (B, 51, 1) and trials.targets.shape == (B, 51, 1)
    coh = np.asarray(trials.conditions["coherence"])
    assert set(np.round(coh.astype(float), 6).tolist()) == {-0.4, -0.2, -0.1, 0.1, 0.2, 0.4}
    np.testing.assert_array_equal(trials.conditions["target"], np.sign(coh))
    starts = {k: tuple(np.asarray(v[0])) for k, v in trials.epochs.items()}
    assert starts == {"fixation": (0, 5), "stimulus": (5, 45), "delay": (45, 50),
                      "decision": (50, 51)}
    mask = np.asarray(trials.mask[:, :, 0])
    assert mask[:, 50].all() and not mask[:, :50].any()
    np.testing.assert_array_equal(trials.targets[:, 50, 0], np.sign(coh))
    np.testing.assert_array_equal(np.asarray(trials.targets)[:, :50], 0.0)
    # Input: coherence during the stimulus, plus N(0, 0.1²) noise on every step.
    u = np.asarray(trials.inputs[:, :, 0])
    stim = np.zeros(51, bool)
    stim[5:45] = True
    resid = u - coh[:, None] * stim[None, :]
    assert abs(resid.std() - 0.1) < 0.003 and abs(resid.mean()) < 0.003
    # The noise (the models' counter-based generator) is Gaussian and white: no correlation
    # between neighbouring steps or trials, none with the condition.
    z = resid / 0.1
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    bound = 4 / np.sqrt(z.size)
    assert abs(np.corrcoef(z[:, 1:].ravel(), z[:, :-1].ravel())[0, 1]) < bound
    assert abs(np.corrcoef(z[1:].ravel(), z[:-1].ravel())[0, 1]) < bound
    assert abs(np.corrcoef(z.mean(1), coh)[0, 1]) < 4 / np.sqrt(B)
    # Each coherence is drawn about equally often.
    counts = np.unique(coh, return_counts=True)[1]
    assert counts.min() > B / 6 * 0.6


def test_sampling_is_reproducible(decision_task):
    a = decision_task.sample(jax.random.key(1), 256)
    b = decision_task.sample(jax.random.key(1), 256)
    c = decision_task.sample(jax.random.key(2), 256)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert not np.array_equal(a.inputs, c.inputs)


def test_evaluate_against_manual_rule(decision_task):
    trials = decision_task.sample(jax.random.key(0), 256)
    outputs = jax.random.normal(jax.random.key(1), trials.targets.shape)
    score = decision_task.evaluate(outputs, trials)
    manual = np.where(np.asarray(outputs)[:, 50, 0] >= 0, 1, -1)
    np.testing.assert_array_equal(score.choice, manual)
    truth = np.asarray(trials.conditions["target"])
    assert float(score.accuracy) == pytest.approx(np.mean(manual == truth))
    assert float(decision_task.evaluate(trials.targets, trials).accuracy) == 1.0
    with pytest.raises(ValueError, match="outputs must have the shape"):
        decision_task.evaluate(outputs[:, :10], trials)


def test_conditions_grid_and_psychometric(decision_task):
    grid = decision_task.conditions(jax.random.key(0), repeats=3)
    np.testing.assert_allclose(
        grid.conditions["coherence"], np.repeat([-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], 3), atol=1e-7
    )
    choice = np.array([1, -1, 1, 1, 1, -1])
    curve = nd.tasks.psychometric(choice, np.array([0.1, 0.1, 0.2, 0.2, -0.1, -0.1]))
    np.testing.assert_allclose(curve.values, [-0.1, 0.1, 0.2])
    np.testing.assert_allclose(curve.p_positive, [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(curve.n, [2, 2, 2])


def test_trials_indexing(decision_task):
    trials = decision_task.sample(jax.random.key(0), 256)
    sub = trials[2:5]
    assert sub.inputs.shape == (3, 51, 1) and sub.conditions["coherence"].shape == (3,)
    assert trials[0].inputs.shape == (1, 51, 1)


def test_registry_and_errors():
    assert "PerceptualDecisionMaking" in nd.tasks.names()
    with pytest.raises(ValueError, match="known tasks: .*PerceptualDecisionMaking"):
        nd.tasks.make("PerceptualDecisionMakin")
    with pytest.raises(ValueError, match="preset"):
        nd.tasks.make("PerceptualDecisionMaking", preset="nope")
    with pytest.raises(ValueError, match="stimulus must be a non-negative multiple of dt"):
        nd.tasks.PerceptualDecisionMaking(stimulus=810.0)
    with pytest.raises(ValueError, match="batch_size"):
        nd.tasks.make("PerceptualDecisionMaking").sample(jax.random.key(0), 0)
    task = nd.tasks.PerceptualDecisionMaking(dt=10.0, coherences=(0.05, -0.05))
    assert task.n_steps == 102
    assert jnp.all(jnp.abs(task.sample(jax.random.key(0), 4).conditions["coherence"]) == 0.05)


def test_sample_compiles_once_per_configuration_and_batch_size():
    """Equal tasks share one compiled `sample` per batch size; other settings get their own."""
    from neurodyn.tasks._compile import _compiled

    method = nd.tasks.AbstractEpochTask.sample.__wrapped__
    a, b = nd.tasks.PerceptualDecisionMaking(), nd.tasks.PerceptualDecisionMaking()
    c = nd.tasks.PerceptualDecisionMaking(input_noise=0.2)
    assert a is not b and a == b
    assert _compiled(a, method, 8) is _compiled(b, method, 8) is _compiled(a, method, 8)
    assert _compiled(a, method, 8) is not _compiled(c, method, 8)
    assert _compiled(a, method, 8) is not _compiled(a, method, 9)


def test_sample_of_a_task_with_array_fields(decision_task):
    """A task that cannot be hashed (an array field) still samples, through `filter_jit`."""

    class Scaled(nd.tasks.PerceptualDecisionMaking):
        scale: jax.Array

        def __init__(self):
            super().__init__()
            self.scale = jnp.asarray(2.0)

    got = Scaled().sample(jax.random.key(0), 256)
    want = decision_task.sample(jax.random.key(0), 256)
    np.testing.assert_array_equal(got.inputs, want.inputs)
