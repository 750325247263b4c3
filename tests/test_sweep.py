"""`neurodyn.experiment.sweep`: grids, jobs, failures that lose nothing, and the table."""

import json

import pytest

from neurodyn.experiment import (
    ClusterConfig,
    _stages,
    executor_parameters,
    expand,
    load_config,
    make_executor,
    read_table,
    sweep,
)

GRID = """
name = "grid"
output_dir = "{out}"
[task]
name = "PerceptualDecisionMaking"
[model]
n_neurons = 24
rank = 1
[training]
steps = 20
batch_size = 16
eval_every = 10
val_trials = 32
[analyses.fixed_points]
enabled = false
[analyses.lowrank]
enabled = false
[analyses.dpad]
enabled = false
[analyses.performance]
n_trials = 32
[cluster]
executor = "{executor}"
[sweep]
seed = [0, 1]
{axis}
"""


def grid_config(tmp_path, executor="inline", axis='"analyses.performance.n_trials" = [16, 32]'):
    return load_config(GRID.format(out=tmp_path, executor=executor, axis=axis))


def test_failed_job_loses_nothing_and_rerun_finishes_it(tmp_path, monkeypatch):
    cfg = grid_config(tmp_path)
    settings = expand(cfg)
    assert [len(s.members) for s in settings] == [2, 2]
    calls, broken = [], [True]
    real = _stages.train_members

    def flaky(configs, run_dirs, **kw):
        calls.append([c.training.seed for c in configs])
        if broken[0] and configs[0].analyses.performance.n_trials == 32:
            raise RuntimeError("this setting fails on purpose")
        return real(configs, run_dirs, **kw)

    monkeypatch.setattr(_stages, "train_members", flaky)
    res = sweep(cfg)
    assert calls == [[0, 1], [0, 1]]  # the two seeds of a setting train together
    bad = settings[1].id
    assert res.submitted == [s.id for s in settings] and list(res.failed) == [bad]
    assert "fails on purpose" in res.failed[bad]
    rows = read_table(res.sweep_dir / "results.csv")
    assert [(r["setting"], r["seed"], r["status"]) for r in rows] == [
        (settings[0].id, "0", "ok"), (settings[0].id, "1", "ok"),
        (bad, "0", "failed"), (bad, "1", "failed")]
    assert 0 <= float(rows[0]["accuracy"]) <= 1 and rows[2]["accuracy"] == ""
    assert json.loads((res.sweep_dir / "failures.json").read_text()) == res.failed
    good_model = res.sweep_dir / settings[0].id / "seed1" / "model.eqx"
    stamp = good_model.stat().st_mtime_ns

    # the rerun submits only the failed setting; the table is whole
    calls.clear()
    broken[0] = False
    res2 = sweep(cfg)
    assert res2.submitted == [bad] and res2.skipped == [settings[0].id] and not res2.failed
    assert calls == [[0, 1]]
    assert good_model.stat().st_mtime_ns == stamp
    rows = read_table(res2.sweep_dir / "results.csv")
    assert [r["status"] for r in rows] == ["ok"] * 4
    assert rows[0]["accuracy"] == str(res.table[0]["accuracy"])  # kept, not recomputed
    for ext in ("png", "pdf"):
        assert (res2.sweep_dir / f"summary_accuracy.{ext}").stat().st_size > 0
    # a third run has nothing to do
    assert sweep(cfg).submitted == []
    # each member is a complete run folder of its own config
    d = res2.sweep_dir / settings[1].id / "seed1"
    assert {p.name for p in d.iterdir()} >= {"model.eqx", "metrics.json", "report.md",
                                             "config.toml", "run.json", "stages"}
    assert load_config(d / "config.toml") == settings[1].members[1]


def test_slurm_parameters_reach_submitit(tmp_path, monkeypatch):
    submitit = pytest.importorskip("submitit")
    cluster = ClusterConfig(partition="gpu", time=90, gpus=2, cpus_per_task=8, mem_gb=32,
                            array_parallelism=3, account="lab", qos="high")
    params = executor_parameters(cluster)
    assert params == {"timeout_min": 90, "name": "neurodyn", "gpus_per_node": 2,
                      "cpus_per_task": 8, "mem_gb": 32.0, "slurm_partition": "gpu",
                      "slurm_array_parallelism": 3, "slurm_account": "lab",
                      "slurm_qos": "high"}
    # no cluster here: pretend `srun` exists so that submitit builds its SLURM executor
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))
    ex = make_executor(cluster, tmp_path / "jobs")
    assert isinstance(ex._executor, submitit.SlurmExecutor)
    p = ex._executor.parameters
    assert p["partition"] == "gpu" and p["time"] == 90 and p["gpus_per_node"] == 2
    assert p["array_parallelism"] == 3 and p["account"] == "lab" and p["qos"] == "high"
    script = ex._executor._make_submission_file_text("echo hi", "uid0")
    for line in ("#SBATCH --partition=gpu", "#SBATCH --time=90", "#SBATCH --gpus-per-node=2",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --mem=32GB", "#SBATCH --account=lab",
                 "#SBATCH --qos=high"):
        assert line in script, line
    local = executor_parameters(ClusterConfig(time=5))
    assert local == {"timeout_min": 5, "name": "neurodyn"}


@pytest.mark.slow
def test_submitit_local_executor_killed_job(tmp_path):
    """The issue's test: a 2x2 grid through submitit's local executor, one job killed on
    purpose; the rerun completes only that job and the table is whole."""
    pytest.importorskip("submitit")
    cfg = grid_config(tmp_path, executor="local", axis="rank = [1, 2]")
    settings = expand(cfg)
    victim = settings[1].id

    def kill(jobs):
        dict(jobs)[victim].cancel()

    res = sweep(cfg, on_submit=kill)
    assert list(res.failed) == [victim]
    assert [r["status"] for r in res.table] == ["ok", "ok", "failed", "failed"]
    res2 = sweep(cfg)
    assert res2.submitted == [victim] and not res2.failed
    assert [r["status"] for r in read_table(res2.sweep_dir / "results.csv")] == ["ok"] * 4
