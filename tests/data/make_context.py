"""Regenerate `context128.eqx`, the small trained context-dependent decision network that
`tests/test_fixedpoints_context.py` analyses.

    python tests/data/make_context.py                 # writes tests/data/context128.eqx

A rank-2 tanh `LowRankRNN` of 128 units trained with `neurodyn.train.fit` on the
`dubreuil2022` ContextDecisionMaking preset (Mante et al. 2013; Dubreuil et al. 2022): two
noisy stimuli, two context inputs, integrate the relevant stimulus and report its sign.
Deterministic given the seed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax

import neurodyn as nd


def train_context(n_neurons: int = 128, rank: int = 2, *, seed: int = 0, steps: int = 1500,
                  progress=False):
    task = nd.tasks.ContextDecisionMaking(preset="dubreuil2022")
    model = nd.models.LowRankRNN(
        n_neurons, rank, task.n_inputs, task.n_outputs, key=jax.random.key(seed)
    )
    fit = nd.train.fit(
        model, task, key=jax.random.key(seed + 1), steps=steps, batch_size=32,
        learning_rate=1e-2, eval_every=250, progress=progress,
    )
    trials = task.sample(jax.random.key(seed + 2), 512)
    roll = fit.model.simulate(trials.inputs, key=jax.random.key(seed + 3))
    score = task.evaluate(roll.outputs, trials)
    return fit, task, {k: float(v) for k, v in score.items() if k == "accuracy"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=128)
    parser.add_argument("--rank", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("context128.eqx"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    fit, _, score = train_context(args.neurons, args.rank, seed=args.seed, steps=args.steps,
                                  progress=False)
    print(f"trained in {time.perf_counter() - t0:.1f} s: {score}")
    meta = {"task": "ContextDecisionMaking/dubreuil2022", "rank": args.rank, **score}
    nd.save(args.out, fit.model, metadata=meta, seed=args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
