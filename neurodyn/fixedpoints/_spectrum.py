"""The order of eigenmodes shared by the dense and the low-rank eigen-decompositions."""

from __future__ import annotations

import numpy as np


def mode_order(lam: np.ndarray, dynamics: str) -> np.ndarray:
    """Indices that sort `lam [..., N]` least stable first (largest |λ| for a map, largest Re λ
    for a vector field); ties (complex pairs) are broken by the imaginary part, + before −."""
    primary = np.abs(lam) if dynamics == "discrete" else lam.real
    return np.lexsort((-lam.imag, -primary), axis=-1)
