"""Fixed points of a large low-rank network, with stability: the rank-R structure of the
Jacobian against the dense N × N path.

* Network: a rank-2 `LowRankRNN`, N = 4096 (default), tanh, one input (held at 0), float32,
  m ~ N(0, 1), n = m · diag(2.2, 1.6) (overlaps above 1: the origin, two stable points along
  m₁ and two saddles along m₂).
* Starts: 256 states visited on noise-free trajectories from random initial states, plus
  0.5 · N(0, I) (`fixedpoints.sample_states`).
* Structured (what `find` does for a LowRankRNN): `fixedpoints.find(model, x0)` with all its
  defaults: the search, then Jacobians a I + U Vᵀ from R vector-Jacobian products and the exact
  eigen-decomposition from the R × R matrix Vᵀ U (R eigenvalues; N − R at 1 − α; eigenvectors,
  right and left, in O(N² R)).
* Dense (the reference): the same search (`jacobians=False`), then
  `fixedpoints.decompose(model, fps, low_rank=False)`: forward-mode N × N Jacobians and
  NumPy's `eig` (LAPACK geev, O(N³)) per point, left eigenvectors by inverting the right ones.
* Timing: wall time, warm (after one untimed call that compiles): median of `--repeats`
  for the structured path, of `--dense-repeats` (default 1: minutes per run) for the dense one.
  Both results are checked to agree (same points, eigenvalues, stability).

Target (issue 14): fixed points with stability in under 10 s warm at N = 4096, 256 starts.

    python benchmarks/fixedpoints_lowrank.py                 # N = 4096 (dense: minutes)
    python benchmarks/fixedpoints_lowrank.py --n 1024        # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import neurodyn as nd
from neurodyn import fixedpoints as fp


def network(n: int, seed: int = 0):
    k_net, k_m = jax.random.split(jax.random.key(seed))
    net = nd.models.LowRankRNN(n, 2, 1, 1, noise_std=0.0, key=k_net)
    m = jax.random.normal(k_m, (n, 2))
    return eqx.tree_at(lambda z: (z.m, z.n), net, (m, m * jnp.array([2.2, 1.6])))


def starts(model, n_starts: int, seed: int = 1):
    k_x, k_s = jax.random.split(jax.random.key(seed))
    x0 = jax.random.normal(k_x, (64, model.n_neurons))
    roll = model.simulate(jnp.zeros((64, 30, 1)), key=None, x0=x0, noise=False)
    return fp.sample_states(roll, n_starts, key=k_s, noise_scale=0.5)


def timed(fn, repeats: int):
    fn()  # compile
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        jax.block_until_ready(out.eigenvectors)
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times)), times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--starts", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dense-repeats", type=int, default=1)
    args = parser.parse_args()
    model = network(args.n)
    x0 = starts(model, args.starts)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"jax {jax.__version__} ({jax.default_backend()}); numpy {np.__version__}; "
          f"rank-2 LowRankRNN, N = {args.n}, {args.starts} starts, float32; load average "
          f"{os.getloadavg()[0]:.1f}")

    def structured():
        return fp.find(model, x0, progress=False)

    def dense():
        fps = fp.find(model, x0, jacobians=False, progress=False)
        return fp.decompose(model, fps, low_rank=False)

    def search_only():
        return fp.find(model, x0, jacobians=False, progress=False)

    fast, t_fast, all_fast = timed(structured, args.repeats)
    print(f"structured: {', '.join(f'{t:.2f}' for t in all_fast)} s", flush=True)
    search_only()
    t0 = time.perf_counter()
    search_only()
    t_search = time.perf_counter() - t0
    slow, t_slow, all_slow = timed(dense, args.dense_repeats)

    order_f = np.lexsort(np.asarray(fast.xstar[:, :3]).T)
    order_s = np.lexsort(np.asarray(slow.xstar[:, :3]).T)
    same_points = fast.n_points == slow.n_points and np.allclose(
        np.asarray(fast.xstar)[order_f], np.asarray(slow.xstar)[order_s], atol=1e-5)
    lam_f = np.sort(np.asarray(fast.eigenvalues, complex)[order_f], axis=-1)  # by Re, then Im
    lam_s = np.sort(np.asarray(slow.eigenvalues, complex)[order_s], axis=-1)
    eig_err = float(np.max(np.abs(lam_f - lam_s))) if fast.n_points else 0.0
    same_stability = np.array_equal(np.asarray(fast.n_unstable)[order_f],
                                    np.asarray(slow.n_unstable)[order_s])
    kinds = np.bincount(np.asarray(fast.n_unstable), minlength=1).tolist()
    print(f"points: {fast.n_points} (0/1/2 unstable modes: {kinds}); same points as dense: "
          f"{same_points}; max |Δλ| {eig_err:.1e}; same stability: {same_stability}")
    print(f"{'path':<34} | {'warm median':>11} | runs")
    print("-" * 64)
    print(f"{'search only (jacobians=False)':<34} | {t_search:>9.2f} s | 1")
    print(f"{'find, structured (default)':<34} | {t_fast:>9.2f} s | "
          + ", ".join(f"{t:.2f}" for t in all_fast))
    print(f"{'find + dense decompose':<34} | {t_slow:>9.2f} s | "
          + ", ".join(f"{t:.1f}" for t in all_slow))
    print(f"speed-up of the structured path: {t_slow / t_fast:.1f}x; target (< 10 s warm at "
          f"N = 4096, 256 starts): {'met' if t_fast < 10 and args.n >= 4096 else 'not met'}")


if __name__ == "__main__":
    main()
