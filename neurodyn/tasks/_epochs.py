"""The shared trial builder: epoch durations, per-trial layouts, time windows, and the base
class of the tasks made of consecutive epochs.

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

import jax
import jax.numpy as jnp
import numpy as np

from .._validate import ArgumentTypeError, check_number
from ._base import MAX_STEPS, AbstractTask, steps, too_many_steps
from ._trials import Trials
from ._utils import (
    choose,
    evaluator,
    integers,
    make_trials,
    normal,
    onehot_targets,
    resolve,
    sampler,
    scalar_targets,
    score_onehot,
    score_sign,
    uniforms,
    window,
    window_mean,
)

# ---------------------------------------------------------------------------------------------
# Duration specs


def normalize_duration(spec, dt: float, name: str):
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
    if kind == "floor_uniform":
        return _floor_steps(spec[1], spec[2], dt)
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


def max_steps(specs, dt: float) -> int:
    return int(sum(duration_steps(s, dt)[1] for s in specs))


# ---------------------------------------------------------------------------------------------
# One batch's layout


class Layout:
    """Epoch boundaries of one batch of trials and the time windows built from them (a
    trace-time helper: every method returns arrays, nothing loops over trials or steps).

    Boundaries are `(start, stop)` pairs, each a Python int (the same for every trial) or a
    `[B]` int32 array; windows are `[B, T]` float32, or `[1, T]` when the same for all trials.
    """

    def __init__(self, bounds: dict, n_steps: int, batch: int, dt: float, longest: dict):
        self.bounds = bounds
        self.longest = longest
        self.n_steps = n_steps
        self.batch = batch
        self.dt = dt

    def _edge(self, name: str, i: int):
        return self.bounds[name][i]

    def between(self, start, stop):
        """1.0 where start <= t < stop (ints or `[B]` arrays)."""
        if isinstance(start, int) and isinstance(stop, int):
            w = np.zeros((1, self.n_steps), np.float32)
            w[0, start:stop] = 1.0
            return jnp.asarray(w)
        t = jnp.arange(self.n_steps, dtype=jnp.int32)[None, :]
        inside = (t >= _column(start)) & (t < _column(stop))
        return inside.astype(jnp.float32)

    def window(self, first: str, last: str | None = None):
        """From the start of epoch `first` to the stop of `last` (default: `first`)."""
        return self.between(self._edge(first, 0), self._edge(last or first, 1))

    def until(self, name: str, edge: str = "start"):
        """From t = 0 to the start (or, with edge="stop", the stop) of epoch `name`."""
        return self.between(0, self._edge(name, 0 if edge == "start" else 1))

    @property
    def end(self):
        """The end of the trial: the latest stop of any epoch."""
        stops = [b[1] for b in self.bounds.values()]
        if all(isinstance(s, int) for s in stops):
            return max(stops)
        return jnp.max(jnp.stack([jnp.broadcast_to(s, (self.batch,)) for s in stops], 1), 1)

    @property
    def trial(self):
        """1.0 on every step of the trial (0 on the padding after its end)."""
        return self.between(0, self.end)

    def length(self, name: str):
        """Duration of epoch `name` in steps, `[B]` int32."""
        a, b = self.bounds[name]
        return jnp.broadcast_to(jnp.asarray(b, jnp.int32) - a, (self.batch,))

    def length_ms(self, name: str):
        """Duration of epoch `name` in ms, `[B]` float32."""
        return self.length(name).astype(jnp.float32) * self.dt

    def noise(self, key, name: str, n: int):
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

    def concat(self, *parts):
        """Concatenate `[B or 1, T, k]` input blocks along the last axis, as `[B, T, Σk]`."""
        full = [jnp.broadcast_to(p, (self.batch, self.n_steps, p.shape[-1])) for p in parts]
        return jnp.concatenate(full, axis=-1)

    def stack(self, *windows):
        """Stack `[B or 1, T]` windows as the input channels `[B, T, k]`."""
        full = [jnp.broadcast_to(w, (self.batch, self.n_steps)) for w in windows]
        return jnp.stack(full, axis=-1)

    def add(self, name: str, start, stop) -> None:
        """An extra epoch (e.g. one nested in another)."""
        self.bounds[name] = (start, stop)

    def arrays(self) -> dict:
        """`{epoch: [B, 2] int32}`, as `Trials.epochs` holds them."""
        return {
            k: jnp.stack([jnp.broadcast_to(jnp.asarray(e, jnp.int32), (self.batch,)) for e in b], 1)
            for k, b in self.bounds.items()
        }


def _column(x):
    return x if isinstance(x, int) else jnp.asarray(x)[:, None]


def epoch_layout(key, names, specs, dt: float, batch: int, n_steps: int, given=None) -> Layout:
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


# ---------------------------------------------------------------------------------------------
# Tasks made of epochs


class EpochTask(AbstractTask):
    """A task made of consecutive epochs whose durations are attributes named as the epochs.

    Subclasses list `epoch_names`; each epoch's attribute holds a normalised duration spec.
    Trials start at t = 0; trials shorter than `n_steps` are padded with zero input and mask.

    A subclass supplies `trials_from_conditions(key, **conditions)` (the trials for given
    per-trial conditions; `key` draws noise and variable epochs) and `_draw(key, batch_size)`
    (random conditions, as the keywords of `trials_from_conditions`); `sample` joins the two.
    """

    @property
    def epoch_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _configure(self, presets: dict, args: dict, *, at_least_one=()) -> dict:
        """Resolve the constructor's keywords (`locals()` of `__init__`) against the presets;
        set `preset`, `dt` and the epochs; return the whole configuration."""
        given = {k: v for k, v in args.items() if k not in ("self", "preset", "__class__")}
        cfg = resolve(presets, args["preset"], given)
        self.preset = args["preset"]
        self.dt = cfg["dt"]
        for name in self.epoch_names:
            setattr(self, name, normalize_duration(cfg[name], self.dt, name))
        for name in at_least_one:
            if duration_steps(getattr(self, name), self.dt)[0] < 1:
                raise ValueError(f"{name} must last at least one time step (dt={self.dt} ms)")
        return cfg

    def _specs(self):
        return [getattr(self, n) for n in self.epoch_names]

    def trials_from_conditions(self, key, *args, **kwargs) -> Trials:
        raise NotImplementedError

    def _draw(self, key, batch_size: int) -> dict:
        """Random per-trial conditions `{keyword of trials_from_conditions: [B]}`."""
        raise NotImplementedError

    @sampler
    def sample(self, key, batch_size: int) -> Trials:
        """`batch_size` random trials: the conditions drawn from one half of `key`, the trials
        (noise, variable epochs) built from the other."""
        k_draw, k_trials = jax.random.split(key)
        return self.trials_from_conditions(k_trials, **self._draw(k_draw, batch_size))

    def _grid_trials(self, key, durations=None, **conditions) -> Trials:
        """The trials of a deterministic grid of `conditions`, variable epochs at their longest
        unless `durations` says otherwise (see `_grid_durations`)."""
        return self.trials_from_conditions(
            key, **conditions, durations=self._grid_durations(durations)
        )

    @property
    def n_steps(self) -> int:
        return max_steps(self._specs(), self.dt)

    def _layout(self, key, batch: int, durations=None, *, given_steps=None) -> Layout:
        """This batch's layout; `durations` (`{epoch: ms or [B] ms}`) or `given_steps`
        (`{epoch: [B] steps}`) fix some epochs, the others are drawn from `key`."""
        given = {**self._given(durations, batch), **(given_steps or {})}
        return epoch_layout(
            key, self.epoch_names, self._specs(), self.dt, batch, self.n_steps, given
        )

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
        # As arrays, so that grids with other durations share one compiled program.
        return {k: np.asarray(v, np.float32) for k, v in out.items()}

    def _trials(self, layout: Layout, inputs, targets, mask, conditions):
        return make_trials(inputs, targets, mask, conditions, layout.arrays(), self.dt)


class ChoiceTask(EpochTask):
    """A two-alternative task with a `decision` epoch, in one of two output layouts:

    - one output whose target is the sign of the answer (±1, or a graded value) over the
      decision epoch, masked elsewhere; scored by the sign of the mean output there
      (Dubreuil et al. 2022);
    - NeuroGym's one-hot `[fixation, choice 1, choice 2]` on every step of the trial (choice 1
      for a positive answer); scored by the choice unit with the largest mean output over the
      decision epoch, with "no response" when the fixation unit stays on top.

    Subclasses store the answer as `conditions["target"]`; `_onehot` picks the layout
    (NeuroGym's for preset `neurogym`).
    """

    @property
    def _onehot(self) -> bool:
        return self.preset == "neurogym"

    @property
    def n_outputs(self) -> int:
        return 3 if self._onehot else 1

    def _choice_trials(self, layout: Layout, inputs, target, conditions: dict) -> Trials:
        """Trials whose answer is `target [B]` (sign, or graded with one output), stored in
        the conditions as `target` next to `conditions`."""
        targets, mask = self._decision_targets(layout, target)
        return self._trials(layout, inputs, targets, mask, {**conditions, "target": target})

    def _decision_targets(self, layout: Layout, target):
        """(targets, mask) for answers `target [B]` (sign, or graded with one output)."""
        dec = layout.window("decision")
        if self._onehot:
            return onehot_targets(jnp.where(target > 0, 1, 2), dec, layout.trial, 3)
        return scalar_targets(target, jnp.broadcast_to(dec, (layout.batch, layout.n_steps)))

    @evaluator
    def evaluate(self, outputs, trials) -> dict:
        """Sign of the mean output over the decision epoch (one output), or the choice unit
        with the largest mean output there (NeuroGym's layout; `choice` +1 for unit 1)."""
        return self._score(outputs, trials)

    def _score(self, outputs, trials) -> dict:
        outputs = self._check_outputs(outputs, trials)
        dec = window(trials.epochs["decision"], trials.n_steps)
        target = trials.conditions["target"]
        if self._onehot:
            s = score_onehot(outputs, dec, jnp.where(target > 0, 1, 2))
            s["choice"] = jnp.where(s["choice"] == 1, 1.0, -1.0)
            return s
        return score_sign(outputs, dec, target)

    def _score_graded(self, outputs, trials) -> dict:
        """`_score` plus, with one output, the fit of the mean decision output to a graded
        target: `mse` and `correlation`."""
        s = self._score(outputs, trials)
        if not self._onehot:
            dec = window(trials.epochs["decision"], trials.n_steps)
            mean = window_mean(jnp.asarray(outputs)[:, :, 0], dec)
            target = trials.conditions["target"]
            s["mse"] = jnp.mean((mean - target) ** 2)
            s["correlation"] = jnp.corrcoef(jnp.stack([mean, target]))[0, 1]
        return s
