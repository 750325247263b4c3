"""Flow fields (computed in lowrank, drawn in plot) and loading pair plots."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import neurodyn.plot as ndplot
from neurodyn import lowrank as lr


def rank_two_mixture():
    """Two modes with overlaps 2 and 1.6, coupled only through the shared gain ⟨φ'⟩: the
    stronger wins (±κ1 stable), ±κ2 are saddles, the origin a source."""
    cov = np.eye(5)
    cov[0, 2] = cov[2, 0] = 2.0
    cov[1, 3] = cov[3, 1] = 1.6
    cov[2, 2], cov[3, 3] = 5.0, 3.0
    return lr.mixture([1.0], [np.zeros(5)], [cov], rank=2, n_inputs=1, noise_std=0.0)


def test_flow_field_rank_two():
    mix = rank_two_mixture()
    flow = lr.flow_field(mix, u=np.array([0.0]), resolution=15)
    assert flow.labels == ("κ1", "κ2") and flow.x.shape == (15, 15)
    assert flow.kinds == ("stable", "saddle", "unstable", "saddle", "stable")
    np.testing.assert_allclose(flow.points[[1, 3], 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(flow.points[[0, 4], 1], 0.0, atol=1e-6)
    # The grid holds the system's own vector field.
    system = lr.meanfield.dynamics(mix)
    s = jnp.array([flow.x[3, 7], flow.y[3, 7], 0.0], jnp.float32)
    v = system.vector_field(s, jnp.zeros(1))
    np.testing.assert_allclose([flow.dx[3, 7], flow.dy[3, 7]], v[:2], rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(flow.speed, np.hypot(flow.dx, flow.dy))
    # A constant input along a vector correlated with n1 shifts the plane: one state is left.
    cov = np.asarray(mix.covariances[0]).copy()
    cov[2, 4] = cov[4, 2] = 0.8
    tilted = lr.mixture([1.0], [np.zeros(5)], [cov], rank=2, n_inputs=1)
    shifted = lr.flow_field(tilted, u=np.array([1.0]), resolution=15)
    assert shifted.kinds == ("stable",) and shifted.points[0, 0] > 1.0
    ax = ndplot.plot_flow_field(flow)
    assert ax.get_xlabel() == "κ1"
    plt.close("all")


def test_flow_field_rank_one_with_input_from_a_network():
    mix = lr.mixture([1.0], [np.zeros(3)], [np.array([[1.0, 1.5, 0.3], [1.5, 4.0, 0.5],
                                                      [0.3, 0.5, 1.0]])], rank=1, n_inputs=1)
    net = lr.resample(mix, 500, key=jax.random.key(0))
    flow = lr.flow_field(lr.latent(net), u=np.array([0.3]), resolution=12)
    assert flow.labels == ("κ1", "v1")
    # Every fixed point sits on the line v = u.
    np.testing.assert_allclose(flow.points[:, 1], 0.3, atol=1e-6)
    assert "stable" in flow.kinds
    _, ax = plt.subplots()
    assert ndplot.plot_flow_field(flow, ax=ax, colorbar=False) is ax
    plt.close("all")


def test_loadings_pair_plot_and_rank_accuracy_plot():
    mix = lr.mixture([0.5, 0.5], [[1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]],
                     [0.2 * np.eye(3)] * 2, rank=1, n_inputs=1)
    net, labels = lr.resample_labelled(mix, 200, key=jax.random.key(1))
    axes = ndplot.plot_loadings(lr.loadings(net), labels)
    assert axes.shape == (3, 3) and axes[2, 0].get_xlabel() == "m1"
    axes = ndplot.plot_loadings(lr.loadings(net), columns=["m1", "n1"])
    assert axes.shape == (2, 2)
    with pytest.raises(ValueError, match="unknown loading"):
        ndplot.plot_loadings(lr.loadings(net), columns=["m9"])
    ax = ndplot.plot_rank_accuracy({"ranks": np.arange(1, 5),
                                    "accuracy": np.array([0.5, 0.7, 0.9, 1.0])}, threshold=0.95)
    assert ax.get_xlabel() == "rank"
    plt.close("all")


def test_flow_field_bad_input():
    rank_one_no_input = lr.mixture([1.0], [[0.0, 0.0]], [np.eye(2)], rank=1)
    with pytest.raises(ValueError, match="rank-2"):
        lr.flow_field(rank_one_no_input)
    with pytest.raises(ValueError, match="u must be"):
        lr.flow_field(rank_two_mixture(), u=np.zeros(3))
    with pytest.raises(ValueError, match="xlim"):
        lr.flow_field(rank_two_mixture(), xlim=(1.0, -1.0))
