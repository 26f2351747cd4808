"""How many labels: measure a learning curve on subsets of the data, then forecast from it.

:func:`learning_curve` trains a model path on stratified random subsets of the labeled
rows (each fraction × seed) and measures test accuracy. :func:`forecast` fits those points
with :func:`tailorml.selection.fit_learning_curve` (a saturating power law, else a
log-linear line), predicts accuracy at a target training-set size with a bootstrap
interval, and says how many labels an accuracy target needs.

Example
-------
>>> from tailorml.results import LearningPoint
>>> points = [LearningPoint(fraction=f, n_train=int(f * 10_000), accuracy=0.95 - 0.4 * (f * 10_000) ** -0.3)
...           for f in (0.1, 0.2, 0.4)]
>>> result = forecast(points, n_target=10_000, accuracy_target=0.93, path="tfidf-linear", n_labeled=10_000)
>>> round(result.predicted_accuracy, 3), result.reachable
(0.925, True)
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from tailorml.results import LearningPoint
from tailorml.selection import MAX_EXTRAPOLATION, LearningCurveFit, fit_learning_curve

__all__ = ["LabelForecast", "forecast", "learning_curve"]

BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 0


def _stratified_subset(labels: Sequence[Any], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a random subset with about ``fraction`` of each class, at least one row per class."""
    by_class: dict[Any, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    chosen: list[np.ndarray] = []
    for label in sorted(by_class, key=str):  # a fixed order, so the same seed picks the same rows
        rows = np.asarray(by_class[label])
        k = min(len(rows), max(1, round(fraction * len(rows))))
        chosen.append(rng.choice(rows, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def learning_curve(
    path: str,
    texts: Sequence[str],
    labels: Sequence[Any],
    test_texts: Sequence[str],
    test_labels: Sequence[Any],
    *,
    fractions: Sequence[float] = (0.1, 0.2, 0.4),
    seeds: Sequence[int] = (0, 1, 2),
    params: Mapping[str, Any] | None = None,
) -> list[LearningPoint]:
    """Train ``path`` on stratified random subsets of the training rows and measure test accuracy.

    Parameters
    ----------
    path:
        A registered model path (see :func:`tailorml.paths.available_paths`).
    texts, labels:
        The labeled training rows.
    test_texts, test_labels:
        Held-out rows every run is measured on.
    fractions:
        Shares of the training rows to train on, each in (0, 1]. Each class keeps about this
        share of its rows and at least one, so ``n_train`` can be slightly above ``fraction × len(texts)``.
    seeds:
        One random subset (and one run) per seed and fraction.
    params:
        Constructor parameters of the path, e.g. ``{"cache_dir": ...}`` for ``embedding-linear``.

    Returns
    -------
    list[LearningPoint]
        One point per (fraction, seed) run, fractions in the order given: ``n_train`` is the rows used.

    Raises
    ------
    ValueError
        When a fraction is outside (0, 1] or the training and label lengths differ.
    """
    from tailorml.paths import create_path

    if len(texts) != len(labels):
        raise ValueError(f"texts and labels must have the same length; got {len(texts)} and {len(labels)}")
    bad = [f for f in fractions if not 0 < f <= 1]
    if bad:
        raise ValueError(f"fractions must be in (0, 1]; got {bad}. Did you mean {[f / 100 for f in bad]}?")
    text_arr = np.asarray(texts, dtype=object)
    label_arr = np.asarray(labels, dtype=object)
    truth = np.asarray(test_labels, dtype=object)
    points = []
    for fraction in fractions:
        for seed in seeds:
            rows = _stratified_subset(labels, fraction, np.random.default_rng(seed))
            model = create_path(path, **dict(params or {}))
            model.fit(text_arr[rows].tolist(), label_arr[rows].tolist())
            predicted = np.asarray(model.predict(list(test_texts)), dtype=object)
            points.append(
                LearningPoint(fraction=fraction, n_train=len(rows), accuracy=float(np.mean(predicted == truth)))
            )
    return points


class LabelForecast(BaseModel):
    """What a learning curve says about accuracy at a training-set size, and the labels a target needs."""

    kind: Literal["power", "log"] = Field(
        description="power: acc(n) = a - b * (n / scale) ** -c; log: acc(n) = a + b * log(n / scale)"
    )
    a: float = Field(description="fitted parameter a (the asymptote of the power law)")
    b: float = Field(description="fitted parameter b")
    c: float = Field(description="fitted exponent c (0 for the log fit)")
    scale: float = Field(description="training rows the fit's n is divided by (the largest measured)")
    n_points: int = Field(description="learning-curve runs the fit used")
    n_target: int = Field(description="training rows the accuracy is forecast for")
    predicted_accuracy: float = Field(description="fitted accuracy at n_target")
    low: float = Field(description="2.5th percentile of the bootstrap forecasts at n_target")
    high: float = Field(description="97.5th percentile of the bootstrap forecasts at n_target")
    asymptote: float = Field(description="accuracy the curve approaches with unlimited labels (1.0 for the log fit)")
    accuracy_target: float | None = Field(None, description="the accuracy labels_needed is computed for")
    labels_needed: int | None = Field(
        None, description="training rows the curve needs to reach accuracy_target; None when not reachable"
    )
    reachable: bool | None = Field(
        None,
        description="whether accuracy_target is reachable by adding labels: False when the asymptote is at or "
        f"below it or it needs over {MAX_EXTRAPOLATION}x the largest measured training set; None without a target",
    )
    source: str = Field(description="where the numbers come from: runs, path, data size and date")

    def curve(self) -> LearningCurveFit:
        """The fitted curve as a :class:`~tailorml.selection.LearningCurveFit`."""
        return LearningCurveFit(self.kind, self.a, self.b, self.c, self.scale, int(self.scale))


def _resample(points: Sequence[LearningPoint], rng: np.random.Generator) -> list[LearningPoint]:
    """``len(points)`` points drawn with replacement from all of them.

    A resample that loses a training-set size is refit as well (with two sizes that is the
    log-linear line): the interval then carries some of the doubt about the curve's shape, not
    only seed noise. Resampling within each size instead missed BANKING77 tfidf-linear's
    measurement in ``bench/plan.py``; resampling all points covered all four.
    """
    return [points[i] for i in rng.integers(0, len(points), size=len(points))]


def _source(points: Sequence[LearningPoint], path: str | None, n_labeled: int | None, on: datetime.date) -> str:
    fractions = sorted({p.fraction for p in points})
    share = f"{fractions[0]:.0%}" if len(fractions) == 1 else f"{fractions[0]:.0%}–{fractions[-1]:.0%}"
    if n_labeled is None and fractions[-1] > 0:
        n_labeled = round(max(p.n_train for p in points if p.fraction == fractions[-1]) / fractions[-1])
    of = f" of {n_labeled:,} labeled rows" if n_labeled else ""
    by = f" of {path}" if path else ""
    return f"fitted on {len(points)} runs{by} on {share}{of}, measured here on {on.isoformat()}"


def forecast(
    points: Sequence[LearningPoint],
    *,
    n_target: int,
    accuracy_target: float | None = None,
    path: str | None = None,
    n_labeled: int | None = None,
    measured_on: datetime.date | None = None,
) -> LabelForecast:
    """Forecast accuracy at ``n_target`` training rows, and the labels ``accuracy_target`` needs.

    Parameters
    ----------
    points:
        Learning-curve runs, e.g. from :func:`learning_curve`; at least two distinct
        training-set sizes (three for the power law).
    n_target:
        Training rows to forecast accuracy for (e.g. all the labeled rows).
    accuracy_target:
        An accuracy in [0, 1] to compute ``labels_needed`` for.
    path, n_labeled, measured_on:
        For the ``source`` sentence: the model path measured, the labeled rows the fractions
        are of (default: inferred from the points), and the date (default: today).

    Returns
    -------
    LabelForecast
        The fitted curve, the forecast at ``n_target`` with a 95% interval (2.5th and 97.5th
        percentiles of 200 refits on points resampled with replacement, with a fixed seed, so the
        same points give the same interval), the asymptote, ``labels_needed`` and ``reachable``.

    Raises
    ------
    ValueError
        With fewer than two distinct training-set sizes, a non-positive ``n_target`` or an
        ``accuracy_target`` outside [0, 1].
    """
    if n_target <= 0:
        raise ValueError(f"n_target must be a positive number of training rows; got {n_target}")
    if accuracy_target is not None and not 0 <= accuracy_target <= 1:
        hint = f" Did you mean {accuracy_target / 100}?" if 1 < accuracy_target <= 100 else ""
        raise ValueError(f"accuracy_target must be in [0, 1]; got {accuracy_target}.{hint}")
    fit = fit_learning_curve(points)
    if fit is None:
        sizes = sorted({p.n_train for p in points})
        raise ValueError(f"a learning curve needs at least two distinct training-set sizes; got {sizes}")

    rng = np.random.default_rng(BOOTSTRAP_SEED)
    refits: dict[tuple[tuple[int, float], ...], float | None] = {}  # identical resamples refit once
    draws = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        sample = _resample(points, rng)
        key = tuple(sorted((p.n_train, p.accuracy) for p in sample))
        if key not in refits:
            refit = fit_learning_curve(sample)
            refits[key] = None if refit is None else refit.accuracy_at(n_target)
        if (value := refits[key]) is not None:
            draws.append(value)
    low, high = (float(v) for v in np.percentile(draws, [2.5, 97.5]))

    labels_needed, reachable = None, None
    if accuracy_target is not None:
        rows = fit.rows_for(accuracy_target)
        reachable = rows is not None and rows <= MAX_EXTRAPOLATION * fit.largest_n
        labels_needed = math.ceil(rows) if reachable and rows is not None else None

    return LabelForecast(
        kind=fit.kind,
        a=fit.a,
        b=fit.b,
        c=fit.c,
        scale=fit.scale,
        n_points=len(points),
        n_target=n_target,
        predicted_accuracy=fit.accuracy_at(n_target),
        low=min(low, fit.accuracy_at(n_target)),
        high=max(high, fit.accuracy_at(n_target)),
        asymptote=fit.asymptote,
        accuracy_target=accuracy_target,
        labels_needed=labels_needed,
        reachable=reachable,
        source=_source(points, path, n_labeled, measured_on or datetime.date.today()),
    )
