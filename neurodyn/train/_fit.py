"""Training: `fit` (one network) and `fit_ensemble` (E networks in one compiled program).

The pure core is one jitted chunk function that runs `lax.scan` over optimisation steps;
each step draws a fresh batch from the task inside the compiled program, from the key
`fold_in(k_steps, step)` (so the compiled chunk does not depend on the number of steps).
The host loop only moves between chunks: it evaluates on held-out trials, keeps the best
model, checks early stopping and updates a `tqdm.auto` progress bar.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._progress import tqdm
from ..models import AbstractRNN
from ..tasks import AbstractTask, Trials
from ._loss import masked_mse


@dataclasses.dataclass
class History:
    """What happened during training. In an ensemble every array has a leading member axis.

    Attributes:
        loss: training loss at every step taken, `[steps]` (NaN where a step was rejected).
        eval_step: the step counts at which the validation set was evaluated.
        val_loss, val_accuracy: validation loss and accuracy at those steps.
        best_step: the step whose model was returned (with `keep_best`), else the last step.
        stop_reason: "completed", "early_stop" or "non_finite" (per member in an ensemble).
        config: the training settings, for the record.
    """

    loss: np.ndarray
    eval_step: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    best_step: Any
    stop_reason: Any
    config: dict

    def to_dict(self) -> dict:
        """JSON-ready form."""

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


def member(ensemble: Any, i: int) -> Any:
    """Pick member `i` of a stacked ensemble model (or any stacked pytree)."""
    return jax.tree_util.tree_map(lambda x: x[i] if eqx.is_array(x) else x, ensemble)


@functools.lru_cache(maxsize=32)
def _default_optimizer(learning_rate: float, clip_norm: float | None):
    opt = optax.adam(learning_rate)
    if clip_norm is not None:
        if not np.isfinite(clip_norm) or clip_norm <= 0:
            raise ValueError(f"clip_norm must be a positive number or None, got {clip_norm!r}")
        opt = optax.chain(optax.clip_by_global_norm(clip_norm), opt)
    return opt


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


@jax.jit
def _split_keys(train_keys):
    """Per member: the key whose fold_in(·, i) drives step i, and the validation-noise key."""
    keys = jax.vmap(jax.random.split)(train_keys)
    return keys[:, 0], keys[:, 1]


def _check_args(model, task, steps, batch_size, eval_every):
    if not isinstance(model, AbstractRNN):
        raise ValueError(f"model must be a neurodyn RNN (AbstractRNN), got {type(model).__name__}")
    if not isinstance(task, AbstractTask):
        raise ValueError(f"task must be a neurodyn task (AbstractTask), got {type(task).__name__}")
    for name, v in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if model.n_inputs != task.n_inputs or model.n_outputs != task.n_outputs:
        raise ValueError(
            f"model has n_inputs={model.n_inputs}, n_outputs={model.n_outputs} but the task "
            f"needs n_inputs={task.n_inputs}, n_outputs={task.n_outputs}"
        )


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
    template = member(models, 0)
    params, frozen = eqx.partition(models, template.trainable())

    spec = _Spec(task, optimizer, batch_size, loss_fn)
    chunk_fn = functools.partial(_chunk_ensemble, spec=spec, group=group, mesh=mesh)
    opt_state = eqx.filter_vmap(optimizer.init)(params)

    step_keys, val_keys = _split_keys(train_keys)
    if mesh is not None:
        # Place the members' arrays as the chunks return them, so that the first chunk is
        # compiled for the same layout as the others (else it compiles twice).
        sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("members"))
        params, frozen, opt_state, step_keys, val_keys = jax.device_put(
            (params, frozen, opt_state, step_keys, val_keys), sharding
        )

    losses = np.full((n_members, steps), np.nan, dtype=np.float64)
    eval_step, val_loss, val_acc = [], [], []
    best_params, best_loss = params, np.full(n_members, np.inf)
    best_step = np.zeros(n_members, dtype=np.int64)
    stale = np.zeros(n_members, dtype=np.int64)
    stop_reason = np.array(["completed"] * n_members, dtype=object)
    active = np.ones(n_members, dtype=bool)

    bar = tqdm(total=steps, disable=not progress, desc="training", unit="step")
    done = 0
    try:
        while done < steps and active.any():
            n = min(eval_every, steps - done)
            # Members that stopped (early stop / non-finite) keep their parameters.
            params, opt_state, chunk_loss, ok, vl, va = chunk_fn(
                params, frozen, opt_state, step_keys, active, val_keys,
                np.arange(done, done + n, dtype=np.int32), val_trials,
            )
            chunk_loss, ok = np.asarray(chunk_loss), np.asarray(ok)
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
            active &= ~bad

            vl, va = np.asarray(vl, dtype=np.float64), np.asarray(va, dtype=np.float64)
            eval_step.append(done)
            val_loss.append(vl)
            val_acc.append(va)
            improved = np.isfinite(vl) & (vl < best_loss)
            best_loss = np.where(improved, vl, best_loss)
            best_step = np.where(improved, done, best_step)
            best_params = _select(jnp.asarray(improved), params, best_params)
            stale = np.where(improved, 0, stale + 1)
            if early_stop is not None:
                stopping = active & (stale >= early_stop)
                stop_reason[stopping] = "early_stop"
                active &= ~stopping
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

    if not keep_best:
        best_params = params
        best_step = np.full(n_members, done)
    trained = eqx.combine(best_params, frozen)
    history = History(
        loss=losses[:, :done],
        eval_step=np.asarray(eval_step, dtype=np.int64),
        val_loss=np.stack(val_loss, axis=1) if val_loss else np.zeros((n_members, 0)),
        val_accuracy=np.stack(val_acc, axis=1) if val_acc else np.zeros((n_members, 0)),
        best_step=best_step,
        stop_reason=stop_reason,
        config=config,
    )
    return trained, history


def _prepare(task, key, val_trials):
    if val_trials is None:
        val_trials = 256
    if isinstance(val_trials, (int, np.integer)) and not isinstance(val_trials, bool):
        val_trials = task.sample(jax.random.fold_in(key, 0x7A1), int(val_trials))
    elif not isinstance(val_trials, Trials):
        raise ValueError(
            f"val_trials must be a number of trials or a Trials batch, got {type(val_trials)}"
        )
    return val_trials


def fit(
    model: AbstractRNN,
    task: AbstractTask,
    *,
    key,
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

    Steps run in jitted `lax.scan` chunks of `eval_every` steps; after each chunk the model is
    scored on `val_trials` (a `Trials` batch, or a number of held-out trials drawn from a key
    derived from `key`; default 256). `early_stop=k` stops after k evaluations without a lower
    validation loss; `keep_best` returns the model with the lowest validation loss. A step
    whose loss or gradient is not finite is rejected and training stops with a warning,
    returning the last good model.
    """
    _check_args(model, task, steps, batch_size, eval_every)
    config = dict(
        steps=int(steps), batch_size=int(batch_size),
        optimizer="custom" if optimizer is not None else "adam", learning_rate=learning_rate,
        clip_norm=clip_norm, eval_every=int(eval_every), early_stop=early_stop,
        keep_best=keep_best,
    )
    if optimizer is None:
        optimizer = _default_optimizer(learning_rate, clip_norm)
    val_trials = _prepare(task, key, val_trials)
    config["n_val_trials"] = int(val_trials.batch_size)
    stacked = jax.tree_util.tree_map(lambda x: x[None] if eqx.is_array(x) else x, model)
    trained, history = _train(
        stacked, task, jnp.asarray(key)[None], steps=int(steps), batch_size=int(batch_size),
        optimizer=optimizer, eval_every=int(eval_every), val_trials=val_trials,
        early_stop=early_stop, keep_best=keep_best, progress=progress, loss_fn=loss_fn,
        config=config,
    )
    history = History(
        loss=history.loss[0], eval_step=history.eval_step, val_loss=history.val_loss[0],
        val_accuracy=history.val_accuracy[0], best_step=int(history.best_step[0]),
        stop_reason=str(history.stop_reason[0]), config=config,
    )
    return FitResult(member(trained, 0), history)


