"""Figures of LINT fits (low-rank RNNs fitted to activity; Valente, Pillow & Ostojic 2022):
the explained variance against rank of `lowrank.fit_activity_ranks`. They compute nothing."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .._validate import ArgumentTypeError
from ..lowrank import ActivityRankSweep


def plot_activity_ranks(
    sweep: ActivityRankSweep,
    ax: Axes | None = None,
    *,
    ceiling: float | None = None,
    **style: Any,
) -> Axes:
    """Explained variance (R²) against rank of a LINT rank sweep.

    From an `ActivityRankSweep`: training trials (open markers), held-out trials (filled),
    the band within `tolerance` of the best held-out R² (grey) and the chosen rank (dashed
    line). `ceiling` (optional) draws a noise ceiling, the R² that the true rates would
    reach, as a dotted line."""
    if not isinstance(sweep, ActivityRankSweep):
        raise ArgumentTypeError(
            f"sweep must be an ActivityRankSweep (from lowrank.fit_activity_ranks), got "
            f"{type(sweep).__name__}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 2.8), layout="constrained")
    ranks = np.asarray(sweep.ranks)
    colour = style.get("color", "k")
    train, test = np.asarray(sweep.r2_train), np.asarray(sweep.r2_test)
    ax.plot(ranks, train, "o--", color=colour, mfc="w", ms=4, lw=0.8, label="training trials")
    ax.plot(ranks, test, "o-", color=colour, ms=4, label=style.get("label", "held-out trials"))
    if np.isfinite(test).any():
        best = float(np.nanmax(test))
        ax.axhspan(best - sweep.tolerance, best, color="0.85", lw=0, zorder=0)
    ax.axvline(sweep.chosen_rank, color="0.4", lw=0.8, ls="--")
    if ceiling is not None:
        ax.axhline(float(ceiling), color="0.4", lw=0.8, ls=":", label="noise ceiling")
    ax.set_xticks(ranks)
    ax.set_xlabel("rank")
    ax.set_ylabel("explained variance (R²)")
    ax.set_title(f"chosen rank {sweep.chosen_rank}", fontsize="medium")
    ax.legend(frameon=False, fontsize="small")
    return ax
