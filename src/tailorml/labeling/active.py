"""Active learning: which unlabeled items should annotators label next.

Three uncertainty scores of a model's class probabilities, each in ``[0, 1]`` where higher
means *less sure*:

- :func:`margin` — ``1 - (p1 - p2)``, from the two most probable classes;
- :func:`entropy` — the entropy of the row divided by ``log K`` (K classes);
- :func:`least_confident` — ``1 - p1``.

:func:`rank_uncertain` orders texts by one of them under a fitted model path, and
:func:`suggest_next` fits a cheap path on the rows labeled so far and returns the unlabeled
rows it is least sure of: what ``tailor label next`` and the annotation app's "active"
sampling strategy call. scikit-learn is imported only when a model is fitted.

Example
-------
>>> import numpy as np
>>> proba = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [1.0, 0.0, 0.0]])
>>> margin(proba).round(3).tolist()
[0.5, 1.0, 0.0]
>>> entropy(proba).round(3).tolist()
[0.73, 0.96, 0.0]
>>> least_confident(proba).round(3).tolist()
[0.3, 0.6, 0.0]
>>> most_uncertain(proba, 2)
[1, 0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

__all__ = [
    "STRATEGIES",
    "Strategy",
    "Suggestion",
    "Suggestions",
    "entropy",
    "least_confident",
    "margin",
    "most_uncertain",
    "rank_uncertain",
    "suggest_next",
    "uncertainty",
]

Strategy = Literal["margin", "entropy", "least_confident"]

# Scores that differ by less than this are ties, broken by position: float noise in a
# probability row (e.g. the same row with its classes permuted) must not reorder items.
_TIE_DECIMALS = 12


def _as_proba(proba: Any) -> np.ndarray:
    array = np.asarray(proba, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(
            f"expected class probabilities of shape (n_items, n_classes); got an array of shape {array.shape}"
        )
    return array


def margin(proba: Any) -> np.ndarray:
    """Margin uncertainty ``1 - (p1 - p2)`` per row: 1 when the top two classes tie, 0 when one has it all.

    With a single class ``p2`` is 0.
    """
    p = _as_proba(proba)
    if p.shape[1] == 1:
        return 1.0 - p[:, 0]
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return np.asarray(1.0 - (top2[:, 0] - top2[:, 1]))


def entropy(proba: Any) -> np.ndarray:
    """Entropy of each row divided by ``log K``: 1 for a uniform row, 0 for a one-hot row (0 when K = 1)."""
    p = _as_proba(proba)
    n_classes = p.shape[1]
    if n_classes == 1:
        return np.zeros(len(p))
    # 0 * log(0) is 0: clipping keeps the log finite and the product exact.
    logp = np.log(np.clip(p, np.finfo(np.float64).tiny, None))
    return np.asarray(np.clip(0.0 - (p * logp).sum(axis=1) / np.log(n_classes), 0.0, 1.0))  # 0.0 - x: no -0.0


def least_confident(proba: Any) -> np.ndarray:
    """Least-confidence uncertainty ``1 - p1`` per row (p1: the largest probability)."""
    p = _as_proba(proba)
    return np.asarray(1.0 - p.max(axis=1))


STRATEGIES: dict[str, Callable[[Any], np.ndarray]] = {
    "margin": margin,
    "entropy": entropy,
    "least_confident": least_confident,
}


def uncertainty(proba: Any, strategy: str = "margin") -> np.ndarray:
    """Scores of ``strategy`` (a key of :data:`STRATEGIES`) per row of ``proba``; higher is less sure."""
    return _strategy(strategy)(proba)


def most_uncertain(proba: Any, k: int, strategy: str = "margin") -> list[int]:
    """Row indices of the ``k`` rows of ``proba`` with the highest ``strategy`` score, most uncertain first.

    Equal scores keep their input order (lower index first); ``k`` larger than the number of
    rows returns them all.
    """
    scores = uncertainty(proba, strategy)
    return _top(scores, _check_k(k))


def rank_uncertain(model: Any, texts: Sequence[str], k: int, strategy: str = "margin") -> list[int]:
    """Indices of the ``k`` texts that a fitted model path is least sure of, most uncertain first.

    Parameters
    ----------
    model:
        A fitted model path (anything with ``predict_proba``, e.g. from
        :func:`tailorml.paths.create_path` then ``fit``).
    texts:
        The candidate texts.
    k:
        How many indices to return (all of them when ``k`` exceeds ``len(texts)``).
    strategy:
        ``"margin"``, ``"entropy"`` or ``"least_confident"``.

    Returns
    -------
    list[int]
        Positions in ``texts``; ties keep input order.

    Example
    -------
    >>> from tailorml.paths import create_path
    >>> model = create_path("tfidf-linear").fit(["refund please", "refund my money", "hello", "hi there"],
    ...                                        ["refund", "refund", "greet", "greet"])
    >>> rank_uncertain(model, ["refund", "hello there", "refund hello"], k=1)
    [2]
    """
    k = _check_k(k)
    _strategy(strategy)  # fail on a bad name before predicting
    if not len(texts):
        return []
    return _top(uncertainty(model.predict_proba(list(texts)), strategy), k)


class Suggestion(BaseModel):
    """One unlabeled item proposed for labeling."""

    index: int = Field(description="position of the item in the unlabeled texts given")
    score: float | None = Field(
        description="uncertainty score of the strategy used, in [0, 1], higher is less sure; None for random picks"
    )
    predicted_label: str | None = Field(description="the model's most probable label; None for random picks")
    probability: float | None = Field(description="the model's probability of predicted_label; None for random picks")


class Suggestions(BaseModel):
    """The items :func:`suggest_next` proposes, most useful first, and how they were chosen."""

    strategy: str = Field(description="the strategy asked for: margin, entropy or least_confident")
    used: str = Field(description="how the items were chosen: the strategy asked for, or 'random' when falling back")
    path: str = Field(description="model path fitted on the labeled rows (not fitted when used is 'random')")
    seed: int = Field(description="seed of the random fallback")
    n_labeled: int = Field(description="labeled rows the model was fitted on")
    labeled_classes: list[str] = Field(description="distinct labels among the labeled rows, sorted")
    n_unlabeled: int = Field(description="unlabeled rows considered")
    note: str | None = Field(None, description="why the strategy asked for was not used, when it was not")
    items: list[Suggestion] = Field(description="at most k suggestions, most uncertain first")

    @property
    def indices(self) -> list[int]:
        """Positions of the suggested items in the unlabeled texts, in order."""
        return [item.index for item in self.items]


def suggest_next(
    labeled_texts: Sequence[str],
    labeled_labels: Sequence[Any],
    unlabeled_texts: Sequence[str],
    k: int,
    strategy: str = "margin",
    path: str = "tfidf-linear",
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
) -> Suggestions:
    """Fit ``path`` on the rows labeled so far and propose the ``k`` unlabeled rows it is least sure of.

    Rule when no model can be fitted yet: with fewer than two distinct labels among the
    labeled rows, the ``k`` items are drawn uniformly at random (without replacement) with
    ``numpy.random.default_rng(seed)``, and the result says so (``used == "random"`` and a
    ``note``).

    Parameters
    ----------
    labeled_texts, labeled_labels:
        The rows labeled so far, one label per text (labels are compared as str).
    unlabeled_texts:
        The candidates.
    k:
        How many to propose (all candidates when ``k`` exceeds their number).
    strategy:
        ``"margin"`` (default), ``"entropy"`` or ``"least_confident"``.
    path:
        A registered model path; ``tfidf-linear`` fits in about a second per 1,000 rows.
    seed:
        Seed of the random fallback.
    params:
        Constructor parameters of ``path`` (for ``embedding-linear``, a ``cache_dir`` saves
        re-embedding the same texts on every call).

    Returns
    -------
    Suggestions
        The items, most uncertain first (ties in input order), with the model's predicted
        label and its probability.

    Example
    -------
    >>> labeled = ["refund please", "refund my money", "hello", "hi there"]
    >>> result = suggest_next(labeled, ["refund", "refund", "greet", "greet"], ["refund", "refund hello"], k=1)
    >>> result.used, result.indices, result.items[0].predicted_label
    ('margin', [1], 'refund')
    >>> suggest_next([], [], ["a", "b", "c"], k=2, seed=1).used
    'random'
    """
    k = _check_k(k)
    _strategy(strategy)
    if len(labeled_texts) != len(labeled_labels):
        raise ValueError(
            f"labeled_texts has {len(labeled_texts)} items but labeled_labels has {len(labeled_labels)}; "
            "they must match one to one"
        )
    labels = [str(label) for label in labeled_labels]
    classes = sorted(set(labels))
    common: dict[str, Any] = {
        "strategy": strategy,
        "path": path,
        "seed": seed,
        "n_labeled": len(labels),
        "labeled_classes": classes,
        "n_unlabeled": len(unlabeled_texts),
    }
    if len(classes) < 2:
        order = np.random.default_rng(seed).permutation(len(unlabeled_texts))[:k]
        note = (
            f"{len(classes)} distinct label(s) among {len(labels)} labeled rows; a model needs at least 2, "
            f"so these are {len(order)} random items (seed {seed})"
        )
        items = [Suggestion(index=int(i), score=None, predicted_label=None, probability=None) for i in order]
        return Suggestions(used="random", note=note, items=items, **common)

    from tailorml.paths import create_path

    model = create_path(path, **dict(params or {}))
    model.fit(list(labeled_texts), labels)
    items = []
    if len(unlabeled_texts):
        proba = np.asarray(model.predict_proba(list(unlabeled_texts)), dtype=np.float64)
        scores = uncertainty(proba, strategy)
        best = proba.argmax(axis=1)
        for i in _top(scores, k):
            items.append(
                Suggestion(
                    index=i,
                    score=float(scores[i]),
                    predicted_label=str(model.classes_[best[i]]),
                    probability=float(proba[i, best[i]]),
                )
            )
    return Suggestions(used=strategy, items=items, **common)


def _strategy(name: str) -> Callable[[Any], np.ndarray]:
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown uncertainty strategy {name!r}; use one of: {', '.join(STRATEGIES)}") from None


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise ValueError(f"k must be a whole number >= 0; got {k!r}")
    return int(k)


def _top(scores: np.ndarray, k: int) -> list[int]:
    # A stable sort on the negated, rounded scores: highest first, ties by position.
    order = np.argsort(-np.round(scores, _TIE_DECIMALS), kind="stable")
    return [int(i) for i in order[:k]]
