"""Linear state-space models and their steady-state Kalman predictor (NumPy/SciPy, float64).

    x_{k+1} = A x_k + B u_k + w_k,    y_k = Cy x_k + Dy u_k + v_k,    z_k = Cz x_k + Dz u_k + ε_k,
    cov([w; v]) = [[Q, S], [Sᵀ, R]],

with u a measured input (B, Dy, Dz absent: no input). The one-step-ahead predictor in innovation
form (Katayama 2005, §5.4) is

    x_{k+1|k} = A x_{k|k−1} + B u_k + K (y_k − Cy x_{k|k−1} − Dy u_k),
    K = (A P Cyᵀ + S)(Cy P Cyᵀ + R)⁻¹,

with P the stabilising solution of the discrete algebraic Riccati equation
P = A P Aᵀ + Q − K (Cy P Cyᵀ + R) Kᵀ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np
from scipy import linalg

from .._typing import ArrayLike, Key
from .._validate import check_array, check_bool, check_int, check_key
from ._checks import Prediction


def linear_recursion(F: np.ndarray, u: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
    """States x_k, k = 0…T−1, of x_{k+1} = F x_k + u_k from x_0 = x0 (default 0).

    Computed as a Hillis–Steele prefix scan (log₂T vectorised passes, float64), which equals the
    sequential loop to rounding error when F is stable and is far faster in NumPy.
    """
    T, n = u.shape
    c = np.empty((T, n))
    c[0] = 0.0 if x0 is None else x0
    c[1:] = u[:-1]
    power = F.T.copy()  # row-vector convention: x_kᵀ = Σ_j c_jᵀ (F^{k−j})ᵀ
    offset = 1
    while offset < T:
        c[offset:] = c[offset:] + c[:-offset] @ power
        power = power @ power
        offset *= 2
    return c


@dataclass(frozen=True)
class KalmanGain:
    """Steady-state Kalman quantities: predictor gain K, filter gain Kf, error covariance P."""

    K: np.ndarray
    Kf: np.ndarray
    P: np.ndarray
    innovation_cov: np.ndarray


def _matrices(A, Cy, Q, R, S) -> tuple[np.ndarray, ...]:
    """Check the shapes and finiteness of a model's matrices (float64 NumPy arrays back)."""
    A = check_array(A, "A", ndim=2)
    nx = A.shape[0]
    A = check_array(A, "A", shape=(nx, nx), min_size=1)
    # The sizes come from A (nx) and Cy (ny): a mismatch names the matrix it was measured against.
    Cy = check_array(Cy, f"Cy (for A of shape {nx}x{nx})", shape=(None, nx), min_size=1)
    ny = Cy.shape[0]
    Q = check_array(Q, f"Q (for A of shape {nx}x{nx})", shape=(nx, nx))
    R = check_array(R, f"R (for Cy of shape {ny}x{nx})", shape=(ny, ny))
    S = check_array(S, f"S (for A of shape {nx}x{nx} and Cy of shape {ny}x{nx})",
                    shape=(nx, ny))
    return tuple(np.asarray(m, dtype=np.float64) for m in (A, Cy, Q, R, S))


def kalman_gain(A: ArrayLike, Cy: ArrayLike, Q: ArrayLike, R: ArrayLike, S: ArrayLike
                ) -> KalmanGain:
    """Solve the DARE (scipy) for the predictor gain; iterate the Riccati recursion if it fails."""
    A, Cy, Q, R, S = _matrices(A, Cy, Q, R, S)
    nx = A.shape[0]
    try:
        P = linalg.solve_discrete_are(A.T, Cy.T, Q, R, s=S)
        if not np.all(np.isfinite(P)):
            raise linalg.LinAlgError("non-finite DARE solution")
    except (linalg.LinAlgError, ValueError):
        P = np.eye(nx)
        for _ in range(20000):
            innov = Cy @ P @ Cy.T + R
            K = np.linalg.solve(innov.T, (A @ P @ Cy.T + S).T).T
            P_new = A @ P @ A.T + Q - K @ innov @ K.T
            P_new = (P_new + P_new.T) / 2
            if not np.all(np.isfinite(P_new)):
                break
            if np.max(np.abs(P_new - P)) < 1e-12 * (1 + np.max(np.abs(P))):
                P = P_new
                break
            P = P_new
        else:
            P = P * np.nan
        if not np.all(np.isfinite(P)):
            raise RuntimeError(
                "the model has no stabilising steady-state Kalman filter (the Riccati equation "
                "did not converge); its noise covariances are not valid"
            ) from None
    innov = Cy @ P @ Cy.T + R
    innov = (innov + innov.T) / 2
    K = np.linalg.solve(innov.T, (A @ P @ Cy.T + S).T).T
    Kf = np.linalg.solve(innov.T, (P @ Cy.T).T).T
    return KalmanGain(K=K, Kf=Kf, P=P, innovation_cov=innov)


