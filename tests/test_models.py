import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd

NP_PHI = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}


def numpy_simulate(J, w_in, g_in, w_out, g_out, alpha, sigma, phi, inputs, xi):
    """Independent NumPy loop of x ← x + α(−x + J φ(x) + W_in u) + σξ, z = φ(x) W_out / N."""
    B, T, _ = inputs.shape
    N = J.shape[0]
    W_in = g_in[:, None] * w_in
    W_out = w_out * g_out[None, :]
    x = np.zeros((B, N))
    states = np.zeros((B, T, N))
    outputs = np.zeros((B, T, W_out.shape[1]))
    for b in range(B):
        for t in range(T):
            x[b] = x[b] + alpha * (-x[b] + J @ phi(x[b]) + inputs[b, t] @ W_in) + sigma * xi[b, t]
            states[b, t] = x[b]
            outputs[b, t] = phi(x[b]) @ W_out / N
    return states, outputs


def _perturb_gains(model, key):
    k1, k2 = jax.random.split(key)
    return eqx.tree_at(
        lambda m: (m.g_in, m.g_out),
        model,
        (
            1 + 0.3 * jax.random.normal(k1, model.g_in.shape),
            1 + 0.3 * jax.random.normal(k2, model.g_out.shape),
        ),
    )


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("kind", ["lowrank", "fullrank"])
def test_simulate_matches_numpy_loop(kind, nonlinearity):
    key = jax.random.key(3)
    N, R, n_in, n_out, B, T = 40, 2, 3, 2, 3, 25
    if kind == "lowrank":
        model = nd.models.LowRankRNN(
            N, R, n_in, n_out, nonlinearity=nonlinearity, noise_std=0.1, key=key
        )
        J = np.asarray(model.m, np.float64) @ np.asarray(model.n, np.float64).T / N
    else:
        model = nd.models.FullRankRNN(
            N, n_in, n_out, nonlinearity=nonlinearity, noise_std=0.1, rho=1.5, key=key
        )
        J = np.asarray(model.J, np.float64)
    model = _perturb_gains(model, jax.random.key(4))
    inputs = np.asarray(jax.random.normal(jax.random.key(5), (B, T, n_in)))
    xi = np.asarray(jax.random.normal(jax.random.key(6), (B, T, N)))
    roll = model.simulate(inputs, key=None, noise=jnp.asarray(xi))
    ref_states, ref_out = numpy_simulate(
        J, *(np.asarray(a, np.float64) for a in (model.w_in, model.g_in, model.w_out, model.g_out)),
        0.2, 0.1, NP_PHI[nonlinearity], inputs, xi,
    )
    np.testing.assert_allclose(roll.states, ref_states, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(roll.outputs, ref_out, atol=1e-5, rtol=1e-5)
    # The noise drawn from a key is ξ = fast_normal(key, [B, T, N]) (default noise_rng="fast")
    # or ξ = normal(key, [B, T, N]) (noise_rng="threefry"), as documented.
    roll_key = model.simulate(inputs, key=jax.random.key(6))
    xi_fast = nd.models.fast_normal(jax.random.key(6), (B, T, N))
    np.testing.assert_allclose(
        roll_key.states, model.simulate(inputs, key=None, noise=xi_fast).states, atol=1e-6
    )
    hp = dict(model.hyperparameters(), noise_rng="threefry")
    like = type(model)(**hp, key=key)
    threefry = jax.tree_util.tree_unflatten(
        jax.tree_util.tree_structure(like), jax.tree_util.tree_leaves(model)
    )
    roll_tf = threefry.simulate(inputs, key=jax.random.key(6))
    np.testing.assert_allclose(roll_tf.states, roll.states, atol=1e-6)


def test_unbatched_equals_batched():
    model = nd.models.LowRankRNN(30, 1, 2, 1, key=jax.random.key(0))
    inputs = jax.random.normal(jax.random.key(1), (2, 10, 2))
    batched = model.simulate(inputs, key=None, noise=False)
    single = model.simulate(inputs[1], key=None, noise=False)
    assert single.states.shape == (10, 30) and single.outputs.shape == (10, 1)
    np.testing.assert_allclose(single.states, batched.states[1], atol=1e-6)


def test_step_and_vector_field_are_the_update_rule():
    model = nd.models.LowRankRNN(20, 2, 1, 1, key=jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (20,))
    u = jnp.array([0.7])
    roll = model.simulate(u[None, :], key=None, noise=False, x0=x)
    np.testing.assert_allclose(model.step(x, u), roll.states[0], atol=1e-6)
    # F(x) = x + dt · f(x) for the Euler map.
    np.testing.assert_allclose(
        model.step(x, u), x + model.dt * model.vector_field(x, u), atol=1e-5
    )
    np.testing.assert_allclose(model.step(x), model.step(x, jnp.zeros(1)), atol=1e-7)


def test_to_full_rank_and_overlaps():
    model = nd.models.LowRankRNN(50, 2, 1, 1, key=jax.random.key(0))
    full = model.to_full_rank()
    inputs = jax.random.normal(jax.random.key(1), (2, 15, 1))
    a = model.simulate(inputs, key=jax.random.key(2))
    b = full.simulate(inputs, key=jax.random.key(2))
    np.testing.assert_allclose(a.states, b.states, atol=1e-5)
    # The non-zero eigenvalues of J = m nᵀ/N are those of nᵀm/N.
    eig_J = np.linalg.eigvals(np.asarray(model.connectivity(), np.float64))
    eig_J = eig_J[np.argsort(-np.abs(eig_J))][:2]
    eig_o = np.linalg.eigvals(np.asarray(model.overlaps, np.float64))
    np.testing.assert_allclose(np.sort_complex(eig_J), np.sort_complex(eig_o), atol=1e-5)


def test_initialisation_statistics():
    model = nd.models.LowRankRNN(4000, 1, 2, 1, key=jax.random.key(0))
    assert abs(float(jnp.std(model.m)) - 1) < 0.05 and abs(float(jnp.std(model.n)) - 1) < 0.05
    assert abs(float(jnp.std(model.w_out)) - 4) < 0.3
    np.testing.assert_array_equal(model.g_in, 1.0)
    full = nd.models.FullRankRNN(1000, 1, 1, rho=0.5, key=jax.random.key(0))
    assert abs(float(jnp.std(full.J)) * np.sqrt(1000) - 0.5) < 0.01


@pytest.mark.parametrize("kind", ["lowrank", "fullrank"])
def test_jit_vmap_grad(kind):
    if kind == "lowrank":
        model = nd.models.LowRankRNN(16, 1, 1, 1, key=jax.random.key(0))
    else:
        model = nd.models.FullRankRNN(16, 1, 1, key=jax.random.key(0))
    inputs = jax.random.normal(jax.random.key(1), (4, 8, 1))

    @eqx.filter_jit
    def loss(m, u):
        return jnp.sum(m.simulate(u, key=None, noise=False).outputs ** 2)

    grads = eqx.filter_grad(loss)(model, inputs)
    # Gradient along a random direction matches a central finite difference.
    direction = jax.tree_util.tree_map(
        lambda x: jax.random.normal(jax.random.key(7), x.shape) if eqx.is_array(x) else x, model
    )
    eps = 1e-3
    plus = eqx.apply_updates(model, jax.tree_util.tree_map(lambda d: eps * d, direction))
    minus = eqx.apply_updates(model, jax.tree_util.tree_map(lambda d: -eps * d, direction))
    fd = (loss(plus, inputs) - loss(minus, inputs)) / (2 * eps)
    an = sum(
        jnp.sum(g * d)
        for g, d in zip(jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(direction))
    )
    np.testing.assert_allclose(fd, an, rtol=2e-2)
    # vmap over a stack of models
    stack = eqx.filter_vmap(
        lambda k: nd.models.LowRankRNN(16, 1, 1, 1, key=k)
    )(jax.random.split(jax.random.key(2), 3))
    out = eqx.filter_vmap(lambda m: m.simulate(inputs, key=None, noise=False).outputs)(stack)
    assert out.shape == (3, 4, 8, 1)


def test_trainable_groups():
    model = nd.models.LowRankRNN(8, 1, 1, 1, train=("m", "output_vectors"), key=jax.random.key(0))
    flags = model.trainable()
    assert flags.m is True and flags.w_out is True and flags.n is False and flags.g_in is False


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rank=0), "rank"),
        (dict(rank=9), "rank"),
        (dict(tau=0.0), "tau"),
        (dict(tau=-5.0), "tau"),
        (dict(dt=0.0), "dt"),
        (dict(dt=200.0), "dt/tau"),
        (dict(nonlinearity="sigmoidal"), "nonlinearity"),
        (dict(noise_std=-1.0), "noise_std"),
        (dict(noise_rng="philox"), "noise_rng"),
        (dict(n_neurons=0), "n_neurons"),
        (dict(train=("m", "weights")), "train"),
    ],
)
def test_constructor_errors(kwargs, match):
    args = dict(n_neurons=8, rank=1, n_inputs=1, n_outputs=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        nd.models.LowRankRNN(**args, key=jax.random.key(0))


def test_input_errors():
    model = nd.models.LowRankRNN(8, 1, 2, 1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="n_inputs=2"):
        model.simulate(jnp.zeros((3, 5, 1)), key=jax.random.key(0))
    with pytest.raises(ValueError, match="inputs must have shape"):
        model.simulate(jnp.zeros((5,)), key=jax.random.key(0))
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.simulate(jnp.full((3, 5, 2), jnp.nan), key=jax.random.key(0))
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.simulate(np.full((5, 2), np.inf), key=jax.random.key(0))
    with pytest.raises(ValueError, match="key is required"):
        model.simulate(jnp.zeros((3, 5, 2)), key=None)
    with pytest.raises(ValueError, match="x0 must have shape"):
        model.simulate(jnp.zeros((3, 5, 2)), key=jax.random.key(0), x0=jnp.zeros((8,)))
    with pytest.raises(ValueError, match="noise must be"):
        model.simulate(jnp.zeros((3, 5, 2)), key=None, noise=jnp.zeros((3, 5, 7)))
    with pytest.raises(ValueError, match="states must be True or False"):
        model.simulate(jnp.zeros((3, 5, 2)), key=jax.random.key(0), states="no")
    with pytest.raises(ValueError, match="rho"):
        nd.models.FullRankRNN(8, 1, 1, rho=-1.0, key=jax.random.key(0))


def test_autonomous_network_without_inputs():
    model = nd.models.LowRankRNN(10, 1, 0, 1, key=jax.random.key(0))
    roll = model.simulate(jnp.zeros((3, 7, 0)), key=jax.random.key(1))
    assert roll.states.shape == (3, 7, 10)
    x0 = jax.random.normal(jax.random.key(2), (10,))
    single = model.simulate(jnp.zeros((4, 0)), key=None, noise=False, x0=x0)
    np.testing.assert_allclose(single.states[0], model.step(x0), atol=1e-6)


def _plain_loop(model, inputs, x0, xi):
    """The update rule as a Python loop of plain JAX ops (autodiff reference for `simulate`)."""
    x, states = x0, []
    w_in = model.w_in * model.g_in[:, None]
    for t in range(inputs.shape[1]):
        rec = jax.vmap(model.recurrent)(model.phi(x))
        x = x + model.alpha * (-x + rec + inputs[:, t] @ w_in) + model.noise_std * xi[:, t]
        states.append(x)
    states = jnp.stack(states, axis=1)
    outputs = model.phi(states) @ (model.w_out * model.g_out[None, :]) / model.n_neurons
    return states, outputs


@pytest.mark.parametrize(
    "kind, nonlinearity",
    [("lowrank", "tanh"), ("fullrank", "softplus"), ("lowrank", "relu"), ("fullrank", "sigmoid")],
)
def test_gradients_match_autodiff_of_plain_loop(kind, nonlinearity):
    # `simulate` has a hand-written reverse pass: check every gradient it gives (all parameter
    # groups, x0, inputs, noise draws; loss on states and outputs) against autodiff of a loop.
    if kind == "lowrank":
        model = nd.models.LowRankRNN(12, 2, 2, 2, nonlinearity=nonlinearity, noise_std=0.3,
                                     key=jax.random.key(0))
    else:
        model = nd.models.FullRankRNN(12, 2, 2, nonlinearity=nonlinearity, noise_std=0.3,
                                      rho=1.5, key=jax.random.key(0))
    model = _perturb_gains(model, jax.random.key(1))
    keys = jax.random.split(jax.random.key(2), 4)
    inputs = jax.random.normal(keys[0], (3, 7, 2))
    x0 = 0.5 * jax.random.normal(keys[1], (3, 12))
    xi = jax.random.normal(keys[2], (3, 7, 12))
    weights = jax.random.normal(keys[3], (3, 7, 12))

    def loss(sim):
        def f(m, u, x0, xi):
            states, outputs = sim(m, u, x0, xi)
            return jnp.sum(jnp.sin(outputs)) + jnp.sum(weights * states**2)

        return jax.jit(jax.grad(f, argnums=(0, 1, 2, 3)))(model, inputs, x0, xi)

    def ours(m, u, x0, xi):
        roll = m.simulate(u, key=None, x0=x0, noise=xi)
        return roll.states, roll.outputs

    got, want = loss(ours), loss(_plain_loop)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * float(np.max(np.abs(w))))


