"""Run configs: defaults, round trips, and one clear error per bad config before any work."""

import json
import sys
from pathlib import Path

import pytest

from neurodyn.experiment import (
    Config,
    ConfigError,
    dump_toml,
    expand,
    from_dict,
    load_config,
    with_values,
)

ROOT = Path(__file__).resolve().parents[1]

BASE = """
name = "t"
[task]
name = "PerceptualDecisionMaking"
preset = "dubreuil2022"
stimulus = 400.0
[model]
n_neurons = 16
rank = 2
noise_std = 0.1
[training]
steps = 5
learning_rate = 1
[analyses.dpad]
methods = ["psid"]
hidden = [8, 8]
"""


def test_defaults_and_values():
    cfg = load_config(BASE)
    assert isinstance(cfg, Config) and cfg.output_dir == "runs"
    assert cfg.task.kwargs == {"stimulus": 400.0} and cfg.model.kwargs == {"noise_std": 0.1}
    assert cfg.training.learning_rate == 1.0 and isinstance(cfg.training.learning_rate, float)
    assert cfg.training.batch_size == 32 and cfg.analyses.fixed_points.enabled
    assert cfg.analyses.dpad.hidden == (8, 8) and cfg.task.build().stimulus == 400.0


def test_round_trip_toml_and_json(tmp_path):
    cfg = load_config(BASE)
    assert load_config(dump_toml(cfg)) == cfg
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg.to_dict()))
    assert load_config(path) == cfg
    toml_path = tmp_path / "c.toml"
    toml_path.write_text(dump_toml(cfg))
    assert load_config(toml_path) == cfg
    # a sweep and a full-rank model survive the trip too
    sweep = load_config(BASE + '[sweep]\nseed = [0, 1]\n"model.noise_std" = [0.0, 0.2]\n')
    assert load_config(dump_toml(sweep)) == sweep
    full = with_values(cfg, {"model.type": "FullRankRNN", "model.rank": None})
    assert full.model.rank is None and load_config(dump_toml(full)) == full


@pytest.mark.parametrize("text, words", [
    ('[training]\nstesp = 5', ["'stesp'", "[training]", "steps", "batch_size"]),
    ('[model]\nranks = 2', ["'ranks'", "[model]", "rank", "noise_std"]),
    ('[task]\nname = "PerceptualDecisionMaking"\ncoherence = 1', ["'coherence'", "[task]",
                                                                "coherences"]),
    ('[analyses.fixed_points]\nn_init = 3', ["'n_init'", "[analyses.fixed_points]",
                                            "n_initial"]),
    ('[analyses.spectra]\nenabled = true', ["'spectra'", "[analyses]", "dpad"]),
    ('[cluster]\npartitoin = "gpu"', ["'partitoin'", "[cluster]", "partition"]),
    ('outdir = "x"', ["'outdir'", "output_dir"]),
])
def test_unknown_key_named_with_known_keys(text, words):
    base = 'name = "t"\n[task]\nname = "PerceptualDecisionMaking"\n'
    if text.startswith("[task]"):
        base = 'name = "t"\n'
    elif not text.startswith("["):
        base, text = text + "\n" + base, ""
    with pytest.raises(ConfigError) as err:
        load_config(base + "\n" + text)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


