"""Quality metrics and their bootstrap intervals, checked against hand counts and scikit-learn."""

from __future__ import annotations

import doctest
from types import ModuleType

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from tailorml.metrics import METRICS
from tailorml.metrics import bootstrap as bootstrap_module
from tailorml.metrics import quality as quality_module
from tailorml.metrics.bootstrap import bootstrap_interval, percentile_interval, resample_statistic
from tailorml.metrics.quality import expected_calibration_error, macro_f1_statistic, quality_metrics


def one_hot_proba(predicted: list[str], classes: list[str], confidence: float = 0.8) -> np.ndarray:
    """Probabilities whose arg-max is ``predicted`` with the given confidence."""
    rest = (1 - confidence) / (len(classes) - 1)
    proba = np.full((len(predicted), len(classes)), rest)
    proba[np.arange(len(predicted)), [classes.index(p) for p in predicted]] = confidence
    return proba


def random_case(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    classes = [f"c{i}" for i in range(k)]
    y = rng.choice(classes, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), [classes.index(v) for v in y]] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba, classes


# ---------------------------------------------------------------------------------------
# Point values.


def test_hand_computed_accuracy_macro_scores_and_per_class() -> None:
    classes = ["a", "b", "c"]
    y = ["a", "a", "b", "b", "c", "c"]
    pred = ["a", "b", "b", "b", "c", "a"]
    report = quality_metrics(y, one_hot_proba(pred, classes), classes, n_resamples=50)
    m = report.metrics
    # a: tp 1 of 2 true, 2 predicted; b: tp 2 of 2, 3 predicted; c: tp 1 of 2, 1 predicted.
    assert m["accuracy"].value == pytest.approx(4 / 6)
    assert m["macro_precision"].value == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m["macro_recall"].value == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert m["macro_f1"].value == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert m["macro_f1"].value == pytest.approx(f1_score(y, pred, average="macro"))
    scores = {s.label: s for s in report.per_class}
    assert [s.label for s in report.per_class] == classes
    assert (scores["b"].precision, scores["b"].recall, scores["b"].support) == (pytest.approx(2 / 3), 1.0, 2)
    assert scores["b"].f1 == pytest.approx(0.8)
    assert scores["c"].f1 == pytest.approx(2 / 3)
    assert report.n == 6


def test_macro_scores_match_sklearn_on_a_random_case() -> None:
    y, proba, classes = random_case(600, 7, seed=3)
    pred = np.array(classes)[proba.argmax(axis=1)]
    m = quality_metrics(y, proba, classes, n_resamples=100).metrics
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"].value == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["macro_precision"].value == pytest.approx(precision_score(y, pred, average="macro"))
    assert m["macro_recall"].value == pytest.approx(recall_score(y, pred, average="macro"))
    assert set(m) <= set(METRICS)


def test_true_labels_unknown_to_the_model_count_as_errors() -> None:
    classes = ["a", "b"]
    y = ["a", "b", "zzz", "zzz"]
    pred = ["a", "b", "a", "b"]
    report = quality_metrics(y, one_hot_proba(pred, classes), classes, n_resamples=50)
    assert report.metrics["accuracy"].value == pytest.approx(0.5)
    assert report.metrics["macro_f1"].value == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    unknown = report.per_class[-1]
    assert (unknown.label, unknown.support, unknown.f1, unknown.recall) == ("zzz", 2, 0.0, 0.0)


def test_confusions_are_ordered_by_count_then_rate() -> None:
    classes = ["a", "b", "c"]
    # a -> b twice of 4 a's (rate 0.5); c -> b twice of 2 c's (rate 1.0); b -> a once.
    y = ["a", "a", "a", "a", "c", "c", "b", "b"]
    pred = ["a", "a", "b", "b", "b", "b", "a", "b"]
    report = quality_metrics(y, one_hot_proba(pred, classes), classes, n_resamples=20)
    cells = [(c.true, c.predicted, c.count, c.rate) for c in report.confusions]
    assert cells == [("c", "b", 2, 1.0), ("a", "b", 2, 0.5), ("b", "a", 1, 0.5)]


def test_top_ten_confusions_only() -> None:
    y, proba, classes = random_case(400, 8, seed=1)
    assert len(quality_metrics(y, proba, classes, n_resamples=10).confusions) == 10


