"""neurodyn.data: causal smoothing of trials shorter than the kernel (against a NumPy
reference), and clear errors for bad data, bad files and bad arguments."""

import math
import zipfile

import numpy as np
import pytest

from neurodyn import data


def causal_reference(x, sigma):
    """s_t = Σ_k w_k x[max(t − k, 0)], w_k ∝ exp(−k²/2σ²) for k = 0..⌈4σ⌉, written out."""
    K = math.ceil(4 * sigma)
    w = np.array([math.exp(-0.5 * (k / sigma) ** 2) for k in range(K + 1)])
    w /= w.sum()
    out = np.zeros_like(x, dtype=float)
    for t in range(x.shape[0]):
        for k in range(K + 1):
            out[t] += w[k] * x[max(t - k, 0)]
    return out


@pytest.mark.parametrize("T", [1, 2, 7, 40, 41, 90])
@pytest.mark.parametrize("sigma_ms", [5.0, 100.0])
def test_causal_smoothing_matches_a_numpy_reference_whatever_the_trial_length(T, sigma_ms):
    x = np.random.default_rng(T).standard_normal((T, 3))
    got = data.smooth(x, sigma_ms, dt=10.0, causal=True)  # σ = 10 samples: kernel of 41
    np.testing.assert_allclose(got, causal_reference(x, sigma_ms / 10.0), rtol=1e-12, atol=1e-12)
    # Past only: changing the future leaves the present unchanged.
    later = x.copy()
    later[T // 2 + 1:] += 5.0
    np.testing.assert_allclose(data.smooth(later, sigma_ms, dt=10.0, causal=True)[: T // 2 + 1],
                               got[: T // 2 + 1])


def test_recording_smoothed_with_short_trials():
    rng = np.random.default_rng(0)
    rec = data.Recording(y=[rng.standard_normal((n, 2)) for n in (3, 50)], rate=100.0)
    out = rec.smoothed(200.0, causal=True)  # σ = 20 samples, trial 0 has 3
    for a, b in zip(out.y, rec.y):
        np.testing.assert_allclose(a, causal_reference(b, 20.0), rtol=1e-12, atol=1e-12)
    assert out.smoothed(10.0).y[0].shape == (3, 2)


def test_one_dimensional_smoothing_and_huge_kernels():
    x = np.arange(5.0)
    np.testing.assert_allclose(data.smooth(x, 30.0, dt=10.0, causal=True),
                               causal_reference(x, 3.0))
    with pytest.raises(ValueError, match="sigma_ms.*samples"):
        data.smooth(x, 1e300, dt=1.0)
    with pytest.raises(ValueError, match="sigma_ms.*samples"):
        data.smooth(x, 1.0, dt=1e-300, causal=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y=np.array([["a", "b"], ["c", "d"]])), "y must be an array of real numbers"),
        (dict(y=["ab", "cd"]), r"y\[0\] must be an array of numbers"),
        (dict(y=np.array([[1.0, np.inf]])), "y must be finite"),
        (dict(y=np.array([[1.0, np.nan]])), "y must be finite"),
        (dict(y=[np.zeros((3, 2)), np.full((3, 2), -np.inf)]), r"y\[1\] must be finite"),
        (dict(y=np.zeros((3, 2)), z=np.array([["x"], ["y"], ["z"]])), "z must be an array of real"),
        (dict(y=np.zeros((3, 2)), z=np.full((3, 1), np.inf)), "z must be finite"),
        (dict(y=None), "y must be"),
        (dict(y="spikes"), "y must be"),
        (dict(y=np.zeros((2, 3, 4, 5))), "y must have 1 or 2 or 3 dimensions"),
        (dict(y=np.zeros((0, 3))), "y: trial 0 must hold at least one sample"),
        (dict(y=[]), "y: no trials"),
        (dict(y=np.zeros((3, 2)), rate="100"), "rate must be a finite number"),
        (dict(y=np.zeros((3, 2)), rate=np.nan), "rate must be a finite number"),
        (dict(y=np.zeros((3, 2)), channel_names="ab"), "channel_names must be a sequence"),
        (dict(y=np.zeros((3, 2)), channel_names=(1, 2)), "channel_names must hold strings"),
        (dict(y=np.zeros((3, 2)), metadata=[1]), "metadata must be a dict"),
        (dict(y=np.zeros((3, 2)), z=[np.zeros((3, 1))] * 2), "z has 2 trials but y has 1"),
    ],
)
def test_bad_recordings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.Recording(**kwargs)


def test_missing_behaviour_stays_allowed_and_counts_keep_their_dtype():
    z = np.ones((4, 1))
    z[1] = np.nan  # NaN = a missing behaviour sample (documented)
    rec = data.Recording(y=np.arange(8).reshape(4, 2), z=z, channel_names=["a", "b"])
    assert rec.y[0].dtype.kind == "i" and rec.channel_names == ("a", "b")
    binned = rec.binned(2, how="mean")
    np.testing.assert_array_equal(binned.z[0][:, 0], [1.0, 1.0])  # the mean skips the NaN


def test_trial_selection_errors():
    rec = data.Recording(y=np.zeros((3, 4, 2)))
    assert rec.trials([True, False, True]).n_trials == 2 and rec.trials(-1).n_trials == 1
    for bad, match in [(5, "index does not fit 3 trials"), ("a", "index must be"),
                       (1.0, "index must be"), (True, "index must be"), (None, "index must be"),
                       ([0.5], "index must be an array of integers"),
                       ([True, False], "index does not fit"), (slice(5, 9), "selects no trials")]:
        with pytest.raises(ValueError, match=match):
            rec.trials(bad)


def test_bin_spikes_and_rebin_checks():
    with pytest.raises(ValueError, match=r"spike_times.*one 1-D array.*\[times\]"):
        data.bin_spikes(np.array([0.1, 0.2]), bin_ms=10, t_start=0.0, t_stop=1.0)
    with pytest.raises(ValueError, match=r"spike_times\[1\] must be finite"):
        data.bin_spikes([[0.1], [np.nan]], bin_ms=10, t_start=0.0, t_stop=1.0)
    with pytest.raises(ValueError, match="spike_times.*no units"):
        data.bin_spikes([], bin_ms=10, t_start=0.0, t_stop=1.0)
    with pytest.raises(ValueError, match="bin_ms.*too many"):
        data.bin_spikes([[0.1]], bin_ms=1e-12, t_start=0.0, t_stop=1.0)
    with pytest.raises(ValueError, match="t_stop must be a finite number"):
        data.bin_spikes([[0.1]], bin_ms=10, t_start=0.0, t_stop=np.inf)
    counts = data.bin_spikes(np.array([[0.001, 0.015], [0.002, 0.003]]), bin_ms=10,
                             t_start=0.0, t_stop=0.02)
    np.testing.assert_array_equal(counts, [[1, 2], [1, 0]])
    with pytest.raises(ValueError, match="how must be one of"):
        data.rebin(np.zeros((4, 1)), 2, how="max")
    with pytest.raises(ValueError, match="factor: 3 samples are fewer than one bin of 4"):
        data.rebin(np.zeros((3, 1)), 4)
    with pytest.raises(ValueError, match="x must be an array of real numbers"):
        data.rebin(np.array(["a", "b"]), 1)
    with pytest.raises(ValueError, match="x must be finite"):
        data.rebin(np.array([1.0, np.inf]), 1)


def test_damaged_and_foreign_npz_files(tmp_path):
    bad = {
        "text.npz": b"not a zip at all",
        "empty.npz": b"",
    }
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="path: .* is not a NumPy .npz file"):
            data.read_npz(tmp_path / name, rate=1.0)
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        data.read_npz(tmp_path / "single.npy", rate=1.0)
    np.savez(tmp_path / "obj.npz", y=np.array([np.zeros(2), np.zeros(3)], dtype=object))
    with pytest.raises(ValueError, match="path: .* unreadable entries"):
        data.read_npz(tmp_path / "obj.npz", rate=1.0)
    np.savez(tmp_path / "rate.npz", y=np.zeros((3, 1)), rate=np.array("fast"))
    with pytest.raises(ValueError, match="rate: the 'rate' entry"):
        data.read_npz(tmp_path / "rate.npz")
    np.savez(tmp_path / "rate0.npz", y=np.zeros((3, 1)), rate=np.array(-2.0))
    with pytest.raises(ValueError, match="rate .*must be a finite number > 0"):
        data.read_npz(tmp_path / "rate0.npz")
    np.savez(tmp_path / "meta.npz", y=np.zeros((3, 1)), metadata=np.array("{not json"))
    with pytest.raises(ValueError, match="unreadable entries"):
        data.read_npz(tmp_path / "meta.npz", rate=1.0)
    np.savez(tmp_path / "strings.npz", y=np.array([["a"], ["b"]]))
    with pytest.raises(ValueError, match="y must be an array of real numbers"):
        data.read_npz(tmp_path / "strings.npz", rate=1.0)
    good = tmp_path / "good.npz"
    np.savez(good, y=np.ones((50, 2)))
    raw = good.read_bytes()
    with zipfile.ZipFile(good) as z:
        offset = z.getinfo("y.npy").header_offset + 60
    good.write_bytes(raw[:offset] + bytes(200) + raw[offset + 200:])
    with pytest.raises(ValueError, match="path: "):
        data.read_npz(good, rate=1.0)
    with pytest.raises(FileNotFoundError):
        data.read_npz(tmp_path / "missing.npz", rate=1.0)
    with pytest.raises(ValueError, match="path: .* is a folder"):
        data.read_npz(tmp_path, rate=1.0)


