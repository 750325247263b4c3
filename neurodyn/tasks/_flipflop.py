"""The n-bit flip-flop (Sussillo & Barak 2013; Golub & Sussillo 2018)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._typing import Key
from .._validate import check_bool, check_int, check_key, check_number
from ._base import AbstractTask, steps
from ._compile import evaluator, keyed, sampler
from ._deprecated import deprecated
from ._score import Score
from ._trials import Trials
from ._utils import bernoulli, make_trials, normal, resolve

FLIPFLOP_PRESETS = {
    # FixedPointFinder's example (Golub & Sussillo 2018): 64 steps, a pulse on each bit at
    # every step with probability 0.5, every bit pulsed at t = 0. dt = 20 ms gives α = 0.2 for
    # neurodyn's default τ = 100 ms.
    "golub2018": dict(
        dt=20.0,
        n_bits=3,
        duration=1280.0,
        pulse_prob=0.5,
        first_pulse=True,
        input_noise=0.0,
        settle=60.0,
    ),
    # Sparser pulses over longer trials, closer to Sussillo & Barak 2013's memory device
    # (memories must be held for many time constants between flips).
    "sparse": dict(
        dt=20.0,
        n_bits=3,
        duration=2000.0,
        pulse_prob=0.05,
        first_pulse=True,
        input_noise=0.0,
        settle=100.0,
    ),
}


class FlipFlop(AbstractTask):
    """The n-bit flip-flop task: hold the sign of each input's last pulse.

    The n-bit flip-flop: each input unit receives random ±1 pulses; the matching output must
    hold the sign of that unit's last pulse.

    On every step and bit a pulse arrives with probability `pulse_prob`, with a random sign
    (so about half of the pulses flip the bit). With `first_pulse` every bit is pulsed at
    t = 0, as in FixedPointFinder; otherwise a bit's target is masked until its first pulse.
    Inputs and outputs: `n_bits` each; the target of bit k at step t is the sign of the last
    pulse on bit k at or before t. Conditions: `pulses` `[B, T, n_bits]` (the pulse trains),
    `final` `[B, n_bits]` (the state at the last step) and `n_pulses` `[B]`.
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    n_bits: int = eqx.field(static=True)
    duration: float = eqx.field(static=True)
    pulse_prob: float = eqx.field(static=True)
    first_pulse: bool = eqx.field(static=True)
    input_noise: float = eqx.field(static=True)
    settle: float = eqx.field(static=True)

    def __init__(
        self,
        *,
        preset: str = "golub2018",
        dt: float | None = None,
        n_bits: int | None = None,
        duration: float | None = None,
        pulse_prob: float | None = None,
        first_pulse: bool | None = None,
        input_noise: float | None = None,
        settle: float | None = None,
    ):
        cfg = resolve(
            FLIPFLOP_PRESETS,
            preset,
            dict(
                dt=dt,
                n_bits=n_bits,
                duration=duration,
                pulse_prob=pulse_prob,
                first_pulse=first_pulse,
                input_noise=input_noise,
                settle=settle,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.n_bits = check_int(cfg["n_bits"], "n_bits")
        self.duration = check_number(cfg["duration"], "duration", unit="ms")
        if steps(self.duration, self.dt, "duration") < 1:
            raise ValueError("duration must last at least one time step")
        self.pulse_prob = check_number(cfg["pulse_prob"], "pulse_prob", low=0, high=1)
        self.first_pulse = check_bool(cfg["first_pulse"], "first_pulse")
        self.input_noise = check_number(cfg["input_noise"], "input_noise", low=0)
        self.settle = check_number(cfg["settle"], "settle", unit="ms")
        steps(self.settle, self.dt, "settle")

    @property
    def n_inputs(self) -> int:
        return self.n_bits

    @property
    def n_outputs(self) -> int:
        return self.n_bits

    @property
    def n_steps(self) -> int:
        return steps(self.duration, self.dt, "duration")

    @staticmethod
    def _last_pulse(pulses: Float[Array, "batch time bits"]) -> Int[Array, "batch time bits"]:
        """Index of the last pulse at or before each step (−1 if none), `[B, T, n]`."""
        t = jnp.arange(pulses.shape[1], dtype=jnp.int32)[None, :, None]
        idx = jnp.where(pulses != 0, t, -1)
        return jax.lax.cummax(idx, axis=1)

    @keyed
    def trials_from_conditions(
        self, key: Key, pulses: Float[ArrayLike, "batch time bits"]
    ) -> Trials:
        """Trials for given pulse trains `[B, T, n_bits]` with entries in {−1, 0, +1}; `key`
        draws the input noise."""
        pulses = jnp.asarray(pulses, dtype=jnp.float32)
        if pulses.ndim != 3 or pulses.shape[1:] != (self.n_steps, self.n_bits):
            raise ValueError(
                f"pulses must have shape [batch, {self.n_steps}, {self.n_bits}], got {pulses.shape}"
            )
        pulses = jnp.sign(pulses)
        last = self._last_pulse(pulses)
        held = jnp.take_along_axis(pulses, jnp.maximum(last, 0), axis=1)
        mask = (last >= 0).astype(jnp.float32)
        targets = held * mask
        inputs = pulses + self.input_noise * normal(key, pulses.shape)
        batch = pulses.shape[0]
        whole = jnp.broadcast_to(jnp.asarray([0, self.n_steps], jnp.int32)[None, :], (batch, 2))
        conditions = {
            "pulses": pulses,
            "final": targets[:, -1, :],
            "n_pulses": jnp.sum(jnp.abs(pulses), axis=(1, 2)).astype(jnp.int32),
        }
        return make_trials(inputs, targets, mask, conditions, {"trial": whole}, self.dt)

    def trials_from_pulses(
        self, key: Key, pulses: Float[ArrayLike, "batch time bits"]
    ) -> Trials:
        """Deprecated name of `trials_from_conditions`."""
        deprecated("FlipFlop.trials_from_pulses", "FlipFlop.trials_from_conditions")
        return self.trials_from_conditions(key, pulses)

    def sample_pulses(self, key: Key, batch_size: int) -> Float[Array, "batch time bits"]:
        """Random pulse trains `[B, T, n_bits]`."""
        key = check_key(key, "key")
        batch_size = self._check_batch_size(batch_size)
        k_on, k_sign = jax.random.split(key)
        shape = (batch_size, self.n_steps, self.n_bits)
        on = bernoulli(k_on, self.pulse_prob, shape)
        if self.first_pulse:
            on = on.at[:, 0, :].set(True)
        sign = jnp.where(bernoulli(k_sign, 0.5, shape), 1.0, -1.0)
        return on.astype(jnp.float32) * sign

    @sampler
    def sample(self, key: Key, batch_size: int) -> Trials:
        """`batch_size` trials of random pulse trains (`sample_pulses`)."""
        kp, kn = jax.random.split(key)
        return self.trials_from_conditions(kn, self.sample_pulses(kp, batch_size))

    def conditions(
        self,
        key: Key,
        *,
        repeats: int = 1,
        pulses: Float[ArrayLike, "batch time bits"] | None = None,
    ) -> Trials:
        """Deterministic trials: by default the 2^n corners of the memory cube, each set by one
        pulse per bit at t = 0 and then held with no further input (what fixed-point analyses
        start from); or the given pulse trains. `key` only draws the input noise."""
        if pulses is None:
            if self.n_bits > 16:
                raise ValueError(
                    f"pulses: the default grid holds the 2**n_bits corners, too many for "
                    f"n_bits={self.n_bits} (at most 16); pass pulses"
                )
            corners = np.array(np.meshgrid(*[[-1.0, 1.0]] * self.n_bits, indexing="ij"))
            corners = corners.reshape(self.n_bits, -1).T  # [2^n, n_bits]
            corners = np.repeat(corners, check_int(repeats, "repeats"), axis=0)
            pulses = np.zeros((corners.shape[0], self.n_steps, self.n_bits), np.float32)
            pulses[:, 0, :] = corners
        return self.trials_from_conditions(key, pulses)

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """Sign agreement with the held bits, outside `settle` ms after each pulse.

        Returns `step_accuracy` (fraction of scored (step, bit) entries with the right sign),
        per-trial `correct` (every scored entry right), `accuracy` (mean of `correct`),
        `choice` (sign of the output at the last step, `[B, n_bits]`) and `mse` (masked).
        """
        pulses = trials.conditions["pulses"]
        last = self._last_pulse(pulses)
        t = jnp.arange(pulses.shape[1], dtype=jnp.int32)[None, :, None]
        n_settle = max(1, steps(self.settle, self.dt, "settle"))
        # the cast standard promotion made (strict promotion, the tests', refuses the mix)
        scored = trials.mask * (t - last >= n_settle).astype(trials.mask.dtype)
        right = (jnp.sign(outputs) == trials.targets).astype(scored.dtype)
        wrong = scored * (1.0 - right)
        correct = jnp.sum(wrong, axis=(1, 2)) == 0
        sq = trials.mask * (outputs - trials.targets) ** 2
        return Score(
            accuracy=jnp.mean(correct),
            correct=correct,
            choice=jnp.where(outputs[:, -1, :] >= 0, 1.0, -1.0),
            step_accuracy=jnp.sum(scored * right) / jnp.maximum(jnp.sum(scored), 1.0),
            mse=jnp.sum(sq) / jnp.maximum(jnp.sum(trials.mask), 1.0),
        )
