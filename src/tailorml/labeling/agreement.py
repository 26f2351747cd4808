"""Agreement between annotators, and the label pairs they confuse: the labeling pilot's main output.

Input: annotations as ``(item_id, annotator_id, label)`` triples. Ids are any hashable
values, labels are strings. Items may have different numbers of annotators. An annotator
labels an item at most once: when a pair (item, annotator) repeats, the **last** triple
counts and the earlier ones are dropped (:attr:`AgreementReport.n_replaced` counts them).
Skipped items are not annotations; leave them out.

Conventions (the same ones everywhere in this module):

- Agreement is measured on the items labeled by two or more annotators; an item with one
  annotation cannot be agreed or disagreed on and is left out, as in the definitions.
- A statistic that is undefined is ``None``, never NaN, and its result says why in
  ``reason``: no annotations, a single annotator, no item labeled by two annotators, or
  every annotation with the same label (chance agreement is then 1 and kappa and alpha
  are 0 / 0).
- Labels are listed in sorted order; items and annotators in the order they first appear.
- Ids appear in results as given when they are ``str`` or ``int`` (numpy integers become
  ``int``) and as ``str(id)`` otherwise, so that every result has one JSON form.

Example
-------
>>> from tailorml.labeling.agreement import agreement_report, cohen_kappa
>>> cohen_kappa(["refund", "cancel", "refund", "refund"], ["refund", "cancel", "cancel", "refund"])
0.5
>>> annotations = [
...     (1, "ana", "refund"), (1, "bo", "refund"), (1, "cy", "refund"),
...     (2, "ana", "cancel"), (2, "bo", "cancel"), (2, "cy", "cancel"),
...     (3, "ana", "refund"), (3, "bo", "cancel"), (3, "cy", "refund"),
...     (4, "ana", "balance"), (4, "bo", "balance"), (4, "cy", "balance"),
... ]
>>> report = agreement_report(annotations, min_count=1)
>>> round(report.fleiss.value, 3), report.fleiss.band
(0.745, 'substantial')
>>> round(report.krippendorff.value, 3), report.krippendorff.verdict
(0.766, 'tentative')
>>> [(p.label_a, p.label_b, p.n_disputed, p.items) for p in report.ambiguous_pairs]
[('cancel', 'refund', 1, [3])]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from numbers import Integral
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

__all__ = [
    "AgreementReport",
    "AmbiguousPair",
    "Annotation",
    "Band",
    "FleissKappa",
    "KrippendorffAlpha",
    "LabelAgreement",
    "LabelConfusion",
    "PairKappa",
    "PairwiseCohen",
    "Verdict",
    "agreement_report",
    "ambiguous_pairs",
    "annotator_confusion",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "krippendorff_verdict",
    "landis_koch_band",
    "pairwise_cohen",
    "per_label_agreement",
]

Annotation = tuple[Hashable, Hashable, str]
Id = str | int
Band = Literal["poor", "slight", "fair", "moderate", "substantial", "almost perfect"]
Verdict = Literal["reliable", "tentative", "unreliable"]

IntArray = NDArray[np.int64]

# Landis & Koch (1977): the upper bound of each band, inclusive (0.00-0.20 slight, 0.21-0.40 fair, ...).
_LANDIS_KOCH: tuple[tuple[float, Band], ...] = (
    (0.2, "slight"),
    (0.4, "fair"),
    (0.6, "moderate"),
    (0.8, "substantial"),
)
ALPHA_RELIABLE = 0.8
ALPHA_TENTATIVE = 0.667

_NO_ANNOTATIONS = "no annotations"
_ONE_ANNOTATOR = "only one annotator; agreement needs at least two"
_NO_OVERLAP = "no item was labeled by two or more annotators"
_NO_SHARED_ITEMS = "the two annotators labeled no item in common"


def _one_label(label: str, statistic: str) -> str:
    return f"every annotation compared is {label!r}; {statistic} is undefined when chance agreement is 1"


# ---------------------------------------------------------------------------------------
# Result objects


class PairKappa(BaseModel):
    """Cohen's kappa of two annotators over the items both labeled."""

    annotator_a: Id = Field(description="the annotator who appears first in the annotations")
    annotator_b: Id = Field(description="the other annotator")
    n_items: int = Field(description="items both annotators labeled")
    kappa: float | None = Field(description="Cohen's kappa on those items; None when undefined (see reason)")
    reason: str | None = Field(None, description="why kappa is None")


