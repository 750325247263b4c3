"""Argument checks shared by every public entry point.

Each check takes the value first and the argument's name second, returns the value normalised
(a Python int or float, a NumPy or JAX array) and raises an error whose message starts with the
argument's name and says what was expected. A value of the wrong *type* raises `ArgumentTypeError`,
which is both a `TypeError` and a `ValueError` (as NumPy's `AxisError` is both a `ValueError` and
an `IndexError`), so callers that catch either keep working. A value of the right type but out of
range, of the wrong shape or not finite raises a plain `ValueError`.

These checks run on concrete values, at the boundary of a public function and before anything is
traced. Inside jitted code a value check needs `eqx.error_if` instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ArgumentTypeError",
    "check_int",
    "check_number",
    "check_bool",
    "check_choice",
    "check_key",
    "check_keys",
    "check_array",
    "check_finite_tree",
    "check_path",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a `TypeError` that is also a `ValueError`)."""


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return True
    # 0-d NumPy/JAX arrays of a real dtype (not traced values).
    return (
        isinstance(value, (np.ndarray, jax.Array))
        and not isinstance(value, jax.core.Tracer)
        and value.ndim == 0
        and (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating))
    )


def _range_text(low, high, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def check_int(
    value, name: str, *, low: int | None = 1, high: int | None = None, allow_none: bool = False
) -> int | None:
    """An integer (not a bool, not a float) in [low, high]; `low=1` by default."""
    if value is None and allow_none:
        return None
    what = " ".join(
        s for s in ("an integer", _range_text(low, high, False, False),
                    "or None" if allow_none else "") if s
    )
    if not _is_int(value):
        raise ArgumentTypeError(f"{name} must be {what}, got {_show(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {what}, got {value}")
    return value


def check_number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    unit: str = "",
) -> float | None:
    """A finite real number (int or float, not a bool or a string) in the given range."""
    if value is None and allow_none:
        return None
    bound = _range_text(low, high, low_open, high_open)
    what = " ".join(
        s for s in ("a finite number", bound, f"({unit})" if unit else "",
                    "or None" if allow_none else "") if s
    )
    if not _is_real(value):
        raise ArgumentTypeError(f"{name} must be {what}, got {_show(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be {what}, got {value}")
    too_low = low is not None and (value < low or (low_open and value == low))
    too_high = high is not None and (value > high or (high_open and value == high))
    if too_low or too_high:
        raise ValueError(f"{name} must be {what}, got {value:g}")
    return value


