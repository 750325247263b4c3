"""Context-dependent integration (Mante et al. 2013) and multisensory integration (Raposo et al.
2014), in the versions of Dubreuil et al. 2022 and of NeuroGym."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._typing import Key
from .._validate import check_number
from ._compile import keyed
from ._epoch_tasks import AbstractChoiceTask
from ._epochs import Duration, DurationSpec, epoch_durations
from ._trials import Trials
from ._utils import (
    Numbers,
    as_batches,
    check_values,
    choose,
    grid,
    integers,
    normal,
    resolve,
    signs,
    uniforms,
)

_CTX_EPOCHS = ("fixation", "context_only", "stimulus", "delay", "decision")

CONTEXT_PRESETS = {
    # Dubreuil et al. 2022 (low_rank_rnns, mante.py). The paper's code asks for 350 ms of
    # context-only input and floors it to 17 steps of 20 ms, i.e. 340 ms: we store what it runs.
    "dubreuil2022": dict(
        dt=20.0,
        fixation=100.0,
        context_only=340.0,
        stimulus=800.0,
        delay=100.0,
        decision=20.0,
        coherences=(-0.4, -0.2, -0.1, 0.1, 0.2, 0.4),
        input_noise=0.1,
        context_level=0.1,
    ),
    # NeuroGym ContextDecisionMaking(use_expl_context=True): coherences in % (unsigned; the
    # side is drawn separately), noise sigma/sqrt(dt) = 0.1, stimulus 750 ms floored to 700 by
    # NeuroGym at dt = 100, delay truncated-exponential (mean 600 ms, in [300, 3000)).
    "neurogym": dict(
        dt=100.0,
        fixation=300.0,
        context_only=0.0,
        stimulus=700.0,
        delay=("truncexp", 600.0, 300.0, 3000.0),
        decision=100.0,
        coherences=(5.0, 15.0, 50.0),
        input_noise=0.1,
        context_level=1.0,
    ),
}


def _signed(u: Float[Array, "2 batch"], task: _AbstractContextTask) -> Float[Array, " batch"]:
    """Signed coherences from uniforms `u [2, B]`: drawn from the list (dubreuil2022), or |c|
    from the list with a random sign (neurogym)."""
    c = choose(u[0], task.coherences)
    if task.preset == "neurogym":
        c = c * signs(u[1])
    return c


def _grid_coherences(
    task: _AbstractContextTask, coherences: Numbers | None
) -> np.ndarray:
    if coherences is not None:
        return np.asarray(check_values(coherences, "coherences"), dtype=np.float32)
    c = np.asarray(task.coherences, dtype=np.float32)
    return np.concatenate([-c[::-1], c]) if task.preset == "neurogym" else c


def _ring2(coh: Float[Array, " batch"]) -> Float[Array, "batch 2"]:
    """NeuroGym's two-unit stimulus: cos(θ − θ_choice)·|c|/200 + 0.5 with θ ∈ {0, π}."""
    return jnp.stack([0.5 + coh / 200.0, 0.5 - coh / 200.0], axis=-1)


