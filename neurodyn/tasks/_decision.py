"""Perceptual decision making (random-dot motion), as in Dubreuil et al. 2022 and NeuroGym."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import check_int, check_number
from ._epochs import ChoiceTask
from ._trials import Trials
from ._utils import as_batch, check_values, keyed, normal

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


class PerceptualDecisionMaking(ChoiceTask):
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
    fixation: float = eqx.field(static=True)
    stimulus: float = eqx.field(static=True)
    delay: float = eqx.field(static=True)
    decision: float = eqx.field(static=True)
    coherences: tuple[float, ...] = eqx.field(static=True)
    input_noise: float = eqx.field(static=True)

    def __init__(
        self,
        *,
        preset: str = "dubreuil2022",
        dt=None,
        fixation=None,
        stimulus=None,
        delay=None,
        decision=None,
        coherences=None,
        input_noise=None,
    ):
        cfg = self._configure(PRESETS, locals(), at_least_one=("stimulus", "decision"))
        if preset == "neurogym":
            self.coherences = check_values(cfg["coherences"], "coherences", low=0, high=100)
        else:
            self.coherences = check_values(cfg["coherences"], "coherences", low=-1, high=1)
        self.input_noise = check_number(cfg["input_noise"], "input_noise", low=0)

    @property
    def epoch_names(self) -> tuple[str, ...]:
        return ("fixation", "stimulus", "delay", "decision")

    @property
    def n_inputs(self) -> int:
        return 3 if self._onehot else 1

    @keyed
    def trials_from_conditions(self, key, coherence) -> Trials:
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

    trials_from_coherence = trials_from_conditions

    def _draw(self, key, batch_size: int) -> dict:
        k_coh, k_side = jax.random.split(key)
        coh = jnp.asarray(self.coherences, dtype=jnp.float32)
        coherence = coh[jax.random.randint(k_coh, (batch_size,), 0, len(self.coherences))]
        if self.preset == "neurogym":  # |c| from the list, the side at random
            coherence = coherence * jnp.where(
                jax.random.bernoulli(k_side, 0.5, coherence.shape), 1.0, -1.0
            )
        return {"coherence": coherence}

    def conditions(self, key, *, repeats: int = 1, coherences=None) -> Trials:
        """A deterministic grid: every coherence (default: the task's) `repeats` times.

        For preset `neurogym` the default grid is the signed set ±|c| (0 once)."""
        if coherences is None and self.preset == "neurogym":
            c = np.asarray(self.coherences, dtype=np.float32)
            coherences = np.unique(np.concatenate([-c, c]))
        coh = check_values(self.coherences if coherences is None else coherences, "coherences")
        coh = np.asarray(coh, dtype=np.float32)
        return self.trials_from_conditions(key, np.repeat(coh, check_int(repeats, "repeats")))
