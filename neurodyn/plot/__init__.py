"""matplotlib figures of neurodyn's results, each drawn on `ax=`.

Every function takes `ax=` (None: a new figure) and returns the Axes it drew on (an array of them
for the multi-panel `plot_trial` and `plot_loadings`). They draw what the analyses return and
compute none (one convenience: without `projection=`, `plot_fixed_points` projects on
`fixedpoints.pca` of what it draws)."""

from ._compare import (
    plot_distance_matrix as plot_distance_matrix,
    plot_topology as plot_topology,
)
from ._dpad import (
    plot_latents as plot_latents,
    plot_model_comparison as plot_model_comparison,
    plot_prediction as plot_prediction,
    plot_search as plot_search,
)
from ._fixedpoints import (
    plot_eigenvalues as plot_eigenvalues,
    plot_fixed_points as plot_fixed_points,
    plot_flow_2d as plot_flow_2d,
)
from ._lint import plot_activity_ranks as plot_activity_ranks
from ._lowrank import (
    plot_flow_field as plot_flow_field,
    plot_loadings as plot_loadings,
    plot_rank_accuracy as plot_rank_accuracy,
)
from ._recordings import plot_conditions as plot_conditions, plot_raster as plot_raster
from ._sweep import plot_sweep as plot_sweep
from ._tasks import (
    plot_psychometric as plot_psychometric,
    plot_trial as plot_trial,
    psychometric as psychometric,
    trial as trial,
)
from ._training import plot_loss as plot_loss
