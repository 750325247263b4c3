"""The configs of the studies in experiments/<study>/ (`small.toml`, `paper.toml`): read by the
same code as run configs (`read_config_file`), and checked against the study's schema — a table
of key → Python type — with one `ConfigError` naming the key.

    cfg = load_study_config("experiments/sussillo2013_flipflop", "small",
                            dict(n_neurons=int, steps=int, learning_rate=float, ...))

A study runs through its own script, `python experiments/<study>/run.py --config small|paper`;
`neurodyn run` on a study's config says so, and a run config given to a study says to use
`neurodyn run`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._validate import ArgumentTypeError
from ._config import ConfigError, _convert
from ._parse import read_config_file

STUDY_CONFIGS = ("small", "paper")
"""The configs every study in experiments/ has: `small` (the test run's) and `paper`."""
# The kinds of `_config._convert` behind the Python types a study schema names; list and dict
# values are checked for their type only (a study checks their insides with its own schema).
_KINDS = {int: "int", float: "float", str: "str", bool: "bool"}


def check_study_config(table: Mapping[str, Any], keys: Mapping[str, type],
                       optional: Mapping[str, type] | None = None, *,
                       where: str = "") -> dict[str, Any]:
    """Check a study's config table against its schema and return it as a dict.

    `table` checked against a study's schema: exactly the `keys` (name → type: int, float,
    str, bool, list or dict), plus any of `optional`. Numbers are checked as in run configs
    (an int is no bool, a float is finite, and an int is a valid float). Returns the table
    unchanged, as a dict."""
    optional = optional or {}
    for schema in (keys, optional):
        bad = {k: t for k, t in schema.items() if t not in _KINDS and t not in (list, dict)}
        if bad:
            raise ArgumentTypeError(f"a study schema maps keys to int, float, str, bool, list "
                                    f"or dict, got {bad}")
    at = f"{where}: " if where else ""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{at}a study config must be a table, got {table!r:.60}")
    unknown = sorted(set(table) - set(keys) - set(optional))
    if unknown:
        raise ConfigError(f"{at}unknown config key(s) {unknown}; expected {sorted(keys)}"
                          + (f" and optionally {sorted(optional)}" if optional else ""))
    for k, t in {**keys, **{k: t for k, t in optional.items() if k in table}}.items():
        if k not in table:
            raise ConfigError(f"{at}config key {k!r} is missing")
        value = table[k]
        if t in _KINDS:
            try:
                _convert(_KINDS[t], value, k)
                ok = True
            except ConfigError:
                ok = False
        else:
            ok = isinstance(value, t)
        if not ok:
            raise ConfigError(f"{at}config key {k!r} must be {t.__name__}, got {value!r}")
    return dict(table)


def study_config_path(study_dir: str | os.PathLike, name: str) -> Path:
    """`<study_dir>/<name>.toml` for `name` in ("small", "paper")."""
    if name not in STUDY_CONFIGS:
        raise ConfigError(f"config must be one of {STUDY_CONFIGS}, got {name!r}")
    return Path(study_dir) / f"{name}.toml"


def load_study_config(study_dir: str | os.PathLike, name: str,
                      keys: Mapping[str, type] | None = None,
                      optional: Mapping[str, type] | None = None) -> dict[str, Any]:
    """A study's `small` or `paper` config as a dict, optionally checked.

    It is read like a run config and, with `keys`, checked by `check_study_config`."""
    path = study_config_path(study_dir, name)
    table = read_config_file(path)
    if "task" in table and isinstance(table["task"], Mapping) and "name" in table:
        raise ConfigError(f"{path} is a run config (it has a name and a [task] table): run it "
                          f"with `neurodyn run {path}`")
    return table if keys is None else check_study_config(table, keys, optional)
