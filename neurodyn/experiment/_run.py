"""`run(config)`: one trained network and its analyses, in a run folder that resumes.

Each stage (train, performance, fixed_points, lowrank, dpad) records in `stages/<stage>.json`
the hash of the config parts it depends on (task, model and training, plus its own
`[analyses.<stage>]` table) and the files it wrote. A later run skips a stage whose record has
the same hash and whose files all exist, so an interrupted run picks up where it stopped, a
deleted output is recomputed alone, and a changed training value recomputes everything.
`metrics.json`, `report.md`, `run.json` and the resolved config are rewritten every time.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from .._validate import check_bool, check_path
from .._version import __version__, git_commit, versions
from . import _datastages, _files, _stages
from ._citation import citation
from ._config import Config
from ._datareport import _fig, _fmt, data_report_md
from ._parse import as_config

STAGES = ("train", "performance", "fixed_points", "lowrank", "dpad")
"""The stages of a run, in the order they run (each resumable on its own)."""
# Bump to invalidate every stage record. 2: the keys of a run are split from the seed once
# (`_stages.run_keys`); format-1 analyses reused the training key's descendants.
STAGE_FORMAT = 2


def stage_hash(config: Config, stage: str) -> str:
    """Hash of what `stage` depends on: task, model, training, and its analyses table."""
    if config.data is not None:
        return _files.digest({"stage": stage, "format": STAGE_FORMAT,
                              **_datastages.stage_parts(config, stage)})
    parts = config.part("task", "model", "training")
    if stage != "train":
        parts.update(config.part(f"analyses.{stage}"))
    return _files.digest({"stage": stage, "format": STAGE_FORMAT, **parts})


def enabled_stages(config: Config) -> list[str]:
    """"train" and the analyses `config` enables, in the order they run."""
    if config.data is not None:  # a recording: read it, then its analyses
        return _datastages.enabled(config)
    return ["train"] + [s for s in STAGES[1:] if getattr(config.analyses, s).enabled]


def _record_path(run_dir: Path, stage: str) -> Path:
    return Path(run_dir) / "stages" / f"{stage}.json"


def stage_done(config: Config, run_dir: Path, stage: str) -> bool:
    """Whether `stage`'s outputs exist for this config."""
    path = _record_path(run_dir, stage)
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return record.get("hash") == stage_hash(config, stage) and all(
        (Path(run_dir) / f).is_file() for f in record.get("outputs", [])
    )


def is_complete(config: Config, run_dir: Path) -> bool:
    """Whether every enabled stage is done and the report written."""
    return all(stage_done(config, run_dir, s) for s in enabled_stages(config)) and (
        Path(run_dir) / "metrics.json"
    ).is_file()