def test_save_npz_checks(tmp_path):
    with pytest.raises(ValueError, match="recording must be a neurodyn.data.Recording"):
        data.save_npz(tmp_path / "a.npz", np.zeros((3, 2)))
    rec = data.Recording(y=np.zeros((3, 2)), metadata={"x": float("nan")})
    with pytest.raises(ValueError, match="recording: its metadata must be JSON"):
        data.save_npz(tmp_path / "a.npz", rec)


def test_read_nwb_checks_arguments_before_opening(tmp_path):
    (tmp_path / "f.nwb").write_bytes(b"")
    with pytest.raises(ValueError, match="bin_ms applies to spike times"):
        data.read_nwb(tmp_path / "f.nwb", neural="lfp", bin_ms=10)
    with pytest.raises(ValueError, match="bin_ms: binning"):
        data.read_nwb(tmp_path / "f.nwb")
    with pytest.raises(ValueError, match="bin_ms must be a finite number > 0"):
        data.read_nwb(tmp_path / "f.nwb", bin_ms=-1)
    with pytest.raises(ValueError, match="neural must be the name"):
        data.read_nwb(tmp_path / "f.nwb", neural=3)
    with pytest.raises(FileNotFoundError):
        data.read_nwb(tmp_path / "missing.nwb", bin_ms=10)
