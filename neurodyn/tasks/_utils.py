"""Building blocks shared by the task classes: random draws, validation, grids of conditions
and target layouts (compilation is in `_compile.py`, scoring in `_score.py`, epochs in
`_epochs.py`).

Everything here is either plain validation (run once, in a constructor) or a pure, batched
JAX function; none of it loops over trials or time steps in Python.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int, Shaped

from .._noise import fast_normal
from .._typing import Key
from .._validate import ArgumentTypeError, check_choice, check_int, check_number
from ._trials import Trials

Numbers = ArrayLike | Sequence[float]
"""Numbers given as an array, a scalar or a list/tuple (one per trial, or a list of values)."""

# ---------------------------------------------------------------------------------------------
# Random draws. Drawn flat and reshaped: XLA compiles JAX's partitionable threefry for a
# rank-3 shape several times slower than for a flat one (seconds on a CPU), same numbers' law.


def normal(key: Key, shape: tuple[int, ...]) -> Float[Array, "*shape"]:
    """Standard normal draws of `shape`, float32, from the counter-based generator that the
    models' noise uses too (`neurodyn/_noise.py`, public as `neurodyn.models.fast_normal`):
    several times faster than `jax.random.normal` on a CPU, and tested for its moments, law
    and independence in tests/test_noise.py."""
    return fast_normal(key, (1, int(np.prod(shape)))).reshape(shape)


def bernoulli(key: Key, p: float, shape: tuple[int, ...]) -> Bool[Array, "*shape"]:
    """Bernoulli(p) draws of `shape`, bool."""
    return jax.random.bernoulli(key, p, (int(np.prod(shape)),)).reshape(shape)


def uniforms(key: Key, n: int, batch: int) -> Float[Array, "n batch"]:
    """`[n, B]` uniforms in [0, 1): one draw for all of a batch's per-trial scalars (each
    separate `jax.random` call costs its own compiled kernel)."""
    return jax.random.uniform(key, (n * batch,)).reshape(n, batch)


def choose(
    u: Float[Array, " batch"], values: tuple[float, ...], dtype: Any = jnp.float32
) -> Shaped[Array, " batch"]:
    """Uniform choice among `values` (a tuple) from uniforms `u [B]`."""
    v = jnp.asarray(values, dtype=dtype)
    idx = jnp.minimum((u * v.shape[0]).astype(jnp.int32), v.shape[0] - 1)
    return v[idx]


def integers(u: Float[Array, " batch"], lo: int, hi: int) -> Int[Array, " batch"]:
    """Uniform integers in [lo, hi] (inclusive) from uniforms `u [B]`."""
    n = hi - lo + 1
    return lo + jnp.minimum((u * n).astype(jnp.int32), n - 1)


def signs(u: Float[Array, " batch"]) -> Float[Array, " batch"]:
    """±1 with probability 1/2 each, from uniforms `u [B]`."""
    return jnp.where(u < 0.5, 1.0, -1.0)


# ---------------------------------------------------------------------------------------------
# Configuration


def resolve(presets: dict[str, dict], preset: str, given: dict[str, Any]) -> dict[str, Any]:
    """The preset's settings overridden by every keyword that is not None."""
    check_choice(preset, "preset", sorted(presets))
    cfg = {**presets[preset], **{k: v for k, v in given.items() if v is not None}}
    cfg["dt"] = check_number(cfg["dt"], "dt", low=0, low_open=True, unit="ms")
    return cfg


def check_values(
    values: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    nonzero: bool = False,
) -> tuple[float, ...]:
    """A non-empty tuple of finite floats within [low, high] (and != 0 with nonzero)."""
    if isinstance(values, (str, bytes, dict)) or values is None:
        raise ArgumentTypeError(f"{name} must be a list of numbers, got {values!r}")
    try:
        kind = np.asarray(values).dtype.kind
    except (TypeError, ValueError):  # ragged nesting
        kind = "O"
    if kind not in "iuf":
        raise ArgumentTypeError(f"{name} must be a list of numbers, got {values!r}")
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64)).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a non-empty list of finite numbers, got {values!r}")
    if (low is not None and np.any(arr < low)) or (high is not None and np.any(arr > high)):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {tuple(arr.tolist())}")
    if nonzero and np.any(arr == 0):
        raise ValueError(f"{name} must not contain 0 (its sign sets the answer), got {values!r}")
    return tuple(float(v) for v in arr)


