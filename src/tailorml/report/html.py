"""One self-contained HTML page per evaluation: the decision, the evidence, the lineage.

The page loads nothing from the network: CSS is inline, plots are inline SVG, fonts are the
reader's own. Every string from the user or the data is escaped by Jinja2's autoescape;
only the SVG that matplotlib writes is inserted as markup.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailorml.metrics import METRICS
from tailorml.report import _plots
from tailorml.report._format import (
    STATUS_MARK,
    STATUS_TEXT,
    fmt_interval,
    fmt_margin,
    fmt_seconds,
    fmt_threshold,
    fmt_value,
    gate_for,
    hardware_summary,
    number,
    ordered_candidates,
    quality_metric,
    uses_cross_validation,
    write_atomic,
)
from tailorml.results import (
    CandidateResult,
    ClassScore,
    Confusion,
    Diagnosis,
    Evaluation,
    Gate,
    GroupScore,
    OutOfScopeSummary,
)

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["render_html", "write_report"]

MAX_CLASSES_PLOTTED = 30
MAX_CONFUSIONS = 10


@dataclass(frozen=True)
class Cell:
    """One gate as shown in a table: value, interval, status and margin, already formatted."""

    status: str
    label: str
    mark: str
    value: str
    interval: str
    margin: str


@dataclass(frozen=True)
class ObjectiveRow:
    metric: str
    threshold: str
    description: str
    cells: list[Cell]


@dataclass(frozen=True)
class MetricRow:
    metric: str
    description: str
    value: str
    interval: str


@dataclass(frozen=True)
class GroupTable:
    """The slices of one ``task.groups`` column and the accuracy gap between them."""

    column: str
    rows: list[GroupScore]
    gap: str
    worst: str


@dataclass
class CandidateView:
    anchor: str
    name: str
    path: str
    run_id: str | None
    chosen: bool
    on_front: bool
    passed: bool
    facts: list[tuple[str, str]]
    metrics: list[MetricRow]
    params: list[tuple[str, str]]
    confusions: list[Confusion]
    groups: list[GroupTable]
    f1_svg: str | None = None
    f1_note: str | None = None
    reliability_svg: str | None = None
    reliability_before_svg: str | None = None
    calibration: list[tuple[str, str]] = field(default_factory=list)
    risk_svg: str | None = None
    abstain: str | None = None
    oos_rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    oos_note: str | None = None
    ensemble_note: str | None = None
    latency_svg: str | None = None


@dataclass
class DiagnosisView:
    failed: list[tuple[str, Gate, Cell]]
    worst_classes: list[ClassScore]
    confused_pairs: list[Confusion]
    curve_svg: str | None
    labels_needed: str | None
    advice: list[str]


@dataclass
class Page:
    """Everything the template needs, formatted; the template only lays it out."""

    title: str
    evaluation: Evaluation
    facts: list[tuple[str, str]]
    cross_validated: bool
    quality_note: str
    chosen: CandidateView | None
    headline: list[tuple[str, str]]
    candidate_names: list[str]
    objectives: list[ObjectiveRow]
    all_passed: list[bool]
    pareto_svg: str | None
    pareto_note: str | None
    candidates: list[CandidateView]
    diagnosis: DiagnosisView | None
    lineage: list[tuple[str, str | list[str]]]
    version: str
    toc: list[tuple[str, str]] = field(default_factory=list)


def render_html(evaluation: Evaluation, *, lineage: Mapping[str, Any] | None = None) -> str:
    """Render ``evaluation`` as one self-contained HTML page.

    Parameters
    ----------
    evaluation:
        The result of ``tailor evaluate``; the page renders from it alone.
    lineage:
        Optional facts about where the data came from (``data_version``, ``parent``,
        ``source``, ``transforms``, ``spec_hash``, ``git_commit``, ...); every key is shown.

    Returns
    -------
    str
        An HTML document with inline CSS and inline SVG plots, safe to open offline.

    Example
    -------
    >>> html = render_html(Evaluation.load(".tailor/evaluations/latest.json"))  # doctest: +SKIP
    """
    page = _page(evaluation, lineage or {})
    return _environment().get_template("report.html.j2").render(page=page)


def write_report(evaluation: Evaluation, folder: str | Path, *, lineage: Mapping[str, Any] | None = None) -> Path:
    """Write ``report.html`` for ``evaluation`` into ``folder`` atomically and return its path."""
    return write_atomic(Path(folder) / "report.html", render_html(evaluation, lineage=lineage))


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("tailorml.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page(evaluation: Evaluation, lineage: Mapping[str, Any]) -> Page:
    from tailorml import __version__

    candidates = [_candidate(evaluation, c, i) for i, c in enumerate(ordered_candidates(evaluation))]
    chosen = next((c for c in candidates if c.chosen), None)
    pareto_svg, pareto_note = _pareto(evaluation)
    page = Page(
        title=f"{evaluation.project} — evaluation {evaluation.created_at}",
        evaluation=evaluation,
        facts=_header_facts(evaluation),
        cross_validated=uses_cross_validation(evaluation.quality_method),
        quality_note=_quality_note(evaluation),
        chosen=chosen,
        headline=_headline(evaluation),
        candidate_names=[c.name for c in candidates],
        objectives=_objective_rows(evaluation),
        all_passed=[c.passed for c in candidates],
        pareto_svg=pareto_svg,
        pareto_note=pareto_note,
        candidates=candidates,
        diagnosis=_diagnosis(evaluation, evaluation.diagnosis) if evaluation.diagnosis else None,
        lineage=_lineage_items(lineage),
        version=__version__,
    )
    page.toc = _toc(page)
    return page


def _toc(page: Page) -> list[tuple[str, str]]:
    entries = [("decision", "Decision"), ("objectives", "Objectives"), ("pareto", "Quality and cost")]
    entries += [(c.anchor, c.name) for c in page.candidates]
    if page.diagnosis:
        entries.append(("diagnosis", "Diagnosis"))
    entries.append(("lineage", "Data lineage"))
    return entries


def _header_facts(evaluation: Evaluation) -> list[tuple[str, str]]:
    hardware = hardware_summary(evaluation.hardware)
    facts = [
        ("Created", evaluation.created_at),
        ("Data version", evaluation.data_version),
        ("Split", evaluation.split),
        ("Test rows", f"{evaluation.test_rows:,}"),
    ]
    facts += [(key.capitalize(), value) for key, value in hardware.items()]
    facts.append(("Spec hash", evaluation.spec_hash))
    return facts


def _quality_note(evaluation: Evaluation) -> str:
    if uses_cross_validation(evaluation.quality_method):
        return (
            "Quality was estimated by cross-validation, not measured on one held-out split: "
            f"{evaluation.quality_method}."
        )
    return (
        f"Quality was measured on one held-out test split of {evaluation.test_rows:,} rows "
        f"(method: {evaluation.quality_method})."
    )


def _headline(evaluation: Evaluation) -> list[tuple[str, str]]:
    """A few numbers of the chosen candidate, for the decision box."""
    if evaluation.chosen is None:
        return []
    candidate = evaluation.candidate(evaluation.chosen)
    names = [quality_metric(evaluation) or "accuracy", "latency_p95_ms", "cost_per_1k_usd", "model_size_mb"]
    out = []
    for name in names:
        est = candidate.metrics.get(name)
        if est is not None:
            out.append((_metric_title(name), fmt_value(name, est.value)))
    return out


def _metric_title(metric: str) -> str:
    return metric.replace("_", " ").replace(" usd", "").replace(" ms", " (ms)").replace(" mb", " (MB)")


def _cell(gate: Gate) -> Cell:
    return Cell(
        status=gate.status,
        label=STATUS_TEXT[gate.status],
        mark=STATUS_MARK[gate.status],
        value=fmt_value(gate.metric, gate.value),
        interval=fmt_interval(gate.metric, gate.low, gate.high),
        margin=fmt_margin(gate.metric, gate.margin),
    )


def _objective_rows(evaluation: Evaluation) -> list[ObjectiveRow]:
    candidates = ordered_candidates(evaluation)
    rows = []
    for name, objective in evaluation.objectives.items():
        objective = objective if objective.metric == name else objective.model_copy(update={"metric": name})
        info = METRICS.get(name)
        rows.append(
            ObjectiveRow(
                metric=name,
                threshold=fmt_threshold(objective),
                description=info.description if info else "",
                cells=[_cell(gate_for(c, objective)) for c in candidates],
            )
        )
    return rows


def _pareto(evaluation: Evaluation) -> tuple[str | None, str | None]:
    """The quality/cost plot, or why it cannot be drawn."""
    quality = quality_metric(evaluation)
    points = []
    for c in evaluation.candidates:
        q, cost = c.metrics.get(quality or ""), c.metrics.get("cost_per_1k_usd")
        if q is not None and cost is not None:
            points.append(_plots.ParetoPoint(c.name, cost.value, q.value, q.low, q.high))
    if quality is None or not points:
        return None, "No candidate has both a quality metric and a serving cost, so there is no front to draw."
    missing = len(evaluation.candidates) - len(points)
    note = f"{missing} candidate(s) lack a quality or cost measurement and are not shown." if missing else None
    q_obj, c_obj = evaluation.objectives.get(quality), evaluation.objectives.get("cost_per_1k_usd")
    svg = _plots.pareto(
        points,
        key="pareto",
        front=evaluation.pareto,
        chosen=evaluation.chosen,
        quality_label=quality.replace("_", " "),
        quality_target=q_obj.threshold if q_obj else None,
        cost_target=c_obj.threshold if c_obj else None,
    )
    return svg, note


def _candidate(evaluation: Evaluation, c: CandidateResult, index: int) -> CandidateView:
    target = _class_target(evaluation)
    view = CandidateView(
        anchor=f"candidate-{index + 1}",
        name=c.name,
        path=c.path,
        run_id=c.run_id,
        chosen=c.name == evaluation.chosen,
        on_front=c.name in evaluation.pareto,
        passed=c.passed,
        facts=_candidate_facts(c),
        metrics=[_metric_row(name, est.value, est.low, est.high) for name, est in c.metrics.items()],
        params=[(str(k), str(v)) for k, v in c.params.items()],
        confusions=c.confusions[:MAX_CONFUSIONS],
        groups=_group_tables(c.groups),
    )
    if c.per_class:
        view.f1_svg = _plots.class_f1(
            c.per_class,
            key=f"f1-{index}",
            target=target[1] if target else None,
            target_name=target[0] if target else "",
        )
        if len(c.per_class) > MAX_CLASSES_PLOTTED:
            view.f1_note = f"The {MAX_CLASSES_PLOTTED} worst of {len(c.per_class)} classes by F1."
    if c.reliability:
        ece = c.metrics.get("ece")
        view.reliability_svg = _plots.reliability(c.reliability, key=f"rel-{index}", ece=ece.value if ece else None)
    if c.latency is not None:
        view.latency_svg = _plots.latency(c.latency, key=f"lat-{index}")
    _calibration_view(view, c, index)
    return view


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _calibration_view(view: CandidateView, c: CandidateResult, index: int) -> None:
    """Calibration, abstention, out-of-scope detection and ensemble facts of one candidate."""
    cal = c.calibration
    if cal is not None:
        method = cal.method + (f" (T = {cal.temperature:.3g})" if cal.temperature is not None else "")
        view.calibration = [
            ("Method (chosen on validation)", method),
            (
                "ECE on validation, before → after",
                f"{_pct(cal.ece_validation_before)} → {_pct(cal.ece_validation_after)}",
            ),
            ("ECE on test, before → after", f"{_pct(cal.ece_test_before)} → {_pct(cal.ece_test_after)}"),
        ]
        if cal.cv_ece:
            tried = ", ".join(f"{m} {_pct(v)}" for m, v in cal.cv_ece.items())
            view.calibration.append(("Cross-validated ECE of each method on validation", tried))
        if cal.reliability_before:
            view.reliability_before_svg = _plots.reliability(
                cal.reliability_before, key=f"relb-{index}", ece=cal.ece_test_before
            )
    if c.risk_coverage:
        rule = c.abstain
        chosen = None
        if rule is not None and rule.threshold > 0:
            answered = [p for p in c.risk_coverage if p.threshold >= rule.threshold]
            point = answered[-1] if answered else c.risk_coverage[0]
            chosen = (point.coverage, point.risk)
            target = (
                f"target precision {rule.target_precision:g}"
                if rule.target_precision is not None
                else f"coverage {rule.coverage_target:g}"
            )
            view.abstain = (
                f"Abstains below confidence {rule.threshold:.3f} ({target}): on validation it answered "
                f"{_pct(rule.coverage)} at precision {_pct(rule.precision)}"
                + ("" if rule.reachable else "; the target precision was not reachable")
                + "."
            )
        view.risk_svg = _plots.risk_coverage(c.risk_coverage, key=f"risk-{index}", chosen=chosen)
    if c.out_of_scope is not None:
        oos = c.out_of_scope
        view.oos_rows = [
            (
                s.score + (" (used)" if s.score == oos.score else ""),
                f"{s.auroc:.3f}",
                f"{s.threshold:.4g}",
                _pct(s.recall),
                _pct(s.in_scope_accuracy),
            )
            for s in oos.validation
        ]
        view.oos_note = _oos_note(oos)
    if c.members:
        weights = " + ".join(f"{w:.2f} × {m}" for w, m in zip(c.weights, c.members, strict=False))
        how = "equal weights" if len({round(w, 6) for w in c.weights}) == 1 else "weights chosen on validation"
        view.ensemble_note = (
            f"Average of calibrated probabilities: {weights} ({how}). Latency and cost were measured running "
            "every member on every request, as serving does: they are the sum of the members'."
        )


def _oos_note(oos: OutOfScopeSummary) -> str:
    """How the out-of-scope threshold was chosen, in one or two sentences."""
    used = next((s for s in oos.validation if s.score == oos.score), None)
    keeps = oos.rule == "keep_in_scope_accuracy" and oos.min_in_scope_accuracy is not None
    if keeps:
        goal = oos.min_in_scope_accuracy
        wanted = f"flag as many inputs as keep in-scope accuracy at {_pct(goal)}"
        bound, measure = (used.in_scope_lower_bound if used else None), "in-scope accuracy"
    elif oos.target_recall:
        goal = oos.target_recall
        wanted = f"reach out-of-scope recall {_pct(goal)}"
        bound, measure = (used.recall_lower_bound if used else None), "recall"
    else:
        goal, bound, measure, wanted = None, None, "", "maximize accuracy"
    if oos.confidence and goal is not None and bound is not None:
        wanted += f" with {oos.confidence:.0%} confidence (lower bound of its validation {measure}: {_pct(bound)})"
        if bound < goal - 1e-9:
            wanted += "; no threshold could show that, so the point estimate decided"
    if not keeps and oos.min_in_scope_accuracy is not None:
        wanted += f", because no threshold kept in-scope accuracy at {_pct(oos.min_in_scope_accuracy)}"
    note = f"Score {oos.score}, threshold {oos.threshold:.4g}, chosen on validation to {wanted}."
    if oos.expected_rate is not None and oos.validation_rate is not None:
        note += (
            f" Its out-of-scope probability is moved from validation's share ({_pct(oos.validation_rate)}) to the "
            f"expected production share ({_pct(oos.expected_rate)})."
        )
    return note


def _class_target(evaluation: Evaluation) -> tuple[str, float] | None:
    """The objective per-class F1 is drawn against: macro F1 if set, else accuracy."""
    for name in ("macro_f1", "accuracy"):
        if name in evaluation.objectives:
            return name.replace("_", " "), evaluation.objectives[name].threshold
    return None


def _metric_row(metric: str, value: float, low: float | None, high: float | None) -> MetricRow:
    info = METRICS.get(metric)
    return MetricRow(
        metric=metric,
        description=info.description if info else "",
        value=fmt_value(metric, value),
        interval=fmt_interval(metric, low, high),
    )


def _candidate_facts(c: CandidateResult) -> list[tuple[str, str]]:
    """Training time, size, speed and memory, from the latency record or the metrics."""
    facts = [("Training time", fmt_seconds(c.train_seconds))]
    size = c.metrics.get("model_size_mb")
    if size is not None:
        facts.append(("Model size", fmt_value("model_size_mb", size.value)))
    if c.latency is not None:
        lat = c.latency
        facts += [
            ("Latency p50 / p95 / p99", f"{number(lat.p50_ms)} / {number(lat.p95_ms)} / {number(lat.p99_ms)} ms"),
            ("Throughput", f"{number(lat.throughput_per_s)}/s (batch {lat.batch_size}, {lat.threads} threads)"),
            ("Peak memory", fmt_value("peak_memory_mb", lat.peak_memory_mb)),
        ]
    else:
        for name, title in (("throughput_per_s", "Throughput"), ("peak_memory_mb", "Peak memory")):
            if name in c.metrics:
                facts.append((title, fmt_value(name, c.metrics[name].value)))
    cost = c.metrics.get("cost_per_1k_usd")
    if cost is not None:
        facts.append(("Cost per 1k predictions", fmt_value("cost_per_1k_usd", cost.value)))
    return facts


def _group_tables(groups: list[GroupScore]) -> list[GroupTable]:
    tables = []
    for column in dict.fromkeys(g.column for g in groups):
        rows = [g for g in groups if g.column == column]
        worst = min(rows, key=lambda g: g.accuracy)
        gap = max(g.accuracy for g in rows) - worst.accuracy
        tables.append(GroupTable(column=column, rows=rows, gap=f"{gap * 100:.1f} pp", worst=worst.group))
    return tables


def _diagnosis(evaluation: Evaluation, diagnosis: Diagnosis) -> DiagnosisView:
    failed = [(name, gate, _cell(gate)) for name, gates in diagnosis.failed_gates.items() for gate in gates]
    curve = None
    if diagnosis.learning_curve:
        accuracy = evaluation.objectives.get("accuracy")
        curve = _plots.learning_curve(
            diagnosis.learning_curve,
            key="curve",
            target=accuracy.threshold if accuracy else None,
            labels_needed=diagnosis.labels_needed,
        )
    return DiagnosisView(
        failed=failed,
        worst_classes=diagnosis.worst_classes,
        confused_pairs=diagnosis.confused_pairs,
        curve_svg=curve,
        labels_needed=f"{diagnosis.labels_needed:,}" if diagnosis.labels_needed is not None else None,
        advice=diagnosis.advice,
    )


def _lineage_items(lineage: Mapping[str, Any]) -> list[tuple[str, str | list[str]]]:
    """Each lineage key with its value as text, or as a list of texts for lists and mappings."""
    items: list[tuple[str, str | list[str]]] = []
    for key, value in lineage.items():
        title = str(key).replace("_", " ")
        if isinstance(value, Mapping):
            items.append((title, [f"{k}: {v}" for k, v in value.items()]))
        elif isinstance(value, list | tuple | set):
            items.append((title, [str(v) for v in value]))
        else:
            items.append((title, "—" if value is None else str(value)))
    return items
