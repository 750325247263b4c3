"""`neurodyn.experiment.run`: the run folder, what it holds, and resuming."""

import json
import os
import shutil

import numpy as np
import pytest

import neurodyn as nd
from neurodyn.experiment import (
    LatentFit,
    _files,
    _stages,
    is_complete,
    load_config,
    run,
    stage_done,
    with_values,
)

TINY = """
name = "tiny"
[task]
name = "PerceptualDecisionMaking"
preset = "dubreuil2022"
[model]
n_neurons = 24
rank = 1
[training]
seed = 1
steps = 20
batch_size = 16
eval_every = 10
val_trials = 32
[analyses.performance]
n_trials = 64
[analyses.fixed_points]
n_trials = 8
n_initial = 8
max_steps = 300
[analyses.lowrank]
resolution = 9
[analyses.dpad]
methods = ["psid"]
nx = 2
n1 = 1
n_trials = 16
"""


def tiny_config(output_dir, **values):
    cfg = load_config(TINY.replace('name = "tiny"', f'name = "tiny"\noutput_dir = '
                                   f'"{output_dir}"'))
    return with_values(cfg, values) if values else cfg


# The concrete keys the tiny run used, recorded by `tiny_run`: (use, key) pairs outside training
# and the keys training was given.
KEYS_USED: dict = {"analyses": [], "training": []}


def key_bits(key) -> tuple:
    import jax

    return tuple(np.asarray(jax.random.key_data(key)).ravel().tolist())


def derived_keys(key, depth: int = 2) -> set:
    """The keys a callee can make from `key` in `depth` steps of fold_in (0-7 and the trainer's
    0x7A1) or split (into 2-5): what an independent key must never be."""
    import jax

    out, level = set(), [key]
    for _ in range(depth):
        nxt = []
        for k in level:
            nxt += [jax.random.fold_in(k, i) for i in (*range(8), 0x7A1)]
            nxt += [s for n in range(2, 6) for s in jax.random.split(k, n)]
        out |= {key_bits(k) for k in nxt}
        level = nxt
    return out


def record_keys(mp: pytest.MonkeyPatch, used: list, training: list,
                trainer: str = "fit_ensemble") -> None:
    """Record the concrete keys of every simulation, trial sample and start-state draw, and
    the keys given to `neurodyn.train.<trainer>` (what training makes of them inside is its own
    business: nothing is recorded while it runs)."""
    import jax

    from neurodyn import fixedpoints, train
    from neurodyn.models import LowRankRNN
    from neurodyn.tasks import PerceptualDecisionMaking

    inside = []

    def note(use, key):
        if not inside and not isinstance(key, jax.core.Tracer):
            used.append((use, key))

    def wrap(owner, name, key_of):
        real = getattr(owner, name)

        def wrapped(*args, **kwargs):
            note(name, key_of(args, kwargs))
            return real(*args, **kwargs)

        mp.setattr(owner, name, wrapped)

    def positional(a, k):
        return k["key"] if "key" in k else a[1]

    wrap(LowRankRNN, "simulate", lambda a, k: k["key"])
    wrap(PerceptualDecisionMaking, "sample", positional)
    wrap(PerceptualDecisionMaking, "conditions", positional)
    wrap(fixedpoints, "sample_states", lambda a, k: k["key"])
    real_fit = getattr(train, trainer)

    def fit(*args, **kwargs):
        training.extend(kwargs["keys"] if "keys" in kwargs else [kwargs["key"]])
        inside.append(True)
        try:
            return real_fit(*args, **kwargs)
        finally:
            inside.pop()

    mp.setattr(train, trainer, fit)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    cfg = tiny_config(tmp_path_factory.mktemp("runs"))
    with pytest.MonkeyPatch.context() as mp:
        record_keys(mp, KEYS_USED["analyses"], KEYS_USED["training"])
        return cfg, run(cfg, progress=False)


def test_run_keys_are_split_once_and_never_reused(tiny_run):
    """Issue 14: the analyses' keys were fold_in(key(seed), stage), and training split
    key(seed) too, so that (JAX's threefry: fold_in(k, i) == split(k, n)[i]) the performance
    stage's trials and noise keys were the training step and validation-noise keys."""
    used, training = KEYS_USED["analyses"], KEYS_USED["training"]
    assert [u for u, _ in used] == ["sample", "simulate", "sample", "simulate", "sample_states",
                                    "sample", "simulate"]
    bits = [key_bits(k) for _, k in used]
    assert len(set(bits)) == len(bits), "a key was used twice"
    (k_train,) = training
    taken = derived_keys(k_train) | {key_bits(k_train)}
    assert not taken & set(bits), "an analysis used a key that training derives"
    # the same keys, listed by the one function that makes them
    keys = _stages.run_keys(1)
    assert key_bits(keys["train"]) == key_bits(k_train)
    assert bits[:2] == [key_bits(keys["performance"]["trials"]),
                        key_bits(keys["performance"]["noise"])]
    leaves = [keys["train"]] + [k for stage in _stages.STAGE_KEYS for k in keys[stage].values()]
    assert len({key_bits(k) for k in leaves}) == len(leaves)
    from_training = derived_keys(keys["train"])
    for k in leaves[1:]:
        assert not from_training & ({key_bits(k)} | derived_keys(k, 1))


