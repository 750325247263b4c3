"""A realistic NWB session for the recording tests: spikes of units driven by a network.

`decision_network` builds a fixed rank-one network that solves perceptual decision making
(Dubreuil et al. 2022's task) without training: with x = κ m + v w_in, its latent obeys
τ dκ/dt = −κ + ⟨φ'⟩(1.2 κ + 2 v), so it integrates the input v and, because the m–n overlap is
above one, commits to one of two attractors. `write_session` runs it on trials, turns each
neuron's state into a firing rate r = 15 Hz · exp(1.2 φ(x)), draws spike times from the
inhomogeneous Poisson process (`neurodyn.data.poisson_spikes`) and writes an NWB file with pynwb
as a lab would: the Units table, a trials table (start/stop, stimulus onset, coherence, choice,
correct), the stimulus as a TimeSeries under `stimulus`, and the network's output as a
behaviour TimeSeries in a `behavior` processing module. The ground truth comes back for the
checks.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import neurodyn as nd

BASE_HZ, GAIN = 15.0, 1.2
LEAD_S = 0.3  # before the first trial
ITI_MS = 400.0


def decision_network(n_neurons: int, *, key, noise_std: float = 0.05) -> nd.models.LowRankRNN:
    """A rank-one network that integrates its input to a decision (see the module docstring)."""
    k0, km, ki = jax.random.split(key, 3)
    net = nd.models.LowRankRNN(n_neurons, 1, 1, 1, noise_std=noise_std, key=k0)
    m = jax.random.normal(km, (n_neurons, 1))
    w_in = jax.random.normal(ki, (1, n_neurons))
    n = 1.2 * m + 2.0 * w_in.T
    return eqx.tree_at(lambda q: (q.m, q.n, q.w_in, q.g_in, q.w_out, q.g_out), net,
                       (m, n, w_in, jnp.ones(1), 2.0 * m, jnp.ones(1)))


def rates_of(states) -> np.ndarray:
    """Firing rates (Hz) of the units from the network's states."""
    return BASE_HZ * np.exp(GAIN * np.tanh(np.asarray(states, np.float64)))


class Session(NamedTuple):
    path: str
    network: nd.models.LowRankRNN
    task: nd.tasks.AbstractTask
    trials: nd.tasks.Trials
    states: np.ndarray  # [B, T, N]
    outputs: np.ndarray  # [B, T, 1]
    rates: np.ndarray  # [B, T, N] Hz
    start_times: np.ndarray  # [B] s
    choice: np.ndarray  # [B] 0/1


def write_session(path, *, key, n_trials: int = 48, n_neurons: int = 40) -> Session:
    """Simulate the network on `n_trials` trials and write the NWB session (see module doc)."""
    import pynwb
    from pynwb.behavior import BehavioralTimeSeries

    k_net, k_trials, k_noise, k_spikes = jax.random.split(key, 4)
    task = nd.tasks.make("PerceptualDecisionMaking", preset="dubreuil2022")
    net = decision_network(n_neurons, key=k_net)
    trials = task.sample(k_trials, n_trials)
    roll = net.simulate(trials.inputs, key=k_noise)
    states, outputs = np.asarray(roll.states, np.float64), np.asarray(roll.outputs, np.float64)
    dt, T = task.dt, trials.inputs.shape[1]
    period = int(round((T * dt + ITI_MS) / dt))  # samples per trial and inter-trial interval
    lead = int(round(LEAD_S * 1000 / dt))
    total = lead + n_trials * period
    rates = np.full((total, n_neurons), BASE_HZ)  # at rest φ(0) = 0
    stim, behaviour = np.zeros(total), np.zeros(total)
    firsts = lead + np.arange(n_trials) * period
    trial_rates = rates_of(states)
    for i, f in enumerate(firsts):
        rates[f:f + T] = trial_rates[i]
        stim[f:f + T] = np.asarray(trials.inputs[i, :, 0])
        behaviour[f:f + T] = outputs[i, :, 0]
    spikes = nd.data.poisson_spikes(rates, dt=dt, key=k_spikes)
    start = firsts * dt / 1000.0
    choice = (outputs[:, -1, 0] > 0).astype(np.int64)
    coherence = np.asarray(trials.conditions["coherence"], np.float64)

    nwb = pynwb.NWBFile(session_description="simulated perceptual decisions",
                        identifier="neurodyn-test-session",
                        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    for times in spikes:
        nwb.add_unit(spike_times=times)
    nwb.add_trial_column("stimulus_on", "stimulus onset (s)")
    nwb.add_trial_column("coherence", "signed motion coherence")
    nwb.add_trial_column("choice", "1 = right, 0 = left")
    nwb.add_trial_column("outcome", "correct or error")
    onset = np.asarray(trials.epochs["stimulus"][:, 0], np.float64) * dt / 1000.0
    for i in range(n_trials):
        correct = choice[i] == int(coherence[i] > 0)
        nwb.add_trial(start_time=start[i], stop_time=start[i] + T * dt / 1000.0,
                      stimulus_on=start[i] + float(onset[i]), coherence=coherence[i],
                      choice=int(choice[i]), outcome="correct" if correct else "error")
    # samples at the middle of each 20 ms step, as an acquisition system time-stamps them
    middle = 0.5 * dt / 1000.0
    nwb.add_stimulus(pynwb.TimeSeries(name="motion", data=stim, unit="coherence",
                                      rate=1000.0 / dt, starting_time=middle))
    module = nwb.create_processing_module("behavior", "behavioural signals")
    module.add(BehavioralTimeSeries(time_series=[pynwb.TimeSeries(
        name="lever", data=behaviour, unit="a.u.", rate=1000.0 / dt, starting_time=middle)]))
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return Session(str(path), net, task, trials, states, outputs, trial_rates, start, choice)


_CACHE: dict = {}


def shared_session(tmp_path_factory, *, seed: int = 0, n_trials: int = 48,
                   n_neurons: int = 40) -> Session:
    """`write_session` once per test run for each (seed, n_trials, n_neurons), so that the
    test modules that read the same session share it."""
    args = (seed, n_trials, n_neurons)
    if args not in _CACHE:
        path = tmp_path_factory.mktemp("nwb") / f"session_{seed}_{n_trials}_{n_neurons}.nwb"
        _CACHE[args] = write_session(path, key=jax.random.key(seed), n_trials=n_trials,
                                     n_neurons=n_neurons)
    return _CACHE[args]
