"""Task registry: `make(name, **kwargs)` and `names()`."""

from __future__ import annotations

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


def make(name: str, **kwargs) -> AbstractTask:
    """Build a registered task by name, e.g. `make("PerceptualDecisionMaking", preset=...)`."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown task name {name!r}; known tasks: {', '.join(names())}")
    return _REGISTRY[name](**kwargs)


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