class PairwiseCohen(BaseModel):
    """Cohen's kappa for every pair of annotators with an item in common, and their mean (Light's kappa)."""

    pairs: list[PairKappa] = Field(description="pairs that share at least one item, in order of first appearance")
    mean: float | None = Field(description="unweighted mean of the pairs' kappas that are defined")
    band: Band | None = Field(description="Landis & Koch band of the mean")
    reason: str | None = Field(None, description="why mean is None")


class FleissKappa(BaseModel):
    """Fleiss' kappa over the items with the most common number of annotators."""

    value: float | None = Field(description="Fleiss' kappa; None when undefined (see reason)")
    band: Band | None = Field(description="Landis & Koch band of the value")
    n_items: int = Field(description="items it was computed over")
    n_annotators_per_item: int | None = Field(
        description="the number of annotators those items share: the most common count of two or more "
        "(ties go to the larger count)"
    )
    n_items_excluded: int = Field(
        description="items with two or more annotators but another count, left out (Krippendorff's alpha uses them)"
    )
    reason: str | None = Field(None, description="why value is None")


class KrippendorffAlpha(BaseModel):
    """Krippendorff's alpha for nominal labels, with missing annotations allowed."""

    value: float | None = Field(description="nominal alpha; None when undefined (see reason)")
    verdict: Verdict | None = Field(
        description=f"Krippendorff's rule: reliable at >= {ALPHA_RELIABLE}, tentative at >= {ALPHA_TENTATIVE}, "
        "else unreliable"
    )
    n_items: int = Field(description="items with two or more annotations (the pairable units)")
    n_values: int = Field(description="annotations on those items (the pairable values)")
    reason: str | None = Field(None, description="why value is None")


class LabelAgreement(BaseModel):
    """Specific (positive) agreement on one label.

    ``agreement = 2 * agreeing_pairs / (2 * agreeing_pairs + disputed_pairs)``: the chance that,
    when one annotator chose the label, another annotator of the same item chose it too. With two
    annotators this is the classic ``2a / (2a + b + c)``.
    """

    label: str
    agreement: float | None = Field(
        description="specific agreement; None when the label was never chosen on an item with two or more annotators"
    )
    n_chosen: int = Field(description="annotations with this label on items with two or more annotators")
    n_items: int = Field(description="items with two or more annotators where at least one chose the label")
    n_unanimous: int = Field(description="of those, items where every annotator chose it")
    agreeing_pairs: int = Field(description="pairs of annotators of one item who both chose the label")
    disputed_pairs: int = Field(description="pairs of annotators of one item where one chose it and the other not")


class LabelConfusion(BaseModel):
    """Label x label counts of annotator pairs on the same item (symmetric).

    Each unordered pair of annotators of an item counts once: on the diagonal when both chose the
    same label, otherwise once in each of the two mirror cells ``(a, b)`` and ``(b, a)``.
    """

    labels: list[str] = Field(description="every label seen, sorted; the rows and columns in this order")
    counts: list[list[int]] = Field(description="counts[i][j]: annotator pairs with labels[i] and labels[j]")


class AmbiguousPair(BaseModel):
    """Two labels that annotators of the same item split between.

    ``rate = n_disputed / n_either``: of the items where either label was chosen, the share where
    one annotator chose ``label_a`` and another ``label_b`` (the Jaccard index of the two labels'
    item sets). Only items labeled by two or more annotators count.
    """

    label_a: str = Field(description="the first label in sorted order")
    label_b: str = Field(description="the second label")
    rate: float = Field(description="n_disputed / n_either")
    n_disputed: int = Field(description="items where one annotator chose label_a and another label_b")
    n_either: int = Field(description="items where at least one annotator chose label_a or label_b")
    annotator_pairs: int = Field(description="annotator pairs that split between the two (the confusion cell)")
    items: list[Id] = Field(description="the disputed items, in order of first appearance")


