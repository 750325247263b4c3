"""Checkpoint integrity: the checksum covers header and arrays, so an edit or a flipped bit
anywhere is an error; damaged and foreign files all give the same clear error; format-1 files
(checksum over the arrays only) still load, with a warning."""

import hashlib
import io
import json
import zipfile

import equinox as eqx
import jax
import numpy as np
import pytest

import neurodyn as nd

INVALID = "not a valid neurodyn checkpoint"


@pytest.fixture(scope="module")
def model():
    return nd.models.LowRankRNN(24, 2, 1, 1, nonlinearity="softplus", key=jax.random.key(0))


@pytest.fixture
def saved(tmp_path, model):
    path = nd.save(tmp_path / "net.eqx", model, metadata={"note": "x"}, seed=3)
    return path, path.read_bytes()


def write_format1(path, obj, metadata=None, seed=None):
    """A checkpoint exactly as format 1 (neurodyn <= 0.x before this change) wrote it: the
    SHA-256 covers the array payload only."""
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, obj)
    payload = buffer.getvalue()
    leaves = [x for x in jax.tree_util.tree_leaves(obj) if eqx.is_array(x)]
    header = {
        "format": "neurodyn-checkpoint",
        "format_version": 1,
        "class": type(obj).__name__,
        "hyperparameters": obj.hyperparameters(),
        "versions": {"neurodyn": "0.1.0", "jax": jax.__version__, "equinox": eqx.__version__},
        "seed": seed,
        "metadata": metadata or {},
        "leaves": [[list(x.shape), str(x.dtype)] for x in leaves],
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    return path


def same_model(a, b):
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert a.hyperparameters() == b.hyperparameters()
    for x, y in zip(leaves_a, leaves_b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize(
    "old, new",
    [
        (b'"tau": 100.0', b'"tau": 100.4'),
        (b'"dt": 20.0', b'"dt": 21.0'),
        (b'"readout_std": 4.0', b'"readout_std": 0.0'),
        (b'"nonlinearity": "softplus"', b'"nonlinearity": "tanh"    '),
        (b'"train": ["input_gains", "m", "n", "output_gains"]', b'"train": ["m", "n"]'),
        (b'"seed": 3', b'"seed": 4'),
        (b'"note": "x"', b'"note": "y"'),
    ],
)
def test_a_hand_edit_of_the_header_is_an_error(saved, old, new):
    path, data = saved
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))
    with pytest.raises(ValueError, match=f"{INVALID}: .*net.eqx: it fails its SHA-256 check"):
        nd.load(path)
    with pytest.raises(ValueError, match="SHA-256"):
        nd.io.read_header(path)


def test_an_edited_header_rewritten_as_json_is_an_error(saved):
    path, data = saved
    head, _, payload = data.partition(b"\n")
    header = json.loads(head)
    header["hyperparameters"]["tau"] = 50.0
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)  # old digest kept
    with pytest.raises(ValueError, match="SHA-256"):
        nd.load(path)
    del header["sha256"]
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    with pytest.raises(ValueError, match=f"{INVALID}.*no checksum"):
        nd.load(path)


def test_every_single_bit_flip_is_an_error(saved, model):
    """200 seeded single-bit flips, 100 in the header line and 100 in the arrays: each one is
    caught, none loads (a different model or the same one)."""
    path, data = saved
    nd.load(path)  # the intact file loads
    header_bits = (data.index(b"\n") + 1) * 8
    rng = np.random.default_rng(14)
    positions = np.concatenate([
        rng.choice(header_bits, 100, replace=False),
        header_bits + rng.choice(len(data) * 8 - header_bits, 100, replace=False),
    ])
    for bit in positions:
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match=INVALID):
            nd.load(path)


def test_random_damage_anywhere_is_an_error(saved):
    """Truncations, insertions, deletions and overwritten runs at random places."""
    path, data = saved
    rng = np.random.default_rng(7)
    for i in range(120):
        at = int(rng.integers(0, len(data)))
        kind = i % 4
        if kind == 0:
            damaged = data[:at]
        elif kind == 1:
            damaged = data[:at] + bytes(rng.integers(0, 256, 3, dtype=np.uint8)) + data[at:]
        elif kind == 2:
            damaged = data[:at] + data[at + 1 + int(rng.integers(0, 8)):]
        else:
            run = bytes(rng.integers(0, 256, 16, dtype=np.uint8))
            damaged = data[:at] + run + data[at + 16:]
        if damaged == data:
            continue
        path.write_bytes(damaged)
        with pytest.raises(ValueError, match=INVALID):
            nd.load(path)


def test_format1_files_load_with_a_warning(tmp_path, model):
    path = write_format1(tmp_path / "old.eqx", model, metadata={"a": 1}, seed=5)
    with pytest.warns(UserWarning, match="not protected.*Re-save"):
        loaded = nd.load(path)
    same_model(loaded, model)
    with pytest.warns(UserWarning, match="format-1"):
        header = nd.io.read_header(path)
    assert header["seed"] == 5 and header["metadata"] == {"a": 1}
    # Re-saving gives a format-2 file that loads without a warning.
    resaved = nd.save(tmp_path / "new.eqx", loaded)
    assert nd.io.read_header(resaved)["format_version"] == nd.io.FORMAT_VERSION == 2
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same_model(nd.load(resaved), model)
    # A damaged array in a format-1 file is still caught.
    data = bytearray(path.read_bytes())
    data[-3] ^= 4
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{INVALID}.*SHA-256"):
        nd.load(path)


