"""Figures of training. They draw results; they never compute analyses (psychometric curves:
`_tasks.psychometric`)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from ..train import History


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    return ax


def plot_loss(history: History, ax: Axes | None = None, **style: Any) -> Axes:
    """Training loss per step (log scale) with the validation loss at each evaluation."""
    ax = _axes(ax)
    loss = np.asarray(history.loss)
    if loss.ndim == 1:
        loss = loss[None]
    val = np.atleast_2d(np.asarray(history.val_loss))
    for i, (tr, vl) in enumerate(zip(loss, val)):
        label = i == 0
        ax.plot(np.arange(1, tr.size + 1), tr, color=style.get("color", "C0"), lw=0.8,
                alpha=0.7, label="train" if label else None)
        ax.plot(history.eval_step, vl, "o-", color=style.get("val_color", "C1"), ms=3,
                label="validation" if label else None)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (masked MSE)")
    ax.legend(frameon=False)
    return ax
