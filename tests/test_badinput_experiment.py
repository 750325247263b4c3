"""Bad input to the experiment API: every typed key of a run config, the model's and task's
keywords in it, and the arguments of `load_config`, `run`, `sweep`, `with_values` and
`citation` are answered by a clear error naming them, before any work starts."""

import math

import pytest
from badinput import (
    FUZZ,
    assert_clear_error,
    bad_bool,
    bad_count,
    bad_nonnegative_number,
    bad_positive_number,
)
from hypothesis import given, strategies as st

from neurodyn import experiment
from neurodyn.experiment import _config as schema

CONFIG = """
name = "c"
[task]
name = "PerceptualDecisionMaking"
[model]
n_neurons = 16
[training]
steps = 5
"""


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a run that started would write its folder here


# ------------------------------------------------------------------ config values (Python API)
_not_a_string = st.sampled_from([None, 1, 1.5, True, [], {}, ["a"], b"x", ""])
_KIND_BAD = {
    "pos_int": bad_count(1), "nonneg_int": bad_count(0),
    "seed": st.one_of(bad_count(0), st.integers(min_value=2**32)),
    "pos_float": bad_positive_number(), "nonneg_float": bad_nonnegative_number(),
    "bool": bad_bool(), "str": _not_a_string,
    "str_list": st.sampled_from(["psid", None, 1, [1], [None], {"a": 1}, [b"x"]]),
    "int_list": st.sampled_from([[0], [-1], [1.5], "8", 8, [True], [None], None, [math.nan]]),
}


def _bad_for(kind: str):
    bad = _KIND_BAD[kind.rstrip("?")]
    return bad.filter(lambda v: v is not None) if kind.endswith("?") else bad


def _schema_keys():
    """(config path, kind) of every typed key of the schema, the analyses' sub-tables included."""
    out = [(f"training.{k}", kind) for k, kind in schema.TrainingConfig.KINDS.items()]
    out += [(f"cluster.{k}", kind) for k, kind in schema.ClusterConfig.KINDS.items()
            if k != "executor"]
    for name, cls in schema.AnalysesConfig.SECTIONS.items():
        out += [(f"analyses.{name}.{k}", kind) for k, kind in cls.KINDS.items()]
    out += [("model.n_neurons", "pos_int"), ("model.rank", "pos_int"), ("name", "str"),
            ("output_dir", "str"), ("task.name", "str"), ("task.preset", "str?")]
    return out


SCHEMA_KEYS = _schema_keys()


def _config_with(path: str, value) -> dict:
    data = {"name": "c", "task": {"name": "PerceptualDecisionMaking"}}
    node = data
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return data


@pytest.mark.parametrize("path, kind", SCHEMA_KEYS, ids=[p for p, _ in SCHEMA_KEYS])
@FUZZ
@given(data=st.data())
def test_load_config_bad_values(path, kind, data):
    value = data.draw(_bad_for(kind), label=path)
    assert_clear_error("experiment.load_config", path,
                       lambda: experiment.load_config(_config_with(path, value)))


@pytest.mark.parametrize("path, bad", [
    ("model.tau", bad_positive_number()), ("model.dt", bad_positive_number()),
    ("model.noise_std", bad_nonnegative_number()), ("task.dt", bad_positive_number()),
    ("task.stimulus", bad_positive_number()),
], ids=lambda v: v if isinstance(v, str) else "")
@FUZZ
@given(data=st.data())
def test_load_config_bad_constructor_keywords(path, bad, data):
    """Keys passed on to the model's or task's constructor are checked when the config is read
    (by the constructor itself), and the message names the section and the key."""
    value = data.draw(bad.filter(lambda v: v is not None), label=path)  # no None in TOML
    section, key = path.split(".")
    err = assert_clear_error("experiment.load_config", key,
                             lambda: experiment.load_config(_config_with(path, value)))
    assert f"[{section}]" in str(err)


@FUZZ
@given(source=st.sampled_from([None, 5, 1.5, [], b"name = 'x'", "", "   ", object(),
                               ("a.toml",)]))
def test_load_config_bad_source(source):
    assert_clear_error("experiment.load_config", "source",
                       lambda: experiment.load_config(source))


