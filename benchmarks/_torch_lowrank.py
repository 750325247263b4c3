"""PyTorch baselines for `train_throughput.py`: the same low-rank RNN and task, written three ways.

* `CarefulLowRankRNN` / `CarefulTrainer`: what a careful PyTorch user writes. No indexing of a
  `[B, T, N]` tensor that requires grad inside the time loop (its backward pass would write T
  full-size gradient tensors): the inputs and the noise are handed out per step by `unbind`
  (views), the input projection and the readout are small per-step matmuls (so the gradients of
  g_in and g_out accumulate in [I, N] and [N, O] tensors), the rates of each step are kept for
  the next one, and the scalings (alpha, 1/N) are folded into the weights once per forward pass.
  Of the variants tried on this machine (precomputed [B, T, N] input drive handed out by `unbind`;
  readout after the loop on the stacked rates; this one) this was the fastest, eager and
  compiled. Optional leading member dimension (`members=K`): K independent networks in one set
  of tensors (batched matmuls), trained by one Adam (Adam is elementwise, so this is K
  independent Adams) on the *sum* of their losses (so each member's gradient is its own).
  Optionally the training loss is wrapped in `torch.compile` (TorchInductor); validation stays
  eager (it runs once per 50 steps and would need a second compiled graph).
* `DubreuilStyleRNN` / `DubreuilStyleTrainer`: the structure of Dubreuil et al.'s own
  `low_rank_rnns` code (`modules.LowRankRNN.forward` and `modules.train`), rewritten here from
  a reading of it: a fixed training set generated once (1000 trials in their scripts), epochs of
  `len // batch` steps on batches drawn with `random.sample`, the noise drawn inside `forward`,
  the state started from a (non-trained) `h0`, the input projected and the output read out inside
  the loop, written into preallocated output and trajectory tensors, `loss.item()` after every
  step, and with `keep_best=True` (their scripts' setting) one pass over the whole training set
  before the first epoch and a copy of the network whenever an epoch's mean loss improves.

All follow neurodyn's update rule (alpha = dt/tau, phi = tanh, xi ~ N(0, I)):

    x <- x + alpha (-x + m (n^T phi(x)) / N + u (g_in * w_in)) + sigma xi
    z  = phi(x) (w_out g_out) / N
"""

from __future__ import annotations

import copy
import random

import numpy as np
import torch


class TorchDecisionTask:
    """Perceptual decision making trials generated with torch ops (same epochs as neurodyn's)."""

    def __init__(self, task):
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

    def sample(self, batch: int, gen: torch.Generator, members: int | None = None):
        """inputs, targets, mask [(K,) B, T, 1] for fresh trials."""
        shape = (batch,) if members is None else (members, batch)
        idx = torch.randint(0, len(self.coherences), shape, generator=gen)
        coherence = self.coherences[idx][..., None, None]
        noise = torch.randn(*shape, self.n_steps, 1, generator=gen)
        inputs = coherence * self.stimulus[:, None] + self.input_noise * noise
        targets = torch.sign(coherence) * self.decision[:, None]
        mask = self.decision[:, None].expand(*shape, self.n_steps, 1)
        return inputs, targets, mask


def masked_mse(outputs, targets, mask):
    """neurodyn's `masked_mse`, per member: mean over trials of the masked mean squared error."""
    per_trial = (mask * (outputs - targets) ** 2).sum(dim=(-2, -1))
    return (per_trial / mask.sum(dim=(-2, -1)).clamp(min=1.0)).mean(dim=-1)


