"""Bad input to checkpoints (`nd.save`, `nd.load`, `nd.io.read_header`) and to every public
function of `nd.data` is answered by a clear error naming the argument (property-based: see
tests/badinput.py). Damaged files are named "not a valid neurodyn checkpoint"."""

import atexit
import math
import os
import shutil
import tempfile

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
    bad_positive_number,
    not_a_number,
)
from hypothesis import given, strategies as st

import neurodyn as nd
from neurodyn import data

_FOLDER = tempfile.mkdtemp(prefix="neurodyn-badinput-")  # also the "existing folder" bad path
atexit.register(shutil.rmtree, _FOLDER, True)
_not_none = lambda s: s.filter(lambda v: v is not None)  # noqa: E731
_INVALID = ("not a valid neurodyn checkpoint",)
_nonfinite = st.sampled_from([math.nan, math.inf, -math.inf])


def bad_path():
    """Not a usable file path: wrong types, empty, NUL, an existing folder."""
    return st.one_of(
        st.sampled_from([None, 0, 1.5, b"net.eqx", "", [], ["a.eqx"], {}, object(), True,
                         "a\x00b.eqx", _FOLDER]),
        st.integers(),
    )


def bad_array(*, nan_ok: bool = False, ndims=(1, 2)):
    """Not an array of finite real numbers of the given dimensions (NaN allowed if nan_ok)."""
    values = [np.inf, -np.inf] + ([] if nan_ok else [np.nan])
    wrong_dims = [d for d in range(5) if d not in ndims]
    return st.one_of(
        st.sampled_from([None, "abc", b"x", {}, {"a": 1}, object(), 1 + 2j]),
        st.just(np.array([["a", "b"], ["c", "d"]])),
        st.just(np.zeros((3, 2), complex)),
        st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=3).map(
            lambda s: np.array(s)),
        st.tuples(st.sampled_from(values), st.integers(0, 5)).map(lambda v: _with_value(*v)),
        st.sampled_from(wrong_dims).map(lambda d: np.zeros((2,) * d)),
    )


def _with_value(value, at):
    x = np.zeros((6, 2))
    x[at, at % 2] = value
    return x


# ---------------------------------------------------------------------------------------------
# Checkpoints


@pytest.fixture(scope="module")
def model():
    return nd.models.LowRankRNN(8, 1, 1, 1, key=jax.random.key(0))


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory):
    path = nd.save(tmp_path_factory.mktemp("ckpt") / "net.eqx", model)
    return path.read_bytes()


@FUZZ
@given(path=bad_path())
def test_save_path(model, path):
    assert_clear_error("nd.save", "path", lambda: nd.save(path, model))


@FUZZ
@given(obj=st.sampled_from([None, 5, "model", {"a": 1}, [1, 2], np.zeros(3), jnp.zeros(3),
                            eqx.nn.Linear(2, 2, key=jax.random.key(0)), "nan", "shape"]))
def test_save_obj(model, obj):
    if isinstance(obj, str) and obj == "nan":
        obj = eqx.tree_at(lambda m: m.m, model, model.m.at[0, 0].set(jnp.inf))
    elif isinstance(obj, str) and obj == "shape":
        obj = eqx.tree_at(lambda m: m.w_in, model, jnp.zeros((2, 8)))
    assert_clear_error("nd.save", "obj", lambda: nd.save(os.path.join(_FOLDER, "x.eqx"), obj))


def _cycle():
    d = {}
    d["self"] = d
    return d


@FUZZ
@given(metadata=st.one_of(
    not_a_number().filter(lambda v: v is not None and not (isinstance(v, dict) and not v)),
    st.sampled_from([{"a": object()}, {"a": math.nan}, {"a": [math.inf]}, {"a": {1, 2}},
                     {"a": b"x"}, "meta", 5, [("a", 1)]]),
    st.builds(_cycle),
))
def test_save_metadata(model, metadata):
    assert_clear_error("nd.save", "metadata",
                       lambda: nd.save(os.path.join(_FOLDER, "x.eqx"), model, metadata=metadata))


