import numpy as np

from neurodyn.dpad import SearchResult
from neurodyn.plot import _dpad as plots


def test_dpad_plots_draw():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((100, 2))
    ax = plots.plot_prediction(z, z + 0.1, dt=10.0)
    assert len(ax.lines) == 2
    ax = plots.plot_latents([z, z * 2], color=[z[:, 0], z[:, 1]])
    assert len(ax.collections) == 2
    table = [{"nonlinear": "none", "cc": 0.3}, {"nonlinear": "Cz1,Cz2", "cc": 0.56}]
    ax = plots.plot_search(SearchResult(model=None, chosen="Cz1,Cz2", table=table))
    assert len(ax.patches) == 2
    ax = plots.plot_model_comparison({"PSID": 0.3, "DPAD": 0.56}, reference=0.565)
    assert len(ax.lines) == 1
