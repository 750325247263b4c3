"""Maheswaranathan, Williams, Golub, Ganguli & Sussillo 2019 (NeurIPS), "Universality and
individuality in neural dynamics across large populations of recurrent networks".

Trains ensembles of vanilla (tanh), GRU, LSTM and low-rank networks (one `fit_ensemble` per
architecture, seeds vmapped) on the 3-bit flip-flop (`golub2018` preset) and on
context-dependent integration (`ContextDecisionMaking`), then asks what is individual and what
is universal:

- fixed-point topology (universal, as published): per flip-flop network, the fixed points at
  zero input and their graph (`compare.topology`: nodes labelled by unstable modes, edges from
  each index-1 saddle's unstable manifold to the memories it ends at); the "core" graph of the
  memories and index-1 saddles is compared across networks with `compare.same_topology`. Per
  context network, the slow points with one context cue on: one line of points per context.
- representational geometry (individual, as published): the hidden activity of every network
  on the same trials (`[trials, time, units]`; the LSTM's h, the low-rank network's rates
  φ(x)), compared pairwise by SVCCA distance (1 − mean canonical correlation of the top
  `n_components` directions, the paper's measure) and angular Procrustes distance; within- vs
  between-architecture means and how often a network's nearest neighbour shares its
  architecture.
- dynamics (Ostrow et al. 2023's reading of the same question): DSA distances (HAVOK operators
  of the delay-embedded activity, Procrustes over vector fields) on the same activity sets.

    python experiments/maheswaranathan2019_universality/run.py --config small|paper [--out DIR]
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import compare, fixedpoints as fp  # noqa: E402

KEYS = dict(seed=int, architectures=list, context_architectures=list, n_neurons=int, rank=int,
            n_seeds=int, flipflop_steps=int, context_steps=int, batch_size=int, learning_rate=float,
            n_trials=int, n_starts=int, noise_scale=float, manifold_steps=int,
            context_max_steps=int, context_max_q=float, n_components=int, dsa_delays=int,
            dsa_rank=int, dsa_steps=int, learned=float)
ARCHITECTURES = ("RNN", "GRU", "LSTM", "LowRank")
TASKS = ("flipflop", "context")


def make_model(arch: str, task_name: str, task, cfg, key):
    """One network of `arch` for the task (the low-rank one in its paper's convention:
    α = 1 and no noise for the flip-flop, as the vanilla networks; Dubreuil et al.'s τ for the
    context task)."""
    n, i, o = cfg["n_neurons"], task.n_inputs, task.n_outputs
    if arch == "LowRank":
        kw = dict(tau=task.dt, dt=task.dt, noise_std=0.0) if task_name == "flipflop" else {}
        return nd.models.LowRankRNN(
            n, cfg["rank"], i, o, key=key,
            train=("m", "n", "input_vectors", "input_gains", "output_vectors", "output_gains"),
            **kw)
    return getattr(nd.models, arch)(n, i, o, key=key)


def activity(model, states):
    """The units' activity a study would record: h (gated), φ(x) (low-rank rates)."""
    if isinstance(model, nd.models.LowRankRNN):
        return model.phi(states)
    return model.hidden(states)


def train_all(task_name, task, cfg):
    """Per architecture, `n_seeds` networks from one `fit_ensemble`: a list of
    (architecture, seed, model)."""
    steps = cfg[f"{task_name}_steps"]
    archs = cfg["architectures"] if task_name == "flipflop" else cfg["context_architectures"]
    nets = []
    for a, arch in enumerate(archs):
        keys = jax.random.split(C.key(cfg["seed"], TASKS.index(task_name), a), cfg["n_seeds"])
        fit = nd.train.fit_ensemble(
            lambda k, arch=arch: make_model(arch, task_name, task, cfg, k), task, keys=keys,
            steps=steps, batch_size=cfg["batch_size"], learning_rate=cfg["learning_rate"],
            clip_norm=1.0, eval_every=steps, keep_best=False, progress=False, devices=1)
        nets += [(arch, s, nd.train.member(fit.model, s)) for s in range(cfg["n_seeds"])]
    return nets


