"""Bad inputs to the models (`LowRankRNN`, `FullRankRNN`, `LatentDynamics`, `simulate`,
`fast_normal`) and to training (`fit`, `fit_ensemble`, `member`, `masked_mse`): every one is
answered by a clear error that names the argument, raised by neurodyn's own checks before any
compilation (property-based, tests/badinput.py)."""

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

KEY = jax.random.key(0)
LOWRANK = dict(n_neurons=8, rank=1, n_inputs=1, n_outputs=1)
FULLRANK = dict(n_neurons=8, n_inputs=1, n_outputs=1)
NUMBERS = {"tau": bad_positive_number, "dt": bad_positive_number,
           "noise_std": bad_nonnegative_number, "readout_std": bad_nonnegative_number}
NONFINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def _not_none(strategy):
    return strategy.filter(lambda v: v is not None)


def bad_train():
    """`train=`: not a group name nor a collection of names, or an unknown name."""
    return st.sampled_from([5, 2.5, None, object(), b"m", {"m": 1}, "weights", "", ["m", 3],
                            ("m", None), [1.0, 2.0], ("m", "nope"), True])


def bad_choice():
    return st.one_of(st.sampled_from(["", "x", "Tanh", " tanh", None, 3, [], ["tanh"], b"tanh"]),
                     st.text(max_size=6).filter(lambda s: s not in nd.models.NONLINEARITIES))


# ---------------------------------------------------------------- constructors
@pytest.mark.parametrize("cls, sizes", [(nd.models.LowRankRNN, LOWRANK),
                                        (nd.models.FullRankRNN, FULLRANK)])
@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_constructor_numbers(cls, sizes, name):
    @FUZZ
    @given(bad=NUMBERS[name]())
    def check(bad):
        assert_clear_error(cls.__name__, name, lambda: cls(**sizes, **{name: bad}, key=KEY))

    check()


@pytest.mark.parametrize("cls, sizes, name", [
    (cls, sizes, name) for cls, sizes in ((nd.models.LowRankRNN, LOWRANK),
                                          (nd.models.FullRankRNN, FULLRANK)) for name in sizes
])
def test_constructor_sizes(cls, sizes, name):
    low = 0 if name in ("n_inputs", "n_outputs") else 1

    @FUZZ
    @given(bad=st.one_of(bad_count(low), st.integers(9, 10**6) if name == "rank" else
                         st.nothing()))
    def check(bad):
        args = dict(sizes, **{name: bad})
        assert_clear_error(cls.__name__, name, lambda: cls(**args, key=KEY))

    check()


@pytest.mark.parametrize("cls, sizes", [(nd.models.LowRankRNN, LOWRANK),
                                        (nd.models.FullRankRNN, FULLRANK)])
def test_constructor_choices_and_key(cls, sizes):
    @FUZZ
    @given(nonlinearity=bad_choice(), noise_rng=bad_choice(), train=bad_train(), key=bad_key())
    def check(nonlinearity, noise_rng, train, key):
        entry = cls.__name__
        assert_clear_error(entry, "nonlinearity",
                           lambda: cls(**sizes, nonlinearity=nonlinearity, key=KEY))
        assert_clear_error(entry, "noise_rng", lambda: cls(**sizes, noise_rng=noise_rng, key=KEY))
        assert_clear_error(entry, "train", lambda: cls(**sizes, train=train, key=KEY))
        assert_clear_error(entry, "key", lambda: cls(**sizes, key=key))

    check()


@FUZZ
@given(bad=bad_nonnegative_number())
def test_fullrank_rho(bad):
    assert_clear_error("FullRankRNN", "rho", lambda: nd.models.FullRankRNN(**FULLRANK, rho=bad,
                                                                           key=KEY))


def test_dt_longer_than_tau_and_nan_readout():
    assert_clear_error("LowRankRNN", "dt", lambda: nd.models.LowRankRNN(**LOWRANK, dt=200.0,
                                                                        key=KEY))
    err = assert_clear_error("LowRankRNN", "readout_std",
                             lambda: nd.models.LowRankRNN(**LOWRANK, readout_std=math.nan,
                                                          key=KEY))
    assert "finite" in str(err)


