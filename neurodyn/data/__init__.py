"""Neural-data containers and readers: `Recording`, NumPy `.npz`, NWB (optional `pynwb`)."""

from ._io import read_npz as read_npz, read_nwb as read_nwb, save_npz as save_npz
from ._preprocess import bin_spikes as bin_spikes, rebin as rebin, smooth as smooth
from ._recording import Recording as Recording
