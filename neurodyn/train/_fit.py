"""Training: `fit` (one network) and `fit_ensemble` (E networks in one compiled program).

The pure core (`_core`) is one jitted chunk function that runs `lax.scan` over optimisation
steps; each step draws a fresh batch from the task inside the compiled program. The host loop
(`_loop`) only moves between chunks: it evaluates on held-out trials, keeps the best model,
checks early stopping, updates a `tqdm.auto` progress bar and, at the end, warns when training
left the validation loss worse than it found it. Every argument is checked here first
(`_checks`), before anything is traced.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._noise import check_stream_size
from .._optim import member
from .._typing import ArrayLike, Key
from .._validate import ArgumentTypeError, check_int, check_key, check_keys
from ..models import AbstractNetwork
from ..tasks import AbstractTask, Trials
from ._checks import (
    check_model_task,
    check_settings,
    check_sizes,
    check_start,
    check_val_trials,
)
from ._loop import FitResult, History, _train
from ._loss import masked_mse


@functools.lru_cache(maxsize=32)
def _default_optimizer(learning_rate: float, clip_norm: float | None):
    opt = optax.adam(learning_rate)
    if clip_norm is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip_norm), opt)
    return opt


def _prepare(task, key, val_trials, n_states: int, loss_fn):
    if val_trials is None:
        val_trials = 256
    if isinstance(val_trials, Trials):
        check_val_trials(val_trials, task, n_states, loss_fn)
        return val_trials
    check_stream_size(int(val_trials), n_states, "val_trials")
    # fold_in(key, 0x7A1) is not one of the two children split(key) that training uses
    # (fold_in(key, i) = split(key, n)[i] for JAX's default threefry keys).
    return task.sample(jax.random.fold_in(key, 0x7A1), int(val_trials))


def _config(settings: dict, optimizer, **extra) -> dict:
    config = dict(
        steps=settings["steps"], batch_size=settings["batch_size"],
        optimizer="custom" if optimizer is not None else "adam",
        learning_rate=settings["learning_rate"], clip_norm=settings["clip_norm"],
        eval_every=settings["eval_every"], early_stop=settings["early_stop"],
        keep_best=settings["keep_best"],
    )
    config.update(extra)
    return config


def fit(
    model: AbstractNetwork,
    task: AbstractTask,
    *,
    key: Key,
    steps: int,
    batch_size: int = 32,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float = 1e-2,
    clip_norm: float | None = None,
    eval_every: int = 100,
    val_trials: int | Trials | None = None,
    early_stop: int | None = None,
    keep_best: bool = True,
    progress: bool = True,
    loss_fn: Callable = masked_mse,
) -> FitResult:
    """Train `model` on `task` with a fresh batch every step (Adam by default).

    Steps run in jitted `lax.scan` chunks of `eval_every` steps; the model is scored on
    `val_trials` (a `Trials` batch, or a number of held-out trials drawn from a key derived
    from `key`; default 256) before training and after each chunk. `early_stop=k` stops after
    k evaluations without a lower validation loss; `keep_best` returns the model with the
    lowest validation loss, the starting model included (so never one worse than the start).
    A step whose loss or gradient is not finite is rejected and training stops with a
    warning, returning the last good model. A `TrainingWarning` (and `history.stop_reason`)
    says when training left the validation loss worse than at the start, or when it could not
    be computed at all.
    """
    settings = check_settings(
        steps=steps, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        clip_norm=clip_norm, eval_every=eval_every, val_trials=val_trials,
        early_stop=early_stop, keep_best=keep_best, progress=progress, loss_fn=loss_fn,
    )
    key = check_key(key, "key")
    check_model_task(model, task)
    check_sizes(model, settings["batch_size"])
    check_start(model)
    config = _config(settings, optimizer)
    if optimizer is None:
        optimizer = _default_optimizer(settings["learning_rate"], settings["clip_norm"])
    val_trials = _prepare(task, key, val_trials, model.n_states, loss_fn)
    config["n_val_trials"] = int(val_trials.batch_size)
    stacked = jax.tree_util.tree_map(lambda x: x[None] if eqx.is_array(x) else x, model)
    trained, history = _train(
        stacked, task, jnp.asarray(key)[None], steps=settings["steps"],
        batch_size=settings["batch_size"], optimizer=optimizer,
        eval_every=settings["eval_every"], val_trials=val_trials,
        early_stop=settings["early_stop"], keep_best=settings["keep_best"],
        progress=settings["progress"], loss_fn=loss_fn, config=config,
    )
    history = History(
        loss=history.loss[0], eval_step=history.eval_step, val_loss=history.val_loss[0],
        val_accuracy=history.val_accuracy[0], best_step=history.best_step[0],
        stop_reason=history.stop_reason[0], config=config,
        initial_val_loss=history.initial_val_loss[0],
        initial_val_accuracy=history.initial_val_accuracy[0],
    )
    return FitResult(member(trained, 0), history)


def fit_ensemble(
    make_model: Callable[[Any], AbstractNetwork],
    task: AbstractTask,
    *,
    keys: Key | ArrayLike,
    steps: int,
    batch_size: int = 32,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float = 1e-2,
    clip_norm: float | None = None,
    eval_every: int = 100,
    val_trials: int | Trials | None = None,
    early_stop: int | None = None,
    keep_best: bool = True,
    progress: bool = True,
    loss_fn: Callable = masked_mse,
    devices: int | Sequence[jax.Device] | None = None,
    member_batch: int | None = None,
) -> FitResult:
    """Train E networks (one per key) with the same settings in one compiled program.

    `make_model(key)` builds one network; each key is split into an initialisation key and a
    training key. Returns `FitResult(model, history)` where every array of `model` has a
    leading member axis (use `member(model, i)`) and the history arrays are `[E, …]`.
    All members see the same validation trials. Early stopping and non-finite steps freeze
    a member while the others go on; `keep_best`, the end-of-fit checks and their
    `TrainingWarning` work per member, as in `fit`.

    `devices` splits the members across JAX devices (a count or a list; default: all devices
    of the default backend when E is a multiple of their number, else one device); each device
    trains its share independently, so results do not depend on the split. `member_batch=k`
    trains k members at a time on each device (vmapped) in a loop over groups, instead of all
    at once; the default picks k so that a group's working set stays in cache.
    """
    settings = check_settings(
        steps=steps, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        clip_norm=clip_norm, eval_every=eval_every, val_trials=val_trials,
        early_stop=early_stop, keep_best=keep_best, progress=progress, loss_fn=loss_fn,
    )
    if not callable(make_model):
        raise ArgumentTypeError(
            f"make_model must be a function make_model(key) -> model, got "
            f"{type(make_model).__name__}"
        )
    if not isinstance(task, AbstractTask):
        raise ArgumentTypeError(
            f"task must be a neurodyn task (AbstractTask), got {type(task).__name__}"
        )
    keys = _check_keys(keys)
    member_batch = check_int(member_batch, "member_batch", low=1, allow_none=True)
    n_members = int(keys.shape[0])
    mesh = _member_mesh(devices, n_members)
    init_keys, train_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(keys)
    models = eqx.filter_vmap(make_model)(init_keys)
    first = member(models, 0)
    check_model_task(first, task, name="make_model(key)")
    check_sizes(first, settings["batch_size"])
    check_start(models, "make_model(key)")
    config = _config(settings, optimizer, n_members=n_members)
    if optimizer is None:
        optimizer = _default_optimizer(settings["learning_rate"], settings["clip_norm"])
    val_trials = _prepare(task, keys[0], val_trials, first.n_states, loss_fn)
    config["n_val_trials"] = int(val_trials.batch_size)
    n_local = n_members // (mesh.devices.size if mesh is not None else 1)
    group = _member_group(member_batch, n_local, first, settings["batch_size"], task)
    config["devices"] = int(mesh.devices.size) if mesh is not None else 1
    config["member_batch"] = group if group is not None else n_local
    trained, history = _train(
        models, task, train_keys, steps=settings["steps"], batch_size=settings["batch_size"],
        optimizer=optimizer, eval_every=settings["eval_every"], val_trials=val_trials,
        early_stop=settings["early_stop"], keep_best=settings["keep_best"],
        progress=settings["progress"], loss_fn=loss_fn, config=config, group=group, mesh=mesh,
    )
    return FitResult(trained, history)


def _check_keys(keys):
    """`keys` as a 1-D array of E >= 1 distinct typed keys (legacy raw keys [E, 2] are wrapped)."""
    keys = check_keys(keys, "keys")
    data = np.asarray(jax.random.key_data(keys)).reshape(keys.shape[0], -1)
    _, first, counts = np.unique(data, axis=0, return_index=True, return_counts=True)
    if np.any(counts > 1):
        i = int(first[np.argmax(counts > 1)])
        same = np.flatnonzero((data == data[i]).all(axis=1)).tolist()
        raise ValueError(
            f"keys must be distinct (one per member): members {same} have the same key, so "
            "they would train identical networks (e.g. keys=jax.random.split(jax.random.key(0),"
            " E))"
        )
    return keys


def _member_mesh(devices, n_members: int):
    """A 1-D device mesh over which to split the members, or None for one device."""
    explicit = devices is not None
    if devices is None:
        devices = jax.devices()
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        available = jax.devices()
        devices = available[: check_int(devices, "devices", low=1, high=len(available))]
    elif isinstance(devices, (list, tuple)) and devices and all(
        isinstance(d, jax.Device) for d in devices
    ):
        devices = list(devices)
    else:
        raise ArgumentTypeError(
            "devices must be None, a number of devices or a list of jax devices, got "
            f"{type(devices).__name__}"
        )
    if len(devices) == 1:
        return None
    if n_members % len(devices):
        if explicit:
            raise ValueError(
                f"devices: the {n_members} members cannot be split evenly across "
                f"{len(devices)} devices"
            )
        return None
    return jax.sharding.Mesh(np.asarray(devices), ("members",))


# Members trained at once when the size of their states is about this many floats or more
# (a training step keeps a few [batch, time, neurons] arrays per member: keep them in cache).
_GROUP_FLOATS = 2**20


def _member_group(member_batch, n_local: int, model, batch_size: int, task) -> int | None:
    if member_batch is not None:
        group = min(int(member_batch), n_local)
    else:
        per_member = batch_size * getattr(task, "n_steps", 1) * model.n_states
        group = max(1, min(n_local, _GROUP_FLOATS // max(per_member, 1)))
    return None if group >= n_local else group