@FUZZ
@given(seed=st.one_of(_not_none(not_a_number()), _nonfinite, st.floats(allow_nan=False),
                      st.just(np.array([1]))))
def test_save_seed(model, seed):
    assert_clear_error("nd.save", "seed",
                       lambda: nd.save(os.path.join(_FOLDER, "x.eqx"), model, seed=seed))


@FUZZ
@given(path=bad_path())
def test_load_and_read_header_path(path):
    assert_clear_error("nd.load", "path", lambda: nd.load(path))
    assert_clear_error("nd.io.read_header", "path", lambda: nd.io.read_header(path))


@FUZZ
@given(content=st.binary(max_size=600))
def test_load_foreign_bytes(content):
    path = os.path.join(_FOLDER, "foreign.eqx")
    with open(path, "wb") as f:
        f.write(content)
    assert_clear_error("nd.load", "path", lambda: nd.load(path), names=_INVALID)


@FUZZ
@given(data_=st.data())
def test_load_damaged_checkpoint(checkpoint, data_):
    """A valid checkpoint with bytes overwritten, inserted or cut anywhere."""
    n = len(checkpoint)
    at = data_.draw(st.integers(0, n - 1))
    kind = data_.draw(st.sampled_from(["flip", "insert", "cut", "truncate"]))
    if kind == "flip":
        mask = data_.draw(st.integers(1, 255))
        damaged = checkpoint[:at] + bytes([checkpoint[at] ^ mask]) + checkpoint[at + 1:]
    elif kind == "insert":
        damaged = checkpoint[:at] + data_.draw(st.binary(min_size=1, max_size=8)) + checkpoint[at:]
    elif kind == "cut":
        damaged = checkpoint[:at] + checkpoint[at + data_.draw(st.integers(1, 8)):]
    else:
        damaged = checkpoint[:at]
    path = os.path.join(_FOLDER, "damaged.eqx")
    with open(path, "wb") as f:
        f.write(damaged)
    assert_clear_error("nd.load", "path", lambda: nd.load(path), names=_INVALID)


# ---------------------------------------------------------------------------------------------
# Recording


Y = np.zeros((5, 2))


@FUZZ
@given(y=bad_array(ndims=(1, 2, 3)))
def test_recording_y(y):
    assert_clear_error("data.Recording", "y", lambda: data.Recording(y=y))


@FUZZ
@given(y=st.lists(bad_array(), min_size=1, max_size=3))
def test_recording_y_trials(y):
    assert_clear_error("data.Recording", "y", lambda: data.Recording(y=[Y] + y))


@FUZZ
@given(z=st.one_of(_not_none(bad_array(nan_ok=True, ndims=(1, 2, 3))),
                   st.just(np.zeros((4, 1))), st.just([np.zeros((5, 1))] * 2)))
def test_recording_z(z):
    assert_clear_error("data.Recording", "z", lambda: data.Recording(y=Y, z=z))


@FUZZ
@given(rate=bad_positive_number())
def test_recording_rate(rate):
    assert_clear_error("data.Recording", "rate", lambda: data.Recording(y=Y, rate=rate))


@FUZZ
@given(names=st.one_of(
    st.sampled_from(["ab", b"ab", 5, 1.0, {"a": 1}, object(), (1, 2), ("a",), ("a", "b", "c"),
                     [None, "b"]]),
    st.lists(st.text(max_size=3), min_size=0, max_size=5).filter(lambda s: len(s) != 2),
))
def test_recording_names(names):
    assert_clear_error("data.Recording", "channel_names",
                       lambda: data.Recording(y=Y, channel_names=names))
    assert_clear_error("data.Recording", "behaviour_names",
                       lambda: data.Recording(y=Y, z=np.zeros((5, 2)), behaviour_names=names))


