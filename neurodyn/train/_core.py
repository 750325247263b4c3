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

from ..tasks import AbstractTask


def _select(flag, new, old):
    """Per-leaf `where(flag, new, old)`; `flag` is a scalar (inside vmap) or [E] (host side)."""

    def pick(n, o):
        f = jnp.reshape(flag, jnp.shape(flag) + (1,) * (jnp.ndim(n) - jnp.ndim(flag)))
        return jnp.where(f, n, o)

    return jax.tree_util.tree_map(pick, new, old)


def _tree_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree) if eqx.is_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


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
    updates, new_state = spec.optimizer.update(grads, opt_state, p)
    new_p = eqx.apply_updates(p, updates)
    # A non-finite loss or gradient rejects the step: parameters and optimiser state stay.
    ok = jnp.isfinite(loss) & _tree_finite(grads) & _tree_finite(new_p)
    p = _select(ok, new_p, p)
    opt_state = _select(ok, new_state, opt_state)
    return (p, fz, opt_state, key), (jnp.where(ok, loss, jnp.nan), ok)


def _chunk(p, fz, opt_state, key, steps, spec: _Spec):
    step = functools.partial(_one_step, spec=spec)
    (p, _, opt_state, _), (losses, ok) = jax.lax.scan(step, (p, fz, opt_state, key), steps)
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


def _chunk_validated(p, fz, opt_state, key, active, val_key, steps, val_trials, spec: _Spec):
    """One member: a chunk of steps (kept only if the member is still `active`), then the
    validation loss and accuracy of the parameters it ends with."""
    new_p, new_state, losses, ok = _chunk(p, fz, opt_state, key, steps, spec)
    p = _select(active, new_p, p)
    opt_state = _select(active, new_state, opt_state)
    val_loss, val_acc = _validate(p, fz, val_key, val_trials, spec)
    return p, opt_state, losses, ok, val_loss, val_acc


@eqx.filter_jit
def _chunk_ensemble(p, fz, opt_state, keys, active, val_keys, steps, val_trials, spec: _Spec,
                    group, mesh):
    def run(p, fz, opt_state, keys, active, val_keys, steps, val_trials):
        fn = functools.partial(_chunk_validated, steps=steps, val_trials=val_trials, spec=spec)
        return _members(fn, group)(p, fz, opt_state, keys, active, val_keys)

    per_member = (p, fz, opt_state, keys, active, val_keys)
    if mesh is None:
        return run(*per_member, steps, val_trials)
    # Members are split across devices; each device trains and validates its share (no
    # communication).
    P = jax.sharding.PartitionSpec
    dynamic, static = eqx.partition(per_member, eqx.is_array)

    def local(d, shared):
        return run(*eqx.combine(d, static), *shared)

    return jax.shard_map(
        local, mesh=mesh, in_specs=(P("members"), P()), out_specs=P("members"), check_vma=False
    )(dynamic, (steps, val_trials))


def _validate(p, fz, key, val_trials, spec: _Spec):
    model = eqx.combine(p, fz)
    outputs = model.simulate(val_trials.inputs, key=key, states=False).outputs
    return spec.loss_fn(outputs, val_trials), spec.task.evaluate(outputs, val_trials)["accuracy"]


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
