"""Recurrent network models: `LowRankRNN`, `FullRankRNN` and their base `AbstractRNN`."""

from .._dynamics import (
    AbstractDynamicalSystem as AbstractDynamicalSystem,
    AbstractEulerSystem as AbstractEulerSystem,
)
from .._noise import NOISE_RNGS as NOISE_RNGS, fast_normal as fast_normal
from .._nonlinearity import NONLINEARITIES as NONLINEARITIES
from ._base import AbstractRNN as AbstractRNN, Rollout as Rollout
from ._fullrank import FullRankRNN as FullRankRNN
from ._latent import LatentDynamics as LatentDynamics
from ._lowrank import LowRankRNN as LowRankRNN
