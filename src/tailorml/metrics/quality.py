"""Quality of a classifier on held-out rows: catalog metrics with bootstrap intervals.

:func:`quality_metrics` turns true labels and predicted probabilities into a
:class:`QualityReport`: the catalog metrics (each an :class:`~tailorml.results.Estimate`
with a 95% percentile-bootstrap interval), per-class scores, the most confused pairs, the
reliability diagram and per-group scores.

Conventions (the same ones everywhere in this module):

- The prediction is the arg-max column of ``proba``; its probability is the confidence.
- A true label that is not one of the model's ``classes`` is always an error: the model
  cannot predict it. It appears in ``per_class`` with precision, recall and F1 of 0.
- Macro averages run over the labels that occur in the true labels or the predictions
  (scikit-learn's default), with a precision of 0 for a label never predicted
  (``zero_division=0``). Each bootstrap resample uses the labels present in it.
- ECE is the top-label expected calibration error over 15 equal-width confidence bins,
  ``(lower, upper]`` (the first bin includes 0): the row-weighted mean of
  ``|mean confidence - accuracy|`` per bin.
- All sample statistics share one set of resamples (paired), so their intervals are
  consistent with each other. A metric that is undefined on the sample (no out-of-scope
  rows for ``oos_recall``, one class only for ``oos_auroc``, fewer than two large-enough
  groups for ``fairness_gap``) is left out of ``metrics``; a gate on it reads
  ``not_measured``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from tailorml.metrics.bootstrap import percentile_interval, resample_statistic
from tailorml.results import ClassScore, Confusion, Estimate, GroupScore, ReliabilityBin

__all__ = ["N_BINS", "QualityReport", "expected_calibration_error", "macro_f1_statistic", "quality_metrics"]

N_BINS = 15
MIN_GROUP_SIZE = 20
TOP_CONFUSIONS = 10
_CHUNK_BYTES = 8_000_000  # the joint statistic builds several (r, n) float matrices per chunk
_EDGES = np.linspace(0.0, 1.0, N_BINS + 1)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class QualityReport(BaseModel):
    """Everything :func:`quality_metrics` measures on one set of held-out rows."""

    n: int = Field(description="rows measured")
    metrics: dict[str, Estimate] = Field(description="catalog metrics with 95% bootstrap intervals")
    per_class: list[ClassScore] = Field(description="the model's classes in order, then unknown true labels")
    confusions: list[Confusion] = Field(description="top off-diagonal cells, by count then rate")
    reliability: list[ReliabilityBin] = Field(description="non-empty bins of 15 equal-width confidence bins")
    groups: list[GroupScore] = Field(default_factory=list, description="quality per group of each group column")


# ---------------------------------------------------------------------------------------
# Vectorized building blocks: each takes (r, n) resampled rows and returns (r,) values.


def _offsets(r: int, width: int) -> IntArray:
    return (np.arange(r, dtype=np.int64) * width)[:, None]


def _per_resample_counts(codes: NDArray[Any], width: int, weights: NDArray[Any] | None = None) -> FloatArray:
    """Count (or sum ``weights``) per code, separately for each row of ``codes``: shape (r, width)."""
    r = codes.shape[0]
    flat = (codes + _offsets(r, width)).ravel()
    counts = np.bincount(flat, weights=None if weights is None else weights.ravel(), minlength=r * width)
    return counts.reshape(r, width).astype(np.float64)


def _ratio(num: FloatArray, den: FloatArray, empty: float) -> FloatArray:
    """num / den, with ``empty`` where den is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), empty)


def _macro_scores(support: FloatArray, predicted: FloatArray, tp: FloatArray) -> FloatArray:
    """(r, 3): macro F1, precision and recall over the labels present in each resample."""
    precision = _ratio(tp, predicted, 0.0)
    recall = _ratio(tp, support, 0.0)
    f1 = _ratio(2 * tp, support + predicted, 0.0)
    present = (support + predicted) > 0
    n_present = present.sum(axis=1)
    out = np.stack([(x * present).sum(axis=1) for x in (f1, precision, recall)], axis=1)
    return _ratio(out, n_present[:, None].astype(np.float64), np.nan)


