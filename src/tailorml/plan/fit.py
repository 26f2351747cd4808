"""Model fit: a quick run of each candidate path on the project's own data.

For every path: one fit on the whole train side from a cold embedding cache (its seconds are
the training throughput), timing in a fresh process as a server runs it (latency, batched
throughput, size, memory: :func:`tailorml.runtime.measure_runtime`), quality on the test
side with bootstrap intervals (:func:`tailorml.metrics.quality.quality_metrics`), and a
learning curve on 10/20/40/80% of the train side, a few seeds each
(:func:`tailorml.plan.labels.learning_curve`). Nothing is registered or tracked: a plan
spends seconds, not a training budget.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from tailorml.data.dataset import Dataset
from tailorml.results import Estimate, Latency, LearningPoint

__all__ = ["CURVE_FRACTIONS", "CURVE_SEEDS", "PathRun", "quick_run"]

CURVE_FRACTIONS = (0.1, 0.2, 0.4, 0.8)
CURVE_SEEDS = (0, 1)
QUALITY_RESAMPLES = 200


class PathRun(BaseModel):
    """What the quick run of one path measured."""

    path: str
    train_rows: int
    test_rows: int
    train_seconds: float = Field(description="one fit on every training row, cold cache")
    threads: int = Field(description="threads latency was measured with")
    latency: Latency
    quality: dict[str, Estimate] = Field(description="quality metrics on the test side, with 95% intervals")
    curve: list[LearningPoint] = Field(description="learning-curve runs, the full fit last")
    measured_on: str = Field(description="when and where: date, cores, load, Python")
    busy: bool = Field(False, description="the machine's load was above its core count while timing")


def quick_run(
    path: str,
    dataset: Dataset,
    *,
    threads: int,
    out_of_scope: str | None,
    groups: Sequence[str] = (),
    fractions: Sequence[float] = CURVE_FRACTIONS,
    seeds: Sequence[int] = CURVE_SEEDS,
    on_step: Callable[[str], None] | None = None,
) -> PathRun:
    """Measure ``path`` on ``dataset``; see the module docstring."""
    import datetime as dt
    import os
    import platform

    from tailorml.metrics.quality import quality_metrics
    from tailorml.paths import available_paths, create_path, save_model
    from tailorml.plan.labels import learning_curve
    from tailorml.runtime import measure_runtime

    step = on_step or (lambda _name: None)
    train, test = dataset.train, dataset.test
    with tempfile.TemporaryDirectory(prefix="tailor-plan-") as tmp:
        params = (
            {"cache_dir": str(Path(tmp) / "cache")} if "cache_dir" in available_paths()[path].cls().get_params() else {}
        )
        step(f"fitting {path} on {len(train):,} rows")
        model = create_path(path, **params)
        start = time.perf_counter()
        model.fit(list(train.texts), list(train.labels))
        seconds = time.perf_counter() - start
        proba = model.predict_proba(list(test.texts))
        classes = np.asarray(model.classes_, dtype=object)
        quality = quality_metrics(
            test.labels,
            proba,
            classes,
            out_of_scope=out_of_scope,
            groups={c: test.groups[c] for c in groups if c in test.groups} or None,
            n_resamples=QUALITY_RESAMPLES,
            seed=dataset.split.seed,
        )
        folder = save_model(model, Path(tmp) / "model")
        step(f"timing {path} ({threads} threads)")
        latency = measure_runtime(folder, list(test.texts), threads=threads)
        load = os.getloadavg()[0]
        step(f"learning curve of {path} ({len(fractions)} sizes × {len(seeds)} seeds)")
        curve = learning_curve(
            path,
            list(train.texts),
            list(train.labels),
            list(test.texts),
            list(test.labels),
            fractions=fractions,
            seeds=seeds,
            params=params,
        )
    accuracy = float(np.mean(classes[np.argmax(proba, axis=1)] == np.asarray(test.labels, dtype=object)))
    curve.append(LearningPoint(fraction=1.0, n_train=len(train), accuracy=accuracy))
    return PathRun(
        path=path,
        train_rows=len(train),
        test_rows=len(test),
        train_seconds=seconds,
        threads=threads,
        latency=latency,
        quality=dict(quality.metrics),
        curve=curve,
        measured_on=f"{dt.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load {load:.1f}, Python {platform.python_version()}",
        busy=load > (os.cpu_count() or 1),
    )
