"""Building blocks shared by the task classes: compilation, random draws, validation, grids,
target layouts and scoring (epochs and the trial builder are in `_epochs.py`).

Everything here is either plain validation (run once, in a constructor) or a pure, batched
JAX function; none of it loops over trials or time steps in Python.
"""

from __future__ import annotations

import functools
import itertools
import weakref

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._noise import fast_normal
from .._validate import ArgumentTypeError, check_choice, check_int, check_key, check_number
from ._trials import Trials

# ---------------------------------------------------------------------------------------------
# Compilation


@eqx.filter_jit
def _call(fn, *args, **kwargs):
    return fn(*args, **kwargs)


def jitted(method):
    """Compile a task method once per task configuration and static argument (batch size):
    arrays are traced, everything else (the task, ints, floats) is static. Calls from inside
    an outer `jit` simply inline. The wrapped method stays a plain method, so
    `jax.jit(task.sample, static_argnums=1)` and `jax.jit(task.evaluate)` work as well."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return _call(method, *args, **kwargs)

    return wrapper


def keyed(method):
    """`jitted` for a method whose first argument is a PRNG key (`trials_from_conditions`):
    the key is checked before anything is traced."""

    @functools.wraps(method)
    def wrapper(self, key, *args, **kwargs):
        return _call(method, self, check_key(key, "key"), *args, **kwargs)

    return wrapper


def evaluator(method):
    """`jitted` for `evaluate(self, outputs, trials)`: the arguments are checked eagerly
    (`AbstractTask._check_outputs`: a `Trials` batch, outputs of its targets' shape, no NaN
    or Inf). Outputs traced under an outer `jit` cannot be checked for their values; there a
    trial whose outputs are not all finite is never `correct` and `accuracy` is NaN, so that a
    diverged network is not scored as a chance-level one."""

    @functools.wraps(method)
    def wrapper(self, outputs, trials):
        outputs = self._check_outputs(outputs, trials)
        return _call(_score_finite, method, self, outputs, trials)

    return wrapper


def _score_finite(method, task, outputs, trials) -> dict:
    score = dict(method(task, outputs, trials))
    finite = jnp.all(jnp.isfinite(outputs), axis=(1, 2))
    score["correct"] = score["correct"] & finite
    score["accuracy"] = jnp.where(jnp.all(finite), score["accuracy"], jnp.nan)
    return score


def sampler(method):
    """Compile `sample(self, key, batch_size, *arrays)` as a `jax.jit` of the key (and arrays),
    one program per task configuration and batch size (equal tasks share it).

    A call checks `batch_size`, finds the compiled function by the task's identity (a dict
    look-up; the task's hash, which walks its fields, only on the first call of an instance)
    and calls it: no argument filtering or pytree flattening of the task on every call, which
    `eqx.filter_jit` does and which costs about as much as drawing a batch of a thousand
    trials. Under an outer `jit` or `vmap` the compiled function simply traces inline."""

    @functools.wraps(method)
    def wrapper(self, key, batch_size, *arrays):
        key = check_key(key, "key")
        batch_size = self._check_batch_size(batch_size)
        try:
            fn = _compiled(self, method, batch_size)
        except TypeError:  # a task with array (unhashable) fields: filter them as `jitted`
            return _call(method, self, key, batch_size, *arrays)
        return fn(key, *arrays)

    return wrapper


_BY_CONFIG: dict = {}  # (task, method, batch size) -> jitted function of the key
_BY_ID: dict = {}  # (id(task), method, batch size) -> (weakref to the task, that function)


def _compiled(task, method, batch_size: int):
    fast = (id(task), method, batch_size)
    hit = _BY_ID.get(fast)
    if hit is not None and hit[0]() is task:
        return hit[1]
    shared = (task, method, batch_size)
    fn = _BY_CONFIG.get(shared)
    if fn is None:
        fn = _BY_CONFIG[shared] = jax.jit(
            lambda key, *arrays: method(task, key, batch_size, *arrays)
        )
    _BY_ID[fast] = (weakref.ref(task, lambda _, k=fast, d=_BY_ID: d.pop(k, None)), fn)
    return fn


# ---------------------------------------------------------------------------------------------
# Random draws. Drawn flat and reshaped: XLA compiles JAX's partitionable threefry for a
# rank-3 shape several times slower than for a flat one (seconds on a CPU), same numbers' law.


def normal(key, shape):
    """Standard normal draws of `shape`, float32, from the counter-based generator that the
    models' noise uses too (`neurodyn/_noise.py`, public as `neurodyn.models.fast_normal`):
    several times faster than `jax.random.normal` on a CPU, and tested for its moments, law
    and independence in tests/test_noise.py."""
    return fast_normal(key, (1, int(np.prod(shape)))).reshape(shape)


def bernoulli(key, p, shape):
    """Bernoulli(p) draws of `shape`, bool."""
    return jax.random.bernoulli(key, p, (int(np.prod(shape)),)).reshape(shape)


def uniforms(key, n: int, batch: int):
    """`[n, B]` uniforms in [0, 1): one draw for all of a batch's per-trial scalars (each
    separate `jax.random` call costs its own compiled kernel)."""
    return jax.random.uniform(key, (n * batch,)).reshape(n, batch)


def choose(u, values, dtype=jnp.float32):
    """Uniform choice among `values` (a tuple) from uniforms `u [B]`."""
    v = jnp.asarray(values, dtype=dtype)
    idx = jnp.minimum((u * v.shape[0]).astype(jnp.int32), v.shape[0] - 1)
    return v[idx]


def integers(u, lo: int, hi: int):
    """Uniform integers in [lo, hi] (inclusive) from uniforms `u [B]`."""
    n = hi - lo + 1
    return lo + jnp.minimum((u * n).astype(jnp.int32), n - 1)


def signs(u):
    """±1 with probability 1/2 each, from uniforms `u [B]`."""
    return jnp.where(u < 0.5, 1.0, -1.0)


# ---------------------------------------------------------------------------------------------
# Configuration


def resolve(presets: dict, preset: str, given: dict) -> dict:
    """The preset's settings overridden by every keyword that is not None."""
    check_choice(preset, "preset", sorted(presets))
    cfg = {**presets[preset], **{k: v for k, v in given.items() if v is not None}}
    cfg["dt"] = check_number(cfg["dt"], "dt", low=0, low_open=True, unit="ms")
    return cfg