@FUZZ
@given(metadata=st.sampled_from([None, "x", 5, [1], ("a", 1), np.zeros(2)]))
def test_recording_metadata(metadata):
    assert_clear_error("data.Recording", "metadata",
                       lambda: data.Recording(y=Y, metadata=metadata))


REC = data.Recording(y=np.zeros((3, 8, 2)), z=np.zeros((3, 8, 1)), rate=100.0)


@FUZZ
@given(index=st.one_of(
    st.sampled_from([None, "a", 1.5, True, [0.5], [[0]], {}, object(), [True], slice(5, 9),
                     np.array([0.0])]),
    st.integers().filter(lambda i: not -3 <= i < 3),
    st.lists(st.integers(), min_size=1, max_size=3).filter(lambda s: any(not -3 <= i < 3
                                                                          for i in s)),
))
def test_recording_trials(index):
    assert_clear_error("Recording.trials", "index", lambda: REC.trials(index))


@FUZZ
@given(factor=st.one_of(bad_count(), st.integers(9, 10**6)),
       how=st.sampled_from(["sum", "mean"]))
def test_recording_binned(factor, how):
    assert_clear_error("Recording.binned", "factor", lambda: REC.binned(factor, how=how))


@FUZZ
@given(how=st.one_of(not_a_number(), st.text(max_size=5).filter(lambda s: s not in ("sum",
                                                                                      "mean"))))
def test_recording_binned_how(how):
    assert_clear_error("Recording.binned", "how", lambda: REC.binned(2, how=how))


@FUZZ
@given(sigma_ms=st.one_of(bad_positive_number(), st.floats(2e7, 1e300)))  # > 1e6 samples
def test_recording_smoothed(sigma_ms):
    assert_clear_error("Recording.smoothed", "sigma_ms", lambda: REC.smoothed(sigma_ms))


@FUZZ
@given(causal=bad_bool())
def test_recording_smoothed_causal(causal):
    assert_clear_error("Recording.smoothed", "causal", lambda: REC.smoothed(10.0, causal=causal))


# ---------------------------------------------------------------------------------------------
# Binning and smoothing


@FUZZ
@given(x=bad_array())
def test_smooth_x(x):
    assert_clear_error("data.smooth", "x", lambda: data.smooth(x, 10.0, dt=1.0))


@FUZZ
@given(sigma_ms=bad_positive_number(), dt=bad_positive_number())
def test_smooth_numbers(sigma_ms, dt):
    assert_clear_error("data.smooth", "sigma_ms", lambda: data.smooth(Y, sigma_ms, dt=1.0))
    assert_clear_error("data.smooth", "dt", lambda: data.smooth(Y, 10.0, dt=dt))


@FUZZ
@given(causal=bad_bool())
def test_smooth_causal(causal):
    assert_clear_error("data.smooth", "causal", lambda: data.smooth(Y, 10.0, dt=1.0,
                                                                     causal=causal))


@FUZZ
@given(x=bad_array(nan_ok=True, ndims=(1, 2, 3, 4)))
def test_rebin_x(x):
    assert_clear_error("data.rebin", "x", lambda: data.rebin(x, 2))


@FUZZ
@given(factor=st.one_of(bad_count(), st.integers(6, 10**9)),
       how=st.one_of(not_a_number(), st.sampled_from(["max", "SUM", ""])))
def test_rebin_factor_and_how(factor, how):
    assert_clear_error("data.rebin", "factor", lambda: data.rebin(Y, factor))
    assert_clear_error("data.rebin", "how", lambda: data.rebin(Y, 2, how=how))


SPIKES = [np.array([0.01, 0.2]), np.array([0.5])]


@FUZZ
@given(spikes=st.one_of(
    st.sampled_from([None, "spikes", 5, 1.5, {}, [], np.array([0.1, 0.2]), np.array(0.1),
                     np.zeros((2, 2, 2))]),
    st.lists(st.one_of(st.sampled_from(["a", None, np.zeros((2, 2))]),
                       _nonfinite.map(lambda v: np.array([0.1, v]))), min_size=1, max_size=3),
))
def test_bin_spikes_spike_times(spikes):
    assert_clear_error("data.bin_spikes", "spike_times",
                       lambda: data.bin_spikes(spikes, bin_ms=10.0, t_start=0.0, t_stop=1.0))