# ---------------------------------------------------------------- simulate
@pytest.fixture(scope="module")
def model():
    return nd.models.LowRankRNN(8, 1, 2, 1, key=KEY)


def _with_value(array, value, index=0):
    flat = np.array(array, dtype=np.float32).reshape(-1)
    flat[index % flat.size] = value
    return flat.reshape(np.shape(array))


@FUZZ
@given(value=NONFINITE, where=st.integers(0, 1000),
       field=st.sampled_from(["m", "n", "w_in", "g_in", "w_out", "g_out"]))
def test_simulate_non_finite_values(model, value, where, field):
    inputs = np.zeros((3, 5, 2), np.float32)
    ok = dict(key=KEY)
    assert_clear_error("simulate", "inputs",
                       lambda: model.simulate(_with_value(inputs, value, where), **ok))
    assert_clear_error("simulate", "x0", lambda: model.simulate(
        inputs, x0=_with_value(np.zeros((3, 8)), value, where), **ok))
    assert_clear_error("simulate", "noise", lambda: model.simulate(
        inputs, key=None, noise=_with_value(np.zeros((3, 5, 8)), value, where)))
    broken = eqx.tree_at(lambda m: getattr(m, field), model,
                         jnp.asarray(_with_value(getattr(model, field), value, where)))
    err = assert_clear_error("simulate", "model", lambda: broken.simulate(inputs, **ok))
    assert str(err).endswith(f"values in {field}")


@FUZZ
@given(inputs=st.one_of(
    not_a_number(),
    st.sampled_from([np.zeros((3, 5, 1)), np.zeros((3, 5, 3)), np.zeros(5), np.zeros((2, 3, 5, 2)),
                     np.array([["a", "b"]]), np.zeros((3, 5, 2), complex)])))
def test_simulate_bad_inputs(model, inputs):
    assert_clear_error("simulate", "inputs", lambda: model.simulate(inputs, key=KEY))


@FUZZ
@given(x0=st.one_of(not_a_number().filter(lambda v: v is not None),
                    st.sampled_from([np.zeros(8), np.zeros((3, 7)), np.zeros((2, 8))])),
       noise=st.one_of(not_a_number().filter(lambda v: not isinstance(v, bool)),
                       st.sampled_from([np.zeros((3, 5, 7)), np.zeros((3, 5)), "yes"])),
       states=bad_bool(), key=bad_key())
def test_simulate_bad_arguments(model, x0, noise, states, key):
    inputs = np.zeros((3, 5, 2), np.float32)
    assert_clear_error("simulate", "x0", lambda: model.simulate(inputs, key=KEY, x0=x0))
    assert_clear_error("simulate", "noise", lambda: model.simulate(inputs, key=KEY, noise=noise))
    assert_clear_error("simulate", "states", lambda: model.simulate(inputs, key=KEY,
                                                                    states=states))
    assert_clear_error("simulate", "key", lambda: model.simulate(inputs, key=key))


def test_simulate_refuses_a_stacked_ensemble():
    stack = eqx.filter_vmap(lambda k: nd.models.LowRankRNN(8, 1, 2, 1, key=k))(
        jax.random.split(KEY, 3))
    err = assert_clear_error("simulate", "model",
                             lambda: stack.simulate(np.zeros((3, 5, 2)), key=KEY))
    assert "member" in str(err)


# ---------------------------------------------------------------- latent dynamics, fast_normal
@FUZZ
@given(value=NONFINITE, bad=st.one_of(not_a_number(), st.just(np.zeros((2, 3)))))
def test_latent_dynamics(model, value, bad):
    assert_clear_error("LatentDynamics", "model", lambda: nd.models.LatentDynamics(bad))
    broken = eqx.tree_at(lambda m: m.n, model, jnp.full((8, 1), value))
    assert_clear_error("LatentDynamics", "model", lambda: nd.models.LatentDynamics(broken))
    latent = nd.models.LatentDynamics(model)
    inputs = np.zeros((2, 4, 2))
    assert_clear_error("LatentDynamics.simulate", "inputs",
                       lambda: latent.simulate(_with_value(inputs, value)))
    assert_clear_error("LatentDynamics.simulate", "inputs", lambda: latent.simulate(bad))
    assert_clear_error("LatentDynamics.simulate", "s0",
                       lambda: latent.simulate(inputs, s0=np.full((2, 3), value)))
    assert_clear_error("LatentDynamics.simulate", "s0",
                       lambda: latent.simulate(inputs, s0=np.zeros((2, 4))))


