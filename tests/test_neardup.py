"""Normalization, hashing and near-duplicate grouping over Arrow arrays."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tailorml.data._text import normalize, normalized_buffers, row_hashes
from tailorml.data.neardup import near_duplicate_groups


def test_normalize_lowercases_and_collapses_punctuation() -> None:
    texts = ["  Hello,   World!! ", "", None, "!!!", "a", "Ünïcode Straße?", "x  y", "Order #12345."]
    assert normalize(pa.array(texts)).to_pylist() == [
        "hello world",
        "",
        "",
        "",
        "a",
        "ünïcode straße",
        "x y",
        "order 12345",
    ]


def test_normalize_matches_a_regex_reference_on_random_text() -> None:
    rng = np.random.default_rng(3)
    alphabet = [*"abcXYZ 019,.!?-'\t", "é", "ß", "\n"]
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 30))) for _ in range(2000)]
    arr = pa.array(texts)
    ref = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_lower(arr), r"[^a-z0-9\x80-\xff]+", " "))
    assert normalize(arr).to_pylist() == ref.to_pylist()


def test_row_hashes_equal_exactly_for_equal_bytes() -> None:
    offsets, data = normalized_buffers(pa.array(["Same text", "same, TEXT!", "other", "", None]))
    h = row_hashes(offsets, data)
    assert h[0] == h[1] and h[3] == h[4]
    assert len({h[0], h[2], h[3]}) == 3


def test_row_hashes_depend_on_byte_order() -> None:
    offsets, data = normalized_buffers(pa.array(["ab", "ba", "abc", "acb"]))
    assert len(set(row_hashes(offsets, data).tolist())) == 4


def test_variants_group_and_different_texts_do_not() -> None:
    texts = [
        "Where is my order 12345?",  # 0
        "where is my order 12345",  # 1: case and punctuation
        "I want to cancel my subscription",  # 2
        "I want to cancel my subscriptoin",  # 3: a typo
        "what's the weather like in Paris",  # 4
        "how do I reset my password",  # 5
        "",  # 6
        None,  # 7: null counts as empty
    ]
    g = near_duplicate_groups(pa.array(texts))
    assert g[0] == g[1]
    assert g[2] == g[3]
    assert g[6] == g[7]
    assert len({g[0], g[2], g[4], g[5], g[6]}) == 5


def test_threshold_controls_what_counts_as_near() -> None:
    texts = pa.array(["please cancel my order 12345 today", "please cancel my order 98765 today"])
    loose = near_duplicate_groups(texts, threshold=0.5)
    strict = near_duplicate_groups(texts, threshold=0.95)
    assert loose[0] == loose[1]
    assert strict[0] != strict[1]


def test_large_bucket_of_identical_rows_is_one_group() -> None:
    # 20,000 identical rows: a pairwise method would compare 2e8 pairs.
    texts = pa.array(["the same message"] * 20_000 + ["something else entirely"])
    g = near_duplicate_groups(texts)
    assert len(np.unique(g[:-1])) == 1 and g[-1] != g[0]


def test_groups_are_deterministic() -> None:
    texts = pa.array([f"message number {i % 50} about order {i}" for i in range(500)])
    assert np.array_equal(near_duplicate_groups(texts), near_duplicate_groups(texts))


def test_bands_must_divide_hashes() -> None:
    with pytest.raises(ValueError, match="multiple of bands"):
        near_duplicate_groups(pa.array(["a"]), n_hashes=10, bands=4)