def check_bool(value, name: str) -> bool:
    """A bool (Python or NumPy), nothing that merely converts to one."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def check_choice(value, name: str, choices: Iterable):
    """One of `choices` (compared with ==; strings must match exactly)."""
    choices = list(choices)
    try:
        ok = any(value == c and type(value) is type(c) for c in choices)
    except Exception:  # an array compared to a string, for instance
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {choices}, got {_show(value)}")
    return value


_KEY_HINT = "such as jax.random.key(0)"


def check_key(key, name: str = "key"):
    """One JAX PRNG key: a typed key of shape () or a legacy uint32 key of shape (2,)."""
    if isinstance(key, (jax.Array, np.ndarray)) and not isinstance(key, jax.core.Tracer):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            if key.ndim == 0:
                return key
            raise ValueError(
                f"{name} must be one JAX PRNG key {_KEY_HINT}, got a batch of keys of shape "
                f"{key.shape} (pick one, or pass the batch where an ensemble is expected)"
            )
        if key.dtype == np.uint32 and key.shape == (2,):
            return key
        raise ArgumentTypeError(
            f"{name} must be a JAX PRNG key {_KEY_HINT}, got an array of dtype {key.dtype} and "
            f"shape {key.shape}"
        )
    if isinstance(key, jax.core.Tracer):
        return key  # inside vmap/jit: the caller's transformation already checked it
    raise ArgumentTypeError(
        f"{name} must be a JAX PRNG key {_KEY_HINT}, got {type(key).__name__} {_show(key)}"
    )


def check_keys(keys, name: str = "keys"):
    """A 1-D batch of E >= 1 typed keys (legacy raw keys of shape [E, 2] are wrapped)."""
    hint = f"e.g. {name}=jax.random.split(jax.random.key(0), E)"
    if not isinstance(keys, (jax.Array, np.ndarray)):
        raise ArgumentTypeError(
            f"{name} must be an array of JAX PRNG keys ({hint}), got {type(keys).__name__}"
        )
    if jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
        if keys.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array of keys ({hint}), got shape {keys.shape}")
    elif keys.dtype == np.uint32 and keys.ndim == 2 and keys.shape[1] == 2:
        keys = jax.random.wrap_key_data(jnp.asarray(keys))
    else:
        raise ArgumentTypeError(
            f"{name} must be a 1-D array of JAX PRNG keys ({hint}), got dtype {keys.dtype} and "
            f"shape {keys.shape}"
        )
    if keys.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one key ({hint}), got none")
    return keys


def check_array(
    value,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    dtype: str = "float",
    finite: bool = True,
    allow_nan: bool = False,
    min_size: int = 0,
    to: str = "numpy",
):
    """A real-valued array (or something NumPy turns into one) with the given dimensions.

    `dtype` is "float" (bools, ints and floats accepted, returned as float), "int" or "bool";
    `shape` may hold None for free sizes; `finite` refuses NaN and Inf (`allow_nan` lets NaN
    through for missing samples but still refuses Inf). `to="jax"` returns a `jax.Array`.
    """
    if isinstance(value, jax.core.Tracer):
        return value
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise ArgumentTypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        arr = value if isinstance(value, jax.Array) else np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError(
            f"{name} must be an array of numbers, got {type(value).__name__} ({err})"
        ) from None
    kind = np.dtype(arr.dtype).kind if not jnp.issubdtype(arr.dtype, jax.dtypes.prng_key) else "V"
    accepted = {"float": "biuf", "int": "iu", "bool": "b"}[dtype]
    if kind not in accepted:
        what = {"float": "real numbers", "int": "integers", "bool": "booleans"}[dtype]
        raise ArgumentTypeError(f"{name} must be an array of {what}, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            dims = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must have {dims} dimensions, got shape {tuple(arr.shape)}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape)
        ):
            want = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
            raise ValueError(f"{name} must have shape {want}, got {list(arr.shape)}")
    if arr.size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} values, got shape {arr.shape}")
    if finite and kind == "f":
        host = np.asarray(arr)
        bad = ~np.isfinite(host) if not allow_nan else np.isinf(host)
        if bad.any():
            what = "Inf" if allow_nan else "NaN or Inf"
            raise ValueError(
                f"{name} must be finite, got {int(bad.sum())} {what} value(s) of {host.size}"
            )
    if dtype == "float" and kind in "biu":
        arr = arr.astype(np.float32) if isinstance(arr, jax.Array) else arr.astype(np.float64)
    if to == "jax":
        return jnp.asarray(arr)
    return arr if isinstance(arr, jax.Array) else np.asarray(arr)


def check_finite_tree(tree, name: str):
    """Refuse a pytree (a model, for instance) with NaN or Inf in any floating array leaf."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if (
            eqx.is_array(leaf)
            and not isinstance(leaf, jax.core.Tracer)
            and jnp.issubdtype(leaf.dtype, jnp.inexact)
            and not bool(np.all(np.isfinite(np.asarray(leaf))))
        ):
            where = jax.tree_util.keystr(path).lstrip(".") or "its values"
            raise ValueError(f"{name} has NaN or Inf values in {where}")
    return tree


def check_path(value, name: str = "path"):
    """A file path: a str or an os.PathLike."""
    import os

    if not isinstance(value, (str, os.PathLike)) or (isinstance(value, str) and not value):
        raise ArgumentTypeError(f"{name} must be a file path (str or pathlib.Path), got "
                                f"{_show(value)}")
    return value

