"""The monitoring report: one self-contained HTML page per ``tailor monitor`` run.

It renders from a :class:`~tailorml.monitoring.results.MonitorReport` alone and shares the
evaluation report's look, template environment, formatters and plot style: inline CSS,
inline SVG with text kept as text, every user or traffic string escaped by autoescape.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailorml.monitoring.results import MonitorReport, Signal, Window
from tailorml.report import _plots
from tailorml.report._format import DASH, fmt_seconds, number, write_atomic
from tailorml.report.html import _environment, _lineage_items

__all__ = ["render_monitor_html", "write_monitor_report"]

MAX_EXAMPLES = 5
EXAMPLE_CHARS = 240  # a pasted document should not turn one table row into a page

STATUS_LABEL = {"ok": "OK", "warn": "WARN", "alert": "ALERT", "no_data": "no data"}
STATUS_MARK = {"ok": "✓", "warn": "!", "alert": "✗", "no_data": "–"}
_ORDER = {"ok": 0, "warn": 1, "alert": 2}
_ALERT_BAND = "#fbe3dc"  # behind windows that alerted, in every small multiple


@dataclass(frozen=True)
class Badge:
    """A status as shown on the page: CSS class, symbol and word, so colour is never the only cue."""

    status: str
    mark: str
    label: str

    @classmethod
    def of(cls, status: str) -> Badge:
        return cls(status=status, mark=STATUS_MARK[status], label=STATUS_LABEL[status])


@dataclass(frozen=True)
class StripCell:
    """One window in the status strip; ``anchor`` links a flagged window to its table row."""

    index: int
    badge: Badge
    title: str
    anchor: str | None


@dataclass(frozen=True)
class SignalPanel:
    """One signal's small multiple, or why it has none."""

    name: str
    svg: str | None
    direction: str
    latest: str
    counts: str


@dataclass(frozen=True)
class FlaggedRow:
    """A window that warned or alerted, formatted for the table."""

    index: int
    anchor: str
    time: str
    n: str
    badge: Badge
    reasons: list[str]
    examples: list[str]
    more_examples: int


@dataclass(frozen=True)
class ThresholdRow:
    signal: str
    warn: str
    alert: str
    worse: str
    reference: str


@dataclass(frozen=True)
class LegendKey:
    """Colours and markers the plots use, so the page's legend cannot drift from them."""

    line: str = _plots.BLUE
    reference: str = _plots.GREY
    warn: str = _plots.ORANGE
    alert: str = _plots.RED
    band: str = _ALERT_BAND


@dataclass
class MonitorPage:
    """Everything the template needs, formatted; the template only lays it out."""

    title: str
    created: str
    report: MonitorReport
    status: Badge
    summary: str
    facts: list[tuple[str, str | list[str]]]
    counts: list[tuple[Badge, int]]
    strip: list[StripCell]
    panels: list[SignalPanel]
    flagged: list[FlaggedRow]
    accuracy_svg: str | None
    accuracy_note: str
    thresholds: list[ThresholdRow]
    version: str
    legend: LegendKey = field(default_factory=LegendKey)


@dataclass(frozen=True)
class _Series:
    """One signal across every window, ready to plot."""

    name: str
    xs: list[int]
    values: list[float]  # NaN where the window had too little data
    statuses: list[str]
    warn: float | None
    alert: float | None
    reference: float | None
    higher_is_worse: bool

    @property
    def has_data(self) -> bool:
        return any(math.isfinite(v) for v in self.values)


def render_monitor_html(report: MonitorReport) -> str:
    """Render ``report`` as one self-contained HTML page.

    Parameters
    ----------
    report:
        The result of ``tailor monitor``; the page renders from it alone.

    Returns
    -------
    str
        An HTML document with inline CSS and inline SVG plots, safe to open offline and to print.

    Example
    -------
    >>> html = render_monitor_html(MonitorReport.load(".tailor/monitor/latest.json"))  # doctest: +SKIP
    """
    return _environment().get_template("monitor.html.j2").render(page=_page(report))


def write_monitor_report(report: MonitorReport, folder: str | Path) -> Path:
    """Write ``monitor.html`` for ``report`` into ``folder`` atomically and return its path."""
    return write_atomic(Path(folder) / "monitor.html", render_monitor_html(report))


