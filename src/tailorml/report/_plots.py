"""The report's plots as inline SVG: matplotlib without pyplot, text kept as text.

Each function returns one ``<svg>`` element ready to paste into HTML: no XML prologue, no
metadata, no namespace URLs, and every ``id`` prefixed with the plot's ``key`` so several
plots can share one page. matplotlib is imported here, inside the functions, so importing
tailorml stays cheap.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any, Literal

from tailorml.results import ClassScore, Latency, LearningPoint, ReliabilityBin, RiskPoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ParetoPoint", "class_f1", "latency", "learning_curve", "pareto", "reliability", "risk_coverage"]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
BLUE = "#0072B2"
SKY = "#56B4E9"
ORANGE = "#E69F00"
GREEN = "#009E73"
RED = "#D55E00"
GREY = "#9a9a9a"
INK = "#333333"

_RC: dict[Any, Any] = {  # Any keys: matplotlib types them as a Literal of every rc name
    "svg.fonttype": "none",  # text stays <text>: searchable, small, crisp
    "svg.hashsalt": "tailorml",  # the same evaluation renders to the same bytes
    "text.parse_math": False,  # a label with two '$' is a label, not TeX
    "font.family": "sans-serif",
    "font.sans-serif": ["Helvetica Neue", "Helvetica", "Arial", "DejaVu Sans"],
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "lines.linewidth": 1.4,
}

_STRIP = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<metadata>.*?</metadata>|<style[^>]*>.*?</style>", re.S)
_ROOT = re.compile(r"<svg\b[^>]*>")
_REFS = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')
_LABEL_CHARS = 34
_VALUE_LABEL: dict[str, Any] = {
    "va": "center",
    "fontsize": 6.5,
    "color": INK,
    "bbox": {"facecolor": "white", "edgecolor": "none", "pad": 0.4, "alpha": 0.85},  # stays legible over lines
}
_BINS: dict[str, Any] = {"align": "edge", "edgecolor": "white", "linewidth": 0.6}


@dataclass(frozen=True)
class ParetoPoint:
    """One candidate on the quality/cost plane."""

    name: str
    cost: float
    quality: float
    low: float | None = None
    high: float | None = None


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _tidy(ax: Axes, grid: Literal["both", "x", "y"] = "both") -> None:
    """Light grid behind the data, no top or right frame."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    ax.grid(True, axis=grid, color="#e6e6e6", linewidth=0.6)


def _log_x(ax: Axes, prefix: str = "") -> None:
    """A log x axis whose ticks read as plain numbers (mathtext is off, so the default would not)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from tailorml.report._format import number

    def tick(value: float, _: object) -> str:
        text = number(value)
        return prefix + (text.rstrip("0").rstrip(".") if "." in text else text)

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(tick))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(fig: Figure, key: str, label: str) -> str:
    """Serialize ``fig`` as an inline ``<svg>`` whose ids are scoped by ``key``."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = _STRIP.sub("", buf.getvalue())
    root = _ROOT.search(text)
    if root is None:  # pragma: no cover - matplotlib always writes one
        raise RuntimeError("matplotlib wrote no <svg> element")
    size = dict(re.findall(r'\b(width|height|viewBox)="([^"]*)"', root.group(0)))
    head = (
        f'<svg class="plot" width="{size.get("width", "")}" height="{size.get("height", "")}" '
        f'viewBox="{size.get("viewBox", "")}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
    )
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    body = _REFS.sub(lambda m: m.group(1) + (f"{key}-{m.group(2)}" if m.group(2) in ids else m.group(2)), text)
    body = body[: root.start()] + head + body[root.end() :]
    return re.sub(r"\n\s+", "\n", body).strip()


