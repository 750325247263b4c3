"""Sweep grids: the settings of a `[sweep]` table, with the seeds of a setting grouped
(`expand`, in `_parse.py`, builds and checks their configs)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from ._config import SEED_MAX, SWEEP_ALIASES, Config, ConfigError, _is_int


def setting_id(values: Mapping[str, Any]) -> str:
    """A folder name for one setting of a sweep, e.g. `rank-2__task-PerceptualDecisionMaking`."""
    if not values:
        return "default"
    parts = []
    for k, v in values.items():
        text = v if isinstance(v, str) else json.dumps(v)
        text = "".join(c if c.isalnum() or c in ".-+" else "_" for c in text)
        parts.append(f"{k.replace('.', '_')}-{text}")
    return "__".join(parts)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One point of a sweep grid without its seeds: `members` are the per-seed configs."""

    id: str
    values: dict
    members: tuple[Config, ...]


class Grid(NamedTuple):
    """A `[sweep]` table read apart: the combinations of its non-seed keys, and the seeds
    (`seed_key` is the name the seeds had in the table, None when it named none)."""

    combinations: list[dict[str, Any]]
    seeds: list[int]
    seed_key: str | None


def grid(config: Config) -> Grid:
    """The combinations and seeds of `config.sweep` (the settings are built by `expand`)."""
    if config.sweep is None:
        raise ConfigError("the config has no [sweep] section")
    keys = {k: v for k, v in config.sweep.items()
            if SWEEP_ALIASES.get(k, k) != "training.seed"}
    seed_key = next((k for k in config.sweep if SWEEP_ALIASES.get(k, k) == "training.seed"),
                    None)
    seeds = config.sweep[seed_key] if seed_key else [config.training.seed]
    for s in seeds:
        if not _is_int(s) or not 0 <= s <= SEED_MAX:
            raise ConfigError(f"sweep.{seed_key}: seeds must be integers in [0, {SEED_MAX}], "
                              f"got {s!r}")
    combinations = [dict(zip(keys, combo)) for combo in itertools.product(*keys.values())]
    return Grid(combinations, list(seeds), seed_key)
