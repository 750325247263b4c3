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