def _bin_of(conf: FloatArray) -> IntArray:
    """Bin index of each confidence: bins are (lower, upper], the first one includes 0."""
    return np.searchsorted(_EDGES[1:-1], conf, side="left").astype(np.int64)


def expected_calibration_error(correct: NDArray[Any], confidence: NDArray[Any]) -> float:
    """Top-label ECE with 15 equal-width bins.

    Parameters
    ----------
    correct:
        Whether each prediction is right (bool or 0/1), shape (n,).
    confidence:
        Probability of each predicted label, shape (n,).

    Returns
    -------
    float
        Row-weighted mean over bins of ``|mean confidence - accuracy|``.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=np.float64)
    bins = _bin_of(conf)
    gap = np.bincount(bins, weights=conf, minlength=N_BINS) - np.bincount(bins, weights=right, minlength=N_BINS)
    return float(np.abs(gap).sum() / len(conf))


def macro_f1_statistic(n_labels: int) -> Callable[[NDArray[Any], NDArray[Any]], FloatArray]:
    """A vectorized macro-F1 for :func:`~tailorml.metrics.bootstrap.bootstrap_interval`.

    Parameters
    ----------
    n_labels:
        Number of distinct label codes; true and predicted labels are integer codes below it.

    Returns
    -------
    callable
        ``statistic(y_true, y_pred)`` on ``(r, n)`` resampled codes, returning ``(r,)``
        macro-F1 values over the labels present in each resample (``zero_division=0``).

    Example
    -------
    >>> import numpy as np
    >>> from tailorml.metrics.bootstrap import bootstrap_interval
    >>> t, p = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])
    >>> round(float(macro_f1_statistic(3)(t[None], p[None])[0]), 3)
    0.656
    >>> low, high = bootstrap_interval(macro_f1_statistic(3), t, p, n_resamples=200)
    """
    L = n_labels

    def statistic(y_true: NDArray[Any], y_pred: NDArray[Any]) -> FloatArray:
        # Integer bincounts only: "true label k" in columns 0..L-1 of one count, and in
        # another "right, label k" in columns L..2L-1 and "wrongly predicted k" in 0..L-1.
        support = _per_resample_counts(y_true, L)
        hit_or_miss = _per_resample_counts(np.where(y_true == y_pred, L + y_true, y_pred), 2 * L)
        tp = hit_or_miss[:, L:]
        predicted = hit_or_miss[:, :L] + tp
        return _macro_scores(support, predicted, tp)[:, 0]

    return statistic


class _AurocRanks:
    """AUROC on weighted resamples, from one sort of the full sample.

    For a resample with row multiplicities ``w``, AUROC is the weighted share of
    (positive, negative) pairs where the positive scores higher, ties counting one half.
    Sorting once and taking cumulative sums of negative weights gives it for every resample
    at once, without re-sorting.
    """

    def __init__(self, positive: BoolArray, score: FloatArray) -> None:
        self.order = np.argsort(score, kind="stable")
        sorted_score = score[self.order]
        self.positive_sorted = positive[self.order]
        new_group = np.r_[True, sorted_score[1:] != sorted_score[:-1]]
        group = np.cumsum(new_group) - 1
        starts = np.flatnonzero(new_group)
        ends = np.r_[starts[1:], len(score)]
        pos = np.flatnonzero(self.positive_sorted)
        self.pos = pos
        self.start_of_pos = starts[group[pos]]
        self.end_of_pos = ends[group[pos]]

    def __call__(self, weights: FloatArray) -> FloatArray:
        w = weights[:, self.order]
        neg_w = np.where(self.positive_sorted, 0.0, w)
        cum = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(neg_w, axis=1)], axis=1)
        below = cum[:, self.start_of_pos]
        tied = cum[:, self.end_of_pos] - below
        pos_w = w[:, self.pos]
        numer = (pos_w * (below + 0.5 * tied)).sum(axis=1)
        denom = pos_w.sum(axis=1) * neg_w.sum(axis=1)
        return _ratio(numer, denom, np.nan)


# ---------------------------------------------------------------------------------------
# Inputs, encoded once.


class _Encoded:
    """Labels, predictions and derived per-row arrays, as small integers and floats."""

    def __init__(
        self, y_true: Sequence[Any] | NDArray[Any], proba: NDArray[Any], classes: Sequence[Any] | NDArray[Any]
    ) -> None:
        self.classes = [str(c) for c in classes]
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be distinct; got {self.classes}")
        truth = [str(v) for v in np.asarray(y_true, dtype=object).ravel()]
        prob = np.asarray(proba, dtype=np.float64)
        if prob.ndim != 2 or prob.shape != (len(truth), len(self.classes)):
            raise ValueError(
                f"proba must have shape (rows, classes) = ({len(truth)}, {len(self.classes)}); got {prob.shape}"
            )
        if len(truth) == 0:
            raise ValueError("quality_metrics needs at least one row")
        if not np.isfinite(prob).all():
            raise ValueError("proba contains NaN or infinite values")
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({v for v in truth if v not in index})
        self.labels = self.classes + unknown
        index.update({c: len(self.classes) + i for i, c in enumerate(unknown)})
        self.n = len(truth)
        self.proba = prob
        self.t = np.fromiter((index[v] for v in truth), dtype=np.int64, count=self.n)
        self.p = prob.argmax(axis=1).astype(np.int64)
        self.conf = prob.max(axis=1)
        self.correct = (self.t == self.p).astype(np.float64)
        self.bins = _bin_of(self.conf)
        self.oos_score: FloatArray | None = None  # the model's own out-of-scope score, when it has one

    def code(self, label: str) -> int | None:
        return self.labels.index(label) if label in self.labels else None


def _group_codes(values: Any, n: int, column: str, min_size: int) -> tuple[list[str], IntArray, int]:
    """Names of all groups, each row's group code, and how many groups (first codes) are large enough.

    Groups with at least ``min_size`` rows get codes 0..k-1; the rest follow. Missing values
    (None, NaN) form the group ``<missing>``.
    """
    raw = np.asarray(values, dtype=object).ravel()
    if len(raw) != n:
        raise ValueError(f"groups[{column!r}] has {len(raw)} values; expected one per row ({n})")
    names = ["<missing>" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in raw]
    uniq, inverse, counts = np.unique(np.asarray(names, dtype=str), return_inverse=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (counts[i] < min_size, str(uniq[i])))
    remap = np.empty(len(uniq), dtype=np.int64)
    remap[order] = np.arange(len(uniq))
    return [str(uniq[i]) for i in order], remap[inverse], int((counts >= min_size).sum())


# ---------------------------------------------------------------------------------------
# The joint statistic. Every metric but AUROC is a function of per-resample sums of per-row
# features (indicator columns: "row is class k", "row is right and in bin b", ...). With
# W the (r, n) matrix of how often each row occurs in each resample, all the sums are one
# product W @ F with a sparse F, whatever the number of classes.


class _Features:
    """Sparse per-row feature columns, named in blocks."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.blocks: list[Any] = []
        self.slices: dict[str, slice] = {}
        self.width = 0

    def add(self, name: str, codes: NDArray[Any], width: int, values: NDArray[Any] | None = None) -> None:
        """Add columns 0..width-1 holding ``values`` (default 1) at column ``codes[i]`` of row i."""
        from scipy import sparse

        data = np.ones(self.n) if values is None else np.asarray(values, dtype=np.float64)
        keep = codes < width  # codes >= width (small groups) get no column
        block = sparse.csr_matrix(
            (data[keep], (np.flatnonzero(keep), codes[keep])), shape=(self.n, width), dtype=np.float64
        )
        self.blocks.append(block)
        self.slices[name] = slice(self.width, self.width + width)
        self.width += width

    def add_column(self, name: str, values: NDArray[Any]) -> None:
        self.add(name, np.zeros(self.n, dtype=np.int64), 1, values)

    def matrix(self) -> Any:
        from scipy import sparse

        return sparse.hstack(self.blocks, format="csr")


