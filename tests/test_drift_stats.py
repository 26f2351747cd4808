"""Histograms, PSI and JS divergence against hand-computed values; embedding drift power.

Run as a script for the full detection-power table (384-d, 20 seeds, about a minute):

    .venv/bin/python tests/test_drift_stats.py

Synthetic embeddings mimic intents: 10 Gaussian clusters on the unit sphere (a shared
direction as in real sentence embeddings, uneven intent mix), a reference of 1,000 rows and
windows of 500 rows. Shifts: a new cluster makes up 10 % or 20 % of the window, or every
point is rotated by a small random rotation (``theta`` ~ the distance each point moves).
"Null AUC" is the permutation check: the AUC between two random halves of the pooled
reference and no-shift window rows, whose 95th percentile is the AUC threshold that keeps
false alarms at 5 %.

Measured 2026-11-30 on the 2-core dev machine, 384-d, 20 seeds a cell; share of seeds
flagged. The permutation-null AUC had mean 0.506 and 95th percentile 0.546:

==============  =========  ==========  ============  ============  ========
shift           AUC > 0.6  AUC > 0.55  MMD p < 0.01  MMD p < 0.05  mean AUC
==============  =========  ==========  ============  ============  ========
none            0.00       0.00        0.00          0.05          0.502
new 10 %        0.00       0.55        1.00          1.00          0.548
new 20 %        0.50       1.00        1.00          1.00          0.599
rotation 0.10   0.80       1.00        0.05          0.20          0.630
rotation 0.15   1.00       1.00        0.35          0.95          0.740
rotation 0.20   1.00       1.00        1.00          1.00          0.835
==============  =========  ==========  ============  ============  ========

A new intent at share ``s`` of a window caps the AUC near ``0.5 + s / 2``, so ``AUC > 0.6``
cannot see one below 20 % of traffic; MMD sees it at 10 %. MMD misses the smallest
rotation, which the AUC sees. MMD's p-value is calibrated at any sample size (``p < 0.01``
false-alarms 1 % of windows), while the AUC's no-drift spread widens for smaller samples
(95th percentile 0.568 with 200-row windows), so an AUC threshold would have to follow
the window size. Hence MMD with ``p < 0.01`` is the default embedding drift signal.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

import numpy as np
import pytest

from tailorml.monitoring.embedding_drift import domain_classifier_auc, mmd_rbf
from tailorml.monitoring.stats import PSI_ALERT, PSI_WARN, Histogram, category_counts, js_divergence, psi

# --- Histogram ---------------------------------------------------------------------------------


def test_bins_hold_their_left_edge_and_clip_outside_values() -> None:
    h = Histogram(np.array([0.0, 1.0, 2.0, 4.0]))
    h.add([0.0, 0.5, 1.0, 3.99, 4.0, -7.0, 100.0, float("nan")])
    # [0,1): 0.0, 0.5, -7 (below) | [1,2): 1.0 | [2,4]: 3.99, 4.0, 100 (above); NaN dropped
    assert h.counts.tolist() == [3, 1, 3]
    assert h.n == 7
    assert (h.min, h.max) == (-7.0, 100.0)
    assert h.bin_index([1.999, 2.0, float("nan")]).tolist() == [1, 2, -1]


def test_from_reference_uses_quantile_edges_with_open_ends() -> None:
    values = np.arange(1, 101, dtype=float)
    h = Histogram.from_reference(values, bins=4)
    assert h.edges[0] == -np.inf and h.edges[-1] == np.inf
    assert h.edges[1:-1].tolist() == pytest.approx([25.75, 50.5, 75.25])
    assert h.counts.tolist() == [25, 25, 25, 25]
    later = h.empty_like().add([-1000.0, 1e9])
    assert later.counts.tolist() == [1, 0, 0, 1]


def test_from_reference_merges_tied_quantiles() -> None:
    h = Histogram.from_reference([1, 1, 1, 1, 1, 1, 2, 3], bins=4)
    assert h.edges.tolist() == [-np.inf, 1.0, 1.25, np.inf]  # quartiles 1, 1, 1.25
    assert h.n == 8
    with pytest.raises(ValueError, match="at least one value"):
        Histogram.from_reference([float("nan")])


def test_merge_equals_adding_everything() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=10_000)
    edges = np.linspace(-3, 3, 13)
    whole = Histogram(edges).add(values)
    parts = [Histogram(edges).add(chunk) for chunk in np.array_split(values, 7)]
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    assert merged == whole
    assert merged.counts.tolist() == whole.counts.tolist() and merged.n == 10_000
    with pytest.raises(ValueError, match="different edges"):
        whole.merge(Histogram(np.linspace(-3, 3, 7)))


def test_quantile_is_close_to_the_exact_one() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 100, 20_000)
    h = Histogram(np.linspace(0, 100, 21)).add(values)
    for q in (0.05, 0.5, 0.95):
        assert h.quantile(q) == pytest.approx(np.quantile(values, q), abs=0.6)
    assert h.quantile(0) == pytest.approx(values.min()) and h.quantile(1) == pytest.approx(values.max())
    # Open-ended bins are bounded by the values seen.
    open_ended = Histogram.from_reference(values, bins=10)
    assert values.min() <= open_ended.quantile(0.01) <= open_ended.edges[1]
    assert math.isnan(Histogram([0.0, 1.0]).quantile(0.5))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        h.quantile(1.5)


def test_json_round_trip_keeps_open_edges() -> None:
    h = Histogram.from_reference(np.arange(50, dtype=float), bins=5).add([1e6])
    text = json.dumps(h.to_dict(), allow_nan=False)  # strict JSON: no Infinity tokens
    again = Histogram.from_dict(json.loads(text))
    assert again == h
    assert again.edges[0] == -np.inf and again.edges[-1] == np.inf
    assert again.quantile(0.5) == h.quantile(0.5)
    empty = Histogram.from_dict(json.loads(json.dumps(Histogram([0.0, 1.0]).to_dict())))
    assert empty.n == 0 and math.isinf(empty.min)


@pytest.mark.parametrize(
    ("edges", "counts", "message"),
    [
        ([1.0], None, "at least 2"),
        ([0.0, 0.0, 1.0], None, "strictly increasing"),
        ([0.0, 1.0], [1, 2], "one per bin"),
        ([0.0, 1.0], [-1], "non-negative"),
    ],
)
def test_histogram_checks_its_arguments(edges: list[float], counts: list[int] | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Histogram(edges, counts)


# --- PSI, JS, categories ---------------------------------------------------------------------


def test_psi_matches_hand_computation() -> None:
    # shares 0.5/0.5 -> 0.25/0.75: (0.25 - 0.5) ln(0.5) + (0.75 - 0.5) ln(1.5) = 0.2746530722
    assert psi([50, 50], [25, 75], eps=1e-12) == pytest.approx(0.2746530722, abs=1e-9)
    # default smoothing barely moves it
    assert psi([50, 50], [25, 75]) == pytest.approx(0.2746530722, abs=2e-4)
    # an empty bin on each side: 2 * ln((1 + eps) / eps) / (1 + 2 eps) = 18.41719
    assert psi([10, 0], [0, 10]) == pytest.approx(2 * math.log(1.0001 / 0.0001) / 1.0002, rel=1e-9)
    assert psi([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-12)  # only shares count
    assert psi([30, 70], [70, 30]) == pytest.approx(psi([70, 30], [30, 70]))  # symmetric
    assert PSI_WARN == 0.1 and PSI_ALERT == 0.25


def test_js_divergence_matches_hand_computation() -> None:
    # p = [1, 0], q = [.5, .5], m = [.75, .25]: (log2(4/3) + .5 log2(2/3) + .5 log2(2)) / 2
    assert js_divergence([4, 0], [2, 2]) == pytest.approx(0.3112781245, abs=1e-9)
    assert js_divergence([3, 0], [0, 5]) == pytest.approx(1.0)
    assert js_divergence([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence([1, 9], [9, 1]) == pytest.approx(js_divergence([9, 1], [1, 9]))


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([1, 2], [1, 2, 3], "same bins; got 2 and 3"),
        ([0, 0], [1, 2], "holds no counts"),
        ([1, -2], [1, 2], "non-negative counts"),
    ],
)
def test_divergences_reject_misaligned_or_empty_counts(a: list[int], b: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        psi(a, b)
    with pytest.raises(ValueError, match=message.replace("ref_counts", "p_counts")):
        js_divergence(a, b)


def test_category_counts_has_an_other_bucket() -> None:
    counts = category_counts(["refund", "cancel", "refund", "new_intent", None], ["cancel", "refund"])
    assert counts.tolist() == [1, 2, 2]
    assert category_counts([], ["a"]).tolist() == [0, 0]
    with pytest.raises(ValueError, match="must not repeat"):
        category_counts(["a"], ["a", "a"])


# --- embedding drift ---------------------------------------------------------------------------


def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD² written out with loops, median-heuristic bandwidth over all pairs."""
    z = np.vstack([x, y])
    d2 = [[float(np.sum((a - b) ** 2)) for b in z] for a in z]
    scale = float(np.median([d2[i][j] for i in range(len(z)) for j in range(i + 1, len(z))]))

    def k(i: int, j: int) -> float:
        return math.exp(-d2[i][j] / (2 * scale))

    m, n = len(x), len(y)
    xx = sum(k(i, j) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(m + i, m + j) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(i, m + j) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd_matches_the_formula_and_its_p_value_floor() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(12, 3))
    y = rng.normal(size=(10, 3)) + 3.0
    mmd2, p = mmd_rbf(x, y, seed=1)
    assert mmd2 == pytest.approx(brute_force_mmd2(x, y), rel=1e-5)
    # every permutation mixes the two clouds (646,646 ways to split 22 rows): none beats the real split
    assert p == pytest.approx(1 / 201)
    assert mmd_rbf(x, y, n_permutations=9)[1] == pytest.approx(0.1)
    assert mmd_rbf(np.ones((4, 3)), np.ones((3, 3))) == (0.0, 1.0)


