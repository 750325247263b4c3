"""Input validation and normalisation shared by PSID and DPAD (plain NumPy, float64).

The generic checks (integers, numbers, keys, arrays) are those of `neurodyn._validate`; this module
adds the data conventions of PSID/DPAD: recordings as one array or a list of trials, y and z paired,
class labels, and a standardisation that works at any floating-point magnitude.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import numpy as np

from .._typing import ArrayLike, Key
from .._validate import check_array, check_int, check_key


class Prediction(NamedTuple):
    """One-step-ahead predictions of a fitted PSID or DPAD model: `z`, `y` and states `x`.

    `z` is the behaviour (class probabilities for a categorical behaviour), `y` the neural activity
    (rates for Poisson data) and `x` the latent states they were read out from.

    `predict` gives arrays (`[T, ·]` for one recording, `[B, T, ·]` for a batch); `predict_trials`
    gives lists with one array per trial. It unpacks as `z_hat, y_hat, x = model.predict(y)`.
    """

    z: np.ndarray | list[np.ndarray]
    y: np.ndarray | list[np.ndarray]
    x: np.ndarray | list[np.ndarray]


def prediction_form(data: Any, was_list: bool) -> str:
    """How `predict` returns its results for `data`: 'one' recording `[T, ·]`, a 'batch'
    `[B, T, ·]`, or (deprecated: `predict_trials` is the method for that) a list of 'trials'."""
    if not was_list:
        return "one"
    if isinstance(data, (list, tuple)):
        warnings.warn("predict(list of trials) is deprecated: use predict_trials (lists of "
                      "per-trial arrays back) or pass a [B, T, ny] batch (arrays back)",
                      DeprecationWarning, stacklevel=3)
        return "trials"
    return "batch"


def collect(per_trial: list[tuple[np.ndarray, np.ndarray, np.ndarray]], form: str) -> Prediction:
    """A `Prediction` from per-trial (z, y, x): arrays for 'one' and 'batch', lists for 'trials'."""
    z, y, x = ([out[j] for out in per_trial] for j in range(3))
    if form == "one":
        return Prediction(z[0], y[0], x[0])
    if form == "batch":
        return Prediction(np.stack(z), np.stack(y), np.stack(x))
    return Prediction(z, y, x)


def by_name(result: tuple, key: Any) -> Any:
    """`result[key]` for a NamedTuple result that used to be a dict: a field name is the
    deprecated dict-style access (with a DeprecationWarning); an index or a slice is a tuple's."""
    if not isinstance(key, str):
        return tuple.__getitem__(result, key)
    name = type(result).__name__
    warnings.warn(f"{name}[{key!r}] is deprecated: {name} is a NamedTuple now, use the "
                  f"attribute .{key}", DeprecationWarning, stacklevel=3)
    value = getattr(result, key, None) if key in result._fields else None
    if value is None:
        raise KeyError(key)
    return value


def check_sizes(nx: int, n1: int) -> tuple[int, int]:
    nx = check_int(nx, "nx", low=1)
    n1 = check_int(n1, "n1", low=0)
    if n1 > nx:
        raise ValueError(f"n1 (behaviour-relevant states, {n1}) must be <= nx ({nx})")
    return nx, n1


def _trial(t, name: str, allow_nan: bool) -> np.ndarray:
    """One trial `[T]` or `[T, n]` as a 2-D NumPy array of real numbers (integers stay
    integers: they are class labels for a categorical behaviour)."""
    arr = check_array(t, name, ndim=(1, 2), finite=True, allow_nan=allow_nan)
    raw = np.asarray(t)
    arr = raw if raw.dtype.kind in "biu" else np.asarray(arr)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr


def as_trials(data: ArrayLike | Sequence[ArrayLike], name: str, *,
              allow_nan: bool = False) -> tuple[list[np.ndarray], bool]:
    """`[T, n]`, `[T]`, `[B, T, n]` or a list of `[T_i, n]` → (list of 2-D arrays, was_list).

    `was_list` is True for anything with several trials, so results come back in the same form.
    Entries must be finite real numbers; with `allow_nan`, NaN marks a missing sample.
    """
    if isinstance(data, (list, tuple)) and not (
        len(data) and all(isinstance(d, (int, float, np.number)) for d in data)
    ):
        if len(data) == 0:
            raise ValueError(f"{name}: got an empty list of trials")
        trials = [_trial(d, f"{name} (trial {i})", allow_nan) for i, d in enumerate(data)]
        was_list = True
    else:
        arr = check_array(data, name, finite=False)
        if arr.ndim not in (1, 2, 3):
            raise ValueError(
                f"{name} must be [time, channels], [trials, time, channels] or a list of "
                f"[time, channels] arrays, got shape {arr.shape}"
            )
        if arr.ndim == 3:
            if arr.shape[0] < 1:
                raise ValueError(f"{name}: got an empty batch of trials (shape {arr.shape})")
            trials, was_list = [_trial(a, f"{name} (trial {i})", allow_nan)
                                for i, a in enumerate(np.asarray(data))], True
        else:
            trials, was_list = [_trial(data, name, allow_nan)], False
    for i, t in enumerate(trials):
        if t.shape[1] != trials[0].shape[1]:
            raise ValueError(
                f"{name}: all trials must have the same number of channels, trial {i} has "
                f"{t.shape[1]} but trial 0 has {trials[0].shape[1]}"
            )
    return trials, was_list


