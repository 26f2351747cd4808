"""The durable request log and the human review queue (SQLAlchemy Core).

The server writes every accepted request here before it sends the answer: the input
(redacted by the server, or here with ``redact_pii_kinds``), the prediction, its
calibrated confidence and top-k, whether the model abstained, the latency and the model
version. Abstained requests also enter the review queue, where people label them; those
answers are the fresh labeled data ``tailor retrain`` uses.

Databases
---------
``sqlite:///path/to/requests.db`` (the default; missing parent folders are created) or
``postgresql://user:password@host:5432/database`` (driven by psycopg 3, chosen for you).
SQLite connections run in WAL mode with ``busy_timeout=5000`` and ``synchronous=NORMAL``:
a committed row survives a killed or crashed process, but the last commits before a power
loss or an operating-system crash may be lost. ``durable_on_power_loss=True`` switches to
``synchronous=FULL`` (an fsync per commit, so slower writes) when that matters.

Writing
-------
:meth:`RequestLog.record` commits a list of rows in one transaction. A server uses
:class:`LogWriter`: request handlers hand it one row each and wait for the commit, while
one background thread commits the rows that arrive together in one transaction (group
commit), so the log keeps up with thousands of requests a second on SQLite.

Tables
------
``requests``
    id (the request id), created_at (UTC), model_name, model_version, input_text, label,
    confidence, topk (JSON list of ``[label, probability]``), abstained, latency_ms,
    api_key_id.
``review_queue``
    request_id, created_at, input_text, topk, predicted, status (``pending``,
    ``answered`` or ``skipped``), answer, answered_by, answered_at.

Example
-------
>>> log = RequestLog("sqlite:///" + str(tmp_path / "requests.db"))  # doctest: +SKIP
>>> with LogWriter(log) as writer:  # doctest: +SKIP
...     writer.submit(row).result()  # returns once the row is committed
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import numbers
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from tailorml.errors import DataError, NotFoundError, TailorError

__all__ = ["LogWriter", "RequestLog", "UTCDateTime", "mask_url", "open_database"]

_URL_HINT = "Use sqlite:///path/to/requests.db or postgresql://user:password@host:5432/database."
REVIEW_STATUSES = ("pending", "answered", "skipped")
_EXPORT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Rows of one burst arrive microseconds apart: this long without a new row ends a batch early.
_QUIET_S = 0.0001
_PURGE_CHUNK = 5_000  # rows deleted per transaction, so a big purge never blocks writers for long


# --- database connection (shared with serving/keys.py) ----------------------------------


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC (same on SQLite and PostgreSQL), read back as aware UTC.

    Naive datetimes given to it are taken to be UTC already.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Convert to naive UTC before writing."""
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Mark what the database returns as UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``, safe to show in messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))


def open_database(url: str, metadata: sa.MetaData, *, durable_on_power_loss: bool = False) -> Engine:
    """Connect to a ``sqlite:///`` or ``postgresql://`` URL and create ``metadata``'s missing tables.

    Parameters
    ----------
    url:
        ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
        ``postgresql://user:password@host:port/database`` (psycopg 3 is used for
        ``postgresql://``; an explicit ``postgresql+driver://`` is kept).
    metadata:
        The tables to create if they are missing.
    durable_on_power_loss:
        SQLite only: ``synchronous=FULL`` instead of ``NORMAL``.

    Returns
    -------
    Engine
        A pooled engine; SQLite connections have WAL mode and ``busy_timeout=5000`` set.

    Raises
    ------
    TailorError
        The URL is malformed, has another scheme, or the database cannot be opened; the
        message names the URL with its password masked.
    """
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, url, durable_on_power_loss)
    else:
        engine = _postgres_engine(parsed, url)
    try:
        _create_tables(engine, metadata)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise TailorError(
            f"cannot open database {mask_url(url)}: {_reason(exc)}.",
            hint=_open_hint(parsed),
        ) from exc
    return engine


