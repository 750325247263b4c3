"""DPAD-style dissociation of behaviour-relevant neural dynamics, with PSID as its linear core.

    ps = PSID(nx=4, n1=2, horizon=10).fit(y, z)           # closed form (Sani et al. 2021)
    dp = DPAD(nx=4, n1=2, nonlinear="Cz").fit(y, z, key=jax.random.key(0))  # Sani et al. 2024
    z_hat, y_hat, x = dp.predict(y)                        # a Prediction(z, y, x)
    metrics.score(z, z_hat)                                # Scores: CC, R², AUC, accuracy
    system = dp.as_system()                                # step(x, u) for fixedpoints.find
"""

from . import metrics as metrics
from ._checks import Prediction as Prediction
from ._dpad import DPAD as DPAD, search as search
from ._ipsid_system import IPSIDSystem as IPSIDSystem
from ._model import DPADModules as DPADModules
from ._networks import fit_network as fit_network, network_data as network_data
from ._psid import PSID as PSID
from ._search import SearchResult as SearchResult, SearchRow as SearchRow
from ._simulate import gauss_hermite_mean as gauss_hermite_mean, random_ssm as random_ssm
from ._ssm import LinearSSM as LinearSSM, kalman_gain as kalman_gain
from ._system import DPADSystem as DPADSystem, LinearSystem as LinearSystem
from ._train import FitDivergedError as FitDivergedError
from .metrics import CrossValidation as CrossValidation, Scores as Scores
