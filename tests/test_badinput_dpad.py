"""Bad input to every public entry point of `neurodyn.dpad`: a clear error that names the argument,
raised by neurodyn's own checks before any fitting or compilation (property-based, hypothesis)."""

import math

import jax
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

from neurodyn import dpad
from neurodyn.dpad._prep import Normaliser

_rng = np.random.default_rng(0)
Y = _rng.standard_normal((300, 3))
Z = _rng.standard_normal((300, 1))
KEY = jax.random.key(0)

# Ways to spoil a recording `good` [T, n]: (name, builder, still bad where NaN marks missing data)
_SPOILERS = [
    ("text", lambda g: "recording", True),
    ("None", lambda g: None, True),
    ("dict", lambda g: {"y": g}, True),
    ("scalar", lambda g: 3.0, True),
    ("object", lambda g: object(), True),
    ("strings", lambda g: g.astype(str), True),
    ("complex", lambda g: g.astype(complex), True),
    ("objects", lambda g: g.astype(object), True),
    ("NaN", lambda g: np.where(np.arange(len(g))[:, None] == 7, np.nan, g), False),
    ("Inf", lambda g: np.where(np.arange(len(g))[:, None] == 7, np.inf, g), True),
    ("-Inf", lambda g: np.where(np.arange(len(g))[:, None] == 3, -np.inf, g), True),
    ("4-D", lambda g: g[None, None], True),
    ("no channels", lambda g: g[:, :0], True),
    ("no samples", lambda g: g[:0], True),
    ("ragged trials", lambda g: [g, g[:, :0]], True),
    ("trials of other widths", lambda g: [g, np.ones((len(g), g.shape[1] + 1))], True),
    ("empty list", lambda g: [], True),
    ("list with None", lambda g: [g, None], True),
    ("ragged nested list", lambda g: [[1.0, 2.0], [3.0]], True),
]


def bad_recording(good, *, nan_ok: bool = False, paired: bool = False):
    """A spoilt version of the recording `good` (NaN is left out where it marks missing data);
    `paired`: also one sample short of its partner recording."""
    spoilers = [s for s in _SPOILERS if s[2] or not nan_ok]
    if paired:
        spoilers.append(("one sample short", lambda g: g[:-1], True))
    return st.sampled_from(spoilers).map(lambda s: s[1](good))


def _fitted_psid():
    return dpad.PSID(2, 1, 5).fit(Y, Z)


def _fitted_dpad():
    """A DPAD in its fitted state without training: the checks run before any computation."""
    model = dpad.DPAD(2, 1)
    ys, zs, kind = model.check_data(Y, Z)
    model.norm = Normaliser.fit(ys, zs, y_kind="gaussian", z_kind=kind, zscore=True)
    model.ny = Y.shape[1]
    model.modules = dpad.DPADModules(None, None, None, None)
    return model


PSID_FITTED = _fitted_psid()
DPAD_FITTED = _fitted_dpad()


# --------------------------------------------------------------------------------- PSID
@FUZZ
@given(arg=st.sampled_from(["nx", "n1", "horizon", "zscore"]), data=st.data())
def test_psid_constructor(arg, data):
    kwargs = {"nx": 2, "n1": 1, "horizon": 5, "zscore": False}
    strategy = {"nx": bad_count(1), "n1": bad_count(0), "horizon": bad_count(1),
                "zscore": bad_bool()}[arg]
    kwargs[arg] = data.draw(strategy)
    assert_clear_error("PSID", arg, lambda: dpad.PSID(**kwargs))


@FUZZ
@given(arg=st.sampled_from(["y", "z"]), data=st.data())
def test_psid_fit(arg, data):
    args = {"y": Y, "z": Z}
    args[arg] = data.draw(bad_recording(args[arg], paired=True))
    assert_clear_error("PSID.fit", arg, lambda: dpad.PSID(2, 1, 5).fit(args["y"], args["z"]))


