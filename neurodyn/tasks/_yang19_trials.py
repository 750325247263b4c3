"""The trials of Yang, Joglekar, Song, Newsome & Wang 2019's 20 rules, built from uniforms: the
rules' constants and the one batched function that lays out any mix of them (the task class,
its sampling and scoring are in `_yang19.py`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._typing import Key
from ._trials import Trials
from ._utils import Numbers, as_batch, make_trials, normal

RULES = (
    "fdgo", "reactgo", "delaygo", "fdanti", "reactanti", "delayanti",
    "dm1", "dm2", "contextdm1", "contextdm2", "multidm",
    "delaydm1", "delaydm2", "contextdelaydm1", "contextdelaydm2", "multidelaydm",
    "dmsgo", "dmsnogo", "dmcgo", "dmcnogo",
)  # fmt: skip

# Families: 0 fd-go, 1 react-go, 2 delay-go, 3 dm, 4 delay-dm, 5 dms, 6 dmc.
FAMILY = np.array([0, 1, 2, 0, 1, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 6, 6])
_ANTI = np.array([0, 0, 0, 1, 1, 1] + [0] * 14)
# Modalities shown (mod 1, mod 2) and their weights in the decision, for the dm families.
_SHOWN = np.array([[1, 0], [0, 1], [1, 1], [1, 1], [1, 1]] * 2)
_WEIGHT = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1]] * 2)
_SHOWN = np.concatenate([np.ones((6, 2)), _SHOWN, np.ones((4, 2))]).astype(np.float32)
_WEIGHT = np.concatenate([np.ones((6, 2)), _WEIGHT, np.ones((4, 2))]).astype(np.float32)
_MATCH_GO = np.array([1] * 16 + [1, 0, 1, 0])
N_UNIFORMS = 18  # uniforms per trial (see `yang19_trials`)
# The longest trial of each family, without the 500 ms response (ms).
FAMILY_MS = {
    0: 700 + 1500,
    1: 2500,
    2: 700 + 600 + 1600,
    3: 400 + 1600,
    4: 600 + 300 + 1600 + 300 + 300,
    5: 600 + 300 + 1600,
    6: 600 + 300 + 1600,
}
LONGEST_MS = max(FAMILY_MS.values()) + 500


def _bump(loc: Float[Array, "*shape"], pref: Float[Array, " n"]) -> Float[Array, "*shape n"]:
    """0.8·exp(−d²/2) with d the circular distance in units of π/8 (Yang et al.'s tuning)."""
    pref = jnp.reshape(pref, (1,) * loc.ndim + (-1,))
    d = jnp.abs(loc[..., None] - pref)
    d = jnp.minimum(d, 2 * np.pi - d) / (np.pi / 8)
    return 0.8 * jnp.exp(-(d**2) / 2)


def popvec(y: Float[ArrayLike, "*batch n"]) -> Float[Array, "*batch"]:
    """Population-vector angle of ring activity `y [..., n]` (preferred angles 2πk/n)."""
    pref = jnp.arange(y.shape[-1], dtype=float) * (2 * np.pi / y.shape[-1])
    pref = jnp.reshape(pref, (1,) * (y.ndim - 1) + (-1,))
    s = jnp.sum(y, axis=-1)
    c = jnp.sum(y * jnp.cos(pref), axis=-1) / s
    si = jnp.sum(y * jnp.sin(pref), axis=-1) / s
    return jnp.mod(jnp.arctan2(si, c), 2 * np.pi)


def _ms(u: Float[Array, " batch"], lo: float, hi: float, dt: float) -> Int[Array, " batch"]:
    """floor(U(lo, hi) / dt) steps from uniforms u (Yang et al.'s int(rng.uniform(lo, hi)/dt))."""
    return jnp.floor((lo + u * (hi - lo)) / dt + 1e-6).astype(jnp.int32)


def _pick(
    u: Float[Array, " batch"], values_ms: tuple[float, ...], dt: float
) -> Int[Array, " batch"]:
    """One of `values_ms` (floored to steps) per trial, uniformly, from uniforms `u`."""
    v = jnp.asarray(np.floor(np.asarray(values_ms) / dt + 1e-6), jnp.int32)
    return v[jnp.minimum((u * len(values_ms)).astype(jnp.int32), len(values_ms) - 1)]


def yang19_trials(
    key: Key,
    rule: Numbers,
    u: Float[ArrayLike, "uniforms batch"],
    *,
    n_steps: int,
    dt: float,
    n_ring: int,
    input_noise: float,
    weighted_mask: bool,
) -> Trials:
    """Trials for rules `rule [B]` (indices into `RULES`) with every random choice taken
    from uniforms `u [18, B]` in [0, 1) (rows: 0 stimulus-1 location, 1–2 distance to
    stimulus 2 and its sign, 3–4 modalities, 5–8 timings, 9 mean strength, 10–13 coherence
    and sign per modality, 14 match, 15–16 category locations); `key` draws input noise.
    The layout is that of the `Yang19` task of these settings (its docstring)."""
    rule = as_batch(rule, "rule", jnp.int32)
    u = jnp.asarray(u, jnp.float32)
    B, T, n = rule.shape[0], n_steps, n_ring
    if u.shape != (N_UNIFORMS, B):
        raise ValueError(f"u must have shape ({N_UNIFORMS}, batch), got {u.shape}")
    fam = jnp.asarray(FAMILY)[rule]
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
            [loc1, loc1 + dm_dist, loc1 + ms_dist * (1 - match).astype(ms_dist.dtype)],
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
    zf = z.astype(jnp.float32)  # strict promotion refuses stacking floats with integers
    s_go = jnp.stack([jnp.ones(B), zf, zf, zf], 1).astype(jnp.float32)
    s_ms = jnp.stack([jnp.ones(B), jnp.ones(B), zf, zf], 1).astype(jnp.float32)
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
        [fam <= 2, is_dm], [jnp.mod(loc1 + np.pi * anti.astype(float), 2 * np.pi), dm_loc], loc2
    )
    target_loc = jnp.where(go, target_loc, -1.0)

    # Inputs.
    t = jnp.arange(T)[None, :]
    in_trial = (t < end[:, None]).astype(jnp.float32)
    pref = jnp.arange(n, dtype=float) * (2 * np.pi / n)
    win = (t[:, None, :] >= ons[:, :, None]) & (t[:, None, :] < offs[:, :, None])
    bumps = _bump(locs, pref) * strength[:, :, None]  # [B, 4, n]
    onehot_mod = jax.nn.one_hot(mods - 1, 2)  # [B, 4, 2]
    rings = jnp.einsum("bet,bem,bek->btmk", win.astype(jnp.float32), onehot_mod, bumps)
    fix_in = (t < fix_in_off[:, None]).astype(jnp.float32)
    rule_in = jax.nn.one_hot(rule, len(RULES))[:, None, :] * in_trial[:, :, None]
    inputs = jnp.concatenate([fix_in[:, :, None], rings.reshape(B, T, 2 * n), rule_in], -1)
    inputs = inputs + input_noise * normal(key, inputs.shape) * in_trial[:, :, None]

    # Targets and mask.
    responding = (t >= resp_on[:, None]) & go[:, None]
    fix_out = jnp.where(responding, 0.05, 0.8)
    ring_out = (
        0.05
        + _bump(jnp.maximum(target_loc, 0.0), pref)[:, None, :]
        * responding[:, :, None].astype(float)
    )
    targets = jnp.concatenate([fix_out[:, :, None], ring_out], -1)
    pre = (t >= c100) & (t < resp_on[:, None])
    post = (t >= (resp_on + c100)[:, None]) & (t < end[:, None])
    if weighted_mask:
        w = pre.astype(float) * 1.0 + post.astype(float) * 5.0
        mask = jnp.concatenate([2 * w[:, :, None], jnp.repeat(w[:, :, None], n, 2)], -1)
    else:
        mask = jnp.broadcast_to((pre | post)[:, :, None], targets.shape)
    mask = mask.astype(jnp.float32)
    targets = targets * (mask > 0).astype(targets.dtype)

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
    return make_trials(inputs, targets, mask, conditions, epochs, dt)

