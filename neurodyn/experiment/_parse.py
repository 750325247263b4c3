"""Reading configs: validate plain TOML/JSON data into a `Config`, with one clear
`ConfigError` naming the key for anything that cannot run (before any work starts)."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from .. import dpad, tasks
from .._validate import ArgumentTypeError
from ._config import (
    DPAD_METHODS,
    EXECUTORS,
    MODEL_TYPES,
    SWEEP_ALIASES,
    AnalysesConfig,
    ClusterConfig,
    Config,
    ConfigError,
    ModelConfig,
    TaskConfig,
    TrainingConfig,
    _convert,
    _section,
)
from ._data import check_data_run, parse_data
from ._grid import Setting, grid, setting_id


def _parse_task(table) -> TaskConfig:
    if not isinstance(table, Mapping):
        raise ConfigError(f"[task] must be a table, got {table!r}")
    if "name" not in table:
        raise ConfigError("[task] needs a name; known tasks: " + ", ".join(tasks.names()))
    name = _convert("str", table["name"], "task.name")
    if name not in tasks.names():
        raise ConfigError(f"task.name: unknown task {name!r}; known tasks: "
                          f"{', '.join(tasks.names())}")
    preset = _convert("str?", table.get("preset"), "task.preset")
    kwargs = {k: v for k, v in table.items() if k not in ("name", "preset")}
    # The built-in tasks are registered under their class names; `tasks.make` checks the keys
    # of any other registered task itself.
    cls = getattr(tasks, name, None)
    is_class = isinstance(cls, type) and issubclass(cls, tasks.AbstractTask)
    params = inspect.signature(cls.__init__).parameters if is_class else {}
    if params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        known = ["name"] + [p for p in params if p != "self"]
        for k in list(kwargs) + (["preset"] if preset is not None else []):
            if k not in params:
                raise ConfigError(
                    f"unknown key {k!r} in [task] for {name}; known keys: {', '.join(known)}"
                )
    cfg = TaskConfig(name, preset, dict(kwargs))
    try:
        cfg.build()
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[task] ({name}): {err}") from None
    return cfg


def _parse_model(table) -> ModelConfig:
    if not isinstance(table, Mapping):
        raise ConfigError(f"[model] must be a table, got {table!r}")
    kind = _convert("str", table.get("type", "LowRankRNN"), "model.type")
    if kind not in MODEL_TYPES:
        raise ConfigError(f"model.type: expected one of {', '.join(MODEL_TYPES)}, got {kind!r}")
    default_rank = 1 if kind == "LowRankRNN" else None
    n_neurons = _convert("pos_int", table.get("n_neurons", 128), "model.n_neurons")
    rank = _convert("pos_int?", table.get("rank", default_rank), "model.rank")
    if kind != "LowRankRNN" and rank is not None:
        raise ConfigError(f"model.rank: a {kind} has no rank; leave the key out")
    if kind == "LowRankRNN" and rank is None:
        raise ConfigError("model.rank: a LowRankRNN needs a rank")
    cfg = ModelConfig(kind, n_neurons, rank,
                      {k: v for k, v in table.items() if k not in ("type", "n_neurons", "rank")})
    cls = cfg.model_class()
    params = [p for p in inspect.signature(cls.__init__).parameters
              if p not in ("self", "n_inputs", "n_outputs", "key")]
    for k in cfg.kwargs:
        if k not in params:
            raise ConfigError(f"unknown key {k!r} in [model] for {kind}; known keys: "
                              f"{', '.join(['type'] + params)}")
    try:  # the constructor's own checks, without computing anything
        eqx.filter_eval_shape(lambda: cfg.build(1, 1, key=jax.random.key(0)))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[model] ({kind}): {err}") from None
    return cfg


def _parse_analyses(table) -> AnalysesConfig:
    if not isinstance(table, Mapping):
        raise ConfigError(f"[analyses] must be a table, got {table!r}")
    known = AnalysesConfig.SECTIONS
    for k in table:
        if k not in known:
            raise ConfigError(f"unknown key {k!r} in [analyses]; known keys: {', '.join(known)}")
    parts = {k: _section(cls, table.get(k, {}), f"analyses.{k}") for k, cls in known.items()}
    dp = parts["dpad"]
    for m in dp.methods:
        if m not in DPAD_METHODS:
            raise ConfigError(f"analyses.dpad.methods: unknown method {m!r}; known methods: "
                              f"{', '.join(DPAD_METHODS)}")
    if dp.n1 > dp.nx:
        raise ConfigError(f"analyses.dpad.n1: must be <= nx = {dp.nx}, got {dp.n1}")
    if dp.enabled and dp.n_trials < 4:
        raise ConfigError("analyses.dpad.n_trials: need at least 4 trials (a quarter is held "
                          f"out), got {dp.n_trials}")
    _check_dpad(dp)
    return AnalysesConfig(**parts)


def _check_dpad(dp) -> None:
    """The PSID/DPAD constructors' own checks (e.g. `nonlinear`), now rather than after
    training: building the objects computes nothing."""
    try:
        if "psid" in dp.methods:
            dpad.PSID(dp.nx, dp.n1, dp.horizon)
        if "dpad" in dp.methods:
            dpad.DPAD(dp.nx, dp.n1, nonlinear=None if dp.nonlinear == "none" else dp.nonlinear,
                      hidden=dp.hidden, max_epochs=dp.max_epochs, n_init=dp.n_init)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[analyses.dpad]: {err}") from None


def _parse_cluster(table) -> ClusterConfig:
    cfg = _section(ClusterConfig, table, "cluster")
    if cfg.executor not in EXECUTORS:
        raise ConfigError(f"cluster.executor: expected one of {', '.join(EXECUTORS)}, got "
                          f"{cfg.executor!r}")
    if cfg.resolved_executor() == "slurm":
        if cfg.partition is None:
            raise ConfigError("cluster.partition: SLURM needs a partition")
        try:
            import submitit  # noqa: F401
        except ImportError:
            raise ConfigError(
                "cluster.partition: SLURM jobs go through submitit, which is not installed "
                "(pip install 'neurodyn[cluster]')"
            ) from None
    return cfg


def _parse_sweep(table) -> dict:
    if not isinstance(table, Mapping) or not table:
        raise ConfigError("[sweep] must be a table of lists, e.g. seed = [0, 1, 2]")
    out = {}
    for k, v in table.items():
        path = SWEEP_ALIASES.get(k, k)
        if path.count(".") < 1 or path.split(".")[0] not in ("task", "model", "training",
                                                             "analyses"):
            raise ConfigError(
                f"unknown key {k!r} in [sweep]; use one of {', '.join(SWEEP_ALIASES)} or a "
                "path such as \"model.noise_std\""
            )
        if not isinstance(v, list) or not v:
            raise ConfigError(f"sweep.{k}: expected a non-empty list of values, got {v!r}")
        if len({json.dumps(x, sort_keys=True) for x in v}) != len(v):
            raise ConfigError(f"sweep.{k}: values repeat: {v!r}")
        out[k] = list(v)
    return out


TOP_KEYS = ("name", "output_dir", "task", "model", "training", "analyses", "sweep", "cluster",
            "data")


def from_dict(data: Mapping) -> Config:
    """Validate plain TOML/JSON data and build the `Config` (raises `ConfigError`)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"a config must be a table, got {type(data).__name__}")
    for k in data:
        if k not in TOP_KEYS:
            raise ConfigError(f"unknown top-level key {k!r}; known keys: {', '.join(TOP_KEYS)}")
    if "name" not in data:
        raise ConfigError("the config needs a top-level name = \"...\" (the run folder's name)")
    name = _convert("str", data["name"], "name")
    if name in (".", "..") or "/" in name or "\\" in name:
        raise ConfigError(f"name: must be a plain folder name, got {name!r}")
    if "data" in data:  # a recording: experiment/_data.py
        check_data_run(data)
        analyses = _parse_analyses(data.get("analyses", {}))
        return Config(name=name, task=None, analyses=analyses,
                      output_dir=_convert("str", data.get("output_dir", "runs"), "output_dir"),
                      cluster=_parse_cluster(data.get("cluster", {})),
                      data=parse_data(data["data"], analyses))
    if "task" not in data:
        raise ConfigError("the config needs a [task] section with a name (or a [data] "
                          "section: a recording to fit)")
    cfg = Config(
        name=name,
        output_dir=_convert("str", data.get("output_dir", "runs"), "output_dir"),
        task=_parse_task(data["task"]),
        model=_parse_model(data.get("model", {})),
        training=_section(TrainingConfig, data.get("training", {}), "training"),
        analyses=_parse_analyses(data.get("analyses", {})),
        sweep=None if "sweep" not in data else _parse_sweep(data["sweep"]),
        cluster=_parse_cluster(data.get("cluster", {})),
    )
    if cfg.sweep is not None:
        expand(cfg)  # every setting of the grid is checked now, before any job starts
    return cfg


