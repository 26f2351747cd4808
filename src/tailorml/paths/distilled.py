"""``distilled``: a TF-IDF linear student trained on a teacher path's soft labels.

The teacher (``embedding-linear`` by default, or any registered path, ``finetuned``
included) is fitted on the training rows. The student has ``tfidf-linear``'s features and a
softmax-linear head fitted by L-BFGS to minimise the cross-entropy against soft targets: for
a labeled row ``alpha`` times its one-hot label plus ``1 - alpha`` times the teacher's
probabilities softened by ``temperature``; for unlabeled rows the softened teacher
probabilities alone. Unlabeled rows are ``extra_texts`` given by the user plus ``augment``
noisy copies of each training text (typos, casing, fillers, greetings and register changes
from :mod:`tailorml.data.synth`), which carry the teacher's knowledge to inputs the labeled
set does not cover.

A stratified validation share, held out from teacher and student alike, measures both:
accuracy and milliseconds per row (batch) are kept in ``distillation_`` and saved as
``distillation.json`` for the report. The saved model is the student alone: TF-IDF
vocabularies, IDF weights and the head, loadable without scikit-learn's pickles or torch.

Measured once on BANKING77 (2026-11-30, 2 shared cores; defaults: teacher ``embedding-linear``,
one augmented copy per text, T = 2, alpha = 0.5): the student reaches 0.925 test accuracy
against 0.915 for ``tfidf-linear`` on the same data, at 0.14 ms per row in batch against
13 ms for its teacher (validation: teacher 0.917, student 0.905, agreement 0.930). Fitting
took 585 s: 146 s for the teacher, 270 s for the soft-target head on 17,876 rows (L-BFGS
over 38k features x 77 classes). Soft targets against sample-weighted hard labels is not
measured yet.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from tailorml.errors import SpecError
from tailorml.paths import _artifact, register_path
from tailorml.paths._base import TextClassifier, as_labels, as_texts
from tailorml.paths._linear import LinearHead
from tailorml.paths._neural import carve_validation, check_range, softmax
from tailorml.paths.tfidf import _ANALYZERS, TfidfLinear

__all__ = ["Distilled"]

_NAME = "distilled"


@register_path(
    _NAME,
    description="TF-IDF linear student trained on a teacher path's soft labels (augmented inputs)",
    neural=True,
    seconds_per_1k_train_rows=12.0,
    auto=False,  # minutes of CPU per thousand rows: searched only when listed
)
class Distilled(TextClassifier):
    """A fast TF-IDF linear student that imitates a stronger teacher path.

    Parameters
    ----------
    teacher:
        Registered name of the teacher path.
    teacher_params:
        Parameters of the teacher (``None``: its defaults).
    temperature:
        Softens the teacher's probabilities (``p ** (1/T)``, renormalised) before fitting.
    alpha:
        Weight of the true label in a labeled row's target; ``1 - alpha`` goes to the teacher.
    C:
        Inverse L2 strength of the student head (as in ``tfidf-linear``).
    extra_texts:
        Unlabeled texts the teacher labels for the student (e.g. logged traffic).
    augment:
        Noisy copies of each training text added as unlabeled rows (0 for none).
    noise:
        Strength of the augmentation noise (``tailorml.data.synth`` perturbations).
    validation_fraction:
        Share of rows (stratified) held out to compare teacher and student; 0 for none.
    seed:
        Seeds the split and the augmentation.
    max_iter:
        L-BFGS iterations of the student head.
    cache_dir:
        Passed to a teacher that caches embeddings.

    Example
    -------
    >>> model = Distilled(teacher="finetuned", augment=2).fit(texts, labels)  # doctest: +SKIP
    >>> model.distillation_["student"]["validation_accuracy"]  # doctest: +SKIP
    0.91
    """

    student_: TfidfLinear
    distillation_: dict[str, Any]

    def __init__(
        self,
        *,
        teacher: str = "embedding-linear",
        teacher_params: dict[str, Any] | None = None,
        temperature: float = 2.0,
        alpha: float = 0.5,
        C: float = 20.0,
        extra_texts: Sequence[str] | None = None,
        augment: int = 1,
        noise: float = 0.3,
        validation_fraction: float = 0.1,
        seed: int = 0,
        max_iter: int = 300,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.teacher = teacher
        self.teacher_params = teacher_params
        self.temperature = temperature
        self.alpha = alpha
        self.C = C
        self.extra_texts = extra_texts
        self.augment = augment
        self.noise = noise
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.max_iter = max_iter
        self.cache_dir = cache_dir

    def _check_params(self) -> None:
        if self.teacher == _NAME:
            raise SpecError(f"{_NAME}: teacher cannot be {_NAME!r} itself", hint="set teacher: embedding-linear")
        if self.teacher_params is not None and not isinstance(self.teacher_params, dict):
            raise SpecError(
                f"{_NAME}: teacher_params must be a mapping; got {self.teacher_params!r}",
                hint=f"pass parameters of {self.teacher} as a mapping, or leave teacher_params unset",
            )
        check_range("temperature", self.temperature, 0.05, 100.0, path=_NAME)
        check_range("alpha", self.alpha, 0.0, 1.0, path=_NAME)
        check_range("C", self.C, 1e-6, 1e6, path=_NAME)
        check_range("augment", self.augment, 0, 20, integer=True, path=_NAME)
        check_range("noise", self.noise, 0.0, 1.0, path=_NAME)
        check_range("validation_fraction", self.validation_fraction, 0.0, 0.5, path=_NAME)
        check_range("max_iter", self.max_iter, 1, 100_000, integer=True, path=_NAME)
        if self.extra_texts is not None:
            as_texts(self.extra_texts)

    def _make_teacher(self) -> Any:
        from tailorml.paths import create_path

        params = dict(self.teacher_params or {})
        teacher = create_path(self.teacher, **params)
        if "cache_dir" in teacher.get_params() and "cache_dir" not in params:
            teacher.set_params(cache_dir=self.cache_dir)
        return teacher

    def fit(self, X: Iterable[str], y: Iterable[Any]) -> Self:
        """Fit the teacher, label augmented and extra texts with it, and fit the student to soft targets.

        Parameters
        ----------
        X:
            Texts (list, 1-D array or pandas Series of str).
        y:
            One label per text; labels are kept as str.

        Returns
        -------
        Distilled
            ``self``, fitted; ``distillation_`` compares teacher and student on validation rows.
        """
        texts = as_texts(X)
        labels = as_labels(y, len(texts))
        self._check_params()
        teacher = self._make_teacher()
        train, val = carve_validation(labels, self.validation_fraction, self.seed)
        train_texts = [texts[i] for i in train]
        start = time.perf_counter()
        teacher.fit(train_texts, labels[train])
        teacher_seconds = time.perf_counter() - start
        classes = np.asarray(teacher.classes_, dtype=object)
        unlabeled = self._unlabeled(train_texts)
        soft = _soften(teacher.predict_proba(train_texts + unlabeled), self.temperature)
        onehot = (labels[train][:, None] == classes[None, :]).astype(np.float64)
        targets = soft.copy()
        targets[: len(train)] = self.alpha * onehot + (1 - self.alpha) * soft[: len(train)]

        start = time.perf_counter()
        student = TfidfLinear(C=self.C)
        from scipy.sparse import hstack

        vectorizers = tuple(student._vectorizer(analyzer) for analyzer in _ANALYZERS)
        all_texts = train_texts + unlabeled
        features = hstack([v.fit_transform(all_texts) for v in vectorizers], format="csr")
        student.vectorizers_ = vectorizers
        student.head_ = _fit_soft_head(features, targets, classes, C=self.C, max_iter=self.max_iter)
        student.classes_ = classes
        student.n_features_ = student.head_.n_features
        student_seconds = time.perf_counter() - start

        self.student_ = student
        self.classes_ = classes
        self.distillation_ = {
            "teacher": self.teacher,
            "labeled_rows": len(train),
            "unlabeled_rows": len(unlabeled),
            "validation_rows": len(val),
            "teacher_train_seconds": round(teacher_seconds, 2),
            "student_train_seconds": round(student_seconds, 2),
            **self._compare(teacher, [texts[i] for i in val], labels[val]),
        }
        return self

    def _unlabeled(self, train_texts: list[str]) -> list[str]:
        """Extra texts plus ``augment`` perturbed copies of each training text (duplicates dropped)."""
        from tailorml.data import synth

        rng = np.random.default_rng(self.seed)
        extra = as_texts(self.extra_texts) if self.extra_texts is not None else []
        base = np.asarray(train_texts, dtype=object)
        for _ in range(self.augment):
            channel = rng.integers(0, len(synth.CHANNELS), len(base))
            extra.extend(synth._perturb(base.copy(), channel, self.noise, rng).tolist())
        seen = set(train_texts)
        unique: list[str] = []
        for text in extra:
            if text not in seen:
                seen.add(text)
                unique.append(text)
        return unique

    def _compare(self, teacher: Any, texts: list[str], truth: np.ndarray) -> dict[str, Any]:
        """Validation accuracy and batch milliseconds per row of teacher and student."""
        result: dict[str, Any] = {}
        for role, model in (("teacher", teacher), ("student", self.student_)):
            entry: dict[str, Any] = {"validation_accuracy": None, "ms_per_row": None}
            if texts:
                model.predict(texts[:1])  # warm up: lazy loads and first-call costs are not per-row latency
                start = time.perf_counter()
                predicted = model.predict(texts)
                entry["ms_per_row"] = round((time.perf_counter() - start) * 1000 / len(texts), 4)
                entry["validation_accuracy"] = float(np.mean(predicted.astype(str) == truth))
            result[role] = entry
        if texts:
            agree = self.student_.predict(texts) == teacher.predict(texts)
            result["student_teacher_agreement"] = float(np.mean(agree))
        return result

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Class probabilities, shape ``(n_texts, n_classes)``, columns ordered as ``classes_``."""
        self._check_fitted()
        return self.student_.predict_proba(X)

    def _save_state(self, folder: Path) -> None:
        self.student_._save_state(folder)
        _artifact.write_json(folder, "distillation.json", self.distillation_)

    def _load_state(self, folder: Path) -> None:
        student = TfidfLinear(C=self.C)
        student._load_state(folder)
        report = _artifact.read_json(folder, "distillation.json")
        if not isinstance(report, dict):
            raise _artifact.corrupt(folder, "distillation.json must be an object")
        self.student_ = student
        self.classes_ = student.classes_
        self.distillation_ = report


