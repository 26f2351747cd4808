"""Benchmark: the ``finetuned`` path and its int8 export on BANKING77 and CLINC150 (../shared/data).

For each data set, the fp32 model is fine-tuned on the official training file (its own 10%
stratified validation split drives early stopping) under a time budget, then exported to
int8 ONNX. Both are scored on the official test file: accuracy (CLINC150: in-scope accuracy
on the in-scope test rows, the ``oos`` rows being left to an out-of-scope threshold; the model
is trained with ``oos`` as a class), fp32-vs-int8 agreement and accuracy drop, single-request
p50/p95 latency, batch throughput (batches of 32) and training time. One markdown table is
printed with the date and the CPU; ``--save DIR`` keeps each model's test probabilities
(``DIR/<data>-<model>.npz``: ``proba``, ``classes``, ``labels``) so that out-of-scope
thresholds can be applied later.

    python bench/finetune.py [--datasets banking77 clinc150] [--time-budget-s 1500] [--save DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OOS = {"clinc150": "oos"}
SINGLE = 200
BATCH, BATCHES = 32, 20


def read(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def speed(model: Any, texts: list[str]) -> dict[str, float]:
    """Single-request p50/p95 (ms) and batch throughput (rows/s), in this process."""
    for text in texts[:10]:
        model.predict_proba([text])
    samples = []
    for i in range(SINGLE):
        start = time.perf_counter()
        model.predict_proba([texts[i % len(texts)]])
        samples.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    for b in range(BATCHES):
        model.predict_proba([texts[(b * BATCH + j) % len(texts)] for j in range(BATCH)])
    seconds = time.perf_counter() - start
    return {
        "p50_ms": float(np.percentile(samples, 50)),
        "p95_ms": float(np.percentile(samples, 95)),
        "rows_per_s": BATCH * BATCHES / seconds,
    }


def accuracy(proba: np.ndarray, classes: np.ndarray, labels: np.ndarray, oos: str | None) -> float:
    predicted = classes[proba.argmax(axis=1)]
    keep = labels != oos if oos else np.ones(len(labels), dtype=bool)
    return float(np.mean(predicted[keep] == labels[keep]))


def run_one(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from tailorml.paths.finetuned import Finetuned
    from tailorml.paths.int8 import FinetunedInt8

    train_texts, train_labels = read(SHARED / name / "train.csv")
    test_texts, test_list = read(SHARED / name / "test.csv")
    if args.limit:  # a smoke run: every n-th row, so that classes stay mixed
        train_texts, train_labels = (
            train_texts[:: len(train_texts) // args.limit],
            train_labels[:: len(train_labels) // args.limit],
        )
        test_texts, test_list = test_texts[:: len(test_texts) // args.limit], test_list[:: len(test_list) // args.limit]
    labels = np.asarray(test_list, dtype=object)
    oos = OOS.get(name)
    load = os.getloadavg()[0]
    print(f"{name}: {len(train_texts):,} train / {len(test_texts):,} test rows, load {load:.1f}", file=sys.stderr)

    fp32 = Finetuned(epochs=args.epochs, max_length=args.max_length, time_budget_s=args.time_budget_s, lr=args.lr)
    start = time.perf_counter()
    fp32.fit(train_texts, train_labels)
    train_seconds = time.perf_counter() - start
    print(f"  trained in {train_seconds:.0f} s, stopped by {fp32.stopped_by_}: {fp32.history_}", file=sys.stderr)
    int8 = FinetunedInt8(base_params=fp32.get_params()).export_fitted(fp32, train_texts, train_labels)
    print(f"  exported: {int8.export_}", file=sys.stderr)

    rows, probas = [], {}
    for model_name, model, seconds in (("finetuned", fp32, train_seconds), ("finetuned-int8", int8, None)):
        start = time.perf_counter()
        proba = model.predict_proba(test_texts)
        predict_s = time.perf_counter() - start
        probas[model_name] = proba
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            np.savez_compressed(
                Path(args.save) / f"{name}-{model_name}.npz",
                proba=proba,
                classes=np.asarray(model.classes_, dtype=str),
                labels=labels.astype(str),
            )
        measured = speed(model, test_texts)
        rows.append(
            {
                "data": name,
                "model": model_name,
                "accuracy": accuracy(proba, model.classes_, labels, oos),
                "train_s": seconds if seconds is not None else int8.export_["export_seconds"],
                "test_predict_s": predict_s,
                **measured,
            }
        )
        print(f"  {rows[-1]}", file=sys.stderr)
    agree = float(np.mean(probas["finetuned"].argmax(1) == probas["finetuned-int8"].argmax(1)))
    rows[1]["test_agreement"] = agree
    rows[1]["val_agreement"] = int8.fp32_agreement_
    rows[1]["drop_pt"] = 100 * (rows[0]["accuracy"] - rows[1]["accuracy"])
    rows[1]["speedup"] = rows[1]["rows_per_s"] / rows[0]["rows_per_s"]
    rows[0]["epochs"] = f"{len(fp32.history_)} ({fp32.stopped_by_})"
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| data | model | accuracy* | train s | epochs | p50 ms | p95 ms | rows/s (batch 32) | "
        "agreement val / test | drop pt | speed-up |"
    )
    lines = [head, "|" + " --- |" * 11]
    for r in rows:
        int8 = "test_agreement" in r
        agreement = f"{r['val_agreement']:.4f} / {r['test_agreement']:.4f}" if int8 else ""
        drop = f"{r['drop_pt']:.2f} | {r['speedup']:.2f}x" if int8 else " | "
        lines.append(
            f"| {r['data']} | {r['model']} | {r['accuracy']:.4f} | {r['train_s']:.0f} | {r.get('epochs', '')} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['rows_per_s']:.0f} | {agreement} | {drop} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--time-budget-s", type=float, default=1500.0, help="fit budget per data set")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="about this many rows per file (a smoke run)")
    parser.add_argument("--save", default=None, help="folder for the test probabilities (.npz)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = []
    for name in args.datasets:
        if not (SHARED / name / "train.csv").exists():
            print(f"skipping {name}: {SHARED / name} is absent", file=sys.stderr)
            continue
        rows.extend(run_one(name, args))
    print(
        f"\n{dt.date.today().isoformat()}, {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end (the machine is shared)\n"
    )
    print(table(rows))
    print("\n*accuracy: CLINC150 in-scope accuracy on the in-scope test rows (argmax over 150 intents + oos)")


if __name__ == "__main__":
    main()
