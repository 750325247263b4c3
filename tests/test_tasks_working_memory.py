import jax
import numpy as np
import pytest

import neurodyn as nd

B = 256  # the batch size of tests/test_tasks_common.py, so `sample` compiles once


def test_delay_comparison_dubreuil():
    task = nd.tasks.DelayComparison()
    assert (task.n_inputs, task.n_outputs, task.dt) == (1, 1, 20.0)
    # 100 + 100 + (500..1000) + 100 + 100 ms: at most 70 steps.
    assert task.n_steps == 70
    trials = task.sample(jax.random.key(0), B)
    f1, f2 = np.asarray(trials.conditions["f1"]), np.asarray(trials.conditions["f2"])
    assert f1.min() >= 10 and f2.max() <= 34 and f2.min() >= 10 and f1.max() <= 34
    assert set(np.abs(f1 - f2)) == {8, 16, 24}
    assert len(task.pairs) == 54 and (f1 != f2).all()
    np.testing.assert_allclose(trials.conditions["target"], (f1 - f2) / 24, rtol=1e-6)
    e = {k: np.asarray(v) for k, v in trials.epochs.items()}
    np.testing.assert_array_equal(e["stimulus1"], np.tile([5, 10], (B, 1)))
    delay = e["delay"][:, 1] - e["delay"][:, 0]
    assert delay.min() >= 25 and delay.max() <= 50 and len(set(delay)) > 15
    assert abs(delay.mean() - 37.5) < 2.0
    np.testing.assert_allclose(trials.conditions["delay"], delay * 20.0)
    np.testing.assert_array_equal(e["stimulus2"][:, 0], 10 + delay)
    np.testing.assert_array_equal(e["decision"][:, 1] - e["decision"][:, 0], 5)
    # Input (f - 22)/24 in each stimulus, noise 0.01; graded target over the decision.
    x, y, m = (np.asarray(a)[:, :, 0] for a in (trials.inputs, trials.targets, trials.mask))
    i = 0
    s20, s21 = e["stimulus2"][i]
    assert abs(x[i, 5:10].mean() - (f1[i] - 22) / 24) < 0.02
    assert abs(x[i, s20:s21].mean() - (f2[i] - 22) / 24) < 0.02
    d0, d1 = e["decision"][i]
    np.testing.assert_allclose(y[i, d0:d1], (f1[i] - f2[i]) / 24, rtol=1e-6)
    assert m[i, d0:d1].all() and m[i].sum() == 5
    # Evaluation: sign accuracy plus the graded fit.
    s = task.evaluate(trials.targets, trials)
    assert float(s.accuracy) == 1.0 and float(s.mse) < 1e-10
    assert float(s.correlation) == pytest.approx(1.0, abs=1e-5)
    grid = task.conditions(jax.random.key(1))
    assert grid.inputs.shape == (54, 70, 1)
    np.testing.assert_array_equal(grid.conditions["delay"], 1000.0)
    short = task.conditions(jax.random.key(1), durations={"delay": 500.0})
    np.testing.assert_array_equal(short.conditions["delay"], 500.0)


def test_delay_comparison_neurogym():
    task = nd.tasks.DelayComparison(preset="neurogym")
    assert (task.n_inputs, task.n_outputs, task.n_steps) == (2, 3, 26)
    trials = task.sample(jax.random.key(0), B)
    f1, f2 = np.asarray(trials.conditions["f1"]), np.asarray(trials.conditions["f2"])
    assert set(np.abs(f1 - f2)) == {8} and abs(np.mean(f1 > f2) - 0.5) < 0.1
    s = task.evaluate(trials.targets, trials)
    assert float(s.accuracy) == 1.0
    np.testing.assert_array_equal(s.choice, np.where(f1 > f2, 1.0, -1.0))


def test_delay_match_sample():
    task = nd.tasks.DelayMatchSample()
    assert (task.n_inputs, task.n_outputs, task.dt) == (2, 1, 20.0)
    # 100 + 500 + (500..3000) + 500 + 1000 ms: at most 255 steps.
    assert task.n_steps == 255
    trials = task.sample(jax.random.key(0), B)
    c = {k: np.asarray(v) for k, v in trials.conditions.items()}
    kinds = np.bincount(2 * c["sample"] + c["test"], minlength=4)
    assert kinds.min() > B / 4 * 0.6
    np.testing.assert_array_equal(c["match"], c["sample"] == c["test"])
    np.testing.assert_array_equal(c["target"], np.where(c["match"] == 1, 1.0, -1.0))
    e = {k: np.asarray(v) for k, v in trials.epochs.items()}
    delay = e["delay"][:, 1] - e["delay"][:, 0]
    assert delay.min() >= 25 and delay.max() <= 150
    x = np.asarray(trials.inputs)
    i = 0
    s0, s1 = e["stimulus1"][i]
    t0, t1 = e["stimulus2"][i]
    assert (s0, s1) == (5, 30) and t0 == 30 + delay[i] and t1 - t0 == 25
    assert abs(x[i, s0:s1, c["sample"][i]].mean() - 1) < 0.03
    assert abs(x[i, s0:s1, 1 - c["sample"][i]].mean()) < 0.03
    assert abs(x[i, t0:t1, c["test"][i]].mean() - 1) < 0.03
    resid = x[:, :5]
    assert abs(resid.std() - 0.03) < 0.003
    d0, d1 = e["decision"][i]
    assert d1 - d0 == 50
    np.testing.assert_array_equal(np.asarray(trials.targets)[i, d0:d1, 0], c["target"][i])
    grid = task.conditions(jax.random.key(1))
    np.testing.assert_array_equal(grid.conditions["match"], [1, 0, 0, 1])
    ng = nd.tasks.DelayMatchSample(preset="neurogym")
    assert (ng.n_inputs, ng.n_outputs, ng.n_steps) == (3, 3, 32)


def test_working_memory_bad_input():
    with pytest.raises(ValueError, match="preset"):
        nd.tasks.DelayComparison(preset="romo")
    with pytest.raises(ValueError, match="pairs"):
        nd.tasks.DelayComparison(pairs=((10.0, 10.0),))
    with pytest.raises(ValueError, match="pairs"):
        nd.tasks.DelayComparison(pairs=((10.0, -5.0),))
    with pytest.raises(ValueError, match="delay must be a non-negative multiple of dt"):
        nd.tasks.DelayComparison(delay=(500.0, 1010.0))
    with pytest.raises(ValueError, match="stimulus1 must last at least one time step"):
        nd.tasks.DelayComparison(stimulus1=0.0)
    with pytest.raises(ValueError, match="fixation must be a non-negative multiple"):
        nd.tasks.DelayMatchSample(fixation=-20.0)
    with pytest.raises(ValueError, match="fixation must be a non-negative multiple of dt=30.0"):
        nd.tasks.DelayMatchSample(dt=30.0)