class AgreementReport(BaseModel):
    """Everything :func:`agreement_report` measures on one set of annotations."""

    n_items: int = Field(description="distinct items annotated")
    n_annotations: int = Field(description="annotations after dropping replaced duplicates")
    n_annotators: int = Field(description="distinct annotators")
    n_items_overlap: int = Field(description="items labeled by two or more annotators: the ones agreement uses")
    n_replaced: int = Field(description="annotations dropped because the same annotator labeled the item again later")
    labels: list[str] = Field(description="every label seen, sorted")
    pairwise: PairwiseCohen = Field(description="Cohen's kappa per annotator pair and its mean")
    fleiss: FleissKappa = Field(description="Fleiss' kappa")
    krippendorff: KrippendorffAlpha = Field(description="Krippendorff's alpha (nominal)")
    per_label: list[LabelAgreement] = Field(description="specific agreement per label, lowest first")
    confusion: LabelConfusion = Field(description="label x label counts of annotator pairs")
    ambiguous_pairs: list[AmbiguousPair] = Field(description="most often confused label pairs, highest rate first")


# ---------------------------------------------------------------------------------------
# Interpretation


def landis_koch_band(kappa: float | None) -> Band | None:
    """Landis & Koch's band: <0 poor, ≤.2 slight, ≤.4 fair, ≤.6 moderate, ≤.8 substantial, else almost perfect."""
    if kappa is None:
        return None
    if kappa < 0:
        return "poor"
    for upper, band in _LANDIS_KOCH:
        if kappa <= upper:
            return band
    return "almost perfect"


def krippendorff_verdict(alpha: float | None) -> Verdict | None:
    """Krippendorff's rule for an alpha: ≥ .8 reliable, ≥ .667 tentative conclusions only, else unreliable."""
    if alpha is None:
        return None
    if alpha >= ALPHA_RELIABLE:
        return "reliable"
    return "tentative" if alpha >= ALPHA_TENTATIVE else "unreliable"


# ---------------------------------------------------------------------------------------
# The annotations as a table


@dataclass(frozen=True)
class _Table:
    items: list[Hashable]  # first-appearance order
    annotators: list[Hashable]  # first-appearance order
    labels: list[str]  # sorted
    votes: list[dict[Hashable, str]]  # per item: annotator -> label
    counts: IntArray  # (items, labels): annotators of the item who chose the label
    n_replaced: int

    @property
    def per_item(self) -> IntArray:
        return self.counts.sum(axis=1)

    @property
    def overlap(self) -> IntArray:
        """The counts of the items labeled by two or more annotators."""
        return self.counts[self.per_item >= 2]


def _table(annotations: Iterable[Annotation]) -> _Table:
    item_index: dict[Hashable, int] = {}
    votes: list[dict[Hashable, str]] = []
    annotators: dict[Hashable, None] = {}
    n_seen = 0
    for item, annotator, label in annotations:
        if not isinstance(label, str):
            raise ValueError(
                f"labels must be strings; got {label!r} for item {item!r} by annotator {annotator!r}. "
                "Convert labels with str() and leave skipped items out."
            )
        n_seen += 1
        index = item_index.setdefault(item, len(item_index))
        if index == len(votes):
            votes.append({})
        votes[index].pop(annotator, None)  # the last annotation counts, and its position too
        votes[index][annotator] = label
        annotators.setdefault(annotator, None)
    labels = sorted({label for item_votes in votes for label in item_votes.values()})
    column = {label: j for j, label in enumerate(labels)}
    counts = np.zeros((len(votes), len(labels)), dtype=np.int64)
    for i, item_votes in enumerate(votes):
        for label in item_votes.values():
            counts[i, column[label]] += 1
    return _Table(
        items=list(item_index),
        annotators=list(annotators),
        labels=labels,
        votes=votes,
        counts=counts,
        n_replaced=n_seen - int(counts.sum()),
    )


