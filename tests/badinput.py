"""Shared machinery of the bad-input (property-based) tests.

`assert_clear_error(entry, argument, call)` runs `call()` and asserts what a user must get for a
bad argument: a `ValueError` or `TypeError`, raised by neurodyn's own code (the innermost frame of
the traceback is a neurodyn file, not JAX or NumPy), whose message names the argument. Every call
is counted per entry point; the counts are printed at the end of the test run (conftest.py).

The strategies generate the bad values a user actually passes: strings, None, NaN and Inf, bools,
negative and zero sizes, floats where integers are expected, arrays where scalars are expected,
integers and batches where a PRNG key is expected.
"""

from __future__ import annotations

import math
import os
import traceback
from collections import Counter

import jax
import numpy as np
from hypothesis import HealthCheck, settings, strategies as st
from typecheck import unchecked

# Bad inputs tried, per entry point (read by conftest.pytest_terminal_summary).
TRIED: Counter = Counter()

# Small example counts: each example is a cheap, eager argument check.
FUZZ = settings(
    max_examples=int(os.environ.get("NEURODYN_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

_NEURODYN = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + "neurodyn"


def assert_clear_error(entry: str, argument: str, call, *, names: tuple[str, ...] = ()):
    """`call()` raises a ValueError/TypeError from neurodyn that names `argument` (or `names`)."""
    TRIED[entry] += 1
    try:
        with unchecked():  # the annotations would pre-empt the clear errors tested here
            call()
    except (ValueError, TypeError) as err:
        message = str(err)
        wanted = (argument, *names)
        assert any(w in message for w in wanted), (
            f"{entry}: the error for a bad {argument!r} does not name it: {type(err).__name__}: "
            f"{message}"
        )
        frames = traceback.extract_tb(err.__traceback__)
        origin = frames[-1].filename if frames else ""
        assert os.path.abspath(origin).startswith(_NEURODYN), (
            f"{entry}: the error for a bad {argument!r} was raised deep inside {origin}, not by "
            f"neurodyn's own checks: {type(err).__name__}: {message}"
        )
        return err
    except Exception as err:  # noqa: BLE001 - anything else is a failure of the test
        raise AssertionError(
            f"{entry}: a bad {argument!r} raised {type(err).__name__} instead of a "
            f"ValueError/TypeError: {err}"
        ) from err
    raise AssertionError(f"{entry}: a bad {argument!r} was accepted silently")


# ---------------------------------------------------------------------------------------------
# Strategies

_junk = st.sampled_from(["x", "100", "", None, [], {}, [1.0, 2.0], object(), b"1", "nan"])
_nonfinite = st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan")])


def not_a_number():
    """Values that are not real numbers at all (a bool included)."""
    return st.one_of(_junk, st.booleans(), st.just(np.array([1.0, 2.0])), st.just(1 + 2j))


def bad_positive_number():
    """Anything but a finite number > 0."""
    return st.one_of(
        not_a_number(), _nonfinite,
        st.floats(max_value=0.0, allow_nan=False, allow_infinity=False),
        st.integers(max_value=0),
    )


def bad_nonnegative_number():
    """Anything but a finite number >= 0."""
    return st.one_of(
        not_a_number(), _nonfinite,
        st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
        st.integers(max_value=-1),
    )


def bad_count(low: int = 1):
    """Anything but an integer >= low (floats such as 2.0 and bools included)."""
    return st.one_of(
        _junk, _nonfinite, st.booleans(),
        st.integers(max_value=low - 1),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def bad_key():
    """Anything but one JAX PRNG key."""
    return st.one_of(
        st.sampled_from([None, 0, 1, "key", 1.5, [0, 1], np.array([0, 1], dtype=np.int64)]),
        st.integers(),
        st.integers(min_value=2, max_value=5).map(
            lambda n: jax.random.split(jax.random.key(0), n)
        ),
    )


def bad_bool():
    return st.sampled_from([None, "yes", "False", 1, 0, 2.5, [True]])
