"""Benchmark: does label-error detection find injected label noise in BANKING77?

Reads ``../shared/data/banking77/train.csv`` (columns ``text,label``; skipped with a message
when absent), flips 5% of the rows (seeded) each to a different class drawn uniformly from
the other 76, and runs :func:`tailorml.labeling.label_errors.find_label_errors` (5-fold
out-of-fold probabilities, then cleanlab's ``find_label_issues`` ranked by self-confidence)
with ``tfidf-linear`` and ``embedding-linear``. The suspected-error list is cut at its top
5% (top k = the number of flipped rows) and scored against the flipped rows: precision@5%
(share of the k suspects that were flipped) and recall@5% (share of the flipped rows among
the k suspects). Goal: both >= 0.80. BANKING77's own label mistakes count against precision.
When cleanlab flags fewer than k rows, the list is shorter than k and recall is capped.

Each path's out-of-fold probabilities are computed once and scored under every
``--filters`` value (cleanlab ``filter_by``; the first is tailorml's default, the second
cleanlab's). ``--ensemble`` adds rows that average the paths' out-of-fold probabilities (no
extra fitting). Prints a markdown table.

    python bench/label_issues.py [--paths tfidf-linear embedding-linear] [--filters ...] [--noise 0.05] [--seed 0]
                                 [--ensemble]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GOAL = 0.80


def _read(path: Path) -> tuple[list[str], list[str]]:
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame["text"].tolist(), frame["label"].tolist()


def inject_noise(labels: list[str], fraction: float, seed: int) -> tuple[list[str], set[int]]:
    """Flip ``round(fraction * n)`` rows, each to a different class drawn uniformly from the others."""
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    position = {c: i for i, c in enumerate(classes)}
    flipped = rng.choice(len(labels), size=round(fraction * len(labels)), replace=False)
    noisy = list(labels)
    for row in flipped:
        offset = int(rng.integers(1, len(classes)))  # 1..K-1: never the original class
        noisy[row] = classes[(position[labels[row]] + offset) % len(classes)]
    return noisy, {int(r) for r in flipped}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def _score(result: Any, flipped: set[int]) -> tuple[float, float]:
    top = [s.row for s in result.suspects]
    hits = len(flipped.intersection(top))
    return (hits / len(top) if top else 0.0), hits / len(flipped)


def main() -> None:
    """Run the benchmark and print the table."""
    from tailorml.labeling.label_errors import label_errors_from_proba, out_of_fold_proba
    from tailorml.paths import create_path

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", nargs="+", default=["tfidf-linear", "embedding-linear"])
    parser.add_argument("--data", type=Path, default=DATA / "banking77" / "train.csv")
    parser.add_argument("--noise", type=float, default=0.05, help="share of rows whose label is flipped")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise and of the folds")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--filters", nargs="+", default=["low_self_confidence", "prune_by_noise_rate"])
    parser.add_argument("--ensemble", action="store_true", help="add rows averaging the paths' probabilities")
    args = parser.parse_args()

    if not args.data.is_file():
        print(f"skipped: no BANKING77 training split at {args.data}")
        return
    texts, labels = _read(args.data)
    noisy, flipped = inject_noise(labels, args.noise, args.seed)
    k = len(flipped)
    today, cpu = datetime.date.today().isoformat(), _cpu()
    print(
        f"bench/label_issues.py · BANKING77 train ({len(texts):,} rows, {len(set(labels))} labels) · "
        f"{k} labels flipped ({args.noise:.0%}, seed {args.seed}) · {args.folds}-fold out-of-fold probabilities · "
        f"Python {platform.python_version()}\n"
    )
    print(f"| path | filter_by | precision@{args.noise:.0%} | recall@{args.noise:.0%} | flagged "
          "| out-of-fold accuracy | seconds | date | CPU |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.paths:
            params: dict[str, Any] = {}
            if "cache_dir" in create_path(path).get_params():
                params["cache_dir"] = str(Path(tmp) / path)  # embed each text once, reuse it in every fold
            start = time.perf_counter()
            oof = out_of_fold_proba(texts, noisy, path=path, params=params, folds=args.folds, seed=args.seed)
            seconds = time.perf_counter() - start
            results.append((oof, seconds))
            for filter_by in args.filters:
                start = time.perf_counter()
                result = label_errors_from_proba(oof, filter_by=filter_by, top_k=k)
                _row(path, result, flipped, seconds + time.perf_counter() - start, today, cpu)
    if args.ensemble and len(results) > 1:
        combined = results[0][0].mean_with(*(oof for oof, _ in results[1:]))
        for filter_by in args.filters:
            start = time.perf_counter()
            result = label_errors_from_proba(combined, filter_by=filter_by, top_k=k)
            seconds = sum(s for _, s in results) + time.perf_counter() - start
            _row(f"{combined.path} (mean)", result, flipped, seconds, today, cpu)
    print(f"\nGoal: precision and recall at the top {args.noise:.0%} both >= {GOAL:.2f}. "
          "flagged: rows cleanlab flagged before the cut.")  # fmt: skip


def _row(name: str, result: Any, flipped: set[int], seconds: float, today: str, cpu: str) -> None:
    precision, recall = _score(result, flipped)
    print(
        f"| {name} | {result.filter_by} | {precision:.3f} | {recall:.3f} | {result.n_found:,} "
        f"| {result.out_of_fold_accuracy:.3f} | {seconds:.0f} | {today} | {cpu} |",
        flush=True,
    )
    verdict = "goal met" if min(precision, recall) >= GOAL else "goal NOT met"
    print(f"<!-- {name}, {result.filter_by}: {verdict} -->", file=sys.stderr)


if __name__ == "__main__":
    main()
