"""Trials per second: neurodyn's task generators against NeuroGym, in one run.

    python benchmarks/tasks_throughput.py [--batch 1000] [--repeats 20]

For PerceptualDecisionMaking and ContextDecisionMaking (NeuroGym presets: same dt, timings and
layout on both sides), neurodyn samples a batch of `--batch` trials with its compiled `sample`
(steady state: compilation excluded, `block_until_ready` included; median batch time,
robust to other processes on a shared CPU); NeuroGym's
`neurogym.Dataset(env, batch_size=--batch, seq_len=...)` produces batches of concatenated
trials, counted as steps / mean trial length. Prints a table and the ratio.
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax
import numpy as np

import neurodyn as nd

warnings.filterwarnings("ignore")

CASES = [
    ("PerceptualDecisionMaking", "PerceptualDecisionMaking-v0", {}),
    ("ContextDecisionMaking", "ContextDecisionMaking-v0", {"use_expl_context": True}),
]


def neurodyn_rate(name: str, batch: int, repeats: int) -> tuple[float, float]:
    task = nd.tasks.make(name, preset="neurogym")
    keys = jax.random.split(jax.random.key(1), repeats)
    for k in keys[:2]:  # compile (keys taken from a split array compile once more)
        jax.block_until_ready(task.sample(k, batch).inputs)
    times = []
    for k in keys:
        t0 = time.perf_counter()
        jax.block_until_ready(task.sample(k, batch).inputs)
        times.append(time.perf_counter() - t0)
    return batch / float(np.median(times)), float(task.n_steps)


def neurogym_rate(env_id: str, kwargs: dict, batch: int, repeats: int) -> tuple[float, float]:
    import neurogym as ngym

    env = ngym.make(env_id, **kwargs).unwrapped
    lengths = []
    for _ in range(200):
        env.new_trial()
        lengths.append(env.ob.shape[0])
    mean_len = float(np.mean(lengths))
    seq_len = int(np.ceil(mean_len))
    data = ngym.Dataset(env_id, env_kwargs=kwargs, batch_size=batch, seq_len=seq_len)
    data()  # warm up the first cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        data()
        times.append(time.perf_counter() - t0)
    # Dataset refills a cache of several batches at once: use the mean, not the median.
    return batch * seq_len / mean_len / float(np.mean(times)), mean_len


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, batch {args.batch}")
    print(f"{'task':<26}{'neurodyn trials/s':>20}{'neurogym trials/s':>20}{'ratio':>10}")
    for name, env_id, kwargs in CASES:
        ours, _ = neurodyn_rate(name, args.batch, args.repeats)
        theirs, _ = neurogym_rate(env_id, kwargs, args.batch, max(2, args.repeats // 4))
        print(f"{name:<26}{ours:>20,.0f}{theirs:>20,.0f}{ours / theirs:>9.0f}x")


if __name__ == "__main__":
    main()
