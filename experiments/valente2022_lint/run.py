"""Valente, Pillow & Ostojic 2022 (NeurIPS): LINT — low-rank RNNs fitted to the activity of
full-rank "teacher" networks trained on a task (their Fig. 2 and SI Fig. 1).

For each task: full-rank teachers (`FullRankRNN`, recurrent noise as in the paper) are trained
on the task; their noisy rates on `n_trials` trials are the recording. Then, rank by rank:

(a) SVD truncation: the teacher's J cut to its `r` largest singular values (`lowrank.truncate`),
    its noise-free rates on the held-out trials scored against the teacher's activity (R²);
    also the paper's own definition (states x instead of rates, one pooled mean) and the
    truncated network's task accuracy (`lowrank.truncation_curve`);
(b) LINT students (`lowrank.fit_activity_ranks`, the paper's "rates" readout: unit i of the
    student is unit i of the teacher) fitted on the training trials, scored by the R² of the
    held-out trials;
(c) each student read out through the *teacher's* readout (same units, so the teacher's
    w_out applies unchanged) and run on fresh trials with the teacher's noise: task accuracy.

R² is `lowrank.explained_variance` (per-unit means; never above the paper's pooled-mean R²).
Published values: means over the authors' 10 teachers (3 students per rank for the context
task, 1 for DMS) in the result files of their code (lowrank_inference: data/
mante_many_result.npz; data/dms_many_result_3.npz, the rho = 1.2 DMS batch); the context R²s
are the ones quoted in Fig. 2.

    python experiments/valente2022_lint/run.py --config small|paper [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import lowrank as lr  # noqa: E402

KEYS = dict(seed=int, ranks=list, n_teachers=int, n_trials=int, test_fraction=float,
            n_eval_trials=int, tasks=dict)
TASK_KEYS = dict(task=str, n_neurons=int, rho=float, noise_std=float, teacher_steps=int,
                 teacher_learning_rate=float, lint_steps=int, lint_learning_rate=float,
                 lint_batch_size=int)
TEACHER_TRAIN = ("J", "input_vectors", "input_gains", "output_vectors", "output_gains")

# Means over the authors' teachers, from their published result files (see the docstring).
PUBLISHED = {
    "ContextDecisionMaking": dict(
        source="Valente et al. 2022 Fig. 2 (N = 1024, 10 teachers × 3 students)",
        teacher_accuracy=1.0,
        trunc_r2=[0.03, 0.49, 0.79, 0.92, 0.98], trunc_accuracy=[0.68, 0.77, 0.92, 0.97, 1.00],
        lint_r2=[0.92, 0.95, 0.96, 0.97, 0.97], lint_accuracy=[1.00, 1.00, 1.00, 1.00, 1.00]),
    "DelayMatchSample": dict(
        source="Valente et al. 2022 SI Fig. 1 (N = 512, rho 1.2, 10 teachers)",
        teacher_accuracy=1.0,
        trunc_r2=[-0.48, -0.46, -0.50, -0.47, -0.47], trunc_accuracy=[0.51] * 5,
        lint_r2=[0.50, 0.94, 0.96, 0.97, 0.97], lint_accuracy=[0.76, 1.00, 1.00, 1.00, 1.00]),
}


def check(cfg: dict) -> dict:
    """The study's config, checked: one clear error naming a bad key or value."""
    cfg = C.require(cfg, KEYS)
    for name, tcfg in cfg["tasks"].items():
        C.require(tcfg, TASK_KEYS)
        if tcfg["task"] not in nd.tasks.names():
            raise ValueError(f"tasks.{name}.task must be one of {nd.tasks.names()}, "
                             f"got {tcfg['task']!r}")
    if not cfg["ranks"] or any(isinstance(r, bool) or not isinstance(r, int) or r < 1
                               for r in cfg["ranks"]):
        raise ValueError(f"ranks must be a non-empty list of positive ints, got {cfg['ranks']}")
    return cfg


def train_teacher(task, tcfg: dict, seed: int):
    """A full-rank network trained on `task` (the paper: inputs and readout trained too)."""
    net = nd.models.FullRankRNN(tcfg["n_neurons"], task.n_inputs, task.n_outputs,
                                noise_std=tcfg["noise_std"], rho=tcfg["rho"],
                                train=TEACHER_TRAIN, key=C.key(seed, 0))
    fit = nd.train.fit(net, task, key=C.key(seed, 1), steps=tcfg["teacher_steps"],
                       learning_rate=tcfg["teacher_learning_rate"], progress=False)
    return fit.model


