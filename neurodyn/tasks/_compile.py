"""How task methods are compiled: `jitted`, `keyed`, `evaluator` and `sampler`, and the cache
of compiled samplers (one program per task configuration and batch size).

The cache never holds a task: compiled samplers are found by the task's configuration (its
pytree structure, which holds the static fields' values) in a bounded LRU, and by the task's
identity through a weak reference, so a task is freed as soon as the user drops it.
"""

from __future__ import annotations

import collections
import functools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._validate import check_key
from ._score import Score

F = TypeVar("F", bound=Callable[..., Any])

# The most compiled samplers kept for tasks no longer alive (least recently used dropped
# first); a live task keeps its own through `_BY_ID` whatever this bound.
MAX_PROGRAMS = 256


@eqx.filter_jit
def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def jitted(method: F) -> F:
    """Compile a task method once per task configuration and static argument (batch size):
    arrays are traced, everything else (the task, ints, floats) is static. Calls from inside
    an outer `jit` simply inline. The wrapped method stays a plain method, so
    `jax.jit(task.sample, static_argnums=1)` and `jax.jit(task.evaluate)` work as well."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return _call(method, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def keyed(method: F) -> F:
    """`jitted` for a method whose first argument is a PRNG key (`trials_from_conditions`):
    the key is checked before anything is traced."""

    @functools.wraps(method)
    def wrapper(self, key, *args, **kwargs):
        return _call(method, self, check_key(key, "key"), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def evaluator(method: F) -> F:
    """`jitted` for `evaluate(self, outputs, trials) -> Score`: the arguments are checked
    eagerly (`AbstractTask._check_outputs`: a `Trials` batch, outputs of its targets' shape,
    no NaN or Inf). Outputs traced under an outer `jit` cannot be checked for their values;
    there a trial whose outputs are not all finite is never `correct` and `accuracy` is NaN,
    so that a diverged network is not scored as a chance-level one."""

    @functools.wraps(method)
    def wrapper(self, outputs, trials):
        outputs = self._check_outputs(outputs, trials)
        return _call(_score_finite, method, self, outputs, trials)

    return wrapper  # type: ignore[return-value]


def _score_finite(method: Callable[..., Score], task: Any, outputs: Any, trials: Any) -> Score:
    score = method(task, outputs, trials)
    finite = jnp.all(jnp.isfinite(outputs), axis=(1, 2))
    return score._replace(
        correct=score.correct & finite,
        accuracy=jnp.where(jnp.all(finite), score.accuracy, jnp.nan),
    )


def sampler(method: F) -> F:
    """Compile `sample(self, key, batch_size, *arrays)` as a `jax.jit` of the key (and arrays),
    one program per task configuration and batch size (equal tasks share it).

    A call checks `batch_size`, finds the compiled function by the task's identity (a dict
    look-up; the task's configuration, which walks its fields, only on the first call of an
    instance) and calls it: no argument filtering or pytree flattening of the task on every
    call, which `eqx.filter_jit` does and which costs about as much as drawing a batch of a
    thousand trials. Under an outer `jit` or `vmap` the compiled function simply traces
    inline."""

    @functools.wraps(method)
    def wrapper(self, key, batch_size, *arrays):
        key = check_key(key, "key")
        batch_size = self._check_batch_size(batch_size)
        try:
            fn = _compiled(self, method, batch_size)
        except TypeError:  # a task with array (or unhashable) fields: filter them as `jitted`
            return _call(method, self, key, batch_size, *arrays)
        return fn(key, *arrays)

    return wrapper  # type: ignore[return-value]


# (pytree structure of the task, method, batch size) -> jitted function of the key; LRU.
_BY_CONFIG: collections.OrderedDict[tuple, Callable[..., Any]] = collections.OrderedDict()
# (id(task), method, batch size) -> (weak reference to the task, that function).
_BY_ID: dict[tuple, tuple[weakref.ref, Callable[..., Any]]] = {}


def _compiled(task: Any, method: Callable[..., Any], batch_size: int) -> Callable[..., Any]:
    """The compiled `method` of `task` for `batch_size`; a `TypeError` for a task with array
    fields or unhashable static fields (which cannot be compiled as a function of the key)."""
    fast = (id(task), method, batch_size)
    hit = _BY_ID.get(fast)
    if hit is not None and hit[0]() is task:
        return hit[1]
    leaves, structure = jax.tree_util.tree_flatten(task)
    if leaves:
        raise TypeError(f"{type(task).__name__} has array fields")
    shared = (structure, method, batch_size)
    fn = _BY_CONFIG.get(shared)  # hashes the static fields: a TypeError if one cannot be
    if fn is None:
        fn = _BY_CONFIG[shared] = _program(structure, method, batch_size)
        while len(_BY_CONFIG) > MAX_PROGRAMS:
            _BY_CONFIG.popitem(last=False)
    else:
        _BY_CONFIG.move_to_end(shared)
    _BY_ID[fast] = (weakref.ref(task, lambda _, k=fast, d=_BY_ID: d.pop(k, None)), fn)
    return fn


def _program(structure: Any, method: Callable[..., Any], batch_size: int) -> Callable[..., Any]:
    """`jax.jit` of `method(task, key, batch_size, *arrays)` as a function of the key and
    arrays. It closes over the task's structure, not the task: the task is rebuilt from it
    (an equal task, as every field is static) when the function is traced."""

    def run(key, *arrays):
        return method(jax.tree_util.tree_unflatten(structure, ()), key, batch_size, *arrays)

    return jax.jit(run)
