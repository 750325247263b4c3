"""The `neurodyn` command line: `quickstart`, `train`, `run`, `sweep`, `citation`."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from . import _cliargs as A

QUICKSTART = dict(
    task="PerceptualDecisionMaking", preset="dubreuil2022", rank=1, neurons=512, steps=400,
    batch_size=32, learning_rate=1e-2, seed=0, out="runs/quickstart",
)


def versions() -> dict:
    import equinox
    import jax
    import numpy
    import optax

    from ._version import __version__

    return {
        "neurodyn": __version__, "jax": jax.__version__, "equinox": equinox.__version__,
        "optax": optax.__version__, "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def train_and_report(
    *, task: str, preset: str | None, rank: int, neurons: int, steps: int, batch_size: int,
    learning_rate: float, seed: int, out: str, progress: bool = True, n_test: int = 1024,
) -> dict:
    """Train a LowRankRNN on a registered task and write checkpoint, metrics.json and figures."""
    import jax
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import io, models, plot, tasks, train
    from .experiment import _files

    task_kwargs = {} if preset is None else {"preset": preset}
    the_task = tasks.make(task, **task_kwargs)
    # One key per use: the held-out rollout and the psychometric rollout must not share noise.
    k_model, k_train, k_test, k_psy, k_noise = jax.random.split(jax.random.key(seed), 5)
    k_psy_trials, k_psy_noise = jax.random.split(k_psy)
    model = models.LowRankRNN(
        neurons, rank, the_task.n_inputs, the_task.n_outputs, key=k_model
    )
    t0 = time.perf_counter()
    result = train.fit(
        model, the_task, key=k_train, steps=steps, batch_size=batch_size,
        learning_rate=learning_rate, eval_every=max(1, min(100, steps)), progress=progress,
    )
    train_seconds = time.perf_counter() - t0

    test = the_task.sample(k_test, n_test)
    roll = result.model.simulate(test.inputs, key=k_noise)
    score = the_task.evaluate(roll.outputs, test)
    accuracy = float(score["accuracy"])

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = dict(
        task=task, task_hyperparameters=_task_fields(the_task), model="LowRankRNN",
        model_hyperparameters=result.model.hyperparameters(), training=result.history.config,
    )
    io.save(out_dir / "model.eqx", result.model, metadata={"task": task}, seed=seed)

    curve = None
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
    plot.plot_loss(result.history, ax=axes[0])
    if "coherence" in test.conditions:
        # Fine steps near zero, where the curve bends, out to the task's largest coherence.
        top = float(max(np.abs(the_task.coherences)))
        half = top * np.array([0.00625, 0.0125, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
        coh = np.concatenate([-half[::-1], [0.0], half])
        grid = the_task.conditions(k_psy_trials, repeats=128, coherences=coh)
        grid_roll = result.model.simulate(grid.inputs, key=k_psy_noise)
        choice = the_task.evaluate(grid_roll.outputs, grid)["choice"]
        curve = tasks.psychometric(choice, grid.conditions["coherence"])
        plot.psychometric(curve, ax=axes[1])
        axes[1].set_xscale("symlog", linthresh=top * 0.0125)
    else:
        axes[1].set_axis_off()
    axes[0].set_title(f"{task}: training")
    axes[1].set_title(f"held-out accuracy {accuracy:.3f}")
    _files.save_figure(fig, out_dir / "training")  # PNG and PDF, written atomically

    metrics = dict(
        seed=seed, versions=versions(), config=config, accuracy=accuracy, n_test_trials=n_test,
        train_seconds=train_seconds, history=result.history.to_dict(),
        psychometric=None if curve is None else {k: np.asarray(v).tolist() for k, v in
                                                 curve.items()},
    )
    io.write_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=1).encode())
    return metrics


def _task_fields(task) -> dict:
    import dataclasses

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
    from ._version import __version__

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
        "(checkpoint, metrics.json, loss and psychometric figure).",
    )
    _add_training_args(q, QUICKSTART)
    t = sub.add_parser(
        "train", epilog=EPILOG,
        help="train a LowRankRNN on any registered task",
        description="Train a LowRankRNN on a registered task and write the checkpoint, "
        "metrics.json and figures to --out.",
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


def _config_command(args) -> int:
    from . import experiment

    if args.command == "citation":
        methods = args.methods
        if args.config is not None:
            cfg = experiment.load_config(Path(args.config))
            methods = experiment.methods_of(cfg) + list(methods or [])
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


def _check_parsed(p: argparse.ArgumentParser, args) -> None:
    """argparse turns a value of '--' into an empty list without calling its type."""
    for action in p._actions:
        value = getattr(args, action.dest, None)
        if action.type is not None and action.nargs in (None, "?") and isinstance(value, list):
            where = action.option_strings[0] if action.option_strings else action.dest
            p.error(f"argument {where}: expected one value, got {value!r}")


def _check_training_args(p: argparse.ArgumentParser, args) -> str:
    """What argparse cannot check alone (options that depend on each other), before any
    training; returns the output folder, created."""
    from . import tasks

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


def _train_command(p: argparse.ArgumentParser, args) -> int:
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
