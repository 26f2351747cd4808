"""How a prediction is answered and logged: one code path for the server and for simulations."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from tailorml.serving.holder import LoadedModel

__all__ = ["Alternative", "ModelRef", "PredictResponse", "Prediction", "log_row", "make_prediction"]


class Alternative(BaseModel):
    label: str
    confidence: float


class Prediction(BaseModel):
    request_id: str
    label: str
    confidence: float = Field(description="probability of the label")
    top_k: list[Alternative]
    abstained: bool = Field(description="True when confidence is below the threshold: a person should decide")


class ModelRef(BaseModel):
    name: str
    version: int


class PredictResponse(BaseModel):
    model: ModelRef
    predictions: list[Prediction]


def make_prediction(model: LoadedModel, proba: np.ndarray, k: int) -> Prediction:
    """The answer for one input: top-k labels, confidence, and whether it abstains."""
    order = np.argsort(-proba, kind="stable")[:k]
    top = [Alternative(label=str(model.classes[i]), confidence=round(float(proba[i]), 6)) for i in order]
    confidence = float(proba[order[0]])
    return Prediction(
        request_id=request_id(),
        label=top[0].label,
        confidence=round(confidence, 6),
        top_k=top,
        abstained=confidence < model.abstain.threshold,
    )


def request_id() -> str:
    """Time-ordered, unique ids: nanoseconds then randomness (cheaper to index than uuid4)."""
    return f"{time.time_ns():016x}{secrets.token_hex(6)}"


def log_row(
    prediction: Prediction,
    text: str,
    model: LoadedModel,
    latency_ms: float,
    now: dt.datetime,
    api_key_id: str | None,
) -> dict[str, Any]:
    """The request-log row of one answered input."""
    return {
        "id": prediction.request_id,
        "created_at": now,
        "model_name": model.name,
        "model_version": model.version,
        "input_text": text,
        "label": prediction.label,
        "confidence": prediction.confidence,
        "topk": json.dumps([[a.label, a.confidence] for a in prediction.top_k]),
        "abstained": prediction.abstained,
        "latency_ms": latency_ms,
        "api_key_id": api_key_id,
    }
