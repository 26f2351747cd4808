"""The catalog of metrics tailorml can measure, and so the objectives a spec may set.

Each entry says which way is better (so which bound an objective takes), the range of
values that are possible by definition, and what the task must declare for the metric to
exist. The spec validates objectives against this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["METRICS", "MetricInfo", "metric_names"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means and which objectives on it make sense."""

    name: str
    bound: Literal["min", "max"]  # the bound an objective sets: "min" when higher is better
    description: str
    unit: str = ""
    low: float | None = 0.0  # smallest possible value, None when unbounded
    high: float | None = None  # largest possible value, None when unbounded
    requires: Literal["out_of_scope", "groups"] | None = None

    @property
    def is_fraction(self) -> bool:
        return self.low == 0.0 and self.high == 1.0


def _fraction(name: str, bound: Literal["min", "max"], description: str, **kw: str) -> MetricInfo:
    return MetricInfo(name, bound, description, low=0.0, high=1.0, **kw)  # type: ignore[arg-type]


_ALL = [
    _fraction("accuracy", "min", "share of test inputs whose predicted label is right"),
    _fraction("macro_f1", "min", "F1 averaged over classes with equal weight"),
    _fraction("macro_precision", "min", "precision averaged over classes"),
    _fraction("macro_recall", "min", "recall averaged over classes"),
    _fraction("ece", "max", "expected calibration error of the confidence"),
    _fraction("coverage", "min", "share of requests answered without abstaining"),
    _fraction(
        "in_scope_accuracy",
        "min",
        "accuracy on inputs that are not out-of-scope",
        requires="out_of_scope",
    ),
    _fraction("oos_recall", "min", "share of out-of-scope inputs caught", requires="out_of_scope"),
    _fraction(
        "oos_precision",
        "min",
        "share of out-of-scope predictions that are right",
        requires="out_of_scope",
    ),
    _fraction(
        "oos_auroc",
        "min",
        "how well the out-of-scope score ranks out-of-scope above in-scope",
        requires="out_of_scope",
    ),
    _fraction(
        "fairness_gap",
        "max",
        "largest accuracy difference between the groups of task.groups",
        requires="groups",
    ),
    MetricInfo("latency_p50_ms", "max", "median single-request latency", unit="ms"),
    MetricInfo("latency_p95_ms", "max", "95th percentile single-request latency", unit="ms"),
    MetricInfo("latency_p99_ms", "max", "99th percentile single-request latency", unit="ms"),
    MetricInfo("throughput_per_s", "min", "predictions per second in batches of 32", unit="1/s"),
    MetricInfo("cost_per_1k_usd", "max", "serving cost of 1,000 predictions", unit="USD"),
    MetricInfo("train_cost_usd", "max", "cost of one training run", unit="USD"),
    MetricInfo("train_minutes", "max", "wall-clock training time", unit="min"),
    MetricInfo("model_size_mb", "max", "size of the saved model on disk", unit="MB"),
    MetricInfo("peak_memory_mb", "max", "peak memory while predicting", unit="MB"),
]

METRICS: dict[str, MetricInfo] = {m.name: m for m in _ALL}


def metric_names() -> list[str]:
    """Every metric name an objective may use."""
    return list(METRICS)
