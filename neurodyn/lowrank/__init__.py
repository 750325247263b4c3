"""Low-rank theory and analysis: latent dynamics, structure, populations, mean field.

Exact latent dynamics, connectivity statistics, SVD truncation, rank sweeps, population structure
(Gaussian mixtures, resampling, inactivation) and mean-field theory (Mastrogiuseppe & Ostojic 2018;
Beiran et al. 2021; Dubreuil et al. 2022).
"""

from ..models import LatentDynamics as LatentDynamics
from . import meanfield as meanfield
from ._evaluate import accuracy as accuracy, evaluate as evaluate
from ._fit_activity import (
    ActivityFit as ActivityFit,
    ActivityHistory as ActivityHistory,
    ActivityReadout as ActivityReadout,
    activity_r2 as activity_r2,
    explained_variance as explained_variance,
    fit_to_activity as fit_to_activity,
    predict_activity as predict_activity,
)
from ._fit_activity_ranks import (
    ActivityRankSweep as ActivityRankSweep,
    fit_activity_ranks as fit_activity_ranks,
)
from ._flow import FlowField as FlowField, flow_field as flow_field
from ._gmm import GaussianMixture as GaussianMixture, fit_gmm as fit_gmm
from ._latent import latent as latent, lift as lift, project as project
from ._populations import (
    LowRankMixture as LowRankMixture,
    PopulationSelection as PopulationSelection,
    Resampled as Resampled,
    fit_mixture as fit_mixture,
    mixture as mixture,
    population_labels as population_labels,
    resample as resample,
    resample_labelled as resample_labelled,
    select_populations as select_populations,
    silence as silence,
)
from ._stats import (
    Loadings as Loadings,
    Overlaps as Overlaps,
    effective_overlap as effective_overlap,
    loadings as loadings,
    overlap_matrix as overlap_matrix,
)
from ._sweep import RankSweep as RankSweep, rank_sweep as rank_sweep
from ._truncate import (
    TruncationCurve as TruncationCurve,
    truncate as truncate,
    truncation_curve as truncation_curve,
)
