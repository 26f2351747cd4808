"""Calibrating predicted probabilities on validation data: temperature scaling and isotonic.

Both calibrators are fitted on the validation side (never on test) and keep the predicted
label of every row unchanged, so accuracy does not move; only the confidence does.

- **temperature** divides the log-probabilities by one number ``T`` fitted by minimizing the
  negative log-likelihood (Guo et al. 2017). With logits ``z`` (or log-probabilities, which
  differ from logits by a per-row constant that softmax ignores), ``p = softmax(z / T)``.
- **isotonic** is *top-label* isotonic regression: a monotone map from the top probability
  to the observed accuracy at that confidence. The top class gets the mapped value (never
  less than what keeps it on top) and the other classes share the rest in their old
  proportions. One-vs-rest isotonic was not used: with 77-150 classes and ~10 validation
  rows per class, each per-class curve would be fitted on a handful of positives.

``method="auto"`` picks, by 5-fold cross-validation on the validation rows, whichever of
none / temperature / isotonic gives the lowest held-out expected calibration error (ECE).
Isotonic is a candidate only with at least :data:`ISOTONIC_MIN_ROWS` validation rows: on
fewer, its step function overfits (Niculescu-Mizil & Caruana 2005 saw it lose to Platt
scaling below about a thousand calibration rows), and it maps the most confident rows to
exactly 1.0, which leaves no room for an abstention threshold.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> logits = rng.normal(size=(2000, 4)) * 3
>>> truth = np.array([rng.choice(4, p=p) for p in softmax(logits)])
>>> scaled = TemperatureScaling().fit(np.log(softmax(logits * 2.0)), truth)
>>> 1.8 < scaled.temperature < 2.2
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "CALIBRATION_METHODS",
    "Calibrator",
    "IsotonicCalibration",
    "TemperatureScaling",
    "choose_calibrator",
    "fit_calibrator",
    "softmax",
]

Method = Literal["none", "temperature", "isotonic"]
CALIBRATION_METHODS: tuple[str, ...] = ("auto", "temperature", "isotonic", "none")
ISOTONIC_MIN_ROWS = 1000  # auto considers isotonic only with this many validation rows
MIN_ERRORS = 5  # auto leaves a model uncalibrated when it gets all but this few validation rows right
_EPS = 1e-12


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _log(proba: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0))


class Calibrator:
    """Maps uncalibrated probabilities to calibrated ones; the identity as a base class."""

    method: Method = "none"

    def fit(self, log_proba: np.ndarray, truth: np.ndarray) -> Calibrator:
        return self

    def transform(self, log_proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from log-probabilities (or logits)."""
        return softmax(log_proba)

    def state(self) -> dict[str, Any]:
        """A JSON form of the fitted calibrator (see :func:`calibrator_from_state`)."""
        return {"method": self.method}


@dataclass
class TemperatureScaling(Calibrator):
    """``softmax(z / T)`` with ``T`` minimizing the validation negative log-likelihood."""

    temperature: float = 1.0
    method: Method = field(default="temperature", init=False)

    def fit(self, log_proba: np.ndarray, truth: np.ndarray) -> TemperatureScaling:
        """Fit ``T`` on validation log-probabilities ``(n, k)`` and true column indices ``(n,)``."""
        from scipy.optimize import minimize_scalar

        z = np.asarray(log_proba, dtype=np.float64)
        z = z - z.max(axis=1, keepdims=True)
        rows = np.arange(len(z))
        truth = np.asarray(truth, dtype=np.int64)

        def nll(log_t: float) -> float:
            scaled = z / np.exp(log_t)
            norm = np.log(np.exp(scaled - scaled.max(axis=1, keepdims=True)).sum(axis=1)) + scaled.max(axis=1)
            return float(np.mean(norm - scaled[rows, truth]))

        if len(z) == 0:
            return self
        found = minimize_scalar(nll, bounds=(np.log(0.02), np.log(50.0)), method="bounded", options={"xatol": 1e-4})
        self.temperature = float(np.exp(found.x))
        return self

    def transform(self, log_proba: np.ndarray) -> np.ndarray:
        return softmax(np.asarray(log_proba, dtype=np.float64) / self.temperature)

    def state(self) -> dict[str, Any]:
        return {"method": self.method, "temperature": self.temperature}


