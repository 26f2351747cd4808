"""The public contract test of model paths, like scikit-learn's ``check_estimator``.

:func:`check_model_path` runs every check a model path must pass to be trained, compared,
saved, served and retrained by tailorml, and raises ``AssertionError`` with a message that
names the first broken promise. tailorml's own suite runs it over every registered path;
run it over yours in your tests.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TINY_TEXTS", "check_model_path"]

_TINY = {
    "track_order": [
        "where is my order",
        "has my package shipped yet",
        "track my parcel please",
        "when will my order arrive",
        "my delivery is late, where is it",
        "can you tell me the order status",
        "package tracking number please",
        "is my order on its way",
        "how long until my parcel arrives",
        "order still not delivered",
    ],
    "refund": [
        "i want my money back",
        "please refund my purchase",
        "how do i get a refund",
        "refund the charge on my card",
        "i returned the item, where is my refund",
        "can i get reimbursed for this",
        "the refund has not arrived",
        "money back for a broken product",
        "cancel and refund my payment",
        "request a refund for order",
    ],
    "greeting": [
        "hello there",
        "hi, good morning",
        "hey how are you",
        "good afternoon team",
        "hi hi",
        "hello, anyone there?",
        "greetings",
        "good evening",
        "hey there friend",
        "howdy",
    ],
}
#: The default fit set of :func:`check_model_path`: 30 short texts in 3 classes.
TINY_TEXTS: tuple[tuple[str, str], ...] = tuple((text, label) for label, texts in _TINY.items() for text in texts)

_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt"}


def check_model_path(model: Any, *, X: Sequence[str] | None = None, y: Sequence[Any] | None = None) -> None:
    """Check that ``model`` keeps the model-path contract; raise ``AssertionError`` if not.

    Checks, in order: ``clone`` and ``get_params`` round-trip and ``__init__`` only stores
    parameters; an unfitted model raises ``NotFittedError``; ``fit`` returns ``self`` and sets
    ``classes_``; ``predict`` and ``predict_proba`` have the right shapes, probabilities
    sum to 1 with columns ordered as ``classes_`` and ``predict`` is their argmax; learned
    attributes end in ``_``; ``save`` writes no pickle and ``load`` gives identical
    probabilities; refitting on other labels forgets the old classes.

    Parameters
    ----------
    model:
        An unfitted instance (it is cloned, never fitted itself).
    X, y:
        Texts and labels to fit on, with at least 3 classes; default :data:`TINY_TEXTS`.

    Example
    -------
    >>> from tailorml.paths.tfidf import TfidfLinear
    >>> check_model_path(TfidfLinear())
    """
    if (X is None) != (y is None):
        raise ValueError("pass both X and y, or neither")
    texts = list(X) if X is not None else [t for t, _ in TINY_TEXTS]
    labels = [str(v) for v in y] if y is not None else [label for _, label in TINY_TEXTS]
    classes = sorted(set(labels))
    if len(classes) < 3:
        raise ValueError(f"check_model_path needs at least 3 classes to test refitting; got {classes}")
    name = type(model).__name__

    fresh = _check_params(model, name)
    _check_unfitted(fresh, texts, name)
    fitted = _check_fit(fresh, texts, labels, classes, name)
    proba = _check_predictions(fitted, texts, name)
    _check_save_load(fitted, texts, proba, name)
    _check_refit(fitted, texts, labels, classes, name)


def _check_params(model: Any, name: str) -> Any:
    from sklearn.base import clone

    params = model.get_params()
    try:
        copy = clone(model)
    except Exception as exc:
        raise AssertionError(
            f"{name}: sklearn.base.clone failed ({exc}); __init__ must store parameters as given"
        ) from exc
    assert _equal_params(copy.get_params(), params), f"{name}: get_params after clone differs: {copy.get_params()}"
    again = type(model)(**params)
    assert _equal_params(again.get_params(), params), f"{name}: {name}(**get_params()) does not round-trip"
    extra = sorted(set(vars(again)) - set(params))
    assert not extra, f"{name}: __init__ must only store parameters; it also set {extra}"
    return copy


def _check_unfitted(model: Any, texts: list[str], name: str) -> None:
    from sklearn.exceptions import NotFittedError

    for method in ("predict", "predict_proba"):
        try:
            getattr(model, method)(texts[:2])
        except NotFittedError:
            continue
        except Exception as exc:
            raise AssertionError(f"{name}: unfitted {method} raised {type(exc).__name__}, not NotFittedError") from exc
        raise AssertionError(f"{name}: unfitted {method} did not raise NotFittedError")


def _check_fit(model: Any, texts: list[str], labels: list[str], classes: list[str], name: str) -> Any:
    params = set(model.get_params())
    before = set(vars(model))
    returned = model.fit(texts, labels)
    assert returned is model, f"{name}: fit must return self, got {type(returned).__name__}"
    assert hasattr(model, "classes_"), f"{name}: fit must set classes_"
    assert [str(c) for c in model.classes_] == classes, f"{name}: classes_ {list(model.classes_)} != sorted labels"
    unmarked = sorted(a for a in set(vars(model)) - before - params if not a.startswith("_") and not a.endswith("_"))
    assert not unmarked, f"{name}: learned attributes must end in '_'; fit set {unmarked}"
    return model


def _check_predictions(model: Any, texts: list[str], name: str) -> np.ndarray:
    predicted = np.asarray(model.predict(texts))
    assert predicted.shape == (len(texts),), f"{name}: predict shape {predicted.shape}, expected ({len(texts)},)"
    known = {str(c) for c in model.classes_}
    stray = sorted({str(p) for p in predicted} - known)
    assert not stray, f"{name}: predict returned labels outside classes_: {stray}"
    proba = np.asarray(model.predict_proba(texts))
    expected = (len(texts), len(model.classes_))
    assert proba.shape == expected, f"{name}: predict_proba shape {proba.shape}, expected {expected}"
    assert np.all(np.isfinite(proba)) and proba.min() >= 0, f"{name}: predict_proba has negative or non-finite values"
    sums = proba.sum(axis=1)
    assert np.allclose(sums, 1.0, atol=1e-6), f"{name}: predict_proba rows sum to {sums.min()}..{sums.max()}, not 1"
    argmax = np.asarray(model.classes_)[proba.argmax(axis=1)]
    assert np.array_equal(argmax.astype(str), predicted.astype(str)), (
        f"{name}: predict is not the argmax of predict_proba over classes_ (columns out of order?)"
    )
    series = np.asarray(model.predict_proba(np.asarray(texts[:3], dtype=object)))
    assert np.allclose(series, proba[:3]), f"{name}: predict_proba differs for a NumPy array of the same texts"
    return proba


def _check_save_load(model: Any, texts: list[str], proba: np.ndarray, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        model.save(folder)
        problems = [p for p in (_pickle_problem(f) for f in sorted(folder.rglob("*")) if f.is_file()) if p]
        assert not problems, f"{name}: save wrote pickle, which loading would execute: {'; '.join(problems)}"
        loaded = type(model).load(folder)
        assert _equal_params(loaded.get_params(), model.get_params()), f"{name}: load changed the parameters"
        assert [str(c) for c in loaded.classes_] == [str(c) for c in model.classes_], f"{name}: load changed classes_"
        again = np.asarray(loaded.predict_proba(texts))
        assert np.array_equal(again, proba), (
            f"{name}: predict_proba after save/load differs (max {np.abs(again - proba).max():.3g})"
        )


def _check_refit(model: Any, texts: list[str], labels: list[str], classes: list[str], name: str) -> None:
    merged = {classes[0]: "other-a", classes[1]: "other-a"}
    relabeled = [merged.get(label, "other-b") for label in labels]
    model.fit(texts, relabeled)
    assert [str(c) for c in model.classes_] == ["other-a", "other-b"], (
        f"{name}: refit on labels ['other-a', 'other-b'] left classes_ = {list(model.classes_)}; fit must forget"
    )
    proba = np.asarray(model.predict_proba(texts[:4]))
    assert proba.shape == (4, 2), f"{name}: after refit on 2 classes predict_proba has shape {proba.shape}"
    stray = sorted({str(p) for p in model.predict(texts)} - {"other-a", "other-b"})
    assert not stray, f"{name}: after refit predict still returns old labels {stray}"


def _pickle_problem(file: Path) -> str | None:
    """Why ``file`` is (or holds) a pickle, or ``None`` if it is not one."""
    if file.suffix.lower() in _PICKLE_SUFFIXES:
        return f"{file.name} has a pickle suffix"
    with file.open("rb") as fh:
        head = fh.read(8)
    if file.suffix == ".npy":
        return _npy_problem(file)
    if head.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(file) as archive:
            inner = [n for n in archive.namelist() if n.endswith((".pkl", ".pickle")) or n.endswith("/data.pkl")]
        return f"{file.name} is a zip holding pickles {inner} (torch.save format)" if inner else None
    if file.suffix != ".safetensors" and head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return f"{file.name} starts with pickle protocol {head[1]} bytes"
    return None


def _npy_problem(file: Path) -> str | None:
    from numpy.lib import format as npy

    with file.open("rb") as fh:
        try:
            version = npy.read_magic(fh)
            header = npy.read_array_header_1_0(fh) if version == (1, 0) else npy.read_array_header_2_0(fh)
        except ValueError as exc:
            return f"{file.name} is not a valid .npy file ({exc})"
    return f"{file.name} holds an object array (stored as pickle)" if header[2].hasobject else None


def _equal_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if x is y:
            continue
        try:
            if not (type(x) is type(y) and bool(x == y)):
                return False
        except Exception:
            return False
    return True
