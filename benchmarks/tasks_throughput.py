"""Trials per second: neurodyn's task generators against NeuroGym, in one run.

    python benchmarks/tasks_throughput.py [--batch 1000] [--rounds 20]

For PerceptualDecisionMaking and ContextDecisionMaking (NeuroGym presets: same dt, timings and
layout on both sides), neurodyn samples a batch of `--batch` trials with its compiled `sample`
(steady state: compilation and three warm-up batches excluded, `block_until_ready` on the
whole `Trials` included: what a user waits for to hold the arrays); NeuroGym's
`neurogym.Dataset(env, batch_size=--batch, seq_len=...)` produces batches of concatenated
trials, counted as steps / mean trial length. The two sides alternate, one batch each per
round, so both see the same load.

Two rates per side: per second of wall-clock time (median batch for neurodyn, mean for
NeuroGym, whose Dataset refills a cache of several batches at once) and per second of CPU
time of this process (all threads; totals over the rounds), which a loaded machine distorts
far less. Prints a table, both ratios and the load average.
"""

from __future__ import annotations

import argparse
import os
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


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def compare(
    name: str, env_id: str, kwargs: dict, batch: int, rounds: int, warmup: int = 3
) -> dict:
    import neurogym as ngym

    task = nd.tasks.make(name, preset="neurogym")
    keys = list(jax.random.split(jax.random.key(1), rounds + warmup))
    for k in keys[:warmup]:  # compile, then a few batches to reach the steady state
        jax.block_until_ready(task.sample(k, batch))

    env = ngym.make(env_id, **kwargs).unwrapped
    if float(env.dt) != task.dt:
        raise RuntimeError(f"{name}: dt {task.dt} ms here, {env.dt} ms in NeuroGym")
    lengths = []
    for _ in range(200):
        env.new_trial()
        lengths.append(env.ob.shape[0])
    mean_len = float(np.mean(lengths))
    seq_len = int(np.ceil(mean_len))
    data = ngym.Dataset(env_id, env_kwargs=kwargs, batch_size=batch, seq_len=seq_len)
    for _ in range(warmup):  # fill NeuroGym's first caches, as for neurodyn
        data()
    per_batch = batch * seq_len / mean_len  # NeuroGym trials in one batch of steps

    ours, theirs = [], []
    for k in keys[warmup:]:
        # The whole `Trials` (inputs, targets, mask, conditions, epochs) ready on the device.
        ours.append(_timed(lambda k=k: jax.block_until_ready(task.sample(k, batch))))
        theirs.append(_timed(data))
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    return {
        "ours_wall": batch / float(np.median(ours[:, 0])),
        "theirs_wall": per_batch / float(np.mean(theirs[:, 0])),
        "ours_cpu": batch * rounds / float(np.sum(ours[:, 1])),
        "theirs_cpu": per_batch * rounds / float(np.sum(theirs[:, 1])),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args(argv)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, batch {args.batch}, "
          f"{args.rounds} rounds, load average before: {os.getloadavg()[0]:.1f}")
    head = f"{'task':<26}{'':>6}{'neurodyn trials/s':>19}{'neurogym trials/s':>19}{'ratio':>9}"
    print(head)
    for name, env_id, kwargs in CASES:
        r = compare(name, env_id, kwargs, args.batch, args.rounds)
        for clock in ("wall", "cpu"):
            ours, theirs = r[f"ours_{clock}"], r[f"theirs_{clock}"]
            label = name if clock == "wall" else ""
            print(f"{label:<26}{clock:>6}{ours:>19,.0f}{theirs:>19,.0f}{ours / theirs:>8.0f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
