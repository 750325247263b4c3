"""Epochs: duration specs, and the per-batch layout of consecutive epochs with the time
windows built from it (the task classes made of epochs are in `_epoch_tasks.py`).

A duration spec is a number (fixed, ms), (lo, hi) or ("uniform", lo, hi) (uniform over the
multiples of dt in [lo, hi]), ("choice", (v1, v2, ...)), ("floor_uniform", lo, hi) (a
continuous U[lo, hi) floored to the dt grid, as NeuroGym's uniform timings: lo and hi need not
be multiples of dt, and the shortest and longest durations can be rarer than the others), or
("truncexp", mean, lo, hi) (exponential of that mean conditioned on [lo, hi), floored to dt,
as NeuroGym's TruncExp).

Epoch boundaries that do not depend on the trial (every earlier duration fixed) are kept as
NumPy constants, so their windows are `[1, T]` constants broadcast over the batch; only the
boundaries that vary from trial to trial are computed per trial.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._typing import Key
from .._validate import ArgumentTypeError, check_number
from ._base import MAX_STEPS, steps, too_many_steps
from ._utils import choose, integers, normal, uniforms

DurationSpec = float | tuple | list
"""An epoch's duration as given: ms, (lo, hi), ("uniform", lo, hi), ("choice", (v1, ...)),
("floor_uniform", lo, hi) or ("truncexp", mean, lo, hi) (see the module docstring)."""
Duration = float | tuple
"""A normalised duration spec: a float (fixed, ms) or a tuple that starts with its kind."""
Bound = int | Int[Array, " batch"]
"""An epoch boundary in steps: the same int for every trial, or one per trial."""

# ---------------------------------------------------------------------------------------------
# Duration specs


def normalize_duration(spec: DurationSpec, dt: float, name: str) -> Duration:
    """Validate a duration spec; fixed durations come back as a float, others as a tuple."""
    if isinstance(spec, (int, float, np.number)) and not isinstance(spec, (bool, np.bool_)):
        spec = check_number(spec, name, unit="ms")
        steps(spec, dt, name)
        return spec
    if not isinstance(spec, (tuple, list)) or len(spec) == 0:
        raise ArgumentTypeError(
            f"{name} must be a duration in ms or a (lo, hi) range, got {spec!r}"
        )
    if not isinstance(spec[0], str):
        spec = ("uniform", *spec)
    kind = spec[0]
    if kind == "uniform":
        if len(spec) != 3:
            raise ValueError(f"{name}: a uniform range is (lo, hi), got {spec!r}")
        lo, hi = (check_number(v, name, unit="ms") for v in spec[1:])
        steps(lo, dt, name)
        steps(hi, dt, name)
        if hi < lo:
            raise ValueError(f"{name}: the range must have lo <= hi, got {spec!r}")
        return ("uniform", lo, hi)
    if kind == "choice":
        if len(spec) != 2 or isinstance(spec[1], (str, bytes)):
            raise ValueError(f"{name}: choice is (\"choice\", (d1, d2, ...)) in ms, got {spec!r}")
        options = spec[1] if isinstance(spec[1], (tuple, list)) else (spec[1],)
        vals = tuple(check_number(v, name, unit="ms") for v in options)
        if len(vals) == 0:
            raise ValueError(f"{name}: choice needs at least one duration, got {spec!r}")
        for v in vals:
            steps(v, dt, name)
        return ("choice", vals)
    if kind == "floor_uniform":
        if len(spec) != 3:
            raise ValueError(f"{name}: floor_uniform is (lo, hi) in ms, got {spec!r}")
        lo = check_number(spec[1], f"{name} lo", unit="ms")
        hi = check_number(spec[2], f"{name} hi", unit="ms")
        if lo < 0:
            raise ValueError(f"{name} lo must be >= 0, got {lo:g}")
        if hi < lo:
            raise ValueError(f"{name}: the range must have lo <= hi, got {spec!r}")
        _floor_steps(lo, hi, dt, name)
        return ("floor_uniform", lo, hi)
    if kind == "truncexp":
        if len(spec) != 4:
            raise ValueError(f"{name}: a truncated exponential is (mean, lo, hi), got {spec!r}")
        mean = check_number(spec[1], f"{name} mean", low=0, low_open=True, unit="ms")
        lo, hi = (check_number(v, name, unit="ms") for v in spec[2:])
        steps(lo, dt, name)
        steps(hi, dt, name)
        if hi <= lo:
            raise ValueError(f"{name}: truncexp needs lo < hi, got {spec!r}")
        return ("truncexp", mean, lo, hi)
    raise ValueError(
        f"{name}: unknown duration kind {kind!r} (uniform, choice, floor_uniform, truncexp)"
    )


def duration_steps(spec: Duration, dt: float) -> tuple[int, int]:
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
    if kind == "floor_uniform":
        return _floor_steps(spec[1], spec[2], dt)
    lo, hi = steps(spec[2], dt, "lo"), steps(spec[3], dt, "hi")
    return lo, max(lo, hi - 1)


def sample_steps(u: Float[Array, " batch"], spec: Duration, dt: float) -> Int[Array, " batch"]:
    """Per-trial durations in steps, `[B]` int32, from uniforms `u [B]`."""
    if isinstance(spec, float):
        return jnp.full(u.shape, steps(spec, dt, "duration"), dtype=jnp.int32)
    kind = spec[0]
    if kind == "uniform":
        return integers(u, *duration_steps(spec, dt))
    if kind == "choice":
        return choose(u, tuple(steps(v, dt, "choice") for v in spec[1]), jnp.int32)
    if kind == "floor_uniform":
        _, lo, hi = spec
        n = jnp.floor((lo + u * (hi - lo)) / dt + 1e-6).astype(jnp.int32)
        return jnp.clip(n, *_floor_steps(lo, hi, dt))
    _, mean, lo, hi = spec
    # Inverse CDF of an exponential of this mean conditioned on [lo, hi).
    v = lo - mean * jnp.log1p(-u * (1.0 - np.exp(-(hi - lo) / mean)))
    n = jnp.floor(v / dt + 1e-6).astype(jnp.int32)
    a, b = duration_steps(spec, dt)
    return jnp.clip(n, a, b)


def _floor_steps(lo: float, hi: float, dt: float, name: str = "duration") -> tuple[int, int]:
    """(shortest, longest) of floor(U[lo, hi) / dt): hi itself is never drawn."""
    if not np.isfinite(hi / dt) or hi / dt > MAX_STEPS:
        raise too_many_steps(hi / dt, dt, f"{name} ({hi:g} ms)")
    a = int(np.floor(lo / dt + 1e-6))
    return a, max(a, int(np.ceil(hi / dt - 1e-6)) - 1)


def max_steps(specs: list[Duration], dt: float) -> int:
    """The longest trial made of consecutive epochs of these specs, in steps."""
    return int(sum(duration_steps(s, dt)[1] for s in specs))


# ---------------------------------------------------------------------------------------------
# One batch's layout


class Layout:
    """Epoch boundaries of one batch of trials and the time windows built from them (a
    trace-time helper: every method returns arrays, nothing loops over trials or steps).

    Boundaries are `(start, stop)` pairs, each a Python int (the same for every trial) or a
    `[B]` int32 array; windows are `[B, T]` float32, or `[1, T]` when the same for all trials.
    """

    def __init__(
        self,
        bounds: dict[str, tuple[Bound, Bound]],
        n_steps: int,
        batch: int,
        dt: float,
        longest: dict[str, int],
    ):
        self.bounds = bounds
        self.longest = longest
        self.n_steps = n_steps
        self.batch = batch
        self.dt = dt

    def _edge(self, name: str, i: int) -> Bound:
        return self.bounds[name][i]

    def between(self, start: Bound, stop: Bound) -> Float[Array, "#batch time"]:
        """1.0 where start <= t < stop (ints or `[B]` arrays)."""
        if isinstance(start, int) and isinstance(stop, int):
            w = np.zeros((1, self.n_steps), np.float32)
            w[0, start:stop] = 1.0
            return jnp.asarray(w)
        t = jnp.arange(self.n_steps, dtype=jnp.int32)[None, :]
        inside = (t >= _column(start)) & (t < _column(stop))
        return inside.astype(jnp.float32)

    def window(self, first: str, last: str | None = None) -> Float[Array, "#batch time"]:
        """From the start of epoch `first` to the stop of `last` (default: `first`)."""
        return self.between(self._edge(first, 0), self._edge(last or first, 1))

    def until(self, name: str, edge: str = "start") -> Float[Array, "#batch time"]:
        """From t = 0 to the start (or, with edge="stop", the stop) of epoch `name`."""
        return self.between(0, self._edge(name, 0 if edge == "start" else 1))

    @property
    def end(self) -> Bound:
        """The end of the trial: the latest stop of any epoch."""
        stops = [b[1] for b in self.bounds.values()]
        if all(isinstance(s, int) for s in stops):
            return max(stops)
        return jnp.max(jnp.stack([jnp.broadcast_to(s, (self.batch,)) for s in stops], 1), 1)

    @property
    def trial(self) -> Float[Array, "#batch time"]:
        """1.0 on every step of the trial (0 on the padding after its end)."""
        return self.between(0, self.end)

    def length(self, name: str) -> Int[Array, " batch"]:
        """Duration of epoch `name` in steps, `[B]` int32."""
        a, b = self.bounds[name]
        return jnp.broadcast_to(jnp.asarray(b, jnp.int32) - a, (self.batch,))

    def length_ms(self, name: str) -> Float[Array, " batch"]:
        """Duration of epoch `name` in ms, `[B]` float32."""
        return self.length(name).astype(jnp.float32) * self.dt

    def noise(self, key: Key, name: str, n: int) -> Float[Array, "batch time channels"]:
        """Standard normal noise `[B, T, n]` inside epoch `name` and zero elsewhere, drawing
        only as many steps per trial as the epoch can last."""
        longest = max(self.longest.get(name, self.n_steps), 1)
        draws = normal(key, (self.batch, longest, n))
        start = self._edge(name, 0)
        if isinstance(start, int) and isinstance(self._edge(name, 1), int):
            stop = self._edge(name, 1)
            pad = ((0, 0), (start, self.n_steps - stop), (0, 0))
            return jnp.pad(draws[:, : stop - start], pad)
        t = jnp.arange(self.n_steps, dtype=jnp.int32)[None, :]
        idx = jnp.clip(t - _column(start), 0, longest - 1)
        inside = self.window(name)[:, :, None]
        return jnp.take_along_axis(draws, idx[:, :, None], axis=1) * inside

    def concat(self, *parts: Float[Array, "#batch time _"]) -> Float[Array, "batch time _"]:
        """Concatenate `[B or 1, T, k]` input blocks along the last axis, as `[B, T, Σk]`."""
        full = [jnp.broadcast_to(p, (self.batch, self.n_steps, p.shape[-1])) for p in parts]
        return jnp.concatenate(full, axis=-1)

    def stack(self, *windows: Float[Array, "#batch time"]) -> Float[Array, "batch time _"]:
        """Stack `[B or 1, T]` windows as the input channels `[B, T, k]`."""
        full = [jnp.broadcast_to(w, (self.batch, self.n_steps)) for w in windows]
        return jnp.stack(full, axis=-1)

    def add(self, name: str, start: Bound, stop: Bound) -> None:
        """An extra epoch (e.g. one nested in another)."""
        self.bounds[name] = (start, stop)

    def arrays(self) -> dict[str, Int[Array, "batch 2"]]:
        """`{epoch: [B, 2] int32}`, as `Trials.epochs` holds them."""
        return {
            k: jnp.stack([jnp.broadcast_to(jnp.asarray(e, jnp.int32), (self.batch,)) for e in b], 1)
            for k, b in self.bounds.items()
        }


def _column(x: Bound) -> Any:
    return x if isinstance(x, int) else jnp.asarray(x)[:, None]


def epoch_layout(
    key: Key,
    names: tuple[str, ...],
    specs: list[Duration],
    dt: float,
    batch: int,
    n_steps: int,
    given: dict[str, ArrayLike] | None = None,
) -> Layout:
    """The `Layout` of consecutive epochs starting at t = 0, durations drawn from `key`.

    `given` may fix some epochs' durations per trial (`{name: [B]}` in steps).
    """
    given = given or {}
    variable = [n for n, s in zip(names, specs) if n not in given and not isinstance(s, float)]
    u = uniforms(key, len(names), batch) if variable else None
    bounds, longest, start = {}, {}, 0
    for i, (name, spec) in enumerate(zip(names, specs)):
        if name in given:
            length = jnp.broadcast_to(jnp.asarray(given[name], jnp.int32), (batch,))
        elif isinstance(spec, float):
            length = longest[name] = steps(spec, dt, name)
        else:
            length = sample_steps(u[i], spec, dt)
            longest[name] = duration_steps(spec, dt)[1]
        stop = start + length
        bounds[name] = (start, stop)
        start = stop
    return Layout(bounds, n_steps, batch, dt, longest)


def epoch_durations(
    cfg: dict[str, Any], names: tuple[str, ...], dt: float, *, at_least_one: tuple[str, ...] = ()
) -> tuple[Duration, ...]:
    """The normalised duration specs of epochs `names` in the configuration `cfg` (a task's
    resolved presets and keywords), in that order; the epochs named in `at_least_one` must
    last at least one time step."""
    specs = tuple(normalize_duration(cfg[name], dt, name) for name in names)
    for name, spec in zip(names, specs):
        if name in at_least_one and duration_steps(spec, dt)[0] < 1:
            raise ValueError(f"{name} must last at least one time step (dt={dt} ms)")
    return specs
