"""Dynamical Similarity Analysis (Ostrow, Eisen, Kozachkov & Fiete 2023, NeurIPS): delay
embedding, a reduced-rank linear operator per system (HAVOK DMD), and Procrustes analysis over
vector fields, min over orthogonal C of ‖A_x − C A_y Cᵀ‖_F."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._optim import update as optim_update
from .._progress import tqdm
from .._typing import Array, ArrayLike, Float
from .._validate import ArgumentTypeError, check_bool, check_choice, check_int, check_number
from ._checks import activity

METRICS = ("angular", "euclidean")
MAPS = ("cayley", "expm")


def _check_delays(n_delays, delay_interval):
    return check_int(n_delays, "n_delays"), check_int(delay_interval, "delay_interval")


def _hankel(x: Array, n_delays: int, delay_interval: int) -> Array:
    t = x.shape[1]
    span = (n_delays - 1) * delay_interval
    blocks = [x[:, span - d * delay_interval: t - d * delay_interval] for d in range(n_delays)]
    return jnp.concatenate(blocks, axis=-1)


def hankel(
    x: Float[ArrayLike, "*conditions time units"],
    n_delays: int,
    *,
    delay_interval: int = 1,
) -> Float[Array, "*conditions embedded delayed"]:
    """Delay embedding of an activity set, per condition (the Hankel matrix of HAVOK DMD).

    Row t of a condition is [x_t, x_{t−k}, x_{t−2k}, …, x_{t−(d−1)k}] (d = `n_delays`,
    k = `delay_interval`), for t = (d−1)k, …, T−1: `[conditions, T − (d−1)k, d·units]`
    (`[T − (d−1)k, d·units]` for a `[time, units]` input).
    """
    n_delays, delay_interval = _check_delays(n_delays, delay_interval)
    arr = activity(x, "x")
    if (n_delays - 1) * delay_interval >= arr.shape[1]:
        raise ValueError(
            f"n_delays and delay_interval span (n_delays − 1)·delay_interval = "
            f"{(n_delays - 1) * delay_interval} steps, which needs more than the {arr.shape[1]} "
            "time steps x has"
        )
    h = _hankel(arr, n_delays, delay_interval)
    return h if jnp.ndim(x) == 3 else h[0]


class HAVOK(NamedTuple):
    """A linear operator fitted to the delay embedding of one system (HAVOK DMD).

    Attributes:
        operator: `[r, r]` A_v, with v_{t+1} ≈ A_v v_t in the first r right singular vectors.
        singular_values: `[k]` all singular values of the Hankel matrix.
        modes: `[d·units, r]` the first r left singular vectors (the embedding's directions).
    """

    operator: Float[Array, "rank rank"]
    singular_values: Float[Array, " components"]
    modes: Float[Array, "embedded rank"]


@functools.partial(jax.jit, static_argnames=("n_delays", "delay_interval", "rank"))
def _havok(x, n_delays, delay_interval, rank, ridge):
    h = _hankel(x, n_delays, delay_interval)
    c, t, d = h.shape
    v, s, uh = jnp.linalg.svd(h.reshape(c * t, d), full_matrices=False)
    v = v[:, :rank].reshape(c, t, rank)
    before = v[:, :-1].reshape(-1, rank)
    after = v[:, 1:].reshape(-1, rank)
    gram = before.T @ before + ridge * jnp.eye(rank, dtype=h.dtype)
    a = jnp.linalg.solve(gram, before.T @ after).T
    return HAVOK(a, s, uh[:rank].T)


def _max_rank(shape, n_delays, delay_interval) -> int:
    c, t, n = shape
    return min(c * (t - (n_delays - 1) * delay_interval), n * n_delays)


def _check_havok(arr, name, n_delays, delay_interval, rank, ridge):
    if (n_delays - 1) * delay_interval + 2 > arr.shape[1]:
        raise ValueError(
            f"{name} has {arr.shape[1]} time steps: too few for n_delays = {n_delays} and "
            f"delay_interval = {delay_interval} (needs (n_delays − 1)·delay_interval + 2)"
        )
    top = _max_rank(arr.shape, n_delays, delay_interval)
    rank = top if rank is None else rank
    if rank > top:
        raise ValueError(
            f"rank must be at most {top} (the size of {name}'s Hankel matrix, "
            f"min(samples, n_delays·units)), got {rank}"
        )
    return rank


def havok(
    x: Float[ArrayLike, "*conditions time units"],
    *,
    n_delays: int = 1,
    rank: int | None = None,
    delay_interval: int = 1,
    ridge: float = 0.0,
) -> HAVOK:
    """Fit a rank-r linear operator to the delay embedding of one system (HAVOK DMD).

    Brunton et al. 2017, Nat. Commun.; as used by Ostrow et al. 2023, NeurIPS.

    With H the Hankel matrix (`hankel`, conditions stacked) and H = V S Uᵀ its thin SVD, the
    first r columns of V give per-condition sequences v_t; the operator is the ridge
    regression of v_{t+1} on v_t within each condition,

        A_v = V₊ᵀ V₋ (V₋ᵀ V₋ + λ I)⁻¹,   λ = `ridge`.

    `rank` defaults to all singular directions.
    """
    n_delays, delay_interval = _check_delays(n_delays, delay_interval)
    rank = check_int(rank, "rank", allow_none=True)
    ridge = check_number(ridge, "ridge", low=0.0)
    arr = activity(x, "x")
    rank = _check_havok(arr, "x", n_delays, delay_interval, rank, ridge)
    return _havok(arr, n_delays, delay_interval, rank, jnp.asarray(ridge, arr.dtype))


class VectorFieldDistance(NamedTuple):
    """The result of Procrustes analysis over vector fields.

    Attributes:
        distance: the angular (radians) or Euclidean distance at the optimum.
        transform: `[n, n]` the orthogonal C found (A_x ≈ C A_y Cᵀ, after normalisation).
        loss: ‖Â_x − C Â_y Cᵀ‖_F² at C (Â = A/‖A‖_F).
    """

    distance: Float[Array, "*pairs"]
    transform: Float[Array, "*pairs n n"]
    loss: Float[Array, "*pairs"]


def _orthogonal(w: Array, kind: str) -> Array:
    s = w - w.T
    eye = jnp.eye(w.shape[0], dtype=w.dtype)
    if kind == "expm":
        return jax.scipy.linalg.expm(s)
    return jnp.linalg.solve(eye + s, eye - s)


def _spectral_start(a: Array, b: Array) -> Array:
    """An orthogonal C₀ with C₀ B C₀ᵀ = A when A = Q B Qᵀ (distinct eigenvalues): the eigenbases
    of the symmetric parts, V_A D V_Bᵀ, with the signs D chosen one axis at a time."""
    _, va = jnp.linalg.eigh(a + a.T)
    _, vb = jnp.linalg.eigh(b + b.T)
    ap, bp = va.T @ a @ va, vb.T @ b @ vb
    n = a.shape[0]

    def body(j, d):
        earlier = (jnp.arange(n) < j).astype(a.dtype)

        def cost(s):
            return jnp.sum(earlier * ((ap[:, j] - s * d * bp[:, j]) ** 2
                                      + (ap[j] - s * d * bp[j]) ** 2))

        return d.at[j].set(jnp.where(cost(1.0) <= cost(-1.0), 1.0, -1.0).astype(a.dtype))

    d = jax.lax.fori_loop(1, n, body, jnp.ones(n, a.dtype))
    return (va * d[None, :]) @ vb.T


def _fit_one(a, b, c0, steps, lr, kind):
    """Minimise ‖a − C b Cᵀ‖² over C = map(W − Wᵀ) C₀ from W = 0 (C = C₀); returns the best C
    met on the way and its loss (Adam jitters around a minimum, so the last is not the best)."""
    opt = optax.adam(lr)

    def loss(w):
        c = _orthogonal(w, kind) @ c0
        return jnp.sum((a - c @ b @ c.T) ** 2)

    def body(carry, _):
        w, state, best_w, best = carry
        value, g = jax.value_and_grad(loss)(w)
        better = value < best
        best_w, best = jnp.where(better, w, best_w), jnp.where(better, value, best)
        step = optim_update(opt, g, state, w, reject_nonfinite=False)
        return (step.params, step.opt_state, best_w, best), None

    w0 = jnp.zeros_like(a)
    init = (w0, opt.init(w0), w0, jnp.asarray(jnp.inf, a.dtype))
    (w, _, best_w, best), _ = jax.lax.scan(body, init, None, length=steps)
    last = loss(w)
    best_w = jnp.where(last < best, w, best_w)
    return _orthogonal(best_w, kind) @ c0, jnp.minimum(last, best)


def _distance(a, b, steps, lr, metric, kind):
    a = a / jnp.linalg.norm(a)
    b = b / jnp.linalg.norm(b)
    n = a.shape[0]
    # Three starts: C₀ = I; a reflection swapping the first two axes (a map of W covers only
    # SO(n), this reaches det C = −1), as Ostrow et al.'s code does; and the spectral guess.
    eye = jnp.eye(n, dtype=a.dtype)
    swap = eye[jnp.array([1, 0] + list(range(2, n)))] if n > 1 else eye
    starts = jnp.stack([eye, swap, _spectral_start(a, b)])
    cs, losses = jax.vmap(lambda c0: _fit_one(a, b, c0, steps, lr, kind))(starts)
    c = cs[jnp.argmin(losses)]
    fitted = c @ b @ c.T
    if metric == "angular":
        d = jnp.arccos(jnp.clip(jnp.sum(a * fitted), -1.0, 1.0))
    else:
        d = jnp.linalg.norm(a - fitted)
    return VectorFieldDistance(d, c, jnp.min(losses))


_distances = jax.jit(
    jax.vmap(_distance, in_axes=(0, 0, None, None, None, None)),
    static_argnames=("steps", "metric", "kind"),
)


def _check_fit(metric, steps, learning_rate, parametrization):
    return (check_choice(metric, "metric", METRICS), check_int(steps, "steps"),
            check_number(learning_rate, "learning_rate", low=0.0, low_open=True),
            check_choice(parametrization, "parametrization", MAPS))


def vector_field_distance(
    a: Float[ArrayLike, "n n"],
    b: Float[ArrayLike, "n n"],
    *,
    metric: str = "angular",
    steps: int = 1500,
    learning_rate: float = 5e-3,
    parametrization: str = "cayley",
) -> VectorFieldDistance:
    """Procrustes analysis over vector fields: how far two operators are from orthogonally similar.

    Ostrow et al. 2023, NeurIPS.

    With Â = A/‖A‖_F, C* = argmin_{C ∈ O(n)} ‖Â − C B̂ Cᵀ‖_F, found by Adam (optax) on
    C = (I + S)⁻¹(I − S) (Cayley) or C = exp(S) (`parametrization="expm"`), S = W − Wᵀ
    skew-symmetric, from C = I and from a reflection (to reach det C = −1);

        angular:   arccos tr(Âᵀ C* B̂ C*ᵀ)        euclidean: ‖Â − C* B̂ C*ᵀ‖_F.
    """
    metric, steps, learning_rate, parametrization = _check_fit(
        metric, steps, learning_rate, parametrization)
    from_a = _square(a, "a")
    from_b = _square(b, "b")
    if from_a.shape != from_b.shape:
        raise ValueError(f"a and b must have the same shape, got {list(from_a.shape)} and "
                         f"{list(from_b.shape)}")
    dtype = jnp.result_type(from_a.dtype, from_b.dtype)
    out = _distances(from_a[None].astype(dtype), from_b[None].astype(dtype), steps,
                     jnp.asarray(learning_rate, dtype), metric, parametrization)
    return VectorFieldDistance(*(leaf[0] for leaf in out))


def _square(a, name: str) -> Array:
    arr = activity(a, name)[0]
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {list(arr.shape)}")
    return arr


class DSAMatrix(NamedTuple):
    """DSA distances between every pair of a list of systems.

    Attributes:
        distances: `[M, M]` symmetric, zero diagonal: the DSA distance of each pair (i < j fitted,
            mirrored).
        operators: `[M, r, r]` each system's HAVOK operator.
    """

    distances: Float[Array, "systems systems"]
    operators: Float[Array, "systems rank rank"]


def dsa(
    x: Float[ArrayLike, "*conditions time units_x"],
    y: Float[ArrayLike, "*conditions time units_y"],
    *,
    n_delays: int = 1,
    rank: int | None = None,
    delay_interval: int = 1,
    ridge: float = 0.0,
    metric: str = "angular",
    steps: int = 1500,
    learning_rate: float = 5e-3,
    parametrization: str = "cayley",
) -> Float[Array, ""]:
    """Dynamical Similarity Analysis (DSA) distance between two systems' activity.

    Ostrow, Eisen, Kozachkov & Fiete 2023, NeurIPS: `havok` operators A_x, A_y (same `rank`),
    then `vector_field_distance(A_x, A_y)`. Invariant to orthogonal (and, through the whitening of
    the SVD, to any invertible linear) maps of each system's units, and approximately to smooth
    nonlinear changes of coordinates; unlike shape metrics, it compares dynamics, not geometry.
    """
    return dsa_matrix([x, y], n_delays=n_delays, rank=rank, delay_interval=delay_interval,
                      ridge=ridge, metric=metric, steps=steps, learning_rate=learning_rate,
                      parametrization=parametrization, progress=False).distances[0, 1]


def dsa_matrix(
    activity_sets: Sequence[Float[ArrayLike, "*_conditions _time _units"]],
    *,
    n_delays: int = 1,
    rank: int | None = None,
    delay_interval: int = 1,
    ridge: float = 0.0,
    metric: str = "angular",
    steps: int = 1500,
    learning_rate: float = 5e-3,
    parametrization: str = "cayley",
    batch_size: int = 128,
    progress: bool = True,
) -> DSAMatrix:
    """DSA distances between every pair of systems, in one call (Ostrow et al. 2023, NeurIPS).

    Fits one `havok` operator per activity set (sets of one shape at once, vmapped), then runs
    `vector_field_distance` on all M(M−1)/2 pairs, `batch_size` pairs per jitted, vmapped call,
    with a progress bar over the batches. Sets may differ in units and time steps; `rank` must
    then be given (every operator is r × r).
    """
    if isinstance(activity_sets, (str, bytes)) or not isinstance(activity_sets, Sequence):
        raise ArgumentTypeError(
            f"activity_sets must be a list of activity arrays, got {type(activity_sets).__name__}")
    if len(activity_sets) < 2:
        raise ValueError(f"activity_sets must hold at least 2 systems, got {len(activity_sets)}")
    n_delays, delay_interval = _check_delays(n_delays, delay_interval)
    rank = check_int(rank, "rank", allow_none=True)
    ridge = check_number(ridge, "ridge", low=0.0)
    metric, steps, learning_rate, parametrization = _check_fit(
        metric, steps, learning_rate, parametrization)
    batch_size = check_int(batch_size, "batch_size")
    progress = check_bool(progress, "progress")
    arrs = [activity(x, f"activity_sets[{i}]") for i, x in enumerate(activity_sets)]
    ranks = {_check_havok(a, f"activity_sets[{i}]", n_delays, delay_interval, rank, ridge)
             for i, a in enumerate(arrs)}
    if len(ranks) > 1:
        raise ValueError("rank must be given when the activity sets differ in shape (their "
                         f"Hankel matrices have different sizes: {sorted(ranks)})")
    (rank,) = ranks
    dtype = jnp.result_type(*(a.dtype for a in arrs))
    ops = _operators(arrs, n_delays, delay_interval, rank, jnp.asarray(ridge, dtype), dtype)
    m = len(arrs)
    i, j = np.triu_indices(m, k=1)
    d = np.zeros(len(i), dtype=np.dtype(dtype))
    lr = jnp.asarray(learning_rate, dtype)
    starts = range(0, len(i), batch_size)
    for s in tqdm(starts, desc="DSA pairs", disable=not progress, leave=False):
        ii, jj = i[s: s + batch_size], j[s: s + batch_size]
        pad = batch_size - ii.size if len(i) > batch_size else 0  # one compiled size
        ii, jj = np.pad(ii, (0, pad)), np.pad(jj, (0, pad))
        out = _distances(ops[ii], ops[jj], steps, lr, metric, parametrization)
        d[s: s + batch_size] = np.asarray(out.distance)[: ii.size - pad]
    full = np.zeros((m, m), dtype=d.dtype)
    full[i, j] = d
    full[j, i] = d
    return DSAMatrix(jnp.asarray(full), ops)


def _operators(arrs, n_delays, delay_interval, rank, ridge, dtype) -> Array:
    """HAVOK operators of every set, those of one shape in one vmapped call."""
    ops = [None] * len(arrs)
    groups: dict[tuple, list[int]] = {}
    for i, a in enumerate(arrs):
        groups.setdefault(a.shape, []).append(i)
    fit = jax.vmap(_havok, in_axes=(0, None, None, None, None))
    for idx in groups.values():
        stack = jnp.stack([arrs[i].astype(dtype) for i in idx])
        out = fit(stack, n_delays, delay_interval, rank, ridge).operator
        for k, i in enumerate(idx):
            ops[i] = out[k]
    return jnp.stack(ops)
