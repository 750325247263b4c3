"""The jaxtyping aliases shared by neurodyn's annotations (one place, one spelling).

Axis names: `batch` (trials), `time`, `neurons`, `states` (a system's state), `inputs`,
`outputs`, `points` (fixed-point candidates), `rank`. Arrays are batch-first, time second.
"""

from __future__ import annotations

from jaxtyping import Array, ArrayLike, Bool, Complex, Float, Int, PRNGKeyArray, Real, Shaped

Key = PRNGKeyArray
"""A JAX PRNG key (`jax.random.key(seed)`); keys are keyword-only and never defaulted."""

# The array aliases say what a function accepts: a JAX or a NumPy array (ArrayLike), as every
# public function converts its arguments; what it returns is a JAX array, which they admit too.
Scalar = Float[Array, ""]
State = Float[ArrayLike, " states"]
Input = Float[ArrayLike, " inputs"]
States = Float[ArrayLike, "*batch states"]
Points = Float[ArrayLike, "points states"]
PointInputs = Float[ArrayLike, "points inputs"]
Inputs = Float[ArrayLike, "*batch time inputs"]
Outputs = Float[ArrayLike, "*batch time outputs"]
Targets = Float[ArrayLike, "*batch time outputs"]
Mask = Float[ArrayLike, "*batch time outputs"] | Bool[ArrayLike, "*batch time outputs"]
Trajectory = Float[ArrayLike, "*batch time states"]
Recording = Float[ArrayLike, "time channels"]
Matrix = Float[ArrayLike, "rows columns"]

__all__ = [
    "Array", "ArrayLike", "Bool", "Complex", "Float", "Int", "Input", "Inputs", "Key",
    "Mask", "Matrix", "Outputs", "PRNGKeyArray", "PointInputs", "Points", "Real", "Recording",
    "Scalar", "Shaped", "State", "States", "Targets", "Trajectory",
]