def corner(z) -> tuple[int, ...]:
    return tuple(int(s) for s in np.sign(np.asarray(z)))


def between_graph(graph):
    """The memories and the index-1 saddles between two of them: the subgraph of `graph` made
    of its stable points and of the saddles with one unstable mode whose two manifold branches
    end at two different stable points (slow points and saddles that the search finds in some
    networks but that connect no memories drop out), renumbered."""
    n_un, edges = graph.n_unstable, graph.edges
    keep = n_un == 0
    for s in np.flatnonzero(n_un == 1):
        ends = edges[edges[:, 0] == s, 1]
        keep[s] = len(ends) == 2 and ends[0] != ends[1] and bool(np.all(n_un[ends] == 0))
    new = np.cumsum(keep) - 1
    sub = edges[keep[edges[:, 0]] & keep[edges[:, 1]]]
    return compare.Topology(n_un[keep], new[sub].reshape(-1, 2), graph.xstar[keep])


def cube_graph(n_bits: int):
    """The published flip-flop scaffold (Sussillo & Barak 2013; Maheswaranathan et al. 2019,
    Fig. 1e): a memory at each corner of the cube {−1, 1}^n and one index-1 saddle on each
    edge, its unstable manifold running to the two corners of that edge."""
    corners = list(itertools.product((-1, 1), repeat=n_bits))
    pairs = [(a, b) for a, b in itertools.combinations(range(len(corners)), 2)
             if sum(x != y for x, y in zip(corners[a], corners[b])) == 1]
    n = len(corners)
    edges = [(n + k, e) for k, pair in enumerate(pairs) for e in pair]
    xstar = np.asarray(corners + [tuple((np.add(corners[a], corners[b])) / 2) for a, b in pairs],
                       np.float64)
    return compare.Topology(np.repeat([0, 1], [n, len(pairs)]), np.asarray(edges, np.int64),
                            xstar)


def flipflop_network(model, task, trials, cfg, index):
    """Accuracy, activity and fixed-point graph of one flip-flop network."""
    roll = model.simulate(trials.inputs, key=None, noise=False)
    acc = float(task.evaluate(roll.outputs, trials).accuracy)
    x0 = fp.sample_states(roll, cfg["n_starts"], key=C.key(cfg["seed"], 10, index),
                          noise_scale=cfg["noise_scale"])
    fps = fp.find(model, x0, jnp.zeros(task.n_inputs), progress=False)
    n_un = np.asarray(fps.n_unstable)
    core = fps[jnp.asarray(n_un <= 1)]
    graph = between_graph(compare.topology(model, core, n_steps=cfg["manifold_steps"]))
    z = np.asarray(model.readout(fps.xstar[np.asarray(fps.stable)]))
    corners = {corner(r) for r in z} & set(itertools.product((-1, 1), repeat=task.n_bits))
    edges_between = 0  # index-1 saddles whose two branches end at memories one bit apart
    for s in np.flatnonzero(graph.n_unstable == 1):
        za, zb = (np.sign(np.asarray(model.readout(graph.xstar[e])))
                  for e in graph.edges[graph.edges[:, 0] == s, 1])
        edges_between += int(np.sum(za != zb) == 1)
    counts = np.bincount(np.minimum(n_un, 3), minlength=4)
    info = dict(accuracy=acc, n_stable=int(counts[0]), n_corners=len(corners),
                saddles=counts[1:].tolist(), n_points=int(fps.n_points),
                saddles_between=edges_between)
    return info, np.asarray(activity(model, roll.states)), graph


