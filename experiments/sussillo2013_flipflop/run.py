"""Sussillo & Barak 2013 / Golub & Sussillo 2018: the fixed points of a trained 3-bit flip-flop.

Trains a vanilla tanh RNN (α = 1, no noise) on the `golub2018` FlipFlop preset, then searches
fixed points at zero input from states its trajectories visit (plus noise). Counts the stable
points (expected: 8, one per corner of the memory cube) and the saddles by number of unstable
modes (published: 12 / 6 / 1), and follows each index-1 saddle's unstable manifold to count the
saddles that sit between two memories one bit apart. Networks that hold the memories in
period-2 cycles are analysed as fixed points of F∘F instead.

    python experiments/sussillo2013_flipflop/run.py --config small|paper [--out DIR]
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import fixedpoints as fp  # noqa: E402

KEYS = dict(n_neurons=int, steps=int, batch_size=int, learning_rate=float, seed=int,
            n_starts=int, noise_scale=float, manifold_steps=int)


def corner(z) -> tuple[int, ...]:
    return tuple(int(s) for s in np.sign(np.asarray(z)))


def train(cfg):
    task = nd.tasks.FlipFlop(preset="golub2018")
    model = nd.models.FullRankRNN(
        cfg["n_neurons"], task.n_inputs, task.n_outputs, tau=task.dt, dt=task.dt,
        noise_std=0.0, rho=0.9, readout_std=1.0,
        train=("J", "input_vectors", "input_gains", "output_vectors", "output_gains"),
        key=C.key(cfg["seed"], 0),
    )
    fit = nd.train.fit(model, task, key=C.key(cfg["seed"], 1), steps=cfg["steps"],
                       batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"],
                       clip_norm=1.0, eval_every=cfg["steps"], progress=False)
    trials = task.sample(C.key(cfg["seed"], 2), 256)
    roll = fit.model.simulate(trials.inputs, key=None, noise=False)
    return fit.model, task, trials, roll, float(task.evaluate(roll.outputs, trials).accuracy)


def saddles_between(model, fps, manifold_steps: int) -> int:
    """Index-1 saddles whose two unstable branches end at memories differing in one bit."""
    saddle = np.asarray(fps.n_unstable) == 1
    if not saddle.any() or not np.asarray(fps.stable).any():
        return 0
    man = fp.unstable_manifolds(model, fps, n_steps=manifold_steps, max_modes=1)
    count = 0
    for row in np.flatnonzero(np.asarray(fps.n_unstable)[man.saddle] == 1):
        a, b = man.ends[row]
        if a < 0 or b < 0 or a == b:
            continue
        za, zb = (np.sign(np.asarray(model.readout(fps.xstar[i]))) for i in (a, b))
        count += int(np.sum(za != zb) == 1)
    return count


def compute(cfg):
    """3-bit flip-flop fixed points (Sussillo & Barak 2013)."""
    cfg = C.require(cfg, KEYS)
    model, task, trials, roll, accuracy = train(cfg)
    x0 = fp.sample_states(roll, cfg["n_starts"], key=C.key(cfg["seed"], 3),
                          noise_scale=cfg["noise_scale"])
    u = jnp.zeros(task.n_inputs)
    period = 1
    fps = fp.find(model, x0, u, progress=False)
    memories = {corner(model.readout(x)) for x in fps.xstar[np.asarray(fps.stable)]}
    if len(memories) < 2**task.n_bits:  # memories held in 2-cycles? (Golub & Sussillo 2018)
        fps2 = fp.find(model, x0, u, period=2, progress=False)
        corners2 = {corner(model.readout(x)) for x in fps2.xstar[np.asarray(fps2.stable)]}
        if len(corners2) > len(memories):
            fps, memories, period = fps2, corners2, 2
    n_unstable = np.asarray(fps.n_unstable)
    counts = np.bincount(n_unstable, minlength=4)
    stable_z = np.asarray(model.readout(fps.xstar[np.asarray(fps.stable)]))
    between = saddles_between(model, fps, cfg["manifold_steps"]) if period == 1 else None
    all_corners = set(itertools.product((-1, 1), repeat=task.n_bits))
    rows = [
        C.Row("task accuracy (all bits, every step)", accuracy, "≈1 (trained to criterion)"),
        C.Row("period of the memory states", period, "1 (some networks: 2)",
              "Golub & Sussillo 2018: some networks hold memories in 2-cycles"),
        C.Row("stable points", int(counts[0]), 8),
        C.Row("cube corners held by a stable point", len(memories & all_corners), 8),
        C.Row("smallest output magnitude at the stable points",
              float(np.abs(stable_z).min()) if stable_z.size else float("nan"), "≈1"),
        C.Row("saddles with 1 / 2 / 3 unstable modes",
              f"{counts[1]} / {counts[2]} / {counts[3:].sum()}", "12 / 6 / 1",
              "higher-index saddles are reached from fewer starts"),
        C.Row("unique points in total", int(fps.n_points), 27),
        C.Row("index-1 saddles between two memories one bit apart", between, 12,
              "unstable manifold ends at two corners differing in one bit"),
    ]
    data = dict(accuracy=accuracy, period=period, counts_by_n_unstable=counts.tolist(),
                n_points=int(fps.n_points), corners=sorted(memories), saddles_between=between,
                report=fps.report.counts(), n_starts=int(fps.report.n_starts))
    return C.Study("3-bit flip-flop: fixed-point structure",
                   "Sussillo & Barak 2013, Neural Comput.; Golub & Sussillo 2018, JOSS",
                   rows, data, figure(model, task, trials, roll, fps))


def figure(model, task, trials, roll, fps):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 4))
    ax = fig.add_subplot(1, 2, 1)
    t = np.arange(trials.n_steps)
    for b in range(task.n_bits):
        ax.plot(t, np.asarray(trials.targets[0, :, b]) + 3 * b, "k", lw=1)
        ax.plot(t, np.asarray(roll.outputs[0, :, b]) + 3 * b, lw=1.5)
    ax.set(xlabel="step", yticks=[], title="targets (black) and outputs, one trial")
    ax = fig.add_subplot(1, 2, 2, projection="3d")
    z = np.asarray(model.readout(fps.xstar))
    n_un = np.asarray(fps.n_unstable)
    for k, (c, lab) in enumerate(zip(("tab:blue", "tab:red", "tab:orange", "tab:purple"),
                                     ("stable", "1 unstable", "2 unstable", "3+ unstable"))):
        sel = np.minimum(n_un, 3) == k
        ax.scatter(*z[sel].T, c=c, s=30, label=lab)
    ax.set(xlabel="bit 1", ylabel="bit 2", zlabel="bit 3", title="fixed points (readout)")
    ax.legend(fontsize=7)
    return fig


if __name__ == "__main__":
    C.main(__file__, compute)
