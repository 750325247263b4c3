"""Input validation shared by the low-rank analyses (raised eagerly, before anything compiles).

The generic checks (integers, numbers, keys, arrays, finiteness) are those of
`neurodyn._validate`; what is here is the domain logic: which models and tasks an analysis takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._validate import ArgumentTypeError, check_finite_tree, check_int
from ..models import AbstractRNN, FullRankRNN, LowRankRNN
from ..tasks import AbstractTask

_MEMBER_HINT = "pick one network with neurodyn.train.member(ensemble, i)"


def check_lowrank(model: Any, name: str = "model") -> LowRankRNN:
    """One finite LowRankRNN (not a stacked ensemble, not a FullRankRNN)."""
    if not isinstance(model, LowRankRNN):
        hint = (
            " (reduce it first with neurodyn.lowrank.truncate(model, rank))"
            if isinstance(model, FullRankRNN)
            else ""
        )
        raise ArgumentTypeError(f"{name} must be a LowRankRNN, got {type(model).__name__}{hint}")
    if model.m.ndim != 2:
        raise ValueError(
            f"{name} is a stacked ensemble (m has shape {model.m.shape}); {_MEMBER_HINT}"
        )
    check_finite_tree(model, name)
    return model


def check_fullrank(model: Any, name: str = "model") -> FullRankRNN:
    """One finite FullRankRNN (the input of SVD truncation)."""
    if isinstance(model, LowRankRNN):
        raise ArgumentTypeError(
            f"{name}: truncate needs a full-rank model (FullRankRNN); this LowRankRNN is already "
            f"rank {model.rank} (use model.to_full_rank() to truncate its dense J)"
        )
    if not isinstance(model, FullRankRNN):
        raise ArgumentTypeError(f"{name} must be a FullRankRNN, got {type(model).__name__}")
    if model.J.ndim != 2:
        raise ValueError(
            f"{name} is a stacked ensemble (J has shape {model.J.shape}); {_MEMBER_HINT}"
        )
    check_finite_tree(model, name)
    return model


def check_rnn(model: Any, name: str = "model") -> AbstractRNN:
    """A finite neurodyn RNN (a stacked ensemble is allowed)."""
    if not isinstance(model, AbstractRNN):
        raise ArgumentTypeError(f"{name} must be a neurodyn RNN, got {type(model).__name__}")
    check_finite_tree(model, name)
    return model


def check_task(task: Any, name: str = "task") -> AbstractTask:
    if not isinstance(task, AbstractTask):
        raise ArgumentTypeError(
            f"{name} must be a neurodyn task (e.g. neurodyn.tasks.make(...)), got "
            f"{type(task).__name__}"
        )
    return task


def check_counts(ranks: Any, name: str = "ranks", *, high: int | None = None) -> list[int]:
    """A non-empty sequence of integers in [1, high] (ranks, numbers of populations)."""
    if isinstance(ranks, (str, bytes, dict)) or not isinstance(ranks, (Iterable, np.ndarray)):
        raise ArgumentTypeError(
            f"{name} must be a sequence of integers (e.g. [1, 2, 3]), got {type(ranks).__name__}"
        )
    values = list(np.asarray(ranks).ravel()) if isinstance(ranks, np.ndarray) else list(ranks)
    if not values:
        raise ValueError(f"{name} must hold at least one integer, got none")
    return [check_int(r, f"{name} entry", low=1, high=high) for r in values]
