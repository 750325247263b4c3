"""experiments/valente2022_lint (Valente, Pillow & Ostojic 2022, LINT teacher -> student): the
`small` config run end to end as tests/test_experiments.py runs the other studies, with checks
that a wrong analysis would fail, and the study's helpers against NumPy references."""

import importlib.util

import jax
import numpy as np
import pytest
from test_experiments import EXPERIMENTS, run_small

import neurodyn as nd
from neurodyn import lowrank as lr


def _study():
    spec = importlib.util.spec_from_file_location(
        "exp_valente2022_lint", EXPERIMENTS / "valente2022_lint" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_valente2022_lint_small(tmp_path):
    record = run_small("valente2022_lint", tmp_path)
    d = record["data"]
    assert d["ranks"] == [1, 2, 3]
    (task,) = d["tasks"]
    assert task["task"] == "ContextDecisionMaking"
    for key in ("trunc_r2", "trunc_r2_states", "trunc_accuracy", "lint_r2", "lint_accuracy"):
        assert np.shape(task[key]) == (1, 3), key
    assert task["teacher_accuracy"][0] >= 0.9
    lint, trunc = np.asarray(task["lint_r2"][0]), np.asarray(task["trunc_r2"][0])
    acc, trunc_acc = np.asarray(task["lint_accuracy"][0]), np.asarray(task["trunc_accuracy"][0])
    # The paper's result in kind: LINT students explain the teacher's activity far better than
    # its SVD truncation at low rank, their R² rises from rank 1, and the student performs the
    # task through the teacher's readout from a low rank, where the truncation does not.
    assert lint[0] > 0.7 and lint[-1] > lint[0] + 0.02, lint
    assert lint[0] > trunc[0] + 0.3, (lint, trunc)
    minimal = task["minimal_student_rank"]
    assert minimal is not None and minimal <= 2
    assert acc[minimal - 1] >= 0.9 and acc[minimal - 1] > trunc_acc[minimal - 1] + 0.15
    # every published context number is in the table beside the measured one
    published = {r["published"] for r in record["rows"]}
    assert {"0.92", "0.03", "0.49"} <= published


def test_valente2022_student_readout_and_r2_helpers():
    """The student read out through the teacher's readout: a full-rank SVD truncation of the
    teacher is the teacher, so it must give the teacher's outputs exactly; the paper's pooled R²
    against NumPy, and never below the per-unit-mean R² of `lowrank.explained_variance`."""
    run = _study()
    teacher = nd.models.FullRankRNN(12, 4, 1, noise_std=0.0, key=jax.random.key(0))
    u = np.asarray(jax.random.normal(jax.random.key(1), (3, 15, 4)))
    student = run.with_readout(lr.truncate(teacher, 12), teacher, 0.0)
    np.testing.assert_allclose(
        np.asarray(student.simulate(u, key=None, noise=False).outputs),
        np.asarray(teacher.simulate(u, key=None, noise=False).outputs), atol=1e-5)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 10, 6)) + np.arange(6)  # units with different means
    p = a + 0.5 * rng.normal(size=a.shape)
    flat_a, flat_p = a.ravel(), p.ravel()
    ref = 1 - np.sum((flat_a - flat_p) ** 2) / np.sum((flat_a - flat_a.mean()) ** 2)
    assert run.pooled_r2(a, p) == pytest.approx(ref)
    assert run.pooled_r2(a, p) > lr.explained_variance(a, p) + 0.1
    same = a - a.mean(axis=(0, 1))  # equal unit means: both definitions agree
    assert run.pooled_r2(same, same + p - a) == pytest.approx(
        lr.explained_variance(same, same + p - a))


def test_valente2022_bad_configs_name_the_problem():
    run = _study()
    cfg = dict(seed=0, ranks=[1, 2], n_teachers=1, n_trials=8, test_fraction=0.2,
               n_eval_trials=8, tasks=dict(ctx=dict(
                   task="ContextDecisionMaking", n_neurons=8, rho=1.0, noise_std=0.05,
                   teacher_steps=1, teacher_learning_rate=1e-3, lint_steps=1,
                   lint_learning_rate=1e-2, lint_batch_size=4)))
    assert run.check(cfg) == cfg
    with pytest.raises(ValueError, match=r"tasks.ctx.task must be one of"):
        run.check(dict(cfg, tasks=dict(ctx=dict(cfg["tasks"]["ctx"], task="Mante"))))
    with pytest.raises(ValueError, match="ranks must be a non-empty list of positive ints"):
        run.check(dict(cfg, ranks=[0, 1]))
    with pytest.raises(ValueError, match="'lint_steps' is missing"):
        ctx = {k: v for k, v in cfg["tasks"]["ctx"].items() if k != "lint_steps"}
        run.check(dict(cfg, tasks=dict(ctx=ctx)))
