"""`Recording`: neural activity (time × channels), in one piece or as trials, with behaviour aligned
sample by sample and the sampling rate."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ._preprocess import rebin, smooth


def _trials(data, name: str) -> list[np.ndarray]:
    if isinstance(data, (list, tuple)):
        trials = [np.asarray(t) for t in data]
    else:
        arr = np.asarray(data)
        if arr.ndim == 3:
            trials = list(arr)
        elif arr.ndim in (1, 2):
            trials = [arr]
        else:
            raise ValueError(f"{name} must be [time, channels], [trials, time, channels] or a "
                             f"list of [time, channels] arrays, got shape {arr.shape}")
    trials = [t[:, None] if t.ndim == 1 else t for t in trials]
    if not trials:
        raise ValueError(f"{name}: no trials")
    for i, t in enumerate(trials):
        if t.ndim != 2:
            raise ValueError(f"{name}: trial {i} must be [time, channels], got {t.shape}")
        if t.shape[1] != trials[0].shape[1]:
            raise ValueError(f"{name}: trial {i} has {t.shape[1]} channels, trial 0 has "
                             f"{trials[0].shape[1]}")
    return trials


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

    y: list
    z: list | None = None
    rate: float = 1000.0
    channel_names: tuple[str, ...] | None = None
    behaviour_names: tuple[str, ...] | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        y = _trials(self.y, "y")
        object.__setattr__(self, "y", y)
        if self.z is not None:
            z = _trials(self.z, "z")
            if len(z) != len(y):
                raise ValueError(f"y has {len(y)} trials but z has {len(z)}")
            for i, (a, b) in enumerate(zip(y, z)):
                if a.shape[0] != b.shape[0]:
                    raise ValueError(f"trial {i}: y has {a.shape[0]} samples but z has "
                                     f"{b.shape[0]}; behaviour must be aligned with y")
            object.__setattr__(self, "z", z)
        if not (np.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a positive number of Hz, got {self.rate!r}")
        for names, n, label in ((self.channel_names, self.n_channels, "channel_names"),
                                (self.behaviour_names, self.n_behaviour, "behaviour_names")):
            if names is not None and len(names) != n:
                raise ValueError(f"{label} has {len(names)} entries for {n} columns")

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

    def arrays(self):
        """(y, z) in the form PSID/DPAD take: one array per trial (a bare array if one trial)."""
        if self.n_trials == 1:
            return self.y[0], None if self.z is None else self.z[0]
        return self.y, self.z

    def trials(self, index) -> Recording:
        """A recording of the selected trials (int, slice or index array)."""
        idx = np.arange(self.n_trials)[index]
        idx = np.atleast_1d(idx)
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
