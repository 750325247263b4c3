"""One dynamical-system type: every neurodyn system is an `AbstractDynamicalSystem`, the
analyses take any subclass (a user's own included) and refuse anything else, a low-rank
network's reduction lifts back onto its fixed points, one flow-field function."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import fixedpoints as fp, lowrank as lr

KEY = jax.random.key


class Affine(nd.AbstractDynamicalSystem):
    """x ↦ A x + B u + c, a user's own discrete map; its fixed point solves (I − A) x = B u + c."""

    A: jax.Array
    B: jax.Array
    c: jax.Array

    def __init__(self, A, B, c):
        self.A, self.B, self.c = jnp.asarray(A), jnp.asarray(B), jnp.asarray(c)

    @property
    def n_states(self):
        return self.A.shape[0]

    @property
    def n_inputs(self):
        return self.B.shape[1]

    def step(self, x, u=None):
        return self.A @ x + self.B @ self.input_or_default(u) + self.c


class Cubic(nd.AbstractEulerSystem):
    """τ dx/dt = x − x³ per coordinate (a user's own ODE): stable at ±1, unstable at 0."""

    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)

    def __init__(self, n_states=2):
        self.n_states, self.n_inputs = n_states, 0
        self.tau, self.dt, self.nonlinearity = 10.0, 1.0, "identity"

    def drive(self, x, u):
        return x - x**3


class Duck:
    """Has `step` and sizes, but is not a dynamical system of the abstract type."""

    n_states, n_inputs = 2, 0

    def step(self, x, u=None):
        return 0.5 * x


@pytest.fixture(scope="module")
def bistable():
    """A rank-1 network with overlap nᵀm/N ≈ 2 (two stable states, a saddle at 0), one input."""
    net = nd.models.LowRankRNN(60, 1, 1, 1, noise_std=0.0, key=KEY(0))
    return eqx.tree_at(lambda m: m.n, net, 2.0 * net.m + 0.2 * net.n)


def _psid_system():
    y = np.asarray(jax.random.normal(KEY(1), (400, 3)))
    z = y[:, :1] + 0.1 * np.asarray(jax.random.normal(KEY(2), (400, 1)))
    return nd.dpad.PSID(nx=2, n1=1, horizon=4).fit(y, z).as_system()


def test_every_system_is_an_abstract_dynamical_system(bistable):
    full = nd.models.FullRankRNN(10, 2, 1, key=KEY(3))
    latent = lr.latent(bistable)
    mix = lr.mixture([1.0], [np.zeros(3)], [np.eye(3)], rank=1, n_inputs=1)
    mean_field = lr.meanfield.dynamics(mix)
    psid = _psid_system()
    dpad = nd.dpad.DPADSystem(None, None, None, None, jnp.zeros(3), jnp.ones(3), jnp.zeros(1),
                              jnp.ones(1), 0, 0, 3, "gaussian", "gaussian")
    lin = fp.linearize(bistable, jnp.zeros(60))
    reduced = bistable.reduction()
    euler = (bistable, full, latent, mean_field)
    for system in euler + (psid, dpad, lin, reduced):
        assert isinstance(system, nd.AbstractDynamicalSystem), type(system).__name__
    for system in euler:
        assert isinstance(system, nd.AbstractEulerSystem) and system.continuous
    assert isinstance(reduced, nd.models.OrthonormalLatent) and reduced.continuous
    assert not psid.continuous and not dpad.continuous and not lin.continuous
    assert (bistable.n_states, full.n_states, latent.n_states, mean_field.n_states) == (
        60, 10, 2, 2)
    assert (latent.n_latents, mean_field.n_latents, reduced.n_states, dpad.n_states) == (
        2, 2, 2, 0)
    # The shared Euler relation: step = x + α D, vector_field = D / τ.
    x, u = jax.random.normal(KEY(4), (2,)), jnp.array([0.3])
    for system in (latent, mean_field):
        np.testing.assert_allclose(system.step(x, u), x + system.alpha * system.drive(x, u),
                                   rtol=1e-6)
        np.testing.assert_allclose(system.vector_field(x), system.drive(x, jnp.zeros(1)) /
                                   system.tau, rtol=1e-6)
    # PSID's missing input is the training mean of y.
    xs = jnp.array([0.5, -1.0])
    np.testing.assert_allclose(psid.step(xs), psid.step(xs, psid.y_mean), atol=1e-6)
    np.testing.assert_array_equal(psid.default_input(), psid.y_mean)


