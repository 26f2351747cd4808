"""Result objects of training and evaluation: one JSON form shared by CLI, report and registry.

An :class:`Evaluation` is what ``tailor evaluate`` produces: every candidate measured on the
same held-out data and hardware, its gates, the choice and, when nothing passes, why not.
It saves to and loads from JSON, and the HTML report and model card render from it alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tailorml.abstain import AbstainRule

__all__ = [
    "CalibrationSummary",
    "CandidateResult",
    "ClassScore",
    "Confusion",
    "Diagnosis",
    "Estimate",
    "Evaluation",
    "Gate",
    "GateStatus",
    "GroupScore",
    "Latency",
    "LearningPoint",
    "OutOfScopeScore",
    "OutOfScopeSummary",
    "ReliabilityBin",
    "RiskPoint",
]

GateStatus = Literal["pass", "fail", "uncertain", "not_measured"]


class Estimate(BaseModel):
    """A measured value with its 95% interval (bootstrap) when it is a sample statistic."""

    value: float
    low: float | None = None
    high: float | None = None


class ClassScore(BaseModel):
    label: str
    precision: float
    recall: float
    f1: float
    support: int = Field(description="test rows whose true label this is")


class Confusion(BaseModel):
    """One off-diagonal cell of the confusion matrix."""

    true: str
    predicted: str
    count: int
    rate: float = Field(description="count / rows of the true label")


class ReliabilityBin(BaseModel):
    """One bin of the reliability diagram: predicted confidence vs. observed accuracy."""

    lower: float
    upper: float
    confidence: float = Field(description="mean confidence of the predictions in the bin")
    accuracy: float
    count: int


class Latency(BaseModel):
    """Timing measured in a fresh process, as a server would run the model."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    samples_ms: list[float] = Field(description="single-request latencies (for the histogram)")
    throughput_per_s: float = Field(description="predictions per second in batches")
    batch_size: int = 32
    threads: int
    peak_memory_mb: float
    size_mb: float = Field(description="bytes on disk serving needs: the model folder and what it loads")


class CalibrationSummary(BaseModel):
    """How the candidate's probabilities were calibrated, and ECE before and after."""

    method: str = Field(description="none, temperature or isotonic, fitted on the validation side")
    temperature: float | None = None
    cv_ece: dict[str, float] = Field(
        default_factory=dict, description="cross-validated ECE of each method on validation (method: auto)"
    )
    validation_rows: int = 0
    ece_validation_before: float | None = None
    ece_validation_after: float | None = None
    ece_test_before: float | None = None
    ece_test_after: float | None = None
    reliability_before: list[ReliabilityBin] = Field(default_factory=list, description="test bins before calibration")


class OutOfScopeScore(BaseModel):
    """One out-of-scope score on the validation side, at its own threshold."""

    score: str
    auroc: float
    threshold: float
    recall: float
    recall_lower_bound: float | None = None
    in_scope_accuracy: float
    in_scope_lower_bound: float | None = None
    rule: str = "reach_recall"
    false_flag_rate: float | None = None


class OutOfScopeSummary(BaseModel):
    """The out-of-scope detector: which score, its threshold, and every score tried on validation."""

    score: str
    threshold: float
    rule: str = Field("reach_recall", description="the threshold rule that decided, after any fallback")
    target_recall: float | None = None
    min_in_scope_accuracy: float | None = None
    confidence: float | None = None
    expected_rate: float | None = None
    validation_rate: float | None = None
    validation: list[OutOfScopeScore] = Field(default_factory=list)


class RiskPoint(BaseModel):
    """One point of the risk-coverage curve: answer the ``coverage`` most confident, err on ``risk`` of them."""

    coverage: float
    risk: float
    threshold: float


class GroupScore(BaseModel):
    """Quality on one slice of a ``task.groups`` column."""

    column: str
    group: str
    n: int
    accuracy: float
    macro_f1: float


class Gate(BaseModel):
    """An objective judged against a measurement.

    ``margin`` is how far the value is on the passing side of the threshold (negative when it
    fails), in the metric's unit. ``uncertain`` means the interval straddles the threshold.
    """

    metric: str
    bound: Literal["min", "max"]
    threshold: float
    value: float | None = None
    low: float | None = None
    high: float | None = None
    status: GateStatus
    margin: float | None = None


class CandidateResult(BaseModel):
    """One trained candidate, measured."""

    name: str = Field(description="candidate name (the model path, plus a suffix if tried twice)")
    path: str = Field(description="registered model path")
    params: dict[str, object] = Field(default_factory=dict)
    run_id: str | None = None
    artifact_dir: str
    metrics: dict[str, Estimate] = Field(description="every measured metric, by catalog name")
    per_class: list[ClassScore] = Field(default_factory=list)
    confusions: list[Confusion] = Field(default_factory=list, description="most confused pairs first")
    reliability: list[ReliabilityBin] = Field(default_factory=list)
    latency: Latency | None = None
    groups: list[GroupScore] = Field(default_factory=list)
    calibration: CalibrationSummary | None = None
    out_of_scope: OutOfScopeSummary | None = None
    abstain: AbstainRule | None = Field(None, description="the abstention threshold, chosen on validation")
    risk_coverage: list[RiskPoint] = Field(default_factory=list, description="on the test side (or out of fold)")
    members: list[str] = Field(default_factory=list, description="ensemble members; latency runs all of them")
    weights: list[float] = Field(default_factory=list, description="ensemble weights, chosen on validation")
    train_seconds: float
    gates: list[Gate] = Field(default_factory=list)
    passed: bool = False


class LearningPoint(BaseModel):
    fraction: float
    n_train: int
    accuracy: float


class Diagnosis(BaseModel):
    """Why nothing passed, and what would close each gap."""

    failed_gates: dict[str, list[Gate]] = Field(description="per candidate, the gates it failed")
    worst_classes: list[ClassScore] = Field(default_factory=list)
    confused_pairs: list[Confusion] = Field(default_factory=list)
    learning_curve: list[LearningPoint] = Field(default_factory=list)
    labels_needed: int | None = Field(None, description="estimated training rows to meet the accuracy objective")
    advice: list[str] = Field(default_factory=list, description="plain statements of what would close each gap")


class Evaluation(BaseModel):
    """Every candidate measured on the same data and hardware; the choice and its reasons."""

    project: str
    spec_hash: str
    data_version: str
    split: str = Field(description="the split record key")
    test_rows: int
    train_rows: int | None = None
    task: dict[str, object] = Field(
        default_factory=dict, description="kind, input, target, out_of_scope label and group columns"
    )
    quality_method: str = Field(description="'holdout' or 'stratified k-fold cross-validation (k=5)'")
    hardware: dict[str, object] = Field(description="profile name, instance, price and the table's date")
    objectives: dict[str, Gate] = Field(description="the spec's objectives, as gates without values")
    candidates: list[CandidateResult]
    chosen: str | None = None
    reason: str = Field(description="why this candidate, or why none")
    pareto: list[str] = Field(default_factory=list, description="candidates on the quality/cost Pareto front")
    diagnosis: Diagnosis | None = None
    created_at: str

    def candidate(self, name: str) -> CandidateResult:
        for c in self.candidates:
            if c.name == name:
                return c
        raise KeyError(name)

    def save(self, path: str | Path) -> Path:
        from tailorml._jsonfile import write_model_json

        return write_model_json(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Evaluation:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
