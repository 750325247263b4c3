"""Dynamical Similarity Analysis (Ostrow et al. 2023): the delay embedding and HAVOK operator
against NumPy references, the minimum over O(n) against known answers and a brute-force search,
and the paper's point reproduced small: DSA sees through a smooth deformation of a line
attractor and tells it from a point attractor with alike trajectories; Procrustes on the states
says the opposite."""

import numpy as np
import pytest
from badinput import assert_clear_error

import neurodyn as nd
from neurodyn import compare

RNG = np.random.default_rng(1)
# One number of optimiser steps (and the default angular metric, Cayley map) throughout: each
# distinct setting is one more compilation.
STEPS = 600


def _run(a, x0, n_steps):
    xs = [x0]
    for _ in range(n_steps - 1):
        xs.append(xs[-1] @ a.T)
    return np.stack(xs, axis=1)            # [conditions, time, states]


def test_hankel_rows_are_delayed_states():
    x = RNG.normal(size=(3, 12, 2))
    h = np.asarray(compare.hankel(x, 3, delay_interval=2))
    assert h.shape == (3, 12 - 4, 6)
    for c in range(3):
        for i, t in enumerate(range(4, 12)):
            want = np.concatenate([x[c, t], x[c, t - 2], x[c, t - 4]])
            np.testing.assert_allclose(h[c, i], want, rtol=1e-6)
    assert compare.hankel(x[0], 2).shape == (11, 4)


def test_havok_matches_numpy_and_recovers_the_eigenvalues_of_a_linear_system():
    a = np.array([[0.9, -0.3], [0.2, 0.8]])
    x = _run(a, RNG.normal(size=(5, 2)), 20) @ RNG.normal(size=(2, 6))   # 6 units
    fit = compare.havok(x, n_delays=2, rank=2)
    # NumPy reference: SVD of the stacked Hankel matrix, regression within each condition
    h = np.concatenate([x[:, 1:], x[:, :-1]], axis=-1)
    v = np.linalg.svd(h.reshape(-1, 12), full_matrices=False)[0][:, :2].reshape(5, 19, 2)
    before, after = v[:, :-1].reshape(-1, 2), v[:, 1:].reshape(-1, 2)
    want = np.linalg.lstsq(before, after, rcond=None)[0].T
    lam = np.sort_complex(np.linalg.eigvals(np.asarray(fit.operator, np.float64)))
    np.testing.assert_allclose(lam, np.sort_complex(np.linalg.eigvals(want)), atol=1e-4)
    # the embedding of a linear system evolves linearly: same eigenvalues as a
    np.testing.assert_allclose(lam, np.sort_complex(np.linalg.eigvals(a)), atol=1e-4)


@pytest.mark.parametrize("det", [1.0, -1.0])
def test_vector_field_distance_is_zero_for_orthogonally_similar_operators(det):
    a = RNG.normal(size=(6, 6))
    q = np.linalg.qr(RNG.normal(size=(6, 6)))[0]
    q[:, 0] *= det * np.sign(np.linalg.det(q))
    res = compare.vector_field_distance(a, 3.0 * q @ a @ q.T, steps=STEPS)  # scale: normalised
    assert float(res.distance) < 2e-3
    c = np.asarray(res.transform, np.float64)
    np.testing.assert_allclose(c @ c.T, np.eye(6), atol=1e-4)
    np.testing.assert_allclose(c @ (q @ a @ q.T) @ c.T, a, atol=1e-2 * np.abs(a).max())


@pytest.mark.slow
def test_matrix_exponential_map_and_euclidean_metric():
    a = RNG.normal(size=(5, 5))
    q = np.linalg.qr(RNG.normal(size=(5, 5)))[0]
    res = compare.vector_field_distance(a, q @ a @ q.T, metric="euclidean", steps=STEPS,
                                        parametrization="expm")
    assert float(res.distance) < 2e-3


def test_vector_field_distance_finds_the_minimum_of_a_brute_force_search():
    """In 2-D, O(2) is rotations and reflections by one angle: a grid search is exact enough."""
    a, b = RNG.normal(size=(2, 2)), RNG.normal(size=(2, 2))
    an, bn = a / np.linalg.norm(a), b / np.linalg.norm(b)
    phi = np.linspace(0, 2 * np.pi, 20001)
    cos, sin = np.cos(phi), np.sin(phi)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)   # [K, 2, 2]
    group = np.concatenate([rot, rot @ np.diag([1.0, -1.0])])                # all of O(2)
    fitted = group @ bn @ np.swapaxes(group, -1, -2)
    best = np.arccos(np.clip(np.sum(an * fitted, axis=(-2, -1)), -1, 1)).min()
    res = compare.vector_field_distance(a, b, steps=STEPS)
    assert float(res.distance) == pytest.approx(best, abs=1e-3)
    assert best > 0.05                                 # not a trivially similar pair


@pytest.fixture(scope="module")
def attractors():
    """A line attractor, the same under a smooth nonlinear deformation (a diffeomorphism of the
    plane, then embedded in 10 units), and a point attractor with alike trajectories."""
    x0 = RNG.uniform(-1, 1, size=(20, 2))
    line = _run(np.diag([1.0, 0.5]), x0, 8)
    point = _run(np.diag([0.85, 0.5]), x0, 8)
    embed = np.linalg.qr(RNG.normal(size=(10, 2)))[0].T           # [2, 10] orthonormal rows
    w = line * np.array([0.25, 4.0])
    deformed = (w + 0.1 * np.tanh(2.0 * w)) @ embed
    return line @ embed, deformed, point @ embed


