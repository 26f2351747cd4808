"""Tests of tailorml.labeling.agreement against published examples, hand computations and scikit-learn."""

from __future__ import annotations

from collections.abc import Hashable
from itertools import permutations

import numpy as np
import pytest

from tailorml.labeling.agreement import (
    AgreementReport,
    Annotation,
    agreement_report,
    ambiguous_pairs,
    annotator_confusion,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_verdict,
    landis_koch_band,
    pairwise_cohen,
    per_label_agreement,
)


def votes(item: Hashable, *labels: str) -> list[Annotation]:
    """One item labeled by annotators r0, r1, ... in order."""
    return [(item, f"r{k}", label) for k, label in enumerate(labels)]


def from_rows(rows: dict[str, str]) -> list[Annotation]:
    """Reliability data as one string per annotator, one value per item, '.' for missing."""
    return [
        (unit, annotator, value)
        for annotator, row in rows.items()
        for unit, value in enumerate(row.split(), start=1)
        if value != "."
    ]


def from_pairs(a: list[str], b: list[str]) -> list[Annotation]:
    return [*((i, "a", x) for i, x in enumerate(a)), *((i, "b", y) for i, y in enumerate(b))]


# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters each, 5 categories; kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal example with missing
# values: 4 observers, 12 units; unit 12 has one value and is not pairable; nominal alpha = 0.743.
KRIPPENDORFF_ROWS = {
    "A": "1 2 3 3 2 1 4 1 2 . . .",
    "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    "C": ". 3 3 3 2 3 4 2 2 5 1 .",
    "D": "1 2 3 3 2 4 4 1 2 5 1 .",
}


def fleiss_annotations() -> list[Annotation]:
    return [
        annotation
        for subject, row in enumerate(FLEISS_TABLE)
        for annotation in votes(subject, *[str(j) for j, count in enumerate(row) for _ in range(count)])
    ]


def test_fleiss_kappa_matches_the_wikipedia_worked_example() -> None:
    result = fleiss_kappa(fleiss_annotations())
    assert result.value == pytest.approx(0.20993, abs=1e-5)  # Wikipedia: P = 0.378, P_e = 0.213, kappa = 0.210
    assert (result.band, result.n_items, result.n_annotators_per_item, result.n_items_excluded) == ("fair", 10, 14, 0)
    assert result.reason is None


def test_krippendorff_alpha_matches_the_published_nominal_example_with_missing_values() -> None:
    result = krippendorff_alpha(from_rows(KRIPPENDORFF_ROWS))
    assert result.value == pytest.approx(0.743, abs=5e-4)
    # value counts n_c = 9, 13, 10, 5, 3 (n = 40); the off-diagonal coincidences sum to 8
    assert result.value == pytest.approx(1 - 39 * 8 / (40**2 - (9**2 + 13**2 + 10**2 + 5**2 + 3**2)))
    assert (result.n_items, result.n_values, result.verdict) == (11, 40, "tentative")


def brute_force_alpha(annotations: list[Annotation]) -> float:
    """Nominal alpha from the coincidence matrix built pair by pair, as in Krippendorff's text."""
    units: dict[Hashable, list[str]] = {}
    for unit, _, value in annotations:
        units.setdefault(unit, []).append(value)
    coincidences: dict[tuple[str, str], float] = {}
    for values in units.values():
        for i, j in permutations(range(len(values)), 2):
            key = (values[i], values[j])
            coincidences[key] = coincidences.get(key, 0.0) + 1 / (len(values) - 1)
    n_c: dict[str, float] = {}
    for (c, _), o in coincidences.items():
        n_c[c] = n_c.get(c, 0.0) + o
    n = sum(n_c.values())
    observed = sum(o for (c, k), o in coincidences.items() if c != k) / n
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (n * (n - 1))
    return 1 - observed / expected