@pytest.mark.parametrize("nonlinearity", ["tanh", "identity"])
def test_outputs_only_and_trainable_gradients_match_plain_loop(nonlinearity):
    # The path `fit` takes: `simulate(states=False)` (no [B, T, N] states kept) and gradients
    # for the trainable leaves only (eqx.partition), against autodiff of the plain loop.
    model = nd.models.LowRankRNN(12, 2, 2, 2, nonlinearity=nonlinearity, noise_std=0.3,
                                 train=("m", "input_gains", "output_vectors"),
                                 key=jax.random.key(3))
    model = _perturb_gains(model, jax.random.key(4))
    keys = jax.random.split(jax.random.key(5), 3)
    inputs = jax.random.normal(keys[0], (3, 7, 2))
    x0 = 0.5 * jax.random.normal(keys[1], (3, 12))
    xi = jax.random.normal(keys[2], (3, 7, 12))
    params, fixed = eqx.partition(model, model.trainable())

    def loss(sim):
        def f(p):
            return jnp.sum(jnp.sin(sim(eqx.combine(p, fixed))))

        return jax.jit(jax.grad(f))(params)

    def ours(m):
        roll = m.simulate(inputs, key=None, x0=x0, noise=xi, states=False)
        assert roll.states is None
        return roll.outputs

    got, want = loss(ours), loss(lambda m: _plain_loop(m, inputs, x0, xi)[1])
    got_leaves, want_leaves = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got_leaves) == 3  # m, g_in, w_out
    for g, w in zip(got_leaves, want_leaves):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * float(np.max(np.abs(w))))
    full = model.simulate(inputs, key=None, x0=x0, noise=xi)
    np.testing.assert_array_equal(ours(model), full.outputs)


def test_gradients_without_a_rate_derivative_keep_the_states(monkeypatch):
    # A nonlinearity whose φ' is not written in terms of φ(x) (here ELU, added for the test):
    # the reverse pass keeps the states and differentiates φ at x.
    from neurodyn import _nonlinearity

    monkeypatch.setitem(_nonlinearity.NONLINEARITIES, "elu", jax.nn.elu)
    assert "elu" not in _nonlinearity.RATE_DERIVATIVES
    test_gradients_match_autodiff_of_plain_loop("lowrank", "elu")
