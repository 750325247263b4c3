"""The exact latent reduction of a noise-free low-rank RNN (Mastrogiuseppe & Ostojic 2018;
Beiran et al. 2021; Dubreuil et al. 2022).

For x_{t+1} = x_t + α(−x_t + m nᵀφ(x_t)/N + W_in u_t) every update adds a vector of
span(M, I), with M = m [N, R] and I = W_inᵀ = (diag(g_in) w_in)ᵀ [N, n_inputs], and shrinks the
rest of x by (1 − α). Writing x = M κ + I v + x_⊥, the remainder x_⊥ decays as (1 − α)^t and

    κ_{t+1} = κ_t + α(−κ_t + nᵀφ(Mκ_t + Iv_t)/N)        (R recurrent coordinates)
    v_{t+1} = v_t + α(−v_t + u_t)                       (n_inputs input-driven coordinates)

is exact: lifting a latent trajectory gives the network's trajectory, step for step.
The coordinates are those of the (generally oblique) basis B = [M, I]: `project(x) = B⁺x`
(pseudo-inverse), so κ = mᵀx/‖m‖² when R = 1 and m ⟂ W_in, as in DESIGN.md. When B is rank
deficient (an input vector inside span(m)), B⁺ picks the minimum-norm coordinates; the
dynamics stay exact either way because every representation of x evolves to the same state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._dynamics import AbstractDynamicalSystem, AbstractEulerSystem
from .._validate import ArgumentTypeError, check_array, check_finite_tree
from ._base import AbstractRNN, Rollout

if TYPE_CHECKING:  # LowRankRNN imports this module (for its `reduction`)
    from ._lowrank import LowRankRNN


class LatentDynamics(AbstractEulerSystem):
    """A LowRankRNN reduced to its (R + n_inputs)-dimensional latent state s = (κ, v).

    An `AbstractEulerSystem` like the network itself: `step(s, u)` is the noise-free map and
    `vector_field(s, u)` its continuous-time counterpart, both on latent states of size
    `n_states = n_latents = rank + n_inputs`. `lift(s)` gives the full state x = Mκ + Iv and
    `project(x)` the latent coordinates B⁺x. Build it with `neurodyn.lowrank.latent(model)`.
    """

    m: Float[Array, "neurons rank"]
    n: Float[Array, "neurons rank"]
    input_vectors: Float[Array, "neurons inputs"]
    readout_weights: Float[Array, "neurons outputs"]
    n_neurons: int = eqx.field(static=True)
    rank: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)

    def __init__(self, model: LowRankRNN):
        # A low-rank network is an RNN with loadings m, n (J = m nᵀ/N); LowRankRNN itself is
        # not imported here, since its `reduction()` builds on this class.
        if not (isinstance(model, AbstractRNN) and hasattr(model, "m") and hasattr(model, "n")):
            raise ArgumentTypeError(
                f"model must be a LowRankRNN, got {type(model).__name__} (truncate a "
                "FullRankRNN with neurodyn.lowrank.truncate first)"
            )
        model._check_weight_shapes()
        check_finite_tree(model, "model")
        self.m = model.m
        self.n = model.n
        self.input_vectors = model.input_weights.T
        self.readout_weights = model.readout_weights
        self.n_neurons, self.rank = model.n_neurons, model.rank
        self.n_inputs, self.n_outputs = model.n_inputs, model.n_outputs
        self.tau, self.dt = model.tau, model.dt
        self.nonlinearity = model.nonlinearity

    # ------------------------------------------------------------ coordinates
    @property
    def n_latents(self) -> int:
        """Size of the latent state (κ, v): rank + n_inputs."""
        return self.rank + self.n_inputs

    @property
    def n_states(self) -> int:
        """The state size of the dynamical system: `n_latents`."""
        return self.n_latents

    @property
    def basis(self) -> Float[Array, "neurons latents"]:
        """B = [M, I]: x = B s for a state in the invariant subspace."""
        return jnp.concatenate([self.m, self.input_vectors], axis=1)

    def lift(self, s: Float[ArrayLike, "*batch latents"]) -> Float[Array, "*batch neurons"]:
        """Full state x = Mκ + Iv of latent states s = (κ, v)."""
        return s @ self.basis.T

    def project(self, x: Float[ArrayLike, "*batch neurons"]) -> Float[Array, "*batch latents"]:
        """Latent coordinates s = B⁺x (exact for x in span(M, I); the least-squares fit else)."""
        return x @ jnp.linalg.pinv(self.basis).T

    def split(self, s: Float[ArrayLike, "*batch latents"]) -> tuple[Array, Array]:
        """(κ, v) = (s[..., :R], s[..., R:])."""
        return s[..., : self.rank], s[..., self.rank :]

    # --------------------------------------------------------------- dynamics
    def recurrent_drive(self, s: Float[ArrayLike, " latents"]) -> Float[Array, " rank"]:
        """nᵀφ(Mκ + Iv)/N, the recurrent input to κ."""
        return self.phi(self.lift(s)) @ self.n / self.n_neurons

    def drive(
        self, s: Float[ArrayLike, " latents"], u: Float[ArrayLike, " inputs"]
    ) -> Float[Array, " latents"]:
        """(−κ + nᵀφ(Mκ + Iv)/N, −v + u): `step` s ↦ s + α·drive(s, u) is exactly the
        network's `step` in κ, v, and `vector_field` drive(s, u)/τ its ODE (1/ms)."""
        kappa, v = self.split(s)
        return jnp.concatenate([-kappa + self.recurrent_drive(s), -v + u])

    def default_input(self) -> Float[Array, " inputs"]:
        """Zeros in the dtype of the loadings (the input when `u` is None)."""
        return jnp.zeros((self.n_inputs,), dtype=self.m.dtype)

    def readout(self, s: Float[ArrayLike, "*batch latents"]) -> Float[Array, "*batch outputs"]:
        """Network output z = φ(Mκ + Iv) W_out / N."""
        return self.phi(self.lift(s)) @ self.readout_weights / self.n_neurons

    def simulate(
        self,
        inputs: Float[ArrayLike, "*batch time inputs"],
        *,
        s0: Float[ArrayLike, "*batch latents"] | None = None,
    ) -> Rollout:
        """Noise-free latent trajectories for `inputs` `[B, T, I]` (or `[T, I]`).

        Returns `Rollout(states, outputs)` with `states[..., t, :]` = s after the update with
        u_t (so `lift(states)` is what `LowRankRNN.simulate(..., noise=False)` returns from
        x0 = lift(s0)). `s0` defaults to zeros.
        """
        return simulate_latent(self, inputs, s0)


