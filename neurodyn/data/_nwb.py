"""Reading a recording session from an NWB file (through the optional `pynwb`): units' spike
times or a neural TimeSeries, behaviour and stimulus TimeSeries, and the trials table."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .._validate import ArgumentTypeError, check_number
from ._io import _entry_name, _existing_file
from ._preprocess import bin_spikes
from ._recording import Recording
from ._trials import TIME_COLUMNS, TrialTable


def _series_names(value, name: str) -> tuple[str, ...]:
    """None, one TimeSeries name or a sequence of them, as a tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (_entry_name(value, name),)
    if not isinstance(value, (list, tuple)) or not value:
        raise ArgumentTypeError(f"{name} must be the name of a TimeSeries (str), a non-empty "
                                f"list of names, or None, got {value!r:.80}")
    return tuple(_entry_name(v, f"{name}[{i}]") for i, v in enumerate(value))


def _series_times(series) -> np.ndarray:
    n = series.data.shape[0]
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:], dtype=float)
    start = float(series.starting_time or 0.0)
    return start + np.arange(n) / float(series.rate)


def _find(nwbfile, name: str, what: str):
    """The TimeSeries `name` in acquisition, stimulus, or a processing module (also inside a
    container of series such as BehavioralTimeSeries)."""
    places = [nwbfile.acquisition, nwbfile.stimulus]
    places += [module.data_interfaces for module in nwbfile.processing.values()]
    for place in places:
        if name in place:
            return place[name]
    for place in places:
        for container in place.values():
            series = getattr(container, "time_series", None)
            if isinstance(series, dict) and name in series:
                return series[name]
    raise ValueError(f"{what}: no TimeSeries named {name!r} in the NWB file's acquisition, "
                     "stimulus or processing modules")


def _columns_at(nwbfile, names: tuple[str, ...], what: str, times: np.ndarray,
                outside: float) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    """The named series, each linearly interpolated onto `times`, side by side; `outside`
    (NaN or 0) where a series has no sample on either side."""
    if not names:
        return None, None
    cols, labels = [], []
    for name in names:
        series = _find(nwbfile, name, what)
        t, v = _series_times(series), np.asarray(series.data[:], dtype=float)
        v = v[:, None] if v.ndim == 1 else v.reshape(v.shape[0], -1)
        for d in range(v.shape[1]):
            cols.append(np.interp(times, t, v[:, d], left=outside, right=outside))
            labels.append(name if v.shape[1] == 1 else f"{name}[{d}]")
    return np.stack(cols, axis=1), tuple(labels)


def _trial_table(nwbfile) -> TrialTable | None:
    """The file's trials table: start/stop times and every 1-D column of numbers or strings
    (ragged columns and references to other objects are left out)."""
    trials = nwbfile.trials
    if trials is None or len(trials) == 0:
        return None
    columns = {}
    for name in trials.colnames:
        if name in TIME_COLUMNS:
            continue
        column = trials[name]
        if type(column).__name__ != "VectorData":  # ragged (VectorIndex) or references
            continue
        values = np.asarray(column.data[:])
        if values.ndim != 1:
            continue
        if values.dtype.kind in "OSU":
            if not all(isinstance(v, (str, bytes)) for v in values):
                continue
            values = np.array([v.decode() if isinstance(v, bytes) else v for v in values])
        elif values.dtype.kind not in "biuf":
            continue
        columns[name] = values
    return TrialTable(np.asarray(trials["start_time"].data[:], float),
                      np.asarray(trials["stop_time"].data[:], float), columns)


