"""PSID and DPAD: neurodyn against the `psid` package (Sani et al. 2021) and the TensorFlow `dpad`
package (Sani, Pesaran & Shanechi 2024), on the same simulated data, in one run on one machine.

1. **PSID.** A random stable linear model in PSID's test design (`neurodyn.dpad.random_ssm`:
   nx = 4 states of which n1 = 2 behaviour-relevant, ny = 5, nz = 2, and a 2-state behaviour-only
   process), `--psid-samples` training samples, horizon 10. Fit time (median of `--repeats`, the
   two sides interleaved) and held-out behaviour CC of `neurodyn.dpad.PSID` and `PSID.PSID`
   (pip install PSID), called as its documentation shows (`PSID.PSID(y, z, nx, n1, i)`, its
   defaults otherwise), both sides warmed up once first, and the largest difference between
   their predictions. Target: neurodyn at least as fast.

2. **DPAD.** Two behaviour-relevant latents seen through tanh and an asymmetric quadratic, two
   larger behaviour-irrelevant latents (`--dpad-samples` training samples, 20 000 test samples);
   the ideal predictor E[z_k | y_<k] is computed exactly (Gauss–Hermite over the Kalman posterior).
   Both packages fit the same model: nx = n1 = 2, linear, or with the behaviour map Cz an MLP of
   `--hidden` ReLU layers; both z-score the data, hold out the last 20 % of the training data
   for early stopping on the validation loss and keep the best epoch; each uses its own default
   optimiser settings (neurodyn: Adam 1e-2, blocks of 64 samples, batches of 8 blocks, patience
   10 epochs, at most 300 epochs, 4 initialisations trained in parallel; dpad: Adam 1e-3, blocks
   of 128, patience 16, at most `--dpad-epochs` epochs (its default 2500), one initialisation).
   neurodyn's fit time is given cold (the first fit in the process, XLA compilation included) and
   warm (a second fit with another key: the compiled programs are reused); the ratio uses cold.
   Target: neurodyn's DPAD at least 10x faster than dpad's at a behaviour CC no more than 0.01
   below it.

The dpad package needs tensorflow 2.15 and numpy < 2, so it lives in its own virtual environment
(default `~/.cache/neurodyn-bench/dpad-venv`, or `--dpad-venv PATH`); `--install-dpad` creates it
(`python -m venv` + pip from PyPI, about 2 GB). The benchmark writes the data to an .npz file,
runs this same script with that environment's python (`--dpad-driver`, which imports only numpy
and DPAD), and reads the predictions back from a JSON file: no pickle in either direction.

The script prints tables and whether each target is met; it does not fail when one is not.
Run: `python benchmarks/dpad.py --install-dpad` (add `--quick` for a short smoke run, `--no-dpad`
to skip the dpad package).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DPAD_REQUIREMENTS = ("dpad==0.0.9", "tensorflow==2.15.1", "numpy==1.26.4")
DEFAULT_VENV = Path.home() / ".cache" / "neurodyn-bench" / "dpad-venv"


# ------------------------------------------------------------- dpad package side
def dpad_driver(data_path: str, out_path: str, codes: str, epochs: int) -> int:
    """Runs inside the dpad virtual environment: fit every method code, write JSON results."""
    import logging

    logging.disable(logging.INFO)
    from DPAD import DPADModel

    d = np.load(data_path)  # plain arrays only (allow_pickle stays False)
    results = {}
    for code in codes.split(","):
        args = DPADModel.prepare_args(code)
        start = time.perf_counter()
        model = DPADModel()
        model.fit(d["y"].T, Z=d["z"].T, nx=int(d["nx"]), n1=int(d["n1"]), epochs=epochs,
                  verbose=False, **args)
        elapsed = time.perf_counter() - start
        z_hat = np.asarray(model.predict(d["y_test"])[0])
        logs = getattr(model, "logs", {}) or {}
        results[code] = {
            "fit_s": elapsed,
            "z_hat": z_hat.tolist(),
            "epochs": {k: len(v.get("epoch", [])) for k, v in logs.items()},
        }
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f)
    os.replace(tmp, out_path)
    return 0


def dpad_python(args) -> Path | None:
    """The dpad environment's python, created first with `--install-dpad`; None if unavailable."""
    venv = Path(args.dpad_venv).expanduser()
    python = venv / "bin" / "python"
    if not python.exists():
        if not args.install_dpad:
            print(f"dpad package: no environment at {venv}; rerun with --install-dpad to create "
                  f"it ({' '.join(DPAD_REQUIREMENTS)}, about 2 GB)")
            return None
        print(f"creating {venv} and installing {' '.join(DPAD_REQUIREMENTS)} (several minutes)")
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *DPAD_REQUIREMENTS],
                       check=True)
    check = subprocess.run([str(python), "-c", "import DPAD, tensorflow, numpy; "
                            "print(tensorflow.__version__, numpy.__version__)"],
                           capture_output=True, text=True)
    if check.returncode:
        print(f"dpad package: {python} cannot import DPAD/tensorflow:\n{check.stderr[-1500:]}")
        return None
    print(f"dpad package environment: {venv} (tensorflow, numpy = {check.stdout.strip()})")
    return python


