"""The stages of a run: train, then the analyses. Each writes its files into the run folder
and returns the names it wrote and a JSON summary; `_run.py` decides which stages to run."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from .. import dpad as dp, fixedpoints, io, lowrank as lr, models, plot, tasks, train
from .._typing import Key
from . import _files
from ._config import Config
from ._latentfit import LatentFit

# The keys of a run, all split from jax.random.key(seed) before use, none used twice: training
# gets one (fit_ensemble splits it into initialisation and training), each analysis stage one
# of its own, split again into the keys of its uses (held-out trials, simulation noise, …).
STAGE_KEYS = {
    "performance": ("trials", "noise"),
    "fixed_points": ("trials", "noise", "starts"),
    "dpad": ("trials", "noise", "fit"),
}
# Keys added later, split from fold_in(stage key, EXTRA_TAG) so that the keys above stay what
# they were (no split of a stage key into fewer than EXTRA_TAG + 1 keys reaches this one).
EXTRA_KEYS = {"performance": ("grid_trials", "grid_noise")}
EXTRA_TAG = 0xE47


def run_keys(seed: int) -> dict[str, Any]:
    """Every key a run of `seed` uses: `{"train": k, "performance": {"trials": k, ...}, ...}`."""
    k_train, *k_stages = jax.random.split(jax.random.key(seed), 1 + len(STAGE_KEYS))
    out: dict[str, Any] = {"train": k_train}
    for (stage, uses), k in zip(STAGE_KEYS.items(), k_stages):
        out[stage] = dict(zip(uses, jax.random.split(k, len(uses))))
        extra = EXTRA_KEYS.get(stage, ())
        if extra:
            more = jax.random.split(jax.random.fold_in(k, EXTRA_TAG), len(extra))
            out[stage].update(zip(extra, more))
    return out


def _keys(config: Config, stage: str) -> dict[str, Key]:
    return run_keys(config.training.seed)[stage]


class Context:
    """The run folder, the config, and the trained model and task (loaded on first use)."""

    def __init__(self, config: Config, run_dir: Path, progress: bool):
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        self._task = self._model = None

    @property
    def task(self) -> tasks.AbstractTask:
        if self._task is None:
            self._task = self.config.task.build()
        return self._task

    @property
    def model(self) -> models.AbstractNetwork:
        if self._model is None:
            self._model = io.load(self.run_dir / "model.eqx")
        return self._model

    def rollout(self, stage: str, n_trials: int) -> tuple[tasks.Trials, models.Rollout]:
        keys = _keys(self.config, stage)
        trials = self.task.sample(keys["trials"], n_trials)
        return trials, self.model.simulate(trials.inputs, key=keys["noise"])


# ---------------------------------------------------------------- training
def _member_history(history: train.History, i: int) -> dict[str, Any]:
    d = {}
    for f in dataclasses.fields(history):
        v = getattr(history, f.name)
        per_member = ("loss", "val_loss", "val_accuracy", "best_step", "stop_reason",
                      "initial_val_loss", "initial_val_accuracy")
        if f.name in per_member and v is not None:
            v = np.asarray(v)[i]
        d[f.name] = v
    h = type(history)(**d)
    out = h.to_dict()
    out["best_step"] = int(np.asarray(h.best_step))
    out["stop_reason"] = str(h.stop_reason)
    return out


def train_members(configs: list[Config], run_dirs: list[Path], *, progress: bool,
                  on_trained: Callable[[int, float], None] | None = None) -> None:
    """Train one network per config (configs that differ only in the seed) together with
    `neurodyn.train.fit_ensemble`, and write each member's `model.eqx` and `history.json`.
    `on_trained(i, seconds)` is called after member i's files are written."""
    c0 = configs[0]
    task = c0.task.build()
    t = c0.training
    keys = jnp.stack([run_keys(c.training.seed)["train"] for c in configs])

    def make_model(k):
        return c0.model.build(task.n_inputs, task.n_outputs, key=k)

    start = time.perf_counter()
    result = train.fit_ensemble(
        make_model, task, keys=keys, steps=t.steps, batch_size=t.batch_size,
        learning_rate=t.learning_rate, clip_norm=t.clip_norm,
        eval_every=min(t.eval_every, t.steps), val_trials=t.val_trials,
        early_stop=t.early_stop, keep_best=t.keep_best, progress=progress,
    )
    seconds = time.perf_counter() - start
    for i, (c, d) in enumerate(zip(configs, run_dirs)):
        model = train.member(result.model, i)
        io.save(Path(d) / "model.eqx", model, seed=c.training.seed,
                metadata={"task": c.task.to_dict(), "run": c.name})
        hist = _member_history(result.history, i)
        hist["train_seconds"] = seconds
        hist["n_members_trained_together"] = len(configs)
        _files.write_json(Path(d) / "history.json", hist)
        if on_trained is not None:
            on_trained(i, seconds)


