"""``tailor monitor``: compare windows of logged traffic with the champion's reference.

The reference is computed once per champion version and kept under ``.tailor/monitoring/``:
the predicted-class mix, confidence histogram, abstention and out-of-scope rates of the
champion on its test rows, the input-length histogram and vocabulary of its training rows,
and (optionally) a sample of training-input embeddings. Windows of the request log are
summarized by SQL aggregation (bounded memory however long the log is), each signal is judged
against the spec's thresholds, and each window gets OK / WARN / ALERT with the reasons.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from tailorml.monitoring.results import MonitorReport, Signal, Window
from tailorml.project import Project
from tailorml.results import Estimate
from tailorml.spec import Spec
from tailorml.tracking import CHAMPION, ModelVersion, Tracker

__all__ = ["Reference", "build_reference", "run_monitor", "send_alerts"]

OnStep = Callable[[str], None]
CONFIDENCE_BINS = 20
EMBEDDING_SAMPLE = 400
MIN_ROWS = 50  # windows with fewer requests are not judged
_TOKEN = re.compile(r"[a-z]+")
_LOWER_IS_WORSE = {"live_accuracy", "embedding_mmd_p"}


class Reference(BaseModel):
    """What in-distribution traffic looks like for one champion version."""

    model_config = ConfigDict(ser_json_inf_nan="constants")  # histogram edges are open-ended (±inf)

    model_version: int
    data_version: str
    rows: int
    classes: list[str]
    class_mix: list[int]
    confidence_counts: list[int]
    length_edges: list[float]
    length_counts: list[int]
    vocabulary: list[str]
    oov_rate: float
    abstention_rate: float
    oos_rate: float | None
    oos_share: float | None = None  # out-of-scope share of the test rows' true labels
    oos_detector_recall: float | None = None  # the detector's validation recall and false-flag rate
    oos_false_flag_rate: float | None = None
    oos_assumed_share: float | None = None  # the share its probabilities are set for (expected_rate)
    latency_p95_ms: float | None
    embeddings: str | None = None  # .npy file of reference input embeddings


def build_reference(spec: Spec, champion: ModelVersion, tracker: Tracker, folder: Path) -> Reference:
    """Compute (or load, when kept) the reference statistics of a champion version."""
    path = folder / f"reference-v{champion.version}.json"
    if path.is_file():
        return Reference.model_validate_json(path.read_text(encoding="utf-8"))
    from tailorml.data.dataset import load_dataset
    from tailorml.data.versions import DataStore
    from tailorml.monitoring.stats import Histogram, category_counts
    from tailorml.serving.holder import ModelHolder

    store = DataStore(Project.at(spec.root).data_dir)
    manifest = store.get(champion.tags.get("tailorml.data_version"))
    dataset = load_dataset(store, manifest, split_key=champion.tags.get("tailorml.split"))
    holder = ModelHolder(tracker, cache_dir=folder / "models")
    model = holder.load()
    proba = model.predict_proba(list(dataset.test.texts))
    predicted = model.classes[proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    classes = [str(c) for c in model.classes]
    lengths = Histogram.from_reference(np.array([len(t) for t in dataset.train.texts], dtype=float), bins=20)
    vocabulary = _vocabulary(dataset.train.texts)
    oos = spec.task.out_of_scope
    detector = _detector(model.model)
    embeddings = None
    if spec.monitoring.embedding_drift:
        rng = np.random.default_rng(0)
        texts = list(dataset.train.texts)
        pick = rng.choice(len(texts), size=min(EMBEDDING_SAMPLE, len(texts)), replace=False)
        embeddings = str(folder / f"reference-v{champion.version}-embeddings.npy")
        folder.mkdir(parents=True, exist_ok=True)
        np.save(embeddings, _embed([texts[i] for i in pick]), allow_pickle=False)
    reference = Reference(
        model_version=champion.version,
        data_version=manifest.id,
        rows=len(dataset.train),
        classes=classes,
        class_mix=[int(c) for c in category_counts([str(p) for p in predicted], classes)],
        confidence_counts=[int(c) for c in np.histogram(confidence, bins=CONFIDENCE_BINS, range=(0, 1))[0]],
        length_edges=[float(e) for e in lengths.edges],
        length_counts=[int(c) for c in lengths.counts],
        vocabulary=sorted(vocabulary),
        oov_rate=_oov_rate(dataset.test.texts, vocabulary),
        abstention_rate=float(np.mean(confidence < model.abstain.threshold)),
        oos_rate=float(np.mean(predicted == oos)) if oos else None,
        oos_share=float(np.mean(np.asarray(dataset.test.labels, dtype=str) == str(oos))) if oos else None,
        **detector,
        latency_p95_ms=_evaluated_latency(champion),
        embeddings=embeddings,
    )
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(reference.model_dump_json(), encoding="utf-8")
    return reference


def run_monitor(
    spec: Spec,
    *,
    window_by: str | None = None,
    window: int | None = None,
    window_minutes: float | None = None,
    on_step: OnStep | None = None,
) -> MonitorReport:
    """Judge every window of the request log against the champion's reference; store the result.

    Returns
    -------
    MonitorReport
        One entry per window, oldest first, each with its signals, status and reasons.
    """
    from tailorml.monitoring.windows import WindowSpec, window_summaries

    step = on_step or (lambda _name: None)
    started = time.perf_counter()
    home = Project.at(spec.root).home
    folder = home / "monitoring"
    tracker = Tracker.for_project(spec)
    champion = tracker.by_alias(CHAMPION)
    step(f"reference statistics of {champion.name} v{champion.version}")
    reference = build_reference(spec, champion, tracker, folder)
    by = window_by or spec.monitoring.window_by
    size: Any = (
        (window or spec.monitoring.window)
        if by == "count"
        else dt.timedelta(minutes=window_minutes or spec.monitoring.window_minutes)
    )
    step("summarizing the request log by window")
    summaries = window_summaries(
        spec.serving.log_url(spec.root),
        spec=WindowSpec(by=by, size=size),  # type: ignore[arg-type]
        confidence_bins=CONFIDENCE_BINS,
        length_edges=np.asarray(reference.length_edges),
    )
    step(f"judging {len(summaries)} windows")
    thresholds = _thresholds(spec, reference)
    ref_embeddings = np.load(reference.embeddings) if reference.embeddings else None
    windows = [_judge(spec, s, reference, thresholds, ref_embeddings) for s in summaries]
    report = MonitorReport(
        project=spec.project,
        model_name=champion.name,
        model_version=champion.version,
        reference={
            "data_version": reference.data_version,
            "rows": reference.rows,
            "model_version": reference.model_version,
            **({"oos_assumed_share": reference.oos_assumed_share} if reference.oos_assumed_share is not None else {}),
        },
        window_by=by,
        window_size=f"{size:,} requests" if by == "count" else f"{size.total_seconds() / 60:g} min",
        thresholds=thresholds,
        windows=windows,
        created_at=dt.datetime.now(dt.UTC),
        seconds=time.perf_counter() - started,
    )
    stamp = report.created_at.strftime("%Y%m%dT%H%M%S")
    report.save(folder / f"{stamp}.json")
    report.save(folder / "latest.json")
    from tailorml.report import write_monitor_report

    write_monitor_report(report, folder)
    return report


def _thresholds(spec: Spec, reference: Reference) -> dict[str, dict[str, float]]:
    d = spec.monitoring.drift
    out = {
        "class_mix_psi": {"warn": d.psi_warn, "alert": d.psi_max},
        "class_mix_js": {"warn": d.js_max / 2, "alert": d.js_max},
        "confidence_psi": {"warn": d.psi_warn, "alert": d.psi_max},
        "input_length_psi": {"warn": d.psi_warn, "alert": d.psi_max},
        "oov_rate": {
            "warn": reference.oov_rate + d.oov_increase_max / 2,
            "alert": reference.oov_rate + d.oov_increase_max,
        },
        "abstention_rate": {
            "warn": reference.abstention_rate + d.rate_increase_max / 2,
            "alert": reference.abstention_rate + d.rate_increase_max,
        },
    }
    if reference.oos_rate is not None:
        out["oos_rate"] = {
            "warn": reference.oos_rate + d.rate_increase_max / 2,
            "alert": reference.oos_rate + d.rate_increase_max,
        }
    if reference.embeddings:
        out["embedding_mmd_p"] = {"warn": min(0.05, d.embedding_p_min * 5), "alert": d.embedding_p_min}
    latency = spec.objectives.get("latency_p95_ms")
    if latency is not None and latency.max is not None:
        out["latency_p95_ms"] = {"warn": latency.max * 0.8, "alert": latency.max}
    accuracy = spec.objectives.get("accuracy")
    if accuracy is not None and accuracy.min is not None:
        out["live_accuracy"] = {"warn": accuracy.min + 0.02, "alert": accuracy.min}
    return out


def _judge(
    spec: Spec, summary: Any, reference: Reference, thresholds: dict[str, dict[str, float]], ref_embeddings: Any
) -> Window:
    from tailorml.monitoring.stats import js_divergence, psi

    n = summary.n
    enough = n >= MIN_ROWS
    known = set(reference.classes)
    other = sum(c for label, c in summary.label_counts.items() if label not in known)
    mix = np.array([summary.label_counts.get(c, 0) for c in reference.classes] + [other])
    values: dict[str, float | None] = {
        "class_mix_psi": psi(reference.class_mix, mix) if enough else None,
        "class_mix_js": js_divergence(reference.class_mix, mix) if enough else None,
        "confidence_psi": psi(reference.confidence_counts, summary.confidence_hist) if enough else None,
        "input_length_psi": psi(reference.length_counts, summary.length_hist) if enough else None,
        "oov_rate": _oov_rate(summary.sample_texts, set(reference.vocabulary)) if summary.sample_texts else None,
        "abstention_rate": summary.abstained / n if n else None,
    }
    refs: dict[str, float | None] = {"oov_rate": reference.oov_rate, "abstention_rate": reference.abstention_rate}
    if reference.oos_rate is not None and spec.task.out_of_scope:
        flagged = summary.label_counts.get(spec.task.out_of_scope, 0) / n if n else None
        values["oos_rate"] = flagged
        refs["oos_rate"] = reference.oos_rate
        if reference.oos_detector_recall is not None and reference.oos_false_flag_rate is not None:
            from tailorml.oos import estimate_oos_share

            estimate = None
            if flagged is not None and enough:
                estimate = estimate_oos_share(flagged, reference.oos_detector_recall, reference.oos_false_flag_rate)
            values["oos_share_estimate"] = estimate
            refs["oos_share_estimate"] = reference.oos_share
    if ref_embeddings is not None:
        values["embedding_mmd_p"] = _embedding_p(ref_embeddings, summary.sample_texts) if enough else None
    if "latency_p95_ms" in thresholds:
        values["latency_p95_ms"] = summary.latency_p95 if n else None
        refs["latency_p95_ms"] = reference.latency_p95_ms
    live = None
    if summary.reviewed:
        live = _wilson(summary.correct, summary.reviewed)
        if "live_accuracy" in thresholds and summary.reviewed >= 20:
            values["live_accuracy"] = live.value
    signals = [_signal(name, value, refs.get(name), thresholds.get(name)) for name, value in values.items()]
    order = {"ok": 0, "no_data": 0, "warn": 1, "alert": 2}
    worst = max((s.status for s in signals), key=lambda s: order[s], default="ok")
    status = worst if worst in ("warn", "alert") else "ok"
    return Window(
        index=summary.index,
        start=summary.start,
        end=summary.end,
        n=n,
        signals=signals,
        status=status,
        reasons=[s.detail for s in signals if s.status in ("warn", "alert")],
        examples=list(summary.sample_texts[:5]) if status != "ok" else [],
        live_accuracy=live,
        reviewed=summary.reviewed,
    )


def _signal(name: str, value: float | None, reference: float | None, limits: dict[str, float] | None) -> Signal:
    higher_is_worse = name not in _LOWER_IS_WORSE
    if value is None or limits is None:
        return Signal(name=name, value=value, reference=reference, status="no_data" if value is None else "ok")
    warn, alert = limits["warn"], limits["alert"]
    worse = (lambda v, t: v > t) if higher_is_worse else (lambda v, t: v < t)
    status = "alert" if worse(value, alert) else "warn" if worse(value, warn) else "ok"
    relation = ">" if higher_is_worse else "<"
    detail = ""
    if status != "ok":
        limit = alert if status == "alert" else warn
        ref = f" (reference {reference:.3g})" if reference is not None else ""
        detail = f"{name} {value:.3g} {relation} {status} threshold {limit:.3g}{ref}"
    return Signal(
        name=name,
        value=float(value),
        reference=reference,
        warn=warn,
        alert=alert,
        higher_is_worse=higher_is_worse,
        status=status,
        detail=detail,
    )


def _detector(model: Any) -> dict[str, float | None]:
    """The out-of-scope detector's validation recall and false-flag rate, and the share it assumes."""
    rule = getattr(model, "oos_rule_", None)
    if rule is None:
        return {}
    used = rule.validation.get(rule.score)
    if used is None or used.false_flag_rate is None:
        return {}
    return {
        "oos_detector_recall": used.recall,
        "oos_false_flag_rate": used.false_flag_rate,
        "oos_assumed_share": rule.expected_rate if rule.expected_rate is not None else rule.validation_rate,
    }


