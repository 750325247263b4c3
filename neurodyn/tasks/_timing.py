"""Go/no-go and interval-timing tasks, in NeuroGym's versions (one-hot outputs, unit 0 =
fixation, mask on every step of the trial)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._typing import Key
from .._validate import check_number
from ._base import MAX_STEPS, steps, too_many_steps
from ._compile import evaluator, keyed
from ._epoch_tasks import AbstractChoiceTask, AbstractEpochTask
from ._epochs import Duration, DurationSpec, duration_steps, epoch_durations, sample_steps
from ._score import Score, window, window_mean
from ._trials import Trials
from ._utils import (
    Numbers,
    as_batch,
    as_batches,
    check_values,
    grid,
    integers,
    onehot_targets,
    resolve,
    uniforms,
)

GONOGO_PRESETS = {
    # NeuroGym GoNogo.
    "neurogym": dict(dt=100.0, fixation=0.0, stimulus=500.0, delay=500.0, decision=500.0),
}


class GoNogo(AbstractEpochTask):
    """Go/no-go: a go or a no-go cue; respond in the decision epoch only after a go cue.

    Inputs `[fixation, nogo, go]` (fixation on until the decision, the cue during the stimulus);
    outputs `[fixation, go]`, target go = 1 in the decision of go trials, fixation = 1
    elsewhere. A trial responds when the mean go output over the decision exceeds the mean
    fixation output; correct when it responds exactly on go trials. Conditions: `go` (1/0).
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    stimulus: Duration = eqx.field(static=True)
    delay: Duration = eqx.field(static=True)
    decision: Duration = eqx.field(static=True)
    epoch_names: ClassVar[tuple[str, ...]] = ("fixation", "stimulus", "delay", "decision")

    def __init__(
        self,
        *,
        preset: str = "neurogym",
        dt: float | None = None,
        fixation: DurationSpec | None = None,
        stimulus: DurationSpec | None = None,
        delay: DurationSpec | None = None,
        decision: DurationSpec | None = None,
    ):
        cfg = resolve(
            GONOGO_PRESETS,
            preset,
            dict(dt=dt, fixation=fixation, stimulus=stimulus, delay=delay, decision=decision),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.fixation, self.stimulus, self.delay, self.decision = epoch_durations(
            cfg, self.epoch_names, self.dt, at_least_one=("stimulus", "decision")
        )

    @property
    def n_inputs(self) -> int:
        return 3

    @property
    def n_outputs(self) -> int:
        return 2

    @keyed
    def trials_from_conditions(
        self, key: Key, go: Numbers, *, durations: dict[str, ArrayLike] | None = None
    ) -> Trials:
        """Trials for `go [B]` (1 = go cue, 0 = no-go cue)."""
        go = as_batch(go, "go", jnp.int32)
        L = self._layout(key, go.shape[0], durations)
        cue = jax.nn.one_hot(go, 2)[:, None, :] * L.window("stimulus")[:, :, None]
        inputs = L.concat(L.until("delay", "stop")[:, :, None], cue)
        win = L.window("decision")
        dec = win * go[:, None].astype(win.dtype)  # strict promotion refuses float * int
        targets, mask = onehot_targets(jnp.ones_like(go), dec, L.trial, 2)
        return self._trials(L, inputs, targets, mask, {"go": go})

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        return {"go": integers(uniforms(key, 1, batch_size)[0], 0, 1)}

    def conditions(self, key: Key, *, repeats: int = 1) -> Trials:
        """Go and no-go trials, `repeats` each."""
        return self.trials_from_conditions(key, grid(repeats, go=np.array([0, 1]))["go"])

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """choice = 1 (responded) when the mean go output over the decision exceeds the mean
        fixation output; correct when choice = go."""
        dec = window(trials.epochs["decision"], trials.n_steps)
        go_out = window_mean(outputs[:, :, 1], dec)
        fix_out = window_mean(outputs[:, :, 0], dec)
        choice = (go_out > fix_out).astype(jnp.int32)
        correct = choice == trials.conditions["go"]
        return Score(accuracy=jnp.mean(correct), choice=choice, correct=correct)


READY_SET_GO_PRESETS = {
    # NeuroGym ReadySetGo at dt = 80 ms; its 100 ms fixation and 83 ms cues are floored to
    # 80 ms by NeuroGym, and the measured interval U(800, 1500) to multiples of 80 ms.
    "neurogym": dict(
        dt=80.0,
        fixation=80.0,
        ready=80.0,
        measure=("floor_uniform", 800.0, 1500.0),
        set=80.0,
        gain=1.0,
        prod_margin=0.2,
    ),
}


class ReadySetGo(AbstractEpochTask):
    """Ready-set-go interval reproduction (Jazayeri & Shadlen 2010).

    Two cues (ready, set) bound a measured interval; produce `gain` × that interval after set.

    Inputs `[fixation, ready, set]` (fixation on until the production epoch); outputs
    `[fixation, go]`; the target go = 1 on the single step `gain × measure` after the end of
    set (as NeuroGym's ground truth), fixation = 1 elsewhere; the production epoch lasts twice
    the interval to produce. The produced interval is the time from the end of set to the
    first step whose go output exceeds the fixation output; a trial is correct when it is
    within `prod_margin` × target + 25 ms of the target (NeuroGym's criterion).

    Epochs: fixation → measure (ready is its first `ready` ms) → set → production.
    Conditions: `measure`, `production` (ms), `gain`.
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    ready: float = eqx.field(static=True)
    measure: Duration = eqx.field(static=True)
    set: Duration = eqx.field(static=True)
    gain: float = eqx.field(static=True)
    prod_margin: float = eqx.field(static=True)
    epoch_names: ClassVar[tuple[str, ...]] = ("fixation", "measure", "set")

    def __init__(
        self,
        *,
        preset: str = "neurogym",
        dt: float | None = None,
        fixation: DurationSpec | None = None,
        ready: float | None = None,
        measure: DurationSpec | None = None,
        set: DurationSpec | None = None,
        gain: float | None = None,
        prod_margin: float | None = None,
    ):
        cfg = resolve(
            READY_SET_GO_PRESETS,
            preset,
            dict(
                dt=dt,
                fixation=fixation,
                ready=ready,
                measure=measure,
                set=set,
                gain=gain,
                prod_margin=prod_margin,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.fixation, self.measure, self.set = epoch_durations(
            cfg, self.epoch_names, self.dt, at_least_one=("measure", "set")
        )
        self.ready = check_number(cfg["ready"], "ready", unit="ms")
        steps(self.ready, self.dt, "ready")
        self.gain = check_number(cfg["gain"], "gain", low=0, low_open=True)
        production = 2 * self.gain * self._measure_steps()[1]
        if production > MAX_STEPS:
            raise too_many_steps(production, self.dt, f"the production epoch (gain={self.gain:g})")
        self.prod_margin = check_number(cfg["prod_margin"], "prod_margin", low=0)
        if steps(self.ready, self.dt, "ready") > self._measure_steps()[0]:
            raise ValueError("ready must not outlast the shortest measured interval")

    def _measure_steps(self) -> tuple[int, int]:
        return duration_steps(self.measure, self.dt)

    @property
    def n_steps(self) -> int:
        # The production epoch lasts 2 × gain × the longest measured interval.
        return super().n_steps + int(np.floor(2 * self.gain * self._measure_steps()[1] + 1e-6))

    @property
    def n_inputs(self) -> int:
        return 3

    @property
    def n_outputs(self) -> int:
        return 2

    @keyed
    def trials_from_conditions(self, key: Key, measure: Numbers) -> Trials:
        """Trials for measured intervals `measure [B]` (ms, multiples of dt)."""
        measure = as_batch(measure, "measure")
        m_steps = jnp.round(measure / self.dt).astype(jnp.int32)
        L = self._layout(key, measure.shape[0], given_steps={"measure": m_steps})
        p_steps = jnp.floor(self.gain * m_steps.astype(float) + 1e-6).astype(jnp.int32)
        set_stop = L.bounds["set"][1]
        m0 = L.bounds["measure"][0]
        L.add("ready", m0, m0 + round(self.ready / self.dt))
        L.add("production", set_stop, set_stop + 2 * p_steps)
        inputs = L.stack(L.until("production"), L.window("ready"), L.window("set"))
        go = L.between(set_stop + p_steps, set_stop + p_steps + 1)
        valid = L.until("production", "stop")
        targets, mask = onehot_targets(jnp.ones_like(m_steps), go, valid, 2)
        conditions = {
            "measure": m_steps.astype(jnp.float32) * self.dt,
            "production": p_steps.astype(jnp.float32) * self.dt,
            "gain": jnp.full((L.batch,), self.gain, jnp.float32),
        }
        return self._trials(L, inputs, targets, mask, conditions)

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        u = uniforms(key, 1, batch_size)[0]
        return {"measure": sample_steps(u, self.measure, self.dt).astype(jnp.float32) * self.dt}

    def conditions(
        self, key: Key, *, repeats: int = 1, measures: Numbers | None = None
    ) -> Trials:
        """Every measured interval the task can draw (or `measures`, ms), `repeats` each."""
        lo, hi = self._measure_steps()
        m = (
            np.arange(lo, hi + 1) * self.dt
            if measures is None
            else np.asarray(check_values(measures, "measures", low=0))
        )
        return self.trials_from_conditions(key, grid(repeats, measure=m)["measure"])

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """`choice` = produced interval (ms; −1 when the go output never wins), `correct` when
        within prod_margin × target + 25 ms, `no_response` when it never went."""
        T = trials.n_steps
        prod = trials.epochs["production"]
        win = window(prod, T)
        went = (outputs[:, :, 1] > outputs[:, :, 0]) & (win > 0)
        t = jnp.arange(T)[None, :]
        first = jnp.min(jnp.where(went, t, T), axis=1)
        responded = first < T
        produced = (first - prod[:, 0]).astype(jnp.float32) * self.dt
        target = trials.conditions["production"]
        err = jnp.abs(produced - target)
        correct = responded & (err <= self.prod_margin * target + 25.0)
        return Score(
            accuracy=jnp.mean(correct),
            choice=jnp.where(responded, produced, -1.0),
            correct=correct,
            no_response=~responded,
        )


INTERVAL_PRESETS = {
    # NeuroGym IntervalDiscrimination at dt = 80 ms: its fixed 300, 500 and 300 ms are floored
    # to 240, 480 and 240 ms, the stimuli U(300, 600) and the delay U(800, 1500) to the dt grid
    # (3-7 and 10-18 steps, the extremes rarer).
    "neurogym": dict(
        dt=80.0,
        fixation=240.0,
        stim1=("floor_uniform", 300.0, 600.0),
        delay1=("floor_uniform", 800.0, 1500.0),
        stim2=("floor_uniform", 300.0, 600.0),
        delay2=480.0,
        decision=240.0,
    ),
}


class IntervalDiscrimination(AbstractChoiceTask):
    """Interval discrimination: which of two successive stimuli lasted longer?

    Inputs `[fixation, stim1, stim2]` (fixation on until the decision); outputs one-hot
    `[fixation, first longer, second longer]` (ties count as "second", as in NeuroGym).
    Epochs: fixation → stim1 → delay1 → stim2 → delay2 → decision. Conditions: `duration1`,
    `duration2` (ms), `target` (+1 first longer, −1 otherwise).
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    stim1: Duration = eqx.field(static=True)
    delay1: Duration = eqx.field(static=True)
    stim2: Duration = eqx.field(static=True)
    delay2: Duration = eqx.field(static=True)
    decision: Duration = eqx.field(static=True)
    epoch_names: ClassVar[tuple[str, ...]] = (
        "fixation", "stim1", "delay1", "stim2", "delay2", "decision"
    )

    def __init__(
        self,
        *,
        preset: str = "neurogym",
        dt: float | None = None,
        fixation: DurationSpec | None = None,
        stim1: DurationSpec | None = None,
        delay1: DurationSpec | None = None,
        stim2: DurationSpec | None = None,
        delay2: DurationSpec | None = None,
        decision: DurationSpec | None = None,
    ):
        cfg = resolve(
            INTERVAL_PRESETS,
            preset,
            dict(
                dt=dt,
                fixation=fixation,
                stim1=stim1,
                delay1=delay1,
                stim2=stim2,
                delay2=delay2,
                decision=decision,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        (
            self.fixation,
            self.stim1,
            self.delay1,
            self.stim2,
            self.delay2,
            self.decision,
        ) = epoch_durations(
            cfg, self.epoch_names, self.dt, at_least_one=("stim1", "stim2", "decision")
        )

    @property
    def n_inputs(self) -> int:
        return 3

    @keyed
    def trials_from_conditions(
        self,
        key: Key,
        duration1: Numbers,
        duration2: Numbers,
        *,
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Trials with given stimulus durations `[B]` (ms)."""
        d1, d2 = as_batches(duration1=duration1, duration2=duration2)
        given = {**(durations or {}), "stim1": d1, "stim2": d2}
        L = self._layout(key, d1.shape[0], given)
        inputs = L.stack(L.until("decision"), L.window("stim1"), L.window("stim2"))
        len1, len2 = L.length_ms("stim1"), L.length_ms("stim2")
        target = jnp.where(len1 > len2, 1.0, -1.0)
        return self._choice_trials(L, inputs, target, {"duration1": len1, "duration2": len2})

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        L = self._layout(key, batch_size)
        return {"duration1": L.length_ms("stim1"), "duration2": L.length_ms("stim2")}

    def _values(self, name: str) -> np.ndarray:
        lo, hi = duration_steps(getattr(self, name), self.dt)
        return np.arange(lo, hi + 1) * self.dt

    def conditions(
        self, key: Key, *, repeats: int = 1, durations: dict[str, ArrayLike] | None = None
    ) -> Trials:
        """Every (duration1, duration2) pair on the dt grid; the delays at their longest."""
        g = grid(repeats, d1=self._values("stim1"), d2=self._values("stim2"))
        fixed = {
            k: v for k, v in self._grid_durations(durations).items() if k not in ("stim1", "stim2")
        }
        return self.trials_from_conditions(key, g["d1"], g["d2"], durations=fixed)
