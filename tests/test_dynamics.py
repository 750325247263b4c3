"""The abstract dynamical-system type: defaults, the Euler relation, clear errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd


class Decay(nd.AbstractEulerSystem):
    """τ dx/dt = −x + W u: the Euler map must be x + (dt/τ)(−x + W u)."""

    w: jax.Array
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)

    def __init__(self, w, tau=100.0, dt=20.0):
        self.w, self.tau, self.dt, self.nonlinearity = w, tau, dt, "tanh"

    @property
    def n_states(self):
        return self.w.shape[1]

    @property
    def n_inputs(self):
        return self.w.shape[0]

    def drive(self, x, u):
        return -x + u @ self.w


class Shift(nd.AbstractDynamicalSystem):
    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)

    def step(self, x, u=None):
        return x + jnp.sum(self.input_or_default(u))


def test_euler_system_matches_the_closed_form():
    w = jnp.asarray(np.arange(6.0).reshape(2, 3))
    sys = Decay(w)
    x, u = jnp.array([1.0, -2.0, 0.5]), jnp.array([0.3, -0.1])
    np.testing.assert_allclose(sys.step(x, u), x + 0.2 * (-x + u @ w), rtol=1e-6)
    np.testing.assert_allclose(sys.vector_field(x, u), (-x + u @ w) / 100.0, rtol=1e-6)
    # a missing input is zeros of the system's dtype
    np.testing.assert_allclose(sys.step(x), 0.8 * x, rtol=1e-6)
    assert sys.default_input().shape == (2,) and sys.default_input().dtype == w.dtype
    assert sys.alpha == pytest.approx(0.2) and sys.continuous
    np.testing.assert_allclose(sys.phi(x), np.tanh(np.asarray(x)), rtol=1e-6)
    assert sys.reduction() is None


def test_discrete_map_has_no_vector_field():
    sys = Shift(3, 2)
    assert not sys.continuous
    np.testing.assert_allclose(sys.step(jnp.zeros(3), jnp.array([1.0, 2.0])), 3.0)
    np.testing.assert_allclose(sys.step(jnp.ones(3)), 1.0)
    with pytest.raises(TypeError, match="dynamics.*discrete"):
        sys.vector_field(jnp.zeros(3))


def test_abstract_system_needs_step():
    class NoStep(nd.AbstractDynamicalSystem):
        n_states: int = 1
        n_inputs: int = 0

    with pytest.raises(TypeError):
        NoStep()
