"""Readers and writers: NumPy `.npz` files and NWB files (through the optional `pynwb`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._preprocess import bin_spikes
from ._recording import Recording


def _ragged(npz, name: str):
    if name in npz.files:
        return npz[name]
    keys = sorted((k for k in npz.files if k.startswith(f"{name}_") and
                   k[len(name) + 1:].isdigit()), key=lambda k: int(k[len(name) + 1:]))
    return [npz[k] for k in keys] if keys else None


def read_npz(path, *, y: str = "y", z: str = "z", rate: float | None = None) -> Recording:
    """Read a recording from an `.npz` file.

    Neural data under key `y` (`[T, n]` or `[trials, T, n]`) or, for trials of different lengths,
    `y_0`, `y_1`, …; behaviour likewise under `z` (optional). The sampling rate comes from `rate`
    or from a `rate` entry in the file. No pickled objects are loaded.
    """
    with np.load(Path(path), allow_pickle=False) as npz:
        ys = _ragged(npz, y)
        if ys is None:
            raise ValueError(f"{path}: no neural data under {y!r} (or {y}_0, {y}_1, …); keys are "
                             f"{npz.files}")
        zs = _ragged(npz, z)
        if rate is None:
            if "rate" not in npz.files:
                raise ValueError(f"{path}: no 'rate' entry; pass rate= (Hz)")
            rate = float(npz["rate"])
        meta = json.loads(str(npz["metadata"])) if "metadata" in npz.files else {}
        names = {k: tuple(str(s) for s in npz[k]) for k in ("channel_names", "behaviour_names")
                 if k in npz.files}
    return Recording(y=ys, z=zs, rate=rate, metadata=meta, **names)


def save_npz(path, recording: Recording) -> None:
    """Write a recording so that `read_npz(path)` restores it (ragged trials as y_0, y_1, …)."""
    out: dict = {"rate": np.asarray(recording.rate)}
    same = len(set(recording.lengths.tolist())) == 1
    for name, trials in (("y", recording.y), ("z", recording.z)):
        if trials is None:
            continue
        if recording.n_trials == 1:
            out[name] = trials[0]
        elif same:
            out[name] = np.stack(trials)
        else:
            out.update({f"{name}_{i}": t for i, t in enumerate(trials)})
    if recording.channel_names is not None:
        out["channel_names"] = np.asarray(recording.channel_names)
    if recording.behaviour_names is not None:
        out["behaviour_names"] = np.asarray(recording.behaviour_names)
    out["metadata"] = np.asarray(json.dumps(recording.metadata))
    np.savez(Path(path), **out)


def _series_times(series) -> np.ndarray:
    n = series.data.shape[0]
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:], dtype=float)
    start = float(series.starting_time or 0.0)
    return start + np.arange(n) / float(series.rate)


def _find(nwbfile, name: str):
    for container in (nwbfile.acquisition, nwbfile.processing):
        if name in container:
            return container[name]
    for module in nwbfile.processing.values():
        if name in module.data_interfaces:
            return module.data_interfaces[name]
    raise ValueError(f"no object named {name!r} in the NWB file's acquisition or processing")


def read_nwb(path, *, neural: str | None = None, behaviour: str | None = None,
             bin_ms: float | None = None) -> Recording:
    """Read a recording from an NWB file (needs the optional extra: `pip install neurodyn[nwb]`).

    Neural data: the TimeSeries named `neural` (`[T, channels]`, its own sampling rate), or,
    when `neural` is None, the spike times of the file's Units table binned into counts of
    `bin_ms` ms. Behaviour: the TimeSeries named `behaviour`, linearly interpolated onto the
    neural samples (NaN outside its time range).
    """
    try:
        from pynwb import NWBHDF5IO
    except ImportError:
        raise ImportError("read_nwb needs pynwb: pip install 'neurodyn[nwb]'") from None
    with NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        if neural is not None:
            series = _find(nwbfile, neural)
            y = np.asarray(series.data[:], dtype=float)
            times = _series_times(series)
            y = y[:, None] if y.ndim == 1 else y
            rate = 1.0 / np.median(np.diff(times)) if times.size > 1 else 1.0
            if bin_ms is not None:
                raise ValueError("bin_ms applies to spike times (neural=None); use "
                                 "Recording.binned for a TimeSeries")
        else:
            if nwbfile.units is None or len(nwbfile.units) == 0:
                raise ValueError("the NWB file has no Units table; name a TimeSeries in neural=")
            if bin_ms is None:
                raise ValueError("binning spike times needs bin_ms")
            spikes = [np.asarray(nwbfile.units.get_unit_spike_times(i))
                      for i in range(len(nwbfile.units))]
            t0 = min(s.min() for s in spikes if s.size)
            last = max(s.max() for s in spikes if s.size)
            t1 = t0 + (np.floor((last - t0) * 1000.0 / bin_ms) + 1) * bin_ms / 1000.0
            y = bin_spikes(spikes, bin_ms=bin_ms, t_start=t0, t_stop=t1)
            times = t0 + (np.arange(y.shape[0]) + 0.5) * bin_ms / 1000.0
            rate = 1000.0 / bin_ms
        z = None
        if behaviour is not None:
            series = _find(nwbfile, behaviour)
            zt, zv = _series_times(series), np.asarray(series.data[:], dtype=float)
            zv = zv[:, None] if zv.ndim == 1 else zv
            z = np.stack([np.interp(times, zt, zv[:, d], left=np.nan, right=np.nan)
                          for d in range(zv.shape[1])], axis=1)
        meta = {"source": str(path), "session_description": str(nwbfile.session_description)}
    return Recording(y=y, z=z, rate=float(rate), metadata=meta)
