"""Label-error detection: suspected mislabeled rows by confident learning, ranked for review.

Two steps, each a pure function over lists of texts and labels:

1. :func:`out_of_fold_proba` — every row's class probabilities from a model path that did
   not see it in training (stratified K-fold, 5 folds by default).
2. :func:`label_errors_from_proba` — cleanlab's confident learning
   (``cleanlab.filter.find_label_issues``) on those probabilities: confident learning
   estimates how many labels are wrong, and that many rows with the lowest probability of
   their given label are flagged, worst first (``filter_by="low_self_confidence"``,
   ``return_indices_ranked_by="self_confidence"``), with a ``top_k`` / ``top_fraction`` cut
   for a review queue.

:func:`find_label_errors` runs both. The CLI and the annotation app feed it a data version
and put :attr:`LabelErrors.suspects` in a review queue.

Rule for small classes: a class with a single row cannot be both trained on and checked,
so its rows are left out of the check and reported (``excluded_rows``, ``excluded_labels``).
Every other class is checked: stratified K-fold spreads a class with fewer rows than folds
over as many folds as it has rows, so each of its rows is judged by a model that saw the
class's other rows. The number of folds drops to the size of the largest class when every
class is smaller than ``folds``. Each change is stated in ``notes``.

Why ``low_self_confidence`` rather than cleanlab's default ``prune_by_noise_rate``: the
default flags, for each (given, true) class pair, as many rows as the confident joint counts
in that cell. Mistakes spread over many pairs (77 classes have 5,852) leave most cells at 0
or 1, so isolated wrong labels go unflagged, while a pair of genuinely confusable classes
fills a cell and is flagged in bulk. On BANKING77 with 5% labels flipped at random
(``bench/label_issues.py``, seed 0, embedding-linear), 80 flipped rows among the 500 with the
lowest given-label probability were not flagged by the default; precision and recall at the
top 5% were 0.81 with ``prune_by_noise_rate`` and 0.93 with ``low_self_confidence``
(tfidf-linear: 0.78 and 0.91; with noise seed 1: embedding-linear 0.82 and 0.92,
tfidf-linear 0.81 and 0.91).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from tailorml.errors import DataError

__all__ = [
    "FILTERS",
    "LabelErrors",
    "OutOfFold",
    "RankBy",
    "Suspect",
    "find_label_errors",
    "label_errors_from_proba",
    "out_of_fold_proba",
]

RankBy = Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"]
# cleanlab.filter.find_label_issues(filter_by=...) values, in cleanlab 2.9.
FILTERS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)


@dataclass(frozen=True, eq=False)
class OutOfFold:
    """Out-of-fold class probabilities of the checked rows.

    ``proba[j]`` belongs to input row ``rows[j]``; its columns follow ``classes``.
    ``labels[j]`` is that row's given label (as str).
    """

    proba: np.ndarray
    classes: tuple[str, ...]
    rows: np.ndarray
    labels: tuple[str, ...]
    n_rows: int
    path: str
    folds: int
    seed: int
    excluded_rows: tuple[int, ...] = ()
    excluded_labels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def mean_with(self, *others: OutOfFold) -> OutOfFold:
        """The average of this and ``others``' probabilities (same rows and classes): an ensemble of paths."""
        for other in others:
            if other.classes != self.classes or not np.array_equal(other.rows, self.rows):
                raise ValueError("out-of-fold results can be averaged only over the same rows and classes")
        proba = np.mean([self.proba, *(o.proba for o in others)], axis=0)
        return replace(self, proba=proba, path="+".join([self.path, *(o.path for o in others)]))


class Suspect(BaseModel):
    """One row suspected of carrying a wrong label."""

    rank: int = Field(description="1 for the most likely error")
    row: int = Field(description="position of the row in the texts and labels given")
    given_label: str = Field(description="the label the row has")
    suggested_label: str = Field(description="the model's most probable label for the row (out of fold)")
    given_probability: float = Field(description="the out-of-fold probability of the given label")
    suggested_probability: float = Field(description="the out-of-fold probability of the suggested label")
    quality: float = Field(description="cleanlab's label quality score (rank_by method), in [0, 1]; lower is worse")


class LabelErrors(BaseModel):
    """Suspected mislabeled rows, worst first, and how they were found."""

    path: str = Field(description="model path(s) whose out-of-fold probabilities were used")
    folds: int = Field(description="cross-validation folds used")
    seed: int = Field(description="seed of the fold assignment")
    filter_by: str = Field(description="cleanlab find_label_issues filter_by: which rows count as issues")
    rank_by: str = Field(description="cleanlab label quality score the suspects are ranked by")
    n_rows: int = Field(description="rows given")
    n_checked: int = Field(description="rows checked (n_rows less excluded_rows)")
    n_classes: int = Field(description="classes among the checked rows")
    out_of_fold_accuracy: float = Field(
        description="share of checked rows whose out-of-fold prediction is the given label"
    )
    n_found: int = Field(description="rows cleanlab flagged, before the top_k / top_fraction cut")
    suspects: list[Suspect] = Field(description="flagged rows, worst first, cut to top_k / top_fraction if given")
    excluded_rows: list[int] = Field(default_factory=list, description="rows not checked (their class has one row)")
    excluded_labels: list[str] = Field(default_factory=list, description="the single-row classes left out")
    notes: list[str] = Field(default_factory=list, description="rules applied to this data, in words")


