"""Population structure of low-rank networks: Gaussian mixtures over loadings, resampling
and inactivation (Beiran et al. 2021; Dubreuil et al. 2022).

A network is summarised by the distribution of its neurons' loadings
(m, n, I, w) ~ Σ_p π_p N(μ_p, Σ_p); `resample` draws a new network of any size from it.
Unlike the reference PyTorch code, the trained input and readout gains are folded into the
loadings (I = W_inᵀ, w = W_out), so a resampled network has the gains it was trained with.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Int, PRNGKeyArray

from .._noise import NOISE_RNGS
from .._nonlinearity import NONLINEARITIES
from .._typing import ArrayLike
from .._validate import (
    ArgumentTypeError,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_key,
    check_number,
)
from ..models import LOWRANK_GROUPS, LowRankRNN, check_train
from ._build import lowrank_from_arrays
from ._checks import check_counts, check_lowrank
from ._gmm import GaussianMixture, fit_gmm
from ._stats import column_names, loadings


class LowRankMixture(eqx.Module):
    """A Gaussian-mixture model of a low-rank network's loadings, with its layout.

    `gmm` is over the columns `names` = (m1…mR, n1…nR, in1…ink, out1…outO); the model
    settings (τ, dt, noise, φ, …) are those of the networks that `resample` draws.
    """

    gmm: GaussianMixture
    rank: int = eqx.field(static=True)
    n_inputs: int = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    noise_std: float = eqx.field(static=True)
    nonlinearity: str = eqx.field(static=True)
    readout_std: float = eqx.field(static=True)
    train: tuple[str, ...] = eqx.field(static=True)
    noise_rng: str = eqx.field(static=True, default="fast")

    def __check_init__(self):
        if not isinstance(self.gmm, GaussianMixture):
            raise ArgumentTypeError(f"gmm must be a GaussianMixture, got {type(self.gmm).__name__}")
        check_int(self.rank, "rank", low=1)
        check_int(self.n_inputs, "n_inputs", low=0)
        check_int(self.n_outputs, "n_outputs", low=0)
        _check_settings(self.tau, self.dt, self.noise_std, self.nonlinearity, self.readout_std,
                        self.train)
        check_choice(self.noise_rng, "noise_rng", list(NOISE_RNGS))

    @property
    def names(self) -> tuple[str, ...]:
        return column_names(self.rank, self.n_inputs, self.n_outputs)

    @property
    def n_populations(self) -> int:
        return self.gmm.n_components

    @property
    def weights(self) -> Array:
        return self.gmm.weights

    @property
    def means(self) -> Array:
        return self.gmm.means

    @property
    def covariances(self) -> Array:
        return self.gmm.covariances

    @property
    def bic(self) -> float:
        return self.gmm.bic

    @property
    def aic(self) -> float:
        return self.gmm.aic

    def columns(self, block: str) -> np.ndarray:
        """Column indices of a block: "m", "n", "in" or "out"."""
        r, k, o = self.rank, self.n_inputs, self.n_outputs
        starts = {"m": (0, r), "n": (r, r), "in": (2 * r, k), "out": (2 * r + k, o)}
        if block not in starts:
            raise ValueError(f"block must be one of {sorted(starts)}, got {block!r}")
        start, size = starts[block]
        return np.arange(start, start + size)


def mixture(
    weights: ArrayLike | Sequence[float],
    means: ArrayLike | Sequence,
    covariances: ArrayLike | Sequence,
    *,
    rank: int,
    n_inputs: int = 0,
    n_outputs: int = 0,
    tau: float = 100.0,
    dt: float = 20.0,
    noise_std: float = 0.05,
    nonlinearity: str = "tanh",
    readout_std: float = 4.0,
    train: str | Sequence[str] = ("m", "n", "input_gains", "output_gains"),
) -> LowRankMixture:
    """Write down a mixture-of-Gaussians low-rank network by hand (for theory).

    `weights [P]`, `means [P, D]`, `covariances [P, D, D]` over the D = 2R + n_inputs +
    n_outputs loadings (m1…mR, n1…nR, in1…ink, out1…outO). E.g. a rank-one network with
    overlap σ_mn: `mixture([1.], [[0., 0.]], [[[1., σ], [σ, 1 + σ²]]], rank=1)`.
    """
    rank = check_int(rank, "rank", low=1)
    n_inputs = check_int(n_inputs, "n_inputs", low=0)
    n_outputs = check_int(n_outputs, "n_outputs", low=0)
    settings = _check_settings(tau, dt, noise_std, nonlinearity, readout_std, train)
    d = 2 * rank + n_inputs + n_outputs
    w = np.atleast_1d(np.asarray(check_array(weights, "weights", ndim=(0, 1)), np.float64))
    mu = np.asarray(check_array(means, "means", ndim=2), np.float64)
    cov = np.asarray(check_array(covariances, "covariances", ndim=3), np.float64)
    p = w.shape[0]
    if mu.shape != (p, d) or cov.shape != (p, d, d):
        raise ValueError(
            f"with rank={rank}, n_inputs={n_inputs}, n_outputs={n_outputs} expected weights "
            f"[P], means [P, {d}], covariances [P, {d}, {d}]; got {w.shape}, {mu.shape}, "
            f"{cov.shape}"
        )
    if np.any(w <= 0) or abs(w.sum() - 1) > 1e-6:
        raise ValueError(f"weights must be positive and sum to 1, got {w}")
    if not np.allclose(cov, np.swapaxes(cov, 1, 2)) or np.any(
        np.linalg.eigvalsh(cov) < -1e-9
    ):
        raise ValueError("covariances must be symmetric positive semi-definite")
    gmm = GaussianMixture(
        weights=jnp.asarray(w, jnp.float32),
        means=jnp.asarray(mu, jnp.float32),
        covariances=jnp.asarray(cov, jnp.float32),
        log_likelihood=jnp.asarray(np.nan, jnp.float32),
        n_samples=0,
    )
    return LowRankMixture(gmm, rank, n_inputs, n_outputs, **settings)


def _check_settings(tau, dt, noise_std, nonlinearity, readout_std, train) -> dict:
    """The model settings of the networks a mixture draws, checked as `LowRankRNN` would."""
    tau = check_number(tau, "tau", low=0, low_open=True, unit="ms")
    dt = check_number(dt, "dt", low=0, low_open=True, unit="ms")
    if dt > tau:
        raise ValueError(
            f"dt must be <= tau for a stable Euler update (dt/tau <= 1), got dt={dt:g} ms, "
            f"tau={tau:g} ms"
        )
    noise_std = check_number(noise_std, "noise_std", low=0)
    nonlinearity = check_choice(nonlinearity, "nonlinearity", sorted(NONLINEARITIES))
    readout_std = check_number(readout_std, "readout_std", low=0)
    if isinstance(train, str):
        train = (train,)
    if not isinstance(train, (tuple, list, set, frozenset)) or not all(
        isinstance(g, str) for g in train
    ):
        raise ArgumentTypeError(
            f"train must be a sequence of parameter-group names from {list(LOWRANK_GROUPS)}, "
            f"got {train!r}"
        )
    train = check_train(train, LOWRANK_GROUPS)
    return dict(tau=tau, dt=dt, noise_std=noise_std, nonlinearity=nonlinearity,
                readout_std=readout_std, train=train)


def check_mixture(mixture: Any, name: str = "mixture") -> LowRankMixture:
    """One LowRankMixture with finite weights, means and covariances (not a stacked batch)."""
    if not isinstance(mixture, LowRankMixture):
        raise ArgumentTypeError(
            f"{name} must be a LowRankMixture (from lowrank.fit_mixture or lowrank.mixture), "
            f"got {type(mixture).__name__}"
        )
    if mixture.gmm.weights.ndim != 1:
        raise ValueError(
            f"{name} is a stacked batch of mixtures (weights of shape "
            f"{mixture.gmm.weights.shape}); pick one"
        )
    for field in ("weights", "means", "covariances"):
        if not np.all(np.isfinite(np.asarray(getattr(mixture.gmm, field)))):
            raise ValueError(f"{name} has NaN or Inf values in its {field}")
    return mixture


def _wrap(model: LowRankRNN, gmm: GaussianMixture) -> LowRankMixture:
    return LowRankMixture(
        gmm, model.rank, model.n_inputs, model.n_outputs, model.tau, model.dt,
        model.noise_std, model.nonlinearity, model.readout_std, tuple(model.train),
        model.noise_rng,
    )


def fit_mixture(
    model: LowRankRNN,
    n_populations: int,
    *,
    key: PRNGKeyArray,
    n_restarts: int = 8,
    max_iter: int = 500,
    tol: float = 1e-6,
    reg_covar: float = 1e-6,
) -> LowRankMixture:
    """Fit a Gaussian mixture to a low-rank network's per-neuron loadings.

    Fit a `n_populations`-component full-covariance Gaussian mixture to the network's
    per-neuron loadings (m, n, W_inᵀ, W_out, gains folded in), by EM with restarts."""
    model = check_lowrank(model)
    n_populations = check_int(n_populations, "n_populations", low=1, high=model.n_neurons)
    key = check_key(key)
    gmm = fit_gmm(
        loadings(model).values, n_populations, key=key, n_restarts=n_restarts,
        max_iter=max_iter, tol=tol, reg_covar=reg_covar,
    )
    return _wrap(model, gmm)


class PopulationSelection(NamedTuple):
    """Mixtures fitted with each candidate number of populations and their BIC/AIC."""

    n_populations: np.ndarray
    bic: np.ndarray
    aic: np.ndarray
    mixtures: tuple[LowRankMixture, ...]
    best: LowRankMixture
    criterion: str


def select_populations(
    model: LowRankRNN,
    candidates: Sequence[int] = (1, 2, 3, 4),
    *,
    key: PRNGKeyArray,
    criterion: str = "bic",
    **fit_kwargs: Any,
) -> PopulationSelection:
    """Fit mixtures with each candidate number of populations and pick the best.

    `best` minimises the criterion ("bic" or "aic") over `candidates`."""
    criterion = check_choice(criterion, "criterion", ("bic", "aic"))
    model = check_lowrank(model)
    candidates = check_counts(candidates, "candidates", high=model.n_neurons)
    key = check_key(key)
    keys = jax.random.split(key, len(candidates))
    fits = tuple(
        fit_mixture(model, c, key=k, **fit_kwargs) for c, k in zip(candidates, keys)
    )
    bic = np.array([f.bic for f in fits])
    aic = np.array([f.aic for f in fits])
    best = fits[int(np.argmin(bic if criterion == "bic" else aic))]
    return PopulationSelection(np.asarray(candidates), bic, aic, fits, best, criterion)


class Resampled(NamedTuple):
    """A network drawn from a mixture and the population each of its neurons came from."""

    model: LowRankRNN
    labels: Int[Array, " neurons"]


def resample(
    mixture: LowRankMixture, n_neurons: int, *, key: PRNGKeyArray, return_labels: bool = False
) -> LowRankRNN | Resampled:  # Resampled only for the deprecated return_labels=True
    """Draw a new LowRankRNN of `n_neurons` neurons from the mixture's loading statistics.

    Each neuron picks a population p with probability π_p, then its loadings from
    N(μ_p, Σ_p); gains are folded into the vectors (g_in = g_out = 1). The populations the
    neurons came from: `resample_labelled` (`return_labels=True` is its deprecated spelling).
    """
    return_labels = check_bool(return_labels, "return_labels")
    drawn = resample_labelled(mixture, n_neurons, key=key)
    if return_labels:
        warnings.warn("resample(..., return_labels=True) is deprecated: use "
                      "lowrank.resample_labelled, which returns Resampled(model, labels)",
                      DeprecationWarning, stacklevel=2)
        return drawn
    return drawn.model


def resample_labelled(mixture: LowRankMixture, n_neurons: int, *, key: PRNGKeyArray
                      ) -> Resampled:
    """`resample`, with the population label of every neuron: `Resampled(model, labels [N])`."""
    mixture = check_mixture(mixture)
    n_neurons = check_int(n_neurons, "n_neurons", low=1)
    key = check_key(key)
    return Resampled(*_draw(mixture, n_neurons, key))


@eqx.filter_jit
def _draw(mixture: LowRankMixture, n_neurons: int, key):
    # One compiled program (sampling and the model's construction) rather than many eager ops.
    x, labels = mixture.gmm.sample(key, n_neurons)
    col = mixture.columns
    # Every array of the network comes from the draw: no key is needed to build it.
    model = lowrank_from_arrays(
        dict(m=x[:, col("m")], n=x[:, col("n")], w_in=x[:, col("in")].T,
             g_in=jnp.ones((mixture.n_inputs,), x.dtype), w_out=x[:, col("out")],
             g_out=jnp.ones((mixture.n_outputs,), x.dtype)),
        rank=mixture.rank, n_inputs=mixture.n_inputs, n_outputs=mixture.n_outputs,
        tau=mixture.tau, dt=mixture.dt, noise_std=mixture.noise_std,
        nonlinearity=mixture.nonlinearity, train=mixture.train,
        readout_std=mixture.readout_std, noise_rng=mixture.noise_rng,
    )
    return model, labels


def population_labels(mixture: LowRankMixture, model: LowRankRNN) -> Int[Array, " neurons"]:
    """Each neuron's most probable population under the mixture."""
    mixture = check_mixture(mixture)
    model = check_lowrank(model)
    load = loadings(model)
    if load.names != mixture.names:
        raise ValueError(
            f"model does not match mixture: its loadings are {load.names}, the mixture's "
            f"{mixture.names}"
        )
    return mixture.gmm.predict(load.values)


