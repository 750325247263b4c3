"""The abstract tasks made of consecutive epochs, and the two-alternative choice tasks among
them (the epochs themselves, their durations and layouts, are in `_epochs.py`)."""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._typing import Key
from ._base import AbstractTask
from ._compile import evaluator, sampler
from ._epochs import Duration, Layout, duration_steps, epoch_layout, max_steps
from ._score import Score, score_onehot, score_sign, window, window_mean
from ._trials import Trials
from ._utils import Numbers, make_trials, onehot_targets, scalar_targets


class AbstractEpochTask(AbstractTask):
    """A task made of consecutive epochs whose durations are fields named as the epochs.

    A subclass lists `epoch_names` (a class variable); each epoch's field holds a normalised
    duration spec (`_epochs.epoch_durations`). Trials start at t = 0; trials shorter than
    `n_steps` are padded with zero input and mask.

    A subclass supplies `trials_from_conditions(key, **conditions)` (the trials for given
    per-trial conditions; `key` draws noise and variable epochs) and `_draw(key, batch_size)`
    (random conditions, as the keywords of `trials_from_conditions`); `sample` joins the two.
    """

    preset: eqx.AbstractVar[str]
    epoch_names: eqx.AbstractClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def trials_from_conditions(self, key: Key, *args: Any, **kwargs: Any) -> Trials:
        """The trials for given per-trial conditions `[B]`; `key` draws the noise and the
        variable epochs."""

    @abc.abstractmethod
    def _draw(self, key: Key, batch_size: int) -> dict[str, Array]:
        """Random per-trial conditions `{keyword of trials_from_conditions: [B]}`."""

    def _specs(self) -> list[Duration]:
        return [getattr(self, n) for n in self.epoch_names]

    @sampler
    def sample(self, key: Key, batch_size: int) -> Trials:
        """`batch_size` random trials: the conditions drawn from one half of `key`, the trials
        (noise, variable epochs) built from the other."""
        k_draw, k_trials = jax.random.split(key)
        return self.trials_from_conditions(k_trials, **self._draw(k_draw, batch_size))

    def _grid_trials(
        self, key: Key, durations: dict[str, ArrayLike] | None = None, **conditions: Numbers
    ) -> Trials:
        """The trials of a deterministic grid of `conditions`, variable epochs at their longest
        unless `durations` says otherwise (see `_grid_durations`)."""
        return self.trials_from_conditions(
            key, **conditions, durations=self._grid_durations(durations)
        )

    @property
    def n_steps(self) -> int:
        return max_steps(self._specs(), self.dt)

    def _layout(
        self,
        key: Key,
        batch: int,
        durations: dict[str, ArrayLike] | None = None,
        *,
        given_steps: dict[str, ArrayLike] | None = None,
    ) -> Layout:
        """This batch's layout; `durations` (`{epoch: ms or [B] ms}`) or `given_steps`
        (`{epoch: [B] steps}`) fix some epochs, the others are drawn from `key`."""
        given = {**self._given(durations, batch), **(given_steps or {})}
        return epoch_layout(
            key, self.epoch_names, self._specs(), self.dt, batch, self.n_steps, given
        )

    def _given(self, durations: dict[str, ArrayLike] | None, batch: int) -> dict[str, Array]:
        """`{epoch: [B] ms}` → `{epoch: [B] steps}` for `epoch_layout`."""
        if durations is None:
            return {}
        unknown = set(durations) - set(self.epoch_names)
        if unknown:
            raise ValueError(
                f"durations: unknown epochs {sorted(unknown)}; the epochs are {self.epoch_names}"
            )
        return {
            k: jnp.broadcast_to(jnp.round(jnp.asarray(v, jnp.float32) / self.dt), (batch,))
            for k, v in durations.items()
        }

    def _grid_durations(
        self, durations: dict[str, ArrayLike] | None = None
    ) -> dict[str, np.ndarray]:
        """Durations for a deterministic grid: the given ones (ms), and every variable epoch
        not given at its longest (as Dubreuil et al.'s psychometric code)."""
        out = dict(durations or {})
        for name in self.epoch_names:
            spec = getattr(self, name)
            if name not in out and not isinstance(spec, float):
                out[name] = duration_steps(spec, self.dt)[1] * self.dt
        # As arrays, so that grids with other durations share one compiled program.
        return {k: np.asarray(v, np.float32) for k, v in out.items()}

    def _trials(
        self,
        layout: Layout,
        inputs: Array,
        targets: Array,
        mask: Array,
        conditions: dict[str, Array],
    ) -> Trials:
        return make_trials(inputs, targets, mask, conditions, layout.arrays(), self.dt)


class AbstractChoiceTask(AbstractEpochTask):
    """A two-alternative task with a `decision` epoch, in one of two output layouts:

    - one output whose target is the sign of the answer (±1, or a graded value) over the
      decision epoch, masked elsewhere; scored by the sign of the mean output there
      (Dubreuil et al. 2022);
    - NeuroGym's one-hot `[fixation, choice 1, choice 2]` on every step of the trial (choice 1
      for a positive answer); scored by the choice unit with the largest mean output over the
      decision epoch, with "no response" when the fixation unit stays on top.

    Subclasses store the answer as `conditions["target"]`; `_onehot` picks the layout
    (NeuroGym's for preset `neurogym`).
    """

    @property
    def _onehot(self) -> bool:
        return self.preset == "neurogym"

    @property
    def n_outputs(self) -> int:
        return 3 if self._onehot else 1

    def _choice_trials(
        self, layout: Layout, inputs: Array, target: Array, conditions: dict[str, Array]
    ) -> Trials:
        """Trials whose answer is `target [B]` (sign, or graded with one output), stored in
        the conditions as `target` next to `conditions`."""
        targets, mask = self._decision_targets(layout, target)
        return self._trials(layout, inputs, targets, mask, {**conditions, "target": target})

    def _decision_targets(self, layout: Layout, target: Array) -> tuple[Array, Array]:
        """(targets, mask) for answers `target [B]` (sign, or graded with one output)."""
        dec = layout.window("decision")
        if self._onehot:
            return onehot_targets(jnp.where(target > 0, 1, 2), dec, layout.trial, 3)
        return scalar_targets(target, jnp.broadcast_to(dec, (layout.batch, layout.n_steps)))

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """Sign of the mean output over the decision epoch (one output), or the choice unit
        with the largest mean output there (NeuroGym's layout; `choice` +1 for unit 1)."""
        return self._score(outputs, trials)

    def _score(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        outputs = self._check_outputs(outputs, trials)
        dec = window(trials.epochs["decision"], trials.n_steps)
        target = trials.conditions["target"]
        if self._onehot:
            s = score_onehot(outputs, dec, jnp.where(target > 0, 1, 2))
            return s._replace(choice=jnp.where(s.choice == 1, 1.0, -1.0))
        return score_sign(outputs, dec, target)

    def _score_graded(
        self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials
    ) -> Score:
        """`_score` plus, with one output, the fit of the mean decision output to a graded
        target: `mse` and `correlation`."""
        s = self._score(outputs, trials)
        if not self._onehot:
            dec = window(trials.epochs["decision"], trials.n_steps)
            mean = window_mean(jnp.asarray(outputs)[:, :, 0], dec)
            target = trials.conditions["target"]
            s = s._replace(
                mse=jnp.mean((mean - target) ** 2),
                correlation=jnp.corrcoef(jnp.stack([mean, target]))[0, 1],
            )
        return s