def brute_force_fleiss(table: list[list[int]]) -> float:
    n = sum(table[0])
    p_items = [(sum(c * c for c in row) - n) / (n * (n - 1)) for row in table]
    shares = [sum(row[j] for row in table) / (n * len(table)) for j in range(len(table[0]))]
    p_bar, p_e = sum(p_items) / len(p_items), sum(p * p for p in shares)
    return (p_bar - p_e) / (1 - p_e)


def test_alpha_and_fleiss_agree_with_direct_implementations_on_random_data() -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        # missing data: each of 5 annotators labels each of 30 items with probability 0.6
        annotations: list[Annotation] = [
            (item, annotator, str(rng.integers(4)))
            for item in range(30)
            for annotator in range(5)
            if rng.random() < 0.6
        ]
        assert krippendorff_alpha(annotations).value == pytest.approx(brute_force_alpha(annotations), abs=1e-12)
        table = [rng.multinomial(4, [0.5, 0.3, 0.2]).tolist() for _ in range(25)]
        annotations = [
            a for i, row in enumerate(table) for a in votes(i, *[str(j) for j, c in enumerate(row) for _ in range(c)])
        ]
        assert fleiss_kappa(annotations).value == pytest.approx(brute_force_fleiss(table), abs=1e-12)


def test_cohen_kappa_matches_scikit_learn_on_random_data() -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    labels = np.array(["a", "b", "c", "d"])
    for n, k in [(5, 2), (40, 3), (200, 4), (17, 4)]:
        a = labels[rng.integers(k, size=n)].tolist()
        b = [x if rng.random() < 0.6 else str(labels[rng.integers(k)]) for x in a]
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    # different label sets, and systematic disagreement below chance
    assert cohen_kappa(["x", "x", "y"], ["z", "y", "y"]) == pytest.approx(
        cohen_kappa_score(["x", "x", "y"], ["z", "y", "y"])
    )
    assert cohen_kappa(["x", "y", "x", "y"], ["y", "x", "y", "x"]) == -1.0


def test_cohen_kappa_and_per_label_agreement_on_a_hand_computed_two_by_two_table() -> None:
    # 40 both pos, 10 pos/neg, 5 neg/pos, 45 both neg: p_o = 0.85, p_e = 0.5 * 0.45 + 0.5 * 0.55 = 0.5
    a = ["pos"] * 50 + ["neg"] * 50
    b = ["pos"] * 40 + ["neg"] * 10 + ["pos"] * 5 + ["neg"] * 45
    assert cohen_kappa(a, b) == pytest.approx(0.7)
    rows = {row.label: row for row in per_label_agreement(from_pairs(a, b))}
    assert rows["pos"].agreement == pytest.approx(2 * 40 / (2 * 40 + 10 + 5))
    assert rows["neg"].agreement == pytest.approx(2 * 45 / (2 * 45 + 10 + 5))
    assert (rows["pos"].n_chosen, rows["pos"].n_items, rows["pos"].n_unanimous) == (95, 55, 40)
    assert (rows["pos"].agreeing_pairs, rows["pos"].disputed_pairs) == (40, 15)


def test_perfect_agreement_is_one_everywhere() -> None:
    annotations = [a for i, label in enumerate("xyzxyzx") for a in votes(i, label, label, label)]
    report = agreement_report(annotations)
    assert cohen_kappa(list("xyzx"), list("xyzx")) == 1.0
    assert report.pairwise.mean == 1.0 and report.fleiss.value == 1.0 and report.krippendorff.value == 1.0
    assert (report.pairwise.band, report.fleiss.band, report.krippendorff.verdict) == (
        "almost perfect",
        "almost perfect",
        "reliable",
    )
    assert all(row.agreement == 1.0 for row in report.per_label)
    assert ambiguous_pairs(annotations, min_count=1) == []


