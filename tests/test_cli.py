import json

import pytest

import neurodyn as nd
from neurodyn import cli


@pytest.mark.parametrize("command", [[], ["quickstart"], ["train"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(command + ["--help"])
    assert exc.value.code == 0
    assert "usage: neurodyn" in capsys.readouterr().out


def test_train_writes_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "--task", "PerceptualDecisionMaking", "--rank", "1", "--neurons",
                     "32", "--steps", "20", "--seed", "3", "--out", str(out), "--no-progress"])
    assert code == 0
    assert "held-out accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == 3 and metrics["versions"]["neurodyn"] == nd.__version__
    assert metrics["config"]["model_hyperparameters"]["n_neurons"] == 32
    assert len(metrics["history"]["loss"]) == 20 and 0 <= metrics["accuracy"] <= 1
    assert len(metrics["psychometric"]["values"]) == 17
    assert (out / "training.png").stat().st_size > 0 and (out / "training.pdf").exists()
    model = nd.load(out / "model.eqx")
    assert model.n_neurons == 32 and nd.io.read_header(out / "model.eqx")["seed"] == 3


def test_bad_task_name(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--task", "Nope"])
    assert "known tasks" in capsys.readouterr().err


CONFIG = """
name = "clirun"
[task]
name = "PerceptualDecisionMaking"
[model]
n_neurons = 16
[training]
steps = 5
"""


@pytest.mark.parametrize("command", [["run"], ["sweep"], ["citation"]])
def test_help_new_commands(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(command + ["--help"])
    assert exc.value.code == 0
    assert "usage: neurodyn" in capsys.readouterr().out


def test_run_command_passes_the_validated_config(tmp_path, monkeypatch, capsys):
    from neurodyn import experiment

    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    seen = {}

    def fake_run(cfg, *, progress, force):
        seen.update(cfg=cfg, progress=progress, force=force)
        return experiment.RunResult(cfg.run_dir(), ["train"], [],
                                    {"performance": {"accuracy": 0.75}})

    monkeypatch.setattr(experiment, "run", fake_run)
    code = cli.main(["run", str(path), "--output-dir", str(tmp_path / "out"), "--force",
                     "--no-progress"])
    assert code == 0
    assert seen["cfg"] == experiment.with_values(experiment.load_config(path),
                                                 {"output_dir": str(tmp_path / "out")})
    assert seen["force"] and not seen["progress"]
    out = capsys.readouterr().out
    assert "held-out accuracy: 0.7500" in out and "report.md" in out


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_bad_config_fails_before_any_work(command, tmp_path, monkeypatch, capsys):
    from neurodyn import experiment

    def boom(*a, **k):
        raise AssertionError("work started")

    monkeypatch.setattr(experiment, "run", boom)
    monkeypatch.setattr(experiment, "sweep", boom)
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace("steps = 5", "steps = 5\nlearnig_rate = 0.1"))
    assert cli.main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert "'learnig_rate'" in err and "[training]" in err and "learning_rate" in err
    assert cli.main([command, str(tmp_path / "missing.toml")]) == 2
    assert "no config file" in capsys.readouterr().err


def test_sweep_command_reports_failures(tmp_path, monkeypatch, capsys):
    from neurodyn import experiment

    path = tmp_path / "s.toml"
    path.write_text(CONFIG + "[sweep]\nseed = [0, 1]\nrank = [1, 2]\n")
    seen = {}

    def fake_sweep(cfg):
        seen["cfg"] = cfg
        table = [{"status": "ok"}] * 2 + [{"status": "failed"}] * 2
        return experiment.SweepResult(tmp_path, table, ["a", "b"], [], {"b": "RuntimeError: x"})

    monkeypatch.setattr(experiment, "sweep", fake_sweep)
    assert cli.main(["sweep", str(path), "--executor", "inline"]) == 1
    assert seen["cfg"].cluster.executor == "inline" and seen["cfg"].sweep["rank"] == [1, 2]
    captured = capsys.readouterr()
    assert "2/4 runs complete" in captured.out and "failed: b: RuntimeError: x" in captured.err


def test_citation_command(tmp_path, capsys):
    assert cli.main(["citation", "--methods", "dpad"]) == 0
    out = capsys.readouterr().out
    assert "@misc{neurodyn" in out and "@article{sani2024" in out
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    assert cli.main(["citation", str(path)]) == 0
    out = capsys.readouterr().out
    assert "@article{sussillo2013" in out and "@article{mastrogiuseppe2018" in out


def test_train_and_report_never_reuses_a_key(tmp_path, monkeypatch):
    """Issue 14: the held-out rollout and the psychometric rollout used the same noise key.
    Every random use now has its own key, and none is one that training derives."""
    from test_run import derived_keys, key_bits, record_keys

    used, training = [], []
    record_keys(monkeypatch, used, training, trainer="fit_ensemble")  # via experiment.run
    cli.train_and_report(task="PerceptualDecisionMaking", preset="dubreuil2022", rank=1,
                         neurons=8, steps=2, batch_size=4, learning_rate=1e-2, seed=0,
                         out=str(tmp_path), progress=False, n_test=8)
    assert [u for u, _ in used] == ["sample", "simulate", "conditions", "simulate"]
    bits = [key_bits(k) for _, k in used]
    assert len(set(bits)) == len(bits), "a key was used twice"
    (k_train,) = training
    assert not (derived_keys(k_train) | {key_bits(k_train)}) & set(bits)


def test_bad_option_exit_status_in_a_fresh_process(tmp_path):
    """What a shell sees: `neurodyn train --lr nan` exits 2 with one line naming --lr (it used
    to train and report an accuracy)."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "neurodyn.cli", "train", "--lr", "nan"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 2 and r.stdout == "" and not list(tmp_path.iterdir())
    assert r.stderr.count("\n") == 1 and "argument --lr:" in r.stderr and "nan" in r.stderr
