"""Run-time type checking of the test run: jaxtyping's import hook with beartype.

`tests/conftest.py` installs the hook before neurodyn is imported, so every annotated function in
the package checks its arguments and return value (shapes included) while the tests run. An int
is accepted where a float is annotated (the PEP 484 numeric tower), as Python's own checkers do.

Inside `pytest.raises` blocks and the bad-input tests the checks are off: those tests feed wrong
values on purpose to check neurodyn's own clear errors, which the annotations would pre-empt.
"""

from __future__ import annotations

import contextlib

import jaxtyping
from beartype import BeartypeConf, beartype

typecheck = beartype(conf=BeartypeConf(is_pep484_tower=True))

_depth = 0


@contextlib.contextmanager
def unchecked():
    """Switch the run-time type checks off inside the block (re-entrant)."""
    global _depth
    _depth += 1
    jaxtyping.config.update("jaxtyping_disable", True)
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            jaxtyping.config.update("jaxtyping_disable", False)


class _UncheckedRaises:
    def __init__(self, context):
        self._context = context
        self._unchecked = unchecked()

    def __enter__(self):
        self._unchecked.__enter__()
        return self._context.__enter__()

    def __exit__(self, *exc):
        try:
            return self._context.__exit__(*exc)
        finally:
            self._unchecked.__exit__(None, None, None)


def unchecked_raises(raises):
    """`pytest.raises` with the type checks off inside its block (and in its call form)."""

    def wrapper(*args, **kwargs):
        if len(args) > 1:  # pytest.raises(Error, fn, *args): the call form
            with unchecked():
                return raises(*args, **kwargs)
        return _UncheckedRaises(raises(*args, **kwargs))

    return wrapper
