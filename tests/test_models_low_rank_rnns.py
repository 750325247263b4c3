"""`models.from_low_rank_rnns`: checkpoints of the Ostojic lab's `low_rank_rnns` classes, written
here with torch.save in both layouts, load into neurodyn models whose outputs equal a NumPy port
of each class's forward pass (written here from their equations); the reader runs nothing from a
file. Published checkpoints (Dubreuil et al. 2022) are checked when NEURODYN_LOW_RANK_RNNS_DIR
names a folder of them (their repository's models/); otherwise that test skips."""

import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import jax
import numpy as np
import pytest
from badinput import assert_clear_error

import neurodyn as nd

N, RANK, N_IN, N_OUT, ALPHA = 40, 2, 3, 2, 0.2
SCALED = {"LowRankRNN": True, "OptimizedLowRankRNN": False, "FullRankRNN": False,
          "FullRankRNNScaled": True, "SupportLowRankRNN": False}


# ------------------------------------------------------------------ the reference, in NumPy
def support_vectors(sd):
    """m, n, wi, wo, h0 of a SupportLowRankRNN: per population p, a linear map of the Gaussian
    basis plus a bias, on the neurons of that population."""
    basis, supports = sd["gaussian_basis"], sd["supports"]

    def mix(weights, biases=None):
        out = np.zeros((weights.shape[0], basis.shape[1]))
        for k in range(weights.shape[0]):
            for p in range(supports.shape[0]):
                bias = 0.0 if biases is None else biases[k, p]
                out[k] += supports[p] * (weights[k, p] @ basis + bias)
        return out

    h0 = sum(supports[p] * (sd["h0_weights"][p] @ basis) for p in range(supports.shape[0]))
    return dict(wi=mix(sd["wi_weights"], sd["wi_biases"]), si=np.ones(len(sd["wi_weights"])),
                m=mix(sd["m_weights"], sd["m_biases"]).T, n=mix(sd["n_weights"], sd["n_biases"]).T,
                wo=mix(sd["wo_weights"]).T, so=np.ones(len(sd["wo_weights"])), h0=h0)


def reference_forward(sd, layout, u, alpha=ALPHA, noise_std=0.0, xi=None):
    """The forward pass of low_rank_rnns' classes: h ← h + σξ + α(−h + J φ(h) + u W_i),
    output φ(h) W_o, with each class's 1/N factors; float64."""
    p = support_vectors(sd) if layout == "SupportLowRankRNN" else \
        {k: np.asarray(v, np.float64) for k, v in sd.items()}
    n = p["h0"].shape[0]
    scale = 1.0 / n if SCALED[layout] else 1.0
    wi = p["wi"] * p["si"][:, None]
    wo = p["wo"] * p["so"][None, :]
    if "wrec" in p:
        def rec(r):
            return r @ p["wrec"].T * scale
    else:
        def rec(r):
            return r @ p["n"] @ p["m"].T * scale
    h = np.broadcast_to(p["h0"], (u.shape[0], n)).copy()
    r = np.tanh(h)
    outputs, states = [], []
    for t in range(u.shape[1]):
        noise = 0.0 if xi is None else noise_std * xi[:, t]
        h = h + noise + alpha * (-h + rec(r) + u[:, t] @ wi)
        r = np.tanh(h)
        outputs.append(r @ wo * scale)
        states.append(h)
    return np.stack(outputs, 1), np.stack(states, 1)


