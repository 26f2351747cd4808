"""Tests for PII detection and redaction in text columns."""

from __future__ import annotations

import random
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tailorml.data import pii
from tailorml.data.pii import PII_KINDS, PiiFinding, find_pii, pii_mask, redact_pii
from tailorml.errors import DataError, SpecError

POSITIVES = [
    ("email", "write to ana@example.org today"),
    ("email", "CC: john.doe+tag@mail.example.co.uk."),
    ("email", "<Info_2@Shop-24.DE>"),
    ("phone", "call +44 20 7946 0958"),
    ("phone", "(555) 123-4567"),
    ("phone", "tel 555-123-4567 after 5"),
    ("phone", "US: +1 555 123 4567"),
    ("phone", "Büro 030 1234567"),
    ("phone", "+44 (0)20 7946 0958"),
    ("phone", "+4915112345678"),
    ("phone", "fax 0171/1234567"),
    ("phone", "555.123.4567"),
    ("card", "paid with 4111 1111 1111 1111"),
    ("card", "4111-1111-1111-1111"),
    ("card", "card:5555555555554444"),
    ("card", "amex 3782 822463 10005"),
    ("card", "4111 1111 1111 1111 12/25"),
    ("iban", "IBAN GB82 WEST 1234 5698 7654 32, thanks"),
    ("iban", "DE89370400440532013000"),
    ("iban", "to NL91ABNA0417164300."),
    ("iban", "FR14 2004 1010 0505 0001 3M02 606"),
]

NEGATIVES = [
    "order 12345 shipped",
    "ticket #123456",
    "founded in 2024, moved 1999",
    "costs $1,299.00 or €1.299,00",
    "delivered 2024-01-05",
    "delivered 05-01-2024 3 items",
    "delivered 05/01/2024 at 10:30",
    "order 1234567",
    "ref 20240105",
    "between 2023 1500 units",
    "a@b.c and a@@b.com and @handle",
    "4111 1111 1111 1112",  # Luhn fails
    "41111111111111111111111",  # 23 digits, too long for a card
    "GB82 WEST 1234 5698 7654 33",  # mod-97 fails
    "DE89370400440532013001",  # mod-97 fails
    "version 1.2.3, pi 3.14159265",
    "fits 250-1200 W",  # no 7-digit local numbers: they read like ranges
    "",
]


def _kinds(text: str) -> list[str]:
    return [finding.kind for finding in find_pii([text])]


@pytest.mark.parametrize(("kind", "text"), POSITIVES)
def test_detects_each_kind(kind: str, text: str) -> None:
    assert _kinds(text) == [kind]
    assert pii_mask([text], kind).tolist() == [True]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ignores_lookalikes(text: str) -> None:
    assert _kinds(text) == []
    assert redact_pii([text]).to_pylist() == [text]


def test_a_valid_card_is_never_also_a_phone() -> None:
    # Same shape, one digit apart: Luhn decides between card and phone.
    assert _kinds("0400 1234 5678 93") == ["card"]
    assert _kinds("0400 1234 5678 90") == ["phone"]
    assert pii_mask(["4111 1111 1111 1111 030 1234567"], "phone").tolist() == [True]
    assert redact_pii(["4111 1111 1111 1111 030 1234567"]).to_pylist() == ["[CARD] [PHONE]"]


def test_a_phone_right_after_a_date_is_still_found() -> None:
    assert redact_pii(["on 05-01-2024 030 1234567"]).to_pylist() == ["on 05-01-2024 [PHONE]"]


def test_luhn_matches_the_textbook_loop() -> None:
    def luhn(digits: str) -> bool:
        total = 0
        for i, char in enumerate(reversed(digits)):
            value = int(char) * (2 if i % 2 else 1)
            total += value - 9 if value > 9 else value
        return total % 10 == 0

    rng = random.Random(0)
    for _ in range(2000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 19)))
        assert pii._luhn_ok(digits) == luhn(digits), digits


