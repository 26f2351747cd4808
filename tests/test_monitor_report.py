"""The monitoring report: self-contained, escaped, complete, small, and written atomically."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tailorml.monitoring.results import MonitorReport, Signal, Window
from tailorml.report.monitor import render_monitor_html, write_monitor_report
from tailorml.results import Estimate

XSS = "<script>alert(1)</script>"
START = dt.datetime(2025, 6, 2, 8, 0, tzinfo=dt.UTC)
DRIFT_FROM = 20

# name, warn, alert, reference, higher is worse, baseline value, value once drifted (None: no data)
SIGNALS: list[tuple[str, float, float, float | None, bool, float | None, float | None]] = [
    ("class_mix_psi", 0.1, 0.25, 0.0, True, 0.03, 0.34),
    ("confidence_psi", 0.1, 0.25, 0.0, True, 0.04, 0.19),
    ("embedding_auc", 0.6, 0.7, 0.5, True, 0.52, 0.78),
    ("abstention_rate", 0.08, 0.15, 0.04, True, 0.045, 0.11),
    ("mean_confidence", 0.8, 0.7, 0.86, False, 0.86, 0.74),
    ("input_length_psi", 0.1, 0.25, None, True, 0.02, 0.05),
    ("language_mix_psi", 0.1, 0.25, None, True, None, None),  # never enough data
    ("oov_rate", 0.05, 0.1, 0.01, True, 0.012, 0.02),
]


def judge(value: float | None, warn: float, alert: float, higher_is_worse: bool) -> str:
    """The status a monitor would give ``value``."""
    if value is None:
        return "no_data"
    sign = 1 if higher_is_worse else -1
    if sign * (value - alert) >= 0:
        return "alert"
    return "warn" if sign * (value - warn) >= 0 else "ok"


def make_report(n_windows: int = 30, n_signals: int = 8, seed: int = 7) -> MonitorReport:
    """Hourly windows of 1,000 requests; drift starts at window ``DRIFT_FROM``; reviews on every third window."""
    rng = random.Random(seed)
    specs = [SIGNALS[i % len(SIGNALS)] for i in range(n_signals)]
    names = [name if i < len(SIGNALS) else f"{name}_{i // len(SIGNALS)}" for i, (name, *_) in enumerate(specs)]
    windows = []
    for index in range(n_windows):
        drifted = index >= DRIFT_FROM
        signals = []
        for name, (_, warn, alert, reference, worse, base, shifted) in zip(names, specs, strict=True):
            centre = shifted if drifted else base
            value = None if centre is None else centre * (1 + rng.uniform(-0.08, 0.08))
            if name == "oov_rate" and index % 7 == 3:
                value = None  # a gap: too few tokens in that window
            status = judge(value, warn, alert, worse)
            detail = "" if status in ("ok", "no_data") else f"{name} {value:.3f} past its {status} threshold"
            signals.append(
                Signal(
                    name=name,
                    value=value,
                    reference=reference,
                    warn=warn,
                    alert=alert,
                    higher_is_worse=worse,
                    status=status,
                    detail=detail,
                )
            )
        flagged = [s for s in signals if s.status in ("warn", "alert")]
        status = "alert" if any(s.status == "alert" for s in flagged) else ("warn" if flagged else "ok")
        examples = [f"where is my card {index}-{k}" for k in range(7 if drifted else 2)]
        if index == DRIFT_FROM:
            examples[0] = f"pay {XSS} now"
        reviewed = 40 + index if index % 3 == 0 else 0
        accuracy = None
        if reviewed:
            acc = 0.9 - (0.12 if drifted else 0.0) + rng.uniform(-0.02, 0.02)
            half = 1.96 * math.sqrt(acc * (1 - acc) / reviewed)
            accuracy = Estimate(value=acc, low=acc - half, high=min(acc + half, 1.0))
        windows.append(
            Window(
                index=index,
                start=START + dt.timedelta(hours=index),
                end=START + dt.timedelta(hours=index + 1),
                n=1000 + 13 * index,
                signals=signals,
                status=status,
                reasons=[s.detail for s in flagged],
                examples=examples,
                live_accuracy=accuracy,
                reviewed=reviewed,
            )
        )
    return MonitorReport(
        project="support-intents",
        model_name="intent-router",
        model_version=3,
        reference={"data_version": "tickets@4f2a9c1", "rows": 12480, "source": "evaluation test split"},
        window_by="time",
        window_size="1 h",
        thresholds={
            name: {"warn": warn, "alert": alert} for name, (_, warn, alert, *_) in zip(names, specs, strict=True)
        },
        windows=windows,
        created_at=START + dt.timedelta(hours=n_windows, minutes=5),
        seconds=3.4,
    )


@pytest.fixture(scope="module")
def report() -> MonitorReport:
    return make_report()


@pytest.fixture(scope="module")
def written(report: MonitorReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_monitor_report(report, tmp_path_factory.mktemp("monitor") / "out")


@pytest.fixture(scope="module")
def page(written: Path) -> str:
    return written.read_text(encoding="utf-8")


REMOTE = re.compile(
    r"""(?:\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|@import|url\(\s*["']?\s*(?:https?:)?//|<link\b|<script\b|<iframe\b|<img\b""",
    re.IGNORECASE,
)


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not match the open one; void elements need no close."""

    VOID = frozenset({"meta", "br", "img", "hr", "input", "link", "path", "use", "line", "rect", "circle", "stop"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def test_page_loads_nothing_from_the_network(page: str) -> None:
    assert REMOTE.findall(page) == []
    assert "<?xml" not in page and "<metadata" not in page


def test_one_svg_per_signal_with_data_and_no_data_said_in_words(page: str, report: MonitorReport) -> None:
    with_data = [name for name, *_, base, _ in SIGNALS if base is not None]
    for name in with_data:
        assert page.count(f'aria-label="{name} per window') == 1, name
    assert 'aria-label="language_mix_psi: no data"' in page and "no data in any window" in page
    assert page.count("<svg") - page.count('<svg class="key"') == len(with_data) + 1  # + live accuracy
    assert "No data in 4 of 30 windows" in page  # oov_rate's gaps
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert "font-family" in page  # text kept as text


def test_every_flagged_window_is_in_the_table_with_its_reasons(page: str, report: MonitorReport) -> None:
    table = page[page.index('<section id="flagged">') : page.index('<section id="accuracy">')]
    alerting = [w for w in report.windows if w.status == "alert"]
    assert [w.index for w in alerting] == list(range(DRIFT_FROM, 30))
    for w in report.windows:
        row = re.search(rf'<tr class="(\w+)" id="window-{w.index}">(.*?)</tr>', table, re.S)
        if w.status == "ok":
            assert row is None
            continue
        assert row is not None and row.group(1) == w.status
        assert w.reasons and all(reason in row.group(2) for reason in w.reasons)
        assert row.group(2).count("<li>where is my card") <= 5
    assert "and 2 more" in table  # 7 examples, 5 shown
    # Every flagged cell of the status strip links to its row; each cell names its window on hover.
    assert page.count('href="#window-') == sum(w.status != "ok" for w in report.windows)
    assert 'title="window 20 · 2025-06-02 04:00 – 05:00 UTC' not in page
    assert 'title="window 20 · 2025-06-03 04:00 – 05:00 UTC · 1,260 requests · ALERT"' in page


def test_traffic_strings_are_escaped(page: str) -> None:
    assert XSS not in page
    assert "pay &lt;script&gt;alert(1)&lt;/script&gt; now" in page


def test_overall_status_is_text_and_symbol(page: str, report: MonitorReport) -> None:
    assert report.status == "alert"
    assert 'Overall status: <span class="badge alert"><span aria-hidden="true">✗</span> ALERT</span>' in page
    assert "10 of 30 windows alerted, the first at window 20 (2025-06-03 04:00 UTC)" in page
    assert "intent-router v3" in page and "tickets@4f2a9c1" in page and "12,480" in page
    assert "30 by time, 1 h each" in page and "3.4 s" in page


def test_live_accuracy_and_thresholds(page: str) -> None:
    assert page.count('aria-label="Live accuracy per window') == 1
    assert "in 10 of 30 windows" in page
    thresholds = page[page.index('<section id="thresholds">') :]
    assert (
        '<td><code>mean_confidence</code></td><td class="num">0.800</td><td class="num">0.700</td><td>lower</td>'
        in (thresholds)
    )


def test_quiet_run_without_reviews_or_windows() -> None:
    quiet = make_report(n_windows=4)
    for w in quiet.windows:
        w.live_accuracy = None
    page = render_monitor_html(quiet)
    assert 'Overall status: <span class="badge ok">' in page and "All 4 windows are within their thresholds." in page
    assert "No window warned or alerted." in page and "live accuracy is not known" in page
    empty = render_monitor_html(quiet.model_copy(update={"windows": []}))
    assert "This run has no windows" in empty and "No signals were computed." in empty


def test_write_is_atomic_and_the_page_is_well_formed(written: Path) -> None:
    assert written.name == "monitor.html"
    assert [p.name for p in written.parent.iterdir()] == ["monitor.html"]
    checker = TagBalance()
    checker.feed(written.read_text(encoding="utf-8"))
    checker.close()
    assert checker.stack == []
    assert checker.doctype == "DOCTYPE html"


def test_two_hundred_windows_and_ten_signals_stay_small() -> None:
    page = render_monitor_html(make_report(n_windows=200, n_signals=10))
    assert len(page.encode("utf-8")) < 1_000_000
    assert page.count('class="cell ') == 200
