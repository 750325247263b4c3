"""Figures of low-rank analyses: flow fields, loading pair plots, accuracy against rank.

They draw results computed by `neurodyn.lowrank` (`flow_field`, `loadings`,
`truncation_curve`, `rank_sweep`); they never compute analyses.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

from .._typing import ArrayLike, Int
from ..fixedpoints import FlowField
from ..lowrank import Loadings

_MARKERS = {
    "stable": dict(marker="o", facecolor="k", edgecolor="k"),
    "unstable": dict(marker="o", facecolor="w", edgecolor="k"),
    "saddle": dict(marker="X", facecolor="0.5", edgecolor="k"),
    "marginal": dict(marker="s", facecolor="0.8", edgecolor="k"),
    "unclassified": dict(marker="D", facecolor="0.6", edgecolor="0.3"),  # no eigenvalues
}


def _axes(ax: Axes | None, figsize: tuple[float, float] = (4, 3.4)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_flow_field(
    flow: FlowField,
    ax: Axes | None = None,
    *,
    cmap: str = "magma",
    streamlines: bool = True,
    nullclines: bool = True,
    colorbar: bool = True,
    **style: Any,
) -> Axes:
    """A `FlowField`: speed as colour, streamlines, nullclines and fixed points.

    A `FlowField` (`fixedpoints.flow_field`, or the deprecated `lowrank.flow_field`): speed
    as colour (log scale; per ms for a vector field, per step for a map), streamlines, the two
    nullclines (zero contours of dx and dy on the grid) and the fixed points it carries
    (filled: stable, open: unstable, cross: saddle, square: marginal, diamond: unclassified)."""
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
        per = "per step" if getattr(flow, "dynamics", "continuous") == "discrete" else "1/ms"
        ax.figure.colorbar(mesh, ax=ax, label=f"speed ({per})")
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


def plot_loadings(
    loadings: Loadings,
    labels: Int[ArrayLike, " neurons"] | None = None,
    *,
    columns: Sequence[str] | None = None,
    ax: Sequence[Axes] | np.ndarray | None = None,
    axes: Sequence[Axes] | np.ndarray | None = None,
    **style: Any,
) -> np.ndarray:
    """Pair plot of per-neuron loadings coloured by population.

    The loadings come from `lowrank.loadings(model)`, the population `labels [N]` e.g. from
    `lowrank.population_labels(mixture, model)`; histograms on the diagonal.

    `columns` picks loading names (default all). `ax`: the D × D Axes to draw on (D = the
    number of columns; `axes=`, its old name, still works with a DeprecationWarning); by
    default a new figure. Returns the `[D, D]` array of Axes.
    """
    if axes is not None:
        if ax is not None:
            raise TypeError("pass ax= only (axes= is its deprecated name), not both")
        warnings.warn("plot_loadings(axes=...) is deprecated: use plot_loadings(ax=...)",
                      DeprecationWarning, stacklevel=2)
        ax = axes
    values = np.asarray(loadings.values)
    names = list(loadings.names)
    columns = names if columns is None else list(columns)
    for c in columns:
        if c not in names:
            raise ValueError(f"unknown loading {c!r}; known: {', '.join(names)}")
    idx = [names.index(c) for c in columns]
    d = len(idx)
    if ax is None:
        _, ax = plt.subplots(d, d, figsize=(1.8 * d, 1.8 * d), layout="constrained",
                             squeeze=False)
    if np.size(ax) != d * d:
        raise ValueError(f"ax must be {d} × {d} Axes (one per pair of columns), got "
                         f"{np.size(ax)}")
    axes = np.asarray(ax).reshape(d, d)
    if labels is None:
        labels = np.zeros(values.shape[0], int)
    labels = np.asarray(labels)
    if labels.shape != (values.shape[0],):
        raise ValueError(f"labels must have shape ({values.shape[0]},), got {labels.shape}")
    pops = np.unique(labels)
    size = style.get("s", 4)
    for i, a in enumerate(idx):
        for j, b in enumerate(idx):
            cell = axes[i, j]
            for k, p in enumerate(pops):
                sel = labels == p
                colour = f"C{k % 10}"
                if i == j:
                    cell.hist(values[sel, a], bins=style.get("bins", 30), color=colour, alpha=0.6,
                            density=True)
                else:
                    cell.scatter(values[sel, b], values[sel, a], s=size, color=colour, alpha=0.6,
                               lw=0, label=f"population {p}" if (i, j) == (1, 0) else None)
            if i == d - 1:
                cell.set_xlabel(columns[j])
            if j == 0:
                cell.set_ylabel(columns[i])
    if len(pops) > 1 and d > 1:
        axes[1, 0].legend(frameon=False, fontsize="x-small", markerscale=3)
    return axes


def plot_rank_accuracy(
    result: Any, ax: Axes | None = None, *, threshold: float | None = None, **style: Any
) -> Axes:
    """Accuracy against rank, per seed and median, from a truncation curve or sweep.

    From `lowrank.truncation_curve` or `lowrank.rank_sweep`: seeds as dots, their median as a
    line; its `threshold` as a dashed line unless `threshold` is given. Anything with `ranks` and
    `accuracy` (attributes, or keys of a mapping) will do."""
    ax = _axes(ax, figsize=(3.6, 2.8))
    if isinstance(result, Mapping):
        ranks, acc = np.asarray(result["ranks"]), np.asarray(result["accuracy"])
    else:
        ranks, acc = np.asarray(result.ranks), np.asarray(result.accuracy)
        threshold = getattr(result, "threshold", None) if threshold is None else threshold
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
