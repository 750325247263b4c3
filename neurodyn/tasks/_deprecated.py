"""The tasks' deprecated names and ways (each kept for one release), and their one warning."""

from __future__ import annotations

import warnings
from typing import Any


def deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that `old` is deprecated in favour of `new`, pointing at the caller's caller."""
    warnings.warn(
        f"{old} is deprecated and will be removed: use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def item_by_name(result: tuple, index: int | slice | str, what: str) -> Any:
    """`result[index]` of a result that used to be a dict: tuple indexing for an int or a
    slice; for a name, its field (a `KeyError` if the field is None, as the dict had no such
    key), with a deprecation warning."""
    if not isinstance(index, str):
        return tuple.__getitem__(result, index)
    deprecated(f"{what}[{index!r}]", f"the attribute .{index} (or .to_dict())", stacklevel=4)
    value = getattr(result, index) if index in result._fields else None
    if value is None:
        raise KeyError(index)
    return value
