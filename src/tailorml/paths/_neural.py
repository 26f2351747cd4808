"""Helpers shared by the neural paths: imports with a fix-naming error, threads, splits, batching.

Nothing heavy is imported at module level: torch, tokenizers and onnxruntime are imported by
the functions that need them, so registering the paths stays cheap.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from tailorml.errors import SpecError, TailorError

__all__ = [
    "available_cores",
    "carve_validation",
    "check_range",
    "encode",
    "length_batches",
    "load_tokenizer",
    "require",
    "torch_threads",
]


def require(module: str, what: str) -> Any:
    """Import ``module`` or raise :class:`TailorError` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TailorError(
            f"{what} needs the Python package {module.split('.')[0]!r}, which is not installed",
            hint="pip install 'tailorml[neural]'",
        ) from None


def available_cores(*, load_aware: bool = False) -> int:
    """Threads worth using: ``OMP_NUM_THREADS`` when set (latency measurement pins it), else this process's cores.

    With ``load_aware`` (training), the cores less the 1-minute load average: on a shared
    machine two torch threads fighting other work for two cores are 2-3x slower than one.
    Prediction does not use it, so that a model's answers never depend on the machine's load.
    """
    pinned = os.environ.get("OMP_NUM_THREADS", "")
    if pinned.isdigit() and int(pinned) > 0:
        return int(pinned)
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        cores = max(1, os.cpu_count() or 1)
    if not load_aware:
        return cores
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        return cores
    return max(1, min(cores, int(cores + 1 - load)))


@contextmanager
def torch_threads(threads: int | None, *, load_aware: bool = False) -> Iterator[Any]:
    """Run torch with ``threads`` intra-op threads (default: :func:`available_cores`), then restore."""
    torch = require("torch", "this model path")
    before = torch.get_num_threads()
    torch.set_num_threads(threads or available_cores(load_aware=load_aware))
    try:
        yield torch
    finally:
        torch.set_num_threads(before)


def check_range(name: str, value: Any, low: float, high: float, *, integer: bool = False, path: str) -> None:
    """Raise :class:`SpecError` unless ``low <= value <= high`` (and an int when ``integer``)."""
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        allowed = f"{'a whole number' if integer else 'a number'} in [{low:g}, {high:g}]"
        raise SpecError(f"{path}: {name} must be {allowed}; got {value!r}", hint=f"set {name} to {allowed}")


def carve_validation(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded (train rows, validation rows) index arrays.

    Each class with at least two rows gives ``round(fraction * n)`` rows (at least one) to
    validation; classes with one row stay in training. ``fraction=0`` gives no validation.

    Example
    -------
    >>> train, val = carve_validation(np.array(list("aaaabbbbcc")), 0.25, seed=0)
    >>> sorted(np.array(list("aaaabbbbcc"))[val].tolist()), len(train)
    (['a', 'b', 'c'], 7)
    """
    rng = np.random.default_rng(seed)
    validation: list[int] = []
    if fraction > 0:
        for label in np.unique(labels):
            rows = np.flatnonzero(labels == label)
            if len(rows) < 2:
                continue
            take = min(len(rows) - 1, max(1, round(fraction * len(rows))))
            validation.extend(rng.permutation(rows)[:take].tolist())
    val = np.array(sorted(validation), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def load_tokenizer(folder: str | Path, max_length: int) -> Any:
    """The fast tokenizer of ``folder/tokenizer.json``, truncating at ``max_length``, not padding."""
    tokenizers = require("tokenizers", "this model path")
    tokenizer = tokenizers.Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tokenizer.no_padding()  # the packaged file pads everything to 128; batches pad to their longest instead
    tokenizer.enable_truncation(max_length)
    return tokenizer


def encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text (with special tokens), unpadded."""
    return [e.ids for e in tokenizer.encode_batch(list(texts))]


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length (longest first), for inference."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def training_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A shuffled epoch in batches of similar length: shuffle, sort within windows of 50 batches, shuffle batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(np.asarray(lengths)[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def pad(ids: list[list[int]], rows: np.ndarray, pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` int64 arrays of ``rows``, padded to their longest."""
    width = max(len(ids[r]) for r in rows)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        input_ids[i, : len(ids[r])] = ids[r]
        mask[i, : len(ids[r])] = 1
    return input_ids, mask


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (rows sum to 1 within rounding)."""
    scores = np.asarray(logits, dtype=np.float64)
    scores = scores - scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores
