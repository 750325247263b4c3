"""The tasks' shape after the seams refactor: abstract-or-final classes, one name for building
trials from conditions, results as NamedTuples, a sampler cache that lets tasks go, and the
deprecated names that still work (with a warning) for one release."""

import gc
import inspect
import sys
import warnings
import weakref

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest

import neurodyn as nd
from neurodyn.tasks import _compile
from neurodyn.tasks._context import _AbstractContextTask

ABSTRACT = (
    nd.tasks.AbstractTask,
    nd.tasks.AbstractEpochTask,
    nd.tasks.AbstractChoiceTask,
    _AbstractContextTask,
)


def _all_subclasses(cls):
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _all_subclasses(sub)
    return out


def _library_classes():
    """The task classes neurodyn's modules define. (Older equinox versions make same-named
    subclasses of a Module class while instances are built; those are not the library's.)"""
    subclasses = _all_subclasses(nd.tasks.AbstractTask)
    return {c for c in subclasses if c.__module__.startswith("neurodyn.")
            and getattr(sys.modules[c.__module__], c.__qualname__, None) is c}


def test_task_classes_are_abstract_or_final():
    """Every task class of the library is either abstract (named `Abstract*`, cannot be built)
    or concrete and final (registered, and no library class derives from it)."""
    registered = {nd.tasks._registry._REGISTRY[n] for n in nd.tasks.names()}
    for cls in ABSTRACT:
        assert cls.__name__.lstrip("_").startswith("Abstract")
        assert inspect.isabstract(cls), cls
        with pytest.raises(TypeError):
            cls()
    for cls in _library_classes():
        if cls in ABSTRACT:
            continue
        assert not inspect.isabstract(cls), cls
        assert cls in registered, cls
        assert not (_all_subclasses(cls) & _library_classes()), f"{cls} is subclassed"
    # The old abstract names are gone (they were never public).
    assert not hasattr(nd.tasks, "EpochTask") and not hasattr(nd.tasks, "ChoiceTask")


def test_epoch_fields_are_the_normalised_durations():
    """The constructors assign every epoch field explicitly, in `epoch_names` order."""
    task = nd.tasks.ContextDecisionMaking(preset="neurogym")
    assert task.epoch_names == ("fixation", "context_only", "stimulus", "delay", "decision")
    assert task.delay == ("truncexp", 600.0, 300.0, 3000.0)
    assert (task.fixation, task.stimulus) == (300.0, 700.0)
    with pytest.raises(ValueError, match="decision must last at least one time step"):
        nd.tasks.IntervalDiscrimination(decision=0.0)


def test_one_name_builds_trials_from_conditions():
    """`trials_from_conditions` on every task that builds trials from given conditions; the old
    names are one deprecated alias each (same trials), `trials_from_coherence` is gone."""
    key = jax.random.key(3)
    for name in nd.tasks.names():
        if name != "NeuroGymTask":
            assert hasattr(nd.tasks.make(name), "trials_from_conditions"), name
    assert not hasattr(nd.tasks.PerceptualDecisionMaking(), "trials_from_coherence")

    flip = nd.tasks.FlipFlop(input_noise=0.1)
    pulses = flip.sample_pulses(jax.random.key(0), 4)
    with pytest.warns(DeprecationWarning, match="trials_from_conditions"):
        old = flip.trials_from_pulses(key, pulses)
    new = flip.trials_from_conditions(key, pulses)
    np.testing.assert_array_equal(old.inputs, new.inputs)
    np.testing.assert_array_equal(old.targets, new.targets)

    yang = nd.tasks.Yang19()
    u = jax.random.uniform(jax.random.key(1), (18, 4))
    rule = np.array([0, 6, 16, 19])
    with pytest.warns(DeprecationWarning, match="trials_from_conditions"):
        old = yang.trials_from_uniforms(key, rule, u)
    new = yang.trials_from_conditions(key, rule, u)
    np.testing.assert_array_equal(old.inputs, new.inputs)
    np.testing.assert_array_equal(old.mask, new.mask)


@pytest.mark.parametrize("make_task", [
    lambda: nd.tasks.PerceptualDecisionMaking(),
    lambda: nd.tasks.FlipFlop(),
    lambda: nd.tasks.Yang19(rules=("dm1", "fdgo")),
])
def test_a_task_is_freed_after_use(make_task):
    """Sampling, the grid, building trials and scoring keep no reference to the task: it is
    garbage-collected as soon as the user drops it (the sampler cache is keyed by the task's
    configuration and holds the task itself only weakly)."""
    task = make_task()
    trials = task.sample(jax.random.key(0), 8)
    grid = task.conditions(jax.random.key(1))
    task.evaluate(grid.targets, grid)
    task.evaluate(trials.targets, trials)
    ref = weakref.ref(task)
    del task
    gc.collect()
    assert ref() is None


