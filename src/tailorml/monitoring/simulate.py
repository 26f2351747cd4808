"""Simulated production traffic: for the drift demo, tests and drills.

:func:`log_traffic` answers texts with the champion exactly as the server does
(:mod:`tailorml.serving.answers`) and writes the rows to the request log, with timestamps
spread over a chosen period. :func:`shifted_texts` makes traffic that has drifted: an intent
the model never saw, and customers phrasing familiar requests in a new way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from tailorml.serving.answers import log_row, make_prediction
from tailorml.serving.holder import LoadedModel
from tailorml.serving.requestlog import RequestLog

__all__ = ["NEW_INTENT", "log_traffic", "shifted_texts"]

NEW_INTENT = "loyalty_points"
_NEW_INTENT_TEMPLATES = (
    "how many loyalty points do I have",
    "can I use my reward points on this order",
    "my points from last month are missing",
    "when do my loyalty points expire",
    "how do I redeem {n} points",
    "why did I only get {n} points for my purchase",
    "transfer my reward points to my partner's account",
    "do points count on sale items",
    "I want to join the rewards program",
    "is there a gold tier for members with {n} points",
)
_NEW_PHRASING = (
    "yo {text} lol",
    "{text} ?? fr",
    "ok so like {text}, ya know",
    "{text} — sent from my phone",
)


def shifted_texts(
    base: Sequence[str], base_labels: Sequence[str], n: int, *, seed: int, new_intent_share: float = 0.4
) -> tuple[list[str], list[str]]:
    """Drifted traffic: ``new_intent_share`` of rows ask about loyalty points (a new intent), the
    rest are ``base`` texts in a new register. Returns the texts and their true labels."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels: list[str] = []
    for _ in range(n):
        if rng.random() < new_intent_share:
            template = _NEW_INTENT_TEMPLATES[rng.integers(len(_NEW_INTENT_TEMPLATES))]
            texts.append(template.format(n=int(rng.integers(50, 5000))))
            labels.append(NEW_INTENT)
        else:
            frame = _NEW_PHRASING[rng.integers(len(_NEW_PHRASING))]
            pick = int(rng.integers(len(base)))
            texts.append(frame.format(text=base[pick].lower()))
            labels.append(base_labels[pick])
    return texts, labels


def log_traffic(
    log: RequestLog,
    model: LoadedModel,
    texts: Sequence[str],
    *,
    start: dt.datetime,
    seconds_between: float = 1.0,
    top_k: int = 3,
    batch: int = 500,
) -> list[str]:
    """Answer ``texts`` with ``model`` as the server would and log them; return the request ids."""
    ids: list[str] = []
    for offset in range(0, len(texts), batch):
        chunk = list(texts[offset : offset + batch])
        proba = model.predict_proba(chunk)
        rows = []
        for i, (text, row) in enumerate(zip(chunk, proba, strict=True)):
            prediction = make_prediction(model, row, min(top_k, len(model.classes)))
            when = start + dt.timedelta(seconds=(offset + i) * seconds_between)
            rows.append(log_row(prediction, text, model, latency_ms=1.0, now=when, api_key_id="simulation"))
            ids.append(prediction.request_id)
        log.record(rows)
    return ids