def class_f1(
    scores: Sequence[ClassScore], *, key: str, target: float | None = None, target_name: str = "", limit: int = 30
) -> str:
    """Horizontal bars of per-class F1, worst class on top; at most ``limit`` classes.

    Classes below ``target`` (an objective's threshold, named ``target_name``) are orange.
    """
    worst = sorted(scores, key=lambda s: (s.f1, s.label))[:limit]
    rows = list(range(len(worst)))
    with _style():
        fig = _figure(5.0, 0.55 + 0.19 * len(worst))
        ax = fig.add_subplot()
        below = [target is not None and s.f1 < target for s in worst]
        ax.barh(rows, [s.f1 for s in worst], height=0.72, color=[ORANGE if b else BLUE for b in below])
        ax.set_yticks(rows, [_short(s.label) for s in worst])
        ax.invert_yaxis()
        for row, score in zip(rows, worst, strict=True):
            ax.text(score.f1 + 0.01, row, f"{score.f1:.2f}  n={score.support}", **_VALUE_LABEL)
        if target is not None:
            ax.axvline(target, color=INK, linestyle="--", linewidth=0.8)
            name = f"{target_name} objective" if target_name else "objective"
            ax.text(target, -0.8, f" {name} {target:.2f}", fontsize=6.5, color=INK, va="bottom")
        ax.set_xlim(0, 1.18)
        ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_xlabel("F1 on the test data")
        ax.tick_params(axis="y", length=0)
        _tidy(ax, grid="x")
        return _svg(fig, key, "Per-class F1, worst classes first")


def reliability(bins: Sequence[ReliabilityBin], *, key: str, ece: float | None = None) -> str:
    """Reliability diagram: observed accuracy per confidence bin against the diagonal, counts below."""
    used = [b for b in bins if b.count > 0]
    start = math.floor(min((b.lower for b in used), default=0.0) * 10) / 10
    with _style():
        fig = _figure(3.5, 3.3)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        widths = [b.upper - b.lower for b in used]
        edges = [b.lower for b in used]
        top.bar(edges, [b.accuracy for b in used], width=widths, color=SKY, label="observed accuracy", **_BINS)
        top.plot([0, 1], [0, 1], color=INK, linestyle="--", linewidth=0.8, label="perfect calibration")
        top.plot(
            [b.confidence for b in used], [b.accuracy for b in used], "o", color=BLUE, ms=3.2, label="mean confidence"
        )
        top.set_ylim(start, 1.0)
        top.set_ylabel("accuracy")
        top.legend(loc="upper left")
        if ece is not None:
            top.set_title(f"ECE {ece * 100:.1f}%", loc="right")
        bottom.bar(edges, [b.count for b in used], width=widths, color=GREY, **_BINS)
        bottom.set_xlim(start, 1.0)
        bottom.set_xlabel("predicted confidence")
        bottom.set_ylabel("rows")
        _tidy(top)
        _tidy(bottom, grid="y")
        return _svg(fig, key, "Reliability diagram: confidence against observed accuracy")


def risk_coverage(points: Sequence[RiskPoint], *, key: str, chosen: tuple[float, float] | None = None) -> str:
    """Risk (error rate of the answered) against coverage (share answered), the chosen threshold marked."""
    with _style():
        fig = _figure(3.5, 2.6)
        ax = fig.add_subplot()
        ax.plot([p.coverage for p in points], [p.risk for p in points], color=BLUE, linewidth=1.4, label="test rows")
        if chosen is not None:
            ax.plot(
                [chosen[0]], [chosen[1]], "o", color=ORANGE, ms=5, label="abstention threshold (chosen on validation)"
            )
        ax.set_xlim(0, 1.0)
        ax.set_ylim(0, max([p.risk for p in points] + [0.01]) * 1.1)
        ax.set_xlabel("coverage (share answered)")
        ax.set_ylabel("risk (error rate of answered)")
        ax.legend(loc="upper left")
        _tidy(ax)
        return _svg(fig, key, "Risk-coverage curve")


def latency(timing: Latency, *, key: str) -> str | None:
    """Histogram of single-request latency with p50, p95 and p99 marked; None without samples."""
    samples = timing.samples_ms
    if not samples:
        return None
    cap = max(timing.p99_ms * 1.6, timing.p50_ms * 3)
    top = min(max(samples), cap)
    hidden = sum(1 for s in samples if s > top)
    with _style():
        fig = _figure(4.4, 2.4)
        ax = fig.add_subplot()
        ax.hist(samples, bins=40, range=(min(min(samples), top), top), color=SKY, edgecolor="white", linewidth=0.4)
        marks = (
            ("p50", timing.p50_ms, GREEN, "-"),
            ("p95", timing.p95_ms, ORANGE, "--"),
            ("p99", timing.p99_ms, RED, ":"),
        )
        for name, value, colour, style in marks:
            ax.axvline(value, color=colour, linestyle=style, linewidth=1.3, label=f"{name} {value:.3g} ms")
        fig.legend(loc="outside upper right", ncols=3)
        if hidden:
            note = f"{hidden} slower request{'s' if hidden > 1 else ''} off the scale (max {max(samples):.3g} ms)"
            ax.text(0.99, 0.55, note, transform=ax.transAxes, ha="right", fontsize=6.5, color=INK)
        ax.set_xlabel("single-request latency (ms)")
        ax.set_ylabel("requests")
        _tidy(ax, grid="y")
        return _svg(fig, key, "Latency histogram with p50, p95 and p99")


