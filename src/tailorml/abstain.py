"""When to abstain: the confidence threshold below which a person answers instead.

The threshold is chosen on validation data, from the spec's ``serving.abstain``: either the
lowest threshold whose answered predictions reach the target precision (so the model answers
as much as it can while staying that precise), or the threshold that answers a given share
of requests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

__all__ = ["AbstainRule", "choose_threshold", "risk_coverage"]


class AbstainRule(BaseModel):
    """A confidence threshold and what it achieved on the data it was chosen on."""

    threshold: float = Field(description="abstain when the top probability is below this")
    target_precision: float | None = None
    coverage_target: float | None = None
    precision: float = Field(description="precision of the answered predictions on the validation rows")
    coverage: float = Field(description="share of validation rows answered")
    n: int = Field(description="validation rows it was chosen on")
    reachable: bool = Field(True, description="False when no threshold reaches the target precision")


def choose_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    target_precision: float | None = None,
    coverage: float | None = None,
) -> AbstainRule:
    """Choose the abstention threshold on validation predictions.

    Parameters
    ----------
    confidence:
        The top probability of each prediction.
    correct:
        Whether each prediction was right.
    target_precision:
        Answer as many as possible while the answered ones are at least this precise.
    coverage:
        Answer this share of requests (the most confident ones).

    Returns
    -------
    AbstainRule
        With neither target, the threshold is 0: never abstain. When no threshold reaches the
        target precision, the rule answers only the single most confident prediction level and
        says ``reachable=False``.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    n = len(confidence)
    if n == 0 or (target_precision is None and coverage is None):
        precision = float(correct.mean()) if n else 1.0
        return AbstainRule(threshold=0.0, precision=precision, coverage=1.0, n=n)
    order = np.argsort(-confidence, kind="stable")
    sorted_conf, sorted_correct = confidence[order], correct[order]
    answered = np.arange(1, n + 1)
    precision_at = np.cumsum(sorted_correct) / answered
    # Only cut between distinct confidence values: equal confidences are answered together.
    last_of_level = np.append(sorted_conf[1:] != sorted_conf[:-1], True)

    def answering_top(k: int, **targets: Any) -> AbstainRule:
        """The rule that answers the ``k`` most confident predictions."""
        return AbstainRule(
            threshold=float(sorted_conf[k - 1]), precision=float(precision_at[k - 1]), coverage=k / n, n=n, **targets
        )

    if coverage is not None:
        k = max(1, min(n, int(np.ceil(coverage * n))))
        k = int(np.flatnonzero(last_of_level[k - 1 :])[0]) + k  # extend to the end of the tie
        return answering_top(k, coverage_target=coverage)
    assert target_precision is not None
    ok = np.flatnonzero(last_of_level & (precision_at >= target_precision))
    if ok.size == 0:  # not reachable: answer only the most confident level
        k = int(np.flatnonzero(last_of_level)[0]) + 1
        return answering_top(k, target_precision=target_precision, reachable=False)
    return answering_top(int(ok[-1]) + 1, target_precision=target_precision)


def risk_coverage(confidence: np.ndarray, correct: np.ndarray, *, points: int = 50) -> list[tuple[float, float, float]]:
    """The risk-coverage curve: answering the most confident predictions first.

    Returns up to ``points`` ``(coverage, risk, threshold)`` triples, coverage ascending, cut
    only between distinct confidences. Risk is the error rate of the answered predictions;
    with calibrated confidences it tends to rise with coverage. Coverage and threshold are
    monotone by construction (coverage up, threshold down).
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    n = len(confidence)
    if n == 0:
        return []
    order = np.argsort(-confidence, kind="stable")
    conf, right = confidence[order], correct[order]
    ends = np.flatnonzero(np.append(conf[1:] != conf[:-1], True))  # last row of each confidence level
    if len(ends) > points:
        wanted = np.linspace(0, n - 1, points)
        ends = np.unique(ends[np.searchsorted(ends, wanted, side="left").clip(0, len(ends) - 1)])
    errors = np.cumsum(~right)
    return [(float((k + 1) / n), float(errors[k] / (k + 1)), float(conf[k])) for k in ends]
