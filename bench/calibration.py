"""Calibration, out-of-scope scores and the validation-weighted ensemble on BANKING77 and CLINC150.

Usage: ``python bench/calibration.py [--cache /tmp/tailorml-embeddings] [--data ../shared/data]``

For ``tfidf-linear``, ``embedding-linear`` and their ensemble: test accuracy (in-scope
accuracy on CLINC150), ECE before and after calibration (method chosen on validation),
and on CLINC150 each out-of-scope score's AUROC and its recall / in-scope accuracy at the
threshold chosen on validation. BANKING77 has no validation split: 10% of its training
rows (stratified, seed 7) are held out for calibration and weights. Nothing is chosen on
test rows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _read(path: Path) -> tuple[list[str], np.ndarray]:
    frame = pd.read_csv(path, keep_default_na=False)
    return frame["text"].astype(str).tolist(), frame["label"].astype(str).to_numpy(dtype=object)


def _splits(data: Path, name: str) -> dict[str, tuple[list[str], np.ndarray]]:
    from sklearn.model_selection import train_test_split

    folder = data / name
    train = _read(folder / "train.csv")
    test = _read(folder / "test.csv")
    if (folder / "validation.csv").is_file():
        return {"train": train, "validation": _read(folder / "validation.csv"), "test": test}
    rows = np.arange(len(train[0]))
    fit, held = train_test_split(rows, test_size=0.1, random_state=7, stratify=train[1])
    pick = lambda idx: ([train[0][i] for i in idx], train[1][idx])  # noqa: E731
    return {"train": pick(fit), "validation": pick(held), "test": test}


def _ece(proba: np.ndarray, classes: np.ndarray, truth: np.ndarray) -> float:
    from tailorml.metrics.quality import expected_calibration_error

    return expected_calibration_error(classes[proba.argmax(1)] == truth, proba.max(1))


def _row(name: str, wrap: Any, split: dict[str, Any], oos: str | None) -> list[dict[str, Any]]:
    from tailorml.oos import auroc

    texts, truth = split["test"]
    classes = np.asarray(wrap.classes_, dtype=object)
    raw = wrap.predict_proba_uncalibrated(texts)
    start = time.perf_counter()
    final = wrap.predict_proba(texts)
    seconds = time.perf_counter() - start
    base = {
        "model": name,
        "method": wrap.summary_.get("method"),
        "T": wrap.summary_.get("temperature"),
        "ece_before": _ece(raw, classes, truth),
        "ece_after": _ece(final, classes, truth),
        "ms_per_row": seconds / len(texts) * 1000,
    }
    predicted = classes[final.argmax(1)]
    if oos is None:
        return [{**base, "accuracy": float((predicted == truth).mean())}]
    rows = []
    is_oos = truth == oos
    log_proba = wrap._log_scores(texts)
    calibrated = wrap.calibrator_.transform(log_proba)
    scores = wrap._scores(texts, log_proba, calibrated)
    in_scope = np.asarray(wrap.classes_)[_in_scope_argmax(calibrated, classes, oos)]
    for score_name, score in scores.items():
        quality = wrap.oos_rule_.validation[score_name]
        flagged = score >= quality.threshold
        label = np.where(flagged, oos, in_scope)
        rows.append(
            {
                **base,
                "score": score_name + (" *" if score_name == wrap.oos_rule_.score else ""),
                "accuracy": float((label == truth).mean()),
                "in_scope_accuracy": float((label[~is_oos] == truth[~is_oos]).mean()),
                "oos_recall": float(flagged[is_oos].mean()),
                "oos_auroc": auroc(is_oos, score),
                "val_auroc": quality.auroc,
            }
        )
    return rows


def _in_scope_argmax(proba: np.ndarray, classes: np.ndarray, oos: str) -> np.ndarray:
    inside = proba.copy()
    inside[:, classes.astype(str) == oos] = -1
    return inside.argmax(1)


def run(data: Path, cache: str, recall: float | None) -> pd.DataFrame:
    from tailorml.paths.calibrated import Calibrated
    from tailorml.paths.embedding import EmbeddingLinear
    from tailorml.paths.ensemble import Ensemble
    from tailorml.paths.tfidf import TfidfLinear

    rows: list[dict[str, Any]] = []
    for name, oos in (("banking77", None), ("clinc150", "oos")):
        split = _splits(data, name)
        (tx, ty), (vx, vy) = split["train"], split["validation"]
        fitted = {}
        for path, model in (("tfidf-linear", TfidfLinear()), ("embedding-linear", EmbeddingLinear(cache_dir=cache))):
            start = time.perf_counter()
            model.fit(tx, ty)
            print(f"{name}: {path} fitted in {time.perf_counter() - start:.0f} s", flush=True)
            fitted[path] = model
            wrap = Calibrated(base=path, out_of_scope=oos, oos_recall=recall).calibrate(
                model, vx, vy, train_texts=tx, train_labels=ty
            )
            rows += [{"data": name, **r} for r in _row(path, wrap, split, oos)]
        members = [Calibrated(base=p).calibrate(m, vx, vy) for p, m in fitted.items()]
        ensemble = Ensemble(members=tuple(fitted)).combine(members, vx, vy)
        wrap = Calibrated(base="ensemble", out_of_scope=oos, oos_recall=recall).calibrate(
            ensemble, vx, vy, train_texts=tx, train_labels=ty
        )
        label = f"ensemble {ensemble.weights_[0]:.2f}/{ensemble.weights_[1]:.2f}"
        rows += [{"data": name, **r} for r in _row(label, wrap, split, oos)]
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--cache", default="/tmp/tailorml-embeddings")
    parser.add_argument("--recall", type=float, default=None, help="out-of-scope recall to reach on validation")
    args = parser.parse_args()
    table = run(args.data, args.cache, args.recall)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4f}".format):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
