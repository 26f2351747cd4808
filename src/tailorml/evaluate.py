"""``tailor evaluate``: measure every candidate on the same data and hardware, judge, choose.

Quality comes from the test side (or, for small data, from stratified k-fold
cross-validation over every labeled row, and the evaluation says so); latency, throughput and
memory from a fresh process with threads pinned as in serving; cost from the hardware
profile's price. Each objective becomes a gate, and the cheapest candidate that passes all
gates is chosen. When none passes, the evaluation says which gate failed by how much and
what would close it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from tailorml.abstain import AbstainRule, choose_threshold, risk_coverage
from tailorml.data.dataset import Dataset, Side
from tailorml.hardware import HardwareProfile, PriceTable, load_price_table
from tailorml.results import (
    CalibrationSummary,
    CandidateResult,
    Estimate,
    Evaluation,
    Gate,
    LearningPoint,
    OutOfScopeScore,
    OutOfScopeSummary,
    RiskPoint,
)
from tailorml.runtime import measure_runtime, serving_threads
from tailorml.spec import Spec
from tailorml.tracking import Tracker
from tailorml.train import TrainedCandidate, TrainingSession

__all__ = ["CV_THRESHOLD", "evaluate_session", "learning_curve"]

CV_THRESHOLD = 2000  # labeled rows below which quality is estimated by cross-validation
CV_FOLDS = 5
LEARNING_FRACTIONS = (0.25, 0.5, 0.75, 1.0)

OnStep = Callable[[str], None]


def evaluate_session(
    spec: Spec,
    dataset: Dataset,
    session: TrainingSession,
    *,
    tracker: Tracker | None = None,
    on_step: OnStep | None = None,
    n_resamples: int = 1000,
) -> Evaluation:
    """Measure, judge and choose among the candidates of a training session.

    Parameters
    ----------
    spec, dataset:
        The project and the split the candidates were trained on.
    session:
        What ``train_candidates`` produced.
    tracker:
        When given, each candidate's measurements are logged to its run.
    on_step:
        Called with the name of each step as it starts.
    n_resamples:
        Bootstrap resamples for the 95% intervals.

    Returns
    -------
    Evaluation
        Every candidate's metrics and gates, the choice and its reason, and a diagnosis when
        nothing passed.
    """
    from tailorml.gates import all_pass, judge, objectives_from_spec
    from tailorml.selection import diagnose, select

    step = on_step or (lambda _name: None)
    table = load_price_table(spec.resolve(spec.prices) if spec.prices else None)
    profile = table.profile(spec.hardware)
    objectives = objectives_from_spec(spec)
    use_cv = len(dataset.train) + len(dataset.validation) + len(dataset.test) < CV_THRESHOLD
    results = []
    for trained in session.candidates:
        result = _measure_candidate(spec, dataset, trained, profile, use_cv=use_cv, n_resamples=n_resamples, step=step)
        result.gates = judge(objectives, result.metrics)
        result.passed = all_pass(result.gates)
        if tracker is not None:
            tracker.log_metrics(trained.run_id, {k: v.value for k, v in result.metrics.items()})
        results.append(result)
    selection = select(results)
    diagnosis = None
    if selection.chosen is None and results:
        curve = None
        cheap = [r for r in results if _retrains_quickly(r.path)]
        if cheap:  # the curve retrains its path 3 more times: never a minutes-per-1k-rows path or a composite
            best = max(cheap, key=_quality)
            step(f"diagnosing: learning curve of {best.path}")
            curve = learning_curve(spec, dataset, best.path, best.params)
        diagnosis = diagnose(results, objectives, learning_curve=curve, n_train=len(dataset.train))
    return Evaluation(
        project=spec.project,
        spec_hash=spec.spec_hash(),
        data_version=dataset.version.id,
        split=dataset.split.key,
        test_rows=len(dataset.test),
        train_rows=len(dataset.train),
        task=spec.task.model_dump(mode="json"),
        quality_method=(
            f"stratified {CV_FOLDS}-fold cross-validation over all {_labeled(dataset):,} labeled rows "
            f"(fewer than {CV_THRESHOLD:,})"
            if use_cv
            else f"holdout: the test side of split {dataset.split.key}"
        ),
        hardware=_hardware(profile, table),
        objectives={
            name: Gate(metric=name, bound=b, threshold=t, status="not_measured") for name, (b, t) in objectives.items()
        },
        candidates=results,
        chosen=selection.chosen,
        reason=selection.reason,
        pareto=selection.pareto,
        diagnosis=diagnosis,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def _measure_candidate(
    spec: Spec,
    dataset: Dataset,
    trained: TrainedCandidate,
    profile: HardwareProfile,
    *,
    use_cv: bool,
    n_resamples: int,
    step: OnStep,
) -> CandidateResult:
    from tailorml.metrics.quality import quality_metrics
    from tailorml.paths import load_model

    groups = list(spec.task.groups)
    model = load_model(trained.artifact_dir)
    raw: np.ndarray | None = None
    oos_score: np.ndarray | None = None
    if use_cv:
        step(f"cross-validating {trained.name} ({CV_FOLDS} folds)")
        side = dataset.all_labeled
        proba, classes = _cross_validated_proba(trained, side, seed=dataset.split.seed)
    else:
        step(f"scoring {trained.name} on {len(dataset.test):,} test rows")
        side = dataset.test
        texts = list(side.texts)
        proba, classes = model.predict_proba(texts), np.asarray(model.classes_, dtype=object)
        if hasattr(model, "predict_proba_uncalibrated"):
            raw = model.predict_proba_uncalibrated(texts)
            oos_score = model.oos_score_of(texts)
    quality = quality_metrics(
        side.labels,
        proba,
        classes,
        out_of_scope=spec.task.out_of_scope,
        groups={c: side.groups[c] for c in groups} or None,
        n_resamples=n_resamples,
        seed=dataset.split.seed,
        oos_score=oos_score,
    )
    rule = _abstain_rule(spec, dataset, model)
    step(f"timing {trained.name} ({serving_threads(profile.vcpus)} threads)")
    latency = measure_runtime(trained.artifact_dir, list(dataset.test.texts), threads=serving_threads(profile.vcpus))
    metrics: dict[str, Estimate] = dict(quality.metrics)
    confidence, correct = proba.max(axis=1), classes[proba.argmax(axis=1)] == np.asarray(side.labels, dtype=object)
    metrics["coverage"] = Estimate(value=float(np.mean(confidence >= rule.threshold)))
    usd_per_second = profile.usd_per_hour / 3600
    metrics.update(
        {
            "latency_p50_ms": Estimate(value=latency.p50_ms),
            "latency_p95_ms": Estimate(value=latency.p95_ms),
            "latency_p99_ms": Estimate(value=latency.p99_ms),
            "throughput_per_s": Estimate(value=latency.throughput_per_s),
            "cost_per_1k_usd": Estimate(value=usd_per_second / latency.throughput_per_s * 1000),
            "train_cost_usd": Estimate(value=usd_per_second * trained.train_seconds),
            "train_minutes": Estimate(value=trained.train_seconds / 60),
            "model_size_mb": Estimate(value=latency.size_mb),
            "peak_memory_mb": Estimate(value=latency.peak_memory_mb),
        }
    )
    return CandidateResult(
        name=trained.name,
        path=trained.path,
        params=trained.params,
        run_id=trained.run_id,
        artifact_dir=trained.artifact_dir,
        metrics=metrics,
        per_class=quality.per_class,
        confusions=quality.confusions,
        reliability=quality.reliability,
        latency=latency,
        groups=quality.groups,
        calibration=_calibration_summary(model, side.labels, raw, quality.metrics.get("ece")),
        out_of_scope=_oos_summary(model),
        abstain=rule,
        risk_coverage=[RiskPoint(coverage=c, risk=r, threshold=t) for c, r, t in risk_coverage(confidence, correct)],
        members=[str(m) for m in trained.params.get("members", [])] if trained.path == "ensemble" else [],
        weights=trained.weights or [],
        train_seconds=trained.train_seconds,
    )


def _abstain_rule(spec: Spec, dataset: Dataset, model: Any) -> AbstainRule:
    """The abstention threshold for ``serving.abstain``, chosen on the validation side."""
    abstain = spec.serving.abstain
    side = dataset.validation
    if abstain is None or len(side) == 0:
        return choose_threshold(np.zeros(0), np.zeros(0, dtype=bool))
    proba = model.predict_proba(list(side.texts))
    predicted = np.asarray(model.classes_, dtype=object)[proba.argmax(axis=1)]
    return choose_threshold(
        proba.max(axis=1),
        predicted == side.labels,
        target_precision=abstain.target_precision,
        coverage=abstain.coverage,
    )


def _calibration_summary(
    model: Any, labels: np.ndarray, raw: np.ndarray | None, ece_after: Estimate | None
) -> CalibrationSummary | None:
    """ECE before and after calibration, from the wrapper's validation record and the test rows."""
    from tailorml.metrics.quality import expected_calibration_error, quality_metrics

    summary = getattr(model, "summary_", None)
    if summary is None:
        return None
    before, bins = None, []
    if raw is not None and len(raw):
        classes = np.asarray(model.classes_, dtype=object)
        correct = classes[raw.argmax(axis=1)] == np.asarray(labels, dtype=object)
        before = expected_calibration_error(correct, raw.max(axis=1))
        bins = quality_metrics(labels, raw, classes, n_resamples=1).reliability
    return CalibrationSummary(
        method=str(summary.get("method", "none")),
        temperature=summary.get("temperature"),
        cv_ece=dict(summary.get("cv_ece") or {}),
        validation_rows=int(summary.get("validation_rows", 0)),
        ece_validation_before=summary.get("ece_validation_before"),
        ece_validation_after=summary.get("ece_validation_after"),
        ece_test_before=before,
        ece_test_after=ece_after.value if ece_after is not None else None,
        reliability_before=bins,
    )


