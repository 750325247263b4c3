"""SVD truncation of full-rank networks to low-rank ones (Dubreuil et al. 2022, Fig. 7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._typing import ArrayLike, Key
from .._validate import ArgumentTypeError, check_array, check_bool, check_int, check_key
from ..models import FullRankRNN, LowRankRNN
from ..tasks import AbstractTask
from ._build import lowrank_from_arrays
from ._checks import check_counts, check_fullrank, check_task
from ._evaluate import accuracy_on, check_n_trials, draw_trials

_GROUP_MAP = {"J": ("m", "n")}


class TruncationCurve(NamedTuple):
    """Task accuracy `[len(ranks)]` of the rank-r truncations of a network, r in `ranks`."""

    ranks: np.ndarray
    accuracy: np.ndarray


def _base_matrix(model: FullRankRNN, relative_to: FullRankRNN | ArrayLike | None
                 ) -> np.ndarray | None:
    if relative_to is None:
        return None
    n = model.n_neurons
    if isinstance(relative_to, FullRankRNN):
        base = check_fullrank(relative_to, "relative_to").J
    elif isinstance(relative_to, eqx.Module):
        raise ArgumentTypeError(
            f"relative_to must be a FullRankRNN or an [N, N] matrix, got "
            f"{type(relative_to).__name__}"
        )
    else:
        base = check_array(relative_to, "relative_to", ndim=2)
    base = np.asarray(base, np.float64)
    if base.shape != (n, n):
        raise ValueError(
            f"relative_to must be a FullRankRNN or an [N, N] = [{n}, {n}] matrix, got shape "
            f"{base.shape}"
        )
    return base


def truncate(model: FullRankRNN, rank: int | np.integer, *,
             relative_to: FullRankRNN | ArrayLike | None = None) -> LowRankRNN:
    """The rank-`rank` LowRankRNN closest to `model` in connectivity (Eckart–Young).

    W = J (or ΔW = J − W0 with `relative_to` = the initial network or its matrix W0) is
    decomposed as W = U S Vᵀ and kept to its `rank` largest singular values, in the
    convention of Dubreuil et al. (2022): m = √N · U_R S_R, n = √N · V_R, so that
    m nᵀ/N = U_R S_R V_Rᵀ. Inputs, readout and gains are copied; trainable groups carry over
    (J becomes m and n). With `relative_to`, the returned network holds ΔW's rank-R part only
    (W0 is dropped: add it back with `truncation_curve(..., keep_base=True)`).
    """
    model = check_fullrank(model)
    n = model.n_neurons
    rank = check_int(rank, "rank", low=1, high=n)
    w = np.asarray(model.J, np.float64)
    base = _base_matrix(model, relative_to)
    if base is not None:
        w = w - base
    u, s, vt = np.linalg.svd(w)
    m = np.sqrt(n) * u[:, :rank] * s[None, :rank]
    nn = np.sqrt(n) * vt[:rank].T
    train = tuple(g for group in model.train for g in _GROUP_MAP.get(group, (group,)))
    dtype = model.J.dtype
    return lowrank_from_arrays(
        dict(m=jnp.asarray(m, dtype), n=jnp.asarray(nn, dtype), w_in=model.w_in,
             g_in=model.g_in, w_out=model.w_out, g_out=model.g_out),
        rank=rank, n_inputs=model.n_inputs, n_outputs=model.n_outputs, tau=model.tau,
        dt=model.dt, noise_std=model.noise_std, nonlinearity=model.nonlinearity, train=train,
        readout_std=model.readout_std, noise_rng=model.noise_rng,
    )


def truncation_curve(
    model: FullRankRNN,
    task: AbstractTask,
    ranks: Sequence[int],
    *,
    key: Key,
    relative_to: FullRankRNN | ArrayLike | None = None,
    keep_base: bool = False,
    n_trials: int = 512,
) -> TruncationCurve:
    """Task accuracy of the rank-r truncations of `model`, for each r in `ranks`.

    With `relative_to` = W0 and `keep_base=True` the evaluated network is W0 + [ΔW]_r (a
    FullRankRNN); otherwise it is the LowRankRNN `truncate(model, r, relative_to=...)`.
    All truncations are scored on the same trials and the same noise (one draw from `key`,
    shared, so that the accuracies are a paired comparison).
    """
    model = check_fullrank(model)
    keep_base = check_bool(keep_base, "keep_base")
    if keep_base and relative_to is None:
        raise ValueError("keep_base=True needs relative_to (the base connectivity W0)")
    task = check_task(task)
    ranks = check_counts(ranks, "ranks", high=model.n_neurons)
    key = check_key(key)
    n_trials = check_n_trials(n_trials)
    base = _base_matrix(model, relative_to)
    trials, k_noise = draw_trials(task, key, n_trials)
    acc = []
    for r in ranks:
        low = truncate(model, r, relative_to=relative_to)
        net = low
        if keep_base:
            net = eqx.tree_at(lambda f: f.J, model, jnp.asarray(base, model.J.dtype) + low.J)
        acc.append(accuracy_on(net, task, trials, k_noise))
    return TruncationCurve(np.asarray(ranks), np.asarray(acc))
