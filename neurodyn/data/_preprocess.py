"""Binning and smoothing of neural data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from .._typing import ArrayLike
from .._validate import (
    ArgumentTypeError,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_number,
)

# Far beyond any recording (a day at 1 ms is 8.6e7 bins); a bad bin width fails clearly here
# instead of asking NumPy for petabytes.
MAX_BINS = 2**31 - 1
# A Gaussian of more than a million samples' standard deviation is a unit mistake.
MAX_SIGMA_SAMPLES = 1e6


def _spike_trains(spike_times) -> list[np.ndarray]:
    what = "spike_times must be a list of 1-D arrays of spike times (seconds), one per unit"
    if isinstance(spike_times, np.ndarray) and spike_times.dtype == object:
        spike_times = list(spike_times)
    if isinstance(spike_times, np.ndarray):
        if spike_times.ndim == 1:
            raise ValueError(f"{what}; got one 1-D array (for a single unit pass [times])")
        if spike_times.ndim != 2:
            raise ValueError(f"{what}; got an array of shape {spike_times.shape}")
        spike_times = list(spike_times)
    if not isinstance(spike_times, (list, tuple)):
        raise ArgumentTypeError(f"{what}, got {type(spike_times).__name__}")
    if not spike_times:
        raise ValueError(f"{what}; got no units")
    return [check_array(t, f"spike_times[{i}]", ndim=1) for i, t in enumerate(spike_times)]


def bin_spikes(spike_times: ArrayLike | Sequence[ArrayLike], *, bin_ms: float, t_start: float,
               t_stop: float) -> np.ndarray:
    """Spike counts `[n_bins, n_units]` from per-unit spike times, in bins of `bin_ms` ms.

    `spike_times` holds one array of spike times (seconds) per unit; the bins run from `t_start`
    to `t_stop` (seconds; the last partial bin is dropped)."""
    bin_ms = check_number(bin_ms, "bin_ms", low=0, low_open=True, unit="ms")
    t_start = check_number(t_start, "t_start", unit="s")
    t_stop = check_number(t_stop, "t_stop", unit="s")
    if not t_stop > t_start:
        raise ValueError(f"t_stop ({t_stop}) must be after t_start ({t_start})")
    trains = _spike_trains(spike_times)
    n_bins = np.floor((t_stop - t_start) * 1000.0 / bin_ms + 1e-9)
    if n_bins < 1:
        raise ValueError(f"bin_ms: the interval of {(t_stop - t_start) * 1000.0:g} ms is shorter "
                         f"than one bin of {bin_ms:g} ms")
    if not n_bins * len(trains) <= MAX_BINS:
        raise ValueError(f"bin_ms: bins of {bin_ms:g} ms from {t_start:g} s to {t_stop:g} s make "
                         f"{n_bins:.3g} bins per unit, too many (check the units: ms and s)")
    edges = t_start + np.arange(int(n_bins) + 1) * bin_ms / 1000.0
    return np.stack([np.histogram(t, edges)[0] for t in trains], axis=1)


def rebin(x: ArrayLike, factor: int, *, how: str = "sum") -> np.ndarray:
    """Merge every `factor` samples of `x [T, n]` by sum or mean.

    A trailing remainder is dropped. With `how="mean"`, NaN samples (missing behaviour) are
    left out of the mean."""
    factor = check_int(factor, "factor")
    check_choice(how, "how", ("sum", "mean"))
    check_array(x, "x", allow_nan=True)
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"x must be an array [time, ...], got a scalar {x!r}")
    T = (x.shape[0] // factor) * factor
    if T == 0:
        raise ValueError(f"factor: {x.shape[0]} samples are fewer than one bin of {factor}")
    blocks = x[:T].reshape((T // factor, factor) + x.shape[1:])
    return blocks.sum(1) if how == "sum" else np.nanmean(blocks, axis=1)


def smooth(x: ArrayLike, sigma_ms: float, *, dt: float, causal: bool = False) -> np.ndarray:
    """Smooth `x [T, n]` along time with a Gaussian kernel (optionally causal).

    Convolve `x [T, n]` along time with a Gaussian of standard deviation `sigma_ms` (time step
    `dt` ms). `causal=True` uses the half-Gaussian on past samples only, so a smoothed sample
    never depends on the future (what one-step-ahead prediction needs); before the first sample
    the signal is held at its first value, however long the kernel is compared with `x`.

        causal:  s_t = Σ_{k=0}^{K} w_k x_{max(t−k, 0)},  w_k ∝ exp(−k²/2σ²),  K = ⌈4σ⌉, Σ w = 1
    """
    sigma_ms = check_number(sigma_ms, "sigma_ms", low=0, low_open=True, unit="ms")
    dt = check_number(dt, "dt", low=0, low_open=True, unit="ms")
    causal = check_bool(causal, "causal")
    x = check_array(x, "x", ndim=(1, 2))
    if x.shape[0] < 1:
        raise ValueError(f"x must hold at least one sample, got shape {x.shape}")
    x = np.asarray(x, dtype=np.float64)
    sigma = sigma_ms / dt
    if sigma > MAX_SIGMA_SAMPLES:
        raise ValueError(f"sigma_ms: {sigma_ms:g} ms is {sigma:.3g} samples of dt = {dt:g} ms, "
                         f"more than {MAX_SIGMA_SAMPLES:g} (check the units: both in ms)")
    if not causal:
        return ndimage.gaussian_filter1d(x, sigma, axis=0, mode="nearest")
    lags = np.arange(int(np.ceil(4 * sigma)) + 1)
    with np.errstate(over="ignore", under="ignore"):
        kernel = np.exp(-0.5 * (lags / sigma) ** 2)
    kernel /= kernel.sum()
    T = x.shape[0]
    out = np.zeros_like(x)
    for lag, w in enumerate(kernel[:T]):
        out[lag:] += w * x[: T - lag]
        if lag:
            out[:lag] += w * x[:1]  # hold the first sample before the recording starts
    out += kernel[T:].sum() * x[:1]  # lags beyond the trial all reach back before its start
    return out
