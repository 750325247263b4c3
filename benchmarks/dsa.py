"""DSA distance matrix: neurodyn.compare.dsa_matrix against the authors' reference
implementation, the `dsa-metric` package (import name `DSA`; Ostrow, Eisen, Kozachkov & Fiete
2023, NeurIPS), on the activity of 32 small random networks.

    python benchmarks/dsa.py                  # 32 networks; prints the table
    python benchmarks/dsa.py --networks 8 --iters 300 --repeats 1   # a quick look

What is measured, in one run on one machine (CPU unless JAX/torch see an accelerator):

* Networks: 32 tanh `FullRankRNN`s (16 units, α = dt/τ = 0.2, no noise), random connectivity
  with spectral radius ρ ∈ {0.5, 0.9, 1.3, 1.7} (8 seeds each: decaying to chaotic), driven by
  the same 8 trials of the 3-bit FlipFlop task (`golub2018` preset, 64 steps): activity
  `[8, 64, 16]` each. Their distances form blocks by ρ, which is what DSA should find.
* Same hyperparameters on both sides: `--delays` delays (interval 1), rank `--rank`, no ridge,
  angular score, `--iters` optimiser steps at learning rate `--lr` (Adam on a Cayley-mapped
  skew matrix on both sides: dsa-metric through a small MLP, neurodyn directly; both from the
  identity and from a reflection, neurodyn adds a third, spectral start and keeps its best
  iterate).
* dsa-metric: `DSA.DSA(sets, n_delays, rank, lamb=0, score_method="angular", iters, lr,
  device="cpu", n_jobs=1).fit_score()`, run once (it takes minutes).
* neurodyn: `compare.dsa_matrix(sets, ...)`: one compiled, vmapped call per batch of 128 pairs;
  cold (first call, compilation included) once, then warm `--repeats` times (median).
* Agreement over the M(M−1)/2 pairs: Spearman rank correlation, the largest relative difference
  |d_nd − d_ref| / d_ref, and how many pairs either side puts lower by more than 1e-3 (the
  minimisation over O(n) is non-convex: a side that lands in a local minimum reports a larger
  distance, so lower is better). Both sides' HAVOK operators are also compared through the
  distance between their sorted eigenvalues.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import numpy as np

import neurodyn as nd


def activity_sets(n_networks: int, *, seed: int = 0):
    task = nd.tasks.FlipFlop(preset="golub2018")
    trials = task.sample(jax.random.key(seed), 8)
    radii = (0.5, 0.9, 1.3, 1.7)
    sets, labels = [], []
    for i in range(n_networks):
        rho = radii[i % len(radii)]
        model = nd.models.FullRankRNN(
            16, task.n_inputs, task.n_outputs, tau=100.0, dt=20.0, noise_std=0.0, rho=rho,
            key=jax.random.key(1000 + i),
        )
        roll = model.simulate(trials.inputs, key=None, noise=False)
        sets.append(np.asarray(roll.states, np.float32))
        labels.append(rho)
    return sets, np.asarray(labels)


def reference(sets, args):
    import DSA  # the peer: pip install dsa-metric

    t0 = time.perf_counter()
    ref = DSA.DSA(sets, n_delays=args.delays, rank=args.rank, lamb=0.0, score_method="angular",
                  iters=args.iters, lr=args.lr, device="cpu", n_jobs=1, verbose=False)
    d = np.asarray(ref.fit_score(), np.float64)
    seconds = time.perf_counter() - t0
    ops = []   # the peer's operators, refitted with its DMD class (outside the timing)
    for s in sets:
        dmd = DSA.DMD(s, n_delays=args.delays, rank=args.rank, lamb=0.0)
        dmd.fit()
        ops.append(np.asarray(dmd.A_v.detach().cpu().numpy(), np.float64))
    return d, seconds, ops


def ours(sets, args):
    kw = dict(n_delays=args.delays, rank=args.rank, steps=args.iters, learning_rate=args.lr,
              progress=False)
    t0 = time.perf_counter()
    res = nd.compare.dsa_matrix(sets, **kw)
    res.distances.block_until_ready()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = nd.compare.dsa_matrix(sets, **kw)
        res.distances.block_until_ready()
        warm.append(time.perf_counter() - t0)
    return np.asarray(res.distances, np.float64), cold, warm, np.asarray(res.operators)


def _eig_gap(a, b):
    """Largest |λ_a − λ_b| over the best matching of the two spectra."""
    from scipy.optimize import linear_sum_assignment

    ea, eb = np.linalg.eigvals(a), np.linalg.eigvals(b)
    cost = np.abs(ea[:, None] - eb[None, :])
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=32)
    parser.add_argument("--delays", type=int, default=4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--iters", type=int, default=500)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from scipy.stats import spearmanr

    sets, labels = activity_sets(args.networks)
    m = len(sets)
    print(f"{m} networks, activity {sets[0].shape}, n_delays={args.delays}, rank={args.rank}, "
          f"iters={args.iters}, lr={args.lr}; {m * (m - 1) // 2} pairs; jax {jax.__version__} "
          f"on {jax.devices()[0].platform}")
    d_nd, cold, warm, ops_nd = ours(sets, args)
    d_ref, t_ref, ops_ref = reference(sets, args)
    iu = np.triu_indices(m, k=1)
    a, b = d_nd[iu], d_ref[iu]
    rho = spearmanr(a, b).statistic
    rel = np.abs(a - b) / np.maximum(b, 1e-12)
    same_block = labels[iu[0]] == labels[iu[1]]
    eig = max(_eig_gap(x, y) for x, y in zip(ops_nd, ops_ref))
    print(f"\nagreement: Spearman ρ = {rho:.4f}; max relative difference {rel.max():.3f} "
          f"(median {np.median(rel):.4f}; max absolute {np.abs(a - b).max():.3f} rad, distances "
          f"{b.min():.3f}..{b.max():.3f}); pairs lower by > 1e-3: neurodyn "
          f"{int(np.sum(a < b - 1e-3))}, dsa-metric {int(np.sum(b < a - 1e-3))}; "
          f"HAVOK eigenvalues max |Δλ| = {eig:.2e}")
    print(f"mean distance within / across spectral-radius blocks: neurodyn "
          f"{a[same_block].mean():.3f} / {a[~same_block].mean():.3f}, dsa-metric "
          f"{b[same_block].mean():.3f} / {b[~same_block].mean():.3f}")
    med = statistics.median(warm)
    print(f"\n{'':12s}{'time (s)':>12s}")
    print(f"{'dsa-metric':12s}{t_ref:12.2f}")
    print(f"{'neurodyn':12s}{med:12.2f}   (median of {len(warm)} warm; cold {cold:.2f})")
    print(f"speed-up: {t_ref / med:.1f}x warm, {t_ref / cold:.1f}x cold")


if __name__ == "__main__":
    main()
