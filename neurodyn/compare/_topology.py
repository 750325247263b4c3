"""Fixed-point topology: the graph of fixed points and the saddle → attractor connections of
their unstable manifolds, compared between networks (Maheswaranathan, Williams, Golub, Ganguli
& Sussillo 2019, NeurIPS, "Universality and individuality in neural dynamics across large
populations of recurrent networks")."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import NamedTuple

import numpy as np

from .._dynamics import AbstractDynamicalSystem
from .._validate import ArgumentTypeError, check_int, check_number
from ..fixedpoints import FixedPoints, UnstableManifolds, unstable_manifolds


class Topology(NamedTuple):
    """The graph of a system's fixed points.

    Attributes:
        n_unstable: `[P]` each point's number of unstable modes (its node label; 0: attractor).
        edges: `[E, 2]` (saddle, attractor) index pairs, one per branch of the unstable
            manifold of a saddle with one unstable mode that ends at a stable point (counted
            twice if both branches go there).
        xstar: `[P, N]` the points.
    """

    n_unstable: np.ndarray
    edges: np.ndarray
    xstar: np.ndarray

    @property
    def n_points(self) -> int:
        """Number of fixed points (nodes)."""
        return int(self.n_unstable.size)

    def adjacency(self) -> np.ndarray:
        """`[P, P]` counts: entry (s, a) = number of branches from saddle s ending at a."""
        out = np.zeros((self.n_points, self.n_points), np.int64)
        np.add.at(out, (self.edges[:, 0], self.edges[:, 1]), 1)
        return out


def topology(
    system: AbstractDynamicalSystem,
    fps: FixedPoints,
    *,
    manifolds: UnstableManifolds | None = None,
    n_steps: int = 500,
    eps: float = 1e-3,
    max_modes: int = 1,
    tol: float = 1e-2,
) -> Topology:
    """The graph of fixed points and saddle → attractor connections of `system`.

    Maheswaranathan et al. 2019, NeurIPS: nodes are the points of `fps` labelled by their number
    of unstable modes; an edge s → a for each branch of the unstable manifold of an index-1
    saddle s (a curve: `fixedpoints.unstable_manifolds`, traced here unless `manifolds` is
    given) that ends within `tol` of stable point a. Saddles with more unstable modes are nodes
    without edges: their manifolds are surfaces, and one traced mode ends wherever rounding tips
    it. Pass deduplicated points (`fixedpoints.find` filters them) with their
    eigen-decomposition."""
    if not isinstance(fps, FixedPoints):
        raise ArgumentTypeError(f"fps must be FixedPoints, got {type(fps).__name__}")
    if fps.n_unstable is None:
        raise ValueError("fps have no eigen-decomposition: run find(..., jacobians=True) or "
                         "fixedpoints.decompose(system, fps)")
    if manifolds is None:
        n_steps = check_int(n_steps, "n_steps")
        eps = check_number(eps, "eps", low=0.0, low_open=True)
        max_modes = check_int(max_modes, "max_modes")
        tol = check_number(tol, "tol", low=0.0, low_open=True)
        manifolds = unstable_manifolds(system, fps, n_steps=n_steps, eps=eps,
                                       max_modes=max_modes, tol=tol)
    elif not isinstance(manifolds, UnstableManifolds):
        raise ArgumentTypeError(
            f"manifolds must be UnstableManifolds or None, got {type(manifolds).__name__}")
    ends = np.asarray(manifolds.ends)
    saddle = np.asarray(manifolds.saddle)
    if saddle.size and (saddle.max() >= fps.n_points or ends.max() >= fps.n_points):
        raise ValueError("manifolds must come from these fps (their indices run past the "
                         f"{fps.n_points} points)")
    index = np.asarray(fps.n_unstable)
    rows = [(int(s), int(e)) for s, pair in zip(saddle, ends) for e in pair
            if e >= 0 and index[s] == 1]
    edges = np.asarray(rows, np.int64).reshape(-1, 2)
    return Topology(np.asarray(fps.n_unstable, np.int64), edges, np.asarray(fps.xstar))


def _check_topology(t, name: str) -> Topology:
    if not isinstance(t, Topology):
        raise ArgumentTypeError(f"{name} must be a Topology (compare.topology), got "
                                f"{type(t).__name__}")
    return t


def _refine(graphs: list[np.ndarray], labels: list[np.ndarray], rounds: int) -> list[np.ndarray]:
    """Colour refinement (1-dimensional Weisfeiler–Lehman) of directed multigraphs, with one
    shared colour table so that colours compare across graphs."""
    colours = [np.asarray(lab, np.int64) for lab in labels]
    for _ in range(rounds):
        signatures = []
        for adj, col in zip(graphs, colours):
            sig = []
            for v in range(col.size):
                out = tuple(sorted(Counter(
                    (int(col[w]), int(adj[v, w])) for w in np.flatnonzero(adj[v])).items()))
                inc = tuple(sorted(Counter(
                    (int(col[w]), int(adj[w, v])) for w in np.flatnonzero(adj[:, v])).items()))
                sig.append((int(col[v]), out, inc))
            signatures.append(sig)
        table = {s: k for k, s in enumerate(sorted(set(itertools.chain(*signatures))))}
        new = [np.array([table[s] for s in sig], np.int64) for sig in signatures]
        if all(len(set(n)) == len(set(c)) for n, c in zip(new, colours)):
            return new
        colours = new
    return colours


def _colours(a: Topology, b: Topology) -> tuple[np.ndarray, np.ndarray]:
    ca, cb = _refine([a.adjacency(), b.adjacency()], [a.n_unstable, b.n_unstable],
                     rounds=a.n_points + b.n_points)
    return ca, cb


def topology_distance(a: Topology, b: Topology) -> int:
    """How many fixed points of the two graphs have no counterpart.

    d = Σ_c |n_a(c) − n_b(c)| over the node colours c of colour refinement (Weisfeiler–Lehman; a
    colour is a point's number of unstable modes refined by the colours and multiplicities of
    its connections). 0 for isomorphic graphs; `same_topology` decides isomorphism exactly."""
    a, b = _check_topology(a, "a"), _check_topology(b, "b")
    ca, cb = _colours(a, b)
    ha, hb = Counter(ca.tolist()), Counter(cb.tolist())
    return int(sum(abs(ha[c] - hb[c]) for c in set(ha) | set(hb)))


def same_topology(a: Topology, b: Topology) -> bool:
    """Whether two fixed-point graphs are isomorphic.

    Isomorphic: a bijection of the points that keeps every point's number of unstable modes and
    the number of manifold branches between every pair (Maheswaranathan et al. 2019, NeurIPS).
    Exact (colour refinement, then backtracking within colour classes); meant for the small
    graphs of fixed points."""
    a, b = _check_topology(a, "a"), _check_topology(b, "b")
    if a.n_points != b.n_points or len(a.edges) != len(b.edges):
        return False
    ca, cb = _colours(a, b)
    if sorted(ca.tolist()) != sorted(cb.tolist()):
        return False
    adj_a, adj_b = a.adjacency(), b.adjacency()
    order = sorted(range(a.n_points), key=lambda v: (np.sum(ca == ca[v]), v))
    mapping: dict[int, int] = {}
    used: set[int] = set()

    def fits(v: int, w: int) -> bool:
        if adj_a[v, v] != adj_b[w, w]:
            return False
        return all(adj_a[v, x] == adj_b[w, y] and adj_a[x, v] == adj_b[y, w]
                   for x, y in mapping.items())

    def extend(k: int) -> bool:
        if k == len(order):
            return True
        v = order[k]
        for w in np.flatnonzero(cb == ca[v]):
            w = int(w)
            if w in used or not fits(v, w):
                continue
            mapping[v] = w
            used.add(w)
            if extend(k + 1):
                return True
            del mapping[v]
            used.discard(w)
        return False

    return extend(0)
