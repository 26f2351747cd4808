"""Dynamic micro-batching: merge concurrent requests into fewer calls of a blocking ``predict``.

A model answers 32 inputs in one call far faster than in 32 calls (one matrix multiply,
one tokenizer pass, one trip into torch). :class:`MicroBatcher` sits between the HTTP
handlers and the model: each handler awaits :meth:`MicroBatcher.submit` with its own
inputs; requests that arrive within ``max_wait_ms`` of the oldest waiting one are merged
into one call of ``predict`` (at most ``max_batch`` inputs), which runs in a worker thread
so the event loop keeps accepting requests. Each request gets back exactly its own rows,
in order.

While every worker is busy, new requests queue up and leave together in the next batch,
so the batch size grows with load and no time is spent waiting when there is no load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["MicroBatcher", "PredictFn"]

PredictFn = Callable[[list[str]], Any]
"""A blocking function from a list of inputs to a sequence or array with one row per input."""


@dataclass(eq=False)
class _Request:
    """One caller's inputs, the rows answered so far, and the future it awaits."""

    texts: list[str]
    future: asyncio.Future[list[Any]]
    arrived: float
    taken: int = 0  # inputs already placed in a batch
    answered: int = 0  # inputs whose rows have come back
    results: list[Any] = field(init=False)

    def __post_init__(self) -> None:
        self.results = [None] * len(self.texts)

    @property
    def untaken(self) -> int:
        return len(self.texts) - self.taken


@dataclass(frozen=True)
class _Part:
    """A slice ``texts[start:stop]`` of one request, placed in a batch."""

    request: _Request
    start: int
    stop: int


