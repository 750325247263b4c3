"""Properties every task of the library must have: shapes, keys, jit, vmap, no Python loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd

# (name, kwargs) for every native task and preset.
CASES = [
    ("PerceptualDecisionMaking", {"preset": "dubreuil2022"}),
    ("ContextDecisionMaking", {"preset": "dubreuil2022"}),
    ("ContextDecisionMaking", {"preset": "neurogym"}),
    ("MultiSensoryIntegration", {"preset": "dubreuil2022"}),
    ("DelayComparison", {"preset": "dubreuil2022"}),
    ("DelayComparison", {"preset": "neurogym"}),
    ("DelayMatchSample", {"preset": "dubreuil2022"}),
    ("FlipFlop", {"preset": "golub2018"}),
]
EXTRA = [
    ("GoNogo", {}),
    ("ReadySetGo", {}),
    ("IntervalDiscrimination", {}),
    ("AntiReach", {}),
    ("SineWaveGenerator", {}),
    ("Yang19", {}),
]
CASES += [c for c in EXTRA if c[0] in nd.tasks.names()]
IDS = [f"{n}-{'-'.join(str(v) for v in kw.values()) or 'default'}" for n, kw in CASES]
# Longer variants, deselected by default (run with -m slow).
SLOW_CASES = [
    ("PerceptualDecisionMaking", {"preset": "neurogym"}),
    ("MultiSensoryIntegration", {"preset": "neurogym"}),
    ("DelayMatchSample", {"preset": "neurogym"}),
    ("FlipFlop", {"preset": "sparse"}),
    ("AntiReach", {"anti": False}),
    ("Yang19", {"rules": ("dm1",)}),
    ("FlipFlop", {"preset": "golub2018", "first_pulse": False}),
]


@pytest.mark.parametrize(
    "name, kwargs",
    CASES + [pytest.param(*c, marks=pytest.mark.slow) for c in SLOW_CASES],
    ids=IDS + [f"slow-{n}-{i}" for i, (n, _) in enumerate(SLOW_CASES)],
)
def test_task_contract(name, kwargs):
    """Shapes, dtypes, keys, jit, vmap, evaluate and grids, with few compilations (one
    `sample` per batch size, one `evaluate`, one grid)."""
    task = nd.tasks.make(name, **kwargs)
    B, T = 256, task.n_steps  # the batch size the per-task tests use too: compiled once
    trials = task.sample(jax.random.key(0), B)
    # Shapes and dtypes.
    assert trials.inputs.shape == (B, T, task.n_inputs)
    assert trials.targets.shape == (B, T, task.n_outputs)
    assert trials.mask.shape == (B, T, task.n_outputs)
    for x in (trials.inputs, trials.targets, trials.mask):
        assert x.dtype == jnp.float32
    assert trials.dt == task.dt
    mask = np.asarray(trials.mask)
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert mask.any(axis=(1, 2)).all(), "every trial has scored steps"
    np.testing.assert_array_equal(np.asarray(trials.targets) * (1 - mask), 0)
    for cname, v in trials.conditions.items():
        assert v.shape[0] == B, cname
    for ename, b in trials.epochs.items():
        assert b.shape == (B, 2) and b.dtype == jnp.int32, ename
        b = np.asarray(b)
        assert (b[:, 0] <= b[:, 1]).all() and (b[:, 0] >= 0).all() and (b[:, 1] <= T).all()
    # Same key, same trials; another key, other trials (both hit the compiled cache).
    again = task.sample(jax.random.key(0), B)
    for x, y in zip(jax.tree_util.tree_leaves(trials), jax.tree_util.tree_leaves(again)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(trials.inputs, task.sample(jax.random.key(1), B).inputs)

    # `sample` is compiled (jit) on its own; under vmap and an outer jit in test_jit_and_vmap.
    # No Python loop over trials: the traced program does not grow with the batch.
    def n_eqns(batch):
        return len(jax.make_jaxpr(lambda k: task.sample(k, batch))(jax.random.key(0)).eqns)

    assert n_eqns(2) == n_eqns(40)
    # Evaluation: the targets score perfectly, silent outputs do not.
    score = task.evaluate(trials.targets, trials)
    assert {"accuracy", "choice", "correct"} <= set(score.to_dict())
    assert score.correct.shape == (B,)
    assert float(score.accuracy) == 1.0
    assert float(task.evaluate(0 * trials.targets, trials).accuracy) < 1.0
    # The grid of conditions is deterministic (the key only draws noise).
    g1, g2 = task.conditions(jax.random.key(2)), task.conditions(jax.random.key(9))
    for cname in g1.conditions:
        np.testing.assert_array_equal(g1.conditions[cname], g2.conditions[cname])
    # Bad input.
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            task.sample(jax.random.key(0), bad)
    with pytest.raises(ValueError, match="outputs must have the shape"):
        task.evaluate(trials.targets[:, :-1], trials)


# vmap compiles a batched copy of `sample`: checked on one task here, on all with -m slow
# (sampling is the same code path for every task: epoch layout, windows, flat draws).
VMAP_CASES = [("ContextDecisionMaking", {"preset": "dubreuil2022"})]


@pytest.mark.parametrize(
    "name, kwargs",
    [pytest.param(*c, marks=() if c in VMAP_CASES else pytest.mark.slow) for c in CASES],
    ids=IDS,
)
def test_jit_and_vmap(name, kwargs):
    """`sample` and `evaluate` under one outer `jit` of a `vmap` over keys (one compilation)
    give what the eagerly called (separately compiled) methods give."""
    task = nd.tasks.make(name, **kwargs)
    B, T = 256, task.n_steps  # the contract test's batch: `sample` is already compiled

    @jax.jit
    @jax.vmap
    def sample_and_score(k):
        trials = task.sample(k, B)
        return trials, task.evaluate(trials.targets, trials).accuracy

    many, acc = sample_and_score(jnp.stack([jax.random.key(0), jax.random.key(1)]))
    assert many.inputs.shape == (2, B, T, task.n_inputs)
    for i in range(2):
        eager = task.sample(jax.random.key(i), B)
        np.testing.assert_allclose(many.inputs[i], eager.inputs, atol=1e-6)
        np.testing.assert_array_equal(many.targets[i], eager.targets)
    np.testing.assert_array_equal(acc, [1.0, 1.0])


def test_registry_knows_the_library():
    for name in (
        "PerceptualDecisionMaking",
        "ContextDecisionMaking",
        "MultiSensoryIntegration",
        "DelayComparison",
        "DelayMatchSample",
        "FlipFlop",
    ):
        assert name in nd.tasks.names()
        assert isinstance(nd.tasks.make(name), nd.tasks.AbstractTask)
