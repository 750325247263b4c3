"""The result types of dpad and lowrank: `Prediction`, `Scores`, `CrossValidation`,
`DPADModules`, `TruncationCurve` (NamedTuples, never dicts; one return type whatever the input),
the deprecated spellings they replace, and the import structure of dpad (no cycles)."""

import ast
import pathlib

import jax
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import dpad
from neurodyn.lowrank import _evaluate, _truncate


@pytest.fixture(scope="module")
def data():
    ssm = dpad.random_ssm(key=jax.random.key(0), nx=2, n1=1, ny=3, nz=1)
    y, z, _ = ssm.simulate(3000, key=jax.random.key(1))
    y_test, z_test, _ = ssm.simulate(600, key=jax.random.key(2))
    return y, z, y_test, z_test


@pytest.fixture(scope="module")
def models(data):
    y, z, _, _ = data
    psid = dpad.PSID(2, 1, 5).fit(y, z)
    dp = dpad.DPAD(2, 1, n_init=1, max_epochs=3, hidden=(4,)).fit(y, z, key=jax.random.key(0))
    return psid, dp


@pytest.mark.parametrize("which", [0, 1])
def test_predict_returns_arrays_for_a_recording_and_a_batch(data, models, which):
    """One recording gives `[T, ·]` arrays, a batch `[B, T, ·]` arrays equal to the per-trial
    predictions of `predict_trials`, which always gives lists."""
    _, _, y_test, _ = data
    model = models[which]
    one = model.predict(y_test)
    assert isinstance(one, dpad.Prediction)
    assert all(isinstance(a, np.ndarray) for a in one)
    assert one.z.shape == (600, 1) and one.y.shape == (600, 3) and one.x.shape == (600, 2)
    z_hat, y_hat, x = one  # the DESIGN.md contract: it unpacks
    np.testing.assert_array_equal(z_hat, one.z)
    batch = y_test.reshape(3, 200, 3)
    stacked = model.predict(batch)
    trials = model.predict_trials(list(batch))
    assert all(isinstance(a, np.ndarray) and a.shape[:2] == (3, 200) for a in stacked)
    assert all(isinstance(f, list) and len(f) == 3 for f in trials)
    for field in range(3):
        np.testing.assert_allclose(stacked[field], np.stack(trials[field]), rtol=1e-6, atol=1e-6)
    single = model.predict_trials(y_test)
    assert len(single.z) == 1
    np.testing.assert_array_equal(single.z[0], one.z)


def test_predict_of_a_list_is_deprecated_and_unchanged(data, models):
    _, _, y_test, _ = data
    trials = [y_test[:250], y_test[250:]]  # different lengths
    for model in models:
        with pytest.warns(DeprecationWarning, match="predict_trials"):
            old = model.predict(trials)
        new = model.predict_trials(trials)
        assert [t.shape[0] for t in old.z] == [250, 350]
        for a, b in zip(old, new):
            for ta, tb in zip(a, b):
                np.testing.assert_array_equal(ta, tb)


def test_scores_are_a_namedtuple_with_deprecated_dict_access(data, models):
    _, _, y_test, z_test = data
    for model in models:
        s = model.score(y_test, z_test)
        assert isinstance(s, dpad.Scores)
        assert s.cc == pytest.approx(float(np.nanmean(dpad.metrics.cc(z_test, model.predict(
            y_test).z))), rel=1e-12)
        assert s.auc is None and s.accuracy is None
        with pytest.warns(DeprecationWarning, match=r"\.cc"):
            assert s["cc"] == s.cc
        with pytest.warns(DeprecationWarning), pytest.raises(KeyError):
            s["auc"]  # a metric that does not apply is missing, as it was from the dict
        assert s[0] == s.cc  # positions are a tuple's


def test_metrics_score_and_its_deprecated_alias(data, models):
    _, _, y_test, z_test = data
    z_hat, y_hat, _ = models[0].predict(y_test)
    new = dpad.metrics.score(z_test, z_hat, y=y_test, y_hat=y_hat)
    with pytest.warns(DeprecationWarning, match="metrics.score"):
        old = dpad.metrics.evaluate(z_test, z_hat, y=y_test, y_hat=y_hat)
    assert old.cc == new.cc and old.y_r2 == new.y_r2
    np.testing.assert_array_equal(old.cc_dims, new.cc_dims)


