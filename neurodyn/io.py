"""Checkpoints: `save(path, obj)` / `load(path)` for any registered neurodyn object.

File layout: one line of JSON (the header), then the array leaves written by
`eqx.tree_serialise_leaves` (NumPy's .npy format, which `load` reads without pickle).
The header holds the class name, its constructor hyperparameters, the neurodyn and JAX
versions, the seed, user metadata, every leaf's shape and dtype, and the payload's length and
SHA-256, so a truncated or corrupted file is caught before any array is read.
Writes are atomic: a temporary file in the same folder, fsync, then `os.replace`.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from ._version import __version__

MAGIC = "neurodyn-checkpoint"
FORMAT_VERSION = 1

# name -> (class, skeleton builder taking the hyperparameters)
_CLASSES: dict[str, tuple[type, Callable[[dict], Any]]] = {}


def register_class(cls: type, build: Callable[[dict], Any] | None = None) -> type:
    """Make `cls` saveable. Its instances must have `hyperparameters() -> dict` (JSON-able);
    `build(hyperparameters)` returns an instance of the right shapes (default:
    `cls(**hyperparameters, key=jax.random.key(0))`)."""
    if build is None:

        def build(hp, cls=cls):
            return cls(**hp, key=jax.random.key(0))

    _CLASSES[cls.__name__] = (cls, build)
    return cls


def _is_array(x) -> bool:
    return eqx.is_array(x) or isinstance(x, jax.ShapeDtypeStruct)


def _leaf_specs(tree) -> list[list]:
    return [[list(x.shape), str(x.dtype)] for x in jax.tree_util.tree_leaves(tree) if _is_array(x)]


def _jsonable(obj):
    try:
        return json.loads(json.dumps(obj))
    except TypeError as err:
        raise ValueError(f"metadata must be JSON-serialisable: {err}") from None


def save(path: str | os.PathLike, obj: Any, metadata: dict | None = None, *, seed=None) -> Path:
    """Write `obj` to `path` atomically (the old file stays intact if anything fails)."""
    name = type(obj).__name__
    if name not in _CLASSES or not isinstance(obj, _CLASSES[name][0]):
        raise ValueError(
            f"obj: cannot save a {name}; saveable classes are {sorted(_CLASSES)}"
        )
    buffer = _io.BytesIO()
    eqx.tree_serialise_leaves(buffer, obj)
    payload = buffer.getvalue()
    header = {
        "format": MAGIC,
        "format_version": FORMAT_VERSION,
        "class": name,
        "hyperparameters": obj.hyperparameters(),
        "versions": {"neurodyn": __version__, "jax": jax.__version__, "equinox": eqx.__version__},
        "seed": seed,
        "metadata": _jsonable(metadata or {}),
        "leaves": _leaf_specs(obj),
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    return write_atomic(path, json.dumps(header).encode() + b"\n" + payload)


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` so that the old file survives any failure: a temporary file beside
    it, fsync, `os.replace`, then fsync of the folder so that the rename itself is durable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a checkpoint (class, hyperparameters, versions, seed, metadata)."""
    header, _ = _read(Path(path))
    return header


def _read(path: Path) -> tuple[dict, bytes]:
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    data = path.read_bytes()
    line, sep, payload = data.partition(b"\n")
    try:
        header = json.loads(line.decode())
        ok = sep == b"\n" and isinstance(header, dict) and header.get("format") == MAGIC
    except (UnicodeDecodeError, json.JSONDecodeError):
        ok = False
    if not ok:
        raise ValueError(f"{path} is not a neurodyn checkpoint (no valid header)")
    if header.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by a newer neurodyn (format {header['format_version']}); "
            "upgrade neurodyn to read it"
        )
    if len(payload) != header.get("payload_bytes"):
        raise ValueError(
            f"{path} is truncated or damaged: expected {header.get('payload_bytes')} bytes of "
            f"array data, found {len(payload)}"
        )
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise ValueError(f"{path} is damaged: its array data fail the SHA-256 check")
    return header, payload


def _with_file_dtypes(like, leaves, path: Path, name: str):
    """The skeleton `like` with every array leaf given the dtype the file records for it.

    A skeleton takes the precision JAX is configured for (float64 under `jax_enable_x64`), but
    a file holds the precision it was saved in. Each leaf keeps its kind (float, complex,
    integer, bool) and takes the file's width, as far as JAX can hold it: without x64 a 64-bit
    file loads as 32-bit arrays, as `jnp.asarray` would make them."""
    specs = [x for x in jax.tree_util.tree_leaves(like) if _is_array(x)]
    ok = isinstance(leaves, list) and len(leaves) == len(specs)
    if ok:
        try:
            stored = [(tuple(int(d) for d in shape), np.dtype(dtype)) for shape, dtype in leaves]
        except (TypeError, ValueError):
            ok = False
    if ok:
        ok = all(
            shape == tuple(x.shape) and dtype.kind == np.dtype(x.dtype).kind
            for (shape, dtype), x in zip(stored, specs)
        )
    if not ok:
        raise ValueError(
            f"{path}: array shapes in the file {leaves} do not match a {name} with these "
            f"hyperparameters {_leaf_specs(like)}"
        )
    dtypes = iter(jax.dtypes.canonicalize_dtype(dtype) for _, dtype in stored)

    def retype(x):
        return jax.ShapeDtypeStruct(x.shape, next(dtypes)) if _is_array(x) else x

    return jax.tree_util.tree_map(retype, like)


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by `save`. Never unpickles; checks class, shapes and integrity.

    Arrays load with the dtypes they were saved with, whatever `jax_enable_x64` says (but
    without x64, 64-bit arrays load as 32-bit, as JAX holds no 64-bit arrays then)."""
    path = Path(path)
    header, payload = _read(path)
    name = header.get("class")
    if name not in _CLASSES:
        raise ValueError(f"{path}: unknown class {name!r}; known classes are {sorted(_CLASSES)}")
    _, build = _CLASSES[name]
    try:
        like = eqx.filter_eval_shape(build, header["hyperparameters"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: the hyperparameters in the header are invalid: {err}") from None
    like = _with_file_dtypes(like, header.get("leaves"), path, name)
    expected = _leaf_specs(like)
    try:
        obj = eqx.tree_deserialise_leaves(_io.BytesIO(payload), like)
    except Exception as err:  # malformed .npy data despite a matching hash
        raise ValueError(f"{path}: could not read the array data ({err})") from None
    if _leaf_specs(obj) != expected:
        raise ValueError(f"{path}: array shapes read do not match the header")
    return obj
