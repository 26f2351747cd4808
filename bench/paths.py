"""Benchmark: every registered model path on BANKING77 and CLINC150, trained and tested here.

Prints one markdown table per data set: accuracy, macro-F1, training seconds (cold: the
embedding cache starts empty; warm: a refit on the same texts reads every embedding from
it), batch prediction cost per row, and the size of the saved model. For CLINC150 it also
prints in-scope accuracy (rows whose true label is not ``oos``) and out-of-scope recall.
Reads ``../shared/data/<name>/{train,test}.csv`` (columns ``text,label``); a missing data
set is skipped with a message.

    python bench/paths.py [--datasets banking77 clinc150] [--paths tfidf-linear ...]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OOS = "oos"


@dataclass
class Row:
    path: str
    accuracy: float
    macro_f1: float
    in_scope_accuracy: float | None
    oos_recall: float | None
    train_s: float
    warm_train_s: float | None
    predict_ms_per_row: float
    size_mb: float


def read_split(folder: Path, split: str) -> tuple[list[str], list[str]]:
    import pandas as pd

    # keep_default_na=False: texts such as "none" or "NA" stay text.
    frame = pd.read_csv(folder / f"{split}.csv", dtype=str, keep_default_na=False)
    return frame["text"].tolist(), frame["label"].tolist()


def run_path(name: str, train: tuple[list[str], list[str]], test: tuple[list[str], list[str]], tmp: Path) -> Row:
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    from tailorml.paths import create_path, save_model

    extra: dict[str, Any] = {}
    if "cache_dir" in create_path(name).get_params():
        extra["cache_dir"] = str(tmp / f"{name}-cache")  # empty: the first fit pays for every embedding
    model = create_path(name, **extra)
    start = time.perf_counter()
    model.fit(*train)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    proba = model.predict_proba(test[0])
    predict_s = time.perf_counter() - start
    predicted = np.asarray(model.classes_)[proba.argmax(axis=1)]
    truth = np.asarray(test[1], dtype=object)

    warm = None
    if extra:
        start = time.perf_counter()
        create_path(name, **extra).fit(*train)
        warm = time.perf_counter() - start

    folder = save_model(model, tmp / name)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    in_scope = truth != OOS
    has_oos = bool((~in_scope).any())
    return Row(
        path=name,
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, average="macro")),
        in_scope_accuracy=float(np.mean(predicted[in_scope] == truth[in_scope])) if has_oos else None,
        oos_recall=float(np.mean(predicted[~in_scope] == OOS)) if has_oos else None,
        train_s=train_s,
        warm_train_s=warm,
        predict_ms_per_row=1000 * predict_s / len(test[0]),
        size_mb=size,
    )


def table(rows: list[Row]) -> str:
    oos = any(r.in_scope_accuracy is not None for r in rows)
    head = ["path", "accuracy", "macro-F1"]
    head += ["in-scope acc.", "oos recall"] if oos else []
    head += ["train s (cold)", "train s (warm cache)", "predict ms/row (batch)", "size on disk"]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(head))) + "|",
    ]
    for r in rows:
        cells = [r.path, f"{r.accuracy:.3f}", f"{r.macro_f1:.3f}"]
        if oos:
            cells += [_opt(r.in_scope_accuracy), _opt(r.oos_recall)]
        cells += [f"{r.train_s:.1f}", f"{r.warm_train_s:.1f}" if r.warm_train_s is not None else "—"]
        cells += [f"{r.predict_ms_per_row:.2f}", f"{r.size_mb:.1f} MB"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _opt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def main() -> None:
    from tailorml.paths import available_paths

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--paths", nargs="+", default=list(available_paths()))
    parser.add_argument("--data", type=Path, default=DATA, help=f"folder of the data sets (default {DATA})")
    args = parser.parse_args()

    print(
        f"{datetime.date.today()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()}"
    )
    for dataset in args.datasets:
        folder = args.data / dataset
        if not (folder / "train.csv").exists() or not (folder / "test.csv").exists():
            print(f"\nskipping {dataset}: {folder}/train.csv and test.csv not found", file=sys.stderr)
            continue
        train, test = read_split(folder, "train"), read_split(folder, "test")
        print(f"\n### {dataset}: {len(train[0]):,} train / {len(test[0]):,} test rows, {len(set(train[1]))} labels\n")
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.paths:
                rows.append(run_path(name, train, test, Path(tmp)))
                print(f"  {name}: done", file=sys.stderr, flush=True)
        print(table(rows), flush=True)


if __name__ == "__main__":
    main()
