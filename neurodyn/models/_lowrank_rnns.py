"""Published networks of the Ostojic lab's `low_rank_rnns` code (Dubreuil et al. 2022, Nat.
Neurosci.; Valente et al. 2022, NeurIPS) as neurodyn models with the same dynamics.

Their checkpoints are `torch.save`d state dicts. Every class integrates

    h_{t+1} = h_t + σ ξ_t + α(−h_t + J φ(h_t) + (u_t ∘ s_i) W_i),   r = φ(h),   h_0 = h0

but they scale J and the readout differently:

    layout                J                   output z_t             state-dict keys
    LowRankRNN            m nᵀ / N            φ(h) (w_o ∘ s_o) / N   wi si m n wo so h0
    OptimizedLowRankRNN   m nᵀ                φ(h) (w_o ∘ s_o)       wi si m n wo so h0
    FullRankRNN           W_rec               φ(h) (w_o ∘ s_o)       wi si wrec wo so h0
    FullRankRNNScaled     W_rec / N           φ(h) (w_o ∘ s_o) / N   wi si wrec wo so h0
    SupportLowRankRNN     m nᵀ                φ(h) w_o               gaussian_basis supports
                                                                     {wi,m,n,wo,h0}_weights …

(SupportLowRankRNN builds m, n, W_i, w_o and h0 from a Gaussian basis per population:
m_r = Σ_p 1_p ∘ (m_weights[r, p] B + m_biases[r, p]), likewise for the others, without biases
for w_o and h0.) neurodyn's models use x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t,
z_t = φ(x_{t+1}) W_out / N with J = m nᵀ/N for a `LowRankRNN`, so the conversion rescales:
m, n by √N where the file has no 1/N, w_out by N where its readout has none, and J = W_rec
(or W_rec/N). The initial state h0 becomes the model's trainable initial state (`learn_h0`).
The 2022 inference code (Valente et al.) adds a bias b inside φ, accepted when it is zero,
and an output nonlinearity ψ in z = ψ(h) W_o, which the file does not store: the conversion
assumes ψ = φ (their default, tanh). For a network whose readout used another ψ (LINT's fits to
activity), the states are still exact, but the outputs are φ(h) W_out / N, not ψ(h) W_o.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import check_bool, check_choice, check_number, check_path
from ._base import AbstractRNN
from ._fullrank import FullRankRNN
from ._lowrank import LowRankRNN
from ._torchfile import CheckpointError, read_torch_file

__all__ = ["LOW_RANK_RNNS_LAYOUTS", "from_low_rank_rnns"]

_DENSE = ("wi", "si", "wo", "so", "h0")
_SUPPORT = ("gaussian_basis", "supports", "wi_weights", "m_weights", "n_weights", "wo_weights",
            "wi_biases", "m_biases", "n_biases", "h0_weights")
# layout -> (keys the state dict must hold, keys it may hold besides)
# (their own loader drops a stored "rec_noise"; so does this one)
_KEYS = {
    "LowRankRNN": ({*_DENSE, "m", "n"}, {"b", "rec_noise"}),
    "OptimizedLowRankRNN": ({*_DENSE, "m", "n"}, {"b", "rec_noise"}),
    "FullRankRNN": ({*_DENSE, "wrec"}, {"b", "rec_noise"}),
    "FullRankRNNScaled": ({*_DENSE, "wrec"}, {"b", "rec_noise"}),
    "SupportLowRankRNN": (set(_SUPPORT), {"weights"}),
}
LOW_RANK_RNNS_LAYOUTS = tuple(_KEYS)
"""The `low_rank_rnns` classes whose checkpoints `from_low_rank_rnns` reads."""
# the layout assumed when the keys fit several (the classes of Dubreuil et al. 2022)
_DEFAULT = ("LowRankRNN", "FullRankRNN", "SupportLowRankRNN")


def _layout(state: Mapping, layout: str | None) -> str:
    keys = set(state)
    fits = [name for name, (need, extra) in _KEYS.items() if need <= keys <= need | extra]
    if layout is None:
        fits = [name for name in fits if name in _DEFAULT]
        if not fits:
            raise CheckpointError(
                f"unknown checkpoint layout: a state dict with keys {sorted(keys)} is none of "
                f"low_rank_rnns' {list(LOW_RANK_RNNS_LAYOUTS)}"
            )
        return fits[0]
    if layout not in fits:
        need, extra = _KEYS[layout]
        raise CheckpointError(
            f"layout: a {layout} state dict holds the keys {sorted(need)} (and optionally "
            f"{sorted(extra)}), this checkpoint has {sorted(keys)}"
        )
    return layout


def _support_vectors(s: Mapping) -> dict[str, np.ndarray]:
    """m, n, wi, wo, h0 of a SupportLowRankRNN from its basis, supports, weights and biases."""
    basis, supports = s["gaussian_basis"], s["supports"]  # [b, N], [p, N]

    def mix(weights, biases=None):  # weights [k, p, b] -> [k, N]
        vec = np.einsum("kpb,bn,pn->kn", weights, basis, supports)
        return vec if biases is None else vec + biases @ supports

    return {
        "wi": mix(s["wi_weights"], s["wi_biases"]),
        "m": mix(s["m_weights"], s["m_biases"]).T,
        "n": mix(s["n_weights"], s["n_biases"]).T,
        "wo": mix(s["wo_weights"]).T,
        "h0": np.einsum("pb,bn,pn->n", s["h0_weights"], basis, supports),
        "si": np.ones(s["wi_weights"].shape[0], basis.dtype),
        "so": np.ones(s["wo_weights"].shape[0], basis.dtype),
    }


def _check_shapes(p: Mapping[str, np.ndarray], dense: bool) -> tuple[int, int, int, int]:
    """(N, I, O, R) from the arrays, or an error naming the array that does not fit."""
    for key, value in p.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
            raise CheckpointError(
                f"unknown checkpoint layout: {key} is a {type(value).__name__} "
                f"{getattr(value, 'dtype', '')}, not a real tensor"
            )
    n_in, n = p["wi"].shape if p["wi"].ndim == 2 else (None, None)
    n_out = p["wo"].shape[1] if p["wo"].ndim == 2 else None
    rank = p["wrec"].shape[0] if dense else (p["m"].shape[1] if p["m"].ndim == 2 else None)
    want = {"wi": (n_in, n), "si": (n_in,), "wo": (n, n_out), "so": (n_out,), "h0": (n,)}
    want.update({"wrec": (n, n)} if dense else {"m": (n, rank), "n": (n, rank)})
    if "b" in p:
        want["b"] = (n,)
    for key, shape in want.items():
        if None in shape or p[key].shape != shape:
            raise CheckpointError(
                f"checkpoint: {key} has shape {p[key].shape}, which does not fit wi {p['wi'].shape}"
                f" (inputs × neurons) and wo {p['wo'].shape} (neurons × outputs)"
            )
    if "b" in p and np.any(p["b"] != 0):
        raise CheckpointError(
            "checkpoint: the bias b inside the nonlinearity is non-zero, which neurodyn's rate "
            "networks do not have"
        )
    return n, n_in, n_out, rank


def from_low_rank_rnns(
    path: str | os.PathLike,
    *,
    layout: str | None = None,
    alpha: float = 0.2,
    tau: float = 100.0,
    noise_std: float = 0.05,
    nonlinearity: str = "tanh",
    train: str | Sequence[str] | None = None,
    learn_h0: bool | None = None,
) -> AbstractRNN:
    """A network saved by the Ostojic lab's `low_rank_rnns` code, as a neurodyn model.

    The model has the same dynamics and outputs (Dubreuil et al. 2022, Nat. Neurosci.).

    Reads the `torch.save` state dict at `path` (zip or legacy layout) without PyTorch and
    without running anything from the file, and maps the class's conventions (see this
    module's docstring) onto a `LowRankRNN` (from LowRankRNN, OptimizedLowRankRNN,
    SupportLowRankRNN) or a `FullRankRNN` (from FullRankRNN, FullRankRNNScaled).

    `layout` is the class that saved the file; by default it is read from the keys (the
    classes of Dubreuil et al. 2022: LowRankRNN, FullRankRNN, SupportLowRankRNN), and must be
    given for OptimizedLowRankRNN and FullRankRNNScaled, whose keys are those of LowRankRNN and
    FullRankRNN. What the file does not hold is passed as in their code: `alpha` = dt/τ (the
    model gets dt = α τ), `tau` (ms), `noise_std` (σ), `nonlinearity` (φ). `learn_h0` gives
    the model its initial state h0 (by default when h0 is non-zero); `train` the parameter
    groups (the model's default when None).
    """
    check_path(path, "path")
    if not os.path.isfile(path):
        raise ValueError(f"path: no checkpoint file at {os.fspath(path)!r}")
    if layout is not None:
        layout = check_choice(layout, "layout", LOW_RANK_RNNS_LAYOUTS)
    alpha = check_number(alpha, "alpha", low=0, low_open=True, high=1)
    tau = check_number(tau, "tau", low=0, low_open=True, unit="ms")
    if learn_h0 is not None:
        learn_h0 = check_bool(learn_h0, "learn_h0")
    state = read_torch_file(path)
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(
            f"unknown checkpoint layout: {os.fspath(path)!r} holds a {type(state).__name__}, "
            "not a state dict (net.state_dict())"
        )
    layout = _layout(state, layout)
    p = _support_vectors(state) if layout == "SupportLowRankRNN" else \
        {k: v for k, v in state.items() if k != "rec_noise"}
    dense = layout.startswith("FullRank")
    n, n_in, n_out, rank = _check_shapes(p, dense)
    scaled = layout in ("LowRankRNN", "FullRankRNNScaled")  # the classes with both 1/N
    if learn_h0 is None:
        learn_h0 = bool(np.any(p["h0"] != 0))
    options = dict(tau=tau, dt=alpha * tau, noise_std=noise_std, nonlinearity=nonlinearity,
                   learn_h0=learn_h0)
    if train is not None:
        options["train"] = train

    # Every array is replaced below: the constructor (with its checks) runs on an abstract key.
    key = jax.ShapeDtypeStruct((2,), jnp.uint32)
    if dense:
        model = jax.eval_shape(lambda k: FullRankRNN(n, n_in, n_out, **options, key=k), key)
        arrays = {"J": p["wrec"] / n if scaled else p["wrec"]}
    else:
        model = jax.eval_shape(lambda k: LowRankRNN(n, rank, n_in, n_out, **options, key=k), key)
        gain = 1.0 if scaled else np.sqrt(n)
        arrays = {"m": p["m"] * gain, "n": p["n"] * gain}
    arrays.update(w_in=p["wi"], g_in=p["si"], w_out=p["wo"] if scaled else p["wo"] * n,
                  g_out=p["so"])
    if learn_h0:
        arrays["h0"] = p["h0"]
    fields = tuple(arrays)
    values = tuple(jnp.asarray(np.asarray(arrays[f]), getattr(model, f).dtype) for f in fields)
    return eqx.tree_at(lambda mod: tuple(getattr(mod, f) for f in fields), model, values)