@pytest.mark.parametrize(
    ("annotations", "reason"),
    [
        ([], "no annotations"),
        ([(1, "ana", "x"), (2, "ana", "y"), (3, "ana", "x")], "only one annotator"),
        ([(1, "ana", "x"), (2, "bo", "y"), (3, "cy", "x")], "no item was labeled by two or more annotators"),
        (votes(1, "x", "x") + votes(2, "x", "x", "x"), "every annotation compared is 'x'"),
    ],
    ids=["empty", "one-annotator", "no-overlap", "one-label"],
)
def test_undefined_statistics_are_none_with_a_reason(annotations: list[Annotation], reason: str) -> None:
    report = agreement_report(annotations)
    for result in (report.pairwise, report.fleiss, report.krippendorff):
        assert result.reason is not None and reason in result.reason
    assert report.pairwise.mean is None and report.pairwise.band is None
    assert report.fleiss.value is None and report.fleiss.band is None
    assert report.krippendorff.value is None and report.krippendorff.verdict is None
    assert report.ambiguous_pairs == []
    assert AgreementReport.model_validate_json(report.model_dump_json()) == report


def test_cohen_kappa_edge_cases() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None  # p_e = 1: sklearn returns NaN here
    with pytest.raises(ValueError, match="a and b must label the same items; got 2 and 1 labels"):
        cohen_kappa(["x", "y"], ["x"])


def test_pairwise_cohen_uses_the_items_each_pair_shares() -> None:
    annotations = [
        *[(i, "ana", label) for i, label in enumerate(["x", "y", "x", "y", "x"])],
        *[(i, "bo", label) for i, label in enumerate(["x", "y", "y", "y"])],  # items 0-3
        *[(i, "cy", "z") for i in (3, 4)],  # shares items 3, 4 with ana and item 3 with bo
        (9, "dee", "x"),  # shares nothing: not listed
    ]
    result = pairwise_cohen(annotations)
    pairs = {(p.annotator_a, p.annotator_b): p for p in result.pairs}
    assert list(pairs) == [("ana", "bo"), ("ana", "cy"), ("bo", "cy")]
    assert pairs["ana", "bo"].n_items == 4
    assert pairs["ana", "bo"].kappa == pytest.approx(cohen_kappa(["x", "y", "x", "y"], ["x", "y", "y", "y"]))
    assert pairs["ana", "cy"].kappa == 0.0  # ana says y then x, cy says z twice
    assert pairs["bo", "cy"].n_items == 1 and pairs["bo", "cy"].kappa == 0.0
    assert result.mean == pytest.approx(np.mean([0.5, 0.0, 0.0]))
    assert result.band == "slight"


def test_pairwise_mean_leaves_out_undefined_pairs() -> None:
    annotations = [
        *votes(1, "x", "x"),
        *votes(2, "x", "x"),  # r0 and r1 both say x throughout: undefined
        (3, "r2", "x"),
        (3, "r0", "x"),
        (4, "r2", "y"),
        (4, "r0", "y"),
    ]
    result = pairwise_cohen(annotations)
    undefined = next(p for p in result.pairs if p.annotator_b == "r1")
    assert undefined.kappa is None and undefined.reason is not None and "'x'" in undefined.reason
    assert result.mean == 1.0 and result.reason is None


def test_fleiss_uses_the_most_common_number_of_annotators() -> None:
    three = votes(1, "x", "x", "y") + votes(2, "y", "y", "y") + votes(3, "x", "y", "x")
    annotations = three + votes(4, "x", "y") + votes(5, "y", "y") + votes(6, "x")
    result = fleiss_kappa(annotations)
    assert result.value == pytest.approx(fleiss_kappa(three).value)
    assert (result.n_items, result.n_annotators_per_item, result.n_items_excluded) == (3, 3, 2)
    # items 1-3 by hand: P_i = 1/3, 1, 1/3; p_j = 4/9, 5/9
    p_bar, p_e = (1 / 3 + 1 + 1 / 3) / 3, (4 / 9) ** 2 + (5 / 9) ** 2
    assert result.value == pytest.approx((p_bar - p_e) / (1 - p_e)) == pytest.approx(0.1)
    # alpha uses every item with two or more annotations
    assert krippendorff_alpha(annotations).n_items == 5
    # a tie between two counts goes to the larger
    tie = votes(1, "x", "y") + votes(2, "x", "x") + votes(3, "x", "y", "y") + votes(4, "y", "y", "y")
    assert fleiss_kappa(tie).n_annotators_per_item == 3


