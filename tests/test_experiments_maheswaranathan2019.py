"""The Maheswaranathan et al. 2019 study (experiments/maheswaranathan2019_universality/): its
`small` config run end to end the way tests/test_experiments.py runs the others, with checks
that a wrong analysis would fail — flip-flop networks of every architecture that learned the
task hold the 8 memories in stable points with the same memory/saddle graph, networks cluster by
architecture under SVCCA, and the within/between summary against a NumPy reference."""

import numpy as np
import pytest
from test_experiments import EXPERIMENTS, _load_study, run_small

import neurodyn as nd

STUDY = "maheswaranathan2019_universality"


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    return run_small(STUDY, tmp_path_factory.mktemp("mah"))


def test_configs_have_the_same_keys_and_match_the_schema():
    import _common as C

    run = _load_study(STUDY)
    small, paper = (C.load_config(EXPERIMENTS / STUDY, n) for n in C.CONFIGS)
    assert set(small) == set(paper) == set(run.KEYS)
    assert set(paper["architectures"]) == set(run.ARCHITECTURES)


def test_bad_architecture_is_named():
    import _common as C

    run = _load_study(STUDY)
    cfg = C.load_config(EXPERIMENTS / STUDY, "small")
    with pytest.raises(ValueError, match="architectures must be a non-empty list"):
        run.compute(dict(cfg, architectures=["RNN", "Transformer"]))


def test_separation_against_numpy():
    run = _load_study(STUDY)
    rng = np.random.default_rng(0)
    x = rng.random((5, 5))
    d = x + x.T
    np.fill_diagonal(d, 0)
    labels = ["a", "a", "b", "b", "b"]
    s = run.separation(d, labels)
    pairs_w = [d[0, 1], d[2, 3], d[2, 4], d[3, 4]]
    pairs_b = [d[i, j] for i in (0, 1) for j in (2, 3, 4)]
    assert s["within"] == pytest.approx(np.mean(pairs_w))
    assert s["between"] == pytest.approx(np.mean(pairs_b))
    nn = [min((d[i, j], j) for j in range(5) if j != i)[1] for i in range(5)]
    assert s["nn_same"] == pytest.approx(np.mean([labels[i] == labels[n] for i, n in
                                                  enumerate(nn)]))


def test_between_graph_keeps_memories_and_the_saddles_joining_two():
    """Hand-built graph: stable 0, 1, 2; saddle 3 joins 0–1, saddle 4 runs twice into 2 (no
    boundary), saddle 5 joins 1–2; an index-2 point 6. Kept: 0, 1, 2, 3, 5, renumbered."""
    run = _load_study(STUDY)
    g = nd.compare.Topology(np.array([0, 0, 0, 1, 1, 1, 2]),
                            np.array([[3, 0], [3, 1], [4, 2], [4, 2], [5, 1], [5, 2]]),
                            np.arange(14.0).reshape(7, 2))
    b = run.between_graph(g)
    np.testing.assert_array_equal(b.n_unstable, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(b.edges, [[3, 0], [3, 1], [4, 1], [4, 2]])
    np.testing.assert_array_equal(b.xstar[:, 0], [0, 2, 4, 6, 10])
    assert nd.compare.same_topology(b, run.between_graph(b))  # idempotent


def test_cube_graph_is_the_flipflop_scaffold():
    """8 memories and 12 saddles, each joined to the two corners one bit apart; isomorphic to
    a relabelled copy, not to the graph with one saddle missing."""
    run = _load_study(STUDY)
    c = run.cube_graph(3)
    assert c.n_points == 20 and np.sum(c.n_unstable == 1) == 12 and c.edges.shape == (24, 2)
    for s in range(8, 20):
        a, b = c.edges[c.edges[:, 0] == s, 1]
        assert np.sum(c.xstar[a] != c.xstar[b]) == 1  # neighbours on the cube
    perm = np.random.default_rng(0).permutation(20)
    inv = np.argsort(perm)
    relabelled = nd.compare.Topology(c.n_unstable[perm], inv[c.edges], c.xstar[perm])
    assert nd.compare.same_topology(c, relabelled)
    missing = run.between_graph(nd.compare.Topology(c.n_unstable, c.edges[c.edges[:, 0] != 19],
                                                    c.xstar))
    assert missing.n_points == 19 and not nd.compare.same_topology(c, missing)


def test_small_run_flipflop_topology_is_universal(record):
    ff = record["data"]["flipflop"]
    archs = {r["architecture"] for r in ff["networks"]}
    assert archs == {"RNN", "GRU", "LSTM", "LowRank"}
    learned = [ff["networks"][i] for i in ff["learned"]]
    assert {r["architecture"] for r in learned} >= {"RNN", "GRU", "LSTM"}
    assert all(r["accuracy"] >= 0.9 for r in learned)
    eight = [r for r in learned if r["n_stable"] == 8]
    assert len(eight) >= 0.75 * len(learned)  # the 8 memories, one per cube corner
    assert all(r["n_corners"] == 8 for r in eight)
    assert all(r["saddles"][0] >= 3 for r in eight)  # index-1 saddles between memories
    # the graph of memories and the saddles between them is the cube's in networks of
    # several architectures (universality)
    same = ff["same_as_cube"]
    assert len(same) == len(learned)
    assert len({r["architecture"] for r, s in zip(learned, same) if s}) >= 2
    assert all(r["n_stable"] == 8 and r["saddles_between"] == 12
               for r, s in zip(learned, same) if s)


def test_small_run_geometry_separates_architectures(record):
    ff = record["data"]["flipflop"]
    d = np.asarray(ff["distances"]["svcca"])
    m = len(ff["learned"])
    assert d.shape == (m, m) and np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    assert np.all(d[~np.eye(m, dtype=bool)] > 0)
    s = ff["separation"]["svcca"]
    assert s["within"] < s["between"]  # individuality: geometry depends on the architecture
    for name in ("procrustes", "dsa"):
        dd = np.asarray(ff["distances"][name])
        assert dd.shape == (m, m) and np.all(np.isfinite(dd)) and np.allclose(dd, dd.T)
    cx, cfg = record["data"]["context"], record["config"]
    assert len(cx["networks"]) == len(cfg["context_architectures"]) * cfg["n_seeds"]
    assert all(0 <= r["accuracy"] <= 1 for r in cx["networks"])


def test_small_run_summaries_follow_from_the_recorded_distances(record):
    """The within/between table is the one `separation` gives for the recorded matrices, and the
    metrics stay in their ranges: SVCCA distance in [0, 1], angular Procrustes in [0, π/2]."""
    run = _load_study(STUDY)
    for task in ("flipflop", "context"):
        res = record["data"][task]
        if "distances" not in res:
            continue
        labels = [res["labels"][i] for i in res["learned"]]
        for name, d in res["distances"].items():
            assert res["separation"][name] == pytest.approx(
                run.separation(np.asarray(d), labels))
        assert np.all(np.asarray(res["distances"]["svcca"]) <= 1 + 1e-6)
        assert np.all(np.asarray(res["distances"]["procrustes"]) <= np.pi / 2 + 1e-6)
