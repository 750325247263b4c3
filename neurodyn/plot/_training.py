"""Figures of training and behaviour. They draw results; they never compute analyses."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    return ax


def plot_loss(history, ax=None, **style):
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


def plot_psychometric(curve: dict, ax=None, *, xlabel="coherence", **style):
    """P(choice = +1) against a condition value, from `tasks.psychometric(...)`."""
    ax = _axes(ax)
    x, p = np.asarray(curve["values"]), np.asarray(curve["p_positive"])
    sem = np.asarray(curve.get("sem", np.zeros_like(p)))
    ax.errorbar(x, p, yerr=sem, fmt=style.get("fmt", "o-"), color=style.get("color", "k"),
                ms=4, capsize=2, label=style.get("label"))
    ax.axhline(0.5, color="0.7", lw=0.8, ls="--")
    ax.axvline(0.0, color="0.7", lw=0.8, ls="--")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("P(choice = +1)")
    return ax
