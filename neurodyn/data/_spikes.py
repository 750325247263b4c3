"""Spike trains from firing rates: an inhomogeneous Poisson process."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._typing import ArrayLike, Float, Key
from .._validate import check_array, check_key, check_number


def poisson_spikes(rates: Float[ArrayLike, "time units"], *, dt: float, key: Key,
                   t_start: float = 0.0) -> list[np.ndarray]:
    """Spike times of an inhomogeneous Poisson process with piecewise-constant rates.

    Spike times (s, sorted), one array per unit, of an inhomogeneous Poisson process whose
    rate (Hz) is `rates[k]` on the interval [t_start + k·dt, t_start + (k + 1)·dt) (dt in ms).

    For a piecewise-constant rate this is exact: the count in interval k is Poisson with mean
    λ_k = rates[k]·dt/1000, and given the count the spike times are independent and uniform on
    the interval (e.g. Dayan & Abbott 2001, *Theoretical Neuroscience*, ch. 1.4).
    """
    rates = check_array(rates, "rates", ndim=2, min_size=1)
    if np.any(rates < 0):
        raise ValueError(f"rates must be >= 0 (Hz), got a minimum of {rates.min():g}")
    dt = check_number(dt, "dt", low=0, low_open=True, unit="ms")
    t_start = check_number(t_start, "t_start", unit="s")
    key = check_key(key)
    # A NumPy generator seeded from the key: the number of spikes is only known after the
    # counts are drawn, and NumPy draws ragged samples without recompiling for each size.
    rng = np.random.default_rng(np.asarray(jax.random.bits(key, (4,), jnp.uint32)))
    step = dt / 1000.0
    counts = rng.poisson(rates * step)
    out = []
    for j in range(rates.shape[1]):
        bins = np.repeat(np.arange(rates.shape[0]), counts[:, j])
        out.append(np.sort(t_start + (bins + rng.random(bins.size)) * step))
    return out
