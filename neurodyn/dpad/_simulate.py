"""Random ground-truth models in the design of Sani et al. (2021), Nat. Neurosci., for tests and
benchmarks: behaviour-relevant latents x1 (seen in y and z), behaviour-irrelevant latents x2 (in y
only) and a behaviour-only process x3 (in z only, never in y)."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ._ssm import LinearSSM, _seed


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


def _random_pd(rng, n: int, scale: float) -> np.ndarray:
    M = rng.standard_normal((n, n))
    return scale * (M @ M.T / n + 0.5 * np.eye(n))


def random_ssm(
    *,
    key,
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
    rng = np.random.default_rng(_seed(key))
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


def gauss_hermite_mean(fn, mean: np.ndarray, var: float | np.ndarray, order: int = 40):
    """E[fn(x)] for x ~ N(mean, var) elementwise (mean and var broadcast), by Gauss–Hermite
    quadrature of `order` nodes (exact for polynomials of degree < 2·order)."""
    t, w = np.polynomial.hermite.hermgauss(order)
    mean = np.asarray(mean, dtype=np.float64)[..., None]
    std = np.sqrt(2.0 * np.asarray(var, dtype=np.float64))[..., None]
    x = mean + std * t
    return (fn(x) * w).sum(-1) / np.sqrt(np.pi)
