"""Bad input to the low-rank analyses and the mean-field theory (`neurodyn.lowrank`,
`neurodyn.lowrank.meanfield`): every bad argument of every public entry point (wrong types,
out-of-range or non-finite numbers, bad shapes, bad keys, models of the wrong class, stacked
ensembles) is answered by a clear error naming it, raised before anything is compiled
(property-based: see tests/badinput.py)."""

import math

import equinox as eqx
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
from hypothesis import given, strategies as st

import neurodyn as nd
from neurodyn import lowrank as lr
from neurodyn.lowrank import _evaluate, _flow, _gmm, _populations, _sweep
from neurodyn.lowrank.meanfield import _roots

N = 12
KEY = jax.random.key(0)


def _stack(tree):
    return jax.tree_util.tree_map(lambda x: jnp.stack([x, x]) if eqx.is_array(x) else x, tree)


LOW = nd.models.LowRankRNN(N, 1, 1, 1, key=jax.random.key(1))
LOW2 = nd.models.LowRankRNN(N, 2, 1, 1, key=jax.random.key(2))
FULL = nd.models.FullRankRNN(N, 1, 1, key=jax.random.key(3))
LATENT = lr.latent(LOW)
SIGMA = np.array([[1.0, 1.5, 0, 0], [1.5, 3.25, 0, 0], [0, 0, 1, 0], [0, 0, 0, 16]])
MIX_ARGS = ([1.0], [[0.0] * 4], [SIGMA])
MIX = lr.mixture(*MIX_ARGS, rank=1, n_inputs=1, n_outputs=1)
MIX2 = lr.mixture([1.0], [[0.0] * 6], [np.eye(6) + np.diag([0, 0, 0, 0, 0, 15.0])], rank=2,
                  n_inputs=1, n_outputs=1)
MEANFIELD = lr.meanfield.dynamics(MIX)
TASK = nd.tasks.make("PerceptualDecisionMaking", preset="dubreuil2022")

NAN_LOW = eqx.tree_at(lambda m: m.n, LOW, LOW.n.at[3, 0].set(jnp.nan))
NAN_FULL = eqx.tree_at(lambda m: m.J, FULL, FULL.J.at[0, 1].set(jnp.inf))
NAN_LATENT = eqx.tree_at(lambda s: s.m, LATENT, LATENT.m.at[0, 0].set(jnp.nan))
NAN_MIX = eqx.tree_at(lambda x: x.gmm.means, MIX, MIX.means.at[0, 1].set(jnp.nan))
NAN_MEANFIELD = eqx.tree_at(lambda x: x.covariances, MEANFIELD,
                            MEANFIELD.covariances.at[0, 0, 0].set(jnp.inf))
JUNK = [None, "model", 3, 1.5, True, [1.0], {}, np.zeros(3), object()]


def pick(*values):
    return st.sampled_from(list(values))


def bad_lowrank():
    """Anything but one finite LowRankRNN: other classes, a stacked ensemble, NaN weights."""
    return pick(*JUNK, FULL, _stack(LOW), NAN_LOW, LATENT, MIX)


def bad_fullrank():
    return pick(*JUNK, LOW, _stack(FULL), NAN_FULL, LATENT)


def bad_mixture():
    return pick(*JUNK, LOW, LATENT, _stack(MIX), NAN_MIX, MIX.gmm)


def bad_system():
    """Anything but a latent system, a mean-field system or a mixture (all finite, unstacked)."""
    return pick(*JUNK, LOW, FULL, _stack(LATENT), NAN_LATENT, _stack(MIX), NAN_MIX,
                _stack(MEANFIELD), NAN_MEANFIELD)


def bad_task():
    return pick(None, "PerceptualDecisionMaking", 3, LOW, TASK.sample)


def bad_array(shape, wrong=None, *, optional=False):
    """Not a finite real array of `shape`: junk, NaN/Inf entries, complex, strings, and arrays
    of a `wrong` shape (by default: the last axis one longer); None too unless `optional`."""
    shape = tuple(shape)
    if wrong is None:
        wrong = [np.zeros(shape[:-1] + (shape[-1] + 1,))]
    return st.one_of(
        pick("x", {}, object(), b"1", 1 + 2j, "nan", *([] if optional else [None])),
        pick(np.full(shape, np.nan), np.full(shape, np.inf), np.full(shape, -np.inf),
             np.zeros(shape, complex), np.full(shape, "a"), *wrong),
    )


