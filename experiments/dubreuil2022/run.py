"""Dubreuil, Valente, Beiran, Mastrogiuseppe & Ostojic 2022 (Nat. Neurosci.): the minimal rank
of a low-rank RNN that solves each task, and whether networks redrawn from a Gaussian mixture fit
to the trained connectivity (one or two populations) still solve it.

For each task: train `n_seeds` LowRankRNNs at each rank (seeds vmapped, `lowrank.rank_sweep`),
report the smallest rank whose best seed reaches the accuracy `threshold`; at that rank (or the
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import lowrank as lr  # noqa: E402

KEYS = dict(seed=int, n_neurons=int, n_seeds=int, n_trials=int, threshold=float,
            resamples=int, learning_rate=float, tasks=dict)
TASK_KEYS = dict(task=str, ranks=list, train=list, steps=int, populations=list)

# Published (Dubreuil et al. 2022; 100 networks of N = 512 unless said otherwise).
PUBLISHED = {
    "PerceptualDecisionMaking": dict(rank=1, trained="1.000", pop1="0.9996 (min 0.98)"),
    "DelayComparison": dict(rank=2, trained="0.996", pop1="0.958 (median 0.98)"),
    "ContextDecisionMaking": dict(rank=1, trained="0.998", pop1="0.70 (0.28–0.83)",
                                  pop2="0.90–0.975 (N = 4096)"),
    "DelayMatchSample": dict(rank=2, trained="0.961 (median 1.0)", pop1="0.54 (0.24–0.82)"),
}


def study_task(label, tcfg, cfg, index):
    tcfg = C.require(tcfg, TASK_KEYS)
    task = nd.tasks.make(tcfg["task"])
    sweep = lr.rank_sweep(
        task, tuple(tcfg["ranks"]), key=C.key(cfg["seed"], index), n_seeds=cfg["n_seeds"],
        n_neurons=cfg["n_neurons"], steps=tcfg["steps"], threshold=cfg["threshold"],
        n_trials=cfg["n_trials"], model_kwargs=dict(train=tuple(tcfg["train"])),
        learning_rate=cfg["learning_rate"], eval_every=tcfg["steps"],
    )
    at = sweep.minimal_rank or int(sweep.ranks[-1])
    ensemble = sweep.models[list(sweep.ranks).index(at)]
    k_eval = C.key(cfg["seed"], index, 1)
    resampled = {}
    for n_pop in tcfg["populations"]:
        accs = []
        for i in range(cfg["n_seeds"]):
            mix = lr.fit_mixture(nd.train.member(ensemble, i), n_pop,
                                 key=C.key(cfg["seed"], index, 2, n_pop, i))
            for j in range(cfg["resamples"]):
                new = lr.resample(mix, cfg["n_neurons"], key=C.key(cfg["seed"], index, 3, i, j))
                accs.append(lr.evaluate(new, task, key=k_eval, n_trials=cfg["n_trials"]))
        resampled[n_pop] = accs
    return dict(task=tcfg["task"], label=label, ranks=sweep.ranks.tolist(),
                accuracy=sweep.accuracy.tolist(), minimal_rank=sweep.minimal_rank,
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
            rows.append(C.Row(f"{name}: trained accuracy at rank {rank}", acc,
                              pub.get("trained", "–") if rank == pub.get("rank") else "–",
                              f"{cfg['n_seeds']} seeds: mean [min–max]"))
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
        ax.set(ylim=(0.3, 1.05), ylabel="accuracy", title=r["task"])
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    C.main(__file__, compute)
