"""Building blocks shared by the task classes: presets, epoch durations, windows, grids, scoring.

Everything here is either plain validation (run once, in a constructor) or a pure, batched
JAX function; none of it loops over trials or time steps in Python.
"""

from __future__ import annotations

import functools
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._base import AbstractTask, steps
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


# ---------------------------------------------------------------------------------------------
# Random draws. Drawn flat and reshaped: XLA compiles JAX's partitionable threefry for a
# rank-3 shape several times slower than for a flat one (seconds on a CPU), same numbers' law.


def normal(key, shape):
    """Standard normal draws of `shape`, float32."""
    return jax.random.normal(key, (int(np.prod(shape)),)).reshape(shape)


def bernoulli(key, p, shape):
    """Bernoulli(p) draws of `shape`, bool."""
    return jax.random.bernoulli(key, p, (int(np.prod(shape)),)).reshape(shape)


def epoch_noise(key, bounds, longest: int, n_steps: int, n: int):
    """Standard normal noise `[B, T, n]` inside one epoch (`bounds [B, 2]`, at most `longest`
    steps) and zero elsewhere, drawing only `longest` steps per trial instead of `T`."""
    batch = bounds.shape[0]
    draws = normal(key, (batch, max(longest, 1), n))
    t = jnp.arange(n_steps, dtype=jnp.int32)[None, :]
    idx = jnp.clip(t - bounds[:, :1], 0, max(longest, 1) - 1)
    inside = ((t >= bounds[:, :1]) & (t < bounds[:, 1:2]))[:, :, None]
    return jnp.take_along_axis(draws, idx[:, :, None], axis=1) * inside


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
    if preset not in presets:
        raise ValueError(f"preset must be one of {sorted(presets)}, got {preset!r}")
    cfg = {**presets[preset], **{k: v for k, v in given.items() if v is not None}}
    dt = cfg["dt"]
    if (
        isinstance(dt, bool)
        or not isinstance(dt, (int, float, np.number))
        or not (np.isfinite(dt) and dt > 0)
    ):
        raise ValueError(f"dt must be a positive number (ms), got {dt!r}")
    cfg["dt"] = float(dt)
    return cfg