def _row_weights(idx: NDArray[Any], n: int) -> FloatArray:
    """(r, n): how many times each row occurs in each resample."""
    return _per_resample_counts(idx, n)


def _joint_statistic(
    enc: _Encoded,
    out_of_scope: str | None,
    group_columns: list[tuple[IntArray, int]],
) -> tuple[list[str], Callable[[NDArray[Any]], FloatArray]]:
    """Names of the metrics and a vectorized statistic computing all of them per resample.

    The statistic takes the (r, n) matrix of resampled row indices.
    """
    n, L = enc.n, len(enc.labels)
    names = ["accuracy", "macro_f1", "macro_precision", "macro_recall", "ece"]
    feats = _Features(n)
    feats.add_column("correct", enc.correct)
    feats.add("support", enc.t, L)
    feats.add("tp", enc.t, L, enc.correct)
    feats.add("predicted", enc.p, L)
    feats.add("bin_conf", enc.bins, N_BINS, enc.conf)
    feats.add("bin_correct", enc.bins, N_BINS, enc.correct)
    auroc: _AurocRanks | None = None
    if out_of_scope is not None:
        names += ["in_scope_accuracy", "oos_recall", "oos_precision", "oos_auroc"]
        is_oos, pred_oos, score = _oos_arrays(enc, out_of_scope)
        feats.add_column("in_scope", ~is_oos)
        feats.add_column("in_scope_correct", ~is_oos * enc.correct)
        feats.add_column("oos", is_oos)
        feats.add_column("oos_predicted", pred_oos)
        feats.add_column("oos_hit", is_oos & pred_oos)
        auroc = _AurocRanks(is_oos, score)
    for j, (codes, k) in enumerate(group_columns):
        feats.add(f"group{j}", codes, k)
        feats.add(f"group{j}_correct", codes, k, enc.correct)
    if group_columns:
        names.append("fairness_gap")
    F = feats.matrix()
    s = feats.slices

    def statistic(idx: NDArray[Any]) -> FloatArray:
        weights = _row_weights(idx, n)
        sums = np.asarray(weights @ F)
        cols = [sums[:, s["correct"]][:, 0] / n]
        cols += list(_macro_scores(sums[:, s["support"]], sums[:, s["predicted"]], sums[:, s["tp"]]).T)
        cols.append(np.abs(sums[:, s["bin_conf"]] - sums[:, s["bin_correct"]]).sum(axis=1) / n)
        if auroc is not None:
            hit = sums[:, s["oos_hit"]][:, 0]
            cols += [
                _ratio(sums[:, s["in_scope_correct"]][:, 0], sums[:, s["in_scope"]][:, 0], np.nan),
                _ratio(hit, sums[:, s["oos"]][:, 0], np.nan),
                _ratio(hit, sums[:, s["oos_predicted"]][:, 0], 0.0),
                auroc(weights),
            ]
        if group_columns:
            gaps = [
                _accuracy_gap(sums[:, s[f"group{j}"]], sums[:, s[f"group{j}_correct"]])
                for j in range(len(group_columns))
            ]
            cols.append(_nanmax_rows(np.stack(gaps, axis=1)))
        return np.stack(cols, axis=1)

    return names, statistic


