"""Which rows of a data version go into a labeling task: random, stratified, or active.

- ``random``: a uniform sample, seeded.
- ``stratified``: the same share of every class of the version's existing labels (at least
  one row each), so rare classes are in the pilot; needs those labels.
- ``active``: the rows the current model is least sure of — a ``tfidf-linear`` model fitted
  on the rows that already have a label ranks the others (see :mod:`tailorml.labeling.active`).

Example
-------
>>> rows = sample_rows(["a", "a", "a", "b"], 2, strategy="stratified", seed=0)
>>> len(rows), 3 in rows  # the only "b" row is always in
(2, True)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from tailorml.errors import TailorError

__all__ = ["sample_rows"]


def _has_label(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def sample_rows(
    labels: Sequence[object | None],
    n: int | None,
    *,
    strategy: str = "random",
    seed: int = 0,
    texts: Sequence[str] | None = None,
) -> list[int]:
    """Row indices for a task of ``n`` items (all rows when ``n`` is None or larger), sorted for random/stratified.

    Stratified sampling gives every class at least one row, so with more classes than ``n``
    it returns one row per class.

    ``active`` returns them most-uncertain first, which is the order annotators then see.
    """
    total = len(labels)
    if n is not None and n < 1:
        raise TailorError(f"a task needs at least one item; got --items {n}", hint="use --items 1 or more")
    k = total if n is None else min(n, total)
    rng = np.random.default_rng(seed)
    if strategy == "random":
        return sorted(int(i) for i in rng.choice(total, size=k, replace=False))
    if strategy == "stratified":
        return _stratified(labels, k, rng)
    if strategy == "active":
        if texts is None:
            raise ValueError("active sampling needs the texts")
        return _active(texts, labels, k, seed)
    raise TailorError(f"sampling strategy {strategy!r} is not known", hint="use random, stratified or active")


def _stratified(labels: Sequence[object | None], k: int, rng: np.random.Generator) -> list[int]:
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        if _has_label(label):
            by_class[str(label)].append(i)
    if not by_class:
        raise TailorError(
            "stratified sampling needs labels, and this data version has none",
            hint="use --strategy random (or active once some rows are labeled)",
        )
    classes = sorted(by_class)
    sizes = np.array([len(by_class[c]) for c in classes])
    exact = sizes * min(1.0, k / sizes.sum())
    quota = np.maximum(1, np.floor(exact)).astype(int)  # every class at least once
    while quota.sum() > k and (quota > 1).any():  # the minimums overshot: take back from the most over-served
        surplus = np.where(quota > 1, quota - exact, -np.inf)
        quota[int(np.argmax(surplus))] -= 1
    # Largest remainders fill up to k (a class never gets more rows than it has).
    for j in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if quota.sum() >= k:
            break
        if quota[j] < sizes[j]:
            quota[j] += 1
    chosen: list[int] = []
    for label, take in zip(classes, quota, strict=True):
        chosen.extend(int(i) for i in rng.choice(by_class[label], size=int(take), replace=False))
    return sorted(chosen)


def _active(texts: Sequence[str], labels: Sequence[object | None], k: int, seed: int) -> list[int]:
    from tailorml.labeling.active import suggest_next

    labeled = [i for i, label in enumerate(labels) if _has_label(label)]
    pool = [i for i, label in enumerate(labels) if not _has_label(label)] or list(range(len(texts)))
    suggestions = suggest_next(
        [texts[i] for i in labeled],
        [str(labels[i]) for i in labeled],
        [texts[i] for i in pool],
        k,
        seed=seed,
    )
    return [pool[s.index] for s in suggestions.items]