def _format1_bytes(header: dict, payload: bytes = b"") -> bytes:
    return json.dumps(header).encode() + b"\n" + payload


def _base_header(**changes):
    header = {"format": "neurodyn-checkpoint", "format_version": 1, "class": "LowRankRNN",
              "payload_bytes": 0, "payload_sha256": hashlib.sha256(b"").hexdigest()}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not ...}


DAMAGED = {
    "empty": b"",
    "newline only": b"\n",
    "text": b"hello world\n",
    "png": b"\x89PNG\r\n\x1a\n" + bytes(64),
    "other json": b'{"format": "something-else"}\n',
    "json list": b'["neurodyn-checkpoint"]\n',
    "prefix only": b'{"format": "neurodyn-checkpoint"',
    "no newline": b'{"format": "neurodyn-checkpoint", "format_version": 2}',
    "bad utf-8": b'{"format": "neurodyn-checkpoint", "x": "\xff\xfe"}\n',
    "deeply nested": (b'{"format": "neurodyn-checkpoint", "format_version": 1, "metadata": '
                      + b"[" * 200_000 + b"]" * 200_000 + b"}\n"),
    "no hyperparameters": _format1_bytes(_base_header()),
    "hyperparameters a list": _format1_bytes(_base_header(hyperparameters=[1], leaves=[])),
    "no leaves": _format1_bytes(_base_header(hyperparameters={})),
    "bad hyperparameters": _format1_bytes(
        _base_header(hyperparameters={"n_neurons": "x"}, leaves=[])),
    "unknown hyperparameter": _format1_bytes(
        _base_header(hyperparameters={"nope": 1}, leaves=[])),
    "version string": _format1_bytes(_base_header(format_version="2")),
    "version float": _format1_bytes(_base_header(format_version=1.5)),
    "version null": _format1_bytes(_base_header(format_version=None)),
    "version true": _format1_bytes(_base_header(format_version=True)),
    "version 0": _format1_bytes(_base_header(format_version=0)),
    "no version": _format1_bytes(_base_header(format_version=...)),
    "payload size string": _format1_bytes(_base_header(payload_bytes="0")),
    "no payload hash": _format1_bytes(_base_header(payload_sha256=...)),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_and_foreign_files_give_one_clear_error(tmp_path, name):
    path = tmp_path / "x.eqx"
    path.write_bytes(DAMAGED[name])
    with pytest.raises(ValueError, match=f"^{INVALID}: {path}: ") as err:
        nd.load(path)
    assert not isinstance(err.value, (KeyError, RecursionError))
    if "hyperparameter" not in name:  # read_header checks the file, not what it would build
        with pytest.raises(ValueError, match=INVALID):
            nd.io.read_header(path)


def test_a_newer_format_says_so(tmp_path):
    path = tmp_path / "x.eqx"
    path.write_bytes(_format1_bytes(_base_header(format_version=99)))
    with pytest.raises(ValueError, match=f"{INVALID}.*newer neurodyn.*upgrade"):
        nd.load(path)


def test_an_npz_file_and_a_format2_file_cut_anywhere(tmp_path, saved):
    path = tmp_path / "x.eqx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("y.npy", b"\x93NUMPY")
    with pytest.raises(ValueError, match=INVALID):
        nd.load(path)
    _, data = saved
    for cut in range(0, len(data), max(1, len(data) // 50)):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=INVALID):
            nd.load(path)


class _KeyProbe(eqx.Module):
    """A saveable class that records what key its constructor gets."""

    w: jax.Array
    seen = []

    def __init__(self, n, *, key):
        _KeyProbe.seen.append(key)
        self.w = jax.random.normal(key, (n,))

    def hyperparameters(self):
        return {"n": int(self.w.shape[0])}


def test_load_builds_its_skeleton_without_a_concrete_key(tmp_path, monkeypatch):
    """The default builder gets an abstract key made from an abstract seed (no hidden fixed
    seed, no random numbers drawn); the loaded values are the file's."""
    nd.io.register_class(_KeyProbe)
    probe = _KeyProbe(4, key=jax.random.key(42))
    path = nd.save(tmp_path / "probe.eqx", probe)
    _KeyProbe.seen.clear()
    seeds, real_key = [], jax.random.key

    def spy(seed, *args, **kwargs):
        seeds.append(seed)
        return real_key(seed, *args, **kwargs)

    monkeypatch.setattr(jax.random, "key", spy)
    loaded = nd.load(path)
    assert seeds and all(isinstance(s, jax.core.Tracer) for s in seeds), seeds
    np.testing.assert_array_equal(np.asarray(loaded.w), np.asarray(probe.w))
    assert _KeyProbe.seen and all(isinstance(k, jax.core.Tracer) for k in _KeyProbe.seen)
