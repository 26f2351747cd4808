"""Read the request log in windows, aggregated by the database: never row by row in Python.

:func:`window_summaries` cuts the log into windows of ``size`` requests or of a time span
and returns, per window, the counts every drift and decay signal needs: the predicted-class
mix, histograms of confidence, input length and latency, abstentions, reviewed and correctly
predicted requests, and a small deterministic sample of input texts (for out-of-vocabulary
rate and embedding drift). Memory stays bounded whatever the size of the log: Python only
ever holds a few hundred numbers per window.

How it reads
------------
Every statement covers one window and is a single pass over that window's rows:

- one ``GROUP BY label`` (with a LEFT JOIN on answered review items, for ``reviewed`` and
  ``correct``, and the window's first and last timestamps and latency extremes);
- one ``GROUP BY bucket`` each for confidence, input length and latency, where ``bucket``
  is a binary search over the bin edges written as nested ``CASE`` (about log2(bins)
  comparisons a row, the same on SQLite and PostgreSQL);
- one query for the sample.

Together the statements of one kind read the log once. Windows are spread over a few
threads, each with its own connection (SQLite releases the GIL while it reads).

Windows
-------
- **count**, SQLite: window ``w`` holds rowids ``w * size + 1`` to ``(w + 1) * size`` (the
  log inserts in time order), read as rowid ranges, so ``index`` stays the same as old rows
  are purged. With ``model_version``, windows are every ``size`` rows of that version,
  counted from its first row.
- **count**, PostgreSQL: ``row_number() over (order by created_at, id)`` numbers the rows
  (of ``model_version`` when given) once, and each window is then a ``(created_at, id)``
  key range, read through the ``(created_at, id)`` index.
- **time**: windows are ``size``-long spans aligned to the Unix epoch (hourly windows start
  on the hour); ``index`` counts spans from the log's first one. Only windows holding
  requests are returned; the next one is found through the ``created_at`` index, so long
  quiet gaps cost nothing.

Rows written while it reads are left out: each window's range is capped at the last row
that existed when it started. The database is opened read-only when given as a URL.

Example
-------
>>> spec = WindowSpec("count", 10_000)  # doctest: +SKIP
>>> for w in window_summaries("sqlite:///requests.db", spec=spec, length_edges=ref_len.edges):  # doctest: +SKIP
...     print(w.index, w.n, psi(ref_conf.counts, w.confidence_hist))
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tailorml.errors import NotFoundError, TailorError
from tailorml.monitoring.stats import Histogram
from tailorml.serving.requestlog import UTCDateTime, mask_url, requests_table, review_table

__all__ = ["LATENCY_EDGES_MS", "NO_LABEL", "WindowSpec", "WindowSummary", "window_summaries"]

LATENCY_EDGES_MS = np.concatenate([[0.0], np.geomspace(0.1, 100_000.0, 25), [np.inf]])
"""Latency histogram edges in ms: 0, then four bins a decade from 0.1 ms to 100 s, then open-ended."""
NO_LABEL = "(none)"
"""Key of ``WindowSummary.label_counts`` for requests logged without a label."""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_COLS = requests_table.c
_ROWID = sa.literal_column("requests.rowid", sa.Integer)
_WINDOWS_PER_TASK = 8


@dataclass(frozen=True)
class WindowSpec:
    """How to cut the log: ``WindowSpec("count", 10_000)`` or ``WindowSpec("time", timedelta(hours=1))``.

    Parameters
    ----------
    by:
        ``"count"`` (a fixed number of requests per window) or ``"time"`` (a fixed span).
    size:
        Requests per window (a whole number >= 1) for ``"count"``; a positive
        :class:`datetime.timedelta` for ``"time"``.
    """

    by: Literal["count", "time"]
    size: int | dt.timedelta

    def __post_init__(self) -> None:
        if self.by == "count":
            if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
                raise TailorError(
                    f"window size for by='count' must be a whole number of requests >= 1; got {self.size!r}.",
                    hint="Use e.g. WindowSpec('count', 1000).",
                )
        elif self.by == "time":
            if not isinstance(self.size, dt.timedelta) or self.size <= dt.timedelta(0):
                raise TailorError(
                    f"window size for by='time' must be a positive timedelta; got {self.size!r}.",
                    hint="Use e.g. WindowSpec('time', timedelta(hours=1)).",
                )
        else:
            raise TailorError(
                f"window by must be 'count' or 'time'; got {self.by!r}.",
                hint="Cut by a number of requests ('count') or by a span of time ('time').",
            )

    def describe(self) -> str:
        """The size in words, e.g. ``"10,000 requests"`` or ``"1 h"`` (``MonitorReport.window_size``)."""
        if isinstance(self.size, int):
            return f"{self.size:,} request{'s' if self.size != 1 else ''}"
        seconds = self.size.total_seconds()
        for unit, length in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
            if seconds >= length and seconds % length == 0:
                return f"{int(seconds // length):,} {unit}"
        return f"{seconds:g} s"


@dataclass(eq=False)
class WindowSummary:
    """What one window of logged traffic holds, as counts (see :func:`window_summaries`).

    ``start``/``end`` are the first and last request's ``created_at`` for count windows and
    the span's bounds (``end`` excluded) for time windows. ``label_counts`` counts requests
    without a label under :data:`NO_LABEL`. The three histograms are int64 counts per bin:
    ``confidence_hist`` over ``confidence_bins`` equal bins of [0, 1], ``length_hist`` over
    ``length_edges``, ``latency_hist`` over :data:`LATENCY_EDGES_MS`; values outside the
    edges count in the end bins, as in :class:`~tailorml.monitoring.stats.Histogram`.
    ``latency_p95`` is the approximate 95th percentile latency in ms, interpolated linearly
    within its bin (each bin spans a factor of 1.78). ``reviewed`` counts the window's requests with an
    answered review item, ``correct`` those whose answer equals the logged label.
    """

    index: int
    start: dt.datetime
    end: dt.datetime
    n: int
    label_counts: dict[str, int]
    confidence_hist: np.ndarray
    length_hist: np.ndarray
    latency_hist: np.ndarray
    latency_p95: float
    abstained: int
    reviewed: int
    correct: int
    sample_texts: list[str] = field(default_factory=list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WindowSummary):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    @property
    def abstention_rate(self) -> float:
        """Share of the window's requests where the model abstained."""
        return self.abstained / self.n if self.n else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps in ISO 8601, histograms as lists of counts)."""
        return {
            "index": self.index,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "label_counts": dict(self.label_counts),
            "confidence_hist": self.confidence_hist.tolist(),
            "length_hist": self.length_hist.tolist(),
            "latency_hist": self.latency_hist.tolist(),
            "latency_p95": self.latency_p95,
            "abstained": self.abstained,
            "reviewed": self.reviewed,
            "correct": self.correct,
            "sample_texts": list(self.sample_texts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowSummary:
        """Rebuild a summary from :meth:`to_dict`'s form."""
        return cls(
            index=int(data["index"]),
            start=dt.datetime.fromisoformat(data["start"]),
            end=dt.datetime.fromisoformat(data["end"]),
            n=int(data["n"]),
            label_counts={str(k): int(v) for k, v in data["label_counts"].items()},
            confidence_hist=np.asarray(data["confidence_hist"], dtype=np.int64),
            length_hist=np.asarray(data["length_hist"], dtype=np.int64),
            latency_hist=np.asarray(data["latency_hist"], dtype=np.int64),
            latency_p95=float(data["latency_p95"]),
            abstained=int(data["abstained"]),
            reviewed=int(data["reviewed"]),
            correct=int(data["correct"]),
            sample_texts=[str(t) for t in data.get("sample_texts", [])],
        )


