import os

# Two simulated CPU devices and strict rank promotion, as in equinox's own test suite.
os.environ.setdefault("XLA_FLAGS", "")
import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_num_cpu_devices", 2)

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402

import neurodyn as nd  # noqa: E402


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