def simulate_latent(
    system: AbstractDynamicalSystem,
    inputs: Float[ArrayLike, "*batch time inputs"],
    s0: Float[ArrayLike, "*batch states"] | None = None,
) -> Rollout:
    """Run a latent system over `inputs` and read out every state, as a `Rollout`.

    Run `system.step` over `inputs [..., T, I]` from `s0` (zeros by default) and read out
    every state: for a latent system with a `readout` (`LatentDynamics`, the mean-field
    `MeanFieldDynamics`). Returns `Rollout(states [..., T, n_states], outputs)`."""
    inputs = check_array(inputs, "inputs", to="jax")
    if inputs.ndim not in (2, 3) or inputs.shape[-1] != system.n_inputs:
        raise ValueError(
            f"inputs must have shape [batch, time, {system.n_inputs}] or [time, "
            f"{system.n_inputs}], got {inputs.shape}"
        )
    batch = inputs.shape[:-2]
    size = system.n_states
    if s0 is None:
        s0 = jnp.zeros(batch + (size,), dtype=inputs.dtype)
    else:
        s0 = check_array(s0, "s0", to="jax")
    if s0.shape != batch + (size,):
        raise ValueError(
            f"s0 must have shape {batch + (size,)} (batch shape of inputs plus rank + "
            f"n_inputs), got {s0.shape}"
        )

    n_batch = int(np.prod(batch, dtype=int))
    flat = _run_latent(system, inputs.reshape((n_batch,) + inputs.shape[-2:]),
                       s0.reshape((n_batch, size)))
    states = flat.reshape(inputs.shape[:-1] + (size,))
    return Rollout(states=states, outputs=system.readout(states))


@eqx.filter_jit
def _run_latent(system, inputs, s0):
    def run(inp, s):
        def body(s, u):
            s = system.step(s, u)
            return s, s

        return jax.lax.scan(body, s, inp)[1]

    return jax.vmap(run)(inputs, s0)