def out_of_fold_proba(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    path: str = "tfidf-linear",
    params: Mapping[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> OutOfFold:
    """Class probabilities of every checkable row from a model that did not train on it.

    Parameters
    ----------
    texts, labels:
        One label per text; labels are compared as str, as model paths keep them.
    path:
        A registered model path (``tfidf-linear``; ``embedding-linear`` is slower and often
        better).
    params:
        Its constructor parameters. For ``embedding-linear`` pass a ``cache_dir`` (or set
        ``TAILOR_HOME``) so that each text is embedded once, not once per fold.
    folds:
        Number of stratified folds (at least 2).
    seed:
        Seed of the fold assignment.

    Returns
    -------
    OutOfFold
        Probabilities of the checked rows; single-row classes are excluded (see the module's rule).

    Raises
    ------
    tailorml.errors.DataError
        When fewer than two classes have at least two rows.
    """
    from sklearn.model_selection import StratifiedKFold

    from tailorml.paths import create_path

    given = _check_inputs(texts, labels, folds)
    texts = list(texts)  # positions, also for a pandas Series with its own index
    counts = Counter(given)
    singles = sorted(label for label, n in counts.items() if n < 2)
    rows = np.asarray([i for i, label in enumerate(given) if counts[label] >= 2], dtype=np.int64)
    classes = tuple(sorted(label for label, n in counts.items() if n >= 2))
    if len(classes) < 2:
        raise DataError(
            f"label-error detection needs at least 2 classes with 2 or more rows each; got {len(classes)} "
            f"({', '.join(classes) or 'none'}) among {len(given)} rows and {len(counts)} distinct labels",
            hint="label more rows of other classes first; with one class there is nothing to confuse it with",
        )
    notes = []
    excluded = tuple(int(i) for i, label in enumerate(given) if counts[label] < 2)
    if singles:
        notes.append(
            f"{len(singles)} class(es) with a single row cannot be cross-validated; their {len(excluded)} row(s) "
            f"were not checked: {', '.join(singles)}"
        )
    largest = max(counts[c] for c in classes)
    used = min(folds, largest)
    if used < folds:
        notes.append(f"every class has fewer than {folds} rows; used {used} folds (the largest class's size)")
    small = [c for c in classes if counts[c] < used]
    if small:
        notes.append(
            f"{len(small)} class(es) have fewer rows than folds; each of their rows was judged by a model trained "
            f"on the class's other rows: {', '.join(small)}"
        )

    text_arr = np.asarray([texts[i] for i in rows], dtype=object)
    label_arr = np.asarray([given[i] for i in rows], dtype=object)
    column = {c: j for j, c in enumerate(classes)}
    proba = np.zeros((len(rows), len(classes)))
    splitter = StratifiedKFold(n_splits=used, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class has only n members": the rule above handles it and says so.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(np.zeros(len(rows)), label_arr))
    for train, test in splits:
        model = create_path(path, **dict(params or {}))
        model.fit(text_arr[train].tolist(), label_arr[train].tolist())
        fold_proba = np.asarray(model.predict_proba(text_arr[test].tolist()), dtype=np.float64)
        proba[np.ix_(test, [column[str(c)] for c in model.classes_])] = fold_proba
    return OutOfFold(
        proba=proba,
        classes=classes,
        rows=rows,
        labels=tuple(label_arr.tolist()),
        n_rows=len(given),
        path=path,
        folds=used,
        seed=seed,
        excluded_rows=excluded,
        excluded_labels=tuple(singles),
        notes=tuple(notes),
    )


def label_errors_from_proba(
    oof: OutOfFold,
    *,
    filter_by: str = "low_self_confidence",
    rank_by: RankBy = "self_confidence",
    top_k: int | None = None,
    top_fraction: float | None = None,
) -> LabelErrors:
    """Rank suspected label errors from out-of-fold probabilities with cleanlab's confident learning.

    Parameters
    ----------
    oof:
        From :func:`out_of_fold_proba` (or several averaged with :meth:`OutOfFold.mean_with`).
    filter_by:
        Which rows cleanlab flags (one of :data:`FILTERS`). The default flags the rows with
        the lowest probability of their given label, as many as confident learning estimates
        are mislabeled (``cleanlab.count.num_label_issues``); ``prune_by_noise_rate`` (cleanlab's
        default) decides per pair of classes and misses errors spread thinly over many pairs.
    rank_by:
        cleanlab's label quality score that orders the flagged rows, lowest first.
    top_k, top_fraction:
        At most one: keep the ``top_k`` worst suspects, or the worst ``ceil(top_fraction *
        n_rows)``, for a review queue. ``n_found`` still counts every flagged row.

    Returns
    -------
    LabelErrors
        The suspects, worst first, and the settings and rules that produced them.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    if filter_by not in FILTERS:
        raise ValueError(f"unknown filter_by {filter_by!r}; cleanlab accepts: {', '.join(FILTERS)}")
    if rank_by not in ("self_confidence", "normalized_margin", "confidence_weighted_entropy"):
        raise ValueError(
            f"unknown rank_by {rank_by!r}; use self_confidence, normalized_margin or confidence_weighted_entropy"
        )
    keep = _cut(top_k, top_fraction, oof.n_rows)
    column = {c: j for j, c in enumerate(oof.classes)}
    given = np.asarray([column[label] for label in oof.labels], dtype=np.int64)
    flagged = find_label_issues(
        given, oof.proba, filter_by=filter_by, return_indices_ranked_by=rank_by, n_jobs=1
    )  # n_jobs=1: the matrix is small, and worker processes would fight the other jobs for the CPUs
    quality = get_label_quality_scores(given, oof.proba, method=rank_by)
    best = oof.proba.argmax(axis=1)
    suspects = [
        Suspect(
            rank=rank,
            row=int(oof.rows[j]),
            given_label=oof.labels[j],
            suggested_label=oof.classes[best[j]],
            given_probability=float(oof.proba[j, given[j]]),
            suggested_probability=float(oof.proba[j, best[j]]),
            quality=float(quality[j]),
        )
        for rank, j in enumerate(flagged[:keep], start=1)
    ]
    return LabelErrors(
        path=oof.path,
        folds=oof.folds,
        seed=oof.seed,
        filter_by=filter_by,
        rank_by=rank_by,
        n_rows=oof.n_rows,
        n_checked=len(oof.rows),
        n_classes=len(oof.classes),
        out_of_fold_accuracy=float(np.mean(best == given)) if len(given) else 0.0,
        n_found=len(flagged),
        suspects=suspects,
        excluded_rows=list(oof.excluded_rows),
        excluded_labels=list(oof.excluded_labels),
        notes=list(oof.notes),
    )


def find_label_errors(
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    path: str = "tfidf-linear",
    params: Mapping[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
    filter_by: str = "low_self_confidence",
    rank_by: RankBy = "self_confidence",
    top_k: int | None = None,
    top_fraction: float | None = None,
) -> LabelErrors:
    """Suspected mislabeled rows, worst first: :func:`out_of_fold_proba` then :func:`label_errors_from_proba`.

    Parameters
    ----------
    texts, labels:
        One label per text; labels are compared as str.
    path, params, folds, seed:
        How the out-of-fold probabilities are made (see :func:`out_of_fold_proba`).
    filter_by, rank_by, top_k, top_fraction:
        Which rows are flagged, in what order, and how many are kept (see
        :func:`label_errors_from_proba`).

    Returns
    -------
    LabelErrors
        ``suspects`` (row, given label, suggested label, probabilities, quality score),
        ``n_found`` and the rules applied.

    Example
    -------
    >>> texts = [f"refund {w}" for w in "abcdef"] + [f"hello {w}" for w in "abcdef"]
    >>> labels = ["refund"] * 6 + ["greet"] * 6
    >>> labels[2] = "greet"  # a wrong label
    >>> result = find_label_errors(texts, labels, folds=3)
    >>> [(s.row, s.given_label, s.suggested_label) for s in result.suspects]
    [(2, 'greet', 'refund')]
    """
    oof = out_of_fold_proba(texts, labels, path=path, params=params, folds=folds, seed=seed)
    return label_errors_from_proba(oof, filter_by=filter_by, rank_by=rank_by, top_k=top_k, top_fraction=top_fraction)


def _check_inputs(texts: Sequence[str], labels: Sequence[Any], folds: Any) -> list[str]:
    if len(texts) != len(labels):
        raise ValueError(f"texts has {len(texts)} items but labels has {len(labels)}; they must match one to one")
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"folds must be a whole number >= 2; got {folds!r}")
    for i, label in enumerate(labels):
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise ValueError(f"label {i} is missing ({label!r}); drop unlabeled rows before checking labels")
    return [str(label) for label in labels]


def _cut(top_k: Any, top_fraction: Any, n_rows: int) -> int | None:
    if top_k is not None and top_fraction is not None:
        raise ValueError(f"give top_k or top_fraction, not both; got top_k={top_k!r}, top_fraction={top_fraction!r}")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 0:
            raise ValueError(f"top_k must be a whole number >= 0; got {top_k!r}")
        return int(top_k)
    if top_fraction is not None:
        if isinstance(top_fraction, bool) or not isinstance(top_fraction, int | float) or not 0 < top_fraction <= 1:
            hint = f" Did you mean {top_fraction / 100}?" if isinstance(top_fraction, int | float) else ""
            raise ValueError(f"top_fraction must be in (0, 1]; got {top_fraction!r}.{hint}")
        return math.ceil(top_fraction * n_rows - 1e-9)
    return None
