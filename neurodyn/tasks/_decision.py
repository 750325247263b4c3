"""Perceptual decision making (random-dot motion), as in Dubreuil et al. 2022 and NeuroGym."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._base import AbstractTask, steps
from ._trials import Trials
from ._utils import check_values, jitted, normal, onehot_targets, score_onehot

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


class PerceptualDecisionMaking(AbstractTask):
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
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        given = dict(
            dt=dt,
            fixation=fixation,
            stimulus=stimulus,
            delay=delay,
            decision=decision,
            coherences=coherences,
            input_noise=input_noise,
        )
        cfg = {**PRESETS[preset], **{k: v for k, v in given.items() if v is not None}}
        self.preset = preset
        if not np.isfinite(cfg["dt"]) or cfg["dt"] <= 0:
            raise ValueError(f"dt must be a positive number (ms), got {cfg['dt']!r}")
        self.dt = float(cfg["dt"])
        for name in ("fixation", "stimulus", "delay", "decision"):
            steps(cfg[name], self.dt, name)
            setattr(self, name, float(cfg[name]))
        if steps(self.stimulus, self.dt, "stimulus") < 1:
            raise ValueError("stimulus must last at least one time step")
        if steps(self.decision, self.dt, "decision") < 1:
            raise ValueError("decision must last at least one time step")
        if preset == "neurogym":
            self.coherences = check_values(cfg["coherences"], "coherences", low=0, high=100)
        else:
            self.coherences = check_values(cfg["coherences"], "coherences", low=-1, high=1)
        if not np.isfinite(cfg["input_noise"]) or cfg["input_noise"] < 0:
            raise ValueError(f"input_noise must be >= 0, got {cfg['input_noise']!r}")
        self.input_noise = float(cfg["input_noise"])

    @property
    def n_inputs(self) -> int:
        return 3 if self.preset == "neurogym" else 1

    @property
    def n_outputs(self) -> int:
        return 3 if self.preset == "neurogym" else 1

    def _bounds(self):
        lengths = [steps(getattr(self, e), self.dt, e) for e in self.epoch_names]
        edges = np.cumsum([0] + lengths)
        return {name: (int(edges[i]), int(edges[i + 1])) for i, name in enumerate(self.epoch_names)}

    @property
    def epoch_names(self) -> tuple[str, ...]:
        return ("fixation", "stimulus", "delay", "decision")

    @property
    def n_steps(self) -> int:
        return self._bounds()["decision"][1]

    @jitted
    def trials_from_coherence(self, key, coherence) -> Trials:
        """Trials with the given per-trial coherences `[B]` (input noise drawn from `key`)."""
        coherence = jnp.asarray(coherence, dtype=jnp.float32)
        if coherence.ndim != 1:
            raise ValueError(f"coherence must be a 1-D array [batch], got shape {coherence.shape}")
        if self.preset == "neurogym":
            return self._neurogym_trials(key, coherence)
        batch = coherence.shape[0]
        bounds = self._bounds()
        t = np.arange(self.n_steps)
        s0, s1 = bounds["stimulus"]
        d0, d1 = bounds["decision"]
        in_stim = jnp.asarray((t >= s0) & (t < s1), dtype=jnp.float32)
        in_dec = jnp.asarray((t >= d0) & (t < d1), dtype=jnp.float32)
        noise = self.input_noise * normal(key, (batch, self.n_steps, 1))
        inputs = coherence[:, None, None] * in_stim[None, :, None] + noise
        target = jnp.sign(coherence)
        targets = target[:, None, None] * in_dec[None, :, None]
        mask = jnp.broadcast_to(in_dec[None, :, None], (batch, self.n_steps, 1))
        epochs = {
            name: jnp.broadcast_to(jnp.asarray(b, dtype=jnp.int32)[None, :], (batch, 2))
            for name, b in bounds.items()
        }
        return Trials(
            inputs=inputs,
            targets=targets,
            mask=mask,
            conditions={"coherence": coherence, "target": target},
            epochs=epochs,
            dt=self.dt,
        )

    def _neurogym_trials(self, key, coherence) -> Trials:
        batch = coherence.shape[0]
        k_side, k_noise = jax.random.split(key)
        random_side = jnp.where(jax.random.bernoulli(k_side, 0.5, (batch,)), 1.0, -1.0)
        target = jnp.where(coherence == 0, random_side, jnp.sign(coherence))
        bounds = self._bounds()
        t = np.arange(self.n_steps)
        win = {n: jnp.asarray((t >= a) & (t < b), jnp.float32) for n, (a, b) in bounds.items()}
        stim = jnp.stack([0.5 + coherence / 200.0, 0.5 - coherence / 200.0], axis=-1)
        noise = self.input_noise * normal(k_noise, (batch, self.n_steps, 2))
        sens = (stim[:, None, :] + noise) * win["stimulus"][None, :, None]
        fix = jnp.broadcast_to(win["fixation"][None, :, None], (batch, self.n_steps, 1))
        dec = jnp.broadcast_to(win["decision"][None, :], (batch, self.n_steps))
        label = jnp.where(target > 0, 1, 2)
        targets, mask = onehot_targets(label, dec, jnp.ones_like(dec), 3)
        epochs = {
            name: jnp.broadcast_to(jnp.asarray(b, dtype=jnp.int32)[None, :], (batch, 2))
            for name, b in bounds.items()
        }
        return Trials(
            inputs=jnp.concatenate([fix, sens], axis=-1),
            targets=targets,
            mask=mask,
            conditions={"coherence": coherence, "target": target},
            epochs=epochs,
            dt=self.dt,
        )

    @jitted
    def sample(self, key, batch_size: int) -> Trials:
        batch_size = self._check_batch_size(batch_size)
        kc, kn = jax.random.split(key)
        coh = jnp.asarray(self.coherences, dtype=jnp.float32)
        coherence = coh[jax.random.randint(kc, (batch_size,), 0, len(self.coherences))]
        if self.preset == "neurogym":
            kc, ks = jax.random.split(kc)
            coherence = coherence * jnp.where(
                jax.random.bernoulli(ks, 0.5, coherence.shape), 1.0, -1.0
            )
        return self.trials_from_coherence(kn, coherence)

    def conditions(self, key, *, repeats: int = 1, coherences=None) -> Trials:
        """A deterministic grid: every coherence (default: the task's) `repeats` times.

        For preset `neurogym` the default grid is the signed set ±|c| (0 once)."""
        if coherences is None and self.preset == "neurogym":
            c = np.asarray(self.coherences, dtype=np.float32)
            coherences = np.unique(np.concatenate([-c, c]))
        coh = np.asarray(self.coherences if coherences is None else coherences, dtype=np.float32)
        return self.trials_from_coherence(key, np.repeat(coh, repeats))

    @jitted
    def evaluate(self, outputs, trials: Trials) -> dict:
        """Choice = sign of the mean output over the decision epoch; correct if = sign(c).

        Preset `neurogym`: choice = the choice unit with the largest mean output over the
        decision epoch (+1 for unit 1), `no_response` when the fixation unit stays on top."""
        outputs = self._check_outputs(outputs, trials)
        if self.preset == "neurogym":
            d0, d1 = self._bounds()["decision"]
            t = np.arange(self.n_steps)
            dec = jnp.broadcast_to(
                jnp.asarray((t >= d0) & (t < d1), jnp.float32)[None, :], outputs.shape[:2]
            )
            s = score_onehot(outputs, dec, jnp.where(trials.conditions["target"] > 0, 1, 2))
            s["choice"] = jnp.where(s["choice"] == 1, 1.0, -1.0)
            return s
        d0, d1 = self._bounds()["decision"]
        mean = jnp.mean(outputs[:, d0:d1, 0], axis=1)
        choice = jnp.where(mean >= 0, 1.0, -1.0)
        correct = choice == trials.conditions["target"]
        return {"accuracy": jnp.mean(correct), "choice": choice, "correct": correct}
