"""The compiled core of training: one optimisation step, chunks of steps under `lax.scan`, the
validation pass, and their ensemble (vmapped, grouped or sharded) forms.

Each step draws a fresh batch from the task inside the compiled program, from the key
`fold_in(k_steps, step)` (so the compiled chunk does not depend on the number of steps).
Nothing here runs on the host or checks arguments: `fit` and `fit_ensemble` check everything
before the first chunk is traced.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .._optim import LoopState, chunk, track_best, update, where_tree
from ..tasks import AbstractTask


class _Spec(NamedTuple):
    """Everything static about a training run; hashable, so compiled chunks are reused
    across `fit` calls with the same task, optimiser, batch size and loss."""

    task: AbstractTask
    optimizer: Any
    batch_size: int
    loss_fn: Callable


def _loss_of(p, fz, key, spec: _Spec):
    k_task, k_noise = jax.random.split(key)
    trials = spec.task.sample(k_task, spec.batch_size)
    model = eqx.combine(p, fz)
    return spec.loss_fn(model.simulate(trials.inputs, key=k_noise, states=False).outputs, trials)


def _one_step(carry, step, spec: _Spec):
    p, fz, opt_state, key = carry
    # The key of step i is fold_in(key, i): derived inside the compiled chunk, so a new number
    # of steps needs no new compilation and no [steps] array of keys.
    loss, grads = eqx.filter_value_and_grad(_loss_of)(p, fz, jax.random.fold_in(key, step), spec)
    # A non-finite loss or gradient rejects the step: parameters and optimiser state stay.
    p, opt_state, ok = update(spec.optimizer, grads, opt_state, p, loss=loss)
    return (p, fz, opt_state, key), (jnp.where(ok, loss, jnp.nan), ok)


def _chunk(p, fz, opt_state, key, steps, spec: _Spec):
    step = functools.partial(_one_step, spec=spec)
    (p, _, opt_state, _), (losses, ok) = chunk(step, (p, fz, opt_state, key), steps)
    return p, opt_state, losses, ok


def _members(fn, group: int | None):
    """Apply `fn` to every member (leading axis) of its array arguments: all at once with vmap
    (`group=None`), or `group` members at a time in a loop (`lax.map`), which keeps each
    member's working set in cache when the members are many."""
    if group is None:
        return eqx.filter_vmap(fn)

    def mapped(*args):
        dynamic, static = eqx.partition(args, eqx.is_array)
        out = jax.lax.map(lambda d: fn(*eqx.combine(d, static)), dynamic, batch_size=group)
        return out

    return mapped


class ChunkOut(NamedTuple):
    """What a chunk returns to the host, per member."""

    state: LoopState
    losses: jax.Array  # [steps] (NaN where a step was rejected)
    ok: jax.Array  # [steps] the step was taken
    val_loss: jax.Array
    val_accuracy: jax.Array
    improved: jax.Array  # the validation loss fell: `state.best` holds these parameters


def _chunk_validated(state: LoopState, fz, key, val_key, steps, val_trials, patience,
                     spec: _Spec) -> ChunkOut:
    """One member: a chunk of steps (kept only if the member is still active), then the
    validation loss and accuracy of the parameters it ends with, and early stopping: a member
    stops after a non-finite step or `patience` validations without a lower loss."""
    new_p, new_state, losses, ok = _chunk(state.params, fz, state.opt_state, key, steps, spec)
    was_active = state.active
    p = where_tree(was_active, new_p, state.params)
    opt_state = where_tree(was_active, new_state, state.opt_state)
    val_loss, val_acc = _validate(p, fz, val_key, val_trials, spec)
    state = state._replace(params=p, opt_state=opt_state,
                           active=was_active & jnp.all(ok))
    state, improved = track_best(state, val_loss, patience=patience, frozen=~was_active)
    return ChunkOut(state, losses, ok, val_loss, val_acc, improved)


@eqx.filter_jit
def _chunk_ensemble(state: LoopState, fz, keys, val_keys, steps, val_trials, patience,
                    spec: _Spec, group, mesh) -> ChunkOut:
    def run(state, fz, keys, val_keys, steps, val_trials, patience):
        fn = functools.partial(_chunk_validated, steps=steps, val_trials=val_trials,
                               patience=patience, spec=spec)
        return _members(fn, group)(state, fz, keys, val_keys)

    per_member = (state, fz, keys, val_keys)
    if mesh is None:
        return run(*per_member, steps, val_trials, patience)
    # Members are split across devices; each device trains and validates its share (no
    # communication).
    P = jax.sharding.PartitionSpec
    dynamic, static = eqx.partition(per_member, eqx.is_array)

    def local(d, shared):
        return run(*eqx.combine(d, static), *shared)

    return jax.shard_map(
        local, mesh=mesh, in_specs=(P("members"), P()), out_specs=P("members"), check_vma=False
    )(dynamic, (steps, val_trials, patience))


def _validate(p, fz, key, val_trials, spec: _Spec):
    model = eqx.combine(p, fz)
    outputs = model.simulate(val_trials.inputs, key=key, states=False).outputs
    return spec.loss_fn(outputs, val_trials), spec.task.evaluate(outputs, val_trials).accuracy


@eqx.filter_jit
def _validate_ensemble(p, fz, val_keys, val_trials, spec: _Spec, group):
    """The validation loss and accuracy of every member before training (the starting point
    that `keep_best` and the end-of-fit checks compare with), with the same noise keys as the
    validations after each chunk."""
    fn = functools.partial(_validate, val_trials=val_trials, spec=spec)
    return _members(fn, group)(p, fz, val_keys)


@jax.jit
def _split_keys(train_keys):
    """Per member: the key whose fold_in(·, i) drives step i, and the validation-noise key."""
    keys = jax.vmap(jax.random.split)(train_keys)
    return keys[:, 0], keys[:, 1]
