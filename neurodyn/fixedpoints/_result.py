"""`FixedPoints`: the result of a fixed-point search, and `Status`, the outcome of each point."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int
from numpy.typing import DTypeLike

from .._typing import PointInputs, Points
from ._report import Report


class Status(eqx.Enumeration):
    """Per-point outcome of the optimisation (`FixedPoints.result`).

    The items' codes, in this order, are the integers that `FixedPoints.status` stores: `CONVERGED`,
    `STALLED`, `MAX_STEPS`, `NON_FINITE`."""

    converged = "q < max(tol_q, ½ rtol² ‖x‖²)"
    stalled = ("q stopped decreasing above the tolerance: a slow point (local minimum of q) "
               "or a failure")
    max_steps = "the step budget ran out first"
    non_finite = "q or the state became NaN/Inf; the last finite state is kept"


# The integer codes of `Status`'s items (what the optimiser writes into `FixedPoints.status`).
CONVERGED = 0
"""Status code 0 (`Status.converged`): q < max(tol_q, ½ rtol² ‖x‖²)."""
STALLED = 1
"""Status code 1 (`Status.stalled`): q stopped decreasing above the tolerance (a slow point)."""
MAX_STEPS = 2
"""Status code 2 (`Status.max_steps`): the step budget ran out first."""
NON_FINITE = 3
"""Status code 3 (`Status.non_finite`): q or the state became NaN/Inf."""
STATUS_NAMES = ("converged", "stalled", "max_steps", "non_finite")
"""The names of the status codes 0-3 (`CONVERGED`, `STALLED`, `MAX_STEPS`, `NON_FINITE`)."""

DYNAMICS = ("discrete", "continuous")

# Old field names, read and written through one deprecated alias each.
_RENAMED = {"eigvals": "eigenvalues", "eigvecs": "eigenvectors",
            "left_eigvecs": "left_eigenvectors"}


def _status_item(code: Int[Array, ""]) -> Status:
    item = Status.converged
    for name, value in zip(STATUS_NAMES[1:], (STALLED, MAX_STEPS, NON_FINITE)):
        item = Status.where(code == value, getattr(Status, name), item)
    return item


def _deprecated(old: str) -> None:
    warnings.warn(f"FixedPoints.{old} is deprecated: use FixedPoints.{_RENAMED[old]}",
                  DeprecationWarning, stacklevel=3)


def complex_dtype(dtype: DTypeLike) -> np.dtype:
    """The complex dtype that holds eigenvalues of a real `dtype` matrix."""
    return np.result_type(dtype, np.complex64)


class FixedPoints(eqx.Module):
    """Fixed points (or slow or period-k points) of a dynamical system, linearised.

    A pytree: index it (`fps[fps.stable]`, `fps[:3]`), concatenate it (`fixedpoints.concatenate`),
    save it (`nd.save`).

    For `dynamics="discrete"` the points minimise q(x) = ½‖Fᵏ(x, u) − x‖² (F = `system.step`,
    k = `period`) and the Jacobians are ∂Fᵏ/∂x, stable when every |λ| < 1; for
    `dynamics="continuous"` they minimise q(x) = ½‖f(x, u)‖² (f = `system.vector_field`) and the
    Jacobians are ∂f/∂x, stable when every Re λ < 0. (Sussillo & Barak 2013; Golub & Sussillo
    2018.)

    Attributes:
        xstar: `[P, N]` the points.
        inputs: `[P, I]` the constant input each point was found at (I = 0: no input given).
        q: `[P]` the value of q at `xstar`.
        status: `[P]` the code of each point's `Status`: 0 converged (q < tol_q), 1 stalled,
            2 max_steps, 3 non_finite (`result` gives them as the `Status` enumeration).
        initial_states: `[P, N]` where each search started.
        n_iters: `[P]` optimiser steps taken.
        min_period: `[P]` the smallest d dividing `period` with Fᵈ(x*) ≈ x* (1 for period 1).
        condition_id: `[P]` an integer label per point (by default the index of its input
            among the distinct inputs).
        jacobians: `[P, N, N]` ∂Fᵏ/∂x or ∂f/∂x at x* (None if not computed).
        input_jacobians: `[P, N, I]` ∂Fᵏ/∂u or ∂f/∂u (for period k: the input held for k steps).
        eigenvalues: `[P, N]` eigenvalues, least stable first (largest |λ| or largest Re λ).
        eigenvectors: `[P, N, N]` right eigenvectors, `eigenvectors[p, :, i]` for
            `eigenvalues[p, i]`, unit norm.
        left_eigenvectors: `[P, N, N]` left eigenvectors w_i with w_iᵀ J = λ_i w_iᵀ (no
            complex conjugate), `left_eigenvectors[p, :, i]`, normalised so that
            w_iᵀ v_j = δ_ij.
        (`eigvals`, `eigvecs` and `left_eigvecs`, the names before 0.2, still work, as
        constructor keywords and attributes, with a DeprecationWarning; files saved with them
        load unchanged: a checkpoint stores the leaves in field order, not their names.)
        stable: `[P]` every eigenvalue inside the unit circle (discrete) or left half-plane
            (continuous).
        n_unstable: `[P]` number of unstable modes (the saddle index).
        dynamics: "discrete" or "continuous".
        period: k for fixed points of Fᵏ.
        dt: the system's time step (ms) for discrete time constants; 1.0 if it has none.
        report: how the points were found and filtered (`Report`), or None.
    """

    xstar: Points
    inputs: PointInputs
    q: Float[Array, " points"]
    status: Int[Array, " points"]
    initial_states: Points
    n_iters: Int[Array, " points"]
    min_period: Int[Array, " points"]
    condition_id: Int[Array, " points"]
    jacobians: Float[Array, "points states states"] | None = None
    input_jacobians: Float[Array, "points states inputs"] | None = None
    eigenvalues: Complex[Array, "points states"] | None = None
    eigenvectors: Complex[Array, "points states states"] | None = None
    left_eigenvectors: Complex[Array, "points states states"] | None = None
    stable: Bool[Array, " points"] | None = None
    n_unstable: Int[Array, " points"] | None = None
    dynamics: str = eqx.field(static=True, default="discrete")
    period: int = eqx.field(static=True, default=1)
    dt: float = eqx.field(static=True, default=1.0)
    report: Report | None = eqx.field(static=True, default=None)

    def __init__(
        self,
        xstar: Points,
        inputs: PointInputs,
        q: Float[ArrayLike, " points"],
        status: Int[ArrayLike, " points"],
        initial_states: Points,
        n_iters: Int[ArrayLike, " points"],
        min_period: Int[ArrayLike, " points"],
        condition_id: Int[ArrayLike, " points"],
        jacobians: Float[ArrayLike, "points states states"] | None = None,
        input_jacobians: Float[ArrayLike, "points states inputs"] | None = None,
        eigenvalues: Complex[ArrayLike, "points states"] | None = None,
        eigenvectors: Complex[ArrayLike, "points states states"] | None = None,
        left_eigenvectors: Complex[ArrayLike, "points states states"] | None = None,
        stable: Bool[ArrayLike, " points"] | None = None,
        n_unstable: Int[ArrayLike, " points"] | None = None,
        dynamics: str = "discrete",
        period: int = 1,
        dt: float = 1.0,
        report: Report | None = None,
        **renamed: Any,
    ) -> None:
        # `renamed`: the deprecated keywords `eigvals`, `eigvecs`, `left_eigvecs`. Given, they
        # win over the new names (so that `dataclasses.replace(fps, eigvals=...)` still works).
        unknown = sorted(set(renamed) - set(_RENAMED))
        if unknown:
            raise TypeError(f"FixedPoints got unexpected keyword arguments {unknown}")
        new = dict(eigenvalues=eigenvalues, eigenvectors=eigenvectors,
                   left_eigenvectors=left_eigenvectors)
        for old, value in renamed.items():
            warnings.warn(f"FixedPoints({old}=...) is deprecated: use "
                          f"FixedPoints({_RENAMED[old]}=...)", DeprecationWarning, stacklevel=2)
            new[_RENAMED[old]] = value
        self.xstar = xstar
        self.inputs = inputs
        self.q = q
        self.status = status
        self.initial_states = initial_states
        self.n_iters = n_iters
        self.min_period = min_period
        self.condition_id = condition_id
        self.jacobians = jacobians
        self.input_jacobians = input_jacobians
        self.eigenvalues = new["eigenvalues"]
        self.eigenvectors = new["eigenvectors"]
        self.left_eigenvectors = new["left_eigenvectors"]
        self.stable = stable
        self.n_unstable = n_unstable
        self.dynamics = dynamics
        self.period = period
        self.dt = dt
        self.report = report

    def __check_init__(self):
        if self.dynamics not in DYNAMICS:
            raise ValueError(f"dynamics must be one of {DYNAMICS}, got {self.dynamics!r}")

    # ------------------------------------------------------------------ shape
    @property
    def n_points(self) -> int:
        return self.xstar.shape[0]

    @property
    def n_states(self) -> int:
        return self.xstar.shape[1]

    @property
    def n_inputs(self) -> int:
        return self.inputs.shape[1]

    @property
    def has_jacobians(self) -> bool:
        return self.jacobians is not None

    def __len__(self) -> int:
        return self.n_points

    @property
    def converged(self) -> Bool[Array, " points"]:
        """q < tol_q at the end of the search."""
        return self.status == CONVERGED

    @property
    def result(self) -> Status:
        """`[P]` each point's outcome as a `Status` enumeration item (compare with
        `fps.result == Status.stalled`; `Status[fps.result]` gives the messages)."""
        return jax.vmap(_status_item)(jnp.asarray(self.status))

    # ------------------------------------------------- deprecated field names
    @property
    def eigvals(self) -> Complex[Array, "points states"] | None:
        """Deprecated: `eigenvalues`."""
        _deprecated("eigvals")
        return self.eigenvalues

    @property
    def eigvecs(self) -> Complex[Array, "points states states"] | None:
        """Deprecated: `eigenvectors`."""
        _deprecated("eigvecs")
        return self.eigenvectors

    @property
    def left_eigvecs(self) -> Complex[Array, "points states states"] | None:
        """Deprecated: `left_eigenvectors`."""
        _deprecated("left_eigvecs")
        return self.left_eigenvectors

    def _need(self, name):
        value = getattr(self, name)
        if value is None:
            raise ValueError(
                f"these FixedPoints have no {name}: run find(..., jacobians=True) or "
                "fixedpoints.decompose(system, fps)"
            )
        return value

    # -------------------------------------------------------------- selection
    def __getitem__(self, index: int | slice | np.ndarray | Array) -> FixedPoints:
        """Select points (an int, slice, boolean mask or index array); keeps the point axis."""
        if isinstance(index, tuple):
            raise ValueError("FixedPoints takes one index along the point axis")
        if isinstance(index, (int, np.integer)):
            n = self.n_points
            if not -n <= index < n:
                raise IndexError(f"index {index} is out of range for {n} points")
            index = np.asarray([index])
        elif not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool and index.shape != (self.n_points,):
                raise ValueError(
                    f"a boolean mask must have shape ({self.n_points},), got {index.shape}"
                )
        return jax.tree_util.tree_map(lambda x: x[index], self)

    @property
    def time_constants(self) -> Float[Array, "points states"]:
        """Time constant of every mode, in ms (or in steps for a system without `dt`).

        Discrete: τ_i = −k·dt / ln|λ_i| (k = period); continuous: τ_i = −1/Re λ_i (the units of
        the vector field's time). Negative values are growth time constants of unstable modes;
        a mode exactly on the boundary has τ = ∞.
        """
        lam = self._need("eigenvalues")
        with np.errstate(divide="ignore"):
            if self.dynamics == "discrete":
                return -self.period * self.dt / jnp.log(jnp.abs(lam))
            return -1.0 / jnp.real(lam)

    @property
    def distance_to_boundary(self) -> Float[Array, "points states"]:
        """|λ| − 1 (discrete) or Re λ (continuous): < 0 for stable modes."""
        lam = self._need("eigenvalues")
        if self.dynamics == "discrete":
            return jnp.abs(lam) - 1.0
        return jnp.real(lam)

    # ------------------------------------------------------------ save / load
    def hyperparameters(self) -> dict[str, Any]:
        """Shapes and static settings: enough for `nd.load` to rebuild a like-shaped skeleton."""
        return dict(
            n_points=int(self.n_points),
            n_states=int(self.n_states),
            n_inputs=int(self.n_inputs),
            dtype=str(self.xstar.dtype),
            has_jacobians=self.has_jacobians,
            dynamics=self.dynamics,
            period=int(self.period),
            dt=float(self.dt),
            report=None if self.report is None else self.report.to_dict(),
        )

    def summary(self) -> str:
        """One line per kind of point: how many stable points and saddles of each index."""
        lines = [f"{self.n_points} points ({self.dynamics}, period {self.period})"]
        if self.n_unstable is not None:
            counts = np.bincount(np.asarray(self.n_unstable), minlength=1)
            for k, c in enumerate(counts):
                if c:
                    kind = "stable" if k == 0 else f"{k} unstable mode{'s' * (k > 1)}"
                    lines.append(f"  {c} {kind}")
        if self.report is not None:
            lines.append(f"  search: {self.report}")
        return "\n".join(lines)


def skeleton(hp: dict[str, Any]) -> FixedPoints:
    """A `FixedPoints` of zeros with the shapes in `hp` (the `nd.load` builder)."""
    p, n, i = int(hp["n_points"]), int(hp["n_states"]), int(hp["n_inputs"])
    dtype = np.dtype(hp.get("dtype", "float32"))
    cdtype = complex_dtype(dtype)
    extra = {}
    if hp["has_jacobians"]:
        extra = dict(
            jacobians=jnp.zeros((p, n, n), dtype),
            input_jacobians=jnp.zeros((p, n, i), dtype),
            eigenvalues=jnp.zeros((p, n), cdtype),
            eigenvectors=jnp.zeros((p, n, n), cdtype),
            left_eigenvectors=jnp.zeros((p, n, n), cdtype),
            stable=jnp.zeros((p,), bool),
            n_unstable=jnp.zeros((p,), jnp.int32),
        )
    report = hp.get("report")
    return FixedPoints(
        xstar=jnp.zeros((p, n), dtype),
        inputs=jnp.zeros((p, i), dtype),
        q=jnp.zeros((p,), dtype),
        status=jnp.zeros((p,), jnp.int32),
        initial_states=jnp.zeros((p, n), dtype),
        n_iters=jnp.zeros((p,), jnp.int32),
        min_period=jnp.zeros((p,), jnp.int32),
        condition_id=jnp.zeros((p,), jnp.int32),
        dynamics=str(hp["dynamics"]),
        period=int(hp["period"]),
        dt=float(hp["dt"]),
        report=None if report is None else Report.from_dict(report),
        **extra,
    )


def concatenate(fps: Sequence[FixedPoints]) -> FixedPoints:
    """Join several `FixedPoints` along the point axis.

    They must share the dynamics, period, state and input sizes, and either all have Jacobians
    or none. Reports are merged."""
    fps = list(fps)
    if not fps or not all(isinstance(f, FixedPoints) for f in fps):
        raise ValueError("concatenate takes a non-empty sequence of FixedPoints")
    first = fps[0]
    for f in fps[1:]:
        for attr in ("dynamics", "period", "n_states", "n_inputs", "has_jacobians", "dt"):
            if getattr(f, attr) != getattr(first, attr):
                raise ValueError(
                    f"cannot concatenate FixedPoints with different {attr}: "
                    f"{getattr(first, attr)!r} and {getattr(f, attr)!r}"
                )
    reports = [f.report for f in fps]
    report = None
    if all(r is not None for r in reports):
        report = reports[0]
        for r in reports[1:]:
            report = report.merge(r)
    stripped = [dataclasses.replace(f, report=None) for f in fps]
    joined = jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs, axis=0), *stripped)
    return dataclasses.replace(joined, report=report)
