"""Reaching on a ring (NeuroGym's AntiReach) and the sine-wave generator (Sussillo & Barak
2013)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._typing import Key
from .._validate import check_bool, check_int, check_number
from ._base import AbstractTask, steps
from ._compile import evaluator, keyed, sampler
from ._epoch_tasks import AbstractEpochTask
from ._epochs import Duration, DurationSpec, epoch_durations
from ._score import Score, score_onehot, window
from ._trials import Trials
from ._utils import (
    Numbers,
    as_batch,
    check_values,
    grid,
    integers,
    make_trials,
    onehot_targets,
    resolve,
    uniforms,
)

ANTI_REACH_PRESETS = {
    # NeuroGym AntiReach (dim_ring = 32).
    "neurogym": dict(
        dt=100.0,
        fixation=500.0,
        stimulus=500.0,
        delay=0.0,
        decision=500.0,
        dim_ring=32,
        anti=True,
    ),
}


class AntiReach(AbstractEpochTask):
    """(Anti-)reach on a ring: reach to the stimulus angle θ, or to θ + π.

    The stimulus is at angle θ on a ring of `dim_ring` units; reach to θ (pro) or to θ + π (anti,
    `anti=True`).

    Inputs `[fixation, ring₁…ring_n]` (fixation on until the decision, cos(θ_k − θ_stim) on the
    ring during the stimulus); outputs one-hot `[fixation, choice₁…choice_n]`. Conditions:
    `ground_truth` (the target unit, 0…n−1), `anti` (1/0), `stimulus_theta` (rad).
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    stimulus: Duration = eqx.field(static=True)
    delay: Duration = eqx.field(static=True)
    decision: Duration = eqx.field(static=True)
    dim_ring: int = eqx.field(static=True)
    anti: bool = eqx.field(static=True)
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
        dim_ring: int | None = None,
        anti: bool | None = None,
    ):
        cfg = resolve(
            ANTI_REACH_PRESETS,
            preset,
            dict(
                dt=dt,
                fixation=fixation,
                stimulus=stimulus,
                delay=delay,
                decision=decision,
                dim_ring=dim_ring,
                anti=anti,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.fixation, self.stimulus, self.delay, self.decision = epoch_durations(
            cfg, self.epoch_names, self.dt, at_least_one=("stimulus", "decision")
        )
        self.dim_ring = check_int(cfg["dim_ring"], "dim_ring", low=2)
        self.anti = check_bool(cfg["anti"], "anti")

    @property
    def n_inputs(self) -> int:
        return 1 + self.dim_ring

    @property
    def n_outputs(self) -> int:
        return 1 + self.dim_ring

    @keyed
    def trials_from_conditions(
        self, key: Key, ground_truth: Numbers, *, durations: dict[str, ArrayLike] | None = None
    ) -> Trials:
        """Trials whose correct reach is to ring unit `ground_truth [B]` (0…dim_ring−1)."""
        gt = as_batch(ground_truth, "ground_truth", jnp.int32)
        L = self._layout(key, gt.shape[0], durations)
        theta = jnp.arange(self.dim_ring, dtype=float) * (2 * np.pi / self.dim_ring)
        stim_theta = jnp.mod(theta[gt] + (np.pi if self.anti else 0.0), 2 * np.pi)
        ring = jnp.cos(theta[None, :] - stim_theta[:, None])
        stim = ring[:, None, :] * L.window("stimulus")[:, :, None]
        inputs = L.concat(L.until("delay", "stop")[:, :, None], stim)
        targets, mask = onehot_targets(gt + 1, L.window("decision"), L.trial, 1 + self.dim_ring)
        conditions = {
            "ground_truth": gt,
            "anti": jnp.full((L.batch,), int(self.anti), jnp.int32),
            "stimulus_theta": stim_theta,
        }
        return self._trials(L, inputs, targets, mask, conditions)

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        return {"ground_truth": integers(uniforms(key, 1, batch_size)[0], 0, self.dim_ring - 1)}

    def conditions(self, key: Key, *, repeats: int = 1) -> Trials:
        """Every target unit, `repeats` times."""
        gt = grid(repeats, ground_truth=np.arange(self.dim_ring))["ground_truth"]
        return self.trials_from_conditions(key, gt)

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """The choice unit with the largest mean output over the decision (`choice` = its ring
        index), correct when it is the target unit; `no_response` if fixation stays on top."""
        dec = window(trials.epochs["decision"], trials.n_steps)
        s = score_onehot(outputs, dec, trials.conditions["ground_truth"] + 1)
        return s._replace(choice=s.choice - 1)


SINE_PRESETS = {
    # Sussillo & Barak 2013: 51 frequencies ω_j = 0.1…0.6 rad per time unit, selected by a static
    # input j/51 + 0.25. With one time unit = one 20 ms step: 0.8…4.8 Hz.
    "sussillo2013": dict(
        dt=20.0,
        duration=2000.0,
        frequencies=tuple(np.linspace(0.1, 0.6, 51) / (2 * np.pi * 0.02)),
        r2_threshold=0.9,
    ),
}


class SineWaveGenerator(AbstractTask):
    """Sine-wave generator: a static input level selects the output's frequency.

    The output must be sin(2π f t) for the whole trial.

    Input: one unit at j/n + 0.25 for frequency j = 1…n (of `frequencies`, Hz). Output: one
    unit, target sin(2π f t) at t = (step + 1)·dt. Scoring: per-trial R² of the output against
    the target (`correct` when ≥ `r2_threshold`) and `choice` = the index of the candidate
    frequency whose sine fits the output best. Conditions: `frequency` (Hz), `index` (0…n−1).
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    duration: float = eqx.field(static=True)
    frequencies: tuple[float, ...] = eqx.field(static=True)
    r2_threshold: float = eqx.field(static=True)

    def __init__(
        self,
        *,
        preset: str = "sussillo2013",
        dt: float | None = None,
        duration: float | None = None,
        frequencies: Numbers | None = None,
        r2_threshold: float | None = None,
    ):
        cfg = resolve(
            SINE_PRESETS,
            preset,
            dict(dt=dt, duration=duration, frequencies=frequencies, r2_threshold=r2_threshold),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.duration = check_number(cfg["duration"], "duration", unit="ms")
        if steps(self.duration, self.dt, "duration") < 1:
            raise ValueError("duration must last at least one time step")
        nyquist = 500.0 / self.dt
        self.frequencies = check_values(
            cfg["frequencies"], "frequencies", low=0, high=nyquist, nonzero=True
        )
        self.r2_threshold = check_number(cfg["r2_threshold"], "r2_threshold", high=1)

    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def n_outputs(self) -> int:
        return 1

    @property
    def n_steps(self) -> int:
        return steps(self.duration, self.dt, "duration")

    def _sines(self) -> np.ndarray:
        t = (np.arange(self.n_steps) + 1) * self.dt / 1000.0
        return np.sin(2 * np.pi * np.asarray(self.frequencies)[:, None] * t[None, :])

    @keyed
    def trials_from_conditions(self, key: Key, index: Numbers) -> Trials:
        """Trials for frequency indices `index [B]` (0…n−1). `key` is unused (no noise)."""
        del key
        index = as_batch(index, "index", jnp.int32)
        batch, T = index.shape[0], self.n_steps
        n = len(self.frequencies)
        level = (index + 1).astype(jnp.float32) / n + 0.25
        inputs = jnp.broadcast_to(level[:, None, None], (batch, T, 1))
        targets = jnp.asarray(self._sines(), jnp.float32)[index][:, :, None]
        mask = jnp.ones_like(targets)
        whole = jnp.broadcast_to(jnp.asarray([0, T], jnp.int32)[None, :], (batch, 2))
        conditions = {"index": index, "frequency": jnp.asarray(self.frequencies)[index]}
        return make_trials(inputs, targets, mask, conditions, {"trial": whole}, self.dt)

    @sampler
    def sample(self, key: Key, batch_size: int) -> Trials:
        """`batch_size` trials of random frequencies (no noise: `key` draws the frequencies)."""
        k_draw, k_trials = jax.random.split(key)
        idx = integers(uniforms(k_draw, 1, batch_size)[0], 0, len(self.frequencies) - 1)
        return self.trials_from_conditions(k_trials, idx)

    def conditions(self, key: Key, *, repeats: int = 1) -> Trials:
        """Every frequency, `repeats` times."""
        idx = grid(repeats, index=np.arange(len(self.frequencies)))["index"]
        return self.trials_from_conditions(key, idx)

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """Per-trial R² of the output against its sine (`correct` when ≥ `r2_threshold`);
        `choice` = the candidate frequency whose sine is closest to the output."""
        z, y = outputs[:, :, 0], trials.targets[:, :, 0]
        r2 = 1.0 - jnp.sum((z - y) ** 2, 1) / jnp.sum((y - jnp.mean(y, 1, keepdims=True)) ** 2, 1)
        sines = jnp.asarray(self._sines(), jnp.float32)  # [F, T]
        err = jnp.mean((z[:, None, :] - sines[None, :, :]) ** 2, axis=2)
        correct = r2 >= self.r2_threshold
        return Score(
            accuracy=jnp.mean(correct),
            choice=jnp.argmin(err, axis=1),
            correct=correct,
            r2=r2,
            mse=jnp.mean((z - y) ** 2),
        )
