"""The abstention threshold reaches the target precision with the most coverage it can."""

from __future__ import annotations

import numpy as np

from tailorml.abstain import choose_threshold


def test_target_precision_keeps_the_most_answers() -> None:
    confidence = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    rule = choose_threshold(confidence, correct, target_precision=0.8)
    # Answering the top 6 gives 5/6 = 0.83 >= 0.8; the top 7 gives 5/7 = 0.71.
    assert rule.threshold == 0.6 and rule.coverage == 6 / 8 and abs(rule.precision - 5 / 6) < 1e-12
    strict = choose_threshold(confidence, correct, target_precision=1.0)
    assert strict.threshold == 0.8 and strict.precision == 1.0 and strict.reachable


def test_unreachable_precision_is_reported() -> None:
    rule = choose_threshold(np.array([0.9, 0.8]), np.array([False, True]), target_precision=0.99)
    assert not rule.reachable and rule.threshold == 0.9 and rule.coverage == 0.5


def test_coverage_answers_that_share() -> None:
    confidence = np.linspace(1, 0.01, 100)
    rule = choose_threshold(confidence, np.ones(100, dtype=bool), coverage=0.9)
    assert rule.coverage == 0.9 and abs(rule.threshold - confidence[89]) < 1e-12


def test_ties_are_answered_together() -> None:
    confidence = np.array([0.9, 0.7, 0.7, 0.7, 0.2])
    correct = np.array([1, 1, 0, 1, 0], dtype=bool)
    rule = choose_threshold(confidence, correct, coverage=0.4)
    assert rule.threshold == 0.7 and rule.coverage == 0.8


def test_no_rule_never_abstains() -> None:
    rule = choose_threshold(np.array([0.3, 0.9]), np.array([True, False]))
    assert rule.threshold == 0.0 and rule.coverage == 1.0 and rule.precision == 0.5
