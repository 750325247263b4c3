"""Bad input to the tasks: `tasks.make`, the task constructors, `sample`, `evaluate` and the
psychometric functions answer every bad argument with a clear error naming it, before anything
is compiled (property-based: see tests/badinput.py)."""

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinput import (
    FUZZ,
    assert_clear_error,
    bad_bool,
    bad_count,
    bad_key,
    bad_nonnegative_number,
    bad_positive_number,
    not_a_number,
)
from hypothesis import assume, given, strategies as st

import neurodyn as nd

# None means "the preset's value" for every task keyword: it is not a bad value there.
_set = lambda s: s.filter(lambda v: v is not None)  # noqa: E731
NATIVE = [n for n in nd.tasks.names() if n != "NeuroGymTask"]


# ---------------------------------------------------------------------------------------------
# tasks.make


@FUZZ
@given(name=st.one_of(not_a_number(), st.text(max_size=12)).filter(
    lambda v: not (isinstance(v, str) and v in nd.tasks.names())))
def test_make_name(name):
    assert_clear_error("tasks.make", "name", lambda: nd.tasks.make(name))


@FUZZ
@given(task=st.sampled_from(NATIVE), dt=_set(bad_positive_number()))
def test_make_dt(task, dt):
    assert_clear_error("tasks.make", "dt", lambda: nd.tasks.make(task, dt=dt))


@FUZZ
@given(task=st.sampled_from(NATIVE), dt=st.floats(min_value=5e-324, max_value=1e-3))
def test_make_tiny_dt(task, dt):
    """A dt so small that a trial would have more than MAX_STEPS steps (or that no duration is a
    multiple of): an error naming dt, in every task family."""
    assert_clear_error("tasks.make", "dt", lambda: nd.tasks.make(task, dt=dt))


@pytest.mark.parametrize("task", NATIVE)
def test_every_family_bounds_the_number_of_steps(task):
    steps = r"dt=1e-300 ms would make .* \d(\.\d+)?e\+30\d time steps"
    with pytest.raises(ValueError, match=steps):
        nd.tasks.make(task, dt=1e-300)


def test_the_whole_trial_is_bounded_too():
    """Every epoch under the limit, their sum over it."""
    assert nd.tasks.MAX_STEPS == 1_000_000
    kw = dict(dt=0.001, fixation=600.0, stimulus=600.0, delay=0.0, decision=1.0)
    with pytest.raises(ValueError, match=r"dt=0.001 ms would make a trial 1.2e\+06 time steps"):
        nd.tasks.PerceptualDecisionMaking(**kw)
    assert nd.tasks.PerceptualDecisionMaking(**{**kw, "stimulus": 300.0}).n_steps == 901_000
    with pytest.raises(ValueError, match="gain"):
        nd.tasks.ReadySetGo(gain=1e300)


@FUZZ
@given(task=st.sampled_from(NATIVE), preset=_set(st.one_of(not_a_number(), st.text(max_size=8))))
def test_make_preset(task, preset):
    assert_clear_error("tasks.make", "preset", lambda: nd.tasks.make(task, preset=preset))


@FUZZ
@given(task=st.sampled_from(NATIVE), word=st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True))
def test_make_unknown_keyword(task, word):
    if word in inspect.signature(getattr(nd.tasks, task).__init__).parameters:
        return
    assert_clear_error("tasks.make", word, lambda: nd.tasks.make(task, **{word: 1.0}))


# ---------------------------------------------------------------------------------------------
# The constructors' numeric arguments. Durations go through one shared check (every epoch of
# every EpochTask family: decision, context, multisensory, working memory, timing, reaching),
# tried here on one epoch of each of those families.

DURATIONS = [
    ("PerceptualDecisionMaking", "stimulus"),
    ("ContextDecisionMaking", "context_only"),
    ("MultiSensoryIntegration", "fixation"),
    ("DelayComparison", "delay"),
    ("DelayMatchSample", "stimulus1"),
    ("GoNogo", "decision"),
    ("ReadySetGo", "measure"),
    ("IntervalDiscrimination", "stim2"),
    ("AntiReach", "fixation"),
    ("FlipFlop", "duration"),
    ("FlipFlop", "settle"),
    ("SineWaveGenerator", "duration"),
]


