"""The stages of a `[data]` run: read and preprocess the recording, decode behaviour from it
(PSID, IPSID, DPAD), fit low-rank RNNs to it (LINT); each writes its files into the run folder
and returns their names and a JSON summary, as `_stages` does for a trained network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from .. import data as nd_data, dpad as dp, fixedpoints, io, lowrank as lr, plot
from . import _files
from ._config import Config, ConfigError
from ._stages import _latent_flow

DATA_STAGES = ("recording", "decoding", "lint")
DECODERS = ("psid", "ipsid", "dpad")
# Keys of a [data] run, all split from jax.random.key(seed): the held-out trials, DPAD's
# initialisations, LINT's fits, and the fixed-point finders' starting states.
DATA_KEYS = ("split", "dpad", "lint", "starts")


def data_keys(seed: int) -> dict[str, Any]:
    """Every key a [data] run of `seed` uses."""
    return dict(zip(DATA_KEYS, jax.random.split(jax.random.key(seed), len(DATA_KEYS))))


def enabled(config: Config) -> list[str]:
    """The stages a [data] config runs, in order."""
    a = config.data.analyses
    return ["recording"] + (["decoding"] if any(m in a for m in DECODERS) else []) + (
        ["lint"] if "lint" in a else [])


def stage_parts(config: Config, stage: str) -> dict:
    """What `stage` depends on (for its hash): [data], and the [analyses] tables it reads."""
    parts = config.part("data")
    if stage == "decoding":
        parts.update(config.part("analyses.dpad", "analyses.fixed_points"))
    if stage == "lint":
        parts.update(config.part("analyses.fixed_points", "analyses.lowrank"))
    return parts


def load_recording(config: Config) -> nd_data.Recording:
    """Read, bin, smooth and align the recording as `[data]` says (errors name the key)."""
    d = config.data
    try:
        if d.file_format() == "nwb":
            rec = nd_data.read_nwb(d.path, neural=d.neural, bin_ms=d.bin_ms,
                                   behaviour=list(d.behaviour) or None,
                                   inputs=list(d.inputs) or None)
        else:
            rec = nd_data.read_npz(d.path)
            if d.bin_ms is not None:
                factor = d.bin_ms / rec.dt
                if abs(factor - round(factor)) > 1e-9 or round(factor) < 1:
                    raise ValueError(f"data.bin_ms: {d.bin_ms:g} ms is not a whole number of "
                                     f"the file's {rec.dt:g} ms samples")
                rec = rec.binned(int(round(factor)))
    except FileNotFoundError as err:
        raise ConfigError(f"data.path: {err}") from None
    except (ValueError, ImportError) as err:
        raise ConfigError(f"[data] ({d.path}): {err}") from None
    if d.smooth_ms > 0:
        rec = rec.smoothed(d.smooth_ms, causal=d.causal)
    if d.align is not None:
        try:
            rec = rec.aligned(d.align, before=d.before_ms, after=d.after_ms)
        except ValueError as err:
            raise ConfigError(f"data.align: {err}") from None
    if rec.z is None and any(m in d.analyses for m in DECODERS):
        raise ConfigError("data.behaviour: decoding (psid/ipsid/dpad) needs behaviour; name "
                          "its TimeSeries (or store z in the .npz file)")
    if rec.u is None and any(m in d.analyses for m in ("ipsid", "lint")):
        raise ConfigError("data.inputs: ipsid and lint need measured inputs (u)")
    if d.condition is not None and (rec.conditions is None or
                                    d.condition not in rec.conditions):
        have = [] if rec.conditions is None else list(rec.conditions)
        raise ConfigError(f"data.condition: the recording's trials have no condition "
                          f"{d.condition!r}; they have {have}")
    return rec


def split(config: Config, n_trials: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) trial indices: a random `test_fraction` held out (seeded)."""
    n_test = int(round(config.data.test_fraction * n_trials))
    if n_test < 1 or n_test >= n_trials:
        raise ConfigError(f"data.test_fraction: {config.data.test_fraction} of {n_trials} "
                          "trials leaves no training or no held-out trial")
    perm = np.asarray(jax.random.permutation(data_keys(config.data.seed)["split"], n_trials))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


class DataContext:
    """The run folder, the config, and the preprocessed recording (read on first use)."""

    def __init__(self, config: Config, run_dir: Path, progress: bool):
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        self._recording = None

    @property
    def recording(self) -> nd_data.Recording:
        if self._recording is None:
            path = self.run_dir / "recording.npz"
            self._recording = (nd_data.read_npz(path) if path.is_file()
                               else load_recording(self.config))
        return self._recording


