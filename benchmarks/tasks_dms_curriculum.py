"""Delayed match-to-sample learned with a curriculum on the delay (as Dubreuil et al. 2022).

    python benchmarks/tasks_dms_curriculum.py [--neurons 128] [--rank 2] [--steps 300]
        [--stages 0:100:100,0:100:1000,300:700:1000,500:1000:1000,500:3000:1000]
        [--lr 0.01] [--train-all] [--seed 0]

A small network is trained on DelayMatchSample (preset dubreuil2022) in stages: for each
lo:hi:decision of `--stages`, delays drawn from U[lo, hi] ms and a decision epoch of that
length (`train.fit` called once per stage, `--steps` steps each, the model carried over).
After every stage it prints the accuracy on fresh trials of that stage and of the preset
itself (delays U[500, 3000] ms, decision 1000 ms); chance is 0.5.
"""

from __future__ import annotations

import argparse
import time

import jax

import neurodyn as nd


def accuracy(model, task, key, n: int = 512) -> float:
    trials = task.sample(key, n)
    outputs = model.simulate(trials.inputs, key=jax.random.fold_in(key, 1)).outputs
    return float(task.evaluate(outputs, trials)["accuracy"])


def curriculum(model, stages, *, key, steps: int, learning_rate: float, batch_size: int = 32):
    """Train `model` stage by stage: for each (lo, hi, decision) of `stages` (ms), delays
    U[lo, hi] and that decision epoch; yields (stage, stage task, trained model)."""
    for i, (lo, hi, decision) in enumerate(stages):
        task = nd.tasks.DelayMatchSample(delay=(lo, hi), decision=decision)
        fit = nd.train.fit(
            model, task, key=jax.random.fold_in(key, i), steps=steps, batch_size=batch_size,
            learning_rate=learning_rate, eval_every=min(100, steps), progress=False,
        )
        model = fit.model
        yield (lo, hi, decision), task, model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neurons", type=int, default=128)
    p.add_argument("--rank", type=int, default=2, help="0 for a full-rank network")
    p.add_argument("--steps", type=int, default=300, help="training steps per stage")
    p.add_argument(
        "--stages", default="0:100:100,0:100:1000,300:700:1000,500:1000:1000,500:3000:1000",
        help="delay range and decision length lo:hi:decision (ms) of each stage",
    )
    p.add_argument("--train-all", action="store_true", help="train input and output vectors too")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    key = jax.random.key(args.seed)
    full = nd.tasks.DelayMatchSample()
    if args.rank > 0:
        groups = nd.models.LowRankRNN.__init__.__kwdefaults__["train"]
        if args.train_all:
            groups = groups + ("input_vectors", "output_vectors")
        model = nd.models.LowRankRNN(args.neurons, args.rank, 2, 1, train=groups, key=key)
    else:
        groups = nd.models.FullRankRNN.__init__.__kwdefaults__["train"]
        if args.train_all:
            groups = groups + ("input_vectors", "output_vectors")
        model = nd.models.FullRankRNN(args.neurons, 2, 1, train=groups, key=key)
    stages = [tuple(float(v) for v in d.split(":")) for d in args.stages.split(",")]
    print(f"N={args.neurons} rank={args.rank or 'full'} lr={args.lr} {args.steps} steps/stage, "
          f"training {', '.join(groups)}")
    print(f"{'stage (ms)':>18}{'acc (stage)':>13}{'acc (500–3000)':>16}{'time (s)':>10}")
    t0 = time.perf_counter()
    for d, task, model in curriculum(
        model, stages, key=jax.random.fold_in(key, 7), steps=args.steps, learning_rate=args.lr
    ):
        k = jax.random.fold_in(key, int(d[1]))
        stage, whole = accuracy(model, task, k), accuracy(model, full, k)
        span = f"{d[0]:.0f}–{d[1]:.0f}"
        took = time.perf_counter() - t0
        print(f"{span:>13}{stage:>13.3f}{whole:>16.3f}{took:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
