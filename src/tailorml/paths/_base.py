"""The scikit-learn estimator protocol for text classifiers, without importing scikit-learn.

:class:`TextClassifier` gives a model path ``get_params`` / ``set_params`` (so
``sklearn.base.clone``, pipelines and grid search work), ``__sklearn_tags__``, ``predict``,
``score`` and ``save`` / ``load``. scikit-learn is imported only by the methods that need it,
so that listing the registered paths stays cheap.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from tailorml.paths import _artifact

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.utils import Tags

__all__ = ["TextClassifier", "as_labels", "as_texts", "known_rows"]


class TextClassifier:
    """Base class of the built-in model paths: texts in, one label per text out.

    Subclasses take keyword-only parameters in ``__init__`` and store them unchanged, set
    learned state (names ending in ``_``, ``classes_`` among them) in ``fit``, and implement
    ``fit``, ``predict_proba``, ``_save_state`` and ``_load_state``.
    """

    classes_: np.ndarray

    # ------------------------------------------------------------------ parameters

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for parameter in list(signature.parameters.values())[1:]:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must list its parameters; *args and **kwargs are not allowed")
            names.append(parameter.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor parameters (``deep`` is accepted for scikit-learn; nothing nests)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; unknown names raise ``ValueError`` naming the valid ones."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values() if p.name != "self"
        }
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Tags:
        """Tags that tell scikit-learn this is a classifier of 1-D string input."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(one_d_array=True, two_d_array=False, string=True),
        )

    # ------------------------------------------------------------------ prediction

    def fit(self, X: Iterable[str], y: Iterable[Any]) -> Self:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, X: Iterable[str]) -> np.ndarray:
        """Return the most probable label of each text (an array of str).

        Parameters
        ----------
        X:
            Texts: a list, 1-D array or pandas Series of str.

        Returns
        -------
        numpy.ndarray
            One label per text, taken from ``classes_``.
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError on an unfitted model
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X: Iterable[str], y: Iterable[Any], sample_weight: Any = None) -> float:
        """Return accuracy on ``(X, y)``, as scikit-learn classifiers do."""
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(as_labels(y, None, min_classes=1), self.predict(X), sample_weight=sample_weight))

    def _check_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) before using it, "
                "or load a trained one with tailorml.paths.load_model(folder)"
            )

    # ------------------------------------------------------------------ persistence

    def save(self, folder: str | Path) -> Path:
        """Write the fitted model to ``folder`` as JSON and ``.npy`` files (never pickle).

        Parameters
        ----------
        folder:
            Created if missing; files of an earlier save there are overwritten.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._save_state(folder)
        _artifact.write_manifest(folder, self)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Self:
        """Recreate a model written by :meth:`save`.

        Raises
        ------
        tailorml.errors.DataError
            When the folder is missing, was written by another path, or is corrupt.
        """
        folder = Path(folder)
        manifest = _artifact.read_manifest(folder)
        with _artifact.reading(folder):
            model = cls(**manifest.params)
            model._load_state(folder)
        return model

    def _save_state(self, folder: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_state(self, folder: Path) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # arrays and other values without a plain truth value
        return a is b


def as_texts(X: Iterable[str]) -> list[str]:
    """Return ``X`` (list, tuple, 1-D array or Series of str) as a list of str.

    Raises ``TypeError`` for a single string or a non-text element, and ``ValueError`` for
    a 2-D array, naming the first offending position.
    """
    if isinstance(X, str | bytes):
        raise TypeError("expected a sequence of texts, got a single string; wrap it in a list: [text]")
    if getattr(X, "ndim", 1) != 1:
        raise ValueError(f"expected a 1-D sequence of texts, got an array of shape {X.shape}")  # type: ignore[attr-defined]
    texts = X.tolist() if hasattr(X, "tolist") else list(X)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__} ({text!r}), not str; fill or drop missing texts first")
    return texts


def as_labels(y: Iterable[Any], n_rows: int | None, *, min_classes: int = 2) -> np.ndarray:
    """Return labels as a 1-D array of str, checking the length and the number of classes."""
    values = y.tolist() if hasattr(y, "tolist") else list(y)
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and value != value):
            raise ValueError(f"label {i} is missing ({value!r}); drop unlabeled rows before fitting")
    labels = np.asarray([str(v) for v in values], dtype=object)
    if n_rows is not None and len(labels) != n_rows:
        raise ValueError(f"X has {n_rows} texts but y has {len(labels)} labels; they must match one to one")
    classes = np.unique(labels)
    if len(classes) < min_classes:
        raise ValueError(
            f"need at least {min_classes} classes to fit a classifier; got {len(classes)}: {classes.tolist()}"
        )
    return labels


def known_rows(texts: Iterable[str], labels: Iterable[Any], classes: Any) -> tuple[list[str], np.ndarray]:
    """The texts whose label is one of ``classes``, and the column of that label (compared as strings).

    Validation rows with a label the model never saw cannot score it; they are left out.

    >>> known_rows(["a", "b", "c"], ["x", "new", "y"], ["x", "y"])
    (['a', 'c'], array([0, 1]))
    """
    index = {str(c): i for i, c in enumerate(classes)}
    pairs = [(t, index[str(v)]) for t, v in zip(as_texts(texts), labels, strict=True) if str(v) in index]
    return [t for t, _ in pairs], np.asarray([i for _, i in pairs], dtype=np.int64)
