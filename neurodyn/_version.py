"""The version of neurodyn, and provenance in one place: the versions a result depends on and
the git commit of the code that made it (run folders, the CLI's metrics.json, the studies'
results.json)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import equinox
import jax
import jaxlib
import numpy
import optax
import scipy

__version__ = "0.1.0"


def versions() -> dict[str, str | None]:
    """Versions of neurodyn, Python and the libraries its results depend on."""
    return {
        "neurodyn": __version__, "jax": jax.__version__,
        "jaxlib": getattr(jaxlib, "__version__", None),
        "equinox": equinox.__version__, "optax": optax.__version__,
        "numpy": numpy.__version__, "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def git_commit(path: str | os.PathLike | None = None, *,
               short: bool = False) -> dict[str, str | bool] | None:
    """The git commit of the neurodyn checkout (or of `path`), and whether it is dirty.

    `{"commit", "dirty"}` of the git repository holding the neurodyn package (or `path`),
    or None outside a git repository or without git. `short`: the abbreviated hash."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    head = ["git", "rev-parse", *(["--short"] if short else []), "HEAD"]
    try:
        commit = subprocess.run(head, cwd=where, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0 or not commit.stdout.strip():
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
