"""`Recording`: neural activity (time × channels), in one piece or as trials, with behaviour aligned
sample by sample and the sampling rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .._typing import ArrayLike
from .._validate import ArgumentTypeError, check_array, check_number
from ._preprocess import rebin, smooth


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
    """A neural recording with aligned behaviour.

    Attributes:
        y: list of `[T_i, n_channels]` arrays, one per trial (one for a continuous recording).
        z: list of `[T_i, n_behaviour]` arrays aligned with y (NaN = missing), or None.
        rate: sampling rate in Hz (the time step is `dt` = 1000 / rate ms).
        channel_names, behaviour_names: optional labels.
        metadata: free-form, JSON-able information (source file, units, …).
    """

    # Given as a list of trials or one array; stored as a list of arrays (__post_init__).
    y: Sequence | ArrayLike
    z: Sequence | ArrayLike | None = None
    rate: float = 1000.0
    channel_names: Sequence[str] | None = None
    behaviour_names: Sequence[str] | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        y = _trials(self.y, "y", allow_nan=False)
        object.__setattr__(self, "y", y)
        if self.z is not None:
            z = _trials(self.z, "z", allow_nan=True)
            if len(z) != len(y):
                raise ValueError(f"z has {len(z)} trials but y has {len(y)}")
            for i, (a, b) in enumerate(zip(y, z)):
                if a.shape[0] != b.shape[0]:
                    raise ValueError(f"z: trial {i} has {b.shape[0]} samples but y has "
                                     f"{a.shape[0]}; behaviour must be aligned with y")
            object.__setattr__(self, "z", z)
        object.__setattr__(self, "rate", check_number(self.rate, "rate", low=0, low_open=True,
                                                      unit="Hz"))
        for label, n in (("channel_names", self.n_channels),
                         ("behaviour_names", self.n_behaviour)):
            object.__setattr__(self, label, _names(getattr(self, label), label, n))
        if not isinstance(self.metadata, dict):
            raise ArgumentTypeError(f"metadata must be a dict, got "
                                    f"{type(self.metadata).__name__}")

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
    def dt(self) -> float:
        """Time step in ms."""
        return 1000.0 / self.rate

    @property
    def lengths(self) -> np.ndarray:
        return np.array([t.shape[0] for t in self.y])

    def arrays(self) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """(y, z) as lists with one array per trial (also for a single trial), the form that
        PSID/DPAD's `fit`, `score` and `predict_trials` take."""
        return list(self.y), None if self.z is None else list(self.z)

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
        return replace(self, y=[self.y[i] for i in idx],
                       z=None if self.z is None else [self.z[i] for i in idx])

    def binned(self, factor: int, *, how: str = "sum") -> Recording:
        """Bins of `factor` samples: neural activity summed (counts) or averaged (`how="mean"`),
        behaviour averaged; the sampling rate drops by `factor`."""
        return replace(
            self, y=[rebin(t, factor, how=how) for t in self.y],
            z=None if self.z is None else [rebin(t, factor, how="mean") for t in self.z],
            rate=self.rate / factor)

    def smoothed(self, sigma_ms: float, *, causal: bool = False) -> Recording:
        """Neural activity convolved with a Gaussian of `sigma_ms` (see `smooth`)."""
        return replace(self, y=[smooth(t, sigma_ms, dt=self.dt, causal=causal) for t in self.y])