def _wilson(correct: int, n: int, z: float = 1.96) -> Estimate:
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Estimate(value=p, low=float(max(0.0, centre - half)), high=float(min(1.0, centre + half)))


def _vocabulary(texts: Any, limit: int = 50_000) -> set[str]:
    from collections import Counter

    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_TOKEN.findall(str(text).lower()))
    return {word for word, _ in counts.most_common(limit)}


def _oov_rate(texts: Any, vocabulary: set[str]) -> float:
    total = unknown = 0
    for text in texts:
        tokens = _TOKEN.findall(str(text).lower())
        total += len(tokens)
        unknown += sum(1 for t in tokens if t not in vocabulary)
    return unknown / total if total else 0.0


def _embed(texts: list[str]) -> np.ndarray:
    from tailorml.paths.embedding import embed_texts

    return np.asarray(embed_texts(texts), dtype=np.float32)


def _embedding_p(reference: np.ndarray, texts: list[str]) -> float | None:
    """p-value of an MMD permutation test: window inputs vs. reference inputs, on sentence embeddings.

    MMD detects a new intent at 10% of a window's traffic, where a domain classifier's AUC
    cannot (measured in tests/test_drift_stats.py), and its false-alarm rate is its threshold.
    """
    from tailorml.monitoring.embedding_drift import mmd_rbf

    if len(texts) < 20:
        return None
    return float(mmd_rbf(reference, _embed(list(texts)))[1])