def window_summaries(
    engine_or_url: Engine | str,
    *,
    spec: WindowSpec,
    model_version: int | None = None,
    confidence_bins: int = 20,
    length_edges: np.ndarray | Sequence[float],
    max_windows: int | None = None,
    sample_per_window: int = 200,
) -> list[WindowSummary]:
    """Summarize the request log window by window, aggregating in SQL.

    Parameters
    ----------
    engine_or_url:
        ``sqlite:///path/to/requests.db`` or ``postgresql://user:password@host/db`` (opened
        read-only and closed afterwards), or an open SQLAlchemy :class:`~sqlalchemy.engine.Engine`
        (left open; PostgreSQL transactions are still read-only).
    spec:
        How to cut the log into windows.
    model_version:
        Only requests served by this model version (windows then count its requests only);
        None for all.
    confidence_bins:
        Equal-width confidence bins over [0, 1].
    length_edges:
        Bin edges for the input length in characters, e.g. the edges of
        ``Histogram.from_reference(reference_lengths)``; values outside fall in the end bins.
    max_windows:
        Return only the newest ``max_windows`` windows; None for all.
    sample_per_window:
        Most input texts to sample per window: the rows at positions 0, k, 2k, ... of the
        window in log order (rowid on SQLite, ``(created_at, id)`` on PostgreSQL) with
        ``k = ceil(n / sample_per_window)``, so the same log gives the same sample. 0 for none.

    Returns
    -------
    list[WindowSummary]
        Non-empty windows, oldest first. The newest window may be partial.

    Raises
    ------
    TailorError
        An argument is invalid, or the database cannot be opened or read.
    NotFoundError
        The SQLite file does not exist, or the database has no request log.
    """
    confidence_edges = np.linspace(0.0, 1.0, _whole("confidence_bins", confidence_bins, 1) + 1)
    try:
        length_hist = Histogram(length_edges)
    except ValueError as exc:
        raise TailorError(f"length_edges: {exc}", hint="Pass Histogram.from_reference(lengths).edges.") from exc
    _whole("sample_per_window", sample_per_window, 0)
    if max_windows is not None:
        _whole("max_windows", max_windows, 1)
    if model_version is not None:
        _whole("model_version", model_version, 0)
    if not isinstance(spec, WindowSpec):
        raise TailorError(f"spec must be a WindowSpec; got {type(spec).__name__}.", hint="WindowSpec('count', 1000)")

    engine, owned = _engine(engine_or_url)
    try:
        with _reader(engine) as conn:
            plan = _plan(conn, spec, model_version, max_windows)
        queries = _Queries(plan, confidence_edges, length_hist.edges, sample_per_window)
        return _run(engine, queries, plan.windows)
    except sa.exc.DBAPIError as exc:
        raise TailorError(
            f"cannot read the request log in {mask_url(str(engine.url))}: {str(exc.orig).strip().splitlines()[0]}.",
            hint="Check that the database is reachable and holds a request log written by tailor serve.",
        ) from exc
    finally:
        if owned:
            engine.dispose()


