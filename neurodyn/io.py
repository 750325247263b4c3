"""Checkpoints: `save(path, obj)` / `load(path)` for any registered neurodyn object.

File layout (format 2): one line of JSON (the header), then the array leaves written by
`eqx.tree_serialise_leaves` (NumPy's .npy format, which `load` reads without pickle).
The header holds the class name, its constructor hyperparameters, the member count of a stacked
ensemble (or null), the neurodyn and JAX versions, the seed, user metadata, every leaf's shape
and dtype, the payload's length and, as its last entry, the SHA-256 of the whole file (header
and arrays) computed with the digest itself written as 64 zeros. Any change to the file, to a
hyperparameter such as τ as much as to an array, is therefore caught before anything is built.
Format 1 files (whose checksum covered the arrays only) still load, with a warning.

Writes are atomic: a temporary file in the same folder, fsync, then `os.replace`. Temporary
files left by a writer that was killed are removed by the next write to the same target.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import re
import socket
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._validate import ArgumentTypeError, check_finite_tree, check_int, check_path
from ._version import __version__
from .models import AbstractNetwork

MAGIC = "neurodyn-checkpoint"
"""The format name at the start of every checkpoint's JSON header."""
FORMAT_VERSION = 2
"""The checkpoint format this version writes (it reads formats 1 and 2)."""
# Every checkpoint (formats 1 and 2) starts with these bytes: `json.dumps` keeps key order.
_PREFIX = b'{"format": "' + MAGIC.encode() + b'"'
_DIGEST_KEY = b'"sha256": "'
_ZEROS = b"0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")

# name -> (class, skeleton builder, whether the builder takes a key)
_CLASSES: dict[str, tuple[type, Callable[..., Any], bool]] = {}


def register_class(cls: type, build: Callable[[dict], Any] | None = None) -> type:
    """Make `cls` saveable.

    Its instances must have `hyperparameters() -> dict` (JSON-able); `build(hyperparameters)`
    returns an instance of the right shapes. Without `build`, `cls(**hyperparameters, key=key)` is
    used with an *abstract* key (see `_skeleton`)."""
    if build is None:

        def build(hp, key, cls=cls):
            return cls(**hp, key=key)

        _CLASSES[cls.__name__] = (cls, build, True)
    else:
        _CLASSES[cls.__name__] = (cls, build, False)
    return cls


def _skeleton(name: str, hp: dict):
    """The shapes and dtypes of a `name` built from `hp`, as `jax.ShapeDtypeStruct` leaves.

    The builder runs under `eqx.filter_eval_shape`, so nothing is computed: a builder that
    needs a key gets an abstract one (a `ShapeDtypeStruct` of key type, made without any seed),
    draws no random numbers, and every array of the result is replaced by the file's values."""
    _, build, takes_key = _CLASSES[name]
    if not takes_key:
        return eqx.filter_eval_shape(build, hp)
    key = jax.eval_shape(jax.random.key, jax.ShapeDtypeStruct((), jnp.uint32))
    return eqx.filter_eval_shape(build, hp, key)


def _is_array(x) -> bool:
    return eqx.is_array(x) or isinstance(x, jax.ShapeDtypeStruct)


def _leaf_specs(tree) -> list[list]:
    return [[list(x.shape), str(x.dtype)] for x in jax.tree_util.tree_leaves(tree) if _is_array(x)]


def _stacked(like, members: int):
    """`like` with a leading axis of `members` on every array leaf (a stacked ensemble)."""
    def stack(x):
        return jax.ShapeDtypeStruct((members,) + tuple(x.shape), x.dtype) if _is_array(x) else x

    return jax.tree_util.tree_map(stack, like)


def _members(obj, like, name: str) -> int | None:
    """None for a single object of the shapes `like`, E for a stack of E of them."""
    have, want = _leaf_specs(obj), _leaf_specs(like)
    if [s for s, _ in have] == [s for s, _ in want]:
        return None
    sizes = {tuple(h[0][:1]) for h in have}
    if len(have) == len(want) and len(sizes) == 1 and all(
        len(h[0]) == len(w[0]) + 1 and h[0][1:] == w[0] for h, w in zip(have, want)
    ):
        (members,) = sizes.pop()
        if members >= 1:
            return int(members)
    raise ValueError(
        f"obj: its array shapes {have} are neither those of a {name} with its hyperparameters "
        f"{want} nor those of a stacked ensemble of them (a leading member axis on every array)"
    )


def _metadata(metadata) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ArgumentTypeError(
            f"metadata must be a dict or None, got {type(metadata).__name__}"
        )
    try:
        return json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as err:
        raise ValueError(
            f"metadata must be JSON-serialisable (no NaN or Inf, no cycles): {err}"
        ) from None


