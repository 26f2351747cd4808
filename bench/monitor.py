"""Benchmark: monitor a request log of 1,000,000 and 10,000,000 rows in windows of 10,000 requests.

For each size it writes synthetic requests (and their review-queue entries, a third of them
answered) into a fresh SQLite request log, with drift in the last fifth of the traffic (a new
intent, lower confidence, slower answers). Then a fresh Python process — so its peak memory is
its own — times :func:`tailorml.monitoring.windows.window_summaries` and every drift signal of
every window against a reference: PSI and JS divergence of the class mix, PSI of confidence and
of input length, abstention rate, latency p95, live accuracy on reviewed requests, the
out-of-vocabulary rate of the window's sampled texts, and embedding drift (MMD with a
permutation p-value) of those samples. No model is loaded: the embeddings are stand-ins, a
random unit vector per intent plus noise, so only the cost of the test is real.

The monitor process runs numpy's BLAS on one thread (``OPENBLAS_NUM_THREADS=1``): its matrix
products are small (700 x 384), and two BLAS threads on two cores gain nothing alone and run
3-4x slower once anything else wants a core. The SQL side still reads on two threads.

Write time is reported but is not part of the goal. Goal on a 2-core machine: 10M rows
monitored in under 60 s and under 1 GB peak memory.

    python bench/monitor.py [--rows 1000000 10000000] [--window 10000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

INTENTS = {  # label -> text templates ("{}" is a number)
    "order_status": ["where is my order {}", "has order {} shipped yet", "track my package {}"],
    "refund": ["i want a refund for order {}", "please refund my payment {}", "money back for item {}"],
    "cancel": ["cancel my subscription {}", "stop my plan number {}", "please cancel membership {}"],
    "password": ["reset my password for account {}", "i forgot my login {}", "cannot sign in to account {}"],
    "hours": ["what time do you open on day {}", "are you open on holiday {}", "store hours for shop {}"],
    "human": ["let me talk to a real person {}", "connect me to an agent {}", "i need a human now {}"],
    "address": ["change my delivery address to {} main street", "update shipping address {}", "new address {}"],
    "invoice": ["send me the invoice for order {}", "i need a receipt {}", "download bill number {}"],
}
DRIFT_TEMPLATES = ["do you deliver to warsaw postcode {}", "is there a discount code {} for students"]
LABELS = list(INTENTS)
DIM = 384
WINDOW_CHILD = r"""
import json, sys, time
from tailorml._memory import peak_rss_mb
sys.path.insert(0, sys.argv[4])
from monitor import monitor
result = monitor(sys.argv[1], int(sys.argv[2]), sys.argv[3])
result["peak_rss_mb"] = peak_rss_mb()
print(json.dumps(result))
"""


# --- synthetic traffic --------------------------------------------------------------------------


def _templates() -> tuple[np.ndarray, np.ndarray]:
    """Every template (known intents, then drift ones) and the label each is predicted as."""
    texts = [t for label in LABELS for t in INTENTS[label]] + DRIFT_TEMPLATES
    labels = [label for label in LABELS for _ in INTENTS[label]] + ["refund", "order_status"]
    return np.array(texts, dtype=object), np.array(labels, dtype=object)


TEMPLATES, TEMPLATE_LABELS = _templates()
BEFORE = np.array([t.split("{}")[0] for t in TEMPLATES], dtype=object)
AFTER = np.array([t.split("{}")[1] for t in TEMPLATES], dtype=object)
N_KNOWN = len(TEMPLATES) - len(DRIFT_TEMPLATES)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def traffic(rng: np.random.Generator, n: int, drift: np.ndarray) -> dict[str, np.ndarray]:
    """``n`` requests; rows where ``drift`` is True come from the drifted distribution."""
    template = rng.integers(0, N_KNOWN, n)
    new = drift & (rng.random(n) < 0.15)
    template[new] = N_KNOWN + rng.integers(0, len(DRIFT_TEMPLATES), int(new.sum()))
    texts = BEFORE[template] + rng.integers(0, 100_000, n).astype(str).astype(object) + AFTER[template]
    confidence = np.where(new, rng.beta(2, 3, n), rng.beta(8, 1.2, n))
    confidence = np.where(drift & ~new, confidence * 0.97, confidence).round(4)
    latency = rng.lognormal(np.where(drift, 1.8, 1.5), 0.45).round(3)
    return {
        "template": template,
        "text": texts,
        "label": TEMPLATE_LABELS[template],
        "confidence": confidence,
        "latency": latency,
    }


def _hex_digits(values: np.ndarray, width: int) -> np.ndarray:
    """Lower-case hex digits of each value, ``width`` of them, as a uint8 matrix (no Python loop)."""
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    return HEX[(values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)]


def _request_ids(offsets_us: np.ndarray, index: np.ndarray) -> list[str]:
    """Time-ordered ids like the server's: nanoseconds since the epoch, then 6 more hex digits."""
    ns = offsets_us * 1000 + 1_767_571_200_000_000_000  # 2026-01-05 in ns
    raw = np.hstack([_hex_digits(ns, 16), _hex_digits(index % 16_777_216, 6)])
    return raw.view("S22").ravel().astype("U22").tolist()


