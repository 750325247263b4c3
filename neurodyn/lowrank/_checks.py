"""Input validation shared by the low-rank analyses (plain ValueErrors, raised eagerly)."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np

from ..models import FullRankRNN, LowRankRNN


def check_finite(model, name: str = "model") -> None:
    """Refuse a model with NaN or Inf in any parameter array."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(model):
        if eqx.is_array(leaf) and not isinstance(leaf, jax.core.Tracer):
            if not np.all(np.isfinite(np.asarray(leaf))):
                where = jax.tree_util.keystr(path)
                raise ValueError(f"{name} has NaN or Inf values in {where.lstrip('.')}")


def check_lowrank(model, name: str = "model") -> LowRankRNN:
    if not isinstance(model, LowRankRNN):
        hint = (
            " (reduce it first with neurodyn.lowrank.truncate(model, rank))"
            if isinstance(model, FullRankRNN)
            else ""
        )
        raise ValueError(f"{name} must be a LowRankRNN, got {type(model).__name__}{hint}")
    if model.m.ndim != 2:
        raise ValueError(
            f"{name} is a stacked ensemble (m has shape {model.m.shape}); pick one network "
            "with neurodyn.train.member(ensemble, i)"
        )
    check_finite(model, name)
    return model


def check_count(name: str, value, low: int, high: int | None = None) -> int:
    """An integer in [low, high] (high=None: no upper bound)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be in {bound}, got {value}")
    return int(value)
