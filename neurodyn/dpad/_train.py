"""One training loop for every DPAD optimisation step: a batch of models (random restarts, and in
`DPAD.search` also candidate architectures) trained side by side under `vmap`.

Each epoch shuffles the training blocks (fixed-length pieces of the recordings, the state starting
at zero in each), takes Adam steps with global-norm gradient clipping on minibatches, then
evaluates every model on the held-out validation blocks. Each model keeps the parameters of its
best validation loss and stops after `patience` epochs without improvement (or at the first
non-finite loss). The host loop runs jitted epochs until every model has stopped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._optim import LoopState, chunk, track_best, update
from ._ssm import numpy_rng


class FitDivergedError(RuntimeError):
    """Every random initialisation of a DPAD optimisation step diverged, even after retries."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by the DPAD steps (see `DPAD` for their meaning)."""

    learning_rate: float = 3e-3
    batch_size: int = 32
    max_epochs: int = 300
    patience: int = 10
    clip_norm: float = 1.0
    max_retries: int = 2
    check_every: int = 5
    min_delta: float = 1e-3


class EpochState(NamedTuple):
    """The carry of the jitted epochs: the models' `LoopState` (stacked `[n]`) and their data
    (carried rather than closed over, so that the compiled epoch does not embed it)."""

    loop: LoopState
    train: Any
    val: Any


def _grouped(fn, n_groups: int, grouped_data: bool):
    """vmap `fn(params, batch)` over models [G·R]; with `grouped_data` group g sees batch[g]."""
    inner = jax.vmap(fn, in_axes=(0, None))
    outer = jax.vmap(inner, in_axes=(0, 0 if grouped_data else None))

    def run(params, batch):
        p = jax.tree_util.tree_map(lambda a: a.reshape((n_groups, -1) + a.shape[1:]), params)
        out = outer(p, batch)
        return jax.tree_util.tree_map(lambda a: a.reshape((-1,) + a.shape[2:]), out)

    return run


def _optimiser(clip_norm: float):
    """Clipped Adam directions; the learning rate is applied at run time (not compiled in)."""
    return optax.chain(optax.clip_by_global_norm(clip_norm), optax.scale_by_adam())


