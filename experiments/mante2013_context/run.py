"""Mante, Sussillo, Shenoy & Newsome 2013 (Nature): context-dependent integration by one
approximate line attractor per context, with a context-dependent selection vector.

Trains a low-rank RNN on ContextDecisionMaking (inputs [A, B, ctx_A, ctx_B]; in context A the
sign of A is reported), then searches slow points with the stimulus off and one context unit on,
from states the trials visit in that context. Adam only, a short budget and a loose `max_q`, so
that the search stops on the slow manifold instead of running into its few exact fixed points.
Per context it reports: how line-like the slow points are (fraction of their variance on the
first principal axis), the eigenvalue nearest the stability boundary (|λ| ≈ 1 for the discrete
map), and the selection vector — the left eigenvector l of that mode, scaled so that lᵀr = 1 —
through lᵀ b_k, the displacement along the line caused by a unit pulse on input k
(b_k = ∂F/∂u_k). For a rank-1 network the left eigenvector is known in closed form,
l ∝ φ'(x*) ⊙ n, which the run checks.

    python experiments/mante2013_context/run.py --config small|paper [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import fixedpoints as fp  # noqa: E402

KEYS = dict(seed=int, n_neurons=int, rank=int, steps=int, learning_rate=float, n_trials=int,
            n_starts=int, max_steps=int, max_q=float)
INPUTS = ("A", "B")


def train(cfg):
    task = nd.tasks.make("ContextDecisionMaking")
    model = nd.models.LowRankRNN(
        cfg["n_neurons"], cfg["rank"], task.n_inputs, task.n_outputs,
        train=("m", "n", "input_vectors", "input_gains", "output_gains"),
        key=C.key(cfg["seed"], 0))
    fit = nd.train.fit(model, task, key=C.key(cfg["seed"], 1), steps=cfg["steps"],
                       learning_rate=cfg["learning_rate"], eval_every=cfg["steps"],
                       progress=False)
    trials = task.sample(C.key(cfg["seed"], 2), cfg["n_trials"])
    roll = fit.model.simulate(trials.inputs, key=C.key(cfg["seed"], 3))
    return fit.model, task, trials, roll, float(task.evaluate(roll.outputs, trials).accuracy)


def starts(cfg, task, trials, roll):
    """`n_starts` visited states per context, with that context's stimulus-off input."""
    ctx = np.asarray(trials.conditions["context"])
    states = np.asarray(roll.states)
    x0, u = [], []
    for c in (0, 1):
        pool = states[ctx == c].reshape(-1, states.shape[-1])
        rng = np.random.default_rng(cfg["seed"] + c)
        x0.append(pool[rng.choice(len(pool), cfg["n_starts"], replace=False)])
        inp = np.zeros(task.n_inputs)
        inp[2 + c] = task.context_level
        u.append(np.tile(inp, (cfg["n_starts"], 1)))
    return jnp.asarray(np.concatenate(x0)), jnp.asarray(np.concatenate(u))


def per_context(model, fps, la):
    """Line-attractor and selection-vector summary of each context's slow points."""
    cond = np.asarray(fps.condition_id)
    B = np.asarray(fps.input_jacobians)[la.index][:, :, :2]  # b_A, b_B at each point
    proj = np.einsum("mn,mnk->mk", la.left, B)
    out = {}
    for c in (0, 1):
        xs = np.asarray(fps.xstar)[cond == c]
        sv = np.linalg.svd(xs - xs.mean(0), compute_uv=False) ** 2 if len(xs) > 1 else [1.0]
        sel = la.condition_id == c
        lam = np.abs(la.slow_eigenvalue[sel])
        r = dict(n_points=int(len(xs)), pc1_fraction=float(sv[0] / np.sum(sv)),
                 slow_abs_eigval_median=float(np.median(lam)),
                 slow_abs_eigval_range=[float(lam.min()), float(lam.max())],
                 next_time_constant_median=float(np.median(la.next_time_constant[sel])),
                 selection_A=float(np.median(np.abs(proj[sel, 0]))),
                 selection_B=float(np.median(np.abs(proj[sel, 1]))))
        if model.rank == 1:  # closed form: l ∝ φ'(x*) ⊙ n for J = m nᵀ/N
            xstar = jnp.asarray(np.asarray(fps.xstar)[la.index[sel]])
            dphi = jax.vmap(jax.grad(lambda v: jnp.sum(model.phi(v))))(xstar)
            l_true = np.asarray(dphi) * np.asarray(model.n)[None, :, 0]
            cos = np.abs(np.sum(l_true * la.left[sel], 1)) / (
                np.linalg.norm(l_true, axis=1) * np.linalg.norm(la.left[sel], axis=1))
            r["closed_form_cos_min"] = float(cos.min())
        out[c] = r
    d = la.direction
    out["line_direction_cos"] = float(abs(d[0] @ d[1]) / np.linalg.norm(d[0]) /
                                      np.linalg.norm(d[1])) if len(d) == 2 else float("nan")
    return out


