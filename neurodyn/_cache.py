"""JAX's persistent compilation cache, turned on for neurodyn by default.

Every fresh Python process (a script, a notebook restart, a CLI call) otherwise compiles the same
XLA programs again: 5-30 s before the first training step or fixed-point search. With the cache a
second process reads the compiled programs from disk instead.

* Directory: `$NEURODYN_COMPILATION_CACHE_DIR` if set, else `$XDG_CACHE_HOME/neurodyn/jax`, else
  `~/.cache/neurodyn/jax` (created with permissions 0700: JAX trusts what it finds there).
* Opt out: `NEURODYN_COMPILATION_CACHE=0` (or `false`/`no`/`off`).
* A cache directory the user already gave JAX (`JAX_COMPILATION_CACHE_DIR`, or
  `jax.config.update("jax_compilation_cache_dir", ...)` before `import neurodyn`) is kept, and so
  is a cache the user switched off (`JAX_ENABLE_COMPILATION_CACHE=false`): then nothing is changed.
* JAX writes only programs that took at least `jax_persistent_cache_min_compile_time_secs` (1 s by
  default) to compile. A `fixedpoints.find` call compiles a dozen programs of 0.1-1 s each (about
  half of its cold start), so neurodyn lowers the threshold to `MIN_COMPILE_TIME_S` unless the user
  set it (`JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`). JAX's minimum entry size is already 0.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import jax

ENV_SWITCH = "NEURODYN_COMPILATION_CACHE"
ENV_DIR = "NEURODYN_COMPILATION_CACHE_DIR"
MIN_COMPILE_TIME_S = 0.1
_OFF = frozenset({"0", "false", "no", "off"})
_ON = frozenset({"", "1", "true", "yes", "on"})
_JAX_DEFAULT_MIN_COMPILE_TIME_S = 1.0


def cache_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    """The directory neurodyn would use, from the environment alone; None when switched off.

    Raises ValueError naming `NEURODYN_COMPILATION_CACHE` for a value that is neither on nor off.
    """
    env = os.environ if environ is None else environ
    switch = env.get(ENV_SWITCH, "").strip().lower()
    if switch in _OFF:
        return None
    if switch not in _ON:
        raise ValueError(
            f"{ENV_SWITCH} must be one of 0/false/no/off (to switch the compilation cache off) or "
            f"1/true/yes/on, got {env[ENV_SWITCH]!r}"
        )
    chosen = env.get(ENV_DIR, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec: a relative XDG_CACHE_HOME is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "neurodyn" / "jax"


def enable_compilation_cache(environ: Mapping[str, str] | None = None) -> Path | None:
    """Point JAX's persistent compilation cache at neurodyn's directory (see the module docstring).

    Returns the directory in use, or None when neurodyn left JAX's settings alone (switched off,
    the user's own cache directory or switch, or a directory that cannot be created).
    """
    env = os.environ if environ is None else environ
    directory = cache_directory(env)
    if directory is None:
        return None
    if jax.config.jax_compilation_cache_dir is not None:
        return None  # the user's own choice (environment or jax.config): keep it
    if not jax.config.jax_enable_compilation_cache:
        return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(f"no write permission for {directory}")
    except OSError as error:
        warnings.warn(
            f"neurodyn: compilation cache not enabled, cannot use {directory} ({error}); set "
            f"{ENV_DIR} to a writable directory or {ENV_SWITCH}=0",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    user_threshold = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" in env
    current = jax.config.jax_persistent_cache_min_compile_time_secs
    if not user_threshold and current == _JAX_DEFAULT_MIN_COMPILE_TIME_S:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
    return directory