def _fuzz_texts(n: int) -> list[str]:
    pieces = [*"0145 -/.,:+()@#$€_\n", "00", "05", "030", "555", "1234", "4111", "2024", "GB", "DE89"]
    pieces += ["aZ", "x.com", "12345678", "4111111111111111", "WEST1234", "GB82WEST12345698765432"]
    rng = random.Random(7)
    return ["".join(rng.choices(pieces, k=rng.randint(1, 20))) for _ in range(n)]


def test_prefilters_pick_every_row_the_strict_rules_match() -> None:
    # Speed rests on this: rows the loose RE2 pattern skips never reach the strict rules.
    texts = _fuzz_texts(4000)
    for kind, finder in pii._FINDERS.items():
        picked = pc.match_substring_regex(pa.array(texts), pii._PREFILTERS[kind]).to_pylist()
        missed = [t for t, hit in zip(texts, picked, strict=True) if not hit and finder(t)]
        assert missed == [], kind


def test_asking_for_fewer_kinds_gives_the_same_answer_for_them() -> None:
    texts = _fuzz_texts(4000)
    everything = {f.kind: f for f in find_pii(texts, max_examples=10_000)}
    assert set(everything) == set(PII_KINDS)
    for kind in PII_KINDS:
        assert find_pii(texts, kinds=[kind], max_examples=10_000) == [everything[kind]]


def test_counts_rows_and_keeps_ascending_examples() -> None:
    texts = ["x"] * 12
    for row in (1, 3, 4, 8, 11):
        texts[row] = f"mail u{row}@example.com and u@example.net"
    texts[8] += " or +1 555 123 4567"
    found = find_pii(texts, max_examples=3)
    assert found == [
        PiiFinding(kind="email", rows=5, examples=[1, 3, 4]),
        PiiFinding(kind="phone", rows=1, examples=[8]),
    ]
    assert find_pii(texts, max_examples=0)[0].examples == []


def test_findings_follow_pii_kinds_order() -> None:
    texts = ["GB82WEST12345698765432", "4111111111111111", "555-123-4567", "a@example.com"]
    assert [f.kind for f in find_pii(texts)] == list(PII_KINDS)
    assert [f.examples for f in find_pii(texts)] == [[3], [2], [1], [0]]


def test_nulls_are_never_pii_and_stay_null() -> None:
    texts = pa.array([None, "a@example.com", None, "clean"])
    assert find_pii(texts) == [PiiFinding(kind="email", rows=1, examples=[1])]
    assert pii_mask(texts, "email").tolist() == [False, True, False, False]
    assert redact_pii(texts).to_pylist() == [None, "[EMAIL]", None, "clean"]
    assert find_pii(pa.array([None, None])) == []


def test_redaction_output() -> None:
    texts = [
        "Hi, I'm ana@example.org, call +44 20 7946 0958 or (555) 123-4567.",
        "Pay 4111 1111 1111 1111 into GB82 WEST 1234 5698 7654 32 now",
        "IBAN:DE89370400440532013000;card=5555-5555-5555-4444",
        "Grüße aus Köln: 030 1234567 – danke",
    ]
    assert redact_pii(texts).to_pylist() == [
        "Hi, I'm [EMAIL], call [PHONE] or [PHONE].",
        "Pay [CARD] into [IBAN] now",
        "IBAN:[IBAN];card=[CARD]",
        "Grüße aus Köln: [PHONE] – danke",
    ]


def test_redaction_leaves_other_rows_byte_identical() -> None:
    clean = ["order 12345", "Ünïcödé 2024-01-05 ✓", "", "$1,299.00", "4111 1111 1111 1112"]
    texts = pa.array([*clean, "a@example.com", None], type=pa.large_string())
    out = redact_pii(texts)
    assert out.type == pa.large_string()
    assert out.slice(0, len(clean)).equals(texts.slice(0, len(clean)))
    assert out.to_pylist()[len(clean) :] == ["[EMAIL]", None]
    only_clean = pa.array(clean)
    assert redact_pii(only_clean).equals(only_clean)