def _init(module, n_neurons, rank, n_inputs, n_outputs, shape, readout_std, gen):
    """neurodyn's defaults: m, n ~ N(0, 1), w_in ~ N(0, 1), w_out ~ N(0, readout_std^2), gains 1;
    trainable m, n, g_in, g_out (neurodyn's default `train=`); w_in, w_out fixed."""

    def normal(*s, std=1.0):
        return std * torch.randn(*shape, *s, generator=gen)

    module.m = torch.nn.Parameter(normal(n_neurons, rank))
    module.n = torch.nn.Parameter(normal(n_neurons, rank))
    module.register_buffer("w_in", normal(n_inputs, n_neurons))
    module.g_in = torch.nn.Parameter(torch.ones(*shape, n_inputs))
    module.register_buffer("w_out", normal(n_neurons, n_outputs, std=readout_std))
    module.g_out = torch.nn.Parameter(torch.ones(*shape, n_outputs))


class CarefulLowRankRNN(torch.nn.Module):
    def __init__(self, n_neurons, rank, n_inputs, n_outputs, *, alpha, noise_std,
                 readout_std=4.0, members=None, gen: torch.Generator):
        super().__init__()
        self.n_neurons, self.alpha, self.noise_std = n_neurons, alpha, noise_std
        shape = () if members is None else (members,)
        _init(self, n_neurons, rank, n_inputs, n_outputs, shape, readout_std, gen)

    def forward(self, inputs, xi):
        """Outputs [(K,) B, T, O] for inputs [(K,) B, T, I] and draws xi [(K,) B, T, N]."""
        a, n_neurons = self.alpha, self.n_neurons
        w_in = a * self.w_in * self.g_in[..., :, None]  # [(K,) I, N]
        w_out = self.w_out * self.g_out[..., None, :] / n_neurons  # [(K,) N, O]
        m_t = (a / n_neurons) * self.m.transpose(-1, -2)  # [(K,) R, N]
        noise = (self.noise_std * xi).unbind(-2)  # views, no grad: cheap in the backward pass
        x = torch.zeros_like(noise[0])
        r = torch.zeros_like(x)  # tanh(0)
        outputs = []
        for u, e in zip(inputs.unbind(-2), noise):
            x = (1.0 - a) * x + (r @ self.n) @ m_t + u @ w_in + e
            r = torch.tanh(x)
            outputs.append(r @ w_out)
        return torch.stack(outputs, dim=-2)


class CarefulTrainer:
    """One network (or `members` stacked networks), Adam, a random stream, validation trials;
    one step = fresh trials + noise, forward, backward, Adam (as neurodyn's `fit`)."""

    def __init__(self, task: TorchDecisionTask, seed: int, *, n_neurons, rank, batch, val_trials,
                 alpha, noise_std, learning_rate, members=None, compiled=False):
        self.task, self.batch, self.members, self.n_neurons = task, batch, members, n_neurons
        self.gen = torch.Generator().manual_seed(seed)
        self.model = CarefulLowRankRNN(n_neurons, rank, 1, 1, alpha=alpha, noise_std=noise_std,
                                       members=members, gen=self.gen)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        self.val = task.sample(val_trials, self.gen, members)
        self.loss_fn = torch.compile(self._loss) if compiled else self._loss

    def _loss(self, inputs, xi, targets, mask):
        outputs = self.model(inputs, xi)
        return masked_mse(outputs, targets, mask).sum(), outputs

    def _draws(self, inputs):
        return torch.randn(*inputs.shape[:-1], self.n_neurons, generator=self.gen)

    @torch.no_grad()
    def validate(self):
        """What `fit` does after every chunk: a noisy forward pass over the validation trials,
        their loss and accuracy (sign of the summed decision-epoch output against the target)."""
        inputs, targets, mask = self.val
        loss, outputs = self._loss(inputs, self._draws(inputs), targets, mask)
        choice = torch.sign((outputs * mask).sum(dim=(-2, -1)))
        accuracy = (choice == torch.sign((targets * mask).sum(dim=(-2, -1)))).float().mean(-1)
        return loss, accuracy

    def step(self):
        inputs, targets, mask = self.task.sample(self.batch, self.gen, self.members)
        loss, _ = self.loss_fn(inputs, self._draws(inputs), targets, mask)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def train(self, steps: int, eval_every: int) -> np.ndarray:
        losses = []
        for i in range(steps):
            losses.append(self.step())
            if (i + 1) % eval_every == 0:
                self.validate()
        return torch.stack(losses).numpy()