def recording(ctx: DataContext) -> tuple[list[str], dict]:
    """The preprocessed recording as recording.npz, a summary and a figure of it."""
    rec = load_recording(ctx.config)
    ctx._recording = rec
    nd_data.save_npz(ctx.run_dir / "recording.npz", rec)
    d = ctx.config.data
    summary = {"path": d.path, "n_trials": rec.n_trials, "n_channels": rec.n_channels,
               "n_behaviour": rec.n_behaviour, "n_inputs": rec.n_inputs, "dt_ms": rec.dt,
               "lengths": sorted(set(rec.lengths.tolist())),
               "conditions": [] if rec.conditions is None else list(rec.conditions)}
    files = ["recording.npz", "recording.json"]
    if len(summary["lengths"]) == 1:
        avg = rec.average(d.condition)
        signals = [s for s in ("y", "z", "u") if getattr(rec, s) is not None]
        fig, axes = plt.subplots(1, len(signals), figsize=(3.6 * len(signals), 3),
                                 layout="constrained", squeeze=False)
        for ax, s in zip(axes[0], signals):
            plot.plot_conditions(avg, ax=ax, signal=s, condition=d.condition,
                                 channel=None if s == "y" else 0)
        files += _files.save_figure(fig, ctx.run_dir / "recording")
    _files.write_json(ctx.run_dir / "recording.json", summary)
    return files, summary


def _fixed_point_summary(fps: fixedpoints.FixedPoints) -> dict:
    n = int(fps.n_points)
    return {"n_points": n,
            "n_stable": int(np.asarray(fps.stable).sum()) if n else 0,
            "leading_eigenvalue_modulus": (np.abs(np.asarray(fps.eigenvalues)[:, 0]).tolist()
                                           if n else [])}


def _decoder_fixed_points(ctx, model, x, rec, train, key) -> fixedpoints.FixedPoints:
    """Fixed points of a fitted model's latent recursion with the neural input held at its
    mean over the training trials and no stimulus (u = 0)."""
    cfg = ctx.config.analyses.fixed_points
    system = model.as_system()
    y_mean = np.concatenate([rec.y[i] for i in train]).mean(axis=0)
    inputs = np.concatenate([y_mean, np.zeros(system.n_inputs - y_mean.size)])
    x0 = fixedpoints.sample_states(jnp.asarray(np.concatenate(x), jnp.float32),
                                   cfg.n_initial, key=key)
    return fixedpoints.find(system, x0, jnp.asarray(inputs, x0.dtype), max_steps=cfg.max_steps,
                            tol_q=cfg.tol_q, progress=False)


def decoding(ctx: DataContext) -> tuple[list[str], dict]:
    """PSID (neural data only), IPSID (with the measured inputs) and DPAD (with them, when the
    recording has inputs) fitted on the training trials, behaviour scored on the held-out
    ones; the fixed points of each fitted model."""
    rec, cfg = ctx.recording, ctx.config.analyses.dpad
    methods = [m for m in DECODERS if m in ctx.config.data.analyses]
    train, test = split(ctx.config, rec.n_trials)
    y, z = rec.arrays()
    u = rec.inputs()

    def part(arrays, idx):
        return None if arrays is None else [arrays[i] for i in idx]

    keys = data_keys(ctx.config.data.seed)
    summary: dict = {"nx": cfg.nx, "n1": cfg.n1, "n_train_trials": len(train),
                     "n_test_trials": len(test)}
    files: list[str] = []
    preds = {}
    for method in methods:
        uu = None if method == "psid" else u
        if method == "dpad":
            model = dp.DPAD(cfg.nx, cfg.n1,
                            nonlinear=None if cfg.nonlinear == "none" else cfg.nonlinear,
                            hidden=cfg.hidden, max_epochs=cfg.max_epochs, n_init=cfg.n_init,
                            neural=ctx.config.data.dpad_neural)
            model.fit(part(y, train), part(z, train), part(uu, train), key=keys["dpad"])
        else:
            model = dp.PSID(cfg.nx, cfg.n1, cfg.horizon, zscore=True)
            model.fit(part(y, train), part(z, train), part(uu, train))
        score = model.score(part(y, test), part(z, test), part(uu, test))
        z_hat, _, x = model.predict_trials(part(y, test), part(uu, test))
        fps = _decoder_fixed_points(ctx, model, x, rec, train, keys["starts"])
        summary[method] = {"inputs": uu is not None, "fixed_points": _fixed_point_summary(fps),
                           **{k: float(v) for k, v in score._asdict().items()
                              if v is not None and np.ndim(v) == 0}}
        io.save(ctx.run_dir / f"{method}_fixedpoints.eqx", fps, seed=ctx.config.data.seed)
        files.append(f"{method}_fixedpoints.eqx")
        preds[method] = z_hat[0]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
    plot.plot_model_comparison({m.upper(): summary[m]["cc"] for m in methods}, ax=axes[0])
    axes[0].set_title(f"behaviour from activity, held-out trials (nx={cfg.nx}, n1={cfg.n1})",
                      fontsize=9)
    t = rec.t_start + np.arange(len(z[test[0]])) * rec.dt / 1000.0
    axes[1].plot(t, z[test[0]][:, 0], color="k", lw=1.2, label="behaviour")
    for j, (m, p) in enumerate(preds.items()):
        axes[1].plot(t, np.asarray(p)[:, 0], color=f"C{j}", lw=1.0, label=m.upper())
    axes[1].set(xlabel="time (s)", ylabel=(rec.behaviour_names or ["z"])[0],
                title=f"held-out trial {int(test[0])}")
    axes[1].legend(frameon=False, fontsize=7)
    files += _files.save_figure(fig, ctx.run_dir / "decoding")
    _files.write_json(ctx.run_dir / "decoding.json", summary)
    return ["decoding.json", *files], summary


