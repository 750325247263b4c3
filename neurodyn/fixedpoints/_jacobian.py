"""Jacobians, eigen-decomposition and stability at fixed points; `linearize`.

Jacobians are computed in JAX (`jax.jacfwd`, vmapped over points, jitted). The eigen-
decomposition runs in NumPy (LAPACK `geev`) on the host: `jnp.linalg.eig` is not available on
every accelerator backend, and after filtering there are few points, so the host is not the
bottleneck. Left eigenvectors are the rows of R⁻¹ (R the right eigenvectors), so that
w_iᵀ v_j = δ_ij.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int

from .._dynamics import AbstractDynamicalSystem
from .._validate import ArgumentTypeError, check_array, check_bool, check_choice
from . import _lowrank
from ._result import DYNAMICS, FixedPoints, complex_dtype
from ._spectrum import mode_order
from ._system import (
    check_callable,
    check_inputs,
    check_states,
    check_system,
    flow,
    residual_fn,
)


@eqx.filter_jit
def _jacobians(system, states, inputs, dynamics: str, period: int):
    g = flow(system, dynamics, period)
    jac = jax.vmap(jax.jacfwd(g, argnums=(0, 1)))
    return jac(states, inputs)


def jacobians(
    system: AbstractDynamicalSystem,
    states: Float[ArrayLike, "points states"],
    inputs: Float[ArrayLike, "points inputs"] | Float[ArrayLike, " inputs"] | None = None,
    *,
    dynamics: str = "discrete",
    period: int = 1,
) -> tuple[Float[Array, "points states states"], Float[Array, "points states inputs"]]:
    """The Jacobians ∂G/∂x and ∂G/∂u of the dynamics at every state.

    ∂G/∂x `[P, N, N]` and ∂G/∂u `[P, N, I]` at every state, with G = Fᵏ (discrete, F =
    `system.step`) or G = f (continuous, f = `system.vector_field`). Forward-mode, vmapped;
    for a `LowRankRNN` formed as a I + U Vᵀ from R vector-Jacobian products (`_lowrank`)."""
    check_system(system, dynamics, period)
    states = check_states(system, states, "states")
    inputs = check_inputs(system, inputs, states.shape[0], states.dtype)
    check_callable(system, states, inputs, dynamics, period, name="states")
    if _lowrank.is_low_rank(system):
        a, basis, v, jac_u = _structured(system, states, inputs, dynamics, period)
        return _lowrank.dense(a, basis, v, states.dtype), jac_u
    states, inputs, n = _pad(states, inputs)
    jac, jac_u = _jacobians(system, states, inputs, dynamics, int(period))
    return jac[:n], jac_u[:n]


def _pad(states, inputs):
    """Rows repeated up to a power of two (≥ 8): few batch sizes, few compilations."""
    n = states.shape[0]
    size = max(8, 1 << (n - 1).bit_length())
    pad = np.concatenate([np.arange(n), np.zeros(size - n, np.int64)])
    return np.asarray(states)[pad], np.asarray(inputs)[pad], n


def _structured(system, states, inputs, dynamics, period):
    """(a, U, V `[P, N, R]`, ∂G/∂u `[P, N, I]`) of a low-rank system (see `_lowrank`)."""
    padded, padded_u, n = _pad(states, inputs)
    a, basis, v, jac_u = _lowrank.factors(system, jnp.asarray(padded), jnp.asarray(padded_u),
                                          dynamics, period)
    return a, basis, v[:n], jac_u[:n]


def eig(
    jac: Float[ArrayLike, "points states states"], dynamics: str = "discrete"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues and right and left eigenvectors of a stack of Jacobians.

    Eigenvalues `[P, N]`, right `[P, N, N]` and left `[P, N, N]` eigenvectors (columns),
    least stable mode first, with w_iᵀ v_j = δ_ij. Computed with NumPy on the host."""
    dynamics = check_choice(dynamics, "dynamics", DYNAMICS)
    jac = np.asarray(check_array(jac, "jac"))
    if jac.ndim != 3 or jac.shape[1] != jac.shape[2]:
        raise ValueError(f"jac: jacobians must have shape [P, N, N], got {jac.shape}")
    cdtype = complex_dtype(jac.dtype)
    if jac.shape[0] == 0:
        z = np.zeros(jac.shape, cdtype)
        return z[..., 0], z, z
    lam, right = np.linalg.eig(jac.astype(np.float64))
    order = mode_order(lam, dynamics)
    lam = np.take_along_axis(lam, order, axis=-1)
    right = np.take_along_axis(right, order[:, None, :], axis=-1)
    left = np.empty_like(right)
    for p in range(right.shape[0]):
        try:
            left[p] = np.linalg.inv(right[p]).T
        except np.linalg.LinAlgError:  # defective: the best least-squares dual basis
            left[p] = np.linalg.pinv(right[p]).T
    return lam.astype(cdtype), right.astype(cdtype), left.astype(cdtype)