def _oos_summary(model: Any) -> OutOfScopeSummary | None:
    rule = getattr(model, "oos_rule_", None)
    if rule is None:
        return None
    used = rule.validation.get(rule.score)
    return OutOfScopeSummary(
        score=rule.score,
        threshold=rule.threshold,
        rule=used.rule if used is not None else "reach_recall",
        target_recall=rule.target_recall,
        min_in_scope_accuracy=rule.min_in_scope_accuracy,
        confidence=rule.confidence,
        expected_rate=rule.expected_rate,
        validation_rate=rule.validation_rate,
        validation=[OutOfScopeScore(score=name, **q.model_dump()) for name, q in rule.validation.items()],
    )


def _cross_validated_proba(trained: TrainedCandidate, side: Side, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities over every labeled row, columns in sorted-label order.

    A calibrated candidate is refitted the same way in each fold: its calibration and
    out-of-scope threshold on a share of the fold's fitting rows, never on the held-out fold.
    """
    from sklearn.model_selection import StratifiedKFold

    classes = np.asarray(sorted(set(side.labels)), dtype=object)
    counts = np.unique(side.labels, return_counts=True)[1]
    folds = int(max(2, min(CV_FOLDS, counts.min())))
    proba = np.zeros((len(side), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_idx, held_idx in splitter.split(side.texts, side.labels):
        model = _fresh_model(trained)
        model.fit(list(side.texts[fit_idx]), list(side.labels[fit_idx]))
        fold = model.predict_proba(list(side.texts[held_idx]))
        columns = np.searchsorted(classes, np.asarray(model.classes_, dtype=object))
        proba[np.ix_(held_idx, columns)] = fold
    return proba, classes


def _fresh_model(trained: TrainedCandidate) -> Any:
    from tailorml.paths import create_path

    params = _constructor_params(trained)
    if trained.calibration is None:
        return create_path(trained.path, **params)
    return create_path("calibrated", base=trained.path, base_params=params, **trained.calibration)


def _retrains_quickly(path: str) -> bool:
    """Whether ``path`` is a plain path that ``candidates: auto`` would search (seconds, not minutes, per 1k rows)."""
    from tailorml.paths import available_paths

    info = available_paths().get(path)
    return info is not None and info.auto and not getattr(info.cls, "composite", False)


def learning_curve(spec: Spec, dataset: Dataset, path: str, params: dict[str, Any]) -> list[LearningPoint]:
    """Test accuracy of ``path`` trained on 25/50/75/100% of the train side (stratified, one seed)."""
    from tailorml.plan.labels import learning_curve as measure_curve

    return measure_curve(
        path,
        list(dataset.train.texts),
        list(dataset.train.labels),
        list(dataset.test.texts),
        list(dataset.test.labels),
        fractions=LEARNING_FRACTIONS,
        seeds=(dataset.split.seed,),
        params=_constructor_params_dict(params),
    )


def _constructor_params(trained: TrainedCandidate) -> dict[str, Any]:
    return _constructor_params_dict(trained.params)


def _constructor_params_dict(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as recorded (JSON) back into constructor arguments (lists to tuples)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


def _quality(result: CandidateResult) -> float:
    metric = result.metrics.get("in_scope_accuracy") or result.metrics.get("accuracy")
    return metric.value if metric else 0.0


def _labeled(dataset: Dataset) -> int:
    return len(dataset.train) + len(dataset.validation) + len(dataset.test)


def _hardware(profile: HardwareProfile, table: PriceTable) -> dict[str, object]:
    import platform

    return {
        "profile": profile.name,
        "instance": profile.instance,
        "vcpus": profile.vcpus,
        "usd_per_hour": profile.usd_per_hour,
        "prices_as_of": table.as_of,
        "prices_source": table.source,
        "measured_on": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
