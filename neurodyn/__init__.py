"""neurodyn: train recurrent networks on cognitive tasks in JAX, then take them apart."""

from . import (
    compare as compare,
    data as data,
    dpad as dpad,
    experiment as experiment,
    fixedpoints as fixedpoints,
    io as io,
    lowrank as lowrank,
    models as models,
    plot as plot,
    tasks as tasks,
    train as train,
)
from ._cache import enable_compilation_cache as _enable_compilation_cache
from ._dynamics import (
    AbstractDynamicalSystem as AbstractDynamicalSystem,
    AbstractEulerSystem as AbstractEulerSystem,
)
from ._version import __version__ as __version__
from .experiment import citation as citation
from .io import load as load, save as save
from .models import (
    GRU as _GRU,
    LSTM as _LSTM,
    RNN as _RNN,
    FullRankRNN as _FullRankRNN,
    LinearRNN as _LinearRNN,
    LowRankRNN as _LowRankRNN,
)

io.register_class(_LowRankRNN)
io.register_class(_FullRankRNN)
io.register_class(_LinearRNN)
io.register_class(_RNN)
io.register_class(_GRU)
io.register_class(_LSTM)
del _FullRankRNN, _LinearRNN, _LowRankRNN, _RNN, _GRU, _LSTM

_enable_compilation_cache()  # JAX's persistent compilation cache, per user (see _cache.py)
