"""The 20-rule multitask collection of Yang, Joglekar, Song, Newsome & Wang 2019."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import ArgumentTypeError, check_bool, check_int, check_number
from ._base import MAX_STEPS, AbstractTask, too_many_steps
from ._utils import as_batch, evaluator, grid, keyed, make_trials, normal, sampler

RULES = (
    "fdgo", "reactgo", "delaygo", "fdanti", "reactanti", "delayanti",
    "dm1", "dm2", "contextdm1", "contextdm2", "multidm",
    "delaydm1", "delaydm2", "contextdelaydm1", "contextdelaydm2", "multidelaydm",
    "dmsgo", "dmsnogo", "dmcgo", "dmcnogo",
)  # fmt: skip

# Families: 0 fd-go, 1 react-go, 2 delay-go, 3 dm, 4 delay-dm, 5 dms, 6 dmc.
_FAMILY = np.array([0, 1, 2, 0, 1, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 6, 6])
_ANTI = np.array([0, 0, 0, 1, 1, 1] + [0] * 14)
# Modalities shown (mod 1, mod 2) and their weights in the decision, for the dm families.
_SHOWN = np.array([[1, 0], [0, 1], [1, 1], [1, 1], [1, 1]] * 2)
_WEIGHT = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1]] * 2)
_SHOWN = np.concatenate([np.ones((6, 2)), _SHOWN, np.ones((4, 2))]).astype(np.float32)
_WEIGHT = np.concatenate([np.ones((6, 2)), _WEIGHT, np.ones((4, 2))]).astype(np.float32)
_MATCH_GO = np.array([1] * 16 + [1, 0, 1, 0])
_K = 18  # uniforms per trial (see `trials_from_uniforms`)
# The longest trial of each family, without the 500 ms response (ms).
_FAMILY_MS = {
    0: 700 + 1500,
    1: 2500,
    2: 700 + 600 + 1600,
    3: 400 + 1600,
    4: 600 + 300 + 1600 + 300 + 300,
    5: 600 + 300 + 1600,
    6: 600 + 300 + 1600,
}
_LONGEST_MS = max(_FAMILY_MS.values()) + 500

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


def _bump(loc, pref):
    """0.8·exp(−d²/2) with d the circular distance in units of π/8 (Yang et al.'s tuning)."""
    pref = jnp.reshape(pref, (1,) * loc.ndim + (-1,))
    d = jnp.abs(loc[..., None] - pref)
    d = jnp.minimum(d, 2 * np.pi - d) / (np.pi / 8)
    return 0.8 * jnp.exp(-(d**2) / 2)


def popvec(y):
    """Population-vector angle of ring activity `y [..., n]` (preferred angles 2πk/n)."""
    pref = jnp.arange(y.shape[-1]) * (2 * np.pi / y.shape[-1])
    pref = jnp.reshape(pref, (1,) * (y.ndim - 1) + (-1,))
    s = jnp.sum(y, axis=-1)
    c = jnp.sum(y * jnp.cos(pref), axis=-1) / s
    si = jnp.sum(y * jnp.sin(pref), axis=-1) / s
    return jnp.mod(jnp.arctan2(si, c), 2 * np.pi)


def _ms(u, lo, hi, dt):
    """floor(U(lo, hi) / dt) steps from uniforms u (Yang et al.'s int(rng.uniform(lo, hi)/dt))."""
    return jnp.floor((lo + u * (hi - lo)) / dt + 1e-6).astype(jnp.int32)


def _pick(u, values_ms, dt):
    v = jnp.asarray(np.floor(np.asarray(values_ms) / dt + 1e-6), jnp.int32)
    return v[jnp.minimum((u * len(values_ms)).astype(jnp.int32), len(values_ms) - 1)]


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
        dt=None,
        n_ring=None,
        input_noise=None,
        weighted_mask=None,
        rules=None,
        rule_probs=None,
    ):
        from ._utils import resolve

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
        if _LONGEST_MS / self.dt > MAX_STEPS:
            raise too_many_steps(_LONGEST_MS / self.dt, self.dt, "a trial")
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
        ms = max(_FAMILY_MS[int(_FAMILY[RULES.index(r)])] for r in self.rules) + 500
        return int(np.floor(ms / self.dt + 1e-6))

    @keyed
    def trials_from_uniforms(self, key, rule, u):
        """Trials for rules `rule [B]` (indices into `RULES`) with every random choice taken
        from uniforms `u [18, B]` in [0, 1) (rows: 0 stimulus-1 location, 1–2 distance to
        stimulus 2 and its sign, 3–4 modalities, 5–8 timings, 9 mean strength, 10–13 coherence
        and sign per modality, 14 match, 15–16 category locations); `key` draws input noise."""
        rule = as_batch(rule, "rule", jnp.int32)
        u = jnp.asarray(u, jnp.float32)
        B, T, dt, n = rule.shape[0], self.n_steps, self.dt, self.n_ring
        if u.shape != (_K, B):
            raise ValueError(f"u must have shape ({_K}, batch), got {u.shape}")
        fam = jnp.asarray(_FAMILY)[rule]
        sign = lambda x: jnp.where(x < 0.5, 1.0, -1.0)  # noqa: E731
        mod = lambda x: jnp.where(x < 0.5, 1, 2)  # noqa: E731
        z = jnp.zeros((B,), jnp.int32)
        r500, c100 = int(round(500 / dt)), int(round(100 / dt))

        # Timings per family (steps): event onsets/offsets, fixation-input offset, response.
        fd_on = _ms(u[5], 300, 700, dt)
        fd_off = fd_on + _ms(u[6], 500, 1500, dt)
        rt_on = _ms(u[5], 500, 2500, dt)
        dl_on = _pick(u[5], (300, 500, 700), dt)
        dl_off = dl_on + _pick(u[6], (200, 400, 600), dt)
        dl_fix = dl_off + _pick(u[7], (200, 400, 800, 1600), dt)
        dm_on = _ms(u[5], 100, 400, dt)
        dm_off = dm_on + _pick(u[6], (400, 800, 1600), dt)
        s1_on = _pick(u[5], (200, 400, 600), dt)
        s1_off = s1_on + int(round(300 / dt))
        s2_on = s1_off + _pick(u[6], (200, 400, 800, 1600), dt)
        s2_off = s2_on + int(round(300 / dt))
        dd_fix = s2_off + _ms(u[8], 100, 300, dt)
        # resp_on and fixation-input offset per family, then the trial end.
        resp = jnp.stack([fd_off, rt_on, dl_fix, dm_off, dd_fix, s2_on, s2_on])
        resp_on = jnp.take_along_axis(resp, fam[None], 0)[0]
        end = resp_on + r500
        fix_in_off = jnp.where((fam == 1) | (fam >= 5), end, resp_on)

        # Locations and strengths.
        loc1 = 2 * np.pi * u[0]
        dm_dist = np.pi * (0.5 + u[1]) * sign(u[2])
        ms_dist = np.pi * (1 / 9 + (16 / 9) * u[1]) * sign(u[2])
        match = (u[14] < 0.5).astype(jnp.int32)
        cat_locs = jnp.asarray(np.arange(0.1, 2.0, 0.2) * np.pi, jnp.float32)
        c1 = cat_locs[jnp.minimum((u[15] * 10).astype(jnp.int32), 9)]
        c2_any = cat_locs[jnp.minimum((u[16] * 10).astype(jnp.int32), 9)]
        # dmc: the test location from the sample's category (match) or the other one.
        same_cat = c1 < np.pi
        c2 = jnp.where(
            match == 1,
            jnp.where(same_cat, c2_any % np.pi, c2_any % np.pi + np.pi),
            jnp.where(same_cat, c2_any % np.pi + np.pi, c2_any % np.pi),
        )
        loc1 = jnp.where(fam == 6, c1, loc1)
        loc2 = jnp.mod(
            jnp.select(
                [fam <= 2, fam <= 4, fam == 5],
                [loc1, loc1 + dm_dist, loc1 + ms_dist * (1 - match)],
                c2,
            ),
            2 * np.pi,
        )
        match = jnp.where(fam >= 5, match, 0)
        dm_cohs = jnp.where(fam == 3, 1.0, 0.0)[None]
        coh_sets = dm_cohs * jnp.asarray([0.01, 0.02, 0.04, 0.08, 0.08])[:, None]  # [5, B]
        coh_sets = coh_sets + (1 - dm_cohs) * jnp.asarray([0.08, 0.16, 0.32, 0.32, 0.32])[:, None]
        n_coh = jnp.where(fam == 3, 4, 3)

        def coh(x):
            i = jnp.minimum((x * n_coh).astype(jnp.int32), n_coh - 1)
            return jnp.take_along_axis(coh_sets, i[None], 0)[0]

        mean = 0.8 + 0.4 * u[9]
        d1, d2 = coh(u[10]) * sign(u[11]), coh(u[12]) * sign(u[13])
        shown = jnp.asarray(_SHOWN)[rule]  # [B, 2]
        weight = jnp.asarray(_WEIGHT)[rule]
        is_dm = (fam == 3) | (fam == 4)
        # Four stimulus slots: (stim 1, mod 1), (stim 2, mod 1), (stim 1, mod 2), (stim 2, mod 2)
        # for the dm families; slot 0 = the stimulus of the go family; slots 0/1 = sample/test
        # of the match families.
        s_dm = jnp.stack([mean + d1, mean - d1, mean + d2, mean - d2], 1) * jnp.repeat(
            shown, 2, axis=1
        )
        s_go = jnp.stack([jnp.ones(B), z, z, z], 1).astype(jnp.float32)
        s_ms = jnp.stack([jnp.ones(B), jnp.ones(B), z, z], 1).astype(jnp.float32)
        strength = jnp.where(is_dm[:, None], s_dm, jnp.where(fam[:, None] >= 5, s_ms, s_go))
        locs = jnp.stack([loc1, loc2, loc1, loc2], 1)
        m_go, m1, m2 = mod(u[3]), mod(u[3]), mod(u[4])
        mods = jnp.where(
            is_dm[:, None],
            jnp.asarray([1, 1, 2, 2])[None],
            jnp.where(
                fam[:, None] >= 5,
                jnp.stack([m1, m2, m1, m1], 1),
                jnp.stack([m_go, m_go, m_go, m_go], 1),
            ),
        )
        on_dm = jnp.where(fam == 3, dm_on, s1_on)
        off_dm = jnp.where(fam == 3, dm_off, s1_off)
        on2_dm = jnp.where(fam == 3, dm_on, s2_on)
        off2_dm = jnp.where(fam == 3, dm_off, s2_off)
        go_on = jnp.select([fam == 0, fam == 1], [fd_on, rt_on], dl_on)
        go_off = jnp.where(fam == 2, dl_off, end)
        ons = jnp.where(
            is_dm[:, None],
            jnp.stack([on_dm, on2_dm, on_dm, on2_dm], 1),
            jnp.where(
                fam[:, None] >= 5,
                jnp.stack([s1_on, s2_on, z, z], 1),
                jnp.stack([go_on, z, z, z], 1),
            ),
        )
        offs = jnp.where(
            is_dm[:, None],
            jnp.stack([off_dm, off2_dm, off_dm, off2_dm], 1),
            jnp.where(
                fam[:, None] >= 5,
                jnp.stack([s1_off, end, z, z], 1),
                jnp.stack([go_off, z, z, z], 1),
            ),
        )

        # The answer.
        anti = jnp.asarray(_ANTI)[rule]
        ev1 = jnp.sum(weight * jnp.stack([mean + d1, mean + d2], 1), 1)
        ev2 = jnp.sum(weight * jnp.stack([mean - d1, mean - d2], 1), 1)
        dm_loc = jnp.where(ev1 > ev2, loc1, loc2)
        go = jnp.where(fam >= 5, match == jnp.asarray(_MATCH_GO)[rule], True)
        target_loc = jnp.select(
            [fam <= 2, is_dm], [jnp.mod(loc1 + np.pi * anti, 2 * np.pi), dm_loc], loc2
        )
        target_loc = jnp.where(go, target_loc, -1.0)

        # Inputs.
        t = jnp.arange(T)[None, :]
        in_trial = (t < end[:, None]).astype(jnp.float32)
        pref = jnp.arange(n) * (2 * np.pi / n)
        win = (t[:, None, :] >= ons[:, :, None]) & (t[:, None, :] < offs[:, :, None])
        bumps = _bump(locs, pref) * strength[:, :, None]  # [B, 4, n]
        onehot_mod = jax.nn.one_hot(mods - 1, 2)  # [B, 4, 2]
        rings = jnp.einsum("bet,bem,bek->btmk", win.astype(jnp.float32), onehot_mod, bumps)
        fix_in = (t < fix_in_off[:, None]).astype(jnp.float32)
        rule_in = jax.nn.one_hot(rule, len(RULES))[:, None, :] * in_trial[:, :, None]
        inputs = jnp.concatenate([fix_in[:, :, None], rings.reshape(B, T, 2 * n), rule_in], -1)
        inputs = inputs + self.input_noise * normal(key, inputs.shape) * in_trial[:, :, None]

        # Targets and mask.
        responding = (t >= resp_on[:, None]) & go[:, None]
        fix_out = jnp.where(responding, 0.05, 0.8)
        ring_out = (
            0.05 + _bump(jnp.maximum(target_loc, 0.0), pref)[:, None, :] * responding[:, :, None]
        )
        targets = jnp.concatenate([fix_out[:, :, None], ring_out], -1)
        pre = (t >= c100) & (t < resp_on[:, None])
        post = (t >= (resp_on + c100)[:, None]) & (t < end[:, None])
        if self.weighted_mask:
            w = pre * 1.0 + post * 5.0
            mask = jnp.concatenate([2 * w[:, :, None], jnp.repeat(w[:, :, None], n, 2)], -1)
        else:
            mask = jnp.broadcast_to((pre | post)[:, :, None], targets.shape)
        mask = mask.astype(jnp.float32)
        targets = targets * (mask > 0)

        ev = lambda a, b: jnp.stack([a, b], 1)  # noqa: E731
        epochs = {
            "fixation": ev(z, ons[:, 0]),
            "stim1": ev(ons[:, 0], offs[:, 0]),
            "stim2": jnp.where(fam[:, None] >= 3, ev(ons[:, 1], offs[:, 1]), ev(end, end)),
            "response": ev(resp_on, end),
            "trial": ev(z, end),
        }
        conditions = {
            "rule": rule,
            "stim1_loc": loc1,
            "stim2_loc": jnp.where(fam >= 3, loc2, -1.0),
            "stim1_mod": mods[:, 0],
            "stim2_mod": jnp.where(fam >= 3, mods[:, 1], 0),
            "target_loc": target_loc,
            "go": go.astype(jnp.int32),
            "match": match,
        }
        return make_trials(inputs, targets, mask, conditions, epochs, self.dt)

    def sample(self, key, batch_size: int):
        """A batch mixing the task's rules with probabilities `rule_probs`."""
        return self._sample_mix(key, batch_size, self._cdf(self.rule_probs))

    def sample_rules(self, key, batch_size: int, rules, probs=None):
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

    def sample_rule(self, key, batch_size: int, rule: str):
        """A batch of one rule (by name, among the task's `rules`)."""
        if not isinstance(rule, str):
            raise ValueError(f"rule must be a rule name, got {rule!r}")
        return self.sample_rules(key, batch_size, (rule,))

    @staticmethod
    def _cdf(probs):
        """The cumulative probabilities that split [0, 1) between the rules; 2 (never reached
        by a uniform draw) from the last rule of non-zero probability on, so that rounding
        never picks a rule of probability 0."""
        cdf = np.cumsum(probs)[:-1]
        cdf[np.flatnonzero(np.asarray(probs) > 0)[-1] :] = 2.0
        return np.asarray(cdf, np.float32)

    @sampler
    def _sample_mix(self, key, batch_size: int, cdf):
        kr, ku, kn = jax.random.split(key, 3)
        idx = jnp.asarray([RULES.index(r) for r in self.rules], jnp.int32)
        which = jnp.sum(jax.random.uniform(kr, (batch_size,))[:, None] >= cdf[None, :], axis=1)
        u = jax.random.uniform(ku, (_K * batch_size,)).reshape(_K, batch_size)
        return self.trials_from_uniforms(kn, idx[which], u)

    def conditions(self, key, *, repeats: int = 1, n_locations: int = 8):
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
        u = np.full((_K, B), 0.5, np.float32)
        u[0] = (g["loc"] + 0.5) / n_locations
        u[[3, 4]] = 0.25
        u[[10, 12]] = 0.999
        lo_hi = np.where(g["b"] == 0, 0.25, 0.75)
        u[2], u[11], u[14] = lo_hi, lo_hi, lo_hi
        u[13] = 1.0 - lo_hi
        u[15] = (g["loc"] % 10 + 0.5) / 10
        return self.trials_from_uniforms(key, g["rule"], u)

    @evaluator
    def evaluate(self, outputs, trials) -> dict:
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
        return {
            "accuracy": jnp.mean(correct),
            "choice": jnp.where(fixating, -1.0, loc),
            "correct": correct,
            "no_response": fixating & ~should_fix,
            "rule_accuracy": per_rule,
        }