def history_object(run_dir: Path) -> train.History:
    """The saved training history as a `neurodyn.train.History` (for plotting)."""
    d = json.loads((Path(run_dir) / "history.json").read_text())
    fields = {f.name for f in dataclasses.fields(train.History)}
    return train.History(**{k: np.asarray(v) if isinstance(v, list) else v
                      for k, v in d.items() if k in fields})


# ---------------------------------------------------------------- analyses
def performance(ctx: Context) -> tuple[list[str], dict]:
    """Held-out accuracy, the psychometric curve (tasks with a coherence), and a figure."""
    cfg = ctx.config.analyses.performance
    trials, roll = ctx.rollout("performance", cfg.n_trials)
    score = ctx.task.evaluate(roll.outputs, trials)
    summary: dict[str, Any] = {"accuracy": float(score.accuracy), "n_trials": cfg.n_trials}
    curve = linthresh = None
    if "coherence" in trials.conditions and cfg.psychometric_repeats:
        curve, linthresh = _psychometric_grid(ctx, cfg.psychometric_repeats)
    elif "coherence" in trials.conditions:
        curve = tasks.psychometric(score.choice, trials.conditions["coherence"])
    if curve is not None:
        summary["psychometric"] = {k: np.asarray(v).tolist()
                                   for k, v in curve.to_dict().items()}
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
    plot.plot_loss(history_object(ctx.run_dir), ax=axes[0])
    axes[0].set_title(f"{ctx.config.task.name}: training")
    if curve is not None:
        plot.psychometric(curve, ax=axes[1])
        if linthresh is not None:
            axes[1].set_xscale("symlog", linthresh=linthresh)
    else:
        axes[1].set_axis_off()
    axes[1].set_title(f"held-out accuracy {summary['accuracy']:.3f}")
    files = _files.save_figure(fig, ctx.run_dir / "performance")
    _files.write_json(ctx.run_dir / "performance.json", summary)
    return ["performance.json", *files], summary


