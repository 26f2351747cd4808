"""The labeling pilot's measured figures, read defensively for the planner.

``tailor label report`` writes ``.tailor/labeling/pilot.json``. The planner takes seconds per
item, annotators per item, the hourly rate and agreement from it when they are there, and
the dated defaults otherwise; a missing, unreadable or partial file is never an error, only
a note in the plan saying which figures fell back to defaults.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LOW_AGREEMENT", "PilotFigures", "read_pilot"]

LOW_AGREEMENT = 0.667  # Krippendorff's alpha below which conclusions are tentative at best


class PilotFigures(BaseModel):
    """What the pilot measured; any figure may be missing."""

    model_config = ConfigDict(validate_assignment=False)

    path: str
    source: str = Field("", description="where these figures come from")
    as_of: str | None = None
    items_labeled: int | None = None
    annotators: int | None = None
    annotators_per_item: float | None = None
    seconds_per_item_median: float | None = None
    seconds_per_item_p90: float | None = None
    hourly_rate: float | None = None
    krippendorff_alpha: float | None = None
    notes: list[str] = Field(default_factory=list, description="what could not be read, and what was used instead")

    def describe(self) -> str:
        """``the labeling pilot of 2026-11-30 (120 items)`` for source sentences."""
        when = f" of {self.as_of[:10]}" if self.as_of else ""
        items = f" ({self.items_labeled:,} items)" if self.items_labeled else ""
        return f"the labeling pilot{when}{items}, {self.path}"

    @property
    def low_agreement(self) -> bool:
        return self.krippendorff_alpha is not None and self.krippendorff_alpha < LOW_AGREEMENT


def _positive(raw: dict[str, Any], key: str, notes: list[str]) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        notes.append(f"{key} is {value!r}, not a positive number; the default is used")
        return None
    return float(value)


def read_pilot(path: Path) -> PilotFigures | None:
    """The pilot's figures from ``path``; None when there is no file.

    Parameters
    ----------
    path:
        ``<project>/.tailor/labeling/pilot.json``.

    Returns
    -------
    PilotFigures | None
        None when the file does not exist. An unreadable file or a missing or malformed
        figure gives a result whose ``notes`` say so; the planner then uses the default.
    """
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return PilotFigures(path=str(path), notes=[f"cannot read {path} ({exc}); defaults are used"])
    if not isinstance(raw, dict):
        return PilotFigures(path=str(path), notes=[f"{path} is not a JSON object; defaults are used"])
    notes: list[str] = []
    agreement = raw.get("agreement") if isinstance(raw.get("agreement"), dict) else {}
    alpha = agreement.get("krippendorff_alpha") if agreement else None
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, int | float) or not -1 <= alpha <= 1):
        notes.append(f"agreement.krippendorff_alpha is {alpha!r}, not in [-1, 1]; agreement is unknown")
        alpha = None
    items = _positive(raw, "items_labeled", notes)
    annotators = _positive(raw, "annotators", notes)
    figures = PilotFigures(
        path=str(path),
        as_of=str(raw["as_of"]) if raw.get("as_of") else None,
        items_labeled=int(items) if items else None,
        annotators=int(annotators) if annotators else None,
        annotators_per_item=_positive(raw, "annotators_per_item", notes),
        seconds_per_item_median=_positive(raw, "seconds_per_item_median", notes),
        seconds_per_item_p90=_positive(raw, "seconds_per_item_p90", notes),
        hourly_rate=_positive(raw, "hourly_rate", notes),
        krippendorff_alpha=None if alpha is None else float(alpha),
        notes=notes,
    )
    figures.source = f"measured in {figures.describe()}"
    for key, value in (
        ("seconds_per_item_median", figures.seconds_per_item_median),
        ("annotators_per_item", figures.annotators_per_item),
    ):
        if value is None and not any(n.startswith(key) for n in notes):
            figures.notes.append(f"the pilot file has no {key}; the default is used")
    return figures