@FUZZ
@given(y=bad_recording(Y), filtered=bad_bool(), which=st.sampled_from(["y", "filtered"]))
def test_psid_predict_and_score(y, filtered, which):
    if which == "y":
        assert_clear_error("PSID.predict", "y", lambda: PSID_FITTED.predict(y))
        assert_clear_error("PSID.score", "y", lambda: PSID_FITTED.score(y, Z))
    else:
        assert_clear_error("PSID.predict", "filtered",
                           lambda: PSID_FITTED.predict(Y, filtered=filtered))


def test_psid_predict_wrong_width_and_bad_z():
    assert_clear_error("PSID.predict", "y", lambda: PSID_FITTED.predict(Y[:, :2]))
    assert_clear_error("PSID.score", "z", lambda: PSID_FITTED.score(Y, Z[:-1]))
    assert_clear_error("PSID.score", "z", lambda: PSID_FITTED.score(Y, "z"))


# --------------------------------------------------------------------------------- DPAD
_DPAD_ARGS = {
    "nx": bad_count(1),
    "n1": bad_count(0),
    "nonlinear": st.sampled_from(["Q", "Cz,X", 5, 1.5, ["Cz", 3], {"Cz": 1}, b"Cz", object()]),
    "hidden": st.one_of(
        st.sampled_from([64, "64", None, 1.5, {64: 64}]),
        bad_count(1).map(lambda h: (64, h)),
    ),
    "behaviour": st.sampled_from(["ordinal", "Continuous", "", None, 1, ["auto"]]),
    "neural": st.sampled_from(["binomial", "Gaussian", None, 0, ["poisson"]]),
    "zscore": bad_bool(),
    "n_init": bad_count(1),
    "block_len": bad_count(2),
    "batch_size": bad_count(1),
    "val_fraction": st.one_of(
        not_a_number(), st.sampled_from([math.nan, math.inf, 0.0, 1.0, -0.5, 1.5, 0, 1])),
    "learning_rate": bad_positive_number(),
    "max_epochs": bad_count(1),
    "patience": bad_count(1),
    "clip_norm": bad_positive_number(),
    "max_retries": bad_count(0),
    "behaviour_from_x2": bad_bool(),
}


@FUZZ
@given(arg=st.sampled_from(sorted(_DPAD_ARGS)), data=st.data())
def test_dpad_constructor(arg, data):
    kwargs = {"nx": 2, "n1": 1}
    kwargs[arg] = data.draw(_DPAD_ARGS[arg])
    assert_clear_error("DPAD", arg, lambda: dpad.DPAD(**kwargs))


@FUZZ
@given(arg=st.sampled_from(["y", "z", "key"]), data=st.data())
def test_dpad_fit(arg, data):
    args = {"y": Y, "z": Z, "key": KEY}
    if arg == "key":
        args["key"] = data.draw(bad_key())
    else:
        args[arg] = data.draw(bad_recording(args[arg], nan_ok=arg == "z", paired=True))
    model = dpad.DPAD(2, 1, n_init=1, max_epochs=1)
    assert_clear_error("DPAD.fit", arg, lambda: model.fit(args["y"], args["z"], key=args["key"]))


@FUZZ
@given(y=bad_recording(Y), z=bad_recording(Z, nan_ok=True), which=st.sampled_from(["y", "z"]))
def test_dpad_predict_and_score(y, z, which):
    if which == "y":
        assert_clear_error("DPAD.predict", "y", lambda: DPAD_FITTED.predict(y))
        assert_clear_error("DPAD.score", "y", lambda: DPAD_FITTED.score(y, Z))
    else:
        # z is checked by the metrics once y is predicted: here the prediction is skipped.
        assert_clear_error("DPAD.score", "z",
                           lambda: dpad.metrics.score(z, Z, y=Y, y_hat=Y))


def test_dpad_not_fitted_and_wrong_width():
    model = dpad.DPAD(2, 1)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(Y)
    assert_clear_error("DPAD.predict", "y", lambda: DPAD_FITTED.predict(Y[:, :2]))


