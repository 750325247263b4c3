"""What every figure function in `neurodyn.plot` promises: it takes `ax=` (default None, a new
figure) and draws into the Axes it is given, returning them. Each public function is called on
a small result built here; a new plot function without a case here fails the test."""

import inspect
import warnings

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest
from toysystems import Bistable2D

import neurodyn as nd
from neurodyn import fixedpoints as fp, lowrank as lr
from neurodyn.dpad import SearchResult

PUBLIC = sorted(
    name for name in dir(nd.plot)
    if not name.startswith("_") and inspect.isfunction(getattr(nd.plot, name))
)


def _points() -> fp.FixedPoints:
    """Three points of a 3-state system: one stable, a saddle, a source."""
    lam = jnp.array([[0.5, 0.4, 0.3], [1.5, 0.5, 0.2], [1.2, 1.1, 1.05]], jnp.complex64)
    eye = jnp.broadcast_to(jnp.eye(3, dtype=jnp.complex64), (3, 3, 3))
    x = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 0.0]])
    return fp.FixedPoints(
        xstar=x, inputs=jnp.zeros((3, 0)), q=jnp.zeros(3), status=jnp.zeros(3, jnp.int32),
        initial_states=x, n_iters=jnp.zeros(3, jnp.int32), min_period=jnp.ones(3, jnp.int32),
        condition_id=jnp.zeros(3, jnp.int32), eigenvalues=lam, eigenvectors=eye,
        left_eigenvectors=eye, stable=jnp.array([True, False, False]),
        n_unstable=jnp.array([0, 1, 3], jnp.int32),
    )


def _flow() -> fp.FlowField:
    system = Bistable2D()
    fps = fp.find(system, jnp.array([[0.9, 0.1], [0.1, 0.1], [-0.9, 0.1]]),
                  dynamics="continuous", jacobians=True, progress=False)
    return fp.flow_field(system, xlim=(-2, 2), ylim=(-2, 2), fixed_points=fps,
                         dynamics="continuous", resolution=9)


def _mixture():
    cov = np.eye(5)
    cov[0, 2] = cov[2, 0] = 2.0
    cov[1, 3] = cov[3, 1] = 1.6
    cov[2, 2], cov[3, 3] = 5.0, 3.0
    return lr.mixture([1.0], [np.zeros(5)], [cov], rank=2, n_inputs=1, noise_std=0.0)


def _history():
    steps = np.arange(1, 21)
    return nd.train.History(
        loss=1.0 / steps, eval_step=np.array([10, 20]), val_loss=np.array([0.2, 0.1]),
        val_accuracy=np.array([0.6, 0.8]), best_step=np.array(20),
        stop_reason=np.array("completed"), config={},
    )


def _trials():
    task = nd.tasks.make("PerceptualDecisionMaking", preset="dubreuil2022")
    return task.sample(jax.random.key(0), 4)


def _curve():
    condition = np.repeat([-0.2, -0.1, 0.1, 0.2], 20)
    choice = np.where(np.random.default_rng(0).random(80) < 0.5 + 2 * condition, 1, -1)
    return nd.tasks.psychometric(choice, condition, fit="logistic")


def _rows():
    return [dict(status="ok", rank=r, task=t, accuracy=0.5 + 0.1 * r + 0.01 * s)
            for r in (1, 2) for t in "ab" for s in range(3)]


def _one():
    return plt.subplots()[1]


def _grid(rows, cols, **kw):
    return np.asarray(plt.subplots(rows, cols, squeeze=False, **kw)[1])


z = np.random.default_rng(1).standard_normal((50, 2))
traj = np.random.default_rng(2).standard_normal((2, 30, 3))

