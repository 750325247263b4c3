"""Task-independent summaries of behaviour."""

from __future__ import annotations

import numpy as np


def psychometric(choice, condition) -> dict[str, np.ndarray]:
    """P(choice = +1) for each distinct value of a condition (e.g. coherence).

    Returns `{"values", "p_positive", "n"}` sorted by value, with the binomial standard error
    `"sem"` = sqrt(p(1−p)/n).
    """
    choice = np.asarray(choice).reshape(-1)
    condition = np.asarray(condition).reshape(-1)
    if choice.shape != condition.shape:
        raise ValueError(
            f"choice and condition must have one entry per trial, got {choice.shape} and "
            f"{condition.shape}"
        )
    values = np.unique(condition)
    p = np.array([np.mean(choice[condition == v] > 0) for v in values])
    n = np.array([np.sum(condition == v) for v in values])
    return {"values": values, "p_positive": p, "n": n, "sem": np.sqrt(p * (1 - p) / n)}