def load_config(source: str | os.PathLike | Mapping) -> Config:
    """A `Config` from a TOML or JSON file path, a TOML string, or a dict."""
    if isinstance(source, Mapping):
        return from_dict(source)
    if not isinstance(source, (str, os.PathLike)) or (isinstance(source, str) and
                                                      not source.strip()):
        raise ArgumentTypeError(f"source must be a config file path, TOML text or a dict, got "
                                f"{type(source).__name__} {source!r:.60}")
    if isinstance(source, str) and ("\n" in source or "=" in source):
        return from_dict(_toml(source))
    path = Path(source)
    try:
        return from_dict(read_config_file(path))
    except ConfigError as err:
        hint = _study_hint(path) if path.is_file() else ""
        if hint:
            raise ConfigError(f"{err}. {hint}") from None
        raise


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read the table in a TOML or JSON config file, unchecked.

    The table in a TOML (or, by its suffix, JSON) file, unchecked; a `ConfigError` for a file
    that is missing, unreadable or not valid TOML/JSON. Run configs and the studies' configs
    are both read through it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no config file at {path}: it does not exist or is not a file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the config file {path}: {err}") from None
    if path.suffix != ".json":
        return _toml(text)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ConfigError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a table, got {type(data).__name__}")
    return data


def as_config(config, name: str = "config") -> Config:
    """`config` itself, or the `Config` read from a path, TOML text or a dict."""
    if isinstance(config, Config):
        return config
    if not isinstance(config, (str, os.PathLike, Mapping)):
        raise ArgumentTypeError(f"{name} must be a Config, a config file path, TOML text or a "
                                f"dict, got {type(config).__name__} {config!r:.60}")
    return load_config(config)


