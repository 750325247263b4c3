"""The jaxtyping aliases shared by neurodyn's annotations (one place, one spelling).

Axis names: `batch` (trials), `time`, `neurons`, `states` (a system's state), `inputs`,
`outputs`, `points` (fixed-point candidates), `rank`. Arrays are batch-first, time second.
"""

from __future__ import annotations

from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int, PRNGKeyArray, Real, Shaped

Key = PRNGKeyArray
"""A JAX PRNG key (`jax.random.key(seed)`); keys are keyword-only and never defaulted."""

Scalar = Float[Array, ""]
State = Float[Array, " states"]
Input = Float[Array, " inputs"]
States = Float[Array, "*batch states"]
Points = Float[Array, "points states"]
PointInputs = Float[Array, "points inputs"]
Inputs = Float[Array, "*batch time inputs"]
Outputs = Float[Array, "*batch time outputs"]
Targets = Float[Array, "*batch time outputs"]
Mask = Float[Array, "*batch time outputs"] | Bool[Array, "*batch time outputs"]
Trajectory = Float[Array, "*batch time states"]
Recording = Float[ArrayLike, "time channels"]
Matrix = Float[Array, "rows columns"]

__all__ = [
    "Array", "ArrayLike", "Bool", "Complex", "Float", "Int", "Input", "Inputs", "Key",
    "Mask", "Matrix", "Outputs", "PRNGKeyArray", "PointInputs", "Points", "Real", "Recording",
    "Scalar", "Shaped", "State", "States", "Targets", "Trajectory",
]