def _page(report: MonitorReport) -> MonitorPage:
    from tailorml import __version__

    windows = sorted(report.windows, key=lambda w: w.index)
    series = _series(report, windows)
    alert_runs = _runs([w.index for w in windows if w.status == "alert"])
    xlim = (windows[0].index - 0.5, windows[-1].index + 0.5) if windows else (0.0, 1.0)
    return MonitorPage(
        title=f"{report.project} — monitoring {_when(report.created_at)}",
        created=_when(report.created_at),
        report=report,
        status=Badge.of(report.status),
        summary=_summary(windows),
        facts=_facts(report, windows),
        counts=[(Badge.of(s), sum(w.status == s for w in windows)) for s in ("alert", "warn", "ok")],
        strip=[_strip_cell(w) for w in windows],
        panels=[_panel(s, windows, key=f"sig-{i}", xlim=xlim, alert_runs=alert_runs) for i, s in enumerate(series)],
        flagged=[_flagged(w) for w in windows if w.status != "ok"],
        accuracy_svg=_accuracy_svg(windows, xlim=xlim),
        accuracy_note=_accuracy_note(windows),
        thresholds=_threshold_rows(report, series),
        version=__version__,
    )


# --- text -----------------------------------------------------------------------------------------


def _when(t: dt.datetime, *, date: bool = True, seconds: bool = False) -> str:
    """A timestamp for people: ``2025-06-01 14:00 UTC``; seconds only when they matter."""
    text = t.strftime(("%Y-%m-%d " if date else "") + ("%H:%M:%S" if seconds else "%H:%M"))
    offset = t.utcoffset()
    if offset is None:
        return text
    return f"{text} UTC" if offset == dt.timedelta(0) else f"{text} {t.strftime('%z')}"


def _span(start: dt.datetime, end: dt.datetime) -> str:
    """A window's time range, the date written once when it does not change."""
    seconds = bool(start.second or end.second) or end - start < dt.timedelta(minutes=2)
    first = _when(start.replace(tzinfo=None), seconds=seconds)
    last = _when(end, date=start.date() != end.date(), seconds=seconds)
    return f"{first} – {last}"


def _summary(windows: Sequence[Window]) -> str:
    """One sentence on how many windows warned or alerted, and since when."""
    if not windows:
        return "This run has no windows: no traffic was logged in the period monitored."
    alerts = [w for w in windows if w.status == "alert"]
    warns = [w for w in windows if w.status == "warn"]
    if not alerts and not warns:
        return f"All {len(windows)} windows are within their thresholds."
    total = len(windows)
    if alerts:
        first = alerts[0]
        text = f"{len(alerts)} of {total} windows alerted, the first at window {first.index} ({_when(first.start)})"
        text += f", and {len(warns)} warned" if warns else ""
    else:
        text = f"{len(warns)} of {total} windows warned; none alerted"
    latest = windows[-1]
    return f"{text}. The latest window ({latest.index}) is {STATUS_LABEL[latest.status]}."


def _facts(report: MonitorReport, windows: Sequence[Window]) -> list[tuple[str, str | list[str]]]:
    facts: list[tuple[str, str | list[str]]] = [("Model", f"{report.model_name} v{report.model_version}")]
    facts += _reference_facts(report.reference)
    facts.append(("Windows", f"{len(windows):,} by {report.window_by}, {report.window_size} each"))
    if windows:
        facts.append(("Traffic", _span(windows[0].start, windows[-1].end)))
        facts.append(("Requests", f"{sum(w.n for w in windows):,}"))
    facts += [("Created", _when(report.created_at)), ("Computed in", fmt_seconds(report.seconds))]
    return facts


def _reference_facts(reference: Mapping[str, object]) -> list[tuple[str, str | list[str]]]:
    """Every reference key, counts with thousands grouped; data version and rows first."""
    first = [k for k in ("data_version", "rows") if k in reference]
    ordered = {k: reference[k] for k in [*first, *(k for k in reference if k not in first)]}
    shown = {k: f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v for k, v in ordered.items()}
    return [(f"Reference {title}", value) for title, value in _lineage_items(shown)]


def _window_title(w: Window) -> str:
    return f"window {w.index} · {_span(w.start, w.end)} · {w.n:,} requests · {STATUS_LABEL[w.status]}"


