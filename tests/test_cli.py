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
