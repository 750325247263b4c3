"""Recurrent network models and the exact latent reductions of a low-rank network.

Recurrent network models: `LowRankRNN`, `FullRankRNN`, `LinearRNN` and their base
`AbstractRNN`; the exact latent reductions of a low-rank network (`LatentDynamics`,
`OrthonormalLatent`)."""

from .._dynamics import (
    AbstractDynamicalSystem as AbstractDynamicalSystem,
    AbstractEulerSystem as AbstractEulerSystem,
)
from .._noise import NOISE_RNGS as NOISE_RNGS, fast_normal as fast_normal
from .._nonlinearity import NONLINEARITIES as NONLINEARITIES
from ._adapters import (
    AbstractAdapter as AbstractAdapter,
    CellSystem as CellSystem,
    StepFunction as StepFunction,
    from_cell as from_cell,
)
from ._base import AbstractRNN as AbstractRNN, Rollout as Rollout, check_train as check_train
from ._fullrank import FULLRANK_GROUPS as FULLRANK_GROUPS, FullRankRNN as FullRankRNN
from ._gated import (
    DISCRETE_GROUPS as DISCRETE_GROUPS,
    GRU as GRU,
    LSTM as LSTM,
    RNN as RNN,
    AbstractDiscreteRNN as AbstractDiscreteRNN,
)
from ._latent import LatentDynamics as LatentDynamics, simulate_latent as simulate_latent
from ._linear import LINEAR_GROUPS as LINEAR_GROUPS, LinearRNN as LinearRNN
from ._lowrank import LOWRANK_GROUPS as LOWRANK_GROUPS, LowRankRNN as LowRankRNN
from ._lowrank_rnns import (
    LOW_RANK_RNNS_LAYOUTS as LOW_RANK_RNNS_LAYOUTS,
    from_low_rank_rnns as from_low_rank_rnns,
)
from ._network import AbstractNetwork as AbstractNetwork
from ._reduction import OrthonormalLatent as OrthonormalLatent
from ._torch import from_torch as from_torch
