"""Cognitive tasks as pure, batched trial generators, and their registry."""

from ._base import MAX_STEPS as MAX_STEPS, AbstractTask as AbstractTask
from ._context import (
    ContextDecisionMaking as ContextDecisionMaking,
    MultiSensoryIntegration as MultiSensoryIntegration,
)
from ._decision import PerceptualDecisionMaking as PerceptualDecisionMaking
from ._epoch_tasks import (
    AbstractChoiceTask as AbstractChoiceTask,
    AbstractEpochTask as AbstractEpochTask,
)
from ._flipflop import FlipFlop as FlipFlop
from ._metrics import (
    PsychometricCurve as PsychometricCurve,
    PsychometricFit as PsychometricFit,
    fit_psychometric as fit_psychometric,
    psychometric as psychometric,
)
from ._motor import AntiReach as AntiReach, SineWaveGenerator as SineWaveGenerator
from ._neurogym import NeuroGymTask as NeuroGymTask
from ._registry import make as make, names as names, register as register
from ._score import Score as Score
from ._timing import (
    GoNogo as GoNogo,
    IntervalDiscrimination as IntervalDiscrimination,
    ReadySetGo as ReadySetGo,
)
from ._trials import Trials as Trials
from ._working_memory import (
    DelayComparison as DelayComparison,
    DelayMatchSample as DelayMatchSample,
)
from ._yang19 import Yang19 as Yang19
