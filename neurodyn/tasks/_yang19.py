"""The 20-rule multitask collection of Yang, Joglekar, Song, Newsome & Wang 2019: the task
(its trials are laid out in `_yang19_trials.py`)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._typing import Key
from .._validate import ArgumentTypeError, check_bool, check_int, check_number
from ._base import MAX_STEPS, AbstractTask, too_many_steps
from ._compile import evaluator, keyed, sampler
from ._deprecated import deprecated
from ._score import Score
from ._trials import Trials
from ._utils import Numbers, grid, resolve
from ._yang19_trials import (
    FAMILY,
    FAMILY_MS,
    LONGEST_MS,
    N_UNIFORMS,
    RULES,
    popvec,
    yang19_trials,
)

YANG19_PRESETS = {
    # Yang et al. 2019: dt 20 ms, 32 units per ring, input noise 0.01·sqrt(2/α) with α = 0.2,
    # targets 0.8 (fixation) / 0.8-high bumps on a 0.05 baseline, response epochs of 500 ms.
    "yang19": dict(
        dt=20.0,
        n_ring=32,
        input_noise=0.01 * np.sqrt(10.0),
        weighted_mask=False,
        rules=RULES,
        rule_probs=None,
    ),
}


class Yang19(AbstractTask):
    """The 20 rules of Yang et al. 2019 in one task, rules mixed within a batch.

    Inputs (1 + 2·n_ring + 20 = 85): fixation, ring 1 (modality 1), ring 2 (modality 2), and a
    one-hot rule unit for each of the 20 rules (on for the whole trial). Outputs (1 + n_ring =
    33): fixation and a response ring. Targets follow Yang et al.'s least-squares version: a
    0.05 baseline, fixation output 0.8 until the response epoch (the whole trial on no-go
    trials), and a bump 0.8·exp(−d²/2) (d in units of π/8) around the response direction during
    the 500 ms response epoch. The mask is 1 from 100 ms to the response and from 100 ms after
    it to the end of the trial (Yang et al.'s weights 1, 5 and ×2 on fixation with
    `weighted_mask=True`).

    `Yang19.ALL_RULES` lists the 20 rule names (in the order of the rule inputs). `rules` picks
    the rules the task draws (by name) and `rule_probs` their probabilities (uniform by
    default); `sample` draws a rule per trial, `sample_rule` a batch of one rule and
    `sample_rules` a batch of any mix of the task's rules. Trials have variable lengths (padded to
    `n_steps` with mask 0). Performance (`evaluate`): at each trial's last step, fixating means
    fixation output > 0.5; a trial is correct when it fixates where it should, or does not
    fixate and the population-vector angle of the ring output is within 0.2π of the target.

    Conditions: `rule` (index into `RULES`), `stim1_loc`, `stim2_loc` (rad), `stim1_mod`,
    `stim2_mod` (1/2), `target_loc` (rad, −1 on no-go trials), `go`, `match`.
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    n_ring: int = eqx.field(static=True)
    input_noise: float = eqx.field(static=True)
    weighted_mask: bool = eqx.field(static=True)
    rules: tuple[str, ...] = eqx.field(static=True)
    rule_probs: tuple[float, ...] = eqx.field(static=True)
    ALL_RULES: ClassVar[tuple[str, ...]] = RULES

    def __init__(
        self,
        *,
        preset: str = "yang19",
        dt: float | None = None,
        n_ring: int | None = None,
        input_noise: float | None = None,
        weighted_mask: bool | None = None,
        rules: str | tuple[str, ...] | list[str] | None = None,
        rule_probs: Numbers | None = None,
    ):
        cfg = resolve(
            YANG19_PRESETS,
            preset,
            dict(
                dt=dt,
                n_ring=n_ring,
                input_noise=input_noise,
                weighted_mask=weighted_mask,
                rules=rules,
                rule_probs=rule_probs,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        if LONGEST_MS / self.dt > MAX_STEPS:
            raise too_many_steps(LONGEST_MS / self.dt, self.dt, "a trial")
        if 100.0 % self.dt > 1e-9 and abs(100.0 % self.dt - self.dt) > 1e-9:
            raise ValueError(f"dt must divide 100 ms (Yang et al.'s timings), got {self.dt}")
        self.n_ring = check_int(cfg["n_ring"], "n_ring", low=2)
        self.input_noise = check_number(cfg["input_noise"], "input_noise", low=0)
        self.weighted_mask = check_bool(cfg["weighted_mask"], "weighted_mask")
        rules = cfg["rules"]
        if isinstance(rules, str):
            rules = (rules,)
        elif isinstance(rules, (list, tuple)):
            rules = tuple(rules)
        else:
            raise ArgumentTypeError(
                f"rules must be a rule name or a list of names from {RULES}, got {rules!r}"
            )
        unknown = [r for r in rules if not isinstance(r, str) or r not in RULES]
        if not rules or unknown:
            raise ValueError(f"rules must be names from {RULES}, got unknown {unknown or rules}")
        self.rules = rules
        try:
            probs = (
                np.ones(len(rules))
                if cfg["rule_probs"] is None
                else np.asarray(cfg["rule_probs"], dtype=np.float64)
            )
        except (TypeError, ValueError):
            raise ArgumentTypeError(
                f"rule_probs must hold one non-negative weight per rule, got {cfg['rule_probs']!r}"
            ) from None
        if (
            probs.shape != (len(rules),)
            or not np.all(np.isfinite(probs))
            or np.any(probs < 0)
            or probs.sum() <= 0
        ):
            raise ValueError(
                f"rule_probs must hold one finite non-negative weight per rule (not all 0), "
                f"got {cfg['rule_probs']!r}"
            )
        self.rule_probs = tuple(float(p) for p in probs / probs.sum())

    @property
    def n_inputs(self) -> int:
        return 1 + 2 * self.n_ring + len(RULES)

    @property
    def n_outputs(self) -> int:
        return 1 + self.n_ring

    @property
    def n_steps(self) -> int:
        ms = max(FAMILY_MS[int(FAMILY[RULES.index(r)])] for r in self.rules) + 500
        return int(np.floor(ms / self.dt + 1e-6))
    @keyed
    def trials_from_conditions(
        self, key: Key, rule: Numbers, u: Float[ArrayLike, "uniforms batch"]
    ) -> Trials:
        """Trials for rules `rule [B]` (indices into `RULES`) with every random choice taken
        from uniforms `u [18, B]` in [0, 1) (rows: 0 stimulus-1 location, 1–2 distance to
        stimulus 2 and its sign, 3–4 modalities, 5–8 timings, 9 mean strength, 10–13 coherence
        and sign per modality, 14 match, 15–16 category locations); `key` draws input noise."""
        return yang19_trials(
            key,
            rule,
            u,
            n_steps=self.n_steps,
            dt=self.dt,
            n_ring=self.n_ring,
            input_noise=self.input_noise,
            weighted_mask=self.weighted_mask,
        )

    def trials_from_uniforms(
        self, key: Key, rule: Numbers, u: Float[ArrayLike, "uniforms batch"]
    ) -> Trials:
        """Deprecated name of `trials_from_conditions`."""
        deprecated("Yang19.trials_from_uniforms", "Yang19.trials_from_conditions")
        return self.trials_from_conditions(key, rule, u)

    def sample(self, key: Key, batch_size: int) -> Trials:
        """A batch mixing the task's rules with probabilities `rule_probs`."""
        return self._sample_mix(key, batch_size, self._cdf(self.rule_probs))

    def sample_rules(
        self,
        key: Key,
        batch_size: int,
        rules: str | tuple[str, ...] | list[str],
        probs: Numbers | None = None,
    ) -> Trials:
        """A batch mixing `rules` (names among the task's `rules`) with probabilities `probs`
        (uniform by default); rules not named are not drawn. The same compiled program as
        `sample` (the mix is an argument), so any mix costs no compilation."""
        names = (rules,) if isinstance(rules, str) else tuple(rules)
        foreign = [r for r in names if r not in self.rules]
        if not names or foreign:
            raise ValueError(
                f"rules must be names among the task's rules {self.rules}, got {foreign or names}"
            )
        p = np.ones(len(names)) if probs is None else np.asarray(probs, dtype=np.float64)
        if p.shape != (len(names),) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError(f"probs must hold one non-negative weight per rule, got {probs!r}")
        weights = np.zeros(len(self.rules))
        for name, w in zip(names, p):
            weights[self.rules.index(name)] += w
        return self._sample_mix(key, batch_size, self._cdf(weights / weights.sum()))

    def sample_rule(self, key: Key, batch_size: int, rule: str) -> Trials:
        """A batch of one rule (by name, among the task's `rules`)."""
        if not isinstance(rule, str):
            raise ValueError(f"rule must be a rule name, got {rule!r}")
        return self.sample_rules(key, batch_size, (rule,))

    @staticmethod
    def _cdf(probs: Numbers) -> np.ndarray:
        """The cumulative probabilities that split [0, 1) between the rules; 2 (never reached
        by a uniform draw) from the last rule of non-zero probability on, so that rounding
        never picks a rule of probability 0."""
        cdf = np.cumsum(probs)[:-1]
        cdf[np.flatnonzero(np.asarray(probs) > 0)[-1] :] = 2.0
        return np.asarray(cdf, np.float32)

    @sampler
    def _sample_mix(self, key: Key, batch_size: int, cdf: Float[ArrayLike, " rules"]) -> Trials:
        kr, ku, kn = jax.random.split(key, 3)
        idx = jnp.asarray([RULES.index(r) for r in self.rules], jnp.int32)
        which = jnp.sum(jax.random.uniform(kr, (batch_size,))[:, None] >= cdf[None, :], axis=1)
        u = jax.random.uniform(ku, (N_UNIFORMS * batch_size,)).reshape(N_UNIFORMS, batch_size)
        return self.trials_from_conditions(kn, idx[which], u)

    def conditions(self, key: Key, *, repeats: int = 1, n_locations: int = 8) -> Trials:
        """Every rule of the task × `n_locations` stimulus-1 directions × 2 (the binary factor of
        the rule: sign of the evidence, match/non-match), with median timings and the largest
        coherence. `key` only draws input noise."""
        g = grid(
            repeats,
            rule=np.array([RULES.index(r) for r in self.rules]),
            loc=np.arange(check_int(n_locations, "n_locations")),
            b=np.array([0, 1]),
        )
        B = g["rule"].shape[0]
        u = np.full((N_UNIFORMS, B), 0.5, np.float32)
        u[0] = (g["loc"] + 0.5) / n_locations
        u[[3, 4]] = 0.25
        u[[10, 12]] = 0.999
        lo_hi = np.where(g["b"] == 0, 0.25, 0.75)
        u[2], u[11], u[14] = lo_hi, lo_hi, lo_hi
        u[13] = 1.0 - lo_hi
        u[15] = (g["loc"] % 10 + 0.5) / 10
        return self.trials_from_conditions(key, g["rule"], u)

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """Yang et al.'s performance at each trial's last step (see the class docstring);
        `choice` = the population-vector angle (−1 when fixating), `rule_accuracy` the accuracy
        of each of the task's rules (NaN for a rule absent from the batch)."""
        last = trials.epochs["trial"][:, 1] - 1
        y = jnp.take_along_axis(outputs, last[:, None, None], axis=1)[:, 0, :]
        fixating = y[:, 0] > 0.5
        loc = popvec(y[:, 1:])
        target = trials.conditions["target_loc"]
        d = jnp.abs(loc - target)
        d = jnp.minimum(d, 2 * np.pi - d)
        should_fix = target < 0
        correct = jnp.where(should_fix, fixating, (~fixating) & (d < 0.2 * np.pi))
        rule = trials.conditions["rule"]
        idx = jnp.asarray([RULES.index(r) for r in self.rules])
        hit = rule[None, :] == idx[:, None]
        per_rule = jnp.sum(hit * correct[None], 1) / jnp.sum(hit, 1)
        return Score(
            accuracy=jnp.mean(correct),
            choice=jnp.where(fixating, -1.0, loc),
            correct=correct,
            no_response=fixating & ~should_fix,
            rule_accuracy=per_rule,
        )
