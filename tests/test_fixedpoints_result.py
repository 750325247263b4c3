"""The `FixedPoints` vocabulary: point statuses as an `eqx.Enumeration`, the field names
`eigenvalues` / `eigenvectors` / `left_eigenvectors` (the old `eig*` names as deprecated aliases,
old checkpoints still loading), and `time_constants` / `distance_to_boundary` as properties."""

import dataclasses
import importlib.util
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import fixedpoints as fp
from neurodyn.fixedpoints._result import Status

DATA = Path(__file__).with_name("data")


def _old_values() -> dict:
    spec = importlib.util.spec_from_file_location("make_fixedpoints",
                                                  DATA / "make_fixedpoints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.values()


def _points(status, lam=None, dynamics="discrete", dt=1.0) -> fp.FixedPoints:
    p = len(status)
    extra = {}
    if lam is not None:
        lam = jnp.asarray(lam, jnp.complex64)
        n = lam.shape[1]
        extra = dict(eigenvalues=lam, eigenvectors=jnp.zeros((p, n, n), jnp.complex64),
                     left_eigenvectors=jnp.zeros((p, n, n), jnp.complex64))
    n = 2 if lam is None else lam.shape[1]
    return fp.FixedPoints(
        xstar=jnp.zeros((p, n)), inputs=jnp.zeros((p, 0)), q=jnp.zeros(p),
        status=jnp.asarray(status, jnp.int32), initial_states=jnp.zeros((p, n)),
        n_iters=jnp.zeros(p, jnp.int32), min_period=jnp.ones(p, jnp.int32),
        condition_id=jnp.zeros(p, jnp.int32), dynamics=dynamics, dt=dt, **extra,
    )


def test_status_is_an_enumeration_with_the_optimiser_codes():
    assert issubclass(Status, eqx.Enumeration) and len(Status) == 4
    codes = [fp.CONVERGED, fp.STALLED, fp.MAX_STEPS, fp.NON_FINITE]
    assert codes == [0, 1, 2, 3]
    fps = _points(codes + [fp.STALLED])
    for code, name in zip(codes, fp.STATUS_NAMES):
        item = getattr(Status, name)
        np.testing.assert_array_equal(fps.result == item, np.asarray(fps.status) == code)
    np.testing.assert_array_equal(fps.result == Status.converged, fps.converged)
    # the message of a point's status (equinox >= 0.13 gives it as the str of a name array)
    assert Status[Status.stalled].startswith("q stopped decreasing")
    assert Status[fps[1].result] in (Status[Status.stalled],
                                     str(np.array([Status[Status.stalled]])))
    # indexing and jit keep the enumeration
    np.testing.assert_array_equal(fps[np.array([4, 0])].result == Status.stalled, [True, False])
    stalled = jax.jit(lambda f: f.result == Status.stalled)(fps)
    np.testing.assert_array_equal(stalled, [False, True, False, False, True])
    assert (_points([]).result == Status.converged).shape == (0,)
    assert not hasattr(fps, "is_saddle")


def test_time_constants_and_distance_to_boundary_are_properties():
    lam = [[0.5, -0.25], [2.0, 1.0]]
    fps = _points([0, 0], lam, dt=20.0)
    with np.errstate(divide="ignore"):  # |λ| = 1: τ = ∞
        expected = -20.0 / np.log(np.abs(lam))
    np.testing.assert_allclose(fps.time_constants, expected, rtol=1e-6)
    np.testing.assert_allclose(fps.distance_to_boundary, np.abs(lam) - 1.0, rtol=1e-6)
    cont = _points([0], [[-0.5 + 1j, 0.25]], dynamics="continuous")
    np.testing.assert_allclose(cont.time_constants, [[2.0, -4.0]], rtol=1e-6)
    np.testing.assert_allclose(cont.distance_to_boundary, [[-0.5, 0.25]], rtol=1e-6)
    with pytest.raises(ValueError, match="no eigenvalues"):
        _points([0]).time_constants


def test_old_eigen_names_are_deprecated_aliases():
    fps = _points([0, 1], [[0.5, 0.1], [1.5, 0.2]])
    for old, new in (("eigvals", "eigenvalues"), ("eigvecs", "eigenvectors"),
                     ("left_eigvecs", "left_eigenvectors")):
        with pytest.warns(DeprecationWarning, match=f"FixedPoints.{old} is deprecated"):
            assert getattr(fps, old) is getattr(fps, new)
    # as constructor (and so dataclasses.replace) keywords too
    lam = jnp.full((2, 2), 0.3 + 0j, jnp.complex64)
    with pytest.warns(DeprecationWarning, match=r"FixedPoints\(eigvals=...\) is deprecated"):
        other = dataclasses.replace(fps, eigvals=lam)
    assert other.eigenvalues is lam and other.eigenvectors is fps.eigenvectors
    with pytest.raises(TypeError, match="unexpected keyword"):
        dataclasses.replace(fps, eigen_values=lam)


def test_a_checkpoint_with_the_old_field_names_loads(tmp_path):
    """`fixedpoints_eigvals.eqx` was saved by neurodyn 0.1.0 (fields `eigvals`, `eigvecs`,
    `left_eigvecs`): the leaves are stored in field order, so it loads into the new names."""
    back = nd.load(DATA / "fixedpoints_eigvals.eqx")
    old = _old_values()
    renamed = {"eigvals": "eigenvalues", "eigvecs": "eigenvectors",
               "left_eigvecs": "left_eigenvectors"}
    for name, value in old.items():
        np.testing.assert_array_equal(getattr(back, renamed.get(name, name)), value)
    np.testing.assert_array_equal(back.result == Status.non_finite, [False, False, True])
    again = nd.load(nd.save(tmp_path / "again.eqx", back))
    np.testing.assert_array_equal(again.eigenvalues, old["eigvals"])


def test_manifold_summaries_use_the_new_names():
    net = nd.models.LowRankRNN(20, 1, 1, 1, noise_std=0.0, key=jax.random.key(0))
    net = eqx.tree_at(lambda m: m.n, net, 3.0 * net.m)  # overlap 3: two stable points, a saddle
    x0 = jnp.linspace(-3, 3, 9)[:, None] * net.m[:, 0][None, :]
    fps = fp.find(net, x0, jacobians=True, progress=False)
    man = fp.unstable_manifolds(net, fps, n_steps=20)
    line = fp.line_attractor(fps)
    assert fps.n_points == 3 and man.saddle.size == 1
    with pytest.warns(DeprecationWarning, match="UnstableManifolds.eigval is deprecated"):
        assert man.eigval is man.eigenvalue
    with pytest.warns(DeprecationWarning, match="LineAttractor.slow_eigval is deprecated"):
        assert line.slow_eigval is line.slow_eigenvalue
    np.testing.assert_allclose(np.abs(man.eigenvalue), np.abs(
        np.asarray(fps.eigenvalues)[man.saddle, man.mode]))
