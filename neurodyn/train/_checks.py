"""Argument checks of `fit` and `fit_ensemble`: everything is checked on the host before the
first chunk is traced, so a bad argument costs no compilation and raises an error that names it."""

from __future__ import annotations

import numpy as np

from .._noise import check_stream_size
from .._validate import (
    ArgumentTypeError,
    check_array,
    check_bool,
    check_finite_tree,
    check_int,
    check_number,
)
from ..models import AbstractNetwork
from ..tasks import AbstractTask, Trials
from ._loss import masked_mse

# The step counter of a chunk is int32.
MAX_STEPS = 2**31 - 1


def check_settings(*, steps, batch_size, optimizer, learning_rate, clip_norm, eval_every,
                   val_trials, early_stop, keep_best, progress, loss_fn) -> dict:
    """The training settings shared by `fit` and `fit_ensemble`, normalised."""
    out = dict(
        steps=check_int(steps, "steps", low=1, high=MAX_STEPS),
        batch_size=check_int(batch_size, "batch_size", low=1),
        learning_rate=check_number(learning_rate, "learning_rate", low=0, low_open=True),
        clip_norm=check_number(clip_norm, "clip_norm", low=0, low_open=True, allow_none=True),
        eval_every=check_int(eval_every, "eval_every", low=1),
        early_stop=check_int(early_stop, "early_stop", low=1, allow_none=True),
        keep_best=check_bool(keep_best, "keep_best"),
        progress=check_bool(progress, "progress"),
    )
    if optimizer is not None and not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise ArgumentTypeError(
            "optimizer must be an optax.GradientTransformation (with init and update) or None, "
            f"got {type(optimizer).__name__}"
        )
    if not callable(loss_fn):
        raise ArgumentTypeError(
            f"loss_fn must be a function loss_fn(outputs, trials) -> scalar, got "
            f"{type(loss_fn).__name__}"
        )
    if val_trials is not None and not isinstance(val_trials, Trials):
        check_int(val_trials, "val_trials", low=1)
    return out


def check_model_task(model, task, name: str = "model") -> None:
    """`model` (one network, or a member of an ensemble) fits `task`."""
    if not isinstance(model, AbstractNetwork):
        raise ArgumentTypeError(
            f"{name} must be a neurodyn network (AbstractNetwork: LowRankRNN, FullRankRNN, "
            f"LinearRNN, RNN, GRU, LSTM), got {type(model).__name__}"
        )
    if not isinstance(task, AbstractTask):
        raise ArgumentTypeError(
            f"task must be a neurodyn task (AbstractTask), got {type(task).__name__}"
        )
    model._check_weight_shapes()
    if model.n_inputs != task.n_inputs or model.n_outputs != task.n_outputs:
        raise ValueError(
            f"{name} has n_inputs={model.n_inputs}, n_outputs={model.n_outputs} but the task "
            f"needs n_inputs={task.n_inputs}, n_outputs={task.n_outputs}"
        )


def check_sizes(model, batch_size: int) -> None:
    """The batch fits the noise generator's counters (known before any array exists)."""
    check_stream_size(batch_size, model.n_states, "batch_size")


def check_start(models, name: str = "model") -> None:
    """No NaN or Inf in the starting weights (training would reject every step)."""
    check_finite_tree(models, name)


def check_val_trials(val_trials: Trials, task, n_states: int, loss_fn) -> None:
    """A given validation batch: shapes that fit the task, finite values."""
    inputs = check_array(val_trials.inputs, "val_trials.inputs", ndim=3, finite=False)
    batch, n_steps = inputs.shape[:2]
    if inputs.shape[2] != task.n_inputs:
        raise ValueError(
            f"val_trials.inputs must have shape [batch, time, {task.n_inputs}] for this task, "
            f"got {list(inputs.shape)}"
        )
    for field in ("targets", "mask"):
        check_array(getattr(val_trials, field), f"val_trials.{field}", finite=False,
                    shape=(batch, n_steps, task.n_outputs))
    check_stream_size(batch, n_states, "val_trials")
    # The default loss multiplies every target by its mask: NaN anywhere gives a NaN loss.
    # A custom loss may handle missing targets (NaN where the mask is 0) itself.
    fields = ("inputs", "mask", "targets") if loss_fn is masked_mse else ("inputs", "mask")
    for field in fields:
        values = np.asarray(getattr(val_trials, field))
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise ValueError(
                f"val_trials.{field} has {int(np.sum(~np.isfinite(values)))} NaN or Inf "
                f"value(s): the validation loss could not be computed"
            )