class DubreuilStyleRNN(torch.nn.Module):
    def __init__(self, n_neurons, rank, n_inputs, n_outputs, *, alpha, noise_std,
                 readout_std=4.0, gen: torch.Generator):
        super().__init__()
        self.n_neurons, self.n_outputs = n_neurons, n_outputs
        self.alpha, self.noise_std, self.gen = alpha, noise_std, gen
        _init(self, n_neurons, rank, n_inputs, n_outputs, (), readout_std, gen)
        self.register_buffer("h0", torch.zeros(n_neurons))

    def forward(self, inputs, xi=None):
        """(outputs [B, T, O], trajectories [B, T, N]); xi given only for the equivalence check."""
        batch, n_steps = inputs.shape[:2]
        n_neurons, a = self.n_neurons, self.alpha
        w_in = self.w_in * self.g_in[:, None]
        w_out = self.w_out * self.g_out
        if xi is None:
            xi = torch.randn(batch, n_steps, n_neurons, generator=self.gen)
        output = torch.zeros(batch, n_steps, self.n_outputs)
        trajectories = torch.zeros(batch, n_steps, n_neurons)
        h = self.h0
        r = torch.tanh(h)
        for t in range(n_steps):
            h = h + self.noise_std * xi[:, t, :] + a * (
                -h + r.matmul(self.n).matmul(self.m.t()) / n_neurons + inputs[:, t, :] @ w_in)
            r = torch.tanh(h)
            output[:, t, :] = r.matmul(w_out) / n_neurons
            trajectories[:, t, :] = h
        return output, trajectories


def dubreuil_loss(output, target, mask):
    """Their masked MSE: mean over outputs, sum over time / masked steps, mean over trials
    (equal to `masked_mse` for one output and a 0/1 mask)."""
    per_step = (mask * (target - output)).pow(2).mean(dim=-1)
    return (per_step.sum(dim=-1) / mask[:, :, 0].sum(dim=-1)).mean()


class DubreuilStyleTrainer:
    """Their `train(net, x, y, mask, n_epochs, lr, batch_size=32, keep_best=True)` loop."""

    def __init__(self, task: TorchDecisionTask, seed: int, *, n_neurons, rank, batch, alpha,
                 noise_std, learning_rate, n_trials=1000):
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = random.Random(seed)
        self.batch = batch
        self.model = DubreuilStyleRNN(n_neurons, rank, 1, 1, alpha=alpha, noise_std=noise_std,
                                      gen=self.gen)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        self.data = task.sample(n_trials, self.gen)  # their generate_*_data(1000)

    def train(self, epochs: int) -> np.ndarray:
        inputs, targets, mask = self.data
        n_trials = inputs.shape[0]
        with torch.no_grad():  # keep_best: the initial loss over the whole training set
            output, _ = self.model(inputs)
            best_loss = dubreuil_loss(output, targets, mask).item()
            best = copy.deepcopy(self.model.state_dict())
        all_losses = []
        for _ in range(epochs):
            losses = []
            for _ in range(n_trials // self.batch):
                self.opt.zero_grad()
                idx = self.rng.sample(range(n_trials), self.batch)
                output, _ = self.model(inputs[idx])
                loss = dubreuil_loss(output, targets[idx], mask[idx])
                losses.append(loss.item())
                loss.backward()
                self.opt.step()
                loss.detach_()
                output.detach_()
            all_losses += losses
            if np.mean(losses) < best_loss:
                best_loss = float(np.mean(losses))
                best = copy.deepcopy(self.model.state_dict())
        self.model.load_state_dict(best)
        return np.asarray(all_losses)

    def steps_per_epoch(self) -> int:
        return self.data[0].shape[0] // self.batch