@dataclass(frozen=True)
class LinearSSM:
    """A linear Gaussian state-space model with neural (y) and behavioural (z) observations.

    `Cz` maps states to behaviour; `z_noise` is the covariance of ε (for simulation). `B`, `Dy`,
    `Dz` are the input matrices of a model with measured inputs u (None: no input).
    Use `predict(y)` (`predict(y, u=u)`) for the steady-state Kalman predictor and
    `simulate(T, key=...)` to sample.
    """

    A: np.ndarray
    Cy: np.ndarray
    Cz: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    S: np.ndarray
    z_noise: np.ndarray | None = None
    B: np.ndarray | None = None
    Dy: np.ndarray | None = None
    Dz: np.ndarray | None = None
    _gain: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self):
        A, Cy, Q, R, S = _matrices(self.A, self.Cy, self.Q, self.R, self.S)
        Cz = np.asarray(check_array(
            self.Cz, f"Cz (for A of shape {A.shape[0]}x{A.shape[0]})", shape=(None, A.shape[0])
        ), np.float64)
        z_noise = self.z_noise
        if z_noise is not None:
            z_noise = np.asarray(check_array(z_noise, "z_noise", shape=(Cz.shape[0],) * 2),
                                 np.float64)
        nu = next((np.shape(m)[1] for m in (self.B, self.Dy, self.Dz)
                   if m is not None and np.ndim(m) == 2), 0)
        inputs = []
        for name, rows in (("B", A.shape[0]), ("Dy", Cy.shape[0]), ("Dz", Cz.shape[0])):
            m = getattr(self, name)
            m = np.zeros((rows, nu)) if m is None else check_array(m, name, shape=(rows, nu))
            inputs.append(np.asarray(m, np.float64))
        for name, value in zip(("A", "Cy", "Cz", "Q", "R", "S", "z_noise", "B", "Dy", "Dz"),
                               (A, Cy, Cz, Q, R, S, z_noise, *inputs)):
            object.__setattr__(self, name, value)

    @property
    def nu(self) -> int:
        """The number of measured inputs (0 for a model without inputs)."""
        return self.B.shape[1]

    def _inputs(self, u, n: int) -> np.ndarray:
        if self.nu == 0:
            if u is not None and np.size(u):
                raise ValueError("this model has no measured inputs; pass u=None")
            return np.zeros((n, 0))
        if u is None:
            raise ValueError(f"this model has {self.nu} measured input(s): pass u [T, {self.nu}]")
        return np.asarray(check_array(u, "u", shape=(n, self.nu)), np.float64)

    @property
    def nx(self) -> int:
        return self.A.shape[0]

    @property
    def gain(self) -> KalmanGain:
        if not self._gain:  # cached: the DARE is solved once per model
            self._gain.append(kalman_gain(self.A, self.Cy, self.Q, self.R, self.S))
        return self._gain[0]

    def filter(self, y: np.ndarray, *, filtered: bool = False, u: np.ndarray | None = None
               ) -> np.ndarray:
        """Kalman states for one recording y `[T, ny]` (and its inputs u `[T, nu]`; zero initial
        state): x_{k|k−1}, or x_{k|k} = x_{k|k−1} + Kf (y_k − Cy x_{k|k−1} − Dy u_k) when
        `filtered`."""
        y = np.asarray(check_array(y, "y", shape=(None, self.Cy.shape[0])), np.float64)
        check_bool(filtered, "filtered")
        u = self._inputs(u, y.shape[0])
        g = self.gain
        F = self.A - g.K @ self.Cy
        drive = y @ g.K.T
        if self.nu:
            drive = drive + u @ (self.B - g.K @ self.Dy).T
        x = linear_recursion(F, drive)
        if filtered:
            x = x + (y - x @ self.Cy.T - u @ self.Dy.T) @ g.Kf.T
        return x

    def predict(self, y: np.ndarray, *, filtered: bool = False, u: np.ndarray | None = None
                ) -> Prediction:
        """`Prediction(z, y, x)` for one recording: one-step-ahead predictions Cz x + Dz u,
        Cy x + Dy u."""
        x = self.filter(y, filtered=filtered, u=u)
        u = self._inputs(u, x.shape[0])
        return Prediction(x @ self.Cz.T + u @ self.Dz.T, x @ self.Cy.T + u @ self.Dy.T, x)

    def simulate(self, n_samples: int, *, key: Key, u: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample (y, z, x) of length `n_samples` from the stationary distribution (driven by the
        measured inputs u `[n_samples, nu]` for a model with inputs).

        The samples are drawn with NumPy, from a generator seeded by all the bits of `key` (see
        `numpy_rng`)."""
        n_samples = check_int(n_samples, "n_samples")
        u = self._inputs(u, n_samples)
        rng = numpy_rng(key)
        nx, ny = self.nx, self.Cy.shape[0]
        noise_cov = np.block([[self.Q, self.S], [self.S.T, self.R]])
        wv = rng.multivariate_normal(np.zeros(nx + ny), noise_cov, size=n_samples,
                                     method="eigh")
        x0_cov = linalg.solve_discrete_lyapunov(self.A, self.Q)
        x = linear_recursion(self.A, wv[:, :nx] + u @ self.B.T,
                             rng.multivariate_normal(np.zeros(nx), x0_cov))
        y = x @ self.Cy.T + u @ self.Dy.T + wv[:, nx:]
        z = x @ self.Cz.T + u @ self.Dz.T
        if self.z_noise is not None:
            z = z + rng.multivariate_normal(np.zeros(z.shape[1]), self.z_noise, size=n_samples)
        return y, z, x


def numpy_rng(key: Key, name: str = "key") -> np.random.Generator:
    """The NumPy generator of a JAX key, for the sampling that is done in NumPy.

    Seeded once from all the bits of the key (`jax.random.key_data`: 64 bits for the default
    threefry keys, more for other implementations), never through a 32-bit integer. The key
    should be one split off for this purpose and not used for anything else.
    """
    key = check_key(key, name)
    data = jax.random.key_data(key) if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) \
        else key
    return np.random.default_rng(np.asarray(data, dtype=np.uint32).ravel())
