"""Small dynamical systems with known fixed points, shared by the tests."""

import equinox as eqx
import jax.numpy as jnp

import neurodyn as nd


class Bistable2D(nd.AbstractEulerSystem):
    """dx/dt = x − x³, dy/dt = −y: a saddle at 0 between stable nodes at (±1, 0). A system
    defined by subclassing the abstract type (τ = 1, Euler step dt = 0.1)."""

    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)

    def __init__(self):
        self.n_states, self.n_inputs, self.tau, self.dt = 2, 0, 1.0, 0.1
        self.nonlinearity = "identity"

    def drive(self, x, u):
        return jnp.stack([x[0] - x[0] ** 3, -x[1]])