def pareto(
    points: Sequence[ParetoPoint],
    *,
    key: str,
    front: Sequence[str],
    chosen: str | None,
    quality_label: str,
    quality_target: float | None = None,
    cost_target: float | None = None,
) -> str:
    """Quality against cost per 1k predictions; the front joined, the chosen candidate ringed."""
    costs = [p.cost for p in points]
    log_x = min(costs) > 0 and max(costs) / min(costs) > 10
    on_front = sorted((p for p in points if p.name in front), key=lambda p: p.cost)
    with _style():
        fig = _figure(7.6, 3.5)
        ax = fig.add_subplot()
        if log_x:
            _log_x(ax, prefix="$")
        if len(on_front) > 1:
            front_xy = ([p.cost for p in on_front], [p.quality for p in on_front])
            ax.plot(*front_xy, color=BLUE, linewidth=1, alpha=0.6, label="Pareto front")
        for point in points:
            _pareto_point(ax, point, point.name in front, point.name == chosen)
        if quality_target is not None:
            ax.axhline(quality_target, color=INK, linestyle="--", linewidth=0.8, label="quality objective")
        if cost_target is not None:
            ax.axvline(cost_target, color=RED, linestyle=":", linewidth=0.9, label="cost objective")
        ax.margins(x=0.18, y=0.2)
        ax.set_xlabel("serving cost per 1,000 predictions (USD" + (", log scale)" if log_x else ")"))
        ax.set_ylabel(quality_label)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(loc="lower right")
        _tidy(ax)
        return _svg(fig, key, f"Pareto front: {quality_label} against serving cost")


def _pareto_point(ax: Axes, point: ParetoPoint, on_front: bool, chosen: bool) -> None:
    if point.low is not None and point.high is not None:
        err = [[max(point.quality - point.low, 0)], [max(point.high - point.quality, 0)]]
        ax.errorbar([point.cost], [point.quality], yerr=err, color=GREY, linewidth=0.8, capsize=2)
    xy = (point.cost, point.quality)
    ax.plot(*xy, "o", ms=6.5, mfc=BLUE if on_front else "white", mec=BLUE)
    if chosen:
        ax.plot(*xy, "o", ms=13, mfc="none", mec=GREEN, mew=1.8)
    label = _short(point.name, 28) + ("  (chosen)" if chosen else "")
    colour, weight = (GREEN, "bold") if chosen else (INK, "normal")
    ax.annotate(label, xy, xytext=(8, 5), textcoords="offset points", fontsize=7.5, color=colour, fontweight=weight)


def learning_curve(
    points: Sequence[LearningPoint], *, key: str, target: float | None = None, labels_needed: int | None = None
) -> str:
    """Accuracy against training rows, with the accuracy objective and the estimated rows to reach it."""
    ordered = sorted(points, key=lambda p: p.n_train)
    xs = [p.n_train for p in ordered]
    with _style():
        fig = _figure(4.8, 2.7)
        ax = fig.add_subplot()
        if xs and min(xs) > 0 and (max(labels_needed or 0, max(xs)) / min(xs)) > 50:
            _log_x(ax)
        ax.plot(xs, [p.accuracy for p in ordered], "o-", color=BLUE, markersize=4, label="measured")
        if target is not None:
            ax.axhline(target, color=INK, linestyle="--", linewidth=0.8, label=f"accuracy objective {target:.2f}")
        if labels_needed is not None and xs and labels_needed <= 20 * max(xs):
            needed = f"estimated rows needed: {labels_needed:,}"
            ax.axvline(labels_needed, color=ORANGE, linestyle=":", linewidth=1.3, label=needed)
        ax.set_xlabel("training rows")
        ax.set_ylabel("accuracy")
        ax.legend(loc="lower right")
        _tidy(ax)
        return _svg(fig, key, "Learning curve: accuracy against training rows")
