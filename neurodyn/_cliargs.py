"""Argument types of the `neurodyn` command line: each checks one option's text when argparse
reads it, before any work starts, and answers a bad value with one line naming the option
(`neurodyn train: error: argument --lr: must be a finite number > 0, got nan`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from . import tasks
from ._validate import check_int, check_number
from .experiment import resolve_methods

# jax.random.key(seed) keeps only the low 32 bits without x64: key(2**32) is key(0).
SEED_MAX = 2**32 - 1
DEBUG_ENV = "NEURODYN_DEBUG"


def one_line(text: object) -> str:
    """A message on one line (newlines and runs of spaces collapsed)."""
    return " ".join(str(text).split())


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `neurodyn train: error: argument --lr: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def _checked(check: Callable, text: str, value: Any, **bounds: Any) -> Any:
    """Run a `neurodyn._validate` check with an empty name: the message then reads
    'must be ..., got ...', and argparse puts 'argument --option:' in front of it."""
    try:
        return check(text if value is None else value, "", **bounds)
    except ValueError as err:  # ArgumentTypeError of _validate is a ValueError too
        raise argparse.ArgumentTypeError(str(err).strip()) from None


def count(low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """An integer option in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None  # the check reports the text itself
        return _checked(check_int, text, value, low=low, high=high)

    parse.__name__ = "integer"
    return parse


def positive_number(text: str) -> float:
    """A finite number > 0 (nan, inf, 0 and negative numbers refused)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    return _checked(check_number, text, value, low=0, low_open=True)


def name(text: str) -> str:
    """A non-empty name without control characters."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must not be empty, got {text!r}")
    if any(not c.isprintable() for c in text):
        raise argparse.ArgumentTypeError(f"must be printable text, got {text!r}")
    return text


def task_name(text: str) -> str:
    """A registered task (`neurodyn.tasks.names()`)."""
    if text not in tasks.names():
        raise argparse.ArgumentTypeError(
            f"unknown task {text!r}; known tasks: {', '.join(tasks.names())}"
        )
    return text


def folder(text: str) -> str:
    """An output folder that exists or can be created: not a file, not below a file, and
    inside a folder this user may write to."""
    name(text)
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    parent = path.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is below {str(parent)!r}, which is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {str(parent)!r} (permission denied)")
    return text


def method(text: str) -> str:
    """A method name or citation key that `neurodyn.citation` knows."""
    try:
        resolve_methods([text])
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("methods: ")) from None
    return text


def debug_requested(args: argparse.Namespace) -> bool:
    """--debug, or NEURODYN_DEBUG set to anything but '' or '0'."""
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def report(command: str, err: BaseException) -> int:
    """Print a library error as one line and return the exit status (2: bad input, 1: the
    operating system refused, e.g. a full disk)."""
    hint = f" (set {DEBUG_ENV}=1 for the traceback)"
    print(f"neurodyn {command}: error: {one_line(err)}{hint}", file=sys.stderr)
    return 2 if isinstance(err, (ValueError, TypeError)) else 1