def _strip_cell(w: Window) -> StripCell:
    anchor = f"window-{w.index}" if w.status != "ok" else None
    return StripCell(index=w.index, badge=Badge.of(w.status), title=_window_title(w), anchor=anchor)


def _clip(text: str, limit: int = EXAMPLE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flagged(w: Window) -> FlaggedRow:
    reasons = w.reasons or [
        s.detail or f"{s.name} is {s.status}" for s in w.signals if s.status in _ORDER and s.status != "ok"
    ]
    return FlaggedRow(
        index=w.index,
        anchor=f"window-{w.index}",
        time=_span(w.start, w.end),
        n=f"{w.n:,}",
        badge=Badge.of(w.status),
        reasons=reasons,
        examples=[_clip(e) for e in w.examples[:MAX_EXAMPLES]],
        more_examples=max(len(w.examples) - MAX_EXAMPLES, 0),
    )


def _fmt(value: float | None) -> str:
    return DASH if value is None else number(value)


# --- signals --------------------------------------------------------------------------------------


def _series(report: MonitorReport, windows: Sequence[Window]) -> list[_Series]:
    """Every signal name in order of first appearance, with its value in each window."""
    by_name: dict[str, list[tuple[int, Signal]]] = {}
    for w in windows:
        for s in w.signals:
            by_name.setdefault(s.name, []).append((w.index, s))
    out = []
    for name, points in by_name.items():
        signals = [s for _, s in points]
        limits = report.thresholds.get(name, {})
        out.append(
            _Series(
                name=name,
                xs=[x for x, _ in points],
                values=[math.nan if s.value is None else s.value for s in signals],
                statuses=[s.status for s in signals],
                warn=limits.get("warn", _first(s.warn for s in signals)),
                alert=limits.get("alert", _first(s.alert for s in signals)),
                reference=_first(s.reference for s in signals),
                higher_is_worse=signals[0].higher_is_worse,
            )
        )
    return out


def _first(values: Any) -> float | None:
    return next((v for v in values if v is not None), None)


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive indices as (first, last) runs, so a long alert is one band, not many."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _panel(
    series: _Series,
    windows: Sequence[Window],
    *,
    key: str,
    xlim: tuple[float, float],
    alert_runs: list[tuple[int, int]],
) -> SignalPanel:
    finite = [(x, v) for x, v in zip(series.xs, series.values, strict=True) if math.isfinite(v)]
    missing = len(windows) - len(finite)
    parts = [f"{s} in {n} window{'s' if n > 1 else ''}" for s in ("alert", "warn") if (n := series.statuses.count(s))]
    if missing:
        parts.append(f"no data in {missing} of {len(windows)} windows")
    counts = "; ".join(parts)
    return SignalPanel(
        name=series.name,
        svg=_signal_svg(series, key=key, xlim=xlim, alert_runs=alert_runs) if finite else None,
        direction="higher is worse" if series.higher_is_worse else "lower is worse",
        latest=f"latest {number(finite[-1][1])} (window {finite[-1][0]})" if finite else "",
        counts=counts[:1].upper() + counts[1:],
    )


def _signal_svg(series: _Series, *, key: str, xlim: tuple[float, float], alert_runs: list[tuple[int, int]]) -> str:
    """Value per window with reference, warn and alert lines; flagged windows marked by shape and colour."""
    from matplotlib.ticker import MaxNLocator

    dense = len(series.xs) > 80  # per-point markers would crowd the line and bloat the file
    with _plots._style():
        fig = _plots._figure(4.4, 1.6)
        ax = fig.add_subplot()
        for first, last in alert_runs:
            ax.axvspan(first - 0.5, last + 0.5, color=_ALERT_BAND, linewidth=0, zorder=0)
        lines = (
            (series.reference, _plots.GREY, "--", 1.0),
            (series.warn, _plots.ORANGE, ":", 1.3),
            (series.alert, _plots.RED, "-.", 1.0),
        )
        for y, colour, style, width in lines:
            if y is not None:
                ax.axhline(y, color=colour, linestyle=style, linewidth=width, zorder=1)
        ax.plot(series.xs, series.values, color=_plots.BLUE, marker=None if dense else "o", ms=2.2, zorder=3)
        scale = 0.6 if dense else 1.0
        for status, marker, colour, size in (("warn", "D", _plots.ORANGE, 3.6), ("alert", "X", _plots.RED, 6.0)):
            points = [(x, v) for x, v, s in zip(series.xs, series.values, series.statuses, strict=True) if s == status]
            points = [(x, v) for x, v in points if math.isfinite(v)]
            if points:
                xs, ys = zip(*points, strict=True)
                look: dict[str, Any] = {"ms": size * scale, "mec": "white", "mew": 0 if dense else 0.5}
                ax.plot(xs, ys, linestyle="none", marker=marker, color=colour, zorder=4, **look)
        ax.set_xlim(*xlim)
        ax.margins(y=0.15)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        _plots._tidy(ax)
        return _plots._svg(fig, key, f"{series.name} per window with warn and alert thresholds")


