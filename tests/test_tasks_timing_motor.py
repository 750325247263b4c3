import jax
import numpy as np
import pytest

import neurodyn as nd
from neurodyn.tasks._epochs import duration_steps, normalize_duration, sample_steps

B = 256  # the batch size of tests/test_tasks_common.py, so `sample` compiles once


def test_gonogo():
    task = nd.tasks.GoNogo()
    trials = task.sample(jax.random.key(0), B)
    go = np.asarray(trials.conditions["go"])
    assert abs(go.mean() - 0.5) < 0.1
    x, y = np.asarray(trials.inputs), np.asarray(trials.targets)
    np.testing.assert_array_equal(x[:, 0:5, 1:].argmax(-1)[:, 0], go)  # cue unit
    np.testing.assert_array_equal(x[:, :10, 0], 1)
    np.testing.assert_array_equal(x[:, 10:, 0], 0)
    np.testing.assert_array_equal(y[:, 10:, 1], np.repeat(go[:, None], 5, 1))
    s = task.evaluate(trials.targets, trials)
    np.testing.assert_array_equal(s.choice, go)


def test_ready_set_go():
    task = nd.tasks.ReadySetGo()
    assert task.dt == 80.0 and task.n_steps == 1 + 18 + 1 + 36
    trials = task.sample(jax.random.key(0), B)
    m = np.asarray(trials.conditions["measure"])
    assert m.min() >= 800 and m.max() <= 1440 and len(set(m)) >= 8
    np.testing.assert_allclose(trials.conditions["production"], m)  # gain 1
    e = {k: np.asarray(v) for k, v in trials.epochs.items()}
    np.testing.assert_array_equal(e["measure"][:, 1] - e["measure"][:, 0], m / 80)
    y = np.asarray(trials.targets)[:, :, 1]
    go_at = e["production"][:, 0] + m / 80
    np.testing.assert_array_equal(y.argmax(1), go_at)
    assert (y.sum(1) == 1).all()
    s = task.evaluate(trials.targets, trials)
    np.testing.assert_allclose(s.choice, m)
    late = np.array(trials.targets)
    late[:, :, 1] = 0
    idx = np.arange(B)
    late[idx, (go_at + 4).astype(int), 1] = 2.0  # 4 steps = 320 ms late: within 0.2·m + 25?
    s = task.evaluate(late, trials)
    np.testing.assert_array_equal(s.correct, 320 <= 0.2 * m + 25)
    assert nd.tasks.ReadySetGo(gain=1.5).n_steps == 1 + 18 + 1 + 54
    with pytest.raises(ValueError, match="gain"):
        nd.tasks.ReadySetGo(gain=0)


def test_interval_discrimination():
    task = nd.tasks.IntervalDiscrimination()
    trials = task.sample(jax.random.key(0), B)
    d1, d2 = (np.asarray(trials.conditions[k]) for k in ("duration1", "duration2"))
    # NeuroGym's U(300, 600) ms floored to 80 ms steps: 240 ms (3 steps) included.
    allowed = {240.0, 320.0, 400.0, 480.0, 560.0}
    assert set(d1) == allowed and set(d2) == allowed
    np.testing.assert_array_equal(trials.conditions["target"], np.where(d1 > d2, 1.0, -1.0))
    x = np.asarray(trials.inputs)
    np.testing.assert_array_equal(x[:, :, 1].sum(1) * 80, d1)
    np.testing.assert_array_equal(x[:, :, 2].sum(1) * 80, d2)
    grid = task.conditions(jax.random.key(1))
    assert grid.inputs.shape[0] == 25


@pytest.mark.parametrize("lo, hi, dt", [(300.0, 600.0, 80.0), (800.0, 1500.0, 80.0),
                                        (320.0, 640.0, 80.0), (100.0, 100.0, 20.0)])
def test_floor_uniform_durations_follow_neurogym_law(lo, hi, dt):
    """("floor_uniform", lo, hi): floor(U[lo, hi) / dt) steps, with the probability of n steps
    the length of [n·dt, (n+1)·dt) ∩ [lo, hi) over hi − lo (NeuroGym's `t // dt * dt`)."""
    spec = normalize_duration(("floor_uniform", lo, hi), dt, "x")
    u = jax.random.uniform(jax.random.key(0), (200_000,))
    n = np.asarray(sample_steps(u, spec, dt))
    a, b = duration_steps(spec, dt)
    want_lo, want_hi = int(lo // dt), int(np.ceil(hi / dt)) - 1 if hi > lo else int(lo // dt)
    assert (a, b) == (want_lo, want_hi) and n.min() == a and n.max() == b
    if hi > lo:
        k = np.arange(a, b + 1)
        p = (np.minimum((k + 1) * dt, hi) - np.maximum(k * dt, lo)) / (hi - lo)
        freq = np.bincount(n - a, minlength=k.size) / n.size
        np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(p * (1 - p) / n.size).max())
    with pytest.raises(ValueError, match="lo <= hi"):
        normalize_duration(("floor_uniform", hi + 1, hi), dt, "x")
    with pytest.raises(ValueError, match="x lo must be >= 0"):
        normalize_duration(("floor_uniform", -1.0, hi), dt, "x")


def test_anti_reach():
    for anti in (True, False):
        task = nd.tasks.AntiReach(anti=anti)
        assert (task.n_inputs, task.n_outputs) == (33, 33)
        trials = task.sample(jax.random.key(0), B)
        gt = np.asarray(trials.conditions["ground_truth"])
        assert len(set(gt)) > 20
        ring = np.asarray(trials.inputs)[:, 5:10, 1:].mean(1)
        peak = ring.argmax(1)
        np.testing.assert_array_equal(peak, (gt + 16 * anti) % 32)
        np.testing.assert_array_equal(np.asarray(trials.targets)[:, 12, 1:].argmax(1), gt)
        np.testing.assert_array_equal(task.evaluate(trials.targets, trials).choice, gt)


def test_sine_wave_generator():
    task = nd.tasks.SineWaveGenerator()
    assert (task.n_inputs, task.n_outputs, task.n_steps) == (1, 1, 100)
    trials = task.sample(jax.random.key(0), B)
    idx = np.asarray(trials.conditions["index"])
    np.testing.assert_allclose(trials.inputs[:, 0, 0], (idx + 1) / 51 + 0.25, rtol=1e-6)
    f = np.asarray(trials.conditions["frequency"])
    t = np.arange(1, 101) * 0.02
    np.testing.assert_allclose(
        trials.targets[:, :, 0], np.sin(2 * np.pi * f[:, None] * t), atol=1e-5
    )
    s = task.evaluate(trials.targets, trials)
    np.testing.assert_array_equal(s.choice, idx)
    with pytest.raises(ValueError, match="frequencies"):
        nd.tasks.SineWaveGenerator(frequencies=(1.0, 30.0))  # above Nyquist at dt = 20 ms