# ---------------------------------------------------------------- simulated data
def nonlinear_truth(n_train: int, n_test: int):
    import jax

    from neurodyn import dpad
    from neurodyn.dpad._ssm import LinearSSM

    rng = np.random.default_rng(0)
    A = np.diag([0.95, 0.9, 0.97, 0.93])
    A[2, 3] = 0.1
    Cy = rng.standard_normal((6, 4))
    Cy[:, 2:] *= 2.0
    ssm = LinearSSM(A=A, Cy=Cy, Cz=np.zeros((2, 4)), Q=np.diag(1 - np.diag(A) ** 2),
                    R=0.5 * np.eye(6), S=np.zeros((4, 6)))
    g = (lambda x: np.tanh(2 * x), lambda x: np.where(x > 0, x**2, -0.25 * x**2))

    def sample(n, seed):
        y, _, x = ssm.simulate(n, key=jax.random.key(seed))  # JAX keys only
        noise = 0.2 * np.random.default_rng(seed + 7).standard_normal((n, 2))
        return y, np.stack([g[0](x[:, 0]), g[1](x[:, 1])], 1) + noise

    y, z = sample(n_train, 1)
    y_test, z_test = sample(n_test, 2)
    xp, P = ssm.filter(y_test), ssm.gain.P
    ideal = np.stack([dpad.gauss_hermite_mean(g[d], xp[:, d], P[d, d]) for d in range(2)], 1)
    return y, z, y_test, z_test, dpad.metrics.cc(z_test, ideal).mean()


# ------------------------------------------------------------------------- PSID
def bench_psid(args):
    import jax

    from neurodyn import dpad

    ssm = dpad.random_ssm(key=jax.random.key(0), nx=4, n1=2, ny=5, nz=2)
    y, z, _ = ssm.simulate(args.psid_samples, key=jax.random.key(1))
    y_test, z_test, _ = ssm.simulate(20_000, key=jax.random.key(2))
    rows = {"true model (Kalman)": (None, dpad.metrics.cc(z_test, ssm.predict(y_test)[0]).mean())}
    try:
        import PSID as psid_pkg
    except ImportError:
        psid_pkg = None
        print("psid package not installed (pip install PSID): its rows are skipped")
    # Warm-up of both sides (lazy imports, BLAS threads), so that neither pays it in the timing.
    dpad.PSID(4, 2, 10).fit(y[:2000], z[:2000])
    if psid_pkg is not None:
        psid_pkg.PSID(y[:2000], z[:2000], 4, 2, 10)
    t_ours, t_ref, ours, ref = [], [], None, None
    for _ in range(args.repeats):  # interleaved
        start = time.perf_counter()
        ours = dpad.PSID(4, 2, 10).fit(y, z)
        t_ours.append(time.perf_counter() - start)
        if psid_pkg is not None:
            start = time.perf_counter()
            ref = psid_pkg.PSID(y, z, 4, 2, 10)
            t_ref.append(time.perf_counter() - start)
    z_ours = ours.predict(y_test)[0]
    rows["neurodyn PSID"] = (float(np.median(t_ours)), dpad.metrics.cc(z_test, z_ours).mean())
    if psid_pkg is None:
        return rows, None
    z_ref = ref.predict(y_test)[0]
    rows["psid package"] = (float(np.median(t_ref)), dpad.metrics.cc(z_test, z_ref).mean())
    return rows, float(np.max(np.abs(z_ref - z_ours)))


# ------------------------------------------------------------------------- DPAD
def bench_dpad(args, python):
    import jax

    from neurodyn import dpad

    hidden = tuple(int(h) for h in args.hidden.split(","))
    y, z, y_test, z_test, ideal = nonlinear_truth(args.dpad_samples, 20_000)
    rows = {"ideal predictor": {"cc": ideal},
            "PSID nx=n1=2": {"cc": dpad.PSID(2, 2, 10).fit(y, z).score(y_test, z_test).cc}}
    variants = [("neurodyn DPAD linear", dict(nonlinear=None)),
                ("neurodyn DPAD Cz", dict(nonlinear="Cz", hidden=hidden)),
                ("neurodyn DPAD Cz, patience 16", dict(nonlinear="Cz", hidden=hidden,
                                                       patience=16))]
    cold = {}
    for label, kw in variants:  # cold: the first fit of each shape compiles (one per variant)
        start = time.perf_counter()
        model = dpad.DPAD(2, 2, **kw).fit(y, z, key=jax.random.key(0))
        cold[label] = (time.perf_counter() - start, model)
    if python is not None:  # between the cold and the warm neurodyn fits (interleaved)
        rows.update(run_dpad_package(args, python, hidden, y, z, y_test, z_test))
    for label, kw in variants:  # warm: same shapes again, another key
        start = time.perf_counter()
        dpad.DPAD(2, 2, **kw).fit(y, z, key=jax.random.key(1))
        warm = time.perf_counter() - start
        t, model = cold[label]
        epochs = {k: len(v["val_loss"]) for k, v in model.info["history"].items()}
        rows[label] = {"cold": t, "warm": warm, "epochs": epochs,
                       "cc": model.score(y_test, z_test).cc}
    return rows


