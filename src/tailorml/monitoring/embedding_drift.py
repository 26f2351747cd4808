"""Embedding drift: is a window of traffic drawn from the same distribution as the reference?

Both functions take two float arrays whose rows are L2-normalized sentence embeddings
(e.g. 384-d MiniLM vectors) of the reference data and of one window's sample of inputs.

- :func:`mmd_rbf` — kernel two-sample test: the unbiased squared maximum mean discrepancy
  with an RBF kernel, and a permutation p-value. **The default embedding drift signal,
  alerting at** ``p < 0.01``: the p-value is calibrated whatever the sample size (without
  drift, ``p < 0.01`` false-alarms in 1 % of windows), and it catches a new intent at
  10 % of a 500-row window every time.
- :func:`domain_classifier_auc` — how well a logistic regression tells the two apart
  (cross-validated ROC AUC; 0.5 means indistinguishable). An effect size a person can
  read, and the better detector of a small shift of every input (a slight rotation of
  the embedding space). But a new intent at share ``s`` of the window caps it near
  ``0.5 + s / 2``, so the usual ``AUC > 0.6`` misses new intents below 20 % of traffic,
  and its no-drift spread depends on the sample size (95th percentile 0.547 with 500
  rows a side, 0.568 with 200), so a fixed threshold does not hold a fixed false-alarm rate.

Both take 20-30 ms for 500 rows a side of 384-d embeddings on two cores.
``tests/test_drift_stats.py`` holds the measurement (detection power and false alarms on
synthetic intent clusters; run it as a script for the full table).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["domain_classifier_auc", "mmd_rbf"]

_MAX_AUC_ROWS = 1_000
_MAX_MMD_ROWS = 500
_MAX_PERMUTATIONS = 200
_MEDIAN_PAIRS = 20_000


def _matrix(name: str, values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-d array with one embedding per row; got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values; embed the texts again or drop those rows.")
    return arr


def _pair(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _matrix("ref", ref), _matrix("cur", cur)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"ref and cur must have the same embedding dimension; got {a.shape[1]} and {b.shape[1]}. "
            "Embed both with the same model."
        )
    return a, b


def _subsample(rng: np.random.Generator, x: np.ndarray, n: int) -> np.ndarray:
    return x if len(x) <= n else x[rng.choice(len(x), size=n, replace=False)]


@functools.lru_cache(maxsize=8)
def _assignments(m: int, n: int, n_permutations: int) -> np.ndarray:
    """Row i marks the pooled rows that play ``ref`` in assignment i; row 0 is the real split.

    Drawn once per sample sizes from a fixed seed and cached: a monitor tests every window
    with the same sizes, and drawing the permutations costs as much as applying them. The
    test stays exact, since the permutations do not depend on the data.
    """
    base = np.zeros(m + n, dtype=np.float32)
    base[:m] = 1.0
    rng = np.random.default_rng([m, n, n_permutations])
    sides = np.vstack([base, rng.permuted(np.tile(base, (n_permutations, 1)), axis=1)])
    sides.flags.writeable = False
    return sides


def _median_offdiagonal(rng: np.random.Generator, d2: np.ndarray) -> float:
    """Median of the off-diagonal entries of ``d2``; estimated from 20,000 random pairs when there are more."""
    size = len(d2)
    pairs = size * (size - 1) // 2
    if pairs <= _MEDIAN_PAIRS:
        return float(np.median(d2[np.triu_indices(size, k=1)]))
    i = rng.integers(0, size, _MEDIAN_PAIRS)
    j = (i + rng.integers(1, size, _MEDIAN_PAIRS)) % size  # never i itself
    return float(np.median(d2[i, j]))


def domain_classifier_auc(ref: np.ndarray, cur: np.ndarray, *, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a classifier telling ``cur`` rows from ``ref`` rows.

    Draws the same number of rows from each side (the smaller side's count, at most
    1,000), standardizes the features, and fits an L2 logistic regression in stratified
    5-fold cross-validation; returns the mean of the five held-out AUCs. 0.5 means the two
    samples cannot be told apart; 1.0 means they are separable. Without drift, 95 % of
    AUCs stay below about 0.55 with 500 rows a side and 0.57 with 200 (384-d); a threshold
    should come from such a permutation null at the window's sample size.

    Parameters
    ----------
    ref:
        Reference embeddings, one per row.
    cur:
        The window's embeddings, same dimension.
    seed:
        Seeds the subsampling and the fold split.

    Returns
    -------
    float
        The AUC in [0, 1].

    Raises
    ------
    ValueError
        A side has fewer than 5 rows, the dimensions differ, or values are not finite.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    a, b = _pair(ref, cur)
    n = min(len(a), len(b), _MAX_AUC_ROWS)
    if n < 5:
        raise ValueError(f"domain_classifier_auc needs at least 5 rows on each side; got {len(a)} and {len(b)}.")
    rng = np.random.default_rng(seed)
    x = np.vstack([_subsample(rng, a, n), _subsample(rng, b, n)])
    y = np.repeat([0, 1], n)
    aucs = []
    for train, test in StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(x, y):
        model = LogisticRegression(C=1.0, solver="liblinear")  # lbfgs: 3-10x slower here
        model.fit(x[train], y[train])
        aucs.append(roc_auc_score(y[test], model.decision_function(x[test])))
    return float(np.mean(aucs))


def mmd_rbf(
    ref: np.ndarray, cur: np.ndarray, *, seed: int = 0, n_permutations: int = _MAX_PERMUTATIONS
) -> tuple[float, float]:
    """Unbiased squared MMD between ``ref`` and ``cur`` with an RBF kernel, and its permutation p-value.

    Uses at most 500 rows a side (a seeded random subsample). The kernel is
    ``exp(-||x - y||² / (2 s²))`` with ``s²`` the median squared distance between all
    pooled rows (the median heuristic; estimated from 20,000 random pairs when there are
    more). The p-value is ``(1 + #{permuted >= observed}) / (1 + n_permutations)`` over
    random reassignments of the pooled rows to the two sides, all computed at once from the
    one kernel matrix.

    Parameters
    ----------
    ref:
        Reference embeddings, one per row.
    cur:
        The window's embeddings, same dimension.
    seed:
        Seeds the subsampling and the bandwidth's pair sample. The permutations are drawn
        once per sample sizes from a fixed seed (and cached), so every window of a monitor
        run shares them.
    n_permutations:
        Permutations for the p-value, 1 to 200; the smallest p-value possible is
        ``1 / (1 + n_permutations)``.

    Returns
    -------
    tuple[float, float]
        ``(mmd2, p_value)``; ``mmd2`` is near 0 (and may be slightly negative) without drift.

    Raises
    ------
    ValueError
        A side has fewer than 2 rows, the dimensions differ, or values are not finite.
    """
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int):
        raise ValueError(f"n_permutations must be a whole number in [1, 200]; got {n_permutations!r}.")
    if not 1 <= n_permutations <= _MAX_PERMUTATIONS:
        raise ValueError(f"n_permutations must be in [1, {_MAX_PERMUTATIONS}]; got {n_permutations}.")
    a, b = _pair(ref, cur)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"mmd_rbf needs at least 2 rows on each side; got {len(a)} and {len(b)}.")
    rng = np.random.default_rng(seed)
    a, b = _subsample(rng, a, _MAX_MMD_ROWS), _subsample(rng, b, _MAX_MMD_ROWS)
    m, n = len(a), len(b)
    # float32 halves the cost of the two matrix products; sums stay far more precise than
    # the differences the test looks at (MMD² of a real shift is ~1e-3, float32 error ~1e-7).
    z = np.vstack([a, b]).astype(np.float32)
    sq = np.einsum("ij,ij->i", z, z)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0)
    scale = _median_offdiagonal(rng, d2)
    if scale <= 0:  # all rows identical: nothing can differ
        return 0.0, 1.0
    kernel = np.exp(d2 * np.float32(-0.5 / scale))
    np.fill_diagonal(kernel, 0.0)  # the unbiased estimate leaves out k(x, x)

    sides = _assignments(m, n, n_permutations)
    row_sums = kernel.sum(axis=1, dtype=np.float64)
    total = row_sums.sum()
    within_a = np.einsum("ij,ij->i", sides @ kernel, sides, dtype=np.float64)
    a_all = sides.astype(np.float64) @ row_sums
    within_b = total - 2.0 * a_all + within_a
    between = a_all - within_a
    stats = within_a / (m * (m - 1)) + within_b / (n * (n - 1)) - 2.0 * between / (m * n)
    observed = float(stats[0])
    # A permutation equal to the observed split up to rounding counts as at least as extreme.
    p_value = (1 + int(np.sum(stats[1:] >= observed - 1e-9))) / (1 + n_permutations)
    return observed, float(p_value)