def context_network(model, task, trials, cfg, index):
    """Accuracy, activity and per-context slow points (Mante et al. 2013's analysis)."""
    roll = model.simulate(trials.inputs, key=C.key(cfg["seed"], 11, index))
    acc = float(task.evaluate(roll.outputs, trials).accuracy)
    ctx = np.asarray(trials.conditions["context"])
    states = np.asarray(roll.states)
    rng = np.random.default_rng(cfg["seed"] + index)
    x0, u = [], []
    for c in (0, 1):
        pool = states[ctx == c].reshape(-1, states.shape[-1])
        x0.append(pool[rng.choice(len(pool), cfg["n_starts"], replace=False)])
        inp = np.zeros(task.n_inputs)
        inp[2 + c] = task.context_level
        u.append(np.tile(inp, (cfg["n_starts"], 1)))
    fps = fp.find(model, jnp.asarray(np.concatenate(x0), jnp.float32),
                  jnp.asarray(np.concatenate(u), jnp.float32),
                  condition_id=np.repeat([0, 1], cfg["n_starts"]), newton=False,
                  max_steps=cfg["context_max_steps"], max_q=cfg["context_max_q"], progress=False)
    la = fp.line_attractor(fps)
    slow = [np.abs(la.slow_eigenvalue[la.condition_id == c]) for c in (0, 1)]
    info = dict(accuracy=acc, pc1_fraction=[float(e) for e in la.explained],
                slow_abs_eigval=[float(np.median(s)) if s.size else float("nan") for s in slow],
                n_points=[int(np.sum(la.condition_id == c)) for c in (0, 1)])
    return info, np.asarray(activity(model, roll.states))


def distances(acts, cfg):
    """Pairwise SVCCA distance (1 − mean correlation), angular Procrustes distance and DSA."""
    m = len(acts)
    svcca, proc = np.zeros((m, m)), np.zeros((m, m))
    for i, j in itertools.combinations(range(m), 2):
        k = min(cfg["n_components"], acts[i].shape[-1], acts[j].shape[-1])
        svcca[i, j] = svcca[j, i] = 1 - float(compare.svcca(acts[i], acts[j], n_components=k).mean)
        proc[i, j] = proc[j, i] = float(compare.procrustes(acts[i], acts[j]))
    dsa = np.asarray(compare.dsa_matrix(acts, n_delays=cfg["dsa_delays"], rank=cfg["dsa_rank"],
                                        steps=cfg["dsa_steps"], progress=False).distances)
    return dict(svcca=svcca, procrustes=proc, dsa=np.asarray(dsa, np.float64))


def separation(d: np.ndarray, labels: list[str]) -> dict:
    """Within- and between-architecture mean distances, their ratio, and the fraction of
    networks whose nearest neighbour has the same architecture (chance: (s − 1)/(M − 1))."""
    lab = np.asarray(labels)
    same = lab[:, None] == lab[None, :]
    off = ~np.eye(len(lab), dtype=bool)
    within, between = float(d[same & off].mean()), float(d[~same].mean())
    nn = np.argmin(np.where(off, d, np.inf), axis=1)
    return dict(within=within, between=between, ratio=between / max(within, 1e-12),
                nn_same=float(np.mean(lab[nn] == lab)))


def study_task(task_name, cfg):
    """Train, analyse and compare every network of one task (a JSON-able dict)."""
    task = (nd.tasks.FlipFlop(preset="golub2018") if task_name == "flipflop"
            else nd.tasks.make("ContextDecisionMaking"))
    nets = train_all(task_name, task, cfg)
    trials = task.sample(C.key(cfg["seed"], 20, TASKS.index(task_name)), cfg["n_trials"])
    infos, acts, graphs = [], [], []
    for k, (arch, seed, model) in enumerate(nets):
        if task_name == "flipflop":
            info, act, graph = flipflop_network(model, task, trials, cfg, k)
            graphs.append(graph)
        else:
            info, act = context_network(model, task, trials, cfg, k)
        infos.append(dict(info, architecture=arch, seed=seed))
        acts.append(act)
    labels = [a for a, _, _ in nets]
    learned = [i for i, r in enumerate(infos) if r["accuracy"] >= cfg["learned"]]
    out = dict(networks=infos, labels=labels, learned=learned)
    if len(learned) >= 2:
        d = distances([acts[i] for i in learned], cfg)
        lab = [labels[i] for i in learned]
        out["distances"] = {k: v.tolist() for k, v in d.items()}
        out["separation"] = {k: separation(v, lab) for k, v in d.items()}
    if task_name == "flipflop":
        cube = cube_graph(task.n_bits)
        out["same_as_cube"] = [bool(compare.same_topology(cube, graphs[i])) for i in learned]
        out["topology_distance"] = [[compare.topology_distance(graphs[i], graphs[j])
                                     for j in learned] for i in learned]
    return out


