"""API keys (hashed at rest, cached for a few seconds) and token-bucket rate limits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tailorml.errors import NotFoundError, TailorError
from tailorml.serving.keys import KeyStore, RateLimiter
from tests._postgres import fresh_schema_url


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema in the PostgreSQL at TAILOR_TEST_POSTGRES_URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
        return
    yield from fresh_schema_url()


# --- keys ------------------------------------------------------------------------------------------


def test_create_verify_list_revoke(db_url: str) -> None:
    store = KeyStore(db_url)
    info, token = store.create("mobile app", rate_per_s=20)
    assert info.id.startswith("k_") and len(info.id) == 10
    assert token.startswith(f"tml_{info.id}_") and len(token) == len(f"tml_{info.id}_") + 43
    assert store.verify(token) == info
    other, _ = store.create("batch job")
    assert [k.name for k in store.list()] == ["mobile app", "batch job"]
    assert store.list()[0].rate_per_s == 20.0 and store.list()[1].rate_per_s is None

    store.revoke(info.id)  # through the same store: rejected at once, cache or not
    assert store.verify(token) is None
    listed = {k.id: k for k in store.list()}
    assert listed[info.id].revoked and not listed[other.id].revoked
    store.revoke(info.id)  # again: nothing changes
    with pytest.raises(NotFoundError, match="no API key 'k_00000000'"):
        store.revoke("k_00000000")
    store.close()


def test_secrets_are_never_stored(tmp_path: Path) -> None:
    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}")
    tokens = [store.create(f"client {i}")[1] for i in range(3)]
    listed = repr(store.list())
    store.close()
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())  # the database and its WAL
    for token in tokens:
        secret = token.split("_", 3)[3]
        assert secret.encode() not in stored
        assert token.split("_", 3)[2].encode() in stored  # the id is there: the bytes were read
        assert secret not in listed


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        "",
        "Bearer tml_k_3f9a2c1b_x",
        "tml_k_3f9a2c1b",
        "tml_k_3F9A2C1B_" + "a" * 43,  # the id is lower-case hex
        "tml_k_3f9a2c1b_" + "a" * 42,
        "tml_k_3f9a2c1b_" + "a" * 44,
        "tml_k_3f9a2c1b_" + "a" * 42 + "=",
        " tml_k_3f9a2c1b_" + "a" * 43,
    ],
)
def test_malformed_tokens_are_rejected(tmp_path: Path, token: object) -> None:
    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}")
    store.create("real key")
    assert store.verify(token) is None


def test_a_wrong_secret_or_an_unknown_id_is_rejected(tmp_path: Path) -> None:
    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}")
    info, token = store.create("real key")
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert store.verify(wrong) is None
    assert store.verify(token.replace(info.id, "k_00000000")) is None
    assert store.verify(token) == info


def test_verify_serves_from_the_cache_until_the_ttl(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    server = KeyStore(url, cache_ttl_s=5, clock=clock)
    admin = KeyStore(url)  # another process: the CLI
    info, token = admin.create("mobile app")

    queries = []
    sa.event.listen(server._engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    assert all(server.verify(token) == info for _ in range(100))
    assert len(queries) == 1  # the hot path does not query the database each time

    admin.revoke(info.id)
    clock.now += 4.9
    assert server.verify(token) == info  # still cached: a revoke elsewhere takes up to the TTL
    clock.now += 0.2
    assert server.verify(token) is None


def test_a_zero_ttl_reads_the_database_every_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    server = KeyStore(url, cache_ttl_s=0)
    admin = KeyStore(url)
    info, token = admin.create("mobile app")
    assert server.verify(token) == info
    admin.revoke(info.id)
    assert server.verify(token) is None


def test_the_cache_stays_bounded_under_a_scan_of_guessed_ids(tmp_path: Path) -> None:
    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}", max_cached=10)
    for i in range(50):
        assert store.verify(f"tml_k_{i:08x}_{'a' * 43}") is None
    assert len(store._cache) <= 10


def test_bad_key_settings_are_refused(tmp_path: Path) -> None:
    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}")
    with pytest.raises(TailorError, match="name must be 1-200 characters"):
        store.create("  ")
    with pytest.raises(TailorError, match="rate_per_s must be a number of requests per second > 0; got 0"):
        store.create("app", rate_per_s=0)
    with pytest.raises(TailorError, match="cache_ttl_s"):
        KeyStore(f"sqlite:///{tmp_path / 'keys.db'}", cache_ttl_s=-1)
    with pytest.raises(TailorError, match=r"scheme 'redis'"):
        KeyStore("redis://:hunter2@localhost/0")
    assert store.list() == []


# --- rate limits -----------------------------------------------------------------------------------


def test_burst_then_refill(clock: FakeClock) -> None:
    limiter = RateLimiter(2, burst=3, clock=clock)
    assert [limiter.allow("k_a") for _ in range(3)] == [(True, 0.0)] * 3
    allowed, retry_after = limiter.allow("k_a")
    assert not allowed and retry_after == pytest.approx(0.5)
    clock.now += 0.25
    allowed, retry_after = limiter.allow("k_a")
    assert not allowed and retry_after == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.allow("k_a") == (True, 0.0)
    clock.now += 60  # a long quiet spell refills up to the burst, no further
    assert [limiter.allow("k_a")[0] for _ in range(4)] == [True, True, True, False]


def test_each_key_has_its_own_bucket_and_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(1, clock=clock)  # burst defaults to one second's worth
    assert limiter.allow("k_a") == (True, 0.0)
    assert limiter.allow("k_a")[0] is False
    assert limiter.allow("k_b") == (True, 0.0)
    assert [limiter.allow("k_fast", rate_per_s=10)[0] for _ in range(11)] == [True] * 10 + [False]
    assert limiter.allow("k_fast", rate_per_s=10)[1] == pytest.approx(0.1)


def test_the_limiter_is_thread_safe(clock: FakeClock) -> None:
    limiter = RateLimiter(1, burst=100, clock=clock)  # the clock stands still: exactly 100 tokens
    results: list[bool] = []

    def hammer() -> None:
        results.extend(limiter.allow("k_a")[0] for _ in range(50))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 100 and len(results) == 400


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (float("inf"), None), (1, 0), (1, 2.5)])
def test_bad_limits_are_refused(rate: float, burst: int | None) -> None:
    with pytest.raises(TailorError):
        RateLimiter(rate, burst)
