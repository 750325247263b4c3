"""Bad input at the command line: every bad option of every `neurodyn` sub-command, and every
bad value in the config a command reads, is answered by one line naming it and a non-zero exit,
before any training or compilation. (The experiment API: tests/test_badinput_experiment.py.)"""

import math
import os

import pytest
from badinput import FUZZ, TRIED
from hypothesis import given, strategies as st

import neurodyn as nd
from neurodyn import cli, experiment
from neurodyn.experiment import _config as schema

TRAINING_COMMANDS = ["quickstart", "train"]


@pytest.fixture(autouse=True)
def no_work(monkeypatch, tmp_path):
    """Any command that gets past its checks fails the test at once (nothing trains here)."""

    def boom(*args, **kwargs):
        raise AssertionError("work started: a bad input was accepted")

    monkeypatch.setattr(cli, "train_and_report", boom)
    monkeypatch.setattr(experiment, "run", boom)
    monkeypatch.setattr(experiment, "sweep", boom)
    monkeypatch.chdir(tmp_path)  # default output folders would land here
    monkeypatch.delenv("NEURODYN_DEBUG", raising=False)


def assert_cli_error(capsys, command: str, option: str, argv: list[str], *,
                     entry: str | None = None) -> str:
    """`neurodyn COMMAND ARGV` exits non-zero with one line on stderr that names `option`."""
    TRIED[entry or f"cli {command}"] += 1
    capsys.readouterr()
    try:
        code = cli.main([command, *argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert code not in (0, None), f"neurodyn {command} {argv} exited 0: {out}"
    assert len(lines) == 1, f"neurodyn {command} {argv}: not one line: {out.err!r}"
    assert option in lines[0], f"neurodyn {command} {argv}: {option} not named: {lines[0]}"
    assert "Traceback" not in out.err and out.out == ""
    return lines[0]


def _parses(text: str, kind):
    try:
        return kind(text)
    except (ValueError, OverflowError):
        return None


def _is_count(text: str, low: int, high: float = math.inf) -> bool:
    value = _parses(text, int)
    return value is not None and low <= value <= high


def _is_positive(text: str) -> bool:
    value = _parses(text, float)
    return value is not None and math.isfinite(value) and value > 0


_texts = st.text(max_size=8)


def bad_count_text(low: int = 1, high: float = math.inf):
    return st.one_of(
        st.sampled_from(["0", "-1", "1.5", "2.0", "1e3", "x", "", " ", "nan", "inf", "True",
                         "0x10", "--"]),
        st.integers(max_value=low - 1).map(str),
        st.floats().map(repr),
        _texts,
    ).filter(lambda t: not _is_count(t, low, high))


def bad_positive_text():
    return st.one_of(
        st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "0", "-0", "-1", "-1e-9", "x",
                         "", "1,5", "0.0"]),
        st.floats(max_value=0.0).map(repr),
        st.integers(max_value=0).map(str),
        _texts,
    ).filter(lambda t: not _is_positive(t))


