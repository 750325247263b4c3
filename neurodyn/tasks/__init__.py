"""Cognitive tasks as pure, batched trial generators, and their registry."""

from ._base import AbstractTask as AbstractTask
from ._decision import PerceptualDecisionMaking as PerceptualDecisionMaking
from ._metrics import psychometric as psychometric
from ._registry import make as make, names as names, register as register
from ._trials import Trials as Trials
