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
highest out-of-scope AUROC there. The threshold follows one of two rules (the spec's
``out_of_scope_detection.threshold_rule``):

- ``reach_recall``: the best validation accuracy (a caught out-of-scope input counts as right)
  among the thresholds that reach the requested out-of-scope recall on validation.
- ``keep_in_scope_accuracy``: the lowest threshold (the most inputs flagged) that keeps
  in-scope accuracy (in-scope rows answered with their right label, none flagged) at or above
  a floor. This is a Neyman-Pearson choice: in-scope validation rows are drawn like
  production's, so a bound on their loss carries over; out-of-scope inputs are open-ended,
  and a recall reached on the few in validation over-promises when production's are harder
  (on CLINC150, 0.87 on validation became 0.77 on test). When no threshold keeps the floor,
  ``reach_recall`` decides.

With a ``confidence`` (say 0.95), "reach" and "keep" mean the one-sided Clopper-Pearson lower
bound of the validation proportion, so that a test set drawn like validation meets it with
that probability: with 100 out-of-scope validation rows, a 0.8 recall target then needs about
0.87 on validation. When validation has too few rows for any threshold to qualify, the point
estimate is used instead and the shortfall is visible in the lower bounds.

The out-of-scope probability a model outputs is fitted on validation, whose out-of-scope share
is rarely production's (CLINC150: 3% in validation, 18% in test). With an ``expected_rate``,
:func:`shift_prior` moves it to that share by Bayes' rule (Saerens et al. 2002).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, Field

__all__ = [
    "OOS_SCORES",
    "OutOfScopeRule",
    "ScoreQuality",
    "ThresholdChoice",
    "auroc",
    "choose_oos_threshold",
    "energy_score",
    "estimate_oos_share",
    "recall_lower_bound",
    "shift_prior",
]

OOS_SCORES: tuple[str, ...] = ("auto", "max_prob", "energy", "centroid")
RULE_REACH, RULE_KEEP, RULE_BEST = "reach_recall", "keep_in_scope_accuracy", "best_accuracy"


class ScoreQuality(BaseModel):
    """How one score did on the validation rows, at its own chosen threshold."""

    auroc: float
    threshold: float
    recall: float = Field(description="share of out-of-scope validation rows caught")
    recall_lower_bound: float | None = Field(
        None, description="one-sided Clopper-Pearson lower bound of that recall, at the rule's confidence"
    )
    in_scope_accuracy: float = Field(description="in-scope validation rows answered with the right label")
    in_scope_lower_bound: float | None = Field(
        None, description="one-sided Clopper-Pearson lower bound of that in-scope accuracy, at the rule's confidence"
    )
    rule: str = Field("reach_recall", description="the rule that chose the threshold (after any fallback)")
    false_flag_rate: float | None = Field(None, description="share of in-scope validation rows flagged")


class OutOfScopeRule(BaseModel):
    """Flag an input as out of scope when its ``score`` is at least ``threshold``."""

    label: str
    score: str
    threshold: float
    target_recall: float | None = None
    min_in_scope_accuracy: float | None = None
    confidence: float | None = None
    expected_rate: float | None = Field(None, description="production's out-of-scope share, if stated")
    validation_rate: float | None = Field(None, description="validation's out-of-scope share")
    validation: dict[str, ScoreQuality] = Field(default_factory=dict, description="every score tried, by name")
    # P(out of scope | score) on validation: isotonic breakpoints, for the output probability.
    curve_x: list[float] = Field(default_factory=list)
    curve_y: list[float] = Field(default_factory=list)

    def probability(self, score: np.ndarray) -> np.ndarray:
        """P(out of scope | score), at production's out-of-scope share when one is stated."""
        if not self.curve_x:
            return np.where(score >= self.threshold, 1.0, 0.0)
        p = np.interp(score, self.curve_x, self.curve_y)
        if self.expected_rate is None or self.validation_rate is None:
            return p
        return shift_prior(p, self.validation_rate, self.expected_rate)


class ThresholdChoice(NamedTuple):
    """A threshold chosen on validation, with what it gave there and the rule that chose it."""

    threshold: float
    recall: float
    in_scope_accuracy: float
    rule: str
    false_flag_rate: float = 0.0  # share of in-scope rows flagged