@FUZZ
@given(case=st.sampled_from(DURATIONS), value=_set(bad_nonnegative_number()))
def test_durations(case, value):
    task, arg = case
    assert_clear_error(f"tasks.{task}", arg, lambda: nd.tasks.make(task, **{arg: value}))


@FUZZ
@given(case=st.sampled_from(DURATIONS[:9]), lo=bad_nonnegative_number(),
       kind=st.sampled_from(["uniform", "floor_uniform", "truncexp", "choice"]))
def test_duration_ranges(case, lo, kind):
    task, arg = case
    spec = {"uniform": (lo, 400.0), "floor_uniform": ("floor_uniform", lo, 400.0),
            "truncexp": ("truncexp", 100.0, lo, 400.0), "choice": ("choice", (200.0, lo))}[kind]
    assert_clear_error(f"tasks.{task}", arg, lambda: nd.tasks.make(task, **{arg: spec}))


NUMBERS = [
    ("PerceptualDecisionMaking", "input_noise", bad_nonnegative_number()),
    ("ContextDecisionMaking", "input_noise", bad_nonnegative_number()),
    ("ContextDecisionMaking", "context_level", st.one_of(not_a_number(), st.just(math.nan))),
    ("MultiSensoryIntegration", "input_noise", bad_nonnegative_number()),
    ("DelayComparison", "input_noise", bad_nonnegative_number()),
    ("DelayMatchSample", "input_noise", bad_nonnegative_number()),
    ("FlipFlop", "input_noise", bad_nonnegative_number()),
    ("FlipFlop", "pulse_prob", st.one_of(bad_nonnegative_number(), st.floats(1.001, 1e9))),
    ("FlipFlop", "n_bits", bad_count()),
    ("FlipFlop", "first_pulse", bad_bool()),
    ("ReadySetGo", "gain", bad_positive_number()),
    ("ReadySetGo", "prod_margin", bad_nonnegative_number()),
    ("ReadySetGo", "ready", bad_nonnegative_number()),
    ("AntiReach", "dim_ring", bad_count(2)),
    ("AntiReach", "anti", bad_bool()),
    ("SineWaveGenerator", "r2_threshold", st.one_of(not_a_number(), st.floats(1.001, 1e9))),
    ("Yang19", "n_ring", bad_count(2)),
    ("Yang19", "input_noise", bad_nonnegative_number()),
    ("Yang19", "weighted_mask", bad_bool()),
]


@FUZZ
@given(case=st.sampled_from(range(len(NUMBERS))), data=st.data())
def test_numeric_arguments(case, data):
    task, arg, strategy = NUMBERS[case]
    value = data.draw(_set(strategy))
    assert_clear_error(f"tasks.{task}", arg, lambda: nd.tasks.make(task, **{arg: value}))


LISTS = [
    ("PerceptualDecisionMaking", "coherences"),
    ("ContextDecisionMaking", "coherences"),
    ("SineWaveGenerator", "frequencies"),
    ("DelayComparison", "pairs"),
    ("Yang19", "rules"),
    ("Yang19", "rule_probs"),
]


@FUZZ
@given(case=st.sampled_from(LISTS), value=_set(st.one_of(
    not_a_number(), st.just(()), st.lists(st.sampled_from([math.nan, math.inf, "a", None]),
                                         min_size=1, max_size=3))))
def test_list_arguments(case, value):
    task, arg = case
    # Two small frequencies are a valid list of frequencies.
    assume(not (arg == "frequencies" and isinstance(value, (list, np.ndarray))
                and np.asarray(value).dtype.kind == "f" and np.isfinite(value).all()))
    assert_clear_error(f"tasks.{task}", arg, lambda: nd.tasks.make(task, **{arg: value}))


# ---------------------------------------------------------------------------------------------
# sample and evaluate (the decision task; every task shares these checks: `sampler`,
# `evaluator` in tasks/_utils.py and AbstractTask in tasks/_base.py)

