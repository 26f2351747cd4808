"""API keys and per-key rate limits for the model server.

A key is a token ``tml_<id>_<secret>``: ``id`` (``k_`` and 8 hex digits) names the key in
logs and in the request log, ``secret`` is 32 random bytes in URL-safe base64 and is
shown once, when the key is created. The database keeps only the SHA-256 of the secret:
the secret is random and long, so a fast hash is as safe as a slow one and keeps
verification cheap.

:meth:`KeyStore.verify` keeps the keys it looked up in memory for ``cache_ttl_s`` seconds
(5 by default) so that the hot path does not query the database on every request. A key
revoked through another process (the CLI, another server worker) is therefore still
accepted for up to that long; a revoke through the same :class:`KeyStore` takes effect at
once.

:class:`RateLimiter` is a token bucket per key: a key may make ``burst`` requests at once,
then ``rate_per_s`` a second.

Example
-------
>>> store = KeyStore("sqlite:///requests.db")  # doctest: +SKIP
>>> info, token = store.create("mobile app", rate_per_s=20)  # doctest: +SKIP
>>> store.verify(token).name  # doctest: +SKIP
'mobile app'
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from tailorml.errors import NotFoundError, TailorError
from tailorml.serving.requestlog import UTCDateTime, mask_url, open_database

__all__ = ["KeyInfo", "KeyStore", "RateLimiter"]

_TOKEN = re.compile(r"tml_(k_[0-9a-f]{8})_([A-Za-z0-9_-]{43})")  # token_urlsafe(32): 43 characters
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()  # compared against when the id is unknown
_CREATE_ATTEMPTS = 5  # a new id collides with one of n keys with probability n / 2**32

metadata = sa.MetaData()

keys_table = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("rate_per_s", sa.Float),
)


@dataclass(frozen=True)
class KeyInfo:
    """What is known about an API key; never its secret."""

    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    rate_per_s: float | None = None

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None


@dataclass(frozen=True)
class _Cached:
    expires: float
    info: KeyInfo | None  # None: no such key
    secret_hash: str


class KeyStore:
    """API keys in a database table ``api_keys``, with a short in-memory cache for :meth:`verify`.

    Parameters
    ----------
    url:
        ``sqlite:///path.db`` or ``postgresql://...``, as for
        :class:`~tailorml.serving.requestlog.RequestLog` (it may be the same database).
    cache_ttl_s:
        How long :meth:`verify` trusts a looked-up key before reading it again; a revoke
        made elsewhere takes effect within this time. 0 reads the database every time.
    max_cached:
        Most keys held in the cache.
    clock:
        Seconds, monotonic; tests pass a fake one.
    """

    def __init__(
        self,
        url: str,
        *,
        cache_ttl_s: float = 5.0,
        max_cached: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(cache_ttl_s, bool) or not isinstance(cache_ttl_s, int | float) or not 0 <= cache_ttl_s < 3600:
            raise TailorError(
                f"cache_ttl_s must be a number of seconds in [0, 3600); got {cache_ttl_s!r}.",
                hint="Use a few seconds (default 5), or 0 to read the database on every verify.",
            )
        self.url = mask_url(url)
        self.cache_ttl_s = float(cache_ttl_s)
        self._max_cached = max_cached
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()
        self._engine = open_database(url, metadata)

    def __repr__(self) -> str:
        return f"KeyStore({self.url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._engine.dispose()

    def create(self, name: str, *, rate_per_s: float | None = None) -> tuple[KeyInfo, str]:
        """Create a key; return its info and its token, which is shown this once and never stored.

        Parameters
        ----------
        name:
            Who or what the key is for ("mobile app").
        rate_per_s:
            Requests per second for this key; None uses the server's default.
        """
        name = _check_name(name)
        rate = None if rate_per_s is None else _check_rate(rate_per_s, "rate_per_s")
        secret = secrets.token_urlsafe(32)
        for _ in range(_CREATE_ATTEMPTS):
            info = KeyInfo(id=f"k_{secrets.token_hex(4)}", name=name, created_at=_now(), rate_per_s=rate)
            row = {
                "id": info.id,
                "name": info.name,
                "secret_hash": _hash(secret),
                "created_at": info.created_at,
                "rate_per_s": rate,
            }
            try:
                with self._engine.begin() as conn:
                    conn.execute(keys_table.insert(), row)
            except sa.exc.IntegrityError:
                continue  # the random id is taken: draw another
            return info, f"tml_{info.id}_{secret}"
        raise TailorError(  # pragma: no cover - needs billions of keys
            f"could not find a free key id in {_CREATE_ATTEMPTS} tries.",
            hint="Ids are 8 random hex digits; check the api_keys table for a fault.",
        )

    def revoke(self, key_id: str) -> None:
        """Revoke a key (revoking it again changes nothing).

        Raises
        ------
        NotFoundError
            No key ``key_id``.
        """
        cols = keys_table.c
        with self._engine.begin() as conn:
            conn.execute(
                keys_table.update().where(cols.id == key_id, cols.revoked_at.is_(None)).values(revoked_at=_now())
            )
            found = conn.execute(sa.select(cols.id).where(cols.id == key_id)).first()
        with self._lock:
            self._cache.pop(key_id, None)
        if found is None:
            raise NotFoundError(
                f"no API key {key_id!r}.", hint="List the keys with KeyStore.list() (tailor keys list)."
            )

    def list(self) -> builtins.list[KeyInfo]:
        """Every key, revoked ones included, oldest first; never the secrets."""
        query = sa.select(keys_table).order_by(keys_table.c.created_at, keys_table.c.id)
        with self._engine.connect() as conn:
            return [_info(row) for row in conn.execute(query)]

    def verify(self, token: object) -> KeyInfo | None:
        """Return the key a token belongs to, or None when it is malformed, unknown, wrong or revoked.

        The secret is hashed and compared with :func:`hmac.compare_digest`, also when the
        id is unknown, so the time taken tells nothing about the secret.
        """
        match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if match is None:
            return None
        key_id, secret = match.groups()
        entry = self._lookup(key_id)
        matches = hmac.compare_digest(_hash(secret), entry.secret_hash)
        if not matches or entry.info is None or entry.info.revoked:
            return None
        return entry.info

    def _lookup(self, key_id: str) -> _Cached:
        """The key's row from the cache, or from the database when missing or stale."""
        now = self._clock()
        with self._lock:
            entry = self._cache.get(key_id)
        if entry is not None and entry.expires > now:
            return entry
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(keys_table).where(keys_table.c.id == key_id)).first()
        if row is None:
            entry = _Cached(expires=now + self.cache_ttl_s, info=None, secret_hash=_DUMMY_HASH)
        else:
            entry = _Cached(expires=now + self.cache_ttl_s, info=_info(row), secret_hash=row.secret_hash)
        if self.cache_ttl_s > 0:
            self._remember(key_id, entry, now)
        return entry

    def _remember(self, key_id: str, entry: _Cached, now: float) -> None:
        with self._lock:
            if len(self._cache) >= self._max_cached:
                # Unknown ids (a scan of guessed tokens) must not grow memory without bound.
                self._cache = {k: v for k, v in self._cache.items() if v.expires > now}
                if len(self._cache) >= self._max_cached:
                    self._cache.clear()
            self._cache[key_id] = entry


