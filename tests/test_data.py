"""neurodyn.data: the Recording container, npz round trips, binning and smoothing, NWB."""

import numpy as np
import pytest
from scipy import ndimage

from neurodyn import data


def test_recording_checks_and_views():
    rng = np.random.default_rng(0)
    rec = data.Recording(y=rng.poisson(2.0, (3, 100, 4)), z=rng.standard_normal((3, 100, 2)),
                         rate=100.0)
    assert (rec.n_trials, rec.n_channels, rec.n_behaviour, rec.dt) == (3, 4, 2, 10.0)
    y, z = rec.arrays()
    assert len(y) == 3 and z[0].shape == (100, 2)
    sub = rec.trials(slice(0, 2))
    assert sub.n_trials == 2
    binned = rec.binned(5)
    assert binned.y[0].shape == (20, 4) and binned.rate == 20.0
    np.testing.assert_array_equal(binned.y[0][0], rec.y[0][:5].sum(0))
    np.testing.assert_allclose(binned.z[0][0], rec.z[0][:5].mean(0))
    with pytest.raises(ValueError, match="aligned"):
        data.Recording(y=np.zeros((10, 2)), z=np.zeros((9, 1)))
    with pytest.raises(ValueError, match="rate"):
        data.Recording(y=np.zeros((10, 2)), rate=0)
    with pytest.raises(ValueError, match="channel_names"):
        data.Recording(y=np.zeros((10, 2)), channel_names=("a",))


@pytest.mark.parametrize("ragged", [False, True])
def test_npz_round_trip(tmp_path, ragged):
    rng = np.random.default_rng(1)
    lengths = (50, 70) if ragged else (60, 60)
    rec = data.Recording(y=[rng.standard_normal((n, 3)) for n in lengths],
                         z=[rng.standard_normal((n, 1)) for n in lengths], rate=50.0,
                         channel_names=("a", "b", "c"), metadata={"animal": "M1"})
    data.save_npz(tmp_path / "rec.npz", rec)
    back = data.read_npz(tmp_path / "rec.npz")
    assert back.rate == 50.0 and back.channel_names == ("a", "b", "c")
    assert back.metadata == {"animal": "M1"}
    for a, b in zip(rec.y + rec.z, back.y + back.z):
        np.testing.assert_array_equal(a, b)


def test_read_npz_needs_rate_and_data(tmp_path):
    np.savez(tmp_path / "a.npz", y=np.zeros((10, 2)))
    with pytest.raises(ValueError, match="rate"):
        data.read_npz(tmp_path / "a.npz")
    assert data.read_npz(tmp_path / "a.npz", rate=10.0).n_channels == 2
    np.savez(tmp_path / "b.npz", q=np.zeros(3))
    with pytest.raises(ValueError, match="no neural data"):
        data.read_npz(tmp_path / "b.npz", rate=1.0)


def test_bin_spikes_against_counting():
    spikes = [np.array([0.001, 0.002, 0.015, 0.031]), np.array([0.0101])]
    counts = data.bin_spikes(spikes, bin_ms=10, t_start=0.0, t_stop=0.04)
    np.testing.assert_array_equal(counts, [[2, 0], [1, 1], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match="bin_ms"):
        data.bin_spikes(spikes, bin_ms=0, t_start=0.0, t_stop=1.0)


def test_smoothing():
    x = np.zeros((101, 1))
    x[50] = 1.0
    s = data.smooth(x, 20.0, dt=10.0)
    np.testing.assert_allclose(s, ndimage.gaussian_filter1d(x, 2.0, axis=0, mode="nearest"))
    c = data.smooth(x, 20.0, dt=10.0, causal=True)
    assert np.all(c[:50] == 0) and c[50, 0] > 0 and np.isclose(c.sum(), 1.0)
    with pytest.raises(ValueError, match="factor"):
        data.rebin(x, 0)


def test_read_nwb(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from datetime import datetime, timezone

    nwbfile = pynwb.NWBFile(session_description="test", identifier="id",
                            session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    rng = np.random.default_rng(0)
    nwbfile.add_acquisition(pynwb.TimeSeries(name="lfp", data=rng.standard_normal((200, 3)),
                                             unit="V", rate=100.0, starting_time=0.0))
    nwbfile.add_acquisition(pynwb.TimeSeries(name="speed", data=np.linspace(0, 1, 100),
                                             unit="m/s", rate=50.0, starting_time=0.0))
    for times in ([0.01, 0.5, 1.2], [0.3, 0.31, 1.9]):
        nwbfile.add_unit(spike_times=times)
    with pynwb.NWBHDF5IO(str(tmp_path / "f.nwb"), "w") as io:
        io.write(nwbfile)
    rec = data.read_nwb(tmp_path / "f.nwb", neural="lfp", behaviour="speed")
    assert rec.n_channels == 3 and rec.rate == pytest.approx(100.0) and rec.n_behaviour == 1
    assert np.isclose(rec.z[0][10, 0], 5 / 99)  # t = 0.1 s is sample 5 of the 50 Hz series
    spikes = data.read_nwb(tmp_path / "f.nwb", bin_ms=100)
    assert spikes.n_channels == 2 and spikes.y[0].sum() == 6
