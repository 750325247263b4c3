"""Cold start: how long a fresh Python process takes, with and without the compilation cache.

neurodyn turns on JAX's persistent compilation cache (`neurodyn/_cache.py`). For each workload
this runs, in fresh subprocesses with a fresh, empty cache directory
(`NEURODYN_COMPILATION_CACHE_DIR`):

* **off**: the cache switched off (`NEURODYN_COMPILATION_CACHE=0`), what every process paid before;
* **1st**: the first process with the cache on (it compiles, and writes the programs to disk);
* **2nd**: a second process with the same directory (it reads them back).

Workloads (what a user runs first):

* `quickstart`: the whole command `neurodyn quickstart --no-progress --out <tmp>` (import, 400
  training steps of a rank-1 N = 512 network, evaluation, checkpoint and figures);
* `fit`: `import neurodyn` + `nd.train.fit` of a rank-1 N = 128 `LowRankRNN` on the dubreuil2022
  decision task, 100 steps (`eval_every=50`);
* `find`: `import neurodyn` + `nd.fixedpoints.find` on the 16-unit flip-flop network
  (`tests/data/flipflop16.eqx`) from 256 states of noise-free trajectories (+0.5 N(0, I)), u = 0.

Times are wall-clock seconds of the whole subprocess (interpreter start to exit) and, for
`fit`/`find`, of the call alone (the part the cache can shorten; `import neurodyn` itself is
printed separately). Medians over `--repeats` (a fresh cache directory each repeat); the three
variants of a workload run back to back so that they see similar machine load.

    python benchmarks/cold_start.py                  # all three workloads, 3 repeats
    python benchmarks/cold_start.py --cases find --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_FIT = """
import time, json
t0 = time.perf_counter()
import jax
import neurodyn as nd
t1 = time.perf_counter()
task = nd.tasks.make("PerceptualDecisionMaking", preset="dubreuil2022")
model = nd.models.LowRankRNN(128, 1, 1, 1, key=jax.random.key(0))
result = nd.train.fit(model, task, key=jax.random.key(1), steps=100, eval_every=50,
                      progress=False)
jax.block_until_ready(result.model)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "call": t2 - t1,
                  "cache": jax.config.jax_compilation_cache_dir}))
"""

_FIND = """
import time, json
t0 = time.perf_counter()
import jax
import jax.numpy as jnp
import neurodyn as nd
t1 = time.perf_counter()
model = nd.load("tests/data/flipflop16.eqx")
trials = nd.tasks.FlipFlop(preset="golub2018").sample(jax.random.key(0), 16)
roll = model.simulate(trials.inputs, key=None, noise=False)
x0 = nd.fixedpoints.sample_states(roll, 256, key=jax.random.key(1), noise_scale=0.5)
fps = nd.fixedpoints.find(model, x0, jnp.zeros(model.n_inputs), progress=False)
jax.block_until_ready(fps.xstar)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "call": t2 - t1, "points": int(fps.xstar.shape[0]),
                  "cache": jax.config.jax_compilation_cache_dir}))
"""


def _command(case: str, out: Path) -> list[str]:
    if case == "quickstart":
        return [sys.executable, "-m", "neurodyn.cli", "quickstart", "--no-progress",
                "--out", str(out)]
    return [sys.executable, "-c", _FIT if case == "fit" else _FIND]


def run_once(case: str, cache_dir: Path, enabled: bool, out: Path) -> dict:
    env = dict(os.environ, NEURODYN_COMPILATION_CACHE="1" if enabled else "0",
               NEURODYN_COMPILATION_CACHE_DIR=str(cache_dir))
    for name in ("JAX_COMPILATION_CACHE_DIR", "JAX_ENABLE_COMPILATION_CACHE"):
        env.pop(name, None)  # measure neurodyn's default, not a setting of this shell
    start = time.perf_counter()
    proc = subprocess.run(_command(case, out), cwd=ROOT, env=env, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{case} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    row = {"wall": wall}
    if case != "quickstart":
        row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        expected = str(cache_dir) if enabled else None
        if row["cache"] != expected:
            raise RuntimeError(f"{case}: cache directory {row['cache']!r}, expected {expected!r}")
    files = list(cache_dir.glob("*")) if cache_dir.exists() else []
    row["entries"] = len(files)
    row["mbytes"] = sum(f.stat().st_size for f in files) / 2**20
    return row


def bench(case: str, repeats: int) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {"off": [], "1st": [], "2nd": []}
    for r in range(repeats):
        tmp = Path(tempfile.mkdtemp(prefix="neurodyn-cold-"))
        try:
            rows["off"].append(run_once(case, tmp / "off", False, tmp / "out"))
            rows["1st"].append(run_once(case, tmp / "cache", True, tmp / "out"))
            rows["2nd"].append(run_once(case, tmp / "cache", True, tmp / "out"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"  {case} repeat {r}: " + ", ".join(
            f"{k} {v[-1]['wall']:.1f} s" for k, v in rows.items()), flush=True)
    return rows


def _median(rows: list[dict], field: str) -> float:
    values = [row[field] for row in rows if field in row]
    return statistics.median(values) if values else float("nan")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["quickstart", "fit", "find"],
                        choices=["quickstart", "fit", "find"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    load0 = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load0:.1f}; "
          f"{args.repeats} repeat(s), fresh cache directory each", flush=True)
    results = {case: bench(case, args.repeats) for case in args.cases}
    print(f"\n{'workload':<11}{'':>6}{'process (s)':>13}{'call (s)':>10}{'import (s)':>12}"
          f"{'cache files':>13}{'MB':>7}")
    for case, rows in results.items():
        for variant, label in (("off", "off"), ("1st", "1st"), ("2nd", "2nd")):
            print(f"{case if variant == 'off' else '':<11}{label:>6}"
                  f"{_median(rows[variant], 'wall'):>13.1f}{_median(rows[variant], 'call'):>10.1f}"
                  f"{_median(rows[variant], 'import'):>12.1f}"
                  f"{_median(rows[variant], 'entries'):>13.0f}"
                  f"{_median(rows[variant], 'mbytes'):>7.1f}")
        saved = _median(rows["off"], "wall") - _median(rows["2nd"], "wall")
        print(f"{'':<11}{'2nd process saves':>30} {saved:.1f} s "
              f"({saved / _median(rows['off'], 'wall'):.0%} of the uncached process)")
    print(f"load average at end {os.getloadavg()[0]:.1f} (at start {load0:.1f}) on "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
