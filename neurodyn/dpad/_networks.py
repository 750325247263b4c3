"""DPAD/PSID on trained networks: which latent dynamics of a network carry its behaviour?

The network's rollout states play the neural activity y and its outputs, choices or trial
conditions play the behaviour z; a model with n1 prioritised states then finds the low-dimensional
dynamics of the network that predict z, to compare with the network's own latent variables.
"""

from __future__ import annotations

import numpy as np


def network_data(states, behaviour) -> tuple[np.ndarray, np.ndarray]:
    """(y [B, T, N], z [B, T, nz]) from rollout states and a behaviour that is either `[B, T, O]`
    (outputs), `[B]` / `[B, k]` (a choice or condition per trial, repeated over time) or a dict of
    per-trial conditions `{name: [B]}` (stacked in key order)."""
    y = np.asarray(states, dtype=np.float64)
    if y.ndim == 2:
        y = y[None]
    if y.ndim != 3:
        raise ValueError(f"states must be [batch, time, neurons], got shape {y.shape}")
    B, T = y.shape[:2]
    if isinstance(behaviour, dict):
        if not behaviour:
            raise ValueError("behaviour: got an empty dict of conditions")
        behaviour = np.stack([np.asarray(behaviour[k]) for k in sorted(behaviour)], axis=-1)
    z = np.asarray(behaviour)
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


def fit_network(rollout, behaviour=None, *, nx: int, n1: int, method: str = "psid",
                horizon: int = 5, key=None, **kwargs):
    """Fit PSID (`method='psid'`, with `horizon`) or DPAD (`'dpad'`, `**kwargs` to `DPAD`) to a
    network's rollout: `rollout` is a `Rollout` (its outputs are the default behaviour) or a
    states array `[B, T, N]`. Each trial is one recording. Returns the fitted model.

    PSID is deterministic and takes no key; DPAD needs `key` (a `jax.random.key`)."""
    from ._dpad import DPAD
    from ._psid import PSID

    states = getattr(rollout, "states", rollout)
    if behaviour is None:
        if not hasattr(rollout, "outputs"):
            raise ValueError("behaviour is required when rollout is a plain states array")
        behaviour = rollout.outputs
    y, z = network_data(states, behaviour)
    if method not in ("psid", "dpad"):
        raise ValueError(f"method must be 'psid' or 'dpad', got {method!r}")
    if method == "dpad" and key is None:
        raise ValueError("key is required for method='dpad' (e.g. key=jax.random.key(0))")
    if method == "psid" and key is not None:
        raise ValueError("method='psid' is deterministic and takes no key")
    if method == "psid":
        return PSID(nx, n1, horizon, **kwargs).fit(list(y), list(z.astype(np.float64)))
    return DPAD(nx, n1, **kwargs).fit(list(y), list(z), key=key)