def output_slopes(trials, roll):
    """Per context, least-squares slopes of the mean decision-epoch output on coh_A and coh_B:
    how much each stimulus moves the choice (Mante et al. 2013, Fig. 1)."""
    dec = np.asarray(trials.epochs["decision"])
    t = np.arange(trials.n_steps)
    in_dec = (t >= dec[:, :1]) & (t < dec[:, 1:])
    z = (np.asarray(roll.outputs[..., 0]) * in_dec).sum(1) / in_dec.sum(1)
    cond = {k: np.asarray(v) for k, v in trials.conditions.items()}
    out = {}
    for c in (0, 1):
        sel = cond["context"] == c
        X = np.stack([cond["coh_a"][sel], cond["coh_b"][sel], np.ones(sel.sum())], 1)
        out[c] = np.linalg.lstsq(X, z[sel], rcond=None)[0][:2].tolist()
    return out


def compute(cfg):
    """One line attractor per context and selection vectors (Mante et al. 2013)."""
    cfg = C.require(cfg, KEYS)
    model, task, trials, roll, accuracy = train(cfg)
    x0, u = starts(cfg, task, trials, roll)
    context = np.repeat([0, 1], cfg["n_starts"])  # condition 0 = attend A, 1 = attend B
    fps = fp.find(model, x0, u, condition_id=context, newton=False, max_steps=cfg["max_steps"],
                  max_q=cfg["max_q"], progress=False)
    la = fp.line_attractor(fps)
    res = per_context(model, fps, la)
    slopes = output_slopes(trials, roll)
    rows = [C.Row("task accuracy", accuracy, "0.998 (Dubreuil 2022, rank 1)")]
    for c in (0, 1):
        r, name = res[c], f"context {INPUTS[c]}"
        r["output_slope_A"], r["output_slope_B"] = slopes[c]
        rows += [
            C.Row(f"{name}: choice slope on coh_A / coh_B",
                  f"{slopes[c][0]:.2f} / {slopes[c][1]:.2f}",
                  "relevant large, irrelevant ≈ 0", "decision-epoch output vs coherence"),
            C.Row(f"{name}: slow points kept", r["n_points"], "–"),
            C.Row(f"{name}: variance on first PC of slow points", r["pc1_fraction"], "≈1 (a line)"),
            C.Row(f"{name}: slowest eigenvalue magnitude (median)", r["slow_abs_eigval_median"],
                  "≈1 (discrete map)", f"range {C.fmt(r['slow_abs_eigval_range'])}"),
            C.Row(f"{name}: next-slowest time constant (median, ms)",
                  r["next_time_constant_median"], "short (strongly stable)"),
            C.Row(f"{name}: selection lᵀb_A (relevant: {c == 0})", r["selection_A"],
                  "large if relevant"),
            C.Row(f"{name}: selection lᵀb_B (relevant: {c == 1})", r["selection_B"],
                  "large if relevant"),
        ]
        if "closed_form_cos_min" in r:
            rows.append(C.Row(f"{name}: cos(l, φ'(x*)⊙n) (rank-1 check, min)",
                              r["closed_form_cos_min"], "1 (exact)"))
    rows.append(C.Row("cos between the two contexts' line directions",
                      res["line_direction_cos"], "–"))
    return C.Study("Context-dependent integration: line attractors and selection vectors",
                   "Mante et al. 2013, Nature; Dubreuil et al. 2022", rows,
                   dict(accuracy=accuracy, contexts=res, report=fps.report.counts()),
                   figure(model, fps, la))


def figure(model, fps, la):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    z = np.asarray(model.readout(fps.xstar))[:, 0]
    for c, col in ((0, "tab:blue"), (1, "tab:red")):
        sel = la.condition_id == c
        axes[0].scatter(la.position[sel], z[la.index[sel]], c=col, s=12,
                        label=f"context {INPUTS[c]}")
        axes[1].scatter(la.position[sel], np.abs(la.slow_eigenvalue[sel]), c=col, s=12)
    axes[0].set(xlabel="position along the line (PC1)", ylabel="readout", title="slow points")
    axes[0].legend()
    axes[1].axhline(1, c="k", ls=":")
    axes[1].set(xlabel="position along the line (PC1)", ylabel="|λ| of the slowest mode")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    C.main(__file__, compute)
