"""MicroBatcher: merging, per-request results, errors, draining, latency, swaps, threads."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np
import pytest

from tailorml.serving.batching import MicroBatcher


class Recorder:
    """A predict function that remembers each call's inputs and thread."""

    def __init__(self, *, delay: float = 0.0, suffix: str = "!") -> None:
        self.delay = delay
        self.suffix = suffix
        self.calls: list[list[str]] = []
        self.threads: set[int] = set()

    def __call__(self, texts: list[str]) -> list[str]:
        self.calls.append(list(texts))
        self.threads.add(threading.get_ident())
        if self.delay:
            time.sleep(self.delay)
        return [f"{t}{self.suffix}" for t in texts]


def test_concurrent_requests_are_merged_and_each_gets_its_own_results() -> None:
    predict = Recorder(delay=0.01)

    async def main() -> list[list[Any]]:
        async with MicroBatcher(predict, max_batch=16, max_wait_ms=5) as batcher:
            results = await asyncio.gather(*(batcher.submit([f"r{i}a", f"r{i}b"]) for i in range(50)))
            assert batcher.batches == len(predict.calls)
            assert batcher.items == 100
            assert batcher.mean_batch_size == pytest.approx(100 / len(predict.calls))
            return list(results)

    results = asyncio.run(main())
    assert results == [[f"r{i}a!", f"r{i}b!"] for i in range(50)]
    assert len(predict.calls) < 50
    assert max(len(call) for call in predict.calls) <= 16


def test_mixed_sizes_including_one_larger_than_max_batch() -> None:
    predict = Recorder()
    sizes = [1, 3, 0, 11, 2, 4, 1]  # 11 > max_batch: split across calls, rows kept in order

    async def main() -> list[list[Any]]:
        async with MicroBatcher(predict, max_batch=4, max_wait_ms=5) as batcher:
            return list(
                await asyncio.gather(*(batcher.submit([f"{i}.{j}" for j in range(n)]) for i, n in enumerate(sizes)))
            )

    results = asyncio.run(main())
    assert results == [[f"{i}.{j}!" for j in range(n)] for i, n in enumerate(sizes)]
    assert all(1 <= len(call) <= 4 for call in predict.calls)
    assert sum(len(call) for call in predict.calls) == sum(sizes)


def test_numpy_rows_are_sliced_per_request() -> None:
    def predict(texts: list[str]) -> np.ndarray:
        return np.array([[len(t), i] for i, t in enumerate(texts)])

    async def main() -> list[list[Any]]:
        async with MicroBatcher(predict, max_batch=8, max_wait_ms=5) as batcher:
            return list(await asyncio.gather(batcher.submit(["a", "bb"]), batcher.submit(["ccc"])))

    first, second = asyncio.run(main())
    assert [row[0] for row in first] == [1, 2]
    assert [row[0] for row in second] == [3]


def test_exception_reaches_only_its_batch_and_the_batcher_keeps_working() -> None:
    def predict(texts: list[str]) -> list[str]:
        if any(t.startswith("bad") for t in texts):
            raise RuntimeError("model exploded")
        return [t.upper() for t in texts]

    async def main() -> None:
        async with MicroBatcher(predict, max_batch=4, max_wait_ms=20) as batcher:
            # Same window: both requests share the failing batch.
            outcome = await asyncio.gather(batcher.submit(["bad"]), batcher.submit(["x"]), return_exceptions=True)
            assert all(isinstance(o, RuntimeError) and str(o) == "model exploded" for o in outcome)
            assert await batcher.submit(["ok", "fine"]) == ["OK", "FINE"]
            # A separate, later batch is unaffected by a failing neighbour batch.
            failing = asyncio.ensure_future(batcher.submit(["bad", "x", "y", "z"]))  # fills a batch alone
            await asyncio.sleep(0)
            healthy = asyncio.ensure_future(batcher.submit(["w"]))
            with pytest.raises(RuntimeError, match="model exploded"):
                await failing
            assert await healthy == ["W"]

    asyncio.run(main())


def test_wrong_number_of_rows_is_an_error_for_that_batch() -> None:
    async def main() -> None:
        async with MicroBatcher(lambda texts: texts[:-1], max_wait_ms=0) as batcher:
            with pytest.raises(ValueError, match="returned 1 rows for 2 inputs"):
                await batcher.submit(["a", "b"])

    asyncio.run(main())


