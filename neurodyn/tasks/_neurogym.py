"""Bridge to NeuroGym: any NeuroGym environment as a neurodyn task producing `Trials`.

NeuroGym (optional extra `neurogym`; neurogym 2.3.1 also imports torch without declaring it)
builds trials step by step in NumPy, so this bridge runs NeuroGym on the host, one trial after
another, inside a `jax.pure_callback`: it works under `jit` and `vmap` (and so in
`train.fit`), but at NeuroGym's speed. The native task classes are the fast path.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._typing import Key
from .._validate import ArgumentTypeError, check_int, check_key
from ._base import MAX_STEPS, AbstractTask
from ._compile import evaluator
from ._score import Score
from ._trials import Trials
from ._utils import make_trials

# The environment that measures the trial length at construction is seeded with this fixed
# value, so that equal arguments always build equal tasks (it sets `n_steps` only: sampled
# trials come from the key given to `sample`).
_PROBE_SEED = 0


def _neurogym() -> ModuleType:
    try:
        import neurogym
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the NeuroGym bridge needs the optional dependency neurogym "
            "(pip install 'neurodyn[neurogym]' torch)"
        ) from e
    return neurogym


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating, bool, np.bool_))


class NeuroGymTask(AbstractTask):
    """A NeuroGym environment as a neurodyn task.

    The environment is an id such as `"ContextDecisionMaking-v0"`, or an instance.

    Every trial starts at t = 0 (never NeuroGym's concatenated stream) and is padded to
    `n_steps` (default: the longest of `probe` trials drawn at construction, so very rare long
    trials may be cut; pass `n_steps` to be sure). Inputs are NeuroGym's observations; targets
    the one-hot of its ground-truth action (unit 0 = fixation) on every step of the trial, where
    the mask is 1. `trials.epochs` holds NeuroGym's periods, `trials.conditions` the numeric
    entries of its `trial` dict. Sampling is reproducible from the key: NeuroGym draws with
    its own NumPy generators, so `sample` turns its key into 128 bits of entropy
    (`jax.random.bits`), and NumPy's `SeedSequence` spawns from them one independent seed for
    the environment's generator and one for each of its timing distributions.
    """

    env: object = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    n_in: int = eqx.field(static=True)
    n_out: int = eqx.field(static=True)
    periods: tuple[str, ...] = eqx.field(static=True)
    condition_names: tuple[str, ...] = eqx.field(static=True)

    def __init__(
        self,
        env: str | Any,
        *,
        env_kwargs: dict[str, Any] | None = None,
        n_steps: int | None = None,
        probe: int = 200,
    ):
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise ArgumentTypeError(f"env_kwargs must be a dict, got {env_kwargs!r}")
        probe = check_int(probe, "probe")
        if n_steps is not None:
            n_steps = check_int(n_steps, "n_steps", high=MAX_STEPS)
        ngym = _neurogym()
        if isinstance(env, str):
            try:
                env = ngym.make(env, **(env_kwargs or {}))
            except Exception as err:  # noqa: BLE001 - gymnasium's errors name no argument
                raise ValueError(f"env: NeuroGym cannot make {env!r}: {err}") from None
        elif env_kwargs:
            raise ValueError("env_kwargs only applies when env is a NeuroGym id")
        env = getattr(env, "unwrapped", env)
        if not hasattr(env, "new_trial") or not hasattr(env.action_space, "n"):
            raise ValueError("env must be a NeuroGym TrialEnv with a discrete action space")
        self.env = env
        self.dt = float(env.dt)
        self.n_in = int(np.prod(env.observation_space.shape))
        self.n_out = int(env.action_space.n)
        probe_env = copy.deepcopy(env)
        _reseed(probe_env, np.random.SeedSequence(_PROBE_SEED))
        lengths, periods, names = [], None, None
        for _ in range(probe):
            trial = probe_env.new_trial()
            lengths.append(probe_env.ob.shape[0])
            keys = tuple(k for k, v in trial.items() if _numeric(v))
            names = keys if names is None else tuple(k for k in names if k in keys)
            if periods is None:
                periods = tuple(probe_env.start_ind)
        self.periods = periods
        self.condition_names = names
        self.steps = n_steps if n_steps is not None else max(lengths)

    @property
    def n_inputs(self) -> int:
        return self.n_in

    @property
    def n_outputs(self) -> int:
        return self.n_out

    @property
    def n_steps(self) -> int:
        return self.steps

    def _host(self, entropy: ArrayLike, batch: int) -> tuple:
        env = copy.deepcopy(self.env)
        _reseed(env, np.random.SeedSequence(np.asarray(entropy, np.uint32).tolist()))
        T = self.steps
        obs = np.zeros((batch, T, self.n_in), np.float32)
        gt = np.zeros((batch, T), np.int32)
        valid = np.zeros((batch, T), np.float32)
        conds = {k: np.zeros(batch, np.float32) for k in self.condition_names}
        epochs = {p: np.zeros((batch, 2), np.int32) for p in self.periods}
        for b in range(batch):
            trial = env.new_trial()
            n = min(env.ob.shape[0], T)
            obs[b, :n] = env.ob[:n].reshape(n, -1)
            gt[b, :n] = env.gt[:n]
            valid[b, :n] = 1
            for k in self.condition_names:
                conds[k][b] = float(trial.get(k, np.nan))
            for p in self.periods:
                if p in env.start_ind:
                    epochs[p][b] = (min(env.start_ind[p], T), min(env.end_ind[p], T))
        return obs, gt, valid, conds, epochs

    def sample(self, key: Key, batch_size: int) -> Trials:
        """Trials from NeuroGym, reseeded from `key` (runs on the host, trial by trial)."""
        key = check_key(key, "key")
        batch = self._check_batch_size(batch_size)
        entropy = jax.random.bits(key, (4,), jnp.uint32)  # NeuroGym's seeds derive from these
        T = self.steps
        shapes = (
            jax.ShapeDtypeStruct((batch, T, self.n_in), jnp.float32),
            jax.ShapeDtypeStruct((batch, T), jnp.int32),
            jax.ShapeDtypeStruct((batch, T), jnp.float32),
            {k: jax.ShapeDtypeStruct((batch,), jnp.float32) for k in self.condition_names},
            {p: jax.ShapeDtypeStruct((batch, 2), jnp.int32) for p in self.periods},
        )
        obs, gt, valid, conds, epochs = jax.pure_callback(
            lambda s: self._host(s, batch), shapes, entropy, vmap_method="sequential"
        )
        targets = jax.nn.one_hot(gt, self.n_out, dtype=jnp.float32) * valid[:, :, None]
        mask = jnp.broadcast_to(valid[:, :, None], targets.shape)
        conds = {**conds, "label": _label(gt)}
        epochs = {
            **epochs,
            "trial": jnp.stack(
                [jnp.zeros((batch,), jnp.int32), jnp.sum(valid, 1).astype(jnp.int32)], 1
            ),
        }
        return make_trials(obs, targets, mask, conds, epochs, self.dt)

    def conditions(self, key: Key, *, repeats: int = 1) -> Trials:
        """NeuroGym has no grid of conditions: `repeats` random trials from `key`."""
        return self.sample(key, check_int(repeats, "repeats"))

    @evaluator
    def evaluate(self, outputs: Float[ArrayLike, "batch time outputs"], trials: Trials) -> Score:
        """choice = the output unit with the largest mean over the steps where the ground truth
        is not fixation (the last step of the trial when there are none, e.g. no-go);
        correct when it is the ground-truth action there (`conditions["label"]`)."""
        gt = jnp.argmax(trials.targets, -1)
        gt = gt * (trials.mask[:, :, 0] > 0).astype(gt.dtype)  # a cast, for strict promotion
        win = (gt != 0).astype(jnp.float32)
        t = jnp.arange(trials.n_steps)[None, :]
        last = (t == trials.epochs["trial"][:, 1:2] - 1).astype(jnp.float32)
        none = jnp.sum(win, 1, keepdims=True) == 0
        win = jnp.where(none, last, win)
        means = jnp.sum(outputs * win[:, :, None], 1) / jnp.sum(win, 1)[:, None]
        choice = jnp.argmax(means, 1)
        correct = choice == trials.conditions["label"]
        return Score(accuracy=jnp.mean(correct), choice=choice, correct=correct)


def _label(gt: Int[Array, "batch time"]) -> Int[Array, " batch"]:
    """The first non-fixation ground-truth action of each trial (0 if none)."""
    first = jnp.argmax(gt != 0, axis=1)
    return jnp.take_along_axis(gt, first[:, None], 1)[:, 0]


def _reseed(env: Any, seeds: np.random.SeedSequence) -> None:
    """Seed NeuroGym's generators from `seeds`: the environment's (and its action space's),
    then one independent child seed per timing distribution with its own generator (NeuroGym's
    `seed` would give them all the environment's seed)."""
    timing = list(getattr(env, "timing", {}).values())
    children = seeds.spawn(1 + len(timing))
    env.seed(int(children[0].generate_state(1)[0]))
    for v, child in zip(timing, children[1:]):
        rng = getattr(v, "rng", None)
        if isinstance(rng, np.random.RandomState):
            v.rng = np.random.RandomState(child.generate_state(1)[0])
