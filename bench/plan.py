"""Benchmark: does a learning curve on 10/20/40% of the labels forecast accuracy with all of them?

For BANKING77 and CLINC150 (all labels, ``oos`` included) and for ``tfidf-linear`` and
``embedding-linear``: measure a learning curve on 10, 20 and 40% of the training split
(3 seeds each), forecast test accuracy with 100% (:func:`tailorml.plan.labels.forecast`),
then train on 100% and measure it. Prints a markdown table; the goal is a forecast within
2 accuracy points of the measurement. Reads ``../shared/data/<name>/{train,test}.csv``
(columns ``text,label``); a missing data set is skipped with a message. ``--save`` writes
every learning-curve point and measurement to JSON for refitting without retraining.

    python bench/plan.py [--datasets banking77 clinc150] [--paths tfidf-linear embedding-linear] [--save out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GOAL_POINTS = 2.0


def _read(folder: Path, split: str) -> tuple[list[str], list[str]]:
    import pandas as pd

    frame = pd.read_csv(folder / f"{split}.csv", dtype=str, keep_default_na=False)
    return frame["text"].tolist(), frame["label"].tolist()


def _accuracy(
    path: str, params: dict[str, Any], train: tuple[list[str], list[str]], test: tuple[list[str], list[str]]
) -> float:
    from tailorml.paths import create_path

    model = create_path(path, **params)
    model.fit(*train)
    predicted = model.predict(test[0])
    return sum(p == t for p, t in zip(predicted, test[1], strict=True)) / len(test[1])


def main() -> None:
    """Run the benchmark and print the table."""
    from tailorml.paths import create_path
    from tailorml.plan.labels import forecast, learning_curve

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--paths", nargs="+", default=["tfidf-linear", "embedding-linear"])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--save", type=Path, default=None, help="write points and measurements to this JSON file")
    args = parser.parse_args()

    if not args.data.is_dir():
        print(f"skipped: no data folder at {args.data}")
        return
    print(
        f"{datetime.date.today()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()}\n"
    )
    print("| data | path | forecast at 100% [95% interval] | measured at 100% | error (points) | within 2 points? |")
    print("|---|---|---|---|---|---|")
    saved: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            folder = args.data / dataset
            if not (folder / "train.csv").is_file() or not (folder / "test.csv").is_file():
                print(f"| {dataset} | skipped: {folder}/train.csv or test.csv missing | | | | |")
                continue
            train, test = _read(folder, "train"), _read(folder, "test")
            for path in args.paths:
                params: dict[str, Any] = {}
                if "cache_dir" in create_path(path).get_params():
                    params["cache_dir"] = str(Path(tmp) / f"{dataset}-{path}")  # embed each text once
                start = time.perf_counter()
                points = learning_curve(path, *train, *test, params=params)
                result = forecast(points, n_target=len(train[0]), path=path, n_labeled=len(train[0]))
                measured = _accuracy(path, params, train, test)
                seconds = time.perf_counter() - start
                error = 100 * (result.predicted_accuracy - measured)
                print(
                    f"| {dataset} | {path} | {result.predicted_accuracy:.3f} [{result.low:.3f}, {result.high:.3f}] "
                    f"| {measured:.3f} | {error:+.1f} | {'yes' if abs(error) <= GOAL_POINTS else 'no'} |",
                    flush=True,
                )
                print(f"<!-- {result.kind} fit, {result.source}; {seconds:.0f} s -->", file=sys.stderr, flush=True)
                saved.append(
                    {
                        "dataset": dataset,
                        "path": path,
                        "n_train": len(train[0]),
                        "measured": measured,
                        "points": [p.model_dump() for p in points],
                        "forecast": result.model_dump(),
                    }
                )
    if args.save is not None:
        args.save.write_text(json.dumps(saved, indent=1))


if __name__ == "__main__":
    main()
