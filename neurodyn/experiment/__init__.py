"""From a config file to a result folder: runs, sweeps and citations.

    cfg = load_config("experiments/configs/example.toml")     # validated, defaults filled in
    res = run(cfg)                                            # runs/<name>/, resumable
    sw  = sweep(load_config("experiments/configs/example_sweep.toml"))   # grid → results.csv
    citation(cfg)                                             # BibTeX for what cfg used

The command line does the same: `neurodyn run CONFIG.toml`, `neurodyn sweep CONFIG.toml`,
`neurodyn citation [CONFIG.toml]`. The config format is described in `_config.py`'s docstring
(and `Config`'s fields); `dump_toml(cfg)` writes a resolved config back.
"""

from .. import io as _io
from ._citation import (
    citation as citation,
    keys as citation_keys,  # noqa: F401
    methods_of as methods_of,
)
from ._config import (
    AnalysesConfig as AnalysesConfig,
    ClusterConfig as ClusterConfig,
    Config as Config,
    ConfigError as ConfigError,
    DPADConfig as DPADConfig,
    FixedPointsConfig as FixedPointsConfig,
    LowRankConfig as LowRankConfig,
    ModelConfig as ModelConfig,
    PerformanceConfig as PerformanceConfig,
    TaskConfig as TaskConfig,
    TrainingConfig as TrainingConfig,
)
from ._files import dumps_toml as _dumps_toml
from ._grid import Setting as Setting, expand as expand
from ._latentfit import LatentFit as LatentFit, skeleton as _latentfit_skeleton
from ._parse import from_dict as from_dict, load_config as load_config, with_values as with_values
from ._run import (
    STAGES as STAGES,
    RunResult as RunResult,
    is_complete as is_complete,
    run as run,
    stage_done as stage_done,
    stage_hash as stage_hash,
)
from ._sweep import (
    InlineExecutor as InlineExecutor,
    SweepResult as SweepResult,
    collect as collect,
    executor_parameters as executor_parameters,
    make_executor as make_executor,
    plot_sweep as plot_sweep,
    read_table as read_table,
    run_setting as run_setting,
    sweep as sweep,
)


def dump_toml(config: Config) -> str:
    """The resolved config as TOML text; `load_config(dump_toml(c)) == c`."""
    return _dumps_toml(config.to_dict())


_io.register_class(LatentFit, _latentfit_skeleton)
del _io
