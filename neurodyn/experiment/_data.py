"""`[data]` in run configs: fit models to a recording instead of training a network on a task.

    name = "session-1"
    [data]
    path = "session.nwb"          # relative to the working folder, like output_dir
    format = "auto"               # "nwb", "npz", or "auto" (by the suffix)
    bin_ms = 20.0                 # NWB: bin width of the Units' spike times; npz: rebinned to it
    smooth_ms = 40.0              # Gaussian smoothing of the neural data (0: none)
    behaviour = ["lever"]         # NWB: TimeSeries names (npz: the file's z)
    inputs = ["motion"]           # NWB: TimeSeries of measured inputs (npz: the file's u)
    align = "start_time"          # cut into trials at this trials-table time column
    before_ms = 0.0               # window: before_ms before the event ...
    after_ms = 1000.0             # ... to after_ms after it (unset: to each trial's stop)
    condition = "coherence"       # the trial condition the figures are drawn by
    analyses = ["psid", "ipsid", "dpad", "lint"]
    test_fraction = 0.25          # trials held out for the scores
    seed = 0
    dpad_neural = "gaussian"      # or "poisson": DPAD's neural loss on spike counts
    [data.lint]                   # low-rank RNNs fitted to the activity (LINT)
    ranks = [1, 2, 3]
    steps = 500

PSID/IPSID/DPAD take their sizes from `[analyses.dpad]` (nx, n1, horizon, nonlinear, hidden,
max_epochs, n_init), the fixed-point finder its settings from `[analyses.fixed_points]`
(n_initial, max_steps, tol_q), the flow field its resolution from `[analyses.lowrank]`.
A `[data]` run has no [task], [model], [training] or [sweep].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from .. import dpad
from ._citation import METHODS, keys as citation_keys, resolve_methods
from ._config import ConfigError, _section

FORMATS = ("auto", "nwb", "npz")
DATA_ANALYSES = ("psid", "ipsid", "dpad", "lint")
LINT_READOUTS = ("auto", "rates", "linear")
# Citation keys of what each analysis uses (experiment._citation's names).
# "ipsid" (Vahidi et al. 2024) and "lint" (Valente et al. 2022) count once _citation knows them.
DATA_METHODS = {"psid": ["psid"], "ipsid": ["psid", "ipsid"], "dpad": ["dpad"],
                "lint": ["lowrank", "lint", "fixed_points"]}


@dataclasses.dataclass(frozen=True)
class LintConfig:
    """`[data.lint]`: `lowrank.fit_activity_ranks` on the z-scored activity given the inputs:
    one network per rank in `ranks` (`steps` Adam steps at `learning_rate`, `n_neurons` units,
    default the number of recorded units; `readout` "linear" fits W, b), the rank chosen on the
    held-out trials within `tolerance`; `tau` in ms. `average = true` fits the condition
    averages (by `[data] condition`) instead of single trials."""

    ranks: tuple[int, ...] = (1, 2, 3)
    steps: int = 500
    learning_rate: float = 1e-2
    batch_size: int = 32
    n_neurons: int | None = None
    readout: str = "linear"
    tau: float = 100.0
    tolerance: float = 0.01
    average: bool = False
    KINDS = {"ranks": "int_list", "steps": "pos_int", "learning_rate": "pos_float",
             "batch_size": "pos_int", "n_neurons": "pos_int?", "readout": "str",
             "tau": "pos_float", "tolerance": "nonneg_float", "average": "bool"}


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """The `[data]` table: a recording, its preprocessing and the analyses to run on it.

    `[data]`: the recording, its preprocessing, and the analyses to run on it (see the
    module docstring of `neurodyn.experiment._data`)."""

    path: str
    format: str = "auto"
    neural: str | None = None
    behaviour: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    bin_ms: float | None = None
    smooth_ms: float = 0.0
    causal: bool = False
    align: str | None = None
    before_ms: float = 0.0
    after_ms: float | None = None
    condition: str | None = None
    analyses: tuple[str, ...] = DATA_ANALYSES
    test_fraction: float = 0.25
    seed: int = 0
    dpad_neural: str = "gaussian"
    lint: LintConfig = LintConfig()
    KINDS = {"path": "str", "format": "str", "neural": "str?", "behaviour": "str_list",
             "inputs": "str_list", "bin_ms": "pos_float?", "smooth_ms": "nonneg_float",
             "causal": "bool", "align": "str?", "before_ms": "nonneg_float",
             "after_ms": "pos_float?", "condition": "str?", "analyses": "str_list",
             "test_fraction": "pos_float", "seed": "seed", "dpad_neural": "str"}

    def file_format(self) -> str:
        """"nwb" or "npz" (by the suffix when `format` is "auto")."""
        if self.format != "auto":
            return self.format
        return "npz" if Path(self.path).suffix == ".npz" else "nwb"

    def methods(self) -> list[str]:
        """Citation names of the analyses this section runs."""
        return list(dict.fromkeys(m for a in self.analyses for m in DATA_METHODS[a]))

    def citation_keys(self) -> list[str]:
        """The citation keys behind `methods()` (see `neurodyn.experiment.citation`)."""
        known = set(METHODS) | set(citation_keys())
        return resolve_methods([m for m in self.methods() if m in known])

    def to_dict(self) -> dict:
        """The resolved `[data]` as plain TOML/JSON data (None left out)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, LintConfig):
                v = {g.name: getattr(v, g.name) for g in dataclasses.fields(v)}
                v = {k: list(x) if isinstance(x, tuple) else x for k, x in v.items()
                     if x is not None}
            if v is not None:
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