def silence(model: LowRankRNN, population_mask: Bool[ArrayLike, " neurons"]) -> LowRankRNN:
    """Inactivate a population: zero its neurons' loadings, inputs and readout.

    Inactivate the neurons in `population_mask`: their rows of m, n, W_in and W_out are
    zeroed, so they neither receive structured input nor affect the rest or the readout."""
    model = check_lowrank(model)
    want = f"a boolean array of shape ({model.n_neurons},) (e.g. labels == p)"
    try:
        mask = np.asarray(population_mask)
    except (TypeError, ValueError):  # a ragged list, for instance
        mask = None
    if mask is None or mask.dtype != np.bool_:
        what = type(population_mask).__name__ if mask is None else f"dtype {mask.dtype}"
        raise ArgumentTypeError(f"population_mask must be {want}, got {what}")
    if mask.shape != (model.n_neurons,):
        raise ValueError(f"population_mask must be {want}, got shape {mask.shape}")
    keep = jnp.asarray(~mask, model.m.dtype)
    return eqx.tree_at(
        lambda mdl: (mdl.m, mdl.n, mdl.w_in, mdl.w_out),
        model,
        (
            model.m * keep[:, None], model.n * keep[:, None], model.w_in * keep[None, :],
            model.w_out * keep[:, None],
        ),
    )