def _create_tables(engine: Engine, metadata: sa.MetaData, attempts: int = 3) -> None:
    """Create missing tables; when processes race to create them, the losers try again."""
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                metadata.create_all(conn)
            return
        except sa.exc.DBAPIError as exc:
            # A server's workers start together: one creates a table between another's
            # existence check and its CREATE ("already exists"; on PostgreSQL sometimes a
            # unique violation in the catalog). The next attempt finds the table.
            raced = isinstance(exc, sa.exc.IntegrityError) or "already exists" in str(exc.orig)
            if not raced or attempt == attempts:
                raise


def _parse_url(url: str) -> URL:
    """Parse ``url``, pick the psycopg driver for PostgreSQL, reject other schemes."""
    if not isinstance(url, str) or not url.strip():
        raise TailorError(f"database URL must be a non-empty string; got {url!r}.", hint=_URL_HINT)
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise TailorError(f"cannot read database URL {mask_url(url)!r}.", hint=_URL_HINT) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername=f"postgresql+{driver or 'psycopg'}")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if parsed.database in (None, "", ":memory:"):
            raise TailorError(
                f"database URL {mask_url(url)!r} names no file; an in-memory database is lost on exit.",
                hint="Give a file: sqlite:///requests.db (relative) or sqlite:////var/lib/tailor/requests.db.",
            )
        return parsed
    raise TailorError(
        f"database URL {mask_url(url)!r} has scheme {parsed.drivername!r}; only sqlite and postgresql are supported.",
        hint=_URL_HINT,
    )


def _sqlite_engine(parsed: URL, url: str, durable_on_power_loss: bool) -> Engine:
    path = Path(str(parsed.database)).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TailorError(
            f"cannot create folder {path.parent} for database {mask_url(url)}: {exc.strerror}.",
            hint="Choose a path in a folder you can write to.",
        ) from exc
    engine = sa.create_engine(parsed.set(database=str(path)))
    sa.event.listen(engine, "connect", _sqlite_pragmas("FULL" if durable_on_power_loss else "NORMAL"))
    return engine


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    """Return a connect listener that sets the per-connection SQLite settings."""

    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        finally:
            cursor.close()

    return set_pragmas


def _postgres_engine(parsed: URL, url: str) -> Engine:
    # An unreachable host should fail in seconds, not after the OS's TCP timeout.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except ModuleNotFoundError as exc:
        raise TailorError(
            f"database URL {mask_url(url)} needs the PostgreSQL driver {exc.name!r}, which is not installed.",
            hint="pip install 'psycopg[binary]'",
        ) from exc


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's own message, first line only."""
    lines = str(exc.orig).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(exc.orig).__name__


def _open_hint(parsed: URL) -> str:
    if parsed.get_backend_name() == "sqlite":
        return "Check that the path is a file (not a folder) you can write to, on a local disk."
    return (
        "Check that the server runs and that the URL's host, port, user, password and database are right; "
        "for local tests run scripts/postgres.sh."
    )


# --- tables ---------------------------------------------------------------------------

metadata = sa.MetaData()