def test_dpad_data_that_overflow_float32_after_standardisation():
    """A model fitted at unit scale refuses data 1e60 times larger (float32 would give Inf)."""
    assert_clear_error("DPAD.predict", "y", lambda: DPAD_FITTED.predict(Y * 1e60))


# ------------------------------------------------------------------------------- search
_SEARCH_ARGS = {
    "key": bad_key(),
    "n_folds": bad_count(2),
    "tol": bad_nonnegative_number(),
    "candidates": st.sampled_from(["Cz", None, 5, [], ["none", "none"], ["Cz", "Q"], [3]]),
    "nx": bad_count(1),
    "n1": bad_count(0),
}


@FUZZ
@given(arg=st.sampled_from(sorted(_SEARCH_ARGS) + ["y", "z"]), data=st.data())
def test_search(arg, data):
    args = {"y": Y, "z": Z, "nx": 2, "n1": 1, "key": KEY, "n_folds": 2, "tol": 0.01,
            "candidates": ("none", "Cz")}
    if arg in ("y", "z"):
        args[arg] = data.draw(bad_recording(args[arg], nan_ok=arg == "z"))
    else:
        args[arg] = data.draw(_SEARCH_ARGS[arg])
    y, z, nx, n1 = args.pop("y"), args.pop("z"), args.pop("nx"), args.pop("n1")
    assert_clear_error("dpad.search", arg, lambda: dpad.search(y, z, nx, n1, max_epochs=1,
                                                               **args))
    assert_clear_error("DPAD.search", arg, lambda: dpad.DPAD.search(y, z, nx, n1, max_epochs=1,
                                                                    **args))


def test_search_refuses_nonlinear():
    assert_clear_error("dpad.search", "nonlinear",
                       lambda: dpad.search(Y, Z, 2, 1, key=KEY, nonlinear="Cz"))


# ------------------------------------------------------------------------------ metrics
@FUZZ
@given(name=st.sampled_from(["cc", "r2"]), arg=st.sampled_from(["z", "z_hat"]), data=st.data())
def test_metrics_cc_r2(name, arg, data):
    args = {"z": Z, "z_hat": Z + 0.1}
    args[arg] = data.draw(bad_recording(args[arg], nan_ok=True, paired=True))
    fn = getattr(dpad.metrics, name)
    assert_clear_error(f"dpad.metrics.{name}", arg, lambda: fn(args["z"], args["z_hat"]))


LABELS = np.arange(300) % 3
PROBS = np.full((300, 3), 1 / 3)


@FUZZ
@given(name=st.sampled_from(["auc", "accuracy"]), arg=st.sampled_from(["z", "probs", "classes"]),
       data=st.data())
def test_metrics_auc_accuracy(name, arg, data):
    args = {"z": LABELS, "probs": PROBS, "classes": None}
    if arg == "classes":
        args[arg] = data.draw(st.sampled_from(["abc", [0, 1], [[0, 1, 2]], [0, 1, math.nan],
                                               {"a": 1}]))
    elif arg == "z":
        args[arg] = data.draw(st.one_of(bad_recording(Z, nan_ok=True),
                                        st.just(np.ones((300, 2)))))
    else:
        args[arg] = data.draw(bad_recording(PROBS, nan_ok=True))
    fn = getattr(dpad.metrics, name)
    assert_clear_error(f"dpad.metrics.{name}", arg,
                       lambda: fn(args["z"], args["probs"], args["classes"]))


@FUZZ
@given(arg=st.sampled_from(["z", "z_hat", "y", "y_hat"]), data=st.data())
def test_metrics_score(arg, data):
    args = {"z": Z, "z_hat": Z, "y": Y, "y_hat": Y}
    args[arg] = data.draw(st.one_of(bad_recording(args[arg], nan_ok=True), st.just(None)))
    if args[arg] is None and arg == "z":
        args[arg] = "z"
    assert_clear_error("dpad.metrics.score", arg, lambda: dpad.metrics.score(**args),
                       names=("y and y_hat",))