def by_arch(res, field, archs, fn=np.mean):
    """Per architecture, `fn` of a per-network value over its learned networks."""
    vals = {}
    for a in archs:
        v = [res["networks"][i][field] for i in res["learned"] if res["labels"][i] == a]
        vals[a] = float(fn(v)) if v else float("nan")
    return vals


def line_summary(cx, archs) -> dict:
    """Per architecture: how many learned context networks hold a line of slow points in both
    contexts, and the median first-PC fraction and slowest |λ| (None: fewer than 2 points)."""
    out = dict(lines={}, pc1={}, lam={})
    for a in archs:
        nets = [cx["networks"][i] for i in cx["learned"] if cx["labels"][i] == a]
        ok = [all(n >= 3 and p is not None and p >= 0.9
                  for n, p in zip(r["n_points"], r["pc1_fraction"])) for r in nets]
        pc1 = [p for r in nets for p in r["pc1_fraction"] if p is not None]
        lam = [x for r in nets for x in r["slow_abs_eigval"] if x is not None]
        out["lines"][a] = (int(sum(ok)), len(nets))
        out["pc1"][a] = float(np.median(pc1)) if pc1 else float("nan")
        out["lam"][a] = float(np.median(lam)) if lam else float("nan")
    return out


def cube_counts(ff, archs) -> dict:
    """Per architecture, "k of n": learned flip-flop networks whose graph is the cube's."""
    out = {}
    for a in archs:
        same = [s for s, i in zip(ff["same_as_cube"], ff["learned"]) if ff["labels"][i] == a]
        out[a] = f"{sum(same)} of {len(same)}"
    return out