def _psychometric_grid(ctx: Context, repeats: int) -> tuple[tasks.PsychometricCurve, float]:
    """The psychometric curve from `repeats` trials at each of 17 coherences, finer near zero,
    out to the task's largest coherence; and the linear range of the symlog axis it needs."""
    keys = _keys(ctx.config, "performance")
    top = float(max(np.abs(ctx.task.coherences)))
    half = top * np.array([0.00625, 0.0125, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
    coherences = np.concatenate([-half[::-1], [0.0], half])
    grid = ctx.task.conditions(keys["grid_trials"], repeats=repeats, coherences=coherences)
    roll = ctx.model.simulate(grid.inputs, key=keys["grid_noise"])
    choice = ctx.task.evaluate(roll.outputs, grid).choice
    return tasks.psychometric(choice, grid.conditions["coherence"]), top * 0.0125


def fixed_points(ctx: Context) -> tuple[list[str], dict]:
    """Fixed points at zero input from visited states; saved as `fixedpoints.eqx`."""
    cfg = ctx.config.analyses.fixed_points
    trials, roll = ctx.rollout("fixed_points", cfg.n_trials)
    x0 = fixedpoints.sample_states(roll, cfg.n_initial,
                                   key=_keys(ctx.config, "fixed_points")["starts"],
                                   noise_scale=cfg.noise_scale)
    fps = fixedpoints.find(ctx.model, x0, None, max_steps=cfg.max_steps, tol_q=cfg.tol_q,
                           progress=ctx.progress)
    io.save(ctx.run_dir / "fixedpoints.eqx", fps, seed=ctx.config.training.seed)
    n = fps.n_points
    stable = np.asarray(fps.stable) if n else np.zeros(0, bool)
    n_unstable = np.asarray(fps.n_unstable) if n else np.zeros(0, int)
    summary = {
        "n_points": int(n), "n_stable": int(stable.sum()),
        "n_unstable_modes": n_unstable.tolist(),
        "max_q": float(np.max(np.asarray(fps.q))) if n else None,
        "leading_eigenvalue_modulus": (np.abs(np.asarray(fps.eigenvalues)[:, 0]).tolist()
                                       if n else []),
    }
    files = ["fixedpoints.eqx", "fixedpoints.json"]
    if n:
        fig = plt.figure(figsize=(8, 3.6), layout="constrained")
        ax1 = fig.add_subplot(1, 2, 1, projection="3d" if ctx.model.n_neurons >= 3 else None)
        plot.plot_fixed_points(fps, roll, ax=ax1)
        plot.plot_eigenvalues(fps, ax=fig.add_subplot(1, 2, 2))
        files += _files.save_figure(fig, ctx.run_dir / "fixed_points")
    _files.write_json(ctx.run_dir / "fixedpoints.json", summary)
    return files, summary


def lowrank(ctx: Context) -> tuple[list[str], dict]:
    """Connectivity overlaps, the eigenvalues of nᵀm/N, loadings and the latent flow field."""
    cfg = ctx.config.analyses.lowrank
    model = ctx.model
    if ctx.config.model.type != "LowRankRNN":
        summary = {"applicable": False, "reason": "the model is not a LowRankRNN"}
        _files.write_json(ctx.run_dir / "lowrank.json", summary)
        return ["lowrank.json"], summary
    ov = lr.overlap_matrix(model)
    m, n = np.asarray(model.m, np.float64), np.asarray(model.n, np.float64)
    eig = np.linalg.eigvals(n.T @ m / model.n_neurons)
    summary = {
        "applicable": True, "overlap_names": list(ov.names),
        "overlaps": np.asarray(ov.matrix).tolist(),
        "eigenvalues_nm": {"real": eig.real.tolist(), "imag": eig.imag.tolist()},
    }
    files = ["lowrank.json"]
    axes = plot.plot_loadings(lr.loadings(model))
    files += _files.save_figure(np.atleast_1d(axes).flat[0].figure, ctx.run_dir / "loadings")
    can_flow = model.rank == 2 or (model.rank == 1 and model.n_inputs >= 1)
    if cfg.flow_field and can_flow:
        flow = _latent_flow(model, cfg.resolution)
        summary["flow_field_fixed_points"] = np.asarray(flow.points).tolist()
        _, ax = plt.subplots(figsize=(4.5, 3.8), layout="constrained")
        plot.plot_flow_field(flow, ax=ax)
        files += _files.save_figure(ax.figure, ctx.run_dir / "flow_field")
    _files.write_json(ctx.run_dir / "lowrank.json", summary)
    return files, summary


def _latent_flow(model: models.LowRankRNN, resolution: int) -> fixedpoints.FlowField:
    """The latent flow field (1/ms) at zero input on the (κ1, κ2) plane (rank 2) or the
    (κ1, v1) plane (rank 1), with the mean-field fixed points and their kinds, on ±1.3 times
    the mean-field radius (v1 on ±1)."""
    system = lr.latent(model)
    rank = system.rank
    u = np.zeros(system.n_inputs, system.dtype)
    fps = lr.meanfield.fixed_points(system, jnp.asarray(u))
    r = 1.3 * lr.meanfield.default_radius(system)
    flow = fixedpoints.flow_field(
        system, jnp.asarray(u), xlim=(-r, r), ylim=(-r, r) if rank == 2 else (-1.0, 1.0),
        axes=(0, 1), state=np.zeros(rank + system.n_inputs, system.dtype), fixed_points=fps,
        labels=("κ1", "κ2") if rank == 2 else ("κ1", "v1"), resolution=resolution,
        dynamics="continuous")
    return flow._replace(kinds=lr.meanfield.classify(system, fps).kinds, u=u)


def dpad(ctx: Context) -> tuple[list[str], dict]:
    """PSID / DPAD fitted to the network's states (y) and outputs (z) on the first three
    quarters of the trials, scored on the rest; each fit saved as `<method>.eqx` (LatentFit)."""
    cfg = ctx.config.analyses.dpad
    trials, roll = ctx.rollout("dpad", cfg.n_trials)
    y = np.asarray(roll.states, np.float64)
    z = np.asarray(roll.outputs, np.float64)
    n_test = max(1, cfg.n_trials // 4)
    y_tr, z_tr, y_te, z_te = y[:-n_test], z[:-n_test], y[-n_test:], z[-n_test:]
    summary: dict = {"n_train_trials": len(y_tr), "n_test_trials": n_test, "nx": cfg.nx,
                     "n1": cfg.n1}
    files, fits = [], {}
    for method in cfg.methods:  # only DPAD draws random numbers (its initialisations)
        if method == "psid":
            model = dp.PSID(cfg.nx, cfg.n1, cfg.horizon).fit(list(y_tr), list(z_tr))
        else:
            nonlinear = None if cfg.nonlinear == "none" else cfg.nonlinear
            model = dp.DPAD(cfg.nx, cfg.n1, nonlinear=nonlinear, hidden=cfg.hidden,
                            max_epochs=cfg.max_epochs, n_init=cfg.n_init).fit(
                list(y_tr), list(z_tr), key=_keys(ctx.config, "dpad")["fit"])
        z_hat, _, x = model.predict_trials(list(y_te))
        score = model.score(list(y_te), list(z_te))
        summary[method] = {k: float(v) for k, v in score._asdict().items()
                           if v is not None and np.ndim(v) == 0}
        fit = LatentFit(np.stack(x).astype(np.float32), z_te.astype(np.float32),
                        np.stack(z_hat).astype(np.float32), method, cfg.nx, cfg.n1)
        io.save(ctx.run_dir / f"{method}.eqx", fit, seed=ctx.config.training.seed)
        files.append(f"{method}.eqx")
        fits[method] = fit
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
    plot.plot_model_comparison({m: summary[m]["cc"] for m in cfg.methods}, ax=axes[0])
    for j, (m, fit) in enumerate(fits.items()):
        pred = np.asarray(fit.prediction[0])
        if j == 0:  # the behaviour once, then each method's prediction of it
            plot.plot_prediction(np.asarray(fit.behaviour[0]), pred, ax=axes[1],
                                 dt=ctx.task.dt, label=m.upper())
        else:
            axes[1].plot(np.arange(len(pred)) * ctx.task.dt / 1000.0, pred[:, 0],
                         color=f"C{3 + j}", lw=1.0, label=m.upper())
            axes[1].legend(frameon=False)
    axes[0].set_title(f"behaviour (output) from states, nx={cfg.nx}, n1={cfg.n1}")
    files += _files.save_figure(fig, ctx.run_dir / "dpad")
    _files.write_json(ctx.run_dir / "dpad.json", summary)
    return ["dpad.json", *files], summary


ANALYSES = {"performance": performance, "fixed_points": fixed_points, "lowrank": lowrank,
            "dpad": dpad}
