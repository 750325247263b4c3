"""`DPAD`: dissociative prioritised analysis of dynamics (Sani, Pesaran & Shanechi 2024,
Nat. Neurosci. 27, 2033–2045), in JAX. The model and its four optimisation steps are described in
`_model.py` and `_fitting.py`; PSID (`_psid.py`) is its linear closed-form counterpart; where the
nonlinearity goes is chosen by `search` (`_search.py`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._optim import member
from .._typing import Array, Key
from .._validate import (
    ArgumentTypeError,
    check_bool,
    check_choice,
    check_int,
    check_number,
)
from ._checks import (
    Prediction,
    as_trials,
    check_pair,
    check_sizes,
    collect,
    is_categorical,
    prediction_form,
    typed_key,
)
from ._fitting import CandidateFitter, parse_nonlinear
from ._inputs import check_inputs
from ._model import DPADModules
from ._prep import Normaliser
from ._search import DEFAULT_CANDIDATES, SearchResult, choose_placement
from ._system import DPADSystem
from ._train import TrainConfig
from .metrics import Data, Scores, score


@eqx.filter_jit
def _forward(mods: DPADModules, y_in: Array, u_in: Array | None = None
             ) -> tuple[Array, Array | None, Array, Array]:
    """(η_y, z_out, x1, x2) of one fitted model on padded trials y_in [B, T, ny] (and measured
    inputs u_in [B, T, nu], which the recursions take last in their input streams)."""
    B, T, ny = y_in.shape
    extra = [] if u_in is None else [u_in]

    def with_u(x):  # what the readouts Cy1, Cz2 see: x, or [x, u]
        return x if u_in is None else jnp.concatenate([x, u_in], axis=-1)

    eta = jnp.zeros((B, T, ny))
    zo = None
    x1 = jnp.zeros((B, T, 0))
    x1n = jnp.zeros((B, T, 0))
    if mods.rec1 is not None:
        rec1 = mods.rec1
        v1 = jnp.concatenate([y_in, *extra], axis=-1) if extra else y_in
        x1, x1n = jax.vmap(rec1.states)(v1)
        zo = jax.vmap(jax.vmap(rec1.read))(x1, v1)
        eta = eta + jax.vmap(jax.vmap(mods.Cy1))(with_u(x1))
    x2 = jnp.zeros((B, T, 0))
    if mods.rec2 is not None:
        rec2 = mods.rec2
        v2 = jnp.concatenate([y_in, x1n, *extra], axis=-1)
        x2, _ = jax.vmap(rec2.states)(v2)
        eta = eta + jax.vmap(jax.vmap(rec2.read))(x2, v2)
        if mods.Cz2 is not None:
            z2 = jax.vmap(jax.vmap(mods.Cz2))(with_u(x2))
            zo = z2 if zo is None else zo + z2
    return eta, zo, x1, x2


def _member(mods: dict, index: int) -> DPADModules:
    """The fitted maps of candidate `index` from the fitter's stacked [C] maps."""
    return DPADModules(**{k: None if v is None else member(v, index) for k, v in mods.items()})