def _oos_arrays(enc: _Encoded, out_of_scope: str) -> tuple[BoolArray, BoolArray, FloatArray]:
    """Truth, prediction and score of out-of-scope for each row.

    The score is 1 - the largest probability among in-scope classes: high when the model is
    not confident about any in-scope class.
    """
    code = enc.code(out_of_scope)
    is_oos = enc.t == code if code is not None else np.zeros(enc.n, dtype=bool)
    pred_oos = enc.p == code if out_of_scope in enc.classes else np.zeros(enc.n, dtype=bool)
    if enc.oos_score is not None:
        return is_oos, pred_oos, enc.oos_score
    in_scope_cols = [i for i, c in enumerate(enc.classes) if c != out_of_scope]
    score = 1.0 - enc.proba[:, in_scope_cols].max(axis=1) if in_scope_cols else np.ones(enc.n)
    return is_oos, pred_oos, score


def _nanmax_rows(x: FloatArray) -> FloatArray:
    """Row-wise max ignoring NaN; NaN where a row is all NaN."""
    best = np.where(np.isnan(x), -np.inf, x).max(axis=1)
    return np.where(np.isneginf(best), np.nan, best)


def _accuracy_gap(count: FloatArray, hits: FloatArray) -> FloatArray:
    """Per resample: best - worst accuracy over the groups present; NaN with fewer than two."""
    acc = _ratio(hits, count, np.nan)
    seen = (count > 0).sum(axis=1)
    lowest = -_nanmax_rows(-acc)
    return np.where(seen >= 2, _nanmax_rows(acc) - lowest, np.nan)