def stability(
    eigvals: Complex[ArrayLike, "points states"], dynamics: str = "discrete"
) -> tuple[Bool[Array, " points"], Int[Array, " points"]]:
    """(`stable [P]`, `n_unstable [P]`): discrete |λ| < 1, continuous Re λ < 0."""
    dynamics = check_choice(dynamics, "dynamics", DYNAMICS)
    if isinstance(eigvals, (str, bytes)) or eigvals is None:
        raise ArgumentTypeError(f"eigvals must be an array of eigenvalues, got "
                                f"{type(eigvals).__name__}")
    host = np.asarray(eigvals)
    if host.dtype.kind not in "biufc" or host.ndim != 2:
        raise ValueError(f"eigvals must be a [P, N] array of numbers, got {host.dtype} "
                         f"{host.shape}")
    if not np.all(np.isfinite(host)):
        raise ValueError("eigvals must be finite, got NaN or Inf values")
    lam = jnp.asarray(eigvals)
    unstable = jnp.abs(lam) > 1.0 if dynamics == "discrete" else jnp.real(lam) > 0.0
    boundary = jnp.abs(lam) >= 1.0 if dynamics == "discrete" else jnp.real(lam) >= 0.0
    return ~jnp.any(boundary, axis=-1), jnp.sum(unstable, axis=-1).astype(jnp.int32)


def decompose(
    system: AbstractDynamicalSystem, fps: FixedPoints, *, low_rank: bool | None = None
) -> FixedPoints:
    """`fps` with its Jacobians, eigendecomposition and stability filled in.

    `fps` with Jacobians, input Jacobians, eigenvalues, right/left eigenvectors, stability
    and saddle index filled in (for the dynamics and period the points were found with).

    For a `LowRankRNN` (`low_rank=None` or True) the eigen-decomposition uses the rank-R
    structure of the Jacobian, a I + U Vᵀ: R eigenvalues from an R × R matrix, N − R equal to
    a = 1 − α (discrete; (1 − α)ᵏ for period k) or −1/τ (continuous), with their eigenvectors,
    all exact (see `neurodyn.fixedpoints._lowrank`), in O(N² R) per point instead of a dense
    O(N³) `eig`. `low_rank=False` forces the dense path."""
    if not isinstance(fps, FixedPoints):
        raise ArgumentTypeError(f"fps must be FixedPoints, got {type(fps).__name__}")
    check_system(system, fps.dynamics, fps.period)
    if low_rank is not None:
        low_rank = check_bool(low_rank, "low_rank")
    structured = _lowrank.is_low_rank(system) if low_rank is None else low_rank
    if structured and not _lowrank.is_low_rank(system):
        raise ValueError(f"low_rank=True needs one LowRankRNN, got {type(system).__name__}")
    if fps.n_points == 0:
        jac = jnp.zeros((0, fps.n_states, fps.n_states), fps.xstar.dtype)
        jac_u = jnp.zeros((0, fps.n_states, fps.n_inputs), fps.xstar.dtype)
        lam, right, left = eig(jac, fps.dynamics)
    elif structured:
        states = check_states(system, fps.xstar, "fps.xstar")
        inputs = check_inputs(system, fps.inputs, states.shape[0], states.dtype)
        a, basis, v, jac_u = _structured(system, states, inputs, fps.dynamics, fps.period)
        jac = _lowrank.dense(a, basis, v, states.dtype)
        lam, right, left = _lowrank.eig(
            a, basis, v, fps.dynamics, complex_dtype(states.dtype),
            lambda p: eig(jac[p][None], fps.dynamics),
        )
    else:
        jac, jac_u = jacobians(
            system, fps.xstar, fps.inputs, dynamics=fps.dynamics, period=fps.period
        ) if not _lowrank.is_low_rank(system) else _dense_jacobians(system, fps)
        lam, right, left = eig(jac, fps.dynamics)
    stable, n_unstable = stability(lam, fps.dynamics)
    return dataclasses.replace(
        fps,
        jacobians=jac,
        input_jacobians=jac_u,
        eigenvalues=jnp.asarray(lam),
        eigenvectors=jnp.asarray(right),
        left_eigenvectors=jnp.asarray(left),
        stable=stable,
        n_unstable=n_unstable,
    )


