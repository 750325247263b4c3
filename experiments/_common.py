"""What every reproduction in experiments/ shares: the command line (`--config small|paper`,
`--out DIR`), reading the study's TOML config, and writing its results directory — `results.json`,
`results.md` (measured beside published, with the scale stated) and the figure.

The config is read and checked by neurodyn's own config code (`neurodyn.experiment.
load_study_config` / `check_study_config`: the same file reading and number checks as the run
configs of `neurodyn run`), and every file is written atomically by `neurodyn.experiment`'s
writers, with the provenance (`git_commit`) that run folders record.

A study's `run.py` defines `compute(cfg) -> Study` and calls `main(__file__, compute, argv)`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import matplotlib
import numpy as np

import neurodyn as nd
from neurodyn.experiment import (
    STUDY_CONFIGS,
    check_study_config,
    git_commit,
    load_study_config,
    write_bytes,
    write_text,
)

CONFIGS = STUDY_CONFIGS
SMALL_NOTE = ("`small` config: tiny sizes so that the test run executes it; NOT the published "
              "scale — compare with the published column only in kind, not in value.")


@dataclass
class Row:
    """One line of the results table: a measured quantity beside the published one."""

    quantity: str
    measured: Any
    published: Any = "–"
    note: str = ""


@dataclass
class Study:
    """What `compute` returns: the table, machine-readable extras and a figure."""

    title: str
    reference: str
    rows: list[Row]
    data: dict = field(default_factory=dict)
    figure: Any = None  # a matplotlib Figure


def load_config(study_dir: Path, name: str) -> dict:
    """The study's `<name>.toml` as a dict (`neurodyn.experiment.load_study_config`); a
    `ConfigError` (a ValueError) for an unknown name, a missing or invalid file, or a run
    config."""
    return load_study_config(study_dir, name)


def require(cfg: dict, keys: dict[str, type], optional: dict[str, type] | None = None) -> dict:
    """Check that `cfg` has exactly `keys` (name → type), plus any of `optional`; one clear
    error naming the key (`neurodyn.experiment.check_study_config`)."""
    return check_study_config(cfg, keys, optional)


def key(seed: int, *fold: int):
    """jax.random.key(seed), folded with the extra integers (one stream per use).

    A key handed to a function must not also be the prefix of another: `key(s, a)` passed to
    `fit` and `key(s, a, 1)` used elsewhere collide, because JAX's threefry gives
    `fold_in(k, i) == split(k, n)[i]` and the callee splits what it is given."""
    k = jax.random.key(int(seed))
    for i in fold:
        k = jax.random.fold_in(k, int(i))
    return k


def fmt(v) -> str:
    """Table cell: floats to 3 decimals, lists of floats as mean [min–max]."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else f"{v:.3f}"
    if isinstance(v, (list, tuple, np.ndarray)) and len(v) and all(
        isinstance(x, (int, float, np.number)) for x in v
    ):
        a = np.asarray(v, float)
        if a.size == 1:
            return f"{a[0]:.3f}"
        return f"{a.mean():.3f} [{a.min():.3f}–{a.max():.3f}]"
    return str(v)


