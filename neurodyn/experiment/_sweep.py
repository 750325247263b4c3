"""`sweep(config)`: a grid of runs. The seeds of one setting train together in one vmapped
program (`neurodyn.train.fit_ensemble`); each setting is one job sent through submitit — its
local executor by default, SLURM when `[cluster]` names a partition.

Folder layout: `<output_dir>/<name>/<setting id>/seed<k>/` is a complete run folder (see
`run`), so a rerun skips what is done and a job that failed loses nothing of the others.
`results.csv` has one row per (setting, seed) with its status ("ok", "failed", "missing"),
and `summary_<metric>.png/pdf` plot the main metrics against the first numeric grid key.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from matplotlib.axes import Axes

from .. import plot
from .._validate import ArgumentTypeError, check_bool
from . import _files, _stages
from ._config import ClusterConfig, Config, ConfigError
from ._grid import Setting
from ._parse import as_config, expand, from_dict
from ._run import clear_record, is_complete, run, stage_done, write_record


def member_dir(sweep_dir: Path, setting: Setting, config: Config) -> Path:
    """The run folder of one member (seed) of a setting."""
    return Path(sweep_dir) / setting.id / f"seed{config.training.seed}"


def run_setting(member_configs: list[dict], run_dirs: list[str],
                progress: bool = False) -> list[str]:
    """Run one sweep job: train the untrained members together, then their analyses.

    One sweep job: train the members that are not trained yet together, then run each
    member's analyses. Module-level so that submitit can send it to another process."""
    configs = [from_dict(d) for d in member_configs]
    dirs = [Path(d) for d in run_dirs]
    todo = [i for i, (c, d) in enumerate(zip(configs, dirs)) if not stage_done(c, d, "train")]
    if todo:
        for i in todo:
            dirs[i].mkdir(parents=True, exist_ok=True)
            clear_record(dirs[i], "train")
        t0 = time.perf_counter()
        _stages.train_members([configs[i] for i in todo], [dirs[i] for i in todo],
                              progress=progress)
        for i in todo:
            write_record(configs[i], dirs[i], "train", ["model.eqx", "history.json"],
                         time.perf_counter() - t0)
    for c, d in zip(configs, dirs):
        run(c, run_dir=d, progress=progress)
    return [str(d) for d in dirs]


class _InlineJob:
    """A job run in this process when its result is asked for (no submitit needed)."""

    def __init__(self, fn: Callable, args: tuple):
        self._fn, self._args, self._done, self._result, self._error = fn, args, False, None, None
        self.job_id = "inline"

    def result(self) -> Any:
        if not self._done:
            self._done = True
            try:
                self._result = self._fn(*self._args)
            except Exception as err:  # kept to re-raise on every call, like submitit
                self._error = err
        if self._error is not None:
            raise self._error
        return self._result

    def cancel(self, check: bool = True) -> None:
        self._done, self._error = True, RuntimeError("cancelled")


class InlineExecutor:
    """Runs sweep jobs one after another in this process (used without submitit)."""

    def submit(self, fn: Callable, *args: Any) -> _InlineJob:
        """A job that runs `fn(*args)` when its `result()` is asked for."""
        return _InlineJob(fn, args)


def executor_parameters(cluster: ClusterConfig) -> dict[str, Any]:
    """The `[cluster]` table as submitit `AutoExecutor.update_parameters` keywords."""
    params: dict = {"timeout_min": cluster.time, "name": "neurodyn"}
    if cluster.gpus:
        params["gpus_per_node"] = cluster.gpus
    if cluster.cpus_per_task is not None:
        params["cpus_per_task"] = cluster.cpus_per_task
    if cluster.mem_gb is not None:
        params["mem_gb"] = cluster.mem_gb
    if cluster.resolved_executor() == "slurm":
        params["slurm_partition"] = cluster.partition
        params["slurm_array_parallelism"] = cluster.array_parallelism
        if cluster.account is not None:
            params["slurm_account"] = cluster.account
        if cluster.qos is not None:
            params["slurm_qos"] = cluster.qos
    return params


def make_executor(cluster: ClusterConfig, folder: str | os.PathLike) -> Any:
    """A submitit executor for `[cluster]` (or an `InlineExecutor`)."""
    kind = cluster.resolved_executor()
    if kind == "inline":
        return InlineExecutor()
    try:
        import submitit  # an optional dependency (neurodyn[cluster])
    except ImportError:
        if kind == "slurm" or cluster.executor != "auto":
            raise ConfigError(f"cluster.executor: {kind!r} needs submitit, which is not "
                              "installed (pip install 'neurodyn[cluster]')") from None
        warnings.warn("submitit is not installed: running the sweep's jobs one after another "
                      "in this process (pip install 'neurodyn[cluster]')", stacklevel=3)
        return InlineExecutor()
    executor = submitit.AutoExecutor(folder=Path(folder), cluster=kind)
    executor.update_parameters(**executor_parameters(cluster))
    return executor


class SweepResult(NamedTuple):
    """What `sweep` did: the folder, the results table, and the settings' outcomes.

    The table holds the rows of results.csv, one dict per setting and seed; besides it, the
    settings it submitted, those already complete, and the error of each failed setting (as in
    failures.json)."""

    sweep_dir: Path
    table: list[dict[str, Any]]
    submitted: list[str]
    skipped: list[str]
    failed: dict[str, str]