def with_readout(student, teacher, noise_std: float):
    """The student's recurrent network with the teacher's readout: its units are the teacher's
    units, so the teacher's w_out (and gains) read out the same choice."""
    net = nd.models.LowRankRNN(student.n_neurons, student.rank, teacher.n_inputs,
                               teacher.n_outputs, tau=teacher.tau, dt=teacher.dt,
                               noise_std=noise_std, nonlinearity=teacher.nonlinearity,
                               key=jax.random.key(0))
    return eqx.tree_at(lambda x: (x.m, x.n, x.w_in, x.g_in, x.w_out, x.g_out), net,
                       (student.m, student.n, student.w_in, student.g_in, teacher.w_out,
                        teacher.g_out))


def pooled_r2(a, p) -> float:
    """The R² of the paper's code: one mean over all units, trials and time."""
    a, p = np.asarray(a, np.float64).ravel(), np.asarray(p, np.float64).ravel()
    return float(1 - np.sum((a - p) ** 2) / np.sum((a - a.mean()) ** 2))


def one_teacher(task, tcfg: dict, cfg: dict, seed: int) -> dict:
    """Teacher → truncations and LINT students, all ranks (a JSON-able dict)."""
    ranks = [int(r) for r in cfg["ranks"]]
    teacher = train_teacher(task, tcfg, seed)
    trials = task.sample(C.key(seed, 2), cfg["n_trials"])
    u = np.asarray(trials.inputs)
    x = np.asarray(teacher.simulate(u, key=C.key(seed, 3)).states)  # with recurrent noise
    activity = np.asarray(teacher.phi(x))
    sweep = lr.fit_activity_ranks(
        activity, u, ranks, key=C.key(seed, 4), test_fraction=cfg["test_fraction"],
        readout="rates", steps=tcfg["lint_steps"], learning_rate=tcfg["lint_learning_rate"],
        batch_size=tcfg["lint_batch_size"], tau=teacher.tau, dt=teacher.dt,
        nonlinearity=teacher.nonlinearity, progress=False)
    test = sweep.test_trials
    k_eval = C.key(seed, 5)
    n_eval = cfg["n_eval_trials"]
    teacher_acc = float(lr.accuracy(teacher, task, key=k_eval, n_trials=n_eval))
    trunc_acc = lr.truncation_curve(teacher, task, ranks, key=k_eval, n_trials=n_eval).accuracy
    trunc_r2, trunc_r2_x, lint_acc = [], [], []
    for r, fit in zip(ranks, sweep.fits):
        low = lr.truncate(teacher, r)
        xt = np.asarray(low.simulate(u[test], key=None, noise=False).states)
        trunc_r2.append(float(lr.explained_variance(activity[test], np.asarray(low.phi(xt)))))
        trunc_r2_x.append(pooled_r2(x[test], xt))
        student = with_readout(fit.model, teacher, teacher.noise_std)
        lint_acc.append(float(lr.accuracy(student, task, key=k_eval, n_trials=n_eval)))
    return dict(teacher_accuracy=teacher_acc, trunc_r2=trunc_r2, trunc_r2_states=trunc_r2_x,
                trunc_accuracy=np.asarray(trunc_acc).tolist(), lint_r2=sweep.r2_test.tolist(),
                lint_r2_train=sweep.r2_train.tolist(), lint_accuracy=lint_acc,
                chosen_rank=sweep.chosen_rank,
                best_step=[int(f.history.best_step) for f in sweep.fits])


def study_task(name: str, tcfg: dict, cfg: dict, index: int) -> dict:
    """All teachers of one task (each teacher a resumable part)."""
    task = nd.tasks.make(tcfg["task"])
    runs = []
    for i in range(cfg["n_teachers"]):
        seed = cfg["seed"] + 1000 * index + i
        inputs = dict(task=tcfg, seed=seed, ranks=cfg["ranks"], n_trials=cfg["n_trials"],
                      test_fraction=cfg["test_fraction"], n_eval_trials=cfg["n_eval_trials"])
        runs.append(C.cached(f"{name}-teacher{i}", inputs,
                             lambda s=seed: one_teacher(task, tcfg, cfg, s)))
    out = {k: np.asarray([r[k] for r in runs], float).tolist()
           for k in ("teacher_accuracy", "trunc_r2", "trunc_r2_states", "trunc_accuracy",
                     "lint_r2", "lint_r2_train", "lint_accuracy")}
    out["chosen_rank"] = [int(r["chosen_rank"]) for r in runs]
    acc = np.asarray(out["lint_accuracy"]).mean(0)
    good = [r for r, a in zip(cfg["ranks"], acc) if a >= 0.9]
    out.update(name=name, task=tcfg["task"], n_neurons=tcfg["n_neurons"],
               minimal_student_rank=int(min(good)) if good else None)
    return out