def test_the_last_annotation_of_an_annotator_counts() -> None:
    annotations = [*votes(1, "x", "y"), (1, "r1", "x"), *votes(2, "y", "y"), (2, "r0", "y")]
    report = agreement_report(annotations)
    assert (report.n_annotations, report.n_replaced, report.n_items, report.n_annotators) == (4, 2, 2, 2)
    assert report.pairwise.pairs[0].kappa == 1.0


def test_annotator_confusion_counts_each_pair_of_annotators_once() -> None:
    annotations = (
        votes(1, "refund", "refund", "refund")
        + votes(2, "cancel", "cancel", "cancel")
        + votes(3, "refund", "cancel", "refund")
        + votes(4, "balance", "balance", "balance")
        + votes(5, "balance")
    )
    confusion = annotator_confusion(annotations)
    assert confusion.labels == ["balance", "cancel", "refund"]
    assert confusion.counts == [[3, 0, 0], [0, 3, 2], [0, 2, 4]]
    counts = np.array(confusion.counts)
    assert (counts == counts.T).all() and np.triu(counts).sum() == 4 * 3


def ambiguity_example() -> list[Annotation]:
    items = [
        # refund/return: disputed on 3 of the 4 items where either was chosen
        votes(1, "refund", "return"),
        votes(2, "refund", "return", "refund"),
        votes(3, "return", "refund"),
        votes(4, "refund", "refund"),
        # cancel/card: more disputes (4) but a lower rate (4 of 10) than limit/pin below
        votes(5, "cancel", "card"),
        votes(6, "cancel", "card"),
        votes(7, "cancel", "card", "card"),
        votes(8, "card", "cancel"),
        *[votes(i, "cancel", "cancel") for i in range(9, 15)],
        # balance/fee: one slip, and the only time either label was chosen
        votes(15, "balance", "fee"),
        # limit/pin: the same rate as cancel/card (2 of 5) with fewer disputes
        votes(16, "pin", "limit"),
        votes(17, "limit", "pin"),
        *[votes(i, "limit", "limit") for i in (18, 19, 20)],
        votes(21, "pin"),  # one annotator: not an item agreement is measured on
    ]
    return [a for item in items for a in item]


def test_ambiguous_pairs_ranks_by_dispute_rate_with_the_disputed_items() -> None:
    pairs = ambiguous_pairs(ambiguity_example())
    assert [(p.label_a, p.label_b, p.n_disputed, p.n_either, p.items) for p in pairs] == [
        ("refund", "return", 3, 4, [1, 2, 3]),
        ("cancel", "card", 4, 10, [5, 6, 7, 8]),
        ("limit", "pin", 2, 5, [16, 17]),
    ]
    assert [p.rate for p in pairs] == [0.75, 0.4, 0.4]
    assert [p.annotator_pairs for p in pairs] == [4, 5, 2]


def test_ambiguous_pairs_min_count_and_top() -> None:
    annotations = ambiguity_example()
    assert [(p.label_a, p.label_b) for p in ambiguous_pairs(annotations, top=2)] == [
        ("refund", "return"),
        ("cancel", "card"),
    ]
    # with min_count=1 a single slip between two rare labels tops the list: why the default is 2
    everything = ambiguous_pairs(annotations, min_count=1, top=None)
    assert [(p.label_a, p.label_b, p.rate, p.items) for p in everything[:2]] == [
        ("balance", "fee", 1.0, [15]),
        ("refund", "return", 0.75, [1, 2, 3]),
    ]
    assert len(everything) == 4
    assert ambiguous_pairs(annotations, min_count=5) == []
    with pytest.raises(ValueError, match="min_count must be at least 1"):
        ambiguous_pairs(annotations, min_count=0)
    with pytest.raises(ValueError, match="top must be at least 1"):
        ambiguous_pairs(annotations, top=0)