@dataclass
class IsotonicCalibration(Calibrator):
    """Top-label isotonic regression: ``confidence -> accuracy``, monotone non-decreasing.

    Stored as the breakpoints of the fitted step function (``x`` ascending, ``y``
    non-decreasing), evaluated by linear interpolation.
    """

    x: list[float] = field(default_factory=lambda: [0.0, 1.0])
    y: list[float] = field(default_factory=lambda: [0.0, 1.0])
    method: Method = field(default="isotonic", init=False)

    def fit(self, log_proba: np.ndarray, truth: np.ndarray) -> IsotonicCalibration:
        from sklearn.isotonic import IsotonicRegression

        proba = softmax(log_proba)
        if len(proba) == 0:
            return self
        confidence = proba.max(axis=1)
        correct = (proba.argmax(axis=1) == np.asarray(truth)).astype(np.float64)
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(np.r_[confidence, 0.0, 1.0], np.r_[correct, 0.0, 1.0])  # anchor the ends
        self.x = [float(v) for v in iso.X_thresholds_]
        self.y = [float(v) for v in iso.y_thresholds_]
        return self

    def transform(self, log_proba: np.ndarray) -> np.ndarray:
        proba = softmax(log_proba)
        if proba.shape[1] < 2 or len(proba) == 0:
            return proba
        top = proba.argmax(axis=1)
        rows = np.arange(len(proba))
        confidence = proba[rows, top]
        second = np.partition(proba, -2, axis=1)[:, -2]
        mapped = np.interp(confidence, self.x, self.y)
        # Keep the predicted label on top: the top class gets at least what ties the runner-up
        # after the others are rescaled to share the rest.
        floor = second / np.maximum(1.0 - confidence + second, _EPS)
        mapped = np.clip(np.maximum(mapped, floor + 1e-9), 0.0, 1.0)
        rest = np.maximum(1.0 - confidence, _EPS)
        out = proba * ((1.0 - mapped) / rest)[:, None]
        out[rows, top] = mapped
        out /= out.sum(axis=1, keepdims=True)
        return out

    def state(self) -> dict[str, Any]:
        return {"method": self.method, "x": self.x, "y": self.y}


def calibrator_from_state(state: dict[str, Any]) -> Calibrator:
    """Rebuild a calibrator from :meth:`Calibrator.state`; ``ValueError`` for an unknown method."""
    method = state.get("method")
    if method == "temperature":
        return TemperatureScaling(temperature=float(state["temperature"]))
    if method == "isotonic":
        return IsotonicCalibration(x=[float(v) for v in state["x"]], y=[float(v) for v in state["y"]])
    if method == "none":
        return Calibrator()
    raise ValueError(f"unknown calibration method {method!r}")


def fit_calibrator(method: str, log_proba: np.ndarray, truth: np.ndarray) -> Calibrator:
    """Fit one calibrator of ``method`` (``none``, ``temperature`` or ``isotonic``)."""
    makers: dict[str, type[Calibrator]] = {
        "none": Calibrator,
        "temperature": TemperatureScaling,
        "isotonic": IsotonicCalibration,
    }
    if method not in makers:
        raise ValueError(f"calibration method must be one of {', '.join(makers)}; got {method!r}")
    return makers[method]().fit(log_proba, truth)


def choose_calibrator(
    log_proba: np.ndarray, truth: np.ndarray, *, folds: int = 5, seed: int = 0
) -> tuple[Calibrator, dict[str, float]]:
    """Pick none / temperature / isotonic by held-out ECE over ``folds`` splits of the validation rows.

    Returns the chosen calibrator refitted on all rows, and each method's cross-validated ECE.
    With fewer than 20 rows there is too little to compare on: temperature scaling (one
    parameter) is used. Isotonic competes only from :data:`ISOTONIC_MIN_ROWS` rows. With fewer
    than :data:`MIN_ERRORS` wrong predictions among the validation rows the model is left
    uncalibrated (``none``): there is no evidence of how its confidence relates to its errors.
    """
    from tailorml.metrics.quality import expected_calibration_error

    log_proba = np.asarray(log_proba, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.int64)
    n = len(truth)
    errors_seen = int(np.sum(log_proba.argmax(axis=1) != truth))
    if errors_seen < MIN_ERRORS:
        # Nearly no mistakes: nothing shows how confidence relates to error, and fitting would
        # only sharpen every confidence towards 1.0 (no room left for an abstention threshold).
        return fit_calibrator("none", log_proba, truth), {}
    if n < 20:
        return fit_calibrator("temperature", log_proba, truth), {}
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, min(folds, n // 4))
    scores: dict[str, float] = {}
    methods = ("none", "temperature", "isotonic") if n >= ISOTONIC_MIN_ROWS else ("none", "temperature")
    for method in methods:
        errors = []
        for held in parts:
            fit_rows = np.setdiff1d(order, held)
            calibrated = fit_calibrator(method, log_proba[fit_rows], truth[fit_rows]).transform(log_proba[held])
            correct = calibrated.argmax(axis=1) == truth[held]
            errors.append(expected_calibration_error(correct, calibrated.max(axis=1)) * len(held))
        scores[method] = float(sum(errors) / n)
    best = min(scores, key=lambda m: (scores[m], m != "temperature"))
    return fit_calibrator(best, log_proba, truth), scores
