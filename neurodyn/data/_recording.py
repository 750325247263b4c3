"""`Recording`: neural activity (time × channels), in one piece or as trials, with behaviour and
measured inputs aligned sample by sample, the sampling rate, and the trials (a session's trials
table, or each trial's conditions once cut into trials)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .._typing import ArrayLike
from .._validate import ArgumentTypeError, check_array, check_choice, check_number
from ._preprocess import rebin, smooth
from ._trials import TrialTable, check_conditions, windows


def _trials(data, name: str, *, allow_nan: bool) -> list[np.ndarray]:
    """One `[time, channels]` array per trial, each checked: real numbers, finite (NaN allowed
    where `allow_nan`: missing behaviour samples), at least one sample and one channel."""
    what = (f"{name} must be [time, channels], [trials, time, channels] or a list of "
            "[time, channels] arrays")
    if isinstance(data, np.ndarray) and data.dtype == object and data.ndim == 1:
        data = list(data)  # ragged trials in an object array
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError(f"{name}: no trials")
        for i, t in enumerate(data):
            check_array(t, f"{name}[{i}]", ndim=(1, 2), allow_nan=allow_nan)
        trials = [np.asarray(t) for t in data]  # checked; each keeps its dtype (counts: int)
    else:
        if data is None or isinstance(data, (str, bytes, dict, int, float)):
            raise ArgumentTypeError(f"{what}, got {type(data).__name__}")
        check_array(data, name, ndim=(1, 2, 3), allow_nan=allow_nan)
        arr = np.asarray(data)
        trials = list(arr) if arr.ndim == 3 else [arr]
    trials = [t[:, None] if t.ndim == 1 else t for t in trials]
    if not trials:
        raise ValueError(f"{name}: no trials")
    for i, t in enumerate(trials):
        if t.shape[0] < 1 or t.shape[1] < 1:
            raise ValueError(f"{name}: trial {i} must hold at least one sample of at least one "
                             f"channel, got shape {t.shape}")
        if t.shape[1] != trials[0].shape[1]:
            raise ValueError(f"{name}: trial {i} has {t.shape[1]} channels, trial 0 has "
                             f"{trials[0].shape[1]}")
    return trials


def _names(names, label: str, n: int):
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple, np.ndarray)):
        raise ArgumentTypeError(f"{label} must be a sequence of str (one per column) or None, "
                                f"got {type(names).__name__}")
    if not all(isinstance(s, str) for s in names):
        raise ArgumentTypeError(f"{label} must hold strings, got {list(names)!r:.80}")
    if len(names) != n:
        raise ValueError(f"{label} has {len(names)} entries for {n} columns")
    return tuple(str(s) for s in names)


@dataclass(frozen=True)
class Recording:
    """A neural recording with aligned behaviour and measured inputs.

    Sample k of a trial covers [t_start + k·dt, t_start + (k + 1)·dt) (seconds; `dt` in ms).

    Attributes:
        y: list of `[T_i, n_channels]` arrays, one per trial (one for a continuous recording).
        z: list of `[T_i, n_behaviour]` arrays aligned with y (NaN = missing), or None.
        rate: sampling rate in Hz (the time step is `dt` = 1000 / rate ms).
        channel_names, behaviour_names, input_names: optional labels.
        metadata: free-form, JSON-able information (source file, units, …).
        u: list of `[T_i, n_inputs]` measured inputs (stimuli) aligned with y, or None.
        conditions: `{name: [n_trials] array}`, one value per trial (stimulus, choice, …).
        trial_table: the trials of a continuous recording (`TrialTable`), which `aligned`
            cuts it into; None for a recording already in trials.
        t_start: time of sample 0 in seconds: on the session clock for a continuous
            recording, relative to the alignment event for aligned trials.
    """

    # Given as a list of trials or one array; stored as a list of arrays (__post_init__).
    y: Sequence | ArrayLike
    z: Sequence | ArrayLike | None = None
    rate: float = 1000.0
    channel_names: Sequence[str] | None = None
    behaviour_names: Sequence[str] | None = None
    metadata: dict = field(default_factory=dict)
    u: Sequence | ArrayLike | None = None
    input_names: Sequence[str] | None = None
    conditions: Mapping[str, Sequence | ArrayLike] | None = None
    trial_table: TrialTable | None = None
    t_start: float = 0.0

    def __post_init__(self):
        y = _trials(self.y, "y", allow_nan=False)
        object.__setattr__(self, "y", y)
        for name, allow_nan, what in (("z", True, "behaviour"), ("u", False, "inputs")):
            if getattr(self, name) is None:
                continue
            arr = _trials(getattr(self, name), name, allow_nan=allow_nan)
            if len(arr) != len(y):
                raise ValueError(f"{name} has {len(arr)} trials but y has {len(y)}")
            for i, (a, b) in enumerate(zip(y, arr)):
                if a.shape[0] != b.shape[0]:
                    raise ValueError(f"{name}: trial {i} has {b.shape[0]} samples but y has "
                                     f"{a.shape[0]}; {what} must be aligned with y")
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "rate", check_number(self.rate, "rate", low=0, low_open=True,
                                                      unit="Hz"))
        object.__setattr__(self, "t_start", check_number(self.t_start, "t_start", unit="s"))
        for label, n in (("channel_names", self.n_channels),
                         ("behaviour_names", self.n_behaviour), ("input_names", self.n_inputs)):
            object.__setattr__(self, label, _names(getattr(self, label), label, n))
        if not isinstance(self.metadata, dict):
            raise ArgumentTypeError(f"metadata must be a dict, got "
                                    f"{type(self.metadata).__name__}")
        object.__setattr__(self, "conditions",
                           check_conditions(self.conditions, "conditions", len(y)))
        if self.trial_table is not None:
            if not isinstance(self.trial_table, TrialTable):
                raise ArgumentTypeError(f"trial_table must be a neurodyn.data.TrialTable or "
                                        f"None, got {type(self.trial_table).__name__}")
            if len(y) != 1:
                raise ValueError(f"trial_table: a trials table belongs to a continuous "
                                 f"recording (one piece); this one holds {len(y)} trials")

    @property
    def n_trials(self) -> int:
        return len(self.y)

    @property
    def n_channels(self) -> int:
        return self.y[0].shape[1]

    @property
    def n_behaviour(self) -> int:
        return 0 if self.z is None else self.z[0].shape[1]

    @property
    def n_inputs(self) -> int:
        return 0 if self.u is None else self.u[0].shape[1]

    @property
    def dt(self) -> float:
        """Time step in ms."""
        return 1000.0 / self.rate

    @property
    def lengths(self) -> np.ndarray:
        return np.array([t.shape[0] for t in self.y])

    def time(self, trial: int = 0) -> np.ndarray:
        """The start time (s) of each sample of a trial: t_start + k·dt."""
        n = self.y[self._trial_index(trial)].shape[0]
        return self.t_start + np.arange(n) * (self.dt / 1000.0)

    def _trial_index(self, trial) -> int:
        if not isinstance(trial, (int, np.integer)) or isinstance(trial, bool):
            raise ArgumentTypeError(f"trial must be an int, got {type(trial).__name__}")
        if not -self.n_trials <= trial < self.n_trials:
            raise ValueError(f"trial must be in [0, {self.n_trials}), got {trial}")
        return int(trial) % self.n_trials

    def arrays(self) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """(y, z) as lists with one array per trial (also for a single trial), the form that
        PSID/DPAD's `fit`, `score` and `predict_trials` take (`inputs()` gives u)."""
        return list(self.y), None if self.z is None else list(self.z)

    def inputs(self) -> list[np.ndarray] | None:
        """The measured inputs u as a list with one array per trial, or None."""
        return None if self.u is None else list(self.u)

    def trials(self, index: int | slice | ArrayLike | Sequence) -> Recording:
        """A recording of the selected trials (int, slice, or an array of ints or bools)."""
        if isinstance(index, (bool, np.bool_, float, str, bytes, dict)) or index is None:
            raise ArgumentTypeError(f"index must be an int, a slice or an array of ints or "
                                    f"bools, got {type(index).__name__}")
        if not isinstance(index, (int, np.integer, slice)):
            try:
                mask = np.asarray(index).dtype == bool
            except (TypeError, ValueError):
                mask = False
            check_array(index, "index", ndim=1, dtype="bool" if mask else "int")
        try:
            idx = np.atleast_1d(np.arange(self.n_trials)[index])
        except IndexError as err:
            raise ValueError(f"index does not fit {self.n_trials} trials: {err}") from None
        if idx.size == 0:
            raise ValueError(f"index selects no trials (of {self.n_trials})")

        def pick(arrays):
            return None if arrays is None else [arrays[i] for i in idx]

        conditions = (None if self.conditions is None else
                      {k: v[idx] for k, v in self.conditions.items()})
        return replace(self, y=pick(self.y), z=pick(self.z), u=pick(self.u),
                       conditions=conditions)

    def binned(self, factor: int, *, how: str = "sum") -> Recording:
        """Bins of `factor` samples: neural activity summed (counts) or averaged (`how="mean"`),
        behaviour and inputs averaged; the sampling rate drops by `factor`."""
        return replace(
            self, y=[rebin(t, factor, how=how) for t in self.y],
            z=None if self.z is None else [rebin(t, factor, how="mean") for t in self.z],
            u=None if self.u is None else [rebin(t, factor, how="mean") for t in self.u],
            rate=self.rate / factor)

    def smoothed(self, sigma_ms: float, *, causal: bool = False) -> Recording:
        """Neural activity convolved with a Gaussian of `sigma_ms` (see `smooth`)."""
        return replace(self, y=[smooth(t, sigma_ms, dt=self.dt, causal=causal) for t in self.y])

    def aligned(self, event: str = "start_time", *, before: float = 0.0,
                after: float | None = None, rows: Sequence | ArrayLike | None = None) -> Recording:
        """The continuous recording cut into trials: for each row of `trial_table`, the window
        from `before` ms before its `event` time (a time column, in s) to `after` ms after it
        (to the trial's stop time when `after` is None; trials may then differ in length).

        The table's columns become the trials' `conditions`; `t_start` becomes −before (s),
        the time of each window's first sample relative to the event (to within half a sample:
        a window starts at the sample nearest to its start). `rows` selects table rows first
        (ints or bools). Raises a ValueError for a recording without a trials table.
        """
        if self.trial_table is None:
            raise ValueError(
                "aligned: this recording has no trials table to align to (trial_table is "
                "None); read it from an NWB file with a trials table, or pass "
                "trial_table=TrialTable(start_time, stop_time, columns) to a continuous "
                "Recording" + (" (it is already cut into trials)" if self.n_trials > 1 else ""))
        if not isinstance(event, str):
            raise ArgumentTypeError(f"event must be the name of a time column (str), got "
                                    f"{type(event).__name__}")
        check_choice(event, "event", ("start_time", "stop_time", *self.trial_table.columns))
        before = check_number(before, "before", low=0, unit="ms")
        after = check_number(after, "after", low=0, allow_none=True, unit="ms")
        table = self.trial_table
        index = np.arange(len(table))
        if rows is not None:
            try:
                mask = not isinstance(rows, (str, bytes)) and np.asarray(rows).dtype == bool
            except (TypeError, ValueError):
                mask = False
            check_array(rows, "rows", ndim=1, dtype="bool" if mask else "int", min_size=1)
            try:
                index = index[np.asarray(rows)]
            except IndexError as err:
                raise ValueError(f"rows do not fit the {len(table)} trials: {err}") from None
        sub = TrialTable(table.start_time[index], table.stop_time[index],
                         {k: v[index] for k, v in table.columns.items()})
        first, length = windows(sub, event, before_ms=before, after_ms=after,
                                t_start=self.t_start, dt_ms=self.dt,
                                n_samples=self.y[0].shape[0])

        def cut(arrays):
            if arrays is None:
                return None
            return [arrays[0][f:f + n] for f, n in zip(first, length)]

        meta = {**self.metadata, "aligned_to": event, "before_ms": before, "after_ms": after}
        return replace(self, y=cut(self.y), z=cut(self.z), u=cut(self.u),
                       conditions=sub.as_conditions(np.arange(len(sub))), trial_table=None,
                       t_start=-before / 1000.0, metadata=meta)

    def average(self, by: str | None = None) -> Recording:
        """Trial averages (a PSTH): one trial per distinct value of the condition `by` (sorted),
        or one over all trials (`by=None`). The trials must have equal lengths. Behaviour is
        averaged over its non-missing samples."""
        lengths = sorted(set(self.lengths.tolist()))
        if len(lengths) != 1:
            raise ValueError(f"average: the trials differ in length ({lengths[:5]} samples); "
                             "align them with a fixed window (after=...) first")
        if by is None:
            groups, values = [np.arange(self.n_trials)], None
        else:
            if self.conditions is None or by not in self.conditions:
                have = [] if self.conditions is None else list(self.conditions)
                raise ValueError(f"by: no condition {by!r}; conditions are {have}")
            col = self.conditions[by]
            values = np.unique(col[~np.isnan(col)] if col.dtype.kind == "f" else col)
            groups = [np.flatnonzero(col == v) for v in values]

        def mean(arrays, nan=False):
            if arrays is None:
                return None
            stack = np.stack(arrays).astype(np.float64)
            if not nan:
                return [stack[g].mean(axis=0) for g in groups]
            with warnings.catch_warnings():  # a sample missing in every trial stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                return [np.nanmean(stack[g], axis=0) for g in groups]

        return replace(self, y=mean(self.y), z=mean(self.z, nan=True), u=mean(self.u),
                       conditions=None if by is None else {by: values}, trial_table=None)
