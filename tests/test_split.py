"""The split is stratified, reproducible, and never separates near-duplicates."""

from __future__ import annotations

import numpy as np

from tailorml.data.split import stratified_group_split


def test_fractions_per_label() -> None:
    labels = np.repeat(["a", "b", "c"], [1000, 500, 100])
    codes = stratified_group_split(labels, np.arange(len(labels)), validation=0.1, test=0.2, seed=0)
    for label, n in (("a", 1000), ("b", 500), ("c", 100)):
        counts = np.bincount(codes[labels == label], minlength=3)
        assert abs(counts[2] - 0.2 * n) <= 1 and abs(counts[1] - 0.1 * n) <= 1


def test_groups_stay_on_one_side() -> None:
    rng = np.random.default_rng(1)
    labels = rng.choice(["x", "y"], size=3000)
    groups = rng.integers(0, 400, size=3000)
    codes = stratified_group_split(labels, groups, validation=0.1, test=0.2, seed=3)
    for g in np.unique(groups):
        assert len(np.unique(codes[groups == g])) == 1
    share = np.bincount(codes, minlength=3) / 3000
    assert abs(share[2] - 0.2) < 0.05 and abs(share[1] - 0.1) < 0.05


def test_same_seed_same_split_other_seed_other_split() -> None:
    labels = np.repeat(["a", "b"], 200)
    groups = np.arange(400)
    first = stratified_group_split(labels, groups, validation=0.1, test=0.2, seed=7)
    again = stratified_group_split(labels, groups, validation=0.1, test=0.2, seed=7)
    other = stratified_group_split(labels, groups, validation=0.1, test=0.2, seed=8)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_no_test_side_when_test_is_zero() -> None:
    codes = stratified_group_split(np.repeat(["a"], 50), np.arange(50), validation=0.2, test=0.0, seed=0)
    assert np.bincount(codes, minlength=3).tolist() == [40, 10, 0]


def test_empty_input() -> None:
    assert stratified_group_split(np.array([]), np.array([]), validation=0.1, test=0.2, seed=0).size == 0