B = 256  # the batch of the other task tests: `sample` is compiled once


@pytest.fixture(scope="module")
def decision():
    task = nd.tasks.make("PerceptualDecisionMaking")
    return task, task.sample(jax.random.key(0), B)


@FUZZ
@given(key=bad_key())
def test_sample_key(decision, key):
    task, _ = decision
    assert_clear_error("Task.sample", "key", lambda: task.sample(key, B))


@FUZZ
@given(batch_size=bad_count())
def test_sample_batch_size(decision, batch_size):
    task, _ = decision
    assert_clear_error("Task.sample", "batch_size",
                       lambda: task.sample(jax.random.key(0), batch_size))


@pytest.mark.parametrize("task", ["PerceptualDecisionMaking", "FlipFlop", "Yang19"])
def test_sample_refuses_a_batch_the_noise_generator_cannot_address(task):
    task = nd.tasks.make(task)
    most = 2**32 // (task.n_steps * task.n_inputs)
    for bad in (most + 1, 2**31, 2**40):
        assert_clear_error("Task.sample", "batch_size",
                           lambda: task.sample(jax.random.key(0), bad))


@pytest.mark.parametrize("task", ["PerceptualDecisionMaking", "FlipFlop"])
def test_other_keyed_methods_check_the_key(task):
    task = nd.tasks.make(task)
    keys = jax.random.split(jax.random.key(0), 3)
    for call in (lambda k: task.conditions(k), lambda k: task.sample(k, B)):
        for bad in (None, 0, keys):
            assert_clear_error("Task.sample", "key", lambda: call(bad))


GRIDS = [
    ("PerceptualDecisionMaking", "coherences"),
    ("ContextDecisionMaking", "coherences"),
    ("MultiSensoryIntegration", "coherences"),
    ("ReadySetGo", "measures"),
]


@FUZZ
@given(case=st.sampled_from(GRIDS), value=_set(st.one_of(
    not_a_number().filter(lambda v: not isinstance(v, (list, np.ndarray)) or len(v) != 2),
    st.just(()), st.lists(st.sampled_from([math.nan, math.inf, "a"]), min_size=1, max_size=3))))
def test_conditions_values(case, value):
    task, arg = case
    task = nd.tasks.make(task)
    assert_clear_error("Task.conditions", arg,
                       lambda: task.conditions(jax.random.key(0), **{arg: value}))


@FUZZ
@given(task=st.sampled_from(["PerceptualDecisionMaking", "DelayMatchSample", "FlipFlop",
                             "Yang19", "AntiReach"]), repeats=bad_count())
def test_conditions_repeats(task, repeats):
    task = nd.tasks.make(task)
    assert_clear_error("Task.conditions", "repeats",
                       lambda: task.conditions(jax.random.key(0), repeats=repeats))


@FUZZ
@given(n_bad=st.integers(1, 40), value=st.sampled_from([math.nan, math.inf, -math.inf]),
       seed=st.integers(0, 2**16))
def test_evaluate_non_finite_outputs(decision, n_bad, value, seed):
    task, trials = decision
    out = np.array(trials.targets)
    idx = np.random.default_rng(seed).choice(out.size, n_bad, replace=False)
    out.reshape(-1)[idx] = value
    err = assert_clear_error("Task.evaluate", "outputs", lambda: task.evaluate(out, trials))
    assert "NaN or Inf" in str(err)


@FUZZ
@given(outputs=st.one_of(
    not_a_number(),
    st.tuples(st.integers(1, 300), st.integers(1, 60), st.integers(1, 3)).filter(
        lambda s: s != (B, 51, 1)).map(np.zeros),
))
def test_evaluate_outputs(decision, outputs):
    task, trials = decision
    assert_clear_error("Task.evaluate", "outputs", lambda: task.evaluate(outputs, trials))


@FUZZ
@given(trials=st.one_of(not_a_number(), st.just({"targets": np.zeros((B, 51, 1))})))
def test_evaluate_trials(decision, trials):
    task, good = decision
    assert_clear_error("Task.evaluate", "trials", lambda: task.evaluate(good.targets, trials))


