"""Fixed-point finding: neurodyn against a plain PyTorch implementation of FixedPointFinder's
algorithm (Golub & Sussillo 2018), on trained 3-bit flip-flop networks.

What is measured, in one run on one machine (CPU unless JAX/torch see an accelerator):

* Networks: tanh `FullRankRNN`s with α = dt/τ = 1 (x ↦ J tanh(x) + W_in u), 16 and 128 units,
  trained on the `golub2018` FlipFlop preset by `tests/data/make_flipflop.py` (seed 0, 1500
  steps; shipped as `tests/data/flipflop16.eqx` and `flipflop128.eqx`, accuracy 1.0, output
  MSE 1e-5 for the 128-unit one; other sizes are trained once and cached in `--cache`).
* Precision: float64 on both sides. q < 1e-12 means ‖F(x) − x‖ < 1.4e-6; in float32 the
  rounding error of F(x) − x for a 128-unit network with O(1) states is of that size (each
  component is a sum of 128 rounded terms), so neither side can reach the tolerance there.
* Starting points: 1024 states sampled from noise-free trajectories on 64 random trials, plus
  `--noise` · N(0, I) — the same array for both implementations. Input u = 0.
* Goal: every start at q(x) = ½‖F(x) − x‖² < 1e-12, then the same filters (q < 1e-12,
  distance outliers at 10× the starts' mean distance to their centroid, greedy
  de-duplication at 1e-3 in order of q), then Jacobians and eigenvalues of the unique points.
* neurodyn: `neurodyn.fixedpoints.find(model, x0, u, tol_q=1e-12, learning_rate=1.0)`
  (FixedPointFinder's initial learning rate, as on the PyTorch side), otherwise its defaults
  (per-point Adam with per-point plateau decay and stopping, a point
  stalled when q has not halved in 300 steps, damped Newton–Krylov polishing inside a trust
  region after every chunk, vmapped, jitted chunks on blocks of the points still running).
* PyTorch: FixedPointFinder's joint optimisation written here from scratch (one Adam optimiser
  over all points on the *mean* q, FixedPointFinder's stopping rule: every point has q < 1e-12 or
  |Δq| < tol_dq · learning rate, tol_dq = 1e-20, and its default budget of 5000 iterations,
  `--max-iters`), in two settings, both reported; the speed-up is taken against the faster:
    - `fpf-torch`: as FixedPointFinder's own PyTorch class (`FixedPointFinderTorch`) runs it:
      Adam at learning rate 0.05 with `StepLR(step_size=500, gamma=0.7)`;
    - `plateau`: FixedPointFinder's initial learning rate 1.0 (its TensorFlow version's adaptive
      rate starts there) with `ReduceLROnPlateau` (factor 0.5, patience `--patience`) on the
      mean q, which converges in fewer iterations on these networks.
  Then the same filters (torch ops, greedy de-duplication in a Python loop over kept points),
  the Jacobians of all unique points in one `torch.autograd.functional.jacobian` call on the
  summed map (FixedPointFinderTorch's batched trick) and `torch.linalg.eigvals`.
* Both run on the same `--cores` CPU cores (default 1: the process is pinned, torch gets one
  thread), so that a shared machine's load hits both alike.
* Same set: the unique points of each side are matched by nearest neighbour (≤ 1e-3); the
  table reports how many each found, how many of each side's points have a partner on the
  other side, and their stability counts.
* Timing: neurodyn cold (first call: tracing and compilation) and warm (median of
  `--repeats`, run before and after the PyTorch run); the ratio uses warm wall time. The CPU
  time of the process (both sides pinned to the same core) is printed beside it, as a check
  on a loaded machine; the load average is printed before and after.

Target (from the issue): neurodyn at least 10× faster, with the same set of fixed points. The
script prints whether it is met; it does not fail when it is not.

Run (not part of the test suite; `pip install -e ".[peers]"` installs torch):

    python benchmarks/fixedpoints.py                 # 16 and 128 units, several minutes
    python benchmarks/fixedpoints.py --quick         # 16 units only, one repeat
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from pathlib import Path


def _pin_early() -> None:
    """Pin the process to `--cores` cores before JAX starts: XLA sizes its thread pool from
    the cores it sees at start-up, and a pool of two threads sharing one pinned core spins
    (it made neurodyn's timings here ~10× slower before this was done first)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--cores", type=int, default=1)
    cores = parser.parse_known_args()[0].cores
    if cores > 0:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))


