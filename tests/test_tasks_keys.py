"""Randomness audit of the tasks: every key split before use, none consumed twice, no hidden keys.

`key_reuse(fn, key)` traces `fn(key)` and follows every PRNG key through the program: a key is
*consumed* by a draw (`random_bits`), a split, a `fold_in` or by reading its data
(`random_unwrap`); slicing a batch of keys (the result of a split) gives a new key per index,
the same index twice gives the same key. A key consumed twice means two draws that are
deterministic functions of each other (with JAX's partitionable threefry, `bits(k, (2,))` is
literally the first two words of `bits(k, (n,))`), which is what a task must never do: e.g. the
epoch layout and the input noise of a trial drawn from one key. A key created inside the
program (`jax.random.key(0)` in a default argument) or captured as a constant is a hidden
fixed key and is reported too.
"""

from __future__ import annotations

import collections

import jax
import pytest
from jax.extend import core as jcore

import neurodyn as nd

_CONSUME = {"random_bits", "random_split", "random_fold_in", "random_unwrap"}
_CREATE = {"random_seed", "random_wrap"}


def _is_key(v) -> bool:
    aval = getattr(v, "aval", None)
    return aval is not None and jax.dtypes.issubdtype(aval.dtype, jax.dtypes.prng_key)


def _freeze(x):
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(v) for v in x)
    try:
        hash(x)
    except TypeError:
        return repr(x)
    return x


def _sub_jaxprs(eqn):
    out = []
    for name, p in eqn.params.items():
        for q in p if isinstance(p, (list, tuple)) else (p,):
            if isinstance(q, jcore.ClosedJaxpr):
                out.append((name, q.jaxpr))
            elif isinstance(q, jcore.Jaxpr):
                out.append((name, q))
    return out


class _Audit:
    def __init__(self):
        self.uses = collections.Counter()
        self.where = collections.defaultdict(list)
        self.hidden = []
        self.fresh = 0

    def new(self, tag):
        self.fresh += 1
        return (tag, self.fresh)

    def consume(self, ident, prim, times=1):
        self.uses[ident] += times
        self.where[ident].append(prim)

    def walk(self, jaxpr, env):
        """Follow keys through `jaxpr`; `env` maps its key invars to identities. Returns the
        identities of its key outvars (None for non-keys)."""
        for v in jaxpr.constvars:
            if _is_key(v):
                self.hidden.append(f"a key constant {v}")
                env[v] = self.new("const")
        for i, eqn in enumerate(jaxpr.eqns):
            prim = eqn.primitive.name
            key_in = [(j, v) for j, v in enumerate(eqn.invars) if _is_key(v)]
            ids_in = [env.get(v, ("literal", id(v))) for _, v in key_in]
            if prim in _CREATE:
                self.hidden.append(f"{prim} creates a key inside the program")
            subs = _sub_jaxprs(eqn)
            if prim in _CONSUME:
                for ident in ids_in:
                    self.consume(ident, prim)
                for o in eqn.outvars:
                    if _is_key(o):
                        env[o] = self.new(prim)
            elif subs and prim == "cond":
                # One branch runs: a key is consumed at most as often as by the worst branch.
                before = collections.Counter(self.uses)
                most = collections.Counter()
                outs = None
                for _, sub in subs:
                    self.uses = collections.Counter(before)
                    ops = eqn.invars[1:]
                    inner = {s: env[o] for s, o in zip(sub.invars, ops) if _is_key(o) and o in env}
                    outs = self.walk(sub, inner)
                    for k, n in self.uses.items():
                        most[k] = max(most[k], n)
                self.uses = most
                for o, ident in zip(eqn.outvars, outs or ()):
                    if _is_key(o):
                        env[o] = ident or self.new("cond")
            elif subs:
                name, sub = subs[0]
                inner = {s: env[o] for s, o in zip(sub.invars, eqn.invars)
                         if _is_key(o) and o in env}
                if prim in ("scan", "while"):
                    # A key entering every iteration unchanged (a constant of the loop body)
                    # is consumed again at each iteration.
                    n_consts = eqn.params.get("num_consts", eqn.params.get("body_nconsts", 0))
                    before = collections.Counter(self.uses)
                    outs = self.walk(sub, inner)
                    for s, o in list(zip(sub.invars, eqn.invars))[:n_consts]:
                        if _is_key(o) and o in env and self.uses[env[o]] > before[env[o]]:
                            self.consume(env[o], f"{prim} body (every iteration)")
                else:
                    outs = self.walk(sub, inner)
                for o, ident in zip(eqn.outvars, outs):
                    if _is_key(o):
                        env[o] = ident or self.new(prim)
            else:
                # Anything else that takes keys (slicing, reshaping, a callback): its key
                # outputs are views of its inputs, told apart by the operation's parameters.
                if key_in and not any(_is_key(o) for o in eqn.outvars):
                    for ident in ids_in:
                        self.consume(ident, prim)
                for k, o in enumerate(eqn.outvars):
                    if _is_key(o):
                        params = _freeze(eqn.params)
                        env[o] = (tuple(ids_in), prim, params, k) if ids_in else self.new(prim)
        return [env.get(v) if _is_key(v) else None for v in jaxpr.outvars]


