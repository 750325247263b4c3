"""Measured inputs u for PSID/IPSID and DPAD: one checker shared by every model that takes them.

A measured input is a known, external signal (a stimulus, a task cue) that drives the latent state
and may appear in the observations: x_{k+1} = A x_k + B u_k + w_k, y_k = Cy x_k + Dy u_k + v_k
(Vahidi, Sani & Shanechi 2024, PNAS). It is given in the same form as the neural data it goes
with: one recording `[T, nu]` (or `[T]`), a batch `[B, T, nu]`, or a list of trials `[T_i, nu]`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._typing import ArrayLike
from ._checks import as_trials


def check_inputs(u: ArrayLike | Sequence[ArrayLike] | None, ys: list[np.ndarray],
                 name: str = "u") -> list[np.ndarray] | None:
    """Measured inputs `u` as a list of float64 `[T_i, nu]` arrays matching the trials `ys`.

    `u = None` (no measured input) gives None. Otherwise `u` must hold as many trials as `ys`
    (the neural data, already a list of 2-D arrays, e.g. from `as_trials`), each with the same
    number of time samples as its trial in `ys`, the same number of channels in every trial, and
    only finite values (NaN is refused: an input is measured, never missing). A 1-D trial `[T]`
    becomes `[T, 1]`. Errors are `ValueError`s naming `name`.
    """
    if u is None:
        return None
    trials, _ = as_trials(u, name)
    if len(trials) != len(ys):
        raise ValueError(
            f"{name} has {len(trials)} trial(s) but the neural data y has {len(ys)}; pass one "
            f"input array per trial of y"
        )
    for i, (t, y) in enumerate(zip(trials, ys)):
        if t.shape[0] != y.shape[0]:
            where = f"trial {i} has" if len(ys) > 1 else "it has"
            raise ValueError(
                f"{name} must have the same number of time samples as y: {where} "
                f"{t.shape[0]} in {name} and {y.shape[0]} in y"
            )
    return [np.asarray(t, dtype=np.float64) for t in trials]
