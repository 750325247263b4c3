"""DPAD/PSID on trained networks: which latent dynamics of a network carry its behaviour?

The network's rollout states play the neural activity y and its outputs, choices or trial
conditions play the behaviour z; a model with n1 prioritised states then finds the low-dimensional
dynamics of the network that predict z, to compare with the network's own latent variables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._typing import ArrayLike
from .._validate import check_array, check_choice
from ._dpad import DPAD
from ._psid import PSID


def network_data(states: ArrayLike, behaviour: ArrayLike | dict[str, ArrayLike]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Neural data `y` and behaviour `z` for PSID/DPAD from a network's rollout states.

    (y [B, T, N], z [B, T, nz]) from rollout states and a behaviour that is either `[B, T, O]`
    (outputs), `[B]` / `[B, k]` (a choice or condition per trial, repeated over time) or a dict of
    per-trial conditions `{name: [B]}` (stacked in key order)."""
    y = np.asarray(check_array(states, "states", ndim=(2, 3)), dtype=np.float64)
    if y.ndim == 2:
        y = y[None]
    B, T = y.shape[:2]
    if y.size == 0:
        raise ValueError(f"states is empty (shape {y.shape})")
    if isinstance(behaviour, dict):
        if not behaviour:
            raise ValueError("behaviour: got an empty dict of conditions")
        parts = []
        for k in sorted(behaviour, key=str):
            parts.append(np.asarray(check_array(behaviour[k], f"behaviour[{k!r}]", ndim=1,
                                                allow_nan=True)))
            if parts[-1].shape != parts[0].shape:
                raise ValueError(f"behaviour: every condition must have one value per trial, "
                                 f"{k!r} has shape {parts[-1].shape}")
        behaviour = np.stack(parts, axis=-1)
    z = check_array(behaviour, "behaviour", ndim=(1, 2, 3), allow_nan=True)
    z = np.asarray(behaviour) if np.asarray(behaviour).dtype.kind in "biu" else np.asarray(z)
    if z.ndim == 2 and z.shape == (B, T):
        z = z[..., None]
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim == 2:
        if z.shape[0] != B:
            raise ValueError(f"per-trial behaviour must have {B} rows, got shape {z.shape}")
        z = np.broadcast_to(z[:, None, :], (B, T, z.shape[1]))
    if z.shape[:2] != (B, T):
        raise ValueError(f"behaviour shape {z.shape} does not match states {y.shape}")
    return y, np.ascontiguousarray(z)


def fit_network(rollout: Any, behaviour: ArrayLike | dict[str, ArrayLike] | None = None, *,
                nx: int, n1: int, method: str = "psid", horizon: int = 5,
                **kwargs: Any) -> PSID | DPAD:
    """Fit PSID (`method='psid'`, with `horizon`) or DPAD (`'dpad'`) to a network's rollout:
    `rollout` is a `Rollout` (its outputs are the default behaviour) or a states array
    `[B, T, N]`. Each trial is one recording. Returns the fitted model.

    PSID is deterministic and takes no key. DPAD needs `key=` (a `jax.random.key`); its other
    keyword arguments go to `DPAD(...)`."""
    method = check_choice(method, "method", ("psid", "dpad"))
    if method == "dpad" and "key" not in kwargs:
        raise ValueError("key is required for method='dpad' (e.g. key=jax.random.key(0))")
    if method == "psid" and "key" in kwargs:
        raise ValueError("method='psid' is deterministic and takes no key")
    # Build (and so check) the model before touching the data.
    if method == "psid":
        model = PSID(nx, n1, horizon, **kwargs)
    else:
        key = kwargs.pop("key")
        model = DPAD(nx, n1, **kwargs)
    states = getattr(rollout, "states", rollout)
    if behaviour is None:
        if not hasattr(rollout, "outputs"):
            raise ValueError("behaviour is required when rollout is a plain states array")
        behaviour = rollout.outputs
    y, z = network_data(states, behaviour)
    if method == "psid":
        return model.fit(list(y), list(z.astype(np.float64)))
    return model.fit(list(y), list(z), key=key)
