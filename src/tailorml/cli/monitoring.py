"""Monitoring commands: monitor and retrain."""

import itertools
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from tailorml.cli._output import parse_age
from tailorml.cli._render import _row
from tailorml.errors import TailorError

_STATUS_STYLE = {"ok": "green", "warn": "yellow", "alert": "bold red", "no_data": "dim"}


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor)
    app.command("retrain")(retrain)


def monitor(
    ctx: typer.Context,
    window: int = typer.Option(None, "--window", min=10, help="Requests per window (default: monitoring.window)."),
    by: str = typer.Option(None, "--by", help="count or time (default: monitoring.window_by)."),
    minutes: float = typer.Option(None, "--minutes", min=0.01, help="Minutes per window when --by time."),
    watch: float = typer.Option(0, "--watch", min=0, help="Run again every N seconds (0: once)."),
    runs: int = typer.Option(None, "--runs", min=1, help="With --watch: stop after this many runs."),
) -> None:
    """Compare windows of logged traffic with the reference; OK / WARN / ALERT per window."""
    from tailorml.monitoring.monitor import run_monitor, send_alerts

    state = ctx.obj
    spec = state.spec()
    if by not in (None, "count", "time"):
        raise TailorError(f"--by must be count or time; got {by!r}", hint="use --by count or --by time")
    for run in itertools.count(1):
        with state.output.steps() as on_step:
            report = run_monitor(spec, window_by=by, window=window, window_minutes=minutes, on_step=on_step)
        sent = send_alerts(spec, report)
        state.output.result({"report": report.model_dump(mode="json"), "alerts_sent": sent})
        _show(state, report, sent, Path(spec.root))
        if not watch or (runs is not None and run >= runs):
            break
        time.sleep(watch)
    if report.status == "alert":
        raise typer.Exit(1)


def _show(state: Any, report: Any, sent: list[str], project_folder: Path) -> None:
    out = state.output
    table = Table(title=f"Monitoring {report.model_name} v{report.model_version} ({report.window_size} per window)")
    for column in ("window", "from", "to", "requests", "status", "reasons"):
        table.add_column(column, overflow="fold")
    for w in report.windows[-20:]:
        _row(
            table,
            str(w.index),
            f"{w.start:%Y-%m-%d %H:%M}",
            f"{w.end:%Y-%m-%d %H:%M}",
            f"{w.n:,}",
            Text(w.status.upper(), style=_STATUS_STYLE[w.status]),
            "; ".join(w.reasons[:3]),
        )
    if len(report.windows) > 20:
        table.caption = f"the last 20 of {len(report.windows)} windows"
    out.print(table)
    alerts = [w for w in report.windows if w.status == "alert"]
    if alerts:
        out.print(
            Text.assemble(
                ("ALERT", "bold red"), f": {len(alerts)} window(s) drifted, first at window {alerts[0].index}"
            )
        )
    share = _oos_share_line(report)
    if share:
        out.print(share)
    for line in sent:
        out.print(f"alert sent: {line}")
    from tailorml.project import Project

    folder = Project.at(project_folder).home / "monitoring"
    out.print(f"report: {folder / 'monitor.html'} (computed in {report.seconds:.1f} s)")


def _oos_share_line(report: Any) -> str | None:
    """The latest window's estimated out-of-scope share, against the share the model's probabilities assume."""
    latest = next((w for w in reversed(report.windows) if w.n), None)
    signals = {s.name: s for s in latest.signals} if latest else {}
    estimate, flagged = signals.get("oos_share_estimate"), signals.get("oos_rate")
    if latest is None or estimate is None or estimate.value is None or flagged is None or flagged.value is None:
        return None
    line = (
        f"out-of-scope share of window {latest.index}: {flagged.value:.1%} flagged, about {estimate.value:.1%} "
        "estimated (adjusted for the detector's validation recall and false flags)"
    )
    assumed = report.reference.get("oos_assumed_share")
    if isinstance(assumed, float) and abs(assumed - estimate.value) > 0.02:
        line += (
            f"; the model's probabilities assume {assumed:.1%}: set out_of_scope_detection.expected_rate "
            f"to about {estimate.value:.2f} and retrain to keep them calibrated"
        )
    return line


def retrain(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(None, help="New labeled files to add (optional)."),
    if_drift: bool = typer.Option(False, "--if-drift", help="Only when the latest monitoring run alerted."),
    every: str = typer.Option(None, "--every", help="Only when the last retrain is older than this (7d, 12h)."),
) -> None:
    """Train a challenger on fresh labels; promote it only if it passes every gate without regressing."""
    from tailorml.retrain import retrain as run_retrain

    state = ctx.obj
    spec = state.spec()
    with state.output.steps() as on_step:
        outcome = run_retrain(
            spec,
            new_files=files or [],
            if_drift=if_drift,
            every=parse_age(every, "--every") if every else None,
            on_step=on_step,
        )
    state.output.result(outcome.model_dump(mode="json"))
    out = state.output
    if outcome.skipped:
        out.print(f"skipped: {outcome.skipped}")
        return
    out.print(f"new data version {outcome.data_version} (parent {outcome.parent}), fresh rows: {outcome.added}")
    for c in outcome.comparisons:
        out.print(
            f"{c.rows}: champion {c.champion:.3f}, challenger {c.challenger:.3f}, difference "
            f"{c.difference.value:+.3f} [{c.difference.low:+.3f}, {c.difference.high:+.3f}] on {c.n:,} rows"
        )
    style = "bold green" if outcome.promoted else "yellow"
    out.print(Text(outcome.reason, style=style))
    if outcome.report:
        out.print(f"report: {outcome.report}")
