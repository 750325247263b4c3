"""Run configurations: frozen dataclasses read from TOML, validated before any work starts.

A config file (every key but `[task] name` has a default; `load_config` fills them in):

    name = "pdm-rank1"            # the run folder is <output_dir>/<name>
    output_dir = "runs"

    [task]                        # name, preset, and any keyword of the task's constructor
    name = "PerceptualDecisionMaking"
    preset = "dubreuil2022"

    [model]                       # type, n_neurons, rank, and any keyword of the model class
    type = "LowRankRNN"           # or "FullRankRNN", "RNN", "GRU", "LSTM" (no rank)
    n_neurons = 128
    rank = 1
    noise_std = 0.05

    [training]                    # the arguments of neurodyn.train.fit_ensemble
    seed = 0
    steps = 400
    batch_size = 32
    learning_rate = 0.01

    [analyses.performance]        # accuracy and psychometric curve on held-out trials
    n_trials = 512
    [analyses.fixed_points]       # neurodyn.fixedpoints.find from visited states
    n_initial = 64
    [analyses.lowrank]            # overlaps, loadings, latent flow field (LowRankRNN only)
    [analyses.dpad]               # PSID / DPAD on the network's states → its outputs
    methods = ["psid", "dpad"]
    enabled = false               # every analysis has `enabled`

    [sweep]                       # only for `neurodyn sweep`: a grid of values
    seed = [0, 1, 2]              # short names: seed, rank, n_neurons, task, preset,
    rank = [1, 2]                 # steps, learning_rate; or "section.key", e.g.
                                  # "model.noise_std" = [0.0, 0.05]
    [cluster]                     # how sweep jobs run (submitit)
    partition = "gpu"             # naming a partition means SLURM
    time = 60                     # minutes
    gpus = 1
    array_parallelism = 8

`Config.to_dict()` gives the resolved config (defaults filled, None left out) and
`load_config(dump_toml(config)) == config` (also through JSON).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import models, tasks
from .._typing import Key
from ._citation import methods_of


class ConfigError(ValueError):
    """A config file that cannot be run; the message names the key."""


MODEL_TYPES = ("LowRankRNN", "FullRankRNN", "RNN", "GRU", "LSTM")
DPAD_METHODS = ("psid", "dpad")
EXECUTORS = ("auto", "local", "debug", "inline", "slurm")
# jax.random.key(seed) keeps only the low 32 bits without x64: key(2**32) is key(0).
SEED_MAX = 2**32 - 1


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


# Field kinds: how a TOML value is checked and converted.
def _convert(kind: str, value, where: str):
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None and optional:
        return None
    bad = ConfigError(f"{where}: expected {_KIND_NAMES[kind]}, got {value!r}")
    if kind == "int":
        if not _is_int(value):
            raise bad
        return int(value)
    if kind in ("float", "pos_float", "nonneg_float"):
        if not _is_num(value):
            raise bad
        value = float(value)
        if kind == "pos_float" and value <= 0 or kind == "nonneg_float" and value < 0:
            raise bad
        return value
    if kind in ("pos_int", "nonneg_int"):
        if not _is_int(value) or value < (1 if kind == "pos_int" else 0):
            raise bad
        return int(value)
    if kind == "seed":
        if not _is_int(value) or not 0 <= value <= SEED_MAX:
            raise bad
        return int(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise bad
        return value
    if kind == "str_list":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad
        return tuple(value)
    if kind == "int_list":
        if not isinstance(value, (list, tuple)) or not all(
            _is_int(v) and v >= 1 for v in value
        ):
            raise bad
        return tuple(int(v) for v in value)
    raise AssertionError(kind)


_KIND_NAMES = {
    "int": "an integer", "pos_int": "a positive integer", "nonneg_int": "an integer >= 0",
    "seed": f"an integer in [0, {2**32 - 1}]",
    "float": "a finite number", "pos_float": "a number > 0", "nonneg_float": "a number >= 0",
    "bool": "true or false", "str": "a non-empty string", "str_list": "a list of strings",
    "int_list": "a list of positive integers",
}


def _tuples(v):
    """TOML lists as (nested) tuples, for constructors that keep them as static fields."""
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _section(cls, table, where: str, extra_ok: bool = False):
    """Build dataclass `cls` from a TOML table; `cls.KINDS` maps field → kind."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{where}] must be a table, got {table!r}")
    known = [f.name for f in dataclasses.fields(cls) if f.name in cls.KINDS]
    unknown = [k for k in table if k not in known]
    if unknown and not extra_ok:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in [{where}]; known keys: {', '.join(known)}"
        )
    values = {k: _convert(cls.KINDS[k], table[k], f"{where}.{k}") for k in known if k in table}
    return cls(**values)


