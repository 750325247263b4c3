"""Readers and writers: NumPy `.npz` files and NWB files (through the optional `pynwb`)."""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._validate import ArgumentTypeError, check_number, check_path
from ._preprocess import bin_spikes
from ._recording import Recording


def _entry_name(value, name: str, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value:
        raise ArgumentTypeError(f"{name} must be the name of an entry (a non-empty str)"
                                f"{' or None' if allow_none else ''}, got {value!r:.80}")
    return value


def _existing_file(path, name: str = "path") -> Path:
    check_path(path, name)
    if "\x00" in str(path):
        raise ValueError(f"{name} must not contain a NUL character, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name}: {path} is a folder, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    return path


def _ragged(npz, name: str):
    if name in npz.files:
        return npz[name]
    keys = sorted((k for k in npz.files if k.startswith(f"{name}_") and
                   k[len(name) + 1:].isdigit()), key=lambda k: int(k[len(name) + 1:]))
    return [npz[k] for k in keys] if keys else None


def _read_entries(path: Path, y: str, z: str):
    """(ys, zs, rate, metadata, names) read from the file; any damage is a ValueError."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"path: {path} is not a NumPy .npz file ({err})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"path: {path} is a single .npy array, not an .npz file of entries")
    with npz:
        if y not in npz.files and f"{y}_0" not in npz.files:
            raise ValueError(f"{path}: no neural data under {y!r} (or {y}_0, {y}_1, …); "
                             f"keys are {npz.files}")
        try:
            ys, zs = _ragged(npz, y), _ragged(npz, z)
            rate = npz["rate"] if "rate" in npz.files else None
            meta = json.loads(str(npz["metadata"])) if "metadata" in npz.files else {}
            names = {k: tuple(str(s) for s in np.atleast_1d(npz[k]))
                     for k in ("channel_names", "behaviour_names") if k in npz.files}
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
            raise ValueError(f"path: {path} is damaged or holds unreadable entries "
                             f"({type(err).__name__}: {err})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"path: the 'metadata' entry of {path} is not a JSON object")
    return ys, zs, rate, meta, names


def read_npz(path: str | os.PathLike, *, y: str = "y", z: str = "z",
             rate: float | None = None) -> Recording:
    """Read a recording from an `.npz` file.

    Neural data under key `y` (`[T, n]` or `[trials, T, n]`) or, for trials of different lengths,
    `y_0`, `y_1`, …; behaviour likewise under `z` (optional). The sampling rate comes from `rate`
    or from a `rate` entry in the file. No pickled objects are loaded.
    """
    path = _existing_file(path)
    y, z = _entry_name(y, "y"), _entry_name(z, "z")
    rate = check_number(rate, "rate", low=0, low_open=True, allow_none=True, unit="Hz")
    ys, zs, stored, meta, names = _read_entries(path, y, z)
    if rate is None:
        if stored is None:
            raise ValueError(f"{path}: no 'rate' entry; pass rate= (Hz)")
        if stored.shape != () or stored.dtype.kind not in "iuf":
            raise ValueError(f"rate: the 'rate' entry of {path} must be one number (Hz), got "
                             f"{stored.dtype} of shape {stored.shape}")
        rate = check_number(stored[()], "rate (the file's 'rate' entry)", low=0, low_open=True,
                            unit="Hz")
    return Recording(y=ys, z=zs, rate=rate, metadata=meta, **names)


def save_npz(path: str | os.PathLike, recording: Recording) -> None:
    """Write a recording so that `read_npz(path)` restores it (ragged trials as y_0, y_1, …).
    NumPy adds the suffix `.npz` to a path without it."""
    check_path(path, "path")
    if "\x00" in str(path):
        raise ValueError(f"path must not contain a NUL character, got {path!r}")
    if not isinstance(recording, Recording):
        raise ArgumentTypeError(f"recording must be a neurodyn.data.Recording, got "
                                f"{type(recording).__name__}")
    try:
        metadata = json.dumps(recording.metadata, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as err:
        raise ValueError(f"recording: its metadata must be JSON-serialisable: {err}") from None
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
    out["metadata"] = np.asarray(metadata)
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


def read_nwb(path: str | os.PathLike, *, neural: str | None = None, behaviour: str | None = None,
             bin_ms: float | None = None) -> Recording:
    """Read a recording from an NWB file (needs the optional extra: `pip install neurodyn[nwb]`).

    Neural data: the TimeSeries named `neural` (`[T, channels]`, its own sampling rate), or,
    when `neural` is None, the spike times of the file's Units table binned into counts of
    `bin_ms` ms. Behaviour: the TimeSeries named `behaviour`, linearly interpolated onto the
    neural samples (NaN outside its time range).
    """
    path = _existing_file(path)
    neural = _entry_name(neural, "neural", allow_none=True)
    behaviour = _entry_name(behaviour, "behaviour", allow_none=True)
    bin_ms = check_number(bin_ms, "bin_ms", low=0, low_open=True, allow_none=True, unit="ms")
    if neural is not None and bin_ms is not None:
        raise ValueError("bin_ms applies to spike times (neural=None); use Recording.binned "
                         "for a TimeSeries")
    if neural is None and bin_ms is None:
        raise ValueError("bin_ms: binning the Units table's spike times needs bin_ms (or name a "
                         "TimeSeries in neural=)")
    try:
        from pynwb import NWBHDF5IO
    except ImportError:
        raise ImportError("read_nwb needs pynwb: pip install 'neurodyn[nwb]'") from None
    try:
        io = NWBHDF5IO(str(path), "r")
    except OSError as err:  # h5py: "file signature not found" and the like
        if err.errno is not None:
            raise
        raise ValueError(f"path: {path} is not an NWB (HDF5) file ({err})") from None
    with io:
        nwbfile = io.read()
        if neural is not None:
            series = _find(nwbfile, neural)
            y = np.asarray(series.data[:], dtype=float)
            times = _series_times(series)
            y = y[:, None] if y.ndim == 1 else y
            rate = 1.0 / np.median(np.diff(times)) if times.size > 1 else 1.0
        else:
            if nwbfile.units is None or len(nwbfile.units) == 0:
                raise ValueError("the NWB file has no Units table; name a TimeSeries in neural=")
            spikes = [np.asarray(nwbfile.units.get_unit_spike_times(i), dtype=float)
                      for i in range(len(nwbfile.units))]
            if not any(s.size for s in spikes):
                raise ValueError("the NWB file's Units table holds no spikes; name a TimeSeries "
                                 "in neural=")
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