_pin_early()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # noqa: E402 - before any array is made

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import fixedpoints as fp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOL_Q = 1e-12
TOL_DQ = 1e-20
TOL_UNIQUE = 1e-3
OUTLIER = 10.0
SCHEDULES = ("fpf-torch", "plateau")


def _float64(model):
    return jax.tree_util.tree_map(
        lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, model
    )


def _load32(path):
    return _float64(nd.load(path))  # the checkpoints hold float32 arrays: load keeps them


def trained_network(n_neurons: int, cache: Path):
    shipped = ROOT / "tests" / "data" / f"flipflop{n_neurons}.eqx"
    if shipped.exists():
        return _load32(shipped)
    path = cache / f"flipflop{n_neurons}.eqx"
    if path.exists():
        return _load32(path)
    spec = importlib.util.spec_from_file_location(
        "make_flipflop", ROOT / "tests" / "data" / "make_flipflop.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(f"training a {n_neurons}-unit flip-flop network (cached in {path}) ...", flush=True)
    with jax.enable_x64(False):
        fit, _, score = module.train_flipflop(n_neurons, seed=0, steps=1500)
        print(f"  accuracy {score['accuracy']:.3f}")
        nd.save(path, fit.model, metadata=score, seed=0)
        model = fit.model
    return _float64(model)


def starting_points(model, n: int, noise: float, seed: int = 0):
    task = nd.tasks.FlipFlop(preset="golub2018")
    trials = task.sample(jax.random.key(seed), 64)
    x0 = jnp.zeros((trials.inputs.shape[0], model.n_neurons), jnp.float64)
    roll = model.simulate(trials.inputs.astype(jnp.float64), key=None, x0=x0, noise=False)
    return np.asarray(fp.sample_states(roll, n, key=jax.random.key(seed + 1), noise_scale=noise))


# --------------------------------------------------------------------------- PyTorch baseline
class TorchFixedPointFinder:
    """FixedPointFinder's joint optimisation for x ↦ x + α(−x + J tanh(x) + W_in u)."""

    def __init__(self, model, *, max_iters: int, patience: int, schedule: str):
        self.J = torch.tensor(np.asarray(model.J, np.float64))
        self.b = torch.zeros(model.n_neurons, dtype=torch.float64)  # u = 0
        self.alpha = float(model.alpha)
        self.max_iters, self.patience, self.schedule = max_iters, patience, schedule

    def step(self, x):
        return x + self.alpha * (-x + torch.tanh(x) @ self.J.T + self.b)

    def q(self, x):
        return 0.5 * ((self.step(x) - x) ** 2).sum(-1)

    def optimise(self, x0):
        x = torch.tensor(x0, requires_grad=True)
        if self.schedule == "fpf-torch":  # FixedPointFinderTorch's optimiser and schedule
            opt = torch.optim.Adam([x], lr=0.05)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=500, gamma=0.7)
        else:
            opt = torch.optim.Adam([x], lr=1.0)
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, factor=0.5, patience=self.patience
            )
        it = 0
        q_prev = None
        for it in range(1, self.max_iters + 1):
            # FixedPointFinderTorch scales tol_dq by a fixed 1; the plateau variant by its rate
            lr = 1.0 if self.schedule == "fpf-torch" else opt.param_groups[0]["lr"]
            q = self.q(x)
            loss = q.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if self.schedule == "fpf-torch":
                sched.step()
            else:
                sched.step(loss.item())
            q = q.detach()
            # FixedPointFinder's stopping rule: every point below tol_q or no longer moving
            if q_prev is not None and bool(
                ((q < TOL_Q) | ((q - q_prev).abs() < TOL_DQ * lr)).all()
            ):
                break
            q_prev = q
        with torch.no_grad():
            return x.detach(), self.q(x.detach()), it

    def filters(self, x, q, x0):
        keep = q < TOL_Q
        x, q = x[keep], q[keep]
        x0 = torch.tensor(x0, dtype=torch.float64)
        centroid = x0.mean(0)
        spread = (x0 - centroid).norm(dim=1).mean()
        keep = (x - centroid).norm(dim=1) <= OUTLIER * spread
        x, q = x[keep], q[keep]
        order = torch.argsort(q)
        x, q = x[order], q[order]
        kept = []
        for i in range(x.shape[0]):  # greedy, as FixedPointFinder's get_unique
            if not kept or (x[kept] - x[i]).norm(dim=1).min() > TOL_UNIQUE:
                kept.append(i)
        return x[kept], q[kept]

    def decompose(self, x):
        if len(x) == 0:
            return torch.zeros(0, dtype=torch.long)
        # d(sum_p F(x_p))/dx_p = dF(x_p)/dx_p: all Jacobians from one call, [N, P, N] -> [P, N, N]
        jac = torch.autograd.functional.jacobian(lambda v: self.step(v).sum(0), x)
        lam = torch.linalg.eigvals(jac.permute(1, 0, 2))
        return (lam.abs() > 1).sum(-1)

    def run(self, x0):
        x, q, iters = self.optimise(x0)
        n_converged = int((q < TOL_Q).sum())
        xs, qs = self.filters(x, q, x0)
        n_unstable = self.decompose(xs)
        return xs.numpy(), n_unstable.numpy(), iters, n_converged


