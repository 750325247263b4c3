"""The one optimisation core of neurodyn: optax updates of many independent members at once.

Training (`train.fit`, one network or an ensemble), DPAD's restarts and candidates
(`dpad`) and the fixed-point search (`fixedpoints`, one member per candidate point) all optimise
a stack of independent members side by side. They share these pieces:

* `init_state(optimizer, params)`: a `LoopState` per member: parameters, their optax state, and
  the early-stopping record (best parameters, best validation loss, validations since it last
  fell, whether the member is still active);
* `update(optimizer, grads, opt_state, params, ...)`: one optax step of one member, with an
  optional per-member step size (`scale`), masked by `active` (a frozen member keeps its
  parameters *and* its optimiser state, so its Adam step count is its own) and with the
  rejection of a step whose loss, gradient or new parameters are not finite;
* `chunk(step, carry, xs)`: `lax.scan` of a step over a chunk, so the host only runs between
  chunks (progress bars, validation-driven decisions);
* `track_best(state, val_loss, ...)`: early stopping, per member,

      improved = L < L_best − δ·|L_best|   (L non-finite counts as +∞; δ = `min_delta`)

  which keeps the parameters of the lowest validation loss and stops a member after `patience`
  validations without improvement;
* `where_tree`, `tree_finite` and `member`: per-member selection, finiteness and indexing of
  stacked pytrees.

Everything here is pure and jittable (except `member`, which indexes concrete stacks);
`vmap` it over members (or give `where_tree` flags with the members' leading axis).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._typing import Array, ArrayLike, Bool, Float, Int
from ._validate import ArgumentTypeError, check_int

PyTree = Any


def where_tree(flag: ArrayLike, new: PyTree, old: PyTree) -> PyTree:
    """Per leaf `where(flag, new, old)`; `flag` is a scalar (one member, e.g. inside vmap) or has
    the members' leading axis `[M]` of the stacked leaves (broadcast over their other axes)."""

    def pick(n, o):
        f = jnp.reshape(flag, jnp.shape(flag) + (1,) * (jnp.ndim(n) - jnp.ndim(flag)))
        return jnp.where(f, n, o)

    return jax.tree_util.tree_map(pick, new, old)