class RateLimiter:
    """Token-bucket rate limits, one bucket per key id; safe to share between threads.

    Each bucket holds at most ``burst`` tokens and refills at the key's rate; a request
    takes one token.

    Parameters
    ----------
    default_rate_per_s:
        Requests per second for keys without their own rate.
    burst:
        Bucket size: requests allowed at once after a quiet spell. Default: one second's
        worth at the key's rate (at least 1).
    clock:
        Seconds, monotonic; tests pass a fake one.

    Example
    -------
    >>> limiter = RateLimiter(10)
    >>> limiter.allow("k_3f9a2c1b")
    (True, 0.0)
    """

    def __init__(
        self, default_rate_per_s: float, burst: int | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.default_rate_per_s = _check_rate(default_rate_per_s, "default_rate_per_s")
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
            raise TailorError(
                f"burst must be a whole number >= 1; got {burst!r}.",
                hint="Use e.g. burst=20, or leave it out for one second's worth of requests.",
            )
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, time of last update)

    def allow(self, key_id: str, rate_per_s: float | None = None) -> tuple[bool, float]:
        """Take a token from ``key_id``'s bucket.

        Returns
        -------
        tuple[bool, float]
            ``(True, 0.0)`` when allowed; otherwise ``(False, seconds)`` until a token is
            available (for a ``Retry-After`` header).
        """
        rate = self.default_rate_per_s if rate_per_s is None else _check_rate(rate_per_s, "rate_per_s")
        capacity = float(self.burst) if self.burst is not None else max(1.0, rate)
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key_id, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - last) * rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key_id] = (tokens, now)
        return (True, 0.0) if allowed else (False, (1.0 - tokens) / rate)


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _info(row: sa.Row[object]) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        rate_per_s=row.rate_per_s,
    )


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise TailorError(
            f"API key name must be 1-200 characters; got {name!r}.",
            hint="Name the client the key is for, e.g. 'mobile app'.",
        )
    return name.strip()


def _check_rate(rate: object, field: str) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
        raise TailorError(
            f"{field} must be a number of requests per second > 0; got {rate!r}.",
            hint="Use e.g. 20 for twenty requests a second.",
        )
    return float(rate)
