"""One run pipeline (issue 15): the studies in experiments/ read their configs through the same
code as run configs, `neurodyn quickstart`/`train` are run configs, and the pipeline's own
modules import each other in one direction only."""

import ast
import importlib.util
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

import neurodyn as nd
from neurodyn import _version, cli, experiment
from neurodyn.experiment import ConfigError, check_study_config, load_study_config

ROOT = Path(__file__).resolve().parent.parent
STUDIES = sorted(p.parent for p in (ROOT / "experiments").glob("*/run.py"))


def _study_module(study: Path):
    spec = importlib.util.spec_from_file_location(f"cfg_{study.name}", study / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.name)
def test_study_configs_pass_their_schema(study):
    """Both configs of every study satisfy the study's own schema, read by the run-config
    reader; a misspelt key is named."""
    keys = _study_module(study).KEYS
    for name in experiment.STUDY_CONFIGS:
        cfg = load_study_config(study, name, keys)
        assert cfg == experiment.read_config_file(study / f"{name}.toml")
    bad = dict(load_study_config(study, "small"))
    first = next(iter(keys))
    bad[first + "s"] = bad.pop(first)
    with pytest.raises(ConfigError, match=rf"unknown config key\(s\) \['{first}s'\]"):
        check_study_config(bad, keys)


def test_study_values_are_checked_like_run_config_values():
    keys = dict(steps=int, rate=float, name=str)
    good = dict(steps=3, rate=0.5, name="a")
    assert check_study_config(good, keys) == good
    for key, value in [("rate", float("nan")), ("rate", float("inf")), ("steps", True),
                       ("name", ""), ("rate", "0.1")]:
        with pytest.raises(ConfigError, match=f"config key '{key}' must be"):
            check_study_config({**good, key: value}, keys)
    with pytest.raises(ConfigError, match=r"^tasks.a: config key 'steps' is missing"):
        check_study_config(dict(rate=1.0, name="a"), keys, where="tasks.a")
    with pytest.raises(TypeError, match="study schema"):
        check_study_config(good, dict(steps=tuple))


def test_a_study_and_a_run_config_each_say_which_command_runs_them(tmp_path):
    # a run config where a study's config should be
    example = (ROOT / "experiments/configs/example.toml").read_text()
    (tmp_path / "small.toml").write_text(example)
    with pytest.raises(ConfigError, match="is a run config.*neurodyn run"):
        load_study_config(tmp_path, "small")
    # invalid TOML is reported by the shared reader, with the study's path
    (tmp_path / "paper.toml").write_text("seed = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_study_config(tmp_path, "paper")
    # a study's config given to `neurodyn run`: the error names the study's own command
    study = ROOT / "experiments/sussillo2013_flipflop"
    with pytest.raises(ConfigError, match=r"config of a study.*run.py --config paper"):
        experiment.load_config(study / "paper.toml")


def test_cli_training_is_a_validated_run_config(tmp_path):
    cfg = cli.training_config(task="PerceptualDecisionMaking", preset="dubreuil2022", rank=2,
                              neurons=64, steps=30, batch_size=8, learning_rate=0.01, seed=5,
                              out=str(tmp_path / "q"), n_test=100)
    assert cfg.run_dir() == tmp_path / "q" and cfg.model.rank == 2 and cfg.training.seed == 5
    assert cfg.training.eval_every == 30 and cfg.analyses.performance.n_trials == 100
    assert cfg.analyses.performance.psychometric_repeats == cli.PSYCHOMETRIC_REPEATS
    a = cfg.analyses
    assert not (a.fixed_points.enabled or a.lowrank.enabled or a.dpad.enabled)
    assert experiment.load_config(experiment.dump_toml(cfg)) == cfg
    with pytest.raises(ConfigError, match="model.n_neurons"):
        cli.training_config(task="PerceptualDecisionMaking", preset=None, rank=1, neurons=0,
                            steps=1, batch_size=1, learning_rate=0.1, seed=0, out="x")


def test_provenance_helpers_live_in_one_place():
    assert cli.versions is experiment.versions is _version.versions
    assert experiment.git_commit is _version.git_commit
    v = _version.versions()
    assert v["neurodyn"] == nd.__version__ and {"jax", "equinox", "numpy", "python"} <= set(v)
    full, short = _version.git_commit(ROOT), _version.git_commit(ROOT, short=True)
    if full is not None:  # inside a git checkout
        assert full["commit"].startswith(short["commit"]) and len(short["commit"]) < 40
    assert _version.git_commit("/") is None or isinstance(_version.git_commit("/"), dict)


def test_experiment_plot_sweep_is_a_deprecated_alias():
    rows = [dict(status="ok", rank=r, accuracy=a, seed=s)
            for r, a, s in [(1, 0.5, 0), (1, 0.7, 1), (2, 0.9, 0)]]
    with pytest.warns(DeprecationWarning, match="neurodyn.plot.plot_sweep"):
        ax = experiment.plot_sweep(rows, "rank")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = nd.plot.plot_sweep(rows, "rank")
    (line,), (ref_line,) = ax.get_lines()[:1], ref.get_lines()[:1]
    assert list(line.get_ydata()) == list(ref_line.get_ydata()) == pytest.approx([0.6, 0.9])
    plt.close("all")


PIPELINE = [ROOT / "neurodyn/cli.py", ROOT / "neurodyn/_cliargs.py",
            *sorted((ROOT / "neurodyn/experiment").glob("*.py"))]


def _neurodyn_imports(path: Path):
    """(line, module, inside a function, names) of every import of a neurodyn module in `path`
    (those only for type checkers, under `if TYPE_CHECKING:`, left out)."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and (child.level or (child.module or "")
                                                      .startswith("neurodyn")):
                found.append((child.lineno, "." * child.level + (child.module or ""),
                              in_function, [a.name for a in child.names]))
            visit(child, inner)

    visit(tree, False)
    return found


def test_pipeline_modules_import_at_the_top_and_not_each_others_privates():
    for path in PIPELINE:
        for line, module, in_function, names in _neurodyn_imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            assert not in_function, f"{where}: function-local import of {module}"
            if path.parent.name != "experiment":  # cli and _cliargs use experiment's public API
                assert not module.startswith(".experiment._"), where
            assert "._registry" not in module, where


def test_experiment_modules_have_no_import_cycle():
    graph = {}
    for path in (ROOT / "neurodyn/experiment").glob("_*.py"):
        deps = set()
        for _, module, _, names in _neurodyn_imports(path):
            if module == ".":
                deps |= {n for n in names if n.startswith("_")}
            elif module.startswith(".") and not module.startswith(".."):
                deps.add(module[1:])
        graph[path.stem] = deps

    def reaches(start, goal, seen=()):
        return any(d == goal or (d not in seen and reaches(d, goal, (*seen, d)))
                   for d in graph.get(start, ()))

    assert not [m for m in graph if reaches(m, m)]
