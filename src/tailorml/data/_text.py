"""Vectorized text normalization and hashing over Arrow string arrays.

Normalized text is lowercase, with every run of ASCII punctuation and whitespace turned into
one space and no space at either end. It is computed on the UTF-8 bytes with NumPy, a chunk
of rows at a time, because a regular-expression pass over a million rows costs seconds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_CHUNK_ROWS = 65_536
_SPACE = np.uint8(32)
# Bytes that survive normalization: ASCII letters and digits, and every byte >= 0x80
# (UTF-8 continuation and lead bytes of non-ASCII letters, kept whole).
_KEEP = np.zeros(256, dtype=bool)
_KEEP[ord("0") : ord("9") + 1] = True
_KEEP[ord("a") : ord("z") + 1] = True
_KEEP[0x80:] = True
_MULT = np.uint64(0x9E3779B97F4A7C15)


def as_string_array(values: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    """One contiguous large_string array (64-bit offsets), nulls kept."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.large_string())
    if not pa.types.is_large_string(values.type):
        values = values.cast(pa.large_string())
    return values


def string_buffers(arr: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """Return (offsets rebased to 0, UTF-8 bytes) of a large_string array without copying."""
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    if n == 0:
        return np.zeros(1, dtype=np.int64), data[:0]
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def normalized_buffers(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Normalize every text; return (offsets, UTF-8 bytes) of the results. Null becomes ''."""
    lowered = as_string_array(pc.utf8_lower(pc.fill_null(as_string_array(values), "")))
    offsets, data = string_buffers(lowered)
    n = len(offsets) - 1
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    pieces = []
    total = 0
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n)
        lo, hi = offsets[start], offsets[stop]
        kept, lengths = _normalize_chunk(data[lo:hi], offsets[start : stop + 1] - lo)
        pieces.append(kept)
        out_offsets[start + 1 : stop + 1] = total + np.cumsum(lengths)
        total += len(kept)
    out = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    return out_offsets, out


def _normalize_chunk(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_rows = len(offsets) - 1
    lengths = np.diff(offsets)
    row = np.repeat(np.arange(n_rows), lengths)
    keep_byte = _KEEP[data]
    # Cumulative count of kept bytes: a space survives only between two kept bytes of the same
    # row, and only as the last separator byte of its run.
    kept_before = np.cumsum(keep_byte, dtype=np.int64)
    row_kept_start = np.concatenate(([0], kept_before))[offsets[:-1]]
    row_kept_end = kept_before[offsets[1:] - 1] if len(data) else np.zeros(n_rows, np.int64)
    row_kept_end = np.where(lengths > 0, row_kept_end, row_kept_start)
    next_is_sep = np.zeros(len(data), dtype=bool)
    next_is_sep[:-1] = ~keep_byte[1:]
    is_row_last = np.zeros(len(data), dtype=bool)
    is_row_last[offsets[1:][lengths > 0] - 1] = True
    sep_kept = (
        ~keep_byte
        & ~(next_is_sep & ~is_row_last)  # keep only the last byte of a separator run
        & (kept_before > row_kept_start[row])  # a kept byte comes before it in the row
        & (kept_before < row_kept_end[row])  # and another after it
    )
    mask = keep_byte | sep_kept
    result = np.where(keep_byte, data, _SPACE)[mask]
    new_lengths = _segment_sums(mask.astype(np.int64), offsets)
    return result, new_lengths


def _segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of ``values[offsets[i]:offsets[i + 1]]`` for every row; 0 for empty rows."""
    padded = np.append(values, values.dtype.type(0))  # so an empty last row indexes in bounds
    sums = np.add.reduceat(padded, offsets[:-1])
    return np.where(np.diff(offsets) > 0, sums, values.dtype.type(0))


def normalize(values: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    """Normalized texts as an Arrow array (see the module docstring)."""
    offsets, data = normalized_buffers(values)
    return pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


def row_hashes(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's bytes (equal bytes, equal hash; stable across runs)."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, n)
            lo, hi = offsets[start], offsets[stop]
            rel = offsets[start : stop + 1] - lo
            lengths = np.diff(rel)
            chunk = data[lo:hi].astype(np.uint64)
            pos_in_row = np.arange(hi - lo) - np.repeat(rel[:-1], lengths)
            # Byte value times a position-dependent odd multiplier, summed, then mixed.
            weights = (pos_in_row.astype(np.uint64) * np.uint64(2) + np.uint64(1)) * _MULT
            terms = (chunk + np.uint64(1)) * weights
            terms ^= terms >> np.uint64(29)
            sums = _segment_sums(terms, rel)
            h = (sums ^ lengths.astype(np.uint64)) * _MULT
            out[start:stop] = h ^ (h >> np.uint64(32))
    return out