def test_stop_drains_queued_requests_then_refuses_new_ones() -> None:
    predict = Recorder(delay=0.005)

    async def main() -> None:
        batcher = MicroBatcher(predict, max_batch=2, max_wait_ms=1000)
        batcher.start()
        tasks = [asyncio.ensure_future(batcher.submit([str(i)])) for i in range(7)]
        await asyncio.sleep(0)  # let every submit enqueue
        started = time.perf_counter()
        await batcher.stop()
        assert time.perf_counter() - started < 0.5  # no waiting out the 1 s window while draining
        assert all(task.done() for task in tasks)
        assert [task.result() for task in tasks] == [[f"{i}!"] for i in range(7)]
        assert not batcher.running
        with pytest.raises(RuntimeError, match="not running"):
            await batcher.submit(["late"])

    asyncio.run(main())


def test_pass_through_and_default_window_latency() -> None:
    async def latency(max_wait_ms: float) -> float:
        async with MicroBatcher(lambda texts: texts, max_wait_ms=max_wait_ms) as batcher:
            await batcher.submit(["warm-up"])  # thread pool start-up is not batching latency
            started = time.perf_counter()
            for _ in range(5):
                await batcher.submit(["x"])
            return (time.perf_counter() - started) / 5

    assert asyncio.run(latency(0)) < 0.005  # typically ~0.1 ms: one hop to the worker thread and back
    # A lone request (no one to share a batch with) does not wait out the window.
    assert asyncio.run(latency(3.0)) < 0.005
    # A long window is cut short once the batch is full.
    predict = Recorder()

    async def full_batch() -> float:
        async with MicroBatcher(predict, max_batch=2, max_wait_ms=5000) as batcher:
            started = time.perf_counter()
            await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]))
            return time.perf_counter() - started

    assert asyncio.run(full_batch()) < 0.5
    assert predict.calls == [["a", "b"]]


def test_swapping_predict_between_batches() -> None:
    old, new = Recorder(delay=0.02, suffix="@v1"), Recorder(suffix="@v2")

    async def main() -> None:
        async with MicroBatcher(old, max_batch=8, max_wait_ms=0) as batcher:
            in_flight = asyncio.ensure_future(batcher.submit(["a", "b"]))
            while not old.calls:  # wait until the batch is running on the old function
                await asyncio.sleep(0.001)
            batcher.predict = new
            assert await in_flight == ["a@v1", "b@v1"]  # finished on the function it started with
            assert await batcher.submit(["c"]) == ["c@v2"]
            assert old.calls == [["a", "b"]]
            assert new.calls == [["c"]]

    asyncio.run(main())


def test_predict_never_runs_on_the_event_loop_thread() -> None:
    predict = Recorder(delay=0.001)

    async def main() -> int:
        async with MicroBatcher(predict, max_batch=4, max_wait_ms=1, workers=2) as batcher:
            await asyncio.gather(*(batcher.submit([str(i)]) for i in range(20)))
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert predict.threads
    assert loop_thread not in predict.threads
    assert len(predict.threads) <= 2


def test_several_workers_overlap_batches() -> None:
    predict = Recorder(delay=0.05)

    async def main() -> float:
        async with MicroBatcher(predict, max_batch=1, max_wait_ms=0, workers=4) as batcher:
            started = time.perf_counter()
            await asyncio.gather(*(batcher.submit([str(i)]) for i in range(4)))
            return time.perf_counter() - started

    assert asyncio.run(main()) < 0.15  # four 50 ms calls in parallel, not 200 ms in a row


def test_cancelled_request_is_skipped() -> None:
    predict = Recorder(delay=0.02)

    async def main() -> None:
        async with MicroBatcher(predict, max_batch=1, max_wait_ms=0) as batcher:
            first = asyncio.ensure_future(batcher.submit(["first"]))
            gone = asyncio.ensure_future(batcher.submit(["gone"]))
            await asyncio.sleep(0.005)  # "first" is running; "gone" is queued
            gone.cancel()
            assert await first == ["first!"]
            assert await batcher.submit(["next"]) == ["next!"]
        assert predict.calls == [["first"], ["next"]]

    asyncio.run(main())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_batch": 0}, "max_batch must be at least 1; got 0"),
        ({"max_wait_ms": -1}, "max_wait_ms must be >= 0; got -1"),
        ({"workers": 0}, "workers must be at least 1; got 0"),
    ],
)
def test_invalid_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MicroBatcher(lambda texts: texts, **kwargs)


def test_on_batch_reports_each_batch_size() -> None:
    sizes: list[int] = []

    async def main() -> None:
        async with MicroBatcher(lambda texts: texts, max_batch=3, max_wait_ms=5, on_batch=sizes.append) as batcher:
            await asyncio.gather(*(batcher.submit(["x"]) for _ in range(7)))

    asyncio.run(main())
    assert sum(sizes) == 7
    assert all(1 <= size <= 3 for size in sizes)
