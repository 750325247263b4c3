import jax
import numpy as np
import pytest

import neurodyn as nd

B = 256  # the batch size of tests/test_tasks_common.py, so `sample` compiles once


@pytest.fixture(scope="module")
def ctx():
    task = nd.tasks.ContextDecisionMaking()
    return task, task.sample(jax.random.key(0), B)


def test_context_dubreuil_layout(ctx):
    task, trials = ctx
    assert (task.n_inputs, task.n_outputs, task.dt) == (4, 1, 20.0)
    # 100 + 340 + 800 + 100 + 20 ms at 20 ms.
    assert task.n_steps == 68
    bounds = {k: tuple(np.asarray(v[0])) for k, v in trials.epochs.items()}
    assert bounds == {
        "fixation": (0, 5),
        "context_only": (5, 22),
        "stimulus": (22, 62),
        "delay": (62, 67),
        "decision": (67, 68),
    }
    c = trials.conditions
    ca, cb, ctx_ = (np.asarray(c[k]) for k in ("coh_a", "coh_b", "context"))
    allowed = {-0.4, -0.2, -0.1, 0.1, 0.2, 0.4}
    assert set(np.round(ca.astype(float), 6)) == allowed
    assert set(np.round(cb.astype(float), 6)) == allowed
    assert set(ctx_) == {0, 1} and abs(ctx_.mean() - 0.5) < 0.1
    target = np.sign(np.where(ctx_ == 0, ca, cb))
    np.testing.assert_array_equal(c["target"], target)
    # Inputs: coherences during the stimulus plus N(0, 0.1²) noise; context 0.1 from 5 to 67.
    u = np.asarray(trials.inputs)
    stim = np.zeros(68, bool)
    stim[22:62] = True
    resid = u[:, :, :2] - np.stack([ca, cb], 1)[:, None, :] * stim[None, :, None]
    assert abs(resid.std() - 0.1) < 0.005 and abs(resid.mean()) < 0.005
    on = np.zeros(68, bool)
    on[5:67] = True
    expect = 0.1 * np.eye(2)[ctx_][:, None, :] * on[None, :, None]
    np.testing.assert_allclose(u[:, :, 2:], expect, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(trials.targets)[:, 67, 0], target)
    np.testing.assert_array_equal(
        np.asarray(trials.mask)[:, :, 0], np.tile(np.arange(68) == 67, (B, 1))
    )


def test_context_known_conditions_and_evaluate(ctx):
    task, trials = ctx
    # The grid of known conditions (the contract test's, compiled once): the target is the
    # sign of the attended coherence, e.g. on incongruent trials the context decides.
    grid = task.conditions(jax.random.key(2))
    g = {k: np.asarray(v) for k, v in grid.conditions.items()}
    want = np.sign(np.where(g["context"] == 0, g["coh_a"], g["coh_b"]))
    np.testing.assert_array_equal(g["target"], want)
    np.testing.assert_array_equal(np.asarray(grid.targets)[:, 67, 0], want)
    incongruent = np.isclose(g["coh_a"], 0.4) & np.isclose(g["coh_b"], -0.1)
    np.testing.assert_array_equal(g["target"][incongruent], [1.0, -1.0])  # contexts 0, 1
    out = np.zeros(trials.targets.shape, np.float32)
    out[:, 67, 0] = np.where(np.arange(B) % 2 == 0, 1.0, -1.0)
    s = task.evaluate(out, trials)
    np.testing.assert_array_equal(s.choice, out[:, 67, 0])
    assert float(s.accuracy) == pytest.approx(
        np.mean(out[:, 67, 0] == trials.conditions["target"])
    )
    assert grid.inputs.shape == (6 * 6 * 2, 68, 4)
    assert np.array_equal(np.unique(g["context"], return_counts=True)[1], [36, 36])


