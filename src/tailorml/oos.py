"""Out-of-scope detection: a score per input, and a threshold on it chosen on validation.

Higher scores mean "more likely out of scope". The scores, all over the in-scope classes
only (the out-of-scope class, when trained, is left out so that its own probability mass
counts as doubt):

- ``max_prob``: 1 - the largest calibrated in-scope probability (Hendrycks & Gimpel 2017).
- ``energy``: -T * logsumexp(z / T) over in-scope logits ``z`` (Liu et al. 2020), with ``T``
  the fitted temperature (1 without temperature scaling). Paths without logits use their
  log-probabilities, where the score becomes ``-log(1 - p(out_of_scope))``.
- ``centroid``: 1 - the cosine similarity to the nearest in-scope class centroid of the
  training embeddings (paths that have an ``embed`` method, such as ``embedding-linear``).

``auto`` computes every available score on the validation rows and keeps the one with the
highest out-of-scope AUROC there. The threshold is the one with the best validation
accuracy (a caught out-of-scope input counts as right) among those that reach the requested
out-of-scope recall on validation. With a ``confidence`` (say 0.95), "reach" means the
one-sided Clopper-Pearson lower bound of the validation recall reaches the target, so that a
test set drawn like validation meets it with that probability: with 100 out-of-scope
validation rows, a 0.8 target then needs about 0.87 on validation. When validation has too
few out-of-scope rows for any threshold to qualify, the point estimate is used instead and
the shortfall is visible in ``recall_lower_bound``.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

__all__ = [
    "OOS_SCORES",
    "OutOfScopeRule",
    "ScoreQuality",
    "auroc",
    "choose_oos_threshold",
    "energy_score",
    "recall_lower_bound",
]

OOS_SCORES: tuple[str, ...] = ("auto", "max_prob", "energy", "centroid")


class ScoreQuality(BaseModel):
    """How one score did on the validation rows, at its own chosen threshold."""

    auroc: float
    threshold: float
    recall: float = Field(description="share of out-of-scope validation rows caught")
    recall_lower_bound: float | None = Field(
        None, description="one-sided Clopper-Pearson lower bound of that recall, at the rule's confidence"
    )
    in_scope_accuracy: float = Field(description="in-scope validation rows answered with the right label")


class OutOfScopeRule(BaseModel):
    """Flag an input as out of scope when its ``score`` is at least ``threshold``."""

    label: str
    score: str
    threshold: float
    target_recall: float | None = None
    recall_confidence: float | None = None
    validation: dict[str, ScoreQuality] = Field(default_factory=dict, description="every score tried, by name")
    # P(out of scope | score) on validation: isotonic breakpoints, for the output probability.
    curve_x: list[float] = Field(default_factory=list)
    curve_y: list[float] = Field(default_factory=list)

    def probability(self, score: np.ndarray) -> np.ndarray:
        if not self.curve_x:
            return np.where(score >= self.threshold, 1.0, 0.0)
        return np.interp(score, self.curve_x, self.curve_y)


def energy_score(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``-T * logsumexp(z / T)`` per row: low energy is in-distribution, so higher means out of scope."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    top = z.max(axis=1)
    return -temperature * (top + np.log(np.exp(z - top[:, None]).sum(axis=1)))


def auroc(is_oos: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of ``score`` for out-of-scope rows; NaN when only one kind is present."""
    from sklearn.metrics import roc_auc_score

    is_oos = np.asarray(is_oos, dtype=bool)
    if is_oos.all() or not is_oos.any():
        return float("nan")
    return float(roc_auc_score(is_oos, score))