def run_dpad_package(args, python, hidden, y, z, y_test, z_test):
    """Fit the dpad package (linear, and Cz nonlinear) in its environment; rows for the table."""
    from neurodyn import dpad

    if len(set(hidden)) != 1:
        raise SystemExit("--hidden must repeat one width (dpad's method codes: nHLmU)")
    codes = {"dpad package linear": "DPAD_Linear",
             "dpad package Cz": f"DPAD_Cz{len(hidden)}HL{hidden[0]}U"}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "data.npz", Path(tmp) / "out.json"
        np.savez(data, y=y, z=z, y_test=y_test, nx=2, n1=2)
        cmd = [str(python), str(Path(__file__).resolve()), "--dpad-driver", str(data), str(out),
               "--dpad-codes", ",".join(codes.values()), "--dpad-epochs", str(args.dpad_epochs)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode or not out.exists():
            print(f"dpad package failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
            return rows
        results = json.loads(out.read_text())
    for label, code in codes.items():
        res = results[code]
        z_hat = np.asarray(res["z_hat"])
        rows[label] = {"cold": res["fit_s"], "epochs": res["epochs"],
                       "cc": dpad.metrics.cc(z_test, z_hat).mean()}
    return rows


def _fmt(value, spec):
    return "" if value is None else format(value, spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--psid-samples", type=int, default=100_000)
    parser.add_argument("--dpad-samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="PSID fits per side (median)")
    parser.add_argument("--hidden", default="64,64", help="hidden layers of the Cz MLP")
    parser.add_argument("--dpad-venv", default=str(DEFAULT_VENV))
    parser.add_argument("--install-dpad", action="store_true",
                        help="create the dpad virtual environment if it is missing")
    parser.add_argument("--no-dpad", action="store_true", help="skip the dpad package")
    parser.add_argument("--dpad-epochs", type=int, default=2500,
                        help="dpad's epoch limit (its default 2500; early stopping ends sooner)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dpad-driver", nargs=2, metavar=("DATA_NPZ", "OUT_JSON"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--dpad-codes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dpad_driver:  # inside the dpad environment: no JAX, no neurodyn
        return dpad_driver(*args.dpad_driver, args.dpad_codes, args.dpad_epochs)
    if args.quick:
        args.psid_samples, args.dpad_samples, args.repeats = 20_000, 4000, 1

    import jax

    print(f"JAX backend: {jax.default_backend()}; numpy {np.__version__}; "
          f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    python = None if args.no_dpad else dpad_python(args)

    rows, diff = bench_psid(args)
    print(f"\nPSID, nx=4, n1=2, horizon 10, {args.psid_samples} samples, median of "
          f"{args.repeats}")
    print(f"{'model':<22}{'fit (s)':>10}{'behaviour CC':>15}")
    for k, (t, cc) in rows.items():
        print(f"{k:<22}{_fmt(t, '.3f'):>10}{cc:>15.4f}")
    if "psid package" in rows:
        ratio = rows["psid package"][0] / rows["neurodyn PSID"][0]
        print(f"speed-up {ratio:.1f}x; max |z_hat difference| {diff:.1e}; target (>= 1x) "
              f"{'met' if ratio >= 1 else 'NOT met'}")

    rows = bench_dpad(args, python)
    print(f"\nDPAD, nx=n1=2, nonlinear behaviour map, {args.dpad_samples} training samples, "
          f"Cz MLP hidden {args.hidden}")
    print(f"{'model':<32}{'cold fit (s)':>13}{'warm fit (s)':>13}{'behaviour CC':>14}  epochs")
    for k, r in rows.items():
        print(f"{k:<32}{_fmt(r.get('cold'), '.1f'):>13}{_fmt(r.get('warm'), '.1f'):>13}"
              f"{r['cc']:>14.4f}  {r.get('epochs', '')}")
    for ours_key, ref_key in (("neurodyn DPAD Cz", "dpad package Cz"),
                              ("neurodyn DPAD linear", "dpad package linear")):
        if ref_key in rows:
            ours, ref = rows[ours_key], rows[ref_key]
            ratio, dcc = ref["cold"] / ours["cold"], ours["cc"] - ref["cc"]
            ok = ratio >= 10 and dcc >= -0.01
            print(f"{ours_key} vs {ref_key}: speed-up {ratio:.1f}x cold "
                  f"({ref['cold'] / ours['warm']:.1f}x warm), CC difference {dcc:+.4f}: target "
                  f"(>= 10x, >= -0.01) {'met' if ok else 'NOT met'}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
