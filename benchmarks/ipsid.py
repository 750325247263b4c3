"""IPSID and PSID: `neurodyn.dpad.PSID` against the `PSID` package (Vahidi, Sani & Shanechi 2024;
Sani et al. 2021) on the same simulated data, in one run on one machine.

A stable linear system with measured inputs (nx = 4 states of which 2 drive the behaviour,
ny neural channels, nz = 2, nu = 2 coloured inputs that drive the states and feed through to y
and z; means off zero) gives `--samples` training and 5 000 test samples. Each row fits the same
model on both sides, called as the package documents it (`PSID.IPSID(y, z, u, nx=..., n1=...,
i=...)`, `PSID.PSID(y, z, nx, n1, i)`, its defaults otherwise), both warmed up once; times are
medians of `--repeats` fits, the two sides interleaved. "max error" is the largest difference
between the two models' test predictions of z and y, relative to the largest |prediction|
(the models are equal up to a change of basis, so their predictions are equal).
Target: neurodyn at least 5x faster on every row. On a shared machine, run it with
`OMP_NUM_THREADS=1` (both sides then use one BLAS thread; oversubscribed BLAS threads make small
matrix products erratic).

Run: `python benchmarks/ipsid.py` (add `--quick` for a short smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np


def simulate(n: int, ny: int, seed: int = 0):
    import jax

    from neurodyn.dpad._ssm import LinearSSM, linear_recursion

    rng = np.random.default_rng(seed)
    A = np.diag([0.95, 0.8, 0.7, -0.6])
    A[2, 0] = 0.3
    Cz = np.zeros((2, 4))
    Cz[:, :2] = rng.standard_normal((2, 2))
    ssm = LinearSSM(A=A, Cy=rng.standard_normal((ny, 4)), Cz=Cz, Q=0.1 * np.eye(4),
                    R=0.5 * np.eye(ny), S=np.zeros((4, ny)), z_noise=0.2 * np.eye(2),
                    B=0.5 * rng.standard_normal((4, 2)), Dy=0.3 * rng.standard_normal((ny, 2)),
                    Dz=0.2 * rng.standard_normal((2, 2)))
    u = linear_recursion(np.diag([0.7, 0.5]), rng.standard_normal((n, 2)))
    y, z, _ = ssm.simulate(n, key=jax.random.key(seed + 1), u=u)
    return y + 3.0, z - 2.0, u + 1.0


def cases(args):
    """(label, ours(y, z, u), package(y, z, u), uses u, n_y)."""
    from neurodyn import dpad

    i = args.horizon
    return [
        ("IPSID nx=4 n1=2", lambda y, z, u: dpad.PSID(4, 2, i).fit(y, z, u=u),
         lambda p, y, z, u: p.IPSID(y, z, u, nx=4, n1=2, i=i), True, 5),
        ("IPSID nx=4 n1=2, ny=20", lambda y, z, u: dpad.PSID(4, 2, i // 2).fit(y, z, u=u),
         lambda p, y, z, u: p.IPSID(y, z, u, nx=4, n1=2, i=i // 2), True, 20),
        ("IPSID (i_y, i_z) = (i, i/2)", lambda y, z, u: dpad.PSID(4, 2, (i, i // 2)).fit(y, z, u=u),
         lambda p, y, z, u: p.IPSID(y, z, u, nx=4, n1=2, i=[i, i // 2]), True, 5),
        ("IPSID n3=1 (additional steps)",
         lambda y, z, u: dpad.PSID(5, 2, i, n3=1, n_pre=8).fit(y, z, u=u),
         lambda p, y, z, u: p.IPSID(y, z, u, nx=5, n1=2, i=i, remove_nonYrelated_fromX1=True,
                                    n_pre=8, n3=1), True, 5),
        ("IPSID 40 trials", lambda y, z, u: dpad.PSID(4, 2, i).fit(*_trials(y, z, u)),
         lambda p, y, z, u: p.IPSID(*_trials(y, z, u), nx=4, n1=2, i=i), True, 5),
        ("PSID nx=4 n1=2 (no inputs)", lambda y, z, u: dpad.PSID(4, 2, i).fit(y, z),
         lambda p, y, z, u: p.PSID(y, z, 4, 2, i), False, 5),
    ]


def _trials(y, z, u, n=40):
    return np.array_split(y, n), np.array_split(z, n), np.array_split(u, n)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="4000 samples, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.repeats = 4000, 1
    try:
        import PSID as pkg
    except ImportError:
        print("the PSID package is not installed (pip install PSID): nothing to compare")
        return 0
    warnings.simplefilter("ignore")
    print(f"command: python benchmarks/ipsid.py {' '.join(argv or sys.argv[1:])}".rstrip())
    print(f"{args.samples} training samples, horizon {args.horizon}, median of {args.repeats}\n")
    header = (f"{'model':32s} {'neurodyn s':>11s} {'PSID pkg s':>11s} {'ratio':>7s} "
              f"{'max error':>10s}")
    print(header)
    print("-" * len(header))
    met = True
    data = {}
    for label, ours_fit, ref_fit, with_u, ny in cases(args):
        if ny not in data:
            data[ny] = simulate(args.samples + 5000, ny)
        y, z, u = data[ny]
        n = args.samples
        train = (y[:n], z[:n], u[:n])
        yt, ut = y[n:], (u[n:] if with_u else None)
        small = tuple(a[:2000] for a in train)
        ours_fit(*small)  # warm-up (lazy imports, BLAS threads)
        ref_fit(pkg, *small)
        t_ours, t_ref = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ours = ours_fit(*train)
            t_ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            ref = ref_fit(pkg, *train)
            t_ref.append(time.perf_counter() - start)
        z_o, y_o, _ = ours.predict(yt, ut)
        z_r, y_r, _ = ref.predict(yt, ut)
        scale = max(np.abs(z_r).max(), np.abs(y_r).max())
        err = max(np.abs(z_o - z_r).max(), np.abs(y_o - y_r).max()) / scale
        a, b = float(np.median(t_ours)), float(np.median(t_ref))
        met &= b / a >= 5
        print(f"{label:32s} {a:11.3f} {b:11.3f} {b / a:6.1f}x {err:10.1e}")
    print(f"\ntarget (neurodyn >= 5x faster on every row): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