def lint(ctx: DataContext) -> tuple[list[str], dict]:
    """Low-rank RNNs fitted to the z-scored activity given the inputs at each rank (LINT), the
    rank chosen on the held-out trials; the chosen network's latent flow field and fixed
    points."""
    rec, d = ctx.recording, ctx.config.data
    c = d.lint
    if len(set(rec.lengths.tolist())) != 1:
        raise ConfigError("data.after_ms: LINT needs trials of one length; align with a fixed "
                          "window (data.align with data.after_ms)")
    if c.average:
        rec = rec.average(d.condition)
    y = np.stack(rec.y).astype(np.float64)
    mean, std = y.mean(axis=(0, 1)), y.std(axis=(0, 1))
    activity = (y - mean) / np.where(std > 0, std, 1.0)
    inputs = np.stack(rec.u).astype(np.float64)
    test = split(ctx.config, rec.n_trials)[1]
    keys = data_keys(d.seed)
    too_big = [r for r in c.ranks if r > activity.shape[-1]]
    if too_big:
        raise ConfigError(f"data.lint.ranks: rank {too_big[0]} is larger than the recording's "
                          f"{activity.shape[-1]} units")
    ranks = list(c.ranks)
    sweep = lr.fit_activity_ranks(
        activity, inputs, ranks, key=keys["lint"], test_trials=test.tolist(), tolerance=c.tolerance,
        steps=c.steps, learning_rate=c.learning_rate, batch_size=c.batch_size,
        n_neurons=c.n_neurons, readout=c.readout, tau=c.tau, dt=rec.dt,
        progress=ctx.progress)
    fit = sweep.fits[list(sweep.ranks).index(sweep.chosen_rank)]
    model = fit.model
    io.save(ctx.run_dir / "lint.eqx", model, seed=d.seed)
    summary: dict = {"ranks": sweep.ranks.tolist(), "r2_train": sweep.r2_train.tolist(),
                     "r2_test": sweep.r2_test.tolist(), "chosen_rank": sweep.chosen_rank,
                     "readout": fit.readout.kind, "n_neurons": model.n_neurons,
                     "averaged": c.average}
    files = ["lint.eqx"]
    _, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    plot.plot_activity_ranks(sweep, ax=ax)
    files += _files.save_figure(ax.figure, ctx.run_dir / "lint_ranks")
    roll = model.simulate(jnp.asarray(inputs, model.m.dtype), key=keys["starts"])
    cfg = ctx.config.analyses.fixed_points
    x0 = fixedpoints.sample_states(roll, cfg.n_initial, key=keys["starts"])
    fps = fixedpoints.find(model, x0, None, max_steps=cfg.max_steps, tol_q=cfg.tol_q,
                           progress=False)
    io.save(ctx.run_dir / "lint_fixedpoints.eqx", fps, seed=d.seed)
    summary["fixed_points"] = _fixed_point_summary(fps)
    files.append("lint_fixedpoints.eqx")
    fig = plt.figure(figsize=(8, 3.4), layout="constrained")
    if model.rank == 2 or (model.rank == 1 and model.n_inputs >= 1):
        flow = _latent_flow(model, ctx.config.analyses.lowrank.resolution)
        summary["flow_field_fixed_points"] = np.asarray(flow.points).tolist()
        plot.plot_flow_field(flow, ax=fig.add_subplot(1, 2, 1))
    if fps.n_points:
        ax = fig.add_subplot(1, 2, 2, projection="3d" if model.n_neurons >= 3 else None)
        plot.plot_fixed_points(fps, roll, ax=ax)
    files += _files.save_figure(fig, ctx.run_dir / "lint_dynamics")
    _files.write_json(ctx.run_dir / "lint.json", summary)
    return ["lint.json", *files], summary


DATA_ANALYSES = {"recording": recording, "decoding": decoding, "lint": lint}
