"""Working-memory tasks: parametric working memory (Romo et al. 1999) and delayed
match-to-sample, in the versions of Dubreuil et al. 2022 and of NeuroGym."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._typing import Key
from .._validate import ArgumentTypeError, check_number
from ._compile import evaluator, keyed
from ._epoch_tasks import AbstractChoiceTask
from ._epochs import Duration, DurationSpec, epoch_durations
from ._score import Score
from ._trials import Trials
from ._utils import Numbers, as_batches, grid, integers, normal, resolve, uniforms

_EPOCHS = ("fixation", "stimulus1", "delay", "stimulus2", "decision")


def _romo_pairs(
    differences: tuple[int, ...] = (8, 16, 24), f_min: int = 10, f_max: int = 34
) -> tuple[tuple[float, float], ...]:
    """Every integer pair (f1, f1 ± d) inside [f_min, f_max] (Dubreuil et al.'s `fpairs`)."""
    pairs = []
    for d in sorted({-d for d in differences} | set(differences)):
        for f1 in range(max(f_min - d, f_min), min(f_max, f_max - d) + 1):
            pairs.append((float(f1), float(f1 + d)))
    return tuple(pairs)


DELAY_COMPARISON_PRESETS = {
    # Dubreuil et al. 2022 (low_rank_rnns, romo.py): input (f - 22)/24, graded target
    # (f1 - f2)/24 over the decision epoch, input noise 0.01.
    "dubreuil2022": dict(
        dt=20.0,
        fixation=100.0,
        stimulus1=100.0,
        delay=(500.0, 1000.0),
        stimulus2=100.0,
        decision=100.0,
        pairs=_romo_pairs(),
        input_noise=0.01,
    ),
    # NeuroGym DelayComparison: five frequency pairs in either order, fixed delay.
    "neurogym": dict(
        dt=100.0,
        fixation=500.0,
        stimulus1=500.0,
        delay=1000.0,
        stimulus2=500.0,
        decision=100.0,
        pairs=(
            (18.0, 10.0),
            (22.0, 14.0),
            (26.0, 18.0),
            (30.0, 22.0),
            (34.0, 26.0),
            (10.0, 18.0),
            (14.0, 22.0),
            (18.0, 26.0),
            (22.0, 30.0),
            (26.0, 34.0),
        ),
        input_noise=0.1,
    ),
}


class DelayComparison(AbstractChoiceTask):
    """Parametric working memory (Romo et al. 1999): compare two frequencies.

    The two vibration frequencies f1, f2 are separated by a delay.

    Preset `dubreuil2022` (the default): one input, (f − f_mid)/f_span during each stimulus
    (f_mid, f_span from the task's pairs: 22 and 24 Hz) plus noise on every step; one output
    with the graded target (f1 − f2)/f_span over the decision epoch; a trial is correct when
    the mean output there has the sign of f1 − f2. Delay uniform in [500, 1000] ms.

    Preset `neurogym`: inputs `[fixation, stimulus]` with stimulus (1 + (f − f_min)/(f_max −
    f_min))/2, outputs one-hot `[fixation, f1 > f2, f1 < f2]`.

    Epochs: fixation → stimulus1 → delay → stimulus2 → decision. Conditions: `f1`, `f2`,
    `target` ((f1 − f2)/f_span), `delay` (ms).
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    stimulus1: Duration = eqx.field(static=True)
    delay: Duration = eqx.field(static=True)
    stimulus2: Duration = eqx.field(static=True)
    decision: Duration = eqx.field(static=True)
    pairs: tuple[tuple[float, float], ...] = eqx.field(static=True)
    input_noise: float = eqx.field(static=True)
    epoch_names: ClassVar[tuple[str, ...]] = _EPOCHS

    def __init__(
        self,
        *,
        preset: str = "dubreuil2022",
        dt: float | None = None,
        fixation: DurationSpec | None = None,
        stimulus1: DurationSpec | None = None,
        delay: DurationSpec | None = None,
        stimulus2: DurationSpec | None = None,
        decision: DurationSpec | None = None,
        pairs: Sequence[tuple[float, float]] | Numbers | None = None,
        input_noise: float | None = None,
    ):
        cfg = resolve(
            DELAY_COMPARISON_PRESETS,
            preset,
            dict(
                dt=dt,
                fixation=fixation,
                stimulus1=stimulus1,
                delay=delay,
                stimulus2=stimulus2,
                decision=decision,
                pairs=pairs,
                input_noise=input_noise,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.fixation, self.stimulus1, self.delay, self.stimulus2, self.decision = (
            epoch_durations(
                cfg, _EPOCHS, self.dt, at_least_one=("stimulus1", "stimulus2", "decision")
            )
        )
        try:
            p = np.asarray(cfg["pairs"], dtype=np.float64)
        except (TypeError, ValueError):
            raise ArgumentTypeError(
                f"pairs must be a non-empty list of (f1, f2) frequencies, got {cfg['pairs']!r}"
            ) from None
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0 or not np.all(np.isfinite(p)):
            raise ValueError(f"pairs must be a non-empty list of (f1, f2), got {cfg['pairs']!r}")
        if np.any(p <= 0) or np.any(p[:, 0] == p[:, 1]):
            raise ValueError("pairs must hold positive frequencies with f1 != f2")
        if p.max() == p.min():
            raise ValueError("pairs must span more than one frequency")
        self.pairs = tuple((float(a), float(b)) for a, b in p)
        self.input_noise = check_number(cfg["input_noise"], "input_noise", low=0)

    @property
    def n_inputs(self) -> int:
        return 2 if self.preset == "neurogym" else 1

    @property
    def f_min(self) -> float:
        return float(np.min(self.pairs))

    @property
    def f_max(self) -> float:
        return float(np.max(self.pairs))

    @keyed
    def trials_from_conditions(
        self,
        key: Key,
        f1: Numbers,
        f2: Numbers,
        *,
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Trials with given frequencies `[B]`; `durations` (`{epoch: ms or [B] ms}`) optional."""
        f1, f2 = as_batches(f1=f1, f2=f2)
        k_layout, k_noise = jax.random.split(key)
        L = self._layout(k_layout, f1.shape[0], durations)
        s1, s2 = L.window("stimulus1"), L.window("stimulus2")
        span_ = self.f_max - self.f_min
        target = (f1 - f2) / span_
        if self._onehot:
            rep = lambda f: (1.0 + (f - self.f_min) / span_) / 2.0  # noqa: E731
            stim = rep(f1)[:, None] * s1 + rep(f2)[:, None] * s2
            inputs = L.concat(L.until("stimulus2", "stop")[:, :, None], stim[:, :, None])
            noise = self.input_noise * normal(k_noise, (L.batch, L.n_steps, 2))
            inputs = inputs + (s1 + s2)[:, :, None] * noise
        else:
            mid = (self.f_max + self.f_min) / 2
            stim = ((f1 - mid) / span_)[:, None] * s1 + ((f2 - mid) / span_)[:, None] * s2
            noise = self.input_noise * normal(k_noise, (L.batch, L.n_steps, 1))
            inputs = stim[:, :, None] + noise
        conditions = {"f1": f1, "f2": f2, "delay": L.length_ms("delay")}
        return self._choice_trials(L, inputs, target, conditions)

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        pairs = jnp.asarray(self.pairs, dtype=jnp.float32)
        idx = integers(uniforms(key, 1, batch_size)[0], 0, pairs.shape[0] - 1)
        return {"f1": pairs[idx, 0], "f2": pairs[idx, 1]}

    def conditions(
        self,
        key: Key,
        *,
        repeats: int = 1,
        pairs: Sequence[tuple[float, float]] | Numbers | None = None,
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Every pair (default: the task's), `repeats` times; variable epochs at their longest
        unless `durations` (`{epoch: ms}`) says otherwise."""
        p = np.asarray(self.pairs if pairs is None else pairs, dtype=np.float32).reshape(-1, 2)
        g = grid(repeats, pair=np.arange(p.shape[0]))["pair"]
        return self._grid_trials(key, durations, f1=p[g, 0], f2=p[g, 1])

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """Choice = sign of the mean decision output (Dubreuil et al.'s `accuracy_romo`), plus
        the graded fit: `mse` and `correlation` of that mean with (f1 − f2)/f_span.
        NeuroGym: the choice unit with the largest mean (+1 for f1 > f2)."""
        return self._score_graded(outputs, trials)


DMS_PRESETS = {
    # Dubreuil et al. 2022 (low_rank_rnns, dms.py): stimuli A/B on two input units, target +1
    # match / -1 non-match over a 1000 ms decision epoch. (The paper's code draws a fixation
    # of 0-1 steps through a unit slip; we use a fixed 100 ms.)
    "dubreuil2022": dict(
        dt=20.0,
        fixation=100.0,
        stimulus1=500.0,
        delay=(500.0, 3000.0),
        stimulus2=500.0,
        decision=1000.0,
        input_noise=0.03,
    ),
    # NeuroGym DelayMatchSample (dim_ring = 2).
    "neurogym": dict(
        dt=100.0,
        fixation=300.0,
        stimulus1=500.0,
        delay=1000.0,
        stimulus2=500.0,
        decision=900.0,
        input_noise=0.1,
    ),
}


class DelayMatchSample(AbstractChoiceTask):
    """Delayed match-to-sample: is the test stimulus (A or B) the same as the sample?

    Preset `dubreuil2022` (the default): inputs `[A, B]` (1 on the presented stimulus's unit
    during sample and test) plus noise on every step; one output, target +1 (match) or −1
    (non-match) over the decision epoch; correct when the mean output there has that sign.
    Delay uniform in [500, 3000] ms.

    Preset `neurogym`: inputs `[fixation, A, B]`, outputs one-hot `[fixation, match,
    non-match]`.

    Epochs: fixation → stimulus1 (sample) → delay → stimulus2 (test) → decision. Conditions:
    `sample`, `test` (0 = A, 1 = B), `match` (1/0), `target` (±1), `delay` (ms).
    """

    preset: str = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    fixation: Duration = eqx.field(static=True)
    stimulus1: Duration = eqx.field(static=True)
    delay: Duration = eqx.field(static=True)
    stimulus2: Duration = eqx.field(static=True)
    decision: Duration = eqx.field(static=True)
    input_noise: float = eqx.field(static=True)
    epoch_names: ClassVar[tuple[str, ...]] = _EPOCHS

    def __init__(
        self,
        *,
        preset: str = "dubreuil2022",
        dt: float | None = None,
        fixation: DurationSpec | None = None,
        stimulus1: DurationSpec | None = None,
        delay: DurationSpec | None = None,
        stimulus2: DurationSpec | None = None,
        decision: DurationSpec | None = None,
        input_noise: float | None = None,
    ):
        cfg = resolve(
            DMS_PRESETS,
            preset,
            dict(
                dt=dt,
                fixation=fixation,
                stimulus1=stimulus1,
                delay=delay,
                stimulus2=stimulus2,
                decision=decision,
                input_noise=input_noise,
            ),
        )
        self.preset = preset
        self.dt = cfg["dt"]
        self.fixation, self.stimulus1, self.delay, self.stimulus2, self.decision = (
            epoch_durations(
                cfg, _EPOCHS, self.dt, at_least_one=("stimulus1", "stimulus2", "decision")
            )
        )
        self.input_noise = check_number(cfg["input_noise"], "input_noise", low=0)

    @property
    def n_inputs(self) -> int:
        return 3 if self.preset == "neurogym" else 2

    @keyed
    def trials_from_conditions(
        self,
        key: Key,
        sample: Numbers,
        test: Numbers,
        *,
        durations: dict[str, ArrayLike] | None = None,
    ) -> Trials:
        """Trials with given sample and test stimuli `[B]` (0 = A, 1 = B); `durations`
        (`{epoch: ms or [B] ms}`) optional."""
        sample, test = as_batches(sample=(sample, jnp.int32), test=(test, jnp.int32))
        k_layout, k_noise = jax.random.split(key)
        L = self._layout(k_layout, sample.shape[0], durations)
        ws, wt = L.window("stimulus1")[:, :, None], L.window("stimulus2")[:, :, None]
        stim = jax.nn.one_hot(sample, 2)[:, None, :] * ws + jax.nn.one_hot(test, 2)[:, None, :] * wt
        match = (sample == test).astype(jnp.int32)
        target = jnp.where(match == 1, 1.0, -1.0)
        noise = self.input_noise * normal(k_noise, (L.batch, L.n_steps, 2))
        if self._onehot:
            stim = stim + noise * (ws + wt)
            inputs = L.concat(L.until("stimulus2", "stop")[:, :, None], stim)
        else:
            inputs = stim + noise
        conditions = {"sample": sample, "test": test, "match": match, "delay": L.length_ms("delay")}
        return self._choice_trials(L, inputs, target, conditions)

    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        u = uniforms(key, 2, batch_size)
        return {"sample": integers(u[0], 0, 1), "test": integers(u[1], 0, 1)}

    def conditions(
        self, key: Key, *, repeats: int = 1, durations: dict[str, ArrayLike] | None = None
    ) -> Trials:
        """The four (sample, test) combinations A-A, A-B, B-A, B-B, `repeats` times each, the
        delay at its longest unless `durations` (`{epoch: ms}`) says otherwise."""
        g = grid(repeats, sample=np.array([0, 1]), test=np.array([0, 1]))
        return self._grid_trials(key, durations, **g)