# --- connecting --------------------------------------------------------------------------------


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TailorError(f"{name} must be a whole number >= {minimum}; got {value!r}.", hint=f"Pass e.g. {name}=20.")
    return value


def _engine(engine_or_url: Engine | str) -> tuple[Engine, bool]:
    """The engine to read with, and whether this module opened it (and must close it)."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    hint = "Use sqlite:///path/to/requests.db or postgresql://user:password@host:5432/database."
    try:
        url = sa.make_url(engine_or_url)
    except (sa.exc.ArgumentError, ValueError, TypeError) as exc:
        raise TailorError(f"cannot read database URL {mask_url(str(engine_or_url))!r}.", hint=hint) from exc
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite" and url.database not in (None, "", ":memory:"):
        return _sqlite_reader(Path(str(url.database)).expanduser()), True
    if backend in ("postgresql", "postgres"):
        url = url.set(drivername=f"postgresql+{driver or 'psycopg'}")
        connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args), True
    raise TailorError(f"database URL {mask_url(str(engine_or_url))!r} is not a request log URL.", hint=hint)


def _sqlite_reader(path: Path) -> Engine:
    """A read-only engine on an existing SQLite file (``mode=ro`` and ``query_only``)."""
    if not path.is_file():
        raise NotFoundError(
            f"request log {path} does not exist.",
            hint="Point to the database tailor serve writes (serving.log_url), e.g. sqlite:///logs/requests.db.",
        )
    uri = f"{path.resolve().as_uri()}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=5000")
        connection.execute("PRAGMA query_only=1")
        return connection

    return sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.QueuePool)


@contextlib.contextmanager
def _reader(engine: Engine) -> Iterator[Connection]:
    """A connection whose PostgreSQL transactions are read-only."""
    with engine.connect() as conn:
        yield conn.execution_options(postgresql_readonly=True) if conn.dialect.name == "postgresql" else conn


# --- windows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    index: int
    params: dict[str, Any]  # bind values of the plan's `where`
    start: dt.datetime | None = None  # time windows: the nominal span
    end: dt.datetime | None = None
    width: int | None = None  # SQLite count windows: rowids in the range


@dataclass(frozen=True)
class _Plan:
    where: list[sa.ColumnElement[bool]]
    order: list[sa.ColumnElement[Any]]  # log order, for the sample
    key: sa.ColumnElement[Any]  # a unique column, to fetch sampled rows
    windows: list[_Window]


def _plan(conn: Connection, spec: WindowSpec, version: int | None, max_windows: int | None) -> _Plan:
    if not sa.inspect(conn).has_table("requests"):
        raise NotFoundError(
            "the database holds no request log (no table 'requests').",
            hint="Point to the database tailor serve writes (serving.log_url).",
        )
    sqlite = conn.dialect.name == "sqlite"
    where: list[sa.ColumnElement[bool]] = [] if version is None else [_COLS.model_version == version]
    if spec.by == "time":
        assert isinstance(spec.size, dt.timedelta)
        windows = _time_windows(conn, where, spec.size, max_windows)
        where = [
            *where,
            _COLS.created_at >= sa.bindparam("lo", type_=UTCDateTime()),
            _COLS.created_at < sa.bindparam("hi", type_=UTCDateTime()),
            _COLS.created_at <= sa.bindparam("last", type_=UTCDateTime()),
        ]
    elif sqlite:
        assert isinstance(spec.size, int)
        windows = _rowid_windows(conn, version, spec.size, max_windows)
        where = [*where, _ROWID.between(sa.bindparam("lo"), sa.bindparam("hi"))]
    else:
        assert isinstance(spec.size, int)
        windows = _key_windows(conn, where, spec.size)
        key = sa.tuple_(_COLS.created_at, _COLS.id)
        lo = sa.tuple_(sa.bindparam("lo_t", type_=UTCDateTime()), sa.bindparam("lo_id", type_=sa.Text()))
        hi = sa.tuple_(sa.bindparam("hi_t", type_=UTCDateTime()), sa.bindparam("hi_id", type_=sa.Text()))
        where = [*where, key >= lo, key <= hi]
    if max_windows is not None:
        windows = windows[-max_windows:]
    if sqlite:
        return _Plan(where, [_ROWID], _ROWID, windows)
    return _Plan(where, [_COLS.created_at, _COLS.id], _COLS.id, windows)


def _rowid_windows(conn: Connection, version: int | None, size: int, max_windows: int | None) -> list[_Window]:
    """SQLite count windows as rowid ranges, capped at the last rowid now."""
    first, last = conn.execute(sa.select(sa.func.min(_ROWID), sa.func.max(_ROWID)).select_from(requests_table)).one()
    if last is None:
        return []
    if version is None:
        end = (last - 1) // size + 1
        begin = (first - 1) // size if max_windows is None else max((first - 1) // size, end - max_windows)
        ranges = [(w, w * size + 1, min((w + 1) * size, last)) for w in range(begin, end)]
        return [_Window(w, {"lo": lo, "hi": hi}, width=hi - lo + 1) for w, lo, hi in ranges]
    # Every size-th row of the version: one pass, hopping with OFFSET from each start to the next.
    step = (
        sa.select(_ROWID)
        .select_from(requests_table)
        .where(_COLS.model_version == version, _ROWID.between(sa.bindparam("start"), last))
        .order_by(_ROWID)
        .limit(1)
        .offset(sa.bindparam("skip"))
    )
    starts = []
    start = conn.execute(step, {"start": first, "skip": 0}).scalar()
    while start is not None:
        starts.append(start)
        start = conn.execute(step, {"start": start, "skip": size}).scalar()
    if not starts:
        return []
    ends = [start - 1 for start in starts[1:]] + [last]
    pairs = zip(starts, ends, strict=True)
    return [_Window(k, {"lo": lo, "hi": hi}, width=hi - lo + 1) for k, (lo, hi) in enumerate(pairs)]


def _key_windows(conn: Connection, where: list[sa.ColumnElement[bool]], size: int) -> list[_Window]:
    """PostgreSQL count windows: number the rows once, keep each window's first and last key."""
    rn = sa.func.row_number().over(order_by=[_COLS.created_at, _COLS.id]).label("rn")
    numbered = sa.select(_COLS.created_at, _COLS.id, rn).where(*where).subquery()
    total = sa.select(sa.func.count()).select_from(requests_table).where(*where).scalar_subquery()
    edges = sa.select(numbered).where(
        sa.or_((numbered.c.rn - 1) % size == 0, numbered.c.rn % size == 0, numbered.c.rn == total)
    )
    keys = {int(r.rn): (r.created_at, r.id) for r in conn.execute(edges.order_by(numbered.c.rn))}
    if not keys:
        return []
    n = max(keys)
    windows = []
    for w in range((n - 1) // size + 1):
        (lo_t, lo_id), (hi_t, hi_id) = keys[w * size + 1], keys[min((w + 1) * size, n)]
        windows.append(_Window(w, {"lo_t": lo_t, "lo_id": lo_id, "hi_t": hi_t, "hi_id": hi_id}))
    return windows


def _time_windows(
    conn: Connection, where: list[sa.ColumnElement[bool]], size: dt.timedelta, max_windows: int | None
) -> list[_Window]:
    """Epoch-aligned spans holding at least one request, found by hopping along the created_at index."""
    base = sa.select(_COLS.created_at).where(*where).limit(1)
    first = conn.execute(base.order_by(_COLS.created_at)).scalar()
    last = conn.execute(base.order_by(_COLS.created_at.desc())).scalar()
    if first is None or last is None:
        return []
    origin = (first - _EPOCH) // size
    after = base.where(_COLS.created_at >= sa.bindparam("t", type_=UTCDateTime())).order_by(_COLS.created_at)
    before = base.where(_COLS.created_at < sa.bindparam("t", type_=UTCDateTime())).order_by(_COLS.created_at.desc())

    def window(t: dt.datetime) -> _Window:
        bucket = (t - _EPOCH) // size
        lo, hi = _EPOCH + bucket * size, _EPOCH + (bucket + 1) * size
        return _Window(bucket - origin, {"lo": lo, "hi": hi, "last": last}, start=lo, end=hi)

    windows: list[_Window] = []
    if max_windows is None:
        t = first
        while t is not None and t <= last:
            windows.append(window(t))
            t = conn.execute(after, {"t": windows[-1].end}).scalar()
        return windows
    t = last
    while t is not None and len(windows) < max_windows:
        windows.append(window(t))
        t = conn.execute(before, {"t": windows[-1].start}).scalar()
    return windows[::-1]


# --- statements --------------------------------------------------------------------------------


def _bucket(x: sa.ColumnElement[Any], edges: np.ndarray) -> sa.ColumnElement[int]:
    """SQL for :meth:`Histogram.bin_index`: how many inner edges are <= x, as a binary search of CASEs."""
    inner = [float(e) for e in edges[1:-1]]

    def search(lo: int, hi: int) -> sa.ColumnElement[int]:
        if lo == hi:
            return sa.literal(lo, sa.Integer)
        mid = (lo + hi) // 2
        return sa.case((x < sa.literal(inner[mid], sa.Float), search(lo, mid)), else_=search(mid + 1, hi))

    return search(0, len(inner))


class _Queries:
    """The per-window statements, built once and run with each window's bind values."""

    def __init__(self, plan: _Plan, confidence_edges: np.ndarray, length_edges: np.ndarray, sample: int) -> None:
        self.plan = plan
        self.edges = {"confidence": confidence_edges, "length": length_edges, "latency": LATENCY_EDGES_MS}
        self.sample = sample
        answered = sa.and_(review_table.c.request_id == _COLS.id, review_table.c.status == "answered")
        right = sa.case((review_table.c.answer == _COLS.label, 1), else_=0)
        self.labels = (
            sa.select(
                _COLS.label,
                sa.func.count(),
                sa.func.sum(sa.cast(_COLS.abstained, sa.Integer)),
                sa.func.count(review_table.c.request_id),
                sa.func.sum(right),
                sa.func.min(_COLS.created_at),
                sa.func.max(_COLS.created_at),
                sa.func.min(_COLS.latency_ms),
                sa.func.max(_COLS.latency_ms),
            )
            .select_from(requests_table.outerjoin(review_table, answered))
            .where(*plan.where)
            .group_by(_COLS.label)
        )
        values = {
            "confidence": _COLS.confidence,
            "length": sa.func.length(_COLS.input_text),
            "latency": _COLS.latency_ms,
        }
        self.hists = {}
        for name, value in values.items():
            bucket = _bucket(value, self.edges[name]).label("bucket")
            self.hists[name] = (
                sa.select(bucket, sa.func.count()).select_from(requests_table).where(*plan.where).group_by(bucket)
            )
        self.strided = None
        if plan.key is _ROWID:  # SQLite rowid ranges without gaps: the position is the rowid offset
            self.strided = (
                sa.select(_COLS.input_text)
                .where(*plan.where, (_ROWID - sa.bindparam("lo")) % sa.bindparam("step") == 0)
                .order_by(_ROWID)
                .limit(sa.bindparam("k"))
            )
        pos = sa.func.row_number().over(order_by=plan.order).label("pos")
        numbered = sa.select(plan.key.label("key"), pos).select_from(requests_table).where(*plan.where).subquery()
        picked = sa.select(numbered.c.key).where((numbered.c.pos - 1) % sa.bindparam("step") == 0)
        self.numbered = (
            sa.select(_COLS.input_text).where(plan.key.in_(picked)).order_by(*plan.order).limit(sa.bindparam("k"))
        )

    def summarize(self, conn: Connection, window: _Window) -> WindowSummary | None:
        """One window's summary, or None when it holds no rows."""
        rows = conn.execute(self.labels, window.params).all()
        n = sum(int(r[1]) for r in rows)
        if n == 0:
            return None
        hists = {name: self._histogram(conn, name, window) for name in self.hists}
        latency = Histogram(LATENCY_EDGES_MS, hists["latency"])
        latency.min, latency.max = float(min(r[7] for r in rows)), float(max(r[8] for r in rows))
        return WindowSummary(
            index=window.index,
            start=window.start or min(r[5] for r in rows),
            end=window.end or max(r[6] for r in rows),
            n=n,
            label_counts={NO_LABEL if r[0] is None else str(r[0]): int(r[1]) for r in rows},
            confidence_hist=hists["confidence"],
            length_hist=hists["length"],
            latency_hist=hists["latency"],
            latency_p95=latency.quantile(0.95),
            abstained=sum(int(r[2] or 0) for r in rows),
            reviewed=sum(int(r[3] or 0) for r in rows),
            correct=sum(int(r[4] or 0) for r in rows),
            sample_texts=self._sample(conn, window, n),
        )

    def _histogram(self, conn: Connection, name: str, window: _Window) -> np.ndarray:
        counts = np.zeros(len(self.edges[name]) - 1, dtype=np.int64)
        for bucket, count in conn.execute(self.hists[name], window.params):
            counts[int(bucket)] += int(count)
        return counts

    def _sample(self, conn: Connection, window: _Window, n: int) -> list[str]:
        if self.sample == 0:
            return []
        params = {**window.params, "step": -(-n // self.sample), "k": self.sample}
        query = self.strided if self.strided is not None and window.width == n else self.numbered
        return [str(text) for text in conn.execute(query, params).scalars()]


def _run(engine: Engine, queries: _Queries, windows: list[_Window]) -> list[WindowSummary]:
    """Summarize ``windows`` on a few threads, each with its own connection; keep their order."""
    tasks = [windows[i : i + _WINDOWS_PER_TASK] for i in range(0, len(windows), _WINDOWS_PER_TASK)]

    def work(batch: list[_Window]) -> list[WindowSummary | None]:
        with _reader(engine) as conn:
            return [queries.summarize(conn, window) for window in batch]

    workers = max(1, min(4, os.cpu_count() or 1, len(tasks)))
    if workers == 1:
        results = [work(batch) for batch in tasks]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tailorml-windows") as pool:
            results = list(pool.map(work, tasks))
    return [summary for batch in results for summary in batch if summary is not None]