def _target(path) -> Path:
    check_path(path, "path")
    if "\x00" in os.fspath(path):
        raise ValueError(f"path must not contain a NUL character, got {path!r}")
    return Path(path)


def save(path: str | os.PathLike, obj: Any, metadata: dict | None = None, *,
         seed: int | None = None) -> Path:
    """Write `obj` to `path` atomically (the old file stays intact if anything fails).

    `obj` is a registered object (a model, `FixedPoints`, …) or a stacked ensemble of models
    (`nd.train.fit_ensemble(...).model`: a leading member axis on every array), which loads
    back as the same stack (`nd.train.member(nd.load(path), i)`). `metadata` is a JSON-able
    dict and `seed` an integer or None, both kept in the header (`read_header`)."""
    path = _target(path)
    name = type(obj).__name__
    if name not in _CLASSES or not isinstance(obj, _CLASSES[name][0]):
        raise ArgumentTypeError(
            f"obj: cannot save a {name}; saveable classes are {sorted(_CLASSES)}"
        )
    seed = check_int(seed, "seed", low=None, allow_none=True)
    metadata = _metadata(metadata)
    if isinstance(obj, AbstractNetwork):  # a model with NaN weights cannot be simulated
        check_finite_tree(obj, "obj")
    hyperparameters = obj.hyperparameters()
    members = _members(obj, _skeleton(name, hyperparameters), name)
    buffer = _io.BytesIO()
    eqx.tree_serialise_leaves(buffer, obj)
    payload = buffer.getvalue()
    header = {
        "format": MAGIC,
        "format_version": FORMAT_VERSION,
        "class": name,
        "hyperparameters": hyperparameters,
        "members": members,
        "versions": {"neurodyn": __version__, "jax": jax.__version__, "equinox": eqx.__version__},
        "seed": seed,
        "metadata": metadata,
        "leaves": _leaf_specs(obj),
        "payload_bytes": len(payload),
        "sha256": _ZEROS.decode(),  # last entry; the digest is written over the zeros
    }
    head = json.dumps(header).encode()
    assert head.endswith(_DIGEST_KEY + _ZEROS + b'"}')
    digest = hashlib.sha256(head + b"\n" + payload).hexdigest().encode()
    head = head[: -len(_ZEROS) - 2] + digest + b'"}'
    return write_atomic(path, head + b"\n" + payload)


# ------------------------------------------------------------------------- atomic writes
# Temporaries are named `.{target}.{host}-{pid}.{8 random}.tmp`. One is stale, and removed by
# the next write to the same target, when its writer is certainly gone: written on this host
# by a process that no longer exists, or (another host on a shared file system, or a name
# from before this scheme, `.{target}.{8 random}.tmp`) not modified for STALE_SECONDS.
STALE_SECONDS = 3600.0
"""Age (s) after which another host's temporary file counts as abandoned."""
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:16] or "host"
_OURS = re.compile(r"(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp")
_LEGACY = re.compile(r"[a-z0-9_]{8}\.tmp")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, under another user
        return True
    return True


def _is_stale(rest: str, mtime: float) -> bool:
    old = time.time() - mtime > STALE_SECONDS
    ours = _OURS.fullmatch(rest)
    if ours is None:
        return _LEGACY.fullmatch(rest) is not None and old
    pid = int(ours["pid"])
    # os.kill(pid, 0) would send CTRL_C on Windows; pids <= 0 name process groups.
    if ours["host"] == _HOST and os.name == "posix" and 0 < pid < 2**31:
        return not _pid_alive(pid)
    return old


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of `write_atomic(path, …)` whose writer is gone.

    Whether a writer is gone is judged by the rule above. Returns what was removed. Best effort:
    a file that cannot be removed is left."""
    path = Path(path)
    start = f".{path.name}."
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(start) or not entry.name.endswith(".tmp"):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and _is_stale(
                entry.name[len(start):], entry.stat(follow_symlinks=False).st_mtime
            ):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically, so that the old file survives any failure.

    The steps: a temporary file beside it, fsync, `os.replace`, then fsync of the folder so that
    the rename itself is durable. Stale temporaries of the same target (left by killed writers)
    are removed first."""
    path = _target(path)
    if path.is_dir():
        raise ValueError(f"path: {path} is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"path: cannot write {path}: a part of its folder is a file") from None
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=".tmp"
    )
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


# ---------------------------------------------------------------------------------- reading
def _invalid(path, why: str) -> ValueError:
    return ValueError(f"not a valid neurodyn checkpoint: {path}: {why}")