class _AbstractContextTask(AbstractChoiceTask):
    """What the context and multisensory tasks share: their epochs (fixation → context_only →
    stimulus → delay → decision), parameters and constructor. `_PRESETS` holds a subclass's
    presets; `_SIGNED` whether its coherences carry the answer's sign (else |c|)."""

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    context_only: Duration = eqx.field(static=True)
    stimulus: Duration = eqx.field(static=True)
    delay: Duration = eqx.field(static=True)
    decision: Duration = eqx.field(static=True)
    coherences: tuple[float, ...] = eqx.field(static=True)
    input_noise: float = eqx.field(static=True)
    context_level: float = eqx.field(static=True)
    epoch_names: ClassVar[tuple[str, ...]] = _CTX_EPOCHS
    _PRESETS: eqx.AbstractClassVar[dict[str, dict]]
    _SIGNED: eqx.AbstractClassVar[bool]

    def __init__(
        self,
        *,
        preset: str = "dubreuil2022",
        dt: float | None = None,
        fixation: DurationSpec | None = None,
        context_only: DurationSpec | None = None,
        stimulus: DurationSpec | None = None,
        delay: DurationSpec | None = None,
        decision: DurationSpec | None = None,
        coherences: Numbers | None = None,
        input_noise: float | None = None,
        context_level: float | None = None,
    ):
        cfg = resolve(
            self._PRESETS,
            preset,
            dict(
                dt=dt,
                fixation=fixation,
                context_only=context_only,
                stimulus=stimulus,
                delay=delay,
                decision=decision,
                coherences=coherences,
                input_noise=input_noise,
                context_level=context_level,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        (
            self.fixation,
            self.context_only,
            self.stimulus,
            self.delay,
            self.decision,
        ) = epoch_durations(cfg, self.epoch_names, self.dt, at_least_one=("stimulus", "decision"))
        # NeuroGym's coherences are unsigned percentages (the side is drawn separately).
        high = 100 if preset == "neurogym" else 1
        low = -high if self._SIGNED and preset != "neurogym" else 0
        self.coherences = check_values(
            cfg["coherences"], "coherences", low=low, high=high, nonzero=True
        )
        self.input_noise = check_number(cfg["input_noise"], "input_noise", low=0)
        self.context_level = check_number(cfg["context_level"], "context_level")


class ContextDecisionMaking(_AbstractContextTask):
    """Context-dependent integration of one of two noisy stimuli (Mante et al. 2013).

    Preset `dubreuil2022` (the default): inputs `[A, B, ctx_A, ctx_B]`; A and B carry signed
    coherences during the stimulus epoch plus white noise (std `input_noise`) on every step; the
    context unit of the relevant stimulus is at `context_level` from the end of fixation to the
    start of the decision. One output; target sign(relevant coherence) ∈ {±1} in the decision
    epoch, masked elsewhere; correct when the mean output there has that sign.

    Preset `neurogym` (NeuroGym's layout with explicit context): inputs `[fixation, A₁, A₂, B₁,
    B₂, ctx_A, ctx_B]`, outputs `[fixation, choice 1, choice 2]` one-hot, mask on every step of
    the trial; |coherence| in % from `coherences`, side drawn at random.

    Epochs: fixation → context_only → stimulus → delay → decision. Conditions: `coh_a`,
    `coh_b` (signed), `context` (0: attend A, 1: attend B), `target` (±1).
    """

    _PRESETS: ClassVar[dict] = CONTEXT_PRESETS
    _SIGNED: ClassVar[bool] = True

    @property
    def n_inputs(self) -> int:
        return 7 if self.preset == "neurogym" else 4

    @keyed
    def trials_from_conditions(
        self,
        key: Key,
        coh_a: Numbers,
        coh_b: Numbers,
        context: Numbers,
        *,
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Trials with the given per-trial signed coherences and contexts (0 = attend A).

        `durations` (optional, `{epoch: ms or [B] ms}`) fixes epoch durations; noise and the
        other variable epochs come from `key`.
        """
        coh_a, coh_b, context = as_batches(
            coh_a=coh_a, coh_b=coh_b, context=(context, jnp.int32)
        )
        k_layout, k_noise = jax.random.split(key)
        L = self._layout(k_layout, coh_a.shape[0], durations)
        stim = L.window("stimulus")[:, :, None]
        target = jnp.sign(jnp.where(context == 0, coh_a, coh_b))
        ctx = jax.nn.one_hot(context, 2, dtype=jnp.float32)[:, None, :] * self.context_level
        if self._onehot:
            sens = jnp.concatenate([_ring2(coh_a), _ring2(coh_b)], axis=-1)[:, None, :] * stim
            sens = sens + self.input_noise * L.noise(k_noise, "stimulus", 4)
            inputs = L.concat(L.window("fixation")[:, :, None], sens, ctx * L.trial[:, :, None])
        else:
            sens = jnp.stack([coh_a, coh_b], axis=-1)[:, None, :] * stim
            sens = sens + self.input_noise * normal(k_noise, (L.batch, L.n_steps, 2))
            inputs = L.concat(sens, ctx * L.window("context_only", "delay")[:, :, None])
        conditions = {
            "coh_a": coh_a,
            "coh_b": coh_b,
            "context": context,
            "delay": L.length_ms("delay"),
        }
        return self._choice_trials(L, inputs, target, conditions)

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        u = uniforms(key, 5, batch_size)
        return {
            "coh_a": _signed(u[0:2], self),
            "coh_b": _signed(u[2:4], self),
            "context": integers(u[4], 0, 1),
        }

    def conditions(
        self,
        key: Key,
        *,
        repeats: int = 1,
        coherences: Numbers | None = None,
        contexts: Numbers = (0, 1),
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Every (context, coh_a, coh_b) combination, `repeats` times each, in that order;
        variable epochs at their longest unless `durations` (`{epoch: ms}`) says otherwise."""
        c = _grid_coherences(self, coherences)
        g = grid(repeats, context=np.asarray(contexts), coh_a=c, coh_b=c)
        return self._grid_trials(key, durations, **g)


MSI_PRESETS = {
    # Dubreuil et al. 2022 (low_rank_rnns, raposo.py): same timing as the context task; the
    # modality units are on from the end of fixation to the end of the stimulus.
    "dubreuil2022": dict(
        dt=20.0,
        fixation=100.0,
        context_only=340.0,
        stimulus=800.0,
        delay=100.0,
        decision=20.0,
        coherences=(0.1, 0.2, 0.4),
        input_noise=0.1,
        context_level=0.1,
    ),
    # NeuroGym MultiSensoryIntegration: both modalities always, the coherence split between
    # them by a uniform proportion; stimulus 750 ms floored to 700 at dt = 100.
    "neurogym": dict(
        dt=100.0,
        fixation=300.0,
        context_only=0.0,
        stimulus=700.0,
        delay=0.0,
        decision=100.0,
        coherences=(5.0, 15.0, 50.0),
        input_noise=0.1,
        context_level=0.0,
    ),
}

MODALITIES = ("visual", "auditory", "both")


class MultiSensoryIntegration(_AbstractContextTask):
    """Multisensory evidence integration (Raposo et al. 2014).

    Preset `dubreuil2022` (the default): inputs `[visual, auditory, ctx_visual, ctx_auditory]`.
    Each trial has a choice ±1 and a modality (0 visual, 1 auditory, 2 both); every active
    channel carries a coherence drawn from `coherences` with the sign of the choice, plus noise
    on every step; the active modality units are at `context_level` from the end of fixation
    to the end of the stimulus. One output, target ±1 in the decision epoch.

    Preset `neurogym`: inputs `[fixation, V₁, V₂, A₁, A₂]`, both modalities always on, the
    coherence split between them by a uniform proportion; outputs one-hot `[fixation, 1, 2]`.

    Conditions: `coh_visual`, `coh_auditory` (signed, 0 when absent), `modality`, `target`.
    """

    _PRESETS: ClassVar[dict] = MSI_PRESETS
    _SIGNED: ClassVar[bool] = False

    @property
    def n_inputs(self) -> int:
        return 5 if self.preset == "neurogym" else 4

    @keyed
    def trials_from_conditions(
        self,
        key: Key,
        coh_visual: Numbers,
        coh_auditory: Numbers,
        modality: Numbers,
        *,
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Trials with given signed coherences (0 for an absent channel) and modalities."""
        cv, ca, modality = as_batches(
            coh_visual=coh_visual, coh_auditory=coh_auditory, modality=(modality, jnp.int32)
        )
        k_layout, k_noise = jax.random.split(key)
        L = self._layout(k_layout, cv.shape[0], durations)
        stim = L.window("stimulus")[:, :, None]
        target = jnp.sign(cv + ca)
        if self._onehot:
            sens = jnp.concatenate([_ring2(cv), _ring2(ca)], axis=-1)[:, None, :]
            inputs = L.concat(L.until("delay", "stop")[:, :, None], sens * stim)
            inputs = inputs + self.input_noise * normal(k_noise, (L.batch, L.n_steps, 5)) * stim
        else:
            vis = (modality != 1).astype(jnp.float32)
            aud = (modality != 0).astype(jnp.float32)
            sens = jnp.stack([cv * vis, ca * aud], axis=-1)[:, None, :] * stim
            sens = sens + self.input_noise * normal(k_noise, (L.batch, L.n_steps, 2))
            ctx_win = L.window("context_only", "stimulus")[:, :, None]
            ctx = jnp.stack([vis, aud], axis=-1)[:, None, :] * ctx_win
            inputs = L.concat(sens, self.context_level * ctx)
        conditions = {"coh_visual": cv, "coh_auditory": ca, "modality": modality}
        return self._choice_trials(L, inputs, target, conditions)

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        u = uniforms(key, 4, batch_size)
        choice = signs(u[0])
        if self.preset == "neurogym":
            coh = choose(u[1], self.coherences)
            prop = u[2]
            cv, ca = choice * coh * prop, choice * coh * (1 - prop)
            modality = jnp.full((batch_size,), 2, jnp.int32)
        else:
            modality = integers(u[3], 0, 2)
            cv = choice * choose(u[1], self.coherences)
            ca = choice * choose(u[2], self.coherences)
            # the casts standard promotion made (strict promotion, the tests', refuses the mix)
            cv = cv * (modality != 1).astype(cv.dtype)
            ca = ca * (modality != 0).astype(ca.dtype)
        return {"coh_visual": cv, "coh_auditory": ca, "modality": modality}

    def conditions(
        self,
        key: Key,
        *,
        repeats: int = 1,
        coherences: Numbers | None = None,
        modalities: Numbers = (0, 1, 2),
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Every (modality, signed coherence) pair, the same coherence on each active channel
        (split in half between the channels for preset `neurogym`)."""
        c = self.coherences if coherences is None else check_values(coherences, "coherences")
        c = np.asarray(c, np.float32)
        c = np.unique(np.concatenate([-np.abs(c), np.abs(c)]))
        g = grid(repeats, modality=np.asarray(modalities), coherence=c)
        m, coh = g["modality"], g["coherence"]
        if self.preset == "neurogym":
            cv, ca, m = coh / 2, coh / 2, np.full_like(m, 2)
        else:
            cv, ca = coh * (m != 1), coh * (m != 0)
        return self._grid_trials(key, durations, coh_visual=cv, coh_auditory=ca, modality=m)