def check_pair(ys: list[np.ndarray], zs: list[np.ndarray]) -> None:
    if len(ys) != len(zs):
        raise ValueError(f"y has {len(ys)} trials but z has {len(zs)}")
    for i, (y, z) in enumerate(zip(ys, zs)):
        if y.shape[0] != z.shape[0]:
            raise ValueError(
                f"y and z must have the same number of time samples, trial {i} has "
                f"{y.shape[0]} in y and {z.shape[0]} in z"
            )


def is_categorical(zs: list[np.ndarray]) -> bool:
    return zs[0].dtype.kind in "biu"


def check_classes(zs: list[np.ndarray]) -> np.ndarray:
    """The sorted class labels of an integer z; at least two are needed."""
    labels = np.unique(np.concatenate([z.ravel() for z in zs]))
    if labels.size < 2:
        raise ValueError(
            f"integer (categorical) z has a single class {labels.tolist()}; at least two classes "
            f"are needed (pass a float z for a continuous behaviour)"
        )
    return labels


def check_behaviour_varies(zs: list[np.ndarray]) -> None:
    z = np.concatenate(zs)
    with warnings.catch_warnings():  # an all-NaN column gives NaN here, and is refused below
        warnings.simplefilter("ignore", RuntimeWarning)
        varies = np.nanmax(z, axis=0) > np.nanmin(z, axis=0)
    bad = np.flatnonzero(~varies)
    if bad.size:
        raise ValueError(f"z is constant (or entirely missing) in dimension(s) {bad.tolist()}")


@dataclass(frozen=True)
class Standardiser:
    """x ↦ (x − mean)/scale, fitted on training data (scale 1 unless z-scoring).

    Computed at any magnitude of the data: every column is first divided by `unit`, the power of
    two nearest its largest absolute value (exact in floating point), so that the squares in the
    standard deviation neither overflow (|x| ~ 1e200) nor underflow (|x| ~ 1e-200). For data of
    ordinary magnitude the result is the same, to the last bit, as the direct formula.
    """

    mean: np.ndarray
    scale: np.ndarray
    unit: np.ndarray

    @classmethod
    def fit(cls, trials: list[np.ndarray], *, zscore: bool, centre: bool = True) -> Standardiser:
        x = np.concatenate(trials).astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (refused elsewhere)
            biggest = np.nanmax(np.abs(x), axis=0)
        ok = np.isfinite(biggest) & (biggest > 0)
        unit = np.where(ok, np.ldexp(1.0, np.frexp(np.where(ok, biggest, 1.0))[1] - 1), 1.0)
        xu = x / unit
        mean_u = np.nanmean(xu, axis=0) if centre else np.zeros(x.shape[1])
        scale_u = np.nanstd(xu, axis=0) if zscore else 1.0 / unit
        scale_u = np.where(scale_u > 0, scale_u, 1.0 / unit)
        return cls(mean=mean_u * unit, scale=scale_u * unit, unit=unit)

    def apply(self, x: ArrayLike) -> np.ndarray:
        u = self.unit
        return (np.asarray(x, dtype=np.float64) / u - self.mean / u) / (self.scale / u)

    def invert(self, x: ArrayLike) -> np.ndarray:
        return np.asarray(x) * self.scale + self.mean


def check_magnitude(trials: list[np.ndarray], name: str, *, method: str, low: float,
                    high: float) -> None:
    """Refuse standardised data (`trials`) whose non-constant columns reach magnitudes outside
    [low, high]: z-scored data always lie inside, so this only stops fits in the data's own units
    (zscore=False) whose arithmetic would overflow or underflow."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        biggest = np.nanmax(np.abs(np.concatenate(trials)), axis=0)
    used = biggest[np.isfinite(biggest) & (biggest > 0)]
    if used.size and (used.max() > high or used.min() < low):
        m = used.max() if used.max() > high else used.min()
        raise ValueError(
            f"{name} has values of magnitude {m:.3g} after centring, outside the range "
            f"[{low:g}, {high:g}] where {method} can fit in the units of {name} (zscore=False) "
            f"without overflow or underflow; pass zscore=True (the fit is then in z-scored units "
            f"and predictions come back in the units of {name})"
        )


def typed_key(key: Key, name: str = "key") -> Key:
    """A checked JAX key, as a typed key (a legacy uint32 key is wrapped: same bits, same
    random streams)."""
    key = check_key(key, name)
    if not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(key)
    return key
