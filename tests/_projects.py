"""One way for tests to write a project folder: synthetic training data and a tailor.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tailorml.data.io import write_frame
from tailorml.data.synth import synthesize

BASE_SPEC: dict[str, Any] = {
    "project": "support",
    "task": {"input": "text", "target": "label", "out_of_scope": "oos", "groups": ["channel"]},
    "data": {"train": "data/train.csv"},
    "objectives": {"accuracy": {"min": 0.5}, "latency_p95_ms": {"max": 1000}, "oos_recall": {"min": 0.1}},
    "candidates": ["tfidf-linear"],
    "budget": {"train_minutes": 5},
}


def write_project(folder: Path, *, rows: int = 2400, seed: int = 5, **overrides: Any) -> Path:
    """``rows`` synthetic messages in ``data/train.csv`` and a spec: :data:`BASE_SPEC` with top-level overrides."""
    write_frame(synthesize(rows, seed=seed), folder / "data" / "train.csv")
    path = folder / "tailor.yaml"
    path.write_text(yaml.safe_dump({**BASE_SPEC, **overrides}))
    return path
