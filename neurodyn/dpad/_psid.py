"""PSID: preferential subspace identification (Sani, Abbaspourazad, Wong, Pesaran & Shanechi 2021,
Nat. Neurosci. 24:140), the closed-form linear core of DPAD.

Model (innovation form, mean-removed data):

    [x1; x2]_{k+1} = [[A11, 0], [A21, A22]] [x1; x2]_k + w_k
    y_k = Cy x_k + v_k,    z_k = Cz x_k + ε_k

Stage 1 projects the future behaviour Zf on the past neural activity Yp (block-Hankel matrices,
horizon i): Ẑf = Zf Ypᵀ (Yp Ypᵀ)⁻¹ Yp = Γz X̂_i; the SVD of Ẑf gives the n1 behaviour-relevant
states X̂1_i = Γz⁺ Ẑf, and the same with one more past row gives X̂1_{i+1}. Stage 2 removes from the
future neural activity what X̂1 already predicts and takes nx − n1 more states from the SVD of its
projection on Yp. A, Cy, Cz follow by least squares, Q, R, S from the residuals, the Kalman gain
from the Riccati equation, and finally Cz is refitted on the Kalman-predicted states.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_bool, check_int
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
from ._ssm import LinearSSM
from ._system import LinearSystem
from .metrics import Data, Scores, score


def _hankel_gram(ys, zs, i: int, chunk: int = 16384) -> tuple[np.ndarray, int]:
    """Covariances of the block-Hankel rows with the past-plus-one rows, without storing H.

    H stacks, per column k (one per sample with a full window, trials concatenated), the neural
    blocks y_k … y_{k+2i−1} and the future behaviour blocks z_{k+i} … z_{k+2i−1}. Returns
    (H Hpᵀ / N, N) with Hp = the first (i + 1)·ny rows of H ([Yp; Yii] in Sani et al.'s notation);
    every quantity PSID needs is a linear function of these rows, so this Gram matrix is enough.
    """
    ny = ys[0].shape[1]
    p = (i + 1) * ny
    gram = 0.0
    n_total = 0
    for y, z in zip(ys, zs):
        n = y.shape[0] - 2 * i + 1
        for c0 in range(0, n, chunk):
            c1 = min(n, c0 + chunk)
            H = np.concatenate([y[r + c0: r + c1] for r in range(2 * i)]
                               + [z[r + c0: r + c1] for r in range(i, 2 * i)], axis=1)
            gram = gram + H.T @ H[:, :p]
            n_total += c1 - c0
    return gram / n_total, n_total


def _states(gram_hat, n):
    """Γ = U S^½ from the top-n eigenvectors of a projected future's Gram matrix (= its SVD)."""
    evals, evecs = np.linalg.eigh((gram_hat + gram_hat.T) / 2)
    order = np.argsort(evals)[::-1][:n]
    s = np.sqrt(np.clip(evals[order], 0.0, None))  # singular values of the projection
    return evecs[:, order] * np.sqrt(s)


class PSID:
    """Preferential subspace identification: `PSID(nx, n1, horizon).fit(y, z)`.

    `nx` latent states in all, of which the first `n1` are learned from behaviour (stage 1);
    `n1 = 0` gives standard (non-prioritised) subspace identification. `horizon` is the number of
    past and future block rows i; it needs n1 ≤ i·nz and nx ≤ i·ny. y and z are mean-removed
    (and z-scored with `zscore=True`) before identification; predictions add the mean back.
    Identification squares the data: in their own units (`zscore=False`) they must stay within
    1e-100 … 1e100 after centring; with `zscore=True` any magnitude works.
    After `fit`, the model is in `.model` (a `LinearSSM`) and its matrices in `.A`, `.Cy`, `.Cz`,
    `.Q`, `.R`, `.S`, `.K`.
    """

    def __init__(self, nx: int, n1: int, horizon: int, *, zscore: bool = False):
        self.nx, self.n1 = check_sizes(nx, n1)
        self.horizon = check_int(horizon, "horizon", low=1)
        self.zscore = check_bool(zscore, "zscore")
        self.model: LinearSSM | None = None

    def __repr__(self) -> str:
        state = "fitted" if self.model is not None else "not fitted"
        return f"PSID(nx={self.nx}, n1={self.n1}, horizon={self.horizon}; {state})"

    # ----------------------------------------------------------------- fitting
    def fit(self, y: Data, z: Data) -> PSID:
        """Identify the model from y `[T, ny]` and z `[T, nz]` (or lists of trials)."""
        ys, _ = as_trials(y, "y")
        zs, _ = as_trials(z, "z")
        check_pair(ys, zs)
        check_behaviour_varies(zs)
        i, nx, n1 = self.horizon, self.nx, self.n1
        ny, nz = ys[0].shape[1], zs[0].shape[1]
        if n1 > i * nz:
            raise ValueError(
                f"n1={n1} needs horizon * nz >= n1, but horizon={i} and nz={nz}; use horizon >= "
                f"{-(-n1 // nz)}"
            )
        if nx > i * ny:
            raise ValueError(
                f"nx={nx} needs horizon * ny >= nx, but horizon={i} and ny={ny}; use horizon >= "
                f"{-(-nx // ny)}"
            )
        short = [k for k, t in enumerate(ys) if t.shape[0] < 2 * i]
        if short:
            raise ValueError(
                f"trials {short[:5]} are shorter than 2 * horizon = {2 * i} samples; use a "
                f"smaller horizon or drop them"
            )
        n_cols = sum(t.shape[0] - 2 * i + 1 for t in ys)
        if n_cols <= (i + 1) * ny:
            raise ValueError(
                f"too little data for horizon={i}: {n_cols} Hankel columns but at least "
                f"{(i + 1) * ny + 1} are needed"
            )

        self.y_prep = Standardiser.fit(ys, zscore=self.zscore)
        self.z_prep = Standardiser.fit(zs, zscore=self.zscore)
        ys = [self.y_prep.apply(t) for t in ys]
        zs = [self.z_prep.apply(t) for t in zs]
        # Covariances square the data: in the data's own units, 1e200 would overflow float64.
        check_magnitude(ys, "y", method="PSID", low=1e-100, high=1e100)
        check_magnitude(zs, "z", method="PSID", low=1e-100, high=1e100)

        G, n_cols = _hankel_gram(ys, zs, i)
        p, q = i * ny, (i + 1) * ny  # rows of Yp and of [Yp; Yii] within H
        Yf, Yf_minus = slice(p, 2 * i * ny), slice(q, 2 * i * ny)
        zoff = 2 * i * ny
        Zf, Zf_minus, Zii = slice(zoff, zoff + i * nz), slice(zoff + nz, zoff + i * nz), \
            slice(zoff, zoff + nz)
        G_pp = G[:q]  # covariance of [Yp; Yii]
        G_p = G_pp[:p, :p]
        pinv_p = np.linalg.pinv(G_p, hermitian=True)
        pinv_pp = np.linalg.pinv(G_pp, hermitian=True)

        # States are written as coefficient matrices M on [Yp; Yii] (X = M Hp): cov(M1, M2) =
        # M1 G_pp M2ᵀ, and a projection on Yp (or [Yp; Yii]) is cov(·, Yp) pinv(G_p) Yp.
        def on_past(cross_p):  # coefficients of the projection of a signal on Yp
            return np.concatenate([cross_p @ pinv_p, np.zeros((cross_p.shape[0], ny))], axis=1)

        def cov(M1, M2):
            return M1 @ G_pp @ M2.T

        def states(W, W_minus, n, n_out):
            gamma = _states(cov(W, W), n)
            return np.linalg.pinv(gamma) @ W, np.linalg.pinv(gamma[:-n_out]) @ W_minus

        Mx = np.empty((0, q))
        Mx_plus = np.empty((0, q))
        if n1 > 0:  # stage 1: behaviour-relevant states from Zf projected on the past
            Mx, Mx_plus = states(on_past(G[Zf, :p]), G[Zf_minus] @ pinv_pp, n1, nz)
        n2 = nx - n1
        if n2 > 0:  # stage 2: the rest of the neural dynamics, from the residual future
            cross_f, cross_fm = G[Yf, :p], G[Yf_minus]
            if n1 > 0:
                gamma_y1 = (G[Yf] @ Mx.T) @ np.linalg.pinv(cov(Mx, Mx), hermitian=True)
                cross_f = cross_f - gamma_y1 @ (Mx @ G_pp[:, :p])
                cross_fm = cross_fm - gamma_y1[:-ny] @ (Mx_plus @ G_pp)
            M2, M2_plus = states(on_past(cross_f), cross_fm @ pinv_pp, n2, ny)
            Mx, Mx_plus = np.concatenate([Mx, M2]), np.concatenate([Mx_plus, M2_plus])

        def lstsq(cross, M):  # W minimising E‖target − W x‖² given cov(target, x)
            return cross @ np.linalg.pinv(cov(M, M), hermitian=True)

        A = np.zeros((nx, nx))
        if n1 > 0:
            A[:n1, :n1] = lstsq(cov(Mx_plus[:n1], Mx[:n1]), Mx[:n1])
        if n2 > 0:
            A[n1:] = lstsq(cov(Mx_plus[n1:], Mx), Mx)
        E_ii = np.zeros((ny, q))
        E_ii[:, p:] = np.eye(ny)
        Cy = lstsq(cov(E_ii, Mx), Mx)
        Mw, Mv = Mx_plus - A @ Mx, E_ii - Cy @ Mx  # residuals w = X⁺ − A X, v = Yii − Cy X
        Q, R, S = cov(Mw, Mw), cov(Mv, Mv), cov(Mw, Mv)
        Cz0 = lstsq(G[Zii] @ Mx.T, Mx)
        model = LinearSSM(A=A, Cy=Cy, Cz=Cz0, Q=(Q + Q.T) / 2, R=(R + R.T) / 2, S=S)

        # Cz refit on the Kalman-predicted states of the training data (unbiased readout).
        xs = [model.filter(t) for t in ys]
        X, Z = np.concatenate(xs), np.concatenate(zs)
        Cz = np.linalg.lstsq(X, Z, rcond=None)[0].T
        self.model = LinearSSM(A=A, Cy=Cy, Cz=Cz, Q=model.Q, R=model.R, S=S, _gain=model._gain)
        return self

    # -------------------------------------------------------------- prediction
    def _check_fitted(self) -> None:
        if self.model is None:
            raise RuntimeError("this PSID model is not fitted yet; call fit(y, z) first")

    def _predict(self, y: Any, filtered: bool
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], bool]:
        """Per-trial (z_hat, y_hat, x), each trial started from x = 0, and whether y held
        several trials."""
        self._check_fitted()
        ys, was_list = as_trials(y, "y")
        check_bool(filtered, "filtered")
        if ys[0].shape[1] != self.model.Cy.shape[0]:
            raise ValueError(
                f"y has {ys[0].shape[1]} channels but the model was fitted on "
                f"{self.model.Cy.shape[0]}"
            )
        out = []
        for t in ys:
            z_hat, y_hat, x = self.model.predict(self.y_prep.apply(t), filtered=filtered)
            out.append((self.z_prep.invert(z_hat), self.y_prep.invert(y_hat), x))
        return out, was_list

    def predict(self, y: Data, *, filtered: bool = False) -> Prediction:
        """One-step-ahead `Prediction(z, y, x)` from the steady-state Kalman filter: arrays
        `[T, ·]` for one recording, `[B, T, ·]` for a batch `[B, T, ny]` (each trial started from
        x = 0); for a list of trials use `predict_trials`.

        `filtered=True` uses the filtered states x_{k|k} instead of x_{k|k−1}.
        """
        out, was_list = self._predict(y, filtered)
        return collect(out, prediction_form(y, was_list))

    def predict_trials(self, trials: Data, *, filtered: bool = False) -> Prediction:
        """`predict` for a list of trials (of any lengths): a `Prediction` of lists, one array
        per trial."""
        return collect(self._predict(trials, filtered)[0], "trials")

    def score(self, y: Data, z: Data) -> Scores:
        """Behaviour and neural prediction metrics (see `neurodyn.dpad.metrics.score`)."""
        z_hat, y_hat, _ = self.predict_trials(y)
        return score(z, z_hat, y=y, y_hat=y_hat)

    def as_system(self) -> LinearSystem:
        """The Kalman predictor x ↦ (A − K Cy) x + K y as a neurodyn dynamical system."""
        self._check_fitted()
        return LinearSystem.from_psid(self)

    # ------------------------------------------------------------ conveniences
    def __getattr__(self, name: str) -> np.ndarray:
        if name in ("A", "Cy", "Cz", "Q", "R", "S"):
            self._check_fitted()
            return getattr(self.model, name)
        if name in ("K", "Kf", "P"):
            self._check_fitted()
            return getattr(self.model.gain, name)
        raise AttributeError(name)
