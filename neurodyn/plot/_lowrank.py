"""Figures of low-rank analyses: flow fields, loading pair plots, accuracy against rank.

They draw results computed by `neurodyn.lowrank` (`flow_field`, `loadings`,
`truncation_curve`, `rank_sweep`); they never compute analyses.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

_MARKERS = {
    "stable": dict(marker="o", facecolor="k", edgecolor="k"),
    "unstable": dict(marker="o", facecolor="w", edgecolor="k"),
    "saddle": dict(marker="X", facecolor="0.5", edgecolor="k"),
    "marginal": dict(marker="s", facecolor="0.8", edgecolor="k"),
}


def _axes(ax, figsize=(4, 3.4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_flow_field(
    flow, ax=None, *, cmap="magma", streamlines=True, nullclines=True, colorbar=True, **style
):
    """A `lowrank.flow_field` result: speed as colour (log scale), streamlines, the two
    nullclines (dκ1 = 0 and dκ2/dv = 0, as zero contours of the grid) and the fixed points
    (filled: stable, open: unstable, cross: saddle)."""
    ax = _axes(ax)
    x, y = np.asarray(flow.x), np.asarray(flow.y)
    speed = np.asarray(flow.speed)
    positive = speed[speed > 0]
    norm = None
    if positive.size and positive.max() > positive.min():
        norm = LogNorm(vmin=max(positive.min(), positive.max() * 1e-4), vmax=positive.max())
    mesh = ax.pcolormesh(x, y, np.maximum(speed, 1e-30), cmap=cmap, norm=norm,
                         shading="gouraud", rasterized=True)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="speed (1/ms)")
    if streamlines:
        ax.streamplot(x, y, np.asarray(flow.dx), np.asarray(flow.dy),
                      color=style.get("stream_color", "w"), linewidth=0.6, density=1.0,
                      arrowsize=0.7)
    if nullclines:
        for comp, colour, name in ((flow.dx, "C0", flow.labels[0]),
                                   (flow.dy, "C2", flow.labels[1])):
            comp = np.asarray(comp)
            if comp.min() < 0 < comp.max():
                ax.contour(x, y, comp, levels=[0.0], colors=colour, linewidths=1.5)
                ax.plot([], [], color=colour, label=f"d{name}/dt = 0")
    points = np.asarray(flow.points)
    for kind, marker in _MARKERS.items():
        sel = [i for i, k in enumerate(flow.kinds) if k == kind]
        if sel:
            ax.scatter(points[sel, 0], points[sel, 1], s=style.get("s", 60), zorder=5,
                       marker=marker["marker"], facecolors=marker["facecolor"],
                       edgecolors=marker["edgecolor"], label=kind)
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(y.min(), y.max())
    ax.set_xlabel(flow.labels[0])
    ax.set_ylabel(flow.labels[1])
    if style.get("legend", True):
        ax.legend(frameon=False, fontsize="small", loc="upper right")
    return ax


def plot_loadings(loadings, labels=None, *, columns=None, axes=None, **style):
    """Pair plot of per-neuron loadings (`lowrank.loadings(model)`), coloured by population
    `labels [N]` (e.g. `lowrank.population_labels(mixture, model)`); histograms on the diagonal.

    `columns` picks loading names (default all). Returns the `[D, D]` array of Axes.
    """
    values = np.asarray(loadings.values)
    names = list(loadings.names)
    columns = names if columns is None else list(columns)
    for c in columns:
        if c not in names:
            raise ValueError(f"unknown loading {c!r}; known: {', '.join(names)}")
    idx = [names.index(c) for c in columns]
    d = len(idx)
    if axes is None:
        _, axes = plt.subplots(d, d, figsize=(1.8 * d, 1.8 * d), layout="constrained",
                               squeeze=False)
    axes = np.asarray(axes).reshape(d, d)
    if labels is None:
        labels = np.zeros(values.shape[0], int)
    labels = np.asarray(labels)
    if labels.shape != (values.shape[0],):
        raise ValueError(f"labels must have shape ({values.shape[0]},), got {labels.shape}")
    pops = np.unique(labels)
    size = style.get("s", 4)
    for i, a in enumerate(idx):
        for j, b in enumerate(idx):
            ax = axes[i, j]
            for k, p in enumerate(pops):
                sel = labels == p
                colour = f"C{k % 10}"
                if i == j:
                    ax.hist(values[sel, a], bins=style.get("bins", 30), color=colour, alpha=0.6,
                            density=True)
                else:
                    ax.scatter(values[sel, b], values[sel, a], s=size, color=colour, alpha=0.6,
                               lw=0, label=f"population {p}" if (i, j) == (1, 0) else None)
            if i == d - 1:
                ax.set_xlabel(columns[j])
            if j == 0:
                ax.set_ylabel(columns[i])
    if len(pops) > 1 and d > 1:
        axes[1, 0].legend(frameon=False, fontsize="x-small", markerscale=3)
    return axes


def plot_rank_accuracy(result, ax=None, *, threshold=None, **style):
    """Accuracy against rank, from `lowrank.truncation_curve` (a dict with "ranks" and
    "accuracy") or `lowrank.rank_sweep` (seeds as dots, their median as a line)."""
    ax = _axes(ax, figsize=(3.6, 2.8))
    if isinstance(result, dict):
        ranks, acc = np.asarray(result["ranks"]), np.asarray(result["accuracy"])
    else:
        ranks, acc = np.asarray(result.ranks), np.asarray(result.accuracy)
        threshold = result.threshold if threshold is None else threshold
    acc = acc.reshape(len(ranks), -1)
    colour = style.get("color", "k")
    if acc.shape[1] > 1:
        for k in range(acc.shape[1]):
            ax.scatter(ranks, acc[:, k], s=10, color=colour, alpha=0.4, lw=0)
    ax.plot(ranks, np.median(acc, axis=1), "o-", color=colour, ms=4, label=style.get("label"))
    if threshold is not None:
        ax.axhline(threshold, color="0.6", lw=0.8, ls="--")
    ax.set_xticks(ranks)
    ax.set_ylim(min(0.45, float(np.nanmin(acc)) - 0.05), 1.02)
    ax.set_xlabel("rank")
    ax.set_ylabel("accuracy")
    return ax
