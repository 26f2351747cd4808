"""Windows over the request log: every count, histogram and sample checked against the rows written.

PostgreSQL runs when ``TAILOR_TEST_POSTGRES_URL`` is set (``export "$(scripts/postgres.sh)"``);
each database gets its own schema.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from tailorml.errors import NotFoundError, TailorError
from tailorml.monitoring.stats import Histogram
from tailorml.monitoring.windows import (
    LATENCY_EDGES_MS,
    NO_LABEL,
    WindowSpec,
    WindowSummary,
    window_summaries,
)
from tailorml.serving.requestlog import RequestLog
from tests._postgres import fresh_schema_url

T0 = datetime(2026, 1, 5, 12, 3, tzinfo=UTC)  # 3 min into a 10-min span: the first time window is partial
N = 2_400
LENGTH_EDGES = np.array([-np.inf, 5.0, 10.0, 20.0, 40.0, np.inf])
BINS = 10
LABELS = ["order_status", "refund", "cancel", None]


def make_rows() -> list[dict[str, Any]]:
    """Rows with known fields; every third one is model version 2, interleaved with version 1."""
    rows = []
    for i in range(N):
        confidence = ((i * 37) % 101) / 100  # 0.0 ... 1.0, edges included
        rows.append(
            {
                "id": f"req-{i:05d}",
                "created_at": T0 + timedelta(seconds=1.5 * i),
                "model_name": "intent",
                "model_version": 2 if i % 3 == 0 else 1,
                "input_text": "x" * ((i * 7) % 45) + "é",
                "label": LABELS[i % 4],
                "confidence": confidence,
                "topk": [["order_status", confidence]],
                "abstained": confidence < 0.3,
                "latency_ms": 0.05 + (i % 97) * 1.3,
                "api_key_id": None,
            }
        )
    return rows


ROWS = make_rows()


def review_answer(i: int) -> str | None:
    """The answer given to abstained request i: its label, another label, or none (skipped/pending)."""
    return {0: ROWS[i]["label"] or "refund", 1: "other"}.get(i % 5)


def fill(url: str) -> None:
    with RequestLog(url) as log:
        for start in range(0, N, 700):
            log.record(ROWS[start : start + 700])
        for i, row in enumerate(ROWS):
            if not row["abstained"]:
                continue
            answer = review_answer(i)
            if answer is not None:
                log.answer_review(row["id"], answer, by="tester")
            elif i % 5 == 2:
                log.skip_review(row["id"], by="tester")


def expected(indices: list[int], k: int = 7) -> dict[str, Any]:
    """What a window holding rows ``indices`` (in log order) must report."""
    rows = [ROWS[i] for i in indices]
    labels: dict[str, int] = {}
    for row in rows:
        key = NO_LABEL if row["label"] is None else row["label"]
        labels[key] = labels.get(key, 0) + 1
    answered = [i for i in indices if ROWS[i]["abstained"] and review_answer(i) is not None]
    step = math.ceil(len(rows) / k)
    return {
        "n": len(rows),
        "label_counts": labels,
        "confidence": Histogram(np.linspace(0, 1, BINS + 1)).add([r["confidence"] for r in rows]).counts.tolist(),
        "length": Histogram(LENGTH_EDGES).add([len(r["input_text"]) for r in rows]).counts.tolist(),
        "latency": Histogram(LATENCY_EDGES_MS).add([r["latency_ms"] for r in rows]).counts.tolist(),
        "abstained": sum(r["abstained"] for r in rows),
        "reviewed": len(answered),
        "correct": sum(review_answer(i) == ROWS[i]["label"] for i in answered),
        "sample_texts": [rows[p]["input_text"] for p in range(0, len(rows), step)][:k],
    }


def observed(w: WindowSummary) -> dict[str, Any]:
    return {
        "n": w.n,
        "label_counts": w.label_counts,
        "confidence": w.confidence_hist.tolist(),
        "length": w.length_hist.tolist(),
        "latency": w.latency_hist.tolist(),
        "abstained": w.abstained,
        "reviewed": w.reviewed,
        "correct": w.correct,
        "sample_texts": w.sample_texts,
    }


def summaries(url: str | sa.Engine, spec: WindowSpec, **kwargs: Any) -> list[WindowSummary]:
    kwargs.setdefault("sample_per_window", 7)
    return window_summaries(url, spec=spec, confidence_bins=BINS, length_edges=LENGTH_EDGES, **kwargs)


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def log_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same filled log on SQLite and on PostgreSQL, written once per module."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('windows') / 'requests.db'}"
        fill(url)
        yield url
        return
    for url in fresh_schema_url():
        fill(url)
        yield url


# --- count windows ---------------------------------------------------------------------------


def test_count_windows_match_the_rows(log_url: str) -> None:
    got = summaries(log_url, WindowSpec("count", 500))
    assert [w.index for w in got] == [0, 1, 2, 3, 4]
    for w in got:
        indices = list(range(w.index * 500, min((w.index + 1) * 500, N)))
        assert observed(w) == expected(indices)
        assert w.start == ROWS[indices[0]]["created_at"]
        assert w.end == ROWS[indices[-1]]["created_at"]
    assert got[-1].n == 400  # the newest window is partial
    assert sum(w.reviewed for w in got) > 0 and 0 < sum(w.correct for w in got) < sum(w.reviewed for w in got)


def test_count_windows_of_one_model_version(log_url: str) -> None:
    version2 = [i for i in range(N) if i % 3 == 0]
    got = summaries(log_url, WindowSpec("count", 300), model_version=2)
    assert [w.n for w in got] == [300, 300, 200]
    for w in got:
        assert observed(w) == expected(version2[w.index * 300 : (w.index + 1) * 300])
    assert summaries(log_url, WindowSpec("count", 300), model_version=7) == []


def test_max_windows_keeps_the_newest(log_url: str) -> None:
    spec = WindowSpec("count", 500)
    full = summaries(log_url, spec)
    newest = summaries(log_url, spec, max_windows=2)
    assert [w.index for w in newest] == [3, 4]
    assert newest == full[-2:]
    assert len(summaries(log_url, spec, max_windows=50)) == 5


# --- time windows ----------------------------------------------------------------------------


def span_rows(start: datetime, end: datetime, version: int | None = None) -> list[int]:
    return [
        i
        for i, row in enumerate(ROWS)
        if start <= row["created_at"] < end and (version is None or row["model_version"] == version)
    ]


def test_time_windows_are_aligned_spans(log_url: str) -> None:
    got = summaries(log_url, WindowSpec("time", timedelta(minutes=10)))
    # 2,400 rows 1.5 s apart from 12:03 end at 13:02:58.5: spans 12:00, 12:10, ..., 13:00.
    assert [w.index for w in got] == list(range(7))
    assert got[0].start == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert got[-1].end == datetime(2026, 1, 5, 13, 10, tzinfo=UTC)
    for w in got:
        assert w.end - w.start == timedelta(minutes=10)
        assert observed(w) == expected(span_rows(w.start, w.end))
    assert [w.n for w in got] == [280, 400, 400, 400, 400, 400, 120]


def test_time_windows_skip_quiet_spans_and_filter_versions(log_url: str) -> None:
    got = summaries(log_url, WindowSpec("time", timedelta(seconds=45)), model_version=2, max_windows=3)
    every = summaries(log_url, WindowSpec("time", timedelta(seconds=45)), model_version=2)
    assert got == every[-3:]
    for w in every[:5] + got:
        assert observed(w) == expected(span_rows(w.start, w.end, version=2))
    assert every[0].index == 0 and every[-1].index == (ROWS[-1]["created_at"] - every[0].start) // timedelta(seconds=45)


# --- SQLite specifics ------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'requests.db'}"
    fill(url)
    return url


def test_gaps_keep_window_indices_and_sample_by_position(sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:  # as purge would: drop the oldest rows and a few others
        conn.execute("DELETE FROM requests WHERE rowid <= 620 OR rowid BETWEEN 700 AND 709")
    got = summaries(sqlite_url, WindowSpec("count", 500))
    assert [w.index for w in got] == [1, 2, 3, 4]
    assert observed(got[0]) == expected([i for i in range(620, 1000) if not 699 <= i <= 708])
    assert observed(got[1]) == expected(list(range(1000, 1500)))


def test_reads_without_writing(sqlite_url: str) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    summaries(sqlite_url, WindowSpec("count", 1000))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_accepts_an_open_engine_and_leaves_it_open(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    first = summaries(engine, WindowSpec("count", 1000))
    assert first == summaries(sqlite_url, WindowSpec("count", 1000))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM requests")).scalar() == N
    engine.dispose()


def test_empty_log_has_no_windows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    RequestLog(url).close()
    assert summaries(url, WindowSpec("count", 10)) == []
    assert summaries(url, WindowSpec("time", timedelta(hours=1))) == []
    assert summaries(url, WindowSpec("count", 10), model_version=1) == []


def test_summary_round_trips_through_json(sqlite_url: str) -> None:
    import json

    for w in summaries(sqlite_url, WindowSpec("count", 1000)):
        again = WindowSummary.from_dict(json.loads(json.dumps(w.to_dict(), allow_nan=False)))
        assert again == w and again.confidence_hist.dtype == np.int64
        assert again.latency_p95 == pytest.approx(w.latency_p95)
        assert 0 < w.latency_p95 <= max(r["latency_ms"] for r in ROWS)


def test_latency_p95_is_close_to_the_exact_one(sqlite_url: str) -> None:
    (w,) = summaries(sqlite_url, WindowSpec("count", N))
    exact = float(np.quantile([r["latency_ms"] for r in ROWS], 0.95))
    assert w.latency_p95 == pytest.approx(exact, rel=0.1)
    assert w.abstention_rate == pytest.approx(sum(r["abstained"] for r in ROWS) / N)


# --- errors ----------------------------------------------------------------------------------


def test_missing_file_and_missing_table(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        summaries(f"sqlite:///{tmp_path / 'nope.db'}", WindowSpec("count", 10))
    assert not (tmp_path / "nope.db").exists()
    sqlite3.connect(tmp_path / "other.db").close()
    with pytest.raises(NotFoundError, match="no table 'requests'"):
        summaries(f"sqlite:///{tmp_path / 'other.db'}", WindowSpec("count", 10))
    with pytest.raises(TailorError, match="not a request log URL"):
        summaries("mysql://x@y/z", WindowSpec("count", 10))


@pytest.mark.parametrize(
    ("by", "size", "message"),
    [
        ("count", 0, "whole number of requests >= 1; got 0"),
        ("count", timedelta(hours=1), "whole number of requests"),
        ("time", 60, "positive timedelta; got 60"),
        ("time", timedelta(0), "positive timedelta"),
        ("rows", 10, "'count' or 'time'; got 'rows'"),
    ],
)
def test_window_spec_is_checked(by: Any, size: Any, message: str) -> None:
    with pytest.raises(TailorError, match=message):
        WindowSpec(by, size)


def test_window_spec_describes_itself() -> None:
    assert WindowSpec("count", 10_000).describe() == "10,000 requests"
    assert WindowSpec("count", 1).describe() == "1 request"
    assert WindowSpec("time", timedelta(hours=1)).describe() == "1 h"
    assert WindowSpec("time", timedelta(minutes=90)).describe() == "90 min"
    assert WindowSpec("time", timedelta(days=7)).describe() == "7 d"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence_bins": 0}, "confidence_bins must be a whole number >= 1"),
        ({"sample_per_window": -1}, "sample_per_window must be a whole number >= 0"),
        ({"max_windows": 0}, "max_windows must be a whole number >= 1"),
        ({"model_version": "2"}, "model_version must be a whole number"),
        ({"length_edges": [3.0, 1.0]}, "length_edges: .*strictly increasing"),
    ],
)
def test_arguments_are_checked(sqlite_url: str, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"spec": WindowSpec("count", 10), "length_edges": LENGTH_EDGES, **kwargs}
    with pytest.raises(TailorError, match=message):
        window_summaries(sqlite_url, **args)
