"""Comparing networks and recordings: shape metrics, DSA and fixed-point topology.

Shape metrics of their activity (Procrustes, CCA, SVCCA, CKA), Dynamical Similarity Analysis of
their dynamics (Ostrow et al. 2023), and the topology of their fixed points (Maheswaranathan et al.
2019)."""

from ._dsa import (
    HAVOK as HAVOK,
    DSAMatrix as DSAMatrix,
    VectorFieldDistance as VectorFieldDistance,
    dsa as dsa,
    dsa_matrix as dsa_matrix,
    hankel as hankel,
    havok as havok,
    vector_field_distance as vector_field_distance,
)
from ._shape import (
    CanonicalCorrelations as CanonicalCorrelations,
    cca as cca,
    cka as cka,
    procrustes as procrustes,
    svcca as svcca,
)
from ._topology import (
    Topology as Topology,
    same_topology as same_topology,
    topology as topology,
    topology_distance as topology_distance,
)