def test_mmd_p_values_are_not_small_without_drift() -> None:
    rng = np.random.default_rng(0)
    ps = [mmd_rbf(rng.normal(size=(200, 16)), rng.normal(size=(150, 16)), seed=s)[1] for s in range(8)]
    assert min(ps) > 0.01 and 0.2 < float(np.mean(ps)) < 0.8


def test_domain_classifier_auc_separates_only_what_differs() -> None:
    rng = np.random.default_rng(0)
    same = domain_classifier_auc(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)))
    apart = domain_classifier_auc(rng.normal(size=(300, 8)), rng.normal(size=(200, 8)) + 2.0)
    assert 0.4 < same < 0.6
    assert apart > 0.99


@pytest.mark.parametrize(
    ("ref", "cur", "message"),
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), "same embedding dimension; got 3 and 4"),
        (np.zeros(10), np.zeros((10, 3)), "ref must be a 2-d array"),
        (np.full((10, 3), np.nan), np.zeros((10, 3)), "NaN or infinite"),
        (np.zeros((1, 3)), np.zeros((10, 3)), "at least"),
    ],
)
def test_embedding_drift_checks_its_inputs(ref: np.ndarray, cur: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mmd_rbf(ref, cur)
    with pytest.raises(ValueError, match=message):
        domain_classifier_auc(ref, cur)
    with pytest.raises(ValueError, match="n_permutations"):
        mmd_rbf(np.zeros((5, 2)), np.zeros((5, 2)), n_permutations=500)


# --- detection power on synthetic intents -------------------------------------------------------


def make_intents(dim: int, k: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``k + 1`` cluster centres (the last one is the intent that will appear) and the mix of the first k."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=dim)
    shared /= np.linalg.norm(shared)
    centres = rng.normal(size=(k + 1, dim)) / np.sqrt(dim) + 0.4 * shared
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return centres, rng.dirichlet(np.full(k, 3.0))


def draw(rng: np.random.Generator, centres: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` unit vectors around the centres (cosine to their centre about 0.7)."""
    which = rng.choice(len(weights), size=n, p=weights)
    x = centres[which] + rng.normal(size=(n, centres.shape[1])) / np.sqrt(centres.shape[1])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def rotation(dim: int, theta: float) -> np.ndarray:
    """A random rotation that moves a typical unit vector by about ``theta``."""
    from scipy.linalg import expm

    g = np.random.default_rng(999).normal(size=(dim, dim))
    return expm(theta * (g - g.T) / np.sqrt(2 * dim))


def shifted_window(kind: str, rng: np.random.Generator, centres: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    known = centres[:-1]
    if kind == "none":
        return draw(rng, known, weights, n)
    if kind.startswith("new"):
        new = round(float(kind.removeprefix("new")) / 100 * n)
        return np.vstack([draw(rng, known, weights, n - new), draw(rng, centres[-1:], np.ones(1), new)])
    theta = float(kind.removeprefix("rot"))
    return draw(rng, known, weights, n) @ rotation(centres.shape[1], theta).T


def drift_study(
    dim: int, seeds: int, kinds: tuple[str, ...], n_ref: int = 1_000, n_window: int = 500
) -> dict[str, dict[str, Any]]:
    """Per shift: AUC and MMD p-value of every seed, and the permutation-null AUCs of the no-shift windows."""
    centres, weights = make_intents(dim)
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        aucs, ps, null = [], [], []
        for seed in range(seeds):
            rng = np.random.default_rng(10_000 + seed)
            ref = draw(rng, centres[:-1], weights, n_ref)
            cur = shifted_window(kind, rng, centres, weights, n_window)
            aucs.append(domain_classifier_auc(ref, cur, seed=seed))
            ps.append(mmd_rbf(ref, cur, seed=seed)[1])
            if kind == "none":  # permutation null: two random halves of the pooled rows
                pool = rng.permutation(np.vstack([ref[:n_window], cur]))
                null.append(domain_classifier_auc(pool[:n_window], pool[n_window:], seed=seed))
        out[kind] = {"auc": np.array(aucs), "p": np.array(ps), "null_auc": np.array(null)}
    return out


def test_detection_power_on_synthetic_intents() -> None:
    """A small version of the study (32-d, 5 seeds): what each signal catches, and no false alarms."""
    result = drift_study(32, 5, ("none", "new10", "rot0.2"), n_ref=500, n_window=500)
    none, new, rotated = result["none"], result["new10"], result["rot0.2"]
    assert np.mean(none["p"] < 0.01) == 0 and np.mean(none["auc"] > 0.6) == 0
    assert float(np.quantile(none["null_auc"], 0.95)) < 0.56
    assert np.mean(new["p"] < 0.01) == 1  # MMD sees a new intent at 10 % of traffic ...
    assert np.mean(new["auc"] > 0.6) == 0  # ... the AUC cannot: it is capped near 0.5 + 10 % / 2
    assert np.mean(rotated["auc"] > 0.6) == 1  # AUC sees a small rotation of everything


def print_table(dim: int = 384, seeds: int = 20) -> None:
    kinds = ("none", "new10", "new20", "rot0.1", "rot0.15", "rot0.2")
    started = time.perf_counter()
    result = drift_study(dim, seeds, kinds)
    null95 = float(np.quantile(result["none"]["null_auc"], 0.95))
    cut = math.ceil(null95 * 100) / 100
    print(f"{dim}-d embeddings, reference 1,000 rows, windows of 500 rows, {seeds} seeds a cell")
    print(f"permutation-null AUC: mean {result['none']['null_auc'].mean():.3f}, 95th percentile {null95:.3f}\n")
    print(f"| shift | AUC > 0.6 | AUC > {cut:.2f} (null 95th pct) | MMD p < 0.01 | MMD p < 0.05 | mean AUC |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, r in result.items():
        print(
            f"| {kind} | {np.mean(r['auc'] > 0.6):.2f} | {np.mean(r['auc'] > cut):.2f} | {np.mean(r['p'] < 0.01):.2f}"
            f" | {np.mean(r['p'] < 0.05):.2f} | {r['auc'].mean():.3f} |"
        )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    print_table(*(int(a) for a in sys.argv[1:3]))
