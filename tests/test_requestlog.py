"""The request log and review queue, on SQLite and (when available) PostgreSQL.

PostgreSQL runs when ``TAILOR_TEST_POSTGRES_URL`` is set (``export "$(scripts/postgres.sh)"``);
each test then gets its own schema, so tests can run in parallel.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tailorml.errors import DataError, NotFoundError, SpecError, TailorError
from tailorml.serving.requestlog import LogWriter, RequestLog
from tests._postgres import fresh_schema_url

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def make_row(i: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"req-{i:05d}",
        "created_at": T0 + timedelta(seconds=i),
        "model_name": "intent",
        "model_version": 3,
        "input_text": f"where is my order {i}",
        "label": "order_status",
        "confidence": 0.9,
        "topk": [["order_status", 0.9], ["refund", 0.1]],
        "abstained": False,
        "latency_ms": 4.5,
        "api_key_id": "k_3f9a2c1b",
    }
    row.update(overrides)
    return row


# --- databases -------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    yield from fresh_schema_url()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'logs' / 'requests.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def log(db_url: str) -> Iterator[RequestLog]:
    with RequestLog(db_url) as opened:
        yield opened


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'requests.db'}"


# --- writing and reading -------------------------------------------------------------------------


def test_record_then_tail_is_newest_first(log: RequestLog) -> None:
    log.record([make_row(i) for i in range(5)])
    rows = log.tail(3)
    assert [r["id"] for r in rows] == ["req-00004", "req-00003", "req-00002"]
    first = rows[0]
    assert first["created_at"] == T0 + timedelta(seconds=4)
    assert first["created_at"].tzinfo is not None
    assert first["topk"] == [["order_status", 0.9], ["refund", 0.1]]
    assert first["abstained"] is False
    assert (first["model_version"], first["api_key_id"]) == (3, "k_3f9a2c1b")
    assert log.count() == 5
    assert log.tail(0) == []


def test_topk_may_come_as_json_and_created_at_defaults_to_now(log: RequestLog) -> None:
    row = make_row(0, topk=json.dumps([["refund", 0.7]]))
    del row["created_at"]
    before = datetime.now(UTC)
    log.record([row])
    (got,) = log.tail(1)
    assert got["topk"] == [["refund", 0.7]]
    assert before - timedelta(seconds=1) <= got["created_at"] <= datetime.now(UTC) + timedelta(seconds=1)


def test_abstained_rows_enter_the_review_queue(log: RequestLog) -> None:
    log.record([make_row(0), make_row(1, abstained=True, label="refund", confidence=0.3)])
    (item,) = log.pending_reviews()
    assert item["request_id"] == "req-00001"
    assert (item["predicted"], item["status"], item["input_text"]) == ("refund", "pending", "where is my order 1")
    assert item["topk"] == [["order_status", 0.9], ["refund", 0.1]]
    assert log.review_counts() == {"pending": 1, "answered": 0, "skipped": 0}


def test_a_failed_record_writes_neither_requests_nor_reviews(log: RequestLog) -> None:
    log.record([make_row(0)])
    with pytest.raises(DataError, match="req-00000") as err:
        log.record([make_row(1, abstained=True), make_row(0)])  # the duplicate id fails the transaction
    assert "its own id" in str(err.value.hint)
    assert log.count() == 1
    assert log.review_counts()["pending"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": 3}, "label must be a string"),
        ({"model_version": "3"}, "model_version must be a whole number"),
        ({"confidence": float("nan")}, "confidence must be a finite number"),
        ({"abstained": "no"}, "abstained must be true or false"),
        ({"topk": [["a"]]}, "topk must be a list of"),
        ({"topk": "not json"}, "topk must be a list of"),
        ({"created_at": "2026-01-05"}, "created_at must be a datetime"),
        ({"id": ""}, "id must be a non-empty string"),
        ({"colour": "red"}, "unknown colour"),
    ],
)
def test_malformed_rows_are_refused_with_the_field_named(sqlite_url: str, change: dict[str, Any], message: str) -> None:
    with RequestLog(sqlite_url) as log:
        with pytest.raises(DataError, match=message):
            log.record([make_row(0, **change)])
        with pytest.raises(DataError, match="missing latency_ms"):
            log.record([{k: v for k, v in make_row(1).items() if k != "latency_ms"}])
        assert log.count() == 0


def test_iter_since_streams_in_keyset_pages_oldest_first(log: RequestLog) -> None:
    # Ten rows share one timestamp, so a page boundary falls inside a tie: the id breaks it.
    same = [make_row(i, created_at=T0 + timedelta(seconds=10)) for i in range(10, 20)]
    log.record([make_row(i) for i in range(10)] + same + [make_row(i) for i in range(20, 25)])
    rows = list(log.iter_since(batch=3))
    assert [r["id"] for r in rows] == [f"req-{i:05d}" for i in range(25)]
    later = [r["id"] for r in log.iter_since(T0 + timedelta(seconds=20), batch=4)]
    assert later == [f"req-{i:05d}" for i in range(20, 25)]
    assert list(log.iter_since(T0 + timedelta(days=1))) == []
    with pytest.raises(TailorError, match="batch must be a whole number >= 1"):
        log.iter_since(batch=0)


def test_naive_datetimes_are_taken_as_utc(log: RequestLog) -> None:
    log.record([make_row(0, created_at=datetime(2026, 1, 5, 12, 0))])
    assert log.tail(1)[0]["created_at"] == T0
    assert [r["id"] for r in log.iter_since(datetime(2026, 1, 5, 12, 0))] == ["req-00000"]


def test_export_round_trips_through_csv_and_jsonl(log: RequestLog, tmp_path: Path) -> None:
    log.record([make_row(i, abstained=i == 1) for i in range(3)])
    out = tmp_path / "out"
    assert log.export(out / "log.csv") == 3
    assert log.export(out / "log.jsonl", since=T0 + timedelta(seconds=1)) == 2
    with (out / "log.csv").open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [r["id"] for r in table] == ["req-00000", "req-00001", "req-00002"]
    assert [r["abstained"] for r in table] == ["false", "true", "false"]
    assert json.loads(table[0]["topk"]) == [["order_status", 0.9], ["refund", 0.1]]
    assert datetime.fromisoformat(table[0]["created_at"]) == T0
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines] == ["req-00001", "req-00002"]
    assert lines[0]["abstained"] is True and lines[0]["topk"][1] == ["refund", 0.1]
    assert sorted(p.name for p in out.iterdir()) == ["log.csv", "log.jsonl"]  # no temporary files left


def test_export_refuses_an_unknown_extension(log: RequestLog, tmp_path: Path) -> None:
    with pytest.raises(TailorError, match=r"unknown extension '\.xlsx'") as err:
        log.export(tmp_path / "out" / "log.xlsx")
    assert ".csv or .jsonl" in str(err.value.hint)
    assert not (tmp_path / "out").exists()


def test_purge_deletes_old_requests_and_their_reviews(log: RequestLog) -> None:
    now = datetime.now(UTC)
    old = [make_row(i, created_at=now - timedelta(days=40, seconds=i), abstained=i % 2 == 0) for i in range(6)]
    fresh = [make_row(i, created_at=now - timedelta(days=1), abstained=True) for i in range(6, 8)]
    log.record(old + fresh)
    log.answer_review("req-00000", "refund", by="ana")
    assert log.purge(30) == 6
    assert sorted(r["id"] for r in log.iter_since()) == ["req-00006", "req-00007"]
    assert log.review_counts() == {"pending": 2, "answered": 0, "skipped": 0}
    assert log.purge(30) == 0
    with pytest.raises(TailorError, match="older_than_days must be a whole number >= 0"):
        log.purge(-1)


def test_integrity_check_says_ok(log: RequestLog) -> None:
    log.record([make_row(0)])
    assert log.integrity_check() == "ok"


# --- review queue ---------------------------------------------------------------------------------


def test_review_answer_skip_and_their_errors(log: RequestLog) -> None:
    log.record([make_row(i, abstained=True) for i in range(3)])
    assert [r["request_id"] for r in log.pending_reviews(limit=2)] == ["req-00000", "req-00001"]
    log.answer_review("req-00000", "refund", by="ana")
    log.skip_review("req-00001", by="ben")
    assert log.review_counts() == {"pending": 1, "answered": 1, "skipped": 1}
    assert [r["request_id"] for r in log.pending_reviews()] == ["req-00002"]

    with pytest.raises(TailorError, match="already answered by 'ana'"):
        log.answer_review("req-00000", "other", by="ben")
    with pytest.raises(TailorError, match="already answered"):
        log.skip_review("req-00000", by="ben")
    with pytest.raises(NotFoundError, match="no request 'nope'") as err:
        log.answer_review("nope", "refund", by="ana")
    assert "pending_reviews" in str(err.value.hint)
    with pytest.raises(DataError, match="label must be a non-empty string"):
        log.answer_review("req-00002", " ", by="ana")

    log.answer_review("req-00001", "order_status", by="ana")  # a skipped request can still be answered
    assert log.review_counts() == {"pending": 1, "answered": 2, "skipped": 0}


def test_answered_reviews_are_labeled_data(log: RequestLog) -> None:
    log.record([make_row(i, abstained=True, input_text=f"text {i}") for i in range(3)])
    log.answer_review("req-00002", "refund", by="ana")
    log.answer_review("req-00000", "order_status", by="ben")
    answered = log.answered_reviews()
    assert [(r["input_text"], r["answer"], r["answered_by"]) for r in answered] == [
        ("text 2", "refund", "ana"),
        ("text 0", "order_status", "ben"),
    ]
    assert answered[0]["predicted"] == "order_status" and answered[0]["answered_at"].tzinfo is not None
    assert log.answered_reviews(since=datetime.now(UTC) + timedelta(minutes=1)) == []


# --- redaction ------------------------------------------------------------------------------------


def test_redaction_on_write_covers_the_log_and_the_queue(db_url: str) -> None:
    text = "refund to ana@example.org, call 555-123-4567"
    with RequestLog(db_url, redact_pii_kinds=("email",)) as log:
        log.record([make_row(0, input_text=text, abstained=True)])
        with LogWriter(log) as writer:
            writer.submit(make_row(1, input_text=text)).result(timeout=10)
        assert [r["input_text"] for r in log.iter_since()] == ["refund to [EMAIL], call 555-123-4567"] * 2
        assert log.pending_reviews()[0]["input_text"] == "refund to [EMAIL], call 555-123-4567"


def test_an_unknown_pii_kind_is_refused_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="PII kind must be one of"):
        RequestLog(f"sqlite:///{tmp_path / 'never' / 'requests.db'}", redact_pii_kinds=("emails",))
    assert not (tmp_path / "never").exists()


# --- group commit ---------------------------------------------------------------------------------


def test_log_writer_commits_rows_from_many_threads(db_url: str) -> None:
    log = RequestLog(db_url)
    other = RequestLog(db_url)  # a second connection pool: sees only committed rows
    with LogWriter(log) as writer:

        def submit_many(thread: int) -> None:
            for i in range(250):
                n = thread * 250 + i
                writer.submit(make_row(n, abstained=n % 50 == 0)).result(timeout=10)

        threads = [threading.Thread(target=submit_many, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Every future resolved, so every row is committed: visible before the writer closes.
        assert other.count() == 2000
        assert other.review_counts()["pending"] == 40
    assert writer.committed_rows == 2000
    assert writer.committed_batches < 2000  # rows shared transactions
    log.close()
    other.close()


def test_a_resolved_future_means_the_row_is_committed(sqlite_url: str) -> None:
    with RequestLog(sqlite_url) as log, LogWriter(log, max_delay_ms=50) as writer:
        writer.submit(make_row(7)).result(timeout=10)
        with RequestLog(sqlite_url) as other:
            assert [r["id"] for r in other.tail(1)] == ["req-00007"]


def test_close_drains_the_queue(sqlite_url: str) -> None:
    with RequestLog(sqlite_url) as log:
        writer = LogWriter(log, max_batch=16).start()
        futures = [writer.submit(make_row(i)) for i in range(500)]
        writer.close()
        assert all(f.done() and f.exception() is None for f in futures)
        assert log.count() == 500
        writer.close()  # twice is fine
        with pytest.raises(TailorError, match="LogWriter is closed"):
            writer.submit(make_row(999))
        with pytest.raises(TailorError, match="closed"):
            writer.start()


def test_log_writer_refuses_rows_before_start_and_bad_rows_at_once(sqlite_url: str) -> None:
    with RequestLog(sqlite_url) as log:
        writer = LogWriter(log)
        with pytest.raises(TailorError, match="not started") as err:
            writer.submit(make_row(0))
        assert "start()" in str(err.value.hint)
        with writer, pytest.raises(DataError, match="confidence"):
            writer.submit(make_row(0, confidence="high"))
        with pytest.raises(TailorError, match="max_delay_ms"):
            LogWriter(log, max_delay_ms=-1)
        with pytest.raises(TailorError, match="max_batch"):
            LogWriter(log, max_batch=0)


def test_a_duplicate_id_fails_only_its_own_row(sqlite_url: str) -> None:
    with RequestLog(sqlite_url) as log:
        log.record([make_row(1)])
        with LogWriter(log, max_delay_ms=100) as writer:
            futures = [writer.submit(make_row(i)) for i in (0, 1, 2)]
            outcomes = [f.exception(timeout=10) for f in futures]
        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], DataError)
        assert log.count() == 3


def test_async_write_waits_for_the_commit(sqlite_url: str) -> None:
    with RequestLog(sqlite_url) as log, LogWriter(log) as writer:

        async def handle_requests() -> None:
            await asyncio.gather(*(writer.write(make_row(i)) for i in range(50)))

        asyncio.run(handle_requests())
        assert log.count() == 50


# --- connection -----------------------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_and_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "requests.db"
    with RequestLog(f"sqlite:///{path}") as log:
        log.record([make_row(0)])
        with log._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with RequestLog(f"sqlite:///{path}", durable_on_power_loss=True) as log, log._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://ana:s3cret@db.example/requests", "scheme 'mysql'"),
        ("sqlite://", "names no file"),
        ("not a url", "cannot read database URL"),
        ("", "non-empty string"),
    ],
)
def test_a_bad_url_names_the_url_and_the_fix(url: str, message: str) -> None:
    with pytest.raises(TailorError, match=message) as err:
        RequestLog(url)
    assert "s3cret" not in str(err.value)
    assert "sqlite:///" in str(err.value.hint)


def test_an_unreachable_database_masks_the_password() -> None:
    with pytest.raises(TailorError, match=r"cannot open database postgresql://ana:\*\*\*@127\.0\.0\.1:1/x") as err:
        RequestLog("postgresql://ana:s3cret@127.0.0.1:1/x?connect_timeout=2")
    assert "s3cret" not in str(err.value)
    assert "scripts/postgres.sh" in str(err.value.hint)


def test_a_folder_is_not_a_database_file(tmp_path: Path) -> None:
    with pytest.raises(TailorError, match="cannot open database sqlite:///") as err:
        RequestLog(f"sqlite:///{tmp_path}")
    assert "not a folder" in str(err.value.hint)
