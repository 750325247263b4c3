"""Psychometric fits against references written here: a binomial GLM fitted by iteratively
reweighted least squares, SciPy's Nelder–Mead on the same likelihood, and the recovery of
known parameters from simulated binomial data."""

import numpy as np
import pytest
from scipy import optimize, special, stats

import neurodyn as nd

X = np.array([-0.4, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.4])


def _simulate(model, bias, slope, low, high, n, seed):
    """Per-trial choices (±1) at each level of X from ψ(x), `n` trials per level."""
    rng = np.random.default_rng(seed)
    F = stats.norm.cdf if model == "probit" else special.expit
    p = low + (1 - low - high) * F(slope * (X - bias))
    k = rng.binomial(n, p)
    cond = np.repeat(X, n)
    choice = np.concatenate([np.where(np.arange(n) < kk, 1, -1) for kk in k])
    return choice, cond, k


def _irls(x, k, n, model, iters=100):
    """Binomial GLM P = F(b0 + b1 x) by Fisher scoring (iteratively reweighted least squares)."""
    A = np.stack([np.ones_like(x), x], 1)
    b = np.zeros(2)
    for _ in range(iters):
        eta = A @ b
        if model == "probit":
            mu, dmu = stats.norm.cdf(eta), stats.norm.pdf(eta)
        else:
            mu = special.expit(eta)
            dmu = mu * (1 - mu)
        var = mu * (1 - mu)
        w = n * dmu**2 / var
        z = eta + (k / n - mu) / dmu
        b = np.linalg.solve(A.T @ (w[:, None] * A), A.T @ (w * z))
    return b


def _nll(theta, x, k, n, model):
    bias, slope, low, high = theta
    F = stats.norm.cdf if model == "probit" else special.expit
    p = np.clip(low + (1 - low - high) * F(slope * (x - bias)), 1e-12, 1 - 1e-12)
    return -np.sum(stats.binom.logpmf(k, n, p))


@pytest.mark.parametrize("model", ["probit", "logistic"])
def test_fit_without_lapses_matches_a_glm(model):
    choice, cond, k = _simulate(model, 0.03, 8.0, 0.0, 0.0, 60, seed=1)
    curve = nd.tasks.psychometric(choice, cond, fit=model)
    fit = curve.fit
    b0, b1 = _irls(X, k.astype(float), np.full(X.size, 60.0), model)
    assert fit.model == model and fit.n_trials == choice.size and not fit.at_bound
    assert fit.slope == pytest.approx(b1, rel=1e-5)
    assert fit.bias == pytest.approx(-b0 / b1, abs=1e-6)
    assert fit.lapse_low == 0.0 and fit.lapse_high == 0.0
    # The log-likelihood is the binomial one at the fitted parameters (incl. the constant).
    ll = -_nll((fit.bias, fit.slope, 0, 0), X, k, 60, model)
    comb = np.sum(special.gammaln(61) - special.gammaln(k + 1) - special.gammaln(61 - k))
    assert fit.log_likelihood + comb == pytest.approx(ll, rel=1e-8)
    # Threshold: F reaches 3/4 at bias + threshold.
    F = stats.norm.cdf if model == "probit" else special.expit
    assert F(fit.slope * fit.threshold) == pytest.approx(0.75, rel=1e-10)
    np.testing.assert_allclose(fit(X), F(b1 * X + b0), rtol=1e-4)


@pytest.mark.parametrize("model", ["probit", "logistic"])
def test_fit_with_lapses_matches_nelder_mead_and_recovers_parameters(model):
    truth = (-0.04, 12.0, 0.08, 0.05)
    choice, cond, k = _simulate(model, *truth, n=4000, seed=2)
    fit = nd.tasks.psychometric(choice, cond, fit=model, lapses=True).fit
    n = np.full(X.size, 4000.0)
    ref = optimize.minimize(
        _nll, np.array(truth) * 1.1, args=(X, k, n, model), method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000},
    )
    ours = (fit.bias, fit.slope, fit.lapse_low, fit.lapse_high)
    # Same optimum of the same likelihood...
    assert _nll(ours, X, k, n, model) <= ref.fun + 1e-6
    np.testing.assert_allclose(ours, ref.x, rtol=2e-3, atol=2e-4)
    # ...and close to the parameters that generated the data (36 000 trials).
    np.testing.assert_allclose(ours, truth, rtol=0.15, atol=0.015)


def test_separable_choices_are_flagged_and_bad_input():
    cond = np.repeat(X, 10)
    fit = nd.tasks.psychometric(np.sign(cond + 1e-3), cond, fit="logistic").fit
    assert fit.at_bound and fit.slope > 0
    assert np.all(np.abs(fit(X) - (X > -1e-3)) < 0.01)
    with pytest.raises(ValueError, match="fit must be None or one of"):
        nd.tasks.psychometric(np.ones(4), np.arange(4.0), fit="weibull")
    with pytest.raises(ValueError, match="two or more condition values"):
        nd.tasks.psychometric(np.ones(4), np.zeros(4), fit="probit")
    with pytest.raises(ValueError, match="max_lapse"):
        nd.tasks.fit_psychometric(X, np.ones(9), np.full(9, 2), lapses=True, max_lapse=0.7)
    # Without a fit the curve is what it was: no "fit" entry.
    assert nd.tasks.psychometric(np.ones(4), np.arange(4.0)).fit is None