def rows_for(ff, cx, archs, carchs):
    def per_arch(v):
        return " / ".join(f"{a} {C.fmt(v[a])}" for a in archs)

    def per_arch_c(v):
        return " / ".join(f"{a} {C.fmt(v[a])}" for a in carchs)

    acc = {t: {a: [r["accuracy"] for r in res["networks"] if r["architecture"] == a]
               for a in ar} for t, res, ar in (("flipflop", ff, archs), ("context", cx, carchs))}
    rows = [C.Row("flip-flop accuracy per architecture (mean)",
                  per_arch({a: np.mean(acc["flipflop"][a]) for a in archs}), "≈1 (trained)"),
            C.Row("flip-flop networks that learned (used below)",
                  f"{len(ff['learned'])} of {len(ff['networks'])}", "–")]
    rows += [
        C.Row("stable points per learned network (mean)",
              per_arch(by_arch(ff, "n_stable", archs)), 8, "every architecture"),
        C.Row("cube corners held by a stable point (mean)",
              per_arch(by_arch(ff, "n_corners", archs)), 8),
        C.Row("index-1 saddles between memories one bit apart (mean)",
              per_arch(by_arch(ff, "saddles_between", archs)), 12,
              "Sussillo & Barak 2013; Maheswaranathan et al. Fig. 1e"),
        C.Row("learned networks whose graph of memories and the saddles between them is "
              "the cube's (8 memories, 12 saddles, each joining two neighbours)",
              per_arch(cube_counts(ff, archs)),
              "all (universal topology)",
              "compare.same_topology on the stable points and the index-1 saddles whose "
              "unstable manifold joins two of them"),
    ]
    for t, res in (("flip-flop", ff), ("context", cx)):
        sep = res.get("separation")
        if not sep:
            rows.append(C.Row(f"{t}: distances", "fewer than 2 learned networks", "–"))
            continue
        for name, pub in (("svcca", "between > within: networks cluster by architecture "
                                    "(MDS, Fig. 1d, 2, 3)"),
                          ("procrustes", "between > within (Ostrow et al. 2023: shape "
                                         "metrics separate architectures)"),
                          ("dsa", "between ≈ within (Ostrow et al. 2023: DSA groups them)")):
            s = sep[name]
            rows.append(C.Row(f"{t}: {name} within / between architecture (ratio; "
                              "nearest neighbour same arch.)",
                              f"{s['within']:.3f} / {s['between']:.3f} ({s['ratio']:.2f}; "
                              f"{s['nn_same']:.2f})", pub))
    rows.append(C.Row("context accuracy per architecture (mean)",
                      per_arch_c({a: np.mean(acc["context"][a]) for a in carchs}),
                      "≈1 (trained)"))
    lines = line_summary(cx, carchs)
    rows += [C.Row("context: learned networks with a line of slow points in each context",
                   per_arch_c({a: f"{v[0]} of {v[1]}" for a, v in lines["lines"].items()}),
                   "all: one line attractor per context (Mante et al. 2013; the paper's Fig. 4)",
                   "≥ 3 slow points per context, ≥ 90 % of their variance on the first PC"),
             C.Row("context: first-PC variance of the slow points (median over learned "
                   "networks and contexts)", per_arch_c(lines["pc1"]), "≈1 (a line)"),
             C.Row("context: slowest |λ| at the slow points (median)", per_arch_c(lines["lam"]),
                   "≈1 (marginally stable line)")]
    return rows


def compute(cfg):
    """Universality and individuality across architectures (Maheswaranathan et al. 2019)."""
    cfg = C.require(cfg, KEYS)
    for name in ("architectures", "context_architectures"):
        if not cfg[name] or any(a not in ARCHITECTURES for a in cfg[name]):
            raise ValueError(f"{name} must be a non-empty list from {list(ARCHITECTURES)}, "
                             f"got {cfg[name]}")
    archs, carchs = list(cfg["architectures"]), list(cfg["context_architectures"])
    ff = C.cached("flipflop", cfg, lambda: study_task("flipflop", cfg))
    cx = C.cached("context", cfg, lambda: study_task("context", cfg))
    rows = rows_for(ff, cx, archs, carchs)
    return C.Study("Universality and individuality across RNN architectures",
                   "Maheswaranathan, Williams, Golub, Ganguli & Sussillo 2019, NeurIPS; "
                   "Ostrow, Eisen, Kozachkov & Fiete 2023, NeurIPS (DSA)",
                   rows, dict(flipflop=ff, context=cx, architectures=archs,
                                      context_lines=line_summary(cx, carchs)), figure(ff, cx))


def figure(ff, cx):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    names = (("svcca", "SVCCA distance"), ("procrustes", "Procrustes (angular)"),
             ("dsa", "DSA"))
    for r, (t, res) in enumerate((("flip-flop", ff), ("context", cx))):
        for c, (k, title) in enumerate(names):
            ax = axes[r, c]
            if "distances" not in res:
                ax.set_axis_off()
                continue
            d = np.asarray(res["distances"][k])
            im = ax.imshow(d, cmap="viridis")
            lab = [res["labels"][i] for i in res["learned"]]
            ticks = [i for i in range(len(lab)) if i == 0 or lab[i] != lab[i - 1]]
            ax.set_xticks(ticks, [lab[i] for i in ticks], rotation=45, fontsize=7)
            ax.set_yticks(ticks, [lab[i] for i in ticks], fontsize=7)
            ax.set_title(f"{t}: {title}", fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    C.main(__file__, compute)
