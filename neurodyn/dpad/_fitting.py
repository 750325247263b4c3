"""DPAD's four optimisation steps, for a batch of candidate models trained side by side.

Every candidate is a set of map names that carry a nonlinearity; all candidates share one pytree
structure (see `_maps.Map`), so each step trains candidates × restarts under one `vmap`, and keeps
the restart with the best validation loss for every candidate.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._optim import member
from .._validate import ArgumentTypeError
from ._maps import Map, stack
from ._model import (
    LossFn,
    Readout,
    Recursion,
    loss_readout_y,
    loss_readout_z,
    loss_step1,
    loss_step3,
    readout,
)
from ._prep import Prepared, split_blocks, to_blocks
from ._train import TrainConfig, train_models

MAP_NAMES = ("A1", "K1", "Cy1", "Cz1", "A2", "K2", "Cy2", "Cz2")


def parse_nonlinear(spec) -> frozenset[str]:
    """'Cz', 'Cz,K', ('A', 'Cy2'), 'all' or 'none' → the set of nonlinear map names.

    A name without a section number (A, K, Cy, Cz) applies to both sections."""
    if spec is None:
        return frozenset()
    if isinstance(spec, str):
        spec = [s for s in spec.replace("+", ",").replace(" ", ",").split(",") if s]
    elif not isinstance(spec, (list, tuple, set, frozenset)):
        raise ArgumentTypeError(
            f"nonlinear must be None, a string such as 'Cz' or 'Cz,K', or a list of map names, "
            f"got {type(spec).__name__} {spec!r}"
        )
    names: set[str] = set()
    for item in spec:
        if not isinstance(item, str):
            raise ArgumentTypeError(f"nonlinear: map names must be strings, got {item!r}")
        if item.lower() == "none":
            continue
        if item.lower() == "all":
            names.update(MAP_NAMES)
        elif item in MAP_NAMES:
            names.add(item)
        elif item + "1" in MAP_NAMES:
            names.update((item + "1", item + "2"))
        else:
            raise ValueError(
                f"nonlinear: unknown map {item!r}; use A, K, Cy, Cz (optionally with 1 or 2 "
                f"for the section), 'all' or 'none'"
            )
    return frozenset(names)


def _gates(candidates, names, n_init):
    return {n: np.repeat(np.asarray([float(n in c) for c in candidates], np.float32), n_init)
            for n in names}


def _best(models, val, n_groups):
    val = val.reshape(n_groups, -1)
    index = np.arange(n_groups) * val.shape[1] + np.argmin(val, axis=1)
    return member(models, index), val.min(axis=1)


@eqx.filter_jit
def _rollout(rec: Recursion, u):
    """States of stacked candidates [C] on padded trials u [C or 1, B, T, m]."""
    return eqx.filter_vmap(lambda r, uu: jax.vmap(r.states)(uu))(rec, u)


def _with_u(x, u):
    """Readout inputs [x, u] `[C, B, T, n + nu]` from stacked states x `[C, B, T, n]` and the
    measured inputs u `[B, T, nu]` (x itself without inputs)."""
    if u is None:
        return x
    x = np.asarray(x)
    return np.concatenate([x, np.broadcast_to(u, x.shape[:1] + u.shape)], axis=-1)


@eqx.filter_jit
def _apply_readout(ro_map: Map, x):
    return eqx.filter_vmap(lambda m, xx: jax.vmap(lambda s: readout(m, s))(xx))(ro_map, x)


class CandidateFitter:
    """Runs the four steps for `candidates` (sets of nonlinear maps) on prepared data."""

    def __init__(self, *, nx, n1, ny, n_z_out, candidates, hidden, config: TrainConfig, n_init,
                 block_len, val_fraction, y_kind, z_kind, behaviour_from_x2, nu=0):
        self.nx, self.n1, self.ny, self.n_z_out, self.nu = nx, n1, ny, n_z_out, nu
        self.candidates = [frozenset(c) for c in candidates]
        self.C = len(self.candidates)
        self.any_nonlinear = frozenset().union(*self.candidates)
        self.hidden, self.config, self.n_init = tuple(hidden), config, n_init
        self.block_len, self.val_fraction = block_len, val_fraction
        self.y_kind, self.z_kind = y_kind, z_kind
        self.behaviour_from_x2 = behaviour_from_x2

    def _hid(self, name):
        return self.hidden if name in self.any_nonlinear else None

    def _blocks(self, prep: Prepared, per_candidate: dict, shared: tuple[str, ...]):
        """Training/validation blocks with a leading candidate axis on every leaf."""
        arrays = {k: getattr(prep, k) for k in shared}
        out = []
        for c in range(self.C):
            arr = dict(arrays)
            arr.update({k: np.asarray(v[c]) for k, v in per_candidate.items()})
            out.append(to_blocks(arr, prep.lengths, self.block_len))
        stacked = {k: np.stack([o[k] for o in out]) for k in out[0]}
        train, val = split_blocks({k: np.moveaxis(v, 0, 1) for k, v in stacked.items()},
                                  self.val_fraction)
        return ({k: jnp.asarray(np.moveaxis(v, 1, 0)) for k, v in train.items()},
                {k: jnp.asarray(np.moveaxis(v, 1, 0)) for k, v in val.items()})

    def _lstsq_readout(self, x, target, offset, mask):
        """Stacked [C] linear maps fitted in closed form: target − offset ≈ W x + b, for each
        output dimension over its observed samples (a Gaussian/MSE readout needs no training)."""
        C, n_in, n_out = x.shape[0], x.shape[-1], offset.shape[-1]
        W, b = np.zeros((C, n_out, n_in)), np.zeros((C, n_out))
        mask = np.broadcast_to(mask, offset.shape[1:]).reshape(-1, n_out)
        for c in range(C):
            X = np.concatenate([x[c].reshape(-1, n_in), np.ones((mask.shape[0], 1))], axis=1)
            resid = (np.asarray(target[c] if target.ndim == offset.ndim else target)
                     - offset[c]).reshape(-1, n_out)
            for d in range(n_out):
                ok = mask[:, d] > 0
                sol = np.linalg.lstsq(X[ok].astype(np.float64), resid[ok, d], rcond=None)[0]
                W[c, d], b[c, d] = sol[:-1], sol[-1]
        return Map(W.astype(np.float32), b.astype(np.float32), None, np.zeros(C, np.float32))

    def _closed_form(self, name: str) -> bool:
        kind = self.y_kind if name.startswith("Cy") else self.z_kind
        return name not in self.any_nonlinear and kind in ("gaussian", "continuous")

    def _train(self, make, loss, train, val, key, grouped, name):
        models, val_loss, hist = train_models(
            make, loss, train, val, key=key, config=self.config, n_groups=self.C,
            grouped_data=grouped, name=name)
        best, best_val = _best(models, val_loss, self.C)
        return best, best_val, hist

    def _fit_cy1(self, prep, x1, y_offset, key):
        R, n1, ny = self.n_init, self.n1 + self.nu, self.ny  # Cy1 reads [x1, u]
        train, val = self._blocks(prep, {"x": x1, "y_offset": y_offset}, ("y_tgt", "y_mask"))
        gates = _gates(self.candidates, ("Cy1",), R)

        def make2(rng):
            return stack([Readout(Map.random(n1, ny, self._hid("Cy1"), rng, gate=g))
                          for g in gates["Cy1"]])

        cy1, _, _ = self._train(make2, LossFn(loss_readout_y, self.y_kind), train, val, key,
                                True, "DPAD step 2 (Cy1)")
        return cy1.C

    def fit(self, prep: Prepared, *, key):
        """Returns (modules, info): modules holds stacked [C] rec1, Cy1, rec2, Cz2 (or None)."""
        C, R, n1, n2, ny, nzo = self.C, self.n_init, self.n1, self.nx - self.n1, self.ny, \
            self.n_z_out
        nu, u = self.nu, prep.u
        # The recursions' input streams: [y, u] for x1 and [y, x1_{k+1}, u] for x2 (u last).
        y_u = prep.y_in if u is None else np.concatenate([prep.y_in, u], axis=-1)
        keys = jax.random.split(key, 4)  # one per step; steps without training leave theirs
        mods = {"rec1": None, "Cy1": None, "rec2": None, "Cz2": None}
        info: dict = {"val_loss": {}, "history": {}}
        B, T = prep.y_mask.shape
        y_offset = np.zeros((C, B, T, ny), np.float32)
        z_offset = np.zeros((C, B, T, nzo), np.float32)
        x1_next = np.zeros((C, B, T, n1), np.float32)

        if n1 > 0:
            # Step 1: x1 recursion and behaviour readout, trained to predict z.
            blocks = to_blocks({"y_in": y_u, "z": prep.z, "z_mask": prep.z_mask},
                               prep.lengths, self.block_len)
            train, val = split_blocks(blocks, self.val_fraction)
            train = {k: jnp.asarray(v) for k, v in train.items()}
            val = {k: jnp.asarray(v) for k, v in val.items()}
            gates = _gates(self.candidates, ("A1", "K1", "Cz1"), R)

            def make1(rng):
                return stack([Recursion(
                    A=Map.random(n1 + nu, n1, self._hid("A1"), rng, gate=ga, recurrent=True),
                    K=Map.random(ny + nu, n1, self._hid("K1"), rng, gate=gk),
                    C=Map.random(n1 + nu, nzo, self._hid("Cz1"), rng, gate=gc), n_states=n1,
                    n_measured=nu)
                    for ga, gk, gc in zip(gates["A1"], gates["K1"], gates["Cz1"])])

            rec1, v1, h1 = self._train(make1, LossFn(loss_step1, self.z_kind),
                                       train, val, keys[0], False, "DPAD step 1 (x1)")
            info["val_loss"]["step1"], info["history"]["step1"] = v1, h1
            x1, x1n = _rollout(rec1, np.broadcast_to(y_u, (C,) + y_u.shape))
            x1, x1_next = np.asarray(x1), np.asarray(x1n)
            x1u = _with_u(x1, u)  # what the readouts of x1 see
            z_offset = np.asarray(_apply_readout(rec1.C, jnp.asarray(x1u)))

            # Step 2: neural readout of the frozen x1.
            if self._closed_form("Cy1"):
                cy1_map = self._lstsq_readout(x1u, prep.y_tgt, y_offset, prep.y_mask[..., None])
            else:
                cy1_map = self._fit_cy1(prep, x1u, y_offset, keys[1])
            y_offset = np.asarray(_apply_readout(cy1_map, jnp.asarray(x1u)))
            mods.update(rec1=rec1, Cy1=cy1_map)

        if n2 > 0:
            # Step 3: x2 recursion driven by y and x1_{k+1}, trained on the rest of y.
            u2 = np.concatenate([np.broadcast_to(prep.y_in, (C,) + prep.y_in.shape), x1_next]
                                + ([] if u is None else [np.broadcast_to(u, (C,) + u.shape)]),
                                axis=-1)
            train, val = self._blocks(prep, {"u2": u2, "y_offset": y_offset},
                                      ("y_tgt", "y_mask"))
            gates = _gates(self.candidates, ("A2", "K2", "Cy2"), R)

            def make3(rng):
                return stack([Recursion(
                    A=Map.random(n2 + nu, n2, self._hid("A2"), rng, gate=ga, recurrent=True),
                    K=Map.random(ny + n1 + nu, n2, self._hid("K2"), rng, gate=gk),
                    C=Map.random(n2 + nu, ny, self._hid("Cy2"), rng, gate=gc), n_states=n2,
                    n_measured=nu)
                    for ga, gk, gc in zip(gates["A2"], gates["K2"], gates["Cy2"])])

            rec2, v3, h3 = self._train(make3, LossFn(loss_step3, self.y_kind),
                                       train, val, keys[2], True, "DPAD step 3 (x2)")
            info["val_loss"]["step3"], info["history"]["step3"] = v3, h3
            mods["rec2"] = rec2

            if self.behaviour_from_x2:
                # Step 4: behaviour readout of the frozen x2 (on top of Cz1(x1)).
                x2, _ = _rollout(rec2, jnp.asarray(u2))
                x2u = _with_u(np.asarray(x2), u)
                if self._closed_form("Cz2"):
                    mods["Cz2"] = self._lstsq_readout(x2u, prep.z, z_offset, prep.z_mask)
                    return mods, info
                train, val = self._blocks(prep, {"x": x2u, "z_offset": z_offset},
                                          ("z", "z_mask"))
                gates = _gates(self.candidates, ("Cz2",), R)

                def make4(rng):
                    return stack([Readout(Map.random(n2 + nu, nzo, self._hid("Cz2"), rng, gate=g,
                                                     weight_scale=0.0)) for g in gates["Cz2"]])

                cz2, v4, h4 = self._train(make4,
                                          LossFn(loss_readout_z, self.z_kind),
                                          train, val, keys[3], True, "DPAD step 4 (Cz2)")
                info["val_loss"]["step4"], info["history"]["step4"] = v4, h4
                mods["Cz2"] = cz2.C
        return mods, info
