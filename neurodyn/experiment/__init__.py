"""From a config file to a result folder: runs, sweeps and citations.

    cfg = load_config("experiments/configs/example.toml")     # validated, defaults filled in
    res = run(cfg)                                            # runs/<name>/, resumable
    sw  = sweep(load_config("experiments/configs/example_sweep.toml"))   # grid → results.csv
    citation(cfg)                                             # BibTeX for what cfg used

A config with a `[data]` section instead of `[task]` fits a recording (NWB or .npz: binned,
smoothed, trial-aligned) with PSID, IPSID, DPAD and LINT and writes the same kind of run folder
(`DataConfig`; `experiments/configs/recording.toml`).

The command line does the same: `neurodyn run CONFIG.toml`, `neurodyn sweep CONFIG.toml`,
`neurodyn citation [CONFIG.toml]`; `neurodyn quickstart` and `neurodyn train` build a run config
from their options and `run` it. The studies in experiments/ read their configs with
`load_study_config` and write their results with the same atomic writers (`write_text`,
`write_json`, `save_figure`). The config format is described in `_config.py`'s docstring
(and `Config`'s fields); `dump_toml(cfg)` writes a resolved config back.
"""

from .. import io as _io
from .._version import git_commit as git_commit, versions as versions
from ._citation import (
    citation as citation,
    keys as citation_keys,  # noqa: F401
    methods_of as methods_of,
    resolve_methods as resolve_methods,
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
from ._data import DataConfig as DataConfig, LintConfig as LintConfig
from ._files import (
    dumps_toml as _dumps_toml,
    save_figure as save_figure,
    write_bytes as write_bytes,
    write_json as write_json,
    write_text as write_text,
)
from ._grid import Setting as Setting
from ._latentfit import LatentFit as LatentFit, skeleton as _latentfit_skeleton
from ._parse import (
    expand as expand,
    from_dict as from_dict,
    load_config as load_config,
    read_config_file as read_config_file,
    with_values as with_values,
)
from ._run import (
    STAGES as STAGES,
    RunResult as RunResult,
    is_complete as is_complete,
    run as run,
    stage_done as stage_done,
    stage_hash as stage_hash,
)
from ._study import (
    STUDY_CONFIGS as STUDY_CONFIGS,
    check_study_config as check_study_config,
    load_study_config as load_study_config,
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
