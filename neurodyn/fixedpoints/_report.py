"""`Report`: how a set of fixed points was found and filtered (saved with the points)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Report:
    """How a set of fixed points was found and filtered (hashable, saved with the points).

    Attributes:
        n_starts: number of starting points.
        outcome: `(status name, count)` for every start after optimisation and Newton
            polishing (converged / stalled / max_steps / non_finite).
        removed: `(rule, count)` for every filter that ran, in order.
        n_kept: number of points returned.
        tol_q: the convergence tolerance on q.
        rtol: the relative tolerance on ‖r‖ (the rounding floor: a point converged when
            q < max(tol_q, ½ rtol² ‖x‖²); 0 for reports written before it existed).
    """

    n_starts: int
    outcome: tuple[tuple[str, int], ...]
    removed: tuple[tuple[str, int], ...] = ()
    n_kept: int = 0
    tol_q: float = 0.0
    rtol: float = 0.0

    def counts(self) -> dict[str, int]:
        """`{status: count}` of the optimisation outcome."""
        return dict(self.outcome)

    def removed_by(self) -> dict[str, int]:
        """`{filter rule: number of points it removed}`."""
        return dict(self.removed)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (`Report.from_dict` reads it back)."""
        return dict(
            n_starts=self.n_starts,
            outcome=[list(x) for x in self.outcome],
            removed=[list(x) for x in self.removed],
            n_kept=self.n_kept,
            tol_q=self.tol_q,
            rtol=self.rtol,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        """The report written by `to_dict`."""
        return cls(
            n_starts=int(d["n_starts"]),
            outcome=tuple((str(k), int(v)) for k, v in d["outcome"]),
            removed=tuple((str(k), int(v)) for k, v in d["removed"]),
            n_kept=int(d["n_kept"]),
            tol_q=float(d["tol_q"]),
            rtol=float(d.get("rtol", 0.0)),
        )

    def __str__(self) -> str:
        outcome = ", ".join(f"{v} {k}" for k, v in self.outcome)
        removed = ", ".join(f"{k}: {v}" for k, v in self.removed) or "none ran"
        return (
            f"{self.n_starts} starts → {outcome} (tol_q={self.tol_q:g}, rtol={self.rtol:.3g}); "
            f"removed by filters: {removed}; kept {self.n_kept}"
        )

    def merge(self, other: Report) -> Report:
        """The report of two searches taken together (counts added)."""

        def add(a, b):
            out = dict(a)
            for k, v in b:
                out[k] = out.get(k, 0) + v
            return tuple(out.items())

        return Report(
            self.n_starts + other.n_starts,
            add(self.outcome, other.outcome),
            add(self.removed, other.removed),
            self.n_kept + other.n_kept,
            max(self.tol_q, other.tol_q),
            max(self.rtol, other.rtol),
        )