# ---------------------------------------------------------------------------------------
# Descriptive parts: per class, confusions, reliability, groups.


def _per_class(enc: _Encoded) -> list[ClassScore]:
    L = len(enc.labels)
    support = np.bincount(enc.t, minlength=L)
    predicted = np.bincount(enc.p, minlength=L)
    tp = np.bincount(enc.t, weights=enc.correct, minlength=L).astype(np.float64)
    precision = _ratio(tp, predicted.astype(np.float64), 0.0)
    recall = _ratio(tp, support.astype(np.float64), 0.0)
    f1 = _ratio(2 * tp, (support + predicted).astype(np.float64), 0.0)
    return [
        ClassScore(
            label=label,
            precision=float(precision[i]),
            recall=float(recall[i]),
            f1=float(f1[i]),
            support=int(support[i]),
        )
        for i, label in enumerate(enc.labels)
    ]


def _confusions(enc: _Encoded, top: int = TOP_CONFUSIONS) -> list[Confusion]:
    L = len(enc.labels)
    matrix = np.bincount(enc.t * L + enc.p, minlength=L * L).reshape(L, L)
    support = matrix.sum(axis=1)
    cells = [
        (int(matrix[i, j]), float(matrix[i, j] / support[i]), enc.labels[i], enc.labels[j])
        for i, j in zip(*np.nonzero(matrix), strict=True)
        if i != j
    ]
    cells.sort(key=lambda c: (-c[0], -c[1], c[2], c[3]))
    return [Confusion(true=t, predicted=p, count=c, rate=r) for c, r, t, p in cells[:top]]


def _reliability(enc: _Encoded) -> list[ReliabilityBin]:
    count = np.bincount(enc.bins, minlength=N_BINS)
    sum_conf = np.bincount(enc.bins, weights=enc.conf, minlength=N_BINS)
    sum_correct = np.bincount(enc.bins, weights=enc.correct, minlength=N_BINS)
    return [
        ReliabilityBin(
            lower=float(_EDGES[b]),
            upper=float(_EDGES[b + 1]),
            confidence=float(sum_conf[b] / count[b]),
            accuracy=float(sum_correct[b] / count[b]),
            count=int(count[b]),
        )
        for b in range(N_BINS)
        if count[b] > 0
    ]


def _group_scores(enc: _Encoded, column: str, names: list[str], codes: IntArray) -> list[GroupScore]:
    scores = []
    L = len(enc.labels)
    for code in sorted(range(len(names)), key=lambda i: names[i]):
        rows = codes == code
        t, p, correct = enc.t[rows][None, :], enc.p[rows][None, :], enc.correct[rows][None, :]
        macro = _macro_scores(
            _per_resample_counts(t, L), _per_resample_counts(p, L), _per_resample_counts(t, L, correct)
        )
        scores.append(
            GroupScore(
                column=column,
                group=names[code],
                n=int(rows.sum()),
                accuracy=float(correct.mean()),
                macro_f1=float(macro[0, 0]),
            )
        )
    return scores


def _estimate(value: float, low: float, high: float) -> Estimate:
    finite = np.isfinite(low) and np.isfinite(high)
    return Estimate(value=value, low=float(low) if finite else None, high=float(high) if finite else None)


# ---------------------------------------------------------------------------------------


