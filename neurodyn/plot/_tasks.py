"""Figures of tasks: one trial's inputs, targets and mask; psychometric curves and their fits.
They draw results; they never compute analyses (fits come from `tasks.psychometric`)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from jaxtyping import ArrayLike, Float
from matplotlib.axes import Axes

from ..tasks import PsychometricCurve, Trials

_EPOCH_COLORS = ("0.55", "C9", "C8", "C6", "C4", "C2")


def _trial_index(trials: Trials, i: int) -> int:
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise ValueError(f"i must be an integer trial index, got {i!r}")
    b = trials.batch_size
    if not -b <= i < b:
        raise ValueError(f"i must index one of the {b} trials, got {i}")
    return int(i) % b


def _shade_epochs(
    ax: Axes, epochs: dict[str, tuple[int, int]], dt: float, *, label: bool
) -> list[Any]:
    """One translucent span per epoch [start, stop) (in ms), named at the top if `label`."""
    spans = []
    for j, (name, (start, stop)) in enumerate(sorted(epochs.items(), key=lambda e: e[1][0])):
        if stop <= start:
            continue
        color = _EPOCH_COLORS[j % len(_EPOCH_COLORS)]
        spans.append(ax.axvspan(start * dt, stop * dt, color=color, alpha=0.12, lw=0))
        if label:
            ax.text(
                (start + stop) / 2 * dt, 1.0, name, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=7, color="0.3", clip_on=False,
            )
    return spans


def trial(
    trials: Trials,
    i: int = 0,
    outputs: Float[ArrayLike, "*batch time outputs"] | None = None,
    *,
    ax: Sequence[Axes] | np.ndarray | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    axes: Sequence[Axes] | np.ndarray | None = None,
    **style: Any,
) -> np.ndarray:
    """Inputs, targets, outputs and mask of one trial against time, epochs shaded.

    Inputs, targets (dashed), network outputs (solid, if given) and mask of trial `i`,
    against time (ms), with the trial's epochs shaded and named.

    `outputs` is `[batch, time, n_outputs]` (e.g. `Rollout.outputs` of the same batch) or the
    one trial's `[time, n_outputs]`. `ax`: three Axes (inputs, outputs, mask) to draw on; by
    default a new figure. Returns the three Axes (an array). `axes=` is the deprecated name
    of `ax=`.
    """
    if axes is not None:
        if ax is not None:
            raise TypeError("pass ax= only (axes= is its deprecated name), not both")
        warnings.warn(
            "plot.trial(axes=...) is deprecated and will be removed: use ax=",
            DeprecationWarning,
            stacklevel=2,
        )
        ax = axes
    i = _trial_index(trials, i)
    x = np.asarray(trials.inputs[i])
    y = np.asarray(trials.targets[i])
    m = np.asarray(trials.mask[i])
    if outputs is not None:
        z = np.asarray(outputs)
        if z.ndim == 3:
            if z.shape != trials.targets.shape:
                raise ValueError(
                    f"outputs must have the shape of trials.targets {trials.targets.shape} "
                    f"or of one trial's {y.shape}, got {z.shape}"
                )
            z = z[i]
        elif z.shape != y.shape:
            raise ValueError(
                f"outputs must have the shape of trials.targets {trials.targets.shape} "
                f"or of one trial's {y.shape}, got {z.shape}"
            )
    if ax is None:
        _, ax = plt.subplots(
            3, 1, figsize=(6, 5), sharex=True, layout="constrained",
            gridspec_kw={"height_ratios": [3, 3, 1]},
        )
    axes = np.asarray(ax).reshape(-1)
    if axes.size != 3:
        raise ValueError(
            f"ax: the axes must be three Axes (inputs, outputs, mask), got {axes.size}"
        )
    t = np.asarray(trials.time)
    epochs = {k: tuple(int(v) for v in np.asarray(b[i])) for k, b in trials.epochs.items()}
    epochs = {k: v for k, v in epochs.items() if v != (0, trials.n_steps)}
    lw = style.get("lw", 1.2)
    for j in range(x.shape[1]):
        name = input_names[j] if input_names is not None else f"input {j}"
        axes[0].plot(t, x[:, j], drawstyle="steps-pre", lw=lw, color=f"C{j % 10}", label=name)
    for j in range(y.shape[1]):
        name = output_names[j] if output_names is not None else f"output {j}"
        axes[1].plot(t, y[:, j], drawstyle="steps-pre", ls="--", lw=lw, color=f"C{j % 10}",
                     label=f"{name} target")
        if outputs is not None:
            axes[1].plot(t, z[:, j], lw=lw, color=f"C{j % 10}", alpha=0.8, label=name)
        axes[2].plot(t, m[:, j], drawstyle="steps-pre", lw=lw, color=f"C{j % 10}")
    for k, panel in enumerate(axes):
        _shade_epochs(panel, epochs, trials.dt, label=k == 0)
    axes[0].set_ylabel("input")
    axes[1].set_ylabel("output")
    axes[2].set_ylabel("mask")
    axes[2].set_ylim(-0.1, 1.1)
    axes[2].set_xlabel("time (ms)")
    for panel in axes[:2]:
        if len(panel.get_lines()) <= 8:
            panel.legend(frameon=False, fontsize=7, loc="best")
    return axes


def psychometric(
    curve: PsychometricCurve | Mapping[str, Any],
    ax: Axes | None = None,
    *,
    xlabel: str = "coherence",
    n_points: int = 201,
    **style: Any,
) -> Axes:
    """A psychometric curve: P(choice = +1) against a condition, with its fit.

    P(choice = +1) against a condition (points with binomial error bars) from
    `tasks.psychometric(...)` (a `PsychometricCurve`, or a dict of its fields), and the fitted
    psychometric function if the curve has one.

    Style keywords: `color` (default black), `label` (of the points; "data" when a fit is
    drawn), `fmt` (default "o", or "o-" joining the points when the curve has no fit), `ms`.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    if isinstance(curve, Mapping):  # e.g. a curve read back from JSON
        curve = PsychometricCurve(
            values=curve["values"], p_positive=curve["p_positive"], n=curve.get("n"),
            sem=curve.get("sem"), fit=curve.get("fit"),
        )
    xv, p = np.asarray(curve.values, dtype=float), np.asarray(curve.p_positive)
    sem = np.zeros_like(p) if curve.sem is None else np.asarray(curve.sem)
    fit = curve.fit
    color = style.get("color", "k")
    ax.errorbar(xv, p, yerr=sem, fmt=style.get("fmt", "o" if fit is not None else "o-"),
                color=color, ms=style.get("ms", 4), capsize=2,
                label=style.get("label", "data" if fit is not None else None))
    if fit is not None:
        grid = np.linspace(xv.min(), xv.max(), n_points)
        ax.plot(grid, fit(grid), color=color, lw=1.5,
                label=f"{fit.model} fit (bias {fit.bias:.3g}, threshold {fit.threshold:.3g})")
        ax.legend(frameon=False, fontsize=7)
    ax.axhline(0.5, color="0.7", lw=0.8, ls="--")
    ax.axvline(0.0, color="0.7", lw=0.8, ls="--")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("P(choice = +1)")
    return ax


plot_trial = trial
"""Alias of `trial`."""
plot_psychometric = psychometric
"""Alias of `psychometric`."""
