"""The host loop of training: chunks of compiled steps, validation after each, the best model,
early stopping, a progress bar, and the end-of-fit verdict (did training make things better?)."""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import numpy as np

from .._optim import init_state, where_tree
from .._progress import tqdm
from .._typing import ArrayLike
from ..tasks import AbstractTask, Trials
from ._core import _chunk_ensemble, _Spec, _split_keys, _validate_ensemble


class TrainingWarning(UserWarning):
    """A fit that made the validation loss worse than at the start, or could not validate."""


_ArrayIn = ArrayLike | Sequence


@dataclasses.dataclass
class History:
    """What happened during training.

    Every field but `config` is a NumPy array, whatever the input: for one network (`fit`) the
    per-run fields are 0-d arrays (`h.best_step.item()`, `float(h.initial_val_loss)` give Python
    scalars; comparisons such as `h.stop_reason == "completed"` work as they are), and in an
    ensemble they have a leading member axis `[E]`.

    Attributes:
        loss: training loss at every step taken, `[steps]` (NaN where a step was rejected).
        eval_step: the step counts at which the validation set was evaluated.
        val_loss, val_accuracy: validation loss and accuracy at those steps.
        best_step: the step whose model was returned (with `keep_best`; 0 is the starting
            model), else the last step.
        stop_reason: "completed", "early_stop", "non_finite" (a step with a non-finite loss or
            gradient), "worse_than_start" (the validation loss ended above its value before
            training; with `keep_best` the starting model is returned) or "val_not_finite" (the
            validation loss was never finite, so nothing could be validated); per member in an
            ensemble. The last two come with a `TrainingWarning`.
        config: the training settings, for the record.
        initial_val_loss, initial_val_accuracy: validation loss and accuracy of the starting
            model (same trials and noise as the later evaluations).
    """

    # Each given as an array, a sequence or a scalar; stored as a NumPy array (__post_init__).
    loss: _ArrayIn
    eval_step: _ArrayIn
    val_loss: _ArrayIn
    val_accuracy: _ArrayIn
    best_step: _ArrayIn
    stop_reason: _ArrayIn
    config: dict
    # NaN for histories saved before these were recorded
    initial_val_loss: _ArrayIn = dataclasses.field(default_factory=lambda: np.asarray(np.nan))
    initial_val_accuracy: _ArrayIn = dataclasses.field(
        default_factory=lambda: np.asarray(np.nan)
    )

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name == "config":
                continue
            value = getattr(self, f.name)
            if f.name == "stop_reason":
                value = np.asarray(value, dtype=str)
            elif f.name in ("best_step", "eval_step"):
                value = np.asarray(value, dtype=np.int64)
            else:
                value = np.asarray(value, dtype=np.float64)
            setattr(self, f.name, value)

    def to_dict(self) -> dict:
        """JSON-ready form (lists and Python scalars; NaN and ±Inf as NaN)."""

        def conv(v):
            if isinstance(v, np.ndarray):
                return np.where(np.isfinite(v), v, np.nan).tolist() if v.dtype.kind == "f" else (
                    v.tolist()
                )
            return v

        return {f.name: conv(getattr(self, f.name)) for f in dataclasses.fields(self)}


class FitResult(NamedTuple):
    """The trained model and its `History`."""

    model: Any
    history: History


