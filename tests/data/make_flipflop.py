"""Regenerate `flipflop16.eqx`, the small trained 3-bit flip-flop network that
`tests/test_fixedpoints_flipflop.py` analyses (and that `benchmarks/fixedpoints.py` can reuse).

    python tests/data/make_flipflop.py            # writes tests/data/flipflop16.eqx
    python tests/data/make_flipflop.py --neurons 128 --out /tmp/flipflop128.eqx

A tanh `FullRankRNN` with α = dt/τ = 1 (x_{t+1} = J tanh(x_t) + W_in u_t, the vanilla RNN of
Sussillo & Barak 2013), no noise, trained with `neurodyn.train.fit` on the `golub2018`
FlipFlop preset (64 steps, a pulse per bit per step with probability 0.5; Golub & Sussillo
2018). Deterministic given the seed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax

import neurodyn as nd


def train_flipflop(n_neurons: int = 16, *, seed: int = 0, steps: int = 1500, progress=False):
    task = nd.tasks.FlipFlop(preset="golub2018")
    model = nd.models.FullRankRNN(
        n_neurons, task.n_inputs, task.n_outputs, tau=task.dt, dt=task.dt, noise_std=0.0,
        train=("J", "input_vectors", "input_gains", "output_vectors", "output_gains"),
        rho=0.9, readout_std=1.0, key=jax.random.key(seed),
    )
    fit = nd.train.fit(
        model, task, key=jax.random.key(seed + 1), steps=steps, batch_size=64,
        learning_rate=1e-2, clip_norm=1.0, eval_every=250, progress=progress,
    )
    trials = task.sample(jax.random.key(seed + 2), 256)
    roll = fit.model.simulate(trials.inputs, key=None, noise=False)
    score = task.evaluate(roll.outputs, trials)
    return fit, task, {k: float(score[k]) for k in ("accuracy", "step_accuracy", "mse")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("flipflop16.eqx"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    fit, _, score = train_flipflop(args.neurons, seed=args.seed, steps=args.steps, progress=True)
    print(f"trained in {time.perf_counter() - t0:.1f} s: {score}")
    nd.save(args.out, fit.model, metadata={"task": "FlipFlop/golub2018", **score}, seed=args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