def shift_prior(p: np.ndarray, fitted_rate: float, new_rate: float) -> np.ndarray:
    """Probabilities fitted where the positive share was ``fitted_rate``, moved to ``new_rate``.

    Bayes' rule for a change of prior: the odds are multiplied by the ratio of the prior odds.

    >>> [round(float(v), 3) for v in shift_prior(np.array([0.0, 0.5, 0.9]), 0.1, 0.5)]
    [0.0, 0.9, 0.988]
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    ratio = (new_rate / (1.0 - new_rate)) / (fitted_rate / (1.0 - fitted_rate))
    with np.errstate(divide="ignore", invalid="ignore"):
        shifted = ratio * p / (ratio * p + (1.0 - p))
    return np.where(p >= 1.0, 1.0, np.nan_to_num(shifted))


def estimate_oos_share(flagged_share: float, recall: float, false_flag_rate: float) -> float | None:
    """The true out-of-scope share of traffic from the share the detector flagged.

    Adjusted classify-and-count (Forman 2008): flagged = recall * share + false_flag_rate *
    (1 - share), solved for the share with the detector's validation recall and false-flag rate.
    ``None`` when the detector barely separates the two (recall - false_flag_rate < 0.1). When
    production's out-of-scope inputs are harder than validation's, the real recall is lower and
    this estimate is low.

    >>> round(estimate_oos_share(0.2, recall=0.9, false_flag_rate=0.02), 3)
    0.205
    """
    gap = recall - false_flag_rate
    if gap < 0.1:
        return None
    return float(min(1.0, max(0.0, (flagged_share - false_flag_rate) / gap)))


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
    """One-sided Clopper-Pearson lower bound of a proportion of ``caught`` out of ``n``, at ``confidence``.

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
    min_in_scope_accuracy: float | None = None,
    confidence: float | None = None,
) -> ThresholdChoice:
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
        When given (and no floor decides), only thresholds whose recall reaches it are
        considered (when none does, the one with the highest recall is returned). Among those,
        the threshold with the best validation accuracy: a caught out-of-scope row counts as
        right; an in-scope row counts as right when it is not flagged and its label is right.
    min_in_scope_accuracy:
        When given: the lowest threshold that keeps the in-scope accuracy at or above it (the
        rule ``keep_in_scope_accuracy``), so the most out-of-scope inputs are caught that the
        floor allows, including those scored below every out-of-scope validation row; when no
        threshold keeps it, as without.
    confidence:
        A threshold qualifies only when the lower confidence bound (:func:`recall_lower_bound`)
        of its recall, or of its in-scope accuracy, reaches the target; if none does, the
        point estimate decides.

    Returns
    -------
    ThresholdChoice
        ``(threshold, recall, in_scope_accuracy, rule, false_flag_rate)`` on these rows.
    """
    score = np.asarray(score, dtype=np.float64)
    is_oos = np.asarray(is_oos, dtype=bool)
    good = np.asarray(in_scope_correct, dtype=bool) & ~is_oos
    n_oos, n_in = int(is_oos.sum()), int((~is_oos).sum())
    # Candidate thresholds: every distinct score, plus +inf (flag nothing).
    order = np.argsort(-score, kind="stable")
    s = score[order]
    caught = np.r_[0, np.cumsum(is_oos[order])]  # flagged = the top k scores
    kept = good.sum() - np.r_[0, np.cumsum(good[order])]  # correct in-scope rows not flagged
    ks = np.r_[0, 1 + np.flatnonzero(np.append(s[1:] != s[:-1], True))]  # cut only between distinct scores
    caught, kept = caught[ks], kept[ks]
    thresholds = np.r_[np.inf, s[ks[1:] - 1]]
    recall = caught / max(n_oos, 1)
    in_acc = kept / max(n_in, 1)
    false_flags = (ks - caught) / max(n_in, 1)  # in-scope rows flagged

    def choice(pick: int, rule: str) -> ThresholdChoice:
        return ThresholdChoice(
            float(thresholds[pick]), float(recall[pick]), float(in_acc[pick]), rule, float(false_flags[pick])
        )

    def qualifying(hits: np.ndarray, n: int, target: float) -> np.ndarray:
        ok = hits / max(n, 1) >= target - 1e-12
        if confidence is not None:
            sure = recall_lower_bound(hits, n, confidence) >= target - 1e-12
            ok = sure if sure.any() else ok
        return ok

    if min_in_scope_accuracy is not None:
        keeps = qualifying(kept, n_in, min_in_scope_accuracy)
        if keeps.any():
            # Thresholds run from "flag nothing" down: recall rises, in-scope accuracy falls. Take the
            # lowest that keeps the floor, even past the point where validation recall stops rising:
            # production's harder out-of-scope inputs sit in that stretch.
            return choice(int(np.flatnonzero(keeps)[-1]), RULE_KEEP)
    accuracy = caught + kept
    if target_recall is not None:
        ok = qualifying(caught, n_oos, target_recall)
        # Best accuracy among the thresholds that reach the recall; else the highest recall.
        pick = int(np.argmax(np.where(ok, accuracy, -1.0))) if ok.any() else len(thresholds) - 1
        rule = RULE_REACH
    else:
        pick = int(np.argmax(accuracy))
        rule = RULE_BEST
    return choice(pick, rule)


def score_quality(
    score: np.ndarray,
    is_oos: np.ndarray,
    in_scope_correct: np.ndarray,
    *,
    target_recall: float | None = None,
    min_in_scope_accuracy: float | None = None,
    confidence: float | None = None,
) -> ScoreQuality:
    """One score's AUROC and its threshold by :func:`choose_oos_threshold`, with the bounds at ``confidence``."""
    choice = choose_oos_threshold(
        score,
        is_oos,
        in_scope_correct,
        target_recall=target_recall,
        min_in_scope_accuracy=min_in_scope_accuracy,
        confidence=confidence,
    )
    is_oos = np.asarray(is_oos, dtype=bool)
    n_oos, n_in = int(is_oos.sum()), int((~is_oos).sum())

    def bound(share: float, n: int) -> float | None:
        if confidence is None:
            return None
        return float(recall_lower_bound(np.array([round(share * n)]), n, confidence)[0])

    return ScoreQuality(
        auroc=auroc(is_oos, score),
        threshold=choice.threshold,
        recall=choice.recall,
        recall_lower_bound=bound(choice.recall, n_oos),
        in_scope_accuracy=choice.in_scope_accuracy,
        in_scope_lower_bound=bound(choice.in_scope_accuracy, n_in),
        rule=choice.rule,
        false_flag_rate=choice.false_flag_rate,
    )


def fit_probability_curve(score: np.ndarray, is_oos: np.ndarray) -> tuple[list[float], list[float]]:
    """Isotonic P(out of scope | score) on validation rows, as interpolation breakpoints."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, np.asarray(is_oos, dtype=float))
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]