def test_per_label_agreement_lists_the_weakest_label_first() -> None:
    rows = per_label_agreement(ambiguity_example())
    assert [row.label for row in rows][:4] == ["balance", "fee", "pin", "return"]  # no agreeing pair; ties by label
    assert [row.agreement for row in rows][:4] == [0.0] * 4
    assert [row.label for row in rows][4:] == ["card", "refund", "cancel", "limit"]
    by_label = {row.label: row for row in rows}
    # refund: agreeing pairs 1 (item 2) + 1 (item 4); disputed 1 + 2 + 1
    assert by_label["refund"].agreement == pytest.approx(2 * 2 / (2 * 2 + 4))
    assert by_label["refund"].n_unanimous == 1
    assert by_label["card"].agreement == pytest.approx(2 * 1 / (2 * 1 + 5))
    assert by_label["pin"].n_chosen == 2  # item 21 has one annotator and does not count


def test_agreement_report_bundles_everything_and_round_trips_through_json() -> None:
    annotations = ambiguity_example()
    report = agreement_report(annotations)
    assert (report.n_items, report.n_annotations, report.n_annotators, report.n_items_overlap) == (21, 43, 3, 20)
    assert report.labels == ["balance", "cancel", "card", "fee", "limit", "pin", "refund", "return"]
    assert report.fleiss == fleiss_kappa(annotations)
    assert report.krippendorff == krippendorff_alpha(annotations)
    assert report.pairwise == pairwise_cohen(annotations)
    assert report.per_label == per_label_agreement(annotations)
    assert report.confusion == annotator_confusion(annotations)
    assert report.ambiguous_pairs == ambiguous_pairs(annotations)
    assert report.krippendorff.verdict == krippendorff_verdict(report.krippendorff.value)
    assert AgreementReport.model_validate_json(report.model_dump_json()) == report


def test_ids_that_are_not_str_or_int_are_reported_as_text() -> None:
    annotations = [(("doc", 1), ("team", "a"), "x"), (("doc", 1), ("team", "b"), "y")] * 2
    annotations += [(("doc", 2), ("team", "a"), "x"), (("doc", 2), ("team", "b"), "y")]
    report = agreement_report(annotations)
    assert report.ambiguous_pairs[0].items == ["('doc', 1)", "('doc', 2)"]
    assert (report.pairwise.pairs[0].annotator_a, report.n_replaced) == ("('team', 'a')", 2)
    numpy_ids = agreement_report([(np.int64(7), np.int64(1), "x"), (np.int64(7), np.int64(2), "y")] * 2, min_count=1)
    assert numpy_ids.ambiguous_pairs[0].items == [7] and type(numpy_ids.ambiguous_pairs[0].items[0]) is int


def test_labels_must_be_strings() -> None:
    with pytest.raises(ValueError, match=r"labels must be strings; got 3 for item 1 by annotator 'ana'"):
        agreement_report([(1, "ana", 3)])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kappa", "band"),
    [
        (-0.01, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.6, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
        (None, None),
    ],
)
def test_landis_koch_bands(kappa: float | None, band: str | None) -> None:
    assert landis_koch_band(kappa) == band


@pytest.mark.parametrize(
    ("alpha", "verdict"),
    [
        (0.8, "reliable"),
        (0.799, "tentative"),
        (0.667, "tentative"),
        (0.666, "unreliable"),
        (-0.2, "unreliable"),
        (None, None),
    ],
)
def test_krippendorff_verdicts(alpha: float | None, verdict: str | None) -> None:
    assert krippendorff_verdict(alpha) == verdict