def test_the_sampler_cache_is_bounded(monkeypatch):
    """At most `MAX_PROGRAMS` compiled samplers are kept for configurations; a live task keeps
    its own, and equal tasks still share one."""
    monkeypatch.setattr(_compile, "MAX_PROGRAMS", 2)
    tasks = [nd.tasks.PerceptualDecisionMaking(input_noise=0.3 + 0.01 * i) for i in range(4)]
    first = [t.sample(jax.random.key(0), 2) for t in tasks]
    assert len(_compile._BY_CONFIG) <= 2
    again = [t.sample(jax.random.key(0), 2) for t in tasks]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.inputs, b.inputs)


def test_evaluate_returns_a_score_for_every_task():
    """`evaluate` returns a `Score` NamedTuple (never a dict) whatever the task or preset, with
    `accuracy`, `correct`, `choice` always filled; under `jit` too."""
    for name in nd.tasks.names():
        if name == "NeuroGymTask":
            continue
        task = nd.tasks.make(name)
        grid = task.conditions(jax.random.key(0))
        score = task.evaluate(grid.targets, grid)
        assert type(score) is nd.tasks.Score, name
        assert score.accuracy.shape == () and score.correct.shape == (grid.batch_size,)
        assert score.choice.shape[0] == grid.batch_size
        assert set(score.to_dict()) >= {"accuracy", "correct", "choice"}
        assert type(jax.jit(task.evaluate)(grid.targets, grid)) is nd.tasks.Score


def test_dict_style_access_is_deprecated_but_works():
    task = nd.tasks.DelayComparison()
    grid = task.conditions(jax.random.key(0))
    score = task.evaluate(grid.targets, grid)
    with pytest.warns(DeprecationWarning, match=r"\.accuracy"):
        assert score["accuracy"] is score.accuracy
    with pytest.warns(DeprecationWarning), pytest.raises(KeyError):
        score["no_response"]  # None for this layout: the old dict had no such key
    assert score[0] is score.accuracy  # tuple indexing is untouched
    assert set(score.to_dict()) == {"accuracy", "correct", "choice", "mse", "correlation"}

    curve = nd.tasks.psychometric(np.array([1, -1, 1, 1]), np.array([0.1, 0.1, 0.2, 0.2]),
                                  fit="logistic")
    assert isinstance(curve, nd.tasks.PsychometricCurve)
    assert isinstance(curve.fit, nd.tasks.PsychometricFit)
    with pytest.warns(DeprecationWarning, match=r"\.p_positive"):
        np.testing.assert_array_equal(curve["p_positive"], curve.p_positive)
    with pytest.warns(DeprecationWarning, match="to_dict"):
        assert dict(curve.items()).keys() == curve.to_dict().keys()
    assert set(nd.tasks.psychometric(np.ones(2), np.arange(2.0)).to_dict()) == {
        "values", "p_positive", "n", "sem"}
    fit = curve.fit
    assert fit.to_dict()["threshold"] == fit.threshold
    with pytest.warns(DeprecationWarning, match="to_dict"):
        assert fit.as_dict() == fit.to_dict()


def test_plot_trial_takes_ax_and_axes_is_deprecated():
    task = nd.tasks.PerceptualDecisionMaking()
    trials = task.conditions(jax.random.key(0))
    _, axes = plt.subplots(3, 1)
    assert nd.plot.trial(trials, 0, ax=axes)[0] is axes[0]
    _, old = plt.subplots(3, 1)
    with pytest.warns(DeprecationWarning, match="ax="):
        got = nd.plot.trial(trials, 0, axes=old)
    assert got[0] is old[0]
    for a, b in zip(axes, old):
        assert len(a.get_lines()) == len(b.get_lines())
    with pytest.raises(TypeError, match="not both"):
        nd.plot.trial(trials, 0, ax=axes, axes=old)
    # The psychometric figure reads a curve, or a dict of its fields (a curve from JSON).
    curve = nd.tasks.psychometric(np.array([1, -1, 1, 1]), np.array([0.1, 0.1, 0.2, 0.2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = nd.plot.psychometric({k: np.asarray(v).tolist() for k, v in curve.to_dict().items()})
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(), curve.p_positive)
    plt.close("all")
