"""Mean-field theory of Gaussian-mixture low-rank networks in the large-N limit
(Mastrogiuseppe & Ostojic 2018; Beiran, Dubreuil, Valente, Mastrogiuseppe & Ostojic 2021).

When the loadings of N neurons are drawn i.i.d. from Σ_p π_p N(μ_p, Σ_p), the latent drive
nᵀφ(x)/N of the exact reduction becomes a population average as N → ∞. In population p the
current x = m·κ + I·v is Gaussian with mean μ_p(s) = μ_{X,p}·s and variance
Δ_p(s) = sᵀΣ_{XX,p} s (s = (κ, v), X = (m, I)), and Stein's lemma gives

    dκ/dt = [−κ + Σ_p π_p (μ_{n,p} ⟨φ⟩_p + Σ_{nX,p} s ⟨φ'⟩_p)]/τ,     dv/dt = (−v + u)/τ
    ⟨g⟩_p = ∫ Dz g(μ_p + √Δ_p z)    (Gauss–Hermite quadrature)

where ⟨φ'⟩_p is the population-averaged gain. The readout is z = Σ_p π_p (μ_{w,p}⟨φ⟩_p +
Σ_{wX,p} s ⟨φ'⟩_p). The system has the same interface as `LatentDynamics`, so it can be
simulated, searched for fixed points and drawn as a flow field in the same way.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ..._nonlinearity import get_nonlinearity
from ..._validate import ArgumentTypeError, check_array, check_finite_tree, check_int
from ...models import AbstractEulerSystem, Rollout, simulate_latent
from .._populations import LowRankMixture, check_mixture

# NumPy's Gauss–Hermite weights overflow into NaN from about 370 nodes on (NumPy 2); 256 is
# far beyond what the smooth population averages need (64 by default).
MAX_ORDER = 256


def gauss_hermite(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z_q and weights h_q with Σ_q h_q g(z_q) ≈ E[g(z)], z ~ N(0, 1) (probabilists')."""
    order = check_int(order, "order", low=1, high=MAX_ORDER)
    x, w = np.polynomial.hermite.hermgauss(order)
    return np.sqrt(2.0) * x, w / np.sqrt(np.pi)


class MeanFieldDynamics(AbstractEulerSystem):
    """The N → ∞ latent dynamics s = (κ, v) of networks drawn from a `LowRankMixture`.

    An `AbstractEulerSystem` on `n_states = n_latents = rank + n_inputs` numbers with the same
    interface as `LatentDynamics` (`step`, `vector_field`, `readout`, `simulate`,
    `recurrent_drive`); build it with `meanfield.dynamics(mixture)`.
    """

    weights: Float[Array, " populations"]
    means: Float[Array, "populations columns"]
    covariances: Float[Array, "populations columns columns"]
    nodes: Float[Array, " order"]
    node_weights: Float[Array, " order"]
    rank: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)

    def __init__(self, *, weights: Array, means: Array, covariances: Array, nodes: Array,
                 node_weights: Array, rank: int, n_inputs: int, n_outputs: int, tau: float,
                 dt: float, nonlinearity: str):
        # Explicit: fields that satisfy the base class's AbstractVars would otherwise change
        # the generated __init__ (build it with `meanfield.dynamics(mixture)`).
        self.weights, self.means, self.covariances = weights, means, covariances
        self.nodes, self.node_weights = nodes, node_weights
        self.rank, self.n_inputs, self.n_outputs = rank, n_inputs, n_outputs
        self.tau, self.dt, self.nonlinearity = tau, dt, nonlinearity

    @property
    def n_latents(self) -> int:
        """Size of the latent state (κ, v): rank + n_inputs."""
        return self.rank + self.n_inputs

    @property
    def n_states(self) -> int:
        """The state size of the dynamical system: `n_latents`."""
        return self.n_latents

    def default_input(self) -> Float[Array, " inputs"]:
        """Zeros in the dtype of the mixture (the input when `u` is None)."""
        return jnp.zeros((self.n_inputs,), dtype=self.means.dtype)

    def split(self, s: Float[ArrayLike, "*batch latents"]) -> tuple[Array, Array]:
        """(κ, v) = (s[..., :R], s[..., R:])."""
        return s[..., : self.rank], s[..., self.rank :]

    def _cols(self):
        r, k = self.rank, self.n_inputs
        x_cols = np.concatenate([np.arange(r), np.arange(2 * r, 2 * r + k)])
        return x_cols, np.arange(r, 2 * r), np.arange(2 * r + k, 2 * r + k + self.n_outputs)

    def _averages(self, s: Float[Array, " latents"]):
        """⟨φ⟩_p and ⟨φ'⟩_p for every population, at latent state s."""
        x_cols, _, _ = self._cols()
        mu_x = self.means[:, x_cols]  # [P, X]
        cov_xx = self.covariances[:, x_cols][:, :, x_cols]  # [P, X, X]
        mean = mu_x @ s  # [P]
        var = jnp.einsum("i,pij,j->p", s, cov_xx, s)
        # The tiny floor keeps d√Δ/ds finite at s = 0; the averages are even in √Δ there.
        std = jnp.sqrt(jnp.maximum(var, 0.0) + 1e-30)
        h = mean[:, None] + std[:, None] * self.nodes[None, :]  # [P, Q]
        phi = get_nonlinearity(self.nonlinearity)
        val, gain = jax.jvp(phi, (h,), (jnp.ones_like(h),))
        return val @ self.node_weights, gain @ self.node_weights

    @eqx.filter_jit
    def population_gains(self, s: Float[ArrayLike, " latents"]) -> Float[Array, " populations"]:
        """The population-averaged gains ⟨φ'⟩_p at latent state s."""
        return self._averages(jnp.asarray(s))[1]

    def _average_product(self, s, cols):
        """Σ_p π_p ⟨a φ(x)⟩_p for the loading columns `cols` (Stein's lemma)."""
        x_cols, _, _ = self._cols()
        mean_phi, mean_gain = self._averages(s)
        mu_a = self.means[:, cols]  # [P, A]
        cov_ax = self.covariances[:, cols][:, :, x_cols]  # [P, A, X]
        per_pop = mu_a * mean_phi[:, None] + (cov_ax @ s) * mean_gain[:, None]
        return self.weights @ per_pop

    @eqx.filter_jit
    def recurrent_drive(self, s: Float[ArrayLike, " latents"]) -> Float[Array, " rank"]:
        """The N → ∞ limit of nᵀφ(Mκ + Iv)/N."""
        return self._average_product(s, self._cols()[1])

    def drive(
        self, s: Float[ArrayLike, " latents"], u: Float[ArrayLike, " inputs"]
    ) -> Float[Array, " latents"]:
        """(−κ + ⟨nφ⟩, −v + u): `step` s ↦ s + α·drive(s, u) is the Euler map of the finite
        networks, `vector_field` drive(s, u)/τ its ODE (1/ms)."""
        kappa, v = self.split(s)
        return jnp.concatenate([-kappa + self.recurrent_drive(s), -v + u])

    @eqx.filter_jit
    def readout(self, s: Float[ArrayLike, "*batch latents"]) -> Float[Array, "*batch outputs"]:
        """The N → ∞ output z = Σ_p π_p ⟨w φ(x)⟩_p."""
        flat = s.reshape((-1, self.n_latents))
        out = jax.vmap(lambda t: self._average_product(t, self._cols()[2]))(flat)
        return out.reshape(s.shape[:-1] + (self.n_outputs,))

    def simulate(
        self,
        inputs: Float[ArrayLike, "*batch time inputs"],
        *,
        s0: Float[ArrayLike, "*batch latents"] | None = None,
    ) -> Rollout:
        """Mean-field latent trajectories for `inputs` `[B, T, I]` (or `[T, I]`) from `s0`."""
        inputs, s0 = check_latent_inputs(self, inputs, s0)
        return simulate_latent(self, inputs, s0)