# --------------------------------------------------------------------------- comparison
def match(a: np.ndarray, b: np.ndarray, tol: float = TOL_UNIQUE) -> tuple[int, int]:
    """(points of `a` with a point of `b` within `tol`, points of `b` with one of `a`)."""
    if len(a) == 0 or len(b) == 0:
        return 0, 0
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    return int(np.sum(d.min(axis=1) <= tol)), int(np.sum(d.min(axis=0) <= tol))


def stability_counts(n_unstable) -> str:
    c = np.bincount(np.asarray(n_unstable, int), minlength=1)
    return "/".join(str(int(v)) for v in c)


def bench(n_neurons: int, args, cache: Path) -> dict:
    model = trained_network(n_neurons, cache)
    x0 = starting_points(model, args.starts, args.noise)
    u = jnp.zeros(model.n_inputs)

    def run_neurodyn():
        t0, c0 = time.perf_counter(), time.process_time()
        out = fp.find(model, x0, u, tol_q=TOL_Q, learning_rate=1.0, progress=False)
        jax.block_until_ready(out.xstar)
        return out, time.perf_counter() - t0, time.process_time() - c0

    fps, cold, _ = run_neurodyn()
    warm, warm_cpu, peers = [], [], {}
    schedules = [v for v in SCHEDULES if v in args.schedules]

    def run_torch(schedule):
        finder = TorchFixedPointFinder(model, max_iters=args.max_iters, patience=args.patience,
                                       schedule=schedule)
        t0, c0 = time.perf_counter(), time.process_time()
        tx, t_unst, iters, t_conv = finder.run(x0)
        peers[schedule] = dict(
            time=time.perf_counter() - t0, cpu=time.process_time() - c0, iters=iters,
            converged=t_conv, points=len(tx), kinds=stability_counts(t_unst),
            matched=match(np.asarray(fps.xstar), tx))

    for r in range(args.repeats):  # interleaved: neurodyn, a torch variant, neurodyn, ...
        fps, t, c = run_neurodyn()
        warm.append(t)
        warm_cpu.append(c)
        if r < len(schedules):
            run_torch(schedules[r])
    for schedule in schedules[args.repeats:]:
        run_torch(schedule)

    nx = np.asarray(fps.xstar)
    return dict(
        n=n_neurons,
        nd_cold=cold,
        nd_warm=float(np.median(warm)),
        nd_cpu=float(np.median(warm_cpu)),
        nd_converged=fps.report.counts()["converged"],
        nd_points=len(nx),
        nd_kinds=stability_counts(fps.n_unstable),
        nd_max_iters=int(np.asarray(fps.n_iters).max()) if len(nx) else 0,
        peers=peers,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 128])
    parser.add_argument("--starts", type=int, default=1024)
    parser.add_argument("--noise", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iters", type=int, default=5000)
    parser.add_argument("--patience", type=int, default=50)
    parser.add_argument("--schedules", nargs="+", default=list(SCHEDULES), choices=SCHEDULES,
                        help="PyTorch FixedPointFinder settings to run (default: both)")
    parser.add_argument("--cores", type=int, default=1,
                        help="pin the process to this many CPU cores (torch uses as many "
                             "threads); 0 = no pinning, torch's default threads")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "benchmarks")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats = [16], 1
    if args.cores > 0:  # the process was pinned at import (_pin_early): both sides alike
        torch.set_num_threads(args.cores)
    torch.set_flush_denormal(True)
    args.cache.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"jax {jax.__version__} ({jax.default_backend()}), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads); pinned to "
          f"{len(os.sched_getaffinity(0))} core(s); {args.starts} starts, noise {args.noise}, "
          f"tol_q {TOL_Q:g}, float64; load average {load_before[0]:.1f} "
          f"(1 min) / {load_before[2]:.1f} (15 min)")
    rows = [bench(n, args, args.cache) for n in args.sizes]
    header = (f"{'N':>4} | {'torch variant':<13} | {'neurodyn warm':>13} | {'cold':>7} | "
              f"{'torch':>7} | {'speed-up':>8} | {'cpu nd/torch':>14} | {'conv nd/torch':>13} | "
              f"{'unique nd/torch/matched':>23} | {'kinds nd':>10} | {'kinds torch':>11} | "
              f"torch iters")
    print(header)
    print("-" * len(header))
    ok = True
    for r in rows:
        best = min(p["time"] for p in r["peers"].values())
        for schedule, p in r["peers"].items():
            speed = p["time"] / r["nd_warm"]
            same = p["matched"][0] == r["nd_points"] == p["points"] == p["matched"][1]
            if p["time"] == best:
                ok &= speed >= 10 and same
            print(f"{r['n']:>4} | {schedule + (' *' if p['time'] == best else ''):<13} | "
                  f"{r['nd_warm']:>11.2f} s | {r['nd_cold']:>5.1f} s | "
                  f"{p['time']:>5.1f} s | {speed:>7.1f}x | "
                  f"{r['nd_cpu']:>5.2f}/{p['cpu']:<6.1f} s | "
                  f"{r['nd_converged']:>5}/{p['converged']:<7} | "
                  f"{r['nd_points']:>6}/{p['points']}/"
                  f"{p['matched'][0]},{p['matched'][1]:<8} | "
                  f"{r['nd_kinds']:>10} | {p['kinds']:>11} | {p['iters']}")
    print("* the faster PyTorch variant, which the target is checked against. fpf-torch: "
          "FixedPointFinderTorch's Adam 0.05 + StepLR(500, 0.7); plateau: Adam 1.0 + "
          "ReduceLROnPlateau.")
    print("kinds: number of points with 0/1/2/... unstable modes; matched: neurodyn points "
          "with a torch point within 1e-3, and torch points with a neurodyn point.")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.1f} (1 min) / {load_after[2]:.1f} (15 min) "
          f"on {os.cpu_count()} CPUs")
    print(f"target (>= 10x faster warm, same unique points): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