# ------------------------------------------------------------------ the training commands
@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@pytest.mark.parametrize("option", ["--rank", "--neurons", "--steps", "--batch-size"])
@FUZZ
@given(value=bad_count_text())
def test_cli_counts(command, option, value, capsys):
    assert_cli_error(capsys, command, option, [f"{option}={value}"])


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@FUZZ
@given(value=bad_positive_text())
def test_cli_learning_rate(command, value, capsys):
    assert_cli_error(capsys, command, "--lr", [f"--lr={value}"])


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@FUZZ
@given(value=st.one_of(bad_count_text(0, 2**32 - 1), st.integers(min_value=2**32).map(str)))
def test_cli_seed(command, value, capsys):
    # jax.random.key(2**32) is key(0): a seed that large would silently repeat another
    assert_cli_error(capsys, command, "--seed", [f"--seed={value}"])


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@FUZZ
@given(value=_texts.filter(lambda t: t not in nd.tasks.names()))
def test_cli_task(command, value, capsys):
    assert_cli_error(capsys, command, "--task", [f"--task={value}"])


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@FUZZ
@given(value=_texts.filter(lambda t: t not in ("dubreuil2022", "neurogym")))
def test_cli_preset(command, value, capsys):
    assert_cli_error(capsys, command, "--preset", ["--task=PerceptualDecisionMaking",
                                                   f"--preset={value}"])


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@FUZZ
@given(neurons=st.integers(1, 64), extra=st.integers(1, 1000))
def test_cli_rank_above_neurons(command, neurons, extra, capsys):
    line = assert_cli_error(capsys, command, "--rank",
                            [f"--neurons={neurons}", f"--rank={neurons + extra}"])
    assert "--neurons" in line


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file.txt"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@FUZZ
@given(sub=st.one_of(st.just(""), st.text("abc/_.", min_size=1, max_size=6)))
def test_cli_out_into_a_file(command, sub, a_file, capsys):
    target = f"{a_file}/{sub}" if sub else str(a_file)
    assert_cli_error(capsys, command, "--out", [f"--out={target}"])


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
@pytest.mark.parametrize("value", ["", " ", "a\x00b", "tab\there"])
def test_cli_empty_or_control_characters(command, value, capsys):
    assert_cli_error(capsys, command, "--out", [f"--out={value}"])
    assert_cli_error(capsys, command, "--preset", [f"--preset={value}"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_cli_out_not_writable(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = assert_cli_error(capsys, "train", "--out", [f"--out={locked / 'run'}"])
    assert "permission" in line


def test_cli_unknown_option_and_command(capsys):
    assert_cli_error(capsys, "train", "--learning-rate", ["--learning-rate=0.1"])
    assert_cli_error(capsys, "nope", "nope", [], entry="cli")


# ------------------------------------------------------------------ run, sweep, citation
@pytest.mark.parametrize("command", ["run", "sweep"])
@FUZZ
@given(sub=st.one_of(st.just(""), st.text("abc/_.", min_size=1, max_size=6)))
def test_cli_output_dir_into_a_file(command, sub, a_file, capsys):
    target = f"{a_file}/{sub}" if sub else str(a_file)
    assert_cli_error(capsys, command, "--output-dir", ["c.toml", f"--output-dir={target}"])


@FUZZ
@given(value=_texts.filter(lambda t: t not in schema.EXECUTORS))
def test_cli_sweep_executor(value, capsys):
    assert_cli_error(capsys, "sweep", "--executor", ["c.toml", f"--executor={value}"])


@FUZZ
@given(value=_texts.filter(lambda t: t not in experiment.citation_keys()))
def test_cli_citation_methods(value, capsys):
    from neurodyn.experiment._citation import METHODS, TASK_PAPERS

    if value in METHODS or value in TASK_PAPERS:
        return
    assert_cli_error(capsys, "citation", "--methods", ["--methods", "psid", f"--methods={value}"])


@pytest.mark.parametrize("command", ["run", "sweep", "citation"])
def test_cli_empty_config_path(command, capsys):
    assert_cli_error(capsys, command, "config", [""])


CONFIG = """
name = "c"
[task]
name = "PerceptualDecisionMaking"
[model]
n_neurons = 16
[training]
steps = 5
"""

# (TOML line in [training] or [model], the key the message must name)
BAD_TOML = [
    ("learning_rate = nan", "training.learning_rate"),
    ("learning_rate = inf", "training.learning_rate"),
    ("learning_rate = -1", "training.learning_rate"),
    ("learning_rate = 0", "training.learning_rate"),
    ('learning_rate = "0.01"', "training.learning_rate"),
    ("steps = 0", "training.steps"),
    ("batch_size = -3", "training.batch_size"),
    ("batch_size = 2.0", "training.batch_size"),
    ("seed = -1", "training.seed"),
    ("seed = 4294967296", "training.seed"),
    ("keep_best = 1", "training.keep_best"),
    ("clip_norm = nan", "training.clip_norm"),
    ("early_stop = 0", "training.early_stop"),
    ("lerning_rate = 0.1", "lerning_rate"),
]


@pytest.mark.parametrize("command", ["run", "sweep", "citation"])
@pytest.mark.parametrize("line, key", BAD_TOML)
def test_cli_bad_config_values_name_the_key(command, line, key, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    text = CONFIG.replace("steps = 5", line + ("" if line.startswith("steps") else
                                                "\nsteps = 5"))
    path.write_text(text + ("[sweep]\nseed = [0, 1]\n" if command == "sweep" else ""))
    line = assert_cli_error(capsys, command, key, [str(path)])
    assert line.startswith(f"neurodyn {command}: error:")


def test_cli_study_config_says_how_to_run_it(capsys):
    study = os.path.join(os.path.dirname(__file__), "..", "experiments", "dubreuil2022",
                         "small.toml")
    line = assert_cli_error(capsys, "run", "'seed'", [study])
    assert "run.py --config small" in line and "study" in line


# ------------------------------------------------------------------ library errors
@pytest.mark.parametrize("error, code", [(ValueError("bad\nvalue"), 2),
                                         (TypeError("bad type"), 2),
                                         (OSError(28, "No space left on device"), 1)])
def test_library_errors_are_one_line(error, code, monkeypatch, capsys):
    def fail(**kwargs):
        raise error

    monkeypatch.setattr(cli, "train_and_report", fail)
    assert cli.main(["train", "--steps=1"]) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("neurodyn train: error:") and "NEURODYN_DEBUG=1" in err
    # the traceback on request: NEURODYN_DEBUG=1 or --debug (before or after the command)
    for argv, env in [(["train", "--steps=1"], "1"), (["train", "--debug"], None),
                      (["--debug", "train"], None)]:
        if env:
            monkeypatch.setenv("NEURODYN_DEBUG", env)
        with pytest.raises(type(error)):
            cli.main(argv)
        monkeypatch.delenv("NEURODYN_DEBUG", raising=False)


def test_interrupt_is_one_line(monkeypatch, capsys):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "train_and_report", interrupted)
    assert cli.main(["quickstart"]) == 130
    assert capsys.readouterr().err.strip() == "neurodyn quickstart: interrupted"


def test_help_documents_the_debug_switch(capsys):
    for argv in ([], ["train"], ["run"]):
        with pytest.raises(SystemExit):
            cli.main([*argv, "--help"])
        assert "NEURODYN_DEBUG=1" in " ".join(capsys.readouterr().out.split())
