"""The checks on `find`'s settings, and the rounding floor of q that sets its default `rtol`."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_bool, check_choice, check_int, check_number
from ._result import DYNAMICS

# rtol = ROUNDING_ROUNDINGS/2 · period · eps / T: a residual of 8 roundings (u = eps/2) of each
# component of the state. The float nearest a fixed point of the trained networks in the tests
# has ‖r‖ ≈ (0.5–1.7) · eps · ‖x‖ (float32, N = 16–4096; k = 1–3.4 roundings), so this leaves a
# margin of 2.5–8 in ‖r‖.
ROUNDINGS = 8


def default_rtol(system, dtype, dynamics: str, period: int) -> float:
    """4 · period · eps(dtype) / T, T = 1 for a map and the system's `tau` (if it has a finite
    positive one) for a vector field: see `find`."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    scale = 1.0
    if dynamics == "continuous":
        tau = getattr(system, "tau", None)
        try:
            tau = float(tau)
        except (TypeError, ValueError):
            tau = None
        if tau is not None and math.isfinite(tau) and tau > 0:
            scale = tau
    return ROUNDINGS / 2 * period * eps / scale


def _positive(value, name, *, allow_none=False):
    return check_number(value, name, low=0.0, low_open=True, allow_none=allow_none)


def check_search(s: dict, *, filter, jacobians, latent, progress) -> dict:
    """Check and normalise `find`'s numeric settings in `s` (in place); returns the flags."""
    s["dynamics"] = check_choice(s["dynamics"], "dynamics", DYNAMICS)
    s["period"] = check_int(s["period"], "period")
    if s["period"] > 1 and s["dynamics"] != "discrete":
        raise ValueError(
            "period: period-k orbits are defined for discrete maps: use dynamics='discrete'"
        )
    s["tol_q"] = _positive(s["tol_q"], "tol_q")
    s["rtol"] = check_number(s["rtol"], "rtol", low=0.0, allow_none=True)
    for name in ("max_steps", "chunk_size", "patience", "newton_steps", "krylov_dim"):
        s[name] = check_int(s[name], name)
    s["stall_steps"] = check_int(s["stall_steps"], "stall_steps", allow_none=True)
    s["learning_rate"] = _positive(s["learning_rate"], "learning_rate")
    s["lr_min"] = _positive(s["lr_min"], "lr_min")
    s["lr_factor"] = check_number(s["lr_factor"], "lr_factor", low=0.0, high=1.0,
                                  low_open=True, high_open=True)
    s["newton"] = check_bool(s["newton"], "newton")
    radius = s["newton_radius"]
    if not (isinstance(radius, (float, np.floating)) and radius == math.inf):  # inf allowed
        radius = check_number(radius, "newton_radius", low=0.0, low_open=True)
    s["newton_radius"] = float(radius)
    for name in ("max_q", "tol_unique", "outlier_distance"):
        s[name] = _positive(s[name], name, allow_none=True)
    return dict(
        filter=check_bool(filter, "filter"),
        jacobians=check_bool(jacobians, "jacobians"),
        latent=check_bool(latent, "latent"),
        progress=check_bool(progress, "progress"),
    )