def write_record(config: Config, run_dir: Path, stage: str, outputs: list[str],
                 seconds: float) -> None:
    """Record that `stage` wrote `outputs` for this config (`stages/<stage>.json`)."""
    _files.write_json(_record_path(run_dir, stage), {
        "stage": stage, "hash": stage_hash(config, stage), "outputs": list(outputs),
        "seconds": seconds, "neurodyn": __version__,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def clear_record(run_dir: Path, stage: str) -> None:
    """Forget a stage before redoing it, so a crash midway never leaves a valid-looking record
    beside half-rewritten outputs."""
    _record_path(run_dir, stage).unlink(missing_ok=True)


class RunResult(NamedTuple):
    """What `run` did: the folder, the stages run and skipped, and the metrics.

    The metrics are the content of the run's metrics.json, as plain JSON data."""

    run_dir: Path
    ran: list[str]
    skipped: list[str]
    metrics: dict[str, Any]


def write_config(config: Config, run_dir: Path) -> None:
    """The resolved config (without its sweep) as config.toml and config.json."""
    data = config.to_dict()
    data.pop("sweep", None)
    _files.write_text(Path(run_dir) / "config.toml", _files.dumps_toml(data))
    _files.write_json(Path(run_dir) / "config.json", data)


def run(config: Config | str | os.PathLike, *, run_dir: str | os.PathLike | None = None,
        progress: bool = True, force: bool = False) -> RunResult:
    """Train and analyse as `config` says, into `run_dir` (default `<output_dir>/<name>`).

    Stages already done for the same config are skipped (`force=True` redoes them all).
    Returns a `RunResult`; the folder holds config.toml/json, run.json (seed, versions, git
    commit), model.eqx, history.json, <stage>.json, fixedpoints.eqx, psid.eqx / dpad.eqx,
    figures (PNG and PDF), metrics.json and report.md. A `[data]` config reads a recording
    instead and runs the stages recording, decoding (PSID / IPSID / DPAD) and lint
    (experiment/_datastages.py), each with its own record, into the same kind of folder.
    """
    progress, force = check_bool(progress, "progress"), check_bool(force, "force")
    if run_dir is not None:
        check_path(run_dir, "run_dir")
    config = as_config(config)
    if run_dir is None:
        run_dir = _files.make_folder(config.run_dir(), "output_dir")
    else:
        run_dir = _files.make_folder(Path(run_dir), "run_dir")
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_config(config, run_dir)
    ctx = (_stages.Context if config.data is None else _datastages.DataContext)(
        config, run_dir, progress)
    ran, skipped = [], []
    for stage in enabled_stages(config):
        if not force and stage_done(config, run_dir, stage):
            skipped.append(stage)
            continue
        clear_record(run_dir, stage)
        t0 = time.perf_counter()
        if stage == "train":
            _stages.train_members([config], [run_dir], progress=progress)
            outputs = ["model.eqx", "history.json"]
        elif config.data is not None:
            outputs, _ = _datastages.DATA_ANALYSES[stage](ctx)
        else:
            outputs, _ = _stages.ANALYSES[stage](ctx)
        write_record(config, run_dir, stage, outputs, time.perf_counter() - t0)
        ran.append(stage)
    metrics = write_report(config, run_dir, started=started, ran=ran, skipped=skipped)
    return RunResult(run_dir, ran, skipped, metrics)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def write_report(config: Config, run_dir: Path, *, started: str, ran: list[str],
                 skipped: list[str]) -> dict[str, Any]:
    """Collect the stages' summaries into metrics.json and write run.json and report.md."""
    run_dir = Path(run_dir)
    info = {
        "name": config.name, "seed": config.training.seed, "started": started,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "stages_ran": ran, "stages_skipped": skipped,
        "config_hash": _files.digest(config.part("task", "model", "training", "analyses")),
        "versions": versions(), "git": git_commit(),
    }
    if config.data is not None:
        info["seed"] = config.data.seed
        info["config_hash"] = _files.digest(config.part("data", "analyses"))
    _files.write_json(run_dir / "run.json", info)
    if config.data is not None:
        return _write_data_report(config, run_dir, info)
    history = _read_json(run_dir / "history.json") or {}
    metrics: dict = {"name": config.name, "seed": config.training.seed,
                     "config_hash": info["config_hash"]}
    if history:
        loss = [v for v in history.get("loss", []) if v is not None]
        val_acc = history.get("val_accuracy") or []
        metrics["train"] = {
            "steps": config.training.steps, "final_loss": loss[-1] if loss else None,
            "best_step": history.get("best_step"), "stop_reason": history.get("stop_reason"),
            "final_val_accuracy": val_acc[-1] if val_acc else None,
            "train_seconds": history.get("train_seconds"),
        }
    names = {"performance": "performance.json", "fixed_points": "fixedpoints.json",
             "lowrank": "lowrank.json", "dpad": "dpad.json"}
    for stage in enabled_stages(config)[1:]:
        metrics[stage] = _read_json(run_dir / names[stage])
    _files.write_json(run_dir / "metrics.json", metrics)
    bib = citation(config, quiet=True)
    _files.write_text(run_dir / "report.md", _report_md(config, metrics, info, run_dir, bib))
    return metrics


def _write_data_report(config: Config, run_dir: Path, info: dict) -> dict[str, Any]:
    metrics: dict = {"name": config.name, "seed": config.data.seed,
                     "config_hash": info["config_hash"]}
    for stage in enabled_stages(config):
        metrics[stage] = _read_json(run_dir / f"{stage}.json")
    _files.write_json(run_dir / "metrics.json", metrics)
    bib = citation(config.methods(), quiet=True)
    _files.write_text(run_dir / "report.md", data_report_md(config, metrics, info, run_dir, bib))
    return metrics


def _report_md(config: Config, metrics: dict, info: dict, run_dir: Path, bib: str) -> str:
    c = config
    lines = [
        f"# Run `{c.name}`\n",
        f"Task **{c.task.name}**" + (f" (preset `{c.task.preset}`)" if c.task.preset else "")
        + f"; model **{c.model.type}** N = {c.model.n_neurons}"
        + (f", rank {c.model.rank}" if c.model.rank else "")
        + f"; {c.training.steps} training steps, batch {c.training.batch_size}, "
        f"learning rate {c.training.learning_rate}, seed {c.training.seed}.\n",
        f"neurodyn {info['versions']['neurodyn']}, JAX {info['versions']['jax']}; "
        + (f"git commit `{info['git']['commit'][:12]}`"
           + (" (with uncommitted changes)" if info["git"]["dirty"] else "")
           if info["git"] else "not run from a git checkout")
        + f". Finished {info['finished']}. The resolved config is in `config.toml`.\n",
    ]
    tr = metrics.get("train")
    if tr:
        lines.append("## Training\n")
        lines.append(f"Final training loss {_fmt(tr['final_loss'])}; validation accuracy "
                     f"{_fmt(tr['final_val_accuracy'])}; stopped: {tr['stop_reason']}.\n")
    perf = metrics.get("performance")
    if perf:
        lines.append("## Performance\n")
        lines.append(f"Held-out accuracy **{perf['accuracy']:.4f}** on {perf['n_trials']} "
                     "trials.\n")
        lines.append(_fig(run_dir, "performance", "training loss and psychometric curve"))
    fp = metrics.get("fixed_points")
    if fp:
        lines.append("## Fixed points\n")
        lines.append(f"{fp['n_points']} fixed points at zero input, {fp['n_stable']} stable "
                     "(`nd.load(\"fixedpoints.eqx\")`).\n")
        lines.append(_fig(run_dir, "fixed_points", "fixed points and eigenvalues"))
    lr = metrics.get("lowrank")
    if lr:
        lines.append("## Low-rank structure\n")
        if lr.get("applicable"):
            ev = lr["eigenvalues_nm"]
            evs = ", ".join(f"{a:.3g}" + (f"{b:+.3g}i" if abs(b) > 1e-12 else "")
                            for a, b in zip(ev["real"], ev["imag"]))
            lines.append(f"Eigenvalues of nᵀm/N: {evs}.\n")
            lines.append(_fig(run_dir, "loadings", "connectivity loadings"))
            lines.append(_fig(run_dir, "flow_field", "latent flow field"))
        else:
            lines.append(f"Not applicable: {lr.get('reason')}.\n")
    dpd = metrics.get("dpad")
    if dpd:
        lines.append("## Behaviour-relevant latent dynamics (PSID / DPAD)\n")
        lines.append("| method | behaviour CC | behaviour R² |\n|---|---|---|")
        for m in c.analyses.dpad.methods:
            if m in dpd:
                lines.append(f"| {m.upper()} | {_fmt(dpd[m].get('cc'))} | "
                             f"{_fmt(dpd[m].get('r2'))} |")
        lines.append(f"\nnx = {dpd['nx']}, n1 = {dpd['n1']}; fitted on "
                     f"{dpd['n_train_trials']} trials, scored on {dpd['n_test_trials']}.\n")
        lines.append(_fig(run_dir, "dpad", "PSID/DPAD behaviour prediction"))
    lines.append("## Citing\n")
    lines.append("If you use these results, please cite neurodyn and the methods used:\n")
    lines.append("```bibtex\n" + bib + "```\n")
    return "\n".join(lines)
