"""Selection of the cheapest passing candidate, the Pareto front, and the diagnosis when none passes."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from tailorml import selection as selection_module
from tailorml.gates import Objectives, judge
from tailorml.results import CandidateResult, ClassScore, Confusion, Estimate, GroupScore, LearningPoint
from tailorml.selection import diagnose, fit_learning_curve, pareto_front, select

OBJECTIVES: Objectives = {"accuracy": ("min", 0.90), "latency_p95_ms": ("max", 50.0)}


def candidate(
    name: str,
    accuracy: float | tuple[float, float, float] = 0.95,
    cost: float | None = 0.001,
    latency: float | None = 10.0,
    size: float | None = 5.0,
    objectives: Objectives | None = None,
    **extra: object,
) -> CandidateResult:
    value, low, high = accuracy if isinstance(accuracy, tuple) else (accuracy, None, None)
    metrics = {"accuracy": Estimate(value=value, low=low, high=high)}
    for key, v in (("cost_per_1k_usd", cost), ("latency_p95_ms", latency), ("model_size_mb", size)):
        if v is not None:
            metrics[key] = Estimate(value=v)
    for key, extra_value in extra.items():
        if isinstance(extra_value, float):
            metrics[key] = Estimate(value=extra_value)
    result = CandidateResult(name=name, path=name.split("#")[0], artifact_dir=".", train_seconds=1.0, metrics=metrics)
    result.gates = judge(objectives if objectives is not None else OBJECTIVES, metrics)
    for key in ("per_class", "confusions", "groups"):
        if key in extra:
            setattr(result, key, extra[key])
    return result


# ---------------------------------------------------------------------------------------
# select


def test_selects_the_cheapest_candidate_that_passes_and_names_the_runner_up() -> None:
    candidates = [
        candidate("embedding-linear", cost=0.0031),
        candidate("tfidf-linear", cost=0.0004),
        candidate("char-ngrams", accuracy=0.85, cost=0.0001),  # cheapest, but misses accuracy
    ]
    selection = select(candidates)
    assert selection.chosen == "tfidf-linear"
    assert selection.reason == (
        "tfidf-linear: cheapest of 2 that pass every gate ($0.0004 vs $0.0031 per 1k for embedding-linear)"
    )


def test_equal_cost_is_decided_by_latency_then_size() -> None:
    by_latency = select([candidate("slow", latency=20.0, size=1.0), candidate("fast", latency=8.0, size=90.0)])
    assert by_latency.chosen == "fast"
    assert "same cost as slow" in by_latency.reason and "8.0 ms vs 20.0 ms" in by_latency.reason
    by_size = select([candidate("big", size=90.0), candidate("small", size=12.0)])
    assert by_size.chosen == "small"
    assert "model size 12.0 MB vs 90.0 MB" in by_size.reason


def test_an_unmeasured_cost_counts_as_most_expensive() -> None:
    assert select([candidate("unknown", cost=None), candidate("priced", cost=0.05)]).chosen == "priced"


def test_uncertain_is_not_a_pass() -> None:
    shaky = candidate("shaky", accuracy=(0.91, 0.88, 0.94), cost=0.0001)
    sure = candidate("sure", accuracy=(0.95, 0.93, 0.97), cost=0.002)
    selection = select([shaky, sure])
    assert selection.chosen == "sure"
    assert "the runner-up, shaky, misses accuracy (uncertain)" in selection.reason


def test_none_passes_names_every_missed_gate() -> None:
    selection = select([candidate("a", accuracy=0.8), candidate("b", latency=90.0)])
    assert selection.chosen is None
    assert selection.reason == (
        "none of 2 candidates passes every gate: a misses accuracy (fail); b misses latency_p95_ms (fail)"
    )


# ---------------------------------------------------------------------------------------
# Pareto front


def test_pareto_front_keeps_only_undominated_candidates_cheapest_first() -> None:
    candidates = [
        candidate("best", accuracy=0.95, cost=0.003),
        candidate("cheap", accuracy=0.90, cost=0.001),
        candidate("cheap-twin", accuracy=0.90, cost=0.001),  # equal on both: neither dominates
        candidate("worse-and-dearer", accuracy=0.92, cost=0.004),  # dominated by best
        candidate("same-quality-dearer", accuracy=0.90, cost=0.002),  # dominated by cheap
        candidate("middle", accuracy=0.93, cost=0.002),
        candidate("unpriced", accuracy=0.99, cost=None),  # not on the plot
    ]
    assert pareto_front(candidates) == ["cheap", "cheap-twin", "middle", "best"]
    assert select(candidates).pareto == ["cheap", "cheap-twin", "middle", "best"]


def test_pareto_front_uses_in_scope_accuracy_when_measured() -> None:
    a = candidate("a", accuracy=0.95, cost=0.002, in_scope_accuracy=0.80)
    b = candidate("b", accuracy=0.90, cost=0.001, in_scope_accuracy=0.85)
    assert pareto_front([a, b]) == ["b"]


# ---------------------------------------------------------------------------------------
# Learning curves and diagnosis


def power_curve(a: float, b: float, c: float, sizes: list[int], noise: float = 0.0) -> list[LearningPoint]:
    rng = np.random.default_rng(0)
    largest = max(sizes)
    return [
        LearningPoint(fraction=n / largest, n_train=n, accuracy=a - b * n**-c + noise * rng.standard_normal())
        for n in sizes
    ]


SIZES = [100, 200, 400, 800, 1600]
ACCURACY_93: Objectives = {"accuracy": ("min", 0.93)}


@pytest.mark.parametrize("noise", [0.0, 0.001])
def test_labels_needed_from_a_known_power_law(noise: float) -> None:
    # acc(n) = 0.96 - 2 / sqrt(n) reaches 0.93 at n = (2 / 0.03) ** 2 = 4444.
    truth = (2 / 0.03) ** 2
    weak = candidate("tfidf-linear", accuracy=0.89, objectives=ACCURACY_93)
    diagnosis = diagnose(
        [weak],
        ACCURACY_93,
        learning_curve=power_curve(0.96, 2.0, 0.5, SIZES, noise),
        n_train=1600,
    )
    assert diagnosis.labels_needed is not None
    assert abs(diagnosis.labels_needed - truth) / truth < 0.15
    assert len(diagnosis.learning_curve) == len(SIZES)
    (sentence,) = diagnosis.advice
    assert sentence.startswith("tfidf-linear: accuracy 0.890 is below the minimum 0.930 by 0.040")
    assert f"{diagnosis.labels_needed:,} training labels" in sentence


def test_accuracy_out_of_reach_of_the_curve_is_said_so() -> None:
    weak = candidate("tfidf-linear", accuracy=0.82)
    diagnosis = diagnose([weak], OBJECTIVES, learning_curve=power_curve(0.85, 1.0, 0.5, SIZES), n_train=1600)
    assert diagnosis.labels_needed is None
    assert "accuracy" in diagnosis.advice[0] and "not reachable with this path" in diagnosis.advice[0]


def test_power_law_falls_back_to_log_linear_with_two_sizes() -> None:
    fit = fit_learning_curve(power_curve(0.96, 2.0, 0.5, [400, 1600]))
    assert fit is not None and fit.kind == "log"
    assert fit.accuracy_at(400) == pytest.approx(0.86)
    assert fit.accuracy_at(1600) == pytest.approx(0.91)
    assert fit_learning_curve(power_curve(0.96, 2.0, 0.5, [400])) is None


def test_diagnosis_lists_failed_gates_weakest_classes_and_confusions_of_the_best_candidate() -> None:
    per_class = [
        ClassScore(label=label, precision=f1, recall=f1, f1=f1, support=10)
        for label, f1 in [("billing", 0.9), ("refund", 0.4), ("cancel", 0.5), ("hours", 0.95), ("greeting", 0.7)]
    ] + [ClassScore(label="absent", precision=0, recall=0, f1=0, support=0)]
    confusions = [Confusion(true="refund", predicted="billing", count=4, rate=0.4)]
    best = candidate("embedding-linear", accuracy=0.88, latency=61.0, per_class=per_class, confusions=confusions)
    other = candidate("tfidf-linear", accuracy=0.80)
    diagnosis = diagnose([other, best], OBJECTIVES, n_train=500)
    assert {name: [g.metric for g in gates] for name, gates in diagnosis.failed_gates.items()} == {
        "tfidf-linear": ["accuracy"],
        "embedding-linear": ["accuracy", "latency_p95_ms"],
    }
    assert [c.label for c in diagnosis.worst_classes] == ["refund", "cancel", "greeting", "billing", "hours"]
    assert diagnosis.confused_pairs == confusions
    assert diagnosis.labels_needed is None  # no learning curve given
    advice = dict(zip(["tfidf acc", "emb acc", "emb latency"], diagnosis.advice, strict=True))
    assert "weakest classes: refund (F1 0.40), cancel (F1 0.50), greeting (F1 0.70)" in advice["emb acc"]
    assert advice["emb latency"] == (
        "embedding-linear: latency_p95_ms 61.0 ms is above the maximum 50.0 ms by 11.0 ms; a smaller or "
        "quantized model (int8), fewer features, or a faster hardware profile; current p95 61.0 ms vs 50.0 ms."
    )


def test_advice_for_uncertain_calibration_fairness_and_unmeasured_gates() -> None:
    objectives: Objectives = {
        "accuracy": ("min", 0.90),
        "ece": ("max", 0.05),
        "fairness_gap": ("max", 0.05),
        "oos_recall": ("min", 0.8),
    }
    groups = [
        GroupScore(column="channel", group="email", n=45, accuracy=0.71, macro_f1=0.7),
        GroupScore(column="channel", group="web", n=300, accuracy=0.93, macro_f1=0.9),
        GroupScore(column="channel", group="fax", n=3, accuracy=0.0, macro_f1=0.0),  # too small to blame
    ]
    per_class = [ClassScore(label="a", precision=1, recall=1, f1=1, support=400)]
    c = candidate(
        "tfidf-linear",
        accuracy=(0.91, 0.88, 0.94),
        objectives=objectives,
        ece=0.12,
        fairness_gap=0.22,
        groups=groups,
        per_class=per_class,
    )
    advice = diagnose([c], objectives, n_train=1000).advice
    assert len(advice) == 4
    assert "accuracy" in advice[0] and "more test data would decide it (currently 400 rows)" in advice[0]
    assert "ece" in advice[1] and "temperature scaling" in advice[1] and "0.120 vs 0.050" in advice[1]
    assert "fairness_gap" in advice[2] and "channel=email (accuracy 0.710 on 45 rows" in advice[2]
    assert advice[3] == "tfidf-linear: oos_recall was not measured; it needs task.out_of_scope in the spec."


def test_docstring_examples_run() -> None:
    result = doctest.testmod(selection_module)
    assert result.failed == 0 and result.attempted > 0
