"""Build a LowRankRNN from given arrays, with no PRNG key at all.

`LowRankRNN.__init__` draws its loadings from a key. Truncation and resampling know every
array already, so they build the model's structure *abstractly* (`eqx.filter_eval_shape`: the
constructor's checks of τ, dt, φ, … run, nothing is drawn, the key is only a shape) and put the
arrays in. Every array leaf is replaced, which is checked, so no value can come from a key.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from .._typing import ArrayLike
from ..models import LowRankRNN

_ARRAYS = ("m", "n", "w_in", "g_in", "w_out", "g_out")


def lowrank_from_arrays(arrays: dict[str, ArrayLike], *, rank: int, n_inputs: int,
                        n_outputs: int, **settings: Any) -> LowRankRNN:
    """A LowRankRNN with `arrays` {m, n, w_in, g_in, w_out, g_out} and the model `settings`
    (tau, dt, noise_std, nonlinearity, train, readout_std, noise_rng)."""
    n_neurons = int(arrays["m"].shape[0])
    # An abstract key: a shape and a dtype, no value; nothing random is evaluated.
    key = jax.eval_shape(jax.random.key, 0)
    skeleton = eqx.filter_eval_shape(
        lambda k: LowRankRNN(n_neurons, rank, n_inputs, n_outputs, key=k, **settings), key
    )
    new = []
    for name in _ARRAYS:
        value = jnp.asarray(arrays[name])
        want = getattr(skeleton, name).shape
        if value.shape != want:  # pragma: no cover - a programming error, not a user's
            raise AssertionError(f"{name}: shape {value.shape}, the model needs {want}")
        new.append(value)
    model = eqx.tree_at(lambda mdl: tuple(getattr(mdl, a) for a in _ARRAYS), skeleton,
                        tuple(new))
    left = [leaf for leaf in jax.tree_util.tree_leaves(model)
            if isinstance(leaf, jax.ShapeDtypeStruct)]
    if left:  # pragma: no cover - LowRankRNN gained an array field this helper does not set
        raise AssertionError(f"LowRankRNN has array fields not set by lowrank_from_arrays: {left}")
    return model