def test_dsa_sees_dynamics_where_procrustes_sees_geometry(attractors):
    line, deformed, point = attractors
    kw = dict(n_delays=1, rank=2, steps=STEPS)
    dsa_same = float(compare.dsa(line, deformed, **kw))
    dsa_other = float(compare.dsa(line, point, **kw))
    assert dsa_same < 0.03 and dsa_same < 0.4 * dsa_other
    proc_same = float(compare.procrustes(line, deformed))
    proc_other = float(compare.procrustes(line, point))
    assert proc_same > 2.0 * proc_other                 # the opposite verdict


def test_dsa_matrix_is_symmetric_and_matches_pairwise_calls(attractors):
    line, deformed, point = attractors
    sets = [line, deformed, point, line[:, :, :7]]      # the last has 7 units
    kw = dict(n_delays=2, rank=2, steps=STEPS)
    res = compare.dsa_matrix(sets, batch_size=1, progress=False, **kw)   # one compiled size
    d = np.asarray(res.distances)
    assert d.shape == (4, 4) and res.operators.shape == (4, 2, 2)
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0.0)
    assert d[0, 3] < 2e-3                                # same system, a subset of its units
    assert d[0, 2] == pytest.approx(float(compare.dsa(line, point, **kw)), abs=1e-5)
    with pytest.raises(ValueError, match="rank"):
        compare.dsa_matrix(sets, n_delays=2, progress=False)


def test_against_the_reference_implementation_dsa_metric():
    """The authors' `dsa-metric` package (import name DSA), on a tiny case, same settings: rank 2
    operators of 2-D linear systems (well posed; with a rank above the data's, the extra mode is
    fitted to rounding noise and the two implementations fit different noise)."""
    DSA = pytest.importorskip("DSA")
    sets = [_run(a, RNG.normal(size=(4, 2)), 15) @ RNG.normal(size=(2, 4)) for a in (
        np.array([[0.9, -0.3], [0.3, 0.9]]), np.array([[0.95, 0.0], [0.0, 0.6]]),
        np.array([[0.8, -0.5], [0.4, 0.7]]))]
    ref = DSA.DSA([s.astype(np.float32) for s in sets], n_delays=2, rank=2, lamb=0.0,
                  score_method="angular", iters=STEPS, lr=1e-2)
    want = np.asarray(ref.fit_score(), np.float64)
    got = np.asarray(compare.dsa_matrix(sets, n_delays=2, rank=2, steps=STEPS,
                                        learning_rate=1e-2, progress=False).distances)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(got[off], want[off], atol=2e-2)


def test_bad_inputs_name_the_argument():
    x = RNG.normal(size=(2, 10, 3))
    for name, call in [
        ("n_delays", lambda: compare.hankel(x, 0)),
        ("n_delays", lambda: compare.hankel(x, 20)),
        ("delay_interval", lambda: compare.havok(x, delay_interval=1.5)),
        ("rank", lambda: compare.havok(x, rank=100)),
        ("ridge", lambda: compare.havok(x, ridge=-1.0)),
        ("x", lambda: compare.havok(np.zeros(4))),
        ("a", lambda: compare.vector_field_distance(np.zeros((2, 3)), np.zeros((2, 3)))),
        ("a and b", lambda: compare.vector_field_distance(np.eye(2), np.eye(3))),
        ("steps", lambda: compare.vector_field_distance(np.eye(2), np.eye(2), steps=0)),
        ("learning_rate",
         lambda: compare.vector_field_distance(np.eye(2), np.eye(2), learning_rate=0.0)),
        ("parametrization",
         lambda: compare.vector_field_distance(np.eye(2), np.eye(2), parametrization="qr")),
        ("activity_sets", lambda: compare.dsa_matrix(x)),
        ("activity_sets", lambda: compare.dsa_matrix([x])),
        ("activity_sets[1]", lambda: compare.dsa_matrix([x, np.zeros(3)])),
        ("metric", lambda: compare.dsa(x, x, metric="wasserstein")),
    ]:
        assert_clear_error(f"compare.dsa:{name}", name, call)


def test_plot_distance_matrix_shows_the_distances(attractors):
    import matplotlib.pyplot as plt

    d = np.array([[0.0, 0.2, 0.5], [0.2, 0.0, 0.4], [0.5, 0.4, 0.0]])
    fig, ax = plt.subplots()
    assert nd.plot.plot_distance_matrix(d, labels=["x", "y", "z"], ax=ax) is ax
    np.testing.assert_allclose(ax.images[0].get_array(), d)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y", "z"]
    with pytest.raises(ValueError, match="distances"):
        nd.plot.plot_distance_matrix(np.zeros((2, 3)), ax=ax)
    plt.close(fig)


def test_havok_and_the_distance_vmap_and_jit(attractors):
    """Under vmap (an ensemble of systems at once) and jit, the same numbers as one by one."""
    import jax

    line, deformed, point = attractors
    stack = np.stack([line, deformed, point]).astype(np.float32)
    ops = jax.vmap(lambda s: compare.havok(s, n_delays=2, rank=2).operator)(stack)
    for k in range(3):
        one = compare.havok(stack[k], n_delays=2, rank=2).operator
        np.testing.assert_allclose(np.linalg.eigvals(np.asarray(ops[k], np.float64)),
                                   np.linalg.eigvals(np.asarray(one, np.float64)), atol=1e-4)
    jitted = jax.jit(lambda a, b: compare.vector_field_distance(a, b, steps=STEPS).distance)
    eager = compare.vector_field_distance(ops[0], ops[2], steps=STEPS).distance
    assert float(jitted(ops[0], ops[2])) == pytest.approx(float(eager), abs=1e-5)
