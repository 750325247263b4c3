"""Binning and smoothing of neural data."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def bin_spikes(spike_times, *, bin_ms: float, t_start: float, t_stop: float) -> np.ndarray:
    """Spike counts `[n_bins, n_units]` from one array of spike times (seconds) per unit, in bins
    of `bin_ms` ms from `t_start` to `t_stop` (seconds; the last partial bin is dropped)."""
    if not bin_ms > 0:
        raise ValueError(f"bin_ms must be positive, got {bin_ms}")
    if not t_stop > t_start:
        raise ValueError(f"t_stop ({t_stop}) must be after t_start ({t_start})")
    n_bins = int(np.floor((t_stop - t_start) * 1000.0 / bin_ms + 1e-9))
    if n_bins < 1:
        raise ValueError("the interval is shorter than one bin")
    edges = t_start + np.arange(n_bins + 1) * bin_ms / 1000.0
    return np.stack([np.histogram(np.asarray(t, float), edges)[0] for t in spike_times], axis=1)


def rebin(x, factor: int, *, how: str = "sum") -> np.ndarray:
    """Merge every `factor` samples of `x [T, n]` by sum or mean (a trailing remainder is
    dropped)."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    if how not in ("sum", "mean"):
        raise ValueError(f"how must be 'sum' or 'mean', got {how!r}")
    x = np.asarray(x)
    T = (x.shape[0] // factor) * factor
    if T == 0:
        raise ValueError(f"{x.shape[0]} samples are fewer than one bin of {factor}")
    blocks = x[:T].reshape((T // factor, factor) + x.shape[1:])
    return blocks.sum(1) if how == "sum" else np.nanmean(blocks, axis=1)


def smooth(x, sigma_ms: float, *, dt: float, causal: bool = False) -> np.ndarray:
    """Convolve `x [T, n]` along time with a Gaussian of standard deviation `sigma_ms` (time step
    `dt` ms). `causal=True` uses the half-Gaussian on past samples only, so a smoothed sample
    never depends on the future (what one-step-ahead prediction needs)."""
    if not sigma_ms > 0 or not dt > 0:
        raise ValueError("sigma_ms and dt must be positive")
    x = np.asarray(x, dtype=np.float64)
    sigma = sigma_ms / dt
    if not causal:
        return ndimage.gaussian_filter1d(x, sigma, axis=0, mode="nearest")
    lags = np.arange(int(np.ceil(4 * sigma)) + 1)
    kernel = np.exp(-0.5 * (lags / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.zeros_like(x)
    for lag, w in enumerate(kernel):
        out[lag:] += w * x[: x.shape[0] - lag]
        if lag:
            out[:lag] += w * x[:1]  # hold the first sample before the recording starts
    return out
