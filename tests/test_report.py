"""The HTML report and the model card: self-contained, escaped, complete, written atomically."""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tailorml.errors import NotFoundError
from tailorml.report import render_html, render_model_card, write_model_card, write_report
from tailorml.report._format import fmt_interval, fmt_margin, fmt_value, quality_metric
from tailorml.results import (
    CandidateResult,
    ClassScore,
    Confusion,
    Diagnosis,
    Estimate,
    Evaluation,
    Gate,
    GroupScore,
    Latency,
    LearningPoint,
    ReliabilityBin,
)

INTENTS = [
    "card_arrival",
    "card_lost",
    "balance",
    "transfer_failed",
    "exchange_rate",
    "refund_pending",
    "pin_blocked",
    "top_up_failed",
    "cash_withdrawal",
    "direct_debit",
    "account_closed",
    "fees",
]
XSS = "<script>alert(1)</script>"
CV = "stratified 5-fold cross-validation over all 1,200 labeled rows (fewer than 2,000)"
USD_PER_HOUR = 0.08925

# name, path, accuracy, p50 latency (ms), throughput (1/s), size (MB), train seconds
PROFILES = [
    ("embedding-linear", "embedding-linear", 0.884, 9.1, 640.0, 91.0, 48.0),
    ("tfidf-linear", "tfidf-linear", 0.812, 1.1, 9200.0, 3.4, 6.2),
    ("finetuned", "finetuned", 0.913, 27.0, 48.0, 256.0, 1450.0),
    ("distilled", "distilled", 0.897, 12.5, 410.0, 64.0, 980.0),
]
OBJECTIVES = {
    "accuracy": Gate(metric="accuracy", bound="min", threshold=0.85, status="not_measured"),
    "latency_p95_ms": Gate(metric="latency_p95_ms", bound="max", threshold=50.0, status="not_measured"),
    "cost_per_1k_usd": Gate(metric="cost_per_1k_usd", bound="max", threshold=0.0005, status="not_measured"),
    "fairness_gap": Gate(metric="fairness_gap", bound="max", threshold=0.08, status="not_measured"),
}


def judge(objective: Gate, est: Estimate) -> Gate:
    """The gate an evaluator would write: pass, fail, or uncertain when the interval straddles."""
    sign = 1 if objective.bound == "min" else -1
    margin = sign * (est.value - objective.threshold)
    low, high = est.low if est.low is not None else est.value, est.high if est.high is not None else est.value
    straddles = low <= objective.threshold <= high
    status = "uncertain" if straddles else ("pass" if margin >= 0 else "fail")
    return objective.model_copy(
        update={"value": est.value, "low": est.low, "high": est.high, "status": status, "margin": margin}
    )