def test_run_folder_layout(tiny_run):
    cfg, res = tiny_run
    d = res.run_dir
    assert d == cfg.run_dir() and res.ran == list(_stages_names()) and res.skipped == []
    for name in ["config.toml", "config.json", "run.json", "model.eqx", "history.json",
                 "metrics.json", "report.md", "fixedpoints.eqx", "psid.eqx",
                 "performance.png", "performance.pdf", "fixed_points.png", "fixed_points.pdf",
                 "loadings.png", "flow_field.pdf", "dpad.png", "dpad.pdf"]:
        assert (d / name).is_file() and (d / name).stat().st_size > 0, name
    assert load_config(d / "config.toml") == cfg and load_config(d / "config.json") == cfg
    info = json.loads((d / "run.json").read_text())
    assert info["seed"] == 1 and info["versions"]["neurodyn"] == nd.__version__
    assert info["versions"]["jax"] and info["versions"]["numpy"]
    assert info["git"] is None or len(info["git"]["commit"]) == 40
    assert not list(d.rglob("*.tmp")), "temporary files left behind"


def _stages_names():
    return ("train", "performance", "fixed_points", "lowrank", "dpad")


def test_saved_results_agree_with_metrics(tiny_run):
    cfg, res = tiny_run
    d, metrics = res.run_dir, json.loads((res.run_dir / "metrics.json").read_text())
    model = nd.load(d / "model.eqx")
    assert model.n_neurons == 24 and nd.io.read_header(d / "model.eqx")["seed"] == 1
    hist = json.loads((d / "history.json").read_text())
    assert len(hist["loss"]) == 20 and metrics["train"]["final_loss"] == hist["loss"][-1]
    # the member's own starting-point validation, not the whole ensemble's
    assert isinstance(hist["initial_val_loss"], float) and hist["initial_val_loss"] > 0
    assert 0 <= metrics["performance"]["accuracy"] <= 1
    # fixed points: the saved points are fixed points of the saved model (checked here
    # with the model's own step, independently of the finder)
    fps = nd.load(d / "fixedpoints.eqx")
    assert fps.n_points == metrics["fixed_points"]["n_points"] >= 1
    x = np.asarray(fps.xstar)
    stepped = np.stack([np.asarray(model.step(xi, None)) for xi in fps.xstar])
    assert np.max(np.abs(stepped - x)) < 1e-4
    # low rank: eigenvalue of n^T m / N recomputed with NumPy
    m, n = np.asarray(model.m, np.float64), np.asarray(model.n, np.float64)
    assert np.allclose(metrics["lowrank"]["eigenvalues_nm"]["real"],
                       np.linalg.eigvals(n.T @ m / 24).real, rtol=1e-6)
    # PSID: the CC in metrics.json is the correlation of the saved prediction and behaviour
    fit = nd.load(d / "psid.eqx")
    assert isinstance(fit, LatentFit) and fit.nx == 2 and fit.method == "psid"
    z = np.asarray(fit.behaviour).reshape(-1)
    zh = np.asarray(fit.prediction).reshape(-1)
    assert np.isclose(np.corrcoef(z, zh)[0, 1], metrics["dpad"]["psid"]["cc"], atol=2e-3)


def test_report_shows_figures_and_ends_with_bibtex(tiny_run):
    _, res = tiny_run
    report = (res.run_dir / "report.md").read_text()
    for png in res.run_dir.glob("*.png"):
        assert f"]({png.name})" in report, png.name
    tail = report[report.index("## Citing"):]
    for key in ("@misc{neurodyn", "@article{mastrogiuseppe2018", "@article{sussillo2013",
                "@article{sani2021"):
        assert key in tail
    assert "sani2024" not in report  # DPAD was not run
    assert report.rstrip().endswith("```")