# ---------------------------------------------------------------------------------------------
# Grids of conditions


def grid(repeats: int, **values: Numbers) -> dict[str, np.ndarray]:
    """Cartesian product of the given value lists, each combination `repeats` times, in order."""
    repeats = check_int(repeats, "repeats")
    names = list(values)
    combos = list(itertools.product(*[list(np.atleast_1d(values[n])) for n in names]))
    out = {n: np.asarray([c[i] for c in combos]) for i, n in enumerate(names)}
    return {n: np.repeat(v, repeats) for n, v in out.items()}


def as_batch(x: Any, name: str, dtype: Any = jnp.float32) -> Shaped[Array, " batch"]:
    """`x` as a 1-D array `[batch]` of `dtype`; a `ValueError` naming `name` otherwise."""
    x = jnp.asarray(x, dtype=dtype)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array [batch], got shape {x.shape}")
    return x


def as_batches(**arrays: Any) -> tuple[Shaped[Array, " batch"], ...]:
    """Validate per-trial arguments: each `name=x` or `name=(x, dtype)` (default float32)
    becomes a 1-D array, all of one length; returned in the order given."""
    out = []
    for name, v in arrays.items():
        x, dtype = v if isinstance(v, tuple) else (v, jnp.float32)
        out.append(as_batch(x, name, dtype))
    if len({x.shape[0] for x in out}) > 1:
        names = list(arrays)
        raise ValueError(
            f"{', '.join(names[:-1])} and {names[-1]} must have the same length, got "
            f"{[x.shape[0] for x in out]}"
        )
    return tuple(out)


def make_trials(
    inputs: Float[Array, "batch time inputs"],
    targets: Float[Array, "batch time outputs"],
    mask: Float[Array, "batch time outputs"],
    conditions: dict[str, Array],
    epochs: dict[str, Shaped[Array, "batch 2"]],
    dt: float,
) -> Trials:
    """A `Trials` batch, in the dtypes it always holds (float32 arrays, int32 epochs)."""
    return Trials(
        inputs=inputs.astype(jnp.float32),
        targets=targets.astype(jnp.float32),
        mask=mask.astype(jnp.float32),
        conditions=conditions,
        epochs={k: v.astype(jnp.int32) for k, v in epochs.items()},
        dt=dt,
    )


# ---------------------------------------------------------------------------------------------
# Target layouts


def scalar_targets(
    value: Float[Array, " batch"], win: Float[Array, "batch time"]
) -> tuple[Float[Array, "batch time 1"], Float[Array, "batch time 1"]]:
    """Target `value [B]` inside `win [B, T]`, zero elsewhere; mask = win. Both `[B, T, 1]`."""
    targets = value[:, None, None] * win[:, :, None]
    return targets, win[:, :, None]


def onehot_targets(
    label_in_win: Int[Array, " batch"],
    win: Float[Array, "#batch time"],
    valid: Float[Array, "#batch time"],
    n_outputs: int,
) -> tuple[Float[Array, "batch time outputs"], Float[Array, "batch time outputs"]]:
    """NeuroGym-style targets: the one-hot of `label_in_win [B]` (a choice unit, >= 1) inside
    `win`, of unit 0 (fixation) elsewhere; mask = 1 on every step of the trial (`valid`)."""
    label = jnp.where(win > 0, label_in_win[:, None], 0).astype(jnp.int32)
    targets = jax.nn.one_hot(label, n_outputs, dtype=jnp.float32)
    mask = jnp.broadcast_to(valid[:, :, None], targets.shape)
    return targets * mask, mask
