"""PSID: preferential subspace identification (Sani, Abbaspourazad, Wong, Pesaran & Shanechi 2021,
Nat. Neurosci. 24:140), the closed-form linear core of DPAD, with measured inputs (IPSID; Vahidi,
Sani & Shanechi 2024, PNAS 121:e2212887121).

Model (innovation form, mean-removed data; u a measured input, absent for plain PSID):

    [x1; x2; x3]_{k+1} = [[A11, 0, 0], [A21, A22, 0], [0, 0, A33]] x_k + B u_k + w_k
    y_k = [Cy1, Cy2, 0] x_k + Dy u_k + v_k,    z_k = [Cz1, 0, Cz3] x_k + Dz u_k + ε_k

Stage 1 projects the future behaviour Zf on the past neural activity and inputs [Up; Yp] along
the future inputs Uf (block-Hankel matrices; without inputs Ẑf = Zf Ypᵀ (Yp Ypᵀ)⁻¹ Yp = Γz X̂_i);
its SVD gives the n1 behaviour-relevant states X̂1. Stage 2 removes from the future neural
activity what X̂1 already predicts and takes nx − n1 − n3 more states from the SVD of its
projection. A, B, Cy, Dy follow by least squares, Q, R, S from the residuals, the Kalman gain
from the Riccati equation, and finally Cz (and Dz) are refitted on the Kalman-predicted states.
With `n3 > 0` (IPSID's additional steps), x1 keeps only behaviour the neural activity carries and
n3 more states x3 model the behaviour that the inputs drive but y does not show.
The subspace stages are in `_ipsid.py`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg

from .._validate import check_bool, check_choice, check_int
from ._checks import (
    Prediction,
    Standardiser,
    as_trials,
    check_behaviour_varies,
    check_magnitude,
    check_pair,
    check_sizes,
    collect,
    prediction_form,
)
from ._inputs import check_inputs
from ._ipsid import hankel_cross, identify
from ._ipsid_system import IPSIDSystem
from ._ssm import KalmanGain, LinearSSM
from ._system import LinearSystem
from .metrics import Data, Scores, score


def _horizons(horizon: Any) -> tuple[int, int]:
    """(i_y, i_z) from an int (both) or a pair."""
    if isinstance(horizon, (tuple, list)):
        if len(horizon) != 2:
            raise ValueError(f"horizon must be an int or a pair (i_y, i_z), got {horizon!r}")
        return (check_int(horizon[0], "horizon (i_y)", low=1),
                check_int(horizon[1], "horizon (i_z)", low=1))
    i = check_int(horizon, "horizon", low=1)
    return i, i


def _missing(trials: list[np.ndarray], name: str) -> None:
    """Refuse channels with no sample at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        seen = ~np.all(np.isnan(np.concatenate(trials)), axis=0)
    if not seen.all():
        raise ValueError(f"{name} is entirely missing (NaN) in channel(s) "
                         f"{np.flatnonzero(~seen).tolist()}")


def _filled(trials: list[np.ndarray]) -> list[np.ndarray]:
    """Standardised trials with missing samples (NaN) at the training mean (0)."""
    return [np.where(np.isnan(t), 0.0, t) for t in trials]


