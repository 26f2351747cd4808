"""A multinomial logistic-regression head: fit with scikit-learn, predict and save with NumPy.

The head keeps only ``coef``, ``intercept`` and ``classes`` and computes probabilities
itself, the same way before and after a save, so a loaded model's ``predict_proba`` is
bit-identical to the original's and loading does not depend on scikit-learn internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tailorml.paths import _artifact

__all__ = ["LinearHead"]


@dataclass(frozen=True, eq=False)
class LinearHead:
    """Weights of a fitted logistic regression.

    ``coef`` has one row per class, or a single row (the second class's log-odds) when there
    are two classes, as scikit-learn stores it.
    """

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    @classmethod
    def fit(
        cls,
        features: Any,
        labels: np.ndarray,
        *,
        C: float,
        class_weight: str | dict[str, float] | None,
        max_iter: int,
        tol: float,
    ) -> LinearHead:
        """Fit L2-regularized logistic regression (lbfgs; multinomial when there are >2 classes)."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter, tol=tol)
        model.fit(features, labels)
        return cls(np.asarray(model.coef_), np.asarray(model.intercept_), np.asarray(model.classes_, dtype=object))

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[1])

    def decision_function(self, features: Any) -> np.ndarray:
        """Logits, one column per class (two columns ``[0, z]`` for a binary head)."""
        scores = np.asarray(features @ self.coef.T, dtype=np.float64) + self.intercept
        if self.coef.shape[0] == 1:
            return np.column_stack([np.zeros(len(scores)), scores[:, 0]])
        return scores

    def predict_proba(self, features: Any) -> np.ndarray:
        """Class probabilities, one row per input, columns ordered as ``classes``."""
        scores = np.asarray(features @ self.coef.T, dtype=np.float64) + self.intercept
        if self.coef.shape[0] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def save(self, folder: Path) -> None:
        """Write ``head_coef.npy``, ``head_intercept.npy`` and ``classes.json``."""
        _artifact.save_array(folder, "head_coef.npy", self.coef)
        _artifact.save_array(folder, "head_intercept.npy", self.intercept)
        _artifact.write_json(folder, "classes.json", [str(c) for c in self.classes])

    @classmethod
    def load(cls, folder: Path) -> LinearHead:
        """Read a head written by :meth:`save`, checking that the shapes agree."""
        coef = _artifact.load_array(folder, "head_coef.npy")
        intercept = _artifact.load_array(folder, "head_intercept.npy")
        classes = _artifact.read_json(folder, "classes.json")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or len(classes) < 2:
            raise _artifact.corrupt(folder, "classes.json must be a list of at least 2 labels")
        rows = 1 if len(classes) == 2 else len(classes)
        if coef.ndim != 2 or coef.shape[0] != rows or intercept.shape != (rows,):
            raise _artifact.corrupt(
                folder, f"head shapes {coef.shape} and {intercept.shape} do not fit {len(classes)} classes"
            )
        return cls(coef, intercept, np.asarray(classes, dtype=object))