def key_reuse(fn, *args) -> list[str]:
    """Problems with the keys of `fn(*args)`: keys consumed more than once, hidden keys."""
    closed = jax.make_jaxpr(fn)(*args)
    audit = _Audit()
    env = {v: audit.new("argument") for v in closed.jaxpr.invars if _is_key(v)}
    if any(_is_key(c) for c in closed.consts):
        audit.hidden.append("a key captured as a constant")
    audit.walk(closed.jaxpr, env)
    reused = [
        f"a key consumed {n} times (by {', '.join(audit.where[k])})"
        for k, n in audit.uses.items()
        if n > 1
    ]
    return reused + audit.hidden


# ---------------------------------------------------------------------------------------------
# The audit itself, on known cases.


def test_the_audit_sees_reuse_and_hidden_keys():
    def good(k):
        a, b = jax.random.split(k)
        c = jax.random.split(b, 3)
        return jax.random.uniform(a, (3,)) + jax.random.normal(c[0]) + jax.random.normal(c[2])

    def reused(k):  # the same key for two draws
        return jax.random.uniform(k, (3,)) + jax.random.normal(k, (3,))

    def drawn_then_split(k):  # a draw, then a split of the same key
        _, k2 = jax.random.split(k)
        return jax.random.randint(k, (3,), 0, 5) + jax.random.bernoulli(k2, 0.5, (3,)).astype(int)

    def same_child(k):
        ks = jax.random.split(k, 3)
        return jax.random.uniform(ks[1]) + jax.random.uniform(ks[1])

    def hidden(k):
        return jax.random.uniform(k) + jax.random.uniform(jax.random.key(0))

    key = jax.random.key(0)
    assert key_reuse(good, key) == []
    assert key_reuse(reused, key) and key_reuse(drawn_then_split, key)
    assert key_reuse(same_child, key)
    assert key_reuse(hidden, key)


# ---------------------------------------------------------------------------------------------
# Every task's sampling.

CASES = [
    ("PerceptualDecisionMaking", {"preset": "dubreuil2022"}),
    ("PerceptualDecisionMaking", {"preset": "neurogym"}),
    # Variable epochs: the layout draws from the key too.
    ("PerceptualDecisionMaking", {"fixation": (0.0, 200.0), "stimulus": (200.0, 800.0)}),
    ("ContextDecisionMaking", {"preset": "dubreuil2022"}),
    ("ContextDecisionMaking", {"preset": "neurogym"}),
    ("MultiSensoryIntegration", {"preset": "dubreuil2022"}),
    ("MultiSensoryIntegration", {"preset": "neurogym"}),
    ("DelayComparison", {"preset": "dubreuil2022"}),
    ("DelayComparison", {"preset": "neurogym"}),
    ("DelayMatchSample", {"preset": "dubreuil2022"}),
    ("DelayMatchSample", {"preset": "neurogym"}),
    ("FlipFlop", {"preset": "golub2018", "input_noise": 0.1}),
    ("GoNogo", {"delay": (200.0, 800.0)}),
    ("ReadySetGo", {}),
    ("IntervalDiscrimination", {}),
    ("AntiReach", {"delay": (0.0, 500.0)}),
    ("SineWaveGenerator", {}),
    ("Yang19", {}),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_sampling_never_reuses_a_key(name, kwargs):
    """`sample`, `trials_from_conditions` / `conditions`: no key consumed twice, none hidden."""
    task = nd.tasks.make(name, **kwargs)
    key = jax.random.key(0)
    assert key_reuse(lambda k: task.sample(k, 8), key) == []
    grid = task.conditions(key)  # the deterministic grid's conditions, fed back with a key
    if hasattr(task, "trials_from_conditions"):
        import inspect

        params = inspect.signature(task.trials_from_conditions).parameters
        conds = {
            p: grid.conditions[p] for p in params if p in grid.conditions
        }
        if len(conds) == len([p for p in params.values()
                              if p.default is inspect.Parameter.empty and p.name != "key"]):
            assert key_reuse(lambda k: task.trials_from_conditions(k, **conds), key) == []
    assert key_reuse(lambda k: task.conditions(k), key) == []
