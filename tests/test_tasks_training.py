"""Every core task trains: a small network learns it above chance (slow; run with -m slow)."""

import jax
import pytest

import neurodyn as nd

CASES = [
    # (task name, kwargs, rank or None for full rank, steps, accuracy that beats chance)
    ("PerceptualDecisionMaking", {}, 1, 300, 0.8),
    ("ContextDecisionMaking", {}, 2, 600, 0.75),
    ("DelayComparison", {}, 2, 800, 0.7),
    ("FlipFlop", {"preset": "sparse"}, None, 600, 0.3),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, kwargs, rank, steps, threshold",
    CASES,
    ids=["PDM", "ContextDM", "Romo", "FlipFlop"],
)
def test_small_network_learns(name, kwargs, rank, steps, threshold):
    task = nd.tasks.make(name, **kwargs)
    key = jax.random.key(0)
    if rank is None:
        model = nd.models.FullRankRNN(128, task.n_inputs, task.n_outputs, key=key)
    else:
        model = nd.models.LowRankRNN(128, rank, task.n_inputs, task.n_outputs, key=key)
    fit = nd.train.fit(
        model, task, key=jax.random.key(1), steps=steps, eval_every=100, progress=False
    )
    trials = task.sample(jax.random.key(2), 256)
    outputs = fit.model.simulate(trials.inputs, key=jax.random.key(3)).outputs
    assert float(task.evaluate(outputs, trials)["accuracy"]) > threshold


@pytest.mark.slow
def test_match_to_sample_learns_from_short_trials():
    """Delayed match-to-sample (see benchmarks/tasks_dms_curriculum.py for the curriculum).

    Plain training on the preset's delays (1500 steps, 128 units) stayed at chance (0.54 at
    rank 2, 0.55 at full rank). The first stage of a curriculum is enough: a full-rank network
    that also trains its input and output vectors, trained 300 steps at learning rate 3e-3 on
    short trials (delay 0–100 ms, decision 100 ms), already scores 0.85 (seed 0) on the
    preset's own trials (delay 500–3000 ms, decision 1000 ms)."""
    key = jax.random.key(0)
    model = nd.models.FullRankRNN(
        128, 2, 1, train=("J", "input_vectors", "input_gains", "output_vectors", "output_gains"),
        key=key,
    )
    short = nd.tasks.DelayMatchSample(delay=(0.0, 100.0), decision=100.0)
    fit = nd.train.fit(
        model, short, key=jax.random.fold_in(jax.random.fold_in(key, 7), 0), steps=300,
        learning_rate=3e-3, eval_every=100, progress=False,
    )
    for task in (short, nd.tasks.DelayMatchSample()):
        k = jax.random.fold_in(key, 100)
        trials = task.sample(k, 512)
        outputs = fit.model.simulate(trials.inputs, key=jax.random.fold_in(k, 1)).outputs
        assert float(task.evaluate(outputs, trials)["accuracy"]) > 0.75
