"""Training loops and losses."""

from .._optim import member as member
from ._fit import fit as fit, fit_ensemble as fit_ensemble
from ._loop import FitResult as FitResult, History as History, TrainingWarning as TrainingWarning
from ._loss import masked_mse as masked_mse
