"""Input validation and normalisation shared by PSID and DPAD (plain NumPy, float64)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_key(key, name: str = "key") -> None:
    """A JAX PRNG key (`jax.random.key(seed)`, or a legacy uint32 key) is required."""
    import jax

    ok = False
    if isinstance(key, jax.Array) or isinstance(key, np.ndarray):
        dtype = key.dtype
        ok = (jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key) and key.ndim == 0) or (
            dtype == np.uint32 and key.shape == (2,))
    if not ok:
        raise ValueError(
            f"{name} must be a JAX PRNG key such as jax.random.key(0), got {type(key).__name__}"
            + (f" {key!r}" if key is None or isinstance(key, (int, np.integer)) else "")
        )


def check_sizes(nx, n1) -> tuple[int, int]:
    nx = check_int("nx", nx, 1)
    n1 = check_int("n1", n1, 0)
    if n1 > nx:
        raise ValueError(f"n1 (behaviour-relevant states, {n1}) must be <= nx ({nx})")
    return nx, n1


def as_trials(data, name: str, *, allow_nan: bool = False) -> tuple[list[np.ndarray], bool]:
    """`[T, n]`, `[T]`, `[B, T, n]` or a list of `[T_i, n]` → (list of 2-D arrays, was_list).

    `was_list` is True for anything with several trials, so results come back in the same form.
    """
    if isinstance(data, (list, tuple)):
        if len(data) == 0:
            raise ValueError(f"{name}: got an empty list of trials")
        trials = [np.asarray(d) for d in data]
        was_list = True
    else:
        arr = np.asarray(data)
        if arr.ndim == 3:
            trials, was_list = list(arr), True
        elif arr.ndim in (1, 2):
            trials, was_list = [arr], False
        else:
            raise ValueError(
                f"{name} must be [time, channels], [trials, time, channels] or a list of "
                f"[time, channels] arrays, got shape {arr.shape}"
            )
    out = []
    for i, t in enumerate(trials):
        if t.ndim == 1:
            t = t[:, None]
        if t.ndim != 2:
            raise ValueError(f"{name}: trial {i} must be [time, channels], got shape {t.shape}")
        if t.dtype.kind not in "biuf":
            raise ValueError(f"{name}: trial {i} must be numeric, got dtype {t.dtype}")
        if t.shape[0] < 1 or t.shape[1] < 1:
            raise ValueError(f"{name}: trial {i} is empty (shape {t.shape})")
        if t.shape[1] != (out[0].shape[1] if out else t.shape[1]):
            raise ValueError(
                f"{name}: all trials must have the same number of channels, trial {i} has "
                f"{t.shape[1]} but trial 0 has {out[0].shape[1]}"
            )
        if not allow_nan and not np.all(np.isfinite(t)):
            raise ValueError(f"{name} contains NaN or Inf values (trial {i})")
        if allow_nan and np.any(np.isinf(t)):
            raise ValueError(f"{name} contains Inf values (trial {i}); mark missing samples as NaN")
        out.append(t)
    return out, was_list


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
    std = np.nanstd(z, axis=0)
    bad = np.flatnonzero(~(std > 0))
    if bad.size:
        raise ValueError(f"z is constant (or entirely missing) in dimension(s) {bad.tolist()}")


@dataclass(frozen=True)
class Standardiser:
    """x ↦ (x − mean)/scale, fitted on training data (scale 1 unless z-scoring)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, trials: list[np.ndarray], *, zscore: bool, centre: bool = True) -> Standardiser:
        x = np.concatenate(trials).astype(np.float64)
        mean = np.nanmean(x, axis=0) if centre else np.zeros(x.shape[1])
        scale = np.nanstd(x, axis=0) if zscore else np.ones(x.shape[1])
        scale = np.where(scale > 0, scale, 1.0)
        return cls(mean=mean, scale=scale)

    def apply(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale

    def invert(self, x):
        return np.asarray(x) * self.scale + self.mean


def unlist(items: list, was_list: bool):
    return items if was_list else items[0]
