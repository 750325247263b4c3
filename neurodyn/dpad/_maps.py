"""The parameter maps of a DPAD model (A, K, Cy, Cz): linear, or linear plus a gated MLP.

    f(x) = W x + b + g · MLP(x),        g ∈ {0, 1} fixed (not trained)

A linear map has no MLP. A nonlinear map is an MLP with a linear skip connection (at least as
expressive as the plain MLP of Sani et al. 2024, and equal to the linear map at MLP ≡ 0). The gate g
is an array, not a static flag, so candidate models that differ only in where the nonlinearity sits
share one pytree structure and train together under `vmap` (see `DPAD.search`).

Initial parameters are drawn with NumPy (no compilation) and stacked for the vmapped training.
"""

from __future__ import annotations

from typing import TypeVar

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, ArrayLike, Float

T = TypeVar("T")


class MLP(eqx.Module):
    """x ↦ W_L φ(… φ(W_1 x + b_1) …) + b_L with φ = ReLU (DPAD's default activation)."""

    # NumPy arrays when built by `random`, JAX arrays once trained; candidates fitted together
    # are stacked along a leading axis. Layer sizes differ, so they are not named.
    weights: tuple[Float[ArrayLike, "*stack _ _"], ...]
    biases: tuple[Float[ArrayLike, "*stack _"], ...]

    @classmethod
    def random(
        cls, n_in: int, n_out: int, hidden: tuple[int, ...], rng: np.random.Generator
    ) -> MLP:
        sizes = (n_in, *hidden, n_out)
        weights, biases = [], []
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(a)  # PyTorch/equinox default (uniform ± 1/√fan_in)
            weights.append(rng.uniform(-bound, bound, (b, a)).astype(np.float32))
            biases.append(rng.uniform(-bound, bound, (b,)).astype(np.float32))
        weights[-1] = weights[-1] * 0.1  # start the nonlinear part near zero
        return cls(tuple(weights), tuple(biases))

    def __call__(self, x: Float[Array, " n_in"]) -> Float[Array, " n_out"]:
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            x = jax.nn.relu(w @ x + b)
        return self.weights[-1] @ x + self.biases[-1]


class Map(eqx.Module):
    """f(x) = W x + b + g · MLP(x); `mlp` is None for a purely linear map."""

    # NumPy arrays when built by `random`, JAX arrays once trained; candidates fitted together
    # are stacked along a leading axis.
    weight: Float[ArrayLike, "*stack n_out n_in"]
    bias: Float[ArrayLike, "*stack n_out"]
    mlp: MLP | None
    gate: Float[ArrayLike, "*stack"]

    @classmethod
    def random(
        cls,
        n_in: int,
        n_out: int,
        hidden: tuple[int, ...] | None,
        rng: np.random.Generator,
        *,
        gate: float | np.floating = 1.0,
        weight_scale: float | None = None,
        recurrent: bool = False,
    ) -> Map:
        if recurrent:  # spectral radius about 0.5: a stable start for the state recursion
            weight = 0.5 * rng.standard_normal((n_out, n_out)) / np.sqrt(n_out)
            # Inputs beyond the state (measured inputs u of A(x, u)) start with zero weight.
            weight = np.concatenate([weight, np.zeros((n_out, n_in - n_out))], axis=1)
        else:
            scale = np.sqrt(1.0 / max(n_in, 1)) if weight_scale is None else weight_scale
            weight = scale * rng.standard_normal((n_out, n_in))
        mlp = None if hidden is None else MLP.random(n_in, n_out, tuple(hidden), rng)
        return cls(weight.astype(np.float32), np.zeros(n_out, np.float32), mlp,
                   np.asarray(gate, np.float32))

    def __call__(self, x: Float[Array, " n_in"]) -> Float[Array, " n_out"]:
        out = self.weight @ x + self.bias
        if self.mlp is not None:
            out = out + jax.lax.stop_gradient(self.gate) * self.mlp(x)
        return out


def stack(modules: list[T]) -> T:
    """Stack a list of same-structure modules along a new leading axis (NumPy leaves)."""
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *modules)
