"""Bounded-memory statistics for drift: fixed-bin histograms, PSI and Jensen–Shannon divergence.

A :class:`Histogram` keeps one count per bin (plus the smallest and largest value seen), so
it summarizes any number of values in a few hundred bytes, two histograms with the same edges
merge by adding counts, and it round-trips through JSON. Reference statistics are built with
:meth:`Histogram.from_reference` (quantile edges, so each reference bin holds about the same
share), and each window's values are counted into a histogram with the same edges.

Thresholds
----------
The usual convention for the population stability index (:func:`psi`), from credit scoring,
is: below **0.1** no meaningful shift, **0.1 to 0.25** a moderate shift worth a look
(``warn``), above **0.25** a major shift (``alert``). :data:`PSI_WARN` and
:data:`PSI_ALERT` hold those values. They assume roughly ten or more bins and windows large
enough that sampling noise is small: with ``b`` bins and ``n`` rows per window, the PSI of a
window drawn from the reference itself is about ``(b - 1) / n`` on average (0.02 for 20 bins
and 1,000 rows), so windows of a few hundred rows need fewer bins or higher thresholds.

Example
-------
>>> ref = Histogram.from_reference(reference_confidences, bins=10)  # doctest: +SKIP
>>> cur = ref.empty_like().add(window_confidences)  # doctest: +SKIP
>>> psi(ref.counts, cur.counts) > PSI_ALERT  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "PSI_ALERT",
    "PSI_WARN",
    "Histogram",
    "category_counts",
    "js_divergence",
    "psi",
]

PSI_WARN = 0.1
"""PSI above which a shift is worth a look (the usual convention)."""
PSI_ALERT = 0.25
"""PSI above which a shift is major (the usual convention)."""


class Histogram:
    """Counts of values over fixed bins; bounded memory, mergeable, JSON-serializable.

    Bin ``i`` holds values ``v`` with ``edges[i] <= v < edges[i + 1]``; the last bin also
    holds ``v == edges[-1]``. Values below ``edges[0]`` are counted in the first bin and values
    above ``edges[-1]`` in the last, so ``n`` is every value added; use ``-inf`` / ``inf``
    as outer edges for open-ended bins. NaN values are not counted.

    Parameters
    ----------
    edges:
        Strictly increasing bin edges, at least two (one bin).
    counts:
        Starting counts, one per bin (default zeros).

    Example
    -------
    >>> h = Histogram(np.array([0.0, 0.5, 1.0])).add([0.1, 0.7, 0.9])
    >>> h.counts.tolist(), h.n
    ([1, 2], 3)
    """

    def __init__(self, edges: np.ndarray | Sequence[float], counts: np.ndarray | Sequence[int] | None = None) -> None:
        edges_arr = np.asarray(edges, dtype=np.float64)
        if edges_arr.ndim != 1 or edges_arr.size < 2 or np.isnan(edges_arr).any():
            raise ValueError(f"Histogram edges must be a 1-d array of at least 2 numbers; got {edges!r}.")
        if not np.all(np.diff(edges_arr) > 0):
            raise ValueError(f"Histogram edges must be strictly increasing; got {edges_arr.tolist()!r}.")
        self.edges = edges_arr
        if counts is None:
            self.counts = np.zeros(edges_arr.size - 1, dtype=np.int64)
        else:
            counts_arr = np.asarray(counts, dtype=np.int64)
            if counts_arr.shape != (edges_arr.size - 1,) or (counts_arr < 0).any():
                raise ValueError(
                    f"Histogram counts must be {edges_arr.size - 1} non-negative whole numbers (one per bin); "
                    f"got {np.asarray(counts).tolist()!r}."
                )
            self.counts = counts_arr.copy()
        self.min = math.inf
        self.max = -math.inf

    @classmethod
    def from_reference(cls, values: np.ndarray | Sequence[float], bins: int = 20) -> Histogram:
        """A histogram of ``values`` with quantile edges: each bin holds about ``1 / bins`` of them.

        The first and last bins are open-ended (``-inf`` and ``inf`` outer edges), so later
        values outside the reference range still land in a bin. Tied quantiles are merged,
        so a variable with few distinct values gets fewer bins.

        Parameters
        ----------
        values:
            The reference values (NaN ignored).
        bins:
            Most bins to make.

        Returns
        -------
        Histogram
            Holding the counts of ``values``.
        """
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValueError(f"bins must be a whole number >= 1; got {bins!r}.")
        arr = np.asarray(values, dtype=np.float64).ravel()
        arr = arr[~np.isnan(arr)]
        if arr.size == 0:
            raise ValueError("Histogram.from_reference needs at least one value that is not NaN; got none.")
        inner = np.unique(np.quantile(arr, np.linspace(0, 1, bins + 1)[1:-1])) if bins > 1 else np.array([])
        edges = np.concatenate([[-np.inf], inner[np.isfinite(inner)], [np.inf]])
        return cls(edges).add(arr)

    def empty_like(self) -> Histogram:
        """A histogram with the same edges and no counts."""
        return Histogram(self.edges)

    @property
    def n(self) -> int:
        """Number of values counted."""
        return int(self.counts.sum())

    def bin_index(self, values: np.ndarray | Sequence[float]) -> np.ndarray:
        """The bin of each value (NaN gets -1)."""
        arr = np.asarray(values, dtype=np.float64).ravel()
        index = np.clip(np.searchsorted(self.edges, arr, side="right") - 1, 0, self.counts.size - 1)
        return np.where(np.isnan(arr), -1, index)

    def add(self, values: np.ndarray | Sequence[float] | Iterable[float]) -> Histogram:
        """Count ``values`` (any shape); returns self so calls chain."""
        arr = np.asarray(values if isinstance(values, np.ndarray | Sequence) else list(values), dtype=np.float64)
        arr = arr.ravel()
        arr = arr[~np.isnan(arr)]
        if arr.size:
            self.counts += np.bincount(self.bin_index(arr), minlength=self.counts.size)
            self.min = min(self.min, float(arr.min()))
            self.max = max(self.max, float(arr.max()))
        return self

    def merge(self, other: Histogram) -> Histogram:
        """Add ``other``'s counts (same edges required); returns self."""
        if other.edges.shape != self.edges.shape or not np.array_equal(other.edges, self.edges):
            raise ValueError("cannot merge histograms with different edges; build both from the same reference.")
        self.counts += other.counts
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        return self

    def quantile(self, q: float) -> float:
        """Approximate ``q``-quantile (``0 <= q <= 1``), interpolating linearly inside its bin.

        Exact up to the width of the bin it falls in; open-ended bins are bounded by the
        smallest and largest value seen. NaN when the histogram is empty.
        """
        if not 0 <= q <= 1:
            raise ValueError(f"quantile q must be in [0, 1]; got {q!r}.")
        total = self.n
        if total == 0:
            return math.nan
        cum = np.cumsum(self.counts)
        target = q * total
        i = int(np.searchsorted(cum, target, side="left"))
        i = min(max(i, int(np.argmax(self.counts > 0))), self.counts.size - 1)
        lo, hi = float(self.edges[i]), float(self.edges[i + 1])
        if np.isfinite(self.min):  # bounds seen (unknown after from_dict of an old form)
            lo, hi = max(lo, self.min), min(hi, self.max)
        lo = hi if not np.isfinite(lo) else lo
        hi = lo if not np.isfinite(hi) else hi
        below = float(cum[i - 1]) if i > 0 else 0.0
        share = (target - below) / self.counts[i] if self.counts[i] else 0.0
        return lo + min(max(share, 0.0), 1.0) * (hi - lo)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"edges", "counts", "min", "max"}``; infinite edges are ``"-inf"`` / ``"inf"``."""
        return {
            "edges": [_json_float(e) for e in self.edges.tolist()],
            "counts": self.counts.tolist(),
            "min": self.min if math.isfinite(self.min) else None,
            "max": self.max if math.isfinite(self.max) else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        """Rebuild a histogram from :meth:`to_dict`'s form."""
        try:
            hist = cls([float(e) for e in data["edges"]], data["counts"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a histogram needs 'edges' and 'counts' lists; got keys {sorted(data)!r}.") from exc
        hist.min = math.inf if data.get("min") is None else float(data["min"])
        hist.max = -math.inf if data.get("max") is None else float(data["max"])
        return hist

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (
            np.array_equal(self.edges, other.edges)
            and np.array_equal(self.counts, other.counts)
            and (self.min, self.max) == (other.min, other.max)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Histogram(bins={self.counts.size}, n={self.n})"


def _json_float(value: float) -> float | str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _shares(counts: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or (arr < 0).any() or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a 1-d array of non-negative counts; got {np.asarray(counts).tolist()!r}.")
    total = arr.sum()
    if total <= 0:
        raise ValueError(f"{name} holds no counts; a divergence needs at least one value on each side.")
    return arr / total


def _aligned(
    a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float], names: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    p, q = _shares(a, names[0]), _shares(b, names[1])
    if p.shape != q.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must count the same bins; got {p.size} and {q.size} bins. "
            "Count both with the same edges or categories."
        )
    return p, q


def psi(ref_counts: np.ndarray | Sequence[float], cur_counts: np.ndarray | Sequence[float], eps: float = 1e-4) -> float:
    """Population stability index of ``cur`` against ``ref`` over the same bins.

    ``PSI = sum_i (q_i - p_i) * ln(q_i / p_i)`` where ``p`` and ``q`` are the reference and
    current shares, each smoothed as ``(share + eps) / (1 + k * eps)`` over ``k`` bins so
    that an empty bin does not make it infinite. 0 means identical; by convention
    < :data:`PSI_WARN` (0.1) is stable, 0.1–0.25 a moderate shift, > :data:`PSI_ALERT`
    (0.25) a major one.

    Parameters
    ----------
    ref_counts, cur_counts:
        Counts per bin (or per category), aligned; neither may be all zero.
    eps:
        Smoothing added to each share.

    Returns
    -------
    float
        The PSI, >= 0.
    """
    p, q = _aligned(ref_counts, cur_counts, ("ref_counts", "cur_counts"))
    if not eps > 0:
        raise ValueError(f"eps must be > 0; got {eps!r}.")
    k = p.size
    p = (p + eps) / (1 + k * eps)
    q = (q + eps) / (1 + k * eps)
    return float(np.sum((q - p) * np.log(q / p)))


def js_divergence(p_counts: np.ndarray | Sequence[float], q_counts: np.ndarray | Sequence[float]) -> float:
    """Jensen–Shannon divergence between two count vectors over the same bins, in bits.

    ``JS = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2`` and log base 2, so it
    lies in [0, 1]: 0 for identical distributions, 1 for ones with no bin in common. No
    smoothing is needed (``0 * log 0 = 0``). This is the divergence, not the JS distance
    (its square root).

    Parameters
    ----------
    p_counts, q_counts:
        Counts per bin, aligned; neither may be all zero.

    Returns
    -------
    float
        The divergence in [0, 1].
    """
    p, q = _aligned(p_counts, q_counts, ("p_counts", "q_counts"))
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return min(max((kl(p) + kl(q)) / 2, 0.0), 1.0)


def category_counts(labels: Iterable[str | None], categories: Sequence[str]) -> np.ndarray:
    """Count ``labels`` per category, in ``categories``' order, plus one last "other" bucket.

    Labels not in ``categories`` (a class the reference never saw, or None) go to "other",
    so the result always has ``len(categories) + 1`` counts and two windows' counts align.

    Parameters
    ----------
    labels:
        The labels to count.
    categories:
        The known categories (usually the reference's classes), without duplicates.

    Returns
    -------
    numpy.ndarray
        int64 counts of length ``len(categories) + 1``.

    Example
    -------
    >>> category_counts(["a", "b", "a", "z"], ["a", "b"]).tolist()
    [2, 1, 1]
    """
    position = {category: i for i, category in enumerate(categories)}
    if len(position) != len(categories):
        raise ValueError(f"categories must not repeat; got {list(categories)!r}.")
    other = len(categories)
    index = np.fromiter((position.get(label, other) for label in labels), dtype=np.int64)  # type: ignore[arg-type]
    return np.bincount(index, minlength=other + 1).astype(np.int64)
