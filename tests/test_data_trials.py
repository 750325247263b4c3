"""neurodyn.data: measured inputs, trial conditions, trials tables, trial alignment, condition
averages, Poisson spike trains; each against a NumPy reference written here."""

from datetime import datetime, timezone

import jax
import numpy as np
import pytest
from badinput import assert_clear_error

from neurodyn import data


def session(T=200, rate=100.0, t_start=0.5):
    """A continuous recording whose samples count up (y[k] = k), so windows are easy to check."""
    y = np.arange(T, dtype=float)[:, None] * np.ones((1, 3))
    u = np.sin(np.arange(T) / 7.0)[:, None]
    z = np.cos(np.arange(T) / 5.0)[:, None]
    table = data.TrialTable(start_time=[0.6, 1.0, 1.5], stop_time=[0.9, 1.45, 2.2],
                            columns={"coherence": [0.1, -0.2, 0.1], "choice": [1, 0, 1],
                                     "cue": [0.7, 1.1, 1.6], "outcome": ["hit", "miss", "hit"]})
    return data.Recording(y=y, z=z, u=u, rate=rate, trial_table=table, t_start=t_start)


def test_aligned_windows_against_sample_arithmetic():
    rec = session()
    out = rec.aligned("cue", before=50.0, after=200.0)
    # the window of trial i starts at sample round((cue_i − 0.05 − t_start) · rate)
    firsts = [int(round((c - 0.05 - 0.5) * 100)) for c in (0.7, 1.1, 1.6)]
    assert out.n_trials == 3 and out.t_start == pytest.approx(-0.05)
    for i, f in enumerate(firsts):
        np.testing.assert_array_equal(out.y[i][:, 0], np.arange(f, f + 25))
        np.testing.assert_array_equal(out.u[i], rec.u[0][f:f + 25])
        np.testing.assert_array_equal(out.z[i], rec.z[0][f:f + 25])
    np.testing.assert_array_equal(out.conditions["choice"], [1, 0, 1])
    np.testing.assert_array_equal(out.conditions["outcome"], ["hit", "miss", "hit"])
    np.testing.assert_allclose(out.conditions["start_time"], [0.6, 1.0, 1.5])
    assert out.trial_table is None and out.metadata["aligned_to"] == "cue"
    np.testing.assert_allclose(out.time(), -0.05 + np.arange(25) * 0.01)
    # to each trial's stop: lengths (stop − start) · rate
    ragged = rec.aligned()
    assert ragged.lengths.tolist() == [30, 45, 70]
    assert ragged.trials([0, 2]).conditions["coherence"].tolist() == [0.1, 0.1]
    assert rec.aligned(rows=[False, True, False]).n_trials == 1


def test_alignment_errors():
    rec = session()
    with pytest.raises(ValueError, match="no trials table"):
        data.Recording(y=np.zeros((10, 2))).aligned()
    with pytest.raises(ValueError, match="no trials table"):
        rec.aligned(after=100.0).aligned()
    with pytest.raises(ValueError, match="outside the recording"):
        rec.aligned("cue", before=500.0, after=100.0)
    with pytest.raises(ValueError, match="event"):
        rec.aligned("nope")
    with pytest.raises(ValueError, match="not times"):
        rec.aligned("outcome")
    with pytest.raises(ValueError, match="trial_table"):
        data.Recording(y=np.zeros((2, 10, 2)), trial_table=rec.trial_table)
    for kwargs, arg in (({"before": -1.0}, "before"), ({"after": float("nan")}, "after"),
                        ({"event": 3}, "event"), ({"rows": "a"}, "rows"),
                        ({"rows": [0, 7]}, "rows")):
        assert_clear_error("Recording.aligned", arg, lambda k=kwargs: rec.aligned(**k))


