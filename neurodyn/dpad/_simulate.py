"""Random ground-truth models in the design of Sani et al. (2021), Nat. Neurosci., for tests and
benchmarks: behaviour-relevant latents x1 (seen in y and z), behaviour-irrelevant latents x2 (in y
only) and a behaviour-only process x3 (in z only, never in y)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import linalg

from .._typing import Key
from .._validate import ArgumentTypeError, check_array, check_int, check_number
from ._checks import check_sizes
from ._ssm import LinearSSM, numpy_rng


def _stable_block(rng, n: int, radius: tuple[float, float]) -> np.ndarray:
    """A random real n×n matrix with eigenvalue moduli in `radius` (complex pairs and reals)."""
    blocks = []
    left = n
    while left > 0:
        r = rng.uniform(*radius)
        if left >= 2 and rng.random() < 0.5:
            theta = rng.uniform(0.05, np.pi / 2)
            blocks.append(r * np.array([[np.cos(theta), -np.sin(theta)],
                                        [np.sin(theta), np.cos(theta)]]))
            left -= 2
        else:
            blocks.append(np.array([[r * rng.choice([-1.0, 1.0], p=[0.2, 0.8])]]))
            left -= 1
    D = linalg.block_diag(*blocks)
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return U @ D @ U.T


def _check_radius(radius) -> tuple[float, float]:
    if not isinstance(radius, (tuple, list)) or len(radius) != 2:
        raise ArgumentTypeError(f"radius must be a pair (low, high) of eigenvalue moduli, got "
                                f"{radius!r}")
    low = check_number(radius[0], "radius[0]", low=0, high=1, high_open=True)
    high = check_number(radius[1], "radius[1]", low=0, high=1, high_open=True)
    if low > high:
        raise ValueError(f"radius must be (low, high) with low <= high, got {tuple(radius)}")
    return low, high


def _random_pd(rng, n: int, scale: float) -> np.ndarray:
    M = rng.standard_normal((n, n))
    return scale * (M @ M.T / n + 0.5 * np.eye(n))


def random_ssm(
    *,
    key: Key,
    nx: int = 4,
    n1: int = 2,
    ny: int = 5,
    nz: int = 2,
    n_behaviour_only: int = 2,
    radius: tuple[float, float] = (0.6, 0.95),
    neural_noise: float = 1.0,
    behaviour_noise: float = 0.1,
) -> LinearSSM:
    """A random stable `LinearSSM` with states [x1 (n1), x2 (nx − n1), x3 (n_behaviour_only)].

        A = blockdiag(A11, A22, A33),   Cy = [Cy1, Cy2, 0],   Cz = [Cz1, 0, Cz3]

    Only the first nx states drive y; x3 adds behaviour variance that no neural model can predict.
    """
    rng = numpy_rng(key)
    nx, n1 = check_sizes(nx, n1)
    ny = check_int(ny, "ny")
    nz = check_int(nz, "nz")
    n_behaviour_only = check_int(n_behaviour_only, "n_behaviour_only", low=0)
    radius = _check_radius(radius)
    neural_noise = check_number(neural_noise, "neural_noise", low=0, low_open=True)
    behaviour_noise = check_number(behaviour_noise, "behaviour_noise", low=0)
    n2, n3 = nx - n1, n_behaviour_only
    sizes = [s for s in (n1, n2, n3) if s > 0]
    A = linalg.block_diag(*[_stable_block(rng, s, radius) for s in sizes])
    Q = linalg.block_diag(*[_random_pd(rng, s, 1.0) for s in sizes])
    n_all = n1 + n2 + n3
    Cy = np.zeros((ny, n_all))
    Cy[:, :nx] = rng.standard_normal((ny, nx))
    Cz = np.zeros((nz, n_all))
    Cz[:, :n1] = rng.standard_normal((nz, n1))
    Cz[:, nx:] = rng.standard_normal((nz, n3))
    R = _random_pd(rng, ny, neural_noise)
    S = np.zeros((n_all, ny))
    return LinearSSM(A=A, Cy=Cy, Cz=Cz, Q=Q, R=R, S=S,
                     z_noise=behaviour_noise * np.eye(nz))


def gauss_hermite_mean(fn: Callable[[np.ndarray], np.ndarray], mean: np.ndarray,
                       var: float | np.ndarray, order: int = 40) -> np.ndarray:
    """E[fn(x)] for Gaussian x, elementwise, by Gauss–Hermite quadrature.

    E[fn(x)] for x ~ N(mean, var) elementwise (mean and var broadcast), by Gauss–Hermite
    quadrature of `order` nodes (exact for polynomials of degree < 2·order)."""
    if not callable(fn):
        raise ArgumentTypeError(f"fn must be a function of an array, got {type(fn).__name__}")
    order = check_int(order, "order")
    mean = np.asarray(check_array(mean, "mean"), dtype=np.float64)
    var = np.asarray(check_array(var, "var"), dtype=np.float64)
    if np.any(var < 0):
        raise ValueError("var must be >= 0 (a variance)")
    try:
        mean, var = np.broadcast_arrays(mean, var)
    except ValueError:
        raise ValueError(f"mean {mean.shape} and var {var.shape} do not broadcast") from None
    t, w = np.polynomial.hermite.hermgauss(order)
    mean = mean[..., None]
    std = np.sqrt(2.0 * var)[..., None]
    x = mean + std * t
    return (fn(x) * w).sum(-1) / np.sqrt(np.pi)
