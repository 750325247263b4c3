"""Low-rank RNNs fitted to recorded activity: LINT (Valente, Pillow & Ostojic 2022, NeurIPS).

Low-rank Inference from Neural Trajectories trains a rank-R network on the *activity* of a
recording (or of a teacher network), given the inputs the recording received, instead of on a
task:

    x_{t+1} = x_t + α(−x_t + m nᵀ φ(x_t)/N + W_in u_t),   x_0 = 0
    â_t     = φ(x_t) W + b                                   (the activity readout)
    L       = Σ_{trials, t, units} w_t (â_t − a_t)² / (units · Σ w_t)

with Adam and gradient-norm clipping, keeping the parameters of the lowest loss on all the
trials. As in the paper the network is noise-free while it is fitted, m, n and the input
vectors W_in are trained, and with the paper's readout ("rates") the recorded units *are* the
first `units` units of the network: W = the selection of those units, b = 0 (the remaining
units, if any, are hidden). The "linear" readout instead trains a dense W [N, units] and b,
for recordings in any units (spikes/s) or with fewer units than the network.

The result is an ordinary `LowRankRNN` whose outputs are φ(x) W (`readout.bias` is added by
`predict_activity`), so every low-rank analysis (`latent`, `flow_field`, `fixedpoints.find`,
`fit_mixture`/`resample`) and DPAD apply to it unchanged.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._nonlinearity import get_nonlinearity
from .._optim import chunk, init_state, track_best, update
from .._progress import tqdm
from .._typing import Array, ArrayLike, Float, Key
from .._validate import (
    ArgumentTypeError,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_key,
    check_number,
)
from ..models import LowRankRNN

READOUTS = ("auto", "rates", "linear")

# Where each φ's values lie (open bounds): activity outside cannot be the network's own rates.
_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, np.inf),
           "softplus": (0.0, np.inf), "identity": (-np.inf, np.inf)}


class ActivityReadout(NamedTuple):
    """The map from the network's rates to the recorded activity, â = φ(x) W + b.

    Attributes:
        weights: W, `[n_neurons, units]` (the model's `readout_weights / n_neurons`).
        bias: b, `[units]` (zeros for the "rates" readout).
        kind: "rates" (the recorded units are the network's first `units` units, as in
            Valente et al. 2022) or "linear" (W and b fitted).
    """

    weights: np.ndarray
    bias: np.ndarray
    kind: str


class ActivityHistory(NamedTuple):
    """What happened while fitting a network to activity.

    The training loss of every step (`[steps]`, NaN where a step was rejected), the loss on
    all trials at `eval_step` (`eval_loss`), and `best_step`, the step whose parameters were
    kept (0: the starting network). The loss is the mean squared error in the activity's
    units ("rates" readout) or in units of the activity's mean variance per unit ("linear"
    readout, which fits the standardised activity)."""

    loss: np.ndarray
    eval_step: np.ndarray
    eval_loss: np.ndarray
    best_step: int


class ActivityFit(NamedTuple):
    """A low-rank RNN fitted to activity (`fit_to_activity`).

    Attributes:
        model: the fitted `LowRankRNN`; its outputs are φ(x) W, the activity less `readout.bias`.
        readout: the `ActivityReadout` (W, b, kind).
        r2: the explained variance of the activity it was fitted to (`activity_r2`).
        r2_units: the same per unit, `[units]`.
        history: the `ActivityHistory`.
    """

    model: LowRankRNN
    readout: ActivityReadout
    r2: float
    r2_units: np.ndarray
    history: ActivityHistory


def explained_variance(
    activity: Float[ArrayLike, "trials time units"],
    prediction: Float[ArrayLike, "trials time units"],
    *,
    mask: Float[ArrayLike, "trials time"] | None = None,
    per_unit: bool = False,
) -> float | np.ndarray:
    """The explained variance (R²) of `activity` by `prediction`, over trials and time.

        R² = 1 − Σ w (a − â)² / Σ w (a − ā)²,   ā the w-weighted mean of each unit

    with the time-step weights w of `mask` `[trials, time]` (ones when None), pooled over units
    (a float), or per unit (`per_unit=True`, an array `[units]`). Valente et al. (2022) pool
    over units with one grand mean; the per-unit mean used here removes each unit's offset
    first, so it is never above theirs."""
    a, _, w = check_activity(activity, np.zeros(np.shape(activity)[:2] + (0,)), mask)
    p = check_array(prediction, "prediction", ndim=3).astype(np.float64)
    if a.shape != p.shape:
        raise ValueError(
            f"prediction must have the shape of activity {list(a.shape)}, got {list(p.shape)}"
        )
    w = w[:, :, None]
    residual = (w * (a - p) ** 2).sum(axis=(0, 1))
    mean = (w * a).sum(axis=(0, 1)) / w.sum()
    total = (w * (a - mean) ** 2).sum(axis=(0, 1))
    if per_unit:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - residual / total
    return float(1.0 - residual.sum() / total.sum())


def check_activity(activity: Any, inputs: Any, mask: Any = None):
    """Check a recording and its inputs; return them and the time mask as float64 arrays.

    Clear errors: activity
    `[trials, time, units]` without NaN/Inf, inputs `[trials, time, n_inputs]` of the same trials
    and length, and the time mask `[trials, time]` (ones when None)."""
    activity = check_array(activity, "activity", ndim=3, min_size=1).astype(np.float64)
    inputs = check_array(inputs, "inputs", ndim=3).astype(np.float64)
    if inputs.shape[:2] != activity.shape[:2]:
        raise ValueError(
            f"inputs must have the trials and time steps of activity {list(activity.shape[:2])}"
            f" (shape [trials, time, n_inputs]), got shape {list(inputs.shape)}"
        )
    if mask is None:
        weights = np.ones(activity.shape[:2])
    else:
        weights = check_array(mask, "mask", shape=activity.shape[:2]).astype(np.float64)
        if np.any(weights < 0) or not np.any(weights > 0):
            raise ValueError("mask must be non-negative weights [trials, time], not all zero")
    return activity, inputs, weights


def _resolve_readout(readout: str, activity: np.ndarray, n_neurons: int | None,
                     nonlinearity: str) -> tuple[str, int]:
    units = activity.shape[-1]
    low, high = _RANGES[nonlinearity]
    if readout == "auto":
        # The network's own rates when (nearly) all of the activity lies in φ's range: noisy
        # rates stray outside now and then, spike counts or z-scores do not stay inside.
        inside = float(np.mean((activity > low) & (activity < high)))
        fits = n_neurons is None or n_neurons >= units
        readout = "rates" if inside >= 0.99 and fits else "linear"
    if readout == "rates":
        n_neurons = units if n_neurons is None else n_neurons
        if n_neurons < units:
            raise ValueError(
                f"n_neurons must be at least the number of units ({units}) with readout='rates' "
                f"(each recorded unit is one network unit), got {n_neurons}; use "
                "readout='linear' for a smaller network"
            )
    return readout, units if n_neurons is None else n_neurons


@functools.lru_cache(maxsize=16)
def _optimizer(learning_rate: float, clip_norm: float):
    # Cached: the same settings give the same optimiser object, so a compiled chunk is reused.
    return optax.chain(optax.clip_by_global_norm(clip_norm), optax.adam(learning_rate))


class _Spec(NamedTuple):
    optimizer: Any
    batch_size: int


def _loss(params, static, inputs, activity, weights):
    # The network is fitted without a readout of its own (n_outputs = 0): the recorded units are
    # its first neurons ("rates", w is None), or one matmul after the time loop reads them out
    # (w, b; "linear"), rather than an [N, units] product inside every time step.
    model, w, bias = eqx.combine(params, static)
    rates = model.phi(model.simulate(inputs, key=None, noise=False).states)
    if w is None:
        out = rates[..., : activity.shape[-1]]
    else:
        out = rates @ w + bias[None, None, :]
    err = jnp.sum((out - activity) ** 2, axis=-1) * weights
    return jnp.sum(err) / (jnp.sum(weights) * activity.shape[-1])


def _step(carry, step, static, data, spec: _Spec):
    state, key = carry
    inputs, activity, weights = data
    pick = jax.random.permutation(jax.random.fold_in(key, step), inputs.shape[0])
    pick = pick[: spec.batch_size]
    loss, grads = eqx.filter_value_and_grad(_loss)(
        state.params, static, inputs[pick], activity[pick], weights[pick]
    )
    p, opt_state, ok = update(spec.optimizer, grads, state.opt_state, state.params, loss=loss)
    return (state._replace(params=p, opt_state=opt_state), key), jnp.where(ok, loss, jnp.nan)


@eqx.filter_jit
def _run_chunk(state, static, key, steps, data, spec: _Spec):
    step = functools.partial(_step, static=static, data=data, spec=spec)
    (state, _), losses = chunk(step, (state, key), steps)
    loss = _loss(state.params, static, *data)
    state, improved = track_best(state, loss)
    return state, losses, loss, improved


@eqx.filter_jit
def _full_loss(params, static, data):
    return _loss(params, static, *data)


def _affine_start(activity, weights, n_neurons: int):
    """The linear readout's start and units: the activity is fitted as (a − ā)/s (ā each unit's
    mean, s² the mean variance of the units), so the loss, the clipping and the step size do
    not depend on the recording's units; unit j starts read out from neuron j mod N with its
    own spread, W_{j mod N, j} = s_j/s (the "rates" readout, rescaled), b = 0."""
    w = weights[:, :, None]
    mean = (w * activity).sum(axis=(0, 1)) / w.sum()
    spread = np.sqrt((w * (activity - mean) ** 2).sum(axis=(0, 1)) / w.sum())
    scale = float(np.sqrt(np.mean(spread**2))) or 1.0
    start = np.zeros((n_neurons, activity.shape[-1]))
    units = np.arange(activity.shape[-1])
    start[units % n_neurons, units] = np.where(spread > 0, spread, scale) / scale
    return start, mean, scale


def fit_to_activity(
    activity: Float[ArrayLike, "trials time units"],
    inputs: Float[ArrayLike, "trials time inputs"],
    rank: int,
    *,
    key: Key,
    readout: str = "auto",
    n_neurons: int | None = None,
    steps: int = 1000,
    learning_rate: float = 1e-2,
    batch_size: int = 32,
    clip_norm: float = 1.0,
    eval_every: int = 100,
    mask: Float[ArrayLike, "trials time"] | None = None,
    tau: float = 100.0,
    dt: float = 20.0,
    nonlinearity: str = "tanh",
    noise_std: float = 0.0,
    progress: bool = True,
) -> ActivityFit:
    """Fit a low-rank RNN to recorded activity given its inputs (LINT).

    Valente, Pillow & Ostojic (2022), NeurIPS: a rank-`rank` `LowRankRNN` whose rates (or a
    linear readout of them) reproduce `activity` under `inputs`.

    Minimises the mean squared error between φ(x_t) W + b and the activity a_t over trials
    (minibatches of `batch_size` trials, Adam with `learning_rate`, gradients clipped to norm
    `clip_norm`), noise-free, from x_0 = 0, and returns the parameters of the lowest loss on
    all trials (evaluated every `eval_every` steps). Trained: m, n and the input vectors (and
    W, b with the linear readout).

    Args:
        activity: `[trials, time, units]`, trial-by-trial or condition-averaged; a_t is compared
            with the rates after the update that takes u_t (as `simulate`'s states).
        inputs: `[trials, time, n_inputs]`, what each trial received.
        rank: the rank R of m nᵀ/N, at most the number of units and of neurons.
        readout: "rates" (the paper's: unit i of the recording is unit i of the network, so
            the activity should lie in φ's range), "linear" (W, b fitted; any units, any network
            size) or "auto" ("rates" when at least 99% of the activity lies in φ's range and the
            network has at least as many units, else "linear").
        n_neurons: the network size N (default: the number of units).
        mask: optional weights `[trials, time]` of each time step in the loss (0 leaves a step
            out, e.g. a period before the recording starts).
        tau, dt, nonlinearity: of the network (ms; φ by name).
        noise_std: the returned model's noise (the fit itself is noise-free).

    Returns:
        `ActivityFit(model, readout, r2, r2_units, history)`; `r2` is `explained_variance` on
        the activity it was fitted to. Reproducible from `key`.
    """
    activity, inputs, weights = check_activity(activity, inputs, mask)
    rank = check_int(rank, "rank", low=1)
    key = check_key(key)
    readout = check_choice(readout, "readout", READOUTS)
    if n_neurons is not None:
        n_neurons = check_int(n_neurons, "n_neurons", low=1)
    steps = check_int(steps, "steps", low=1)
    learning_rate = check_number(learning_rate, "learning_rate", low=0, low_open=True)
    batch_size = check_int(batch_size, "batch_size", low=1)
    clip_norm = check_number(clip_norm, "clip_norm", low=0, low_open=True)
    eval_every = check_int(eval_every, "eval_every", low=1)
    nonlinearity = check_choice(nonlinearity, "nonlinearity", sorted(_RANGES))
    progress = check_bool(progress, "progress")
    readout, n_neurons = _resolve_readout(readout, activity, n_neurons, nonlinearity)
    units = activity.shape[-1]
    if rank > min(units, n_neurons):
        raise ValueError(
            f"rank must be at most the number of units ({units}) and of neurons ({n_neurons}),"
            f" got {rank}"
        )
    get_nonlinearity(nonlinearity)
    train = ("m", "n", "input_vectors") + (("output_vectors",) if readout == "linear" else ())
    k_model, k_steps = jax.random.split(key)
    settings = dict(tau=tau, dt=dt, noise_std=noise_std, nonlinearity=nonlinearity, key=k_model)
    model = LowRankRNN(n_neurons, rank, inputs.shape[-1], 0, train=("m", "n", "input_vectors"),
                       **settings)
    dtype = model.m.dtype
    mean, scale = np.zeros(units), 1.0
    if readout == "rates":
        pair, flags = (model, None, None), (model.trainable(), False, False)
    else:
        w, mean, scale = _affine_start(activity, weights, n_neurons)
        pair = (model, jnp.asarray(w, dtype), jnp.zeros((units,), dtype))
        flags = (model.trainable(), True, True)
    params, static = eqx.partition(pair, flags)
    target = (activity - mean) / scale
    data = tuple(jnp.asarray(a, dtype) for a in (inputs, target, weights))
    optimizer = _optimizer(learning_rate, clip_norm)
    spec = _Spec(optimizer, min(batch_size, activity.shape[0]))
    state = init_state(optimizer, params)
    state, _ = track_best(state, _full_loss(params, static, data))

    losses = np.full(steps, np.nan)
    eval_step, eval_loss, best_step = [0], [float(state.best_loss)], 0
    bar = tqdm(total=steps, disable=not progress, desc=f"LINT rank {rank}", unit="step")
    done = 0
    try:
        while done < steps:
            n = min(eval_every, steps - done)
            state, chunk_loss, full, improved = _run_chunk(
                state, static, k_steps, np.arange(done, done + n, dtype=np.int32), data, spec)
            losses[done:done + n] = np.asarray(chunk_loss)
            done += n
            eval_step.append(done)
            eval_loss.append(float(full))
            best_step = done if bool(improved) else best_step
            bar.update(n)
            bar.set_postfix(loss=f"{float(full):.4g}")
    finally:
        bar.close()
    fitted, w, bias = eqx.combine(state.best, static)
    # Back to the recording's units: â = φ(x) (s W̃) + (ā + s b̃), as the model's own readout.
    if w is None:
        w_fit, b_fit = np.eye(n_neurons, units), np.zeros(units)
    else:
        w_fit = np.asarray(w).astype(np.float64) * scale
        b_fit = mean + scale * np.asarray(bias).astype(np.float64)
    net = LowRankRNN(n_neurons, rank, inputs.shape[-1], units, train=train, **settings)
    fitted = eqx.tree_at(
        lambda x: (x.m, x.n, x.w_in, x.g_in, x.w_out, x.g_out), net,
        (fitted.m, fitted.n, fitted.w_in, fitted.g_in, jnp.asarray(w_fit * n_neurons, dtype),
         jnp.ones((units,), dtype)))
    prediction = np.asarray(fitted.simulate(data[0], key=None, noise=False, states=False)
                            .outputs) + b_fit
    history = ActivityHistory(losses, np.asarray(eval_step), np.asarray(eval_loss), best_step)
    return ActivityFit(
        model=fitted,
        readout=ActivityReadout(w_fit, b_fit, readout),
        r2=explained_variance(activity, prediction, mask=weights),
        r2_units=np.asarray(explained_variance(activity, prediction, mask=weights,
                                               per_unit=True)),
        history=history,
    )


def predict_activity(
    fit: ActivityFit, inputs: Float[ArrayLike, "trials time inputs"]
) -> Float[Array, "trials time units"]:
    """The activity a LINT fit predicts for `inputs`.

    â_t = φ(x_t) W + b, noise-free from x_0 = 0 (`fit` from `fit_to_activity`)."""
    if not isinstance(fit, ActivityFit):
        raise ArgumentTypeError(
            f"fit must be an ActivityFit (from fit_to_activity), got {type(fit).__name__}"
        )
    inputs = check_array(inputs, "inputs", ndim=3)
    if inputs.shape[-1] != fit.model.n_inputs:
        raise ValueError(
            f"inputs must have {fit.model.n_inputs} input channels (last axis), got shape "
            f"{list(inputs.shape)}"
        )
    out = fit.model.simulate(jnp.asarray(inputs, fit.model.w_in.dtype), key=None, noise=False,
                             states=False).outputs
    return out + jnp.asarray(fit.readout.bias, out.dtype)[None, None, :]


def activity_r2(
    fit: ActivityFit,
    activity: Float[ArrayLike, "trials time units"],
    inputs: Float[ArrayLike, "trials time inputs"],
    *,
    mask: Float[ArrayLike, "trials time"] | None = None,
) -> float:
    """The explained variance of `activity` by a LINT fit's prediction for `inputs`.

    `explained_variance` of `predict_activity(fit, inputs)`, on held-out trials say, over the
    time steps that `mask` weights."""
    if not isinstance(fit, ActivityFit):
        raise ArgumentTypeError(
            f"fit must be an ActivityFit (from fit_to_activity), got {type(fit).__name__}"
        )
    activity, inputs, weights = check_activity(activity, inputs, mask)
    if activity.shape[-1] != fit.readout.bias.shape[0]:
        raise ValueError(
            f"activity must have {fit.readout.bias.shape[0]} units (last axis), got shape "
            f"{list(activity.shape)}"
        )
    return explained_variance(activity, np.asarray(predict_activity(fit, inputs)), mask=weights)
