"""Training throughput: neurodyn (JAX) against a plain PyTorch implementation of the same thing.

What is measured, in one run on one machine (CPU unless JAX/torch see an accelerator):

1. **Per step, one network.** Milliseconds per optimisation step for a rank-1 `LowRankRNN`
   (N=512, batch 32, noise_std 0.05, tanh) trained with Adam (lr 1e-2; trainable m, n, g_in,
   g_out) and the masked MSE loss on the `dubreuil2022` `PerceptualDecisionMaking` task
   (T=51 steps: fixation 5, stimulus 40, delay 5, decision 1).

   * neurodyn: `neurodyn.train.fit(..., eval_every=C, progress=False, val_trials=32)`. The time
     of one call contains tracing/compilation (on a cold call), fixed host-side work and C-sized
     jitted chunks, so it is timed for `steps=C` and `steps=C+S` with the *same* chunk length C
     (same compiled chunk) and the per-step time is the difference / S. The cold first call
     minus a warm `steps=C` call is reported as compile time, and the warm `steps=C` call minus
     C steps as fixed per-call overhead (validation-set sampling, key splitting, ...). This
     per-step time includes everything `fit` does per step: sampling trials inside the jitted
     step, the non-finite-step check and one validation pass (32 trials) every C steps.
   * PyTorch: the same update rule written here from scratch, eager mode, one step =
     sample trials with torch ops + forward over 51 time steps + backward + Adam step, and
     the same validation pass as `fit` (a noisy forward over 32 fixed trials, loss and
     accuracy) after every C steps, so that both sides do the same work; timed over S steps
     after a warm-up (S a multiple of C: both sides then validate S/C times).
     `torch.set_num_threads(--threads)`, denormals flushed to zero (XLA's CPU default) so
     neither side pays for denormal arithmetic, and
     `OMP_WAIT_POLICY=PASSIVE` unless set in the environment (see the comment at the imports).

   Update rule (both sides), alpha = dt/tau = 0.2, phi = tanh, xi ~ N(0, I):

       x <- x + alpha * (-x + m (n^T phi(x)) / N + u @ (g_in * w_in)) + sigma * xi
       z  = phi(x) @ (w_out * g_out) / N

2. **Ensemble.** `neurodyn.train.fit_ensemble` with `--members` members (one compiled program;
   members split across `--cpu-devices` CPU devices, default one per core up to 2) against that
   many sequential PyTorch trainings of the same number of steps per member, as throughput in
   member-steps per second (same differencing trick for neurodyn).

3. **Diagnostics.** Where the time goes: jitted pieces of one neurodyn step (noise draw, forward
   simulation, value-and-grad) next to their PyTorch counterparts, and a numerical check that the
   PyTorch baseline computes the same outputs, loss and gradients as neurodyn for the same
   parameters, inputs and noise draws.

All timings are medians over `--repeats` (`--ensemble-repeats`) repeats, with neurodyn and
PyTorch interleaved within each repeat so that drifting machine load hits both alike. Targets
(from the issue): per step neurodyn >= 5x faster than PyTorch; ensemble >= 20x the throughput of
sequential PyTorch. The script prints whether each is met; it does not fail when they are not.

Run (not part of the test suite; `pip install -e ".[peers]"` installs torch==2.13.0):

    python benchmarks/train_throughput.py             # defaults: ~5 min on 2 idle CPU cores
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

import equinox as eqx  # noqa: E402
import jax  # noqa: E402

# fit_ensemble splits its members across the JAX devices. On a CPU, JAX shows one device unless
# told otherwise; `--cpu-devices` (default: one per core, at most 2) makes the cores separate
# devices. Must happen before JAX creates its backend, hence this early look at the arguments.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--cpu-devices", type=int, default=min(2, os.cpu_count() or 1))
jax.config.update("jax_num_cpu_devices", max(1, _pre.parse_known_args()[0].cpu_devices))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import neurodyn.models as nd_models  # noqa: E402
from neurodyn.models import LowRankRNN  # noqa: E402
from neurodyn.tasks import PerceptualDecisionMaking  # noqa: E402
from neurodyn.train import fit, fit_ensemble, masked_mse  # noqa: E402

N_NEURONS = 512
RANK = 1
BATCH = 32
NOISE_STD = 0.05
ALPHA = 0.2  # dt/tau = 20 ms / 100 ms, neurodyn's defaults
LEARNING_RATE = 1e-2
VAL_TRIALS = 32
PER_STEP_TARGET = 5.0
ENSEMBLE_TARGET = 20.0


# --------------------------------------------------------------------------- PyTorch baseline
class TorchDecisionTask:
    """Perceptual decision making trials generated with torch ops (same epochs as neurodyn's)."""

    def __init__(self, task: PerceptualDecisionMaking):
        lengths = [round(getattr(task, name) / task.dt) for name in task.epoch_names]
        edges = np.cumsum([0, *lengths])
        bounds = {name: (int(edges[i]), int(edges[i + 1])) for i, name in
                  enumerate(task.epoch_names)}
        self.n_steps = int(edges[-1])
        if self.n_steps != task.n_steps:
            raise RuntimeError(f"epoch arithmetic disagrees: {self.n_steps} != {task.n_steps}")
        t = torch.arange(self.n_steps)
        s0, s1 = bounds["stimulus"]
        d0, d1 = bounds["decision"]
        self.stimulus = ((t >= s0) & (t < s1)).float()
        self.decision = ((t >= d0) & (t < d1)).float()
        self.coherences = torch.tensor(task.coherences, dtype=torch.float32)
        self.input_noise = float(task.input_noise)

    def sample(self, batch: int, gen: torch.Generator):
        """inputs [B,T,1], targets [B,T,1], mask [B,T,1] for a fresh batch."""
        idx = torch.randint(0, len(self.coherences), (batch,), generator=gen)
        coherence = self.coherences[idx]
        noise = torch.randn(batch, self.n_steps, 1, generator=gen)
        inputs = coherence[:, None, None] * self.stimulus[None, :, None] + self.input_noise * noise
        targets = torch.sign(coherence)[:, None, None] * self.decision[None, :, None]
        mask = self.decision[None, :, None].expand(batch, self.n_steps, 1)
        return inputs, targets, mask


class TorchLowRankRNN(torch.nn.Module):
    """x <- x + alpha(-x + m (n^T tanh x)/N + u W_in) + sigma xi;  z = tanh(x) W_out / N."""

    def __init__(self, n_neurons, rank, n_inputs, n_outputs, *, alpha=ALPHA, noise_std=NOISE_STD,
                 readout_std=4.0, gen: torch.Generator):
        super().__init__()
        self.n_neurons, self.alpha, self.noise_std = n_neurons, alpha, noise_std

        def normal(*shape, std=1.0):
            return std * torch.randn(*shape, generator=gen)

        # Trainable: m, n, g_in, g_out (neurodyn's default `train=`); w_in, w_out stay fixed.
        self.m = torch.nn.Parameter(normal(n_neurons, rank))
        self.n = torch.nn.Parameter(normal(n_neurons, rank))
        self.register_buffer("w_in", normal(n_inputs, n_neurons))
        self.g_in = torch.nn.Parameter(torch.ones(n_inputs))
        self.register_buffer("w_out", normal(n_neurons, n_outputs, std=readout_std))
        self.g_out = torch.nn.Parameter(torch.ones(n_outputs))

    def forward(self, inputs, xi):
        """Outputs [B,T,O] for inputs [B,T,I] and standard-normal draws xi [B,T,N]."""
        n_neurons, alpha = self.n_neurons, self.alpha
        drive_in = inputs @ (self.w_in * self.g_in[:, None])  # [B, T, N]
        noise = self.noise_std * xi
        x = inputs.new_zeros(inputs.shape[0], n_neurons)
        states = []
        for t in range(inputs.shape[1]):
            recurrent = (torch.tanh(x) @ self.n) @ self.m.T / n_neurons
            x = x + alpha * (-x + recurrent + drive_in[:, t]) + noise[:, t]
            states.append(x)
        rates = torch.tanh(torch.stack(states, dim=1))
        return rates @ (self.w_out * self.g_out[None, :]) / n_neurons


def torch_masked_mse(outputs, targets, mask):
    per_trial = (mask * (outputs - targets) ** 2).sum(dim=(1, 2))
    return (per_trial / mask.sum(dim=(1, 2)).clamp(min=1.0)).mean()


class TorchTrainer:
    """One network, its Adam optimiser, its random stream and its validation trials."""

    def __init__(self, task: TorchDecisionTask, seed: int):
        self.task = task
        self.gen = torch.Generator().manual_seed(seed)
        self.model = TorchLowRankRNN(N_NEURONS, RANK, 1, 1, gen=self.gen)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.val = task.sample(VAL_TRIALS, self.gen)

    @torch.no_grad()
    def validate(self):
        """What `fit` does at the end of every chunk of `eval_every` steps: a noisy forward
        pass over the validation trials, their loss and accuracy (the sign of the mean output
        over the decision epoch against the target's)."""
        inputs, targets, mask = self.val
        xi = torch.randn(inputs.shape[0], self.task.n_steps, N_NEURONS, generator=self.gen)
        outputs = self.model(inputs, xi)
        loss = torch_masked_mse(outputs, targets, mask)
        choice = torch.sign((outputs * mask).sum(dim=(1, 2)))
        accuracy = (choice == torch.sign((targets * mask).sum(dim=(1, 2)))).float().mean()
        return loss, accuracy

    def step(self):
        inputs, targets, mask = self.task.sample(BATCH, self.gen)
        xi = torch.randn(BATCH, self.task.n_steps, N_NEURONS, generator=self.gen)
        loss = torch_masked_mse(self.model(inputs, xi), targets, mask)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def train(self, steps: int, eval_every: int) -> np.ndarray:
        """`steps` Adam steps, validating after every `eval_every` of them (like `fit`)."""
        losses = []
        for i in range(steps):
            losses.append(self.step())
            if (i + 1) % eval_every == 0:
                self.validate()
        return torch.stack(losses).numpy()


# --------------------------------------------------------------------------- timing helpers
def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def settle():
    """A short pause between phases so that spinning worker threads of one side go idle."""
    time.sleep(0.2)


def median_ms(fn, *args, n=20):
    fn(*args)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(*args)
        samples.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(samples)


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


# --------------------------------------------------------------------------- benchmarks
def bench_per_step(args, task, torch_task):
    chunk, extra = args.chunk, args.steps
    print(f"\n[1/3] per step: fit(steps={chunk}) and fit(steps={chunk + extra}), eval_every={chunk}"
          f"; torch {extra} steps; {args.repeats} repeats", flush=True)
    cold, _ = timed(run_fit, task, jax.random.key(100), chunk, chunk)
    run_fit(task, jax.random.key(101), chunk + extra, chunk)  # warm the longer call's host code
    TorchTrainer(torch_task, seed=0).train(max(5, min(20, extra)), chunk)  # torch warm-up

    short, per_step, torch_ms, ratio = [], [], [], []
    for r in range(args.repeats):
        settle()
        trainer = TorchTrainer(torch_task, seed=1 + r)  # fresh network, like each fit call
        t_torch, torch_losses = timed(trainer.train, extra, chunk)
        settle()
        t_short, res = timed(run_fit, task, jax.random.key(200 + r), chunk, chunk)
        check_completed(res.history, chunk, "fit")
        t_long, res = timed(run_fit, task, jax.random.key(300 + r), chunk + extra, chunk)
        check_completed(res.history, chunk + extra, "fit")
        short.append(t_short)
        per_step.append(1e3 * (t_long - t_short) / extra)
        torch_ms.append(1e3 * t_torch / extra)
        ratio.append(torch_ms[-1] / per_step[-1])
        print(f"  repeat {r}: torch {torch_ms[-1]:7.2f} ms/step | neurodyn {per_step[-1]:7.2f} "
              f"ms/step (fit {chunk}: {t_short:.2f} s, fit {chunk + extra}: {t_long:.2f} s)",
              flush=True)
    nd_ms = statistics.median(per_step)
    return dict(
        torch_ms=stats(torch_ms),
        nd_ms=stats(per_step),
        ratio=stats(ratio),
        compile_s=cold - statistics.median(short),
        short_s=statistics.median(short),
        overhead_s=statistics.median(short) - chunk * nd_ms / 1e3,
        cold_s=cold,
        nd_final_loss=float(np.mean(res.history.loss[-min(50, extra):])),
        torch_final_loss=float(np.mean(torch_losses[-min(50, extra):])),
    )


def bench_ensemble(args, task, torch_task):
    members, chunk, extra = args.members, args.ensemble_chunk, args.ensemble_steps
    print(f"\n[2/3] ensemble of {members}: fit_ensemble(steps={chunk}) and (steps={chunk + extra}),"
          f" eval_every={chunk}; {members} sequential torch trainings of {extra} steps; "
          f"{args.ensemble_repeats} repeats", flush=True)
    cold, _ = timed(run_fit_ensemble, task, jax.random.key(400), members, chunk, chunk)
    warm = run_fit_ensemble(task, jax.random.key(401), members, chunk + extra, chunk)

    def sequential_torch(seed0):
        for i in range(members):
            TorchTrainer(torch_task, seed=seed0 + i).train(extra, chunk)

    cfg = warm.history.config
    print(f"  fit_ensemble layout: {cfg.get('devices', 1)} device(s), "
          f"{cfg.get('member_batch', members)} member(s) at a time per device", flush=True)
    short, nd_tput, torch_tput, ratio = [], [], [], []
    work = members * extra
    for r in range(args.ensemble_repeats):
        settle()
        t_torch, _ = timed(sequential_torch, 1000 * (r + 1))
        settle()
        t_short, res = timed(run_fit_ensemble, task, jax.random.key(500 + r), members, chunk, chunk)
        check_completed(res.history, chunk, "fit_ensemble")
        t_long, res = timed(run_fit_ensemble, task, jax.random.key(600 + r), members,
                            chunk + extra, chunk)
        check_completed(res.history, chunk + extra, "fit_ensemble")
        short.append(t_short)
        nd_tput.append(work / (t_long - t_short))
        torch_tput.append(work / t_torch)
        ratio.append(nd_tput[-1] / torch_tput[-1])
        print(f"  repeat {r}: torch {torch_tput[-1]:7.1f} member-steps/s | neurodyn "
              f"{nd_tput[-1]:7.1f} member-steps/s (fit {chunk}: {t_short:.2f} s, "
              f"fit {chunk + extra}: {t_long:.2f} s)", flush=True)
    nd_med = statistics.median(nd_tput)
    return dict(
        torch_tput=stats(torch_tput),
        nd_tput=stats(nd_tput),
        ratio=stats(ratio),
        compile_s=cold - statistics.median(short),
        short_s=statistics.median(short),
        overhead_s=statistics.median(short) - chunk * members / nd_med,
    )


def diagnostics(task, torch_task, n):
    """Component timings and a numerical equivalence check of the two implementations."""
    print("\n[3/3] diagnostics", flush=True)
    T = task.n_steps
    key = jax.random.key(7)
    model = make_model(jax.random.key(0))
    trials = task.sample(jax.random.key(8), BATCH)
    xi = jax.random.normal(jax.random.key(9), (BATCH, T, N_NEURONS))
    params, frozen = eqx.partition(model, model.trainable())

    jax_normal = jax.jit(lambda k: jax.random.normal(k, (BATCH, T, N_NEURONS)))
    sim_noise = eqx.filter_jit(lambda m, u, k: m.simulate(u, key=k).outputs)
    sim_given = eqx.filter_jit(lambda m, u, e: m.simulate(u, key=None, noise=e).outputs)

    def loss_sampled(p, k):
        k_task, k_noise = jax.random.split(k)
        tr = task.sample(k_task, BATCH)
        return masked_mse(eqx.combine(p, frozen).simulate(tr.inputs, key=k_noise).outputs, tr)

    def loss_given(p, e):
        outputs = eqx.combine(p, frozen).simulate(trials.inputs, key=None, noise=e).outputs
        return masked_mse(outputs, trials)

    vg_sampled = eqx.filter_jit(eqx.filter_value_and_grad(loss_sampled))
    vg_given = eqx.filter_jit(eqx.filter_value_and_grad(loss_given))

    def block(f):
        return lambda *a: jax.block_until_ready(f(*a))

    # The torch twin of `model`, with identical parameters.
    gen = torch.Generator().manual_seed(0)
    twin = TorchLowRankRNN(N_NEURONS, RANK, 1, 1, gen=gen)
    with torch.no_grad():
        for name in ("m", "n", "w_in", "g_in", "w_out", "g_out"):
            getattr(twin, name).copy_(torch.tensor(np.asarray(getattr(model, name))))
    u_t, y_t, mask_t, xi_t = (
        torch.tensor(np.asarray(a)) for a in (trials.inputs, trials.targets, trials.mask, xi)
    )

    def torch_fwd():
        with torch.no_grad():
            return twin(u_t, xi_t)

    def torch_fwd_draw():
        with torch.no_grad():
            return twin(u_t, torch.randn(BATCH, T, N_NEURONS, generator=gen))

    def torch_fwd_bwd():
        twin.zero_grad(set_to_none=True)
        loss = torch_masked_mse(twin(u_t, xi_t), y_t, mask_t)
        loss.backward()
        return loss.detach()

    def torch_sample_fwd_bwd():
        inputs, targets, mask = torch_task.sample(BATCH, gen)
        e = torch.randn(BATCH, T, N_NEURONS, generator=gen)
        twin.zero_grad(set_to_none=True)
        torch_masked_mse(twin(inputs, e), targets, mask).backward()

    rows = [
        ("normal draws [32,51,512]", median_ms(block(jax_normal), key, n=n),
         median_ms(lambda: torch.randn(BATCH, T, N_NEURONS, generator=gen), n=n)),
    ]
    if hasattr(nd_models, "fast_normal"):  # the generator simulate uses by default
        rows.append(("fast_normal draws [32,51,512]",
                     median_ms(block(lambda k: nd_models.fast_normal(k, (BATCH, T, N_NEURONS))),
                               key, n=n), float("nan")))
    rows += [
        ("forward, noise given", median_ms(block(sim_given), model, trials.inputs, xi, n=n),
         median_ms(torch_fwd, n=n)),
        ("forward, noise drawn inside", median_ms(block(sim_noise), model, trials.inputs, key,
                                                  n=n), median_ms(torch_fwd_draw, n=n)),
        ("loss + grad, noise given", median_ms(block(vg_given), params, xi, n=n),
         median_ms(torch_fwd_bwd, n=n)),
        ("sample + loss + grad (no optimiser)", median_ms(block(vg_sampled), params, key, n=n),
         median_ms(torch_sample_fwd_bwd, n=n)),
    ]

    # Same parameters, inputs and noise draws -> same outputs, loss and gradients?
    nd_out = np.asarray(sim_given(model, trials.inputs, xi))
    th_out = torch_fwd().numpy()
    nd_loss, nd_grad = vg_given(params, xi)
    th_loss = torch_fwd_bwd()
    grad_err = max(
        float(np.max(np.abs(np.asarray(getattr(nd_grad, name)) - getattr(twin, name).grad.numpy()))
              / (np.max(np.abs(np.asarray(getattr(nd_grad, name)))) + 1e-12))
        for name in ("m", "n", "g_in", "g_out")
    )
    check = dict(
        out_err=float(np.max(np.abs(nd_out - th_out))),
        out_scale=float(np.max(np.abs(nd_out))),
        loss_err=abs(float(nd_loss) - th_loss.item()),
        grad_rel_err=grad_err,
    )
    return rows, check


# --------------------------------------------------------------------------- report
def fmt_row(label, triple, unit, prec=2):
    med, lo, hi = triple
    return f"  {label:<44s} {med:>10.{prec}f} {lo:>10.{prec}f} {hi:>10.{prec}f}  {unit}"


def inverse_ms(triple):
    """(median, min, max) of a rate in 1/s -> the same statistics of its period in ms."""
    med, lo, hi = triple
    return 1e3 / med, 1e3 / hi, 1e3 / lo


def verdict(value, target):
    return f"target >= {target:g}x: {'MET' if value >= target else 'NOT MET'}"


def report(args, per, ens, diag, check, wall):
    line = "=" * 96
    print(f"\n{line}\nRESULTS  (median / min / max over repeats; interleaved neurodyn vs torch)")
    print(f"{'':2s}{'':<44s} {'median':>10s} {'min':>10s} {'max':>10s}")
    print("Per step, one network (N=512, rank 1, batch 32, T=51)")
    print(fmt_row("PyTorch eager                 ms/step", per["torch_ms"], "ms"))
    print(fmt_row("neurodyn fit (differenced)    ms/step", per["nd_ms"], "ms"))
    print(fmt_row("speed-up neurodyn over torch  (paired)", per["ratio"], "x"))
    print(f"  {'speed-up from medians':<44s} {per['torch_ms'][0] / per['nd_ms'][0]:>10.2f}"
          f"{'':22s}  x   {verdict(per['torch_ms'][0] / per['nd_ms'][0], PER_STEP_TARGET)}")
    print(f"  {'neurodyn compile (cold - warm first call)':<44s} {per['compile_s']:>10.2f}"
          f"{'':22s}  s")
    print(f"  {f'neurodyn warm fit(steps={args.chunk}) call':<44s} {per['short_s']:>10.2f}"
          f"{'':22s}  s")
    print(f"  {'  of which fixed overhead (call - steps)':<44s} {per['overhead_s']:>10.2f}"
          f"{'':22s}  s")
    amort = (per["cold_s"] + args.steps * per["nd_ms"][0] / 1e3) / (args.chunk + args.steps)
    print(f"  {f'neurodyn one cold fit({args.chunk + args.steps}), amortised':<44s} "
          f"{1e3 * amort:>10.2f}{'':22s}  ms/step (estimate)")
    last = min(50, args.steps)
    label = f"train loss, mean of last {last} (torch / nd)"
    print(f"  {label:<44s} {per['torch_final_loss']:>10.4f} {per['nd_final_loss']:>10.4f}"
          f"   after {args.steps} / {args.chunk + args.steps} steps")
    if ens is not None:
        print(f"Ensemble, {args.members} members x {args.ensemble_steps} steps "
              f"(member-steps per second)")
        print(fmt_row("PyTorch, sequential trainings", ens["torch_tput"], "member-steps/s", 1))
        print(fmt_row("neurodyn fit_ensemble (differenced)", ens["nd_tput"], "member-steps/s",
                      1))
        print(fmt_row("PyTorch ms per member-step", inverse_ms(ens["torch_tput"]), "ms"))
        print(fmt_row("neurodyn ms per member-step", inverse_ms(ens["nd_tput"]), "ms"))
        med_ratio = ens["nd_tput"][0] / ens["torch_tput"][0]
        print(fmt_row("throughput ratio neurodyn / torch (paired)", ens["ratio"], "x"))
        print(f"  {'throughput ratio from medians':<44s} {med_ratio:>10.2f}{'':22s}  x   "
              f"{verdict(med_ratio, ENSEMBLE_TARGET)}")
        print(f"  {'neurodyn ensemble compile':<44s} {ens['compile_s']:>10.2f}{'':22s}  s")
        print(f"  {f'neurodyn warm fit_ensemble(steps={args.ensemble_chunk}) call':<44s} "
              f"{ens['short_s']:>10.2f}{'':22s}  s")
        print(f"  {'  of which fixed overhead (call - steps)':<44s} {ens['overhead_s']:>10.2f}"
              f"{'':22s}  s")
    if diag is not None:
        print("Where the time goes (jitted pieces of one step, median ms)")
        print(f"  {'':<44s} {'neurodyn':>10s} {'torch':>10s}")
        for label, nd, th in diag:
            th_s = "-" if math.isnan(th) else f"{th:10.2f}"
            print(f"  {label:<44s} {nd:>10.2f} {th_s:>10s}")
        print(f"  same params/inputs/noise: max |z_nd - z_torch| = {check['out_err']:.2e} "
              f"(max |z| = {check['out_scale']:.2f}), |loss diff| = {check['loss_err']:.2e}, "
              f"max rel grad diff = {check['grad_rel_err']:.2e}")
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
    parser.add_argument("--members", type=int, default=32, help="ensemble members (default 32)")
    parser.add_argument("--ensemble-steps", type=int, default=10,
                        help="timed steps per member per repeat, ensemble part (default 10)")
    parser.add_argument("--ensemble-chunk", type=int, default=5,
                        help="eval_every for the fit_ensemble calls (default 5)")
    parser.add_argument("--ensemble-repeats", type=int, default=3,
                        help="repeats, ensemble part (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (2)")
    parser.add_argument("--cpu-devices", type=int, default=min(2, os.cpu_count() or 1),
                        help="JAX CPU devices that fit_ensemble splits members across "
                             "(default: one per core, at most 2)")
    parser.add_argument("--skip-ensemble", action="store_true", help="skip part 2")
    parser.add_argument("--skip-diagnostics", action="store_true", help="skip part 3")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (smoke test): 4 steps, 1 repeat, 2 members, 2 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.chunk, args.repeats = 4, 2, 1
        args.members, args.ensemble_steps, args.ensemble_chunk, args.ensemble_repeats = 2, 2, 2, 1
    for name in ("steps", "chunk", "repeats", "members", "ensemble_steps", "ensemble_chunk",
                 "ensemble_repeats", "threads"):
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
        task, torch_task, n=3 if args.quick else 20)
    report(args, per, ens, diag, check, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
