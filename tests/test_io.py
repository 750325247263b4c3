import hashlib
import json
import os

import equinox as eqx
import jax
import numpy as np
import pytest
from jaxcompat import enable_x64

import neurodyn as nd


def signed(header: dict, payload: bytes) -> bytes:
    """A format-2 file with this (edited) header, checksum recomputed as the format documents:
    SHA-256 of the whole file with the digest (the header's last entry) written as 64 zeros."""
    header = {k: v for k, v in header.items() if k != "sha256"}
    header["sha256"] = "0" * 64
    head = json.dumps(header).encode()
    digest = hashlib.sha256(head + b"\n" + payload).hexdigest()
    assert head.endswith(b'"sha256": "' + b"0" * 64 + b'"}')
    return head[:-66] + digest.encode() + b'"}' + b"\n" + payload


@pytest.fixture
def model():
    return nd.models.LowRankRNN(24, 2, 1, 1, nonlinearity="softplus", key=jax.random.key(0))


def test_roundtrip_identical_outputs(tmp_path, model):
    path = nd.save(tmp_path / "net.eqx", model, metadata={"note": "test"}, seed=7)
    loaded = nd.load(path)
    assert type(loaded) is type(model) and loaded.nonlinearity == "softplus"
    u = jax.random.normal(jax.random.key(1), (2, 10, 1))
    a = model.simulate(u, key=jax.random.key(2))
    b = loaded.simulate(u, key=jax.random.key(2))
    np.testing.assert_array_equal(a.outputs, b.outputs)
    header = nd.io.read_header(path)
    assert header["seed"] == 7 and header["metadata"] == {"note": "test"}
    assert header["hyperparameters"]["rank"] == 2
    assert header["versions"]["neurodyn"] == nd.__version__


def test_full_rank_roundtrip(tmp_path):
    model = nd.models.FullRankRNN(12, 2, 3, rho=0.7, key=jax.random.key(0))
    loaded = nd.load(nd.save(tmp_path / "full.eqx", model))
    np.testing.assert_array_equal(loaded.J, model.J)
    assert loaded.rho == 0.7


def test_truncated_checkpoint_gives_clear_error(tmp_path, model):
    path = nd.save(tmp_path / "net.eqx", model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError, match="truncated"):
        nd.load(path)
    path.write_bytes(data[:10])
    with pytest.raises(ValueError, match="not a neurodyn checkpoint"):
        nd.load(path)


def test_corrupted_checkpoint(tmp_path, model):
    path = nd.save(tmp_path / "net.eqx", model)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256"):
        nd.load(path)


def test_mismatched_shapes_and_unknown_class(tmp_path, model):
    path = nd.save(tmp_path / "net.eqx", model)
    head, _, payload = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    header["hyperparameters"]["n_neurons"] = 25
    path.write_bytes(signed(header, payload))  # consistent checksum, inconsistent shapes
    with pytest.raises(ValueError, match="do not match"):
        nd.load(path)
    header["class"] = "os.system"
    path.write_bytes(signed(header, payload))
    with pytest.raises(ValueError, match="unknown class"):
        nd.load(path)


def test_failed_save_keeps_previous_file(tmp_path, model, monkeypatch):
    path = nd.save(tmp_path / "net.eqx", model)
    before = path.read_bytes()
    other = nd.models.LowRankRNN(24, 2, 1, 1, key=jax.random.key(1))

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        nd.save(path, other)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.eqx"]  # no temporary left behind


def test_save_errors(tmp_path, model):
    with pytest.raises(ValueError, match="cannot save"):
        nd.save(tmp_path / "x.eqx", {"a": 1})
    with pytest.raises(ValueError, match="JSON"):
        nd.save(tmp_path / "x.eqx", model, metadata={"f": object()})
    with pytest.raises(FileNotFoundError):
        nd.load(tmp_path / "missing.eqx")


def test_load_keeps_the_files_dtypes_whatever_x64_says(tmp_path, model):
    """A float32 file loads as float32 under jax_enable_x64 (the skeleton would be float64),
    and a float64 file loads as float64 there and as float32 without x64."""
    path32 = nd.save(tmp_path / "net32.eqx", model)
    u = np.linspace(-1, 1, 20, dtype=np.float32).reshape(2, 10, 1)
    expected = np.asarray(model.simulate(u, key=None, noise=False).outputs)
    with enable_x64(True):
        loaded = nd.load(path32)
        dtypes = {str(x.dtype) for x in jax.tree_util.tree_leaves(loaded) if eqx.is_array(x)}
        assert dtypes == {"float32"}
        out = loaded.simulate(u, key=None, noise=False).outputs
        assert out.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(out), expected)
        model64 = nd.models.LowRankRNN(24, 2, 1, 1, key=jax.random.key(3))
        assert model64.m.dtype == np.float64
        path64 = nd.save(tmp_path / "net64.eqx", model64)
        loaded64 = nd.load(path64)
        assert loaded64.m.dtype == np.float64
        np.testing.assert_array_equal(np.asarray(loaded64.m), np.asarray(model64.m))
    assert not jax.config.jax_enable_x64  # the flag is restored
    loaded64_32 = nd.load(path64)  # without x64 JAX holds no float64: rounded to float32
    assert loaded64_32.m.dtype == np.float32
    np.testing.assert_allclose(np.asarray(loaded64_32.m), np.asarray(model64.m), rtol=1e-7)


def test_load_rejects_a_leaf_of_another_kind(tmp_path, model):
    path = nd.save(tmp_path / "net.eqx", model)
    head, _, payload = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    header["leaves"][0][1] = "int32"  # a float leaf declared as integers
    path.write_bytes(signed(header, payload))
    with pytest.raises(ValueError, match="do not match"):
        nd.load(path)
