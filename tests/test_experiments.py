"""The reproductions in experiments/: the shared config/results code, and each study's `small`
config run end to end into a temporary directory, with checks on its numbers that a wrong
analysis would fail. Each study trains networks and costs ~20–45 s on an idle 2-core machine; all
run in the default test run, as the experiments issue asks."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
sys.path.insert(0, str(EXPERIMENTS))
import _common as C  # noqa: E402


def run_small(study: str, out: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"exp_{study}", EXPERIMENTS / study / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    record = C.main(module.__file__, module.compute, ["--config", "small", "--out", str(out)])
    for name in ("results.json", "results.md", "figure.png"):
        assert (out / name).stat().st_size > 0
    assert json.loads((out / "results.json").read_text()) == record
    md = (out / "results.md").read_text()
    assert "NOT the published scale" in md and "| quantity | measured | published |" in md
    assert record["small_scale"] and record["rows"]
    return record


# ------------------------------------------------------------------ shared code
def test_configs_parse_and_have_the_same_keys():
    studies = sorted(p.parent.name for p in EXPERIMENTS.glob("*/run.py"))
    assert studies == ["dpad_networks", "dpad_simulated", "dubreuil2022",
                       "maheswaranathan2019_universality", "mante2013_context",
                       "sussillo2013_flipflop", "valente2022_lint"]
    for s in studies:
        small, paper = (C.load_config(EXPERIMENTS / s, n) for n in C.CONFIGS)
        assert set(small) == set(paper), s


def test_bad_configs_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="config must be one of"):
        C.load_config(EXPERIMENTS / "dpad_simulated", "huge")
    with pytest.raises(ValueError, match="does not exist"):
        C.load_config(tmp_path, "small")
    keys = dict(steps=int, rate=float)
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['stpes'\]"):
        C.require(dict(stpes=1, steps=1, rate=0.1), keys)
    with pytest.raises(ValueError, match="'rate' is missing"):
        C.require(dict(steps=1), keys)
    with pytest.raises(ValueError, match="'steps' must be int"):
        C.require(dict(steps=1.5, rate=0.1), keys)
    with pytest.raises(ValueError, match="'steps' must be int"):
        C.require(dict(steps=True, rate=0.1), keys)
    assert C.require(dict(steps=3, rate=1), keys)["rate"] == 1  # an int is a valid float


def test_write_table_and_json(tmp_path):
    study = C.Study("T", "ref", [C.Row("a | b", [0.5, 1.0], "0.75"), C.Row("n", 3, 3, "x")],
                    dict(arr=np.arange(3), nan=float("nan")))
    rec = C.write(study, tmp_path, "small", dict(k=1), 1.23)
    md = (tmp_path / "results.md").read_text()
    assert "| a \\| b | 0.750 [0.500–1.000] | 0.75 |  |" in md  # pipe escaped, list summarised
    assert "| n | 3 | 3 | x |" in md and "NOT the published scale" in md
    loaded = json.loads((tmp_path / "results.json").read_text())
    assert loaded == rec and loaded["data"] == {"arr": [0, 1, 2], "nan": None}
    assert not (tmp_path / "figure.png").exists()  # no figure given


def test_results_are_written_atomically(tmp_path, monkeypatch):
    """A study killed while writing keeps its previous results whole and leaves no temporary
    file behind (the writes go through neurodyn's atomic writer)."""
    import os

    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    C.write(C.Study("T", "ref", [C.Row("a", 1)], figure=fig), tmp_path, "small", {}, 1.0)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["figure.png", "results.json", "results.md"]

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        C.write(C.Study("T2", "ref", [C.Row("b", 2)], figure=fig), tmp_path, "small", {}, 2.0)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    plt.close(fig)


# ------------------------------------------------------------------ studies
def test_dpad_simulated_small(tmp_path):
    d = run_small("dpad_simulated", tmp_path)["data"]
    lin, nl = d["linear"], d["nonlinear"]
    ideal_lin, ideal_nl = lin.pop("ideal (true model)"), nl.pop("ideal (E[g(x) | past y])")
    assert max(lin.values()) < ideal_lin + 0.01  # nothing beats the true Kalman predictor
    assert max(nl.values()) < ideal_nl + 0.01
    assert abs(lin["PSID nx=2, n1=2"] - ideal_lin) < 0.03
    assert lin["SID (NDM) nx=2"] < lin["PSID nx=2, n1=2"] - 0.02  # prioritisation matters
    assert abs(lin["DPAD linear nx=2, n1=2"] - lin["PSID nx=2, n1=2"]) < 0.03
    dpad_cz = nl["DPAD nonlinear Cz, nx=2, n1=2"]
    assert dpad_cz > nl["PSID nx=2, n1=2"] + 0.01 and dpad_cz > ideal_nl - 0.05
    assert nl["NDM nonlinear Cz, nx=2"] < dpad_cz - 0.1


def test_dubreuil2022_small(tmp_path):
    (task,) = run_small("dubreuil2022", tmp_path)["data"]["tasks"]
    assert task["minimal_rank"] == 1 and max(task["accuracy"][0]) >= 0.9
    assert np.mean(task["resampled"]["1"]) > 0.8  # a rank-1 decision network survives resampling


def _load_study(study):
    spec = importlib.util.spec_from_file_location(f"exp_{study}", EXPERIMENTS / study / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dubreuil2022_full_rank_route_mechanics():
    """The DMS route (full rank → SVD truncation → fine-tuning): the truncated network is the
    SVD's (NumPy reference) and keeps the configured train groups; bad route configs fail
    before any training."""
    import jax

    import neurodyn as nd
    from neurodyn import lowrank as lr

    run = _load_study("dubreuil2022")
    full = nd.models.FullRankRNN(16, 2, 1, train=run.FULL_RANK_TRAIN, key=jax.random.key(0))
    low = run.with_train(lr.truncate(full, 2), ["m", "n", "input_gains"])
    assert low.train == ("input_gains", "m", "n") and low.rank == 2
    u, sv, vt = np.linalg.svd(np.asarray(full.J, np.float64))
    np.testing.assert_allclose(np.asarray(low.m @ low.n.T, np.float64) / 16,
                               (u[:, :2] * sv[:2]) @ vt[:2], atol=1e-5)
    np.testing.assert_array_equal(low.w_in, full.w_in)
    cfg, tcfg = _dms_route_configs()
    with pytest.raises(ValueError, match="init must be 'random' or 'full_rank'"):
        run.study_task("dms", dict(tcfg, init="pretrained"), cfg, 0)
    bare = {k: v for k, v in tcfg.items() if k != "stages"}
    with pytest.raises(ValueError, match=r"needs \['stages'\]"):
        run.study_task("dms", bare, cfg, 0)


def _dms_route_configs():
    cfg = dict(seed=0, n_neurons=16, n_seeds=2, n_trials=32, threshold=0.9, resamples=1,
               learning_rate=0.01)
    tcfg = dict(task="DelayMatchSample", ranks=[1, 2], train=["m", "n"], steps=2,
                populations=[1], init="full_rank", full_rank_steps=2,
                full_rank_learning_rate=0.003, stages=[dict(delay=[0, 100], decision=100)])
    return cfg, tcfg


@pytest.mark.slow
def test_dubreuil2022_full_rank_route_runs():
    """The whole DMS route at a plumbing size (~80 s of compilation, hence slow)."""
    cfg, tcfg = _dms_route_configs()
    r = _load_study("dubreuil2022").study_task("dms", tcfg, cfg, 0)
    assert r["init"] == "full_rank" and np.shape(r["accuracy"]) == (2, 2)
    assert all(0 <= a <= 1 for row in r["accuracy"] for a in row)
    assert len(r["resampled"]["1"]) == 2 and r["analysed_rank"] in (1, 2)


def test_sussillo2013_flipflop_small(tmp_path):
    d = run_small("sussillo2013_flipflop", tmp_path)["data"]
    assert d["accuracy"] > 0.9
    assert len(d["corners"]) >= 6 and all(abs(sum(c)) in (1, 3) for c in d["corners"])
    counts = d["counts_by_n_unstable"]
    assert counts[0] >= 6 and counts[1] >= 3
    if d["period"] == 1:
        assert d["saddles_between"] >= 3


def test_mante2013_context_small(tmp_path):
    d = run_small("mante2013_context", tmp_path)["data"]
    assert d["accuracy"] > 0.9
    for c in ("0", "1"):
        r = d["contexts"][c]
        assert r["n_points"] >= 5 and r["pc1_fraction"] > 0.9  # slow points on a line
        assert 0.9 < r["slow_abs_eigval_median"] < 1.1  # one mode near the boundary
        assert r["next_time_constant_median"] < 500  # the others fast (ms)
        assert r["closed_form_cos_min"] > 0.99  # left eigenvector = φ'(x*) ⊙ n
        rel, irr = ((r["output_slope_A"], r["output_slope_B"]) if c == "0"
                    else (r["output_slope_B"], r["output_slope_A"]))
        assert rel > 2 * abs(irr)  # the choice follows the relevant stimulus
        # Mante et al.'s selection: the slow mode's left eigenvector picks the relevant input
        sel_rel, sel_irr = ((r["selection_A"], r["selection_B"]) if c == "0"
                            else (r["selection_B"], r["selection_A"]))
        assert sel_rel > 5 * sel_irr


def test_dpad_networks_small(tmp_path):
    d = run_small("dpad_networks", tmp_path)["data"]
    assert d["accuracy"] > 0.9 and d["ceiling"] > 0.99
    f = d["fits"]
    assert all(r["cc"] < d["ceiling"] + 1e-6 for r in f.values())
    for method in ("PSID", "DPAD"):
        pri, ndm = f[f"{method} prioritised nx=1, n1=1"], f[f"{method} NDM nx=1, n1=0"]
        assert pri["cc"] > 0.9 and pri["kappa_r2"] > 0.9
        assert pri["cc"] > ndm["cc"] - 0.01


def test_cached_parts_resume_and_key_on_inputs(tmp_path, monkeypatch):
    calls = []

    def part(v):
        calls.append(v)
        return dict(value=np.float64(v) * 2, items=[np.int64(v)])

    assert C.cached("p", dict(v=1), lambda: part(1)) == dict(value=2.0, items=[1])  # no folder
    monkeypatch.setitem(C._PARTS, "dir", tmp_path / "parts")
    first = C.cached("p", dict(v=1), lambda: part(1))
    again = C.cached("p", dict(v=1), lambda: part(1))
    other = C.cached("p", dict(v=3), lambda: part(3))
    assert calls == [1, 1, 3]  # the second call with the same inputs was read back
    assert first == again == dict(value=2.0, items=[1]) and other["value"] == 6.0
    assert len(list((tmp_path / "parts").glob("p-*.json"))) == 2


def test_cached_parts_record_the_commit_the_study_started_at(tmp_path, monkeypatch):
    # HEAD may move while a long study runs; the code that ran is the code at its start.
    monkeypatch.setattr(C, "_commit", lambda: "moved-on")
    monkeypatch.setitem(C._PARTS, "dir", tmp_path / "parts")
    monkeypatch.setitem(C._PARTS, "commit", "at-start")
    monkeypatch.setitem(C._PARTS, "commits", {})
    C.cached("a", dict(v=1), lambda: dict(x=1))
    (path,) = (tmp_path / "parts").glob("a-*.json")
    assert json.loads(path.read_text())["commit"] == "at-start"
    # A resumed study reports each part's own commit, including parts read back from disk.
    path.write_text(path.read_text().replace("at-start", "older"))
    monkeypatch.setitem(C._PARTS, "commits", {})
    C.cached("a", dict(v=1), lambda: dict(x=1))
    C.cached("b", dict(v=2), lambda: dict(x=2))
    assert C._PARTS["commits"] == {"a": "older", "b": "at-start"}
    study = C.Study("t", "r", [C.Row("q", 1.0)], data=dict(part_commits=C._PARTS["commits"]))
    record = C.write(study, tmp_path / "out", "paper", {}, 1.0, commit="at-start")
    assert record["data"]["part_commits"] == {"a": "older", "b": "at-start"}
    assert "parts computed at a older, b at-start" in (tmp_path / "out" / "results.md").read_text()
