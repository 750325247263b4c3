"""DPAD/PSID on a trained low-rank network (Sani et al. 2021, 2024 applied to Dubreuil et al.
2022's networks): which latent dimensions of the network's activity carry its behaviour?

Trains a rank-R LowRankRNN, records its noisy activity y (states) and its output z on held-out
trials, and fits, with nx latent states, a prioritised model (n1 = R: the first R states are
learned to predict z) and a non-prioritised one (NDM, n1 = 0), linear (PSID / SID) and with
DPAD's four-step fit. Compared: test-trial CC of z, and how much of the network's own latent
variables κ = mᵀx/‖m‖² (exact for a low-rank network) each model's latent states explain (R² of
a least-squares map x̂ → κ, fitted on the training trials and scored on the test trials).
At nx = R a prioritised model should recover κ and the behaviour; the NDM spends its few states on
the largest variance of y, which need not be the choice.

    python experiments/dpad_networks/run.py --config small|paper [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

import neurodyn as nd  # noqa: E402
from neurodyn import dpad  # noqa: E402

KEYS = dict(seed=int, task=str, n_neurons=int, rank=int, steps=int, n_train_trials=int,
            n_test_trials=int, horizon=int, max_epochs=int, n_init=int, block_len=int,
            nx_extra=int)


def network(cfg):
    task = nd.tasks.make(cfg["task"])
    model = nd.models.LowRankRNN(cfg["n_neurons"], cfg["rank"], task.n_inputs, task.n_outputs,
                                 key=C.key(cfg["seed"], 0))
    fit = nd.train.fit(model, task, key=C.key(cfg["seed"], 1), steps=cfg["steps"],
                       eval_every=cfg["steps"], progress=False)
    model = fit.model
    data = []
    for i, n in enumerate((cfg["n_train_trials"], cfg["n_test_trials"])):
        trials = task.sample(C.key(cfg["seed"], 2, i), n)
        roll = model.simulate(trials.inputs, key=C.key(cfg["seed"], 3, i))
        y, z = dpad.network_data(roll.states, roll.outputs)
        kappa = np.asarray(nd.lowrank.project(model, roll.states))[..., :cfg["rank"]]
        data.append((list(y), list(z), list(kappa)))
    acc = float(task.evaluate(roll.outputs, trials).accuracy)
    return model, acc, data


def latent_r2(x_train, k_train, x_test, k_test) -> float:
    """R² (pooled over κ dimensions) of κ on the test trials from an affine map of x fitted on
    the training trials."""
    X, K = np.concatenate(x_train), np.concatenate(k_train)
    W = np.linalg.lstsq(np.c_[X, np.ones(len(X))], K, rcond=None)[0]
    Xt, Kt = np.concatenate(x_test), np.concatenate(k_test)
    resid = Kt - np.c_[Xt, np.ones(len(Xt))] @ W
    return float(1 - np.sum(resid**2) / np.sum((Kt - Kt.mean(0)) ** 2))


def compute(cfg):
    """DPAD/PSID on a trained low-rank network (which latents carry its behaviour)."""
    cfg = C.require(cfg, KEYS)
    model, accuracy, ((y, z, k), (yt, zt, kt)) = network(cfg)
    R = cfg["rank"]
    opts = dict(n_init=cfg["n_init"], max_epochs=cfg["max_epochs"], block_len=cfg["block_len"])
    fits = {}
    for nx in sorted({R, R + cfg["nx_extra"]}):
        for n1, kind in ((R, "prioritised"), (0, "NDM")):
            fits[f"PSID {kind} nx={nx}, n1={n1}"] = dpad.PSID(nx, n1, cfg["horizon"]).fit(y, z)
        for n1, kind in ((R, "prioritised"), (0, "NDM")):
            fits[f"DPAD {kind} nx={nx}, n1={n1}"] = dpad.DPAD(nx, n1, **opts).fit(
                y, z, key=C.key(cfg["seed"], 4, nx, n1))
    res = {}
    for name, m in fits.items():
        zh_train, _, x_train = m.predict_trials(y)
        zh, _, x = m.predict_trials(yt)
        res[name] = dict(cc=float(dpad.metrics.cc(np.concatenate(zt), np.concatenate(zh)).mean()),
                         kappa_r2=latent_r2(x_train, k, x, kt))
    # the ceiling: z read out from the network's exact κ (what the network itself uses)
    ceiling = float(dpad.metrics.cc(np.concatenate(zt), np.concatenate(
        [np.asarray(model.readout(np.asarray(s))) for s in yt])).mean())
    rows = [C.Row("network accuracy", accuracy, "–", f"{cfg['task']}, rank {R}"),
            C.Row("CC of z from the network's own readout of y (ceiling)", ceiling, "1",
                  "z is a deterministic readout of y")]
    for name, r in res.items():
        rows.append(C.Row(f"{name}: behaviour CC", r["cc"], "prioritised ≥ NDM at small nx",
                          "Sani 2021/2024: PSID 0.64 vs SID 0.36 at nx = n1"))
        rows.append(C.Row(f"{name}: R² of the network's κ from the latents", r["kappa_r2"],
                          "–", "κ = network's latent variables (exact reduction)"))
    return C.Study("DPAD on a trained low-rank network: which latents carry behaviour",
                   "Sani et al. 2021, 2024 (method); Dubreuil et al. 2022 (networks)", rows,
                   dict(accuracy=accuracy, ceiling=ceiling, fits=res), figure(res))


def figure(res):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    names = list(res)
    colors = ["tab:blue" if "prioritised" in n else "tab:grey" for n in names]
    for ax, key, label in ((axes[0], "cc", "behaviour CC (test trials)"),
                           (axes[1], "kappa_r2", "R² of network latents κ")):
        ax.barh(range(len(names)), [res[n][key] for n in names], color=colors)
        ax.set(xlabel=label)
    axes[0].set_yticks(range(len(names)), names, fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    C.main(__file__, compute)