def fit_ensemble(
    make_model: Callable[[Any], AbstractRNN],
    task: AbstractTask,
    *,
    keys,
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
    a member while the others go on.

    `devices` splits the members across JAX devices (a count or a list; default: all devices
    of the default backend when E is a multiple of their number, else one device); each device
    trains its share independently, so results do not depend on the split. `member_batch=k`
    trains k members at a time on each device (vmapped) in a loop over groups, instead of all
    at once; the default picks k so that a group's working set stays in cache.
    """
    keys = _check_keys(keys)
    init_keys, train_keys = jax.vmap(lambda k: tuple(jax.random.split(k)))(keys)
    models = eqx.filter_vmap(make_model)(init_keys)
    _check_args(member(models, 0), task, steps, batch_size, eval_every)
    config = dict(
        steps=int(steps), batch_size=int(batch_size),
        optimizer="custom" if optimizer is not None else "adam", learning_rate=learning_rate,
        clip_norm=clip_norm, eval_every=int(eval_every), early_stop=early_stop,
        keep_best=keep_best, n_members=int(keys.shape[0]),
    )
    if optimizer is None:
        optimizer = _default_optimizer(learning_rate, clip_norm)
    val_trials = _prepare(task, keys[0], val_trials)
    config["n_val_trials"] = int(val_trials.batch_size)
    n_members = int(keys.shape[0])
    mesh = _member_mesh(devices, n_members)
    n_local = n_members // (mesh.devices.size if mesh is not None else 1)
    group = _member_group(member_batch, n_local, member(models, 0), int(batch_size), task)
    config["devices"] = int(mesh.devices.size) if mesh is not None else 1
    config["member_batch"] = group if group is not None else n_local
    trained, history = _train(
        models, task, train_keys, steps=int(steps), batch_size=int(batch_size),
        optimizer=optimizer, eval_every=int(eval_every), val_trials=val_trials,
        early_stop=early_stop, keep_best=keep_best, progress=progress, loss_fn=loss_fn,
        config=config, group=group, mesh=mesh,
    )
    return FitResult(trained, history)


def _check_keys(keys):
    """`keys` as a 1-D array of E >= 1 distinct typed keys (legacy raw keys [E, 2] are wrapped)."""
    hint = "e.g. keys=jax.random.split(jax.random.key(0), E)"
    try:
        keys = jnp.asarray(keys)
    except TypeError as err:
        raise ValueError(f"keys must be an array of JAX PRNG keys ({hint}), got {err}") from None
    if jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
        if keys.ndim != 1:
            raise ValueError(f"keys must be a 1-D array of keys ({hint}), got shape {keys.shape}")
    elif keys.dtype == jnp.uint32 and keys.ndim == 2 and keys.shape[1] == 2:
        keys = jax.random.wrap_key_data(keys)  # legacy raw keys [E, 2]
    else:
        raise ValueError(
            f"keys must be a 1-D array of JAX PRNG keys ({hint}) or raw uint32 keys of shape "
            f"[E, 2], got dtype {keys.dtype} and shape {keys.shape}"
        )
    if keys.shape[0] < 1:
        raise ValueError(f"keys must hold at least one key (one per member), got none ({hint})")
    data = np.asarray(jax.random.key_data(keys)).reshape(keys.shape[0], -1)
    _, first, counts = np.unique(data, axis=0, return_index=True, return_counts=True)
    if np.any(counts > 1):
        i = int(first[np.argmax(counts > 1)])
        same = np.flatnonzero((data == data[i]).all(axis=1)).tolist()
        raise ValueError(
            f"keys must be distinct (one per member): members {same} have the same key, so "
            f"they would train identical networks ({hint})"
        )
    return keys


def _member_mesh(devices, n_members: int):
    """A 1-D device mesh over which to split the members, or None for one device."""
    explicit = devices is not None
    if devices is None:
        devices = jax.devices()
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        available = jax.devices()
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"devices must be between 1 and the {len(available)} available device(s), "
                f"got {devices}"
            )
        devices = available[: int(devices)]
    else:
        devices = list(devices)
        if not devices or not all(isinstance(d, jax.Device) for d in devices):
            raise ValueError("devices must be None, a number of devices or a list of jax devices")
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
        if isinstance(member_batch, bool) or not isinstance(member_batch, (int, np.integer)) or (
            member_batch < 1
        ):
            raise ValueError(f"member_batch must be a positive integer, got {member_batch!r}")
        group = min(int(member_batch), n_local)
    else:
        per_member = batch_size * getattr(task, "n_steps", 1) * model.n_neurons
        group = max(1, min(n_local, _GROUP_FLOATS // max(per_member, 1)))
    return None if group >= n_local else group
