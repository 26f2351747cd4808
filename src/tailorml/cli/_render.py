"""Rich renderings of result objects. Each takes a result and returns something printable."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from tailorml.data.checks import DataReport
from tailorml.data.versions import DiffResult, Manifest

_STATUS_STYLE = {"ok": "green", "info": "cyan", "warning": "yellow", "error": "bold red"}


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
        table.add_row(
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
        table.add_row(label, f"{count:,}", f"{count / total:.1%}")
    if len(report.classes) > limit:
        table.add_row(f"… {len(report.classes) - limit} more", "", "")
    return table


def versions(manifests: list[Manifest]) -> Table:
    table = Table(title="Data versions", title_justify="left")
    for column in ("id", "name", "created", "rows", "parent", "checks", "source"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for m in manifests:
        table.add_row(
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
    table = Table(title=f"Data version {m.id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("name", m.name)
    table.add_row("created", m.created_at)
    table.add_row("source", f"{m.source.path} ({m.source.format}, {m.source.bytes:,} bytes)")
    table.add_row("rows", f"{m.rows:,}")
    table.add_row("columns", ", ".join(f"{c.name}: {c.type}" for c in m.columns))
    table.add_row("input / target", f"{m.input} / {m.target}")
    table.add_row("parent", m.parent or "none")
    table.add_row("transforms", ", ".join(m.transforms) or "none")
    table.add_row("checks", _checks(m))
    if m.checks:
        failing = [
            f"{name}: {c['status']} ({c['count']:,})" for name, c in m.checks["checks"].items() if c["status"] != "ok"
        ]
        if failing:
            table.add_row("", "\n".join(failing))
    if m.override:
        table.add_row("override", f"{m.override.reason} (errors: {', '.join(m.override.errors)}; {m.override.at})")
    for record in m.splits.values():
        counts = ", ".join(f"{k} {v:,}" for k, v in record.counts.items())
        test = f"; test set = version {record.test_version}" if record.test_version else ""
        table.add_row(f"split {record.key}", f"{counts}{test}")
    table.add_row("tailorml", m.tailorml_version)
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
        table.add_row(kind, f"{count:,}", "\n".join(lines))
    if result.columns_added or result.columns_removed:
        table.add_row("columns", "", f"+{result.columns_added} −{result.columns_removed}")
    table.caption = f"{result.rows_a:,} rows → {result.rows_b:,} rows"
    return table