def test_kinds_limit_what_is_found_and_redacted() -> None:
    texts = ["a@example.com 555-123-4567", "4111 1111 1111 1111", "DE89370400440532013000"]
    assert [f.kind for f in find_pii(texts, kinds=("phone", "iban"))] == ["phone", "iban"]
    assert find_pii(texts, kinds="card") == [PiiFinding(kind="card", rows=1, examples=[1])]
    assert redact_pii(texts, kinds=["email"]).to_pylist() == [
        "[EMAIL] 555-123-4567",
        "4111 1111 1111 1111",
        "DE89370400440532013000",
    ]
    # A card left unredacted is still not a phone.
    assert redact_pii(texts, kinds=["phone"]).to_pylist()[1] == "4111 1111 1111 1111"


@pytest.mark.parametrize(
    "make",
    [
        list,
        lambda t: pd.Series(t),
        lambda t: pd.Series(t, dtype="category"),
        lambda t: pd.Series(t, dtype=object),
        lambda t: pa.array(t),
        lambda t: pa.array(t, type=pa.string_view()),
        lambda t: pa.chunked_array([t[:2], t[2:]]),
        lambda t: pa.chunked_array([t[:2], t[2:]], type=pa.large_string()),
    ],
)
def test_accepts_lists_pandas_and_arrow(make) -> None:
    texts = ["a@example.com", None, "clean", "call 555-123-4567"]
    data = make(texts)
    assert find_pii(data) == [
        PiiFinding(kind="email", rows=1, examples=[0]),
        PiiFinding(kind="phone", rows=1, examples=[3]),
    ]
    mask = pii_mask(data, "phone")
    assert mask.dtype == np.bool_ and mask.tolist() == [False, False, False, True]
    out = redact_pii(data)
    assert isinstance(out, pa.ChunkedArray) == isinstance(data, pa.ChunkedArray)
    assert out.to_pylist() == ["[EMAIL]", None, "clean", "call [PHONE]"]


def test_pandas_missing_values_are_nulls() -> None:
    assert find_pii(pd.Series(["a@example.com", np.nan, None])) == [PiiFinding(kind="email", rows=1, examples=[0])]


def test_empty_inputs() -> None:
    assert find_pii([]) == []
    assert pii_mask(pa.chunked_array([], type=pa.string()), "card").tolist() == []
    assert redact_pii(pa.array([], type=pa.string())).to_pylist() == []


def test_bad_kind_names_the_value_and_suggests_a_fix() -> None:
    with pytest.raises(SpecError, match="got 'emails'") as err:
        pii_mask(["x"], "emails")
    assert err.value.hint == "Did you mean 'email'?"
    with pytest.raises(SpecError, match="at least one"):
        find_pii(["x"], kinds=())
    with pytest.raises(SpecError, match="max_examples"):
        find_pii(["x"], max_examples=-1)


def test_non_text_columns_are_refused() -> None:
    with pytest.raises(DataError, match="int64"):
        find_pii(pa.array([1, 2]))
    with pytest.raises(DataError, match="strings"):
        redact_pii(["a", 1])


def test_long_adversarial_texts_stay_fast() -> None:
    # Shapes that make backtracking regexes explode; all must scan in linear time.
    texts = [
        "1 " * 20_000 + "x",
        "1234 " * 20_000 + "5x",
        "+1" + " 2" * 20_000 + "a",
        "0" + "1-" * 20_000 + "z",
        "a" * 40_000 + "@" + "b." * 20_000 + "1",
        "GB82" + " ABCD" * 10_000 + "x",
    ]
    start = time.perf_counter()
    find_pii(texts)
    redact_pii(texts)
    assert time.perf_counter() - start < 2.0
