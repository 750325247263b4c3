"""`neurodyn run` with a [data] section: a recording in, report.md with the decoding table, the
LINT rank sweep, flow field and fixed points out; clear ConfigErrors for bad [data] entries."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from nwbsession import shared_session

from neurodyn import data, experiment
from neurodyn.experiment import ConfigError

pytest.importorskip("pynwb")

SMALL = """
name = "rec"
output_dir = "{out}"
[data]
path = "{path}"
bin_ms = 20.0
smooth_ms = 40.0
behaviour = ["lever"]
inputs = ["motion"]
align = "start_time"
after_ms = 1020.0
condition = "coherence"
analyses = ["psid", "ipsid", "lint"]
[data.lint]
ranks = [1, 2]
steps = 40
[analyses.dpad]
nx = 2
n1 = 1
horizon = 4
[analyses.fixed_points]
n_initial = 8
max_steps = 500
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return shared_session(tmp_path_factory, n_trials=48, n_neurons=40)


@pytest.fixture(scope="module")
def ran(session, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    config = experiment.load_config(SMALL.format(out=out, path=session.path))
    return config, experiment.run(config, progress=False)


def test_report_holds_the_decoding_table_rank_sweep_and_fixed_points(ran, session):
    config, res = ran
    assert res.ran == ["recording", "decoding", "lint"]
    report = (res.run_dir / "report.md").read_text()
    metrics = json.loads((res.run_dir / "metrics.json").read_text())
    dec, lint = metrics["decoding"], metrics["lint"]
    for m in ("PSID", "IPSID"):  # the table shows what decoding.json holds
        row = re.search(rf"\| {m} \| (yes|no) \| ([-\d.e]+) \| ([-\d.e]+) \|", report)
        assert row is not None, report
        assert float(row.group(2)) == pytest.approx(dec[m.lower()]["cc"], rel=1e-3)
        assert row.group(1) == ("yes" if m == "IPSID" else "no")
    assert "DPAD" not in report.split("## Low-rank")[0].split("| method")[1]
    for r, tr, te in zip(lint["ranks"], lint["r2_train"], lint["r2_test"]):
        assert re.search(rf"\| {r}( \*\*\(chosen\)\*\*)? \| {tr:.4g} \| {te:.4g} \|", report)
    assert lint["chosen_rank"] in (1, 2) and f"Chosen rank **{lint['chosen_rank']}**" in report
    for stem in ("recording", "decoding", "lint_ranks", "lint_dynamics"):
        assert (res.run_dir / f"{stem}.png").is_file() and f"({stem}.png)" in report
    # the behaviour is the network's output: its decoding from the spikes is good
    assert dec["psid"]["cc"] > 0.8 and dec["ipsid"]["cc"] > 0.8
    # the preprocessed recording holds the trials, aligned with the true inputs
    rec = data.read_npz(res.run_dir / "recording.npz")
    assert rec.n_trials == 48 and rec.n_channels == 40
    np.testing.assert_allclose(np.stack(rec.u)[..., 0], np.asarray(session.trials.inputs)[..., 0],
                               atol=1e-9)
    assert "sani2021" in report and "dubreuil2022" in report


def test_a_second_run_skips_and_a_changed_entry_reruns(ran):
    config, res = ran
    again = experiment.run(config, progress=False)
    assert again.ran == [] and again.skipped == ["recording", "decoding", "lint"]
    changed = experiment.with_values(config, {"analyses.dpad.nx": 3})
    assert experiment.stage_hash(changed, "decoding") != experiment.stage_hash(config,
                                                                                "decoding")
    assert experiment.stage_hash(changed, "lint") == experiment.stage_hash(config, "lint")


def test_the_example_config_is_valid():
    root = Path(__file__).resolve().parents[1]
    config = experiment.load_config(root / "experiments/configs/recording.toml")
    assert config.data.analyses == ("psid", "ipsid", "dpad", "lint")
    assert config.data.lint.ranks == (1, 2, 3) and config.analyses.dpad.nx == 2


def test_config_round_trip_and_citation(ran):
    config, _ = ran
    assert experiment.load_config(experiment.dump_toml(config)) == config
    assert config.task is None and config.data.lint.ranks == (1, 2)
    keys = config.methods()
    assert "sani2021" in keys and "dubreuil2022" in keys
    # IPSID and LINT are cited by their own papers; nothing of a task-training run is
    assert {"vahidi2024", "valente2022"} <= set(keys)
    bib = experiment.citation(config, quiet=True)
    assert "@article{vahidi2024" in bib and "@inproceedings{valente2022" in bib
    assert "mante2013" not in bib


@pytest.mark.parametrize("edit, match", [
    ({"path": None}, "needs path"),
    ({"format": "csv"}, "data.format"),
    ({"bin_ms": -1.0}, "data.bin_ms"),
    ({"bin_ms": None}, "data.bin_ms"),
    ({"smooth_ms": "a"}, "data.smooth_ms"),
    ({"analyses": ["psid", "pca"]}, "data.analyses"),
    ({"analyses": []}, "data.analyses"),
    ({"analyses": ["psid", "psid"]}, "repeat"),
    ({"inputs": None}, "data.inputs"),
    ({"align": None}, "data.align"),
    ({"test_fraction": 1.0}, "data.test_fraction"),
    ({"colour": "red"}, "unknown key 'colour' in \\[data\\]"),
    ({"lint": {"ranks": [0]}}, "data.lint.ranks"),
    ({"lint": {"readout": "pca"}}, "data.lint.readout"),
    ({"lint": {"average": True}, "condition": None}, "data.lint.average"),
    ({"lint": {"step": 3}}, "unknown key 'step' in \\[data.lint\\]"),
    ({"dpad_neural": "bernoulli"}, "data.dpad_neural"),
    ({"dpad_neural": "poisson", "smooth_ms": 40.0}, "spike counts"),
])
def test_bad_data_entries_are_config_errors(edit, match):
    table = {"path": "s.nwb", "bin_ms": 20.0, "inputs": ["motion"], "behaviour": ["lever"],
             "align": "start_time", "after_ms": 500.0, "condition": "coherence"}
    for k, v in edit.items():
        if v is None:
            table.pop(k, None)
        else:
            table[k] = v
    with pytest.raises(ConfigError, match=match):
        experiment.load_config({"name": "x", "data": table})


def test_data_runs_have_no_task_and_runtime_problems_name_the_key(tmp_path, session):
    with pytest.raises(ConfigError, match=r"\[task\]: a \[data\] run"):
        experiment.load_config({"name": "x", "data": {"path": "a.npz"},
                                "task": {"name": "PerceptualDecisionMaking"}})
    with pytest.raises(ConfigError, match="analyses.dpad.n1"):
        experiment.load_config({"name": "x", "data": {"path": "a.npz"},
                                "analyses": {"dpad": {"nx": 1, "n1": 2}}})
    base = {"name": "x", "output_dir": str(tmp_path),
            "data": {"path": str(tmp_path / "missing.nwb"), "bin_ms": 20.0,
                     "inputs": ["motion"], "behaviour": ["lever"], "analyses": ["psid"]}}
    with pytest.raises(ConfigError, match="data.path"):
        experiment.run(base, progress=False)
    base["data"]["path"] = session.path
    base["data"]["align"] = "reward_time"
    with pytest.raises(ConfigError, match="data.align"):
        experiment.run(base, progress=False)
    base["data"].update(align="start_time", after_ms=1020.0, analyses=["lint"],
                        lint={"ranks": [1, 41]})
    with pytest.raises(ConfigError, match="data.lint.ranks: rank 41 is larger than the "
                                          "recording's 40 units"):
        experiment.run(base, progress=False)
    # a recording without trials asked to align: the npz file holds no trials table
    rec = data.Recording(y=np.random.default_rng(0).poisson(1.0, (300, 4)),
                         z=np.zeros((300, 1)), rate=50.0)
    data.save_npz(tmp_path / "flat.npz", rec)
    flat = {"name": "y", "output_dir": str(tmp_path),
            "data": {"path": str(tmp_path / "flat.npz"), "align": "start_time",
                     "analyses": ["psid"]}}
    with pytest.raises(ConfigError, match="no trials table"):
        experiment.run(flat, progress=False)


@pytest.mark.slow
def test_dpad_with_inputs_and_poisson_observations_in_a_run(session, tmp_path):
    config = SMALL.format(out=tmp_path, path=session.path).replace(
        'analyses = ["psid", "ipsid", "lint"]', 'analyses = ["ipsid", "dpad"]\ndpad_neural = '
        '"poisson"').replace("smooth_ms = 40.0", "smooth_ms = 0.0")
    res = experiment.run(experiment.load_config(config), progress=False)
    dec = res.metrics["decoding"]
    assert dec["dpad"]["inputs"] and dec["dpad"]["cc"] > 0.8, dec
    report = (res.run_dir / "report.md").read_text()
    assert "| DPAD | yes |" in report and "Poisson" in report