@pytest.mark.parametrize("task", ["PerceptualDecisionMaking", "FlipFlop", "Yang19", "GoNogo"])
def test_traced_non_finite_outputs_are_never_correct(task):
    """Under an outer jit the values cannot be checked: a trial whose outputs hold NaN is not
    correct, and the batch's accuracy is NaN (never a chance-level score)."""
    task = nd.tasks.make(task)
    trials = task.sample(jax.random.key(0), B)
    out = trials.targets.at[:3, -1, 0].set(jnp.nan)
    score = jax.jit(task.evaluate)(out, trials)
    assert np.isnan(float(score.accuracy))
    np.testing.assert_array_equal(np.asarray(score.correct)[:3], False)
    np.testing.assert_array_equal(np.asarray(score.correct)[3:], True)
    assert float(jax.jit(task.evaluate)(trials.targets, trials).accuracy) == 1.0


# ---------------------------------------------------------------------------------------------
# psychometric curves

_CHOICE = np.array([1, -1, 1, 1, -1, -1, 1, 1])
_COND = np.array([-0.2, -0.2, -0.1, -0.1, 0.1, 0.1, 0.2, 0.2])


def _with_nonfinite(x, v):
    x = x.astype(float).copy()
    x[3] = v
    return x


_bad_array = st.one_of(
    not_a_number().filter(lambda v: not isinstance(v, list) or len(v) != 8),
    st.sampled_from([math.nan, math.inf]).map(lambda v: _with_nonfinite(_CHOICE, v)),
    st.just(np.array([])),
)


@FUZZ
@given(arg=st.sampled_from(["choice", "condition"]), value=_bad_array)
def test_psychometric_arrays(arg, value):
    kw = {"choice": _CHOICE, "condition": _COND, arg: value}
    assert_clear_error("tasks.psychometric", arg, lambda: nd.tasks.psychometric(**kw))


@FUZZ
@given(fit=_set(st.one_of(not_a_number(), st.text(max_size=8))).filter(
    lambda v: not (isinstance(v, str) and v in ("probit", "logistic"))))
def test_psychometric_fit(fit):
    assert_clear_error("tasks.psychometric", "fit",
                       lambda: nd.tasks.psychometric(_CHOICE, _COND, fit=fit))


@FUZZ
@given(lapses=bad_bool())
def test_psychometric_lapses(lapses):
    assert_clear_error("tasks.psychometric", "lapses",
                       lambda: nd.tasks.psychometric(_CHOICE, _COND, fit="probit", lapses=lapses))


@FUZZ
@given(max_lapse=st.one_of(bad_positive_number(), st.floats(0.5, 1e9)))
def test_psychometric_max_lapse(max_lapse):
    assert_clear_error("tasks.psychometric", "max_lapse", lambda: nd.tasks.psychometric(
        _CHOICE, _COND, fit="probit", lapses=True, max_lapse=max_lapse))


@FUZZ
@given(arg=st.sampled_from(["values", "n_positive", "n"]),
       value=st.one_of(not_a_number(), st.sampled_from([math.nan, math.inf]).map(
           lambda v: _with_nonfinite(np.array([1.0, 1.0, 2.0, 2.0]), v))),
       model=st.sampled_from(["probit", "logistic"]))
def test_fit_psychometric_arrays(arg, value, model):
    kw = {"values": np.array([-0.2, -0.1, 0.1, 0.2]), "n_positive": np.array([0, 1, 2, 3]),
          "n": np.array([3, 3, 3, 3]), arg: value}
    assert_clear_error("tasks.fit_psychometric", arg,
                       lambda: nd.tasks.fit_psychometric(**kw, model=model))


@FUZZ
@given(model=st.one_of(not_a_number(), st.text(max_size=8)).filter(
    lambda v: not (isinstance(v, str) and v in ("probit", "logistic"))))
def test_fit_psychometric_model(model):
    assert_clear_error("tasks.fit_psychometric", "model", lambda: nd.tasks.fit_psychometric(
        [-0.1, 0.1], [1, 2], [3, 3], model=model))