class DPAD:
    """Prioritised nonlinear dynamical modelling: `DPAD(nx, n1, nonlinear=...).fit(y, z, key=key)`.

    `nx` latent states, the first `n1` learned to predict behaviour z (steps 1–2), the other
    nx − n1 to explain the rest of the neural activity y (step 3), with an optional behaviour
    readout from them (step 4, `behaviour_from_x2`). `n1 = 0` gives the non-prioritised model (NDM).

    Measured inputs u (stimuli, task cues: `fit(y, z, u=u, key=key)`, then `predict(y, u=u)`)
    enter every map, as in the DPAD package: x_{k+1} = A(x_k, u_k) + K(y_k, u_k) (K of x2 also
    takes x1_{k+1}), ŷ_k = Cy(x_k, u_k), ẑ_k = Cz(x_k, u_k); linear, this is the Kalman
    predictor of x_{k+1} = A x_k + B u_k + w, y = Cy x + Dy u + v, z = Cz x + Dz u + ε. The
    prioritised steps are unchanged. u is standardised like y (z-scored unless `zscore=False`).

    Args:
        nonlinear: which maps are MLPs: any of A, K, Cy, Cz (both sections) or A1 … Cz2, 'all',
            or 'none' (default: linear, the PSID model class).
        hidden: hidden-layer widths of every MLP (ReLU).
        behaviour: 'continuous' (MSE), 'categorical' (cross-entropy; z holds class labels) or
            'auto' (categorical for integer z). NaN in z marks missing samples (masked).
        neural: 'gaussian' (MSE) or 'poisson' (counts, log-rate readout).
        zscore: z-score y and continuous z with the training statistics (predictions are mapped
            back); this works at any magnitude of the data (1e200 or 1e-200 alike). With
            `zscore=False` the fit is in the data's own units, which must stay within
            1e-15 … 1e15 after centring (DPAD trains in float32).
        n_init: random initialisations per step, trained together under vmap; the best on the
            validation blocks is kept.
        block_len, batch_size: training minibatches are `batch_size` blocks of `block_len` samples,
            the state starting at zero in each block.
        val_fraction: the last part of the data held out for early stopping.
        learning_rate, max_epochs, patience, clip_norm, max_retries: Adam step size, epoch limit,
            early-stopping patience (epochs), global gradient-norm clip, and how often a step whose
            every initialisation diverged is retried (at half the learning rate) before
            `FitDivergedError` is raised.
    """

    def __init__(
        self,
        nx: int,
        n1: int,
        *,
        nonlinear: str | Sequence[str] | None = None,
        hidden: tuple[int, ...] = (64, 64),
        behaviour: str = "auto",
        neural: str = "gaussian",
        zscore: bool = True,
        n_init: int = 4,
        block_len: int = 64,
        batch_size: int = 8,
        val_fraction: float = 0.2,
        learning_rate: float = 1e-2,
        max_epochs: int = 300,
        patience: int = 10,
        clip_norm: float = 1.0,
        max_retries: int = 2,
        behaviour_from_x2: bool = True,
    ):
        self.nx, self.n1 = check_sizes(nx, n1)
        self.nonlinear = parse_nonlinear(nonlinear)
        if not isinstance(hidden, (tuple, list)):
            raise ArgumentTypeError(f"hidden must be a tuple of layer widths such as (64, 64), "
                                    f"got {hidden!r}")
        self.hidden = tuple(check_int(h, f"hidden (layer {i} width)", low=1)
                            for i, h in enumerate(hidden))
        if self.nonlinear and not self.hidden:
            raise ValueError("nonlinear maps need at least one hidden layer (hidden=(64,), …)")
        self.behaviour = check_choice(behaviour, "behaviour", ("auto", "continuous", "categorical"))
        self.neural = check_choice(neural, "neural", ("gaussian", "poisson"))
        self.zscore = check_bool(zscore, "zscore")
        self.n_init = check_int(n_init, "n_init", low=1)
        self.block_len = check_int(block_len, "block_len", low=2)
        self.val_fraction = check_number(val_fraction, "val_fraction", low=0, high=1,
                                         low_open=True, high_open=True)
        self.behaviour_from_x2 = check_bool(behaviour_from_x2, "behaviour_from_x2") \
            or self.n1 == 0
        self.config = TrainConfig(
            learning_rate=check_number(learning_rate, "learning_rate", low=0, low_open=True),
            batch_size=check_int(batch_size, "batch_size", low=1),
            max_epochs=check_int(max_epochs, "max_epochs", low=1),
            patience=check_int(patience, "patience", low=1),
            clip_norm=check_number(clip_norm, "clip_norm", low=0, low_open=True),
            max_retries=check_int(max_retries, "max_retries", low=0))
        self.modules: DPADModules | None = None
        self.info: dict | None = None

    def __repr__(self) -> str:
        nl = ",".join(sorted(self.nonlinear)) or "none"
        state = "fitted" if self.modules is not None else "not fitted"
        return f"DPAD(nx={self.nx}, n1={self.n1}, nonlinear={nl}; {state})"

    # ----------------------------------------------------------------- fitting
    def _checked(self, y: Data, z: Data, u: Data | None
                 ) -> tuple[list[np.ndarray], list[np.ndarray], str, list[np.ndarray] | None]:
        ys, _ = as_trials(y, "y")
        zs, _ = as_trials(z, "z", allow_nan=True)
        check_pair(ys, zs)
        us = check_inputs(u, ys)
        kind = self.behaviour
        if kind == "auto":
            kind = "categorical" if is_categorical(zs) else "continuous"
        return ys, zs, kind, us

    def check_data(self, y: Data, z: Data, u: Data | None = None
                   ) -> tuple[list[np.ndarray], list[np.ndarray], str]:
        """(y trials, z trials, behaviour kind) after the checks `fit` makes of its data.

        The measured inputs `u`, if given, are checked too."""
        return self._checked(y, z, u)[:3]

    def _fit_batch(self, y: Data, z: Data, u: Data | None, placements: list[frozenset[str]],
                   key: Key) -> tuple[Normaliser, int, dict, dict]:
        """Fit one model per nonlinearity placement, together: (normaliser, ny, stacked maps,
        info)."""
        ys, zs, kind, us = self._checked(y, z, u)
        norm = Normaliser.fit(ys, zs, y_kind=self.neural, z_kind=kind, zscore=self.zscore,
                              us=us)
        ny = ys[0].shape[1]
        fitter = CandidateFitter(
            nx=self.nx, n1=self.n1, ny=ny, n_z_out=norm.n_z_out, candidates=placements,
            hidden=self.hidden, config=self.config, n_init=self.n_init,
            block_len=self.block_len, val_fraction=self.val_fraction, y_kind=self.neural,
            z_kind=norm.z_kind, behaviour_from_x2=self.behaviour_from_x2, nu=norm.n_measured)
        mods, info = fitter.fit(norm.prepare(ys, zs, us), key=key)
        return norm, ny, mods, info

    def fit(self, y: Data, z: Data, u: Data | None = None, *, key: Key) -> DPAD:
        """Fit the four steps to y `[T, ny]` and z `[T, nz]` (or lists / batches of trials).

        Measured inputs u `[T, nu]` (in the same form as y), if given, enter every map.

        `key` (a `jax.random.key`, required) seeds the initialisations and the minibatch order:
        the same key on the same data gives the same model. It is split once per optimisation
        step; the initial weights are drawn in NumPy from a generator seeded by all the bits of
        a key split off for them, the minibatch order in JAX. A model fitted with u needs u of
        the same width at prediction; one fitted without refuses it.
        """
        key = typed_key(key)
        self.norm, self.ny, mods, self.info = self._fit_batch(y, z, u, [self.nonlinear], key)
        self.modules = _member(mods, 0)
        return self

    def fit_placements(self, y: Data, z: Data, placements: Sequence[Any], *, key: Key,
                       u: Data | None = None) -> list[DPAD]:
        """One fitted copy of this model per nonlinearity placement in `placements` (each as
        `nonlinear=` takes it), trained together as one vmapped batch per step (`search` uses
        this), with measured inputs `u` if given. The copies share the data's normalisation;
        their `info` is None."""
        key = typed_key(key)
        sets = [parse_nonlinear(p) for p in placements]
        norm, ny, mods, _ = self._fit_batch(y, z, u, sets, key)
        fitted = []
        for c, nonlinear in enumerate(sets):
            model = copy.copy(self)
            model.nonlinear, model.norm, model.ny = nonlinear, norm, ny
            model.modules, model.info = _member(mods, c), None
            fitted.append(model)
        return fitted

    # -------------------------------------------------------------- prediction
    def _check_fitted(self) -> None:
        if self.modules is None:
            raise RuntimeError("this DPAD model is not fitted yet; call fit(y, z, key=...) first")

    @property
    def nu(self) -> int:
        """The number of measured inputs the model was fitted with (0: none)."""
        self._check_fitted()
        return self.norm.n_measured

    def _check_u(self, u: Any, ys: list[np.ndarray]) -> list[np.ndarray] | None:
        """The measured inputs for a prediction on `ys`, checked against what the fit had."""
        nu = self.norm.n_measured
        if u is None:
            if nu:
                raise ValueError(f"u is required: this model was fitted with {nu} measured "
                                 f"input(s); pass u=... of shape [T, {nu}]")
            return None
        if not nu:
            raise ValueError("u was given but this model was fitted without measured inputs; "
                             "leave u out (or refit with u=...)")
        us = check_inputs(u, ys)
        if us[0].shape[1] != nu:
            raise ValueError(f"u has {us[0].shape[1]} channels but the model was fitted with "
                             f"{nu} measured input(s)")
        return us

    def _predict(self, y: Any, u: Any = None
                 ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], bool]:
        """Per-trial (z_hat, y_hat, x) and whether y held several trials."""
        self._check_fitted()
        ys, was_list = as_trials(y, "y")
        if ys[0].shape[1] != self.ny:
            raise ValueError(f"y has {ys[0].shape[1]} channels but the model was fitted on "
                             f"{self.ny}")
        us = self._check_u(u, ys)
        prep = self.norm.prepare(ys, us=us)
        u_in = None if prep.u is None else jnp.asarray(prep.u)
        eta, zo, x1, x2 = _forward(self.modules, jnp.asarray(prep.y_in), u_in)
        eta, zo = np.asarray(eta), np.asarray(zo)
        x = np.concatenate([np.asarray(x1), np.asarray(x2)], axis=-1)
        out = []
        for b, n in enumerate(prep.lengths):
            e = eta[b, :n]
            y_hat = np.exp(np.clip(e, -20, 20)) if self.neural == "poisson" \
                else self.norm.y.invert(e)
            if self.norm.z_kind == "categorical":
                z_hat = np.asarray(jax.nn.softmax(zo[b, :n], axis=-1))
            else:
                z_hat = self.norm.z.invert(zo[b, :n])
            out.append((z_hat, y_hat, x[b, :n]))
        return out, was_list

    def predict(self, y: Data, u: Data | None = None) -> Prediction:
        """One-step-ahead `Prediction(z, y, x)`: ẑ_k and ŷ_k from x_k, which has seen
        y_0 … y_{k−1} (and u_0 … u_{k−1}; the readouts also take u_k). Arrays `[T, ·]` for one
        recording y `[T, ny]`, `[B, T, ·]` for a batch `[B, T, ny]` (each trial started from
        x = 0); for a list of trials use `predict_trials`. `u`, the measured inputs, is
        required exactly when the model was fitted with them, in the same form as y.

        For categorical behaviour z holds the class probabilities `[T, n_classes]` (classes in
        `.classes`); for Poisson neural data y is the predicted rate.
        """
        out, was_list = self._predict(y, u)
        return collect(out, prediction_form(y, was_list))

    def predict_trials(self, trials: Data, u: Data | None = None) -> Prediction:
        """`predict` for a list of trials of any lengths: a `Prediction` of lists.

        One array per trial (one-element lists for a single recording); `u` holds the measured
        inputs of the same trials for a model fitted with inputs."""
        return collect(self._predict(trials, u)[0], "trials")

    @property
    def classes(self) -> np.ndarray | None:
        self._check_fitted()
        return self.norm.classes

    def score(self, y: Data, z: Data, u: Data | None = None) -> Scores:
        """Behaviour and neural metrics (`neurodyn.dpad.metrics.score`) of the predictions.

        The predictions are made from y (and the measured inputs u, for a model fitted with
        them)."""
        z_hat, y_hat, _ = self.predict_trials(y, u)
        # Poisson: y holds counts and y_hat rates, which the neural metrics do not compare.
        neural = {} if self.neural == "poisson" else {"y": y, "y_hat": y_hat}
        if self.norm.z_kind == "categorical":
            return score(z, None, probs=z_hat, classes=self.norm.classes, **neural)
        return score(z, z_hat, **neural)

    def as_system(self) -> DPADSystem:
        """The fitted latent recursion as a neurodyn dynamical system (a `DPADSystem`).

        Its `step(x, u)` takes u = y `[ny]`, or for a model fitted with measured inputs
        u = [y; u] `[ny + nu]`: the neural observation first, then the measured input
        (`jnp.concatenate([y_k, u_k])`)."""
        self._check_fitted()
        return DPADSystem.from_dpad(self)

    @classmethod
    def search(cls, y: Data, z: Data, nx: int, n1: int, *, key: Key,
               candidates: Sequence[Any] = DEFAULT_CANDIDATES, n_folds: int = 3,
               tol: float = 0.005, u: Data | None = None, **dpad_kwargs: Any) -> SearchResult:
        """Choose where the nonlinearity goes by inner cross-validation (see `dpad.search`)."""
        key = typed_key(key)
        if "nonlinear" in dpad_kwargs:
            raise ValueError("search chooses `nonlinear` itself; pass candidates=... instead")
        return choose_placement(lambda nonlinear: cls(nx, n1, nonlinear=nonlinear, **dpad_kwargs),
                                y, z, key=key, candidates=candidates, n_folds=n_folds, tol=tol,
                                u=u)


def search(y: Data, z: Data, nx: int, n1: int, *, key: Key,
           candidates: Sequence[Any] = DEFAULT_CANDIDATES, n_folds: int = 3, tol: float = 0.005,
           u: Data | None = None, **dpad_kwargs: Any) -> SearchResult:
    """Choose DPAD's nonlinearity placement by inner cross-validation and refit the best.

    Fit every candidate nonlinearity placement with `n_folds`-fold inner cross-validation and
    return the best one refitted on all the data (`DPAD.search`; see `_search.py`). `key` (a
    `jax.random.key`, required) seeds every fit; `u` are measured inputs (as `DPAD.fit` takes
    them); other keyword arguments go to `DPAD(...)`."""
    return DPAD.search(y, z, nx, n1, key=key, candidates=candidates, n_folds=n_folds, tol=tol,
                       u=u, **dpad_kwargs)
