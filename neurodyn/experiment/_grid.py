"""Sweep grids: the settings of a `[sweep]` table, with the seeds of a setting grouped."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping
from typing import Any

from ._config import SEED_MAX, SWEEP_ALIASES, Config, ConfigError, _is_int
from ._parse import with_values


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


def expand(config: Config) -> list[Setting]:
    """The settings of `config.sweep` (seeds grouped into one setting, to train together)."""
    if config.sweep is None:
        raise ConfigError("the config has no [sweep] section")
    grid = {k: v for k, v in config.sweep.items() if SWEEP_ALIASES.get(k, k) != "training.seed"}
    seed_key = next((k for k in config.sweep if SWEEP_ALIASES.get(k, k) == "training.seed"),
                    None)
    seeds = config.sweep[seed_key] if seed_key else [config.training.seed]
    for s in seeds:
        if not _is_int(s) or not 0 <= s <= SEED_MAX:
            raise ConfigError(f"sweep.{seed_key}: seeds must be integers in [0, {SEED_MAX}], "
                              f"got {s!r}")
    settings = []
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        sid = setting_id(values)
        members = []
        for s in seeds:
            try:
                members.append(with_values(config, {**values, "training.seed": s}))
            except ConfigError as err:
                raise ConfigError(f"sweep setting {values} (seed {s}): {err}") from None
        settings.append(Setting(sid, values, tuple(members)))
    return settings
