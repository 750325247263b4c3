"""Fixed-point topology (Maheswaranathan et al. 2019): the graph of an analytic system with
known fixed points, the isomorphism test against brute force over permutations, and two
3-bit flip-flop networks of different architectures."""

import itertools
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from badinput import assert_clear_error

import neurodyn as nd
from neurodyn import compare, fixedpoints as fp

DATA = Path(__file__).parent / "data"


class Switches(nd.AbstractEulerSystem):
    """dz/dt = −z + tanh(g z) for each unit of z = Qᵀx (Q orthogonal): with every g > 1, a cube
    of 2³ stable points, 12 saddles with one unstable mode on its edges, 6 with two on its faces
    and one with three at the origin; a unit with g < 1 collapses its axis."""

    n_states: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)
    gains: jax.Array
    rotation: jax.Array

    def __init__(self, gains, rotation):
        self.n_states, self.n_inputs, self.tau, self.dt = len(gains), 0, 1.0, 0.1
        self.nonlinearity = "identity"
        self.gains = jnp.asarray(gains, jnp.float32)
        self.rotation = jnp.asarray(rotation, jnp.float32)

    def drive(self, x, u):
        z = self.rotation.T @ x
        return self.rotation @ (-z + jnp.tanh(self.gains * z))


FOUND = []


def _graph(system, extent=1.5):
    grid = np.array(list(itertools.product(np.linspace(-extent, extent, 5), repeat=3)))
    fps = fp.find(system, grid, None, dynamics="continuous", progress=False)
    FOUND.append((system, fps))
    return compare.topology(system, fps, n_steps=400, tol=5e-2)


@pytest.fixture(scope="module")
def switches():
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    a = _graph(Switches([2.0, 2.0, 2.0], np.eye(3)))
    b = _graph(Switches([1.6, 2.5, 3.0], q))                # other gains, rotated
    c = _graph(Switches([2.0, 2.0, 0.5], np.eye(3)))        # two switches: 4 attractors
    return a, b, c


def test_topology_of_three_switches_is_the_cube(switches):
    a, _, _ = switches
    counts = np.bincount(a.n_unstable, minlength=4)
    assert counts.tolist() == [8, 12, 6, 1]
    adj = a.adjacency()
    stable = np.flatnonzero(a.n_unstable == 0)
    for s in np.flatnonzero(a.n_unstable == 1):   # each edge saddle joins two neighbouring corners
        ends = np.flatnonzero(adj[s])
        assert adj[s].sum() == 2 and len(ends) == 2 and set(ends) <= set(stable)
        corners = np.sign(a.xstar[ends])
        assert np.sum(corners[0] != corners[1]) == 1
    assert adj[a.n_unstable >= 2].sum() == 0      # surfaces: no edges drawn from them


def test_same_topology_across_gains_and_rotations_not_across_structure(switches):
    a, b, c = switches
    assert compare.same_topology(a, b) and compare.topology_distance(a, b) == 0
    assert not compare.same_topology(a, c)
    assert compare.topology_distance(a, c) > 0
    assert np.bincount(c.n_unstable).tolist() == [4, 4, 1]


def _random_topology(rng, n, p=0.4):
    labels = rng.integers(0, 2, size=n)
    edges = [(s, t) for s in np.flatnonzero(labels == 1) for t in np.flatnonzero(labels == 0)
             for _ in range(rng.binomial(2, p))]
    return compare.Topology(labels, np.asarray(edges, np.int64).reshape(-1, 2),
                            np.zeros((n, 1)))


def _brute_force(a, b):
    if a.n_points != b.n_points:
        return False
    adj_a, adj_b = a.adjacency(), b.adjacency()
    for perm in itertools.permutations(range(b.n_points)):
        p = np.asarray(perm)
        if np.array_equal(a.n_unstable, b.n_unstable[p]) and np.array_equal(
                adj_a, adj_b[np.ix_(p, p)]):
            return True
    return False


