"""Figures of a sweep: a metric against a grid key, one line per group of the other keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


def plot_sweep(rows: Sequence[Mapping], x: str, y: str = "accuracy", *,
               group: Sequence[str] = (), ax: Axes | None = None) -> Axes:
    """Mean ± s.d. over seeds of a sweep's column `y` against grid key `x`.

    One line per value of the other grid keys `group` (e.g. accuracy against rank per task).

    `rows` is a sweep's table (`neurodyn.experiment.collect`, or `read_table` of its
    `results.csv`); only rows with status "ok" and a value of `y` are drawn. Returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.2), layout="constrained")
    ok = [r for r in rows if r.get("status") == "ok" and r.get(y) is not None]
    labels = sorted({" ".join(f"{g}={r[g]}" for g in group) for r in ok})
    for label in labels:
        sel = [r for r in ok if " ".join(f"{g}={r[g]}" for g in group) == label]
        xs = sorted({r[x] for r in sel})
        mean = [np.mean([float(r[y]) for r in sel if r[x] == v]) for v in xs]
        sd = [np.std([float(r[y]) for r in sel if r[x] == v]) for v in xs]
        ax.errorbar(xs, mean, yerr=sd, fmt="o-", capsize=2, label=label or None)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if any(labels):
        ax.legend(frameon=False, fontsize="small")
    return ax
