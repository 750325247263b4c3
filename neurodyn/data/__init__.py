"""Neural-data containers and readers, preprocessing and Poisson spike trains.

`Recording`, `TrialTable`, readers and writers of NumPy `.npz` and NWB (optional `pynwb`),
binning, smoothing, trial alignment, and Poisson spike trains from rates."""

from ._io import read_npz as read_npz, save_npz as save_npz
from ._nwb import read_nwb as read_nwb
from ._preprocess import bin_spikes as bin_spikes, rebin as rebin, smooth as smooth
from ._recording import Recording as Recording
from ._spikes import poisson_spikes as poisson_spikes
from ._trials import TrialTable as TrialTable