class MicroBatcher:
    """Merge concurrent requests into batched calls of a blocking ``predict`` function.

    Parameters
    ----------
    predict:
        Blocking function taking a list of inputs and returning a sequence or array with one
        row per input. It runs in a dedicated thread pool, never on the event loop. It may be
        replaced at any time (``batcher.predict = new_fn``): each batch reads it once when the
        batch is formed, so a batch in flight finishes on the function it started with.
    max_batch:
        Most inputs in one call. A request with more inputs is split across consecutive
        calls; its rows still come back in order.
    max_wait_ms:
        How long the oldest waiting request may wait for others to join its batch. ``0``
        turns batching off for idle periods (requests still merge while workers are busy).
    workers:
        Threads running ``predict``, hence the most batches in flight at once.
    on_batch:
        Optional callback given the size of each batch as it is dispatched, on the event
        loop (for example :meth:`tailorml.serving.telemetry.ServingMetrics.observe_batch`).

    Example
    -------
    >>> import asyncio
    >>> async def main() -> list[list[str]]:
    ...     async with MicroBatcher(lambda texts: [t.upper() for t in texts]) as batcher:
    ...         return list(await asyncio.gather(batcher.submit(["a", "b"]), batcher.submit(["c"])))
    >>> asyncio.run(main())
    [['A', 'B'], ['C']]
    """

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch: int = 32,
        max_wait_ms: float = 3.0,
        workers: int = 1,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1; got {max_batch}.")
        if not max_wait_ms >= 0:  # also rejects NaN
            raise ValueError(f"max_wait_ms must be >= 0; got {max_wait_ms}. Use 0 to turn waiting off.")
        if workers < 1:
            raise ValueError(f"workers must be at least 1; got {workers}.")
        self.predict: PredictFn = predict
        self.max_batch = max_batch
        self.max_wait_ms = float(max_wait_ms)
        self.workers = workers
        self.on_batch = on_batch
        self.batches = 0
        """Calls of ``predict`` dispatched so far."""
        self.items = 0
        """Inputs sent to ``predict`` so far."""
        self._pending: deque[_Request] = deque()
        self._pending_items = 0
        self._outstanding = 0  # requests submitted and not yet answered
        self._wakeup: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._runner: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- public API ----------------------------------------------------------------------

    @property
    def mean_batch_size(self) -> float:
        """Mean inputs per ``predict`` call so far (0.0 before the first call)."""
        return self.items / self.batches if self.batches else 0.0

    @property
    def running(self) -> bool:
        """True between :meth:`start` and the end of :meth:`stop`."""
        return self._runner is not None and not self._stopping

    def start(self) -> None:
        """Start the batching loop on the running event loop (call from async code)."""
        if self._runner is not None:
            raise RuntimeError("MicroBatcher is already running; call stop() before starting it again.")
        loop = asyncio.get_running_loop()
        self._stopping = False
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(self.workers)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="tailorml-batch")
        self._runner = loop.create_task(self._run(), name="tailorml-microbatcher")
        self._runner.add_done_callback(self._on_runner_done)

    async def stop(self) -> None:
        """Stop accepting requests, answer every queued one, then release the worker threads."""
        runner = self._runner
        if runner is None:
            return
        self._stopping = True
        self._wake()
        try:
            await asyncio.shield(runner)
            while self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
        finally:
            if self._executor is not None:
                # Every batch has come back, so the threads are idle; do not block the loop joining them.
                self._executor.shutdown(wait=False)
            self._executor = None
            self._runner = None

    async def submit(self, texts: list[str]) -> list[Any]:
        """Queue one request's inputs and return its rows, in input order.

        Raises whatever ``predict`` raised for the batch the request was in.
        """
        if not self.running:
            raise RuntimeError("MicroBatcher is not running; call start() or use `async with MicroBatcher(...)`.")
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        request = _Request(list(texts), loop.create_future(), loop.time())
        self._pending.append(request)
        self._pending_items += len(request.texts)
        self._outstanding += 1
        self._wake()
        try:
            return await request.future
        finally:
            self._outstanding -= 1

    async def __aenter__(self) -> MicroBatcher:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        """Form and dispatch batches until stopped and the queue is empty."""
        assert self._slots is not None
        while await self._wait_for_work():
            await self._slots.acquire()  # a free worker; requests keep queueing meanwhile
            await self._wait_for_window()
            parts = self._take_batch()
            if parts:
                self._dispatch(parts)
            else:  # every queued request was cancelled by its caller
                self._slots.release()

    async def _wait_for_work(self) -> bool:
        """Wait until a request is queued (True) or the batcher stops with an empty queue (False)."""
        assert self._wakeup is not None
        while not self._pending and not self._stopping:
            self._wakeup.clear()
            await self._wakeup.wait()
        return bool(self._pending)

    async def _wait_for_window(self) -> None:
        """Wait for the batch to fill, or for ``max_wait_ms`` past the oldest queued request.

        A lone request (nothing else submitted and unanswered) goes at once: waiting could only
        add latency, as there is no one to share the batch with.
        """
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        if self._outstanding <= 1:
            return
        while self._pending and self._pending_items < self.max_batch and not self._stopping:
            remaining = self._pending[0].arrived + self.max_wait_ms / 1000.0 - loop.time()
            if remaining <= 0:
                return
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wakeup.wait()

    def _take_batch(self) -> list[_Part]:
        """Remove up to ``max_batch`` inputs from the front of the queue, oldest first."""
        parts: list[_Part] = []
        room = self.max_batch
        while self._pending and room:
            request = self._pending[0]
            if request.future.done():  # caller gone (cancelled) or already failed in an earlier part
                self._pending.popleft()
                self._pending_items -= request.untaken
                continue
            count = min(room, request.untaken)
            parts.append(_Part(request, request.taken, request.taken + count))
            request.taken += count
            self._pending_items -= count
            room -= count
            if not request.untaken:
                self._pending.popleft()
        return parts

    def _dispatch(self, parts: list[_Part]) -> None:
        """Start one ``predict`` call for ``parts`` on the function current right now."""
        size = sum(part.stop - part.start for part in parts)
        self.batches += 1
        self.items += size
        if self.on_batch is not None:
            self.on_batch(size)
        task = asyncio.get_running_loop().create_task(self._execute(self.predict, parts))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _execute(self, predict: PredictFn, parts: list[_Part]) -> None:
        """Run ``predict`` in a worker thread and hand each request its rows (or the error)."""
        assert self._slots is not None and self._executor is not None
        texts = [text for part in parts for text in part.request.texts[part.start : part.stop]]
        try:
            rows = await asyncio.get_running_loop().run_in_executor(self._executor, predict, texts)
            if not hasattr(rows, "__len__") or not hasattr(rows, "__getitem__"):
                rows = list(rows)
            if len(rows) != len(texts):
                raise ValueError(
                    f"predict returned {len(rows)} rows for {len(texts)} inputs; it must return one row per input."
                )
        except asyncio.CancelledError:
            for part in parts:
                part.request.future.cancel()
            raise
        except Exception as exc:
            for part in parts:
                if not part.request.future.done():
                    part.request.future.set_exception(exc)
            return
        finally:
            self._slots.release()
        offset = 0
        for part in parts:
            request = part.request
            for index in range(part.start, part.stop):
                request.results[index] = rows[offset]
                offset += 1
            request.answered += part.stop - part.start
            if request.answered == len(request.texts) and not request.future.done():
                request.future.set_result(request.results)

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def _on_runner_done(self, runner: asyncio.Task[None]) -> None:
        """If the loop died (a bug, or its event loop closing), fail queued requests instead of hanging them."""
        error: BaseException = RuntimeError("MicroBatcher stopped before answering this request.")
        if not runner.cancelled() and runner.exception() is not None:
            error = runner.exception() or error
        self._stopping = True
        while self._pending:
            request = self._pending.popleft()
            if not request.future.done():
                request.future.set_exception(error)
        self._pending_items = 0
