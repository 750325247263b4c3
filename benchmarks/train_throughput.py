"""Training throughput: neurodyn (JAX) against the same network trained in PyTorch, written the
way careful PyTorch users write it, and the way Dubreuil et al.'s own code trains it.

What is measured, in one run on one machine (CPU unless JAX/torch see an accelerator):

1. **Per step, one network.** Milliseconds per optimisation step for a rank-1 `LowRankRNN`
   (N=512, batch 32, noise_std 0.05, tanh) trained with Adam (lr 1e-2; trainable m, n, g_in,
   g_out) and the masked MSE loss on the `dubreuil2022` `PerceptualDecisionMaking` task
   (T=51 steps: fixation 5, stimulus 40, delay 5, decision 1).

   * neurodyn: `neurodyn.train.fit(..., eval_every=C, progress=False, val_trials=32)`, timed for
     `steps=C` and `steps=C+S` with the same chunk length C (same compiled chunk); the per-step
     time is the difference / S. It includes everything `fit` does per step: sampling trials
     inside the jitted step, the non-finite-step check and one validation pass (32 trials) every
     C steps. The cold first call minus a warm `steps=C` call is reported as compile time.
   * PyTorch, careful (`_torch_lowrank.CarefulTrainer`): no indexing of a `[B, T, N]` tensor
     that requires grad inside the time loop (the previous baseline indexed the precomputed
     input drive `drive[:, t]`, and its backward pass wrote T full-size gradient tensors: ~2-3x
     slower), inputs and noise handed out per step by `unbind`, small per-step input and readout
     matmuls, rates kept for the next step (see `_torch_lowrank.py` for the variants tried). One
     step = fresh trials with torch ops + noise + forward + backward + Adam, and the same
     validation pass as `fit` after every C steps.
   * PyTorch, careful + `torch.compile` (the training loss compiled by TorchInductor, which
     needs a C++ compiler on a CPU); one trainer reused over the repeats (compiled once; the
     compile time is printed: TorchInductor keeps compiled graphs in its own on-disk cache, so
     only the first run on a machine pays it in full).
   * PyTorch as Dubreuil et al.'s `low_rank_rnns` trains (`_torch_lowrank.DubreuilStyleTrainer`:
     their forward's and their `train` loop's per-step structure, on their scripts' settings:
     1000 fixed training trials, batch 32, `keep_best=True`), timed over `--dubreuil-epochs`
     whole epochs (20 in their decision-making script), its one-off initial pass included.

   `torch.set_num_threads(--threads)`, denormals flushed to zero (XLA's CPU default) so neither
   side pays for denormal arithmetic, and `OMP_WAIT_POLICY=PASSIVE` unless set (see below).

2. **Ensemble.** `neurodyn.train.fit_ensemble` with `--members` members (one compiled program;
   members split across `--cpu-devices` CPU devices) against (a) that many sequential careful
   PyTorch trainings and (b) one careful PyTorch training of all members stacked in one set of
   tensors (batched matmuls; one Adam over the stack is the members' independent Adams), as
   throughput in member-steps per second (same differencing trick for neurodyn).

3. **Diagnostics.** Where the time goes (jitted pieces of one neurodyn step next to their careful
   PyTorch counterparts), and a numerical check that every PyTorch variant computes the same
   outputs, loss and gradients as neurodyn for the same parameters, inputs and noise draws.

All timings are medians over `--repeats` (`--ensemble-repeats`) repeats, neurodyn and the PyTorch
variants interleaved within each repeat so that drifting machine load hits all alike; speed-ups
are paired (same repeat) and their median is reported.

Run (not part of the test suite; `pip install -e ".[peers]"` installs torch==2.13.0):

    python benchmarks/train_throughput.py             # defaults: ~5-10 min on 2 idle CPU cores
    python benchmarks/train_throughput.py --quick     # tiny sizes, smoke test
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
import warnings

# PyTorch's OpenMP runtime (libgomp) spin-waits at barriers by default. On a machine whose cores
# are shared with other processes that makes the 2-thread baseline up to ~10x slower (threads spin
# while the one with work is descheduled), so the baseline waits passively unless told otherwise.
# This only helps torch: JAX's CPU backend does not use OpenMP. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402

# fit_ensemble splits its members across the JAX devices. On a CPU, JAX shows one device unless
# told otherwise; `--cpu-devices` (default: one per core, at most 2) makes the cores separate
# devices. Must happen before JAX creates its backend, hence this early look at the arguments.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--cpu-devices", type=int, default=min(2, os.cpu_count() or 1))
jax.config.update("jax_num_cpu_devices", max(1, _pre.parse_known_args()[0].cpu_devices))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _torch_lowrank import (  # noqa: E402
    CarefulTrainer,
    DubreuilStyleTrainer,
    TorchDecisionTask,
)
from _train_diagnostics import diagnostics  # noqa: E402

from neurodyn.models import LowRankRNN  # noqa: E402
from neurodyn.tasks import PerceptualDecisionMaking  # noqa: E402
from neurodyn.train import fit, fit_ensemble  # noqa: E402

N_NEURONS = 512
RANK = 1
BATCH = 32
NOISE_STD = 0.05
ALPHA = 0.2  # dt/tau = 20 ms / 100 ms, neurodyn's defaults
LEARNING_RATE = 1e-2
VAL_TRIALS = 32
SETUP = dict(n_neurons=N_NEURONS, rank=RANK, batch=BATCH, alpha=ALPHA, noise_std=NOISE_STD,
             learning_rate=LEARNING_RATE)


def careful(torch_task, seed, members=None, compiled=False):
    return CarefulTrainer(torch_task, seed, val_trials=VAL_TRIALS, members=members,
                          compiled=compiled, **SETUP)


def dubreuil(torch_task, seed, n_trials=1000):
    return DubreuilStyleTrainer(torch_task, seed, n_trials=n_trials, **SETUP)


# --------------------------------------------------------------------------- timing helpers
def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def settle():
    """A short pause between phases so that spinning worker threads of one side go idle."""
    time.sleep(0.2)


def stats(values):
    return statistics.median(values), min(values), max(values)


def make_model(key):
    return LowRankRNN(N_NEURONS, RANK, 1, 1, noise_std=NOISE_STD, key=key)


def run_fit(task, key, steps, chunk):
    result = fit(make_model(jax.random.key(0)), task, key=key, steps=steps, eval_every=chunk,
                 progress=False, val_trials=VAL_TRIALS)
    jax.block_until_ready(result.model)
    return result


def run_fit_ensemble(task, key, members, steps, chunk):
    result = fit_ensemble(make_model, task, keys=jax.random.split(key, members), steps=steps,
                          eval_every=chunk, progress=False, val_trials=VAL_TRIALS)
    jax.block_until_ready(result.model)
    return result


def check_completed(history, steps, what):
    reasons = np.atleast_1d(history.stop_reason)
    if history.loss.shape[-1] != steps or not all(r == "completed" for r in reasons):
        raise RuntimeError(f"{what}: training did not run all {steps} steps ({reasons}); "
                           "the timing would be meaningless")


def compiled_trainer(torch_task, chunk):
    """A careful trainer with `torch.compile`, compiled (train and validation graphs) and warm;
    (trainer, compile seconds, None) or (None, None, why it cannot run here)."""
    try:
        trainer = careful(torch_task, seed=99, compiled=True)
        seconds, _ = timed(trainer.train, 2 * chunk if chunk < 3 else chunk, chunk)
        return trainer, seconds, None
    except Exception as error:  # report, do not hide: the table says why the row is missing
        text = f"{type(error).__name__}: {error}".strip().splitlines()
        return None, None, text[0][:300] if text else type(error).__name__


# --------------------------------------------------------------------------- benchmarks
def bench_per_step(args, task, torch_task):
    chunk, extra = args.chunk, args.steps
    epochs = args.dubreuil_epochs
    print(f"\n[1/3] per step: fit(steps={chunk}) and fit(steps={chunk + extra}), eval_every={chunk}"
          f"; careful torch {extra} steps (eager, compiled); Dubreuil-style torch {epochs} "
          f"epoch(s); {args.repeats} repeats", flush=True)
    cold, _ = timed(run_fit, task, jax.random.key(100), chunk, chunk)
    run_fit(task, jax.random.key(101), chunk + extra, chunk)  # warm the longer call's host code
    careful(torch_task, seed=0).train(max(chunk, min(20, extra)), chunk)  # torch warm-up
    dubreuil(torch_task, seed=0, n_trials=2 * BATCH).train(1)
    compiled, compile_s, why = (None, None, "--no-compile") if args.no_compile else \
        compiled_trainer(torch_task, chunk)
    print(f"  torch.compile: {f'compiled in {compile_s:.1f} s' if compiled else why}", flush=True)

    ms = {"careful": [], "compiled": [], "dubreuil": [], "nd": []}
    short, losses = [], {}
    for r in range(args.repeats):
        settle()
        trainer = careful(torch_task, seed=1 + r)  # fresh network, like each fit call
        t, losses["careful"] = timed(trainer.train, extra, chunk)
        ms["careful"].append(1e3 * t / extra)
        if compiled is not None:
            settle()
            t, losses["compiled"] = timed(compiled.train, extra, chunk)
            ms["compiled"].append(1e3 * t / extra)
        settle()
        trainer = dubreuil(torch_task, seed=1 + r)
        t, losses["dubreuil"] = timed(trainer.train, epochs)
        ms["dubreuil"].append(1e3 * t / (epochs * trainer.steps_per_epoch()))
        settle()
        t_short, res = timed(run_fit, task, jax.random.key(200 + r), chunk, chunk)
        check_completed(res.history, chunk, "fit")
        t_long, res = timed(run_fit, task, jax.random.key(300 + r), chunk + extra, chunk)
        check_completed(res.history, chunk + extra, "fit")
        short.append(t_short)
        ms["nd"].append(1e3 * (t_long - t_short) / extra)
        print(f"  repeat {r}: " + " | ".join(f"{k} {v[-1]:6.2f}" for k, v in ms.items() if v)
              + f" ms/step (fit {chunk}: {t_short:.2f} s, fit {chunk + extra}: {t_long:.2f} s)",
              flush=True)
    losses["nd"] = np.asarray(res.history.loss)
    nd_ms = statistics.median(ms["nd"])
    out = dict(compiled_trainer=compiled,
               compile_s=cold - statistics.median(short), torch_compile_s=compile_s,
               torch_compile_why=why, short_s=statistics.median(short),
               overhead_s=statistics.median(short) - chunk * nd_ms / 1e3, cold_s=cold,
               losses={k: float(np.mean(v[-min(50, len(v)):])) for k, v in losses.items()})
    for name, values in ms.items():
        if values:
            out[name] = stats(values)
            if name != "nd":
                out[f"{name}_ratio"] = stats([a / b for a, b in zip(values, ms["nd"])])
    return out


def bench_ensemble(args, task, torch_task):
    members, chunk, extra = args.members, args.ensemble_chunk, args.ensemble_steps
    print(f"\n[2/3] ensemble of {members}: fit_ensemble(steps={chunk}) and (steps={chunk + extra}),"
          f" eval_every={chunk}; {members} sequential careful torch trainings and one stacked "
          f"torch training of {extra} steps; {args.ensemble_repeats} repeats", flush=True)
    cold, _ = timed(run_fit_ensemble, task, jax.random.key(400), members, chunk, chunk)
    warm = run_fit_ensemble(task, jax.random.key(401), members, chunk + extra, chunk)
    careful(torch_task, seed=0, members=members).train(chunk, chunk)  # warm-up

    def sequential(seed0):
        for i in range(members):
            careful(torch_task, seed=seed0 + i).train(extra, chunk)

    cfg = warm.history.config
    print(f"  fit_ensemble layout: {cfg.get('devices', 1)} device(s), "
          f"{cfg.get('member_batch', members)} member(s) at a time per device", flush=True)
    tput = {"sequential": [], "stacked": [], "nd": []}
    short = []
    work = members * extra
    for r in range(args.ensemble_repeats):
        settle()
        t, _ = timed(sequential, 1000 * (r + 1))
        tput["sequential"].append(work / t)
        settle()
        stacked = careful(torch_task, seed=5000 + r, members=members)
        t, _ = timed(stacked.train, extra, chunk)
        tput["stacked"].append(work / t)
        settle()
        t_short, res = timed(run_fit_ensemble, task, jax.random.key(500 + r), members, chunk, chunk)
        check_completed(res.history, chunk, "fit_ensemble")
        t_long, res = timed(run_fit_ensemble, task, jax.random.key(600 + r), members,
                            chunk + extra, chunk)
        check_completed(res.history, chunk + extra, "fit_ensemble")
        short.append(t_short)
        tput["nd"].append(work / (t_long - t_short))
        print(f"  repeat {r}: " + " | ".join(f"{k} {v[-1]:7.1f}" for k, v in tput.items())
              + f" member-steps/s (fit {chunk}: {t_short:.2f} s, fit {chunk + extra}: "
              f"{t_long:.2f} s)", flush=True)
    out = dict(compile_s=cold - statistics.median(short), short_s=statistics.median(short))
    out["overhead_s"] = out["short_s"] - chunk * members / statistics.median(tput["nd"])
    for name, values in tput.items():
        out[name] = stats(values)
        if name != "nd":
            out[f"{name}_ratio"] = stats([b / a for a, b in zip(values, tput["nd"])])
    return out


# --------------------------------------------------------------------------- report
def fmt_row(label, triple, unit, prec=2):
    med, lo, hi = triple
    return f"  {label:<46s} {med:>9.{prec}f} {lo:>9.{prec}f} {hi:>9.{prec}f}  {unit}"


def note(label, value, unit, prec=2):
    return f"  {label:<46s} {value:>9.{prec}f}{'':20s}  {unit}"


PER_STEP_ROWS = (("careful", "PyTorch careful, eager"),
                 ("compiled", "PyTorch careful, torch.compile"),
                 ("dubreuil", "PyTorch as low_rank_rnns' train loop"))


def report(args, per, ens, diag, check, wall):
    line = "=" * 96
    print(f"\n{line}\nRESULTS  (median / min / max over repeats; interleaved)")
    print(f"  {'':<46s} {'median':>9s} {'min':>9s} {'max':>9s}")
    print("Per step, one network (N=512, rank 1, batch 32, T=51), ms per step")
    print(fmt_row("neurodyn fit (differenced)", per["nd"], "ms"))
    for key, label in PER_STEP_ROWS:
        if key in per:
            print(fmt_row(label, per[key], "ms"))
    print("  speed-up of neurodyn (paired, per repeat):")
    for key, label in PER_STEP_ROWS:
        if key in per:
            print(fmt_row(f"  over {label}", per[f"{key}_ratio"], "x"))
    if "compiled" not in per:
        print(f"  torch.compile row missing: {per['torch_compile_why']}")
    else:
        print(note("torch.compile compile time (first 50 steps)", per["torch_compile_s"], "s", 1))
    print(note("neurodyn compile (cold - warm first call)", per["compile_s"], "s"))
    print(note(f"neurodyn warm fit(steps={args.chunk}) call", per["short_s"], "s"))
    print(note("  of which fixed overhead (call - steps)", per["overhead_s"], "s"))
    amort = (per["cold_s"] + args.steps * per["nd"][0] / 1e3) / (args.chunk + args.steps)
    print(note(f"neurodyn one cold fit({args.chunk + args.steps}), amortised", 1e3 * amort,
               "ms/step (estimate)"))
    print("  train loss, mean of the last 50 steps: " + ", ".join(
        f"{k} {v:.4f}" for k, v in per["losses"].items()))
    if ens is not None:
        print(f"Ensemble, {args.members} members x {args.ensemble_steps} steps, member-steps/s")
        print(fmt_row("neurodyn fit_ensemble (differenced)", ens["nd"], "member-steps/s", 1))
        print(fmt_row("PyTorch careful, sequential trainings", ens["sequential"],
                      "member-steps/s", 1))
        print(fmt_row("PyTorch careful, members stacked", ens["stacked"], "member-steps/s", 1))
        print(fmt_row("  neurodyn / sequential (paired)", ens["sequential_ratio"], "x"))
        print(fmt_row("  neurodyn / stacked (paired)", ens["stacked_ratio"], "x"))
        print(note("neurodyn ensemble compile", ens["compile_s"], "s"))
        print(note(f"neurodyn warm fit_ensemble(steps={args.ensemble_chunk}) call",
                   ens["short_s"], "s"))
        print(note("  of which fixed overhead (call - steps)", ens["overhead_s"], "s"))
    if diag is not None:
        print("Where the time goes (median ms; torch = the careful eager version)")
        print(f"  {'':<46s} {'neurodyn':>9s} {'torch':>9s}")
        for label, nd, th in diag:
            th_s = "-" if math.isnan(th) else f"{th:9.2f}"
            print(f"  {label:<46s} {nd:>9.2f} {th_s:>9s}")
        print("  same params/inputs/noise as neurodyn (max |dz|, |d loss|, max rel grad diff):")
        for name, c in check.items():
            print(f"    {name:<28s} {c['out_err']:.1e}  {c['loss_err']:.1e}  "
                  f"{c['grad_rel_err']:.1e}")
    load_end = os.getloadavg()[0]
    print(f"Total wall time {wall:.0f} s; 1-min load average {args.load_start:.2f} at start, "
          f"{load_end:.2f} at end ({os.cpu_count()} CPUs)")
    if args.load_start > 0.5:
        print("  CAUTION: other processes were using the CPU when this run started; timings on a "
              "shared machine are noisy (see min/max) -- rerun on an idle machine to confirm.")
    print(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200,
                        help="timed steps per repeat, single network (default 200)")
    parser.add_argument("--chunk", type=int, default=50,
                        help="eval_every for the single-network fit calls (default 50)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats, per-step part (5)")
    parser.add_argument("--dubreuil-epochs", type=int, default=20,
                        help="epochs of the low_rank_rnns-style training per repeat (20)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    parser.add_argument("--members", type=int, default=32, help="ensemble members (default 32)")
    parser.add_argument("--ensemble-steps", type=int, default=10,
                        help="timed steps per member per repeat, ensemble part (default 10)")
    parser.add_argument("--ensemble-chunk", type=int, default=5,
                        help="eval_every for the ensemble trainings (default 5)")
    parser.add_argument("--ensemble-repeats", type=int, default=3,
                        help="repeats, ensemble part (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (2)")
    parser.add_argument("--cpu-devices", type=int, default=min(2, os.cpu_count() or 1),
                        help="JAX CPU devices that fit_ensemble splits members across "
                             "(default: one per core, at most 2)")
    parser.add_argument("--skip-ensemble", action="store_true", help="skip part 2")
    parser.add_argument("--skip-diagnostics", action="store_true", help="skip part 3")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (smoke test): 4 steps, 1 repeat, 1 epoch, 2 members")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.chunk, args.repeats, args.dubreuil_epochs = 4, 2, 1, 1
        args.members, args.ensemble_steps, args.ensemble_chunk, args.ensemble_repeats = 2, 2, 2, 1
    for name in ("steps", "chunk", "repeats", "dubreuil_epochs", "members", "ensemble_steps",
                 "ensemble_chunk", "ensemble_repeats", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    for steps, chunk in (("steps", "chunk"), ("ensemble_steps", "ensemble_chunk")):
        if getattr(args, steps) % getattr(args, chunk):
            parser.error(f"--{steps.replace('_', '-')} must be a multiple of "
                         f"--{chunk.replace('_', '-')} (both sides then validate equally often)")

    args.load_start = os.getloadavg()[0]
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    # numpy notices the flushed denormals when it next builds float32 limits; that is expected.
    warnings.filterwarnings("ignore", message="The value of the smallest subnormal")

    task = PerceptualDecisionMaking(preset="dubreuil2022")
    torch_task = TorchDecisionTask(task)
    if not math.isclose(make_model(jax.random.key(0)).alpha, ALPHA):
        raise RuntimeError("neurodyn's LowRankRNN no longer has dt/tau = 0.2 by default")
    print(f"machine: {platform.machine()} {platform.processor() or ''} | {os.cpu_count()} CPUs | "
          f"python {platform.python_version()}")
    print(f"jax {jax.__version__} ({jax.default_backend()}: {len(jax.devices())} device(s), prng "
          f"{jax.config.jax_default_prng_impl}) | torch {torch.__version__} "
          f"({torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']})")
    print(f"setup: N={N_NEURONS} rank={RANK} batch={BATCH} T={task.n_steps} "
          f"alpha={ALPHA} noise_std={NOISE_STD} Adam lr={LEARNING_RATE} "
          f"val_trials={VAL_TRIALS}{' [--quick]' if args.quick else ''}")

    t0 = time.perf_counter()
    per = bench_per_step(args, task, torch_task)
    ens = None if args.skip_ensemble else bench_ensemble(args, task, torch_task)
    diag, check = (None, None) if args.skip_diagnostics else diagnostics(
        task, torch_task, make_model, SETUP, n=3 if args.quick else 20,
        compiled=per.pop("compiled_trainer"))
    report(args, per, ens, diag, check, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