def test_find_and_linearize_take_a_user_defined_system():
    a = jnp.array([[0.5, 0.2], [-0.1, 0.3]])
    b = jnp.array([[1.0], [0.5]])
    system = Affine(a, b, jnp.array([0.1, -0.2]))
    u = jnp.array([0.4])
    x_ref = np.linalg.solve(np.eye(2) - np.asarray(a, np.float64),
                            np.asarray(b @ u + system.c, np.float64))
    fps = fp.find(system, jax.random.normal(KEY(5), (6, 2)), u, progress=False)
    assert fps.n_points == 1 and fps.dt == 1.0
    np.testing.assert_allclose(fps.xstar[0], x_ref, atol=1e-5)
    np.testing.assert_allclose(fps.jacobians[0], a, atol=1e-6)
    lin = fp.linearize(system, fps.xstar[0], u)
    np.testing.assert_allclose(lin.A, a, atol=1e-6)
    np.testing.assert_allclose(lin.B, b, atol=1e-6)
    with pytest.raises(ValueError, match="vector_field"):
        fp.find(system, jnp.zeros((1, 2)), dynamics="continuous", progress=False)
    # An Euler subclass: continuous and discrete searches, dt and τ from the system.
    cubic = Cubic()
    starts = jnp.array([[0.9, -1.2], [0.1, 0.8], [-0.7, -0.05], [1.3, 1.1]])
    cont = fp.find(cubic, starts, dynamics="continuous", progress=False)
    disc = fp.find(cubic, starts, progress=False)
    for found in (cont, disc):
        np.testing.assert_allclose(np.sort(np.asarray(found.xstar), axis=0),
                                   [[-1, -1], [0, 0], [1, 1]][: found.n_points], atol=1e-5)
    assert disc.dt == 1.0 and cont.dynamics == "continuous"
    lin = fp.linearize(cubic, jnp.array([1.0, 0.0]), dynamics="continuous")
    np.testing.assert_allclose(lin.A, np.diag([-2.0, 1.0]) / cubic.tau, atol=1e-6)


def test_find_refuses_what_is_not_a_system():
    for bad in (Duck(), lambda x: x, "net", None):
        with pytest.raises(TypeError, match="system must be a neurodyn.AbstractDynamicalSystem"):
            fp.find(bad, jnp.zeros((2, 2)), progress=False)
        with pytest.raises(ValueError, match="system"):
            fp.linearize(bad, jnp.zeros(2))
        with pytest.raises(ValueError, match="system"):
            fp.jacobians(bad, jnp.zeros((1, 2)))
        with pytest.raises(ValueError, match="system"):
            fp.flow_field(bad, xlim=(-1, 1), ylim=(-1, 1))


def test_reduction_lifts_back_onto_the_network_fixed_points(bistable):
    net = bistable
    reduced = net.reduction()
    z = jax.random.normal(KEY(6), (5, reduced.n_states))
    np.testing.assert_allclose(reduced.project(reduced.lift(z)), z, atol=1e-5)
    x0 = (jnp.linspace(-3.0, 3.0, 12)[:, None] * net.m[None, :, 0]
          + 0.3 * jax.random.normal(KEY(7), (12, net.n_neurons)))
    u = jnp.array([0.1])
    found = fp.find(reduced, reduced.project(x0), u, progress=False)
    assert found.n_points == 3
    xstar = reduced.lift(found.xstar)
    for x in xstar:  # the lifted points are fixed points of the network itself
        assert float(jnp.max(jnp.abs(net.step(x, u) - x))) < 1e-5
    full = fp.find(net, x0, u, progress=False)
    latent = fp.find(net, x0, u, latent=True, progress=False)
    key_of = lambda p: np.argsort(np.asarray(p @ net.m[:, 0]))  # noqa: E731
    for other in (full.xstar, latent.xstar):
        np.testing.assert_allclose(np.asarray(xstar)[key_of(xstar)],
                                   np.asarray(other)[key_of(other)], atol=1e-4)
    # No reduction, no latent search.
    assert nd.models.FullRankRNN(8, 1, 1, key=KEY(8)).reduction() is None
    with pytest.raises(ValueError, match="reduction"):
        fp.find(Cubic(), jnp.zeros((1, 2)), latent=True, progress=False)


