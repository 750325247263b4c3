"""SVD truncation of full-rank networks to low-rank ones (Dubreuil et al. 2022, Fig. 7)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import FullRankRNN, LowRankRNN
from ._checks import check_count, check_finite
from ._evaluate import evaluate

_GROUP_MAP = {"J": ("m", "n")}


def _base_matrix(model: FullRankRNN, relative_to) -> np.ndarray | None:
    if relative_to is None:
        return None
    if isinstance(relative_to, FullRankRNN):
        check_finite(relative_to, "relative_to")
        base = np.asarray(relative_to.J, np.float64)
    else:
        base = np.asarray(relative_to, np.float64)
    n = model.n_neurons
    if base.shape != (n, n):
        raise ValueError(
            f"relative_to must be a FullRankRNN or an [N, N] = [{n}, {n}] matrix, got shape "
            f"{base.shape}"
        )
    if not np.all(np.isfinite(base)):
        raise ValueError("relative_to has NaN or Inf values")
    return base


def truncate(model: FullRankRNN, rank: int, *, relative_to=None) -> LowRankRNN:
    """The rank-`rank` LowRankRNN closest to `model` in connectivity (Eckart–Young).

    W = J (or ΔW = J − W0 with `relative_to` = the initial network or its matrix W0) is
    decomposed as W = U S Vᵀ and kept to its `rank` largest singular values, in the
    convention of Dubreuil et al. (2022): m = √N · U_R S_R, n = √N · V_R, so that
    m nᵀ/N = U_R S_R V_Rᵀ. Inputs, readout and gains are copied; trainable groups carry over
    (J becomes m and n). With `relative_to`, the returned network holds ΔW's rank-R part only
    (W0 is dropped: add it back with `truncation_curve(..., keep_base=True)`).
    """
    if isinstance(model, LowRankRNN):
        raise ValueError(
            f"truncate needs a full-rank model (FullRankRNN); this LowRankRNN is already rank "
            f"{model.rank} (use model.to_full_rank() to truncate its dense J)"
        )
    if not isinstance(model, FullRankRNN):
        raise ValueError(f"model must be a FullRankRNN, got {type(model).__name__}")
    if model.J.ndim != 2:
        raise ValueError("model is a stacked ensemble; pick one with neurodyn.train.member")
    check_finite(model)
    n = model.n_neurons
    rank = check_count("rank", rank, 1, n)
    w = np.asarray(model.J, np.float64)
    base = _base_matrix(model, relative_to)
    if base is not None:
        w = w - base
    u, s, vt = np.linalg.svd(w)
    m = np.sqrt(n) * u[:, :rank] * s[None, :rank]
    nn = np.sqrt(n) * vt[:rank].T
    train = tuple(g for group in model.train for g in _GROUP_MAP.get(group, (group,)))
    low = LowRankRNN(
        n, rank, model.n_inputs, model.n_outputs, tau=model.tau, dt=model.dt,
        noise_std=model.noise_std, nonlinearity=model.nonlinearity, train=train,
        readout_std=model.readout_std, noise_rng=model.noise_rng, key=jax.random.key(0),
    )
    dtype = model.J.dtype
    return eqx.tree_at(
        lambda lr: (lr.m, lr.n, lr.w_in, lr.g_in, lr.w_out, lr.g_out),
        low,
        (jnp.asarray(m, dtype), jnp.asarray(nn, dtype), model.w_in, model.g_in, model.w_out,
         model.g_out),
    )


def truncation_curve(
    model: FullRankRNN, task, ranks, *, key, relative_to=None, keep_base: bool = False,
    n_trials: int = 512,
) -> dict[str, np.ndarray]:
    """Task accuracy of the rank-r truncations of `model`, for each r in `ranks`.

    With `relative_to` = W0 and `keep_base=True` the evaluated network is W0 + [ΔW]_r (a
    FullRankRNN); otherwise it is the LowRankRNN `truncate(model, r, relative_to=...)`.
    All truncations are scored on the same trials and noise. Returns {"ranks", "accuracy"}.
    """
    ranks = [check_count("rank", r, 1, getattr(model, "n_neurons", None)) for r in ranks]
    if keep_base and relative_to is None:
        raise ValueError("keep_base=True needs relative_to (the base connectivity W0)")
    acc = []
    for r in ranks:
        low = truncate(model, r, relative_to=relative_to)
        net = low
        if keep_base:
            base = jnp.asarray(_base_matrix(model, relative_to), model.J.dtype)
            net = eqx.tree_at(lambda f: f.J, model, base + low.J)
        acc.append(evaluate(net, task, key=key, n_trials=n_trials))
    return {"ranks": np.asarray(ranks), "accuracy": np.asarray(acc)}
