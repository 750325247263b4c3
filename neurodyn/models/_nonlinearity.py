"""Named nonlinearities φ. Stored by name so that checkpoints stay plain JSON."""

from collections.abc import Callable

import jax
import jax.numpy as jnp

NONLINEARITIES: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "sigmoid": jax.nn.sigmoid,
    "identity": lambda x: x,
}


def get_nonlinearity(name: str) -> Callable[[jax.Array], jax.Array]:
    """Look up φ by name, with an error that lists the known names."""
    if not isinstance(name, str) or name not in NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {sorted(NONLINEARITIES)}, got {name!r}"
        )
    return NONLINEARITIES[name]


# φ'(x) written with the rates r = φ(x) that the simulation has already computed (the reverse
# pass of `simulate` uses these; other names fall back to automatic differentiation).
DERIVATIVES: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "tanh": lambda x, r: 1 - r * r,
    "relu": lambda x, r: (x > 0).astype(x.dtype),
    "softplus": lambda x, r: jax.nn.sigmoid(x),
    "sigmoid": lambda x, r: r * (1 - r),
    "identity": lambda x, r: jnp.ones_like(x),
}


# φ'(x) from the rates alone, for the nonlinearities where r = φ(x) determines it (then the
# reverse pass of `simulate` keeps only the rates, not the states).
RATE_DERIVATIVES: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": lambda r: 1 - r * r,
    "relu": lambda r: (r > 0).astype(r.dtype),
    "softplus": lambda r: -jnp.expm1(-r),  # σ(x) = 1 − e^{−softplus(x)}
    "sigmoid": lambda r: r * (1 - r),
    "identity": lambda r: jnp.ones_like(r),
}


def get_derivative(name: str) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """φ' as a function of (x, φ(x))."""
    if name in DERIVATIVES:
        return DERIVATIVES[name]
    phi = get_nonlinearity(name)
    return lambda x, r: jax.jvp(phi, (x,), (jnp.ones_like(x),))[1]
