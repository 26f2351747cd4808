"""Result objects of ``tailor monitor``: one JSON form shared by CLI, report and storage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tailorml.results import Estimate

__all__ = ["MonitorReport", "Signal", "Window"]

Status = Literal["ok", "warn", "alert", "no_data"]


class Signal(BaseModel):
    """One drift or decay measurement of one window, judged against its thresholds."""

    name: str = Field(description="e.g. class_mix_psi, confidence_psi, embedding_auc, abstention_rate")
    value: float | None = Field(None, description="None when the window has too little data")
    reference: float | None = Field(None, description="the same statistic on the reference data, when it has one")
    warn: float | None = None
    alert: float | None = None
    higher_is_worse: bool = True
    status: Status = "ok"
    detail: str = Field("", description="one line a person can act on")


class Window(BaseModel):
    """A slice of logged traffic (by count or by time) and what it showed."""

    index: int
    start: dt.datetime
    end: dt.datetime
    n: int = Field(description="requests in the window")
    signals: list[Signal]
    status: Literal["ok", "warn", "alert"]
    reasons: list[str] = Field(default_factory=list, description="why the window warned or alerted")
    examples: list[str] = Field(default_factory=list, description="a few inputs from the window")
    live_accuracy: Estimate | None = Field(None, description="accuracy on reviewed requests of the window")
    reviewed: int = 0


class MonitorReport(BaseModel):
    """Every window of one ``tailor monitor`` run."""

    project: str
    model_name: str
    model_version: int
    reference: dict[str, object] = Field(description="data version, rows, and where reference statistics came from")
    window_by: Literal["count", "time"]
    window_size: str = Field(description="e.g. '1,000 requests' or '1 h'")
    thresholds: dict[str, dict[str, float]] = Field(description="signal -> {warn, alert}")
    windows: list[Window]
    created_at: dt.datetime
    seconds: float = Field(description="time taken to compute every signal")

    @property
    def status(self) -> str:
        order = {"ok": 0, "warn": 1, "alert": 2}
        return max((w.status for w in self.windows), key=lambda s: order[s], default="ok")

    def save(self, path: str | Path) -> Path:
        from tailorml._jsonfile import write_model_json

        return write_model_json(self, path)

    @classmethod
    def load(cls, path: str | Path) -> MonitorReport:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
