"""Perceptual decision making (random-dot motion), as in Dubreuil et al. 2022 and NeuroGym."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._typing import Key
from .._validate import check_int, check_number
from ._compile import keyed
from ._epoch_tasks import AbstractChoiceTask
from ._epochs import Duration, DurationSpec, epoch_durations
from ._trials import Trials
from ._utils import Numbers, as_batch, check_values, normal, resolve

PRESETS = {
    # Dubreuil, Valente, Beiran, Mastrogiuseppe & Ostojic 2022, Nat. Neurosci.
    "dubreuil2022": dict(
        dt=20.0,
        fixation=100.0,
        stimulus=800.0,
        delay=100.0,
        decision=20.0,
        coherences=(-0.4, -0.2, -0.1, 0.1, 0.2, 0.4),
        input_noise=0.1,
    ),
    # NeuroGym PerceptualDecisionMaking: |coherence| in % (the side is the sign of the signed
    # coherence, drawn at random), stimulus 0.5 ± c/200 on two units, noise sigma/sqrt(dt).
    "neurogym": dict(
        dt=100.0,
        fixation=100.0,
        stimulus=2000.0,
        delay=0.0,
        decision=100.0,
        coherences=(0.0, 6.4, 12.8, 25.6, 51.2),
        input_noise=0.1,
    ),
}


class PerceptualDecisionMaking(AbstractChoiceTask):
    """Integrate a noisy scalar stimulus and report the sign of its mean.

    One input carries the coherence c during the stimulus epoch plus white noise of std
    `input_noise` on every step; the target is sign(c) during the decision epoch, masked
    elsewhere. A trial is correct when the mean output over the decision epoch has the sign of c.
    Epochs: fixation → stimulus → delay → decision (ms). Preset `dubreuil2022` (the default).

    Preset `neurogym` (NeuroGym's layout): inputs `[fixation, stim₁, stim₂]` with fixation on
    during the fixation epoch and stim = 0.5 ± c/200 (+ noise) during the stimulus; outputs
    one-hot `[fixation, choice 1 (c > 0), choice 2 (c < 0)]` on every step (mask 1 throughout).
    `coherences` are then |c| in %; c = 0 trials get a random side.
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    stimulus: Duration = eqx.field(static=True)
    delay: Duration = eqx.field(static=True)
    decision: Duration = eqx.field(static=True)
    coherences: tuple[float, ...] = eqx.field(static=True)
    input_noise: float = eqx.field(static=True)
    epoch_names: ClassVar[tuple[str, ...]] = ("fixation", "stimulus", "delay", "decision")

    def __init__(
        self,
        *,
        preset: str = "dubreuil2022",
        dt: float | None = None,
        fixation: DurationSpec | None = None,
        stimulus: DurationSpec | None = None,
        delay: DurationSpec | None = None,
        decision: DurationSpec | None = None,
        coherences: Numbers | None = None,
        input_noise: float | None = None,
    ):
        cfg = resolve(
            PRESETS,
            preset,
            dict(
                dt=dt,
                fixation=fixation,
                stimulus=stimulus,
                delay=delay,
                decision=decision,
                coherences=coherences,
                input_noise=input_noise,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.fixation, self.stimulus, self.delay, self.decision = epoch_durations(
            cfg, self.epoch_names, self.dt, at_least_one=("stimulus", "decision")
        )
        if preset == "neurogym":
            self.coherences = check_values(cfg["coherences"], "coherences", low=0, high=100)
        else:
            self.coherences = check_values(cfg["coherences"], "coherences", low=-1, high=1)
        self.input_noise = check_number(cfg["input_noise"], "input_noise", low=0)

    @property
    def n_inputs(self) -> int:
        return 3 if self._onehot else 1

    @keyed
    def trials_from_conditions(self, key: Key, coherence: Numbers) -> Trials:
        """Trials with the given per-trial coherences `[B]`; `key` draws the variable epochs,
        the side of c = 0 trials (preset `neurogym`) and the input noise, each from its own
        split of `key`."""
        coherence = as_batch(coherence, "coherence")
        k_layout, k_side, k_noise = jax.random.split(key, 3)
        L = self._layout(k_layout, coherence.shape[0])
        stim = L.window("stimulus")[:, :, None]
        if self._onehot:
            side = jnp.where(jax.random.bernoulli(k_side, 0.5, coherence.shape), 1.0, -1.0)
            target = jnp.where(coherence == 0, side, jnp.sign(coherence))
            sens = jnp.stack([0.5 + coherence / 200.0, 0.5 - coherence / 200.0], axis=-1)
            noise = self.input_noise * normal(k_noise, (L.batch, L.n_steps, 2))
            sens = (sens[:, None, :] + noise) * stim
            inputs = L.concat(L.window("fixation")[:, :, None], sens)
        else:
            target = jnp.sign(coherence)
            noise = self.input_noise * normal(k_noise, (L.batch, L.n_steps, 1))
            inputs = coherence[:, None, None] * stim + noise
        return self._choice_trials(L, inputs, target, {"coherence": coherence})

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        k_coh, k_side = jax.random.split(key)
        coh = jnp.asarray(self.coherences, dtype=jnp.float32)
        coherence = coh[jax.random.randint(k_coh, (batch_size,), 0, len(self.coherences))]
        if self.preset == "neurogym":  # |c| from the list, the side at random
            coherence = coherence * jnp.where(
                jax.random.bernoulli(k_side, 0.5, coherence.shape), 1.0, -1.0
            )
        return {"coherence": coherence}

    def conditions(
        self, key: Key, *, repeats: int = 1, coherences: Numbers | None = None
    ) -> Trials:
        """A deterministic grid: every coherence (default: the task's) `repeats` times.

        For preset `neurogym` the default grid is the signed set ±|c| (0 once)."""
        if coherences is None and self.preset == "neurogym":
            c = np.asarray(self.coherences, dtype=np.float32)
            coherences = np.unique(np.concatenate([-c, c]))
        coh = check_values(self.coherences if coherences is None else coherences, "coherences")
        coh = np.asarray(coh, dtype=np.float32)
        return self.trials_from_conditions(key, np.repeat(coh, check_int(repeats, "repeats")))