def check_number(value, name: str, *, low=None, high=None, low_open=False) -> float:
    """A finite float in [low, high] (or (low, high] with low_open)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return v


def check_int(value, name: str, *, low: int = 1) -> int:
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or (value < low)
    ):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_values(values, name: str, *, low=None, high=None, nonzero=False) -> tuple[float, ...]:
    """A non-empty tuple of finite floats within [low, high] (and != 0 with nonzero)."""
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64)).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a non-empty list of finite numbers, got {values!r}")
    if (low is not None and np.any(arr < low)) or (high is not None and np.any(arr > high)):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {tuple(arr.tolist())}")
    if nonzero and np.any(arr == 0):
        raise ValueError(f"{name} must not contain 0 (its sign sets the answer), got {values!r}")
    return tuple(float(v) for v in arr)


# ---------------------------------------------------------------------------------------------
# Epoch durations: a number (fixed, ms), (lo, hi) or ("uniform", lo, hi) (uniform over the
# multiples of dt in [lo, hi]), ("choice", (v1, v2, ...)), or ("truncexp", mean, lo, hi)
# (exponential of that mean conditioned on [lo, hi), floored to dt, as NeuroGym's TruncExp).


def normalize_duration(spec, dt: float, name: str):
    """Validate a duration spec; fixed durations come back as a float, others as a tuple."""
    if isinstance(spec, (int, float, np.number)) and not isinstance(spec, bool):
        steps(float(spec), dt, name)
        return float(spec)
    if not isinstance(spec, (tuple, list)) or len(spec) == 0:
        raise ValueError(f"{name} must be a duration in ms or a (lo, hi) range, got {spec!r}")
    if not isinstance(spec[0], str):
        spec = ("uniform", *spec)
    kind = spec[0]
    if kind == "uniform":
        if len(spec) != 3:
            raise ValueError(f"{name}: a uniform range is (lo, hi), got {spec!r}")
        lo, hi = (float(check_number(v, name)) for v in spec[1:])
        steps(lo, dt, name)
        steps(hi, dt, name)
        if hi < lo:
            raise ValueError(f"{name}: the range must have lo <= hi, got {spec!r}")
        return ("uniform", lo, hi)
    if kind == "choice":
        vals = tuple(float(v) for v in np.atleast_1d(spec[1]))
        if len(vals) == 0:
            raise ValueError(f"{name}: choice needs at least one duration, got {spec!r}")
        for v in vals:
            steps(v, dt, name)
        return ("choice", vals)
    if kind == "truncexp":
        if len(spec) != 4:
            raise ValueError(f"{name}: a truncated exponential is (mean, lo, hi), got {spec!r}")
        mean = check_number(spec[1], f"{name} mean", low=0, low_open=True)
        lo, hi = float(spec[2]), float(spec[3])
        steps(lo, dt, name)
        steps(hi, dt, name)
        if hi <= lo:
            raise ValueError(f"{name}: truncexp needs lo < hi, got {spec!r}")
        return ("truncexp", mean, lo, hi)
    raise ValueError(f"{name}: unknown duration kind {kind!r} (uniform, choice, truncexp)")


def duration_steps(spec, dt: float) -> tuple[int, int]:
    """(shortest, longest) number of steps a normalised spec can produce."""
    if isinstance(spec, float):
        n = steps(spec, dt, "duration")
        return n, n
    kind = spec[0]
    if kind == "uniform":
        return steps(spec[1], dt, "lo"), steps(spec[2], dt, "hi")
    if kind == "choice":
        s = [steps(v, dt, "choice") for v in spec[1]]
        return min(s), max(s)
    lo, hi = steps(spec[2], dt, "lo"), steps(spec[3], dt, "hi")
    return lo, max(lo, hi - 1)


def sample_steps(u, spec, dt: float):
    """Per-trial durations in steps, `[B]` int32, from uniforms `u [B]`."""
    if isinstance(spec, float):
        return jnp.full(u.shape, steps(spec, dt, "duration"), dtype=jnp.int32)
    kind = spec[0]
    if kind == "uniform":
        return integers(u, *duration_steps(spec, dt))
    if kind == "choice":
        return choose(u, tuple(steps(v, dt, "choice") for v in spec[1]), jnp.int32)
    _, mean, lo, hi = spec
    # Inverse CDF of an exponential of this mean conditioned on [lo, hi).
    v = lo - mean * jnp.log1p(-u * (1.0 - np.exp(-(hi - lo) / mean)))
    n = jnp.floor(v / dt + 1e-6).astype(jnp.int32)
    a, b = duration_steps(spec, dt)
    return jnp.clip(n, a, b)


def max_steps(specs, dt: float) -> int:
    return int(sum(duration_steps(s, dt)[1] for s in specs))


def epoch_layout(key, names, specs, dt: float, batch: int, given: dict | None = None):
    """Per-trial epoch boundaries `{name: [B, 2]}` for consecutive epochs starting at t = 0.

    `given` may fix some epochs' durations per trial (`{name: [B]}` in steps).
    """
    given = given or {}
    u = uniforms(key, len(names), batch)
    lengths = []
    for i, (name, spec) in enumerate(zip(names, specs)):
        if name in given:
            lengths.append(jnp.broadcast_to(jnp.asarray(given[name], jnp.int32), (batch,)))
        else:
            lengths.append(sample_steps(u[i], spec, dt))
    lengths = jnp.stack(lengths, axis=1)
    stops = jnp.cumsum(lengths, axis=1)
    starts = stops - lengths
    return {n: jnp.stack([starts[:, i], stops[:, i]], axis=1) for i, n in enumerate(names)}


def window(bounds, n_steps: int):
    """1.0 where start <= t < stop, `[B, T]` float32, for `bounds [B, 2]`."""
    t = jnp.arange(n_steps, dtype=jnp.int32)[None, :]
    return ((t >= bounds[:, :1]) & (t < bounds[:, 1:2])).astype(jnp.float32)


def span(epochs: dict, first: str, last: str):
    """Bounds `[B, 2]` from the start of `first` to the stop of `last`."""
    return jnp.stack([epochs[first][:, 0], epochs[last][:, 1]], axis=1)


def trial_end(epochs: dict):
    return jnp.max(jnp.stack([e[:, 1] for e in epochs.values()], axis=1), axis=1)


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


class EpochTask(AbstractTask):
    """A task made of consecutive epochs whose durations are attributes named as the epochs.

    Subclasses list `epoch_names`; each epoch's attribute holds a normalised duration spec.
    Trials start at t = 0; trials shorter than `n_steps` are padded with zero input and mask.
    """

    @property
    def epoch_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _specs(self):
        return [getattr(self, n) for n in self.epoch_names]

    @property
    def n_steps(self) -> int:
        return max_steps(self._specs(), self.dt)

    def _layout(self, key, batch: int, given: dict | None = None) -> dict:
        return epoch_layout(key, self.epoch_names, self._specs(), self.dt, batch, given)

    def _given(self, durations, batch: int) -> dict:
        """`{epoch: [B] ms}` → `{epoch: [B] steps}` for `epoch_layout`."""
        if durations is None:
            return {}
        unknown = set(durations) - set(self.epoch_names)
        if unknown:
            raise ValueError(
                f"durations: unknown epochs {sorted(unknown)}; the epochs are {self.epoch_names}"
            )
        return {
            k: jnp.broadcast_to(jnp.round(jnp.asarray(v, jnp.float32) / self.dt), (batch,))
            for k, v in durations.items()
        }

    def _grid_durations(self, durations=None) -> dict:
        """Durations for a deterministic grid: the given ones (ms), and every variable epoch
        not given at its longest (as Dubreuil et al.'s psychometric code)."""
        out = dict(durations or {})
        for name in self.epoch_names:
            spec = getattr(self, name)
            if name not in out and not isinstance(spec, float):
                out[name] = duration_steps(spec, self.dt)[1] * self.dt
        return out

    def _set_epochs(self, cfg: dict, *, at_least_one=()) -> None:
        for name in self.epoch_names:
            setattr(self, name, normalize_duration(cfg[name], self.dt, name))
        for name in at_least_one:
            if duration_steps(getattr(self, name), self.dt)[0] < 1:
                raise ValueError(f"{name} must last at least one time step (dt={self.dt} ms)")
