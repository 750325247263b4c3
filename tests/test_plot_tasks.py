"""Task figures: the right artists with the right data (no image comparison)."""

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Polygon, Rectangle

import neurodyn as nd


@pytest.fixture(scope="module")
def ctx_trials():
    task = nd.tasks.ContextDecisionMaking()
    return task.conditions(jax.random.key(0))  # deterministic grid, compiled once


def _spans(ax):
    return [p for p in ax.patches if isinstance(p, (Rectangle, Polygon))]


def _x_extent(patch):
    if isinstance(patch, Rectangle):  # axvspan's artist from matplotlib 3.9 on
        return patch.get_x(), patch.get_x() + patch.get_width()
    xy = np.asarray(patch.get_xy())
    return xy[:, 0].min(), xy[:, 0].max()


def test_trial_figure_artists(ctx_trials):
    trials = ctx_trials
    i = 5
    outputs = np.asarray(trials.targets) * 0.5
    axes = nd.plot.trial(trials, i, outputs)
    assert nd.plot.plot_trial is nd.plot.trial
    assert len(axes) == 3
    t = (np.arange(trials.n_steps) + 1) * trials.dt
    # One line per input, with that input's values.
    lines = axes[0].get_lines()
    assert len(lines) == trials.inputs.shape[2]
    for j, line in enumerate(lines):
        np.testing.assert_allclose(line.get_xdata(), t)
        np.testing.assert_allclose(line.get_ydata(), np.asarray(trials.inputs[i, :, j]))
    # Target (dashed) and output (solid) for the one output; its mask below.
    out_lines = axes[1].get_lines()
    assert [ln.get_linestyle() for ln in out_lines] == ["--", "-"]
    np.testing.assert_allclose(out_lines[0].get_ydata(), np.asarray(trials.targets[i, :, 0]))
    np.testing.assert_allclose(out_lines[1].get_ydata(), outputs[i, :, 0])
    mask_line = axes[2].get_lines()[0]
    np.testing.assert_allclose(mask_line.get_ydata(), np.asarray(trials.mask[i, :, 0]))
    # The five epochs shaded on every panel, spanning their times, and named on top.
    epochs = {k: np.asarray(v[i]) for k, v in trials.epochs.items()}
    for ax in axes:
        spans = _spans(ax)
        assert len(spans) == 5
        xs = sorted(tuple(map(float, _x_extent(s))) for s in spans)
        want = sorted((float(a * trials.dt), float(b * trials.dt)) for a, b in epochs.values())
        np.testing.assert_allclose(xs, want)
    assert {txt.get_text() for txt in axes[0].texts} == set(epochs)
    plt.close("all")


def test_trial_figure_without_outputs_and_bad_input(ctx_trials):
    fig, axes = plt.subplots(3, 1)
    got = nd.plot.trial(ctx_trials, -1, ax=axes, input_names=["A", "B", "ctxA", "ctxB"])
    assert got[0] is axes[0]
    assert len(axes[1].get_lines()) == 1  # only the target
    assert [ln.get_label() for ln in axes[0].get_lines()] == ["A", "B", "ctxA", "ctxB"]
    with pytest.raises(ValueError, match="i must index"):
        nd.plot.trial(ctx_trials, ctx_trials.batch_size)
    with pytest.raises(ValueError, match="i must be an integer"):
        nd.plot.trial(ctx_trials, 1.5)
    with pytest.raises(ValueError, match="outputs must have the shape"):
        nd.plot.trial(ctx_trials, 0, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="axes must be three"):
        nd.plot.trial(ctx_trials, 0, ax=axes[:2])
    plt.close("all")


def test_psychometric_figure():
    x = np.repeat([-0.2, -0.1, 0.1, 0.2], 20)
    choice = np.where(np.random.default_rng(0).random(x.size) < 0.5 + 2 * x, 1, -1)
    curve = nd.tasks.psychometric(choice, x, fit="logistic")
    ax = nd.plot.psychometric(curve)
    # Error bars on the points, the fitted curve, chance and zero guides.
    assert len(ax.containers) == 1
    pts = ax.containers[0].lines[0]
    np.testing.assert_allclose(pts.get_ydata(), curve.p_positive)
    fit_lines = [ln for ln in ax.get_lines() if "fit" in ln.get_label()]
    assert len(fit_lines) == 1
    gx, gy = fit_lines[0].get_xdata(), fit_lines[0].get_ydata()
    assert gx[0] == -0.2 and gx[-1] == 0.2
    np.testing.assert_allclose(gy, curve.fit(gx))
    # Without a fit: only the points (and the guides).
    ax2 = nd.plot.psychometric(nd.tasks.psychometric(choice, x))
    assert not [ln for ln in ax2.get_lines() if "fit" in ln.get_label()]
    plt.close("all")


def test_psychometric_figure_without_fit_joins_the_points():
    """One function for every psychometric figure (`plot_psychometric` is the same): without a
    fit the points are joined, and style keywords reach the artists."""
    assert nd.plot.plot_psychometric is nd.plot.psychometric
    curve = nd.tasks.psychometric(np.array([1, -1, 1, 1, -1, -1]), np.repeat([-0.1, 0.1, 0.2], 2))
    _, ax = plt.subplots()
    assert nd.plot.plot_psychometric(curve, ax=ax, color="C1", label="context A") is ax
    pts = ax.containers[0].lines[0]
    assert pts.get_linestyle() == "-" and pts.get_marker() == "o" and pts.get_color() == "C1"
    np.testing.assert_allclose(pts.get_xdata(), curve.values)
    np.testing.assert_allclose(pts.get_ydata(), curve.p_positive)
    assert ax.containers[0].get_label() == "context A"
    plt.close("all")
