"""What labeling costs: measured seconds per item, cost per item, and projections for N more items.

Seconds are measured by the server (see :mod:`tailorml.labeling.store`); skipped items are
left out. The pilot's figures go to ``.tailor/labeling/pilot.json``, which ``tailor plan``
reads in place of its defaults.

Example
-------
>>> project(1000, seconds_per_item=6.0, annotators_per_item=2, hourly_rate=30.0, annotators=4).cost
100.0
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from tailorml._jsonfile import write_model_json
from tailorml.labeling.store import Annotation

__all__ = ["PILOT_FILE", "PilotFigures", "Projection", "TimeStats", "project", "time_stats", "write_pilot_figures"]

PILOT_FILE = "pilot.json"
HOURS_PER_DAY = 6.0  # focused labeling hours per annotator per working day


class TimeStats(BaseModel):
    """Seconds per item, over the annotations that were timed."""

    timed: int
    median: float | None
    p90: float | None
    mean: float | None
    per_annotator: dict[str, float] = Field(description="median seconds per item of each annotator")


class Projection(BaseModel):
    """Cost and time to label more items at the measured pace."""

    items: int
    annotators_per_item: float
    seconds_per_item: float
    annotator_hours: float
    hourly_rate: float | None
    cost: float | None
    cost_per_item: float | None
    annotators: int
    working_days: float = Field(description=f"calendar working days at {HOURS_PER_DAY:g} labeling hours a day")


class PilotFigures(BaseModel):
    """The pilot's measured figures, as ``tailor plan`` reads them from ``pilot.json``."""

    as_of: str
    task: str
    items_labeled: int
    annotations: int
    annotators: int
    annotators_per_item: float
    seconds_per_item_median: float | None
    seconds_per_item_p90: float | None
    agreement: dict[str, float | None]
    hourly_rate: float | None


def time_stats(annotations: Sequence[Annotation]) -> TimeStats:
    """Median, 90th percentile and mean seconds per item, overall and per annotator."""
    timed = [a for a in annotations if a.seconds is not None and not a.skipped]
    if not timed:
        return TimeStats(timed=0, median=None, p90=None, mean=None, per_annotator={})
    seconds = np.array([a.seconds for a in timed], dtype=float)
    by_user: dict[str, list[float]] = defaultdict(list)
    for a in timed:
        by_user[a.user].append(float(a.seconds or 0.0))
    return TimeStats(
        timed=len(timed),
        median=round(float(np.median(seconds)), 2),
        p90=round(float(np.percentile(seconds, 90)), 2),
        mean=round(float(seconds.mean()), 2),
        per_annotator={u: round(float(np.median(v)), 2) for u, v in sorted(by_user.items())},
    )


def project(
    items: int,
    *,
    seconds_per_item: float,
    annotators_per_item: float,
    hourly_rate: float | None,
    annotators: int = 1,
) -> Projection:
    """Annotator-hours, cost and working days to label ``items`` more items at this pace."""
    hours = items * annotators_per_item * seconds_per_item / 3600
    cost = None if hourly_rate is None else round(hours * hourly_rate, 2)
    return Projection(
        items=items,
        annotators_per_item=annotators_per_item,
        seconds_per_item=seconds_per_item,
        annotator_hours=round(hours, 2),
        hourly_rate=hourly_rate,
        cost=cost,
        cost_per_item=None if cost is None or items == 0 else round(cost / items, 4),
        annotators=max(1, annotators),
        working_days=round(hours / (max(1, annotators) * HOURS_PER_DAY), 2),
    )


def write_pilot_figures(folder: Path, figures: PilotFigures) -> Path:
    """Write ``pilot.json`` atomically (the planner's input)."""
    return write_model_json(figures, Path(folder) / PILOT_FILE)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