def check_latent_inputs(system, inputs, s0):
    """Finite `inputs [..., T, n_inputs]` and `s0 [..., n_latents]` (or None), as JAX arrays
    (shapes are checked against each other by `simulate_latent`)."""
    inputs = check_array(inputs, "inputs", ndim=(2, 3), to="jax")
    if inputs.shape[-1] != system.n_inputs:
        raise ValueError(
            f"inputs must have shape [batch, time, {system.n_inputs}] or [time, "
            f"{system.n_inputs}], got {inputs.shape}"
        )
    if s0 is not None:
        s0 = check_array(s0, "s0", to="jax")
    return inputs, s0


def _check_system(system, name: str) -> MeanFieldDynamics:
    if system.weights.ndim != 1:
        raise ValueError(
            f"{name} is a stacked batch of mean-field systems (weights of shape "
            f"{system.weights.shape}); pick one"
        )
    return check_finite_tree(system, name)


def dynamics(
    mixture: LowRankMixture | MeanFieldDynamics, *, quadrature: int = 64
) -> MeanFieldDynamics:
    """The mean-field latent system of a `LowRankMixture` (`quadrature` Gauss–Hermite nodes)."""
    if isinstance(mixture, MeanFieldDynamics):
        return _check_system(mixture, "mixture")
    mixture = check_mixture(mixture)
    quadrature = check_int(quadrature, "quadrature", low=1, high=MAX_ORDER)
    nodes, node_weights = gauss_hermite(quadrature)
    dtype = mixture.means.dtype
    return MeanFieldDynamics(
        weights=mixture.weights,
        means=mixture.means,
        covariances=mixture.covariances,
        nodes=jnp.asarray(nodes, dtype),
        node_weights=jnp.asarray(node_weights, dtype),
        rank=mixture.rank,
        n_inputs=mixture.n_inputs,
        n_outputs=mixture.n_outputs,
        tau=mixture.tau,
        dt=mixture.dt,
        nonlinearity=mixture.nonlinearity,
    )


def simulate(
    mixture: LowRankMixture | MeanFieldDynamics,
    inputs: Float[ArrayLike, "*batch time inputs"],
    *,
    s0: Float[ArrayLike, "*batch latents"] | None = None,
) -> Rollout:
    """Mean-field latent trajectories for `inputs`, as a `Rollout`.

    Returns `Rollout(states [..., T, R + I], outputs)`, with the networks' Euler map (α = dt/τ)
    from `s0` (zeros by default)."""
    if not isinstance(mixture, (LowRankMixture, MeanFieldDynamics)):
        raise ArgumentTypeError(
            f"mixture must be a LowRankMixture or a MeanFieldDynamics, got "
            f"{type(mixture).__name__}"
        )
    return dynamics(mixture).simulate(inputs, s0=s0)