def _soften(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``proba ** (1 / temperature)``, renormalised (a softmax of log-probabilities over T)."""
    return softmax(np.log(np.clip(proba, 1e-12, 1.0)) / temperature)


def _fit_soft_head(features: Any, targets: np.ndarray, classes: np.ndarray, *, C: float, max_iter: int) -> LinearHead:
    """Multinomial logistic regression on soft targets: minimise CE(targets, softmax(XW + b)) + |W|² / 2C.

    The loss is scaled like scikit-learn's (sum over rows, L2 of ``1 / (2C)``), so ``C`` means
    the same as in ``tfidf-linear``. With two classes the single-row form is returned.
    """
    from scipy.optimize import minimize

    n_features = features.shape[1]
    k = len(classes)
    features = features.astype(np.float64)

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights = flat[: n_features * k].reshape(n_features, k)
        bias = flat[n_features * k :]
        scores = features @ weights + bias
        scores -= scores.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scores).sum(axis=1, keepdims=True))
        log_p = scores - log_norm
        value = -(targets * log_p).sum() + (weights**2).sum() / (2 * C)
        residual = np.exp(log_p) - targets
        grad_w = features.T @ residual + weights / C
        return float(value), np.concatenate([np.asarray(grad_w).ravel(), residual.sum(axis=0)])

    result = minimize(
        loss, np.zeros(n_features * k + k), jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": 1e-5}
    )
    weights = result.x[: n_features * k].reshape(n_features, k).T
    bias = result.x[n_features * k :]
    if k == 2:  # LinearHead's binary form: the second class's log-odds
        return LinearHead(weights[1:] - weights[:1], bias[1:] - bias[:1], classes)
    return LinearHead(weights, bias, classes)