def tree_finite(tree: PyTree) -> Bool[Array, ""]:
    """True when every array leaf of `tree` is finite (no NaN, no ±Inf)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree) if eqx.is_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def member(ensemble: PyTree, i: int | ArrayLike) -> PyTree:
    """Member `i` (or several members) of a stacked pytree such as an ensemble.

    Member `i` (an int, or an int array to pick several) of a stacked pytree: every array leaf
    has the members' leading axis (an ensemble from `train.fit_ensemble`, DPAD's restarts).

    Leaves keep their kind: NumPy leaves give NumPy leaves, JAX leaves JAX leaves."""
    sizes = {x.shape[0] if x.ndim else None for x in jax.tree_util.tree_leaves(ensemble)
             if eqx.is_array(x) or isinstance(x, np.ndarray)}
    if not sizes:
        raise ArgumentTypeError(
            f"ensemble must be a stacked ensemble (arrays with a leading member axis), got "
            f"{type(ensemble).__name__} without arrays"
        )
    if len(sizes) != 1 or None in sizes:
        raise ValueError(
            f"ensemble must be a stacked ensemble (every array with the same leading member "
            f"axis, as fit_ensemble returns), got leading sizes {sorted(map(str, sizes))}"
        )
    (size,) = sizes
    if isinstance(i, (np.ndarray, jax.Array)) and np.ndim(i) > 0:
        index = np.asarray(i)
        if index.dtype.kind not in "iu" or np.any(index < -size) or np.any(index >= size):
            raise ValueError(f"i must be member indices in [{-size}, {size - 1}], got {index}")
    else:
        index = check_int(i, "i", low=-size, high=size - 1)
    return jax.tree_util.tree_map(
        lambda x: x[index] if eqx.is_array(x) or isinstance(x, np.ndarray) else x, ensemble
    )


class LoopState(NamedTuple):
    """The state of one member's optimisation (a leading `[M]` axis on every leaf when stacked).

    Attributes:
        params: the current parameters.
        opt_state: their optax state.
        best: the parameters of the lowest validation loss so far (`track_best`).
        best_loss: that validation loss (+∞ before the first finite one).
        wait: validations since it last fell.
        active: the member is still training (cleared by early stopping and by callers).
    """

    params: PyTree
    opt_state: PyTree
    best: PyTree
    best_loss: Float[ArrayLike, "*members"]
    wait: Int[ArrayLike, "*members"]
    active: Bool[ArrayLike, "*members"]


def init_state(optimizer: optax.GradientTransformation, params: PyTree) -> LoopState:
    """The `LoopState` of one member before its first step (vmap it for a stack)."""
    return LoopState(
        params=params,
        opt_state=optimizer.init(params),
        best=params,
        best_loss=jnp.asarray(jnp.inf, jnp.result_type(float)),
        wait=jnp.asarray(0, jnp.int32),
        active=jnp.asarray(True),
    )


class Update(NamedTuple):
    """The result of `update`: new parameters and optimiser state, and whether the step was
    taken (False where it was rejected or the member is not active)."""

    params: PyTree
    opt_state: PyTree
    ok: Bool[Array, ""]


def update(
    optimizer: optax.GradientTransformation,
    grads: PyTree,
    opt_state: PyTree,
    params: PyTree,
    *,
    loss: ArrayLike | None = None,
    scale: ArrayLike | None = None,
    active: ArrayLike | None = None,
    reject_nonfinite: bool = True,
) -> Update:
    """One optax step of one member: u = optimizer(g), then θ ← θ + s·u (s = `scale`, 1 if
    None: a per-member step size for optimisers built without a learning rate, e.g.
    `optax.scale_by_adam()` with s = −η).

    With `reject_nonfinite`, a step whose `loss`, gradient or new parameters are not finite is
    rejected: parameters and optimiser state stay as they were. An inactive member
    (`active` False) keeps both too."""
    # optax's bias corrections mix a Python float with the int32 step count, which strict dtype
    # promotion (the test run's setting) refuses; the standard rules give optax's own result.
    with jax.numpy_dtype_promotion("standard"):
        updates, new_state = optimizer.update(grads, opt_state, params)
    if scale is not None:
        updates = jax.tree_util.tree_map(lambda u: scale * u, updates)
    new_params = eqx.apply_updates(params, updates)
    ok = jnp.asarray(True)
    if reject_nonfinite:
        ok = tree_finite(grads) & tree_finite(new_params)
        if loss is not None:
            ok = jnp.isfinite(loss) & ok
    if active is not None:
        ok = ok & active
    if not reject_nonfinite and active is None:
        return Update(new_params, new_state, ok)
    return Update(where_tree(ok, new_params, params), where_tree(ok, new_state, opt_state), ok)


def chunk(step: Callable[[Any, Any], tuple[Any, Any]], carry: Any, xs: Any) -> tuple[Any, Any]:
    """`step(carry, x) -> (carry, out)` over the leading axis of `xs` (`lax.scan`): one chunk of
    steps compiled as a loop, between two visits of the host."""
    return jax.lax.scan(step, carry, xs)


def track_best(
    state: LoopState,
    val_loss: ArrayLike,
    *,
    patience: ArrayLike | None = None,
    min_delta: float = 0.0,
    frozen: ArrayLike | None = None,
) -> tuple[LoopState, Bool[Array, "*members"]]:
    """Early stopping after a validation: keep `state.params` as `best` where `val_loss`
    improved on `best_loss` (by more than `min_delta`·|best_loss|; a non-finite loss never
    does), reset or count `wait`, and deactivate members with `wait >= patience`.

    `frozen` members (default: the inactive ones) cannot improve. Works on one member or on
    stacked members (flags `[M]`). Returns the new state and the improved flags."""
    frozen = ~state.active if frozen is None else frozen
    loss = jnp.where(jnp.isfinite(val_loss), val_loss, jnp.inf)
    best_loss = state.best_loss
    threshold = jnp.where(jnp.isfinite(best_loss), best_loss - min_delta * jnp.abs(best_loss),
                          jnp.inf)
    improved = (loss < threshold) & ~frozen
    wait = jnp.where(improved, 0, state.wait + 1)
    active = state.active
    if patience is not None:
        active = active & ~(wait >= patience)
    return state._replace(
        best=where_tree(improved, state.params, state.best),
        best_loss=jnp.where(improved, loss, best_loss),
        wait=wait,
        active=active,
    ), improved
