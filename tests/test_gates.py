"""Gates: pass, fail, uncertain and not measured, with margins, for both kinds of bound."""

from __future__ import annotations

import doctest
import math

import pytest

from tailorml import gates as gates_module
from tailorml.gates import Bound, Objectives, all_pass, judge, objectives_from_spec
from tailorml.results import Estimate, Gate
from tailorml.spec import parse_spec


def one(bound: Bound, threshold: float, estimate: Estimate | None, metric: str = "m") -> Gate:
    metrics = {} if estimate is None else {metric: estimate}
    (gate,) = judge({metric: (bound, threshold)}, metrics)
    return gate


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [(0.91, 0.95, "pass"), (0.90, 0.95, "pass"), (0.85, 0.89, "fail"), (0.88, 0.93, "uncertain")],
)
def test_min_bound_is_judged_on_the_whole_interval(low: float, high: float, status: str) -> None:
    gate = one("min", 0.90, Estimate(value=(low + high) / 2, low=low, high=high))
    assert gate.status == status
    assert gate.margin == pytest.approx((low + high) / 2 - 0.90)
    assert (gate.low, gate.high, gate.threshold, gate.bound) == (low, high, 0.90, "min")


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [(0.01, 0.04, "pass"), (0.03, 0.05, "pass"), (0.06, 0.09, "fail"), (0.04, 0.07, "uncertain")],
)
def test_max_bound_is_judged_on_the_whole_interval(low: float, high: float, status: str) -> None:
    gate = one("max", 0.05, Estimate(value=(low + high) / 2, low=low, high=high))
    assert gate.status == status
    assert gate.margin == pytest.approx(0.05 - (low + high) / 2)


def test_value_without_interval_is_judged_on_the_value() -> None:
    fast = one("max", 50.0, Estimate(value=31.5), "latency_p95_ms")
    slow = one("max", 50.0, Estimate(value=61.0), "latency_p95_ms")
    assert (fast.status, fast.margin) == ("pass", pytest.approx(18.5))
    assert (slow.status, slow.margin) == ("fail", pytest.approx(-11.0))
    assert (one("min", 0.9, Estimate(value=0.9)).status, one("min", 0.9, Estimate(value=0.8)).status) == (
        "pass",
        "fail",
    )
    assert one("min", 0.9, Estimate(value=0.8)).margin == pytest.approx(-0.1)


def test_a_missing_or_undefined_metric_is_not_measured() -> None:
    missing = one("min", 0.8, None, "oos_recall")
    assert (missing.status, missing.value, missing.margin) == ("not_measured", None, None)
    assert one("min", 0.8, Estimate(value=math.nan)).status == "not_measured"


def test_judge_keeps_the_objectives_order() -> None:
    objectives: Objectives = {"latency_p95_ms": ("max", 50.0), "accuracy": ("min", 0.9), "ece": ("max", 0.05)}
    metrics = {"accuracy": Estimate(value=0.95, low=0.93, high=0.97), "latency_p95_ms": Estimate(value=10.0)}
    gates = judge(objectives, metrics)
    assert [(g.metric, g.status) for g in gates] == [
        ("latency_p95_ms", "pass"),
        ("accuracy", "pass"),
        ("ece", "not_measured"),
    ]


def test_only_passes_pass() -> None:
    passing = one("min", 0.9, Estimate(value=0.95))
    uncertain = one("min", 0.9, Estimate(value=0.91, low=0.88, high=0.94))
    missing = one("min", 0.9, None)
    assert all_pass([passing, passing])
    assert not all_pass([passing, uncertain])
    assert not all_pass([passing, missing])
    assert all_pass([])  # nothing to meet


def test_objectives_from_spec_reads_each_bound() -> None:
    spec = parse_spec(
        {
            "project": "demo",
            "task": {"input": "text", "target": "label"},
            "data": {"train": "train.csv"},
            "objectives": {"accuracy": {"min": 0.95}, "latency_p95_ms": {"max": 50}},
        }
    )
    assert objectives_from_spec(spec) == {"accuracy": ("min", 0.95), "latency_p95_ms": ("max", 50.0)}


def test_docstring_examples_run() -> None:
    result = doctest.testmod(gates_module)
    assert result.failed == 0 and result.attempted > 0
