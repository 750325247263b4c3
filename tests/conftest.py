import os

# Two simulated CPU devices and strict rank promotion, as in equinox's own test suite.
os.environ.setdefault("XLA_FLAGS", "")
import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_num_cpu_devices", 2)
# Strict dtype promotion, as in equinox's tests: a silent int/bool/float mix is an error.
jax.config.update("jax_numpy_dtype_promotion", "strict")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402
from jaxtyping import install_import_hook  # noqa: E402
from typecheck import unchecked_raises  # noqa: E402

# Run-time type checks (shapes included) of every annotated neurodyn function, with beartype
# (typecheck.py). The hook must be in place before neurodyn is imported; jaxtyping's own pytest
# option (--jaxtyping-packages) installs it only after this file has run in jaxtyping 0.2.33.
# Inside pytest.raises blocks the checks are off, so neurodyn's own errors are what is tested.
_TYPECHECK_HOOK = install_import_hook("neurodyn", "typecheck.typecheck")
pytest.raises = unchecked_raises(pytest.raises)

import neurodyn as nd  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _free_compiled_programs():
    """Drop JAX's compiled programs after each test module.

    XLA maps the machine code of every compiled program into memory; a process that keeps all of
    the suite's programs alive passes Linux's default `vm.max_map_count` (65530 mappings) and
    dies in XLA (a segfault or abort while compiling or loading a program). Clearing the caches
    between modules keeps the count bounded; the persistent compilation cache makes a program
    compiled again cheap.
    """
    yield
    jax.clear_caches()


@pytest.fixture(scope="session")
def decision_task():
    return nd.tasks.make("PerceptualDecisionMaking", preset="dubreuil2022")


@pytest.fixture(scope="session")
def trained_decision(decision_task):
    """A small rank-1 network trained once on the decision task, shared by the tests."""
    model = nd.models.LowRankRNN(128, 1, 1, 1, key=jax.random.key(0))
    return nd.train.fit(
        model, decision_task, key=jax.random.key(1), steps=400, eval_every=100, progress=False
    )


def pytest_terminal_summary(terminalreporter):
    """Print how many bad inputs the property-based tests tried, per public entry point."""
    from badinput import TRIED

    if TRIED:
        terminalreporter.section("bad inputs tried (all answered by clear errors if passed)")
        for entry, count in sorted(TRIED.items()):
            terminalreporter.write_line(f"{entry:40s} {count:5d}")
        terminalreporter.write_line(f"{'total':40s} {sum(TRIED.values()):5d}")