def test_inputs_and_conditions_are_checked():
    y = np.zeros((3, 10, 2))
    for kwargs, arg in (({"u": np.zeros((3, 9, 1))}, "u"), ({"u": np.full((3, 10, 1), np.nan)},
                                                            "u"),
                        ({"u": np.zeros((2, 10, 1))}, "u"), ({"conditions": {"c": [1, 2]}}, "c"),
                        ({"conditions": [1, 2, 3]}, "conditions"),
                        ({"u": np.zeros((3, 10, 1)), "input_names": ("a", "b")}, "input_names"),
                        ({"t_start": float("inf")}, "t_start"),
                        ({"trial_table": {"start_time": [0]}}, "trial_table")):
        assert_clear_error("data.Recording", arg, lambda k=kwargs: data.Recording(y=y, **k))
    for args, arg in ((([0.0, 1.0], [0.5]), "stop_time"), (([1.0], [0.5]), "stop_time"),
                      (([[0.0]], [1.0]), "start_time"), (([], []), "start_time")):
        assert_clear_error("data.TrialTable", arg, lambda a=args: data.TrialTable(*a))
    assert_clear_error("data.TrialTable", "columns",
                       lambda: data.TrialTable([0.0], [1.0], {"c": [1, 2]}))


def test_binned_selected_and_averaged_keep_inputs_and_conditions():
    rng = np.random.default_rng(0)
    y, u = rng.poisson(2.0, (6, 20, 3)), rng.standard_normal((6, 20, 2))
    z = rng.standard_normal((6, 20, 1))
    z[0, 3] = np.nan
    coh = np.array([0.1, -0.1, 0.1, 0.2, -0.1, 0.1])
    rec = data.Recording(y=y, z=z, u=u, rate=100.0, conditions={"coh": coh})
    b = rec.binned(4)
    np.testing.assert_allclose(b.u[1][2], u[1, 8:12].mean(0))
    assert b.conditions["coh"].tolist() == coh.tolist()
    avg = rec.average("coh")
    assert avg.conditions["coh"].tolist() == [-0.1, 0.1, 0.2]
    for j, c in enumerate((-0.1, 0.1, 0.2)):
        np.testing.assert_allclose(avg.y[j], y[coh == c].mean(0))
        np.testing.assert_allclose(avg.u[j], u[coh == c].mean(0))
        np.testing.assert_allclose(avg.z[j], np.nanmean(z[coh == c], 0))
    np.testing.assert_allclose(rec.average().y[0], y.mean(0))
    with pytest.raises(ValueError, match="no condition"):
        rec.average("choice")
    with pytest.raises(ValueError, match="differ in length"):
        data.Recording(y=[np.zeros((3, 1)), np.zeros((4, 1))]).average()


@pytest.mark.parametrize("ragged", [False, True])
def test_npz_round_trip_with_inputs_conditions_and_table(tmp_path, ragged):
    rec = session()
    trials = rec.aligned() if ragged else rec.aligned(after=100.0)
    for r in (rec, trials):
        data.save_npz(tmp_path / "r.npz", r)
        back = data.read_npz(tmp_path / "r.npz")
        assert back.t_start == r.t_start and back.n_inputs == 1
        for a, b in zip(r.u, back.u):
            np.testing.assert_array_equal(a, b)
        assert (back.conditions is None) == (r.conditions is None)
        for k, v in (r.conditions or {}).items():
            np.testing.assert_array_equal(back.conditions[k], v)
    back = data.read_npz(tmp_path / "r.npz")
    assert back.trial_table is None
    data.save_npz(tmp_path / "c.npz", rec)
    table = data.read_npz(tmp_path / "c.npz").trial_table
    np.testing.assert_array_equal(table.column("outcome"), rec.trial_table.column("outcome"))
    np.testing.assert_array_equal(table.stop_time, rec.trial_table.stop_time)


