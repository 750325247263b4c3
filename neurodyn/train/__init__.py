"""Training loops and losses."""

from ._fit import (
    FitResult as FitResult,
    History as History,
    fit as fit,
    fit_ensemble as fit_ensemble,
    member as member,
)
from ._loss import masked_mse as masked_mse