def parse_data(table, analyses) -> DataConfig:
    """Validate `[data]` (a `ConfigError` naming the key); `analyses` is the parsed
    `[analyses]` (its dpad sizes are checked against what [data] asks for)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"[data] must be a table, got {table!r}")
    if "path" not in table:
        raise ConfigError("[data] needs path = \"...\" (an NWB or .npz file)")
    rest = {k: v for k, v in table.items() if k != "lint"}
    cfg = _section(DataConfig, rest, "data")
    lint = _section(LintConfig, table.get("lint", {}), "data.lint")
    cfg = dataclasses.replace(cfg, lint=lint)
    if cfg.format not in FORMATS:
        raise ConfigError(f"data.format: expected one of {', '.join(FORMATS)}, got "
                          f"{cfg.format!r}")
    for a in cfg.analyses:
        if a not in DATA_ANALYSES:
            raise ConfigError(f"data.analyses: unknown analysis {a!r}; known: "
                              f"{', '.join(DATA_ANALYSES)}")
    if not cfg.analyses:
        raise ConfigError("data.analyses: name at least one of " + ", ".join(DATA_ANALYSES))
    if len(set(cfg.analyses)) != len(cfg.analyses):
        raise ConfigError(f"data.analyses: names repeat: {list(cfg.analyses)}")
    if not cfg.test_fraction < 1:
        raise ConfigError(f"data.test_fraction: expected a number in (0, 1), got "
                          f"{cfg.test_fraction}")
    fmt = cfg.file_format()
    if fmt == "nwb" and cfg.neural is None and cfg.bin_ms is None:
        raise ConfigError("data.bin_ms: binning the NWB file's spike times needs a bin width "
                          "(ms), or name a TimeSeries in data.neural")
    if fmt == "npz" and (cfg.neural is not None or cfg.behaviour or cfg.inputs):
        raise ConfigError("data.neural/behaviour/inputs name TimeSeries of an NWB file; an "
                          ".npz recording holds y, z and u itself")
    if cfg.align is None and (cfg.before_ms or cfg.after_ms is not None):
        raise ConfigError("data.before_ms/after_ms: a window needs data.align (the trials "
                          "table's time column to align to, e.g. \"start_time\")")
    if "ipsid" in cfg.analyses and fmt == "nwb" and not cfg.inputs:
        raise ConfigError("data.analyses: ipsid (PSID with measured inputs) needs "
                          "data.inputs (the TimeSeries of the stimulus)")
    if "lint" in cfg.analyses and fmt == "nwb" and not cfg.inputs:
        raise ConfigError("data.analyses: lint fits a network driven by the measured inputs; "
                          "name them in data.inputs")
    if cfg.dpad_neural not in ("gaussian", "poisson"):
        raise ConfigError(f"data.dpad_neural: expected \"gaussian\" or \"poisson\", got "
                          f"{cfg.dpad_neural!r}")
    if cfg.dpad_neural == "poisson" and cfg.smooth_ms > 0:
        raise ConfigError("data.dpad_neural: Poisson observations are spike counts; set "
                          "data.smooth_ms = 0 (smoothing makes them non-integer)")
    if lint.readout not in LINT_READOUTS:
        raise ConfigError(f"data.lint.readout: expected one of {', '.join(LINT_READOUTS)}, "
                          f"got {lint.readout!r}")
    if not lint.ranks:
        raise ConfigError("data.lint.ranks: expected a non-empty list of positive integers")
    if lint.average and cfg.condition is None:
        raise ConfigError("data.lint.average: condition averages need data.condition")
    dp = analyses.dpad
    if any(a in cfg.analyses for a in ("psid", "ipsid", "dpad")) and dp.n1 > dp.nx:
        raise ConfigError(f"analyses.dpad.n1: must be <= nx = {dp.nx}, got {dp.n1}")
    try:
        dpad.PSID(dp.nx, dp.n1, dp.horizon)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[analyses.dpad]: {err}") from None
    return cfg


def check_data_run(data: Mapping) -> None:
    """The sections a `[data]` run cannot have (it trains no network on a task)."""
    for k in ("task", "model", "training", "sweep"):
        if k in data:
            raise ConfigError(f"[{k}]: a [data] run fits models to a recording and has no "
                              f"[{k}]; leave it out (or leave out [data] to train on a task)")
