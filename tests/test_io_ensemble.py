"""Stacked ensembles (the model of `fit_ensemble`) save to one file and load back; every other
saveable object still round-trips."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd


def assert_same_tree(a, b):
    la = [x for x in jax.tree_util.tree_leaves(a) if eqx.is_array(x)]
    lb = [x for x in jax.tree_util.tree_leaves(b) if eqx.is_array(x)]
    assert len(la) == len(lb) and la
    for x, y in zip(la, lb):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)


def _make(key):
    return nd.models.LowRankRNN(16, 1, 1, 1, tau=80.0, nonlinearity="softplus", key=key)


def test_hand_stacked_ensemble_round_trips(tmp_path):
    keys = jax.random.split(jax.random.key(3), 5)
    ensemble = eqx.filter_vmap(_make)(keys)
    path = nd.save(tmp_path / "ens.eqx", ensemble, metadata={"what": "5 nets"}, seed=3)
    header = nd.io.read_header(path)
    assert header["members"] == 5 and header["hyperparameters"]["tau"] == 80.0
    loaded = nd.load(path)
    assert_same_tree(loaded, ensemble)
    for i in (0, 4):
        one = nd.train.member(loaded, i)
        assert_same_tree(one, _make(keys[i]))
        # A member saves and loads as a single network.
        single = nd.load(nd.save(tmp_path / f"m{i}.eqx", one))
        assert nd.io.read_header(tmp_path / f"m{i}.eqx")["members"] is None
        assert_same_tree(single, one)


def test_single_model_header_has_no_members(tmp_path):
    model = _make(jax.random.key(0))
    assert nd.io.read_header(nd.save(tmp_path / "m.eqx", model))["members"] is None


def test_full_rank_ensemble_round_trips(tmp_path):
    keys = jax.random.split(jax.random.key(5), 2)
    ensemble = eqx.filter_vmap(lambda k: nd.models.FullRankRNN(8, 1, 2, rho=0.5, key=k))(keys)
    assert_same_tree(nd.load(nd.save(tmp_path / "full.eqx", ensemble)), ensemble)


@pytest.mark.slow  # compiles a training run (~30 s); the hand-stacked test above is the fast one
def test_fit_ensemble_model_saves_and_loads(tmp_path, decision_task):
    keys = jax.random.split(jax.random.key(1), 2)
    result = nd.train.fit_ensemble(_make, decision_task, keys=keys, steps=2, batch_size=4,
                                   eval_every=2, val_trials=4, progress=False, devices=1)
    path = nd.save(tmp_path / "fit.eqx", result.model)
    assert nd.io.read_header(path)["members"] == 2
    loaded = nd.load(path)
    assert_same_tree(loaded, result.model)
    assert_same_tree(nd.train.member(loaded, 1), nd.train.member(result.model, 1))


def test_arrays_that_fit_neither_a_model_nor_a_stack_are_refused(tmp_path):
    model = _make(jax.random.key(0))
    bad = eqx.tree_at(lambda m: m.m, model, jnp.zeros((17, 1)))
    with pytest.raises(ValueError, match="obj: its array shapes"):
        nd.save(tmp_path / "bad.eqx", bad)
    ensemble = eqx.filter_vmap(_make)(jax.random.split(jax.random.key(0), 3))
    ragged = eqx.tree_at(lambda m: m.n, ensemble, jnp.zeros((2, 16, 1)))  # 3 and 2 members
    with pytest.raises(ValueError, match="obj: its array shapes"):
        nd.save(tmp_path / "bad.eqx", ragged)
    assert not (tmp_path / "bad.eqx").exists()


def test_a_model_with_nan_weights_is_refused(tmp_path):
    model = _make(jax.random.key(0))
    bad = eqx.tree_at(lambda m: m.n, model, model.n.at[3, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="obj has NaN or Inf values in n"):
        nd.save(tmp_path / "nan.eqx", bad)


@pytest.mark.parametrize("jacobians", [False, True])
def test_fixed_points_still_round_trip(tmp_path, jacobians):
    """A FixedPoints of random values (with complex eigenvalues, integer and bool fields)."""
    from neurodyn.fixedpoints._result import skeleton

    hp = dict(n_points=4, n_states=3, n_inputs=2, dtype="float32", has_jacobians=jacobians,
              dynamics="discrete", period=1, dt=20.0, report=None)
    keys = iter(jax.random.split(jax.random.key(0), 20))

    def fill(x):
        k = next(keys)
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            return jax.lax.complex(jax.random.normal(k, x.shape), jax.random.normal(k, x.shape)
                                   ).astype(x.dtype)
        if jnp.issubdtype(x.dtype, jnp.floating):
            return jax.random.normal(k, x.shape, x.dtype)
        return jax.random.randint(k, x.shape, 0, 2).astype(x.dtype)

    fps = jax.tree_util.tree_map(fill, skeleton(hp))
    loaded = nd.load(nd.save(tmp_path / "fps.eqx", fps, metadata={"n": 4}))
    assert type(loaded) is type(fps) and loaded.hyperparameters() == fps.hyperparameters()
    assert_same_tree(loaded, fps)


def test_latent_fit_still_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    fit = nd.experiment.LatentFit(
        jnp.asarray(rng.standard_normal((2, 5, 3)), jnp.float32),
        jnp.asarray(rng.standard_normal((2, 5, 1)), jnp.float32),
        jnp.asarray(rng.standard_normal((2, 5, 1)), jnp.float32), "psid", 3, 2,
    )
    loaded = nd.load(nd.save(tmp_path / "lf.eqx", fit))
    assert (loaded.method, loaded.nx, loaded.n1) == ("psid", 3, 2)
    assert_same_tree(loaded, fit)