def bad_model_or_latent():
    return pick(*JUNK, FULL, _stack(LOW), NAN_LOW, MIX, _stack(LATENT), NAN_LATENT)


def bad_counts(high: int):
    """Not a non-empty sequence of integers in [1, high]."""
    return pick([], (), "12", None, 3, 2.0, [0], [1.5], [high + 1], [True], [1, "2"], {1: 2},
                [None], np.array([0, 1]))


def bad_choice(valid):
    return st.one_of(not_a_number(), st.text(max_size=8)).filter(
        lambda v: not (isinstance(v, str) and v in valid)
    )


def bad_lim():
    return pick("ab", (1.0,), (1.0, 0.0), (0.0, math.nan), (0.0, math.inf), (2.0, 2.0),
                [1.0, 2.0, 3.0], 3.0, {}, ("a", "b"), object())


# ------------------------------------------------------------------------------------- cases
# (entry, argument, strategy of bad values, call(value))

def _mixture_call(argument):
    def call(value):
        args = dict(zip(("weights", "means", "covariances"), MIX_ARGS))
        kwargs = dict(rank=1, n_inputs=1, n_outputs=1)
        if argument in args:
            args[argument] = value
        else:
            kwargs[argument] = value
        return lr.mixture(*args.values(), **kwargs)

    return call


_MIXTURE_CLASS_SETTINGS = dict(tau=100.0, dt=20.0, noise_std=0.05, nonlinearity="tanh",
                               readout_std=4.0, train=("m", "n"))


def _mixture_class_call(argument):
    def call(value):
        kw = {**_MIXTURE_CLASS_SETTINGS, argument: value}
        return lr.LowRankMixture(MIX.gmm, 1, 1, 1, **kw)

    return call


BAD_TRAIN = pick(5, 2.5, None, object(), {"m": 1}, "weights", "", ["m", 3], ("m", "nope"),
                 [1.0], True)
BAD_NONLINEARITY = bad_choice(nd.models.NONLINEARITIES)

