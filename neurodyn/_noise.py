"""Counter-based standard-normal draws for the network noise ξ, generated one time step at a time
(also the tasks' input noise; it lives below both `models` and `tasks`, and imports only the
argument checks of `_validate`; public as `neurodyn.models.fast_normal`).

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
quantised to 2⁻²⁴, so |ξ| ≤ 5.77. ln, sin and cos are polynomials (errors < 1e-6; see `_log`,
`_cos_pi`): XLA's own transcendental functions cost most of the time of a step on a CPU.
The pair's cosine goes to neuron j and its sine to neuron j + P of the trial's row.
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
from jax.typing import DTypeLike

from ._typing import Key
from ._validate import ArgumentTypeError, check_int, check_key

NOISE_RNGS = ("fast", "threefry")
"""The generators a model's `noise_rng` may name: "fast" or "threefry"."""

_U32 = jnp.uint32
_GOLDEN = 0x9E3779B9


def _h(x):
    """lowbias32: a bijection of uint32 with good avalanche (two multiply / xor-shift rounds)."""
    x = x ^ (x >> _U32(16))
    x = x * _U32(0x21F0AAAD)
    x = x ^ (x >> _U32(15))
    x = x * _U32(0x735A2D97)
    return x ^ (x >> _U32(15))


# The counters c of one time step are uint32: 2 · n_trials · ceil(N/2) of them must fit.
MAX_PAIRS_PER_STEP = 2**31


