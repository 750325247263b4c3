"""Dubreuil, Valente, Beiran, Mastrogiuseppe & Ostojic 2022 (Nat. Neurosci.): the minimal rank
of a low-rank RNN that solves each task, and whether networks redrawn from a Gaussian mixture fit
to the trained connectivity (one or two populations) still solve it.

For each task: train `n_seeds` LowRankRNNs at each rank (seeds vmapped, `lowrank.rank_sweep`),
report the smallest rank whose best seed reaches the accuracy `threshold` (a task with
`init = "full_rank"` instead follows the paper's route for delayed match-to-sample: full-rank
training with a delay curriculum, SVD truncation to each rank, fine-tuning); at that rank (or the
highest tried, if none reaches it) fit a 1- and/or 2-component mixture to each seed's per-neuron
loadings (`lowrank.fit_mixture`), draw `resamples` new networks of the same size
(`lowrank.resample`) and score them on fresh trials.

    python experiments/dubreuil2022/run.py --config small|paper [--out DIR]

`results/legacy_n256.json` holds an earlier run (N = 256, 3 seeds, ranks fixed at the published
minimal ranks) of the script this one replaces.
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

KEYS = dict(seed=int, n_neurons=int, n_seeds=int, n_trials=int, threshold=float,
            resamples=int, learning_rate=float, tasks=dict)
TASK_KEYS = dict(task=str, ranks=list, train=list, steps=int, populations=list)
# Dubreuil et al.'s route for delayed match-to-sample (their rank test for DMS): train a
# full-rank network with a curriculum (`stages`: task arguments, e.g. the delay range, one dict
# per stage, `full_rank_steps` each), truncate it to each rank by SVD, and fine-tune the
# low-rank networks through the same stages (`steps` each). Accuracy is always measured on the
# task's preset trials.
FULL_RANK_KEYS = dict(init=str, stages=list, full_rank_steps=int, full_rank_learning_rate=float)
FULL_RANK_TRAIN = ("J", "input_vectors", "input_gains", "output_vectors", "output_gains")

# Published (Dubreuil et al. 2022; 100 networks of N = 512 unless said otherwise).
PUBLISHED = {
    "PerceptualDecisionMaking": dict(rank=1, trained="1.000", pop1="0.9996 (min 0.98)"),
    "DelayComparison": dict(rank=2, trained="0.996", pop1="0.958 (median 0.98)"),
    "ContextDecisionMaking": dict(rank=1, trained="0.998", pop1="0.70 (0.28–0.83)",
                                  pop2="0.90–0.975 (N = 4096)"),
    "DelayMatchSample": dict(rank=2, trained="0.961 (median 1.0)", pop1="0.54 (0.24–0.82)"),
}


def with_train(model, train):
    """`model` with its trainable parameter groups replaced by `train`."""
    fresh = type(model)(**dict(model.hyperparameters(), train=tuple(train)), key=jax.random.key(0))
    fields = ("m", "n", "w_in", "g_in", "w_out", "g_out")
    return eqx.tree_at(lambda m: [getattr(m, f) for f in fields], fresh,
                       [getattr(model, f) for f in fields])


def via_full_rank(task, tcfg, cfg, index):
    """Per seed: a full-rank network trained through the curriculum, truncated to every rank
    and fine-tuned through it again. Returns (accuracy [ranks, seeds], networks per rank)."""
    stages = [nd.tasks.make(tcfg["task"], **{k: tuple(v) if isinstance(v, list) else v
                                             for k, v in stage.items()})
              for stage in tcfg["stages"]]
    ranks = [int(r) for r in tcfg["ranks"]]
    acc, nets = np.zeros((len(ranks), cfg["n_seeds"])), {r: [] for r in ranks}
    k_eval = C.key(cfg["seed"], index, 5)
    for i in range(cfg["n_seeds"]):
        k = C.key(cfg["seed"], index, 4, i)
        net = nd.models.FullRankRNN(cfg["n_neurons"], task.n_inputs, task.n_outputs,
                                    train=FULL_RANK_TRAIN, key=k)
        for s, stage in enumerate(stages):
            net = nd.train.fit(net, stage, key=jax.random.fold_in(k, 10 + s),
                               steps=tcfg["full_rank_steps"],
                               learning_rate=tcfg["full_rank_learning_rate"],
                               eval_every=tcfg["full_rank_steps"], progress=False).model
        for j, rank in enumerate(ranks):
            low = with_train(lr.truncate(net, rank), tcfg["train"])
            for s, stage in enumerate(stages):
                low = nd.train.fit(low, stage, key=jax.random.fold_in(k, 100 * rank + s),
                                   steps=tcfg["steps"], learning_rate=cfg["learning_rate"],
                                   eval_every=tcfg["steps"], progress=False).model
            acc[j, i] = lr.accuracy(low, task, key=k_eval, n_trials=cfg["n_trials"])
            nets[rank].append(low)
        print(f"[{tcfg['task']}] seed {i}: accuracy per rank {acc[:, i].round(3).tolist()}",
              flush=True)
    return acc, nets


def study_task(label, tcfg, cfg, index):
    tcfg = C.require(tcfg, TASK_KEYS, FULL_RANK_KEYS)
    task = nd.tasks.make(tcfg["task"])
    init = tcfg.get("init", "random")
    if init not in ("random", "full_rank"):
        raise ValueError(f"tasks.{label}.init must be 'random' or 'full_rank', got {init!r}")
    if init == "full_rank":
        missing = sorted(set(FULL_RANK_KEYS) - set(tcfg))
        if missing:
            raise ValueError(f"tasks.{label}: init = 'full_rank' needs {missing}")
        accuracy, nets = via_full_rank(task, tcfg, cfg, index)
        ranks = np.asarray(tcfg["ranks"])
    else:
        sweep = lr.rank_sweep(
            task, tuple(tcfg["ranks"]), key=C.key(cfg["seed"], index), n_seeds=cfg["n_seeds"],
            n_neurons=cfg["n_neurons"], steps=tcfg["steps"], threshold=cfg["threshold"],
            n_trials=cfg["n_trials"], model_kwargs=dict(train=tuple(tcfg["train"])),
            learning_rate=cfg["learning_rate"], eval_every=tcfg["steps"],
        )
        accuracy, ranks = sweep.accuracy, sweep.ranks
        nets = {int(r): [nd.train.member(m, i) for i in range(cfg["n_seeds"])]
                for r, m in zip(ranks, sweep.models)}
    solved = [int(r) for r, a in zip(ranks, accuracy) if np.max(a) >= cfg["threshold"]]
    minimal = solved[0] if solved else None
    at = minimal or int(ranks[-1])
    k_eval = C.key(cfg["seed"], index, 1)
    resampled = {}
    for n_pop in tcfg["populations"]:
        accs = []
        for i in range(cfg["n_seeds"]):
            mix = lr.fit_mixture(nets[at][i], n_pop,
                                 key=C.key(cfg["seed"], index, 2, n_pop, i))
            for j in range(cfg["resamples"]):
                new = lr.resample(mix, cfg["n_neurons"], key=C.key(cfg["seed"], index, 3, i, j))
                accs.append(lr.accuracy(new, task, key=k_eval, n_trials=cfg["n_trials"]))
        resampled[n_pop] = accs
    return dict(task=tcfg["task"], label=label, ranks=np.asarray(ranks).tolist(),
                accuracy=np.asarray(accuracy).tolist(), minimal_rank=minimal, init=init,
                analysed_rank=at, resampled={str(k): v for k, v in resampled.items()})


def compute(cfg):
    """Minimal rank and resampling accuracy per task (Dubreuil et al. 2022)."""
    cfg = C.require(cfg, KEYS)
    shared = {k: v for k, v in cfg.items() if k != "tasks"}
    results = [C.cached(label, dict(shared, index=i, task=tcfg),
                        lambda label=label, tcfg=tcfg, i=i: study_task(label, tcfg, cfg, i))
               for i, (label, tcfg) in enumerate(cfg["tasks"].items())]
    rows = []
    for r in results:
        pub = PUBLISHED.get(r["task"], {})
        name = f"{r['task']} (N = {cfg['n_neurons']})"
        for rank, acc in zip(r["ranks"], r["accuracy"]):
            how = (", full rank → SVD truncation → fine-tuned, delay curriculum"
                   if r.get("init") == "full_rank" else "")
            rows.append(C.Row(f"{name}: trained accuracy at rank {rank}", acc,
                              pub.get("trained", "–") if rank == pub.get("rank") else "–",
                              f"{cfg['n_seeds']} seeds: mean [min–max]{how}"))
        rows.append(C.Row(f"{name}: minimal rank (best seed ≥ {cfg['threshold']})",
                          r["minimal_rank"], pub.get("rank", "–"),
                          f"ranks tried: {r['ranks']}"))
        for n_pop, accs in r["resampled"].items():
            rows.append(C.Row(f"{name}: {n_pop}-population resampled accuracy (rank "
                              f"{r['analysed_rank']})", accs, pub.get(f"pop{n_pop}", "–"),
                              f"{len(accs)} redrawn networks"))
    return C.Study("Minimal rank and population structure of low-rank RNNs",
                   "Dubreuil et al. 2022, Nat. Neurosci.", rows, dict(tasks=results),
                   figure(results))


def figure(results):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.5), squeeze=False)
    for ax, r in zip(axes[0], results):
        acc = np.asarray(r["accuracy"])
        for k, rank in enumerate(r["ranks"]):
            ax.scatter(np.full(acc.shape[1], k), acc[k], c="k", s=12)
        labels = [f"rank {x}" for x in r["ranks"]]
        for n_pop, accs in r["resampled"].items():
            x = len(labels)
            ax.scatter(np.full(len(accs), x), accs, c="tab:orange", s=12)
            labels.append(f"{n_pop}-pop\nresampled")
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.axhline(0.5, ls=":", c="grey")
        lowest = min([acc.min(), *(min(a) for a in r["resampled"].values())])
        ax.set(ylim=(min(0.3, lowest - 0.05), 1.05), ylabel="accuracy", title=r["task"])
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    C.main(__file__, compute)