CASES = [
    # lowrank.mixture and the LowRankMixture class
    *[("lowrank.mixture", a, bad_positive_number(), _mixture_call(a)) for a in ("tau", "dt")],
    ("lowrank.mixture", "dt", st.floats(min_value=100.001, max_value=1e6), _mixture_call("dt")),
    *[("lowrank.mixture", a, bad_nonnegative_number(), _mixture_call(a))
      for a in ("noise_std", "readout_std")],
    ("lowrank.mixture", "nonlinearity", BAD_NONLINEARITY, _mixture_call("nonlinearity")),
    ("lowrank.mixture", "train", BAD_TRAIN, _mixture_call("train")),
    ("lowrank.mixture", "rank", bad_count(1), _mixture_call("rank")),
    *[("lowrank.mixture", a, bad_count(0), _mixture_call(a)) for a in ("n_inputs", "n_outputs")],
    ("lowrank.mixture", "weights",
     st.one_of(bad_array((1,)), pick([0.5], [-1.0], [0.5, 0.5], [2.0], [[1.0]])),
     _mixture_call("weights")),
    ("lowrank.mixture", "means", st.one_of(bad_array((1, 4)), pick([[0.0] * 3], [0.0] * 4)),
     _mixture_call("means")),
    ("lowrank.mixture", "covariances",
     st.one_of(bad_array((1, 4, 4)),
               pick([-SIGMA], [SIGMA + np.triu(np.ones((4, 4)), 1)], [np.eye(3)], SIGMA)),
     _mixture_call("covariances")),
    *[("LowRankMixture", a, bad_positive_number(), _mixture_class_call(a)) for a in ("tau", "dt")],
    ("LowRankMixture", "nonlinearity", BAD_NONLINEARITY, _mixture_class_call("nonlinearity")),
    ("LowRankMixture", "train", BAD_TRAIN, _mixture_class_call("train")),
    ("LowRankMixture", "noise_rng", bad_choice(("fast", "threefry")),
     _mixture_class_call("noise_rng")),
    ("LowRankMixture", "gmm", pick(None, MIX, np.zeros(3)),
     lambda v: lr.LowRankMixture(v, 1, 1, 1, **_MIXTURE_CLASS_SETTINGS)),
    # fit_mixture, fit_gmm, select_populations
    ("lowrank.fit_mixture", "model", bad_lowrank(), lambda v: lr.fit_mixture(v, 1, key=KEY)),
    ("lowrank.fit_mixture", "n_populations", st.one_of(bad_count(1), st.integers(N + 1)),
     lambda v: lr.fit_mixture(LOW, v, key=KEY)),
    ("lowrank.fit_mixture", "key", bad_key(), lambda v: lr.fit_mixture(LOW, 1, key=v)),
    *[("lowrank.fit_mixture", a, bad_count(1),
       lambda v, a=a: lr.fit_mixture(LOW, 1, key=KEY, **{a: v}))
      for a in ("n_restarts", "max_iter")],
    *[("lowrank.fit_mixture", a, bad_nonnegative_number(),
       lambda v, a=a: lr.fit_mixture(LOW, 1, key=KEY, **{a: v})) for a in ("tol", "reg_covar")],
    ("lowrank.fit_gmm", "data",
     bad_array((20, 2), wrong=[np.zeros((0, 2)), np.zeros((20, 0)), np.zeros(5),
                               np.zeros((20, 2, 1))]),
     lambda v: lr.fit_gmm(v, 1, key=KEY)),
    ("lowrank.fit_gmm", "n_components", st.one_of(bad_count(1), st.integers(21)),
     lambda v: lr.fit_gmm(np.zeros((20, 2)), v, key=KEY)),
    ("lowrank.fit_gmm", "key", bad_key(), lambda v: lr.fit_gmm(np.zeros((20, 2)), 1, key=v)),
    ("lowrank.select_populations", "model", bad_lowrank(),
     lambda v: lr.select_populations(v, (1,), key=KEY)),
    ("lowrank.select_populations", "candidates", bad_counts(N),
     lambda v: lr.select_populations(LOW, v, key=KEY)),
    ("lowrank.select_populations", "key", bad_key(),
     lambda v: lr.select_populations(LOW, (1,), key=v)),
    ("lowrank.select_populations", "criterion", bad_choice(("bic", "aic")),
     lambda v: lr.select_populations(LOW, (1,), key=KEY, criterion=v)),
    ("GaussianMixture.sample", "key", bad_key(), lambda v: MIX.gmm.sample(v, 5)),
    ("GaussianMixture.sample", "n", bad_count(1), lambda v: MIX.gmm.sample(KEY, v)),
    ("GaussianMixture.predict", "x", bad_array((5, 4)), MIX.gmm.predict),
    ("GaussianMixture.log_prob", "x", bad_array((5, 4)), MIX.gmm.log_prob),
    # resample, population_labels, silence
    ("lowrank.resample", "mixture", bad_mixture(), lambda v: lr.resample(v, 10, key=KEY)),
    ("lowrank.resample", "n_neurons", bad_count(1), lambda v: lr.resample(MIX, v, key=KEY)),
    ("lowrank.resample", "key", bad_key(), lambda v: lr.resample(MIX, 10, key=v)),
    ("lowrank.resample", "return_labels", bad_bool(),
     lambda v: lr.resample(MIX, 10, key=KEY, return_labels=v)),
    ("lowrank.resample_labelled", "mixture", bad_mixture(),
     lambda v: lr.resample_labelled(v, 10, key=KEY)),
    ("lowrank.resample_labelled", "n_neurons", bad_count(1),
     lambda v: lr.resample_labelled(MIX, v, key=KEY)),
    ("lowrank.resample_labelled", "key", bad_key(),
     lambda v: lr.resample_labelled(MIX, 10, key=v)),
    ("lowrank.population_labels", "mixture", bad_mixture(),
     lambda v: lr.population_labels(v, LOW)),
    ("lowrank.population_labels", "model", st.one_of(bad_lowrank(), pick(LOW2)),
     lambda v: lr.population_labels(MIX, v)),
    ("lowrank.silence", "model", bad_lowrank(), lambda v: lr.silence(v, np.ones(N, bool))),
    ("lowrank.silence", "population_mask",
     pick(None, "x", 1.0, np.arange(N), np.ones(N - 1, bool), np.ones((N, 1), bool),
          [True] * (N - 1), [[True], [False, True]], {}, object()),
     lambda v: lr.silence(LOW, v)),
    # latent, lift, project, loadings, overlaps
    ("lowrank.latent", "model", bad_lowrank(), lr.latent),
    ("lowrank.lift", "model_or_latent", bad_model_or_latent(),
     lambda v: lr.lift(v, np.zeros(2))),
    ("lowrank.lift", "s", bad_array((2,)), lambda v: lr.lift(LATENT, v)),
    ("lowrank.project", "model_or_latent", bad_model_or_latent(),
     lambda v: lr.project(v, np.zeros(N))),
    ("lowrank.project", "x", bad_array((N,)), lambda v: lr.project(LOW, v)),
    ("lowrank.loadings", "model", bad_lowrank(), lr.loadings),
    ("lowrank.overlap_matrix", "model", bad_lowrank(), lr.overlap_matrix),
    ("Overlaps.between", "a", bad_choice(lr.overlap_matrix(LOW).names),
     lambda v: lr.overlap_matrix(LOW).between(v, "m1")),
    ("Overlaps.between", "b", bad_choice(lr.overlap_matrix(LOW).names),
     lambda v: lr.overlap_matrix(LOW).between("n1", v)),
    ("lowrank.effective_overlap", "model", bad_lowrank(), lr.effective_overlap),
    ("lowrank.effective_overlap", "s", bad_array((2,), optional=True),
     lambda v: lr.effective_overlap(LOW, v)),
    # evaluate, truncate, truncation_curve, rank_sweep
    ("lowrank.accuracy", "model", pick(*JUNK, MIX, LATENT, NAN_LOW, NAN_FULL),
     lambda v: lr.accuracy(v, TASK, key=KEY)),
    ("lowrank.accuracy", "task", bad_task(), lambda v: lr.accuracy(LOW, v, key=KEY)),
    ("lowrank.accuracy", "key", bad_key(), lambda v: lr.accuracy(LOW, TASK, key=v)),
    ("lowrank.accuracy", "n_trials", bad_count(1),
     lambda v: lr.accuracy(LOW, TASK, key=KEY, n_trials=v)),
    ("lowrank.truncate", "model", bad_fullrank(), lambda v: lr.truncate(v, 1)),
    ("lowrank.truncate", "rank", st.one_of(bad_count(1), st.integers(N + 1)),
     lambda v: lr.truncate(FULL, v)),
    ("lowrank.truncate", "relative_to",
     st.one_of(bad_array((N, N), optional=True),
               pick(LOW, _stack(FULL), NAN_FULL, np.zeros(N))),
     lambda v: lr.truncate(FULL, 1, relative_to=v)),
    ("lowrank.truncation_curve", "model", bad_fullrank(),
     lambda v: lr.truncation_curve(v, TASK, [1], key=KEY)),
    ("lowrank.truncation_curve", "task", bad_task(),
     lambda v: lr.truncation_curve(FULL, v, [1], key=KEY)),
    ("lowrank.truncation_curve", "ranks", bad_counts(N),
     lambda v: lr.truncation_curve(FULL, TASK, v, key=KEY)),
    ("lowrank.truncation_curve", "key", bad_key(),
     lambda v: lr.truncation_curve(FULL, TASK, [1], key=v)),
    ("lowrank.truncation_curve", "keep_base", bad_bool(),
     lambda v: lr.truncation_curve(FULL, TASK, [1], key=KEY, relative_to=FULL, keep_base=v)),
    ("lowrank.truncation_curve", "n_trials", bad_count(1),
     lambda v: lr.truncation_curve(FULL, TASK, [1], key=KEY, n_trials=v)),
    ("lowrank.truncation_curve", "relative_to", bad_array((N, N), optional=True),
     lambda v: lr.truncation_curve(FULL, TASK, [1], key=KEY, relative_to=v)),
    ("lowrank.rank_sweep", "task", bad_task(), lambda v: lr.rank_sweep(v, (1,), key=KEY)),
    ("lowrank.rank_sweep", "ranks", bad_counts(8),
     lambda v: lr.rank_sweep(TASK, v, key=KEY, n_neurons=8)),
    ("lowrank.rank_sweep", "key", bad_key(), lambda v: lr.rank_sweep(TASK, (1,), key=v)),
    *[("lowrank.rank_sweep", a, bad_count(1),
       lambda v, a=a: lr.rank_sweep(TASK, (1,), key=KEY, **{a: v}))
      for a in ("n_seeds", "n_neurons", "steps", "n_trials")],
    ("lowrank.rank_sweep", "threshold",
     st.one_of(bad_positive_number(), st.floats(min_value=1.0001, max_value=1e9)),
     lambda v: lr.rank_sweep(TASK, (1,), key=KEY, threshold=v)),
    ("lowrank.rank_sweep", "model_kwargs", pick("tau", 3, [("tau", 1.0)], object()),
     lambda v: lr.rank_sweep(TASK, (1,), key=KEY, model_kwargs=v)),
    # flow_field
    ("lowrank.flow_field", "system", bad_system(), lr.flow_field),
    ("lowrank.flow_field", "u", bad_array((1,), optional=True), lambda v: lr.flow_field(MIX2, v)),
    *[("lowrank.flow_field", a, bad_lim(), lambda v, a=a: lr.flow_field(MIX2, **{a: v}))
      for a in ("xlim", "ylim")],
    ("lowrank.flow_field", "resolution", st.one_of(bad_count(2), st.integers(2002)),
     lambda v: lr.flow_field(MIX2, resolution=v)),
    ("lowrank.flow_field", "input_index", st.one_of(bad_count(0), st.integers(1)),
     lambda v: lr.flow_field(MIX, input_index=v)),
    # meanfield
    ("meanfield.dynamics", "mixture", bad_mixture(), lr.meanfield.dynamics),
    ("meanfield.dynamics", "quadrature", st.one_of(bad_count(1), st.integers(257)),
     lambda v: lr.meanfield.dynamics(MIX, quadrature=v)),
    ("meanfield.gauss_hermite", "order", st.one_of(bad_count(1), st.integers(257)),
     lr.meanfield.gauss_hermite),
    ("meanfield.simulate", "mixture", st.one_of(bad_mixture(), pick(_stack(MEANFIELD),
                                                                    NAN_MEANFIELD)),
     lambda v: lr.meanfield.simulate(v, np.zeros((5, 1)))),
    ("meanfield.simulate", "inputs", st.one_of(bad_array((5, 1)), pick(np.zeros((5, 2)),
                                                                       np.zeros(5))),
     lambda v: lr.meanfield.simulate(MIX, v)),
    ("meanfield.simulate", "s0", st.one_of(bad_array((2,), optional=True), pick(np.zeros((1, 2)))),
     lambda v: lr.meanfield.simulate(MIX, np.zeros((5, 1)), s0=v)),
    ("MeanFieldDynamics.simulate", "inputs", bad_array((5, 1)), MEANFIELD.simulate),
    ("meanfield.fixed_points", "system", bad_system(), lr.meanfield.fixed_points),
    ("meanfield.fixed_points", "u", bad_array((1,), optional=True),
     lambda v: lr.meanfield.fixed_points(MIX, v)),
    ("meanfield.fixed_points", "radius", bad_positive_number().filter(lambda v: v is not None),
     lambda v: lr.meanfield.fixed_points(MIX, radius=v)),
    ("meanfield.fixed_points", "n_grid",
     st.one_of(bad_count(1).filter(lambda v: v is not None), st.integers(1_000_001)),
     lambda v: lr.meanfield.fixed_points(MIX, n_grid=v)),
    ("meanfield.fixed_points", "n_grid", st.integers(1001),
     lambda v: lr.meanfield.fixed_points(MIX2, n_grid=v)),  # 1001² starts at rank 2
    ("meanfield.fixed_points", "tol", bad_positive_number(),
     lambda v: lr.meanfield.fixed_points(MIX, tol=v)),
    ("meanfield.fixed_points", "max_iter", bad_count(1),
     lambda v: lr.meanfield.fixed_points(MIX, max_iter=v)),
    ("meanfield.default_radius", "system", bad_system(), lr.meanfield.default_radius),
]