@functools.lru_cache(maxsize=64)
def _make_epoch(static, loss_fn, clip_norm: float, n_train: int,
                batch_size: int, patience: int, min_delta: float, n_groups: int,
                grouped_data: bool):
    """A jitted run of epochs; cached, so fits of the same shapes reuse the compiled program."""
    optimiser = _optimiser(clip_norm)
    n_batches = max(1, n_train // batch_size)
    per_batch = min(batch_size, n_train)

    def model_loss(params, batch):
        return loss_fn(eqx.combine(params, static), batch)

    grad_fn = _grouped(jax.value_and_grad(model_loss), n_groups, grouped_data)
    val_fn = _grouped(model_loss, n_groups, grouped_data)
    pick = (lambda a, idx: a[:, idx]) if grouped_data else (lambda a, idx: a[idx])

    def epoch(carry: EpochState, order_key, index, learning_rate):
        loop = carry.loop
        key = jax.random.fold_in(order_key, index)
        order = jax.random.permutation(key, n_train)[: n_batches * per_batch]
        order = order.reshape(n_batches, per_batch)
        # Stopped models keep training (their best parameters are kept aside), which is
        # cheaper to compile than freezing them: no mask, no rejection.
        step_update = jax.vmap(functools.partial(update, optimiser, scale=-learning_rate,
                                                 reject_nonfinite=False))

        def step(c, idx):
            params, opt_state = c
            batch = jax.tree_util.tree_map(lambda a: pick(a, idx), carry.train)
            loss, grads = grad_fn(params, batch)
            params, opt_state, _ = step_update(grads, opt_state, params)
            return (params, opt_state), loss

        (params, opt_state), losses = chunk(step, (loop.params, loop.opt_state), order)
        v = val_fn(params, carry.val)
        v = jnp.where(jnp.isfinite(v), v, jnp.inf)
        loop, _ = track_best(loop._replace(params=params, opt_state=opt_state), v,
                             patience=patience, min_delta=min_delta)
        diverged = ~jnp.all(jnp.isfinite(losses), axis=0) | ~jnp.isfinite(v)
        loop = loop._replace(active=loop.active & ~diverged)
        return carry._replace(loop=loop), (losses.mean(0), v)

    # On CPU, XLA's backend optimisation costs more compile time than it saves for these small
    # programs (about half the compile time for a third more run time).
    options = {"xla_backend_optimization_level": 0} if jax.default_backend() == "cpu" else None
    return jax.jit(epoch, compiler_options=options)


def train_models(
    make_models: Callable,
    loss_fn: Callable,
    train_data,
    val_data,
    *,
    key,
    config: TrainConfig,
    n_groups: int = 1,
    grouped_data: bool = False,
    name: str = "DPAD",
):
    """Train the stacked models `make_models(rng)` (leading axis = n_groups × restarts).

    `key` is split in two: one half seeds, once and from all its bits, the NumPy generator `rng`
    that draws the initial parameters (in NumPy, so initialising compiles nothing); the other
    gives the minibatch order, `fold_in(fold_in(order_key, attempt), epoch)` inside the jitted
    epoch (so no per-epoch host work).

    With `grouped_data`, every data leaf has a leading group axis and group g trains on its own
    data (the candidates of `DPAD.search` after step 1 each see their own frozen states).

    `loss_fn(model, batch)` should be hashable and compare equal across calls (a module-level
    function or a `functools.partial` of one) so that the compiled program is reused.
    Returns `(best_models, best_val_loss[n], history)`; `history` has per-epoch mean training and
    validation losses `[epochs, n]`. A group whose restarts all diverge is retried with fresh
    initialisations and half the learning rate (up to `config.max_retries` times); if every group
    still diverges, `FitDivergedError` is raised.
    """
    n_train = jax.tree_util.tree_leaves(train_data)[0].shape[1 if grouped_data else 0]
    if n_train < 1:
        raise ValueError(f"{name}: no training blocks (the recordings are too short)")
    lr = config.learning_rate
    init_key, order_key = jax.random.split(key)
    rng = numpy_rng(init_key)
    for attempt in range(config.max_retries + 1):
        models = make_models(rng)  # NumPy leaves: no compilation for the initialisation
        params, static = eqx.partition(models, eqx.is_array)
        n = jax.tree_util.tree_leaves(params)[0].shape[0]
        shapes = jax.eval_shape(jax.vmap(_optimiser(config.clip_norm).init), params)
        opt_state = jax.tree_util.tree_map(lambda a: np.zeros(a.shape, a.dtype), shapes)
        loop = LoopState(params=params, opt_state=opt_state, best=params,
                         best_loss=np.full((n,), np.inf, np.float32),
                         wait=np.zeros((n,), np.int32), active=np.ones((n,), bool))
        attempt_key = jax.random.fold_in(order_key, attempt)
        try:
            epoch_fn = _make_epoch(static, loss_fn, config.clip_norm, n_train,
                                config.batch_size, config.patience, config.min_delta, n_groups,
                                grouped_data)
        except TypeError:  # an unhashable loss or model: build without the cache
            epoch_fn = _make_epoch.__wrapped__(static, loss_fn, config.clip_norm, n_train,
                                            config.batch_size, config.patience,
                                            config.min_delta, n_groups, grouped_data)
        carry = EpochState(loop, train_data, val_data)
        train_hist, val_hist = [], []
        epochs = 0
        for index in range(config.max_epochs):
            carry, (tl, vl) = epoch_fn(carry, attempt_key, np.int32(index), np.float32(lr))
            train_hist.append(tl)
            val_hist.append(vl)
            epochs += 1
            if epochs % config.check_every == 0 and not np.any(np.asarray(carry.loop.active)):
                break
        best_val = np.asarray(carry.loop.best_loss)
        group_ok = np.isfinite(best_val.reshape(n_groups, -1)).any(axis=1)
        if group_ok.all() or (attempt == config.max_retries and group_ok.any()):
            history = {"train_loss": np.asarray(jnp.stack(train_hist)),
                       "val_loss": np.asarray(jnp.stack(val_hist)), "attempts": attempt + 1}
            best = jax.tree_util.tree_map(np.asarray, carry.loop.best)
            return eqx.combine(best, static), best_val, history
        lr = lr / 2
    raise FitDivergedError(
        f"{name}: every random initialisation diverged (non-finite loss) in "
        f"{config.max_retries + 1} attempts, the last with learning rate {lr * 2:.3g}; try a "
        f"smaller learning_rate, z-scoring the data, or a smaller model"
    )

