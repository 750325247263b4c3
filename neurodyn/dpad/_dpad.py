"""`DPAD`: dissociative prioritised analysis of dynamics (Sani, Pesaran & Shanechi 2024,
Nat. Neurosci. 27, 2033–2045), in JAX. The model and its four optimisation steps are described in
`_model.py` and `_fitting.py`; PSID (`_psid.py`) is its linear closed-form counterpart."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import (
    ArgumentTypeError,
    check_bool,
    check_choice,
    check_int,
    check_number,
)
from ._checks import as_trials, check_pair, check_sizes, is_categorical, typed_key, unlist
from ._fitting import CandidateFitter, parse_nonlinear
from ._prep import Normaliser
from ._train import TrainConfig, take


@eqx.filter_jit
def _forward(mods: dict, y_in):
    """(η_y, z_out, x1, x2) of one fitted model on padded trials y_in [B, T, ny]."""
    B, T, ny = y_in.shape
    eta = jnp.zeros((B, T, ny))
    zo = None
    x1 = jnp.zeros((B, T, 0))
    x1n = jnp.zeros((B, T, 0))
    if mods["rec1"] is not None:
        rec1 = mods["rec1"]
        x1, x1n = jax.vmap(rec1.states)(y_in)
        zo = jax.vmap(jax.vmap(rec1.C))(x1)
        eta = eta + jax.vmap(jax.vmap(mods["Cy1"]))(x1)
    x2 = jnp.zeros((B, T, 0))
    if mods["rec2"] is not None:
        rec2 = mods["rec2"]
        x2, _ = jax.vmap(rec2.states)(jnp.concatenate([y_in, x1n], axis=-1))
        eta = eta + jax.vmap(jax.vmap(rec2.C))(x2)
        if mods["Cz2"] is not None:
            z2 = jax.vmap(jax.vmap(mods["Cz2"]))(x2)
            zo = z2 if zo is None else zo + z2
    return eta, zo, x1, x2


class DPAD:
    """Prioritised nonlinear dynamical modelling: `DPAD(nx, n1, nonlinear=...).fit(y, z, key=key)`.

    `nx` latent states, the first `n1` learned to predict behaviour z (steps 1–2), the other
    nx − n1 to explain the rest of the neural activity y (step 3), with an optional behaviour
    readout from them (step 4, `behaviour_from_x2`). `n1 = 0` gives the non-prioritised model (NDM).

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
        nonlinear=None,
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
        self.modules: dict | None = None

    def __repr__(self) -> str:
        nl = ",".join(sorted(self.nonlinear)) or "none"
        state = "fitted" if self.modules is not None else "not fitted"
        return f"DPAD(nx={self.nx}, n1={self.n1}, nonlinear={nl}; {state})"

    # ----------------------------------------------------------------- fitting
    def _validate(self, y, z):
        ys, _ = as_trials(y, "y")
        zs, _ = as_trials(z, "z", allow_nan=True)
        check_pair(ys, zs)
        kind = self.behaviour
        if kind == "auto":
            kind = "categorical" if is_categorical(zs) else "continuous"
        return ys, zs, kind

    def _fitter(self, ny, candidates):
        return CandidateFitter(
            nx=self.nx, n1=self.n1, ny=ny, n_z_out=self.norm.n_z_out, candidates=candidates,
            hidden=self.hidden, config=self.config, n_init=self.n_init,
            block_len=self.block_len, val_fraction=self.val_fraction, y_kind=self.neural,
            z_kind=self.norm.z_kind, behaviour_from_x2=self.behaviour_from_x2)

    def fit(self, y, z, *, key) -> DPAD:
        """Fit the four steps to y `[T, ny]` and z `[T, nz]` (or lists / batches of trials).

        `key` (a `jax.random.key`, required) seeds the initialisations and the minibatch order:
        the same key on the same data gives the same model. It is split once per optimisation
        step; the initial weights are drawn in NumPy from a generator seeded by all the bits of
        a key split off for them, the minibatch order in JAX.
        """
        key = typed_key(key)
        ys, zs, kind = self._validate(y, z)
        self.norm = Normaliser.fit(ys, zs, y_kind=self.neural, z_kind=kind, zscore=self.zscore)
        prep = self.norm.prepare(ys, zs)
        fitter = self._fitter(ys[0].shape[1], [self.nonlinear])
        mods, self.info = fitter.fit(prep, key=key)
        self.modules = {k: None if v is None else take(v, 0) for k, v in mods.items()}
        self.ny = ys[0].shape[1]
        return self

    # -------------------------------------------------------------- prediction
    def _check_fitted(self):
        if self.modules is None:
            raise RuntimeError("this DPAD model is not fitted yet; call fit(y, z, key=...) first")

    def _raw(self, y):
        self._check_fitted()
        ys, was_list = as_trials(y, "y")
        if ys[0].shape[1] != self.ny:
            raise ValueError(f"y has {ys[0].shape[1]} channels but the model was fitted on "
                             f"{self.ny}")
        prep = self.norm.prepare(ys)
        eta, zo, x1, x2 = _forward(self.modules, jnp.asarray(prep.y_in))
        return ys, was_list, prep.lengths, np.asarray(eta), np.asarray(zo), \
            np.concatenate([np.asarray(x1), np.asarray(x2)], axis=-1)

    def predict(self, y):
        """One-step-ahead `(z_hat, y_hat, x)`: ẑ_k and ŷ_k from x_k, which has seen y_0 … y_{k−1}.

        For categorical behaviour z_hat holds the class probabilities `[T, n_classes]` (classes
        in `.classes`); for Poisson neural data y_hat is the predicted rate.
        """
        ys, was_list, lengths, eta, zo, x = self._raw(y)
        z_hat, y_hat, xs = [], [], []
        for b, n in enumerate(lengths):
            e = eta[b, :n]
            y_hat.append(np.exp(np.clip(e, -20, 20)) if self.neural == "poisson"
                         else self.norm.y.invert(e))
            if self.norm.z_kind == "categorical":
                z_hat.append(np.asarray(jax.nn.softmax(zo[b, :n], axis=-1)))
            else:
                z_hat.append(self.norm.z.invert(zo[b, :n]))
            xs.append(x[b, :n])
        return unlist(z_hat, was_list), unlist(y_hat, was_list), unlist(xs, was_list)

    @property
    def classes(self):
        self._check_fitted()
        return self.norm.classes

    def score(self, y, z) -> dict:
        """Behaviour and neural metrics (`neurodyn.dpad.metrics.evaluate`)."""
        from .metrics import evaluate

        z_hat, y_hat, _ = self.predict(y)
        # Poisson: y holds counts and y_hat rates, which the neural metrics do not compare.
        neural = {} if self.neural == "poisson" else {"y": y, "y_hat": y_hat}
        if self.norm.z_kind == "categorical":
            return evaluate(z, None, probs=z_hat, classes=self.norm.classes, **neural)
        return evaluate(z, z_hat, **neural)

    def as_system(self):
        """The fitted latent recursion as a neurodyn dynamical system (`step(x, u)`, u = y)."""
        from ._system import DPADSystem

        self._check_fitted()
        return DPADSystem.from_dpad(self)

    @classmethod
    def search(cls, y, z, nx, n1, *, key, **kwargs):
        """Choose where the nonlinearity goes by inner cross-validation (see `dpad.search`)."""
        from ._search import search

        return search(y, z, nx, n1, key=key, **kwargs)
