"""The `neurodyn` command line: `quickstart`, `train`, `run`, `sweep`, `citation`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from . import _cliargs as A, experiment, io, tasks
from ._version import __version__, versions

QUICKSTART = dict(
    task="PerceptualDecisionMaking", preset="dubreuil2022", rank=1, neurons=512, steps=400,
    batch_size=32, learning_rate=1e-2, seed=0, out="runs/quickstart",
)
# The psychometric curve of `quickstart`/`train`: this many trials at each of 17 coherences.
PSYCHOMETRIC_REPEATS = 128


def training_config(
    *, task: str, preset: str | None, rank: int, neurons: int, steps: int, batch_size: int,
    learning_rate: float, seed: int, out: str, n_test: int = 1024,
) -> experiment.Config:
    """The run config behind `neurodyn quickstart` and `neurodyn train`: a LowRankRNN trained on
    a registered task, and its held-out performance (no other analysis), in the folder `out`."""
    folder = Path(out).absolute()
    return experiment.from_dict({
        "name": folder.name or "run", "output_dir": str(folder.parent),
        "task": {"name": task, **({} if preset is None else {"preset": preset})},
        "model": {"type": "LowRankRNN", "n_neurons": neurons, "rank": rank},
        "training": {"seed": seed, "steps": steps, "batch_size": batch_size,
                     "learning_rate": learning_rate, "eval_every": max(1, min(100, steps))},
        "analyses": {
            "performance": {"n_trials": n_test, "psychometric_repeats": PSYCHOMETRIC_REPEATS},
            "fixed_points": {"enabled": False}, "lowrank": {"enabled": False},
            "dpad": {"enabled": False},
        },
    })


def train_and_report(
    *, task: str, preset: str | None, rank: int, neurons: int, steps: int, batch_size: int,
    learning_rate: float, seed: int, out: str, progress: bool = True, n_test: int = 1024,
) -> dict[str, Any]:
    """Train a LowRankRNN on a registered task with `neurodyn.experiment.run` (the config of
    `training_config`) into the folder `out`, and return its metrics.json.

    Besides the run folder's files (model.eqx, history.json, performance.json/png/pdf,
    report.md, ...), `out` holds this command's summary: metrics.json with the run's metrics
    plus `seed`, `versions`, `config`, `accuracy`, `n_test_trials`, `train_seconds`, `history`
    and `psychometric` at the top level, and the figure as training.png/pdf. Like
    `neurodyn run`, a second call with the same options reuses what is done."""
    config = training_config(task=task, preset=preset, rank=rank, neurons=neurons, steps=steps,
                             batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                             out=out, n_test=n_test)
    result = experiment.run(config, run_dir=out, progress=progress)
    out_dir = Path(out)
    history = json.loads((out_dir / "history.json").read_text())
    model = io.load(out_dir / "model.eqx")
    performance = result.metrics["performance"]
    the_task = config.task.build()
    metrics = {
        **result.metrics, "seed": seed, "versions": versions(),
        "config": dict(task=task, task_hyperparameters=_task_fields(the_task), model="LowRankRNN",
                       model_hyperparameters=model.hyperparameters(),
                       training=history.get("config")),
        "accuracy": performance["accuracy"], "n_test_trials": performance["n_trials"],
        "train_seconds": history.get("train_seconds"), "history": history,
        "psychometric": performance.get("psychometric"),
    }
    experiment.write_json(out_dir / "metrics.json", metrics)
    for ext in ("png", "pdf"):  # the figure under the name this command has always used
        experiment.write_bytes(out_dir / f"training.{ext}",
                               (out_dir / f"performance.{ext}").read_bytes())
    return metrics


def _task_fields(task: tasks.AbstractTask) -> dict[str, Any]:
    return {f.name: getattr(task, f.name) for f in dataclasses.fields(task)}


EPILOG = (
    "A bad option or config value stops the command before any work starts, with one line on "
    "standard error and exit status 2 (1 when the system refuses, e.g. a full disk; 130 when "
    f"interrupted). For the full traceback of an error, pass --debug or set {A.DEBUG_ENV}=1."
)


def _add_common(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: an absent sub-command flag must not reset `neurodyn --debug COMMAND`.
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help=f"show the full traceback of an error (as {A.DEBUG_ENV}=1)")


def _add_training_args(p: argparse.ArgumentParser, defaults: dict) -> None:
    p.add_argument("--task", type=A.task_name, default=defaults["task"],
                   help="registered task name")
    p.add_argument("--preset", type=A.name, default=defaults["preset"], help="task preset")
    p.add_argument("--rank", type=A.count(), default=defaults["rank"],
                   help="connectivity rank R (1 <= R <= N)")
    p.add_argument("--neurons", type=A.count(), default=defaults["neurons"],
                   help="number of neurons N")
    p.add_argument("--steps", type=A.count(), default=defaults["steps"], help="training steps")
    p.add_argument("--batch-size", type=A.count(), default=defaults["batch_size"],
                   help="trials per training step")
    p.add_argument("--lr", type=A.positive_number, default=defaults["learning_rate"],
                   help="Adam learning rate (> 0)")
    p.add_argument("--seed", type=A.count(0, A.SEED_MAX), default=defaults["seed"],
                   help=f"random seed, 0 to {A.SEED_MAX}")
    p.add_argument("--out", type=A.folder, default=defaults["out"], help="output folder")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_common(p)


def build_parser() -> argparse.ArgumentParser:
    """The `neurodyn` argument parser (its sub-parsers in `parser.commands`)."""
    parser = A.Parser(
        prog="neurodyn",
        description="Train recurrent networks on cognitive tasks and take them apart.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"neurodyn {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the full traceback of an error (as {A.DEBUG_ENV}=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    q = sub.add_parser(
        "quickstart", epilog=EPILOG,
        help="train a rank-1 network (N=512) on perceptual decision making and report",
        description="Train a rank-1 LowRankRNN (N=512) on the dubreuil2022 perceptual "
        "decision-making task, print held-out accuracy and write runs/quickstart/ "
        "(checkpoint, metrics.json, loss and psychometric figure): a run folder as "
        "`neurodyn run` writes it, so a second call with the same options reuses it.",
    )
    _add_training_args(q, QUICKSTART)
    t = sub.add_parser(
        "train", epilog=EPILOG,
        help="train a LowRankRNN on any registered task",
        description="Train a LowRankRNN on a registered task and write the checkpoint, "
        "metrics.json and figures to --out (a run folder, as `neurodyn run` writes it).",
    )
    _add_training_args(t, {**QUICKSTART, "out": None, "preset": None})
    r = sub.add_parser(
        "run", epilog=EPILOG,
        help="train and analyse as a TOML config says, into runs/<name>/ (resumable)",
        description="Train a network and run the analyses named in CONFIG (performance, "
        "fixed points, low-rank analysis, PSID/DPAD), writing <output_dir>/<name>/ with the "
        "resolved config, checkpoints, metrics.json, figures and report.md. Stages already "
        "done for the same config are skipped. (The studies in experiments/<study>/ are run by "
        "their own script: python experiments/<study>/run.py --config small|paper.)",
    )
    r.add_argument("config", type=A.name, help="a TOML (or JSON) config file")
    r.add_argument("--output-dir", type=A.folder, help="override the config's output_dir")
    r.add_argument("--force", action="store_true", help="redo every stage")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    _add_common(r)
    s = sub.add_parser(
        "sweep", epilog=EPILOG,
        help="run the grid in a config's [sweep] section through submitit",
        description="Expand the [sweep] grid of CONFIG into settings; train the seeds of each "
        "setting together and send each setting as a job through submitit (local executor, or "
        "SLURM when [cluster] names a partition). Rerunning finishes only what is missing. "
        "Writes results.csv and summary figures.",
    )
    s.add_argument("config", type=A.name,
                   help="a TOML (or JSON) config file with a [sweep] section")
    s.add_argument("--output-dir", type=A.folder, help="override the config's output_dir")
    s.add_argument("--executor", choices=["auto", "local", "debug", "inline", "slurm"],
                   help="override [cluster] executor")
    _add_common(s)
    c = sub.add_parser(
        "citation", epilog=EPILOG,
        help="print BibTeX for neurodyn and the methods a config (or a list) uses",
        description="Print BibTeX for neurodyn and for the methods used by CONFIG, or by "
        "--methods (e.g. lowrank fixed_points psid dpad).",
    )
    c.add_argument("config", nargs="?", type=A.name, help="a config file (optional)")
    c.add_argument("--methods", nargs="*", type=A.method, default=None,
                   help="method names or citation keys")
    _add_common(c)
    parser.commands = {"quickstart": q, "train": t, "run": r, "sweep": s, "citation": c}
    return parser


def _config_command(args: argparse.Namespace) -> int:
    if args.command == "citation":
        methods = args.methods
        if args.config is not None:
            cfg = experiment.load_config(Path(args.config))
            methods = cfg.methods() + list(methods or [])
        experiment.citation(methods)
        return 0
    cfg = experiment.load_config(Path(args.config))  # a path, never TOML text
    if args.output_dir is not None or getattr(args, "executor", None) is not None:
        data = cfg.to_dict()  # overrides are validated like the file itself
        if args.output_dir is not None:
            data["output_dir"] = args.output_dir
        if getattr(args, "executor", None) is not None:
            data["cluster"]["executor"] = args.executor
        cfg = experiment.from_dict(data)
    if args.command == "run":
        res = experiment.run(cfg, progress=not args.no_progress, force=args.force)
        print(f"ran: {', '.join(res.ran) or 'nothing (all stages up to date)'}; "
              f"skipped: {', '.join(res.skipped) or 'none'}")
        acc = (res.metrics.get("performance") or {}).get("accuracy")
        if acc is not None:
            print(f"held-out accuracy: {acc:.4f}")
        print(f"wrote {res.run_dir}/ — see {res.run_dir / 'report.md'}")
        return 0
    res = experiment.sweep(cfg)
    ok = sum(r["status"] == "ok" for r in res.table)
    print(f"{len(res.submitted)} settings run, {len(res.skipped)} already complete; "
          f"{ok}/{len(res.table)} runs complete; table: {res.sweep_dir / 'results.csv'}")
    for sid, err in res.failed.items():
        print(f"failed: {sid}: {err.splitlines()[-1] if err else ''}", file=sys.stderr)
    return 1 if res.failed else 0


def _check_parsed(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """argparse turns a value of '--' into an empty list without calling its type."""
    for action in p._actions:
        value = getattr(args, action.dest, None)
        if action.type is not None and action.nargs in (None, "?") and isinstance(value, list):
            where = action.option_strings[0] if action.option_strings else action.dest
            p.error(f"argument {where}: expected one value, got {value!r}")


def _check_training_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """What argparse cannot check alone (options that depend on each other), before any
    training; returns the output folder, created."""
    if args.rank > args.neurons:
        p.error(f"argument --rank: must be <= --neurons ({args.neurons}), got {args.rank}")
    try:
        tasks.make(args.task, **({} if args.preset is None else {"preset": args.preset}))
    except (TypeError, ValueError) as err:
        p.error(f"argument {'--task' if args.preset is None else '--preset'}: {err}")
    out = args.out or f"runs/{args.task}-rank{args.rank}-seed{args.seed}"
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        p.error(f"argument --out: cannot create folder {out!r}: {err.strerror or err}")
    return out


def _train_command(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    out = _check_training_args(p, args)
    metrics = train_and_report(
        task=args.task, preset=args.preset, rank=args.rank, neurons=args.neurons,
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
        out=out, progress=not args.no_progress,
    )
    print(
        f"held-out accuracy: {metrics['accuracy']:.4f} on {metrics['n_test_trials']} trials "
        f"(trained in {metrics['train_seconds']:.1f} s)\nwrote {out}/: model.eqx, metrics.json, "
        "training.png, training.pdf"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """The `neurodyn` command. Returns the exit status; bad options exit (SystemExit 2) while
    the arguments are read, before any work."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    _check_parsed(parser.commands[args.command], args)
    debug = A.debug_requested(args)
    try:
        if args.command in ("run", "sweep", "citation"):
            return _config_command(args)
        return _train_command(parser.commands[args.command], args)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"neurodyn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as err:  # ConfigError and the library's own errors
        if debug:
            raise
        return A.report(args.command, err)


if __name__ == "__main__":
    sys.exit(main())
