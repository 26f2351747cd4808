"""Tests of tailorml.plan.labels: learning curves on subsets, and forecasts from them."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from tailorml.data.synth import synthesize
from tailorml.plan.labels import LabelForecast, forecast, learning_curve
from tailorml.results import LearningPoint

A, B, C = 0.95, 0.6, 0.4  # the true curve: acc(n) = A - B * n ** -C


def true_accuracy(n: float) -> float:
    return A - B * n**-C


def power_points(noise: float = 0.0, seed: int = 0, sizes: tuple[int, ...] = (1000, 2000, 4000)) -> list[LearningPoint]:
    rng = np.random.default_rng(seed)
    return [
        LearningPoint(fraction=n / 10_000, n_train=n, accuracy=true_accuracy(n) + float(rng.normal(0, noise)))
        for n in sizes
        for _ in range(3)
    ]


def test_learning_curve_one_point_per_run_with_stratified_subsets() -> None:
    frame = synthesize(1500, seed=1)
    train, test = frame.iloc[:1000], frame.iloc[1000:]
    points = learning_curve(
        "tfidf-linear",
        train["text"].tolist(),
        train["label"].tolist(),
        test["text"].tolist(),
        test["label"].tolist(),
        fractions=(0.1, 0.4),
        seeds=(0, 1),
        params={"char_ngram_range": (2, 3)},
    )
    assert [p.fraction for p in points] == [0.1, 0.1, 0.4, 0.4]
    n_classes = train["label"].nunique()
    for p in points:
        # each class keeps about its share and at least one row
        assert abs(p.n_train - p.fraction * len(train)) <= n_classes
        assert 0 <= p.accuracy <= 1
    assert np.mean([p.accuracy for p in points[2:]]) > np.mean([p.accuracy for p in points[:2]])


def test_learning_curve_rejects_percent_fractions() -> None:
    with pytest.raises(ValueError, match=r"fractions must be in \(0, 1\]; got \[10\]"):
        learning_curve("tfidf-linear", ["a"], ["x"], ["a"], ["x"], fractions=(10,))


def test_forecast_recovers_a_known_power_law() -> None:
    result = forecast(power_points(), n_target=10_000, accuracy_target=0.93)
    assert result.kind == "power"
    assert result.predicted_accuracy == pytest.approx(true_accuracy(10_000), abs=1e-4)
    assert result.asymptote == pytest.approx(A, abs=1e-3)
    truth_rows = (B / (A - 0.93)) ** (1 / C)
    assert result.reachable is True
    assert result.labels_needed == pytest.approx(truth_rows, rel=0.01)


@pytest.fixture(scope="module")
def noisy() -> tuple[list[LearningPoint], LabelForecast]:
    """A fixed noisy draw (0.4 points per run) around the true curve, and its forecast."""
    points = power_points(noise=0.004, seed=0)
    return points, forecast(points, n_target=10_000, accuracy_target=0.9, measured_on=datetime.date(2026, 11, 30))


def test_forecast_interval_contains_the_truth_with_noise(noisy: tuple[list[LearningPoint], LabelForecast]) -> None:
    _, result = noisy
    assert result.low <= true_accuracy(10_000) <= result.high
    assert result.low <= result.predicted_accuracy <= result.high
    assert result.high - result.low < 0.1


def test_forecast_target_above_the_asymptote_is_unreachable() -> None:
    result = forecast(power_points(), n_target=10_000, accuracy_target=0.97)
    assert result.reachable is False
    assert result.labels_needed is None
    assert result.asymptote < 0.97


def test_forecast_without_target_leaves_labels_needed_empty() -> None:
    result = forecast(power_points(), n_target=8000)
    assert result.accuracy_target is None and result.labels_needed is None and result.reachable is None


def test_forecast_is_deterministic_and_serializes(noisy: tuple[list[LearningPoint], LabelForecast]) -> None:
    points, first = noisy
    second = forecast(points, n_target=10_000, accuracy_target=0.9, measured_on=datetime.date(2026, 11, 30))
    assert first == second
    assert LabelForecast.model_validate_json(first.model_dump_json()) == first
    assert first.curve().accuracy_at(10_000) == pytest.approx(first.predicted_accuracy)


def test_forecast_source_names_runs_path_data_and_date() -> None:
    result = forecast(
        power_points(), n_target=10_000, path="tfidf-linear", n_labeled=10_003, measured_on=datetime.date(2026, 11, 30)
    )
    assert (
        result.source
        == "fitted on 9 runs of tfidf-linear on 10%–40% of 10,003 labeled rows, measured here on 2026-11-30"
    )


def test_forecast_needs_two_sizes_and_valid_arguments() -> None:
    with pytest.raises(ValueError, match="two distinct training-set sizes"):
        forecast(power_points(sizes=(1000,)), n_target=10_000)
    with pytest.raises(ValueError, match=r"got 93\. Did you mean 0\.93\?"):
        forecast(power_points(), n_target=10_000, accuracy_target=93)
    with pytest.raises(ValueError, match="n_target must be a positive"):
        forecast(power_points(), n_target=0)