def test_isomorphism_against_brute_force_over_permutations():
    rng = np.random.default_rng(3)
    agree = []
    for _ in range(60):
        a = _random_topology(rng, 6)
        if rng.random() < 0.5:                    # a relabelled copy: isomorphic
            p = rng.permutation(6)
            inv = np.argsort(p)
            b = compare.Topology(a.n_unstable[p], inv[a.edges], a.xstar)
        else:
            b = _random_topology(rng, 6)
        got = compare.same_topology(a, b)
        assert got == _brute_force(a, b)
        assert (compare.topology_distance(a, b) == 0) or not got
        agree.append(got)
    assert 10 < sum(agree) < 50                   # both answers were exercised

    # colour refinement alone cannot tell one 8-cycle from two 4-cycles (every node alike)
    def cycles(groups):
        edges, n = [], 0
        for k in groups:                          # saddles n..n+k-1, attractors n+k..n+2k-1
            for i in range(k):
                edges += [(n + i, n + k + i), (n + i, n + k + (i + 1) % k)]
            n += 2 * k
        labels = np.concatenate([np.r_[np.ones(k), np.zeros(k)] for k in groups]).astype(int)
        return compare.Topology(labels, np.asarray(edges), np.zeros((n, 1)))

    one, two = cycles([4]), cycles([2, 2])
    assert compare.topology_distance(one, two) == 0
    assert not compare.same_topology(one, two)
    assert compare.same_topology(two, cycles([2, 2]))


def test_bad_inputs_name_the_argument(switches):
    a, _, _ = switches
    system, fps = FOUND[0]
    for name, call in [
        ("fps", lambda: compare.topology(system, a)),
        ("manifolds", lambda: compare.topology(system, fps, manifolds=a)),
        ("n_steps", lambda: compare.topology(system, fps, n_steps=0)),
        ("tol", lambda: compare.topology(system, fps, tol=-1.0)),
        ("a", lambda: compare.same_topology(fps, a)),
        ("b", lambda: compare.topology_distance(a, None)),
    ]:
        assert_clear_error(f"compare.topology:{name}", name, call)


def _flipflop_topology(model, noise_scale):
    task = nd.tasks.FlipFlop(preset="golub2018")
    trials = task.sample(jax.random.key(0), 64)
    roll = model.simulate(trials.inputs, key=None, noise=False)
    x0 = fp.sample_states(roll, 256, key=jax.random.key(1), noise_scale=noise_scale)
    fps = fp.find(model, x0, jnp.zeros(task.n_inputs), progress=False)
    return compare.topology(model, fps, n_steps=200)


def _core(t):
    """The attractors and the index-1 saddles (a search from few starts may miss a face
    saddle, test_fixedpoints_flipflop; these both graphs find whole)."""
    keep = np.flatnonzero(t.n_unstable <= 1)
    new = -np.ones(t.n_points, np.int64)
    new[keep] = np.arange(keep.size)
    return compare.Topology(t.n_unstable[keep], new[t.edges], t.xstar[keep])


def _check_cube(t):
    assert np.sum(t.n_unstable == 0) == 8 and np.sum(t.n_unstable == 1) == 12
    assert len(t.edges) == 24


def test_vanilla_and_gru_flipflop_networks_have_the_same_topology():
    """Two architectures on the 3-bit flip-flop: the shipped 16-unit vanilla network
    (tests/data/make_flipflop.py) and a 16-unit GRU trained here (~15 s): 8 attractors, each of
    the 12 index-1 saddles joining two of them, the same graph (Maheswaranathan et al. 2019)."""
    task = nd.tasks.FlipFlop(preset="golub2018")
    gru = nd.models.GRU(16, task.n_inputs, task.n_outputs, key=jax.random.key(0))
    gru = nd.train.fit(gru, task, key=jax.random.key(1), steps=1000, batch_size=64,
                       learning_rate=1e-2, clip_norm=1.0, eval_every=250, progress=False).model
    vanilla = _flipflop_topology(nd.load(DATA / "flipflop16.eqx"), 2.0)
    gated = _flipflop_topology(gru, 0.5)
    _check_cube(vanilla)
    _check_cube(gated)
    assert compare.same_topology(_core(vanilla), _core(gated))


@pytest.mark.slow
def test_two_flipflop_network_sizes_have_the_same_topology():
    """The shipped 16- and 128-unit vanilla flip-flop networks."""
    small = _flipflop_topology(nd.load(DATA / "flipflop16.eqx"), 2.0)
    large = _flipflop_topology(nd.load(DATA / "flipflop128.eqx"), 5.0)
    _check_cube(small)
    _check_cube(large)
    assert compare.same_topology(_core(small), _core(large))


def test_plot_topology_draws_every_point_and_connection(switches):
    import matplotlib.pyplot as plt

    a, _, _ = switches
    fig, ax = plt.subplots()
    assert nd.plot.plot_topology(a, ax=ax) is ax
    assert ax.collections[0].get_offsets().shape == (27, 2)
    assert len(ax.texts) == np.count_nonzero(a.adjacency())      # one arrow per connection
    plt.close(fig)
