"""Selection: which candidate to ship, and, when none qualifies, what would close the gap.

:func:`select` picks, among the candidates whose gates all pass, the cheapest: lowest cost
per 1,000 predictions, then lowest p95 latency, then smallest model (a metric that was not
measured counts as infinitely expensive), then highest quality. Its reason names the
runner-up and the measurement that decided. It also returns the Pareto front of quality
(``in_scope_accuracy`` when measured, else ``accuracy``) against cost.

:func:`diagnose` explains a run where nothing passed: the gates each candidate missed, the
weakest classes and most confused pairs of the best-quality candidate, how many training
labels a learning curve says the accuracy objective needs, and one plain sentence of advice
per missed gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tailorml.gates import Bound, all_pass, judge
from tailorml.metrics import METRICS
from tailorml.results import CandidateResult, ClassScore, Diagnosis, Gate, LearningPoint

__all__ = [
    "ACCURACY_LIKE",
    "LearningCurveFit",
    "Selection",
    "diagnose",
    "fit_learning_curve",
    "pareto_front",
    "quality_metric",
    "select",
]

ORDER = ("cost_per_1k_usd", "latency_p95_ms", "model_size_mb")
ACCURACY_LIKE = ("accuracy", "in_scope_accuracy")  # objectives a learning curve of accuracy speaks to
QUALITY_LIKE = (*ACCURACY_LIKE, "macro_f1", "macro_precision", "macro_recall")
SPEED_LIKE = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "throughput_per_s", "cost_per_1k_usd")
SIZE_LIKE = ("model_size_mb", "peak_memory_mb")
MAX_EXTRAPOLATION = 100  # labels_needed beyond this many times the largest measured training set is "not reachable"
WORST_CLASSES = 5
CONFUSED_PAIRS = 5


@dataclass(frozen=True)
class Selection:
    """The choice among candidates and why."""

    chosen: str | None
    reason: str
    pareto: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Formatting numbers in their metric's unit.


def _fmt(metric: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "not measured"
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit == "USD":
        return (
            f"${value:,.2f}"
            if value >= 1
            else "$" + np.format_float_positional(value, precision=2, fractional=False, trim="-")
        )
    if unit in ("ms", "MB", "min"):
        return f"{value:,.1f} {unit}"
    if unit == "1/s":
        return f"{value:,.0f}/s"
    return f"{value:.3f}"


def _metric(candidate: CandidateResult, name: str) -> float:
    estimate = candidate.metrics.get(name)
    return estimate.value if estimate is not None and math.isfinite(estimate.value) else math.inf


# ---------------------------------------------------------------------------------------
# Choosing.


def quality_metric(candidates: Sequence[CandidateResult]) -> str:
    """``in_scope_accuracy`` when any candidate has it, else ``accuracy``."""
    return "in_scope_accuracy" if any("in_scope_accuracy" in c.metrics for c in candidates) else "accuracy"


def _quality(candidate: CandidateResult, metric: str) -> float:
    q = _metric(candidate, metric)
    return q if math.isfinite(q) else -math.inf


def pareto_front(candidates: Sequence[CandidateResult]) -> list[str]:
    """Candidates not dominated on quality (higher is better) and cost per 1k (lower is better).

    Parameters
    ----------
    candidates:
        Measured candidates; those without a quality or a cost measurement are left out.

    Returns
    -------
    list[str]
        Names on the front, cheapest first. A candidate is dominated when another has
        higher-or-equal quality and lower-or-equal cost, one of them strictly.
    """
    metric = quality_metric(candidates)
    points = [
        (c.name, _metric(c, metric), _metric(c, "cost_per_1k_usd"))
        for c in candidates
        if math.isfinite(_metric(c, metric)) and math.isfinite(_metric(c, "cost_per_1k_usd"))
    ]
    front = [
        (name, q, cost)
        for name, q, cost in points
        if not any(q2 >= q and c2 <= cost and (q2 > q or c2 < cost) for _, q2, c2 in points)
    ]
    return [name for name, _, _ in sorted(front, key=lambda p: (p[2], -p[1], p[0]))]


def _sort_key(candidate: CandidateResult, metric: str) -> tuple[float, ...]:
    return (*(_metric(candidate, m) for m in ORDER), -_quality(candidate, metric))


def _why_first(winner: CandidateResult, runner_up: CandidateResult, metric: str) -> str:
    """The first measurement, in selection order, on which the winner beats the runner-up."""
    for m, words in zip(ORDER, ("per 1k", "p95 latency", "model size"), strict=True):
        w, r = _metric(winner, m), _metric(runner_up, m)
        if w != r:
            if m == ORDER[0]:
                return f"{_fmt(m, w)} vs {_fmt(m, r)} per 1k for {runner_up.name}"
            same = "same cost" if m == ORDER[1] else "same cost and p95 latency"
            return f"{same} as {runner_up.name}; {words} {_fmt(m, w)} vs {_fmt(m, r)}"
    w_q, r_q = _metric(winner, metric), _metric(runner_up, metric)
    if w_q != r_q:
        return f"same cost, latency and size as {runner_up.name}; {metric} {_fmt(metric, w_q)} vs {_fmt(metric, r_q)}"
    return f"ties with {runner_up.name} on cost, latency, size and {metric}; first by name"


def _not_passed(candidate: CandidateResult) -> str:
    missed = [f"{g.metric} ({g.status.replace('_', ' ')})" for g in candidate.gates if g.status != "pass"]
    return ", ".join(missed)


def select(candidates: Sequence[CandidateResult]) -> Selection:
    """Choose the cheapest candidate whose gates all pass.

    Parameters
    ----------
    candidates:
        Measured candidates with their gates already judged (see :func:`tailorml.gates.judge`).
        A candidate without gates passes (there is nothing to meet).

    Returns
    -------
    Selection
        The chosen name (None when none passes), a reason naming the runner-up and the
        measurement that decided, and the quality/cost Pareto front.

    Example
    -------
    >>> from tailorml.results import CandidateResult, Estimate
    >>> def cand(name, cost):
    ...     return CandidateResult(name=name, path=name, artifact_dir=".", train_seconds=1.0,
    ...                            metrics={"accuracy": Estimate(value=0.9), "cost_per_1k_usd": Estimate(value=cost)})
    >>> select([cand("embedding-linear", 0.0031), cand("tfidf-linear", 0.0004)]).reason
    'tfidf-linear: cheapest of 2 that pass every gate ($0.0004 vs $0.0031 per 1k for embedding-linear)'
    """
    pareto = pareto_front(candidates)
    if not candidates:
        return Selection(None, "no candidates were measured", pareto)
    metric = quality_metric(candidates)
    ranked = sorted(candidates, key=lambda c: (*_sort_key(c, metric), c.name))
    passing = [c for c in ranked if all_pass(c.gates)]
    if not passing:
        missed = "; ".join(f"{c.name} misses {_not_passed(c)}" for c in ranked)
        none = "the only candidate" if len(candidates) == 1 else f"none of {len(candidates)} candidates"
        return Selection(
            None, f"{none} passes every gate: {missed}" if len(candidates) > 1 else f"{none}, {missed}", pareto
        )
    winner = passing[0]
    if len(passing) > 1:
        reason = (
            f"{winner.name}: cheapest of {len(passing)} that pass every gate ({_why_first(winner, passing[1], metric)})"
        )
    elif len(candidates) == 1:
        reason = f"{winner.name}: the only candidate, and it passes every gate"
    else:
        runner_up = next(c for c in ranked if c is not winner)
        reason = (
            f"{winner.name}: the only one of {len(candidates)} candidates that passes every gate; "
            f"the runner-up, {runner_up.name}, misses {_not_passed(runner_up)}"
        )
    return Selection(winner.name, reason, pareto)


# ---------------------------------------------------------------------------------------
# Learning curves.


@dataclass(frozen=True)
class LearningCurveFit:
    """A fitted learning curve: accuracy as a function of training rows.

    ``kind == "power"``: ``acc(n) = a - b * (n / scale) ** -c`` (saturating at ``a``).
    ``kind == "log"``: ``acc(n) = a + b * log(n / scale)`` (no asymptote; the fallback).
    """

    kind: Literal["power", "log"]
    a: float
    b: float
    c: float
    scale: float
    largest_n: int

    def accuracy_at(self, n: float) -> float:
        """The fitted accuracy with ``n`` training rows."""
        if self.kind == "power":
            return self.a - self.b * (n / self.scale) ** -self.c
        return self.a + self.b * math.log(n / self.scale)

    @property
    def asymptote(self) -> float:
        """The accuracy the curve approaches with unlimited rows (1.0 for the log fit)."""
        return self.a if self.kind == "power" else 1.0

    def rows_for(self, target: float) -> float | None:
        """Training rows the curve needs to reach ``target``; None when it never does."""
        if self.kind == "power":
            if self.a <= target:
                return None
            if self.b <= 0:  # flat curve above the target: any training set reaches it
                return 1.0
            return self.scale * (self.b / (self.a - target)) ** (1 / self.c)
        if self.b <= 0 or target > 1:
            return None
        return self.scale * math.exp((target - self.a) / self.b)


def fit_learning_curve(points: Sequence[LearningPoint]) -> LearningCurveFit | None:
    """Fit accuracy against training rows: a saturating power law, else a log-linear line.

    Parameters
    ----------
    points:
        Learning-curve measurements (training rows, accuracy). The power law needs three
        distinct sizes; two are enough for the log-linear fallback.

    Returns
    -------
    LearningCurveFit or None
        None with fewer than two distinct training-set sizes.
    """
    usable = [p for p in points if p.n_train > 0 and math.isfinite(p.accuracy)]
    n = np.array([p.n_train for p in usable], dtype=np.float64)
    acc = np.array([p.accuracy for p in usable], dtype=np.float64)
    if len(np.unique(n)) < 2:
        return None
    scale, largest = float(n.max()), int(n.max())
    if len(np.unique(n)) >= 3:
        power = _fit_power(n / scale, acc)
        if power is not None:
            return LearningCurveFit("power", *power, scale=scale, largest_n=largest)
    slope, intercept = np.polyfit(np.log(n / scale), acc, 1)
    return LearningCurveFit("log", float(intercept), float(slope), 0.0, scale=scale, largest_n=largest)


def _fit_power(x: np.ndarray, acc: np.ndarray) -> tuple[float, float, float] | None:
    """(a, b, c) of ``acc = a - b * x**-c`` on x scaled to at most 1, or None when the fit fails."""
    import warnings

    from scipy.optimize import OptimizeWarning, curve_fit

    def model(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a - b * x ** (-c)

    a0 = min(float(acc.max()) + 0.02, 0.999)
    c0 = 0.5
    b0 = max(a0 - float(acc[np.argmin(x)]), 1e-3) * float(x.min()) ** c0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(
                model, x, acc, p0=[a0, b0, c0], bounds=([0.0, 0.0, 0.01], [1.0, np.inf, 5.0]), maxfev=10_000
            )
    except (RuntimeError, ValueError):
        return None
    a, b, c = (float(v) for v in params)
    if not all(math.isfinite(v) for v in (a, b, c)):
        return None
    return a, b, c


# ---------------------------------------------------------------------------------------
# Diagnosis.


@dataclass
class _LabelsEstimate:
    needed: int | None = None
    sentence: str = ""


def _labels_estimate(curve: LearningCurveFit | None, metric: str, target: float, n_train: int) -> _LabelsEstimate:
    if curve is None:
        return _LabelsEstimate()
    rows = curve.rows_for(target)
    fit = "power-law" if curve.kind == "power" else "log-linear"
    if rows is None:
        return _LabelsEstimate(
            None,
            f"the {fit} learning curve levels off at {curve.asymptote:.3f}, below {target:.3f}: "
            "not reachable with this path by adding labels",
        )
    if rows > MAX_EXTRAPOLATION * curve.largest_n:
        return _LabelsEstimate(
            None,
            f"the {fit} learning curve would need over {MAX_EXTRAPOLATION}× the largest training set measured "
            f"({curve.largest_n:,} rows) to reach {metric} {target:.3f}: not reachable with this path in practice",
        )
    needed = math.ceil(rows)
    if needed <= n_train:
        return _LabelsEstimate(
            needed,
            f"the learning curve says {needed:,} training rows should reach {target:.3f} (now {n_train:,}), "
            "so the gap is more likely noise or a train/test difference than too few labels",
        )
    return _LabelsEstimate(
        needed,
        f"the learning curve says about {needed:,} training labels would reach {target:.3f} "
        f"({needed - n_train:,} more than the {n_train:,} now)",
    )


def _worst_classes(candidate: CandidateResult, k: int = WORST_CLASSES) -> list[ClassScore]:
    scored = [s for s in candidate.per_class if s.support > 0]
    return sorted(scored, key=lambda s: (s.f1, -s.support, s.label))[:k]


def _measured(gate: Gate) -> str:
    text = f"{gate.metric} {_fmt(gate.metric, gate.value)}"
    if gate.low is not None and gate.high is not None:
        text += f" (95% CI {_fmt(gate.metric, gate.low)} to {_fmt(gate.metric, gate.high)})"
    return text


def _shortfall(gate: Gate) -> str:
    side = "below the minimum" if gate.bound == "min" else "above the maximum"
    by = f" by {_fmt(gate.metric, abs(gate.margin))}" if gate.margin is not None else ""
    return f"{_measured(gate)} is {side} {_fmt(gate.metric, gate.threshold)}{by}"


def _worst_group_sentence(candidate: CandidateResult) -> str:
    large = [g for g in candidate.groups if g.n >= 20] or list(candidate.groups)
    if len(large) < 2:
        return "compare accuracy across the groups of task.groups"
    worst = min(large, key=lambda g: (g.accuracy, g.column, g.group))
    best = max((g for g in large if g.column == worst.column), key=lambda g: g.accuracy)
    return (
        f"the worst group is {worst.column}={worst.group} (accuracy {worst.accuracy:.3f} on {worst.n:,} rows, "
        f"vs {best.accuracy:.3f} for {best.column}={best.group}); add labeled rows like it"
    )


def _remedy(gate: Gate, candidate: CandidateResult, labels: _LabelsEstimate) -> str:
    """What would close one failed gate, as the second half of a sentence."""
    m = gate.metric
    current = f"current {_fmt(m, gate.value)} vs {_fmt(m, gate.threshold)}"
    if m in QUALITY_LIKE:
        worst = ", ".join(f"{s.label} (F1 {s.f1:.2f})" for s in _worst_classes(candidate, 3))
        parts = [labels.sentence] if labels.sentence else []
        if worst:
            parts.append(f"label more examples of the weakest classes: {worst}")
        return "; ".join(parts) or "more labeled training data or a stronger model path"
    if m.startswith("oos_"):
        return "add out-of-scope examples to training and tune the out-of-scope threshold on validation data"
    if m == "ece":
        return f"calibrate (temperature scaling) on validation data; {current}"
    if m == "fairness_gap":
        return _worst_group_sentence(candidate)
    if m in SPEED_LIKE:
        what = "p95" if m == "latency_p95_ms" else m
        return (
            "a smaller or quantized model (int8), fewer features, or a faster hardware profile; "
            f"{current.replace('current', 'current ' + what, 1)}"
        )
    if m in SIZE_LIKE:
        return f"a smaller or quantized model (int8) or fewer features; {current}"
    if m in ("train_minutes", "train_cost_usd"):
        return f"a smaller model, fewer epochs or candidates, or a larger budget; {current}"
    if m == "coverage":
        return f"lower serving.abstain.target_precision or improve calibration; {current}"
    return current


def _advice(gate: Gate, candidate: CandidateResult, labels: _LabelsEstimate, n_test: int) -> str:
    """One plain sentence about one gate that did not pass."""
    if gate.status == "uncertain":
        return (
            f"{candidate.name}: {_measured(gate)} vs {_fmt(gate.metric, gate.threshold)}: the interval straddles "
            f"the threshold: more test data would decide it (currently {n_test:,} rows)."
        )
    if gate.status == "not_measured":
        info = METRICS.get(gate.metric)
        need = f"; it needs task.{info.requires} in the spec" if info is not None and info.requires else ""
        return f"{candidate.name}: {gate.metric} was not measured{need}."
    return f"{candidate.name}: {_shortfall(gate)}; {_remedy(gate, candidate, labels)}."


def _gates_of(candidate: CandidateResult, objectives: Mapping[str, tuple[Bound, float]]) -> list[Gate]:
    return list(candidate.gates) if candidate.gates else judge(objectives, candidate.metrics)


def _accuracy_target(objectives: Mapping[str, tuple[Bound, float]], failing: set[str]) -> tuple[str, float] | None:
    for name in ACCURACY_LIKE:
        if name in failing and name in objectives and objectives[name][0] == "min":
            return name, objectives[name][1]
    return None


def diagnose(
    candidates: Sequence[CandidateResult],
    objectives: Mapping[str, tuple[Bound, float]],
    *,
    learning_curve: Sequence[LearningPoint] | None = None,
    n_train: int,
    n_test: int | None = None,
) -> Diagnosis:
    """Explain why no candidate passed and what would close each gap.

    Parameters
    ----------
    candidates:
        Measured candidates. Their gates are used when judged; otherwise they are judged
        here against ``objectives``.
    objectives:
        ``metric -> (bound, threshold)``, e.g. from :func:`tailorml.gates.objectives_from_spec`.
    learning_curve:
        Accuracy at growing training-set sizes, measured on the best-quality candidate's path;
        fitted to estimate ``labels_needed`` when an accuracy objective is missed.
    n_train:
        Training rows used now.
    n_test:
        Test rows measured (for "more test data would decide it"); default: the sum of the
        best candidate's per-class support.

    Returns
    -------
    Diagnosis
        Gates missed per candidate (``fail``, ``uncertain`` and ``not_measured``: none of
        them is a pass), the best-quality candidate's five worst classes by F1 and its most
        confused pairs, the learning curve and ``labels_needed`` (None when the fitted curve
        levels off below the target or needs over 100× the largest measured training set),
        and one sentence of advice per missed gate.
    """
    gates = {c.name: _gates_of(c, objectives) for c in candidates}
    failed = {name: [g for g in gs if g.status != "pass"] for name, gs in gates.items()}
    failed = {name: gs for name, gs in failed.items() if gs}
    if not candidates:
        return Diagnosis(failed_gates={}, labels_needed=None, advice=["no candidates were measured"])
    metric = quality_metric(candidates)
    best = max(candidates, key=lambda c: (_quality(c, metric), _quality(c, "macro_f1"), c.name))
    if n_test is None:
        n_test = sum(s.support for s in best.per_class)

    curve = fit_learning_curve(learning_curve) if learning_curve else None
    failing_best = {g.metric for g in failed.get(best.name, []) if g.status == "fail"}
    target = _accuracy_target(objectives, failing_best)
    labels = _labels_estimate(curve, *target, n_train) if target is not None else _LabelsEstimate()

    advice = [
        _advice(g, c, labels if c is best else _LabelsEstimate(), n_test)
        for c in candidates
        for g in failed.get(c.name, [])
    ]
    return Diagnosis(
        failed_gates=failed,
        worst_classes=_worst_classes(best),
        confused_pairs=list(best.confusions[:CONFUSED_PAIRS]),
        learning_curve=list(learning_curve or []),
        labels_needed=labels.needed,
        advice=advice,
    )