def _threshold_rows(report: MonitorReport, series: Sequence[_Series]) -> list[ThresholdRow]:
    """The report's thresholds first, then any signal that carries its own."""
    known = {s.name: s for s in series}
    names = list(report.thresholds) + [s.name for s in series if s.name not in report.thresholds]
    rows = []
    for name in names:
        s = known.get(name)
        limits = report.thresholds.get(name, {})
        warn, alert = limits.get("warn", s.warn if s else None), limits.get("alert", s.alert if s else None)
        if warn is None and alert is None:
            continue
        worse = DASH if s is None else ("higher" if s.higher_is_worse else "lower")
        rows.append(ThresholdRow(name, _fmt(warn), _fmt(alert), worse, _fmt(s.reference if s else None)))
    return rows


# --- live accuracy --------------------------------------------------------------------------------


def _accuracy_svg(windows: Sequence[Window], *, xlim: tuple[float, float]) -> str | None:
    """Accuracy on reviewed requests per window with its 95% interval; None when nothing was reviewed."""
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    if all(w.live_accuracy is None for w in windows):
        return None
    with _plots._style():
        fig = _plots._figure(10.4, 2.5)
        ax = fig.add_subplot()
        points = [(w, w.live_accuracy) for w in windows if w.live_accuracy is not None]
        bounded = [(w.index, e.value, e.low, e.high) for w, e in points if e.low is not None and e.high is not None]
        if bounded:  # one errorbar call: a call per window would repeat the styling in the SVG
            xs, ys, lows, highs = zip(*bounded, strict=True)
            err = [
                [max(y - lo, 0) for y, lo in zip(ys, lows, strict=True)],
                [max(h - y, 0) for y, h in zip(ys, highs, strict=True)],
            ]
            ax.errorbar(xs, ys, yerr=err, fmt="none", ecolor=_plots.GREY, elinewidth=0.9, capsize=2, zorder=2)
        ax.plot([w.index for w, _ in points], [e.value for _, e in points], color=_plots.BLUE, lw=0.8, alpha=0.5)
        for alerted, marker, colour, size in ((False, "o", _plots.BLUE, 4.5), (True, "X", _plots.RED, 6.5)):
            chosen = [(w.index, e.value) for w, e in points if (w.status == "alert") == alerted]
            if chosen:
                ax.plot(
                    *zip(*chosen, strict=True), ls="none", marker=marker, color=colour, ms=size, mec="white", mew=0.5
                )
        ax.set_xlim(*xlim)
        ax.margins(y=0.15)
        ax.set_ylim(top=min(ax.get_ylim()[1], 1.02))  # an interval's margin must not suggest accuracy above 100%
        ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("window")
        ax.set_ylabel("accuracy (reviewed)")
        _plots._tidy(ax)
        return _plots._svg(fig, "live-accuracy", "Live accuracy per window with 95% intervals")


def _accuracy_note(windows: Sequence[Window]) -> str:
    measured = [w for w in windows if w.live_accuracy is not None]
    if not measured:
        return "No request in these windows was reviewed, so live accuracy is not known."
    reviewed = sum(w.reviewed for w in measured)
    return (
        f"Accuracy on reviewed requests in {len(measured)} of {len(windows)} windows ({reviewed:,} reviews in all); "
        "bars are 95% intervals; ✖ marks a window that alerted. Few reviews make wide intervals."
    )
