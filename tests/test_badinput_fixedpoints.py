"""Bad input to the fixed-point analyses (`neurodyn.fixedpoints`): every bad argument of every
public entry point (a bad system, states of the wrong width or with NaN, bad tolerances, step
counts and rates, a bad key, results of the wrong type) is answered by a clear error naming
it, raised before anything is compiled (property-based: see tests/badinput.py)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from badinput import (
    FUZZ,
    assert_clear_error,
    bad_bool,
    bad_count,
    bad_key,
    bad_nonnegative_number,
    bad_positive_number,
    not_a_number,
)
from hypothesis import given, strategies as st

import neurodyn as nd
from neurodyn import fixedpoints as fp

N = 6
NET = nd.models.LowRankRNN(N, 1, 1, 1, noise_std=0.0, key=jax.random.key(1))
X = jnp.ones((3, N))
FPS = fp.FixedPoints(
    xstar=X, inputs=jnp.zeros((3, 0)), q=jnp.zeros(3), status=jnp.zeros(3, jnp.int32),
    initial_states=X, n_iters=jnp.zeros(3, jnp.int32), min_period=jnp.ones(3, jnp.int32),
    condition_id=jnp.zeros(3, jnp.int32),
)
NAN_NET = eqx.tree_at(lambda m: m.m, NET, NET.m.at[0, 0].set(jnp.nan))

bad_states = st.sampled_from([
    "x", None, {}, jnp.ones((3, N + 1)), jnp.ones((3, N)).at[1, 2].set(jnp.nan),
    jnp.ones((3, N)).at[0, 0].set(jnp.inf), jnp.ones((2, 3, N)), jnp.ones((0, N)),
    np.array([["a"] * N]),
])
bad_system = st.sampled_from([None, "net", 3, object(), NAN_NET])
bad_fps = st.sampled_from([None, "fps", X, {"xstar": X}])
POSITIVE = ("tol_q", "learning_rate", "lr_min", "newton_radius")
COUNTS = ("max_steps", "chunk_size", "patience", "newton_steps", "krylov_dim", "period")
OPTIONAL = ("max_q", "tol_unique", "outlier_distance")


def _find(**kw):
    return lambda: fp.find(kw.pop("system", NET), kw.pop("initial_states", X),
                           progress=kw.pop("progress", False), **kw)


@FUZZ
@given(value=bad_positive_number(), name=st.sampled_from(POSITIVE))
def test_find_tolerances_and_rates(value, name):
    if name == "newton_radius" and value == math.inf:
        return  # inf is allowed there: Newton may go anywhere
    assert_clear_error("fixedpoints.find", name, _find(**{name: value}))


@FUZZ
@given(value=bad_count(), name=st.sampled_from(COUNTS))
def test_find_counts(value, name):
    assert_clear_error("fixedpoints.find", name, _find(**{name: value}))


@FUZZ
@given(value=bad_positive_number().filter(lambda v: v is not None),
       name=st.sampled_from(OPTIONAL + ("stall_steps",)))
def test_find_optional_settings(value, name):
    assert_clear_error("fixedpoints.find", name, _find(**{name: value}))


@FUZZ
@given(value=st.one_of(bad_nonnegative_number().filter(lambda v: v is not None),
                       st.floats(min_value=1.0, max_value=10.0)))
def test_find_lr_factor_and_rtol(value):
    assert_clear_error("fixedpoints.find", "lr_factor", _find(lr_factor=value))
    if not (isinstance(value, float) and 1.0 <= value <= 10.0):
        assert_clear_error("fixedpoints.find", "rtol", _find(rtol=value))


@FUZZ
@given(value=bad_bool(), name=st.sampled_from(("newton", "filter", "jacobians", "latent",
                                               "progress")))
def test_find_flags(value, name):
    assert_clear_error("fixedpoints.find", name, _find(**{name: value}))


@FUZZ
@given(states=bad_states)
def test_find_states(states):
    assert_clear_error("fixedpoints.find", "initial_states", _find(initial_states=states))


@FUZZ
@given(system=bad_system)
def test_find_system(system):
    assert_clear_error("fixedpoints.find", "system", _find(system=system))


@FUZZ
@given(inputs=st.sampled_from(["u", jnp.ones(3), jnp.ones((4, 1)), jnp.array([jnp.nan]),
                               {}]))
def test_find_inputs(inputs):
    assert_clear_error("fixedpoints.find", "inputs", _find(inputs=inputs))


@FUZZ
@given(value=st.one_of(not_a_number(), st.sampled_from(["euler", "Discrete"])))
def test_find_dynamics(value):
    assert_clear_error("fixedpoints.find", "dynamics", _find(dynamics=value))


def test_find_condition_id_and_period_in_continuous_time():
    assert_clear_error("fixedpoints.find", "condition_id", _find(condition_id=[0, 1]))
    assert_clear_error("fixedpoints.find", "condition_id",
                       _find(condition_id=np.array([0.5, 1.0, 2.0])))
    assert_clear_error("fixedpoints.find", "period", _find(period=2, dynamics="continuous"))


@FUZZ
@given(key=bad_key(), n=bad_count(), noise=bad_nonnegative_number().filter(
    lambda v: v is not None))
def test_sample_states(key, n, noise):
    states = jnp.ones((2, 4, N))
    good = jax.random.key(0)
    entry = "fixedpoints.sample_states"
    assert_clear_error(entry, "key", lambda: fp.sample_states(states, 3, key=key))
    assert_clear_error(entry, "n", lambda: fp.sample_states(states, n, key=good))
    assert_clear_error(entry, "noise_scale",
                       lambda: fp.sample_states(states, 3, key=good, noise_scale=noise))
    assert_clear_error(entry, "states", lambda: fp.sample_states("s", 3, key=good))
    assert_clear_error(entry, "states",
                       lambda: fp.sample_states(states.at[0, 0, 0].set(jnp.nan), 3, key=good))


@FUZZ
@given(states=bad_states, system=bad_system)
def test_jacobians_linearize_decompose(states, system):
    assert_clear_error("fixedpoints.jacobians", "states", lambda: fp.jacobians(NET, states))
    assert_clear_error("fixedpoints.jacobians", "system", lambda: fp.jacobians(system, X))
    assert_clear_error("fixedpoints.linearize", "system", lambda: fp.linearize(system, X[0]))
    assert_clear_error("fixedpoints.linearize", "xstar",
                       lambda: fp.linearize(NET, "x" if states is None else X))
    assert_clear_error("fixedpoints.decompose", "system", lambda: fp.decompose(system, FPS))
    assert_clear_error("fixedpoints.decompose", "fps", lambda: fp.decompose(NET, states))


@FUZZ
@given(fps=bad_fps, value=bad_positive_number().filter(lambda v: v is not None),
       count=bad_count())
def test_filters_and_manifolds(fps, value, count):
    assert_clear_error("fixedpoints.filter_points", "fps", lambda: fp.filter_points(fps))
    for name in ("max_q", "tol_unique", "outlier_distance"):
        assert_clear_error("fixedpoints.filter_points", name,
                           lambda name=name: fp.filter_points(FPS, **{name: value}))
    assert_clear_error("fixedpoints.line_attractor", "fps", lambda: fp.line_attractor(fps))
    assert_clear_error("fixedpoints.orbits", "fps", lambda: fp.orbits(NET, fps))
    assert_clear_error("fixedpoints.unstable_manifolds", "fps",
                       lambda: fp.unstable_manifolds(NET, fps))
    done = fp.decompose(NET, FPS)
    for name in ("eps", "tol"):
        assert_clear_error("fixedpoints.unstable_manifolds", name,
                           lambda name=name: fp.unstable_manifolds(NET, done, **{name: value}))
    for name in ("n_steps", "max_modes"):
        assert_clear_error("fixedpoints.unstable_manifolds", name,
                           lambda name=name: fp.unstable_manifolds(NET, done, **{name: count}))


@FUZZ
@given(value=not_a_number(), count=bad_count(low=2),
       lim=st.sampled_from(["x", None, (1.0, 0.0), (0.0, math.nan), (0, 1, 2), {}, 3.0]))
def test_eig_stability_flow_pca(value, count, lim):
    assert_clear_error("fixedpoints.eig", "jac", lambda: fp.eig(value))
    assert_clear_error("fixedpoints.eig", "dynamics", lambda: fp.eig(jnp.ones((1, 2, 2)), value))
    assert_clear_error("fixedpoints.stability", "eigvals", lambda: fp.stability(value))
    assert_clear_error("fixedpoints.stability", "dynamics",
                       lambda: fp.stability(jnp.ones((1, 2)), value))
    system = fp.Linearization(jnp.eye(2), jnp.zeros((2, 0)), jnp.zeros(2), jnp.zeros(0),
                              jnp.zeros(2), "continuous")
    assert_clear_error("fixedpoints.flow_2d", "resolution",
                       lambda: fp.flow_2d(system, (-1, 1), (-1, 1), resolution=count))
    assert_clear_error("fixedpoints.flow_2d", "xlim", lambda: fp.flow_2d(system, lim, (-1, 1)))
    assert_clear_error("fixedpoints.flow_field", "resolution", lambda: fp.flow_field(
        system, xlim=(-1, 1), ylim=(-1, 1), resolution=count))
    assert_clear_error("fixedpoints.flow_field", "xlim",
                       lambda: fp.flow_field(system, xlim=lim, ylim=(-1, 1)))
    assert_clear_error("fixedpoints.flow_field", "ylim",
                       lambda: fp.flow_field(system, xlim=(-1, 1), ylim=lim))
    assert_clear_error("fixedpoints.flow_field", "system",
                       lambda: fp.flow_field(value, xlim=(-1, 1), ylim=(-1, 1)))
    assert_clear_error("fixedpoints.pca", "n_components",
                       lambda: fp.pca(jnp.ones((5, 3)), n_components=count))
    assert_clear_error("fixedpoints.pca", "states", lambda: fp.pca(value))
