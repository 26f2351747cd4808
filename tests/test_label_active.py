"""Active learning: the uncertainty formulas, the ranking and its ties, and suggest_next's fallback."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailorml.labeling.active import (
    STRATEGIES,
    Suggestions,
    entropy,
    least_confident,
    margin,
    most_uncertain,
    rank_uncertain,
    suggest_next,
    uncertainty,
)


def test_scores_match_the_formulas_by_hand() -> None:
    p = np.array([[0.5, 0.3, 0.2], [0.9, 0.1, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])
    assert margin(p) == pytest.approx([1 - (0.5 - 0.3), 1 - (0.9 - 0.1), 1.0, 0.0])
    assert least_confident(p) == pytest.approx([0.5, 0.1, 2 / 3, 0.0])
    h = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2)) / math.log(3)
    h2 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / math.log(3)  # 0 * log 0 counts as 0
    assert entropy(p) == pytest.approx([h, h2, 1.0, 0.0])
    assert entropy(np.array([[0.9, 0.1]])) == pytest.approx([0.4690], abs=1e-4)


def test_scores_on_a_single_class_are_certain() -> None:
    p = np.ones((2, 1))
    for name in STRATEGIES:
        assert uncertainty(p, name).tolist() == [0.0, 0.0]


def test_the_most_ambiguous_rows_are_picked_first() -> None:
    proba = np.array(
        [
            [0.98, 0.01, 0.01],  # sure
            [0.45, 0.45, 0.10],  # torn between two classes
            [0.70, 0.20, 0.10],
            [0.34, 0.33, 0.33],  # torn between all three
            [0.05, 0.90, 0.05],  # sure
        ]
    )
    assert most_uncertain(proba, 2, "margin") == [1, 3]  # margin: a 0.00 gap beats a 0.01 gap
    assert most_uncertain(proba, 2, "entropy") == [3, 1]  # entropy: the flattest row first
    assert most_uncertain(proba, 5, "least_confident") == [3, 1, 2, 4, 0]
    assert most_uncertain(proba, 10) == [1, 3, 2, 4, 0]  # k beyond the rows returns them all
    assert most_uncertain(proba, 0) == []


def test_ties_keep_input_order_even_with_float_noise() -> None:
    row = np.array([0.1, 0.6, 0.3])
    proba = np.array([[0.9, 0.05, 0.05], row[[2, 0, 1]], row, row[[1, 2, 0]], [0.9, 0.05, 0.05]])
    for name in STRATEGIES:
        assert most_uncertain(proba, 5, name) == [1, 2, 3, 0, 4]


class _Fixed:
    """A fitted-model stand-in whose probabilities depend on the text's length."""

    classes_ = np.array(["a", "b"], dtype=object)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        p = np.array([min(len(t), 10) / 20 + 0.5 for t in texts])
        return np.column_stack([p, 1 - p])


def test_rank_uncertain_uses_the_models_probabilities() -> None:
    assert rank_uncertain(_Fixed(), ["xxxxxxxxxx", "", "xx", "x"], k=3) == [1, 3, 2]
    assert rank_uncertain(_Fixed(), [], k=3) == []
    with pytest.raises(ValueError, match="unknown uncertainty strategy 'margins'"):
        rank_uncertain(_Fixed(), ["x"], k=1, strategy="margins")
    with pytest.raises(ValueError, match="k must be"):
        rank_uncertain(_Fixed(), ["x"], k=-1)


LABELED = (
    ["refund my money", "i want a refund", "refund please", "hello there", "hi how are you", "good morning hello"],
    ["refund", "refund", "refund", "greet", "greet", "greet"],
)


def test_suggest_next_picks_the_mixed_text_first() -> None:
    unlabeled = ["refund my order", "hello hi", "hello i want a refund", "good morning"]
    result = suggest_next(*LABELED, unlabeled, k=2)
    assert result.used == "margin" and result.note is None
    assert result.indices[0] == 2
    first = result.items[0]
    assert first.predicted_label in {"refund", "greet"} and 0.5 <= first.probability <= 0.75
    assert first.score == pytest.approx(1 - (2 * first.probability - 1))  # two classes: margin = 2(1 - p1)
    assert result.labeled_classes == ["greet", "refund"] and (result.n_labeled, result.n_unlabeled) == (6, 4)
    assert Suggestions.model_validate_json(result.model_dump_json()) == result


def test_suggest_next_falls_back_to_seeded_random_below_two_classes() -> None:
    unlabeled = [f"text {i}" for i in range(20)]
    result = suggest_next(["refund please"], ["refund"], unlabeled, k=5, seed=7)
    assert result.used == "random" and result.strategy == "margin"
    assert result.note is not None and "at least 2" in result.note and "seed 7" in result.note
    assert len(set(result.indices)) == 5 and all(0 <= i < 20 for i in result.indices)
    assert all(item.score is None and item.predicted_label is None for item in result.items)
    assert suggest_next([], [], unlabeled, k=5, seed=7).indices == result.indices  # the seed decides
    assert suggest_next([], [], unlabeled, k=5, seed=8).indices != result.indices
    assert sorted(suggest_next([], [], unlabeled[:3], k=10).indices) == [0, 1, 2]


def test_suggest_next_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="must match one to one"):
        suggest_next(["a", "b"], ["x"], ["c"], k=1)
    with pytest.raises(ValueError, match="entropy"):
        suggest_next(*LABELED, ["c"], k=1, strategy="random")
    assert suggest_next(*LABELED, [], k=3).items == []
