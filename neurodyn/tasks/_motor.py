"""Reaching on a ring (NeuroGym's AntiReach) and the sine-wave generator (Sussillo & Barak
2013)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import check_bool, check_int, check_number
from ._base import AbstractTask, steps
from ._epochs import EpochTask
from ._utils import (
    as_batch,
    check_values,
    evaluator,
    grid,
    integers,
    keyed,
    make_trials,
    onehot_targets,
    resolve,
    sampler,
    score_onehot,
    uniforms,
    window,
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


class AntiReach(EpochTask):
    """(Anti-)reach on a ring: a stimulus at angle θ on a ring of `dim_ring` units; reach to θ
    (pro) or to θ + π (anti, `anti=True`).

    Inputs `[fixation, ring₁…ring_n]` (fixation on until the decision, cos(θ_k − θ_stim) on the
    ring during the stimulus); outputs one-hot `[fixation, choice₁…choice_n]`. Conditions:
    `ground_truth` (the target unit, 0…n−1), `anti` (1/0), `stimulus_theta` (rad).
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: float = eqx.field(static=True)
    stimulus: float = eqx.field(static=True)
    delay: float | tuple = eqx.field(static=True)
    decision: float = eqx.field(static=True)
    dim_ring: int = eqx.field(static=True)
    anti: bool = eqx.field(static=True)

    def __init__(
        self,
        *,
        preset: str = "neurogym",
        dt=None,
        fixation=None,
        stimulus=None,
        delay=None,
        decision=None,
        dim_ring=None,
        anti=None,
    ):
        cfg = self._configure(ANTI_REACH_PRESETS, locals(), at_least_one=("stimulus", "decision"))
        self.dim_ring = check_int(cfg["dim_ring"], "dim_ring", low=2)
        self.anti = check_bool(cfg["anti"], "anti")

    @property
    def epoch_names(self):
        return ("fixation", "stimulus", "delay", "decision")

    @property
    def n_inputs(self) -> int:
        return 1 + self.dim_ring

    @property
    def n_outputs(self) -> int:
        return 1 + self.dim_ring

    @keyed
    def trials_from_conditions(self, key, ground_truth, *, durations=None):
        """Trials whose correct reach is to ring unit `ground_truth [B]` (0…dim_ring−1)."""
        gt = as_batch(ground_truth, "ground_truth", jnp.int32)
        L = self._layout(key, gt.shape[0], durations)
        theta = jnp.arange(self.dim_ring) * (2 * np.pi / self.dim_ring)
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

    def _draw(self, key, batch_size: int) -> dict:
        return {"ground_truth": integers(uniforms(key, 1, batch_size)[0], 0, self.dim_ring - 1)}

    def conditions(self, key, *, repeats: int = 1):
        """Every target unit, `repeats` times."""
        gt = grid(repeats, ground_truth=np.arange(self.dim_ring))["ground_truth"]
        return self.trials_from_conditions(key, gt)

    @evaluator
    def evaluate(self, outputs, trials) -> dict:
        """The choice unit with the largest mean output over the decision (`choice` = its ring
        index), correct when it is the target unit; `no_response` if fixation stays on top."""
        dec = window(trials.epochs["decision"], trials.n_steps)
        s = score_onehot(outputs, dec, trials.conditions["ground_truth"] + 1)
        s["choice"] = s["choice"] - 1
        return s


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
    """Sine-wave generator: a static input level selects a frequency; the output must be
    sin(2π f t) for the whole trial.

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
        dt=None,
        duration=None,
        frequencies=None,
        r2_threshold=None,
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

    def _sines(self):
        t = (np.arange(self.n_steps) + 1) * self.dt / 1000.0
        return np.sin(2 * np.pi * np.asarray(self.frequencies)[:, None] * t[None, :])

    @keyed
    def trials_from_conditions(self, key, index):
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
    def sample(self, key, batch_size: int):
        k_draw, k_trials = jax.random.split(key)
        idx = integers(uniforms(k_draw, 1, batch_size)[0], 0, len(self.frequencies) - 1)
        return self.trials_from_conditions(k_trials, idx)

    def conditions(self, key, *, repeats: int = 1):
        """Every frequency, `repeats` times."""
        idx = grid(repeats, index=np.arange(len(self.frequencies)))["index"]
        return self.trials_from_conditions(key, idx)

    @evaluator
    def evaluate(self, outputs, trials) -> dict:
        z, y = outputs[:, :, 0], trials.targets[:, :, 0]
        r2 = 1.0 - jnp.sum((z - y) ** 2, 1) / jnp.sum((y - jnp.mean(y, 1, keepdims=True)) ** 2, 1)
        sines = jnp.asarray(self._sines(), jnp.float32)  # [F, T]
        err = jnp.mean((z[:, None, :] - sines[None, :, :]) ** 2, axis=2)
        correct = r2 >= self.r2_threshold
        return {
            "accuracy": jnp.mean(correct),
            "choice": jnp.argmin(err, axis=1),
            "correct": correct,
            "r2": r2,
            "mse": jnp.mean((z - y) ** 2),
        }
