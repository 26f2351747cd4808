"""Gates: each objective of the spec judged against a measurement.

A gate passes only on evidence. When a metric comes with a confidence interval, the whole
interval must be on the passing side of the threshold; when the interval straddles the
threshold the gate is ``uncertain``, and an uncertain gate is *not* a pass: the data does
not show that the objective is met, only that it might be. A value without an interval
(latency, cost, size: measured, not sampled) is judged on the value alone.

Example
-------
>>> from tailorml.results import Estimate
>>> gates = judge(
...     {"accuracy": ("min", 0.9), "latency_p95_ms": ("max", 50.0)},
...     {"accuracy": Estimate(value=0.93, low=0.91, high=0.95), "latency_p95_ms": Estimate(value=61.0)},
... )
>>> [(g.metric, g.status, round(g.margin, 2)) for g in gates]
[('accuracy', 'pass', 0.03), ('latency_p95_ms', 'fail', -11.0)]
>>> all_pass(gates)
False
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from tailorml.results import Estimate, Gate, GateStatus

if TYPE_CHECKING:  # pragma: no cover
    from tailorml.spec import Spec

__all__ = ["Bound", "Objectives", "all_pass", "judge", "judge_one", "objectives_from_spec"]

Bound = Literal["min", "max"]
Objectives = dict[str, tuple[Bound, float]]


def objectives_from_spec(spec: Spec) -> Objectives:
    """The spec's objectives as ``metric -> (bound, threshold)``, in the spec's order.

    Parameters
    ----------
    spec:
        A loaded :class:`~tailorml.spec.Spec`; each objective sets ``min`` or ``max``.

    Returns
    -------
    dict
        ``{"accuracy": ("min", 0.95), "latency_p95_ms": ("max", 50.0), ...}``. An objective
        that sets both bounds (the spec's validation prevents it) yields its ``min``.
    """
    objectives: Objectives = {}
    for name, objective in spec.objectives.items():
        if objective.min is not None:
            objectives[name] = ("min", float(objective.min))
        elif objective.max is not None:
            objectives[name] = ("max", float(objective.max))
    return objectives


def _passes(value: float, bound: Bound, threshold: float) -> bool:
    return value >= threshold if bound == "min" else value <= threshold


def judge_one(metric: str, bound: Bound, threshold: float, estimate: Estimate | None) -> Gate:
    """Judge one objective against one measurement.

    Parameters
    ----------
    metric:
        Catalog name of the metric.
    bound:
        ``"min"`` (the value must be at least ``threshold``) or ``"max"`` (at most).
    threshold:
        The objective's value.
    estimate:
        The measurement, or None when the metric was not measured.

    Returns
    -------
    Gate
        ``pass`` / ``fail`` when the interval (or, without one, the value) is wholly on one
        side (the threshold itself counts as passing), ``uncertain`` when the interval
        straddles the threshold, ``not_measured`` when there is no finite value. ``margin`` is
        ``value - threshold`` for ``min`` and ``threshold - value`` for ``max``: positive
        on the passing side.
    """
    if estimate is None or not math.isfinite(estimate.value):
        return Gate(metric=metric, bound=bound, threshold=threshold, status="not_measured")
    value, low, high = estimate.value, estimate.low, estimate.high
    margin = value - threshold if bound == "min" else threshold - value
    status: GateStatus
    if low is None or high is None:
        status = "pass" if _passes(value, bound, threshold) else "fail"
    else:
        # The end of the interval nearest failing decides a pass; the other end a fail.
        worst, best = (low, high) if bound == "min" else (high, low)
        if _passes(worst, bound, threshold):
            status = "pass"
        elif not _passes(best, bound, threshold):
            status = "fail"
        else:
            status = "uncertain"
    return Gate(
        metric=metric,
        bound=bound,
        threshold=threshold,
        value=value,
        low=low,
        high=high,
        status=status,
        margin=margin,
    )


def judge(objectives: Mapping[str, tuple[Bound, float]], metrics: Mapping[str, Estimate]) -> list[Gate]:
    """Judge every objective against the measured metrics.

    Parameters
    ----------
    objectives:
        ``metric -> (bound, threshold)``, e.g. from :func:`objectives_from_spec`.
    metrics:
        Measured metrics by catalog name; a missing one gives a ``not_measured`` gate.

    Returns
    -------
    list[Gate]
        One gate per objective, in the objectives' order.
    """
    return [judge_one(name, bound, threshold, metrics.get(name)) for name, (bound, threshold) in objectives.items()]


def all_pass(gates: Iterable[Gate]) -> bool:
    """True when every gate passes (and so when there are none).

    ``uncertain`` and ``not_measured`` are not passes: choosing a model must be backed by
    evidence that it meets each objective, and an interval that straddles the threshold (or
    no measurement at all) is not that evidence.

    Parameters
    ----------
    gates:
        The gates of one candidate.

    Returns
    -------
    bool
    """
    return all(g.status == "pass" for g in gates)
