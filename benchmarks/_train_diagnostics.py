"""Part 3 of `train_throughput.py`: where the time of one step goes, and whether every PyTorch
variant computes what neurodyn computes (same parameters, inputs and noise draws)."""

from __future__ import annotations

import statistics
import time

import equinox as eqx
import jax
import numpy as np
import torch
from _torch_lowrank import (
    CarefulTrainer,
    DubreuilStyleRNN,
    dubreuil_loss,
    masked_mse as torch_masked_mse,
)

from neurodyn.train import masked_mse

PARAMS = ("m", "n", "w_in", "g_in", "w_out", "g_out")
TRAINED = ("m", "n", "g_in", "g_out")


def median_ms(fn, *args, n=20):
    fn(*args)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn(*args)
        samples.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(samples)


def _copy_params(module, model, member=None):
    with torch.no_grad():
        for name in PARAMS:
            value = torch.tensor(np.asarray(getattr(model, name)))
            target = getattr(module, name)
            (target if member is None else target[member]).copy_(value)


def _grads(module, member=None):
    return {name: (getattr(module, name).grad if member is None
                   else getattr(module, name).grad[member]).numpy() for name in TRAINED}


def _compare(nd_out, nd_loss, nd_grad, out, loss, grads):
    return dict(
        out_err=float(np.max(np.abs(nd_out - out))),
        loss_err=abs(float(nd_loss) - float(loss)),
        grad_rel_err=max(
            float(np.max(np.abs(np.asarray(getattr(nd_grad, k)) - grads[k]))
                  / (np.max(np.abs(np.asarray(getattr(nd_grad, k)))) + 1e-12))
            for k in TRAINED),
    )


def diagnostics(task, torch_task, make_model, setup, n, compiled):
    """(rows of component timings, {variant: equivalence check}); `compiled`: the warm
    `torch.compile` trainer of part 1 or None (a new one would compile again)."""
    print("\n[3/3] diagnostics", flush=True)
    T, B, N = task.n_steps, setup["batch"], setup["n_neurons"]
    key = jax.random.key(7)
    model = make_model(jax.random.key(0))
    trials = task.sample(jax.random.key(8), B)
    xi = jax.random.normal(jax.random.key(9), (B, T, N))
    params, frozen = eqx.partition(model, model.trainable())

    sim_given = eqx.filter_jit(lambda m, u, e: m.simulate(u, key=None, noise=e).outputs)

    def loss_sampled(p, k):
        k_task, k_noise = jax.random.split(k)
        tr = task.sample(k_task, B)
        return masked_mse(eqx.combine(p, frozen).simulate(tr.inputs, key=k_noise).outputs, tr)

    def loss_given(p, e):
        return masked_mse(eqx.combine(p, frozen).simulate(trials.inputs, key=None,
                                                          noise=e).outputs, trials)

    vg_sampled = eqx.filter_jit(eqx.filter_value_and_grad(loss_sampled))
    vg_given = eqx.filter_jit(eqx.filter_value_and_grad(loss_given))

    def block(f):
        return lambda *a: jax.block_until_ready(f(*a))

    u_t, y_t, mask_t, xi_t = (
        torch.tensor(np.asarray(a)) for a in (trials.inputs, trials.targets, trials.mask, xi))
    gen = torch.Generator().manual_seed(0)
    eager = CarefulTrainer(torch_task, 0, val_trials=B, **setup)
    _copy_params(eager.model, model)
    twin = eager.model

    def torch_fwd():
        with torch.no_grad():
            return twin(u_t, xi_t)

    def torch_fwd_bwd():
        twin.zero_grad(set_to_none=True)
        loss = torch_masked_mse(twin(u_t, xi_t), y_t, mask_t)
        loss.backward()
        return loss.detach()

    def torch_sample_fwd_bwd():
        inputs, targets, mask = torch_task.sample(B, gen)
        twin.zero_grad(set_to_none=True)
        torch_masked_mse(twin(inputs, torch.randn(B, T, N, generator=gen)), targets,
                         mask).backward()

    rows = [
        ("normal draws [32,51,512]",
         median_ms(block(jax.jit(lambda k: jax.random.normal(k, (B, T, N)))), key, n=n),
         median_ms(lambda: torch.randn(B, T, N, generator=gen), n=n)),
        ("forward, noise given", median_ms(block(sim_given), model, trials.inputs, xi, n=n),
         median_ms(torch_fwd, n=n)),
        ("loss + grad, noise given", median_ms(block(vg_given), params, xi, n=n),
         median_ms(torch_fwd_bwd, n=n)),
        ("sample + loss + grad (no optimiser)", median_ms(block(vg_sampled), params, key, n=n),
         median_ms(torch_sample_fwd_bwd, n=n)),
    ]

    nd_out = np.asarray(sim_given(model, trials.inputs, xi))
    nd_loss, nd_grad = vg_given(params, xi)
    check = {}

    loss = torch_fwd_bwd()
    check["careful, eager"] = _compare(nd_out, nd_loss, nd_grad, torch_fwd().numpy(), loss,
                                       _grads(twin))
    if compiled is not None:  # the compiled trainer of part 1, given neurodyn's parameters
        trainer = compiled
        _copy_params(trainer.model, model)
        trainer.model.zero_grad(set_to_none=True)
        loss, out = trainer.loss_fn(u_t, xi_t, y_t, mask_t)
        loss.backward()
        check["careful, torch.compile"] = _compare(nd_out, nd_loss, nd_grad,
                                                   out.detach().numpy(), loss.detach(),
                                                   _grads(trainer.model))
    dub = DubreuilStyleRNN(N, setup["rank"], 1, 1, alpha=setup["alpha"],
                           noise_std=setup["noise_std"], gen=gen)
    _copy_params(dub, model)
    out, _ = dub(u_t, xi_t)
    loss = dubreuil_loss(out, y_t, mask_t)
    loss.backward()
    check["low_rank_rnns-style"] = _compare(nd_out, nd_loss, nd_grad, out.detach().numpy(),
                                            loss.detach(), _grads(dub))
    # Member 1 of a stack of 3 (the others hold other networks) computes the same as one network.
    stacked = CarefulTrainer(torch_task, 1, val_trials=B, members=3, **setup)
    _copy_params(stacked.model, model, member=1)
    k = lambda a: a[None].expand(3, *a.shape)  # noqa: E731
    loss, out = stacked.loss_fn(k(u_t), k(xi_t), k(y_t), k(mask_t))
    loss.backward()
    with torch.no_grad():
        member_loss = torch_masked_mse(out[1], y_t, mask_t)
    check["careful, stacked member"] = _compare(nd_out, nd_loss, nd_grad,
                                                out[1].detach().numpy(), member_loss,
                                                _grads(stacked.model, member=1))
    return rows, check
