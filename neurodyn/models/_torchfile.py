"""Read a `torch.save` file of tensors into NumPy arrays without PyTorch and without running
any code from the file.

PyTorch writes a checkpoint in one of two layouts:

- **zip** (the default since PyTorch 1.6): an archive `<name>/data.pkl` (the pickled object)
  beside `<name>/data/<key>` (one file of raw bytes per storage) and `<name>/byteorder`;
- **legacy** (`_use_new_zipfile_serialization=False`, and every file saved before 1.6): five
  pickles in a row — a magic number, the protocol version (1001), a system-info dict
  (byte order, type sizes), the object, and the list of storage keys — followed by each
  storage as an 8-byte element count and its raw bytes.

In both, a tensor is pickled as a call of `torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, ...)` and a storage as a persistent id `("storage", torch.<Type>Storage, key,
location, numel)`. The unpickler here admits only those globals and
`collections.OrderedDict` (everything a state dict holds); each is mapped onto a function of
this module, so no code named in the file is imported or run. Any other global is refused
with an error that names it. The tensors are then built from the raw bytes with their dtype,
shape, strides, offset and byte order, after checking that every view lies inside its storage.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile

import jax.numpy as jnp
import numpy as np

__all__ = ["CheckpointError", "read_torch_file"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch.<Name>Storage -> the NumPy dtype of its elements (byte order applied later).
STORAGE_DTYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "LongStorage": "i8",
    "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1", "ByteStorage": "u1",
    "BoolStorage": "?", "ComplexFloatStorage": "c8", "ComplexDoubleStorage": "c16",
    "BFloat16Storage": jnp.bfloat16,
}


class CheckpointError(ValueError):
    """A file that is not a `torch.save` checkpoint of tensors this reader understands."""


class _StorageType:
    """Stands for a `torch.<Name>Storage` class in the pickle (never called)."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _Storage:
    """A storage named by a persistent id; `data` (a flat array) is filled in when read."""

    __slots__ = ("key", "dtype", "numel", "data")

    def __init__(self, key: str, dtype: np.dtype, numel: int):
        self.key, self.dtype, self.numel, self.data = key, dtype, numel, None


class _Tensor:
    """A tensor to build once its storage's bytes are known."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        if not isinstance(storage, _Storage):
            raise CheckpointError(
                f"unknown checkpoint layout: a tensor rebuilt from a {type(storage).__name__} "
                "instead of a storage"
            )
        ints = (offset, *size, *stride)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints) or \
                len(size) != len(stride) or offset < 0 or min((*size, 0)) < 0:
            raise CheckpointError(
                f"unknown checkpoint layout: a tensor with offset {offset!r}, size {size!r} and "
                f"stride {stride!r}"
            )
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), \
            tuple(stride)

    def build(self) -> np.ndarray:
        flat = self.storage.data
        if any(s == 0 for s in self.size):
            return np.zeros(self.size, flat.dtype)
        if min((*self.stride, 0)) < 0:
            raise CheckpointError(f"unknown checkpoint layout: negative strides {self.stride}")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= flat.shape[0]:
            raise CheckpointError(
                f"corrupt checkpoint: a tensor of size {self.size}, stride {self.stride} at "
                f"offset {self.offset} reaches past its storage {self.storage.key!r} of "
                f"{flat.shape[0]} elements"
            )
        item = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride],
            writeable=False)
        return np.array(view)


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    # torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
    # backward_hooks[, metadata]) and the older _rebuild_tensor(storage, offset, size, stride)
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    # torch._utils._rebuild_parameter(data, requires_grad, backward_hooks[, state])
    return data


def _globals() -> dict:
    """The only globals a checkpoint may name, each mapped to a harmless stand-in. Fresh
    objects for every pickle, so that nothing a file does to them (pickle's BUILD sets
    attributes) outlives its own reading."""
    return {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor"): lambda *args: _rebuild_tensor(*args),
        ("torch._utils", "_rebuild_tensor_v2"): lambda *args: _rebuild_tensor(*args),
        ("torch._utils", "_rebuild_parameter"): lambda *args: _rebuild_parameter(*args),
        ("torch._utils", "_rebuild_parameter_with_state"):
            lambda *args: _rebuild_parameter(*args),
        **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
    }


class _Unpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of `_GLOBALS` and torch's storage ids."""

    def __init__(self, file, storages: dict | None):
        super().__init__(file, encoding="utf-8")
        self._storages = storages
        self._globals = _globals()

    def find_class(self, module: str, name: str):
        try:
            return self._globals[(module, name)]
        except KeyError:
            raise CheckpointError(
                f"unknown checkpoint layout/global {module}.{name}: a checkpoint of tensors "
                "names only collections.OrderedDict, torch._utils._rebuild_tensor_v2 and the "
                "torch storage classes; refused without importing or running it"
            ) from None

    def persistent_load(self, pid):
        if self._storages is None or not isinstance(pid, tuple) or len(pid) < 5 or \
                pid[0] != "storage":
            raise CheckpointError(f"unknown checkpoint layout: persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or \
                not isinstance(numel, int) or numel < 0 or view is not None:
            raise CheckpointError(f"unknown checkpoint layout: storage id {pid!r}")
        if key not in self._storages:
            self._storages[key] = _Storage(key, storage_type.dtype, numel)
        return self._storages[key]


def _load_pickle(stream, storages: dict | None):
    try:
        return _Unpickler(stream, storages).load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError) as err:
        raise CheckpointError(f"unknown checkpoint layout: unreadable pickle ({err})") from None


