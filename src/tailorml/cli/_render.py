"""Rich renderings of result objects. Each takes a result and returns something printable."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from tailorml.data.checks import DataReport
from tailorml.data.versions import DiffResult, Manifest
from tailorml.results import Evaluation, Gate
from tailorml.train import TrainingSession

_STATUS_STYLE = {"ok": "green", "info": "cyan", "warning": "yellow", "error": "bold red"}


def _row(table: Table, *cells: str | Text) -> None:
    """Add a row whose plain strings are shown literally (they hold user text), never as markup."""
    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells))


def data_report(report: DataReport, *, title: str = "Data checks") -> Table:
    rows = f"{report.rows:,} rows" + (f" + {report.test_rows:,} test rows" if report.test_rows else "")
    table = Table(title=f"{title} ({rows}, {len(report.classes)} classes)", title_justify="left", expand=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("finding", overflow="fold", max_width=70)
    for check in report.checks:
        finding = Text(check.message)
        if check.status != "ok" and check.hint:
            finding.append(f"\n→ {check.hint}", style="dim")
        for example in check.examples[:2] if check.status in ("warning", "error") else []:
            finding.append(f"\n  e.g. {_example(example)}", style="italic")
        _row(
            table,
            check.name,
            Text(check.status, style=_STATUS_STYLE[check.status]),
            f"{check.count:,}" if check.count else "",
            finding,
        )
    return table


def _example(example: dict[str, Any]) -> str:
    parts = []
    for key in ("row", "test_row"):
        if key in example:
            parts.append(f"{key.replace('_', ' ')} {example[key]}")
    if "text" in example:
        parts.append(repr(example["text"]))
    if example.get("label") is not None and "text" in example:
        parts.append(f"→ {example['label']}")
    if "rows" in example:
        parts.append(f"{example['label']}: {example['rows']} rows")
    return " ".join(parts)


def class_counts(report: DataReport, *, limit: int = 40) -> Table:
    table = Table(title="Classes", title_justify="left")
    table.add_column("label")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    total = sum(report.classes.values()) or 1
    for label, count in list(report.classes.items())[:limit]:
        _row(table, label, f"{count:,}", f"{count / total:.1%}")
    if len(report.classes) > limit:
        _row(table, f"… {len(report.classes) - limit} more", "", "")
    return table


def versions(manifests: list[Manifest]) -> Table:
    table = Table(title="Data versions", title_justify="left")
    for column in ("id", "name", "created", "rows", "parent", "checks", "source"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for m in manifests:
        _row(
            table,
            m.id,
            m.name,
            m.created_at[:19].replace("T", " "),
            f"{m.rows:,}",
            m.parent or "",
            _checks(m),
            m.source.path,
        )
    return table


def _checks(m: Manifest) -> Text:
    if not m.checks:
        return Text("not run", style="dim")
    errors, warnings = m.checks["errors"], m.checks["warnings"]
    if errors:
        text = Text(f"{errors} error{'s' if errors != 1 else ''}", style="bold red")
        if m.override:
            text.append(" (overridden)", style="yellow")
        return text
    if warnings:
        return Text(f"{warnings} warning{'s' if warnings != 1 else ''}", style="yellow")
    return Text("ok", style="green")


def manifest(m: Manifest) -> Table:
    table = Table(title=Text(f"Data version {m.id}"), title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    _row(table, "name", m.name)
    _row(table, "created", m.created_at)
    _row(table, "source", f"{m.source.path} ({m.source.format}, {m.source.bytes:,} bytes)")
    _row(table, "rows", f"{m.rows:,}")
    _row(table, "columns", ", ".join(f"{c.name}: {c.type}" for c in m.columns))
    _row(table, "input / target", f"{m.input} / {m.target}")
    _row(table, "parent", m.parent or "none")
    _row(table, "transforms", ", ".join(m.transforms) or "none")
    _row(table, "checks", _checks(m))
    if m.checks:
        failing = [
            f"{name}: {c['status']} ({c['count']:,})" for name, c in m.checks["checks"].items() if c["status"] != "ok"
        ]
        if failing:
            _row(table, "", "\n".join(failing))
    if m.override:
        _row(table, "override", f"{m.override.reason} (errors: {', '.join(m.override.errors)}; {m.override.at})")
    for record in m.splits.values():
        counts = ", ".join(f"{k} {v:,}" for k, v in record.counts.items())
        test = f"; test set = version {record.test_version}" if record.test_version else ""
        val = f"; validation set = version {record.validation_version}" if record.validation_version else ""
        _row(table, f"split {record.key}", f"{counts}{test}{val}")
    _row(table, "tailorml", m.tailorml_version)
    return table


def diff(result: DiffResult) -> Table:
    table = Table(title=f"Data diff {result.a} → {result.b}", title_justify="left")
    table.add_column("change")
    table.add_column("rows", justify="right")
    table.add_column("examples", overflow="fold", max_width=80)
    for kind, count in (
        ("added", result.added),
        ("removed", result.removed),
        ("relabeled", result.relabeled),
    ):
        lines = []
        for ex in result.examples[kind][:3]:
            was = f" (was {ex['was']})" if "was" in ex else ""
            lines.append(f"{ex['text']!r} → {ex['label']}{was}")
        _row(table, kind, f"{count:,}", "\n".join(lines))
    if result.columns_added or result.columns_removed:
        _row(table, "columns", "", f"+{result.columns_added} −{result.columns_removed}")
    table.caption = f"{result.rows_a:,} rows → {result.rows_b:,} rows"
    return table


def blocked(report: DataReport, version: str | None, override: str) -> Text:
    """The line saying check errors block training, and the two ways forward."""
    n = len(report.errors)
    where = f" on {version}" if version else ""
    return Text.assemble(
        f"training{where} is blocked by ",
        (f"{n} error{'s' if n != 1 else ''}", "bold red"),
        f" ({', '.join(c.name for c in report.errors)}): fix the data, or {override}",
    )


_GATE_STYLE = {"pass": "green", "fail": "bold red", "uncertain": "yellow", "not_measured": "dim"}
_GATE_MARK = {"pass": "✓ pass", "fail": "✗ fail", "uncertain": "? uncertain", "not_measured": "– not measured"}


def objectives_table(evaluation: Evaluation) -> Table:
    """Objectives (rows) × candidates (columns): value, interval, gate status."""
    table = Table(title="Objectives", title_justify="left")
    table.add_column("objective")
    names = [c.name for c in evaluation.candidates]
    for name in names:
        table.add_column(Text(("★ " if name == evaluation.chosen else "") + name), justify="right")
    for metric, objective in evaluation.objectives.items():
        cells: list[str | Text] = [f"{metric} {'≥' if objective.bound == 'min' else '≤'} {objective.threshold:g}"]
        for candidate in evaluation.candidates:
            gate = next((g for g in candidate.gates if g.metric == metric), None)
            cells.append(_gate_cell(gate))
        _row(table, *cells)
    for metric in (
        "accuracy",
        "macro_f1",
        "ece",
        "latency_p95_ms",
        "throughput_per_s",
        "cost_per_1k_usd",
        "model_size_mb",
    ):
        if metric in evaluation.objectives:
            continue
        cells = [Text(metric, style="dim")]
        for candidate in evaluation.candidates:
            estimate = candidate.metrics.get(metric)
            cells.append(Text(_value(metric, estimate.value) if estimate else "", style="dim"))
        _row(table, *cells)
    return table


def _gate_cell(gate: Gate | None) -> Text:
    if gate is None or gate.value is None:
        return Text("– not measured", style="dim")
    text = Text(_value(gate.metric, gate.value))
    if gate.low is not None and gate.high is not None:
        text.append(f" [{_value(gate.metric, gate.low)}, {_value(gate.metric, gate.high)}]", style="dim")
    text.append(f" {_GATE_MARK[gate.status]}", style=_GATE_STYLE[gate.status])
    return text


def _value(metric: str, value: float) -> str:
    if metric.endswith("_usd"):
        return _money(value)
    if metric.endswith("_ms") or metric.endswith("_mb") or metric == "throughput_per_s":
        return f"{value:,.1f}"
    return f"{value:.3f}"


def decision(evaluation: Evaluation) -> Text:
    if evaluation.chosen:
        return Text.assemble(("chosen: ", "bold"), (evaluation.chosen, "bold green"), f" — {evaluation.reason}")
    text = Text.assemble(("no candidate passed every gate", "bold red"), f" — {evaluation.reason}")
    if evaluation.diagnosis:
        for line in evaluation.diagnosis.advice:
            text.append(f"\n  → {line}")
    return text


def trained(session: TrainingSession) -> Table:
    table = Table(title=f"Trained on {session.train_rows:,} rows of {session.data_version}", title_justify="left")
    for column in ("candidate", "train seconds", "run id"):
        table.add_column(column, justify="right" if column == "train seconds" else "left")
    for c in session.candidates:
        _row(table, c.name, f"{c.train_seconds:.1f}", c.run_id)
    return table


def _money(value: float) -> str:
    """Dollars with two significant digits, never in scientific notation ($0.0000030, $0.012, $12.30)."""
    import math

    if value == 0:
        return "$0"
    decimals = max(2, 1 - math.floor(math.log10(abs(value))))
    return f"${value:.{decimals}f}"
