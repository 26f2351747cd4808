"""Label-error detection: flipped labels rank first, small classes follow the stated rule, the cut and the result."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tailorml.errors import DataError
from tailorml.labeling.label_errors import (
    LabelErrors,
    OutOfFold,
    find_label_errors,
    label_errors_from_proba,
    out_of_fold_proba,
)

TOPICS = {
    "refund": ["refund", "money back", "reimburse me", "charged twice", "refund payment", "refund my money"],
    "delivery": ["parcel", "shipping", "courier", "tracking number", "package late", "parcel shipping"],
    "password": ["password", "log in", "locked out", "reset password", "forgot password", "cannot log in"],
}
FRAMES = ["i need help with {}", "{} please", "question about {}", "my {} issue", "{} again"]
FLIPS = {3: "delivery", 37: "password", 71: "refund"}  # row -> wrong label


def _crafted() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, phrases in TOPICS.items():
        for phrase in phrases:
            for frame in FRAMES:
                texts.append(frame.format(phrase))
                labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def crafted() -> tuple[list[str], list[str], list[str]]:
    texts, truth = _crafted()
    noisy = list(truth)
    for row, wrong in FLIPS.items():
        assert truth[row] != wrong
        noisy[row] = wrong
    return texts, noisy, truth


@pytest.fixture(scope="module")
def found(crafted: tuple[list[str], list[str], list[str]]) -> LabelErrors:
    texts, noisy, _ = crafted
    return find_label_errors(texts, noisy, seed=0)


@pytest.fixture(scope="module")
def oof(crafted: tuple[list[str], list[str], list[str]]) -> OutOfFold:
    texts, noisy, _ = crafted
    return out_of_fold_proba(texts, noisy, seed=0)


def test_flipped_labels_rank_at_the_top_with_their_true_label_suggested(
    crafted: tuple[list[str], list[str], list[str]], found: LabelErrors
) -> None:
    _, noisy, truth = crafted
    top = found.suspects[: len(FLIPS)]
    assert {s.row for s in top} == set(FLIPS)
    for s in top:
        assert s.given_label == noisy[s.row] and s.suggested_label == truth[s.row]
        assert s.given_probability < s.suggested_probability
        assert s.quality == pytest.approx(s.given_probability)  # self-confidence is the given label's probability
    assert [s.rank for s in found.suspects] == list(range(1, len(found.suspects) + 1))
    assert [s.quality for s in found.suspects] == sorted(s.quality for s in found.suspects)
    assert found.n_found == len(found.suspects) and found.n_checked == found.n_rows == len(noisy)
    assert (found.path, found.folds, found.n_classes, found.excluded_rows) == ("tfidf-linear", 5, 3, [])


def test_probabilities_are_out_of_fold() -> None:
    # Nonsense texts with random labels: a model scoring its own training rows memorizes each
    # row's unique words; out of fold there is nothing to learn and the given label is a coin flip.
    from tailorml.paths import create_path

    rng = np.random.default_rng(0)
    texts = [" ".join("".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 8)) for _ in range(2)) for _ in range(40)]
    labels = rng.permutation(["a", "b"] * 20).tolist()
    oof = out_of_fold_proba(texts, labels, folds=4, seed=0)
    column = [oof.classes.index(label) for label in oof.labels]
    out_of_fold = oof.proba[np.arange(40), column].mean()
    in_sample = create_path("tfidf-linear").fit(texts, labels).predict_proba(texts)[np.arange(40), column].mean()
    assert np.allclose(oof.proba.sum(axis=1), 1.0)
    assert in_sample > 0.8 and out_of_fold < 0.55
    assert list(oof.rows) == list(range(40)) and oof.classes == ("a", "b") and oof.folds == 4


def test_the_same_seed_gives_the_same_result(
    crafted: tuple[list[str], list[str], list[str]], found: LabelErrors, oof: OutOfFold
) -> None:
    texts, noisy, _ = crafted
    assert find_label_errors(texts, noisy, seed=0) == found
    assert label_errors_from_proba(oof) == found  # find_label_errors is exactly the two steps


def test_a_class_with_one_row_is_excluded_and_reported(crafted: tuple[list[str], list[str], list[str]]) -> None:
    texts, noisy, _ = crafted
    result = find_label_errors([*texts, "close my account"], [*noisy, "closure"])
    assert result.excluded_rows == [len(texts)] and result.excluded_labels == ["closure"]
    assert result.n_checked == len(texts) and result.n_rows == len(texts) + 1 and result.n_classes == 3
    assert len(texts) not in {s.row for s in result.suspects}
    assert {s.row for s in result.suspects[: len(FLIPS)]} == set(FLIPS)
    assert any("single row" in note and "closure" in note for note in result.notes)


def test_classes_smaller_than_folds_reduce_folds_only_when_all_are() -> None:
    texts = ["refund now", "refund my money", "refund it", "hello", "hello there"]
    labels = ["refund", "refund", "refund", "greet", "greet"]
    oof = out_of_fold_proba(texts, labels, folds=5)
    assert oof.folds == 3  # the largest class has 3 rows
    assert any("used 3 folds" in note for note in oof.notes)
    assert any("fewer rows than folds" in note and "greet" in note for note in oof.notes)
    assert oof.proba.shape == (5, 2)


def test_a_single_class_is_a_data_error() -> None:
    with pytest.raises(DataError, match="at least 2 classes with 2 or more rows"):
        find_label_errors(["a", "b", "c"], ["x", "x", "x"])
    with pytest.raises(DataError, match="got 1"):  # the second class has a single row
        find_label_errors(["a", "b", "c"], ["x", "x", "y"])


def test_top_k_and_top_fraction_cut_the_queue_but_not_the_count(
    crafted: tuple[list[str], list[str], list[str]],
) -> None:
    texts, noisy, _ = crafted
    oof = out_of_fold_proba(texts, noisy)
    full = label_errors_from_proba(oof, filter_by="predicted_neq_given")
    assert full.n_found >= 3
    by_k = label_errors_from_proba(oof, filter_by="predicted_neq_given", top_k=2)
    assert by_k.suspects == full.suspects[:2] and by_k.n_found == full.n_found
    by_fraction = label_errors_from_proba(oof, filter_by="predicted_neq_given", top_fraction=0.05)
    assert len(by_fraction.suspects) == min(full.n_found, int(np.ceil(0.05 * oof.n_rows)))
    with pytest.raises(ValueError, match="not both"):
        label_errors_from_proba(oof, top_k=2, top_fraction=0.1)
    with pytest.raises(ValueError, match=r"Did you mean 0\.05"):
        label_errors_from_proba(oof, top_fraction=5)
    with pytest.raises(ValueError, match="filter_by"):
        label_errors_from_proba(oof, filter_by="prune_everything")


def test_averaging_two_out_of_fold_results(crafted: tuple[list[str], list[str], list[str]], oof: OutOfFold) -> None:
    texts, noisy, _ = crafted
    other = out_of_fold_proba(texts, noisy, seed=1)
    mean = oof.mean_with(other)
    assert np.allclose(mean.proba, (oof.proba + other.proba) / 2) and mean.path == "tfidf-linear+tfidf-linear"
    with pytest.raises(ValueError, match="same rows"):
        oof.mean_with(replace(other, rows=other.rows[::-1]))


def test_labels_are_compared_as_str_and_inputs_are_checked() -> None:
    texts = ["refund now", "refund my money", "refund it", "hello", "hello there", "hi there"]
    oof = out_of_fold_proba(texts, [1, 1, 1, 2, 2, 2], folds=3)
    assert oof.classes == ("1", "2")
    with pytest.raises(ValueError, match="must match"):
        find_label_errors(texts, [1, 2])
    with pytest.raises(ValueError, match="folds"):
        find_label_errors(texts, [1, 1, 1, 2, 2, 2], folds=1)
    with pytest.raises(ValueError, match="label 2 is missing"):
        find_label_errors(texts, [1, 1, None, 2, 2, 2])


def test_the_result_round_trips_through_json(found: LabelErrors) -> None:
    assert LabelErrors.model_validate_json(found.model_dump_json()) == found