def test_cross_validate_returns_folds_and_their_mean(data):
    y, z, _, _ = data
    out = dpad.metrics.cross_validate(lambda: dpad.PSID(2, 1, 5), y, z, n_folds=3)
    assert isinstance(out, dpad.CrossValidation) and isinstance(out.mean, dpad.Scores)
    assert len(out.folds) == 3
    assert out.mean.cc == pytest.approx(np.mean([f.cc for f in out.folds]), rel=1e-12)
    assert out.mean.cc_dims is None and out.mean.auc is None


def test_dpad_modules_is_a_namedtuple(models):
    modules = models[1].modules
    assert isinstance(modules, dpad.DPADModules)
    assert modules.rec1 is not None and modules.rec2 is not None
    with pytest.warns(DeprecationWarning, match=r"\.rec1"):
        assert modules["rec1"] is modules.rec1


def test_fit_placements_fits_candidates_together(data):
    """`fit_placements` (what `search` uses) gives one fitted copy per placement; a single
    placement with the key of `fit` gives the model `fit` gives."""
    y, z, y_test, _ = data
    proto = dpad.DPAD(2, 1, n_init=1, max_epochs=3, hidden=(4,))
    (alone,) = proto.fit_placements(y, z, [None], key=jax.random.key(0))
    fitted = dpad.DPAD(2, 1, n_init=1, max_epochs=3, hidden=(4,)).fit(y, z,
                                                                      key=jax.random.key(0))
    np.testing.assert_array_equal(alone.predict(y_test).z, fitted.predict(y_test).z)
    assert proto.modules is None  # the prototype stays unfitted
    pair = proto.fit_placements(y, z, ["none", "Cz"], key=jax.random.key(0))
    assert [sorted(m.nonlinear) for m in pair] == [[], ["Cz1", "Cz2"]]


def test_lowrank_accuracy_and_truncation_curve_types(decision_task):
    full = nd.models.FullRankRNN(16, 1, 1, key=jax.random.key(0))
    acc = _evaluate.accuracy(full, decision_task, key=jax.random.key(1), n_trials=16)
    assert isinstance(acc, np.float64) and np.shape(acc) == ()
    with pytest.warns(DeprecationWarning, match="lowrank.accuracy"):
        assert _evaluate.evaluate(full, decision_task, key=jax.random.key(1), n_trials=16) == acc
    curve = nd.lowrank.truncation_curve(full, decision_task, [1, 2], key=jax.random.key(1),
                                        n_trials=16)
    assert isinstance(curve, _truncate.TruncationCurve)
    np.testing.assert_array_equal(curve.ranks, [1, 2])
    assert curve.accuracy.shape == (2,)


def _imports(path: pathlib.Path) -> tuple[set[str], list[str]]:
    """(sibling modules imported at module level, function-local imports of neurodyn)."""
    tree = ast.parse(path.read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            top.add(node.module.split(".")[0] if node.module else "")
            top.update(a.name for a in node.names if not node.module)
    local = [ast.unparse(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
             for n in ast.walk(f) if isinstance(n, ast.ImportFrom)
             and (n.level > 0 or (n.module or "").startswith("neurodyn"))]
    return top, local


def test_dpad_has_no_import_cycles_nor_local_imports():
    package = pathlib.Path(dpad.__file__).parent
    graph, local = {}, {}
    for path in package.glob("*.py"):
        graph[path.stem], local[path.stem] = _imports(path)
    assert not {k: v for k, v in local.items() if v}

    def reach(start, node, seen):
        for nxt in graph.get(node, ()):
            if nxt == start:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reach(start, nxt, seen):
                    return True
        return False

    cyclic = [m for m in graph if m != "__init__" and reach(m, m, set())]
    assert not cyclic, f"dpad modules in an import cycle: {cyclic}"