def test_resume(tiny_run, tmp_path, monkeypatch):
    cfg0, res0 = tiny_run
    d = tmp_path / "tiny"
    shutil.copytree(res0.run_dir, d)
    cfg = tiny_config(tmp_path)
    assert cfg.run_dir() == d and is_complete(cfg, d)
    # a rerun does nothing
    assert run(cfg, progress=False).ran == []
    # a deleted output: only its stage is recomputed
    (d / "fixedpoints.eqx").unlink()
    before = (d / "model.eqx").stat().st_mtime_ns
    res = run(cfg, progress=False)
    assert res.ran == ["fixed_points"] and (d / "fixedpoints.eqx").is_file()
    assert (d / "model.eqx").stat().st_mtime_ns == before
    # a changed analysis setting: only that analysis
    res = run(with_values(cfg, {"analyses.lowrank.flow_field": False}), progress=False)
    assert res.ran == ["lowrank"]
    # an interrupted run resumes at the stage that was interrupted
    cfg2 = with_values(cfg, {"analyses.dpad.nx": 3})

    def crash(ctx):
        raise KeyboardInterrupt

    monkeypatch.setitem(_stages.ANALYSES, "dpad", crash)
    with pytest.raises(KeyboardInterrupt):
        run(cfg2, progress=False)
    assert stage_done(cfg2, d, "lowrank") and not stage_done(cfg2, d, "dpad")
    monkeypatch.undo()
    assert run(cfg2, progress=False).ran == ["dpad"]
    # a changed training value invalidates every stage (recomputed for real in the slow test)
    for key, value in [("training.seed", 2), ("training.learning_rate", 0.02),
                       ("model.noise_std", 0.0), ("task.stimulus", 400.0)]:
        changed = with_values(cfg2, {key: value})
        assert not any(stage_done(changed, d, s) for s in _stages_names()), key


@pytest.mark.slow
def test_resume_after_training_change(tiny_run, tmp_path):
    _, res0 = tiny_run
    d = tmp_path / "tiny"
    shutil.copytree(res0.run_dir, d)
    cfg = with_values(tiny_config(tmp_path), {"training.seed": 2})
    res = run(cfg, progress=False)
    assert res.ran == list(_stages_names())
    assert nd.io.read_header(d / "model.eqx")["seed"] == 2
    assert run(cfg, progress=False).ran == []


def test_atomic_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    _files.write_json(path, {"a": 1})

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        _files.write_json(path, {"a": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_toml_writer_round_trips_awkward_values():
    import tomllib

    data = {"s": 'quote " and \\ and \n newline', "f": 1e-12, "i": -3, "b": False,
            "l": [1.5, 2.0], "t": {"k": "v", "sub": {"x": 1}}, "key with space": 1}
    assert tomllib.loads(_files.dumps_toml(data)) == data


def test_gated_model_run(tmp_path):
    """A GRU trains and is analysed through the same run pipeline; the low-rank stage says why
    it does not apply, and the fixed points are found in the GRU's own state space."""
    cfg = with_values(tiny_config(tmp_path), {"model.type": "GRU", "model.rank": None,
                                              "model.n_neurons": 8})
    res = run(cfg, progress=False)
    assert res.ran == list(_stages_names())
    model = nd.load(res.run_dir / "model.eqx")
    assert isinstance(model, nd.models.GRU) and model.n_states == 8
    assert res.metrics["lowrank"] == {"applicable": False,
                                      "reason": "the model is not a LowRankRNN"}
    fps = nd.load(res.run_dir / "fixedpoints.eqx")
    assert fps.xstar.shape[-1] == 8


@pytest.mark.slow
def test_full_rank_model_with_dpad(tmp_path):
    """Every analysis on a FullRankRNN, DPAD included (the default tests run PSID only)."""
    cfg = with_values(tiny_config(tmp_path), {
        "model.type": "FullRankRNN", "model.rank": None, "analyses.dpad.methods": ["psid", "dpad"],
        "analyses.dpad.max_epochs": 5, "analyses.dpad.n_init": 1, "analyses.dpad.hidden": [8],
    })
    res = run(cfg, progress=False)
    assert res.ran == list(_stages_names())
    metrics = res.metrics
    assert metrics["lowrank"] == {"applicable": False, "reason": "the model is not a LowRankRNN"}
    fit = nd.load(res.run_dir / "dpad.eqx")
    assert fit.method == "dpad" and fit.latents.shape[-1] == 2
    z = np.asarray(fit.behaviour).reshape(-1)
    zh = np.asarray(fit.prediction).reshape(-1)
    assert np.isclose(np.corrcoef(z, zh)[0, 1], metrics["dpad"]["dpad"]["cc"], atol=2e-3)
    report = (res.run_dir / "report.md").read_text()
    assert "@article{sani2024" in report and "| DPAD |" in report
    assert "mastrogiuseppe2018" not in report
