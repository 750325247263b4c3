"""`FixedPoints`: the result of a fixed-point search, and the report of how it was found."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Complex, Float, Int

# Per-point outcome of the optimisation (`FixedPoints.status`).
CONVERGED = 0  # q < tol_q
STALLED = 1  # q stopped decreasing above tol_q: a slow point (local minimum of q) or a failure
MAX_STEPS = 2  # the step budget ran out first
NON_FINITE = 3  # q or the state became NaN/Inf; the last finite state is kept
STATUS_NAMES = ("converged", "stalled", "max_steps", "non_finite")

DYNAMICS = ("discrete", "continuous")


@dataclasses.dataclass(frozen=True)
class Report:
    """How a set of fixed points was found and filtered (hashable, saved with the points).

    Attributes:
        n_starts: number of starting points.
        outcome: `(status name, count)` for every start after optimisation and Newton
            polishing (converged / stalled / max_steps / non_finite).
        removed: `(rule, count)` for every filter that ran, in order.
        n_kept: number of points returned.
        tol_q: the convergence tolerance on q.
        rtol: the relative tolerance on ‖r‖ (the rounding floor: a point converged when
            q < max(tol_q, ½ rtol² ‖x‖²); 0 for reports written before it existed).
    """

    n_starts: int
    outcome: tuple[tuple[str, int], ...]
    removed: tuple[tuple[str, int], ...] = ()
    n_kept: int = 0
    tol_q: float = 0.0
    rtol: float = 0.0

    def counts(self) -> dict[str, int]:
        """`{status: count}` of the optimisation outcome."""
        return dict(self.outcome)

    def removed_by(self) -> dict[str, int]:
        """`{filter rule: number of points it removed}`."""
        return dict(self.removed)

    def to_dict(self) -> dict:
        return dict(
            n_starts=self.n_starts,
            outcome=[list(x) for x in self.outcome],
            removed=[list(x) for x in self.removed],
            n_kept=self.n_kept,
            tol_q=self.tol_q,
            rtol=self.rtol,
        )

    @classmethod
    def from_dict(cls, d: dict) -> Report:
        return cls(
            n_starts=int(d["n_starts"]),
            outcome=tuple((str(k), int(v)) for k, v in d["outcome"]),
            removed=tuple((str(k), int(v)) for k, v in d["removed"]),
            n_kept=int(d["n_kept"]),
            tol_q=float(d["tol_q"]),
            rtol=float(d.get("rtol", 0.0)),
        )

    def __str__(self) -> str:
        outcome = ", ".join(f"{v} {k}" for k, v in self.outcome)
        removed = ", ".join(f"{k}: {v}" for k, v in self.removed) or "none ran"
        return (
            f"{self.n_starts} starts → {outcome} (tol_q={self.tol_q:g}, rtol={self.rtol:.3g}); "
            f"removed by filters: {removed}; kept {self.n_kept}"
        )

    def merge(self, other: Report) -> Report:
        """The report of two searches taken together (counts added)."""

        def add(a, b):
            out = dict(a)
            for k, v in b:
                out[k] = out.get(k, 0) + v
            return tuple(out.items())

        return Report(
            self.n_starts + other.n_starts,
            add(self.outcome, other.outcome),
            add(self.removed, other.removed),
            self.n_kept + other.n_kept,
            max(self.tol_q, other.tol_q),
            max(self.rtol, other.rtol),
        )


def complex_dtype(dtype) -> np.dtype:
    return np.result_type(dtype, np.complex64)


class FixedPoints(eqx.Module):
    """Fixed points (or slow points, or period-k points) of a dynamical system, with their
    linearisation. A pytree: index it (`fps[fps.stable]`, `fps[:3]`), concatenate it
    (`fixedpoints.concatenate`), save it (`nd.save`).

    For `dynamics="discrete"` the points minimise q(x) = ½‖Fᵏ(x, u) − x‖² (F = `system.step`,
    k = `period`) and the Jacobians are ∂Fᵏ/∂x, stable when every |λ| < 1; for
    `dynamics="continuous"` they minimise q(x) = ½‖f(x, u)‖² (f = `system.vector_field`) and the
    Jacobians are ∂f/∂x, stable when every Re λ < 0. (Sussillo & Barak 2013; Golub & Sussillo
    2018.)

    Attributes:
        xstar: `[P, N]` the points.
        inputs: `[P, I]` the constant input each point was found at (I = 0: no input given).
        q: `[P]` the value of q at `xstar`.
        status: `[P]` 0 converged (q < tol_q), 1 stalled, 2 max_steps, 3 non_finite.
        initial_states: `[P, N]` where each search started.
        n_iters: `[P]` optimiser steps taken.
        min_period: `[P]` the smallest d dividing `period` with Fᵈ(x*) ≈ x* (1 for period 1).
        condition_id: `[P]` an integer label per point (by default the index of its input
            among the distinct inputs).
        jacobians: `[P, N, N]` ∂Fᵏ/∂x or ∂f/∂x at x* (None if not computed).
        input_jacobians: `[P, N, I]` ∂Fᵏ/∂u or ∂f/∂u (for period k: the input held for k steps).
        eigvals: `[P, N]` eigenvalues, least stable first (largest |λ| or largest Re λ).
        eigvecs: `[P, N, N]` right eigenvectors, `eigvecs[p, :, i]` for `eigvals[p, i]`, unit norm.
        left_eigvecs: `[P, N, N]` left eigenvectors w_i with w_iᵀ J = λ_i w_iᵀ (no complex
            conjugate), `left_eigvecs[p, :, i]`, normalised so that w_iᵀ v_j = δ_ij.
        stable: `[P]` every eigenvalue inside the unit circle (discrete) or left half-plane
            (continuous).
        n_unstable: `[P]` number of unstable modes (the saddle index).
        dynamics: "discrete" or "continuous".
        period: k for fixed points of Fᵏ.
        dt: the system's time step (ms) for discrete time constants; 1.0 if it has none.
        report: how the points were found and filtered (`Report`), or None.
    """

    xstar: Float[Array, "points states"]
    inputs: Float[Array, "points inputs"]
    q: Float[Array, " points"]
    status: Int[Array, " points"]
    initial_states: Float[Array, "points states"]
    n_iters: Int[Array, " points"]
    min_period: Int[Array, " points"]
    condition_id: Int[Array, " points"]
    jacobians: Float[Array, "points states states"] | None = None
    input_jacobians: Float[Array, "points states inputs"] | None = None
    eigvals: Complex[Array, "points states"] | None = None
    eigvecs: Complex[Array, "points states states"] | None = None
    left_eigvecs: Complex[Array, "points states states"] | None = None
    stable: Bool[Array, " points"] | None = None
    n_unstable: Int[Array, " points"] | None = None
    dynamics: str = eqx.field(static=True, default="discrete")
    period: int = eqx.field(static=True, default=1)
    dt: float = eqx.field(static=True, default=1.0)
    report: Report | None = eqx.field(static=True, default=None)

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
    def is_saddle(self) -> Bool[Array, " points"]:
        return self._need("n_unstable") > 0

    def _need(self, name):
        value = getattr(self, name)
        if value is None:
            raise ValueError(
                f"these FixedPoints have no {name}: run find(..., jacobians=True) or "
                "fixedpoints.decompose(system, fps)"
            )
        return value

    # -------------------------------------------------------------- selection
    def __getitem__(self, index) -> FixedPoints:
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

    def time_constants(self) -> Float[Array, "points states"]:
        """Time constant of every mode, in ms (or in steps for a system without `dt`).

        Discrete: τ_i = −k·dt / ln|λ_i| (k = period); continuous: τ_i = −1/Re λ_i (the units of
        the vector field's time). Negative values are growth time constants of unstable modes;
        a mode exactly on the boundary has τ = ∞.
        """
        lam = self._need("eigvals")
        with np.errstate(divide="ignore"):
            if self.dynamics == "discrete":
                return -self.period * self.dt / jnp.log(jnp.abs(lam))
            return -1.0 / jnp.real(lam)

    def distance_to_boundary(self) -> Float[Array, "points states"]:
        """|λ| − 1 (discrete) or Re λ (continuous): < 0 for stable modes."""
        lam = self._need("eigvals")
        if self.dynamics == "discrete":
            return jnp.abs(lam) - 1.0
        return jnp.real(lam)

    # ------------------------------------------------------------ save / load
    def hyperparameters(self) -> dict:
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


def skeleton(hp: dict) -> FixedPoints:
    """A `FixedPoints` of zeros with the shapes in `hp` (the `nd.load` builder)."""
    p, n, i = int(hp["n_points"]), int(hp["n_states"]), int(hp["n_inputs"])
    dtype = np.dtype(hp.get("dtype", "float32"))
    cdtype = complex_dtype(dtype)
    extra = {}
    if hp["has_jacobians"]:
        extra = dict(
            jacobians=jnp.zeros((p, n, n), dtype),
            input_jacobians=jnp.zeros((p, n, i), dtype),
            eigvals=jnp.zeros((p, n), cdtype),
            eigvecs=jnp.zeros((p, n, n), cdtype),
            left_eigvecs=jnp.zeros((p, n, n), cdtype),
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
    """Join several `FixedPoints` along the point axis (same dynamics, period, state and input
    sizes; all with Jacobians or all without). Reports are merged."""
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
