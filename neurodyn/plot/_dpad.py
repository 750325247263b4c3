"""Figures of DPAD/PSID results: predictions over time, latent trajectories, model comparisons.
They draw results; they never fit or evaluate a model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .._typing import ArrayLike, Float
from ..dpad import SearchResult


def _axes(ax: Axes | None, size: tuple[float, float] = (5, 3)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_prediction(z: Float[ArrayLike, "time dims"], z_hat: Float[ArrayLike, "time dims"],
                    ax: Axes | None = None, *, dim: int = 0, dt: float | None = None,
                    **style: Any) -> Axes:
    """Behaviour (or neural) dimension `dim` and its one-step-ahead prediction over time.
    `dt` in ms labels the x axis in seconds; otherwise in samples."""
    ax = _axes(ax)
    z, z_hat = np.asarray(z)[:, dim], np.asarray(z_hat)[:, dim]
    t = np.arange(z.size) * (dt / 1000.0 if dt else 1.0)
    ax.plot(t, z, color=style.get("color", "k"), lw=style.get("lw", 1.0), label="true")
    ax.plot(t, z_hat, color=style.get("pred_color", "C3"), lw=style.get("lw", 1.0),
            label=style.get("label", "predicted"))
    ax.set_xlabel("time (s)" if dt else "time step")
    ax.set_ylabel(style.get("ylabel", f"dimension {dim}"))
    ax.legend(frameon=False)
    return ax


def plot_latents(x: Float[ArrayLike, "time latents"] | Sequence[Float[ArrayLike, "time latents"]],
                 ax: Axes | None = None, *, dims: tuple[int, int] = (0, 1),
                 color: ArrayLike | Sequence[ArrayLike] | None = None, **style: Any) -> Axes:
    """A latent trajectory (or several trials) in the plane of two state dimensions.

    `x [T, nx]` (or a list of trials) is drawn in the plane of two state dims, optionally
    coloured by a value per sample (e.g. the behaviour)."""
    ax = _axes(ax, (4, 4))
    trials = x if isinstance(x, (list, tuple)) else [x]
    colors = color if isinstance(color, (list, tuple)) else [color] * len(trials)
    for xt, c in zip(trials, colors):
        xt = np.asarray(xt)
        if c is None:
            ax.plot(xt[:, dims[0]], xt[:, dims[1]], lw=style.get("lw", 0.8),
                    color=style.get("line_color", "C0"), alpha=style.get("alpha", 0.8))
        else:
            ax.scatter(xt[:, dims[0]], xt[:, dims[1]], c=np.asarray(c).ravel(), s=3,
                       cmap=style.get("cmap", "coolwarm"))
    ax.set_xlabel(f"x{dims[0] + 1}")
    ax.set_ylabel(f"x{dims[1] + 1}")
    return ax


def plot_model_comparison(scores: Mapping[str, float], ax: Axes | None = None, *,
                          ylabel: str = "behaviour CC", reference: float | None = None,
                          **style: Any) -> Axes:
    """Bars of one score per model, with an optional reference line.

    `scores` is `{label: value}`; the reference line is e.g. the ideal predictor's CC."""
    ax = _axes(ax)
    labels = list(scores)
    ax.bar(np.arange(len(labels)), [scores[k] for k in labels],
           color=style.get("color", "C0"))
    ax.set_xticks(np.arange(len(labels)), labels, rotation=style.get("rotation", 30),
                  ha="right")
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label=style.get("ref_label", "ideal"))
        ax.legend(frameon=False)
    ax.set_ylabel(ylabel)
    return ax


def _cell(row: Any, name: str) -> Any:
    """A search table row's `name`: a `SearchRow` attribute (or a key of an older dict row)."""
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def plot_search(result: SearchResult, ax: Axes | None = None, **style: Any) -> Axes:
    """Held-out behaviour score of every candidate nonlinearity of `dpad.search`.

    The chosen one is highlighted; the score is the AUC for categorical behaviour, else the CC."""
    table = result.table
    key = "auc" if _cell(table[0], "auc") is not None else "cc"
    ax = plot_model_comparison({_cell(r, "nonlinear"): _cell(r, key) for r in table}, ax,
                               ylabel=f"held-out behaviour {key.upper()}", **style)
    chosen = [_cell(r, "nonlinear") for r in table].index(result.chosen)
    ax.patches[chosen].set_color(style.get("chosen_color", "C3"))
    return ax