def random_state_dict(layout, rng):
    """Parameters with each class's initial scales (so the dynamics are not trivial)."""
    def normal(*shape, std=1.0):
        return (std * rng.standard_normal(shape)).astype(np.float32)

    if layout == "SupportLowRankRNN":
        b, pops = 2 * RANK + N_IN, 2
        supports = np.zeros((pops, N), np.float32)
        supports[0, :N // 2], supports[1, N // 2:] = 1, 1
        return OrderedDict(
            gaussian_basis=normal(b, N), supports=supports,
            wi_weights=normal(N_IN, pops, b), m_weights=normal(RANK, pops, b, std=N ** -0.5),
            n_weights=normal(RANK, pops, b, std=2 * N ** -0.5),
            wo_weights=normal(N_OUT, pops, b, std=1 / N), wi_biases=normal(N_IN, pops),
            m_biases=normal(RANK, pops, std=0.1), n_biases=normal(RANK, pops, std=0.1),
            h0_weights=normal(pops, b, std=0.3))
    sd = OrderedDict(wi=normal(N_IN, N), si=rng.uniform(0.5, 1.5, N_IN).astype(np.float32))
    if layout.startswith("FullRank"):
        sd["wrec"] = normal(N, N, std=1.5 * (np.sqrt(N) if SCALED[layout] else N ** -0.5))
    else:
        std = 1.5 if SCALED[layout] else 1.5 * N ** -0.5
        sd["m"], sd["n"] = normal(N, RANK, std=std), normal(N, RANK, std=std)
    sd["wo"] = normal(N, N_OUT, std=4.0 if SCALED[layout] else 2.0 / N)
    sd["so"] = rng.uniform(0.5, 1.5, N_OUT).astype(np.float32)
    sd["h0"] = normal(N, std=0.5)
    return sd


def torch_save(sd, path, legacy):
    torch = pytest.importorskip("torch")
    tensors = OrderedDict()
    for key, value in sd.items():
        t = torch.from_numpy(np.ascontiguousarray(value))
        if value.ndim == 2:  # store matrices transposed in memory: exercises the strides
            t = torch.from_numpy(np.ascontiguousarray(value.T)).t()
        tensors[key] = t
    if "si" in tensors:  # a view with an offset into a larger storage
        tensors["si"] = torch.cat([torch.zeros(2), tensors["si"]])[2:]
    torch.save(tensors, path, _use_new_zipfile_serialization=not legacy)
    return path


# ------------------------------------------------------------------ identical dynamics
@pytest.mark.parametrize("layout", list(SCALED))
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_loaded_model_reproduces_the_reference_forward_pass(tmp_path, layout, legacy):
    rng = np.random.default_rng([list(SCALED).index(layout), legacy])
    sd = random_state_dict(layout, rng)
    path = torch_save(sd, tmp_path / "net.pt", legacy)
    given = None if layout in ("LowRankRNN", "FullRankRNN", "SupportLowRankRNN") else layout
    model = nd.models.from_low_rank_rnns(path, layout=given, noise_std=0.0)
    expected_type = nd.models.FullRankRNN if layout.startswith("FullRank") else \
        nd.models.LowRankRNN
    assert type(model) is expected_type and model.n_neurons == N
    assert (model.n_inputs, model.n_outputs) == (N_IN, N_OUT)
    assert model.learn_h0 and "h0" in model.train
    u = rng.standard_normal((4, 25, N_IN))
    roll = model.simulate(u.astype(np.float32), key=None, noise=False)
    out, states = reference_forward(sd, layout, u)
    assert np.std(out) > 0.05  # not a trivial network
    np.testing.assert_allclose(roll.outputs, out, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(roll.states, states, atol=1e-5, rtol=1e-5)


def test_noise_enters_as_in_the_reference(tmp_path):
    rng = np.random.default_rng(7)
    sd = random_state_dict("LowRankRNN", rng)
    model = nd.models.from_low_rank_rnns(torch_save(sd, tmp_path / "net.pt", False),
                                         noise_std=0.05)
    u = rng.standard_normal((2, 20, N_IN))
    xi = rng.standard_normal((2, 20, N))
    roll = model.simulate(u.astype(np.float32), key=None, noise=xi.astype(np.float32))
    out, _ = reference_forward(sd, "LowRankRNN", u, noise_std=0.05, xi=xi)
    np.testing.assert_allclose(roll.outputs, out, atol=1e-5, rtol=1e-5)


def test_options_reach_the_model(tmp_path):
    sd = random_state_dict("LowRankRNN", np.random.default_rng(1))
    sd["h0"] = np.zeros(N, np.float32)
    path = torch_save(sd, tmp_path / "net.pt", True)
    model = nd.models.from_low_rank_rnns(path, alpha=0.1, tau=50.0, noise_std=0.02,
                                         train=("m", "n"))
    assert (model.tau, model.dt, model.noise_std) == (50.0, 5.0, 0.02)
    assert model.train == ("m", "n") and not model.learn_h0  # a zero h0 is no initial state
    assert nd.models.from_low_rank_rnns(path, learn_h0=True).learn_h0


def test_the_inference_code_layout_with_a_zero_bias_loads(tmp_path):
    # Valente et al.'s LowRankRNN stores a bias b inside φ (zero unless trained) and may carry
    # a "rec_noise" buffer that their own loader drops.
    rng = np.random.default_rng(8)
    sd = random_state_dict("LowRankRNN", rng)
    sd["b"], sd["rec_noise"] = np.zeros(N, np.float32), np.ones(N, np.float32)
    model = nd.models.from_low_rank_rnns(torch_save(sd, tmp_path / "lint.pt", True))
    u = rng.standard_normal((2, 15, N_IN))
    out, _ = reference_forward({k: v for k, v in sd.items() if k not in ("b", "rec_noise")},
                               "LowRankRNN", u)
    roll = model.simulate(u.astype(np.float32), key=None, noise=False)
    np.testing.assert_allclose(roll.outputs, out, atol=1e-5, rtol=1e-5)


def test_a_loaded_network_saves_and_loads_with_its_h0(tmp_path):
    sd = random_state_dict("OptimizedLowRankRNN", np.random.default_rng(3))
    model = nd.models.from_low_rank_rnns(torch_save(sd, tmp_path / "net.pt", False),
                                         layout="OptimizedLowRankRNN")
    nd.save(tmp_path / "net.eqx", model)
    back = nd.load(tmp_path / "net.eqx")
    np.testing.assert_array_equal(back.h0, sd["h0"])
    np.testing.assert_array_equal(back.m, model.m)


# ------------------------------------------------------------------ safety and bad input
class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def _evil_files(tmp_path):
    target = tmp_path / "pwned"
    payload = pickle.dumps(OrderedDict(w=_Evil(target)), protocol=2)
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
                       + pickle.dumps(1001, protocol=2)
                       + pickle.dumps({"protocol_version": 1001, "little_endian": True},
                                      protocol=2)
                       + payload)
    zipped = tmp_path / "zipped.pt"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("zipped/data.pkl", payload)
        archive.writestr("zipped/byteorder", "little")
    return target, (legacy, zipped)


def test_a_forbidden_global_is_refused_and_nothing_runs(tmp_path):
    target, files = _evil_files(tmp_path)
    system = f"{os.system.__module__}.system"  # posix.system on Linux
    for path in files:
        err = assert_clear_error("from_low_rank_rnns", "global", lambda p=path:
                                 nd.models.from_low_rank_rnns(p))
        assert system in str(err) and "unknown checkpoint layout" in str(err)
        assert not target.exists()


def test_bad_inputs_name_the_argument(tmp_path):
    load = nd.models.from_low_rank_rnns
    assert_clear_error("from_low_rank_rnns", "path", lambda: load(tmp_path / "missing.pt"))
    assert_clear_error("from_low_rank_rnns", "path", lambda: load(3))
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")
    assert_clear_error("from_low_rank_rnns", "unknown checkpoint layout", lambda: load(text))
    sd = random_state_dict("LowRankRNN", np.random.default_rng(0))
    path = torch_save(sd, tmp_path / "net.pt", False)
    assert_clear_error("from_low_rank_rnns", "layout", lambda: load(path, layout="GRU"))
    assert_clear_error("from_low_rank_rnns", "layout", lambda: load(path, layout="FullRankRNN"))
    assert_clear_error("from_low_rank_rnns", "alpha", lambda: load(path, alpha=1.5))
    assert_clear_error("from_low_rank_rnns", "tau", lambda: load(path, tau=-1.0))
    assert_clear_error("from_low_rank_rnns", "learn_h0", lambda: load(path, learn_h0="yes"))
    assert_clear_error("from_low_rank_rnns", "train", lambda: load(path, train=("J",)))
    torch = pytest.importorskip("torch")
    linear = tmp_path / "linear.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), linear)
    err = assert_clear_error("from_low_rank_rnns", "unknown checkpoint layout",
                             lambda: load(linear))
    assert "bias" in str(err) and "weight" in str(err)
    bad = dict(sd, n=sd["n"][:, :1])  # m and n of different ranks
    assert_clear_error("from_low_rank_rnns", "n has shape", lambda: load(
        torch_save(bad, tmp_path / "bad.pt", False)))
    biased = dict(sd, b=np.ones(N, np.float32))
    assert_clear_error("from_low_rank_rnns", "bias", lambda: load(
        torch_save(biased, tmp_path / "biased.pt", True)))
    with zipfile.ZipFile(path) as archive:  # a storage cut short
        entries = {name: archive.read(name) for name in archive.namelist()}
    short = tmp_path / "short.pt"
    with zipfile.ZipFile(short, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data[:4] if name.endswith("data/0") else data)
    assert_clear_error("from_low_rank_rnns", "corrupt checkpoint", lambda: load(short))


# ------------------------------------------------------------------ published networks
PUBLISHED = os.environ.get("NEURODYN_LOW_RANK_RNNS_DIR")


@pytest.mark.skipif(not PUBLISHED, reason="set NEURODYN_LOW_RANK_RNNS_DIR to a folder of "
                    "low_rank_rnns checkpoints (e.g. the models/ of Dubreuil et al.'s code)")
def test_published_checkpoints_load_with_their_dynamics():
    files = sorted(Path(PUBLISHED).glob("*.pt"))
    assert files, f"no .pt files in {PUBLISHED}"
    rng = np.random.default_rng(0)
    for path in files:
        model = nd.models.from_low_rank_rnns(path, noise_std=0.0)
        sd = _published_state(path)  # read by torch itself, the independent reader
        layout = "FullRankRNN" if "wrec" in sd else (
            "SupportLowRankRNN" if "gaussian_basis" in sd else "LowRankRNN")
        u = rng.standard_normal((2, 30, model.n_inputs))
        out, _ = reference_forward(sd, layout, u)
        roll = model.simulate(u.astype(np.float32), key=None, noise=False)
        np.testing.assert_allclose(roll.outputs, out, atol=1e-5, rtol=1e-4,
                                   err_msg=str(path))


# The figure networks and the accuracy their notebooks print (fig1_*.ipynb: raposo 0.995, mante
# 1.0 low-rank / 0.99 full-rank) or the paper's table (decision 1.0, Romo 0.996, DMS 0.961),
# here on neurodyn's own `dubreuil2022` task presets, noise-free.
PUBLISHED_TASKS = {
    "rdm_lr_fig2": "PerceptualDecisionMaking", "mante_lr_fig1": "ContextDecisionMaking",
    "mante_fr_fig1": "ContextDecisionMaking", "raposo_lr_fig1": "MultiSensoryIntegration",
    "raposo_fr_fig1": "MultiSensoryIntegration", "romo_rank2_500": "DelayComparison",
    "dms_rank2_500": "DelayMatchSample"}


@pytest.mark.skipif(not PUBLISHED, reason="set NEURODYN_LOW_RANK_RNNS_DIR to a folder of "
                    "low_rank_rnns checkpoints (e.g. the models/ of Dubreuil et al.'s code)")
@pytest.mark.parametrize("name", sorted(PUBLISHED_TASKS))
def test_published_networks_solve_their_tasks(name):
    path = Path(PUBLISHED) / f"{name}.pt"
    if not path.exists():
        pytest.skip(f"{path} not there")
    model = nd.models.from_low_rank_rnns(path, noise_std=0.0)
    task = nd.tasks.make(PUBLISHED_TASKS[name], preset="dubreuil2022")
    trials = task.sample(jax.random.key(0), batch_size=512)
    score = task.evaluate(model.simulate(trials.inputs, key=None, noise=False).outputs, trials)
    assert float(score.accuracy) >= 0.97


def _published_state(path):
    torch = pytest.importorskip("torch")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {key: value.numpy().astype(np.float64) for key, value in state.items()}