def test_ece_and_reliability_on_a_constructed_case() -> None:
    classes = ["a", "b"]
    # 10 rows at confidence 0.9 with 8 right (gap 0.1); 10 rows at 0.6 with 6 right (gap 0).
    y = ["a"] * 8 + ["b"] * 2 + ["a"] * 6 + ["b"] * 4
    proba = np.array([[0.9, 0.1]] * 10 + [[0.6, 0.4]] * 10)
    report = quality_metrics(y, proba, classes, n_resamples=50)
    assert report.metrics["ece"].value == pytest.approx(0.05)
    bins = [(round(b.lower, 4), round(b.upper, 4), b.confidence, b.accuracy, b.count) for b in report.reliability]
    assert bins == [
        (0.5333, 0.6, pytest.approx(0.6), pytest.approx(0.6), 10),
        (0.8667, 0.9333, pytest.approx(0.9), pytest.approx(0.8), 10),
    ]
    correct = np.array([True] * 8 + [False] * 2 + [True] * 6 + [False] * 4)
    assert expected_calibration_error(correct, proba.max(axis=1)) == pytest.approx(0.05)


def test_perfectly_calibrated_confident_model_has_zero_ece() -> None:
    classes = ["a", "b"]
    report = quality_metrics(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]), classes, n_resamples=20)
    assert report.metrics["ece"].value == pytest.approx(0.0)
    assert report.reliability[0].upper == 1.0


def test_bad_shapes_are_rejected_with_the_shape_named() -> None:
    with pytest.raises(ValueError, match=r"shape \(rows, classes\) = \(2, 2\)"):
        quality_metrics(["a", "b"], np.ones((2, 3)) / 3, ["a", "b"])
    with pytest.raises(ValueError, match="groups"):
        quality_metrics(["a", "b"], np.eye(2), ["a", "b"], groups={"channel": ["x"]})


# ---------------------------------------------------------------------------------------
# Out of scope and groups.


def test_out_of_scope_metrics_on_a_constructed_case() -> None:
    classes = ["a", "b", "oos"]
    y = ["a", "a", "b", "b", "b", "b", "oos", "oos", "oos", "oos"]
    proba = np.array(
        [
            [0.8, 0.1, 0.1],  # a, right
            [0.3, 0.3, 0.4],  # a, predicted oos
            [0.1, 0.8, 0.1],  # b, right
            [0.1, 0.7, 0.2],  # b, right
            [0.6, 0.3, 0.1],  # b, predicted a
            [0.2, 0.7, 0.1],  # b, right
            [0.1, 0.2, 0.7],  # oos, right
            [0.2, 0.2, 0.6],  # oos, right
            [0.5, 0.3, 0.2],  # oos, predicted a
            [0.3, 0.25, 0.45],  # oos, right
        ]
    )
    m = quality_metrics(y, proba, classes, out_of_scope="oos", n_resamples=200).metrics
    assert m["in_scope_accuracy"].value == pytest.approx(4 / 6)
    assert m["oos_recall"].value == pytest.approx(3 / 4)
    assert m["oos_precision"].value == pytest.approx(3 / 4)
    score = 1 - proba[:, :2].max(axis=1)
    assert m["oos_auroc"].value == pytest.approx(roc_auc_score([v == "oos" for v in y], score))
    assert m["accuracy"].value == pytest.approx(7 / 10)
    for name in ("in_scope_accuracy", "oos_recall", "oos_precision", "oos_auroc"):
        est = m[name]
        assert est.low is not None and est.high is not None
        assert 0 <= est.low <= est.value <= est.high <= 1


def test_out_of_scope_recall_is_left_out_when_no_row_is_out_of_scope() -> None:
    classes = ["a", "oos"]
    m = quality_metrics(["a", "a", "a"], one_hot_proba(["a", "a", "oos"], classes), classes, out_of_scope="oos").metrics
    assert "oos_recall" not in m and "oos_auroc" not in m
    assert m["oos_precision"].value == 0.0
    assert m["in_scope_accuracy"].value == pytest.approx(2 / 3)


def test_vectorized_auroc_matches_sklearn_with_ties_and_repeated_rows() -> None:
    rng = np.random.default_rng(5)
    positive = rng.random(300) < 0.3
    score = np.round(rng.random(300) + positive * 0.3, 1).astype(np.float64)  # rounding makes many ties
    ranks = quality_module._AurocRanks(positive, score)
    assert ranks(np.ones((1, 300)))[0] == pytest.approx(roc_auc_score(positive, score))
    weights = rng.integers(0, 4, size=300)
    repeated = np.repeat(np.arange(300), weights)
    assert ranks(weights[None, :].astype(float))[0] == pytest.approx(roc_auc_score(positive[repeated], score[repeated]))