def recall_lower_bound(caught: np.ndarray, n: int, confidence: float) -> np.ndarray:
    """One-sided Clopper-Pearson lower bound of a recall of ``caught`` out of ``n``, at ``confidence``.

    >>> [round(float(b), 3) for b in recall_lower_bound(np.array([0, 87, 100]), 100, 0.95)]
    [0.0, 0.801, 0.97]
    """
    from scipy.stats import beta

    caught = np.asarray(caught, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(1.0 - confidence, caught, n - caught + 1.0)
    return np.where(caught > 0, np.nan_to_num(bound), 0.0)


def choose_oos_threshold(
    score: np.ndarray,
    is_oos: np.ndarray,
    in_scope_correct: np.ndarray,
    *,
    target_recall: float | None = None,
    confidence: float | None = None,
) -> tuple[float, float, float]:
    """The threshold for ``score >= threshold`` means out of scope, chosen on validation rows.

    Parameters
    ----------
    score:
        The out-of-scope score of each validation row.
    is_oos:
        Whether each row is truly out of scope.
    in_scope_correct:
        Whether the classifier's in-scope label is right (ignored for out-of-scope rows).
    target_recall:
        When given, only thresholds whose recall reaches it are considered (when none does,
        the one with the highest recall is returned). Among those, the threshold with the best
        validation accuracy: a caught out-of-scope row counts as right; an in-scope row counts
        as right when it is not flagged and its label is right.
    confidence:
        With ``target_recall``: a threshold qualifies only when the lower confidence bound of
        its recall (:func:`recall_lower_bound`) reaches the target; if none does, as without.

    Returns
    -------
    tuple
        ``(threshold, recall, in_scope_accuracy)`` on these rows.
    """
    score = np.asarray(score, dtype=np.float64)
    is_oos = np.asarray(is_oos, dtype=bool)
    good = np.asarray(in_scope_correct, dtype=bool) & ~is_oos
    n_oos, n_in = int(is_oos.sum()), int((~is_oos).sum())
    # Candidate thresholds: every distinct score, plus +inf (flag nothing).
    order = np.argsort(-score, kind="stable")
    s = score[order]
    caught = np.cumsum(is_oos[order])  # flagged = the top k scores
    lost = np.cumsum(good[order])  # correct in-scope rows flagged by mistake
    last = np.append(s[1:] != s[:-1], True)  # cut only between distinct scores
    ks = np.flatnonzero(last)
    recall = np.r_[0.0, caught[ks] / max(n_oos, 1)]
    kept = np.r_[good.sum(), good.sum() - lost[ks]]
    thresholds = np.r_[np.inf, s[ks]]
    accuracy = np.r_[0.0, caught[ks]] + kept
    if target_recall is not None:
        ok = recall >= target_recall - 1e-12
        if confidence is not None:
            sure = recall_lower_bound(np.r_[0, caught[ks]], n_oos, confidence) >= target_recall - 1e-12
            ok = sure if sure.any() else ok
        # Best accuracy among the thresholds that reach the recall; else the highest recall.
        pick = int(np.argmax(np.where(ok, accuracy, -1.0))) if ok.any() else len(thresholds) - 1
    else:
        pick = int(np.argmax(accuracy))
    in_acc = float(kept[pick] / max(n_in, 1))
    return float(thresholds[pick]), float(recall[pick]), in_acc


def score_quality(
    score: np.ndarray,
    is_oos: np.ndarray,
    in_scope_correct: np.ndarray,
    target_recall: float | None,
    confidence: float | None = None,
) -> ScoreQuality:
    threshold, recall, in_acc = choose_oos_threshold(
        score, is_oos, in_scope_correct, target_recall=target_recall, confidence=confidence
    )
    n_oos = int(np.asarray(is_oos, dtype=bool).sum())
    bound = (
        float(recall_lower_bound(np.array([round(recall * n_oos)]), n_oos, confidence)[0])
        if confidence is not None
        else None
    )
    return ScoreQuality(
        auroc=auroc(is_oos, score),
        threshold=threshold,
        recall=recall,
        recall_lower_bound=bound,
        in_scope_accuracy=in_acc,
    )


def fit_probability_curve(score: np.ndarray, is_oos: np.ndarray) -> tuple[list[float], list[float]]:
    """Isotonic P(out of scope | score) on validation rows, as interpolation breakpoints."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, np.asarray(is_oos, dtype=float))
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]