requests_table = sa.Table(
    "requests",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("model_name", sa.Text, nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("input_text", sa.Text, nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("topk", sa.Text, nullable=False),
    sa.Column("abstained", sa.Boolean, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("api_key_id", sa.Text),
    # (created_at, id) is the keyset iter_since pages on; it serves created_at filters too.
    sa.Index("ix_requests_created_at_id", "created_at", "id"),
)

review_table = sa.Table(
    "review_queue",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("input_text", sa.Text, nullable=False),
    sa.Column("topk", sa.Text, nullable=False),
    sa.Column("predicted", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("answer", sa.Text),
    sa.Column("answered_by", sa.Text),
    sa.Column("answered_at", UTCDateTime),
    sa.Index("ix_review_queue_status_created_at", "status", "created_at"),
)

_REQUIRED = tuple("id model_name model_version input_text label confidence topk abstained latency_ms".split())
_OPTIONAL = ("created_at", "api_key_id")
_ROW_HINT = (
    "A row needs id, model_name, model_version, input_text, label, confidence, topk, abstained and latency_ms; "
    "created_at and api_key_id are optional."
)


# --- the log ------------------------------------------------------------------------------


class RequestLog:
    """The durable log of served requests and the queue of abstained ones awaiting review.

    Parameters
    ----------
    url:
        ``sqlite:///path.db`` or ``postgresql://user:password@host:port/database``; tables
        are created if missing.
    durable_on_power_loss:
        SQLite only. ``False`` (default) keeps commits safe from a killed process;
        ``True`` also keeps them safe from power loss, at the cost of an fsync per commit.
    redact_pii_kinds:
        Kinds from :data:`tailorml.data.pii.PII_KINDS` to redact from ``input_text`` before
        writing. Empty by default: the server redacts before calling.

    Raises
    ------
    TailorError
        Bad URL, unreachable database, or unknown PII kind.
    """

    def __init__(
        self, url: str, *, durable_on_power_loss: bool = False, redact_pii_kinds: tuple[str, ...] = ()
    ) -> None:
        kinds = (redact_pii_kinds,) if isinstance(redact_pii_kinds, str) else tuple(redact_pii_kinds)
        if kinds:
            _redact_texts([], kinds)  # checks the kinds before connecting
        self.redact_pii_kinds = kinds
        self.url = mask_url(url)
        self._engine = open_database(url, metadata, durable_on_power_loss=durable_on_power_loss)

    def __repr__(self) -> str:
        return f"RequestLog({self.url!r})"

    def __enter__(self) -> RequestLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._engine.dispose()

    # --- writing ---

    def record(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Commit ``rows`` in one transaction; abstained rows also enter the review queue.

        Returns only after the commit. Each row holds ``id``, ``model_name``,
        ``model_version``, ``input_text``, ``label``, ``confidence``, ``topk`` (a list of
        ``[label, probability]``, or that list as a JSON string), ``abstained``,
        ``latency_ms`` and optionally
        ``created_at`` (default: now, UTC) and ``api_key_id``.

        Raises
        ------
        DataError
            A row is malformed, or one of the ids is already in the log (nothing is written).
        """
        prepared = [_prepare(row) for row in rows]
        if prepared:
            self._redact(prepared)
            self._insert(prepared)

    def _redact(self, rows: list[dict[str, Any]]) -> None:
        if self.redact_pii_kinds:
            texts = _redact_texts([row["input_text"] for row in rows], self.redact_pii_kinds)
            for row, text in zip(rows, texts, strict=True):
                row["input_text"] = text

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert prepared rows (and review entries) in one transaction."""
        reviews = [_review_entry(row) for row in rows if row["abstained"]]
        try:
            with self._engine.begin() as conn:
                conn.execute(requests_table.insert(), rows)
                if reviews:
                    conn.execute(review_table.insert(), reviews)
        except sa.exc.IntegrityError as exc:
            ids = ", ".join(repr(row["id"]) for row in rows[:3]) + (", ..." if len(rows) > 3 else "")
            raise DataError(
                f"request log already holds a request with one of the ids {ids}; nothing was written.",
                hint="Give every request its own id (the server uses a random UUID).",
            ) from exc

    # --- reading ---

    def count(self) -> int:
        """Number of requests in the log."""
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(requests_table)).scalar_one())

    def tail(self, n: int = 20) -> list[dict[str, Any]]:
        """The ``n`` newest requests, newest first."""
        _check_whole("n", n, minimum=0)
        query = (
            sa.select(requests_table).order_by(requests_table.c.created_at.desc(), requests_table.c.id.desc()).limit(n)
        )
        with self._engine.connect() as conn:
            return [_request_dict(row) for row in conn.execute(query)]

    def iter_since(self, since: datetime | None = None, *, batch: int = 10_000) -> Iterator[dict[str, Any]]:
        """Stream requests created at or after ``since`` (all when None), oldest first.

        Reads ``batch`` rows per query, paging on ``(created_at, id)``, so memory stays
        bounded and no transaction stays open between pages: rows committed meanwhile
        with a later timestamp are included.
        """
        _check_whole("batch", batch, minimum=1)
        start = None if since is None else _timestamp(since, "since")
        return self._pages(start, batch)

    def _pages(self, since: datetime | None, batch: int) -> Iterator[dict[str, Any]]:
        cols = requests_table.c
        base = sa.select(requests_table).order_by(cols.created_at, cols.id).limit(batch)
        if since is not None:
            base = base.where(cols.created_at >= since)
        page = self._page(base)
        while page:
            yield from page
            if len(page) < batch:
                return
            last = page[-1]
            after = sa.or_(
                cols.created_at > last["created_at"],
                sa.and_(cols.created_at == last["created_at"], cols.id > last["id"]),
            )
            page = self._page(base.where(after))

    def _page(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            return [_request_dict(row) for row in conn.execute(query)]

    def export(self, path: str | os.PathLike[str], *, since: datetime | None = None) -> int:
        """Write requests (oldest first) to ``.csv`` or ``.jsonl`` by extension; return how many.

        The file is written beside the target and renamed over it, so readers never see
        a half-written export. In CSV, ``topk`` is a JSON string and ``abstained`` is
        ``true``/``false``; in JSON Lines both keep their JSON types. Timestamps are ISO
        8601 with a UTC offset.
        """
        target = Path(path)
        fmt = _EXPORT_FORMATS.get(target.suffix.lower())
        if fmt is None:
            raise TailorError(
                f"cannot export requests to {target}: unknown extension {target.suffix!r}.",
                hint="End the file name with .csv or .jsonl.",
            )
        rows = self.iter_since(since)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                written = _write_csv(handle, rows) if fmt == "csv" else _write_jsonl(handle, rows)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def purge(self, older_than_days: int) -> int:
        """Delete requests created more than ``older_than_days`` days ago, and their review entries.

        Deletes in chunks of a few thousand rows per transaction so that writers are never
        blocked for long. Answered reviews of those requests go too: export or retrain first
        if you need their labels. Returns the number of requests deleted.
        """
        _check_whole("older_than_days", older_than_days, minimum=0)
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        old = (
            sa.select(requests_table.c.id)
            .where(requests_table.c.created_at < cutoff)
            .order_by(requests_table.c.created_at)
            .limit(_PURGE_CHUNK)
        )
        deleted = 0
        while ids := self._scalars(old):
            with self._engine.begin() as conn:
                conn.execute(review_table.delete().where(review_table.c.request_id.in_(ids)))
                conn.execute(requests_table.delete().where(requests_table.c.id.in_(ids)))
            deleted += len(ids)
        return deleted

    def _scalars(self, query: sa.Select[Any]) -> list[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def integrity_check(self) -> str:
        """``"ok"`` when the database is sound; otherwise SQLite's list of problems.

        SQLite runs ``PRAGMA integrity_check`` (reads the whole file); PostgreSQL only
        checks that a query runs.
        """
        with self._engine.connect() as conn:
            if self._engine.dialect.name == "sqlite":
                return "\n".join(str(line) for line in conn.exec_driver_sql("PRAGMA integrity_check").scalars())
            conn.execute(sa.text("SELECT 1"))
            return "ok"

    # --- review queue ---

    def pending_reviews(self, limit: int = 20) -> list[dict[str, Any]]:
        """Up to ``limit`` requests waiting for a human label, oldest first."""
        _check_whole("limit", limit, minimum=0)
        cols = review_table.c
        query = (
            sa.select(review_table)
            .where(cols.status == "pending")
            .order_by(cols.created_at, cols.request_id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_review_dict(row) for row in conn.execute(query)]

    def answer_review(self, request_id: str, label: str, *, by: str) -> None:
        """Record ``label`` as the right answer for a queued request (pending or skipped).

        Raises
        ------
        NotFoundError
            No request ``request_id`` in the review queue.
        TailorError
            The request was already answered.
        """
        label = _required_text(label, "label")
        self._resolve(request_id, status="answered", answer=label, by=_required_text(by, "by"))

    def skip_review(self, request_id: str, *, by: str) -> None:
        """Take a queued request off the pending list without a label (it can still be answered later).

        Raises the same errors as :meth:`answer_review`.
        """
        self._resolve(request_id, status="skipped", answer=None, by=_required_text(by, "by"))

    def _resolve(self, request_id: str, *, status: str, answer: str | None, by: str) -> None:
        cols = review_table.c
        # One conditional UPDATE, so two reviewers racing cannot both answer.
        update = (
            review_table.update()
            .where(cols.request_id == request_id, cols.status != "answered")
            .values(status=status, answer=answer, answered_by=by, answered_at=datetime.now(UTC))
        )
        with self._engine.begin() as conn:
            if conn.execute(update).rowcount:
                return
            current = conn.execute(sa.select(cols.answered_by).where(cols.request_id == request_id)).first()
        if current is None:
            raise NotFoundError(
                f"review queue holds no request {request_id!r}.",
                hint="Only abstained requests are queued; list them with pending_reviews().",
            )
        raise TailorError(
            f"request {request_id!r} was already answered by {current.answered_by!r}.",
            hint="Each request is answered once; its answer is kept as training data.",
        )

    def answered_reviews(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Answered reviews (answered at or after ``since``), oldest answer first.

        Each holds request_id, created_at, input_text, topk, predicted, answer,
        answered_by and answered_at: ``input_text`` with ``answer`` is labeled data.
        """
        cols = review_table.c
        query = sa.select(review_table).where(cols.status == "answered").order_by(cols.answered_at, cols.request_id)
        if since is not None:
            query = query.where(cols.answered_at >= _timestamp(since, "since"))
        with self._engine.connect() as conn:
            return [_review_dict(row) for row in conn.execute(query)]

    def review_counts(self) -> dict[str, int]:
        """How many queued requests are pending, answered and skipped."""
        query = sa.select(review_table.c.status, sa.func.count()).group_by(review_table.c.status)
        counts = dict.fromkeys(REVIEW_STATUSES, 0)
        with self._engine.connect() as conn:
            counts.update({status: int(n) for status, n in conn.execute(query)})
        return counts


# --- group commit ---------------------------------------------------------------------------

_Item = tuple[dict[str, Any], Future[None]]


class LogWriter:
    """Commit rows from many threads or tasks in shared transactions (group commit).

    One background thread takes rows off a queue. It starts a batch with the first row
    waiting, adds the rows that arrive within ``max_delay_ms`` (at most ``max_batch``,
    and it stops early once no row came for 0.1 ms: the burst is over), and commits the
    batch in one transaction. Rows submitted while a commit runs queue up and leave
    together in the next one, so batches grow with load. Each row's future resolves once
    its batch is committed, or with the exception if the commit failed. A batch that
    fails on a duplicate request id is retried row by row, so only the offending row fails.

    A submitted row is always written: cancelling its future (or the asyncio task that
    awaits :meth:`write`) does not withdraw it.

    Parameters
    ----------
    log:
        Where rows go; its ``redact_pii_kinds`` apply.
    max_batch:
        Most rows per transaction.
    max_delay_ms:
        Longest a batch waits for more rows after its first; 0 commits what is queued.

    Example
    -------
    >>> with LogWriter(log) as writer:  # doctest: +SKIP
    ...     await writer.write(row)  # in a request handler
    """

    def __init__(self, log: RequestLog, *, max_batch: int = 256, max_delay_ms: float = 2.0) -> None:
        _check_whole("max_batch", max_batch, minimum=1)
        if isinstance(max_delay_ms, bool) or not isinstance(max_delay_ms, int | float) or not 0 <= max_delay_ms < 1e4:
            raise TailorError(
                f"max_delay_ms must be a number of milliseconds in [0, 10000); got {max_delay_ms!r}.",
                hint="Use a few milliseconds, e.g. max_delay_ms=2.0.",
            )
        self.log = log
        self.max_batch = max_batch
        self.max_delay_ms = float(max_delay_ms)
        self.committed_rows = 0
        self.committed_batches = 0
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def __enter__(self) -> LogWriter:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> LogWriter:
        """Start the writer thread (once; later calls do nothing). Returns self."""
        with self._lock:
            if self._closed:
                raise TailorError("this LogWriter is closed.", hint="Create a new LogWriter.")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tailorml-logwriter", daemon=True)
                self._thread.start()
        return self

    def submit(self, row: Mapping[str, Any]) -> Future[None]:
        """Queue ``row``; the returned future resolves once it is committed.

        Raises
        ------
        DataError
            The row is malformed (raised here, in the caller, before queueing).
        TailorError
            The writer is not started or already closed.
        """
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()  # a running future cannot be cancelled
        item = (_prepare(row), future)
        with self._lock:
            if self._thread is None or self._closed:
                state = "closed" if self._closed else "not started"
                raise TailorError(
                    f"LogWriter is {state}; cannot log request {item[0]['id']!r}.",
                    hint="Use it as `with LogWriter(log) as writer:` or call start() before submit().",
                )
            self._queue.put(item)
        return future

    async def write(self, row: Mapping[str, Any]) -> None:
        """Queue ``row`` and wait, without blocking the event loop, until it is committed."""
        await asyncio.wrap_future(self.submit(row))

    def close(self, timeout: float = 5) -> None:
        """Commit every row already queued, then stop the thread. Safe to call twice.

        Raises
        ------
        TailorError
            The queued rows were not committed within ``timeout`` seconds.
        """
        with self._lock:
            already, self._closed = self._closed, True
            if self._thread is None or already:
                return
            self._queue.put(None)  # rows queued before it are still written
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TailorError(
                f"LogWriter did not finish committing queued rows within {timeout} s.",
                hint="Pass a longer timeout to close(), and check that the database accepts writes.",
            )

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = self._gather(batch)
            self._commit(batch)

    def _gather(self, batch: list[_Item]) -> bool:
        """Add rows that arrive in time to ``batch``; return True once the stop mark is read."""
        delay = self.max_delay_ms / 1000
        deadline = time.monotonic() + delay
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                wait = min(deadline - time.monotonic(), _QUIET_S)
                if wait <= 0:
                    return False
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    return False  # the burst is over: commit now rather than idle
            if item is None:
                return True
            batch.append(item)
        return False

    def _commit(self, batch: list[_Item]) -> None:
        rows = [row for row, _ in batch]
        try:
            self.log._redact(rows)
            self.log._insert(rows)
        except DataError as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
            else:
                for item in batch:  # find the duplicate: each row in its own transaction
                    self._commit([item])
            return
        except Exception as exc:  # the thread must live on: the error belongs to the callers
            for _, future in batch:
                future.set_exception(exc)
            return
        self.committed_rows += len(batch)
        self.committed_batches += 1
        for _, future in batch:
            future.set_result(None)


# --- rows ----------------------------------------------------------------------------------


def _prepare(row: Mapping[str, Any]) -> dict[str, Any]:
    """Check one row and return the column values to insert."""
    if not isinstance(row, Mapping):
        raise DataError(f"a request log row must be a mapping; got {type(row).__name__}.", hint=_ROW_HINT)
    missing = [key for key in _REQUIRED if key not in row]
    unknown = sorted(str(key) for key in row if key not in _REQUIRED and key not in _OPTIONAL)
    if missing or unknown:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(unknown)}"] if unknown else []
        )
        raise DataError(f"request log row {row.get('id')!r}: {'; '.join(problems)}.", hint=_ROW_HINT)
    created_at = row.get("created_at")
    return {
        "id": _required_text(row["id"], "id"),
        "created_at": datetime.now(UTC) if created_at is None else _timestamp(created_at, "created_at"),
        "model_name": _required_text(row["model_name"], "model_name"),
        "model_version": _whole(row["model_version"], "model_version"),
        "input_text": _text(row["input_text"], "input_text"),
        "label": None if row["label"] is None else _text(row["label"], "label"),
        "confidence": _number(row["confidence"], "confidence"),
        "topk": _topk_json(row["topk"]),
        "abstained": _flag(row["abstained"], "abstained"),
        "latency_ms": _number(row["latency_ms"], "latency_ms"),
        "api_key_id": None if row.get("api_key_id") is None else _text(row["api_key_id"], "api_key_id"),
    }


def _review_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "request_id": row["id"],
        "created_at": row["created_at"],
        "input_text": row["input_text"],
        "topk": row["topk"],
        "predicted": row["label"],
        "status": "pending",
    }


def _request_dict(row: sa.Row[Any]) -> dict[str, Any]:
    out = dict(row._mapping)
    out["topk"] = json.loads(out["topk"])
    out["abstained"] = bool(out["abstained"])
    return out


def _review_dict(row: sa.Row[Any]) -> dict[str, Any]:
    out = dict(row._mapping)
    out["topk"] = json.loads(out["topk"])
    return out


def _redact_texts(texts: list[str], kinds: tuple[str, ...]) -> list[str]:
    from tailorml.data.pii import redact_pii  # pyarrow: only when redaction is asked for

    return [str(text) for text in redact_pii(texts, kinds=kinds).to_pylist()]


# --- field checks ----------------------------------------------------------------------------


def _bad(field: str, wanted: str, value: object) -> DataError:
    return DataError(f"request log field {field} must be {wanted}; got {value!r}.", hint=_ROW_HINT)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(field, "a string", value)
    return value


def _required_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(field, "a non-empty string", value)
    return value


def _whole(value: object, field: str) -> int:
    if type(value) is int:  # the common case, without the slower ABC check below
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _bad(field, "a whole number", value)
    return int(value)


def _number(value: object, field: str) -> float:
    # type() first: the common case skips the slower ABC check (numpy scalars need it).
    plain = type(value) is float or type(value) is int
    if not (plain or (isinstance(value, numbers.Real) and not isinstance(value, bool))):
        raise _bad(field, "a finite number", value)
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise _bad(field, "a finite number", value)
    return number


def _flag(value: object, field: str) -> bool:
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", None) == "b":
        return bool(value)
    raise _bad(field, "true or false", value)


def _timestamp(value: object, field: str) -> datetime:
    """A datetime in UTC; naive ones are taken to be UTC."""
    if not isinstance(value, datetime):
        raise _bad(field, "a datetime", value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _topk_json(value: object) -> str:
    """``[[label, probability], ...]`` (or that as a JSON string) as compact JSON."""
    wanted = "a list of [label, probability] pairs (or that list as JSON)"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad("topk", wanted, value) from None
    if not isinstance(value, list | tuple):
        raise _bad("topk", wanted, value)
    pairs = []
    for pair in value:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise _bad("topk", wanted, value)
        pairs.append([_text(pair[0], "topk label"), _number(pair[1], "topk probability")])
    return json.dumps(pairs, separators=(",", ":"))


def _check_whole(name: str, value: object, *, minimum: int) -> None:
    """Check a count argument (not a row field): a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TailorError(f"{name} must be a whole number >= {minimum}; got {value!r}.", hint=f"Pass e.g. {name}=20.")


# --- export ------------------------------------------------------------------------------------

_EXPORT_COLUMNS = [column.name for column in requests_table.columns]


def _export_value(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _write_csv(handle: IO[str], rows: Iterator[dict[str, Any]]) -> int:
    writer = csv.writer(handle)
    writer.writerow(_EXPORT_COLUMNS)
    written = 0
    for row in rows:
        row["topk"] = json.dumps(row["topk"], separators=(",", ":"))
        row["abstained"] = "true" if row["abstained"] else "false"
        writer.writerow(_export_value(row[name]) for name in _EXPORT_COLUMNS)
        written += 1
    return written


def _write_jsonl(handle: IO[str], rows: Iterator[dict[str, Any]]) -> int:
    written = 0
    for row in rows:
        handle.write(json.dumps({name: _export_value(row[name]) for name in _EXPORT_COLUMNS}, ensure_ascii=False))
        handle.write("\n")
        written += 1
    return written
