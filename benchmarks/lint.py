"""LINT fit time per rank at N = 512: `neurodyn.lowrank.fit_to_activity` against the same fit
written in PyTorch the way Valente, Pillow & Ostojic's own code fits networks to activity.

The data: the noise-free rates of a rank-2 teacher (N = 512, tanh, α = 0.2) on `--trials`
trials of `--steps-t` time steps (input pulses for the first 10 steps, then free relaxation),
plus N(0, 0.05²) observation noise; every unit is recorded (the paper's "rates" readout).

Per rank R in 1..4, with the paper's settings (Adam, lr 1e-2, gradient-norm clip 1, batch 32,
noise-free student, m, n and W_in trained, output = the rates):

* neurodyn: `fit_to_activity(..., steps=C)` and `steps=C+S` with the same chunk length C
  (`eval_every=C`, so the same compiled chunk), per step = the difference / S. That includes
  what `fit_to_activity` does besides the steps: the loss on all trials after every chunk
  (keep-best; forward only, S/C times), which the PyTorch loop below does not do. The whole
  fit of `--fit-steps` steps from a cold start is timed once too (compile included).
* PyTorch (`TorchLint`): the structure of the authors' `LowRankRNN.forward` and `train`
  (a Python loop over time steps, h ← h + α(−h + φ(h) n mᵀ/N + u W_in), rates collected per
  step, MSE, `clip_grad_norm_`, Adam), written here from a reading of it; per step = the
  median of `--torch-steps` timed steps after two warm-up steps.

Medians over `--repeats`; neurodyn and PyTorch interleaved within each repeat. Run:

    python benchmarks/lint.py                  # N=512, ranks 1-4
    python benchmarks/lint.py --repeats 5 --fit-steps 500

Not part of the test suite (torch comes with the `peers` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import equinox as eqx
import jax
import numpy as np

import neurodyn as nd


def teacher_data(n: int, trials: int, steps: int, seed: int = 0):
    net = nd.models.LowRankRNN(n, 2, 2, 1, noise_std=0.0, key=jax.random.key(seed))
    m = jax.random.normal(jax.random.key(seed + 1), (n, 2))
    net = eqx.tree_at(lambda t: (t.m, t.n), net, (m, 1.6 * m))
    u = 0.6 * jax.random.normal(jax.random.key(seed + 2), (trials, steps, 2))
    u = np.asarray(u.at[:, 10:].set(0.0), np.float32)
    rates = np.asarray(net.phi(net.simulate(u, key=None, noise=False).states))
    noisy = rates + 0.05 * np.random.default_rng(seed).normal(size=rates.shape)
    return u, noisy.astype(np.float32)


class TorchLint:
    """A rank-R student fitted to rates, as the authors' PyTorch code does it."""

    def __init__(self, torch, n: int, rank: int, n_inputs: int, alpha: float, seed: int):
        self.torch, self.n, self.alpha = torch, n, alpha
        g = torch.Generator().manual_seed(seed)
        self.m = torch.randn(n, rank, generator=g).requires_grad_()
        self.nv = torch.randn(n, rank, generator=g).requires_grad_()
        self.wi = torch.randn(n_inputs, n, generator=g).requires_grad_()
        self.params = [self.m, self.nv, self.wi]
        self.opt = torch.optim.Adam(self.params, lr=1e-2)

    def forward(self, u):
        torch = self.torch
        h = torch.zeros(u.shape[0], self.n)
        r = torch.tanh(h)
        out = []
        for ut in u.unbind(1):
            h = h + self.alpha * (-h + (r @ self.nv) @ self.m.t() / self.n + ut @ self.wi)
            r = torch.tanh(h)
            out.append(r)
        return torch.stack(out, 1)

    def step(self, u, target):
        self.opt.zero_grad()
        loss = ((self.forward(u) - target) ** 2).mean()
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        return loss.item()


def neurodyn_step_ms(u, a, rank: int, chunk: int, extra: int) -> float:
    def run(steps):
        t = time.perf_counter()
        fit = nd.lowrank.fit_to_activity(a, u, rank, key=jax.random.key(0), steps=steps,
                                         eval_every=chunk, progress=False)
        jax.block_until_ready(fit.model.m)
        return time.perf_counter() - t

    run(chunk)  # compile
    return 1e3 * (run(chunk + extra) - run(chunk)) / extra


def torch_step_ms(torch, u, a, rank: int, steps: int) -> float:
    model = TorchLint(torch, a.shape[-1], rank, u.shape[-1], 0.2, seed=rank)
    ut, at = torch.from_numpy(u), torch.from_numpy(a)
    rng = np.random.default_rng(0)
    times = []
    for i in range(steps + 2):
        pick = torch.from_numpy(rng.choice(len(u), 32, replace=False))
        t = time.perf_counter()
        model.step(ut[pick], at[pick])
        if i >= 2:
            times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neurons", type=int, default=512)
    p.add_argument("--trials", type=int, default=128)
    p.add_argument("--steps-t", type=int, default=50)
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 3, 4])
    p.add_argument("--chunk", type=int, default=20)
    p.add_argument("--extra", type=int, default=40)
    p.add_argument("--torch-steps", type=int, default=20)
    p.add_argument("--fit-steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    # A spinning OpenMP pool steals the CPU from everything else on a shared machine (as in
    # train_throughput.py); denormals flushed, as XLA's CPU backend does.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: no PyTorch column (pip install -e '.[peers]')")
    if torch is not None:
        torch.set_flush_denormal(True)
        if args.threads:
            torch.set_num_threads(args.threads)
    u, a = teacher_data(args.neurons, args.trials, args.steps_t)
    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"N={args.neurons}, {args.trials} trials x {args.steps_t} steps, batch 32, "
          f"jax {jax.__version__} on {jax.devices()[0].platform}"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""))
    header = (f"{'rank':>4}  {'neurodyn ms/step':>16}  {'torch ms/step':>13}  {'speed-up':>8}  "
              f"{'fit ' + str(args.fit_steps) + ' steps (s, cold)':>24}  {'R2':>6}")
    print(header)
    for rank in args.ranks:
        nd_ms, th_ms = [], []
        for _ in range(args.repeats):
            nd_ms.append(neurodyn_step_ms(u, a, rank, args.chunk, args.extra))
            if torch is not None:
                th_ms.append(torch_step_ms(torch, u, a, rank, args.torch_steps))
        t = time.perf_counter()
        fit = nd.lowrank.fit_to_activity(a, u, rank, key=jax.random.key(1),
                                         steps=args.fit_steps, progress=False)
        cold = time.perf_counter() - t
        nd_med = float(np.median(nd_ms))
        th_med = float(np.median(th_ms)) if th_ms else float("nan")
        ratio = np.median(np.asarray(th_ms) / np.asarray(nd_ms)) if th_ms else float("nan")
        print(f"{rank:>4}  {nd_med:>16.2f}  {th_med:>13.2f}  {ratio:>7.2f}x  {cold:>24.1f}  "
              f"{fit.r2:>6.3f}")


if __name__ == "__main__":
    main()
