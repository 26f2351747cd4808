"""Latency, throughput, memory and size of a saved model, measured as serving would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tailorml.errors import TailorError
from tailorml.results import Latency

__all__ = ["measure_runtime", "serving_threads"]

SAMPLE_INPUTS = 256


def serving_threads(vcpus: int) -> int:
    """Threads a server on this hardware profile would use: its vCPUs, capped by this machine."""
    return max(1, min(vcpus, os.cpu_count() or 1))


def measure_runtime(model_dir: str | Path, texts: list[str], *, threads: int, timeout: float = 600) -> Latency:
    """Time a saved model in a fresh process (see ``tailorml._measure``).

    Parameters
    ----------
    model_dir:
        A folder written by ``tailorml.paths.save_model``.
    texts:
        Inputs to time on (a sample of the test side); at most 256 are used.
    threads:
        Threads pinned for NumPy, BLAS and torch.
    """
    sample = [str(t) for t in texts[:SAMPLE_INPUTS]] or ["hello"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(sample, fh)
        inputs = fh.name
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tailorml._measure", str(model_dir), inputs, str(threads)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        os.unlink(inputs)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise TailorError(
            f"measuring {model_dir} failed: {' / '.join(tail)}",
            hint="the saved model could not be loaded in a fresh process; retrain it",
        )
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    samples = np.asarray(raw["samples_ms"], dtype=float)
    return Latency(
        p50_ms=float(np.percentile(samples, 50)),
        p95_ms=float(np.percentile(samples, 95)),
        p99_ms=float(np.percentile(samples, 99)),
        samples_ms=[round(float(s), 4) for s in samples],
        throughput_per_s=float(raw["throughput_per_s"]),
        batch_size=int(raw["batch_size"]),
        threads=int(raw["threads"]),
        peak_memory_mb=float(raw["peak_memory_mb"]),
        size_mb=float(raw["size_mb"]),
    )
