"""A save killed mid-write leaves a temporary file; the next save to the same target removes it,
and never a temporary that a live writer may still be using."""

import os
import subprocess
import sys
import textwrap
import time

import jax
import pytest

import neurodyn as nd
from neurodyn import io as ndio


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the pid no longer names a process (barring reuse within the test)
    return proc.pid


def _temps(folder, target="net.eqx"):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{target}."))


@pytest.fixture(scope="module")
def model():
    return nd.models.LowRankRNN(8, 1, 1, 1, key=jax.random.key(0))


def test_a_save_killed_mid_write_is_cleaned_up_by_the_next(tmp_path, model):
    """A real writer process dies between writing its temporary file and renaming it."""
    target = tmp_path / "net.eqx"
    child = textwrap.dedent(f"""
        import os, jax
        import neurodyn as nd
        os.replace = lambda *args: os._exit(9)  # killed after the data, before the rename
        nd.save({str(target)!r}, nd.models.LowRankRNN(8, 1, 1, 1, key=jax.random.key(1)))
    """)
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=600)
    assert done.returncode == 9, done.stderr.decode()[-2000:]
    (orphan,) = _temps(tmp_path)
    assert orphan.endswith(".tmp") and not target.exists()
    assert os.path.getsize(tmp_path / orphan) > 0
    nd.save(target, model)
    assert _temps(tmp_path) == [] and [p.name for p in tmp_path.iterdir()] == ["net.eqx"]
    nd.load(target)


def test_only_stale_temporaries_of_the_same_target_are_removed(tmp_path, model):
    host, dead, old = ndio._HOST, _dead_pid(), time.time() - 2 * ndio.STALE_SECONDS
    names = {
        # ours, this host, writer gone: removed
        f".net.eqx.{host}-{dead}.abcd_123.tmp": True,
        # ours, this host, writer alive (this very process, another thread maybe): kept
        f".net.eqx.{host}-{os.getpid()}.abcd_124.tmp": False,
        # another host: cannot check its pid; removed only once untouched for STALE_SECONDS
        ".net.eqx.otherhost-12-4242.abcd_125.tmp": "old",
        ".net.eqx.otherhost-12-4243.abcd_126.tmp": False,
        # the old naming scheme (no pid): by age
        ".net.eqx.k3j4l5m6.tmp": "old",
        ".net.eqx.k3j4l5m7.tmp": False,
        # other targets and other files: never touched
        f".net.eqx2.{host}-{dead}.abcd_127.tmp": False,
        f".net.eqx.1.{host}-{dead}.abcd_128.tmp": False,
        f".net.eqx.{host}-{dead}.abcd_129.tmpx": False,
        f".net.eqx.{host}-{dead}.tmp": False,
        "net.eqx.abcdefgh.tmp": False,
        "notes.txt": False,
    }
    for name, fate in names.items():
        path = tmp_path / name
        path.write_bytes(b"partial")
        if fate == "old" or name == "notes.txt":
            os.utime(path, (old, old))
    (tmp_path / f".net.eqx.{host}-{dead}.abcd_130.tmp").mkdir()  # a folder: left alone
    nd.save(tmp_path / "net.eqx", model)
    left = {p.name for p in tmp_path.iterdir()}
    for name, fate in names.items():
        assert (name in left) == (fate is False), name
    assert f".net.eqx.{host}-{dead}.abcd_130.tmp" in left and "net.eqx" in left
    assert nd.load(tmp_path / "net.eqx").n_neurons == 8


def test_temporaries_carry_host_and_pid(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    ndio.write_atomic(tmp_path / "a.json", b"{}")
    (name,) = seen
    assert name.startswith(f".a.json.{ndio._HOST}-{os.getpid()}.") and name.endswith(".tmp")
    rest = name[len(".a.json."):]
    assert ndio._OURS.fullmatch(rest)