def quality_metrics(
    y_true: Sequence[Any] | NDArray[Any],
    proba: NDArray[Any] | Sequence[Sequence[float]],
    classes: Sequence[Any] | NDArray[Any],
    *,
    out_of_scope: str | None = None,
    groups: Mapping[str, Sequence[Any] | NDArray[Any]] | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    n_resamples: int = 1000,
    seed: int = 0,
    oos_score: NDArray[Any] | None = None,
) -> QualityReport:
    """Measure a classifier's quality on held-out rows, each sample statistic with a 95% interval.

    Parameters
    ----------
    y_true:
        True labels (compared as strings). Labels not in ``classes`` count as errors.
    proba:
        Predicted probabilities, shape ``(rows, len(classes))``, columns in ``classes`` order.
        The prediction is the arg-max column.
    classes:
        The model's labels, in the column order of ``proba``.
    out_of_scope:
        The label meaning "none of the above", if the task has one. Adds
        ``in_scope_accuracy`` (accuracy on rows whose true label is not out-of-scope),
        ``oos_recall``, ``oos_precision`` (0 when never predicted) and ``oos_auroc``, whose
        score is ``1 - max in-scope probability`` (scored with scikit-learn's
        ``roc_auc_score``).
    groups:
        Column name -> one value per row. Adds ``groups`` scores for every group and
        ``fairness_gap``: the largest accuracy difference between two groups of the same
        column, over groups with at least ``min_group_size`` rows and over all columns.
    min_group_size:
        Smallest group that takes part in ``fairness_gap``.
    n_resamples:
        Bootstrap resamples for the intervals.
    seed:
        Seed of the bootstrap: the same inputs and seed give the same report.
    oos_score:
        The model's own out-of-scope score per row (higher: more likely out of scope), used
        for ``oos_auroc`` instead of ``1 - max in-scope probability``.

    Returns
    -------
    QualityReport
        Metrics keyed by catalog name, per-class scores, top confusions, reliability bins,
        group scores.

    Example
    -------
    >>> import numpy as np
    >>> report = quality_metrics(["a", "b", "b"], np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), ["a", "b"])
    >>> round(report.metrics["accuracy"].value, 3)
    0.667
    """
    enc = _Encoded(y_true, np.asarray(proba), classes)
    if oos_score is not None:
        enc.oos_score = np.asarray(oos_score, dtype=np.float64).ravel()
        if enc.oos_score.shape != (enc.n,) or not np.isfinite(enc.oos_score).all():
            raise ValueError(f"oos_score must hold one finite value per row ({enc.n})")
    if out_of_scope is not None:
        out_of_scope = str(out_of_scope)
    group_columns: list[tuple[IntArray, int]] = []
    group_scores: list[GroupScore] = []
    for column, values in (groups or {}).items():
        names, codes, k = _group_codes(values, enc.n, column, min_group_size)
        group_scores += _group_scores(enc, column, names, codes)
        if k >= 2:
            group_columns.append((codes, k))

    metric_names, statistic = _joint_statistic(enc, out_of_scope, group_columns)
    point = statistic(np.arange(enc.n, dtype=np.int64)[None, :])[0]
    samples = resample_statistic(
        statistic, np.arange(enc.n, dtype=np.int64), n_resamples=n_resamples, seed=seed, max_chunk_bytes=_CHUNK_BYTES
    )
    low, high = percentile_interval(samples, 0.95)
    if out_of_scope is not None:
        point[metric_names.index("oos_auroc")] = _sklearn_auroc(enc, out_of_scope)

    metrics = {
        name: _estimate(float(point[i]), float(low[i]), float(high[i]))
        for i, name in enumerate(metric_names)
        if np.isfinite(point[i])
    }
    return QualityReport(
        n=enc.n,
        metrics=metrics,
        per_class=_per_class(enc),
        confusions=_confusions(enc),
        reliability=_reliability(enc),
        groups=group_scores,
    )


def _sklearn_auroc(enc: _Encoded, out_of_scope: str) -> float:
    from sklearn.metrics import roc_auc_score

    is_oos, _, score = _oos_arrays(enc, out_of_scope)
    if is_oos.all() or not is_oos.any():
        return float("nan")
    return float(roc_auc_score(is_oos, score))