@pytest.fixture
def no_work(monkeypatch):
    """Past its checks, nothing may compute here: a bad input that slips through fails the test
    at once instead of training, fitting or searching."""

    def boom(*args, **kwargs):
        raise AssertionError("work started: a bad input was accepted")

    for module, name in ((_sweep, "fit_ensemble"), (_evaluate, "draw_trials"),
                         (lr._truncate, "draw_trials"), (_sweep, "draw_trials"),
                         (_gmm, "_em_restarts"), (_populations, "_draw"), (_roots, "_newton"),
                         (_flow, "fixed_points")):
        monkeypatch.setattr(module, name, boom)


@pytest.mark.usefixtures("no_work")
@pytest.mark.filterwarnings("ignore:A JAX array is being set as static")  # then refused
@pytest.mark.parametrize("entry, argument, strategy, call", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_bad_argument(entry, argument, strategy, call):
    @FUZZ
    @given(value=strategy)
    def check(value):
        assert_clear_error(entry, argument, lambda: call(value))

    check()


def test_the_reported_cases():
    """The issue's examples, and messages that say what was expected."""
    with pytest.raises(ValueError, match=r"nonlinearity must be one of \['identity', 'relu'"):
        lr.mixture(*MIX_ARGS, rank=1, n_inputs=1, n_outputs=1, nonlinearity="foo")
    with pytest.raises(ValueError, match=r"tau must be a finite number > 0 \(ms\), got -1"):
        lr.mixture(*MIX_ARGS, rank=1, n_inputs=1, n_outputs=1, tau=-1)
    with pytest.raises(ValueError, match=r"dt must be a finite number > 0 \(ms\), got nan"):
        lr.mixture(*MIX_ARGS, rank=1, n_inputs=1, n_outputs=1, dt=math.nan)
    with pytest.raises(ValueError, match="model is a stacked ensemble .*train.member"):
        lr.latent(_stack(LOW))
    with pytest.raises(TypeError, match="model must be a LowRankRNN, got FullRankRNN .*truncate"):
        lr.fit_mixture(FULL, 1, key=KEY)
    with pytest.raises(TypeError, match=r"system must be .* got LowRankRNN \(pass its latent"):
        lr.meanfield.fixed_points(LOW)
    with pytest.raises(ValueError, match="order must be an integer in \\[1, 256\\]"):
        lr.meanfield.gauss_hermite(400)  # NumPy's weights would be NaN
    with pytest.raises(ValueError, match="key must be one JAX PRNG key"):
        lr.resample(MIX, 10, key=jax.random.split(KEY, 3))


def test_good_values_next_to_the_bad_ones_still_work():
    """The checks refuse only what is wrong: bools-as-masks, legacy uint32 keys, integer
    arrays, lists and ranges, NumPy scalars and a mean-field system are all accepted."""
    mask = np.zeros(N, bool)
    mask[:3] = True
    assert np.all(np.asarray(lr.silence(LOW, mask).m)[:3] == 0)
    assert lr.fit_gmm(np.arange(40.0).reshape(20, 2), np.int64(1), key=jax.random.PRNGKey(0),
                      n_restarts=1).n_components == 1
    assert lr.lift(LOW, [1, 0]).shape == (N,)
    assert lr.effective_overlap(LOW, np.zeros(2, np.int32)).shape == (1, 1)
    assert lr.truncate(FULL, np.int32(1)).rank == 1
    assert lr.meanfield.default_radius(MEANFIELD) == lr.meanfield.default_radius(MIX)
    mix = lr.mixture(np.float32(1.0), np.zeros((1, 2)), [np.eye(2)], rank=1, tau=np.float64(50),
                     dt=10, train="m")
    assert mix.train == ("m",) and mix.tau == 50.0
    assert lr.meanfield.simulate(MEANFIELD, np.zeros((3, 1))).states.shape == (3, 2)
