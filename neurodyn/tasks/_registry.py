"""Task registry: `make(name, **kwargs)` and `names()`."""

from __future__ import annotations

import inspect
from typing import Any

from .._validate import ArgumentTypeError
from ._base import AbstractTask
from ._context import ContextDecisionMaking, MultiSensoryIntegration
from ._decision import PerceptualDecisionMaking
from ._flipflop import FlipFlop
from ._motor import AntiReach, SineWaveGenerator
from ._neurogym import NeuroGymTask
from ._timing import GoNogo, IntervalDiscrimination, ReadySetGo
from ._working_memory import DelayComparison, DelayMatchSample
from ._yang19 import Yang19

_REGISTRY: dict[str, type[AbstractTask]] = {}


def register(cls: type[AbstractTask], name: str | None = None) -> type[AbstractTask]:
    """Add a task class to the registry under `name` (default: its class name)."""
    _REGISTRY[name or cls.__name__] = cls
    return cls


def names() -> list[str]:
    """The names `make` accepts, sorted."""
    return sorted(_REGISTRY)


def make(name: str, **kwargs: Any) -> AbstractTask:
    """Build a registered task by name, e.g. `make("PerceptualDecisionMaking", preset=...)`.

    Every keyword is checked by the task's constructor (a `ValueError` or `TypeError` that
    names it); a keyword the task does not take is refused here, with the ones it takes."""
    if not isinstance(name, str):
        raise ArgumentTypeError(
            f"name must be a task name (str) such as 'PerceptualDecisionMaking', got {name!r}"
        )
    if name not in _REGISTRY:
        raise ValueError(f"unknown task name {name!r}; known tasks: {', '.join(names())}")
    cls = _REGISTRY[name]
    params = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    known = [n for n, p in params.items() if n != "self" and p.kind is not p.VAR_KEYWORD]
    unknown = [k for k in kwargs if k not in known]
    if unknown and not takes_any:
        raise ValueError(
            f"{unknown[0]} is not a keyword of {name}; it takes: {', '.join(known)}"
        )
    return cls(**kwargs)


for _cls in (
    PerceptualDecisionMaking,
    ContextDecisionMaking,
    MultiSensoryIntegration,
    DelayComparison,
    DelayMatchSample,
    FlipFlop,
    GoNogo,
    ReadySetGo,
    IntervalDiscrimination,
    AntiReach,
    SineWaveGenerator,
    Yang19,
    NeuroGymTask,
):
    register(_cls)
del _cls