@FUZZ
@given(arg=st.sampled_from(["y", "z", "n_folds"]), data=st.data())
def test_metrics_split_folds(arg, data):
    args = {"y": Y, "z": Z, "n_folds": 3}
    if arg == "n_folds":
        args[arg] = data.draw(st.one_of(bad_count(2), st.just(10_000)))
    else:
        args[arg] = data.draw(bad_recording(args[arg], nan_ok=True, paired=True))
    assert_clear_error("dpad.metrics.split_folds", arg,
                       lambda: dpad.metrics.split_folds(args["y"], args["z"], args["n_folds"]))


@FUZZ
@given(arg=st.sampled_from(["make_model", "key", "n_folds"]), data=st.data())
def test_metrics_cross_validate(arg, data):
    args = {"make_model": lambda: dpad.DPAD(2, 1), "n_folds": 2, "key": KEY}
    if arg == "make_model":
        args[arg] = data.draw(st.sampled_from([None, "PSID", dpad.PSID(2, 1, 5), 3,
                                               lambda: "PSID"]))
        args.pop("key")
        names = ("make_model",)
    else:
        args[arg] = data.draw(bad_key() if arg == "key" else bad_count(2))
        names = ()
    make = args.pop("make_model")
    assert_clear_error("dpad.metrics.cross_validate", arg,
                       lambda: dpad.metrics.cross_validate(make, Y, Z, **args), names=names)


def test_cross_validate_keys():
    """A key where the model takes none, and none where it needs one: clear errors."""
    assert_clear_error("dpad.metrics.cross_validate", "key",
                       lambda: dpad.metrics.cross_validate(lambda: dpad.PSID(2, 1, 5), Y, Z,
                                                           n_folds=2, key=KEY))
    assert_clear_error("dpad.metrics.cross_validate", "key",
                       lambda: dpad.metrics.cross_validate(lambda: dpad.DPAD(2, 1), Y, Z,
                                                           n_folds=2))


# --------------------------------------------------------------------------- simulation
_SSM_ARGS = {
    "key": bad_key(),
    "nx": bad_count(1),
    "n1": st.one_of(bad_count(0), st.just(5)),
    "ny": bad_count(1),
    "nz": bad_count(1),
    "n_behaviour_only": bad_count(0),
    "radius": st.one_of(not_a_number().filter(lambda r: not isinstance(r, list)),
                        st.sampled_from([(0.9, 0.5), (0.5, 1.0), (-0.1, 0.5), (0.5,),
                                         (math.nan, 0.5), ("a", 0.9)])),
    "neural_noise": bad_positive_number(),
    "behaviour_noise": bad_nonnegative_number(),
}


@FUZZ
@given(arg=st.sampled_from(sorted(_SSM_ARGS)), data=st.data())
def test_random_ssm(arg, data):
    kwargs = {"key": KEY, "nx": 4, "n1": 2}
    kwargs[arg] = data.draw(_SSM_ARGS[arg])
    assert_clear_error("dpad.random_ssm", arg, lambda: dpad.random_ssm(**kwargs),
                       names=("n1",) if arg == "nx" else ())


SSM = dpad.random_ssm(key=KEY, nx=2, n1=1, ny=3, nz=1)


@FUZZ
@given(arg=st.sampled_from(["n_samples", "key", "y", "filtered"]), data=st.data())
def test_linear_ssm_methods(arg, data):
    if arg == "n_samples":
        bad = data.draw(bad_count(1))
        assert_clear_error("LinearSSM.simulate", arg, lambda: SSM.simulate(bad, key=KEY))
    elif arg == "key":
        bad = data.draw(bad_key())
        assert_clear_error("LinearSSM.simulate", arg, lambda: SSM.simulate(10, key=bad))
    elif arg == "y":
        bad = data.draw(bad_recording(Y))
        assert_clear_error("LinearSSM.predict", arg, lambda: SSM.predict(bad))
    else:
        bad = data.draw(bad_bool())
        assert_clear_error("LinearSSM.predict", arg, lambda: SSM.predict(Y, filtered=bad))


