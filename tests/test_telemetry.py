"""ServingMetrics: names and values in the Prometheus text, model swaps, isolation, windowed rate."""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tailorml.serving.telemetry import ServingMetrics


def samples(metrics: ServingMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse ``render()`` back into ``{(sample name, sorted labels): value}``."""
    body, _ = metrics.render()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_render_has_every_metric_with_the_observed_values() -> None:
    metrics = ServingMetrics()
    metrics.observe_request("/predict", 200, 0.004)
    metrics.observe_request("/predict", 200, 0.2)
    metrics.observe_request("/predict", 422, 0.0003)
    metrics.observe_predictions(["refund", "refund", "other"], [False, True, False])
    metrics.observe_batch(5)
    metrics.observe_batch(32)
    metrics.set_model("intent", "3")
    metrics.set_pending_reviews(7)

    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    for name in (
        "tailorml_requests_total",
        "tailorml_request_latency_seconds",
        "tailorml_predictions_total",
        "tailorml_abstentions_total",
        "tailorml_abstention_rate",
        "tailorml_batch_size",
        "tailorml_model_info",
        "tailorml_review_queue_pending",
    ):
        assert f"# TYPE {name} ".encode() in body

    got = samples(metrics)
    assert got[("tailorml_requests_total", (("route", "/predict"), ("status", "200")))] == 2
    assert got[("tailorml_requests_total", (("route", "/predict"), ("status", "422")))] == 1
    route = (("route", "/predict"),)
    assert got[("tailorml_request_latency_seconds_count", route)] == 3
    assert got[("tailorml_request_latency_seconds_sum", route)] == pytest.approx(0.2043)
    assert got[("tailorml_request_latency_seconds_bucket", (("le", "0.0005"), *route))] == 1
    assert got[("tailorml_request_latency_seconds_bucket", (("le", "0.005"), *route))] == 2
    assert got[("tailorml_request_latency_seconds_bucket", (("le", "5.0"), *route))] == 3
    assert got[("tailorml_predictions_total", (("label", "refund"),))] == 2
    assert got[("tailorml_predictions_total", (("label", "other"),))] == 1
    assert got[("tailorml_abstentions_total", ())] == 1
    assert got[("tailorml_abstention_rate", ())] == pytest.approx(1 / 3)
    assert got[("tailorml_batch_size_count", ())] == 2
    assert got[("tailorml_batch_size_sum", ())] == 37
    assert got[("tailorml_batch_size_bucket", (("le", "8.0"),))] == 1
    assert got[("tailorml_batch_size_bucket", (("le", "32.0"),))] == 2
    assert got[("tailorml_model_info", (("name", "intent"), ("version", "3")))] == 1
    assert got[("tailorml_review_queue_pending", ())] == 7


def test_model_swap_replaces_the_info_series() -> None:
    metrics = ServingMetrics()
    metrics.set_model("intent", "3")
    metrics.set_model("intent", "3")  # same model again: still one series
    metrics.set_model("intent", "4")
    info = {labels: value for (name, labels), value in samples(metrics).items() if name == "tailorml_model_info"}
    assert info == {(("name", "intent"), ("version", "4")): 1}


def test_two_instances_do_not_share_values() -> None:
    first, second = ServingMetrics(), ServingMetrics()
    first.observe_request("/predict", 200, 0.01)
    first.observe_predictions(["a"], [True])
    first.set_model("m", "1")
    second.set_model("m", "2")

    got_first, got_second = samples(first), samples(second)
    assert got_first[("tailorml_requests_total", (("route", "/predict"), ("status", "200")))] == 1
    assert ("tailorml_requests_total", (("route", "/predict"), ("status", "200"))) not in got_second
    assert got_first[("tailorml_abstentions_total", ())] == 1
    assert got_second[("tailorml_abstentions_total", ())] == 0
    assert ("tailorml_model_info", (("name", "m"), ("version", "1"))) not in got_second
    assert first.registry is not second.registry


def test_abstention_rate_covers_only_the_last_window() -> None:
    metrics = ServingMetrics(window=10)
    assert samples(metrics)[("tailorml_abstention_rate", ())] == 0
    metrics.observe_predictions(["x"] * 10, [True] * 10)
    assert samples(metrics)[("tailorml_abstention_rate", ())] == 1.0
    metrics.observe_predictions(["x"] * 6, [False] * 6)  # pushes out six abstentions
    assert samples(metrics)[("tailorml_abstention_rate", ())] == pytest.approx(0.4)
    metrics.observe_predictions(["x"] * 20, [False] * 19 + [True])
    assert samples(metrics)[("tailorml_abstention_rate", ())] == pytest.approx(0.1)
    assert samples(metrics)[("tailorml_abstentions_total", ())] == 11  # the counter never forgets


def test_default_window_is_a_thousand_predictions() -> None:
    metrics = ServingMetrics()
    metrics.observe_predictions(["x"] * 1000, [True] * 1000)
    metrics.observe_predictions(["x"] * 250, [False] * 250)
    assert samples(metrics)[("tailorml_abstention_rate", ())] == pytest.approx(0.75)


def test_concurrent_observations_are_all_counted() -> None:
    metrics = ServingMetrics(window=100)

    def work() -> None:
        for _ in range(200):
            metrics.observe_predictions(["a", "b"], [True, False])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = samples(metrics)
    assert got[("tailorml_predictions_total", (("label", "a"),))] == 800
    assert got[("tailorml_abstentions_total", ())] == 800
    assert got[("tailorml_abstention_rate", ())] == pytest.approx(0.5)


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="one entry per prediction; got 2 and 1"):
        ServingMetrics().observe_predictions(["a", "b"], [True])