class PSID:
    """Preferential subspace identification (PSID), with measured inputs (IPSID).

    Preferential subspace identification, with measured inputs: `PSID(nx, n1, horizon).fit(y, z)`
    or `.fit(y, z, u=u)` (IPSID).

    `nx` latent states in all: the first `n1` learned from behaviour z (stage 1; `n1 = 0` with
    `z=None` is standard subspace identification), `n3` (IPSID's additional steps; needs u, z
    and n1 > 0) behaviour-only states driven by the inputs, and nx − n1 − n3 more from the neural
    activity y. `horizon` is the number of block rows: an int i, or a pair (i_y, i_z) for the
    neural (and input) and the behaviour horizons; it needs n1 ≤ i_z·nz and nx − n3 ≤ i_y·ny.
    `n_pre` is the number of states of the neural preprocessing of IPSID's additional step 1
    (None: all, i_y·ny); n3 > 0 or a given n_pre turns that step on (x1 then holds no behaviour
    that only the inputs drive, and Dz = 0; the package's `remove_nonYrelated_fromX1`).

    y, z, u are one recording `[T, ·]`, a batch `[B, T, ·]` or a list of trials of any lengths
    (trials shorter than 2·max(i_y, i_z) only enter the readout fit, with a warning). NaN (a
    missing sample) in y or z is refused unless `missing="mean"` (the `PSID` package's
    `missing_marker` is opt-in too): a missing sample then counts as the training mean in the
    subspace stages, a missing y also in the Kalman filter (the package computes this on
    mean-imputed y; it has no missing-data handling for y), and samples with any behaviour
    missing are left out of the readout fit (as the package's `missing_marker` does). u must be
    finite.
    With `remove_mean` (default) y, z and u are mean-removed, and with `zscore=True` also scaled
    to unit variance, before identification; predictions come back in the data's units.
    Identification squares the data: in their own units (`zscore=False`) they must stay within
    1e-100 … 1e100 after centring; with `zscore=True` any magnitude works.
    After `fit`, the model is in `.model` (a `LinearSSM`) and its matrices in `.A`, `.B`, `.Cy`,
    `.Dy`, `.Cz`, `.Dz`, `.Q`, `.R`, `.S`, `.K`.
    """

    def __init__(self, nx: int, n1: int, horizon: int | Sequence[int], *, n3: int = 0,
                 n_pre: int | None = None, remove_mean: bool = True, zscore: bool = False,
                 missing: str = "error"):
        self.nx, self.n1 = check_sizes(nx, n1)
        self.i_y, self.i_z = _horizons(horizon)
        self.horizon = (self.i_y, self.i_z) if isinstance(horizon, (tuple, list)) else self.i_y
        self.n3 = check_int(n3, "n3", low=0)
        if self.n1 + self.n3 > self.nx:
            raise ValueError(f"n1 + n3 ({self.n1} + {self.n3}) must be <= nx ({self.nx})")
        if self.n3 > 0 and self.n1 == 0:
            raise ValueError("n3 > 0 (input-driven behaviour states) needs n1 > 0")
        self.n_pre = None if n_pre is None else check_int(n_pre, "n_pre", low=1)
        if self.n_pre is not None and self.n1 == 0:
            raise ValueError("n_pre (IPSID's additional step 1 for x1) needs n1 > 0")
        self.remove_mean = check_bool(remove_mean, "remove_mean")
        self.zscore = check_bool(zscore, "zscore")
        self.missing = check_choice(missing, "missing", ("error", "mean"))
        self.model: LinearSSM | None = None

    def __repr__(self) -> str:
        state = "fitted" if self.model is not None else "not fitted"
        extra = f", n3={self.n3}" if self.n3 else ""
        return f"PSID(nx={self.nx}, n1={self.n1}, horizon={self.horizon}{extra}; {state})"

    # ----------------------------------------------------------------- fitting
    def _check_data(self, ys, zs, us) -> None:
        iy, iz, n1 = self.i_y, self.i_z, self.n1
        ny, nz = ys[0].shape[1], 0 if zs is None else zs[0].shape[1]
        if zs is None and n1 > 0:
            raise ValueError(f"n1={n1} behaviour-relevant states need the behaviour z; pass z "
                             f"or use n1=0")
        if self.n3 > 0 and us is None:
            raise ValueError(f"n3={self.n3} input-driven states need the measured inputs u")
        if self.n_pre is not None and us is None:
            raise ValueError("n_pre (IPSID's additional step 1) needs the measured inputs u")
        if n1 > iz * nz:
            raise ValueError(
                f"n1={n1} needs horizon * nz >= n1, but horizon={iz} and nz={nz}; use horizon >= "
                f"{-(-n1 // nz)}"
            )
        if self.n3 > iz * nz:
            raise ValueError(f"n3={self.n3} needs horizon * nz >= n3, but horizon={iz} and "
                             f"nz={nz}; use a larger behaviour horizon")
        nx = self.nx - self.n3
        if nx > n1 and nx > iy * ny:
            raise ValueError(
                f"nx={nx} needs horizon * ny >= nx, but horizon={iy} and ny={ny}; use horizon >= "
                f"{-(-nx // ny)}"
            )
        window = 2 * max(iy, iz)
        short = [k for k, t in enumerate(ys) if t.shape[0] < window]
        if len(short) == len(ys):
            raise ValueError(
                f"trials {short[:5]} are shorter than 2 * horizon = {window} samples; use a "
                f"smaller horizon or drop them"
            )
        if short:
            warnings.warn(f"{len(short)} of {len(ys)} trials are shorter than 2 * horizon = "
                          f"{window} samples: they enter only the readout fit", stacklevel=3)
        n_cols = sum(max(t.shape[0] - window + 1, 0) for t in ys)
        need = 2 * iy * (0 if us is None else us[0].shape[1]) + (iy + 1) * ny
        if n_cols <= need:
            raise ValueError(
                f"too little data for horizon={self.horizon}: {n_cols} Hankel columns but at "
                f"least {need + 1} are needed"
            )

    def _prep(self, trials, name):
        prep = Standardiser.fit(trials, zscore=self.zscore,
                                centre=self.remove_mean or self.zscore)
        if self.zscore:  # the sample standard deviation (ddof = 1), as the PSID package
            n = np.sum(~np.isnan(np.concatenate(trials)), axis=0)
            prep = Standardiser(mean=prep.mean, unit=prep.unit,
                                scale=prep.scale * np.sqrt(n / np.maximum(n - 1, 1)))
        out = [prep.apply(t) for t in trials]
        # Covariances square the data: in the data's own units, 1e200 would overflow float64.
        check_magnitude(out, name, method="PSID", low=1e-100, high=1e100)
        return prep, out

    def fit(self, y: Data, z: Data | None = None, u: Data | None = None) -> PSID:
        """Identify the model from y `[T, ny]`, z `[T, nz]` (None: no behaviour, n1 = 0) and
        the measured inputs u `[T, nu]` (None: plain PSID), or lists of trials of each."""
        ys, _ = as_trials(y, "y", allow_nan=self.missing == "mean")
        _missing(ys, "y")
        zs = None
        if z is not None:
            zs, _ = as_trials(z, "z", allow_nan=self.missing == "mean")
            check_pair(ys, zs)
            check_behaviour_varies(zs)
        us = check_inputs(u, ys)
        if us is not None and (self.remove_mean or self.zscore):
            flat = np.ptp(np.concatenate(us), axis=0) == 0
            if flat.any():
                raise ValueError(f"u is constant in channel(s) {np.flatnonzero(flat).tolist()}: "
                                 f"after mean removal it carries nothing; drop it")
        self._check_data(ys, zs, us)
        self.y_prep, ys = self._prep(ys, "y")
        self.z_prep, zs = (Standardiser(np.zeros(0), np.ones(0), np.ones(0)), None) \
            if zs is None else self._prep(zs, "z")
        self.u_prep, us = (None, None) if us is None else self._prep(us, "u")
        self.model = self._identify(ys, zs, us)
        return self

    def _identify(self, ys, zs, us) -> LinearSSM:
        iy, iz, n1, n3 = self.i_y, self.i_z, self.n1, self.n3
        ny, nz = ys[0].shape[1], 0 if zs is None else zs[0].shape[1]
        nu = 0 if us is None else us[0].shape[1]
        yf = _filled(ys)
        zf = None if zs is None else _filled(zs)
        G, n_cols = hankel_cross(yf, zf, us, iy, iz)
        preprocess = n3 > 0 or self.n_pre is not None
        n_pre = (self.n_pre or iy * ny) if preprocess else None
        sub = identify(G, n_cols, self.nx - n3, n1, ny, nz, nu, iy, iz, n_pre)
        nx = sub.A.shape[0]
        model = LinearSSM(A=sub.A, Cy=sub.Cy, Cz=np.zeros((nz, nx)), Q=sub.Q, R=sub.R, S=sub.S,
                          B=sub.B if nu else None, Dy=sub.Dy if nu else None)
        if zs is None:
            return model
        # Cz (and Dz) refit on the Kalman-predicted states of the training data, leaving out
        # the samples with any behaviour missing; with n3, x1 alone carries z (Dz = 0).
        xs = [model.filter(t, u=None if us is None else us[k]) for k, t in enumerate(yf)]
        X, Z = np.concatenate(xs), np.concatenate(zs)
        seen = ~np.isnan(Z).any(axis=1)
        regressors = X if nu == 0 or preprocess else np.hstack([X, np.concatenate(us)])
        CD = np.linalg.lstsq(regressors[seen], Z[seen], rcond=None)[0].T
        Cz, Dz = CD[:, :nx], (CD[:, nx:] if regressors.shape[1] > nx else np.zeros((nz, nu)))
        g = model.gain
        if n3 == 0:
            return LinearSSM(A=sub.A, Cy=sub.Cy, Cz=Cz, Q=model.Q, R=model.R, S=sub.S,
                             B=model.B if nu else None, Dy=model.Dy if nu else None,
                             Dz=Dz if nu else None, _gain=[g])
        # Additional step 2: x3 from the behaviour left over, driven by u only (stage 2 on z).
        res = [np.where(np.isnan(zt), 0.0, zt - x @ Cz.T) for zt, x in zip(zs, xs)]
        res_c = [t - np.concatenate(res).mean(axis=0) for t in res]
        u_mean = np.concatenate(us).mean(axis=0)
        s3 = identify(*hankel_cross(res_c, None, [t - u_mean for t in us], iz, iz),
                      n3, 0, nz, 0, nu, iz, iz)
        zeros = np.zeros
        gain = KalmanGain(K=np.concatenate([g.K, zeros((n3, ny))]),
                          Kf=np.concatenate([g.Kf, zeros((n3, ny))]),
                          P=linalg.block_diag(g.P, zeros((n3, n3))),
                          innovation_cov=g.innovation_cov)
        return LinearSSM(A=linalg.block_diag(sub.A, s3.A), Cy=np.hstack([sub.Cy, zeros((ny, n3))]),
                         Cz=np.hstack([Cz, s3.Cy]), Q=linalg.block_diag(model.Q, zeros((n3, n3))),
                         R=model.R, S=np.concatenate([sub.S, zeros((n3, ny))]),
                         B=np.concatenate([sub.B, s3.B]), Dy=sub.Dy, Dz=s3.Dy, _gain=[gain])

    # -------------------------------------------------------------- prediction
    def _check_fitted(self) -> None:
        if self.model is None:
            raise RuntimeError("this PSID model is not fitted yet; call fit(y, z) first")

    def _predict(self, y: Any, filtered: bool, u: Any = None
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], bool]:
        """Per-trial (z_hat, y_hat, x), each trial started from x = 0, and whether y held
        several trials."""
        self._check_fitted()
        ys, was_list = as_trials(y, "y", allow_nan=self.missing == "mean")
        check_bool(filtered, "filtered")
        if ys[0].shape[1] != self.model.Cy.shape[0]:
            raise ValueError(
                f"y has {ys[0].shape[1]} channels but the model was fitted on "
                f"{self.model.Cy.shape[0]}"
            )
        us = check_inputs(u, ys)
        nu = self.model.nu
        if nu and us is None:
            raise ValueError(f"this model was fitted with {nu} measured input(s): pass u")
        if not nu and us is not None:
            raise ValueError("this model was fitted without measured inputs: pass u=None")
        if us is not None and us[0].shape[1] != nu:
            raise ValueError(f"u has {us[0].shape[1]} channels but the model was fitted on {nu}")
        out = []
        for k, t in enumerate(ys):
            uk = None if us is None else self.u_prep.apply(us[k])
            z_hat, y_hat, x = self.model.predict(_filled([self.y_prep.apply(t)])[0],
                                                 filtered=filtered, u=uk)
            out.append((self.z_prep.invert(z_hat), self.y_prep.invert(y_hat), x))
        return out, was_list

    def predict(self, y: Data, u: Data | None = None, *, filtered: bool = False) -> Prediction:
        """One-step-ahead `Prediction(z, y, x)` from the steady-state Kalman filter, given the
        measured inputs u for a model fitted with them: arrays `[T, ·]` for one recording,
        `[B, T, ·]` for a batch `[B, T, ny]` (each trial started from x = 0); for a list of trials
        use `predict_trials`.

        ẑ = Cz x + Dz u, ŷ = Cy x + Dy u; `filtered=True` uses the filtered states x_{k|k}
        instead of x_{k|k−1}. With `missing="mean"`, a missing y sample (NaN) counts as the
        training mean.
        """
        out, was_list = self._predict(y, filtered, u)
        return collect(out, prediction_form(y, was_list))

    def predict_trials(self, trials: Data, u: Data | None = None, *, filtered: bool = False
                       ) -> Prediction:
        """`predict` for a list of trials (of any lengths) and their inputs: a `Prediction` of
        lists, one array per trial."""
        return collect(self._predict(trials, filtered, u)[0], "trials")

    def score(self, y: Data, z: Data, u: Data | None = None) -> Scores:
        """Behaviour and neural prediction metrics (see `neurodyn.dpad.metrics.score`)."""
        z_hat, y_hat, _ = self.predict_trials(y, u)
        return score(z, z_hat, y=y, y_hat=y_hat)

    def as_system(self) -> LinearSystem | IPSIDSystem:
        """The Kalman predictor as a neurodyn dynamical system: x ↦ (A − K Cy) x + K y (a
        `LinearSystem`), or for a model with measured inputs an `IPSIDSystem` whose input is
        [y; u]: x ↦ (A − K Cy) x + K y + (B − K Dy) u."""
        self._check_fitted()
        if self.model.nu:
            return IPSIDSystem.from_psid(self)
        return LinearSystem.from_psid(self)

    # ------------------------------------------------------------ conveniences
    def __getattr__(self, name: str) -> np.ndarray:
        if name in ("A", "B", "Cy", "Dy", "Cz", "Dz", "Q", "R", "S"):
            self._check_fitted()
            return getattr(self.model, name)
        if name in ("K", "Kf", "P"):
            self._check_fitted()
            return getattr(self.model.gain, name)
        raise AttributeError(name)
