"""`TrialTable`: the trials of a continuous session (start and stop times, conditions), and
the cutting of a continuous recording into trial-aligned windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._typing import ArrayLike
from .._validate import ArgumentTypeError, check_array

TIME_COLUMNS = ("start_time", "stop_time")


def check_column(values, name: str, n: int | None) -> np.ndarray:
    """One value per trial: a 1-D array of numbers (finite, or NaN where missing) or of strings."""
    if isinstance(values, (str, bytes)) or values is None or isinstance(values, Mapping):
        raise ArgumentTypeError(f"{name} must be a 1-D array with one value per trial, got "
                                f"{type(values).__name__}")
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        if arr.ndim != 1:
            raise ValueError(f"{name} must have 1 dimension, got shape {arr.shape}")
        arr = arr.astype(str)
    else:
        arr = check_array(arr, name, ndim=1, allow_nan=True, dtype="float")
        arr = np.asarray(values) if np.asarray(values).dtype.kind in "biu" else arr
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} values for {n} trials")
    return arr


def check_conditions(conditions, name: str, n: int) -> dict[str, np.ndarray] | None:
    """`{name: [n] values}` checked (see `check_column`), or None."""
    if conditions is None:
        return None
    if not isinstance(conditions, Mapping):
        raise ArgumentTypeError(f"{name} must be a dict of per-trial arrays, e.g. "
                                f"{{'coherence': [...]}}, got {type(conditions).__name__}")
    out = {}
    for k, v in conditions.items():
        if not isinstance(k, str) or not k:
            raise ArgumentTypeError(f"{name}: keys must be non-empty strings, got {k!r}")
        out[k] = check_column(v, f"{name}[{k!r}]", n)
    return out


@dataclass(frozen=True)
class TrialTable:
    """The trials of a continuous session: start and stop times and per-trial columns.

    Times are in s, on the recording's clock; the columns hold any per-trial values
    (stimulus, choice, event times, …), as in an NWB trials table.

    Attributes:
        start_time, stop_time: `[n]` arrays in seconds, stop ≥ start.
        columns: `{name: [n] array}` of numbers (NaN = missing) or strings.
    """

    start_time: Sequence | ArrayLike
    stop_time: Sequence | ArrayLike
    columns: Mapping[str, Sequence | ArrayLike] = field(default_factory=dict)

    def __post_init__(self):
        start = check_array(self.start_time, "start_time", ndim=1, min_size=1)
        stop = check_array(self.stop_time, "stop_time", ndim=1)
        if stop.shape != start.shape:
            raise ValueError(f"stop_time has {stop.shape[0]} values for {start.shape[0]} trials")
        if np.any(stop < start):
            i = int(np.argmax(stop < start))
            raise ValueError(f"stop_time: trial {i} stops ({stop[i]:g} s) before it starts "
                             f"({start[i]:g} s)")
        columns = check_conditions(self.columns, "columns", start.shape[0]) or {}
        for k in TIME_COLUMNS:
            if k in columns:
                raise ValueError(f"columns: {k!r} is a field of the table, not a column")
        object.__setattr__(self, "start_time", start)
        object.__setattr__(self, "stop_time", stop)
        object.__setattr__(self, "columns", columns)

    def __len__(self) -> int:
        return int(self.start_time.shape[0])

    def column(self, name: str) -> np.ndarray:
        """A column by name; "start_time" and "stop_time" included."""
        if name == "start_time":
            return self.start_time
        if name == "stop_time":
            return self.stop_time
        if not isinstance(name, str) or name not in self.columns:
            raise ValueError(f"no column {name!r} in the trials table; columns are "
                             f"{', '.join((*TIME_COLUMNS, *self.columns))}")
        return self.columns[name]

    def as_conditions(self, index: np.ndarray | slice) -> dict[str, np.ndarray]:
        """The rows `index` as per-trial conditions, start and stop times included."""
        return {"start_time": self.start_time[index], "stop_time": self.stop_time[index],
                **{k: v[index] for k, v in self.columns.items()}}


def windows(table: TrialTable, event: str, *, before_ms: float, after_ms: float | None,
            t_start: float, dt_ms: float, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """First sample and length of each trial's window, from `before_ms` ms before the trial's
    `event` time to `after_ms` ms after it (to the trial's stop time when `after_ms` is None).

    Sample k of the recording covers [t_start + k dt, t_start + (k + 1) dt); a window starts at
    the sample nearest to its start time, so it is aligned to within half a sample."""
    times = table.column(event)
    if times.dtype.kind not in "fiu":
        raise ValueError(f"event: the column {event!r} holds {times.dtype} values, not times (s)")
    if np.any(np.isnan(times)):
        bad = np.flatnonzero(np.isnan(times))[:5].tolist()
        raise ValueError(f"event: the column {event!r} is missing (NaN) for trials {bad}")
    begin = times - before_ms / 1000.0
    first = np.rint((begin - t_start) * 1000.0 / dt_ms).astype(np.int64)
    if after_ms is None:
        ends = np.rint((table.stop_time - t_start) * 1000.0 / dt_ms).astype(np.int64)
        length = ends - first
    else:
        length = np.full(first.shape, int(round((before_ms + after_ms) / dt_ms)), np.int64)
    if np.any(length < 1):
        i = int(np.argmax(length < 1))
        raise ValueError(f"after: trial {i}'s window holds no sample of {dt_ms:g} ms (it ends "
                         "before it starts); widen before/after")
    outside = np.flatnonzero((first < 0) | (first + length > n_samples))
    if outside.size:
        t_end = t_start + n_samples * dt_ms / 1000.0
        raise ValueError(
            f"before/after: the windows of trials {outside[:5].tolist()}"
            f"{' …' if outside.size > 5 else ''} reach outside the recording "
            f"[{t_start:g}, {t_end:g}] s; narrow the window or select trials first "
            "(Recording.trial_table rows)")
    return first, length
