"""`nd.models.from_torch`: a torch.nn.RNN/GRU/LSTM (with a Linear readout or without) becomes the
neurodyn network with the same outputs on the same inputs, and the fixed points of a GRU trained
in PyTorch on the 3-bit flip-flop are the 8 memories. torch is an optional peer: skipped
without it."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinput import assert_clear_error

import neurodyn as nd
from neurodyn import fixedpoints as fp

torch = pytest.importorskip("torch")

H, N_IN, N_OUT = 7, 3, 2


def torch_module(kind, seed=0, **kw):
    torch.manual_seed(seed)
    return getattr(torch.nn, kind)(N_IN, H, **kw)


@pytest.mark.parametrize("kind, kw", [
    ("RNN", dict(nonlinearity="tanh")),
    ("RNN", dict(nonlinearity="relu", bias=False, batch_first=True)),
    ("GRU", dict(batch_first=True)),
    ("GRU", dict(bias=False)),
    ("LSTM", dict(batch_first=True)),
    ("LSTM", dict(bias=False)),
])
def test_outputs_equal_the_torch_module(kind, kw):
    net = torch_module(kind, **kw)
    readout = torch.nn.Linear(H, N_OUT)
    model = nd.models.from_torch(net, readout)
    assert type(model) is getattr(nd.models, kind) and model.bias == kw.get("bias", True)
    assert (model.n_neurons, model.n_inputs, model.n_outputs) == (H, N_IN, N_OUT)
    assert model.noise_std == 0 and not model.learn_h0
    u = np.asarray(jax.random.normal(jax.random.key(1), (4, 20, N_IN)), np.float32)
    x0 = 0.5 * np.asarray(jax.random.normal(jax.random.key(2), (4, model.n_states)), np.float32)
    batch_first = kw.get("batch_first", False)
    u_torch = torch.from_numpy((u if batch_first else np.swapaxes(u, 0, 1)).copy())
    h = torch.from_numpy(x0[None, :, :H].copy())
    with torch.no_grad():
        out, _ = net(u_torch, (h, torch.from_numpy(x0[None, :, H:].copy()))
                     if kind == "LSTM" else h)
        out = out if batch_first else out.transpose(0, 1)
        z = readout(out).numpy()
        zero_start = readout(net(u_torch)[0] if batch_first else net(u_torch)[0].transpose(0, 1))
    roll = model.simulate(u, key=None, x0=x0)
    np.testing.assert_allclose(roll.states[..., :H], out.numpy(), atol=1e-5)
    np.testing.assert_allclose(roll.outputs, z, atol=1e-5)
    np.testing.assert_allclose(model.simulate(u, key=None).outputs, zero_start.numpy(), atol=1e-5)


def test_without_a_readout_the_outputs_are_the_hidden_states():
    net = torch_module("GRU", seed=3)
    model = nd.models.from_torch(net)
    assert model.n_outputs == H
    u = np.asarray(jax.random.normal(jax.random.key(4), (6, 2, N_IN)), np.float32)  # [T, B, I]
    with torch.no_grad():
        out = net(torch.from_numpy(u))[0].numpy()
    roll = model.simulate(np.swapaxes(u, 0, 1), key=None)
    np.testing.assert_allclose(roll.outputs, np.swapaxes(out, 0, 1), atol=1e-5)


def flipflop_pulses(n_trials, n_steps, seed, p=0.1):
    """3-bit flip-flop data in NumPy (Sussillo & Barak 2013): ±1 pulses; each output holds the
    sign of its channel's last pulse (0 before the first)."""
    rng = np.random.default_rng(seed)
    pulses = (rng.random((n_trials, n_steps, 3)) < p) * rng.choice([-1.0, 1.0], (
        n_trials, n_steps, 3))
    targets = np.zeros_like(pulses)
    state = np.zeros((n_trials, 3))
    for t in range(n_steps):
        state = np.where(pulses[:, t] != 0, pulses[:, t], state)
        targets[:, t] = state
    return pulses.astype(np.float32), targets.astype(np.float32)


@pytest.mark.slow
def test_fixed_points_of_a_torch_trained_flipflop_gru():
    """A GRU trained in PyTorch (no neurodyn in the loop), converted, holds the 8 memories of
    the 3-bit flip-flop in 8 stable fixed points, one at each corner of the output cube.
    (Slow: 300 Adam steps in PyTorch take from 10 s to minutes on a shared 2-core machine.)"""
    torch.manual_seed(0)
    net, readout = torch.nn.GRU(3, 16, batch_first=True), torch.nn.Linear(16, 3)
    opt = torch.optim.Adam([*net.parameters(), *readout.parameters()], lr=1e-2)
    u, y = flipflop_pulses(64 * 300, 40, seed=0)
    for step in range(300):
        batch = slice(64 * step, 64 * (step + 1))
        loss = torch.mean((readout(net(torch.from_numpy(u[batch]))[0])
                           - torch.from_numpy(y[batch])) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = nd.models.from_torch(net, readout)
    u_test, y_test = flipflop_pulses(64, 40, seed=1)
    roll = model.simulate(u_test, key=None)
    held = np.abs(y_test) > 0
    assert np.mean(np.sign(np.asarray(roll.outputs))[held] == y_test[held]) > 0.98
    x0 = fp.sample_states(roll, 128, key=jax.random.key(0), noise_scale=0.2)
    fps = fp.find(model, x0, jnp.zeros(3), progress=False)
    memories = fps[fps.stable]
    z = np.asarray(model.readout(memories.xstar))
    assert memories.n_points == 8
    assert {tuple(np.sign(row).astype(int)) for row in z} == set(
        itertools.product((-1, 1), repeat=3))


def test_bad_modules_and_readouts():
    gru = torch_module("GRU")
    for bad in (torch.nn.Linear(3, 3), torch.nn.GRUCell(3, 4), "GRU", None):
        assert_clear_error("from_torch", "module", lambda bad=bad: nd.models.from_torch(bad))
    for kind, kw in (("GRU", dict(num_layers=2)), ("LSTM", dict(bidirectional=True)),
                     ("LSTM", dict(proj_size=2))):
        net = torch_module(kind, **kw)
        err = assert_clear_error("from_torch", "module", lambda net=net: nd.models.from_torch(net))
        assert next(iter(kw)) in str(err)
    assert_clear_error("from_torch", "readout",
                       lambda: nd.models.from_torch(gru, torch.nn.Linear(H + 1, 2)))
    assert_clear_error("from_torch", "readout",
                       lambda: nd.models.from_torch(gru, torch.nn.Conv1d(H, 2, 1)))
