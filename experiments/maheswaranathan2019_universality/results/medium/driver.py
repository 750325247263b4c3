"""The scale run in the session that added this study: paper.toml with fewer, smaller networks
(32 units, 6 seeds per architecture, shorter training, fewer fixed-point starts).

    python experiments/maheswaranathan2019_universality/results/medium/driver.py OUT_DIR
"""

import importlib.util
import shutil
import sys
import time
from pathlib import Path

import matplotlib

ROOT = Path(__file__).resolve().parents[3]  # experiments/
sys.path.insert(0, str(ROOT))
import _common as C  # noqa: E402

matplotlib.use("Agg")
STUDY = ROOT / "maheswaranathan2019_universality"
spec = importlib.util.spec_from_file_location("mah", STUDY / "run.py")
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)
cfg = C.load_config(STUDY, "paper")
cfg.update(n_neurons=32, n_seeds=6, flipflop_steps=2000, context_steps=2000, batch_size=64,
           n_trials=64, n_starts=256, manifold_steps=200, context_max_steps=300, n_components=8,
           dsa_delays=4, dsa_rank=10, dsa_steps=800)
out = Path(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
commit = C._commit()
C._PARTS.update(dir=out / "parts", commit=commit, commits={})
study = run.compute(cfg)
study.data["cpu_seconds"] = round(time.process_time() - c0, 1)
NAME = "medium (paper.toml at 32 units, 6 seeds per architecture, 2000 training steps)"
C.write(study, out, NAME, cfg, time.perf_counter() - t0, commit)
shutil.rmtree(out / "parts", ignore_errors=True)
print((out / "results.md").read_text())