def test_poisson_spikes_statistics():
    rates = np.concatenate([np.full((2000, 1), 5.0), np.full((2000, 1), 40.0)])
    rates = np.concatenate([rates, np.zeros((4000, 1))], axis=1)
    spikes = data.poisson_spikes(rates, dt=10.0, key=jax.random.key(0), t_start=2.0)
    assert spikes[1].size == 0 and np.all(np.diff(spikes[0]) >= 0)
    assert spikes[0].min() >= 2.0 and spikes[0].max() < 2.0 + 40.0
    counts = data.bin_spikes(spikes, bin_ms=10.0, t_start=2.0, t_stop=42.0)[:, 0]
    for part, lam in ((counts[:2000], 0.05), (counts[2000:], 0.4)):
        # mean and variance λ (Poisson), each to 5 standard errors
        assert abs(part.mean() - lam) < 5 * np.sqrt(lam / part.size)
        assert abs(part.var() - lam) < 5 * np.sqrt((lam + 2 * lam**2) / part.size)
    # given the count, times are uniform within the bin: offsets fill [0, 1) evenly
    offsets = ((spikes[0] - 2.0) * 100.0) % 1.0
    assert abs(offsets.mean() - 0.5) < 5 * np.sqrt(1 / 12 / offsets.size)
    again = data.poisson_spikes(rates, dt=10.0, key=jax.random.key(0), t_start=2.0)
    np.testing.assert_array_equal(again[0], spikes[0])
    other = data.poisson_spikes(rates, dt=10.0, key=jax.random.key(1), t_start=2.0)
    assert other[0].size != spikes[0].size or not np.array_equal(other[0], spikes[0])
    for kwargs, arg in (({"rates": -np.ones((3, 1))}, "rates"), ({"rates": np.ones(3)}, "rates"),
                        ({"dt": 0.0}, "dt"), ({"key": 0}, "key"), ({"t_start": "a"}, "t_start")):
        call = {"rates": np.ones((3, 1)), "dt": 1.0, "key": jax.random.key(0), **kwargs}
        assert_clear_error("data.poisson_spikes", arg, lambda c=call: data.poisson_spikes(**c))


def test_read_nwb_trials_inputs_and_behaviour(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from pynwb.behavior import BehavioralTimeSeries

    nwb = pynwb.NWBFile(session_description="t", identifier="i",
                        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwb.add_unit(spike_times=[0.05, 0.15, 0.16, 0.95])
    nwb.add_unit(spike_times=[0.5])
    nwb.add_trial_column("side", "left/right")
    nwb.add_trial_column("coh", "coherence")
    nwb.add_trial(start_time=0.1, stop_time=0.4, side="left", coh=0.2)
    nwb.add_trial(start_time=0.5, stop_time=0.9, side="right", coh=-0.2)
    nwb.add_stimulus(pynwb.TimeSeries(name="stim", data=np.array([1.0, 2.0, 3.0]), unit="a",
                                      timestamps=[0.2, 0.4, 0.6]))
    module = nwb.create_processing_module("behavior", "b")
    module.add(BehavioralTimeSeries(time_series=[pynwb.TimeSeries(
        name="pos", data=np.arange(10.0)[:, None] * [1.0, -1.0], unit="m", rate=10.0,
        starting_time=0.0)]))
    with pynwb.NWBHDF5IO(str(tmp_path / "s.nwb"), "w") as io:
        io.write(nwb)
    rec = data.read_nwb(tmp_path / "s.nwb", bin_ms=100.0, behaviour="pos", inputs=["stim"])
    assert rec.t_start == 0.0 and rec.rate == 10.0
    np.testing.assert_array_equal(rec.y[0][:, 0], [1, 2, 0, 0, 0, 0, 0, 0, 0, 1])
    middles = 0.05 + 0.1 * np.arange(10)
    np.testing.assert_allclose(rec.u[0][:, 0], np.interp(middles, [0.2, 0.4, 0.6], [1, 2, 3],
                                                         left=0.0, right=0.0))
    np.testing.assert_allclose(rec.z[0][:-1], np.stack([middles, -middles], 1)[:-1] * 10)
    assert np.isnan(rec.z[0][-1]).all()  # after the behaviour's last sample
    assert rec.behaviour_names == ("pos[0]", "pos[1]") and rec.channel_names == ("unit 0",
                                                                                 "unit 1")
    table = rec.trial_table
    assert table.column("side").tolist() == ["left", "right"]
    np.testing.assert_allclose(table.start_time, [0.1, 0.5])
    trials = rec.aligned(after=300.0)
    np.testing.assert_array_equal(trials.y[1][:, 1], [1, 0, 0])
    with pytest.raises(ValueError, match="no TimeSeries named 'nope'"):
        data.read_nwb(tmp_path / "s.nwb", bin_ms=100.0, inputs="nope")
    with pytest.raises(ValueError, match="t_start"):
        data.read_nwb(tmp_path / "s.nwb", bin_ms=100.0, t_start=0.1)
    for kwargs, arg in (({"inputs": 3}, "inputs"), ({"inputs": []}, "inputs"),
                        ({"behaviour": ["a", ""]}, "behaviour"), ({"t_start": "x"}, "t_start")):
        assert_clear_error("data.read_nwb", arg,
                           lambda k=kwargs: data.read_nwb(tmp_path / "s.nwb", bin_ms=10.0, **k))