def _cell(v) -> str:
    return fmt(v).replace("|", "\\|")


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray) or hasattr(v, "__array__") and not isinstance(v, str):
        return _jsonable(np.asarray(v).tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _commit() -> str:
    """The short hash of the code's commit (of this folder's repository), or "unknown"."""
    info = git_commit(Path(__file__).parent, short=True)
    return info["commit"] if info else "unknown"


def write(study: Study, out: Path, config_name: str, cfg: dict, seconds: float,
          commit: str | None = None) -> dict:
    """Write results.json, results.md and figure.png into `out`; returns the JSON record.
    `commit` is the code's commit when the study started (default: now)."""
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "title": study.title, "reference": study.reference, "config_name": config_name,
        "config": cfg, "seconds": round(seconds, 1), "small_scale": config_name == "small",
        "neurodyn": nd.__version__, "jax": jax.__version__, "commit": commit or _commit(),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        "rows": [vars(r) for r in study.rows], "data": study.data,
    }
    record = _jsonable(record)
    write_text(out / "results.json", json.dumps(record, indent=1))
    parts = study.data.get("part_commits") or {}
    resumed = ""
    if any(c != record["commit"] for c in parts.values()):
        resumed = "; resumed, parts computed at " + ", ".join(f"{k} {c}" for k, c in parts.items())
    lines = [f"# {study.title}", "", f"Reference: {study.reference}", "",
             f"Config `{config_name}`; {record['seconds']} s wall "
             f"({study.data.get('cpu_seconds', '?')} s CPU) on {record['machine']}; neurodyn "
             f"{record['neurodyn']} (commit {record['commit']}){resumed}.", ""]
    if config_name == "small":
        lines += [SMALL_NOTE, ""]
    lines += ["| quantity | measured | published | note |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(_cell(c) for c in (r.quantity, r.measured, r.published, r.note))
              + " |" for r in study.rows]
    if study.figure is not None:
        buffer = io.BytesIO()
        study.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        write_bytes(out / "figure.png", buffer.getvalue())
        lines += ["", "![figure](figure.png)"]
    write_text(out / "results.md", "\n".join(lines) + "\n")
    return record


# While a study runs: where its parts go, the commit it started at, and each part's commit.
_PARTS: dict = {"dir": None, "commit": None, "commits": {}}


def cached(name: str, inputs: dict, fn):
    """Run `fn()` (returning a JSON-able dict) once per `inputs`: the result is kept in
    `<out>/parts/<name>-<hash of inputs>.json`, so a long study that is stopped resumes at the
    part it was in. Outside `main` (no results directory) it just calls `fn()`."""
    folder = _PARTS["dir"]
    if folder is None:
        return fn()
    digest = hashlib.sha256(json.dumps(_jsonable(inputs), sort_keys=True).encode()).hexdigest()
    path = folder / f"{name}-{digest[:12]}.json"
    if path.exists():
        print(f"[{name}] reusing {path}", flush=True)
        kept = json.loads(path.read_text())
        _PARTS["commits"][name] = kept.get("commit")
        return kept["result"]
    t0 = time.perf_counter()
    result = fn()
    folder.mkdir(parents=True, exist_ok=True)
    # The code that ran is the code at the start of the study (HEAD may move meanwhile).
    commit = _PARTS["commit"] or _commit()
    write_text(path, json.dumps(_jsonable(dict(
        inputs=inputs, result=result, seconds=round(time.perf_counter() - t0, 1),
        commit=commit)), indent=1))
    _PARTS["commits"][name] = commit
    print(f"[{name}] done in {time.perf_counter() - t0:.0f} s", flush=True)
    return json.loads(path.read_text())["result"]


def main(run_file: str, compute, argv=None) -> dict:
    """Command line of every study: `python run.py --config small|paper [--out DIR]`. Parts run
    through `cached` are kept under `<out>/parts/` until the study finishes, so an interrupted
    run picks up where it stopped."""
    study_dir = Path(run_file).resolve().parent
    p = argparse.ArgumentParser(description=(compute.__doc__ or "").strip().splitlines()[0])
    p.add_argument("--config", choices=CONFIGS, default="small")
    p.add_argument("--out", type=Path, default=None,
                   help="results directory (default: <study>/results/<config>/)")
    args = p.parse_args(argv)
    cfg = load_config(study_dir, args.config)
    out = args.out or study_dir / "results" / args.config
    matplotlib.use("Agg")
    t0, c0 = time.perf_counter(), time.process_time()
    commit = _commit()  # the code that runs is the code at the start
    _PARTS.update(dir=out / "parts", commit=commit, commits={})
    try:
        study = compute(cfg)
    finally:
        _PARTS["dir"] = _PARTS["commit"] = None
    study.data["cpu_seconds"] = round(time.process_time() - c0, 1)
    if _PARTS["commits"]:
        # A resumed study ran its parts in several processes, perhaps at several commits.
        study.data["part_commits"] = dict(_PARTS["commits"])
    record = write(study, out, args.config, cfg, time.perf_counter() - t0, commit)
    shutil.rmtree(out / "parts", ignore_errors=True)  # finished: a rerun recomputes everything
    print((out / "results.md").read_text())
    return record