def sweep(config: Config | str | os.PathLike, *, executor: Any = None, progress: bool = False,
          on_submit: Callable[[list], None] | None = None) -> SweepResult:
    """Run every setting of `config.sweep` that is not complete yet, then collect the table.

    `executor`: anything with `submit(fn, *args) -> job` (`job.result()`), default from
    `[cluster]` (`make_executor`). `on_submit([(setting id, job), …])` is called once all jobs
    are submitted (e.g. to watch or cancel them). A failed job is reported in the result and in
    `failures.json`; the other settings' results are kept, and a rerun submits only what is
    missing.
    """
    progress = check_bool(progress, "progress")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ArgumentTypeError(f"executor must have a submit(fn, *args) method (a submitit "
                                f"executor), got {type(executor).__name__}")
    if on_submit is not None and not callable(on_submit):
        raise ArgumentTypeError(f"on_submit must be callable or None, got "
                                f"{type(on_submit).__name__}")
    config = as_config(config)
    settings = expand(config)
    sweep_dir = config.run_dir()
    _files.make_folder(sweep_dir, "output_dir")
    _files.write_text(sweep_dir / "sweep.toml", _files.dumps_toml(config.to_dict()))
    pending, skipped = [], []
    for s in settings:
        done = all(is_complete(m, member_dir(sweep_dir, s, m)) for m in s.members)
        (skipped if done else pending).append(s)
    jobs = []
    if pending:
        if executor is None:
            executor = make_executor(config.cluster, sweep_dir / "_jobs")
        batch = getattr(executor, "batch", None)
        ctx = batch() if batch is not None else contextlib.nullcontext()
        with ctx:
            for s in pending:
                args = ([m.to_dict() for m in s.members],
                        [str(member_dir(sweep_dir, s, m)) for m in s.members], progress)
                jobs.append((s.id, executor.submit(run_setting, *args)))
        if on_submit is not None:
            on_submit(list(jobs))
    failed = {}
    for sid, job in jobs:
        try:
            job.result()
        except Exception as err:  # one failed job must not lose the others
            text = "".join(traceback.format_exception_only(type(err), err)).strip()
            failed[sid] = text[-2000:]
    _files.write_json(sweep_dir / "failures.json", failed)
    table = collect(config, settings, failed)
    return SweepResult(sweep_dir, table, [s.id for s in pending], [s.id for s in skipped],
                       failed)


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


METRIC_COLUMNS = {
    "accuracy": ("performance", "accuracy"),
    "final_loss": ("train", "final_loss"),
    "n_fixed_points": ("fixed_points", "n_points"),
    "n_stable_fixed_points": ("fixed_points", "n_stable"),
    "psid_cc": ("dpad", "psid", "cc"),
    "dpad_cc": ("dpad", "dpad", "cc"),
}


def collect(config: Config, settings: list[Setting] | None = None,
            failed: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Collect one row per (setting, seed) into `results.csv` and the summary figures.

    One row per (setting, seed) from the run folders; writes `results.csv` and the summary
    figures. Rows of incomplete runs have status "failed" (their job raised) or "missing"."""
    settings = expand(config) if settings is None else settings
    sweep_dir = config.run_dir()
    if failed is None:
        try:
            failed = json.loads((sweep_dir / "failures.json").read_text())
        except (OSError, json.JSONDecodeError):
            failed = {}
    rows = []
    for s in settings:
        for m in s.members:
            d = member_dir(sweep_dir, s, m)
            row = {"setting": s.id, **{k: v for k, v in s.values.items()},
                   "seed": m.training.seed}
            if is_complete(m, d):
                metrics = json.loads((d / "metrics.json").read_text())
                row["status"] = "ok"
                for col, path in METRIC_COLUMNS.items():
                    row[col] = _get(metrics, *path)
            else:
                row["status"] = "failed" if s.id in failed else "missing"
                row["error"] = failed.get(s.id, "")
            row["run_dir"] = str(d.relative_to(sweep_dir))
            rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    _files.write_text(sweep_dir / "results.csv", buffer.getvalue())
    _summary_figures(config, rows, sweep_dir)
    return rows


def read_table(path: str | os.PathLike) -> list[dict[str, str]]:
    """`results.csv` back as a list of dicts (strings, as written)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_sweep(rows: Sequence[Mapping], x: str, y: str = "accuracy", *,
               group: Sequence[str] = (), ax: Axes | None = None) -> Axes:
    """Deprecated: `neurodyn.plot.plot_sweep` (plots live in `neurodyn.plot`)."""
    warnings.warn("neurodyn.experiment.plot_sweep is deprecated; use neurodyn.plot.plot_sweep",
                  DeprecationWarning, stacklevel=2)
    return plot.plot_sweep(rows, x, y, group=group, ax=ax)


def _summary_figures(config: Config, rows: list[dict], sweep_dir: Path) -> None:
    keys = [k for k in config.sweep if k not in ("seed", "training.seed")]
    numeric = [k for k in keys if all(isinstance(r.get(k), (int, float))
                                      and not isinstance(r.get(k), bool) for r in rows)]
    for metric in ("accuracy", "final_loss"):
        if not any(r.get("status") == "ok" and r.get(metric) is not None for r in rows):
            continue
        if numeric:
            x, group = numeric[0], [k for k in keys if k != numeric[0]]
        else:
            x, group = "setting", []
        ax = plot.plot_sweep(rows, x, metric, group=group)
        ax.set_title(f"{config.name}: {metric}")
        if x == "setting":
            ax.tick_params(axis="x", labelrotation=30)
        _files.save_figure(ax.figure, sweep_dir / f"summary_{metric}")
