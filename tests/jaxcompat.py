"""JAX APIs that the tests use and that moved between the oldest supported JAX and the newest."""

import jax


def enable_x64(enabled: bool = True):
    """`jax.enable_x64` (JAX >= 0.8), or `jax.experimental.enable_x64` before it."""
    ctx = getattr(jax, "enable_x64", None)
    if ctx is None:
        from jax.experimental import enable_x64 as ctx
    return ctx(enabled)