def _json_id(value: Hashable) -> Id:
    if isinstance(value, str | int):
        return value
    return int(value) if isinstance(value, Integral) else str(value)  # numpy integers from a data frame stay numbers


def _why_undefined(table: _Table) -> str | None:
    """The reason shared by every multi-annotator statistic when the data cannot support it, else None."""
    if not table.items:
        return _NO_ANNOTATIONS
    if len(table.annotators) < 2:
        return _ONE_ANNOTATOR
    if not len(table.overlap):
        return _NO_OVERLAP
    return None


# ---------------------------------------------------------------------------------------
# Cohen's kappa


def _cohen(a: Sequence[str], b: Sequence[str]) -> tuple[float | None, str | None]:
    n = len(a)
    if n == 0:
        return None, _NO_SHARED_ITEMS
    agree = sum(x == y for x, y in zip(a, b, strict=True))
    count_a, count_b = Counter(a), Counter(b)
    chance = sum(count_a[label] * count_b[label] for label in count_a)  # n^2 x expected agreement
    if chance == n * n:
        return None, _one_label(a[0], "Cohen's kappa")
    # (p_o - p_e) / (1 - p_e), multiplied through by n^2 so that it is exact
    return (n * agree - chance) / (n * n - chance), None


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two annotators' labels on the same items, in the same order.

    Parameters
    ----------
    a, b:
        One label per item from each annotator; the same length.

    Returns
    -------
    float or None
        ``(p_o - p_e) / (1 - p_e)`` as in ``sklearn.metrics.cohen_kappa_score``. None when there are
        no items, or when both annotators chose one and the same label for every item (``p_e = 1``).
    """
    if len(a) != len(b):
        raise ValueError(f"a and b must label the same items; got {len(a)} and {len(b)} labels")
    return _cohen(a, b)[0]


def _pairwise(table: _Table) -> PairwiseCohen:
    by_annotator: dict[Hashable, dict[int, str]] = {annotator: {} for annotator in table.annotators}
    for i, item_votes in enumerate(table.votes):
        for annotator, label in item_votes.items():
            by_annotator[annotator][i] = label
    pairs = []
    for first, second in combinations(table.annotators, 2):
        labels_a, labels_b = by_annotator[first], by_annotator[second]
        shared = [i for i in labels_a if i in labels_b]
        if not shared:
            continue
        kappa, reason = _cohen([labels_a[i] for i in shared], [labels_b[i] for i in shared])
        pairs.append(
            PairKappa(
                annotator_a=_json_id(first),
                annotator_b=_json_id(second),
                n_items=len(shared),
                kappa=kappa,
                reason=reason,
            )
        )
    defined = [p.kappa for p in pairs if p.kappa is not None]
    mean = float(np.mean(defined)) if defined else None
    reason = _why_undefined(table)
    if mean is None and reason is None:
        reason = "Cohen's kappa is undefined for every pair: " + "; ".join(sorted({str(p.reason) for p in pairs}))
    return PairwiseCohen(pairs=pairs, mean=mean, band=landis_koch_band(mean), reason=reason if mean is None else None)


def pairwise_cohen(annotations: Iterable[Annotation]) -> PairwiseCohen:
    """Cohen's kappa for every pair of annotators over the items both labeled, and the mean of those kappas.

    Pairs with no item in common are not listed. A pair whose kappa is undefined (both chose one
    same label throughout) is listed with ``kappa=None`` and its reason, and left out of the mean.
    The mean is unweighted (Light's kappa); each pair's ``n_items`` shows how much it rests on.
    """
    return _pairwise(_table(annotations))


# ---------------------------------------------------------------------------------------
# Fleiss' kappa and Krippendorff's alpha


def _fleiss(table: _Table) -> FleissKappa:
    reason = _why_undefined(table)
    if reason is not None:
        return FleissKappa(
            value=None, band=None, n_items=0, n_annotators_per_item=None, n_items_excluded=0, reason=reason
        )
    overlap = table.overlap
    per_item = overlap.sum(axis=1)
    frequency = Counter(per_item.tolist())
    n = max(frequency, key=lambda count: (frequency[count], count))  # the modal count; ties go to the larger
    counts = overlap[per_item == n]
    n_items = len(counts)
    totals = counts.sum(axis=0)
    value: float | None = None
    if totals.max() == n_items * n:
        reason = _one_label(table.labels[int(totals.argmax())], "Fleiss' kappa")
    else:
        observed = float(((counts * counts).sum() - n_items * n) / (n_items * n * (n - 1)))  # mean P_i
        chance = float((totals * totals).sum() / (n_items * n) ** 2)  # P_e
        value = (observed - chance) / (1 - chance)
    return FleissKappa(
        value=value,
        band=landis_koch_band(value),
        n_items=n_items,
        n_annotators_per_item=n,
        n_items_excluded=len(overlap) - n_items,
        reason=reason,
    )


def fleiss_kappa(annotations: Iterable[Annotation]) -> FleissKappa:
    """Fleiss' kappa over the items that share the most common number (two or more) of annotators.

    Fleiss' kappa needs every item rated by the same number of annotators (not necessarily the same
    people). Items with another number of annotators are left out and counted in
    ``n_items_excluded``; when two counts are equally common, the larger one is used. Krippendorff's
    alpha (:func:`krippendorff_alpha`) uses every item with two or more annotations.
    """
    return _fleiss(_table(annotations))


def _krippendorff(table: _Table) -> KrippendorffAlpha:
    overlap = table.overlap
    per_item = overlap.sum(axis=1)
    n_values = int(per_item.sum())
    value: float | None = None
    reason = _why_undefined(table)
    totals = overlap.sum(axis=0)
    if reason is None and totals.max() == n_values:
        reason = _one_label(table.labels[int(totals.argmax())], "Krippendorff's alpha")
    elif reason is None:
        # nominal: observed disagreement sum_{c!=k} o_ck with o the coincidence matrix, expected sum_{c!=k} n_c n_k
        observed = float(((per_item**2 - (overlap**2).sum(axis=1)) / (per_item - 1)).sum())
        expected = float(n_values**2 - (totals**2).sum())
        value = 1.0 - (n_values - 1) * observed / expected
    return KrippendorffAlpha(
        value=value, verdict=krippendorff_verdict(value), n_items=len(overlap), n_values=n_values, reason=reason
    )


def krippendorff_alpha(annotations: Iterable[Annotation]) -> KrippendorffAlpha:
    """Krippendorff's alpha for nominal labels (Krippendorff 2011, "Computing Krippendorff's alpha-reliability").

    Missing annotations are allowed: every item with two or more annotations is a pairable unit and
    contributes its ``m (m - 1)`` ordered pairs of values with weight ``1 / (m - 1)``. Items with one
    annotation are ignored, as in the definition.
    """
    return _krippendorff(_table(annotations))


# ---------------------------------------------------------------------------------------
# Per-label agreement, the confusion matrix and the ambiguous pairs


def _pair_counts(overlap: IntArray) -> IntArray:
    """Annotator pairs per label pair, summed over items: n_c n_k off the diagonal, n_c (n_c - 1) / 2 on it."""
    pairs = overlap.T @ overlap
    np.fill_diagonal(pairs, (np.diag(pairs) - overlap.sum(axis=0)) // 2)
    return pairs


def _per_label(table: _Table) -> list[LabelAgreement]:
    overlap = table.overlap
    pairs = _pair_counts(overlap)
    per_item = overlap.sum(axis=1)
    rows = []
    for j, label in enumerate(table.labels):
        agreeing = int(pairs[j, j])
        disputed = int(pairs[j].sum() - agreeing)
        chosen = overlap[:, j]
        rows.append(
            LabelAgreement(
                label=label,
                agreement=2 * agreeing / (2 * agreeing + disputed) if chosen.any() else None,
                n_chosen=int(chosen.sum()),
                n_items=int((chosen > 0).sum()),
                n_unanimous=int((chosen == per_item).sum()),
                agreeing_pairs=agreeing,
                disputed_pairs=disputed,
            )
        )
    return sorted(rows, key=lambda row: (row.agreement is None, row.agreement or 0.0, row.label))


def per_label_agreement(annotations: Iterable[Annotation]) -> list[LabelAgreement]:
    """Specific agreement per label: how often, when one annotator chose it, another of the same item did too.

    Returns every label seen, lowest agreement first, then the labels never chosen on an item with
    two or more annotators (``agreement=None``). See :class:`LabelAgreement` for the counts.
    """
    return _per_label(_table(annotations))


def _confusion(table: _Table) -> LabelConfusion:
    return LabelConfusion(labels=table.labels, counts=_pair_counts(table.overlap).tolist())


def annotator_confusion(annotations: Iterable[Annotation]) -> LabelConfusion:
    """Label x label counts of annotator pairs on the same item; symmetric. See :class:`LabelConfusion`."""
    return _confusion(_table(annotations))


def _ambiguous(table: _Table, min_count: int, top: int | None) -> list[AmbiguousPair]:
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1 disputed item; got {min_count}")
    if top is not None and top < 1:
        raise ValueError(f"top must be at least 1 or None for every pair; got {top}")
    multi = (table.per_item >= 2).tolist()
    item_ids = [item for item, keep in zip(table.items, multi, strict=True) if keep]
    chosen = table.overlap > 0  # (items, labels): the label was chosen on the item
    pairs = _pair_counts(table.overlap)
    disputed = chosen.T.astype(np.int64) @ chosen
    n_items = chosen.sum(axis=0)
    found = []
    for a, b in zip(*np.triu_indices(len(table.labels), k=1), strict=True):
        if disputed[a, b] < min_count:
            continue
        either = int(n_items[a] + n_items[b] - disputed[a, b])
        found.append(
            AmbiguousPair(
                label_a=table.labels[a],
                label_b=table.labels[b],
                rate=int(disputed[a, b]) / either,
                n_disputed=int(disputed[a, b]),
                n_either=either,
                annotator_pairs=int(pairs[a, b]),
                items=[_json_id(item_ids[i]) for i in np.flatnonzero(chosen[:, a] & chosen[:, b])],
            )
        )
    found.sort(key=lambda pair: (-pair.rate, -pair.n_disputed, pair.label_a, pair.label_b))
    return found if top is None else found[:top]


def ambiguous_pairs(annotations: Iterable[Annotation], min_count: int = 2, top: int | None = 10) -> list[AmbiguousPair]:
    """The label pairs annotators split between most often, with the disputed items.

    Parameters
    ----------
    annotations:
        ``(item_id, annotator_id, label)`` triples.
    min_count:
        Fewest disputed items for a pair to be listed; the default 2 keeps one-off slips out.
    top:
        Most pairs to return; None for all.

    Returns
    -------
    list of AmbiguousPair
        Ranked by ``rate = n_disputed / n_either`` (of the items where either label was chosen, the
        share where annotators split between the two), then by ``n_disputed``, then by label.
    """
    return _ambiguous(_table(annotations), min_count, top)


# ---------------------------------------------------------------------------------------
# The report


def agreement_report(annotations: Iterable[Annotation], min_count: int = 2, top: int | None = 10) -> AgreementReport:
    """Every agreement statistic of a set of annotations, in one result with one JSON form.

    Parameters
    ----------
    annotations:
        ``(item_id, annotator_id, label)`` triples; a repeated (item, annotator) keeps the last label.
    min_count, top:
        Passed to :func:`ambiguous_pairs`.

    Returns
    -------
    AgreementReport
        Counts, pairwise Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, per-label agreement, the
        confusion matrix and the ambiguous pairs. Save it with ``model_dump_json()`` and load it with
        ``AgreementReport.model_validate_json``.
    """
    table = _table(annotations)
    return AgreementReport(
        n_items=len(table.items),
        n_annotations=int(table.counts.sum()),
        n_annotators=len(table.annotators),
        n_items_overlap=len(table.overlap),
        n_replaced=table.n_replaced,
        labels=table.labels,
        pairwise=_pairwise(table),
        fleiss=_fleiss(table),
        krippendorff=_krippendorff(table),
        per_label=_per_label(table),
        confusion=_confusion(table),
        ambiguous_pairs=_ambiguous(table, min_count, top),
    )
