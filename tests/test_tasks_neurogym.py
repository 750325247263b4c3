"""The NeuroGym bridge, and agreement between it and the native classes (needs neurogym)."""

import warnings

import jax
import numpy as np
import pytest

import neurodyn as nd

pytest.importorskip("neurogym")
warnings.filterwarnings("ignore", message=".*render_modes.*")

# (NeuroGym id, its kwargs, native name, native kwargs, native epoch → NeuroGym period names)
PAIRS = [
    ("PerceptualDecisionMaking-v0", {}, "PerceptualDecisionMaking", {"preset": "neurogym"}, {}),
    (
        "ContextDecisionMaking-v0",
        {"use_expl_context": True},
        "ContextDecisionMaking",
        {"preset": "neurogym"},
        {},
    ),
    ("MultiSensoryIntegration-v0", {}, "MultiSensoryIntegration", {"preset": "neurogym"}, {}),
    ("DelayComparison-v0", {}, "DelayComparison", {"preset": "neurogym"}, {}),
    (
        "DelayMatchSample-v0",
        {},
        "DelayMatchSample",
        {"preset": "neurogym"},
        {"stimulus1": "sample", "stimulus2": "test"},
    ),
    ("GoNogo-v0", {}, "GoNogo", {}, {}),
    ("ReadySetGo-v0", {}, "ReadySetGo", {}, {}),
    ("IntervalDiscrimination-v0", {}, "IntervalDiscrimination", {}, {}),
    ("AntiReach-v0", {}, "AntiReach", {}, {}),
]
# Epochs whose durations are random in either library (compared by their start only).
RANDOM = {"delay", "measure", "production", "set", "stim1", "delay1", "stim2", "delay2", "decision"}


@pytest.mark.parametrize(
    "env_id, env_kwargs, name, kwargs, rename", PAIRS, ids=[p[2] for p in PAIRS]
)
def test_bridge_agrees_with_native(env_id, env_kwargs, name, kwargs, rename):
    bridge = nd.tasks.NeuroGymTask(env_id, env_kwargs=env_kwargs, probe=50)
    native = nd.tasks.make(name, **kwargs)
    assert (bridge.n_inputs, bridge.n_outputs, bridge.dt) == (
        native.n_inputs,
        native.n_outputs,
        native.dt,
    )
    a = bridge.sample(jax.random.key(0), 8)
    b = native.sample(jax.random.key(0), 8)
    assert a.inputs.shape[2] == b.inputs.shape[2]
    ep = {k: np.asarray(v) for k, v in b.epochs.items()}
    fixed_native = {k for k in ep if (ep[k] == ep[k][:1]).all()}
    for epoch in b.epochs:
        period = rename.get(epoch, epoch)
        if epoch == "context_only" or (epoch == "delay" and period not in a.epochs):
            continue
        assert period in a.epochs, (epoch, sorted(a.epochs))
        if epoch in fixed_native and epoch not in RANDOM:
            np.testing.assert_array_equal(a.epochs[period][0], b.epochs[epoch][0])


def test_bridge_trials_are_reproducible_and_score():
    task = nd.tasks.NeuroGymTask("PerceptualDecisionMaking-v0", probe=10)
    a = task.sample(jax.random.key(3), 16)
    b = jax.jit(task.sample, static_argnums=1)(jax.random.key(3), 16)
    c = task.sample(jax.random.key(4), 16)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert not np.array_equal(a.inputs, c.inputs)
    assert a.inputs.shape == (16, 22, 3) and a.targets.shape == (16, 22, 3)
    assert set(a.conditions) >= {"ground_truth", "coh", "label"}
    np.testing.assert_array_equal(a.conditions["label"], a.conditions["ground_truth"] + 1)
    assert float(task.evaluate(a.targets, a)["accuracy"]) == 1.0
    assert isinstance(
        nd.tasks.make("NeuroGymTask", env="GoNogo-v0", probe=5), nd.tasks.AbstractTask
    )
    with pytest.raises(ValueError, match="env_kwargs"):
        nd.tasks.NeuroGymTask(task.env, env_kwargs={"dt": 10})
