"""Mean-field theory of Gaussian-mixture low-rank networks (N → ∞).

The closed κ dynamics with population-averaged gains by Gauss–Hermite quadrature, its simulation
and fixed points."""

import warnings as _warnings

from ...fixedpoints import FixedPoints as _FixedPoints
from ._roots import (
    KappaSpectrum as KappaSpectrum,
    classify as classify,
    default_radius as default_radius,
    fixed_points as fixed_points,
)
from ._theory import (
    MeanFieldDynamics as MeanFieldDynamics,
    dynamics as dynamics,
    gauss_hermite as gauss_hermite,
    simulate as simulate,
)


def __getattr__(name: str):
    if name == "KappaFixedPoints":  # the old result type of `fixed_points`
        _warnings.warn(
            "lowrank.meanfield.KappaFixedPoints is deprecated: meanfield.fixed_points returns "
            "neurodyn.fixedpoints.FixedPoints (κ = fps.xstar[:, :rank]); the κ-block's "
            "eigenvalues and the kinds of the points come from meanfield.classify(system, fps)",
            DeprecationWarning, stacklevel=2,
        )
        return _FixedPoints
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
