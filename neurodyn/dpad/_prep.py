"""Data preparation for DPAD: normalisation, padding of trials, cutting into training blocks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import Standardiser, check_behaviour_varies, check_classes, check_magnitude

# DPAD trains in float32: data in their own units (zscore=False) must stay well inside its range
# (squares in the losses of up to 1e30, and not below 1e-30).
_FLOAT32_RANGE = (1e-15, 1e15)


@dataclass(frozen=True)
class Prepared:
    """Per-trial arrays padded to a common length `[B, T_max, ·]`, with masks for the padding."""

    y_in: np.ndarray  # normalised neural input
    y_tgt: np.ndarray  # neural target (normalised, or raw counts for Poisson)
    y_mask: np.ndarray  # [B, T] 1 for real samples
    z: np.ndarray  # normalised behaviour, or class indices [B, T, 1]
    z_mask: np.ndarray  # [B, T, nz] 1 where the behaviour is observed
    lengths: np.ndarray
    u: np.ndarray | None = None  # normalised measured inputs [B, T, nu] (None: no inputs)


@dataclass(frozen=True)
class Normaliser:
    """How y, z and the measured inputs u were normalised at fit time.

    Applied again at prediction time; `u` is None for a model fitted without inputs."""

    y: Standardiser
    z: Standardiser | None
    y_kind: str
    z_kind: str
    classes: np.ndarray | None
    u: Standardiser | None = None

    @property
    def n_measured(self) -> int:
        """The number of measured inputs (0 for a model fitted without them)."""
        return 0 if self.u is None else int(self.u.mean.size)

    @classmethod
    def fit(cls, ys: list[np.ndarray], zs: list[np.ndarray], *, y_kind: str, z_kind: str,
            zscore: bool, us: list[np.ndarray] | None = None) -> Normaliser:
        u_norm = None
        if us is not None:  # inputs as the neural inputs are: z-scored unless zscore=False
            u_norm = Standardiser.fit(us, zscore=zscore)
            check_magnitude([u_norm.apply(u) for u in us], "u", method="DPAD",
                            low=_FLOAT32_RANGE[0], high=_FLOAT32_RANGE[1])
        if y_kind == "poisson":
            for i, y in enumerate(ys):
                if np.any(y < 0):
                    raise ValueError(f"neural='poisson' needs non-negative counts (trial {i})")
            y_norm = Standardiser.fit(ys, zscore=True)  # inputs only: targets stay counts
        else:
            y_norm = Standardiser.fit(ys, zscore=zscore)
            check_magnitude([y_norm.apply(y) for y in ys], "y", method="DPAD",
                            low=_FLOAT32_RANGE[0], high=_FLOAT32_RANGE[1])
        if z_kind == "categorical":
            if zs[0].shape[1] != 1:
                raise ValueError(
                    f"categorical z must have a single column of class labels, got "
                    f"{zs[0].shape[1]} columns"
                )
            finite = [z[np.isfinite(z[:, 0])] for z in zs]
            for z in finite:
                if np.any(z != np.round(z)):
                    raise ValueError("categorical z must hold integer class labels (NaN = missing)")
            return cls(y_norm, None, y_kind, z_kind, check_classes(finite), u_norm)
        check_behaviour_varies(zs)
        z_norm = Standardiser.fit(zs, zscore=zscore)
        check_magnitude([z_norm.apply(z) for z in zs], "z", method="DPAD",
                        low=_FLOAT32_RANGE[0], high=_FLOAT32_RANGE[1])
        return cls(y_norm, z_norm, y_kind, z_kind, None, u_norm)

    @property
    def n_z_out(self) -> int:
        """Width of the behaviour readout: nz, or the number of classes."""
        return self.classes.size if self.classes is not None else self.z.mean.size

    def prepare(self, ys: list[np.ndarray], zs: list[np.ndarray] | None = None,
                us: list[np.ndarray] | None = None) -> Prepared:
        """Normalised, padded arrays of the trials (and their measured inputs `us`).

        `us` must be given exactly when the model was fitted with them (the caller checks)."""
        lengths = np.array([y.shape[0] for y in ys])
        T, B = int(lengths.max()), len(ys)
        ny = ys[0].shape[1]
        y_in = np.zeros((B, T, ny), np.float32)
        y_tgt = np.zeros((B, T, ny), np.float32)
        y_mask = np.zeros((B, T), np.float32)
        nz = 1 if zs is None else zs[0].shape[1]
        z = np.zeros((B, T, nz), np.int32 if self.z_kind == "categorical" else np.float32)
        z_mask = np.zeros((B, T, nz), np.float32)
        for b, y in enumerate(ys):
            n = y.shape[0]
            y_in[b, :n] = self.y.apply(y)
            y_tgt[b, :n] = y if self.y_kind == "poisson" else self.y.apply(y)
            y_mask[b, :n] = 1.0
            if zs is not None:
                zb = np.asarray(zs[b], dtype=np.float64)
                ok = np.isfinite(zb)
                z_mask[b, :n] = ok
                if self.z_kind == "categorical":
                    idx = np.searchsorted(self.classes, np.where(ok, zb, self.classes[0]))
                    idx = np.clip(idx, 0, self.classes.size - 1)
                    known = self.classes[idx] == np.where(ok, zb, self.classes[idx])
                    if not np.all(known):
                        raise ValueError("z contains class labels not seen when fitting")
                    z[b, :n] = idx
                else:
                    z[b, :n] = np.where(ok, self.z.apply(np.where(ok, zb, 0.0)), 0.0)
        u = None
        if us is not None:
            u = np.zeros((B, T, self.n_measured), np.float32)
            for b, ub in enumerate(us):
                u[b, : ub.shape[0]] = self.u.apply(ub)
        checked = [("y", y_in), ("y", y_tgt), ("z", z)] + ([] if u is None else [("u", u)])
        for name, arr in checked:
            if not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"{name} holds values that overflow float32 (DPAD's precision) after "
                    f"standardisation: Poisson counts above 3e38, or data about 1e38 times "
                    f"larger than those the model was fitted on"
                )
        return Prepared(y_in, y_tgt, y_mask, z, z_mask, lengths, u)


def to_blocks(arrays: dict[str, np.ndarray], lengths: np.ndarray, block_len: int) -> dict:
    """Cut `[B, T, ·]` arrays into blocks `[n_blocks, block_len, ·]` of real samples, in time
    order (trial after trial); the last block of each trial is padded (its mask is zero there)."""
    out = {k: [] for k in arrays}
    for b, n in enumerate(lengths):
        for start in range(0, int(n), block_len):
            stop = min(start + block_len, int(n))
            for k, a in arrays.items():
                piece = np.zeros((block_len,) + a.shape[2:], a.dtype)
                piece[: stop - start] = a[b, start:stop]
                out[k].append(piece)
    return {k: np.stack(v) for k, v in out.items()}


def split_blocks(blocks: dict, val_fraction: float) -> tuple[dict, dict]:
    """The last `val_fraction` of the blocks (the end of the data) become the validation set."""
    n = next(iter(blocks.values())).shape[0]
    n_val = int(round(n * val_fraction))
    if n < 2 or n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"too little data: {n} blocks cannot be split into training and validation parts "
            f"(val_fraction={val_fraction}); use more data or a shorter block_len"
        )
    return ({k: v[: n - n_val] for k, v in blocks.items()},
            {k: v[n - n_val:] for k, v in blocks.items()})