# name -> (make the Axes, call the function on them)
CASES = {
    "plot_conditions": (_one, lambda ax: nd.plot.plot_conditions(nd.data.Recording(
        y=np.ones((2, 5, 3)), rate=50.0, conditions={"c": [0.1, -0.1]}), condition="c", ax=ax)),
    "plot_raster": (_one, lambda ax: nd.plot.plot_raster([[0.1, 0.5], [0.3]], ax=ax,
                                                         trials=nd.data.TrialTable([0.0], [0.4]))),
    "plot_activity_ranks": (_one, lambda ax: nd.plot.plot_activity_ranks(lr.ActivityRankSweep(
        np.arange(1, 4), np.array([.5, .9, .92]), np.array([.4, .88, .89]), 2, 0.01, (),
        np.arange(8), np.arange(8, 10)), ceiling=0.9, ax=ax)),
    "plot_distance_matrix": (_one, lambda ax: nd.plot.plot_distance_matrix(
        np.array([[0.0, 0.3], [0.3, 0.0]]), labels=["a", "b"], ax=ax)),
    "plot_topology": (_one, lambda ax: nd.plot.plot_topology(nd.compare.Topology(
        np.array([0, 0, 1]), np.array([[2, 0], [2, 1]]), np.array([[-1.0], [1.0], [0.0]])),
        ax=ax)),
    "plot_eigenvalues": (_one, lambda ax: nd.plot.plot_eigenvalues(_points(), ax=ax)),
    "plot_fixed_points": (_one, lambda ax: nd.plot.plot_fixed_points(
        _points(), traj, projection=fp.pca(traj, 2), ax=ax)),
    "plot_flow_2d": (_one, lambda ax: nd.plot.plot_flow_2d(_flow(), ax=ax)),
    "plot_flow_field": (_one, lambda ax: nd.plot.plot_flow_field(_flow(), ax=ax)),
    "plot_latents": (_one, lambda ax: nd.plot.plot_latents([z, 2 * z], ax=ax)),
    "plot_loadings": (lambda: _grid(2, 2), lambda ax: nd.plot.plot_loadings(
        lr.loadings(lr.resample(_mixture(), 60, key=jax.random.key(0))), columns=["m1", "n1"],
        ax=ax)),
    "plot_loss": (_one, lambda ax: nd.plot.plot_loss(_history(), ax=ax)),
    "plot_model_comparison": (_one, lambda ax: nd.plot.plot_model_comparison(
        {"PSID": 0.3, "DPAD": 0.5}, ax=ax)),
    "plot_prediction": (_one, lambda ax: nd.plot.plot_prediction(z, z + 0.1, ax=ax)),
    "plot_psychometric": (_one, lambda ax: nd.plot.plot_psychometric(_curve(), ax=ax)),
    "plot_rank_accuracy": (_one, lambda ax: nd.plot.plot_rank_accuracy(
        {"ranks": np.arange(1, 4), "accuracy": np.array([0.5, 0.8, 1.0])}, ax=ax)),
    "plot_search": (_one, lambda ax: nd.plot.plot_search(SearchResult(
        model=None, chosen="Cz", table=[{"nonlinear": "none", "cc": 0.3},
                                        {"nonlinear": "Cz", "cc": 0.5}]), ax=ax)),
    "plot_sweep": (_one, lambda ax: nd.plot.plot_sweep(_rows(), "rank", group=["task"],
                                                       ax=ax)),
    "plot_trial": (lambda: _grid(3, 1, sharex=True), lambda ax: nd.plot.plot_trial(
        _trials(), 0, ax=ax)),
    "psychometric": (_one, lambda ax: nd.plot.psychometric(_curve(), ax=ax)),
    "trial": (lambda: _grid(3, 1, sharex=True), lambda ax: nd.plot.trial(_trials(), 0, ax=ax)),
}


def _drawn(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches or ax.images or ax.containers)


def test_every_public_plot_function_has_a_case_and_takes_ax():
    assert PUBLIC and sorted(CASES) == PUBLIC
    for name in PUBLIC:
        params = inspect.signature(getattr(nd.plot, name)).parameters
        assert "ax" in params, f"plot.{name} takes no ax="
        assert params["ax"].default is None, f"plot.{name}: ax= must default to None"


@pytest.mark.parametrize("name", sorted(CASES))
def test_draws_into_the_axes_it_is_given(name):
    plt.close("all")
    make, call = CASES[name]
    given = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # no deprecated path on the way
        out = call(given)
    if isinstance(given, np.ndarray):  # a grid of Axes: the same ones back, every one used
        out = np.asarray(out)
        assert out.size == given.size and all(a is b for a, b in zip(out.flat, given.flat))
        assert all(_drawn(a) for a in given.flat)
    else:
        assert out is given and _drawn(given)
    assert len(plt.get_fignums()) == 1  # no figure of its own
    plt.close("all")


def test_old_axes_keyword_of_plot_loadings_still_works():
    loadings = lr.loadings(lr.resample(_mixture(), 60, key=jax.random.key(0)))
    given = _grid(2, 2)
    with pytest.warns(DeprecationWarning, match="plot_loadings\\(axes=...\\) is deprecated"):
        out = nd.plot.plot_loadings(loadings, columns=["m1", "n1"], axes=given)
    assert all(a is b for a, b in zip(out.flat, given.flat))
    with pytest.raises(TypeError, match="not both"):
        nd.plot.plot_loadings(loadings, columns=["m1", "n1"], ax=given, axes=given)
    with pytest.raises(ValueError, match="2 × 2 Axes"):
        nd.plot.plot_loadings(loadings, columns=["m1", "n1"], ax=_grid(1, 3))
    plt.close("all")


def test_plot_sweep_means_over_seeds():
    ax = nd.plot.plot_sweep(_rows() + [dict(status="failed", rank=3, task="a", accuracy=None)],
                            "rank", group=["task"], ax=_one())
    assert len(ax.containers) == 2  # one line per task; the failed run is left out
    x, y = ax.containers[0].lines[0].get_data()
    np.testing.assert_allclose(np.asarray(x, float), [1, 2])
    np.testing.assert_allclose(np.asarray(y, float), [0.61, 0.71])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["task=a", "task=b"]
    with pytest.warns(DeprecationWarning):
        assert nd.experiment.plot_sweep(_rows(), "rank").get_xlabel() == "rank"
    plt.close("all")