@FUZZ
@given(bin_ms=st.one_of(bad_positive_number(), st.floats(1e-300, 1e-7), st.floats(2e3, 1e300)),
       t=st.one_of(not_a_number(), _nonfinite))
def test_bin_spikes_numbers(bin_ms, t):
    assert_clear_error("data.bin_spikes", "bin_ms",
                       lambda: data.bin_spikes(SPIKES, bin_ms=bin_ms, t_start=0.0, t_stop=1.0))
    assert_clear_error("data.bin_spikes", "t_start",
                       lambda: data.bin_spikes(SPIKES, bin_ms=10.0, t_start=t, t_stop=1.0))
    assert_clear_error("data.bin_spikes", "t_stop",
                       lambda: data.bin_spikes(SPIKES, bin_ms=10.0, t_start=0.0, t_stop=t))


@FUZZ
@given(t_stop=st.floats(-1e300, 0.0))
def test_bin_spikes_interval(t_stop):
    assert_clear_error("data.bin_spikes", "t_stop",
                       lambda: data.bin_spikes(SPIKES, bin_ms=10.0, t_start=0.0, t_stop=t_stop))


# ---------------------------------------------------------------------------------------------
# Files


@pytest.fixture(scope="module")
def npz_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "rec.npz"
    np.savez(path, y=np.zeros((5, 2)), rate=np.array(10.0))
    return path


@FUZZ
@given(path=bad_path())
def test_read_npz_path(path):
    assert_clear_error("data.read_npz", "path", lambda: data.read_npz(path, rate=10.0))


# Any non-empty str is a valid entry name (a missing entry is an error naming the file).
_bad_name = st.one_of(not_a_number().filter(lambda v: not isinstance(v, str)), st.just(""))


@FUZZ
@given(name=_bad_name, rate=_not_none(bad_positive_number()))
def test_read_npz_names_and_rate(npz_file, name, rate):
    assert_clear_error("data.read_npz", "y", lambda: data.read_npz(npz_file, y=name))
    assert_clear_error("data.read_npz", "z", lambda: data.read_npz(npz_file, z=name))
    assert_clear_error("data.read_npz", "rate", lambda: data.read_npz(npz_file, rate=rate))


@FUZZ
@given(content=st.binary(max_size=300))
def test_read_npz_foreign_bytes(content):
    path = os.path.join(_FOLDER, "foreign.npz")
    with open(path, "wb") as f:
        f.write(content)
    assert_clear_error("data.read_npz", "path", lambda: data.read_npz(path, rate=1.0))


@FUZZ
@given(path=bad_path().filter(lambda p: p != _FOLDER),
       recording=st.sampled_from([None, Y, {"y": Y}, "rec", [Y]]))
def test_save_npz(path, recording):
    assert_clear_error("data.save_npz", "path", lambda: data.save_npz(path, REC))
    assert_clear_error("data.save_npz", "recording",
                       lambda: data.save_npz(os.path.join(_FOLDER, "r.npz"), recording))


@FUZZ
@given(path=bad_path(), name=_not_none(_bad_name), bin_ms=_not_none(bad_positive_number()))
def test_read_nwb(npz_file, path, name, bin_ms):
    """Arguments are checked before the file is opened (and before pynwb is imported)."""
    assert_clear_error("data.read_nwb", "path", lambda: data.read_nwb(path, bin_ms=10.0))
    assert_clear_error("data.read_nwb", "neural", lambda: data.read_nwb(npz_file, neural=name))
    assert_clear_error("data.read_nwb", "behaviour",
                       lambda: data.read_nwb(npz_file, neural="a", behaviour=name))
    assert_clear_error("data.read_nwb", "bin_ms", lambda: data.read_nwb(npz_file, bin_ms=bin_ms))
