"""Numbers in a metric's own unit, shared by the HTML report and the model card.

A fraction reads as a percentage and its margin in percentage points; cost reads in
dollars; latency in milliseconds. Every formatter takes ``None`` and returns a dash, so a
metric that was not measured never breaks a table.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from tailorml.metrics import METRICS
from tailorml.results import CandidateResult, Evaluation, Gate

DASH = "—"
MINUS = "−"

STATUS_TEXT = {"pass": "pass", "fail": "fail", "uncertain": "uncertain", "not_measured": "not measured"}
STATUS_MARK = {"pass": "✓", "fail": "✗", "uncertain": "?", "not_measured": "–"}


def is_fraction(metric: str) -> bool:
    """Whether the catalog says ``metric`` lies in [0, 1]."""
    info = METRICS.get(metric)
    return info is not None and info.is_fraction


def number(value: float) -> str:
    """About three significant figures, never in scientific notation; thousands grouped."""
    if not math.isfinite(value):
        return "n/a"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    if size == 0:
        return "0"
    digits = 2 - math.floor(math.log10(size))
    return f"{value:.{digits}f}"


def _parts(metric: str, value: float) -> tuple[str, str, str]:
    """Prefix, digits and suffix of ``value`` in ``metric``'s unit."""
    if not math.isfinite(value):
        return "", "n/a", ""
    if is_fraction(metric):
        return "", f"{value * 100:.1f}", "%"
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit == "USD":
        return "$", number(value), ""
    if unit == "1/s":
        return "", number(value), "/s"
    return "", number(value), f" {unit}" if unit else ""


def fmt_value(metric: str, value: float | None) -> str:
    """``value`` in the metric's unit: ``93.4%``, ``$0.0123``, ``12.1 ms``."""
    if value is None:
        return DASH
    prefix, digits, suffix = _parts(metric, value)
    return f"{prefix}{digits}{suffix}"


def fmt_interval(metric: str, low: float | None, high: float | None) -> str:
    """The 95% interval with the unit written once: ``[92.1, 94.6]%``; empty when absent."""
    if low is None or high is None:
        return ""
    prefix, lo, suffix = _parts(metric, low)
    _, hi, _ = _parts(metric, high)
    return f"[{prefix}{lo}, {prefix}{hi}]{suffix}"


def fmt_margin(metric: str, margin: float | None) -> str:
    """Signed distance to the threshold; fractions in percentage points."""
    if margin is None:
        return DASH
    sign = "+" if margin >= 0 else MINUS
    if not math.isfinite(margin):
        return "n/a"
    if is_fraction(metric):
        return f"{sign}{abs(margin) * 100:.1f} pp"
    prefix, digits, suffix = _parts(metric, abs(margin))
    return f"{sign}{prefix}{digits}{suffix}"


def fmt_threshold(gate: Gate) -> str:
    """The objective as a comparison: ``≥ 95.0%`` or ``≤ 50.0 ms``."""
    op = "≥" if gate.bound == "min" else "≤"
    return f"{op} {fmt_value(gate.metric, gate.threshold)}"


def fmt_seconds(seconds: float) -> str:
    """A duration for people: ``42 s``, ``3.5 min``, ``1.2 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def ordered_candidates(evaluation: Evaluation) -> list[CandidateResult]:
    """The chosen candidate first, then the rest in evaluation order."""
    chosen = [c for c in evaluation.candidates if c.name == evaluation.chosen]
    return chosen + [c for c in evaluation.candidates if c.name != evaluation.chosen]


def gate_for(candidate: CandidateResult, objective: Gate) -> Gate:
    """The candidate's gate for an objective, or a 'not measured' one built from its metrics."""
    for gate in candidate.gates:
        if gate.metric == objective.metric:
            return gate
    est = candidate.metrics.get(objective.metric)
    return objective.model_copy(
        update={
            "value": est.value if est else None,
            "low": est.low if est else None,
            "high": est.high if est else None,
            "status": "not_measured",
            "margin": None,
        }
    )


def uses_cross_validation(quality_method: str) -> bool:
    """Whether quality comes from k-fold cross-validation rather than one held-out split."""
    text = quality_method.lower()
    return "cross-validation" in text or "cross validation" in text or "k-fold" in text


def quality_metric(evaluation: Evaluation) -> str | None:
    """The headline quality metric: in-scope accuracy when out-of-scope is measured, else accuracy."""
    for name in ("in_scope_accuracy", "accuracy", "macro_f1"):
        if any(name in c.metrics for c in evaluation.candidates):
            return name
    return None


_HARDWARE_KEYS = {
    "profile": ("profile", "name", "hardware"),
    "instance": ("instance", "instance_type"),
    "accelerator": ("accelerator", "gpu"),
    "price": ("usd_per_hour", "price_per_hour", "price_usd_per_hour", "price"),
    "price table date": ("prices_as_of", "as_of", "price_date", "price_table_date", "date"),
    "price source": ("prices_source", "source", "price_source"),
}


def hardware_summary(hardware: dict[str, object]) -> dict[str, str]:
    """The hardware record for people: profile, instance, hourly price and price date first, then the rest."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for title, keys in _HARDWARE_KEYS.items():
        key = next((k for k in keys if hardware.get(k) not in (None, "")), None)
        if key is None:
            continue
        used.add(key)
        value = hardware[key]
        out[title] = f"${value}/h" if title == "price" and isinstance(value, int | float) else str(value)
    for key, value in hardware.items():
        if key not in used and value not in (None, ""):
            out[key.replace("_", " ")] = str(value)
    return out


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes the file private; a report is meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
