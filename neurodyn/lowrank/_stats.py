"""Connectivity statistics of low-rank networks: per-neuron loadings and overlaps.

Every neuron i of a LowRankRNN is a point in loading space: (m_i1…m_iR, n_i1…n_iR,
I_i1…I_ik, w_i1…w_iO), with the trained gains folded in (I = W_inᵀ = (diag(g_in) w_in)ᵀ,
w = w_out diag(g_out)), so that loadings alone rebuild the network (Dubreuil et al. 2022).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Real

from .._validate import ArgumentTypeError, check_array
from ..models import LowRankRNN
from ._checks import check_lowrank


class Loadings(NamedTuple):
    """Per-neuron loadings `values [N, 2R + n_inputs + n_outputs]` with column `names`."""

    values: Float[Array, "neurons columns"]
    names: tuple[str, ...]
    rank: int
    n_inputs: int
    n_outputs: int


class Overlaps(NamedTuple):
    """The overlap matrix `matrix[a, b]` = (1/N) Σ_i a_i b_i between loading vectors `names`."""

    matrix: Float[Array, "columns columns"]
    names: tuple[str, ...]

    def between(self, a: str, b: str) -> Array:
        """The overlap of the vectors named `a` and `b`, e.g. `between("n1", "m1")`."""
        for arg, name in (("a", a), ("b", b)):
            if not isinstance(name, str):
                raise ArgumentTypeError(
                    f"{arg} must be the name of a loading vector ({', '.join(self.names)}), "
                    f"got {type(name).__name__}"
                )
            if name not in self.names:
                raise ValueError(
                    f"{arg}: unknown vector {name!r}; known: {', '.join(self.names)}"
                )
        return self.matrix[self.names.index(a), self.names.index(b)]


def column_names(rank: int, n_inputs: int, n_outputs: int) -> tuple[str, ...]:
    """m1…mR, n1…nR, in1…ink, out1…outO: the column layout of `Loadings` and mixtures."""
    return (
        tuple(f"m{r + 1}" for r in range(rank))
        + tuple(f"n{r + 1}" for r in range(rank))
        + tuple(f"in{k + 1}" for k in range(n_inputs))
        + tuple(f"out{o + 1}" for o in range(n_outputs))
    )


def loadings(model: LowRankRNN) -> Loadings:
    """Per-neuron loadings [m, n, W_inᵀ, W_out] of a LowRankRNN (gains folded in)."""
    model = check_lowrank(model)
    values = jnp.concatenate(
        [model.m, model.n, model.input_weights.T, model.readout_weights], axis=1
    )
    names = column_names(model.rank, model.n_inputs, model.n_outputs)
    return Loadings(values, names, model.rank, model.n_inputs, model.n_outputs)


def overlap_matrix(model: LowRankRNN) -> Overlaps:
    """(1/N) aᵀb between all loading vectors; its n–m block is `model.overlaps` = nᵀm/N."""
    load = loadings(model)
    return Overlaps(load.values.T @ load.values / model.n_neurons, load.names)


def effective_overlap(
    model: LowRankRNN, s: Real[ArrayLike, " latents"] | None = None
) -> Float[Array, "rank rank"]:
    """σ̃ = nᵀ diag(φ'(x)) m / N at x = Mκ + Iv (default s = 0: σ̃ = φ'(0) nᵀm/N).

    This is ∂/∂κ of the recurrent drive nᵀφ(x)/N, so the network's Jacobian at a fixed point
    x* = Mκ* + Iu has eigenvalues −1 (N − R times, in 1/τ units) and −1 + eig(σ̃): the fixed point
    is stable iff every eigenvalue of σ̃ has real part < 1. For a rank-one tanh network the
    trivial state is stable iff σ_mn = nᵀm/N < 1 (Mastrogiuseppe & Ostojic 2018).
    """
    model = check_lowrank(model)
    size = model.rank + model.n_inputs
    if s is None:
        s = jnp.zeros((size,), model.m.dtype)
    else:
        s = check_array(s, "s", to="jax")
        if s.shape != (size,):
            raise ValueError(f"s must have shape (rank + n_inputs,) = ({size},), got {s.shape}")
    basis = jnp.concatenate([model.m, model.input_weights.T], axis=1)
    x = basis @ s
    gain = jax.jvp(model.phi, (x,), (jnp.ones_like(x),))[1]
    return model.n.T @ (gain[:, None] * model.m) / model.n_neurons