def make_candidate(index: int, labels: list[str], rng: random.Random, *, fairness: Estimate | None) -> CandidateResult:
    """One measured candidate with numbers that hang together (cost from throughput, gates from metrics)."""
    name, path, acc, p50, throughput, size, train_s = PROFILES[index]
    half = 1.96 * (acc * (1 - acc) / 1200) ** 0.5
    samples = sorted(p50 * rng.lognormvariate(0, 0.35) for _ in range(300))
    p95, p99 = samples[int(0.95 * 299)], samples[int(0.99 * 299)]
    cost = USD_PER_HOUR / 3600 / throughput * 1000
    metrics = {
        "accuracy": Estimate(value=acc, low=acc - half, high=acc + half),
        "macro_f1": Estimate(value=acc - 0.02, low=acc - 0.02 - half, high=acc - 0.02 + half),
        "ece": Estimate(value=0.021 + 0.01 * index, low=0.012 + 0.01 * index, high=0.03 + 0.01 * index),
        "latency_p95_ms": Estimate(value=p95, low=p95 * 0.92, high=p95 * 1.09),
        "cost_per_1k_usd": Estimate(value=cost),
        "model_size_mb": Estimate(value=size),
    }
    per_class = [
        ClassScore(label=label, precision=p, recall=r, f1=2 * p * r / (p + r), support=rng.randint(60, 140))
        for label in labels
        for p, r in [(min(0.99, acc + rng.uniform(-0.25, 0.1)), min(0.99, acc + rng.uniform(-0.25, 0.1)))]
    ]
    worst = sorted(per_class, key=lambda s: s.f1)
    confusions = [
        Confusion(true=worst[i].label, predicted=worst[-i - 1].label, count=18 - 3 * i, rate=(18 - 3 * i) / 100)
        for i in range(min(5, len(worst) // 2))
    ]
    edges = [i / 10 for i in range(11)]
    reliability = [
        ReliabilityBin(lower=lo, upper=hi, confidence=(lo + hi) / 2, accuracy=max(0.0, (lo + hi) / 2 - 0.04), count=c)
        for lo, hi, c in zip(edges[:-1], edges[1:], [0, 0, 3, 8, 15, 30, 52, 95, 210, 787], strict=True)
    ]
    groups = []
    if fairness is not None:
        groups = [
            GroupScore(
                column="channel",
                group=g,
                n=n,
                accuracy=acc + d * fairness.value,
                macro_f1=acc + d * fairness.value - 0.02,
            )
            for g, n, d in [("web", 610, 0.2), ("app", 420, 0.05), ("email", 170, -0.8)]
        ]
        metrics["fairness_gap"] = fairness
    candidate = CandidateResult(
        name=name,
        path=path,
        params={"C": 1.0, "max_features": 50000} if path == "tfidf-linear" else {"encoder": "all-MiniLM-L6-v2"},
        run_id=f"run{index:04d}abcdef",
        artifact_dir=f".tailor/runs/run{index:04d}/artifacts",
        metrics=metrics,
        per_class=per_class,
        confusions=confusions,
        reliability=reliability,
        latency=Latency(
            p50_ms=samples[150],
            p95_ms=p95,
            p99_ms=p99,
            samples_ms=samples,
            throughput_per_s=throughput,
            threads=2,
            peak_memory_mb=180.0 + size,
            size_mb=size,
        ),
        groups=groups,
        train_seconds=train_s,
    )
    gates = [judge(o, metrics[m]) for m, o in OBJECTIVES.items() if m in metrics]
    return candidate.model_copy(update={"gates": gates, "passed": all(g.status == "pass" for g in gates)})


def make_evaluation(
    *,
    candidates: int = 3,
    classes: int = 12,
    labels: list[str] | None = None,
    chosen: bool = True,
    quality_method: str = "holdout: the test side of split seed7-test0.2",
) -> Evaluation:
    """A realistic evaluation: the first candidate has groups; without a choice, a diagnosis."""
    rng = random.Random(7)
    labels = labels or [INTENTS[i % len(INTENTS)] + ("" if i < len(INTENTS) else f"_{i}") for i in range(classes)]
    # The first candidate is measured on groups; without a choice, its fairness gap fails.
    fairness = Estimate(value=0.052, low=0.031, high=0.074) if chosen else Estimate(value=0.112, low=0.081, high=0.143)
    results = [make_candidate(i, labels, rng, fairness=fairness if i == 0 else None) for i in range(candidates)]
    names = [c.name for c in results]
    diagnosis = None
    if not chosen:
        diagnosis = Diagnosis(
            failed_gates={c.name: [g for g in c.gates if g.status != "pass"] for c in results},
            worst_classes=sorted(results[0].per_class, key=lambda s: s.f1)[:5],
            confused_pairs=results[0].confusions,
            learning_curve=[
                LearningPoint(fraction=f, n_train=int(2400 * f), accuracy=0.6 + 0.22 * f**0.5)
                for f in (0.1, 0.25, 0.5, 1)
            ],
            labels_needed=5200,
            advice=[
                "Label about 2,800 more rows, mostly for card_lost and pin_blocked, to reach accuracy 0.85.",
                "Export finetuned to int8 ONNX to bring latency_p95_ms under 50 ms.",
            ],
        )
    return Evaluation(
        project="support-intents",
        spec_hash="sha256:9f2c1e7a",
        data_version="v3-5d41402a",
        split="seed7-test0.2",
        test_rows=1200,
        quality_method=quality_method,
        hardware={
            "profile": "cpu-2",
            "instance": "c7i.large",
            "vcpus": 2,
            "usd_per_hour": USD_PER_HOUR,
            "prices_as_of": "2025-06",
            "prices_source": "AWS EC2 on-demand list prices, us-east-1, Linux",
        },
        objectives=OBJECTIVES,
        candidates=results,
        chosen=names[0] if chosen else None,
        reason=(
            "embedding-linear passes every gate and is the cheapest that does (cost per 1k $0.0000387)."
            if chosen
            else "No candidate passes every gate: tfidf-linear misses accuracy by 3.8 pp; finetuned costs too much."
        ),
        pareto=[n for n in names if n != "distilled"],
        diagnosis=diagnosis,
        created_at="2025-06-14T09:30:00Z",
    )


LINEAGE = {
    "data_version": "v3-5d41402a",
    "parent": "v2-7d793037",
    "source": "https://example.com/exports/tickets.csv",
    "transforms": ["normalize whitespace", "redact PII", "drop near-duplicates"],
    "spec_hash": "sha256:9f2c1e7a",
    "git_commit": "0cc7096",
}


@pytest.fixture(scope="module")
def chosen_html() -> str:
    return render_html(make_evaluation(), lineage=LINEAGE)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The report and card of an evaluation where nothing passed, written to a fresh folder."""
    folder = tmp_path_factory.mktemp("report") / "out"
    evaluation = make_evaluation(candidates=2, chosen=False, quality_method=CV)
    report = write_report(evaluation, folder, lineage=LINEAGE)
    card = write_model_card(evaluation, "embedding-linear", folder)
    return folder, report, card


@pytest.fixture(scope="module")
def failed_html(written: tuple[Path, Path, Path]) -> str:
    return written[1].read_text(encoding="utf-8")


REMOTE = re.compile(
    r"""(?:\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|@import|url\(\s*["']?\s*(?:https?:)?//|<link\b|<script\b|<iframe\b""",
    re.IGNORECASE,
)


def test_html_loads_nothing_from_the_network(chosen_html: str, failed_html: str) -> None:
    for page in (chosen_html, failed_html):
        assert REMOTE.findall(page) == []
    # The lineage source is shown as text, not as a link.
    assert "https://example.com/exports/tickets.csv" in chosen_html


def test_html_has_one_svg_per_plot(chosen_html: str, failed_html: str) -> None:
    per_candidate = ("Per-class F1", "Reliability diagram", "Latency histogram")
    for title in per_candidate:
        assert chosen_html.count(f'aria-label="{title}') == 3
    assert chosen_html.count('aria-label="Pareto front') == 1
    assert chosen_html.count("<svg") == 3 * 3 + 1
    assert failed_html.count('aria-label="Learning curve') == 1
    assert failed_html.count("<svg") == 2 * 3 + 2
    assert "font-family" in chosen_html and "<path d=" in chosen_html  # text kept as text
    assert "<?xml" not in chosen_html and "<metadata" not in chosen_html


def test_svg_ids_are_unique_across_plots(chosen_html: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', chosen_html)
    assert len(ids) == len(set(ids))


def test_html_names_every_candidate_objective_and_the_decision(chosen_html: str) -> None:
    evaluation = make_evaluation()
    for candidate in evaluation.candidates:
        assert candidate.name in chosen_html
    for objective in evaluation.objectives:
        assert f"<code>{objective}</code>" in chosen_html
    assert 'Chosen: <a href="#candidate-1">embedding-linear</a>' in chosen_html
    assert evaluation.reason in chosen_html
    assert "c7i.large" in chosen_html and "2025-06" in chosen_html and "$0.08925/h" in chosen_html


def test_objective_cells_show_interval_status_and_margin(chosen_html: str) -> None:
    # embedding-linear accuracy 0.884 against >= 0.85: passes by 3.4 points.
    assert "88.4%" in chosen_html and "[86.6, 90.2]%" in chosen_html and "margin +3.4 pp" in chosen_html
    for status in ("pass", "fail", "uncertain", "not measured"):
        assert f"</span> {status}</span>" in chosen_html, status


def test_failed_evaluation_shows_the_diagnosis(failed_html: str) -> None:
    assert "No candidate passed every gate" in failed_html
    assert "Label about 2,800 more rows" in failed_html
    assert "5,200" in failed_html
    assert 'id="diagnosis"' in failed_html


def test_cross_validation_is_stated_only_when_used(chosen_html: str, failed_html: str) -> None:
    assert "estimated by cross-validation" in failed_html
    assert "cross-validation" not in chosen_html
    assert "one held-out test split of 1,200 rows" in chosen_html
    assert CV in failed_html


def test_user_strings_are_escaped() -> None:
    evaluation = make_evaluation(candidates=1, labels=[XSS, *INTENTS[:11]])
    evaluation.candidates[0].name = f"emb {XSS}"
    evaluation.chosen = evaluation.candidates[0].name
    page = render_html(evaluation, lineage={"source": XSS})
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    card = render_model_card(evaluation, evaluation.chosen)
    # Markdown shows code spans literally; anywhere else the tag must be escaped.
    assert XSS not in re.sub(r"`[^`]*`", "", card)
    assert f"`emb {XSS}`" in card


def test_lineage_keys_are_listed(chosen_html: str) -> None:
    for key in ("data version", "parent", "source", "transforms", "spec hash", "git commit"):
        assert f"<dt>{key}</dt>" in chosen_html
    assert "<li>redact PII</li>" in chosen_html


def test_model_card_has_metrics_with_intervals_and_every_objective() -> None:
    evaluation = make_evaluation()
    card = render_model_card(evaluation, "finetuned", intended_use="Route support tickets | triage.")
    assert "| Metric | Value | 95% interval |" in card
    assert "| `accuracy` | 91.3% | [89.7, 92.9]% |" in card
    objective_rows = [line for line in card.splitlines() if line.startswith("| `") and ("≥" in line or "≤" in line)]
    assert {row.split("`")[1] for row in objective_rows} == set(evaluation.objectives)
    assert "| `accuracy` | ≥ 85.0% | 91.3% | [89.7, 92.9]% | ✓ pass | +6.3 pp |" in card
    assert "✗ fail" in card and "? uncertain" in card and "– not measured" in card
    assert "Route support tickets \\| triage." in card
    assert "did **not** pass every gate" in card


def test_model_card_sections_for_the_chosen_candidate() -> None:
    evaluation = make_evaluation()
    card = render_model_card(evaluation, "embedding-linear", lineage=LINEAGE)
    for heading in (
        "Model details",
        "Intended use",
        "Training data",
        "Evaluation data and method",
        "Metrics",
        "Objectives",
        "Per-group results",
        "Calibration",
        "Limitations",
        "How to reproduce",
    ):
        assert f"\n## {heading}\n" in card
    assert "| `channel` | `email` | 170 |" in card
    assert "Expected calibration error (ECE): 2.1% [1.2, 3.0]%." in card
    assert "Out-of-scope inputs: none were measured." in card
    assert "sha256:9f2c1e7a" in card and "0cc7096" in card
    assert "one of the 12 labels" in card


def test_model_card_for_an_unknown_candidate_names_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match="'nope'") as info:
        render_model_card(make_evaluation(), "nope")
    assert info.value.hint is not None and "tfidf-linear" in info.value.hint


def test_writers_are_atomic_and_the_html_is_well_formed(written: tuple[Path, Path, Path]) -> None:
    folder, report, card = written
    assert sorted(p.name for p in folder.iterdir()) == ["model_card.md", "report.html"]
    assert report == folder / "report.html" and card == folder / "model_card.md"
    assert "## Limitations" in card.read_text(encoding="utf-8")
    checker = TagBalance()
    checker.feed(report.read_text(encoding="utf-8"))
    checker.close()
    assert checker.stack == []
    assert checker.doctype == "DOCTYPE html"


def test_four_candidates_with_77_classes_stay_small() -> None:
    page = render_html(make_evaluation(candidates=4, classes=77), lineage=LINEAGE)
    assert len(page.encode("utf-8")) < 1_500_000
    assert page.count("The 30 worst of 77 classes by F1.") == 4


def test_numbers_read_in_their_unit() -> None:
    assert fmt_value("accuracy", 0.9134) == "91.3%"
    assert fmt_interval("latency_p95_ms", 11.24, 13.5) == "[11.2, 13.5] ms"
    assert fmt_value("cost_per_1k_usd", 0.0000387) == "$0.0000387"
    assert fmt_margin("accuracy", -0.038) == "−3.8 pp"
    assert fmt_margin("latency_p95_ms", 2.5) == "+2.50 ms"
    assert fmt_value("throughput_per_s", 9200) == "9,200/s"
    assert fmt_value("accuracy", None) == "—"


VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class TagBalance(HTMLParser):
    """Fails on an end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def test_out_of_scope_metrics_shape_the_card_and_the_quality_axis() -> None:
    evaluation = make_evaluation(candidates=1)
    candidate = evaluation.candidates[0]
    candidate.metrics["oos_recall"] = Estimate(value=0.81, low=0.74, high=0.87)
    candidate.metrics["in_scope_accuracy"] = Estimate(value=0.902, low=0.886, high=0.917)
    card = render_model_card(evaluation, candidate.name)
    assert "Out-of-scope behaviour: share of out-of-scope inputs caught 81.0%" in card
    assert quality_metric(evaluation) == "in_scope_accuracy"


def test_a_sparse_evaluation_still_renders() -> None:
    bare = CandidateResult(
        name="baseline",
        path="tfidf-linear",
        artifact_dir="runs/1",
        metrics={"accuracy": Estimate(value=float("nan")), "cost_per_1k_usd": Estimate(value=0.001)},
        train_seconds=2.0,
    )
    evaluation = make_evaluation(candidates=1).model_copy(
        update={"candidates": [bare], "objectives": {}, "chosen": None, "pareto": [], "hardware": {"gpu": "none"}}
    )
    page = render_html(evaluation)
    assert "No per-class scores recorded." in page and "The spec sets no objectives." in page
    assert "n/a" in page and "No lineage was recorded" in page
    card = render_model_card(evaluation, "baseline")
    assert "| `accuracy` | n/a | — |" in card and "The spec sets no objectives." in card


def test_the_out_of_scope_note_says_which_rule_chose_the_threshold_and_what_it_could_show() -> None:
    from tailorml.report.html import _oos_note
    from tailorml.results import OutOfScopeScore, OutOfScopeSummary

    def summary(rule: str, **bounds: float) -> OutOfScopeSummary:
        used = OutOfScopeScore(
            score="energy", auroc=0.98, threshold=-5.8, recall=0.91, in_scope_accuracy=0.966, rule=rule, **bounds
        )
        return OutOfScopeSummary(
            score="energy",
            threshold=-5.8,
            rule=rule,
            target_recall=0.8,
            min_in_scope_accuracy=0.96,
            confidence=0.95,
            expected_rate=0.18,
            validation_rate=0.032,
            validation=[used],
        )

    kept = _oos_note(summary("keep_in_scope_accuracy", in_scope_lower_bound=0.9601))
    assert "flag as many inputs as keep in-scope accuracy at 96.0% with 95% confidence" in kept
    assert "point estimate" not in kept and "from validation's share (3.2%)" in kept and "(18.0%)" in kept
    unsure = _oos_note(summary("keep_in_scope_accuracy", in_scope_lower_bound=0.954))
    assert "lower bound of its validation in-scope accuracy: 95.4%" in unsure and "point estimate decided" in unsure
    fallback = _oos_note(summary("reach_recall", recall_lower_bound=0.801))
    assert "reach out-of-scope recall 80.0%" in fallback and "no threshold kept in-scope accuracy at 96.0%" in fallback