def test_fairness_gap_uses_groups_large_enough_and_reports_every_group() -> None:
    classes = ["a", "b"]
    # group x: 25 rows, 20 right (0.8); group y: 25 rows, 15 right (0.6); group z: 5 rows, none right.
    right = [True] * 20 + [False] * 5 + [True] * 15 + [False] * 10 + [False] * 5
    y = ["a"] * len(right)
    pred = ["a" if r else "b" for r in right]
    channel = ["x"] * 25 + ["y"] * 25 + ["z"] * 5
    report = quality_metrics(y, one_hot_proba(pred, classes), classes, groups={"channel": channel}, n_resamples=300)
    gap = report.metrics["fairness_gap"]
    assert gap.value == pytest.approx(0.2)
    assert gap.low is not None and gap.high is not None and gap.low < 0.2 < gap.high
    groups = {(g.column, g.group): (g.n, g.accuracy) for g in report.groups}
    assert groups == {("channel", "x"): (25, 0.8), ("channel", "y"): (25, 0.6), ("channel", "z"): (5, 0.0)}


def test_fairness_gap_is_the_largest_over_columns_and_absent_with_one_large_group() -> None:
    classes = ["a", "b"]
    right = [True] * 30 + [False] * 10 + [True] * 20 + [False] * 20  # first half 0.75, second 0.5
    pred = ["a" if r else "b" for r in right]
    halves = ["h1"] * 40 + ["h2"] * 40
    alternating = ["p", "q"] * 40
    proba = one_hot_proba(pred, classes)
    report = quality_metrics(["a"] * 80, proba, classes, groups={"half": halves, "alt": alternating}, n_resamples=20)
    assert report.metrics["fairness_gap"].value == pytest.approx(0.25)
    lonely = quality_metrics(["a"] * 80, proba, classes, groups={"one": ["g"] * 80}, n_resamples=20)
    assert "fairness_gap" not in lonely.metrics


# ---------------------------------------------------------------------------------------
# Bootstrap.


def test_intervals_contain_the_point_estimate() -> None:
    y, proba, classes = random_case(800, 5, seed=7)
    report = quality_metrics(y, proba, classes, n_resamples=300)
    for name in ("accuracy", "macro_f1", "macro_precision", "macro_recall", "ece"):
        est = report.metrics[name]
        assert est.low is not None and est.high is not None
        assert est.low < est.value < est.high, name


def test_interval_shrinks_with_more_rows() -> None:
    rng = np.random.default_rng(0)

    def width(n: int) -> float:
        correct = rng.random(n) < 0.8
        low, high = bootstrap_interval(lambda c: c.mean(axis=1), correct, n_resamples=500)
        return high - low

    small, large = width(250), width(4000)
    assert large < small / 2.5  # the width goes as 1/sqrt(n): 4x for 16x the rows


def test_bootstrap_is_deterministic_by_seed() -> None:
    correct = np.random.default_rng(1).random(500) < 0.7
    stat = lambda c: c.mean(axis=1)  # noqa: E731
    assert bootstrap_interval(stat, correct, seed=3) == bootstrap_interval(stat, correct, seed=3)
    assert bootstrap_interval(stat, correct, seed=3) != bootstrap_interval(stat, correct, seed=4)
    y, proba, classes = random_case(300, 4, seed=2)
    first = quality_metrics(y, proba, classes, n_resamples=100, seed=9)
    assert quality_metrics(y, proba, classes, n_resamples=100, seed=9) == first


def test_bootstrap_resamples_rows_in_bounded_chunks() -> None:
    values = np.arange(100, dtype=np.float64)
    calls: list[int] = []

    def mean(v: np.ndarray) -> np.ndarray:
        calls.append(v.shape[0])
        return v.mean(axis=1)

    samples = resample_statistic(mean, values, n_resamples=50, max_chunk_bytes=12 * 100 * 8)
    assert samples.shape == (50,)
    assert sum(calls) == 50 and max(calls) <= 8
    assert abs(samples.mean() - values.mean()) < 3


def test_bootstrap_rejects_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="same number of rows"):
        bootstrap_interval(lambda a, b: a.mean(axis=1), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="empty"):
        bootstrap_interval(lambda a: a.mean(axis=1), np.ones(0))


def test_percentile_interval_ignores_undefined_resamples() -> None:
    samples = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan], [np.nan, np.nan]])
    low, high = percentile_interval(samples, 0.5)
    assert (low[0], high[0]) == (1.5, 2.5)
    assert np.isnan(low[1]) and np.isnan(high[1])


def test_macro_f1_statistic_matches_sklearn_and_bootstraps() -> None:
    rng = np.random.default_rng(4)
    t = rng.integers(0, 6, 400)
    p = np.where(rng.random(400) < 0.6, t, rng.integers(0, 6, 400))
    stat = macro_f1_statistic(6)
    assert stat(t[None], p[None])[0] == pytest.approx(f1_score(t, p, average="macro"))
    low, high = bootstrap_interval(stat, t, p, n_resamples=300)
    assert low < f1_score(t, p, average="macro") < high


@pytest.mark.parametrize("module", [bootstrap_module, quality_module])
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