@FUZZ
@given(key=bad_key(), shape=st.one_of(
    not_a_number().filter(lambda v: not isinstance(v, list) or len(v) < 2),
    st.sampled_from([(4,), (2, -1, 3), (2, 2.0, 3), (2, "3", 3), (None, 2)])),
    dtype=st.sampled_from([jnp.int32, "x", None, bool, 5, jnp.uint8]))
def test_fast_normal(key, shape, dtype):
    assert_clear_error("fast_normal", "key", lambda: nd.models.fast_normal(key, (2, 3)))
    assert_clear_error("fast_normal", "shape", lambda: nd.models.fast_normal(KEY, shape))
    assert_clear_error("fast_normal", "dtype", lambda: nd.models.fast_normal(KEY, (2, 3), dtype))


# ---------------------------------------------------------------- fit
SETTINGS = {
    "steps": lambda: bad_count(1), "batch_size": lambda: bad_count(1),
    "eval_every": lambda: bad_count(1), "learning_rate": bad_positive_number,
    "early_stop": lambda: _not_none(bad_count(1)),
    "clip_norm": lambda: _not_none(bad_positive_number()),
    "val_trials": lambda: _not_none(bad_count(1)),
    "keep_best": bad_bool, "progress": bad_bool,
    "optimizer": lambda: st.sampled_from([0.01, "adam", object(), [1]]),
    "loss_fn": lambda: st.sampled_from([None, "mse", 3, object()]),
}


@pytest.fixture(scope="module")
def small():
    return nd.models.LowRankRNN(8, 1, 1, 1, key=KEY)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_fit_settings(decision_task, small, name):
    @FUZZ
    @given(bad=SETTINGS[name]())
    def check(bad):
        kwargs = dict(steps=1, progress=False)
        kwargs[name] = bad
        assert_clear_error("fit", name, lambda: nd.train.fit(
            small, decision_task, key=KEY, **kwargs))
        assert_clear_error("fit_ensemble", name, lambda: nd.train.fit_ensemble(
            lambda k: nd.models.LowRankRNN(8, 1, 1, 1, key=k), decision_task,
            keys=jax.random.split(KEY, 2), **kwargs))

    check()


@FUZZ
@given(key=bad_key(), value=NONFINITE,
       model=st.sampled_from(["model", None, 3, "stacked", "wrong_width", "nan"]))
def test_fit_key_model_and_val_trials(decision_task, small, key, value, model):
    assert_clear_error("fit", "key", lambda: nd.train.fit(small, decision_task, key=key,
                                                          steps=1, progress=False))
    if model == "stacked":
        model = eqx.filter_vmap(lambda k: nd.models.LowRankRNN(8, 1, 1, 1, key=k))(
            jax.random.split(KEY, 2))
    elif model == "wrong_width":
        model = nd.models.LowRankRNN(8, 1, 3, 1, key=KEY)
    elif model == "nan":
        model = eqx.tree_at(lambda m: m.m, small, jnp.full((8, 1), value))
    assert_clear_error("fit", "model", lambda: nd.train.fit(model, decision_task, key=KEY,
                                                            steps=1, progress=False))
    val = decision_task.sample(KEY, 4)
    for field in ("inputs", "targets", "mask"):
        broken = eqx.tree_at(lambda t, f=field: getattr(t, f), val,
                             jnp.asarray(_with_value(getattr(val, field), value)))
        assert_clear_error("fit", "val_trials", lambda b=broken: nd.train.fit(
            small, decision_task, key=KEY, steps=1, val_trials=b, progress=False))
    narrow = eqx.tree_at(lambda t: t.inputs, val, val.inputs[..., :0])
    assert_clear_error("fit", "val_trials", lambda: nd.train.fit(
        small, decision_task, key=KEY, steps=1, val_trials=narrow, progress=False))