def _bin_units(nwbfile, bin_ms: float, t_start: float | None, table: TrialTable | None):
    if nwbfile.units is None or len(nwbfile.units) == 0:
        raise ValueError("the NWB file has no Units table; name a TimeSeries in neural=")
    spikes = [np.asarray(nwbfile.units.get_unit_spike_times(i), dtype=float)
              for i in range(len(nwbfile.units))]
    if not any(s.size for s in spikes):
        raise ValueError("the NWB file's Units table holds no spikes; name a TimeSeries "
                         "in neural=")
    first = min(s.min() for s in spikes if s.size)
    last = max(s.max() for s in spikes if s.size)
    if table is not None:
        first, last = min(first, table.start_time.min()), max(last, table.stop_time.max())
    if t_start is None:
        t_start = min(0.0, first)  # the session clock's zero, unless something comes before
    elif t_start > first:
        raise ValueError(f"t_start: {t_start:g} s is after the first spike or trial start "
                         f"({first:g} s)")
    t_stop = t_start + (np.floor((last - t_start) * 1000.0 / bin_ms) + 1) * bin_ms / 1000.0
    y = bin_spikes(spikes, bin_ms=bin_ms, t_start=t_start, t_stop=t_stop)
    names = tuple(f"unit {int(i)}" for i in nwbfile.units.id[:])
    return y, t_start, names


def read_nwb(path: str | os.PathLike, *, neural: str | None = None,
             behaviour: str | Sequence[str] | None = None,
             inputs: str | Sequence[str] | None = None, bin_ms: float | None = None,
             t_start: float | None = None) -> Recording:
    """Read a recording session from an NWB file (needs the optional extra:
    `pip install neurodyn[nwb]`).

    Neural data: the TimeSeries named `neural` (`[T, channels]`, its own sampling rate), or,
    when `neural` is None, the spike times of the file's Units table binned into counts of
    `bin_ms` ms from `t_start` (s; default 0, the session's start, or the first spike or trial
    if earlier). Behaviour: the TimeSeries named in `behaviour` (one name or several, side by
    side), linearly interpolated onto the middle of each neural sample, NaN outside their time
    range. Measured inputs `u` (stimuli): the TimeSeries named in `inputs`, likewise, 0 outside
    their time range (no stimulus). Series are looked up in acquisition, stimulus and the
    processing modules. The file's trials table, when it has one, becomes the recording's
    `trial_table` (cut the recording into trials with `Recording.aligned`).
    """
    path = _existing_file(path)
    neural = _entry_name(neural, "neural", allow_none=True)
    behaviour = _series_names(behaviour, "behaviour")
    inputs = _series_names(inputs, "inputs")
    bin_ms = check_number(bin_ms, "bin_ms", low=0, low_open=True, allow_none=True, unit="ms")
    t_start = check_number(t_start, "t_start", allow_none=True, unit="s")
    if neural is not None and bin_ms is not None:
        raise ValueError("bin_ms applies to spike times (neural=None); use Recording.binned "
                         "for a TimeSeries")
    if neural is not None and t_start is not None:
        raise ValueError("t_start applies to binned spike times (neural=None); a TimeSeries "
                         "starts at its first sample")
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
        table = _trial_table(nwbfile)
        if neural is not None:
            series = _find(nwbfile, neural, "neural")
            y = np.asarray(series.data[:], dtype=float)
            times = _series_times(series)
            y = y[:, None] if y.ndim == 1 else y
            rate = 1.0 / np.median(np.diff(times)) if times.size > 1 else 1.0
            # each sample stands for the interval centred on its timestamp
            start, channel_names, middles = float(times[0] - 0.5 / rate), None, times
        else:
            y, start, channel_names = _bin_units(nwbfile, bin_ms, t_start, table)
            rate = 1000.0 / bin_ms
            middles = start + (np.arange(y.shape[0]) + 0.5) * bin_ms / 1000.0
        z, behaviour_names = _columns_at(nwbfile, behaviour, "behaviour", middles, np.nan)
        u, input_names = _columns_at(nwbfile, inputs, "inputs", middles, 0.0)
        meta = {"source": str(path), "session_description": str(nwbfile.session_description)}
    return Recording(y=y, z=z, u=u, rate=float(rate), channel_names=channel_names,
                     behaviour_names=behaviour_names, input_names=input_names, metadata=meta,
                     trial_table=table, t_start=start)
