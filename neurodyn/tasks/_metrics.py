"""Task-independent summaries of behaviour: psychometric curves and their fits."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, special

from .._validate import check_array, check_bool, check_choice, check_number
from ._deprecated import deprecated, item_by_name
from ._utils import Numbers

_MODELS = ("probit", "logistic")


def _cdf(model: str, u: np.ndarray) -> np.ndarray:
    return special.ndtr(u) if model == "probit" else special.expit(u)


def _pdf(model: str, u: np.ndarray) -> np.ndarray:
    if model == "probit":
        return np.exp(-0.5 * u**2) / np.sqrt(2 * np.pi)
    f = special.expit(u)
    return f * (1 - f)


def _inverse_cdf(model: str, p: float | np.ndarray) -> float | np.ndarray:
    return special.ndtri(p) if model == "probit" else special.logit(p)


class PsychometricFit(NamedTuple):
    """A fitted psychometric function (maximum likelihood on binomial counts)

        ψ(x) = γ + (1 − γ − λ) F(slope · (x − bias))

    with F the standard normal CDF (`probit`) or the logistic function (`logistic`), γ the
    lower lapse rate (`lapse_low`, P(+1) far on the negative side) and λ the upper one
    (`lapse_high`, P(−1) far on the positive side); both 0 unless fitted with `lapses=True`.

    `bias` is the point of subjective equality (F = 1/2); `threshold` = F⁻¹(3/4) / slope, the
    distance from the bias at which F reaches 3/4. `at_bound` flags a fit that ended on a
    bound of the search (e.g. perfectly separated choices, where the slope is unbounded).
    """

    model: str
    bias: float
    slope: float
    lapse_low: float
    lapse_high: float
    log_likelihood: float
    n_trials: int
    at_bound: bool

    @property
    def threshold(self) -> float:
        return float(_inverse_cdf(self.model, 0.75) / self.slope)

    def __call__(self, x: Numbers) -> np.ndarray:
        """ψ(x), P(choice = +1) predicted at condition values `x`."""
        u = self.slope * (np.asarray(check_array(x, "x"), dtype=np.float64) - self.bias)
        g, lam = self.lapse_low, self.lapse_high
        return g + (1 - g - lam) * _cdf(self.model, u)

    def to_dict(self) -> dict[str, Any]:
        """The fields and the `threshold`, as a dict (e.g. for JSON)."""
        return {**self._asdict(), "threshold": self.threshold}

    def as_dict(self) -> dict[str, Any]:
        """Deprecated name of `to_dict`."""
        deprecated("PsychometricFit.as_dict", "PsychometricFit.to_dict")
        return self.to_dict()


class PsychometricCurve(NamedTuple):
    """P(choice = +1) at each distinct value of a condition (`psychometric`), sorted by value.

    `values` the condition values, `p_positive` the fraction of choices +1 there out of `n`
    trials, `sem` its binomial standard error sqrt(p(1−p)/n), and `fit` the fitted
    psychometric function (a `PsychometricFit`; None unless asked for with `fit=`).
    """

    values: np.ndarray
    p_positive: np.ndarray
    n: np.ndarray
    sem: np.ndarray
    fit: PsychometricFit | None = None

    def to_dict(self) -> dict[str, Any]:
        """`{field: value}` of the fields that are not None."""
        return {k: v for k, v in self._asdict().items() if v is not None}

    def __getitem__(self, index: int | slice | str) -> Any:
        """Tuple indexing; by field name (as the dicts of old), deprecated."""
        return item_by_name(self, index, "PsychometricCurve (tasks.psychometric's result)")

    def items(self) -> Any:
        """Deprecated: the dict items of `to_dict()` (the curve used to be a dict)."""
        deprecated("PsychometricCurve.items()", "PsychometricCurve.to_dict().items()")
        return self.to_dict().items()


def _nll_and_grad(
    theta: np.ndarray, x: np.ndarray, k: np.ndarray, n: np.ndarray, model: str
) -> tuple[float, np.ndarray]:
    """Negative binomial log-likelihood of ψ on counts `k` of `n` at `x`, and its gradient
    in θ = (bias, slope, γ, λ)."""
    mu, s, g, lam = theta
    u = s * (x - mu)
    F, f = _cdf(model, u), _pdf(model, u)
    scale = 1 - g - lam
    psi = np.clip(g + scale * F, 1e-12, 1 - 1e-12)
    nll = -np.sum(k * np.log(psi) + (n - k) * np.log1p(-psi))
    dpsi = -(k / psi - (n - k) / (1 - psi))  # d nll / d ψ
    grad = np.array(
        [
            np.sum(dpsi * -scale * f * s),
            np.sum(dpsi * scale * f * (x - mu)),
            np.sum(dpsi * (1 - F)),
            np.sum(dpsi * -F),
        ]
    )
    return nll, grad


def fit_psychometric(
    values: Numbers,
    n_positive: Numbers,
    n: Numbers,
    *,
    model: str = "probit",
    lapses: bool = False,
    max_lapse: float = 0.2,
) -> PsychometricFit:
    """Maximum-likelihood fit of a psychometric function to choice counts.

    Fits ψ(x) (see `PsychometricFit`) to `n_positive` choices = +1 out of `n` trials at each
    condition value in `values`."""
    check_choice(model, "model", _MODELS)
    lapses = check_bool(lapses, "lapses")
    max_lapse = _check_max_lapse(max_lapse)
    x = np.asarray(check_array(values, "values")).reshape(-1)
    k = np.asarray(check_array(n_positive, "n_positive")).reshape(-1)
    n = np.asarray(check_array(n, "n")).reshape(-1)
    if not (x.shape == k.shape == n.shape):
        raise ValueError(
            f"values, n_positive and n must have one entry per condition value each, got "
            f"{x.size}, {k.size} and {n.size}"
        )
    if x.size < 2 or np.unique(x).size < 2:
        raise ValueError("a psychometric fit needs counts at two or more condition values")
    if not np.all(np.isfinite(x)) or np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError("values must be finite, with 0 <= n_positive <= n and n > 0")
    # Work in standardised units (x̃ = (x − c)/w) so that the bounds mean the same for any
    # scale of the condition: |bias| within 10 widths, |slope| at most 50 per width.
    c, w = float(np.mean(x)), float(np.std(x))
    xs = (x - c) / w
    p = np.clip((k + 0.5) / (n + 1.0), 1e-3, 1 - 1e-3)
    coef = np.polyfit(xs, _inverse_cdf(model, p), 1, w=np.sqrt(n))
    s0 = float(np.clip(coef[0], -49, 49)) or 1.0
    mu0 = float(np.clip(-coef[1] / s0, -9, 9))
    lapse_bound = (0.0, float(max_lapse)) if lapses else (0.0, 0.0)
    bounds = [(-10.0, 10.0), (-50.0, 50.0), lapse_bound, lapse_bound]
    start = np.array([mu0, s0, 0.01 if lapses else 0.0, 0.01 if lapses else 0.0])
    res = optimize.minimize(
        _nll_and_grad,
        start,
        args=(xs, k, n, model),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10},
    )
    mu_s, s_s, g, lam = (float(v) for v in res.x)
    at_bound = abs(mu_s) >= 10.0 - 1e-6 or abs(s_s) >= 50.0 - 1e-6
    return PsychometricFit(
        model=model,
        bias=c + w * mu_s,
        slope=s_s / w,
        lapse_low=g,
        lapse_high=lam,
        log_likelihood=-float(res.fun),
        n_trials=int(np.sum(n)),
        at_bound=bool(at_bound),
    )


def _check_max_lapse(max_lapse: float) -> float:
    return check_number(max_lapse, "max_lapse", low=0, high=0.5, low_open=True, high_open=True)


def psychometric(
    choice: Numbers,
    condition: Numbers,
    *,
    fit: str | None = None,
    lapses: bool = False,
    max_lapse: float = 0.2,
) -> PsychometricCurve:
    """P(choice = +1) for each distinct value of a condition, optionally fitted.

    The condition is e.g. the coherence; the fitted psychometric function is optional.

    Returns a `PsychometricCurve`: `values`, `p_positive`, `n` sorted by value, with the
    binomial standard error `sem` = sqrt(p(1−p)/n). With `fit="probit"` or `fit="logistic"`
    its `fit` is a `PsychometricFit` (bias, slope, threshold, lapse rates if `lapses=True`,
    log-likelihood) fitted by maximum likelihood on the per-trial choices (None otherwise).
    """
    choice = np.asarray(check_array(choice, "choice", min_size=1)).reshape(-1)
    condition = np.asarray(check_array(condition, "condition", min_size=1)).reshape(-1)
    if choice.shape != condition.shape:
        raise ValueError(
            f"choice and condition must have one entry per trial, got {choice.shape} and "
            f"{condition.shape}"
        )
    if fit is not None and (not isinstance(fit, str) or fit not in _MODELS):
        raise ValueError(f"fit must be None or one of {_MODELS}, got {fit!r}")
    lapses = check_bool(lapses, "lapses")
    max_lapse = _check_max_lapse(max_lapse)
    values = np.unique(condition)
    k = np.array([np.sum(choice[condition == v] > 0) for v in values])
    n = np.array([np.sum(condition == v) for v in values])
    p = k / n
    fitted = None
    if fit is not None:
        fitted = fit_psychometric(values, k, n, model=fit, lapses=lapses, max_lapse=max_lapse)
    return PsychometricCurve(
        values=values, p_positive=p, n=n, sem=np.sqrt(p * (1 - p) / n), fit=fitted
    )
