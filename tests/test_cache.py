"""The persistent compilation cache that `import neurodyn` turns on (neurodyn/_cache.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pytest

from neurodyn import _cache

# A child process: import neurodyn, compile and run one small jitted function, and report the
# cache settings and how many programs JAX read from the persistent cache.
_CHILD = """
import json
import jax
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None
)
{before}
import neurodyn
import jax.numpy as jnp
y = jax.jit(lambda x: jnp.tanh(x @ x.T).sum() * 3.0 + 1.0)(jnp.ones((7, 5)))
jax.block_until_ready(y)
print(json.dumps({{
    "dir": jax.config.jax_compilation_cache_dir,
    "min_time": jax.config.jax_persistent_cache_min_compile_time_secs,
    "hits": len(hits),
}}))
"""


def _child(tmp_path: Path, env: dict[str, str], before: str = "") -> dict:
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_ENABLE_COMPILATION_CACHE",
                                 "JAX_PERSISTENT_CACHE", "NEURODYN_COMPILATION_CACHE"))}
    # XDG_CACHE_HOME moves neurodyn's default directory into tmp_path; matplotlib keeps its
    # own (it would otherwise rebuild its font cache there, in every child).
    full.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), MPLCONFIGDIR=matplotlib.get_cachedir(), **env)
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(before=before)], env=full,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*")) if directory.exists() else []


def test_cache_directory_follows_the_environment(tmp_path):
    home = Path.home()
    assert _cache.cache_directory({}) == home / ".cache" / "neurodyn" / "jax"
    xdg = str(tmp_path / "xdg")
    assert _cache.cache_directory({"XDG_CACHE_HOME": xdg}) == Path(xdg) / "neurodyn" / "jax"
    # A relative XDG_CACHE_HOME is invalid (XDG spec) and ignored.
    assert _cache.cache_directory({"XDG_CACHE_HOME": "rel"}) == home / ".cache" / "neurodyn" / "jax"
    chosen = {"XDG_CACHE_HOME": xdg, "NEURODYN_COMPILATION_CACHE_DIR": str(tmp_path / "mine")}
    assert _cache.cache_directory(chosen) == tmp_path / "mine"
    for off in ("0", "false", "OFF", " no "):
        assert _cache.cache_directory({**chosen, "NEURODYN_COMPILATION_CACHE": off}) is None
    for on in ("1", "true", "On", ""):
        assert _cache.cache_directory({**chosen, "NEURODYN_COMPILATION_CACHE": on}) is not None


def test_unknown_switch_value_is_a_clear_error():
    with pytest.raises(ValueError, match="^NEURODYN_COMPILATION_CACHE must be one of"):
        _cache.cache_directory({"NEURODYN_COMPILATION_CACHE": "disable"})


class _FakeConfig:
    """Stands in for jax.config in-process (the test process has its cache set already)."""

    jax_compilation_cache_dir = None
    jax_enable_compilation_cache = True
    jax_persistent_cache_min_compile_time_secs = 1.0

    def __init__(self):
        self.updates = []

    def update(self, name, value):
        self.updates.append((name, value))


def test_unwritable_directory_warns_and_leaves_jax_alone(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = _FakeConfig()
    monkeypatch.setattr(_cache, "jax", SimpleNamespace(config=config))
    with pytest.warns(RuntimeWarning, match="NEURODYN_COMPILATION_CACHE_DIR"):
        got = _cache.enable_compilation_cache(
            {"NEURODYN_COMPILATION_CACHE_DIR": str(blocker / "jax")})
    assert got is None and config.updates == []
    # The same call with a usable directory does update JAX's settings.
    got = _cache.enable_compilation_cache({"NEURODYN_COMPILATION_CACHE_DIR": str(tmp_path / "ok")})
    assert got == tmp_path / "ok" and config.updates == [
        ("jax_compilation_cache_dir", str(tmp_path / "ok")),
        ("jax_persistent_cache_min_compile_time_secs", _cache.MIN_COMPILE_TIME_S),
    ]


def test_default_directory_is_used_and_read_back_by_a_second_process(tmp_path):
    # The threshold 0 makes JAX write even this tiny program (it normally keeps programs
    # that took >= MIN_COMPILE_TIME_S to compile); that it stays 0 is itself checked.
    env = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    directory = tmp_path / "xdg" / "neurodyn" / "jax"
    first = _child(tmp_path, env)
    assert first["dir"] == str(directory) and first["min_time"] == 0
    assert first["hits"] == 0
    written = _entries(directory)
    assert written, "the first process wrote nothing to the cache"
    assert (directory.stat().st_mode & 0o777) == 0o700
    second = _child(tmp_path, env)
    assert second["hits"] >= 1, "the second process did not read the cache"
    assert _entries(directory) == written


def test_switched_off_by_the_environment(tmp_path):
    got = _child(tmp_path, {"NEURODYN_COMPILATION_CACHE": "0",
                            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"})
    assert got["dir"] is None and got["hits"] == 0
    assert not (tmp_path / "xdg" / "neurodyn").exists()


def test_cache_directory_set_by_the_user_is_kept(tmp_path, monkeypatch):
    # In a child: jax.config set before `import neurodyn` wins over neurodyn's directory.
    theirs = tmp_path / "theirs"
    got = _child(tmp_path, {"NEURODYN_COMPILATION_CACHE_DIR": str(tmp_path / "ours")},
                 before=f"jax.config.update('jax_compilation_cache_dir', {str(theirs)!r})")
    assert got["dir"] == str(theirs)
    assert got["min_time"] == 1.0  # JAX's default: neurodyn changed nothing
    assert not (tmp_path / "ours").exists()
    # In-process: a directory from JAX_COMPILATION_CACHE_DIR (JAX reads it into jax.config), or
    # JAX's cache switched off (JAX_ENABLE_COMPILATION_CACHE=false), is left as it is.
    for name, value in (("jax_compilation_cache_dir", str(theirs)),
                        ("jax_enable_compilation_cache", False)):
        config = _FakeConfig()
        setattr(config, name, value)
        monkeypatch.setattr(_cache, "jax", SimpleNamespace(config=config))
        assert _cache.enable_compilation_cache({"XDG_CACHE_HOME": str(tmp_path / "x")}) is None
        assert config.updates == [] and not (tmp_path / "x").exists()