def check_values(values, name: str, *, low=None, high=None, nonzero=False) -> tuple[float, ...]:
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
# Windows


def window(bounds, n_steps: int):
    """1.0 where start <= t < stop, `[B, T]` float32, for `bounds [B, 2]`."""
    t = jnp.arange(n_steps, dtype=jnp.int32)[None, :]
    return ((t >= bounds[:, :1]) & (t < bounds[:, 1:2])).astype(jnp.float32)


# ---------------------------------------------------------------------------------------------
# Grids of conditions


def grid(repeats: int, **values) -> dict[str, np.ndarray]:
    """Cartesian product of the given value lists, each combination `repeats` times, in order."""
    repeats = check_int(repeats, "repeats")
    names = list(values)
    combos = list(itertools.product(*[list(np.atleast_1d(values[n])) for n in names]))
    out = {n: np.asarray([c[i] for c in combos]) for i, n in enumerate(names)}
    return {n: np.repeat(v, repeats) for n, v in out.items()}


def as_batch(x, name: str, dtype=jnp.float32):
    x = jnp.asarray(x, dtype=dtype)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array [batch], got shape {x.shape}")
    return x


def as_batches(**arrays):
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


def make_trials(inputs, targets, mask, conditions, epochs, dt) -> Trials:
    return Trials(
        inputs=inputs.astype(jnp.float32),
        targets=targets.astype(jnp.float32),
        mask=mask.astype(jnp.float32),
        conditions=conditions,
        epochs={k: v.astype(jnp.int32) for k, v in epochs.items()},
        dt=dt,
    )


# ---------------------------------------------------------------------------------------------
# Target layouts and scoring


def scalar_targets(value, win):
    """Target `value [B]` inside `win [B, T]`, zero elsewhere; mask = win. Both `[B, T, 1]`."""
    targets = value[:, None, None] * win[:, :, None]
    return targets, win[:, :, None]


def onehot_targets(label_in_win, win, valid, n_outputs: int):
    """NeuroGym-style targets: the one-hot of `label_in_win [B]` (a choice unit, >= 1) inside
    `win`, of unit 0 (fixation) elsewhere; mask = 1 on every step of the trial (`valid`)."""
    label = jnp.where(win > 0, label_in_win[:, None], 0).astype(jnp.int32)
    targets = jax.nn.one_hot(label, n_outputs, dtype=jnp.float32)
    mask = jnp.broadcast_to(valid[:, :, None], targets.shape)
    return targets * mask, mask


def window_mean(x, win):
    """Mean of `x [B, T]` over `win [B, T]`, per trial."""
    return jnp.sum(x * win, axis=1) / jnp.maximum(jnp.sum(win, axis=1), 1.0)


def score_sign(outputs, win, target) -> dict:
    """Choice = sign of the mean output (unit 0) over the decision window; correct if it is the
    sign of the target (the accuracy of Dubreuil et al. 2022)."""
    mean = window_mean(outputs[:, :, 0], win)
    choice = jnp.where(mean >= 0, 1.0, -1.0)
    correct = choice == jnp.sign(target)
    return {"accuracy": jnp.mean(correct), "choice": choice, "correct": correct}


def score_onehot(outputs, win, label) -> dict:
    """Choice = the choice unit (1..n) with the largest mean output over the decision window;
    "no_response" when the fixation unit (0) stays above every choice unit there."""
    means = jnp.sum(outputs * win[:, :, None], axis=1) / jnp.maximum(
        jnp.sum(win, axis=1, keepdims=True), 1.0
    )
    choice = jnp.argmax(means[:, 1:], axis=1) + 1
    no_response = means[:, 0] > jnp.max(means[:, 1:], axis=1)
    correct = (choice == label) & ~no_response
    return {
        "accuracy": jnp.mean(correct),
        "choice": choice,
        "correct": correct,
        "no_response": no_response,
    }

