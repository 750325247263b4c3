"""Mean-field theory of Gaussian-mixture low-rank networks (N → ∞): the closed κ dynamics
with population-averaged gains by Gauss–Hermite quadrature, its simulation and fixed points."""

from ._roots import (
    KappaFixedPoints as KappaFixedPoints,
    default_radius as default_radius,
    fixed_points as fixed_points,
)
from ._theory import (
    MeanFieldDynamics as MeanFieldDynamics,
    dynamics as dynamics,
    gauss_hermite as gauss_hermite,
    simulate as simulate,
)
