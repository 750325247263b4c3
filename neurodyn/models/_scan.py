"""The simulation loop of every `AbstractRNN`, with a hand-written reverse pass.

Forward, for t = 0 … T−1 (states[t] = x_{t+1}, rates[t] = φ(x_{t+1})):

    x_{t+1} = x_t + α(−x_t + J φ(x_t) + W_in u_t) + σ ξ_t,     z_t = φ(x_{t+1}) W_out / N

Reverse pass (adjoint method). With A_{t+1} = dL/dx_{t+1} (all paths) and A_{T+1} = 0:

    A_{t+1} = ḡs_t + φ'(x_{t+1}) ⊙ (ḡz_t W_outᵀ / N + α Jᵀ A_{t+2}) + (1 − α) A_{t+2}

where ḡs, ḡz are the cotangents of the returned states and outputs. The parameter gradients
are accumulated inside the same reverse loop, while step t's adjoint and rates are in cache:

    dθ_J  = α ∂/∂θ Σ_t ⟨A_{t+1}, J_θ φ(x_t)⟩,    dθ_in = α ∂/∂θ Σ_t ⟨A_{t+1}, W_in(θ) u_t⟩,
    dθ_out = ∂/∂θ Σ_t ⟨ḡz_t, φ(x_{t+1}) W_out(θ) / N⟩

(only for the parameters being differentiated). Compared with differentiating the scan, the
forward pass keeps one [T, B, N] array, the rates (φ' of every named nonlinearity is a function
of φ(x); the states are kept only when the caller asks for them or φ' needs them), the noise
draws are never part of the reverse pass, and the reverse pass writes nothing of size
[T, B, N] (an earlier version stored the adjoints and contracted them after the loop: on a CPU
that second pass over memory cost about a third of a training step).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

from .._noise import step_normal
from .._nonlinearity import RATE_DERIVATIVES, get_derivative


def _forward(model, x0, u_tm, xi_tm, words, keep: tuple[bool, bool]):
    """(states or None, rates or None, outputs), time-major [T, trials, ·]; `keep` says
    whether the states and the rates are stored (the outputs always are)."""
    alpha, sigma = model.alpha, model.noise_std
    w_in = model.input_weights
    w_out = _readout_matrix(model)
    n_trials, n = x0.shape
    phi = model.phi
    keep_states, keep_rates = keep

    def body(carry, xs):
        x, r = carry
        u, t, xi = xs
        x = x + alpha * (-x + model.recurrent_rows(r) + u @ w_in)
        if xi is not None:
            x = x + sigma * xi
        elif words is not None:
            x = x + sigma * step_normal(words, t, n_trials, n, x.dtype)
        r = phi(x)
        # The readout of each step while its rates are in cache (no second pass over [T, B, N]).
        return (x, r), (x if keep_states else None, r if keep_rates else None, r @ w_out)

    steps = jnp.arange(u_tm.shape[0], dtype=jnp.uint32)
    _, out = lax.scan(body, (x0, phi(x0)), (u_tm, steps, xi_tm))
    return out


def _readout_matrix(model):
    # W_out / N on the small side, so neither the readout nor its gradient scales a [T, B, N]
    # array.
    return model.readout_weights / model.n_neurons


@eqx.filter_custom_vjp
def run_rnn(diff, words, with_states: bool):
    """(states, outputs) of `model` from `x0` [trials, N] under inputs `u_tm` [T, trials, I];
    states is None unless `with_states`.

    `diff = (model, x0, u_tm, xi_tm)`; the noise is `xi_tm` [T, trials, N] if given, else
    generated from the stream `words` if given, else absent.
    """
    model, x0, u_tm, xi_tm = diff
    states, _, outputs = _forward(model, x0, u_tm, xi_tm, words, (with_states, False))
    return states, outputs


@run_rnn.def_fwd
def _run_fwd(perturbed, diff, words, with_states):
    model, x0, u_tm, xi_tm = diff
    # φ' of the usual nonlinearities is a function of the rates: then the states are kept
    # only if the caller asked for them.
    from_rates = model.nonlinearity in RATE_DERIVATIVES
    states, rates, outputs = _forward(
        model, x0, u_tm, xi_tm, words, (with_states or not from_rates, True)
    )
    return (states if with_states else None, outputs), (rates, None if from_rates else states)


@run_rnn.def_bwd
def _run_bwd(residuals, cotangents, perturbed, diff, words, with_states):
    model, x0, u_tm, xi_tm = diff
    p_model, _, p_u, p_xi = perturbed
    rates, states = residuals
    g_states, g_outputs = cotangents
    alpha = model.alpha
    dphi = get_derivative(model.nonlinearity)  # from the rates when states is None
    w_out = _readout_matrix(model)
    # The parameters to differentiate, and the two maps they enter: the drive J φ(x) + W_in u of
    # one step, and the readout.
    params, fixed = eqx.partition(model, p_model)

    def drive(params, r, u):
        m = eqx.combine(params, fixed)
        return m.recurrent_rows(r) + u @ m.input_weights

    def readout(params, r):
        return r @ _readout_matrix(eqx.combine(params, fixed))

    zero = jax.tree_util.tree_map(jnp.zeros_like, params)
    # u_{t+1} pairs with A_{t+2} and rates[t] = φ(x_{t+1}); the t = 0 terms use x0, u_0, A_1.
    u_next = jnp.concatenate([u_tm[1:], jnp.zeros_like(u_tm[:1])], axis=0)

    def body(carry, xs):
        a_next, d_drive, d_read = carry
        gs, gz, r, u, x = xs
        _, vjp = jax.vjp(drive, params, r, u)
        g_params, back, g_u = vjp(a_next)
        d_drive = jax.tree_util.tree_map(jnp.add, d_drive, g_params)
        inner = alpha * back
        if gz is not None:
            inner = inner + gz @ w_out.T
            _, vjp_out = jax.vjp(readout, params, r)
            d_read = jax.tree_util.tree_map(jnp.add, d_read, vjp_out(gz)[0])
        a = dphi(x, r) * inner + (1 - alpha) * a_next
        if gs is not None:
            a = a + gs
        emit = (alpha * g_u if p_u else None, a_next if p_xi else None)
        return (a, d_drive, d_read), emit

    (a1, d_drive, d_read), (d_u_next, a_next) = lax.scan(
        body, (jnp.zeros_like(x0), zero, zero), (g_states, g_outputs, rates, u_next, states),
        reverse=True,
    )
    r0 = model.phi(x0)
    _, vjp0 = jax.vjp(drive, params, r0, u_tm[0])
    g_params, back, d_u0 = vjp0(a1)
    d_x0 = (1 - alpha) * a1 + alpha * dphi(x0, r0) * back
    d_model = jax.tree_util.tree_map(
        lambda d, g, o: alpha * (d + g) + o, d_drive, g_params, d_read
    )
    d_u = None
    if p_u:
        d_u = jnp.concatenate([alpha * d_u0[None], d_u_next[:-1]], axis=0)
    d_xi = None
    if p_xi:
        d_xi = model.noise_std * jnp.concatenate([a1[None], a_next[:-1]], axis=0)
    return d_model, d_x0, d_u, d_xi