def _warn_format1(path, header: dict) -> None:
    if header["format_version"] == 1:
        warnings.warn(
            f"{path} is a format-1 checkpoint: its header (class, hyperparameters such as tau, "
            "dt, the nonlinearity and the trained groups) is not protected by its checksum, so "
            "changes to it cannot be detected. Re-save it with nd.save to protect it.",
            UserWarning, stacklevel=3,
        )


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a checkpoint, after its integrity checks.

    The header holds the class, hyperparameters, versions, seed and metadata; it is returned
    only after the file passed its integrity checks."""
    path = _target(path)
    header, _ = _read(path)
    _warn_format1(path, header)
    return header


def _read(path: Path) -> tuple[dict, bytes]:
    if path.is_dir():
        raise ValueError(f"path: {path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    data = path.read_bytes()
    if not data.startswith(_PREFIX):
        raise _invalid(path, "no neurodyn header (this is not a neurodyn checkpoint, or its "
                             "start is damaged)")
    line, sep, payload = data.partition(b"\n")
    try:
        header = json.loads(line.decode("utf-8")) if sep else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("format") != MAGIC:
        raise _invalid(path, "its header is damaged (not a line of JSON)")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _invalid(path, f"unknown format version {version!r}")
    if version > FORMAT_VERSION:
        raise _invalid(path, f"it was written by a newer neurodyn (format {version}; this "
                             f"version reads formats 1 to {FORMAT_VERSION}): upgrade neurodyn")
    expected = header.get("payload_bytes")
    if not isinstance(expected, int) or len(payload) != expected:
        raise _invalid(path, f"truncated or damaged: expected {expected} bytes of array data, "
                             f"found {len(payload)}")
    if version == 1:
        if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
            raise _invalid(path, "damaged: its array data fail the SHA-256 check")
        header["members"] = None
    else:
        digest = header.get("sha256")
        tail = b"" if not isinstance(digest, str) else _DIGEST_KEY + digest.encode() + b'"}'
        if not tail or not _HEX64.fullmatch(digest) or not line.endswith(tail):
            raise _invalid(path, "its header has no checksum")
        blank = line[: -len(tail)] + _DIGEST_KEY + _ZEROS + b'"}'
        if hashlib.sha256(blank + b"\n" + payload).hexdigest() != digest:
            raise _invalid(path, "it fails its SHA-256 check: the header or the arrays were "
                                 "changed or damaged after it was written")
    members = header.get("members")
    if not (
        isinstance(header.get("class"), str) and isinstance(header.get("hyperparameters"), dict)
        and isinstance(header.get("leaves"), list)
        and (members is None or (type(members) is int and members >= 1))
    ):
        raise _invalid(path, "its header lacks the class, hyperparameters, leaves or a valid "
                             "member count")
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
        except (TypeError, ValueError, OverflowError):
            ok = False
    if ok:
        ok = all(
            shape == tuple(x.shape) and dtype.kind == np.dtype(x.dtype).kind
            for (shape, dtype), x in zip(stored, specs)
        )
    if not ok:
        raise _invalid(path, f"array shapes in the file {leaves} do not match a {name} with "
                             f"these hyperparameters {_leaf_specs(like)}")
    dtypes = iter(jax.dtypes.canonicalize_dtype(dtype) for _, dtype in stored)

    def retype(x):
        return jax.ShapeDtypeStruct(x.shape, next(dtypes)) if _is_array(x) else x

    return jax.tree_util.tree_map(retype, like)


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by `save`. Never unpickles; checks integrity, class and shapes.

    Any damaged, edited or foreign file raises `ValueError("not a valid neurodyn checkpoint:
    …")`. A stacked ensemble loads as the stack it was. Arrays load with the dtypes they were
    saved with, whatever `jax_enable_x64` says (but without x64, 64-bit arrays load as 32-bit,
    as JAX holds no 64-bit arrays then)."""
    path = _target(path)
    header, payload = _read(path)
    name = header["class"]
    if name not in _CLASSES:
        raise _invalid(path, f"unknown class {name!r}; known classes are {sorted(_CLASSES)}")
    try:
        like = _skeleton(name, header["hyperparameters"])
    except Exception as err:  # noqa: BLE001 - any failure of the builder means a bad header
        raise _invalid(path, f"the hyperparameters in the header are invalid: "
                             f"{type(err).__name__}: {err}") from None
    if header["members"] is not None:
        like = _stacked(like, header["members"])
    like = _with_file_dtypes(like, header["leaves"], path, name)
    expected = _leaf_specs(like)
    try:
        obj = eqx.tree_deserialise_leaves(_io.BytesIO(payload), like)
    except Exception as err:  # noqa: BLE001 - malformed .npy data despite a matching hash
        raise _invalid(path, f"could not read the array data ({err})") from None
    if _leaf_specs(obj) != expected:
        raise _invalid(path, "array shapes read do not match the header")
    _warn_format1(path, header)
    return obj
