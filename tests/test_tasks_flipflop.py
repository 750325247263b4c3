import jax
import numpy as np
import pytest

import neurodyn as nd


def reference_targets(pulses):
    """FixedPointFinder's loop: from each pulse on, the bit holds that pulse's sign."""
    out = np.zeros_like(pulses)
    mask = np.zeros_like(pulses)
    for b in range(pulses.shape[0]):
        for k in range(pulses.shape[2]):
            for t in np.flatnonzero(pulses[b, :, k]):
                out[b, t:, k] = pulses[b, t, k]
                mask[b, t:, k] = 1
    return out, mask


def test_flipflop_layout_and_pulse_statistics():
    task = nd.tasks.FlipFlop()
    assert (task.n_inputs, task.n_outputs, task.n_steps, task.dt) == (3, 3, 64, 20.0)
    trials = task.sample(jax.random.key(0), 256)  # the batch size of test_tasks_common.py
    p = np.asarray(trials.conditions["pulses"])
    assert p.shape == (256, 64, 3)
    assert set(np.unique(p)) == {-1.0, 0.0, 1.0}
    assert (p[:, 0] != 0).all(), "every bit is pulsed at t = 0"
    rate = np.mean(p[:, 1:] != 0)
    assert abs(rate - 0.5) < 0.015
    assert abs(np.mean(p[p != 0] > 0) - 0.5) < 0.015
    # Without noise the inputs are the pulses themselves.
    np.testing.assert_array_equal(trials.inputs, p)
    ref, ref_mask = reference_targets(p)
    np.testing.assert_array_equal(trials.targets, ref)
    np.testing.assert_array_equal(trials.mask, ref_mask)
    np.testing.assert_array_equal(trials.conditions["final"], ref[:, -1])
    np.testing.assert_array_equal(trials.conditions["n_pulses"], np.abs(p).sum(axis=(1, 2)))


def test_flipflop_known_pulse_train_and_masking():
    task = nd.tasks.FlipFlop(n_bits=2, duration=600.0, first_pulse=False, pulse_prob=0.1)
    assert task.n_steps == 30
    pulses = np.zeros((1, 30, 2), np.float32)
    pulses[0, 3, 0], pulses[0, 10, 0], pulses[0, 20, 0] = 1, -1, -1
    pulses[0, 7, 1] = -1
    trials = task.trials_from_conditions(jax.random.key(0), pulses)
    tgt, mask = np.asarray(trials.targets[0]), np.asarray(trials.mask[0])
    np.testing.assert_array_equal(mask[:, 0], np.arange(30) >= 3)
    np.testing.assert_array_equal(mask[:, 1], np.arange(30) >= 7)
    np.testing.assert_array_equal(tgt[3:10, 0], 1)
    np.testing.assert_array_equal(tgt[10:, 0], -1)
    np.testing.assert_array_equal(tgt[7:, 1], -1)
    # Sparser pulses without the forced first pulse: the rate is pulse_prob everywhere.
    p = np.asarray(task.sample_pulses(jax.random.key(1), 400))  # what `sample` draws
    assert abs(np.mean(p != 0) - 0.1) < 0.01


def test_flipflop_conditions_are_the_corners():
    task = nd.tasks.FlipFlop()
    grid = task.conditions(jax.random.key(0), repeats=2)
    assert grid.inputs.shape == (16, 64, 3)
    final = np.asarray(grid.conditions["final"])
    assert len({tuple(r) for r in final}) == 8
    np.testing.assert_array_equal(np.asarray(grid.conditions["pulses"])[:, 1:], 0)
    np.testing.assert_array_equal(grid.targets, np.broadcast_to(final[:, None], (16, 64, 3)))


def test_flipflop_evaluate():
    task = nd.tasks.FlipFlop()  # settle = 60 ms = 3 steps after each pulse
    trials = task.sample(jax.random.key(2), 256)
    perfect = task.evaluate(trials.targets, trials)
    assert float(perfect.accuracy) == 1.0 and float(perfect.mse) == 0.0
    np.testing.assert_array_equal(perfect.choice, trials.conditions["final"])
    # A wrong sign on the pulse step itself is forgiven; a wrong sign on a held step is not.
    grid = task.conditions(jax.random.key(0))
    out = np.array(grid.targets)
    out[0, 0, 0] *= -1
    assert bool(task.evaluate(out, grid).correct[0])
    out[0, 30, 0] *= -1
    score = task.evaluate(out, grid)
    assert not bool(score.correct[0]) and bool(score.correct[1:].all())
    assert float(score.step_accuracy) == pytest.approx(1 - 1 / (8 * 61 * 3))


def test_flipflop_bad_input():
    with pytest.raises(ValueError, match="preset"):
        nd.tasks.FlipFlop(preset="nope")
    with pytest.raises(ValueError, match="pulse_prob"):
        nd.tasks.FlipFlop(pulse_prob=1.5)
    with pytest.raises(ValueError, match="n_bits"):
        nd.tasks.FlipFlop(n_bits=0)
    with pytest.raises(ValueError, match="duration must be a non-negative multiple of dt"):
        nd.tasks.FlipFlop(duration=1290.0)
    with pytest.raises(ValueError, match="dt"):
        nd.tasks.FlipFlop(dt=-1.0)
    with pytest.raises(ValueError, match="pulses must have shape"):
        nd.tasks.FlipFlop().trials_from_conditions(jax.random.key(0), np.zeros((2, 10, 3)))