def _dense_jacobians(system, fps):
    """Forward-mode Jacobians, without the low-rank structure (the reference path)."""
    states, inputs, n = _pad(fps.xstar, fps.inputs)
    jac, jac_u = _jacobians(system, states, inputs, fps.dynamics, int(fps.period))
    return jac[:n], jac_u[:n]


class Linearization(AbstractDynamicalSystem):
    """The linearised dynamics around (x*, u*), itself a dynamical system.

        discrete:    x ↦ x* + A (x − x*) + B (u − u*) + c,      c = F(x*, u*) − x*
        continuous:  dx/dt = A (x − x*) + B (u − u*) + c,       c = f(x*, u*)

    (c vanishes at an exact fixed point and is small at a slow point). A missing input
    (`u=None`) is u*.
    """

    A: Float[Array, "states states"]
    B: Float[Array, "states inputs"]
    xstar: Float[Array, " states"]
    ustar: Float[Array, " inputs"]
    offset: Float[Array, " states"]
    dynamics: str = eqx.field(static=True)

    def __init__(self, A: Array, B: Array, xstar: Array, ustar: Array, offset: Array,
                 dynamics: str):
        # Explicit: the base class's AbstractVars (n_states, n_inputs, here properties) would
        # otherwise enter the generated __init__.
        self.A, self.B, self.xstar, self.ustar, self.offset = A, B, xstar, ustar, offset
        self.dynamics = dynamics

    @property
    def n_states(self) -> int:
        return self.A.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.B.shape[1]

    @property
    def continuous(self) -> bool:  # per instance: the dynamics it linearises
        return self.dynamics == "continuous"

    def default_input(self) -> Float[Array, " inputs"]:
        """u*: the input the system was linearised at."""
        return self.ustar

    def _du(self, u):
        return jnp.zeros(()) if u is None else (jnp.asarray(u) - self.ustar) @ self.B.T

    def step(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        if self.dynamics != "discrete":
            raise ValueError("this linearisation is of continuous-time dynamics: use vector_field")
        return self.xstar + (x - self.xstar) @ self.A.T + self._du(u) + self.offset

    def vector_field(
        self, x: Float[ArrayLike, " states"], u: Float[ArrayLike, " inputs"] | None = None
    ) -> Float[Array, " states"]:
        if self.dynamics != "continuous":
            raise ValueError("this linearisation is of a discrete map: use step")
        return (x - self.xstar) @ self.A.T + self._du(u) + self.offset


def linearize(
    system: AbstractDynamicalSystem,
    xstar: Float[ArrayLike, " states"],
    ustar: Float[ArrayLike, " inputs"] | None = None,
    *,
    dynamics: str = "discrete",
) -> Linearization:
    """The linearisation of `system` at one state and input, as a `Linearization`.

    A = ∂G/∂x and B = ∂G/∂u at (x*, u*), G = `system.step` (discrete) or
    `system.vector_field` (continuous), returned as a `Linearization` (x ↦ x* + A(x − x*) +
    B(u − u*) in discrete time). `xstar` is one state `[N]`; `ustar` one input `[I]` or None.
    For a `LowRankRNN`, A is formed from its rank-R structure (see `decompose`)."""
    check_system(system, dynamics)
    xstar = jnp.asarray(check_array(xstar, "xstar", finite=False))
    if xstar.ndim != 1:
        raise ValueError(f"xstar must be one state of shape [n_states], got {xstar.shape}")
    if ustar is not None:
        ustar = check_array(ustar, "ustar", finite=False)
    if ustar is not None and jnp.ndim(ustar) != 1:
        raise ValueError(f"ustar must be one input of shape [n_inputs] or None, got "
                         f"{jnp.shape(ustar)}")
    states = check_states(system, xstar[None], "xstar")
    inputs = check_inputs(system, ustar, 1, states.dtype)
    check_callable(system, states, inputs, dynamics, name="xstar")
    jac, jac_u = jacobians(system, states, inputs, dynamics=dynamics)
    r = _offset(system, states, inputs, dynamics)
    return Linearization(jac[0], jac_u[0], states[0], inputs[0], r[0], dynamics)


@eqx.filter_jit
def _offset(system, states, inputs, dynamics):
    return jax.vmap(residual_fn(system, dynamics))(states, inputs)
