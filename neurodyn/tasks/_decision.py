"""Perceptual decision making (random-dot motion), as in Dubreuil et al. 2022."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._base import AbstractTask, steps
from ._trials import Trials

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
}


class PerceptualDecisionMaking(AbstractTask):
    """Integrate a noisy scalar stimulus and report the sign of its mean.

    One input carries the coherence c during the stimulus epoch plus white noise of std
    `input_noise` on every step; the target is sign(c) during the decision epoch, masked
    elsewhere. A trial is correct when the mean output over the decision epoch has the sign of c.
    Epochs: fixation → stimulus → delay → decision (ms). Preset `dubreuil2022` (the default).
    """

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
        coh = tuple(float(c) for c in np.atleast_1d(cfg["coherences"]))
        if len(coh) == 0 or not all(np.isfinite(coh)):
            raise ValueError(f"coherences must be a non-empty list of finite numbers, got {coh}")
        self.coherences = coh
        if not np.isfinite(cfg["input_noise"]) or cfg["input_noise"] < 0:
            raise ValueError(f"input_noise must be >= 0, got {cfg['input_noise']!r}")
        self.input_noise = float(cfg["input_noise"])

    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def n_outputs(self) -> int:
        return 1

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

    def trials_from_coherence(self, key, coherence) -> Trials:
        """Trials with the given per-trial coherences `[B]` (input noise drawn from `key`)."""
        coherence = jnp.asarray(coherence, dtype=jnp.float32)
        if coherence.ndim != 1:
            raise ValueError(f"coherence must be a 1-D array [batch], got shape {coherence.shape}")
        batch = coherence.shape[0]
        bounds = self._bounds()
        t = np.arange(self.n_steps)
        s0, s1 = bounds["stimulus"]
        d0, d1 = bounds["decision"]
        in_stim = jnp.asarray((t >= s0) & (t < s1), dtype=jnp.float32)
        in_dec = jnp.asarray((t >= d0) & (t < d1), dtype=jnp.float32)
        noise = self.input_noise * jax.random.normal(key, (batch, self.n_steps, 1))
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

    def sample(self, key, batch_size: int) -> Trials:
        batch_size = self._check_batch_size(batch_size)
        kc, kn = jax.random.split(key)
        coh = jnp.asarray(self.coherences, dtype=jnp.float32)
        coherence = coh[jax.random.randint(kc, (batch_size,), 0, len(self.coherences))]
        return self.trials_from_coherence(kn, coherence)

    def conditions(self, key, *, repeats: int = 1, coherences=None) -> Trials:
        """A deterministic grid: every coherence (default: the task's) `repeats` times."""
        coh = np.asarray(self.coherences if coherences is None else coherences, dtype=np.float32)
        return self.trials_from_coherence(key, np.repeat(coh, repeats))

    def evaluate(self, outputs, trials: Trials) -> dict:
        """Choice = sign of the mean output over the decision epoch; correct if = sign(c)."""
        outputs = self._check_outputs(outputs, trials)
        d0, d1 = self._bounds()["decision"]
        mean = jnp.mean(outputs[:, d0:d1, 0], axis=1)
        choice = jnp.where(mean >= 0, 1.0, -1.0)
        correct = choice == trials.conditions["target"]
        return {"accuracy": jnp.mean(correct), "choice": choice, "correct": correct}
