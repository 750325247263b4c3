"""Trained vs resampled accuracy (Dubreuil et al. 2022, Figs. 2–4): train low-rank networks on
perceptual decision making (rank 1), parametric working memory (Romo, rank 2) and
context-dependent decision making (rank 1, input vectors trained), fit Gaussian mixtures to
their loadings, draw new networks from the fits and score them.

    python experiments/dubreuil2022_resampling/run.py [--seeds 3] [--neurons 256] [--quick]

Writes results.json next to this file and prints a table. Published figures: REFERENCES.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

import neurodyn as nd
from neurodyn import lowrank as lr

TASKS = {
    # name: (task, rank, trained parameter groups, training steps, populations to resample)
    "decision": ("PerceptualDecisionMaking", 1, ("m", "n", "input_gains", "output_gains"),
                 600, (1,)),
    "romo": ("DelayComparison", 2, ("m", "n", "input_gains", "output_gains"), 2000, (1,)),
    "context": ("ContextDecisionMaking", 1,
                ("m", "n", "input_vectors", "input_gains", "output_gains"), 2000, (1, 2)),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--neurons", type=int, default=256)
    p.add_argument("--resamples", type=int, default=5)
    p.add_argument("--trials", type=int, default=512)
    p.add_argument("--tasks", default="decision,romo,context")
    p.add_argument("--steps-scale", type=float, default=1.0)
    args = p.parse_args()
    out_path = Path(__file__).with_name("results.json")
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name in args.tasks.split(","):
        task_name, rank, train, steps, pops = TASKS[name]
        steps = int(steps * args.steps_scale)
        task = nd.tasks.make(task_name)
        t0 = time.time()

        def make(k, rank=rank, train=train, task=task):
            return nd.models.LowRankRNN(args.neurons, rank, task.n_inputs, task.n_outputs,
                                        train=train, key=k)

        keys = jax.random.split(jax.random.key(2022), args.seeds)
        ens = nd.train.fit_ensemble(make, task, keys=keys, steps=steps, eval_every=100,
                                    progress=False)
        key_eval = jax.random.key(7)
        trained = lr.evaluate(ens.model, task, key=key_eval, n_trials=args.trials)
        row = {"task": task_name, "rank": rank, "n_neurons": args.neurons, "steps": steps,
               "trained": trained.tolist(), "train_seconds": time.time() - t0}
        for n_pop in pops:
            accs = []
            for i in range(args.seeds):
                net = nd.train.member(ens.model, i)
                mix = lr.fit_mixture(net, n_pop, key=jax.random.key(100 + i))
                for j in range(args.resamples):
                    new = lr.resample(mix, args.neurons, key=jax.random.key(1000 * i + j))
                    accs.append(lr.evaluate(new, task, key=key_eval, n_trials=args.trials))
            row[f"resampled_{n_pop}pop"] = accs
        row["seconds"] = time.time() - t0
        results[name] = row
        out_path.write_text(json.dumps(results, indent=1))
        print(name, json.dumps({k: (np.round(v, 3).tolist() if isinstance(v, list) else v)
                                for k, v in row.items()}), flush=True)

    print("\n| task | trained (mean, min) | 1-pop resampled (mean, min) | 2-pop resampled |")
    print("|---|---|---|---|")
    for name, row in results.items():
        def fmt(v):
            return f"{np.mean(v):.3f} ({np.min(v):.3f})" if v else "–"

        print(f"| {row['task']} (rank {row['rank']}, N={row['n_neurons']}) | "
              f"{fmt(row['trained'])} | {fmt(row.get('resampled_1pop'))} | "
              f"{fmt(row.get('resampled_2pop'))} |")


if __name__ == "__main__":
    main()