@FUZZ
@given(arg=st.sampled_from(["A", "Cy", "Cz", "Q", "R", "S", "z_noise"]), data=st.data())
def test_linear_ssm_and_kalman_gain(arg, data):
    good = {"A": 0.5 * np.eye(2), "Cy": np.ones((3, 2)), "Cz": np.ones((1, 2)),
            "Q": np.eye(2), "R": np.eye(3), "S": np.zeros((2, 3)), "z_noise": np.eye(1)}
    good[arg] = data.draw(st.sampled_from([
        "A", None, np.ones((5, 5)), np.ones(2), np.full((2, 2), np.nan)[: good[arg].shape[0]],
        np.where(np.ones_like(good[arg]) > 0, np.inf, 0.0), good[arg].astype(complex)]))
    assert_clear_error("LinearSSM", arg, lambda: dpad.LinearSSM(**good))
    if arg not in ("Cz", "z_noise"):
        args = [good[k] for k in ("A", "Cy", "Q", "R", "S")]
        assert_clear_error("dpad.kalman_gain", arg, lambda: dpad.kalman_gain(*args))


@FUZZ
@given(arg=st.sampled_from(["fn", "mean", "var", "order"]), data=st.data())
def test_gauss_hermite_mean(arg, data):
    args = {"fn": np.tanh, "mean": np.zeros(3), "var": np.ones(3), "order": 20}
    args[arg] = data.draw({
        "fn": st.sampled_from([None, "tanh", 3.0]),
        "mean": st.sampled_from(["0", None, np.array([np.nan]), np.array([np.inf]),
                                 np.zeros(4)]),
        "var": st.sampled_from(["1", None, np.array([-1.0]), np.array([np.nan]),
                                np.array([np.inf])]),
        "order": bad_count(1),
    }[arg])
    assert_clear_error("dpad.gauss_hermite_mean", arg,
                       lambda: dpad.gauss_hermite_mean(**args), names=("do not broadcast",))


# ----------------------------------------------------------------- DPAD on networks
STATES = _rng.standard_normal((6, 40, 3))


@FUZZ
@given(arg=st.sampled_from(["states", "behaviour"]), data=st.data())
def test_network_data(arg, data):
    args = {"states": STATES, "behaviour": np.arange(6)}
    extra = ([np.arange(5), STATES[None], STATES[:, :, :0]] if arg == "states" else
             [np.arange(5), {"a": np.arange(6), "b": np.arange(5)}, {}, {"a": "abc"},
              np.ones((6, 39, 1)), STATES[None]])
    args[arg] = data.draw(st.one_of(bad_recording(STATES[0]), st.sampled_from(extra)))
    assert_clear_error("dpad.network_data", arg,
                       lambda: dpad.network_data(args["states"], args["behaviour"]),
                       names=("trial", "rows", "conditions"))


@FUZZ
@given(arg=st.sampled_from(["method", "key", "nx", "n1", "horizon"]), data=st.data())
def test_fit_network(arg, data):
    kwargs = {"nx": 2, "n1": 1, "method": "psid"}
    if arg == "method":
        kwargs[arg] = data.draw(st.sampled_from(["PSID", "dpad2", None, 1, ["psid"]]))
    elif arg == "key":
        kwargs.update(method="dpad", key=data.draw(bad_key()))
    elif arg == "horizon":
        kwargs[arg] = data.draw(bad_count(1))
    else:
        kwargs[arg] = data.draw(bad_count(1 if arg == "nx" else 0))
    assert_clear_error("dpad.fit_network", arg,
                       lambda: dpad.fit_network(STATES, np.arange(6), **kwargs))


def test_fit_network_keys():
    """DPAD needs a key and PSID, deterministic, takes none: both answered clearly."""
    assert_clear_error("dpad.fit_network", "key",
                       lambda: dpad.fit_network(STATES, np.arange(6), nx=2, n1=1,
                                                method="dpad"))
    assert_clear_error("dpad.fit_network", "key",
                       lambda: dpad.fit_network(STATES, np.arange(6), nx=2, n1=1, key=KEY))