def _toml(text: str) -> dict:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as err:
        raise ConfigError(f"not valid TOML: {err}") from None


def _study_hint(path: Path) -> str:
    """For the config of a study in experiments/ (a run.py beside it), the command that runs it."""
    script = path.parent / "run.py"
    if not script.is_file():
        return ""
    which = path.stem if path.stem in ("small", "paper") else "small|paper"
    return (f"{path} is the config of a study, run by its own script: python {script} "
            f"--config {which} (see experiments/README.md); `neurodyn run` takes run configs "
            "such as experiments/configs/example.toml")


def with_values(config: Config, values: Mapping[str, Any]) -> Config:
    """A copy of `config` with some keys replaced, re-validated, without the sweep.

    `values` maps keys to new values, e.g. `{"model.rank": 2, "seed": 1}` ([sweep] short names
    allowed)."""
    if not isinstance(config, Config):
        raise ArgumentTypeError(f"config must be a Config (from load_config), got "
                                f"{type(config).__name__}")
    if not isinstance(values, Mapping) or not all(isinstance(k, str) and k for k in values):
        raise ArgumentTypeError(f"values must be a dict of config paths to values, e.g. "
                                f"{{\"model.rank\": 2}}, got {values!r:.60}")
    data = config.to_dict()
    data.pop("sweep", None)
    for key, value in values.items():
        path = SWEEP_ALIASES.get(key, key).split(".")
        node = data
        for p in path[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {p!r} is a value, not a table")
        node[path[-1]] = value
    return from_dict(data)


def expand(config: Config) -> list[Setting]:
    """The settings of `config.sweep`, each member's config built and checked.

    The seeds are grouped into one setting, to train together."""
    combinations, seeds, _ = grid(config)
    settings = []
    for values in combinations:
        members = []
        for s in seeds:
            try:
                members.append(with_values(config, {**values, "training.seed": s}))
            except ConfigError as err:
                raise ConfigError(f"sweep setting {values} (seed {s}): {err}") from None
        settings.append(Setting(setting_id(values), values, tuple(members)))
    return settings
