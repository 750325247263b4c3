"""A trained 3-bit flip-flop network (Sussillo & Barak 2013; Golub & Sussillo 2018): 8 stable
states at the corners of the memory cube, with index-1 saddles between neighbouring corners.

The fast test analyses a shipped 16-unit checkpoint (`tests/data/flipflop16.eqx`, regenerated
by `tests/data/make_flipflop.py`); the slow one trains a network from scratch. Neither assumes
how the memory is held: if fewer than 8 corners are held by stable fixed points, the memories
are looked for as stable period-2 points (stable fixed points of F∘F).
"""

import importlib.util
import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import fixedpoints as fp

DATA = Path(__file__).parent / "data"


def _corner(z):
    return tuple(int(s) for s in np.sign(np.asarray(z)))


def analyse(model, task, *, n_starts=256, noise_scale=2.0, seed=0):
    """Fixed points of the network at zero input, from states its trajectories visit.

    Returns (fps, memory states, period used)."""
    trials = task.sample(jax.random.key(seed), 64)
    roll = model.simulate(trials.inputs, key=None, noise=False)
    x0 = fp.sample_states(roll, n_starts, key=jax.random.key(seed + 1), noise_scale=noise_scale)
    u = jnp.zeros(task.n_inputs)
    fps = fp.find(model, x0, u, progress=False)
    memories = fps[fps.stable]
    corners = {_corner(model.readout(x)) for x in memories.xstar}
    if len(corners) == 2**task.n_bits:
        return fps, memories, 1
    fps2 = fp.find(model, x0, u, period=2, progress=False)  # memories held in 2-cycles?
    return fps2, fps2[fps2.stable], 2


def check_flipflop(model, task, fps, memories, period):
    n_bits = task.n_bits
    z = np.asarray(model.readout(memories.xstar))
    corners = {_corner(row) for row in z}
    assert corners == set(itertools.product((-1, 1), repeat=n_bits))  # all 8 memories
    assert np.all(np.abs(z) > 0.8)  # near the target ±1
    if period == 1:
        assert memories.n_points == 2**n_bits  # exactly one stable point per corner

    # Saddles between the corners: index-1 saddles whose unstable manifold leads to two
    # memories that differ in exactly one bit, with that bit's output near 0 at the saddle.
    saddles = fps[fps.n_unstable == 1]
    assert saddles.n_points >= n_bits
    man = fp.unstable_manifolds(model, fps, n_steps=200, max_modes=1)
    index1 = np.asarray(fps.n_unstable)[man.saddle] == 1
    between = 0
    for row in np.flatnonzero(index1):
        a, b = man.ends[row]
        if a < 0 or b < 0 or a == b:
            continue
        za, zb = (np.asarray(model.readout(fps.xstar[i])) for i in (a, b))
        flipped = np.flatnonzero(np.sign(za) != np.sign(zb))
        if flipped.size == 1:
            zs = np.asarray(model.readout(fps.xstar[man.saddle[row]]))
            assert abs(zs[flipped[0]]) < 0.6  # the saddle sits between the two memories
            between += 1
    assert between >= n_bits
    return between


def test_shipped_flipflop_network_has_eight_memories_and_saddles_between():
    model = nd.load(DATA / "flipflop16.eqx")
    task = nd.tasks.FlipFlop(preset="golub2018")
    fps, memories, period = analyse(model, task)
    check_flipflop(model, task, fps, memories, period)
    # (in float32 a few starts may stall just above tol_q; they are reported, not hidden)
    counts_out = fps.report.counts()
    assert sum(counts_out.values()) == fps.report.n_starts
    assert counts_out["converged"] >= 0.97 * fps.report.n_starts
    assert np.all(np.asarray(fps.q) < 1e-12)
    # This network holds its memories in fixed points and has the structure Golub & Sussillo
    # report: 8 stable points, 12 saddles with one unstable mode (one per edge of the cube),
    # 6 with two (faces), 1 with three (centre); the higher-index saddles are found from fewer
    # starting points, so a search may miss one.
    assert period == 1
    counts = np.bincount(np.asarray(fps.n_unstable), minlength=4)
    assert counts[0] == 8 and counts[1] == 12
    assert 4 <= counts[2] <= 6 and counts[3] <= 1 and counts.size == 4