def rows_for(d: dict, ranks) -> list:
    """The table rows of one task: measured (mean [min–max] over teachers) beside published."""
    pub = PUBLISHED.get(d["task"], {})
    src = pub.get("source", "no published number (task not in the paper)")

    def published(key, i):
        vals = pub.get(key)
        return f"{vals[i]:.2f}" if vals and i < len(vals) else "–"

    label = f"{d['name']} ({d['task']}, N = {d['n_neurons']})"
    rows = [C.Row(f"{label}: teacher accuracy", d["teacher_accuracy"],
                  pub.get("teacher_accuracy", "–"), src)]
    for i, r in enumerate(ranks):
        def col(k):
            return [v[i] for v in d[k]]  # over teachers

        rows += [
            C.Row(f"{label}: rank {r} SVD truncation R² (rates)", col("trunc_r2"),
                  published("trunc_r2", i), "published: states x, pooled mean"),
            C.Row(f"{label}: rank {r} SVD truncation R² (states, pooled mean)",
                  col("trunc_r2_states"), published("trunc_r2", i), "the paper's definition"),
            C.Row(f"{label}: rank {r} truncation accuracy", col("trunc_accuracy"),
                  published("trunc_accuracy", i)),
            C.Row(f"{label}: rank {r} LINT held-out R²", col("lint_r2"),
                  published("lint_r2", i), "rates"),
            C.Row(f"{label}: rank {r} LINT student accuracy (teacher's readout)",
                  col("lint_accuracy"), published("lint_accuracy", i)),
        ]
    minimal = {"ContextDecisionMaking": "1", "DelayMatchSample": "2"}.get(d["task"], "–")
    rows += [C.Row(f"{label}: rank chosen by the held-out sweep (per teacher)",
                   ", ".join(str(r) for r in d["chosen_rank"]), "–",
                   "smallest rank within 0.01 of the best held-out R²"),
             C.Row(f"{label}: lowest student rank with mean accuracy ≥ 0.9",
                   d["minimal_student_rank"], minimal)]
    return rows


def compute(cfg):
    """LINT teacher → student: SVD truncation vs fitted low-rank students (Valente 2022)."""
    cfg = check(cfg)
    ranks = [int(r) for r in cfg["ranks"]]
    results, rows = [], []
    for index, (name, tcfg) in enumerate(cfg["tasks"].items()):
        d = study_task(name, tcfg, cfg, index)
        results.append(d)
        rows += rows_for(d, ranks)
    return C.Study("LINT: low-rank RNNs fitted to the activity of full-rank teachers",
                   "Valente, Pillow & Ostojic 2022, NeurIPS", rows,
                   dict(ranks=ranks, tasks=results), figure(results, ranks))


def figure(results, ranks):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 2, figsize=(9, 3.4 * len(results)), squeeze=False)
    for (ax_r2, ax_acc), d in zip(axes, results):
        pub = PUBLISHED.get(d["task"], {})
        for key, ax, colour, label in (
                ("trunc_r2", ax_r2, "0.45", "SVD truncation (rates)"),
                ("trunc_r2_states", ax_r2, "0.75", "SVD truncation (states, paper's R²)"),
                ("lint_r2", ax_r2, "tab:red", "LINT (held-out)"),
                ("trunc_accuracy", ax_acc, "0.45", "SVD truncation"),
                ("lint_accuracy", ax_acc, "tab:red", "LINT student")):
            vals = np.asarray(d[key])
            for v in vals:
                ax.plot(ranks, v, "-", color=colour, lw=0.6, alpha=0.5)
            ax.plot(ranks, vals.mean(0), "o-", color=colour, lw=2, label=label)
            # the published truncation R² is the paper's definition (states, pooled mean)
            pkey = {"trunc_r2_states": "trunc_r2", "trunc_r2": None}.get(key, key)
            if pkey in pub:
                n = min(len(ranks), len(pub[pkey]))
                ax.plot(ranks[:n], pub[pkey][:n], "s:", color=colour, mfc="w",
                        label=f"{label}, published")
        low = min([-0.1, float(np.min(d["trunc_r2"])) - 0.05,
                   min(pub.get("trunc_r2", [0.0])) - 0.05])
        ax_r2.set(xlabel="rank", ylabel="R² of the teacher's activity",
                  ylim=(max(low, -1.0), 1.05),
                  title=f"{d['name']}: {d['task']}, N = {d['n_neurons']}")
        ax_acc.set(xlabel="rank", ylabel="task accuracy", ylim=(0.3, 1.05))
        ax_acc.axhline(0.5, color="k", lw=0.6, ls=":")
        for ax in (ax_r2, ax_acc):
            ax.legend(fontsize=7)
            ax.set_xticks(ranks)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    C.main(__file__, compute)
