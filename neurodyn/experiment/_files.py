"""Small file helpers for run folders: atomic writes, figures, TOML output, hashes."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..io import write_atomic


def make_folder(path: Path, name: str) -> Path:
    """Create the output folder `path`, or a `ValueError` that names the setting it came from
    (a path inside a file, a folder this user may not write to, ...)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{name}: cannot create the folder {str(path)!r}: "
                         f"{err.strerror or err}") from None
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (`neurodyn.io.write_atomic`)."""
    return write_atomic(path, data)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, obj: object) -> Path:
    """Write `obj` as indented JSON (NumPy arrays and scalars as lists and numbers), atomically."""
    return write_text(path, json.dumps(obj, indent=1, allow_nan=True, default=_json_default)
                      + "\n")


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def save_figure(fig: Figure, path_stem: str | os.PathLike) -> list[str]:
    """Save a matplotlib figure as PNG and PDF, atomically; returns the two file names."""
    stem = Path(path_stem)
    names = []
    for ext in ("png", "pdf"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=150)
        write_bytes(stem.with_suffix(f".{ext}"), buffer.getvalue())
        names.append(stem.with_suffix(f".{ext}").name)
    plt.close(fig)
    return names


def digest(obj: object) -> str:
    """SHA-256 of an object's canonical JSON (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- TOML output
def _toml_key(k: str) -> str:
    ok = k and all(c.isalnum() or c in "-_" for c in k)
    return k if ok else json.dumps(k)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(data: Mapping) -> str:
    """Plain data (tables, lists, scalars; no None) as TOML text."""
    lines: list[str] = []

    def table(node: Mapping, prefix: str):
        scalars = {k: v for k, v in node.items() if not isinstance(v, Mapping)}
        tables = {k: v for k, v in node.items() if isinstance(v, Mapping)}
        if prefix and (scalars or not tables):
            lines.append(f"\n[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in tables.items():
            table(v, f"{prefix}.{_toml_key(k)}" if prefix else _toml_key(k))

    table(data, "")
    return "\n".join(lines).lstrip("\n") + "\n"
