"""Prometheus metrics for the model server, kept in a registry of their own.

Each :class:`ServingMetrics` owns a fresh :class:`prometheus_client.CollectorRegistry`
instead of the process-wide default, so several apps (or several tests) in one process
never clash over metric names or share counts. The server exposes :meth:`ServingMetrics.render`
at ``/metrics``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["BATCH_SIZE_BUCKETS", "LATENCY_BUCKETS", "ServingMetrics"]

LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
"""Request latency buckets in seconds: 0.5 ms to 5 s, roughly three per decade."""

BATCH_SIZE_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
"""Batch size buckets: powers of two up to well past the default ``max_batch`` of 32."""


class ServingMetrics:
    """The server's Prometheus metrics, in a registry owned by this instance.

    Metrics
    -------
    ``tailorml_requests_total{route, status}``
        Requests answered, by route and HTTP status.
    ``tailorml_request_latency_seconds{route}``
        Request latency histogram (0.5 ms … 5 s buckets).
    ``tailorml_predictions_total{label}``
        Predictions made, by predicted label (abstained ones included).
    ``tailorml_abstentions_total``
        Predictions sent to human review instead of being answered.
    ``tailorml_abstention_rate``
        Share of abstentions among the last ``window`` predictions.
    ``tailorml_batch_size``
        Inputs per model call (see :class:`tailorml.serving.batching.MicroBatcher`).
    ``tailorml_model_info{name, version}``
        1 for the model being served; the previous model's series is removed on a swap.
    ``tailorml_review_queue_pending``
        Items waiting in the human review queue.

    Parameters
    ----------
    window:
        Number of most recent predictions the abstention rate is computed over.

    Example
    -------
    >>> metrics = ServingMetrics()
    >>> metrics.observe_predictions(["refund", "other"], [False, True])
    >>> b"tailorml_abstention_rate 0.5" in metrics.render()[0]
    True
    """

    def __init__(self, *, window: int = 1000) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 prediction; got {window}.")
        self.registry = CollectorRegistry(auto_describe=True)
        self.window = window
        self._requests = Counter(
            "tailorml_requests_total",
            "Requests answered, by route and HTTP status.",
            ["route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "tailorml_request_latency_seconds",
            "Request latency in seconds, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._predictions = Counter(
            "tailorml_predictions_total",
            "Predictions made, by predicted label (abstained predictions included).",
            ["label"],
            registry=self.registry,
        )
        self._abstentions = Counter(
            "tailorml_abstentions_total",
            "Predictions sent to the human review queue instead of being answered.",
            registry=self.registry,
        )
        self._abstention_rate = Gauge(
            "tailorml_abstention_rate",
            f"Share of abstentions among the last {window} predictions.",
            registry=self.registry,
        )
        self._batch_size = Histogram(
            "tailorml_batch_size",
            "Inputs per model call.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=self.registry,
        )
        self._model_info = Gauge(
            "tailorml_model_info",
            "1 for the model being served.",
            ["name", "version"],
            registry=self.registry,
        )
        self._pending_reviews = Gauge(
            "tailorml_review_queue_pending",
            "Items waiting in the human review queue.",
            registry=self.registry,
        )
        # The window and its running count change together, so they share one lock.
        self._lock = threading.Lock()
        self._recent: deque[bool] = deque(maxlen=window)
        self._recent_abstained = 0
        self._model: tuple[str, str] | None = None

    def observe_request(self, route: str, status: int | str, seconds: float) -> None:
        """Count one answered request and record its latency.

        ``route`` should be the route template (``/predict``), not the raw path, to keep
        the number of series bounded.
        """
        self._requests.labels(route=route, status=str(status)).inc()
        self._latency.labels(route=route).observe(seconds)

    def observe_predictions(self, labels: Sequence[str], abstained: Sequence[bool]) -> None:
        """Count predictions by label and abstentions, and update the windowed abstention rate."""
        if len(labels) != len(abstained):
            raise ValueError(
                f"labels and abstained must have one entry per prediction; got {len(labels)} and {len(abstained)}."
            )
        for label in labels:
            self._predictions.labels(label=label).inc()
        flags = [bool(flag) for flag in abstained]
        count = sum(flags)
        if count:
            self._abstentions.inc(count)
        with self._lock:
            for flag in flags:
                if len(self._recent) == self._recent.maxlen and self._recent[0]:
                    self._recent_abstained -= 1
                self._recent.append(flag)
                self._recent_abstained += flag
            if self._recent:
                self._abstention_rate.set(self._recent_abstained / len(self._recent))

    def observe_batch(self, size: int) -> None:
        """Record the number of inputs in one model call."""
        self._batch_size.observe(size)

    def set_model(self, name: str, version: str) -> None:
        """Mark ``name``/``version`` as the model being served, removing the previous one's series."""
        with self._lock:
            new = (name, str(version))
            if self._model is not None and self._model != new:
                self._model_info.remove(*self._model)
            self._model_info.labels(name=new[0], version=new[1]).set(1)
            self._model = new

    def set_pending_reviews(self, n: int) -> None:
        """Set the number of items waiting in the human review queue."""
        self._pending_reviews.set(n)

    def render(self) -> tuple[bytes, str]:
        """Return the metrics in the Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
