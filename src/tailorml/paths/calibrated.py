"""``calibrated``: any model path with calibrated probabilities and out-of-scope detection.

The wrapper fits its ``base`` path on the training rows, then fits on held-out validation
rows (never the training rows): a calibrator (:mod:`tailorml.calibration`) and, when the
task has an out-of-scope label, a detector (:mod:`tailorml.oos`). ``tailor train`` wraps
every candidate this way with the validation side of the split; fitted on its own
(``fit(X, y)``, as in cross-validation), it holds out ``validation_fraction`` of ``X``.

Its ``predict_proba`` is what the evaluation measures and the server answers with:

- calibrated probabilities;
- with out-of-scope detection, the out-of-scope column holds ``P(out of scope | score)``
  (isotonic on validation) and the in-scope classes share the rest in their calibrated
  proportions. An input whose score reaches the threshold has out-of-scope on top (its
  probability raised to just above one half when the curve says less); any other input keeps
  an in-scope label on top. So the arg-max *is* the thresholded decision.

Saved as ``path.json``, ``calibration.json``, optional ``centroids.npy`` and the base
model in ``base/`` (saved by its own path): no pickle.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

import numpy as np

from tailorml.errors import SpecError
from tailorml.paths import _artifact, register_path
from tailorml.paths._base import TextClassifier, as_labels, as_texts, known_rows

__all__ = ["Calibrated", "split_validation"]

_EPS = 1e-6


def split_validation(texts: list[str], labels: np.ndarray, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices (fit, held out): stratified when every class has two rows, else random."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(texts))
    n_held = round(len(texts) * fraction)
    if n_held < 2 or len(texts) - n_held < 2:
        return rows.tolist(), []
    counts = np.unique(labels, return_counts=True)[1]
    stratify = labels if counts.min() >= 2 and n_held >= len(counts) else None
    fit_rows, held_rows = train_test_split(rows, test_size=n_held, random_state=seed, stratify=stratify)
    if len(np.unique(labels[fit_rows])) < 2:
        return rows.tolist(), []
    return sorted(fit_rows.tolist()), sorted(held_rows.tolist())


@register_path(
    "calibrated",
    description="any path with probabilities calibrated and out-of-scope detected on validation data",
    neural=False,
    seconds_per_1k_train_rows=1.5,
)
class Calibrated(TextClassifier):
    """A base model path whose probabilities are calibrated on validation rows.

    Parameters
    ----------
    base:
        The registered path to wrap (``tfidf-linear``, ``embedding-linear``, ``ensemble``, ...).
    base_params:
        Constructor parameters of the base path.
    method:
        ``auto`` (chosen by cross-validated ECE on the validation rows), ``temperature``,
        ``isotonic`` or ``none``.
    out_of_scope:
        The out-of-scope label; ``None`` for no detection.
    oos_score:
        ``auto`` (best validation AUROC), ``max_prob``, ``energy`` or ``centroid``.
    oos_recall:
        Out-of-scope recall the threshold must reach on validation; ``None``: best accuracy.
    oos_min_in_scope_accuracy:
        When given, the threshold instead catches as much out-of-scope as it can while keeping
        validation in-scope accuracy at or above this floor (``oos_recall`` decides when no
        threshold keeps it; see :func:`tailorml.oos.choose_oos_threshold`).
    oos_confidence:
        Reach the recall, or keep the floor, at this confidence (a lower bound of the
        validation proportion); ``None``: the point estimate.
    oos_expected_rate:
        The share of production inputs expected to be out of scope: the output probability of
        out-of-scope is moved to it from validation's share (:func:`tailorml.oos.shift_prior`).
    validation_fraction:
        Share of ``X`` held out for calibration when ``fit`` gets no validation rows.
    seed:
        Seed of that split.
    """

    composite = True  # built by tailor train, not a candidate of its own
    base_: Any
    calibrator_: Any
    oos_rule_: Any  # OutOfScopeRule or None
    centroids_: np.ndarray | None
    summary_: dict[str, Any]

    def __init__(
        self,
        *,
        base: str = "tfidf-linear",
        base_params: dict[str, Any] | None = None,
        method: str = "auto",
        out_of_scope: str | None = None,
        oos_score: str = "auto",
        oos_recall: float | None = None,
        oos_min_in_scope_accuracy: float | None = None,
        oos_confidence: float | None = None,
        oos_expected_rate: float | None = None,
        validation_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        self.base = base
        self.base_params = base_params
        self.method = method
        self.out_of_scope = out_of_scope
        self.oos_score = oos_score
        self.oos_recall = oos_recall
        self.oos_min_in_scope_accuracy = oos_min_in_scope_accuracy
        self.oos_confidence = oos_confidence
        self.oos_expected_rate = oos_expected_rate
        self.validation_fraction = validation_fraction
        self.seed = seed

    # ------------------------------------------------------------------ fitting

    def fit(self, X: Iterable[str], y: Iterable[Any], *, validation: tuple[Any, Any] | None = None) -> Self:
        """Fit the base on ``X`` and calibrate on ``validation`` (or on a held-out share of ``X``)."""
        from tailorml.paths import create_path

        texts = as_texts(X)
        labels = as_labels(y, len(texts))
        self._check_settings()
        if validation is None:
            fit_rows, held_rows = split_validation(texts, labels, self.validation_fraction, self.seed)
            val_texts, val_labels = [texts[i] for i in held_rows], labels[held_rows]
            texts, labels = [texts[i] for i in fit_rows], labels[fit_rows]
        else:
            val_texts, val_labels = as_texts(validation[0]), as_labels(validation[1], None, min_classes=0)
        base = create_path(self.base, **(self.base_params or {}))
        if validation is not None and _takes_validation(base):
            base.fit(texts, labels, validation=(val_texts, val_labels))
        else:
            base.fit(texts, labels)
        return self.calibrate(base, val_texts, val_labels, train_texts=texts, train_labels=labels)

    def calibrate(
        self,
        base: Any,
        val_texts: list[str],
        val_labels: Any,
        *,
        train_texts: list[str] | None = None,
        train_labels: Any = None,
    ) -> Self:
        """Wrap an already fitted ``base`` and fit calibration and detection on the validation rows.

        ``train_texts`` / ``train_labels`` are needed only for the ``centroid`` score.
        """
        from tailorml.calibration import Calibrator, choose_calibrator, fit_calibrator
        from tailorml.metrics.quality import expected_calibration_error

        self._check_settings()
        classes = np.asarray(base.classes_, dtype=object)
        val_texts, truth = known_rows(val_texts, val_labels, classes)
        self.base_ = base
        self.classes_ = classes
        self.centroids_ = None
        self.oos_rule_ = None
        summary: dict[str, Any] = {"validation_rows": len(truth)}
        if len(truth) == 0:
            self.calibrator_ = Calibrator()
            summary["method"] = "none"
            self.summary_ = summary
            return self
        log_proba = self._log_scores(val_texts)
        if self.method == "auto":
            calibrator, cv_ece = choose_calibrator(log_proba, truth, seed=self.seed)
            summary["cv_ece"] = cv_ece
        else:
            calibrator = fit_calibrator(self.method, log_proba, truth)
        self.calibrator_ = calibrator
        raw = np.asarray(base.predict_proba(val_texts))
        calibrated = calibrator.transform(log_proba)
        summary.update(calibrator.state())
        summary["ece_validation_before"] = expected_calibration_error(raw.argmax(1) == truth, raw.max(1))
        summary["ece_validation_after"] = expected_calibration_error(calibrated.argmax(1) == truth, calibrated.max(1))
        summary["validation_log_loss"] = float(
            -np.mean(np.log(np.clip(calibrated[np.arange(len(truth)), truth], 1e-12, 1)))
        )
        summary["validation_accuracy"] = float(np.mean(calibrated.argmax(1) == truth))
        if self.out_of_scope is not None and str(self.out_of_scope) in classes.astype(str):
            self._fit_detector(val_texts, truth, log_proba, calibrated, train_texts, train_labels)
        self.summary_ = summary
        return self

    def _fit_detector(
        self,
        val_texts: list[str],
        truth: np.ndarray,
        log_proba: np.ndarray,
        calibrated: np.ndarray,
        train_texts: list[str] | None,
        train_labels: Any,
    ) -> None:
        from tailorml.oos import OutOfScopeRule, fit_probability_curve, score_quality

        oos = self._oos_column()
        is_oos = truth == oos
        if not is_oos.any() or is_oos.all():
            return  # nothing to choose a threshold on
        if self.oos_score in ("auto", "centroid") and hasattr(self.base_, "embed") and train_texts is not None:
            try:
                self.centroids_ = _centroids(
                    self.base_, train_texts, np.asarray(train_labels, dtype=object), self.classes_
                )
            except AttributeError:  # an ensemble without an embedding member
                self.centroids_ = None
        scores = self._scores(val_texts, log_proba, calibrated)
        correct = _in_scope_prediction(calibrated, oos) == truth
        tried = {
            name: score_quality(
                s,
                is_oos,
                correct,
                target_recall=self.oos_recall,
                min_in_scope_accuracy=self.oos_min_in_scope_accuracy,
                confidence=self.oos_confidence,
            )
            for name, s in scores.items()
        }
        if self.oos_score == "auto":
            name = max(tried, key=lambda n: (tried[n].auroc, n == "max_prob"))
        elif self.oos_score not in scores:
            raise SpecError(
                f"out-of-scope score {self.oos_score!r} needs a path with sentence embeddings; {self.base} has none",
                hint="set out_of_scope_detection.score to max_prob, energy or auto",
            )
        else:
            name = self.oos_score
        if name != "centroid":
            self.centroids_ = None
        curve_x, curve_y = fit_probability_curve(scores[name], is_oos)
        self.oos_rule_ = OutOfScopeRule(
            label=str(self.out_of_scope),
            score=name,
            threshold=tried[name].threshold,
            target_recall=self.oos_recall,
            min_in_scope_accuracy=self.oos_min_in_scope_accuracy,
            confidence=self.oos_confidence,
            expected_rate=self.oos_expected_rate,
            validation_rate=float(is_oos.mean()),
            validation=tried,
            curve_x=curve_x,
            curve_y=curve_y,
        )

    def _check_settings(self) -> None:
        from tailorml.calibration import CALIBRATION_METHODS
        from tailorml.oos import OOS_SCORES

        if self.method not in CALIBRATION_METHODS:
            raise SpecError(
                f"calibration method must be one of {', '.join(CALIBRATION_METHODS)}; got {self.method!r}",
                hint="set calibration.method to auto, temperature, isotonic or none",
            )
        if self.oos_score not in OOS_SCORES:
            raise SpecError(
                f"out-of-scope score must be one of {', '.join(OOS_SCORES)}; got {self.oos_score!r}",
                hint="set out_of_scope_detection.score to auto, max_prob, energy or centroid",
            )

    # ------------------------------------------------------------------ prediction

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Calibrated probabilities; with detection, out-of-scope is on top exactly when flagged."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        log_proba = self._log_scores(texts)
        calibrated = self.calibrator_.transform(log_proba)
        if self.oos_rule_ is None:
            return calibrated
        score = self._scores(texts, log_proba, calibrated, only=self.oos_rule_.score)[self.oos_rule_.score]
        return self._with_detection(calibrated, score)

    def predict_proba_plain(self, X: Iterable[str]) -> np.ndarray:
        """Calibrated probabilities without the out-of-scope detector: what an ensemble averages."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        return np.asarray(self.calibrator_.transform(self._log_scores(texts)))

    def predict_proba_uncalibrated(self, X: Iterable[str]) -> np.ndarray:
        """The base model's own probabilities (for ECE before calibration)."""
        self._check_fitted()
        return np.asarray(self.base_.predict_proba(as_texts(X)))

    def oos_score_of(self, X: Iterable[str]) -> np.ndarray | None:
        """The detector's out-of-scope score of each text (higher: more likely out of scope), if detecting."""
        self._check_fitted()
        if self.oos_rule_ is None:
            return None
        texts = as_texts(X)
        log_proba = self._log_scores(texts)
        calibrated = self.calibrator_.transform(log_proba)
        return self._scores(texts, log_proba, calibrated, only=self.oos_rule_.score)[self.oos_rule_.score]

    def embed(self, X: Iterable[str]) -> np.ndarray:
        """The base model's embeddings (only for bases that have them)."""
        if not hasattr(self.base_, "embed"):
            raise AttributeError(f"{self.base} has no embeddings")
        return np.asarray(self.base_.embed(X))

    def dependency_bytes(self) -> int:
        return int(getattr(self.base_, "dependency_bytes", lambda: 0)())

    def set_cache_dir(self, cache_dir: str | None) -> None:
        """Point every embedding cache inside at ``cache_dir`` (``None``: compute every request)."""
        _set_cache_dir(self.base_, cache_dir)

    def _log_scores(self, texts: list[str]) -> np.ndarray:
        """Logits when the base has them, else log-probabilities."""
        if hasattr(self.base_, "decision_function"):
            return np.asarray(self.base_.decision_function(texts), dtype=np.float64)
        return np.log(np.clip(np.asarray(self.base_.predict_proba(texts), dtype=np.float64), 1e-12, 1.0))

    def _oos_column(self) -> int:
        return int(np.flatnonzero(self.classes_.astype(str) == str(self.out_of_scope))[0])

    def _scores(
        self, texts: list[str], log_proba: np.ndarray, calibrated: np.ndarray, only: str | None = None
    ) -> dict[str, np.ndarray]:
        from tailorml.oos import energy_score

        oos = self._oos_column()
        keep = np.arange(len(self.classes_)) != oos
        out: dict[str, np.ndarray] = {}
        if only in (None, "max_prob"):
            out["max_prob"] = 1.0 - calibrated[:, keep].max(axis=1)
        if only in (None, "energy"):
            temperature = float(getattr(self.calibrator_, "temperature", 1.0))
            out["energy"] = energy_score(log_proba[:, keep], temperature)
        if only in (None, "centroid") and self.centroids_ is not None:
            emb = np.asarray(self.base_.embed(texts), dtype=np.float64)
            emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
            out["centroid"] = 1.0 - (emb @ self.centroids_[keep].T).max(axis=1)
        return out

    def _with_detection(self, calibrated: np.ndarray, score: np.ndarray) -> np.ndarray:
        rule = self.oos_rule_
        oos = self._oos_column()
        inside = calibrated.copy()
        inside[:, oos] = 0.0
        inside /= np.maximum(inside.sum(axis=1, keepdims=True), 1e-12)
        top = inside.max(axis=1)
        flagged = score >= rule.threshold
        p_oos = rule.probability(score)
        # Out-of-scope is on top iff p / (1 - p) > top, i.e. p > top / (1 + top).
        tie = top / (1.0 + top)
        p_oos = np.where(flagged, np.maximum(p_oos, np.maximum(tie, 0.5) + _EPS), np.minimum(p_oos, tie * (1 - _EPS)))
        out = inside * (1.0 - p_oos)[:, None]
        out[:, oos] = p_oos
        return out

    # ------------------------------------------------------------------ persistence

    def _save_state(self, folder: Path) -> None:
        from tailorml.paths import save_model

        save_model(self.base_, folder / "base")
        _artifact.write_json(
            folder,
            "calibration.json",
            {
                "calibrator": self.calibrator_.state(),
                "oos_rule": self.oos_rule_.model_dump() if self.oos_rule_ is not None else None,
                "summary": self.summary_,
            },
        )
        if self.centroids_ is not None:
            _artifact.save_array(folder, "centroids.npy", self.centroids_)

    def _load_state(self, folder: Path) -> None:
        from tailorml.calibration import calibrator_from_state
        from tailorml.oos import OutOfScopeRule
        from tailorml.paths import load_model

        body = _artifact.read_json(folder, "calibration.json")
        if not isinstance(body, dict) or not isinstance(body.get("calibrator"), dict):
            raise _artifact.corrupt(folder, "calibration.json lacks 'calibrator'")
        self.base_ = load_model(folder / "base")
        self.classes_ = np.asarray(self.base_.classes_, dtype=object)
        self.calibrator_ = calibrator_from_state(body["calibrator"])
        rule = body.get("oos_rule")
        self.oos_rule_ = OutOfScopeRule.model_validate(rule) if rule else None
        self.summary_ = dict(body.get("summary") or {})
        has_centroids = (folder / "centroids.npy").is_file()
        self.centroids_ = _artifact.load_array(folder, "centroids.npy") if has_centroids else None


def _takes_validation(model: Any) -> bool:
    import inspect

    return "validation" in inspect.signature(model.fit).parameters


def _set_cache_dir(model: Any, cache_dir: str | None) -> None:
    if hasattr(model, "set_cache_dir"):
        model.set_cache_dir(cache_dir)
    elif "cache_dir" in model.get_params():
        model.set_params(cache_dir=cache_dir)


def _in_scope_prediction(proba: np.ndarray, oos: int) -> np.ndarray:
    inside = proba.copy()
    inside[:, oos] = -1.0
    return inside.argmax(axis=1)


def _centroids(base: Any, texts: list[str], labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Unit-length mean embedding of each class (the out-of-scope one is set far away)."""
    emb = np.asarray(base.embed(texts), dtype=np.float64)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    labels = labels.astype(str)
    rows = []
    for c in classes.astype(str):
        members = emb[labels == c]
        mean = members.mean(axis=0) if len(members) else np.zeros(emb.shape[1])
        rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return np.asarray(rows)