def test_meanfield_fixed_points_are_fixed_points_of_find_type(bistable):
    latent = lr.latent(bistable)
    u = jnp.array([0.1])
    mf = lr.meanfield.fixed_points(latent, u)
    assert isinstance(mf, fp.FixedPoints) and mf.dynamics == "continuous"
    assert mf.n_points == 3 and mf.n_states == latent.n_states
    np.testing.assert_allclose(mf.xstar[:, 1], 0.1, atol=1e-7)  # v = u
    np.testing.assert_array_equal(mf.stable, [True, False, True])
    assert lr.meanfield.classify(latent, mf).kinds == ("stable", "unstable", "stable")
    found = fp.find(latent, mf.initial_states, u, dynamics="continuous", progress=False)
    order = np.argsort(np.asarray(found.xstar[:, 0]))
    np.testing.assert_allclose(np.asarray(found.xstar)[order], mf.xstar, atol=1e-4)
    np.testing.assert_allclose(np.asarray(found.eigenvalues)[order], mf.eigenvalues, atol=1e-5)


def test_one_flow_field_and_its_deprecated_names():
    cubic = Cubic()
    disc = fp.flow_field(cubic, xlim=(-2, 2), ylim=(-1, 1), resolution=7)
    np.testing.assert_allclose(disc.dx, cubic.alpha * (disc.x - disc.x**3), rtol=1e-5,
                               atol=1e-7)
    assert disc.dynamics == "discrete" and disc.labels == ("x1", "x2")
    cont = fp.flow_field(cubic, xlim=(-2, 2), ylim=(-1, 1), resolution=7,
                         dynamics="continuous")
    np.testing.assert_allclose(cont.dy, (cont.y - cont.y**3) / cubic.tau, rtol=1e-5, atol=1e-7)
    with pytest.warns(DeprecationWarning, match="flow_field"):
        old = fp.flow_2d(cubic, (-2, 2), (-1, 1), resolution=7)
    assert isinstance(old, fp.Flow2D) and old.dynamics == "continuous"
    np.testing.assert_array_equal(old.dx, cont.dx)
    # A plane of a bigger system, through a given state, with fixed points on it.
    big = Cubic(3)
    fps = fp.find(big, jnp.array([[0.9, 0.8, 0.2], [-1.1, 0.7, 0.1]]), progress=False)
    plane = fp.flow_field(big, xlim=(-2, 2), ylim=(-2, 2), axes=(0, 1), state=jnp.zeros(3),
                          fixed_points=fps, resolution=5)
    assert plane.points.shape == (fps.n_points, 2) and set(plane.kinds) == {"saddle"}
    # lowrank.flow_field: the deprecated alias keeps its results (the vector field).
    mix = lr.mixture([1.0], [np.zeros(3)], [np.array([[1.0, 2.0, 0.0], [2.0, 5.0, 0.0],
                                                      [0.0, 0.0, 1.0]])], rank=1, n_inputs=1)
    with pytest.warns(DeprecationWarning, match="fixedpoints.flow_field"):
        flow = lr.flow_field(mix, resolution=5)
    system = lr.meanfield.dynamics(mix)
    s = jnp.array([flow.x[1, 2], flow.y[1, 2]], jnp.float32)
    np.testing.assert_allclose([flow.dx[1, 2], flow.dy[1, 2]],
                               system.vector_field(s, jnp.zeros(1)), rtol=1e-4, atol=1e-8)
    assert flow.kinds == ("stable", "unstable", "stable")


def test_connectivity_is_a_method_and_J_its_deprecated_alias(bistable):
    net = bistable
    dense = net.connectivity()
    np.testing.assert_allclose(dense, net.m @ net.n.T / net.n_neurons, rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="connectivity"):
        np.testing.assert_array_equal(net.J, dense)
    full = net.to_full_rank()
    np.testing.assert_array_equal(full.connectivity(), full.J)
    np.testing.assert_array_equal(full.J, dense)
