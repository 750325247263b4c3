"""fit_ensemble layouts: members split across (two simulated CPU) devices, or trained a few at a
time, give the same networks as all members vmapped on one device."""

import jax
import numpy as np
import pytest

import neurodyn as nd


def _make(k):
    return nd.models.LowRankRNN(16, 1, 1, 1, key=k)


@pytest.fixture(scope="module")
def reference(decision_task):
    keys = jax.random.split(jax.random.key(7), 4)
    val = decision_task.sample(jax.random.key(8), 16)
    kwargs = dict(keys=keys, steps=12, eval_every=6, val_trials=val, batch_size=8,
                  progress=False)
    return kwargs, nd.train.fit_ensemble(_make, decision_task, devices=1, member_batch=4,
                                         **kwargs)


@pytest.mark.parametrize("devices, member_batch", [(2, 1), (1, 1)])
def test_layouts_agree(decision_task, reference, devices, member_batch):
    if devices == 2 and len(jax.devices()) < 2:
        pytest.skip("needs two devices (tests/conftest.py sets jax_num_cpu_devices=2)")
    kwargs, ref = reference
    out = nd.train.fit_ensemble(_make, decision_task, devices=devices,
                                member_batch=member_batch, **kwargs)
    expected_devices = 2 if devices == 2 or (devices is None and len(jax.devices()) == 2) else 1
    assert out.history.config["devices"] == expected_devices
    np.testing.assert_allclose(out.history.loss, ref.history.loss, rtol=1e-5)
    np.testing.assert_allclose(out.history.val_loss, ref.history.val_loss, rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(out.model), jax.tree_util.tree_leaves(ref.model)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    if expected_devices == 2:
        assert len(out.model.m.sharding.device_set) == 2  # really split across devices


def test_layout_argument_errors(decision_task):
    keys = jax.random.split(jax.random.key(0), 3)
    with pytest.raises(ValueError, match="devices"):
        nd.train.fit_ensemble(_make, decision_task, keys=keys, steps=1, devices=0,
                              progress=False)
    with pytest.raises(ValueError, match="member_batch"):
        nd.train.fit_ensemble(_make, decision_task, keys=keys, steps=1, member_batch=0,
                              progress=False)
    if len(jax.devices()) >= 2:
        with pytest.raises(ValueError, match="split evenly"):
            nd.train.fit_ensemble(_make, decision_task, keys=keys, steps=1, devices=2,
                                  progress=False)


def test_keys_are_checked(decision_task):
    keys = jax.random.split(jax.random.key(0), 3)
    bad = {
        "distinct": jax.numpy.stack([keys[0], keys[1], keys[0]]),
        "at least one": keys[:0],
        "1-D array": keys.reshape(3, 1),
        "PRNG keys": np.zeros(3, np.float32),
        "shape": jax.random.key_data(keys)[:, :1],
    }
    for match, k in bad.items():
        with pytest.raises(ValueError, match=match):
            nd.train.fit_ensemble(_make, decision_task, keys=k, steps=1, progress=False)