@pytest.mark.parametrize("table, words", [
    ({"nonlinear": "foo", "methods": ["dpad"]}, ["[analyses.dpad]", "foo"]),
    ({"nonlinear": "all", "hidden": [], "methods": ["dpad"]}, ["[analyses.dpad]", "hidden"]),
])
def test_dpad_settings_checked_at_load_time(table, words):
    """Values only DPAD itself knows are refused when the config is read, not after training."""
    with pytest.raises(experiment.ConfigError) as err:
        experiment.from_dict(_config_with("analyses.dpad", table))
    for w in words:
        assert w in str(err.value)


# ------------------------------------------------------------------ run, sweep, citation
@pytest.fixture(scope="module")
def cfg():
    return experiment.load_config(CONFIG)


@FUZZ
@given(progress=bad_bool(), force=bad_bool(), run_dir=st.sampled_from([5, 1.5, b"x", "", []]),
       config=st.sampled_from([None, 5, 1.5, [], b"x", object()]))
def test_run_arguments(cfg, progress, force, run_dir, config, tmp_path):
    run = experiment.run
    assert_clear_error("experiment.run", "progress", lambda: run(cfg, progress=progress))
    assert_clear_error("experiment.run", "force", lambda: run(cfg, force=force))
    assert_clear_error("experiment.run", "run_dir", lambda: run(cfg, run_dir=run_dir))
    assert_clear_error("experiment.run", "config", lambda: run(config))
    assert not list(tmp_path.iterdir())  # nothing written


@FUZZ
@given(progress=bad_bool(), executor=st.sampled_from([5, "local", object(), [], "inline"]),
       on_submit=st.sampled_from([5, "print", [], object()]))
def test_sweep_arguments(cfg, progress, executor, on_submit):
    sweep = experiment.sweep
    grid = experiment.with_values(cfg, {})
    assert_clear_error("experiment.sweep", "progress", lambda: sweep(grid, progress=progress))
    assert_clear_error("experiment.sweep", "executor", lambda: sweep(grid, executor=executor))
    assert_clear_error("experiment.sweep", "on_submit", lambda: sweep(grid, on_submit=on_submit))


@FUZZ
@given(methods=st.sampled_from([5, 1.5, [1], [None], ["psid", 2], object(), {"psid": 1},
                                ["nope"], "nope", b"psid"]), quiet=bad_bool())
def test_citation_arguments(methods, quiet):
    assert_clear_error("experiment.citation", "methods",
                       lambda: experiment.citation(methods, quiet=True))
    assert_clear_error("experiment.citation", "quiet", lambda: experiment.citation(quiet=quiet))


@FUZZ
@given(values=st.sampled_from([None, 5, "model.rank", [("model.rank", 2)], {1: 2}, {"": 1}]),
       bad_path=st.sampled_from(["training.steps.x", "model.rank.y"]))
def test_with_values_arguments(cfg, values, bad_path):
    assert_clear_error("experiment.with_values", "values",
                       lambda: experiment.with_values(cfg, values))
    assert_clear_error("experiment.with_values", "config",
                       lambda: experiment.with_values(cfg.to_dict(), {}))
    assert_clear_error("experiment.with_values", bad_path,
                       lambda: experiment.with_values(cfg, {bad_path: 1}))


@pytest.mark.parametrize("where", ["output_dir", "run_dir"])
def test_output_folder_inside_a_file(cfg, where, tmp_path):
    """An output folder that cannot be created names the setting, before any training."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    if where == "output_dir":
        args, kwargs = [experiment.with_values(cfg, {"output_dir": str(blocker)})], {}
    else:
        args, kwargs = [cfg], {"run_dir": blocker / "run"}
    assert_clear_error("experiment.run", where, lambda: experiment.run(*args, **kwargs))
    grid = experiment.with_values(cfg, {"output_dir": str(blocker / "sub")}).to_dict()
    grid["sweep"] = {"seed": [0, 1]}
    assert_clear_error("experiment.sweep", "output_dir",
                       lambda: experiment.sweep(experiment.from_dict(grid)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
