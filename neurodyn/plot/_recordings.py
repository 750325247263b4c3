"""Figures of recordings: spike rasters with the trials, and trial-aligned signals by condition.
They draw what `neurodyn.data` holds; averaging is `Recording.average`'s job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .._typing import ArrayLike
from .._validate import ArgumentTypeError, check_choice
from ..data import Recording, TrialTable


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_raster(spike_times: Sequence[ArrayLike | Sequence[float]], ax: Axes | None = None, *,
                trials: TrialTable | None = None, window: tuple[float, float] | None = None,
                **style: Any) -> Axes:
    """Spike raster: one row per unit, with the trials shaded.

    Spike times are in s; the trials of `trials` are shaded; the plot spans `window` (s;
    default everything)."""
    ax = _axes(ax, (7, 3))
    lo, hi = window if window is not None else (-np.inf, np.inf)
    rows = [np.asarray(t, float) for t in spike_times]
    shown = [t[(t >= lo) & (t <= hi)] for t in rows]
    ax.eventplot(shown, colors=style.get("color", "k"), linelengths=0.8,
                 linewidths=style.get("lw", 0.6))
    if trials is not None:
        for i, (a, b) in enumerate(zip(trials.start_time, trials.stop_time)):
            if b >= lo and a <= hi:
                ax.axvspan(max(a, lo), min(b, hi), color=style.get("trial_color", "C0"),
                           alpha=0.12, lw=0, label="trial" if i == 0 else None)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("unit")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    return ax


def plot_conditions(recording: Recording, ax: Axes | None = None, *, signal: str = "y",
                    channel: int | None = None, condition: str | None = None,
                    **style: Any) -> Axes:
    """Each trial of `recording` over time, coloured by the value of a condition.

    For condition averages, use `Recording.average(condition)`. It draws the neural data
    (`signal="y"`), behaviour ("z") or inputs ("u"), channel `channel` or the mean over channels
    (None). Time is relative to the alignment event (the recording's `t_start`)."""
    if not isinstance(recording, Recording):
        raise ArgumentTypeError(f"recording must be a neurodyn.data.Recording, got "
                                f"{type(recording).__name__}")
    check_choice(signal, "signal", ("y", "z", "u"))
    arrays = getattr(recording, signal)
    if arrays is None:
        raise ValueError(f"signal: the recording has no {signal!r}")
    values = None
    if condition is not None:
        if recording.conditions is None or condition not in recording.conditions:
            raise ValueError(f"condition: the recording has no condition {condition!r}")
        values = np.asarray(recording.conditions[condition])
    ax = _axes(ax, (5, 3))
    cmap = plt.get_cmap(style.get("cmap", "coolwarm"))
    numeric = values is not None and values.dtype.kind in "biuf"
    span = (values.min(), values.max()) if numeric else (0, max(1, recording.n_trials - 1))
    for i, a in enumerate(arrays):
        a = np.asarray(a, float)
        trace = a.mean(axis=1) if channel is None else a[:, channel]
        t = recording.t_start + (np.arange(a.shape[0]) + 0.5) * recording.dt / 1000.0
        x = float(values[i]) if numeric else i
        level = 0.5 if span[1] == span[0] else (x - span[0]) / (span[1] - span[0])
        label = None
        if values is not None:
            label = f"{condition} = " + (f"{x:.3g}" if numeric else str(values[i]))
        ax.plot(t, trace, color=cmap(level), lw=style.get("lw", 1.2), label=label)
    names = {"y": recording.channel_names, "z": recording.behaviour_names,
             "u": recording.input_names}[signal]
    what = {"y": "activity", "z": "behaviour", "u": "input"}[signal]
    ylabel = (f"mean {what}" if channel is None else
              names[channel] if names is not None else f"{what} {channel}")
    ax.set_xlabel("time from event (s)" if "aligned_to" in recording.metadata else "time (s)")
    ax.set_ylabel(style.get("ylabel", ylabel))
    if values is not None and recording.n_trials <= 8:
        ax.legend(frameon=False, fontsize=7)
    return ax
