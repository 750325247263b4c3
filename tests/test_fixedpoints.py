"""Fixed points against analytic answers: a linear RNN, a rank-one tanh network with overlap
> 1, a 2-D system with a saddle between two nodes, a map with a 2-cycle, a line attractor;
Jacobians against finite differences; bad input; the FixedPoints container."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxcompat import enable_x64
from scipy.optimize import brentq
from toysystems import Bistable2D

import neurodyn as nd
from neurodyn import fixedpoints as fp

KEY = jax.random.key


# --------------------------------------------------------------------------- systems
class Flip(nd.AbstractDynamicalSystem):
    """F(x) = −w tanh(x) per coordinate, w = 2: the origin is the only fixed point (unstable);
    F∘F adds 2-cycles ±a, a = 2 tanh(a), stable where every coordinate is ±a."""

    n_states: int = eqx.field(static=True, default=2)
    n_inputs: int = eqx.field(static=True, default=0)
    w: float = 2.0

    def step(self, x, u=None):
        return -self.w * jnp.tanh(x)


class Drift(nd.AbstractDynamicalSystem):
    """F(x) = x + 1 + 0·√x: no fixed point; non-finite for x < 0."""

    n_states: int = eqx.field(static=True, default=1)
    n_inputs: int = eqx.field(static=True, default=0)

    def step(self, x, u=None):
        return x + 1.0 + 0.0 * jnp.sqrt(x)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def linear_net():
    """A linear (φ = identity) full-rank RNN, J = 0.5 × a random rotation (eigenvalues on the
    circle of radius 0.5), two inputs."""
    net = nd.models.FullRankRNN(8, 2, 1, nonlinearity="identity", noise_std=0.0, key=KEY(0))
    q, _ = np.linalg.qr(np.asarray(jax.random.normal(KEY(13), (8, 8)), np.float64))
    return eqx.tree_at(lambda m: m.J, net, jnp.asarray(0.5 * q, jnp.float32))


@pytest.fixture(scope="module")
def rank_one():
    """Rank one, n = 2.2 m so that the overlap nᵀm/N ≈ 2.2 > 1: ±κ* stable, origin a saddle."""
    net = nd.models.LowRankRNN(40, 1, 1, 1, noise_std=0.0, key=KEY(1))
    m = jax.random.normal(KEY(2), (40, 1))
    return eqx.tree_at(lambda n: (n.m, n.n), net, (m, 2.2 * m))


@pytest.fixture(scope="module")
def rank_one_roll(rank_one):
    x0 = jax.random.normal(KEY(3), (16, 40))
    return rank_one.simulate(jnp.zeros((16, 30, 1)), key=None, x0=x0, noise=False)


@pytest.fixture(scope="module")
def rank_one_starts(rank_one_roll):
    """Starting points drawn from trajectories (random starts in 40-D have almost no
    component along m, and descent on q takes them all to the saddle at the origin)."""
    return fp.sample_states(rank_one_roll, 128, key=KEY(4), noise_scale=0.5)


@pytest.fixture(scope="module")
def rank_one_fps(rank_one, rank_one_starts):
    return fp.find(rank_one, rank_one_starts, progress=False)


# --------------------------------------------------------------------------- analytic cases
def test_linear_rnn_unique_fixed_point_and_spectrum(linear_net):
    net = linear_net
    u = jnp.array([0.5, -1.0])
    x0 = 3.0 * jax.random.normal(KEY(4), (64, 8))
    fps = fp.find(net, x0, u, progress=False)
    J, W = np.asarray(net.J, np.float64), np.asarray(net.input_weights, np.float64)
    expected = np.linalg.solve(np.eye(8) - J, W.T @ np.asarray(u))  # −x + Jx + W u = 0
    assert fps.n_points == 1 and bool(fps.stable[0]) and int(fps.n_unstable[0]) == 0
    np.testing.assert_allclose(fps.xstar[0], expected, rtol=1e-5, atol=1e-5)
    assert float(fps.q[0]) < 1e-12 and fps.report.counts()["converged"] == 64
    # an unrestricted Newton step solves a linear system at once, from anywhere
    fast = fp.find(net, x0, u, newton_radius=float("inf"), jacobians=False, filter=False,
                   progress=False)
    assert fast.report.counts()["converged"] == 64 and int(fast.n_iters.max()) <= 8
    np.testing.assert_allclose(fast.xstar, np.broadcast_to(expected, (64, 8)), rtol=1e-5,
                               atol=1e-5)
    mu = np.linalg.eigvals(J)
    lam = 1 + net.alpha * (mu - 1)  # eigenvalues of the Euler map
    np.testing.assert_allclose(np.sort_complex(np.asarray(fps.eigenvalues[0], np.complex128)),
                               np.sort_complex(lam), atol=1e-5)
    # |λ| descending, the least stable mode first
    assert np.all(np.diff(np.abs(np.asarray(fps.eigenvalues[0]))) <= 1e-6)
    np.testing.assert_allclose(fps.input_jacobians[0], net.alpha * W.T, atol=1e-6)

    lin = fp.linearize(net, fps.xstar[0], u)
    np.testing.assert_allclose(lin.A, np.eye(8) + net.alpha * (J - np.eye(8)), atol=1e-6)
    np.testing.assert_allclose(lin.B, net.alpha * W.T, atol=1e-6)
    x, v = jax.random.normal(KEY(5), (8,)), jnp.array([1.0, 2.0])
    np.testing.assert_allclose(lin.step(x, v), net.step(x, v), atol=1e-5)  # exact: linear

    # Continuous time: eigenvalues (μ − 1)/τ, stability by Re λ < 0 (the continuous-time
    # search itself is tested on the 2-D system).
    jc, _ = fp.jacobians(net, fps.xstar, u, dynamics="continuous")
    np.testing.assert_allclose(jc[0], (J - np.eye(8)) / net.tau, atol=1e-7)
    lam_c, _, _ = fp.eig(jc, "continuous")
    np.testing.assert_allclose(np.sort_complex(lam_c[0].astype(np.complex128)),
                               np.sort_complex((mu - 1) / net.tau), atol=1e-6)
    stable_c, n_unstable_c = fp.stability(lam_c, "continuous")
    assert bool(stable_c[0]) and int(n_unstable_c[0]) == 0


def test_rank_one_overlap_above_one(rank_one, rank_one_fps):
    net, fps = rank_one, rank_one_fps
    overlap = float(net.overlaps[0, 0])
    assert overlap > 1
    assert fps.n_points == 3
    origin = int(np.argmin(np.linalg.norm(fps.xstar, axis=1)))
    others = [i for i in range(3) if i != origin]
    assert np.linalg.norm(fps.xstar[origin]) < 1e-5
    assert int(fps.n_unstable[origin]) == 1 and not bool(fps.stable[origin])
    assert all(bool(fps.stable[i]) for i in others)
    np.testing.assert_allclose(fps.xstar[others[0]], -fps.xstar[others[1]], atol=1e-4)
    # the origin's unstable eigenvalue is 1 + α(nᵀm/N − 1) (φ'(0) = 1)
    np.testing.assert_allclose(fps.eigenvalues[origin, 0].real, 1 + net.alpha * (overlap - 1),
                               rtol=1e-5)
    # the stable points are x* = m κ*, κ* = nᵀ tanh(m κ*)/N
    m, n = np.asarray(net.m[:, 0], np.float64), np.asarray(net.n[:, 0], np.float64)
    kappa = brentq(lambda k: k - n @ np.tanh(m * k) / 40, 1e-3, 10.0)
    got = np.sort([float(fps.xstar[i] @ m / (m @ m)) for i in others])
    np.testing.assert_allclose(got, [-kappa, kappa], rtol=1e-5)
    np.testing.assert_allclose(fps.xstar[others[1]], np.sign(got[1] * 0 + fps.xstar[
        others[1]] @ m) * kappa * m, atol=1e-4)


def test_unstable_manifold_of_the_saddle_reaches_both_attractors(rank_one, rank_one_fps):
    fps = rank_one_fps
    man = fp.unstable_manifolds(rank_one, fps, n_steps=300)
    origin = int(np.argmin(np.linalg.norm(fps.xstar, axis=1)))
    assert list(man.saddle) == [origin] and man.trajectories.shape == (1, 2, 301, 40)
    stable = set(np.flatnonzero(np.asarray(fps.stable)).tolist())
    assert set(man.ends[0].tolist()) == stable  # one branch to each attractor
    assert np.all(man.end_distance < 1e-3)


def test_latent_search_agrees_with_full_search(rank_one, rank_one_fps, rank_one_starts):
    x0 = rank_one_starts
    lat = fp.find(rank_one, x0, latent=True, progress=False)
    full = rank_one_fps
    assert lat.n_points == full.n_points == 3
    order_l = np.argsort(np.asarray(lat.xstar @ rank_one.m[:, 0]))
    order_f = np.argsort(np.asarray(full.xstar @ rank_one.m[:, 0]))
    np.testing.assert_allclose(lat.xstar[order_l], full.xstar[order_f], atol=1e-4)
    np.testing.assert_array_equal(lat.n_unstable[order_l], full.n_unstable[order_f])
    np.testing.assert_allclose(lat.eigenvalues[order_l, :2], full.eigenvalues[order_f, :2],
                               atol=1e-5)
    assert np.all(np.asarray(lat.q) < 1e-12)
    # Starts off the latent span (here half of them random) project onto it with a much
    # smaller spread than they have in the network's space; the outlier rule must use the
    # latter, as the full search does, or it removes the two stable points.
    mixed = jnp.concatenate([x0[:64], 2.0 * jax.random.normal(KEY(7), (64, 40))])
    kw = dict(outlier_distance=2.0, jacobians=False, progress=False)
    lat2, full2 = (fp.find(rank_one, mixed, latent=flag, **kw) for flag in (True, False))
    assert lat2.n_points == full2.n_points == 3
    assert lat2.report.removed_by()["outlier"] == full2.report.removed_by()["outlier"] == 0
    np.testing.assert_allclose(np.sort(np.asarray(lat2.xstar @ rank_one.m[:, 0])),
                               np.sort(np.asarray(full2.xstar @ rank_one.m[:, 0])), atol=1e-3)
    starts = np.asarray(mixed)  # each point keeps the network state it started from
    assert all(np.any(np.all(starts == row, axis=1)) for row in np.asarray(lat2.initial_states))
    with pytest.raises(ValueError, match="LowRankRNN"):
        fp.find(rank_one.to_full_rank(), x0, latent=True, progress=False)


def test_two_dimensional_saddle_and_nodes_and_flow():
    system = Bistable2D()
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 8), np.linspace(-2, 2, 8)), -1)
    x0 = jnp.asarray(grid.reshape(-1, 2), jnp.float32)
    fps = fp.find(system, x0, dynamics="continuous", progress=False)
    assert fps.n_points == 3
    order = np.argsort(np.asarray(fps.xstar[:, 0]))
    np.testing.assert_allclose(fps.xstar[order], [[-1, 0], [0, 0], [1, 0]], atol=1e-6)
    np.testing.assert_array_equal(fps.n_unstable[order], [0, 1, 0])
    np.testing.assert_allclose(fps.eigenvalues[order].real, [[-1, -2], [1, -1], [-1, -2]],
                               atol=1e-5)
    # left eigenvectors are dual to the right ones
    for p in range(3):
        np.testing.assert_allclose(fps.left_eigenvectors[p].T @ fps.eigenvectors[p], np.eye(2),
                                   atol=1e-5)
    flow = fp.flow_2d(system, (-2, 2), (-1.5, 1.5), resolution=15)
    assert flow.dx.shape == (15, 15)
    np.testing.assert_allclose(flow.dx, flow.x - flow.x**3, atol=1e-5)

    from neurodyn.plot._fixedpoints import plot_eigenvalues, plot_flow_2d

    ax = plot_flow_2d(flow, fps)
    marks = {c.get_label(): np.asarray(c.get_offsets()) for c in ax.collections
             if c.get_label() in ("stable", "saddle", "unstable")}
    assert set(marks) == {"stable", "saddle"}  # the origin is a saddle, not a source
    np.testing.assert_allclose(marks["saddle"], [[0, 0]], atol=1e-6)
    np.testing.assert_allclose(np.sort(marks["stable"][:, 0]), [-1, 1], atol=1e-6)
    assert plot_eigenvalues(fps) is not None


def test_period_two_orbits():
    system = Flip()
    x0 = 3.0 * jax.random.normal(KEY(6), (64, 2))
    two = fp.find(system, x0, period=2, progress=False)
    a = brentq(lambda a: a - 2 * np.tanh(a), 0.5, 3.0)
    assert two.period == 2 and two.n_points == 9  # each coordinate in {−a, 0, a}
    np.testing.assert_allclose(np.sort(np.unique(np.round(np.abs(two.xstar), 4))), [0, a],
                               atol=1e-4)
    stable = np.asarray(two.stable)
    assert stable.sum() == 4 and np.all(np.abs(two.xstar[stable]) > 1.0)
    # only the origin is a fixed point of F itself (and it is unstable)
    at_origin = np.linalg.norm(np.asarray(two.xstar), axis=-1) < 1e-6
    assert at_origin.sum() == 1
    np.testing.assert_array_equal(two.min_period, np.where(at_origin, 1, 2))
    assert not bool(two.stable[np.argmin(np.asarray(two.min_period))])
    orbit = fp.orbits(system, two[stable])
    assert orbit.shape == (4, 2, 2)
    np.testing.assert_allclose(orbit[:, 1], -orbit[:, 0], atol=1e-5)  # a ↦ −a ↦ a
    # discrete time constants of the period-2 map use k·dt
    lam = np.abs(np.asarray(two.eigenvalues[stable]))
    np.testing.assert_allclose(two[stable].time_constants, -2.0 / np.log(lam), rtol=1e-5)


def test_line_attractor_summary_per_context(linear_net):
    """φ = identity and J = v vᵀ + 0.3 P⊥ (v a unit vector): every point on a line along v is
    a fixed point. Inputs orthogonal to v shift the line, one per context. (Built like
    `linear_net`, so the search reuses its compilation.)"""
    n = 8
    q, _ = np.linalg.qr(np.asarray(jax.random.normal(KEY(8), (n, n)), np.float64))
    v = q[:, 0]
    J = np.outer(v, v) + 0.3 * (np.eye(n) - np.outer(v, v))
    w_in = q[:, 1:3].T  # inputs orthogonal to the line
    net = eqx.tree_at(lambda m: (m.J, m.w_in, m.g_in), linear_net,
                      (jnp.asarray(J, jnp.float32), jnp.asarray(w_in, jnp.float32),
                       jnp.ones(2)))
    starts = jnp.asarray(np.linspace(-3, 3, 32)[:, None] * v + 0.3 * np.asarray(
        jax.random.normal(KEY(9), (32, n))), jnp.float32)
    x0 = jnp.concatenate([starts, starts])
    u = jnp.asarray(np.repeat([[1.0, 0.0], [0.0, 1.0]], 32, axis=0), jnp.float32)
    fps = fp.find(net, x0, u, max_q=1e-8, tol_unique=0.2, progress=False)
    assert set(np.asarray(fps.condition_id).tolist()) == {0, 1}
    # conditions are numbered in the order their inputs first appear ([1, 0] first), not in
    # sorted order (which would make [0, 1] condition 0)
    for c, u_c in enumerate(([1.0, 0.0], [0.0, 1.0])):
        np.testing.assert_array_equal(np.asarray(fps.inputs)[np.asarray(fps.condition_id) == c],
                                      np.tile(u_c, (int(np.sum(fps.condition_id == c)), 1)))
    summary = fp.line_attractor(fps)
    assert len(summary.index) == fps.n_points >= 10
    for c in (0, 1):
        block = summary.condition_id == c
        assert np.all(np.diff(summary.position[block]) > 0)  # ordered along the line
        np.testing.assert_allclose(np.abs(summary.direction[c] @ v), 1.0, atol=1e-3)
        # exactly on a line: all the variance along the first axis (NumPy SVD as reference)
        xc = np.asarray(fps.xstar[fps.condition_id == c], np.float64)
        sv = np.linalg.svd(xc - xc.mean(0), compute_uv=False)
        np.testing.assert_allclose(summary.explained[c], sv[0] ** 2 / np.sum(sv**2))
        assert summary.explained[c] > 0.999
    np.testing.assert_allclose(summary.slow_eigenvalue.real, 1.0, atol=1e-4)
    assert np.all(np.abs(summary.right @ v) > 0.999)
    assert np.all(summary.alignment > 0.99)
    np.testing.assert_allclose(np.abs(summary.left @ v), 1.0, atol=1e-3)  # J symmetric
    np.testing.assert_allclose(summary.next_time_constant, -net.dt / np.log(1 - 0.7 * 0.2),
                               rtol=1e-3)


# --------------------------------------------------------------------------- Jacobians
def test_jacobians_match_finite_differences():
    net = nd.models.FullRankRNN(6, 2, 1, noise_std=0.0, rho=1.5, key=KEY(10))
    x = jax.random.normal(KEY(11), (3, 6))
    u = jax.random.normal(KEY(12), (3, 2))
    eps = 1e-2

    @jax.jit
    def central(x, u):  # [3, N, N] and [3, N, I] central differences, both time conventions
        def fd(g, x, u):
            dx = jax.vmap(lambda e: (g(x + eps * e, u) - g(x - eps * e, u)) / (2 * eps))
            du = jax.vmap(lambda e: (g(x, u + eps * e) - g(x, u - eps * e)) / (2 * eps))
            return dx(jnp.eye(6)).T, du(jnp.eye(2)).T

        return [jax.vmap(lambda a, b, g=g: fd(g, a, b))(x, u)
                for g in (net.step, net.vector_field)]

    for (fd_x, fd_u), dynamics in zip(central(x, u), ("discrete", "continuous")):
        jx, ju = fp.jacobians(net, x, u, dynamics=dynamics)
        scale = float(jnp.abs(fd_x).max())
        np.testing.assert_allclose(jx, fd_x, atol=1e-3 * scale)
        np.testing.assert_allclose(ju, fd_u, atol=1e-3 * scale)
    # period 2: the chain rule through two steps
    j2, _ = fp.jacobians(net, x, u, period=2)
    j1, _ = fp.jacobians(net, x, u)
    j1b, _ = fp.jacobians(net, jax.vmap(net.step)(x, u), u)
    np.testing.assert_allclose(j2, j1b @ j1, atol=1e-5)


def test_gmres_matches_numpy():
    """The Newton–Krylov solver: exact with a full Krylov space; with a smaller one, the
    least-squares solution over span{b, Ab, …} (computed here from the explicit Krylov
    matrix with NumPy)."""
    from neurodyn.fixedpoints._optimize import gmres

    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 12)) + 4 * np.eye(12)
    b = rng.normal(size=12)
    with enable_x64(True):
        aj, bj = jnp.asarray(a), jnp.asarray(b)
        full = np.asarray(gmres(lambda v: aj @ v, bj, 12))
        np.testing.assert_allclose(full, np.linalg.solve(a, b), rtol=1e-9, atol=1e-11)
        part = np.asarray(gmres(lambda v: aj @ v, bj, 4))
    krylov = np.stack([np.linalg.matrix_power(a, i) @ b for i in range(4)], axis=1)
    coef = np.linalg.lstsq(a @ krylov, b, rcond=None)[0]
    np.testing.assert_allclose(part, krylov @ coef, rtol=1e-7, atol=1e-9)
    # an invariant subspace reached early (A = I: one step solves it) is handled
    with enable_x64(True):
        same = np.asarray(gmres(lambda v: v, bj, 6))
    np.testing.assert_allclose(same, b, rtol=1e-12)


# --------------------------------------------------------------------------- reporting
def test_non_convergence_is_reported_not_dropped():
    system = Drift()
    x0 = jnp.array([[1.0], [2.0], [-1.0]])
    fps = fp.find(system, x0, max_steps=40, progress=False)
    assert fps.n_points == 0
    assert fps.report.counts() == {"converged": 0, "stalled": 0, "max_steps": 2,
                                   "non_finite": 1}
    assert fps.report.removed_by()["non_finite"] == 1
    assert fps.report.removed_by()["q > max_q"] == 2
    assert "max_steps" in str(fps.report)
    raw = fp.find(system, x0, max_steps=400, filter=False, jacobians=False, progress=False)
    assert raw.n_points == 3
    np.testing.assert_array_equal(raw.status, [fp.STALLED, fp.STALLED, fp.NON_FINITE])
    np.testing.assert_array_equal(raw.xstar[2], x0[2])  # the last finite state is kept
    assert raw.report.n_kept == 3 and raw.report.removed == ()


def test_filters_dedupe_by_condition_and_drop_outliers():
    x = jnp.array([[0.0, 0.0], [1e-4, 0.0], [0.0, 0.0], [100.0, 0.0], [1.0, 1.0]])
    base = fp.FixedPoints(
        xstar=x, inputs=jnp.zeros((5, 0)), q=jnp.array([1e-13, 1e-14, 0.0, 0.0, 1e-3]),
        status=jnp.zeros(5, jnp.int32), initial_states=x[jnp.array([0, 1, 2, 4, 4])],
        n_iters=jnp.zeros(5, jnp.int32), min_period=jnp.ones(5, jnp.int32),
        condition_id=jnp.array([0, 0, 1, 0, 0]),
    )
    out = fp.filter_points(base, max_q=1e-6, tol_unique=1e-3, outlier_distance=10.0)
    assert out.report.removed_by() == {"non_finite": 0, "q > max_q": 1, "outlier": 1,
                                       "duplicate": 1}
    # the duplicate kept is the one with the lower q; condition 1 is never merged into 0
    np.testing.assert_allclose(np.sort(np.asarray(out.q)), [0.0, 1e-14])
    assert sorted(np.asarray(out.condition_id).tolist()) == [0, 1]
    none = fp.filter_points(base, max_q=None, tol_unique=None, outlier_distance=None)
    assert none.n_points == 5
    # greedy: a chain a–b–c with steps just under tol keeps a and c
    chain = jnp.array([[0.0], [0.9], [1.8]])
    keep = fp.unique_mask(chain, jnp.array([0.0, 1.0, 2.0]), jnp.zeros(3, jnp.int32), 1.0)
    np.testing.assert_array_equal(keep, [True, False, True])


def test_bad_input_gives_clear_errors(rank_one):
    net = rank_one
    good = jnp.zeros((4, 40))
    with pytest.raises(ValueError, match="width 40"):
        fp.find(net, jnp.zeros((4, 39)), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        fp.find(net, good.at[1, 3].set(jnp.nan), progress=False)
    with pytest.raises(ValueError, match="n_inputs=1"):
        fp.find(net, good, jnp.zeros(3), progress=False)
    with pytest.raises(ValueError, match="inputs must be"):
        fp.find(net, good, jnp.zeros((5, 1)), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        fp.find(net, good, jnp.array([jnp.nan]), progress=False)
    for name in ("tol_q", "tol_unique", "max_q", "outlier_distance", "learning_rate",
                 "newton_radius", "krylov_dim", "max_steps", "newton_steps"):
        for bad in (0.0, -1e-3):
            with pytest.raises(ValueError, match=name):
                fp.find(net, good, progress=False, **{name: bad})
    with pytest.raises(ValueError, match="dynamics"):
        fp.find(net, good, dynamics="euler", progress=False)
    with pytest.raises(ValueError, match="period"):
        fp.find(net, good, period=0, progress=False)
    with pytest.raises(ValueError, match="discrete"):
        fp.find(net, good, period=2, dynamics="continuous", progress=False)
    with pytest.raises(ValueError, match="vector_field"):
        fp.find(Flip(), jnp.zeros((2, 2)), dynamics="continuous", progress=False)
    with pytest.raises(ValueError, match="wrong width|could not be evaluated"):
        fp.find(Bistable2D(), jnp.zeros((3, 5)), dynamics="continuous", progress=False)
    with pytest.raises(ValueError, match="n_states"):
        fp.find(net, jnp.zeros((2, 3, 40)), progress=False)


def test_sample_states(rank_one_roll):
    roll = rank_one_roll
    s = fp.sample_states(roll, 50, key=KEY(0))
    assert s.shape == (50, 40)
    flat = np.asarray(roll.states).reshape(-1, 40)
    assert all(np.any(np.all(np.isclose(flat, row), axis=1)) for row in np.asarray(s))
    noisy = fp.sample_states(roll.states, 50, key=KEY(0), noise_scale=0.1)
    assert 0.05 < float(jnp.std(noisy - s)) < 0.2
    with pytest.raises(ValueError, match="noise_scale"):
        fp.sample_states(roll.states, 5, key=KEY(0), noise_scale=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        fp.sample_states(roll.states.at[0, 0, 0].set(jnp.nan), 5, key=KEY(0))


# --------------------------------------------------------------------------- the container
def test_indexing_concatenation_and_save_load(tmp_path, rank_one_fps):
    fps = rank_one_fps
    one = fps[0]
    assert one.n_points == 1 and one.jacobians.shape == (1, 40, 40)
    stable = fps[fps.stable]
    assert stable.n_points == 2 and bool(jnp.all(stable.stable))
    assert fps[1:].n_points == 2 and fps[np.array([2, 0])].n_points == 2
    both = fp.concatenate([fps, stable])
    assert both.n_points == 5 and both.report.n_starts == 2 * fps.report.n_starts
    with pytest.raises(IndexError):
        fps[3]
    with pytest.raises(ValueError, match="mask"):
        fps[np.array([True, False])]
    bare = dataclasses.replace(fps, jacobians=None, input_jacobians=None, eigenvalues=None,
                               eigenvectors=None, left_eigenvectors=None, stable=None,
                               n_unstable=None)
    with pytest.raises(ValueError, match="different"):
        fp.concatenate([fps, bare])

    path = nd.save(tmp_path / "fps.eqx", fps, metadata={"model": "rank one"})
    back = nd.load(path)
    assert isinstance(back, fp.FixedPoints) and back.report == fps.report
    for name in ("xstar", "q", "eigenvalues", "eigenvectors", "left_eigenvectors", "stable",
                 "n_unstable", "jacobians", "input_jacobians", "condition_id", "status"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fps, name))
    assert back.dynamics == fps.dynamics and back.dt == fps.dt
    back_bare = nd.load(nd.save(tmp_path / "bare.eqx", bare))
    assert back_bare.jacobians is None and back_bare.n_points == bare.n_points
    assert "stable" in fps.summary()


def test_plot_fixed_points_in_principal_components(rank_one, rank_one_fps, rank_one_roll):
    from neurodyn.plot._fixedpoints import plot_fixed_points

    roll = rank_one_roll
    man = fp.unstable_manifolds(rank_one, rank_one_fps, n_steps=50)
    ax = plot_fixed_points(rank_one_fps, roll, manifolds=man)
    assert ax.name == "3d"
    proj = fp.pca(roll.states, 2)
    assert plot_fixed_points(rank_one_fps, projection=proj).name != "3d"