def _timestamps(start: np.datetime64, offsets_us: np.ndarray) -> list[str]:
    """SQLAlchemy's SQLite DATETIME text ('2026-01-05 00:00:00.000000'), built without a Python loop."""
    iso = np.datetime_as_string(start + offsets_us.astype("timedelta64[us]"), unit="us").astype("S26")
    raw = iso.view(np.uint8).reshape(-1, 26).copy()
    raw[:, 10] = ord(" ")
    return raw.view("S26").ravel().astype("U26").tolist()


def write_log(path: Path, rows: int, *, seed: int = 0, chunk: int = 200_000) -> dict[str, float]:
    """Write ``rows`` requests (drift in the last fifth) with executemany in big transactions."""
    from tailorml.serving.requestlog import RequestLog

    RequestLog(f"sqlite:///{path}").close()  # the schema and WAL mode, exactly as the server has them
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-01-05T00:00:00.000000")
    clock = 0
    reviews = 0
    began = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA cache_size=-262144")
    try:
        for first in range(0, rows, chunk):
            n = min(chunk, rows - first)
            index = np.arange(first, first + n)
            t = traffic(rng, n, index >= rows * 0.8)
            offsets = clock + np.cumsum(rng.exponential(20_000, n).astype(np.int64) + 1)  # ~50 requests/s
            clock = int(offsets[-1])
            created = _timestamps(start, offsets)
            ids = _request_ids(offsets, index)
            conf = t["confidence"]
            topk = ('[["' + t["label"] + '",' + conf.astype(str).astype(object) + "]]").tolist()
            abstained = conf < 0.5
            labels, texts = t["label"].tolist(), t["text"].tolist()
            batch = zip(
                ids,
                created,
                ["intent"] * n,
                [3] * n,
                texts,
                labels,
                conf.tolist(),
                topk,
                abstained.astype(int).tolist(),
                t["latency"].tolist(),
                ["k_bench"] * n,
                strict=True,
            )
            queued = np.flatnonzero(abstained)
            answered = rng.random(len(queued)) < 1 / 3
            right = rng.random(len(queued)) < 0.7
            review_rows = [
                (
                    ids[i],
                    created[i],
                    texts[i],
                    topk[i],
                    labels[i],
                    "answered" if a else "pending",
                    (labels[i] if r else "human") if a else None,
                    "bench" if a else None,
                    created[i] if a else None,
                )
                for i, a, r in zip(queued.tolist(), answered.tolist(), right.tolist(), strict=True)
            ]
            reviews += len(review_rows)
            with conn:
                conn.executemany("INSERT INTO requests VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
                conn.executemany("INSERT INTO review_queue VALUES (?,?,?,?,?,?,?,?,?)", review_rows)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {"seconds": time.perf_counter() - began, "reviews": reviews, "mb": path.stat().st_size / 1e6}


def compare_writers(folder: Path, rows: int = 100_000) -> dict[str, float]:
    """Rows/s of RequestLog.record in chunks of 50,000 against executemany in one big transaction."""
    from datetime import UTC, datetime, timedelta

    from tailorml.serving.requestlog import RequestLog

    rng = np.random.default_rng(1)
    t = traffic(rng, rows, np.zeros(rows, dtype=bool))
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    dicts = [
        {
            "id": f"r{i:09d}",
            "created_at": t0 + timedelta(milliseconds=20 * i),
            "model_name": "intent",
            "model_version": 3,
            "input_text": text,
            "label": label,
            "confidence": float(c),
            "topk": f'[["{label}",{c}]]',
            "abstained": bool(c < 0.5),
            "latency_ms": float(lat),
            "api_key_id": "k",
        }
        for i, (text, label, c, lat) in enumerate(
            zip(t["text"], t["label"], t["confidence"], t["latency"], strict=True)
        )
    ]
    with RequestLog(f"sqlite:///{folder / 'record.db'}") as log:
        began = time.perf_counter()
        for first in range(0, rows, 50_000):
            log.record(dicts[first : first + 50_000])
        record = rows / (time.perf_counter() - began)
    began = time.perf_counter()
    write_log(folder / "executemany.db", rows, seed=1, chunk=rows)
    return {"record": record, "executemany": rows / (time.perf_counter() - began)}


# --- the monitor (run in a fresh process) --------------------------------------------------------


def reference(rng: np.random.Generator, rows: int = 20_000) -> dict[str, Any]:
    """Reference statistics, as ``tailor monitor`` keeps them for the champion."""
    from tailorml.monitoring.stats import Histogram, category_counts

    t = traffic(rng, rows, np.zeros(rows, dtype=bool))
    lengths = Histogram.from_reference(np.array([len(x) for x in t["text"]], dtype=float), bins=20)
    centres = rng.normal(size=(len(TEMPLATES), DIM))
    return {
        "classes": LABELS,
        "class_mix": category_counts(t["label"].tolist(), LABELS),
        "confidence": Histogram(np.linspace(0, 1, 21)).add(t["confidence"]).counts,
        "length_edges": lengths.edges,
        "length": lengths.counts,
        "vocabulary": {w for text in t["text"][:5_000] for w in text.split() if not w.isdigit()},
        "centres": centres,
        "embeddings": embed(rng, centres, t["template"][:500]),
    }


def embed(rng: np.random.Generator, centres: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """Stand-in sentence embeddings: the template's random direction plus noise, unit length."""
    x = centres[templates] + rng.normal(size=(len(templates), DIM))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def template_of(texts: list[str]) -> np.ndarray:
    """Which template each sampled text came from (by its words without the number)."""
    keys = {" ".join(w for w in t.split() if w != "{}"): i for i, t in enumerate(TEMPLATES)}
    return np.array([keys[" ".join(w for w in text.split() if not w.isdigit())] for text in texts])


def signals(w: Any, ref: dict[str, Any], rng: np.random.Generator) -> dict[str, float]:
    """Every drift and decay signal of one window."""
    from tailorml.monitoring.embedding_drift import mmd_rbf
    from tailorml.monitoring.stats import js_divergence, psi

    known = set(ref["classes"])
    mix = np.array(
        [w.label_counts.get(c, 0) for c in ref["classes"]]
        + [sum(v for k, v in w.label_counts.items() if k not in known)]
    )
    words = [x for text in w.sample_texts for x in text.split() if not x.isdigit()]
    out = {
        "class_mix_psi": psi(ref["class_mix"], mix),
        "class_mix_js": js_divergence(ref["class_mix"], mix),
        "confidence_psi": psi(ref["confidence"], w.confidence_hist),
        "length_psi": psi(ref["length"], w.length_hist),
        "abstention_rate": w.abstained / w.n,
        "latency_p95": w.latency_p95,
        "live_accuracy": w.correct / w.reviewed if w.reviewed else float("nan"),
        "oov_rate": sum(x not in ref["vocabulary"] for x in words) / max(len(words), 1),
    }
    if len(w.sample_texts) >= 20:
        sample = embed(rng, ref["centres"], template_of(w.sample_texts))
        out["embedding_mmd2"], out["embedding_p"] = mmd_rbf(ref["embeddings"], sample, seed=w.index)
    return out


def monitor(db: str, window: int, out: str) -> dict[str, Any]:
    """Time window_summaries and the signals of every window; return the timings and alert counts."""
    from tailorml.monitoring.windows import WindowSpec, window_summaries

    rng = np.random.default_rng(7)
    ref = reference(rng)
    began = time.perf_counter()
    summaries = window_summaries(
        f"sqlite:///{db}", spec=WindowSpec("count", window), length_edges=ref["length_edges"], sample_per_window=200
    )
    summarized = time.perf_counter()
    values = [signals(w, ref, rng) for w in summaries]
    ended = time.perf_counter()
    drifted = [w.index >= 0.8 * len(summaries) for w in summaries]
    tests = {
        "class_mix_psi > 0.1": lambda v: v["class_mix_psi"] > 0.1,
        "confidence_psi > 0.25": lambda v: v["confidence_psi"] > 0.25,
        "oov_rate > 0.05": lambda v: v["oov_rate"] > 0.05,
        "embedding MMD p < 0.01": lambda v: v.get("embedding_p", 1.0) < 0.01,
    }
    flagged = {
        name: [sum(test(v) for v, d in zip(values, drifted, strict=True) if d == side) for side in (True, False)]
        for name, test in tests.items()
    }
    Path(out).write_text(json.dumps([{"index": w.index, **v} for w, v in zip(summaries, values, strict=True)]))
    return {
        "windows": len(summaries),
        "rows": sum(w.n for w in summaries),
        "summaries_s": summarized - began,
        "signals_s": ended - summarized,
        "monitor_s": ended - began,
        "flagged": flagged,
        "drifted_windows": sum(drifted),
    }


# --- main ----------------------------------------------------------------------------------------


def run_size(rows: int, window: int, folder: Path) -> dict[str, Any]:
    db = folder / f"requests-{rows}.db"
    written = write_log(db, rows)
    print(
        f"  {rows:,} rows written in {written['seconds']:.0f} s ({written['mb']:,.0f} MB)", file=sys.stderr, flush=True
    )
    one_thread = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    load = os.getloadavg()[0]
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            WINDOW_CHILD,
            str(db),
            str(window),
            str(folder / f"signals-{rows}.json"),
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **one_thread},
    )
    if child.returncode != 0:
        raise SystemExit(f"monitor process failed:\n{child.stderr}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    for path in folder.glob(f"requests-{rows}.db*"):
        path.unlink()
    return {
        "rows": rows,
        "write_s": written["seconds"],
        "db_mb": written["mb"],
        "reviews": written["reviews"],
        "load": (load, os.getloadavg()[0]),
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--window", type=int, default=10_000, help="requests per window")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the logs (default: a temp folder)")
    args = parser.parse_args()

    print(
        f"bench/monitor.py  {time.strftime('%Y-%m-%d')}  {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        speeds = compare_writers(Path(tmp))
        print(
            f"writers on 100,000 rows: RequestLog.record in chunks of 50,000 {speeds['record']:,.0f} rows/s, "
            f"executemany {speeds['executemany']:,.0f} rows/s (used below)\n",
            flush=True,
        )
        results = [run_size(rows, args.window, Path(tmp)) for rows in args.rows]

    print(f"windows of {args.window:,} requests; every signal of every window (8 from counts, OOV rate and")
    print("MMD embedding drift on 200 sampled texts a window, stand-in embeddings: no model loaded)\n")
    print("| rows | windows | write s | DB MB | summaries s | signals s | monitor s | peak RSS MB | load avg |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['windows']:,} | {r['write_s']:.0f} | {r['db_mb']:,.0f} | {r['summaries_s']:.1f}"
            f" | {r['signals_s']:.1f} | **{r['monitor_s']:.1f}** | **{r['peak_rss_mb']:.0f}**"
            f" | {r['load'][0]:.1f} → {r['load'][1]:.1f} |"
        )
    print("\ngoal: 10,000,000 rows monitored in < 60 s and < 1,024 MB peak RSS (write time not part of it);")
    print("load avg: the 1-minute load average before and after the monitor process (2 = both cores busy)")
    for r in results:
        drifted, clean = r["drifted_windows"], r["windows"] - r["drifted_windows"]
        flags = "; ".join(f"{k}: {a}/{drifted} drifted, {b}/{clean} clean" for k, (a, b) in r["flagged"].items())
        print(f"{r['rows']:,} rows, windows flagged: {flags}")


if __name__ == "__main__":
    main()
