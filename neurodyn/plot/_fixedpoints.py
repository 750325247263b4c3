"""Figures of fixed-point analyses (`neurodyn.fixedpoints`). They draw results; the numbers
(projections, flow grids, manifolds) come from `neurodyn.fixedpoints`."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .._typing import ArrayLike, Float, Points
from ..fixedpoints import FixedPoints, FlowField, Projection, UnstableManifolds, pca
from ..models import Rollout


def _axes(ax: Axes | None, projection: str | None = None,
          size: tuple[float, float] = (4.5, 4)) -> Axes:
    if ax is None:
        fig = plt.figure(figsize=size, layout="constrained")
        ax = fig.add_subplot(projection=projection)
    return ax


def _coords(points: Points, proj: Projection) -> list[np.ndarray]:
    y = proj(points)
    return [y[..., i] for i in range(y.shape[-1])]


def plot_fixed_points(
    fps: FixedPoints,
    trajectories: Float[ArrayLike, "*batch time states"] | Rollout | None = None,
    *,
    projection: Projection | None = None,
    manifolds: UnstableManifolds | None = None,
    ax: Axes | None = None,
    mode_length: float = 1.0,
    max_trajectories: int = 50,
    **style: Any,
) -> Axes:
    """Fixed points and trajectories in their top principal components.

    Fixed points in the top principal components of `trajectories` (`[B, T, N]` or a
    `Rollout`), drawn behind in grey: stable points filled, unstable hollow, each unstable mode
    as a line of half-length `mode_length` (state units) through its point; optionally the
    unstable manifolds. The axes come from `projection` (default `fixedpoints.pca` of the
    trajectories, or of the points). Three components give a 3-D plot, fewer a 2-D one."""
    if not isinstance(fps, FixedPoints):
        raise ValueError(f"fps must be FixedPoints, got {type(fps).__name__}")
    states = None if trajectories is None else np.asarray(
        getattr(trajectories, "states", trajectories)
    )
    if projection is None:
        source = states if states is not None else np.asarray(fps.xstar)
        projection = pca(source, 3) if source.reshape(-1, source.shape[-1]).shape[0] > 1 else (
            Projection(np.zeros(fps.n_states), np.eye(fps.n_states)[:3], np.ones(1))
        )
    k = projection.components.shape[0]
    ax = _axes(ax, "3d" if k >= 3 else None)
    if states is not None:
        trajs = states.reshape((-1,) + states.shape[-2:])[:max_trajectories]
        for traj in trajs:
            ax.plot(*_coords(traj, projection), color=style.get("traj_color", "0.75"), lw=0.6,
                    zorder=1)
    if manifolds is not None:
        for branch in np.asarray(manifolds.trajectories).reshape(
            (-1,) + manifolds.trajectories.shape[-2:]
        ):
            ax.plot(*_coords(branch, projection), color=style.get("manifold_color", "C1"),
                    lw=1.0, zorder=2)
    x = np.asarray(fps.xstar)
    stable = np.asarray(fps.stable) if fps.stable is not None else np.zeros(len(x), bool)
    color = style.get("color", "k")
    ms = style.get("markersize", 30)
    depth = {"depthshade": False} if k >= 3 else {}
    if stable.any():
        ax.scatter(*_coords(x[stable], projection), s=ms, c=color, label="stable", zorder=4,
                   **depth)
    if (~stable).any():
        ax.scatter(*_coords(x[~stable], projection), s=ms, facecolors="white",
                   edgecolors=color, label="unstable", zorder=4, **depth)
    if fps.n_unstable is not None and mode_length > 0:
        n_unst = np.asarray(fps.n_unstable)
        vecs = np.real(np.asarray(fps.eigenvectors))
        for p in np.flatnonzero(n_unst > 0):
            for i in range(n_unst[p]):
                v = vecs[p, :, i] / (np.linalg.norm(vecs[p, :, i]) or 1.0)
                seg = np.stack([x[p] - mode_length * v, x[p] + mode_length * v])
                ax.plot(*_coords(seg, projection), color=style.get("mode_color", "C3"),
                        lw=1.0, zorder=3)
    labels = [f"PC{i + 1}" for i in range(k)]
    ax.set_xlabel(labels[0])
    if k > 1:
        ax.set_ylabel(labels[1])
    if k > 2:
        ax.set_zlabel(labels[2])
    ax.legend(frameon=False, loc="upper left")
    return ax


def plot_eigenvalues(fps: FixedPoints, index: int | ArrayLike | None = None,
                     ax: Axes | None = None, **style: Any) -> Axes:
    """Eigenvalues of the Jacobians at fixed points in the complex plane.

    The points are `index` (default all); the plot shows the unit circle (discrete time) or the
    imaginary axis (continuous time)."""
    if not isinstance(fps, FixedPoints) or fps.eigenvalues is None:
        raise ValueError("plot_eigenvalues needs FixedPoints with eigenvalues (jacobians=True)")
    ax = _axes(ax, size=(4, 4))
    lam = np.asarray(fps.eigenvalues)
    lam = lam if index is None else lam[np.atleast_1d(index)]
    if fps.dynamics == "discrete":
        t = np.linspace(0, 2 * np.pi, 361)
        ax.plot(np.cos(t), np.sin(t), color="0.6", lw=0.8, ls="--")
        ax.set_aspect("equal")
    else:
        ax.axvline(0.0, color="0.6", lw=0.8, ls="--")
    ax.scatter(lam.real.ravel(), lam.imag.ravel(), s=style.get("markersize", 12),
               c=style.get("color", "C0"), alpha=style.get("alpha", 0.7))
    ax.axhline(0.0, color="0.85", lw=0.5)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    return ax


def plot_flow_2d(flow: FlowField, fps: FixedPoints | None = None, ax: Axes | None = None,
                 **style: Any) -> Axes:
    """A 2-D flow field: streamlines coloured by speed, nullclines and fixed points.

    `flow` comes from `fixedpoints.flow_2d` or `flow_field`. The nullclines are dx = 0 and
    dy = 0; the fixed points are `fps` (default: those the flow carries, if any): stable filled,
    saddles hollow circles, sources (every mode unstable) hollow triangles."""
    if not isinstance(flow, FlowField):
        raise ValueError(f"flow must be a FlowField from fixedpoints.flow_field, got "
                         f"{type(flow)}")
    if fps is None and isinstance(getattr(flow, "fixed_points", None), FixedPoints):
        fps = flow.fixed_points
    ax = _axes(ax, size=(4.5, 4))
    speed = np.hypot(flow.dx, flow.dy)
    ax.streamplot(flow.x, flow.y, flow.dx, flow.dy, color=speed, cmap=style.get("cmap", "Greys"),
                  density=style.get("density", 1.0), linewidth=0.7, arrowsize=0.8)
    ax.contour(flow.x, flow.y, flow.dx, levels=[0.0], colors=style.get("x_color", "C0"),
               linewidths=1.2)
    ax.contour(flow.x, flow.y, flow.dy, levels=[0.0], colors=style.get("y_color", "C1"),
               linewidths=1.2)
    if fps is not None and fps.n_points:
        x = np.asarray(fps.xstar)
        stable = np.asarray(fps.stable) if fps.stable is not None else np.zeros(len(x), bool)
        # saddles (some modes unstable, some not) apart from fully unstable points (sources)
        n_unst = (np.asarray(fps.n_unstable) if fps.n_unstable is not None
                  else np.full(len(x), x.shape[1]))
        saddle = ~stable & (n_unst < x.shape[1])
        kinds = (("stable", stable, dict(c="k")),
                 ("saddle", saddle, dict(facecolors="white", edgecolors="k")),
                 ("unstable", ~stable & ~saddle, dict(facecolors="white", edgecolors="k",
                                                      marker="^")))
        for label, sel, look in kinds:
            if sel.any():
                ax.scatter(x[sel, 0], x[sel, 1], s=40, zorder=4, label=label, **look)
        ax.legend(frameon=False, loc="upper right")
    ax.set_xlim(flow.x.min(), flow.x.max())
    ax.set_ylim(flow.y.min(), flow.y.max())
    ax.set_xlabel(style.get("xlabel", "x₁"))
    ax.set_ylabel(style.get("ylabel", "x₂"))
    return ax