def check_stream_size(n_trials: int, n_neurons: int, name: str) -> None:
    """Refuse a step of more draws than the uint32 counters address (they would wrap around
    and repeat draws); `name` is the argument that sets the number of trials."""
    pairs = -(-int(n_neurons) // 2)
    if int(n_trials) * pairs > MAX_PAIRS_PER_STEP:
        raise ValueError(
            f"{name}: {n_trials} trials of {n_neurons} neurons need {2 * n_trials * pairs} noise "
            f"draws per time step, more than the 2**32 that the noise generator "
            f"(noise_rng='fast') addresses; use fewer trials per call (at most "
            f"{MAX_PAIRS_PER_STEP // max(pairs, 1)} for {n_neurons} neurons)"
        )


def stream_key(key: Key) -> jax.Array:
    """The two uint32 words that seed the noise stream of `key` (any JAX key type)."""
    return jax.random.bits(key, (2,), dtype=jnp.uint32)


def _step_key(words, t):
    t = jnp.asarray(t).astype(_U32)
    k0 = _h(words[0] ^ _h(t + _U32(_GOLDEN)))
    k1 = _h(words[1] + _h(t ^ _U32(_GOLDEN)))
    return k0, k1


# ln(1 + f) / f on f ∈ [√½ − 1, √2 − 1): a degree-8 least-squares fit in Chebyshev nodes
# (error of f·q(f) against ln(1 + f) below 5e-8 in float64, 1e-6 absolute in float32 overall).
_LOG1P_COEFFS = tuple(np.float32(c) for c in (
    0.999999974267438, -0.4999998703228477, 0.3333418333852361, -0.2500215346095897,
    0.1995697748306432, -0.16560695991926797, 0.1494909547617099, -0.14377330568492405,
    0.08743945353550737,
))
_SQRT_HALF_BITS = 0x3F3504F3  # the float32 bits of √½


def _log(u):
    """ln u for normal positive float32 u: u = 2^e m with m ∈ [√½, √2), ln u = e ln 2 + ln m.

    Only multiplies and adds (XLA's `log` handles every special case and costs about twice
    as much on a CPU)."""
    bits = lax.bitcast_convert_type(u, jnp.int32)
    off = bits - jnp.int32(_SQRT_HALF_BITS)
    e = off >> 23
    m = lax.bitcast_convert_type(
        (off & jnp.int32(0x007FFFFF)) + jnp.int32(_SQRT_HALF_BITS), jnp.float32
    )
    f = m - 1
    acc = _LOG1P_COEFFS[-1]
    for c in _LOG1P_COEFFS[-2::-1]:
        acc = acc * f + c
    return e.astype(jnp.float32) * np.float32(math.log(2.0)) + f * acc


def _cos_pi(w):
    """cos πw for w ∈ [−1, 1): 1 − 2 sin²(πw/2), with the Taylor polynomial of the sine of the
    half angle (error < 1e-6, no branches)."""
    f32 = np.float32
    h = w * f32(np.pi / 2)
    h2 = h * h
    s = h * (1 + h2 * (f32(-1 / 6) + h2 * (f32(1 / 120) + h2 * (f32(-1 / 5040) + h2 * (
        f32(1 / 362880) - h2 * f32(1 / 39916800))))))
    return 1 - 2 * s * s


def step_normal(words: jax.Array, t: int | jax.Array, n_trials: int, n_neurons: int,
                dtype: DTypeLike = jnp.float32) -> jax.Array:
    """The standard-normal draws ξ[:, t, :] of shape [n_trials, n_neurons] for time step t."""
    pairs = -(-n_neurons // 2)
    k0, k1 = _step_key(words, t)
    c = 2 * (
        lax.broadcasted_iota(_U32, (n_trials, pairs), 0) * _U32(pairs)
        + lax.broadcasted_iota(_U32, (n_trials, pairs), 1)
    )
    a = _h(_h(c ^ k0) + k1)
    u1 = ((a >> _U32(8)).astype(jnp.int32).astype(jnp.float32) + 1) * np.float32(2.0**-24)
    r = jnp.sqrt(-2 * _log(u1))  # (0, 1] -> [0, 5.77]
    # Row [cos πw_j for the pairs j | sin πw_j for the pairs j], all as cosines: sin πw =
    # cos π(w − ½). One elementwise expression over the whole row, so that XLA computes every
    # polynomial once (a concatenation of a cosine half and a sine half makes it evaluate the
    # shared half-angle polynomials twice).
    j = lax.broadcasted_iota(_U32, (n_trials, 2 * pairs), 1)
    second = j >= _U32(pairs)
    pair = jnp.where(second, j - _U32(pairs), j)
    cb = 2 * (lax.broadcasted_iota(_U32, (n_trials, 2 * pairs), 0) * _U32(pairs) + pair) + 1
    b = _h(_h(cb ^ k0) + k1)
    w = (b >> _U32(8)).astype(jnp.int32).astype(jnp.float32) * np.float32(2.0**-23) - 1
    shifted = w - np.float32(0.5)  # exact in float32
    w = jnp.where(second, jnp.where(shifted < -1, shifted + 2, shifted), w)
    z = jnp.concatenate([r, r], axis=-1) * _cos_pi(w)
    return z[:, :n_neurons].astype(dtype)


def fast_normal(key: Key, shape: tuple[int, ...], dtype: DTypeLike = jnp.float32
                ) -> jax.Array:
    """The draws ξ that `simulate(..., key=key)` uses with `noise_rng="fast"`.

    `shape` is `(*batch, T, N)` (or `(T, N)` for one trial); trial b of the flattened batch at
    step t gets `step_normal(stream_key(key), t, ...)[b]`. Useful to reproduce a noisy run with
    `noise=fast_normal(key, shape)`, and for testing the generator.
    """
    key = check_key(key, "key")
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise ArgumentTypeError(
            f"shape must be a tuple (*batch, time, neurons) of at least two sizes, got {shape!r}"
        )
    shape = tuple(check_int(s, "shape", low=0) for s in shape)
    check_stream_size(math.prod(shape[:-2]), shape[-1], "shape")
    try:
        kind = None if dtype is None else jnp.dtype(dtype)
    except TypeError:
        kind = None
    if kind is None or not jnp.issubdtype(kind, jnp.floating):
        raise ArgumentTypeError(f"dtype must be a floating-point dtype, got {dtype!r}")
    return _fast_normal(key, shape, kind)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _fast_normal(key, shape, dtype):
    *batch, n_steps, n_neurons = shape
    n_trials = math.prod(batch)
    words = stream_key(key)
    steps = jax.vmap(lambda t: step_normal(words, t, n_trials, n_neurons, dtype))(
        jnp.arange(n_steps, dtype=jnp.uint32)
    )  # [T, trials, N]
    return jnp.moveaxis(steps, 0, 1).reshape(shape)