def _evaluated_latency(champion: ModelVersion) -> float | None:
    from tailorml.results import Evaluation

    path = champion.tags.get("tailorml.evaluation")
    if not path or not Path(path).is_file():
        return None
    evaluation = Evaluation.load(path)
    for candidate in evaluation.candidates:
        if candidate.run_id == champion.run_id and "latency_p95_ms" in candidate.metrics:
            return candidate.metrics["latency_p95_ms"].value
    return None


def send_alerts(spec: Spec, report: MonitorReport, *, only_latest: bool = True) -> list[str]:
    """Send alerting windows to the spec's webhook and command; return what was sent where.

    With ``only_latest`` only the newest window counts, so a scheduled run alerts once per
    drifted window rather than repeating history.
    """
    windows = report.windows[-1:] if only_latest else report.windows
    alerting = [w for w in windows if w.status == "alert"]
    if not alerting:
        return []
    payload = {
        "project": report.project,
        "model": {"name": report.model_name, "version": report.model_version},
        "windows": [
            {"index": w.index, "start": w.start.isoformat(), "end": w.end.isoformat(), "n": w.n, "reasons": w.reasons}
            for w in alerting
        ],
    }
    body = json.dumps(payload).encode()
    sent = []
    alerts = spec.monitoring.alerts
    if alerts.webhook:
        request = urllib.request.Request(alerts.webhook, data=body, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                sent.append(f"webhook {alerts.webhook}: HTTP {response.status}")
        except OSError as exc:
            sent.append(f"webhook {alerts.webhook}: failed ({exc})")
    if alerts.command:
        done = subprocess.run(alerts.command, shell=True, input=body, capture_output=True, timeout=60)
        sent.append(f"command {alerts.command!r}: exit {done.returncode}")
    return sent
