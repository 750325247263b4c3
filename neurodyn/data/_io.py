"""Readers and writers: NumPy `.npz` files and NWB files (through the optional `pynwb`)."""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._validate import ArgumentTypeError, check_number, check_path
from ._recording import Recording
from ._trials import TrialTable


def _entry_name(value, name: str, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value:
        raise ArgumentTypeError(f"{name} must be the name of an entry (a non-empty str)"
                                f"{' or None' if allow_none else ''}, got {value!r:.80}")
    return value


def _existing_file(path, name: str = "path") -> Path:
    check_path(path, name)
    if "\x00" in str(path):
        raise ValueError(f"{name} must not contain a NUL character, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name}: {path} is a folder, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    return path


def _ragged(npz, name: str):
    if name in npz.files:
        return npz[name]
    keys = sorted((k for k in npz.files if k.startswith(f"{name}_") and
                   k[len(name) + 1:].isdigit()), key=lambda k: int(k[len(name) + 1:]))
    return [npz[k] for k in keys] if keys else None


def _prefixed(npz, prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: npz[k] for k in npz.files if k.startswith(prefix)}


def _extras(npz) -> dict:
    """The optional parts: inputs' names, trial conditions, the trials table, t_start."""
    out: dict = {}
    if "input_names" in npz.files:
        out["input_names"] = tuple(str(s) for s in np.atleast_1d(npz["input_names"]))
    conditions = _prefixed(npz, "condition.")
    if conditions:
        out["conditions"] = conditions
    table = _prefixed(npz, "trial_table.")
    if table:
        if not {"start_time", "stop_time"} <= set(table):
            raise ValueError("the trials table lacks its start_time or stop_time entry")
        out["trial_table"] = TrialTable(table.pop("start_time"), table.pop("stop_time"), table)
    if "t_start" in npz.files:
        out["t_start"] = npz["t_start"][()]
    return out


def _read_entries(path: Path, y: str, z: str, u: str):
    """(ys, zs, us, rate, metadata, names) read from the file; any damage is a ValueError."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"path: {path} is not a NumPy .npz file ({err})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"path: {path} is a single .npy array, not an .npz file of entries")
    with npz:
        if y not in npz.files and f"{y}_0" not in npz.files:
            raise ValueError(f"{path}: no neural data under {y!r} (or {y}_0, {y}_1, …); "
                             f"keys are {npz.files}")
        try:
            ys, zs, us = _ragged(npz, y), _ragged(npz, z), _ragged(npz, u)
            rate = npz["rate"] if "rate" in npz.files else None
            meta = json.loads(str(npz["metadata"])) if "metadata" in npz.files else {}
            names = {k: tuple(str(s) for s in np.atleast_1d(npz[k]))
                     for k in ("channel_names", "behaviour_names") if k in npz.files}
            names.update(_extras(npz))
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
            raise ValueError(f"path: {path} is damaged or holds unreadable entries "
                             f"({type(err).__name__}: {err})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"path: the 'metadata' entry of {path} is not a JSON object")
    return ys, zs, us, rate, meta, names


def read_npz(path: str | os.PathLike, *, y: str = "y", z: str = "z", u: str = "u",
             rate: float | None = None) -> Recording:
    """Read a recording from an `.npz` file.

    Neural data under key `y` (`[T, n]` or `[trials, T, n]`) or, for trials of different lengths,
    `y_0`, `y_1`, …; behaviour likewise under `z` and measured inputs under `u` (both optional).
    The sampling rate comes from `rate` or from a `rate` entry in the file. Trial conditions
    (`condition.<name>`), a trials table (`trial_table.start_time`, `….stop_time`,
    `trial_table.<column>`) and `t_start`, as `save_npz` writes them, are read when present.
    No pickled objects are loaded.
    """
    path = _existing_file(path)
    y, z, u = _entry_name(y, "y"), _entry_name(z, "z"), _entry_name(u, "u")
    rate = check_number(rate, "rate", low=0, low_open=True, allow_none=True, unit="Hz")
    ys, zs, us, stored, meta, names = _read_entries(path, y, z, u)
    if rate is None:
        if stored is None:
            raise ValueError(f"{path}: no 'rate' entry; pass rate= (Hz)")
        if stored.shape != () or stored.dtype.kind not in "iuf":
            raise ValueError(f"rate: the 'rate' entry of {path} must be one number (Hz), got "
                             f"{stored.dtype} of shape {stored.shape}")
        rate = check_number(stored[()], "rate (the file's 'rate' entry)", low=0, low_open=True,
                            unit="Hz")
    return Recording(y=ys, z=zs, u=us, rate=rate, metadata=meta, **names)


def save_npz(path: str | os.PathLike, recording: Recording) -> None:
    """Write a recording to a `.npz` file that `read_npz` restores.

    Ragged trials are stored as y_0, y_1, …; inputs, conditions, the trials table and t_start are
    included.
    NumPy adds the suffix `.npz` to a path without it."""
    check_path(path, "path")
    if "\x00" in str(path):
        raise ValueError(f"path must not contain a NUL character, got {path!r}")
    if not isinstance(recording, Recording):
        raise ArgumentTypeError(f"recording must be a neurodyn.data.Recording, got "
                                f"{type(recording).__name__}")
    try:
        metadata = json.dumps(recording.metadata, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as err:
        raise ValueError(f"recording: its metadata must be JSON-serialisable: {err}") from None
    out: dict = {"rate": np.asarray(recording.rate)}
    same = len(set(recording.lengths.tolist())) == 1
    for name, trials in (("y", recording.y), ("z", recording.z), ("u", recording.u)):
        if trials is None:
            continue
        if recording.n_trials == 1:
            out[name] = trials[0]
        elif same:
            out[name] = np.stack(trials)
        else:
            out.update({f"{name}_{i}": t for i, t in enumerate(trials)})
    if recording.channel_names is not None:
        out["channel_names"] = np.asarray(recording.channel_names)
    for label in ("behaviour_names", "input_names"):
        if getattr(recording, label) is not None:
            out[label] = np.asarray(getattr(recording, label))
    for k, v in (recording.conditions or {}).items():
        out[f"condition.{k}"] = v
    table = recording.trial_table
    if table is not None:
        out.update({f"trial_table.{k}": v for k, v in table.as_conditions(slice(None)).items()})
    out["t_start"] = np.asarray(recording.t_start)
    out["metadata"] = np.asarray(metadata)
    np.savez(Path(path), **out)
