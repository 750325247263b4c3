"""Regenerate `fixedpoints_eigvals.eqx`: a small `FixedPoints` saved by neurodyn 0.1.0, whose
fields were still called `eigvals`, `eigvecs` and `left_eigvecs`. `tests/test_fixedpoints_result.py`
loads it to check that the renamed fields (`eigenvalues`, …) read the old checkpoints.

    python tests/data/make_fixedpoints.py        # writes tests/data/fixedpoints_eigvals.eqx

The values come from `values()`, which the test calls too (deterministic NumPy draws).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

P, N, N_IN = 3, 4, 1


def values() -> dict:
    """The arrays of the saved points (NumPy, seed 0)."""
    rng = np.random.default_rng(0)

    def c(*shape):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)

    def f(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    return dict(
        xstar=f(P, N), inputs=f(P, N_IN), q=np.abs(f(P)),
        status=np.array([0, 1, 3], np.int32), initial_states=f(P, N),
        n_iters=np.array([5, 7, 9], np.int32), min_period=np.ones(P, np.int32),
        condition_id=np.array([0, 0, 1], np.int32), jacobians=f(P, N, N),
        input_jacobians=f(P, N, N_IN), eigvals=c(P, N), eigvecs=c(P, N, N), left_eigvecs=c(P, N, N),
        stable=np.array([True, False, True]), n_unstable=np.array([0, 2, 0], np.int32),
    )


if __name__ == "__main__":
    import jax.numpy as jnp

    import neurodyn as nd

    fps = nd.fixedpoints.FixedPoints(
        **{k: jnp.asarray(v) for k, v in values().items()}, dynamics="discrete", period=1,
        dt=20.0,
    )
    out = Path(__file__).with_name("fixedpoints_eigvals.eqx")
    print(nd.save(out, fps, metadata={"made_by": "tests/data/make_fixedpoints.py"}))