def test_batch_size_beyond_the_noise_counter(decision_task, small):
    # 2**31 trials of 8 neurons need 2**34 draws per step: refused before anything is built.
    err = assert_clear_error("fit", "batch_size", lambda: nd.train.fit(
        small, decision_task, key=KEY, steps=1, batch_size=2**31, progress=False))
    assert "2**32" in str(err)
    assert_clear_error("fit_ensemble", "batch_size", lambda: nd.train.fit_ensemble(
        lambda k: nd.models.LowRankRNN(8, 1, 1, 1, key=k), decision_task,
        keys=jax.random.split(KEY, 2), steps=1, batch_size=2**31, progress=False))


# ---------------------------------------------------------------- fit_ensemble, member, loss
@FUZZ
@given(keys=st.one_of(bad_key().filter(lambda k: not (hasattr(k, "ndim") and k.ndim == 1
                                                      and k.shape[0] >= 1)),
                      st.sampled_from(["dup", "empty", "2d", "one"])),
       make=st.sampled_from([None, "model", 3, "not_a_model", "wrong_task"]),
       member_batch=_not_none(bad_count(1)), devices=st.sampled_from([0, -1, 1.5, "cpu", [1],
                                                                     [], True, 10**6]))
def test_fit_ensemble_arguments(decision_task, keys, make, member_batch, devices):
    good_keys = jax.random.split(KEY, 2)
    named = {"dup": jnp.stack([good_keys[0], good_keys[0]]), "empty": good_keys[:0],
             "2d": good_keys.reshape(2, 1), "one": KEY}
    if isinstance(keys, str) and keys in named:
        keys = named[keys]

    def make_model(k):
        return nd.models.LowRankRNN(8, 1, 1, 1, key=k)

    def run(**kw):
        args = dict(make_model=make_model, task=decision_task, keys=good_keys, steps=1,
                    progress=False)
        args.update(kw)
        return nd.train.fit_ensemble(args.pop("make_model"), args.pop("task"), **args)

    assert_clear_error("fit_ensemble", "keys", lambda: run(keys=keys))
    if make == "not_a_model":
        make = lambda k: jnp.zeros(3)  # noqa: E731
    elif make == "wrong_task":
        make = lambda k: nd.models.LowRankRNN(8, 1, 4, 1, key=k)  # noqa: E731
    assert_clear_error("fit_ensemble", "make_model", lambda: run(make_model=make))
    assert_clear_error("fit_ensemble", "task", lambda: run(task="PerceptualDecisionMaking"))
    assert_clear_error("fit_ensemble", "member_batch", lambda: run(member_batch=member_batch))
    assert_clear_error("fit_ensemble", "devices", lambda: run(devices=devices))


@FUZZ
@given(i=st.one_of(bad_count(0), st.integers(3, 10**9), st.integers(max_value=-4)),
       ensemble=st.sampled_from([None, 3, "x", "single"]))
def test_member(i, ensemble):
    stack = eqx.filter_vmap(lambda k: nd.models.LowRankRNN(8, 1, 2, 1, key=k))(
        jax.random.split(KEY, 3))
    if not isinstance(i, bool) and isinstance(i, int) and -3 <= i < 3:
        i = 3
    assert_clear_error("member", "i", lambda: nd.train.member(stack, i))
    if ensemble == "single":
        ensemble = nd.models.LowRankRNN(8, 1, 2, 1, key=KEY)
    assert_clear_error("member", "ensemble", lambda: nd.train.member(ensemble, 0))


@FUZZ
@given(outputs=st.sampled_from([np.zeros((4, 3, 1)), np.zeros((2, 50, 1)), "x", None]))
def test_masked_mse(decision_task, outputs):
    trials = decision_task.sample(KEY, 2)
    assert_clear_error("masked_mse", "outputs", lambda: nd.train.masked_mse(outputs, trials))
    assert_clear_error("masked_mse", "trials",
                       lambda: nd.train.masked_mse(jnp.zeros((2, 51, 1)), {"targets": 1}))
