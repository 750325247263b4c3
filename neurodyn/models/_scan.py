"""The simulation loop of every `AbstractRNN`, with a hand-written reverse pass.

Forward, for t = 0 … T−1 (states[t] = x_{t+1}, rates[t] = φ(x_{t+1})):

    x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t,     z_t = φ(x_{t+1}) W_out / N

Reverse pass (adjoint method). With A_{t+1} = dL/dx_{t+1} (all paths) and A_{T+1} = 0:

    A_{t+1} = ḡs_t + φ'(x_{t+1}) ⊙ (ḡz_t W_outᵀ / N + α Jᵀ A_{t+2}) + (1 − α) A_{t+2}

where ḡs, ḡz are the cotangents of the returned states and outputs. The loop carries only
A; parameter gradients are contracted once after it, over all T·B rows at a time:

    dθ_J  = α ∂/∂θ Σ_t ⟨A_{t+1}, J_θ φ(x_t)⟩,    dθ_in = α ∂/∂θ Σ_t ⟨A_{t+1}, W_in(θ) u_t⟩,
    dθ_out = ∂/∂θ Σ_t ⟨ḡz_t, φ(x_{t+1}) W_out(θ) / N⟩.

Compared with differentiating the scan, this stores only the states and rates (which the
forward pass returns anyway) instead of several [T, B, N] residuals, the noise draws are never
part of the reverse pass, and the reverse loop body is one reduction and one fused update.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

from .._noise import step_normal
from ._nonlinearity import get_derivative


def _forward(model, x0, u_tm, xi_tm, words):
    """(states, rates, outputs), each time-major [T, trials, ·]."""
    alpha, sigma = model.alpha, model.noise_std
    w_in = model.input_weights
    n_trials, n = x0.shape
    phi = model.phi

    def body(carry, xs):
        x, r = carry
        u, t, xi = xs
        x = x + alpha * (-x + model.recurrent_rows(r) + u @ w_in)
        if xi is not None:
            x = x + sigma * xi
        elif words is not None:
            x = x + sigma * step_normal(words, t, n_trials, n, x.dtype)
        r = phi(x)
        return (x, r), (x, r)

    steps = jnp.arange(u_tm.shape[0], dtype=jnp.uint32)
    _, (states, rates) = lax.scan(body, (x0, phi(x0)), (u_tm, steps, xi_tm))
    return states, rates, rates @ _readout_matrix(model)


def _readout_matrix(model):
    # W_out / N on the small side, so neither the readout nor its gradient scales a [T, B, N]
    # array.
    return model.readout_weights / model.n_neurons


@eqx.filter_custom_vjp
def run_rnn(diff, words):
    """(states, outputs) of `model` from `x0` [trials, N] under inputs `u_tm` [T, trials, I].

    `diff = (model, x0, u_tm, xi_tm)`; the noise is `xi_tm` [T, trials, N] if given, else
    generated from the stream `words` if given, else absent.
    """
    model, x0, u_tm, xi_tm = diff
    states, _, outputs = _forward(model, x0, u_tm, xi_tm, words)
    return states, outputs


@run_rnn.def_fwd
def _run_fwd(perturbed, diff, words):
    model, x0, u_tm, xi_tm = diff
    states, rates, outputs = _forward(model, x0, u_tm, xi_tm, words)
    return (states, outputs), (states, rates)


@run_rnn.def_bwd
def _run_bwd(residuals, cotangents, perturbed, diff, words):
    model, x0, u_tm, xi_tm = diff
    states, rates = residuals
    g_states, g_outputs = cotangents
    alpha = model.alpha
    n_steps, n_trials, n = states.shape
    dphi = get_derivative(model.nonlinearity)
    w_out = _readout_matrix(model)
    transpose_rec = jax.linear_transpose(model.recurrent_rows, x0)

    def body(a_next, xs):
        gs, gz, x, r = xs
        (back,) = transpose_rec(a_next)
        inner = alpha * back if gz is None else gz @ w_out.T + alpha * back
        a = dphi(x, r) * inner + (1 - alpha) * a_next
        if gs is not None:
            a = a + gs
        return a, a_next

    # Each step emits the adjoint it received, A_{t+2}, which pairs with rates[t] = φ(x_{t+1}).
    a1, a_next = lax.scan(
        body, jnp.zeros_like(x0), (g_states, g_outputs, states, rates), reverse=True
    )
    r0 = model.phi(x0)
    (back,) = transpose_rec(a1)
    d_x0 = (1 - alpha) * a1 + alpha * dphi(x0, r0) * back

    rows = n_steps * n_trials
    flat = a_next.reshape(rows, n)
    # u_{t+1} pairs with A_{t+2}; the t = 0 terms use x0, u_0 and A_1.
    u_next = jnp.concatenate([u_tm[1:], jnp.zeros_like(u_tm[:1])], axis=0)

    def drive(m, r, u):
        return m.recurrent_rows(r) + u @ m.input_weights

    _, vjp = eqx.filter_vjp(drive, model, rates.reshape(rows, n), u_next.reshape(rows, -1))
    d_model, _, d_u_next = vjp(flat)
    _, vjp0 = eqx.filter_vjp(drive, model, r0, u_tm[0])
    d_model0, _, d_u0 = vjp0(a1)
    d_model = _scaled_sum(alpha, d_model, d_model0)
    d_u = alpha * jnp.concatenate([d_u0[None], d_u_next.reshape(u_tm.shape)[:-1]], axis=0)
    if g_outputs is not None:
        _, vjp_out = eqx.filter_vjp(
            lambda m: rates.reshape(rows, n) @ _readout_matrix(m), model
        )
        (d_readout,) = vjp_out(g_outputs.reshape(rows, -1))
        d_model = jax.tree_util.tree_map(_add, d_model, d_readout, is_leaf=_is_none)
    d_xi = None
    if xi_tm is not None:
        d_xi = model.noise_std * jnp.concatenate([a1[None], a_next[:-1]], axis=0)
    return d_model, d_x0, d_u, d_xi


def _is_none(x):
    return x is None


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _scaled_sum(alpha, a, b):
    return jax.tree_util.tree_map(
        lambda x, y: None if x is None and y is None else alpha * _add(x, y), a, b,
        is_leaf=_is_none,
    )
