"""pytest settings for the notebooks (executed by nbmake: `pytest --nbmake notebooks/`).

Each notebook's parameters cell reads NEURODYN_NOTEBOOK_SMALL; "1" selects tiny sizes so that the
test run executes every cell quickly. The kernels that nbmake starts inherit this process's
environment, so setting variables here, while pytest collects this folder, reaches them. Set
NEURODYN_NOTEBOOK_SMALL=0 yourself to execute the notebooks at full size under pytest.

Most of a small run is XLA compilation, and several notebooks compile the same programs (e.g.
training the same small network on the same task). A JAX persistent compilation cache in a
temporary folder, private to this pytest session and removed at its end, lets later notebooks
reuse what earlier ones compiled. A cache directory you set yourself is left alone.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("NEURODYN_NOTEBOOK_SMALL", "1")

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="neurodyn-notebooks-jax-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
