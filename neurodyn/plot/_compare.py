"""Figures of comparisons between networks: a distance matrix, a fixed-point graph. They draw
what `neurodyn.compare` returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .._typing import ArrayLike, Float
from ..compare import DSAMatrix, Topology


def _axes(ax: Axes | None, size=(4, 3.5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_distance_matrix(
    distances: DSAMatrix | Float[ArrayLike, "systems systems"],
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    **style: Any,
) -> Axes:
    """Heatmap of a matrix of distances between systems, with a colour bar.

    `distances`: a `compare.DSAMatrix` or any square array; `labels` name its rows and columns.
    """
    ax = _axes(ax)
    d = np.asarray(distances.distances if isinstance(distances, DSAMatrix) else distances)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"distances must be a square matrix, got shape {list(d.shape)}")
    image = ax.imshow(d, cmap=style.get("cmap", "viridis"), vmin=style.get("vmin", 0.0),
                      vmax=style.get("vmax"), interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=style.get("label", "distance"))
    if labels is not None:
        if len(labels) != d.shape[0]:
            raise ValueError(f"labels must name the {d.shape[0]} systems, got {len(labels)}")
        ticks = np.arange(d.shape[0])
        ax.set_xticks(ticks, labels, rotation=90)
        ax.set_yticks(ticks, labels)
    ax.set_xlabel(style.get("xlabel", "system"))
    ax.set_ylabel(style.get("ylabel", "system"))
    return ax


def plot_topology(topology: Topology, ax: Axes | None = None, **style: Any) -> Axes:
    """The graph of fixed points (a `compare.Topology`), drawn in layers.

    Attractors on the bottom row, saddles with k unstable modes on row k (ordered by their first
    state coordinate), an arrow per manifold branch from saddle to attractor (line width:
    branches)."""
    if not isinstance(topology, Topology):
        raise TypeError(f"topology must be a Topology (compare.topology), got "
                        f"{type(topology).__name__}")
    ax = _axes(ax, (5, 3))
    level = np.asarray(topology.n_unstable)
    xstar = np.asarray(topology.xstar)
    pos = np.zeros((level.size, 2))
    for k in np.unique(level):
        members = np.flatnonzero(level == k)
        order = members[np.argsort(xstar[members, 0] if xstar.size else members, kind="stable")]
        pos[order, 0] = (np.arange(order.size) + 0.5) / order.size
        pos[order, 1] = k
    counts = topology.adjacency()
    for s, a in zip(*np.nonzero(counts)):
        ax.annotate("", xy=pos[a], xytext=pos[s],
                    arrowprops=dict(arrowstyle="->", color=style.get("edge_color", "0.5"),
                                    lw=0.8 * counts[s, a], shrinkA=5, shrinkB=5))
    colours = np.where(level == 0, style.get("stable_color", "k"),
                       style.get("saddle_color", "C3"))
    ax.scatter(pos[:, 0], pos[:, 1], c=colours, s=style.get("s", 40), zorder=3)
    top = int(level.max()) if level.size else 0
    ax.set_yticks(range(top + 1))
    ax.set_ylabel("unstable modes")
    ax.set_xticks([])
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.5, top + 0.5)
    return ax
