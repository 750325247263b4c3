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
"""The single-neuron nonlinearities φ a model's `nonlinearity` may name."""


def get_nonlinearity(name: str) -> Callable[[jax.Array], jax.Array]:
    """Look up φ by name, with an error that lists the known names."""
    if not isinstance(name, str) or name not in NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {sorted(NONLINEARITIES)}, got {name!r}"
        )
    return NONLINEARITIES[name]


# φ'(x) from the rates r = φ(x) alone (so the reverse pass of `simulate` keeps only the rates,
# not the states); a nonlinearity missing here falls back to autodiff of φ at x.
RATE_DERIVATIVES: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": lambda r: 1 - r * r,
    "relu": lambda r: (r > 0).astype(r.dtype),
    "softplus": lambda r: -jnp.expm1(-r),  # σ(x) = 1 − e^{−softplus(x)}
    "sigmoid": lambda r: r * (1 - r),
    "identity": lambda r: jnp.ones_like(r),
}


def get_derivative(name: str) -> Callable[[jax.Array | None, jax.Array], jax.Array]:
    """φ' as a function of (x, φ(x)); x may be None for the names in `RATE_DERIVATIVES`."""
    if name in RATE_DERIVATIVES:
        from_rates = RATE_DERIVATIVES[name]
        return lambda x, r: from_rates(r)
    phi = get_nonlinearity(name)
    return lambda x, r: jax.jvp(phi, (x,), (jnp.ones_like(x),))[1]