@pytest.mark.slow
def test_flipflop_trained_from_scratch():
    spec = importlib.util.spec_from_file_location("make_flipflop", DATA / "make_flipflop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fit, task, score = module.train_flipflop(16, seed=3, steps=1000)
    assert score["accuracy"] > 0.9
    fps, memories, period = analyse(fit.model, task, n_starts=512)
    check_flipflop(fit.model, task, fps, memories, period)


# ------------------------------------------------------------------ the 128-unit float32 network
@pytest.fixture(scope="module")
def flipflop128_starts():
    """The shipped float32 128-unit flip-flop network and 256 starting states, as a user makes
    them: states visited on 64 trials of the task, perturbed (noise 5: many starts far out)."""
    model = nd.load(DATA / "flipflop128.eqx")
    task = nd.tasks.FlipFlop(preset="golub2018")
    trials = task.sample(jax.random.key(0), 64)
    roll = model.simulate(trials.inputs, key=None, noise=False)
    x0 = fp.sample_states(roll, 256, key=jax.random.key(1), noise_scale=5.0)
    return model, x0, jnp.zeros(task.n_inputs)


def test_float32_128_units_with_all_defaults_finds_the_26_points(flipflop128_starts):
    """In float32 q = ½‖F(x) − x‖² cannot fall below ~½(k·u·‖x‖)² (u = eps/2, k a few
    roundings): ~1e-11 here, above the default tol_q = 1e-12, so every start used to stall and
    a default call returned nothing. The tolerance now follows the dtype and the state's size
    (rtol): all the points of a float64 search come back (8 stable points, 12 saddles with one
    unstable mode on the edges of the cube, 6 with two on its faces)."""
    model, x0, u = flipflop128_starts
    assert model.J.dtype == jnp.float32
    fps = fp.find(model, x0, u, progress=False)
    assert fps.report.counts()["converged"] >= 250
    eps = float(jnp.finfo(jnp.float32).eps)
    assert fps.report.rtol == pytest.approx(4 * eps)
    # each point meets the rounding-floor test, and no more loosely than that
    norm2 = np.sum(np.asarray(fps.xstar, np.float64) ** 2, axis=1)
    assert np.all(np.asarray(fps.q) < np.maximum(1e-12, 0.5 * (4 * eps) ** 2 * norm2))
    assert np.all(np.asarray(fps.q) < 1e-9)
    counts = np.bincount(np.asarray(fps.n_unstable), minlength=3)
    assert fps.n_points == 26 and counts.tolist() == [8, 12, 6]
    z = np.asarray(model.readout(fps[fps.stable].xstar))
    assert {_corner(row) for row in z} == set(itertools.product((-1, 1), repeat=3))
    # the analyses downstream work on this default result too: not an empty answer
    summary = fp.line_attractor(fps)
    assert len(summary.index) == 26 and np.all(np.isfinite(summary.time_constant))
    man = fp.unstable_manifolds(model, fps, n_steps=100)
    assert len(man.saddle) == 18  # one branch pair per saddle


def test_a_far_start_that_descends_slowly_is_not_given_up(flipflop128_starts):
    """Start 141 is far out (‖x₀‖ ≈ 84); Adam's step size collapses in a narrow valley of q at
    q ≈ 9 after ~580 steps, with the gradient still far from zero, and it used to be reported
    as stalled. It is restarted from its best state and converges."""
    model, x0, u = flipflop128_starts
    starts = x0[np.array([141, 0, 1])]
    raw = fp.find(model, starts, u, filter=False, jacobians=False, progress=False)
    np.testing.assert_array_equal(raw.status, [fp.CONVERGED] * 3)
    assert int(raw.n_iters[0]) > 300  # more than one stall window: a slow descent
    assert float(raw.q[0]) < 1e-9