def _materialise(obj):
    """The object with every `_Tensor` replaced by its NumPy array (containers rebuilt)."""
    if isinstance(obj, _Tensor):
        return obj.build()
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for key, value in obj.items():
            out[key] = _materialise(value)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    if isinstance(obj, (_Storage, _StorageType)):
        raise CheckpointError("unknown checkpoint layout: a bare storage outside a tensor")
    return obj


def _read_zip(path) -> object:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(
                "unknown checkpoint layout: a zip file without exactly one <name>/data.pkl "
                "(not a torch.save file)"
            )
        prefix = pickles[0][: -len("data.pkl")]
        order = "little"
        if prefix + "byteorder" in names:
            order = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise CheckpointError(f"unknown checkpoint layout: byte order {order!r}")
        storages: dict = {}
        obj = _load_pickle(io.BytesIO(archive.read(pickles[0])), storages)
        for key, storage in storages.items():
            name = f"{prefix}data/{key}"
            if name not in names:
                raise CheckpointError(f"corrupt checkpoint: storage {key!r} missing ({name})")
            raw = archive.read(name)
            storage.data = _array(raw, storage, order)
    return obj


def _array(raw: bytes, storage: _Storage, order: str) -> np.ndarray:
    dtype = storage.dtype.newbyteorder("<" if order == "little" else ">")
    if len(raw) < storage.numel * dtype.itemsize:
        raise CheckpointError(
            f"corrupt checkpoint: storage {storage.key!r} holds {len(raw)} bytes, fewer than "
            f"its {storage.numel} elements of {dtype.itemsize} bytes"
        )
    flat = np.frombuffer(raw, dtype=dtype, count=storage.numel)
    return flat.astype(storage.dtype.newbyteorder("="), copy=False)


def _read_legacy(stream) -> object:
    magic = _load_pickle(stream, None)
    if magic != LEGACY_MAGIC:
        raise CheckpointError(
            "unknown checkpoint layout: neither a zip archive nor a legacy torch.save stream "
            "(wrong magic number)"
        )
    protocol = _load_pickle(stream, None)
    if protocol != LEGACY_PROTOCOL:
        raise CheckpointError(f"unknown checkpoint layout: legacy protocol {protocol!r}")
    info = _load_pickle(stream, None)
    little = info.get("little_endian", True) if isinstance(info, dict) else True
    order = "little" if little else "big"
    storages: dict = {}
    obj = _load_pickle(stream, storages)
    keys = _load_pickle(stream, None)
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise CheckpointError("unknown checkpoint layout: the storage keys do not match")
    for key in keys:
        storage = storages[key]
        count = stream.read(8)
        if len(count) != 8:
            raise CheckpointError(f"corrupt checkpoint: storage {key!r} truncated")
        numel = int.from_bytes(count, order)
        if numel != storage.numel:
            raise CheckpointError(
                f"corrupt checkpoint: storage {key!r} has {numel} elements, its id says "
                f"{storage.numel}"
            )
        storage.data = _array(stream.read(numel * storage.dtype.itemsize), storage, order)
    return obj


def read_torch_file(path: str | os.PathLike) -> object:
    """The object saved by `torch.save` at `path`, with its tensors as NumPy arrays.

    Reads both the zip and the legacy layout; admits only what a state dict is made of
    (dicts, lists, numbers, strings, tensors, `collections.OrderedDict`) and raises
    `CheckpointError` (a `ValueError`) naming anything else. Nothing in the file is executed
    and PyTorch is not needed.
    """
    if zipfile.is_zipfile(path):
        obj = _read_zip(path)
    else:
        with open(path, "rb") as stream:
            obj = _read_legacy(stream)
    return _materialise(obj)
