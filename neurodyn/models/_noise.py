"""Counter-based standard-normal draws for the network noise ξ, generated one time step at a time.

`jax.random.normal(key, [B, T, N])` costs about as much as the rest of a training step on a CPU
(the Threefry lowering on CPU is a rolled loop over the whole array, followed by an inverse-erf
transform). Here each draw is a pure function of (key, time step, trial, neuron), so the
simulation loop makes the [B, N] draws of step t inside the scan body, where XLA fuses them with
the state update and nothing of size [B, T, N] is written to memory.

For the pair (2j, 2j+1) of counters c of trial b at step t (j < P = ceil(N/2)):

    k_t    = (h(k0 ⊕ h(t + W)), h(k1 + h(t ⊕ W)))           per-step key (scalars)
    w      = h(h(c ⊕ k_t0) + k_t1),  c = 2(bP + j) + {0, 1}   two 32-bit words
    ξ      = √(−2 ln u₁) · (cos 2πu₂, sin 2πu₂)              Box–Muller, u from the top 24 bits

h is the `lowbias32` integer bijection (C. Wellons, "Hash function prospector", 2018: xor-shift /
multiply rounds with measured avalanche bias 0.17), W the 32-bit golden-ratio constant and
(k0, k1) = `jax.random.bits(key, (2,))`. Box–Muller is exact for uniform u; u₁ ∈ (0, 1] is
quantised to 2⁻²⁴, so |ξ| ≤ 5.77. sin/cos use a half-angle polynomial (error < 5e-7).
The generator is not cryptographic; tests/test_noise.py checks its moments, its distribution
(Kolmogorov–Smirnov), and the absence of correlations across steps, trials, neurons and keys.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

NOISE_RNGS = ("fast", "threefry")

_U32 = jnp.uint32
_GOLDEN = 0x9E3779B9


def _h(x):
    """lowbias32: a bijection of uint32 with good avalanche (two multiply / xor-shift rounds)."""
    x = x ^ (x >> _U32(16))
    x = x * _U32(0x21F0AAAD)
    x = x ^ (x >> _U32(15))
    x = x * _U32(0x735A2D97)
    return x ^ (x >> _U32(15))


def stream_key(key) -> jax.Array:
    """The two uint32 words that seed the noise stream of `key` (any JAX key type)."""
    return jax.random.bits(key, (2,), dtype=jnp.uint32)


def _step_key(words, t):
    t = jnp.asarray(t).astype(_U32)
    k0 = _h(words[0] ^ _h(t + _U32(_GOLDEN)))
    k1 = _h(words[1] + _h(t ^ _U32(_GOLDEN)))
    return k0, k1


def _sincos_pi(w):
    """(sin πw, cos πw) for w ∈ [−1, 1): Taylor polynomials of the half angle, no branches."""
    h = w * np.float32(np.pi / 2)
    h2 = h * h
    s = h * (1 + h2 * (-1 / 6 + h2 * (1 / 120 + h2 * (-1 / 5040 + h2 * (
        1 / 362880 - h2 / 39916800)))))
    c = 1 + h2 * (-1 / 2 + h2 * (1 / 24 + h2 * (-1 / 720 + h2 * (1 / 40320 + h2 * (
        -1 / 3628800 + h2 / 479001600)))))
    return 2 * s * c, (c - s) * (c + s)


def step_normal(words, t, n_trials: int, n_neurons: int, dtype=jnp.float32) -> jax.Array:
    """The standard-normal draws ξ[:, t, :] of shape [n_trials, n_neurons] for time step t."""
    pairs = -(-n_neurons // 2)
    k0, k1 = _step_key(words, t)
    c = 2 * (
        lax.broadcasted_iota(_U32, (n_trials, pairs), 0) * _U32(pairs)
        + lax.broadcasted_iota(_U32, (n_trials, pairs), 1)
    )
    a = _h(_h(c ^ k0) + k1)
    b = _h(_h((c + _U32(1)) ^ k0) + k1)
    # Materialise the bits once: without the barrier XLA fuses the hashes into both halves
    # of the concatenation below and computes them twice.
    a, b = lax.optimization_barrier((a, b))
    u1 = ((a >> _U32(8)).astype(jnp.float32) + 1) * np.float32(2.0**-24)  # (0, 1]
    w = (b >> _U32(8)).astype(jnp.int32).astype(jnp.float32) * np.float32(2.0**-23) - 1  # [-1, 1)
    r = jnp.sqrt(-2 * jnp.log(u1))
    sin, cos = _sincos_pi(w)
    z = jnp.concatenate([r * cos, r * sin], axis=-1)
    return z[:, :n_neurons].astype(dtype)


def fast_normal(key, shape, dtype=jnp.float32) -> jax.Array:
    """The draws ξ that `simulate(..., key=key)` uses with `noise_rng="fast"`.

    `shape` is `(*batch, T, N)` (or `(T, N)` for one trial); trial b of the flattened batch at
    step t gets `step_normal(stream_key(key), t, ...)[b]`. Useful to reproduce a noisy run with
    `noise=fast_normal(key, shape)`, and for testing the generator.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"shape must be (*batch, time, neurons), got {shape}")
    return _fast_normal(key, shape, jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _fast_normal(key, shape, dtype):
    *batch, n_steps, n_neurons = shape
    n_trials = math.prod(batch)
    words = stream_key(key)
    steps = jax.vmap(lambda t: step_normal(words, t, n_trials, n_neurons, dtype))(
        jnp.arange(n_steps, dtype=jnp.uint32)
    )  # [T, trials, N]
    return jnp.moveaxis(steps, 0, 1).reshape(shape)
