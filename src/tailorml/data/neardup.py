"""Near-duplicate groups in linear time: MinHash over character shingles, banded LSH.

Every row gets a signature of ``n_hashes`` minimum hash values over its character
``shingle``-grams (computed for all rows at once with NumPy, never row by row). Rows whose
signatures agree on a whole band share a bucket; each row in a bucket is compared with the
bucket's first row only (so a bucket of m rows costs m, not m²), and linked when their
signatures agree on at least ``threshold`` of the hashes. Linked rows and rows with the same
normalized text form one group (connected components).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tailorml.data._text import normalized_buffers, row_hashes

_PRIME = np.uint64(1099511628211)  # FNV prime: spreads bytes across the 64-bit word
_MAX = np.iinfo(np.uint64).max
_CHUNK_ROWS = 16_384


def minhash_signatures(
    offsets: np.ndarray, data: np.ndarray, *, n_hashes: int = 12, shingle: int = 5, seed: int = 0
) -> np.ndarray:
    """Return an (n_rows, n_hashes) uint64 MinHash signature of each normalized text.

    ``offsets`` and ``data`` are the normalized texts' row offsets and UTF-8 bytes. Texts
    shorter than ``shingle`` bytes get a signature derived from the whole text, so they
    only ever match texts identical to them.
    """
    n = len(offsets) - 1
    rng = np.random.default_rng(seed)
    mult = rng.integers(1, 2**63, size=n_hashes, dtype=np.uint64) | np.uint64(1)
    xor = rng.integers(0, 2**63, size=n_hashes, dtype=np.uint64)
    sig = np.empty((n, n_hashes), dtype=np.uint64)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n)
        sig[start:stop] = _chunk_signatures(offsets[start : stop + 1], data, mult, xor, shingle)
    short = np.flatnonzero(np.diff(offsets) < shingle)
    if short.size:
        whole = row_hashes(offsets, data)[short]
        with np.errstate(over="ignore"):
            sig[short] = (whole[:, None] ^ xor[None, :]) * mult[None, :]
    return sig


def _chunk_signatures(offsets: np.ndarray, data: np.ndarray, mult: np.ndarray, xor: np.ndarray, k: int) -> np.ndarray:
    lo, hi = int(offsets[0]), int(offsets[-1])
    chunk = data[lo:hi].astype(np.uint64)
    rel = offsets - lo
    lengths = np.diff(rel)
    out = np.full((len(lengths), len(mult)), _MAX, dtype=np.uint64)
    n_pos = max(len(chunk) - k + 1, 0)
    if n_pos == 0:
        return out
    with np.errstate(over="ignore"):
        h = chunk[:n_pos].copy()
        for j in range(1, k):
            h *= _PRIME
            h ^= chunk[j : j + n_pos]
        # Keep only shingles that lie inside one row, packed row after row.
        n_shingles = np.maximum(lengths - k + 1, 0)
        has = n_shingles > 0
        valid_starts = np.repeat(rel[:-1][has], n_shingles[has]) + _ranges(n_shingles[has])
        h = h[valid_starts]
        seg = np.concatenate(([0], np.cumsum(n_shingles[has])[:-1]))
        g = np.empty_like(h)
        for m in range(len(mult)):
            np.bitwise_xor(h, xor[m], out=g)
            np.multiply(g, mult[m], out=g)
            out[has, m] = np.minimum.reduceat(g, seg)
    return out


def _ranges(counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(c)`` for every count c."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1]) - np.repeat(ends - counts, counts)


def near_duplicate_groups(
    texts: pa.Array | pa.ChunkedArray,
    *,
    threshold: float = 0.8,
    n_hashes: int = 12,
    bands: int = 4,
    seed: int = 0,
) -> np.ndarray:
    """Group id per row: rows with the same id are the same or nearly the same text.

    Parameters
    ----------
    texts:
        The inputs, as an Arrow string array (nulls count as empty).
    threshold:
        Estimated Jaccard similarity of character 5-gram sets above which two texts are
        near-duplicates.
    n_hashes, bands:
        Signature length and number of LSH bands (``n_hashes`` must divide by ``bands``).

    Returns
    -------
    numpy.ndarray
        int64 group ids in ``[0, n_groups)``; a row alone in its group is unique.
    """
    offsets, data = normalized_buffers(texts)
    return group_normalized(offsets, data, threshold=threshold, n_hashes=n_hashes, bands=bands, seed=seed)


def group_normalized(
    offsets: np.ndarray,
    data: np.ndarray,
    *,
    exact: np.ndarray | None = None,
    threshold: float = 0.8,
    n_hashes: int = 12,
    bands: int = 4,
    seed: int = 0,
) -> np.ndarray:
    """:func:`near_duplicate_groups` on already normalized texts (and their row hashes)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n_hashes % bands:
        raise ValueError(f"n_hashes ({n_hashes}) must be a multiple of bands ({bands})")
    n = len(offsets) - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if exact is None:
        exact = row_hashes(offsets, data)
    sig = minhash_signatures(offsets, data, n_hashes=n_hashes, seed=seed)
    rows = [np.arange(n)]
    reps = [_first_of_bucket(exact)]
    r = n_hashes // bands
    for b in range(bands):
        band = sig[:, b * r : (b + 1) * r]
        key = band[:, 0].copy()
        with np.errstate(over="ignore"):
            for j in range(1, r):
                key = key * _PRIME ^ band[:, j]
        rep = _first_of_bucket(key)
        candidates = np.flatnonzero(rep != np.arange(n))
        agree = (sig[candidates] == sig[rep[candidates]]).mean(axis=1)
        keep = candidates[agree >= threshold]
        rows.append(keep)
        reps.append(rep[keep])
    src = np.concatenate(rows)
    dst = np.concatenate(reps)
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def _first_of_bucket(keys: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with the same key (hash-based, linear)."""
    import pandas as pd

    codes, uniques = pd.factorize(keys)
    first = np.empty(len(uniques), dtype=np.int64)
    # Writing in reverse order leaves each code's first row as the survivor.
    first[codes[::-1]] = np.arange(len(keys) - 1, -1, -1)
    return first[codes]
