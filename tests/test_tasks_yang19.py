import jax
import numpy as np
import pytest

import neurodyn as nd
from neurodyn.tasks._yang19 import RULES, popvec

B = 256


@pytest.fixture(scope="module")
def yang():
    task = nd.tasks.Yang19()
    return task, task.sample(jax.random.key(0), B)


def test_yang19_layout_and_rule_mixing(yang):
    task, trials = yang
    assert len(RULES) == 20 and task.rules == RULES
    assert (task.n_inputs, task.n_outputs, task.dt, task.n_steps) == (85, 33, 20.0, 180)
    rule = np.asarray(trials.conditions["rule"])
    assert len(set(rule)) == 20  # a batch mixes all the rules
    x = np.asarray(trials.inputs)
    end = np.asarray(trials.epochs["trial"])[:, 1]
    # Rule units: one-hot of the rule over the trial (plus small noise).
    np.testing.assert_array_equal(x[np.arange(B), 0, 65:].argmax(1), rule)
    assert abs(x[:, 0, 65:].sum(1).mean() - 1) < 0.05
    noise = (
        x[:, :, 65:] - np.eye(20)[rule][:, None, :] * (np.arange(180) < end[:, None])[:, :, None]
    )
    inside = np.arange(180)[None, :] < end[:, None]
    assert abs(noise[inside].std() - 0.01 * np.sqrt(10)) < 0.003


def test_yang19_targets_follow_the_rules(yang):
    task, trials = yang
    c = {k: np.asarray(v) for k, v in trials.conditions.items()}
    name = np.array(RULES)[c["rule"]]
    go_rules = np.isin(name, ["fdgo", "reactgo", "delaygo"])
    np.testing.assert_allclose(c["target_loc"][go_rules], c["stim1_loc"][go_rules], atol=1e-5)
    anti = np.isin(name, ["fdanti", "reactanti", "delayanti"])
    d = np.mod(c["target_loc"][anti] - c["stim1_loc"][anti], 2 * np.pi)
    np.testing.assert_allclose(d, np.pi, atol=1e-4)
    dms = np.isin(name, ["dmsgo", "dmcgo"])
    np.testing.assert_array_equal(c["go"][dms], c["match"][dms])
    nogo = np.isin(name, ["dmsnogo", "dmcnogo"])
    np.testing.assert_array_equal(c["go"][nogo], 1 - c["match"][nogo])
    np.testing.assert_array_equal(c["target_loc"] < 0, c["go"] == 0)
    dmc = np.isin(name, ["dmcgo", "dmcnogo"])
    same = (c["stim1_loc"][dmc] < np.pi) == (c["stim2_loc"][dmc] < np.pi)
    np.testing.assert_array_equal(same, c["match"][dmc] == 1)
    # The response bump's population vector points at the target.
    y = np.asarray(trials.targets)
    last = np.asarray(trials.epochs["trial"])[:, 1] - 1
    y_last = y[np.arange(B), last]
    go = c["go"] == 1
    loc = np.asarray(popvec(y_last[go, 1:]))
    err = np.abs(np.angle(np.exp(1j * (loc - c["target_loc"][go]))))
    assert err.max() < 1e-3
    assert (y_last[~go, 0] == 0.8).all() and (y_last[go, 0] == 0.05).all()


def test_yang19_performance_metric(yang):
    task, trials = yang
    s = task.evaluate(trials.targets, trials)
    assert float(s.accuracy) == 1.0 and np.all(np.asarray(s.rule_accuracy) == 1.0)
    out = np.array(trials.targets)
    last = np.asarray(trials.epochs["trial"])[:, 1] - 1
    go = np.asarray(trials.conditions["go"]) == 1
    out[np.arange(B), last, 0] = np.where(go, 0.9, 0.1)  # fixate when one should not and back
    assert float(task.evaluate(out, trials).accuracy) == 0.0
    one = nd.tasks.Yang19(rules=("dm1", "dmsgo"), rule_probs=(3, 1))
    t = one.sample(jax.random.key(1), B)
    r = np.asarray(t.conditions["rule"])
    assert set(r) == {6, 16} and 0.6 < np.mean(r == 6) < 0.9
    assert one.n_steps < task.n_steps
    grid = task.conditions(jax.random.key(0))  # the contract test's grid: compiled once
    assert grid.inputs.shape[0] == 20 * 8 * 2
    with pytest.raises(ValueError, match="rules"):
        nd.tasks.Yang19(rules=("dm3",))
    with pytest.raises(ValueError, match="rule_probs"):
        nd.tasks.Yang19(rules=("dm1",), rule_probs=(1, 2))


def test_yang19_rules_are_public_and_sampled_by_name(yang):
    """`Yang19.ALL_RULES` lists the rules in the order of the rule inputs; `sample_rule` and
    `sample_rules` draw one rule or a mix (sharing `sample`'s compiled program)."""
    task, trials = yang
    assert nd.tasks.Yang19.ALL_RULES == RULES == task.rules
    assert RULES[:6] == ("fdgo", "reactgo", "delaygo", "fdanti", "reactanti", "delayanti")
    assert RULES[-4:] == ("dmsgo", "dmsnogo", "dmcgo", "dmcnogo")
    one = task.sample_rule(jax.random.key(2), B, "dmsnogo")
    r = np.asarray(one.conditions["rule"])
    assert (r == RULES.index("dmsnogo")).all()
    # The rule input unit says the rule; no-go trials (match) ask for fixation to the end.
    np.testing.assert_array_equal(np.asarray(one.inputs)[:, 0, 65:].argmax(1), r)
    go = np.asarray(one.conditions["go"])
    np.testing.assert_array_equal(go, 1 - np.asarray(one.conditions["match"]))
    mix = task.sample_rules(jax.random.key(3), B, ("fdgo", "dm2"), probs=(1, 3))
    r = np.asarray(mix.conditions["rule"])
    assert set(r) == {0, 7}
    p = np.mean(r == 7)  # 0.75, binomial sd 0.027 over 256 trials
    assert abs(p - 0.75) < 4 * np.sqrt(0.75 * 0.25 / B)
    with pytest.raises(ValueError, match="rules must be names among"):
        task.sample_rule(jax.random.key(0), B, "dm3")
    with pytest.raises(ValueError, match="rules must be names among"):
        nd.tasks.Yang19(rules=("fdgo",)).sample_rule(jax.random.key(0), B, "delaydm1")
    with pytest.raises(ValueError, match="probs"):
        task.sample_rules(jax.random.key(0), B, ("fdgo", "dm2"), probs=(1, -1))
    with pytest.raises(ValueError, match="batch_size"):
        task.sample_rule(jax.random.key(0), 0, "fdgo")