def _to_dict(obj) -> dict:
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if v is None:
            continue
        if dataclasses.is_dataclass(v):
            out[f.name] = _to_dict(v)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        elif isinstance(v, Mapping):
            out[f.name] = json.loads(json.dumps(v))
        else:
            out[f.name] = v
    return out


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """The `[task]` table of a run config: a registered task, a preset and its keywords.

    `[task]`: a registered task name (`neurodyn.tasks.names()`), an optional preset, and any
    other keyword of the task's constructor (kept in `kwargs`)."""

    name: str
    preset: str | None = None
    kwargs: dict = dataclasses.field(default_factory=dict)
    KINDS = {"name": "str", "preset": "str?"}

    def to_dict(self) -> dict:
        out = {"name": self.name}
        if self.preset is not None:
            out["preset"] = self.preset
        out.update(json.loads(json.dumps(self.kwargs)))
        return out

    def build(self) -> tasks.AbstractTask:
        """The task object."""
        kwargs = {k: _tuples(v) for k, v in self.kwargs.items()}
        if self.preset is not None:
            kwargs["preset"] = self.preset
        return tasks.make(self.name, **kwargs)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The `[model]` table of a run config: the model type, its size and its keywords.

    `[model]`: `type` (one of `MODEL_TYPES`), `n_neurons`, `rank` (LowRankRNN only),
    and any other keyword of the model class (tau, dt, noise_std, nonlinearity, train, …)."""

    type: str = "LowRankRNN"
    n_neurons: int = 128
    rank: int | None = 1
    kwargs: dict = dataclasses.field(default_factory=dict)
    KINDS = {"type": "str", "n_neurons": "pos_int", "rank": "pos_int?"}

    def to_dict(self) -> dict:
        out = {"type": self.type, "n_neurons": self.n_neurons}
        if self.rank is not None:
            out["rank"] = self.rank
        out.update(json.loads(json.dumps(self.kwargs)))
        return out

    def model_class(self) -> type[models.AbstractNetwork]:
        return getattr(models, self.type)

    def build(self, n_inputs: int, n_outputs: int, *, key: Key) -> models.AbstractNetwork:
        """A freshly initialised network for a task with these input and output sizes."""
        kwargs = {k: _tuples(v) for k, v in self.kwargs.items()}
        cls = self.model_class()
        if self.type == "LowRankRNN":
            return cls(self.n_neurons, self.rank, n_inputs, n_outputs, key=key, **kwargs)
        return cls(self.n_neurons, n_inputs, n_outputs, key=key, **kwargs)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """`[training]`: the seed and the arguments of `neurodyn.train.fit_ensemble`."""

    seed: int = 0
    steps: int = 400
    batch_size: int = 32
    learning_rate: float = 1e-2
    clip_norm: float | None = None
    eval_every: int = 100
    val_trials: int = 256
    early_stop: int | None = None
    keep_best: bool = True
    KINDS = {
        "seed": "seed", "steps": "pos_int", "batch_size": "pos_int",
        "learning_rate": "pos_float", "clip_norm": "pos_float?", "eval_every": "pos_int",
        "val_trials": "pos_int", "early_stop": "pos_int?", "keep_best": "bool",
    }


@dataclasses.dataclass(frozen=True)
class PerformanceConfig:
    """`[analyses.performance]`: accuracy and the psychometric curve on held-out trials.

    `[analyses.performance]`: accuracy (and the psychometric curve for tasks with a
    `coherence` condition) on `n_trials` held-out trials. `psychometric_repeats = k` draws the
    curve instead from k trials at each of 17 coherences, finer near zero (as `neurodyn
    quickstart` does); unset (None, left out of `to_dict` and so of the stage's hash), the
    held-out trials give it."""

    enabled: bool = True
    n_trials: int = 512
    psychometric_repeats: int | None = None
    KINDS = {"enabled": "bool", "n_trials": "pos_int", "psychometric_repeats": "pos_int?"}


@dataclasses.dataclass(frozen=True)
class FixedPointsConfig:
    """`[analyses.fixed_points]`: the fixed-point search from states visited on trials.

    `[analyses.fixed_points]`: `fixedpoints.find` from `n_initial` states visited on
    `n_trials` trials (plus `noise_scale` · N(0, I)), with zero input."""

    enabled: bool = True
    n_trials: int = 64
    n_initial: int = 64
    noise_scale: float = 0.0
    max_steps: int = 5000
    tol_q: float = 1e-12
    KINDS = {
        "enabled": "bool", "n_trials": "pos_int", "n_initial": "pos_int",
        "noise_scale": "nonneg_float", "max_steps": "pos_int", "tol_q": "pos_float",
    }


@dataclasses.dataclass(frozen=True)
class LowRankConfig:
    """`[analyses.lowrank]`: overlaps, loadings and the latent flow field of a LowRankRNN.

    `[analyses.lowrank]`: overlap matrix, loadings and (rank 2, or rank 1 with inputs) the
    latent flow field of a LowRankRNN; skipped for a FullRankRNN."""

    enabled: bool = True
    flow_field: bool = True
    resolution: int = 31
    KINDS = {"enabled": "bool", "flow_field": "bool", "resolution": "pos_int"}


@dataclasses.dataclass(frozen=True)
class DPADConfig:
    """`[analyses.dpad]`: PSID and/or DPAD fitted to the network's states and outputs.

    The states are the "neural" activity and the outputs the "behaviour", on `n_trials` trials;
    the last quarter of the trials is held out for the scores. `nonlinear`, `hidden`,
    `max_epochs`, `n_init` go to DPAD, `horizon` to PSID."""

    enabled: bool = True
    methods: tuple[str, ...] = DPAD_METHODS
    nx: int = 4
    n1: int = 2
    horizon: int = 5
    n_trials: int = 64
    nonlinear: str = "none"
    hidden: tuple[int, ...] = (32,)
    max_epochs: int = 100
    n_init: int = 2
    KINDS = {
        "enabled": "bool", "methods": "str_list", "nx": "pos_int", "n1": "nonneg_int",
        "horizon": "pos_int", "n_trials": "pos_int", "nonlinear": "str", "hidden": "int_list",
        "max_epochs": "pos_int", "n_init": "pos_int",
    }


@dataclasses.dataclass(frozen=True)
class AnalysesConfig:
    """`[analyses]`: one sub-table per analysis, each with `enabled`."""

    performance: PerformanceConfig = PerformanceConfig()
    fixed_points: FixedPointsConfig = FixedPointsConfig()
    lowrank: LowRankConfig = LowRankConfig()
    dpad: DPADConfig = DPADConfig()
    SECTIONS = {"performance": PerformanceConfig, "fixed_points": FixedPointsConfig,
                "lowrank": LowRankConfig, "dpad": DPADConfig}


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """The `[cluster]` table: where and how sweep jobs run.

    `[cluster]`: where sweep jobs run. `executor` "auto" means SLURM when `partition` is
    named, else submitit's local executor; "debug" runs jobs in this process through submitit;
    "inline" runs them here without submitit. `time` is in minutes."""

    executor: str = "auto"
    partition: str | None = None
    time: int = 60
    gpus: int = 0
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    array_parallelism: int = 16
    account: str | None = None
    qos: str | None = None
    KINDS = {
        "executor": "str", "partition": "str?", "time": "pos_int", "gpus": "nonneg_int",
        "cpus_per_task": "pos_int?", "mem_gb": "pos_float?", "array_parallelism": "pos_int",
        "account": "str?", "qos": "str?",
    }

    def resolved_executor(self) -> str:
        if self.executor != "auto":
            return self.executor
        return "slurm" if self.partition is not None else "local"


# Short names in [sweep] for the config paths people sweep most.
SWEEP_ALIASES = {
    "seed": "training.seed", "rank": "model.rank", "n_neurons": "model.n_neurons",
    "task": "task.name", "preset": "task.preset", "steps": "training.steps",
    "learning_rate": "training.learning_rate", "model": "model.type",
}


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole run (and, with `sweep`, a grid of runs). See the module docstring."""

    name: str
    task: TaskConfig | None  # None for a [data] run
    output_dir: str = "runs"
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    analyses: AnalysesConfig = AnalysesConfig()
    sweep: dict | None = None
    cluster: ClusterConfig = ClusterConfig()
    data: Any = None  # [data] (experiment._data.DataConfig): fit a recording, train nothing

    def to_dict(self) -> dict:
        """The resolved config as plain TOML/JSON data (None values left out)."""
        if self.data is not None:  # a recording: no task, model or training
            return {"name": self.name, "output_dir": self.output_dir,
                    "data": self.data.to_dict(), "analyses": _to_dict(self.analyses),
                    "cluster": _to_dict(self.cluster)}
        out: dict[str, Any] = {"name": self.name, "output_dir": self.output_dir,
                               "task": self.task.to_dict(), "model": self.model.to_dict(),
                               "training": _to_dict(self.training),
                               "analyses": _to_dict(self.analyses)}
        if self.sweep is not None:
            out["sweep"] = json.loads(json.dumps(self.sweep))
        out["cluster"] = _to_dict(self.cluster)
        return out

    def part(self, *names: str) -> dict:
        """The resolved values of some sections, e.g. `part("task", "model")` (for hashing)."""
        d = self.to_dict()
        out = {}
        for n in names:
            node = d
            for p in n.split("."):
                node = node.get(p, {})
            out[n] = node
        return out

    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def methods(self) -> list[str]:
        """Citation keys of the methods this config uses (see `neurodyn.citation`)."""
        return methods_of(self) if self.data is None else self.data.citation_keys()
