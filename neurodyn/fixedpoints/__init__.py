"""Fixed points, slow points, period-k orbits and linearised dynamics of any system.

Following Sussillo & Barak 2013 and Golub & Sussillo 2018, for any
`neurodyn.AbstractDynamicalSystem`: an RNN, the latent reduction of a low-rank RNN, a fitted
model, your own subclass."""

from .. import io as _io
from ..models import OrthonormalLatent as OrthonormalLatent
from ._filters import filter_points as filter_points, unique_mask as unique_mask
from ._find import find as find, sample_states as sample_states
from ._flow import (
    Flow2D as Flow2D,
    FlowField as FlowField,
    Projection as Projection,
    flow_2d as flow_2d,
    flow_field as flow_field,
    pca as pca,
)
from ._jacobian import (
    Linearization as Linearization,
    decompose as decompose,
    eig as eig,
    jacobians as jacobians,
    linearize as linearize,
    stability as stability,
)
from ._manifolds import (
    LineAttractor as LineAttractor,
    UnstableManifolds as UnstableManifolds,
    line_attractor as line_attractor,
    orbits as orbits,
    unstable_manifolds as unstable_manifolds,
)
from ._result import (
    CONVERGED as CONVERGED,
    MAX_STEPS as MAX_STEPS,
    NON_FINITE as NON_FINITE,
    STALLED as STALLED,
    STATUS_NAMES as STATUS_NAMES,
    FixedPoints as FixedPoints,
    Report as Report,
    Status as Status,
    concatenate as concatenate,
    skeleton as _skeleton,
)

_io.register_class(FixedPoints, _skeleton)
del _io
