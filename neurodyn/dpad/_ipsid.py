"""The subspace stages of PSID with measured inputs (IPSID; Vahidi, Sani & Shanechi 2024, PNAS
121:e2212887121), computed from one covariance matrix of the block-Hankel rows.

Model (mean-removed data, u the measured input):

    [x1; x2]_{k+1} = [[A11, 0], [A21, A22]] [x1; x2]_k + B u_k + w_k
    y_k = Cy x_k + Dy u_k + v_k,    z_k = Cz x_k + Dz u_k + ε_k

With past and future block rows Up, Uf (horizon i_y), Yp, Yf (i_y) and Zf (i_z), stage 1 takes the
n1 behaviour-relevant states from the SVD of the oblique projection of Zf on [Up; Yp] along Uf
(its part orthogonal to Uf), X̂1 = Γz⁺ Ẑf with Ẑf = Zf / [Up; Yp; Uf]; stage 2 does the same for
the part of Yf that X̂1 does not predict. A, Cy follow by least squares on [X̂; Uf], Q, R, S from
the residuals, and B, Dy by the least-squares problem of Van Overschee & De Moor (1996, §4.3,
pp. 125-127) once A and Cy are known. Without inputs (nu = 0) every step reduces to PSID's
(Sani et al. 2021, Nat. Neurosci.).

Every signal here is a linear combination of the rows of the Hankel matrix, so it is kept as its
coefficients on the basis rows b = [Up; Uf; Yp; y_i] and its covariance with them: one pass over
the data gives H bᵀ / N, and each projection, SVD and regression is then a small matrix problem
(an SVD of a projected signal is the eigendecomposition of its Gram matrix, which fixes the
states up to a change of basis).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg


class Subspace(NamedTuple):
    """The identified matrices (no readout of z yet): x_{k+1} = A x + B u + w, y = Cy x + Dy u + v,
    cov([w; v]) = [[Q, S], [Sᵀ, R]]."""

    A: np.ndarray
    B: np.ndarray
    Cy: np.ndarray
    Dy: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    S: np.ndarray


def hankel_cross(ys, zs, us, iy: int, iz: int, chunk: int = 16384) -> tuple[np.ndarray, int]:
    """(H bᵀ / N, N) for H = [Up; Uf; Yp; Yf; Zf] and b its first rows [Up; Uf; Yp; y_i].

    Column k of H (one per window; trials concatenated, trials too short for a window skipped)
    holds u and y at times m − i_y … m + i_y − 1 and z at m … m + i_z − 1, m = k + max(i_y, i_z).
    `zs`, `us` may be None; missing samples must already be filled.
    """
    nu = 0 if us is None else us[0].shape[1]
    ny = ys[0].shape[1]
    im = max(iy, iz)
    q = 2 * iy * nu + (iy + 1) * ny
    gram, n_total = 0.0, 0
    for j, y in enumerate(ys):
        n = y.shape[0] - 2 * im + 1
        for c0 in range(0, max(n, 0), chunk):
            c1 = min(n, c0 + chunk)
            rows = []
            if us is not None:
                rows += [us[j][im - iy + r + c0: im - iy + r + c1] for r in range(2 * iy)]
            rows += [y[im - iy + r + c0: im - iy + r + c1] for r in range(2 * iy)]
            if zs is not None:
                rows += [zs[j][im + r + c0: im + r + c1] for r in range(iz)]
            H = np.concatenate(rows, axis=1)
            gram = gram + H.T @ H[:, :q]
            n_total += c1 - c0
    return gram / n_total, n_total


def _gamma(gram, n, n_cols):
    """Γ = U S^½ from the top-n eigenvectors of a projected signal's Gram matrix (per column),
    with S the singular values of the projection over all `n_cols` columns (= its SVD). The scale
    matters for B and Dy: their least-squares problem weighs state and output residuals alike."""
    evals, evecs = np.linalg.eigh((gram + gram.T) / 2 * n_cols)
    order = np.argsort(evals)[::-1][:n]
    s = np.sqrt(np.clip(evals[order], 0.0, None))
    return evecs[:, order] * np.sqrt(s)


class _Basis:
    """Projections among signals given by their covariance with the basis rows b (cross, m × q)
    or, for signals inside span(b), by their coefficients M (signal = M b)."""

    def __init__(self, G_bb: np.ndarray, n_cols: int):
        self.G = G_bb
        self.q = G_bb.shape[0]
        self.n_cols = n_cols
        self._pinv: dict = {}  # pinv(cov(M b)) of the fixed bases, which recur

    def _inverse(self, M):
        key = (M.shape, M.tobytes())
        if key not in self._pinv:
            if len(self._pinv) > 16:
                self._pinv.clear()
            self._pinv[key] = np.linalg.pinv(M @ self.G @ M.T, hermitian=True)
        return self._pinv[key]

    def rows(self, *slices) -> np.ndarray:
        """Coefficients of the basis rows `slices` (in this order)."""
        eye = np.eye(self.q)
        return np.concatenate([eye[s] for s in slices]) if slices else np.empty((0, self.q))

    def proj(self, cross, M):
        """(W, W M): the projection of a signal (covariance `cross` with b) on the rows M b."""
        if M.shape[0] == 0:
            return np.zeros((cross.shape[0], 0)), np.zeros((cross.shape[0], self.q))
        W = (cross @ M.T) @ self._inverse(M)
        return W, W @ M

    def oblique(self, cross, M_on, M_along):
        """(W, W M_on): the oblique projection of a signal on the rows M_on b along M_along b."""
        a = cross - self.proj(cross, M_along)[1] @ self.G
        b = M_on - self.proj(M_on @ self.G, M_along)[1]
        W = self.proj(a, b)[0]
        return W, W @ M_on

    def without(self, M, M_along):
        """Coefficients of M b minus its projection on M_along b."""
        return M - self.proj(M @ self.G, M_along)[1]

    def states(self, cross_f, cross_f_minus, n, n_out, Up_Yp, Uf, everything):
        """Stage-1/2 states X̂ = Γ⁺ (F / [Up; Yp; Uf]) and X̂₊ = Γ₋⁺ (F₋ / everything), with Γ
        from the SVD of the projection of F on [Up; Yp] along Uf, minus its part along Uf."""
        ob = self.oblique(cross_f, Up_Yp, Uf)[1]
        ob = self.without(ob, Uf)
        gamma = _gamma(ob @ self.G @ ob.T, n, self.n_cols)
        f_hat = self.proj(cross_f, np.concatenate([Up_Yp, Uf]))[1]
        f_minus = self.proj(cross_f_minus, everything)[1]
        return np.linalg.pinv(gamma) @ f_hat, np.linalg.pinv(gamma[:-n_out]) @ f_minus


def identify(G: np.ndarray, n_cols: int, nx: int, n1: int, ny: int, nz: int, nu: int, iy: int,
             iz: int, n_pre: int | None = None) -> Subspace:
    """IPSID's stages 1 and 2 and its parameter identification from `hankel_cross`'s matrix
    and column count.

    `n_pre` (not None) turns on the method's additional step 1: the future behaviour is first
    replaced by its oblique projection along the future inputs on n_pre states of the neural
    data, so that x1 holds no behaviour that only the inputs drive (those go to x3).
    """
    q = G.shape[1]
    bs = _Basis(G[:q], n_cols)
    Up, Uf = slice(0, iy * nu), slice(iy * nu, 2 * iy * nu)
    Yp, Yii = slice(2 * iy * nu, 2 * iy * nu + iy * ny), slice(q - ny, q)
    Uf_rows, UpYp, UpUf = bs.rows(Uf), bs.rows(Up, Yp), bs.rows(Up, Uf)
    every = np.eye(q)
    yf_cross = G[q - ny: q - ny + iy * ny]  # Yf (its first block is y_i)
    zf_cross = G[q - ny + iy * ny: q - ny + iy * ny + iz * nz]

    X, X_plus = np.empty((0, q)), np.empty((0, q))
    if n1 > 0:  # stage 1: behaviour-relevant states
        zf_minus = zf_cross[nz:]
        if n_pre is not None:  # additional step 1: behaviour that the neural states carry
            x_pre, x_pre_plus = bs.states(yf_cross, yf_cross[ny:], min(n_pre, iy * ny), ny,
                                          UpYp, Uf_rows, every)
            Qz, zf = bs.oblique(zf_cross, x_pre, UpUf)
            zf_cross, zf_minus = zf @ bs.G, Qz[:-nz] @ x_pre_plus @ bs.G
        X, X_plus = bs.states(zf_cross, zf_minus, n1, nz, UpYp, Uf_rows, every)
    n2 = nx - n1
    if n2 > 0:  # stage 2: the rest of the neural dynamics
        rest, rest_minus = yf_cross, yf_cross[ny:]
        if n1 > 0:  # remove what x1 predicts of the future neural activity (along Uf)
            Oy1, yhat1 = bs.oblique(yf_cross, X, UpUf)
            rest, rest_minus = rest - yhat1 @ bs.G, rest_minus - Oy1[:-ny] @ X_plus @ bs.G
        X2, X2_plus = bs.states(rest, rest_minus, n2, ny, UpYp, Uf_rows, every)
        X, X_plus = np.concatenate([X, X2]), np.concatenate([X_plus, X2_plus])

    A = np.zeros((nx, nx))
    residuals = []
    for rows, cols in ((slice(0, n1), slice(0, n1)), (slice(n1, nx), slice(0, nx))):
        if rows.stop > rows.start:
            regressors = np.concatenate([X[cols], Uf_rows])
            W, fit = bs.proj(X_plus[rows] @ bs.G, regressors)
            A[rows, cols] = W[:, : cols.stop]
            residuals.append(X_plus[rows] - fit)
    Mw = np.concatenate(residuals)
    W, fit = bs.proj(bs.rows(Yii) @ bs.G, np.concatenate([X, Uf_rows]))
    Cy = W[:, :nx]
    Mv = bs.rows(Yii) - fit
    Q, R, S = Mw @ bs.G @ Mw.T, Mv @ bs.G @ Mv.T, Mw @ bs.G @ Mv.T
    B, Dy = np.zeros((nx, nu)), np.zeros((ny, nu))
    if nu > 0:
        B, Dy = _input_matrices(bs, A, Cy, yf_cross, iy, ny, nu, Up, Uf, Yp, Yii)
    return Subspace(A=A, B=B, Cy=Cy, Dy=Dy, Q=(Q + Q.T) / 2, R=(R + R.T) / 2, S=S)


def observability(A: np.ndarray, C: np.ndarray, i: int) -> np.ndarray:
    """[C; C A; …; C A^{i−1}]."""
    blocks = [C]
    for _ in range(i - 1):
        blocks.append(blocks[-1] @ A)
    return np.concatenate(blocks)


def _input_matrices(bs: _Basis, A, Cy, yf_cross, iy, ny, nu, Up, Uf, Yp, Yii):
    """B and Dy by least squares given A and Cy (Van Overschee & De Moor 1996, eqs. 4.54-4.59).

    With Γ = observability(A, Cy, i) and the states X̂ = Γ⁺ (Yf / [Up; Uf; Yp]),
    X̂₊ = Γ₋⁺ (Yf₋ / b), the residuals [X̂₊ − A X̂; y_i − Cy X̂] are linear in [Dy; B] through the
    future inputs: Σ_j N_j [I, 0; 0, Γ₋] [Dy; B] u_{i+j}. The sum of squares over the samples is a
    trace with the basis covariance, evaluated with any factor L Lᵀ = cov(b).
    """
    nx = A.shape[0]
    gamma = observability(A, Cy, iy)
    g_minus = gamma[:-ny]
    yhat = bs.proj(yf_cross, bs.rows(Up, Uf, Yp))[1]
    yhat_minus = bs.proj(yf_cross[ny:], np.eye(bs.q))[1]
    X, X_plus = np.linalg.pinv(gamma) @ yhat, np.linalg.pinv(g_minus) @ yhat_minus
    PP = np.concatenate([X_plus - A @ X, bs.rows(Yii) - Cy @ X])
    try:
        L = np.linalg.cholesky(bs.G)
    except np.linalg.LinAlgError:  # singular: a symmetric square root does as well
        w, V = np.linalg.eigh(bs.G)
        L = V * np.sqrt(np.clip(w, 0.0, None))
    PP, U = PP @ L, bs.rows(Uf) @ L
    L1 = A @ np.linalg.pinv(gamma)
    L2 = Cy @ np.linalg.pinv(gamma)
    ZM = np.concatenate([np.zeros((nx, ny)), np.linalg.pinv(g_minus)], axis=1)
    right = linalg.block_diag(np.eye(ny), g_minus)
    lhs = np.zeros((PP.size, (nx + ny) * nu))
    for j in range(iy):
        N = np.zeros((nx + ny, iy * ny))
        N[:nx, : (iy - j) * ny] = ZM[:, j * ny:] - L1[:, j * ny:]
        N[nx:, : (iy - j) * ny] = -L2[:, j * ny:]
        if j == 0:
            N[nx:, :ny] += np.eye(ny)
        # vec(N R DB U_j) = (U_jᵀ ⊗ N R) vec(DB), column-major vec
        lhs += np.kron(U[j * nu: (j + 1) * nu].T, N @ right)
    DB = np.linalg.lstsq(lhs, PP.ravel(order="F"), rcond=None)[0].reshape((nx + ny, nu),
                                                                          order="F")
    return DB[ny:], DB[:ny]
