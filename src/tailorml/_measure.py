"""Measure a saved model the way a server runs it, in a fresh process.

``python -m tailorml._measure MODEL_DIR INPUTS_JSON THREADS`` loads the model, warms it up,
times single requests and batches of 32, and prints one JSON line: latency samples,
throughput, the process's peak resident memory (model, libraries and inputs included, as a
serving process would hold them), and the bytes serving needs on disk (the model folder plus
files it depends on, such as an encoder's weights). Thread counts are pinned before any
library loads, and embedding caches are off, so every request is computed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

WARMUP = 10
SINGLE_REQUESTS = 200
BATCH_SIZE = 32
BATCHES = 20
MAX_SECONDS = 60.0  # per phase: a very slow model is measured on fewer repetitions


def main(model_dir: str, inputs_path: str, threads: int) -> dict[str, object]:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.pop("TAILOR_HOME", None)  # no embedding cache: time the model, not a lookup
    from tailorml._memory import peak_rss_mb
    from tailorml.paths import load_model

    with open(inputs_path, encoding="utf-8") as fh:
        texts = json.load(fh)
    model = load_model(model_dir)
    if hasattr(model, "set_cache_dir"):  # wrappers pass it on to the models inside
        model.set_cache_dir(None)
    elif "cache_dir" in model.get_params():
        model.set_params(cache_dir=None)
    size = sum(p.stat().st_size for p in Path(model_dir).rglob("*") if p.is_file())
    size += getattr(model, "dependency_bytes", lambda: 0)()
    if "torch" in sys.modules:  # OMP_NUM_THREADS pins torch too; this makes it explicit
        sys.modules["torch"].set_num_threads(threads)
    for i in range(WARMUP):
        model.predict_proba([texts[i % len(texts)]])
    samples = []
    deadline = time.perf_counter() + MAX_SECONDS
    for i in range(SINGLE_REQUESTS):
        start = time.perf_counter()
        model.predict_proba([texts[i % len(texts)]])
        samples.append((time.perf_counter() - start) * 1000)
        if start > deadline:
            break
    done = 0
    start = time.perf_counter()
    for b in range(BATCHES):
        batch = [texts[(b * BATCH_SIZE + j) % len(texts)] for j in range(BATCH_SIZE)]
        model.predict_proba(batch)
        done += BATCH_SIZE
        if time.perf_counter() - start > MAX_SECONDS:
            break
    elapsed = time.perf_counter() - start
    return {
        "samples_ms": samples,
        "throughput_per_s": done / elapsed,
        "batch_size": BATCH_SIZE,
        "threads": threads,
        "peak_memory_mb": peak_rss_mb(),
        "size_mb": size / 1e6,
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