def test_context_neurogym_preset():
    task = nd.tasks.ContextDecisionMaking(preset="neurogym")
    assert (task.n_inputs, task.n_outputs, task.dt) == (7, 3, 100.0)
    trials = task.sample(jax.random.key(0), B)
    delay = np.asarray(trials.conditions["delay"])
    # Exponential (mean 600) conditioned on [300, 3000), floored to 100 ms: mean ≈ 820.
    assert delay.min() >= 300 and delay.max() < 3000 and 700 < delay.mean() < 950
    assert set(np.abs(np.round(np.asarray(trials.conditions["coh_a"]), 4))) == {5, 15, 50}
    i = int(np.argmax(np.asarray(trials.conditions["target"]) > 0))
    e = {k: np.asarray(v[i]) for k, v in trials.epochs.items()}
    x = np.asarray(trials.inputs[i])
    assert (x[: e["fixation"][1], 0] == 1).all() and (x[e["fixation"][1] :, 0] == 0).all()
    ca = float(trials.conditions["coh_a"][i])
    s0, s1 = e["stimulus"]
    assert abs(x[s0:s1, 1].mean() - (0.5 + ca / 200)) < 0.15
    d0, d1 = e["decision"]
    y = np.asarray(trials.targets[i])
    np.testing.assert_array_equal(y[d0:d1], [[0, 1, 0]] * (d1 - d0))
    np.testing.assert_array_equal(y[:d0, 0], 1)
    assert np.asarray(trials.mask[i, :d1]).all() and not np.asarray(trials.mask[i, d1:]).any()
    s = task.evaluate(trials.targets, trials)
    assert float(s.accuracy) == 1.0 and not np.asarray(s.no_response).any()


def test_multisensory():
    task = nd.tasks.MultiSensoryIntegration()
    assert (task.n_inputs, task.n_outputs, task.n_steps) == (4, 1, 68)
    trials = task.sample(jax.random.key(0), B)
    c = {k: np.asarray(v) for k, v in trials.conditions.items()}
    assert set(c["modality"]) == {0, 1, 2}
    assert np.all(np.bincount(c["modality"]) > B / 3 * 0.7)
    assert (c["coh_auditory"][c["modality"] == 0] == 0).all()
    assert (c["coh_visual"][c["modality"] == 1] == 0).all()
    both = c["modality"] == 2
    assert (np.sign(c["coh_visual"][both]) == np.sign(c["coh_auditory"][both])).all()
    vis = np.abs(c["coh_visual"][c["modality"] != 1]).astype(float)
    assert set(np.round(vis, 6)) == {0.1, 0.2, 0.4}
    np.testing.assert_array_equal(c["target"], np.sign(c["coh_visual"] + c["coh_auditory"]))
    # Modality units on from the end of fixation (5) to the end of the stimulus (62).
    x = np.asarray(trials.inputs)
    on = np.zeros(68, bool)
    on[5:62] = True
    flags = np.stack([c["modality"] != 1, c["modality"] != 0], 1).astype(np.float32)
    np.testing.assert_allclose(x[:, :, 2:], 0.1 * flags[:, None, :] * on[None, :, None], atol=1e-7)
    grid = task.conditions(jax.random.key(1))
    assert grid.inputs.shape == (3 * 6, 68, 4)
    ng = nd.tasks.MultiSensoryIntegration(preset="neurogym")
    assert (ng.n_inputs, ng.n_outputs, ng.n_steps) == (5, 3, 11)


def test_context_bad_input():
    C = nd.tasks.ContextDecisionMaking
    with pytest.raises(ValueError, match="preset"):
        C(preset="mante")
    with pytest.raises(ValueError, match="coherences"):
        C(coherences=(0.1, 1.5))
    with pytest.raises(ValueError, match="coherences must not contain 0"):
        C(coherences=(0.0, 0.1))
    with pytest.raises(ValueError, match="coherences"):
        C(preset="neurogym", coherences=(5, 150))
    with pytest.raises(ValueError, match="stimulus must be a non-negative multiple of dt"):
        C(stimulus=810.0)
    with pytest.raises(ValueError, match="delay must be a non-negative multiple"):
        C(delay=-100.0)
    with pytest.raises(ValueError, match="range must have lo <= hi"):
        C(delay=(400.0, 200.0))
    with pytest.raises(ValueError, match="input_noise"):
        C(input_noise=-0.1)
    with pytest.raises(ValueError, match="dt"):
        C(dt=0.0)
    with pytest.raises(ValueError, match="coherences"):
        nd.tasks.MultiSensoryIntegration(coherences=(-0.1, 0.2))