@pytest.mark.parametrize("patch, words", [
    ({"training": {"steps": -3}}, ["training.steps", "positive integer", "-3"]),
    ({"training": {"steps": "10"}}, ["training.steps", "'10'"]),
    ({"training": {"learning_rate": 0}}, ["training.learning_rate", "> 0"]),
    ({"training": {"keep_best": 1}}, ["training.keep_best", "true or false"]),
    ({"task": {"name": "Nope"}}, ["task.name", "'Nope'", "PerceptualDecisionMaking"]),
    ({"task": {"name": "PerceptualDecisionMaking", "preset": "x"}}, ["[task]", "preset"]),
    ({"model": {"type": "Transformer"}}, ["model.type", "LowRankRNN", "GRU"]),
    ({"model": {"type": "GRU", "rank": 1}}, ["model.rank", "GRU"]),
    ({"model": {"type": "FullRankRNN", "rank": 2}}, ["model.rank", "FullRankRNN"]),
    ({"model": {"nonlinearity": "sigmoidal"}}, ["[model]", "sigmoidal"]),
    ({"analyses": {"dpad": {"methods": ["psid", "lds"]}}}, ["analyses.dpad.methods", "'lds'"]),
    ({"analyses": {"dpad": {"nx": 2, "n1": 3}}}, ["analyses.dpad.n1", "nx"]),
    ({"cluster": {"executor": "k8s"}}, ["cluster.executor", "slurm"]),
    ({"sweep": {"rank": 2}}, ["sweep.rank", "list"]),
    ({"sweep": {"ranks": [1]}}, ["'ranks'", "[sweep]"]),
    ({"sweep": {"rank": [1, 0]}}, ["sweep setting", "model.rank", "0"]),
    ({"name": "a/b"}, ["name", "folder"]),
])
def test_bad_values_name_the_key(patch, words):
    data = {"name": "t", "task": {"name": "PerceptualDecisionMaking"}}
    for k, v in patch.items():
        data[k] = v
    with pytest.raises(ConfigError) as err:
        from_dict(data)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_slurm_without_submitit(monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)  # import submitit now fails
    data = {"name": "t", "task": {"name": "PerceptualDecisionMaking"},
            "cluster": {"partition": "gpu"}}
    with pytest.raises(ConfigError, match=r"cluster.partition.*submitit"):
        from_dict(data)
    data["cluster"] = {"executor": "local"}  # a local sweep needs no check at load time
    assert from_dict(data).cluster.resolved_executor() == "local"


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="TOML"):
        load_config('name = "t"\n[task\n')
    with pytest.raises(ConfigError, match="no config file"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"\[task\]"):
        load_config('name = "t"\n')


def test_sweep_expansion_groups_seeds():
    grid = '[sweep]\nseed = [3, 4]\nrank = [1, 2]\ntask = ["PerceptualDecisionMaking", ' \
        '"DelayComparison"]\n'
    base = 'name = "t"\n[task]\nname = "PerceptualDecisionMaking"\n'
    settings = expand(load_config(base + grid))
    assert len(settings) == 4
    assert settings[0].values == {"rank": 1, "task": "PerceptualDecisionMaking"}
    for s in settings:
        assert [m.training.seed for m in s.members] == [3, 4]
        assert {m.model.rank for m in s.members} == {s.values["rank"]}
        assert {m.task.name for m in s.members} == {s.values["task"]}
        assert all(m.sweep is None for m in s.members)
    assert len({s.id for s in settings}) == 4
    # a task keyword that only one task of the grid has fails at load time, naming the setting
    with pytest.raises(ConfigError, match=r"sweep setting .*DelayComparison.*'stimulus'"):
        load_config(BASE + grid)


def test_example_configs_load():
    ex = load_config(ROOT / "experiments/configs/example.toml")
    assert ex.name == "example" and ex.analyses.dpad.methods == ("psid", "dpad")
    sw = load_config(ROOT / "experiments/configs/example_sweep.toml")
    assert len(expand(sw)) == 4 and all(len(s.members) == 3 for s in expand(sw))


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in
                                        (ROOT / "experiments").glob("*/*.toml")
                                        if (p.parent / "run.py").is_file()))
def test_study_configs_say_which_command_runs_them(path):
    """The studies in experiments/ have their own run.py; `neurodyn run` on their configs says
    so instead of only listing its own keys."""
    study = Path(path).parent
    with pytest.raises(ConfigError) as err:
        load_config(ROOT / path)
    message = str(err.value)
    assert f"python {ROOT / study / 'run.py'} --config {Path(path).stem}" in message
    assert "experiments/README.md" in message and "\n" not in message


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40, 1.0, True, "0"])
def test_seeds_that_jax_would_alias_are_refused(seed):
    """jax.random.key keeps 32 bits (without x64): key(2**32) is key(0), so such a seed
    would silently repeat another run."""
    base = 'name = "t"\n[task]\nname = "PerceptualDecisionMaking"\n'
    with pytest.raises(ConfigError, match="training.seed"):
        from_dict({**load_config(base).to_dict(), "training": {"seed": seed}})
    if isinstance(seed, int) and not isinstance(seed, bool):
        with pytest.raises(ConfigError, match="sweep.seed"):
            load_config(base + f"[sweep]\nseed = [0, {seed}]\n")