def _train(
    models,
    task: AbstractTask,
    train_keys,
    *,
    steps: int,
    batch_size: int,
    optimizer,
    eval_every: int,
    val_trials: Trials,
    early_stop: int | None,
    keep_best: bool,
    progress: bool,
    loss_fn: Callable,
    config: dict,
    group: int | None = None,
    mesh=None,
):
    """Train a stacked ensemble (leading axis E on every array) of models."""
    n_members = train_keys.shape[0]
    template = jax.tree_util.tree_map(lambda x: x[0] if eqx.is_array(x) else x, models)
    params, frozen = eqx.partition(models, template.trainable())

    spec = _Spec(task, optimizer, batch_size, loss_fn)
    chunk_fn = functools.partial(_chunk_ensemble, spec=spec, group=group, mesh=mesh)
    state = eqx.filter_vmap(functools.partial(init_state, optimizer))(params)
    # early_stop=None: a patience that no run reaches (the step counter is int32)
    patience = np.int32(early_stop if early_stop is not None else np.iinfo(np.int32).max)

    step_keys, val_keys = _split_keys(train_keys)
    if mesh is not None:
        # Place the members' arrays as the chunks return them, so that the first chunk is
        # compiled for the same layout as the others (else it compiles twice).
        sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("members"))
        state, frozen, step_keys, val_keys = jax.device_put(
            (state, frozen, step_keys, val_keys), sharding
        )
    # The starting point: a candidate of `keep_best` and the reference of the end-of-fit checks.
    start_params = state.params
    start_loss, start_acc = (np.asarray(a, dtype=np.float64) for a in _validate_ensemble(
        state.params, frozen, val_keys, val_trials, spec, group))

    losses = np.full((n_members, steps), np.nan, dtype=np.float64)
    eval_step, val_loss, val_acc = [], [], []
    # The best of the evaluations after training chunks (early stopping counts from these) is
    # kept in `state.best`; the step it was taken at here.
    best_step = np.zeros(n_members, dtype=np.int64)
    stop_reason = np.array(["completed"] * n_members, dtype=object)
    active = np.ones(n_members, dtype=bool)

    bar = tqdm(total=steps, disable=not progress, desc="training", unit="step")
    done = 0
    try:
        while done < steps and active.any():
            n = min(eval_every, steps - done)
            # Members that stopped (early stop / non-finite) keep their parameters.
            out = chunk_fn(state, frozen, step_keys, val_keys,
                           np.arange(done, done + n, dtype=np.int32), val_trials, patience)
            state = out.state
            chunk_loss, ok = np.asarray(out.losses), np.asarray(out.ok)
            losses[:, done : done + n] = np.where(active[:, None], chunk_loss, np.nan)
            done += n
            bad = active & ~ok.all(axis=1)
            for i in np.flatnonzero(bad):
                first = done - n + int(np.argmin(ok[i]))
                warnings.warn(
                    f"training stopped{f' for member {i}' if n_members > 1 else ''}: non-finite "
                    f"loss or gradient at step {first}; returning the last good model "
                    "(try a smaller learning rate or clip_norm)",
                    RuntimeWarning,
                    stacklevel=3,
                )
                stop_reason[i] = "non_finite"
            still = np.asarray(state.active)
            stop_reason[active & ~bad & ~still] = "early_stop"
            active = still

            vl = np.asarray(out.val_loss, dtype=np.float64)
            va = np.asarray(out.val_accuracy, dtype=np.float64)
            eval_step.append(done)
            val_loss.append(vl)
            val_acc.append(va)
            best_step = np.where(np.asarray(out.improved), done, best_step)
            bar.update(n)
            with warnings.catch_warnings():  # all-NaN means when every member diverged
                warnings.simplefilter("ignore", RuntimeWarning)
                bar.set_postfix(
                    loss=f"{np.nanmean(chunk_loss[:, -1]):.4f}",
                    val_loss=f"{np.nanmean(vl):.4f}",
                    val_acc=f"{np.nanmean(va):.3f}",
                )
    finally:
        bar.close()

    params, best_params = state.params, state.best
    best_loss = np.asarray(state.best_loss, dtype=np.float64)
    val_loss = np.stack(val_loss, axis=1) if val_loss else np.zeros((n_members, 0))
    # The model each member returns without the starting point as a candidate, and its loss.
    if keep_best:
        found = np.isfinite(best_loss)
        # No finite validation after any chunk: nothing to choose by, return the last model.
        best_params = where_tree(found, best_params, params)
        best_step = np.where(found, best_step, done)
        end_loss = best_loss
    else:
        best_params = params
        best_step = np.full(n_members, done)
        end_loss = val_loss[:, -1] if val_loss.shape[1] else start_loss
    worse, unvalidated = _verdict(start_loss, end_loss, n_members, keep_best, stacklevel=3)
    if keep_best:
        # The starting model is a candidate too: never return a model worse than it.
        best_params = where_tree(worse, start_params, best_params)
        best_step = np.where(worse, 0, best_step)
    # A non-finite step keeps its reason (it came with its own warning).
    stop_reason[worse & (stop_reason != "non_finite")] = "worse_than_start"
    stop_reason[unvalidated & (stop_reason != "non_finite")] = "val_not_finite"

    trained = eqx.combine(best_params, frozen)
    history = History(
        loss=losses[:, :done],
        eval_step=np.asarray(eval_step, dtype=np.int64),
        val_loss=val_loss,
        val_accuracy=np.stack(val_acc, axis=1) if val_acc else np.zeros((n_members, 0)),
        best_step=best_step,
        stop_reason=stop_reason.astype(str),
        config=config,
        initial_val_loss=start_loss,
        initial_val_accuracy=start_acc,
    )
    return trained, history


def _verdict(start_loss, end_loss, n_members: int, keep_best: bool, stacklevel: int):
    """Per member: (made the validation loss worse than at the start, never validated), with
    one `TrainingWarning` for each kind."""
    start_ok, end_ok = np.isfinite(start_loss), np.isfinite(end_loss)
    unvalidated = ~start_ok & ~end_ok
    with np.errstate(invalid="ignore"):
        worse = start_ok & ~(end_loss <= start_loss)

    def who(flags):
        return f" for member(s) {np.flatnonzero(flags).tolist()}" if n_members > 1 else ""

    if worse.any():
        i = int(np.flatnonzero(worse)[0])
        what = "its best validation loss" if keep_best else "the last validation loss"
        then = (
            "returning the starting model (keep_best)" if keep_best
            else "returning the last model, worse than the untrained one (keep_best=True "
            "would return the starting model)"
        )
        warnings.warn(
            f"training made the validation loss worse than at the start{who(worse)}: "
            f"{start_loss[i]:.4g} before training, {what} {end_loss[i]:.4g}; {then}. "
            "Try a smaller learning_rate or clip_norm.",
            TrainingWarning,
            stacklevel=stacklevel + 1,
        )
    if unvalidated.any():
        warnings.warn(
            f"could not validate{who(unvalidated)}: the validation loss was not finite before "
            "training nor after any chunk (NaN or Inf from val_trials, loss_fn or the model), "
            "so keep_best and early_stop had nothing to go by; returning the last model",
            TrainingWarning,
            stacklevel=stacklevel + 1,
        )
    return worse, unvalidated
