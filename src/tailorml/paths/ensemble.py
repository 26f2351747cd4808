"""``ensemble``: a weighted average of the calibrated probabilities of two or more paths.

Each member is a :class:`~tailorml.paths.calibrated.Calibrated` model (its probabilities
calibrated on the validation rows). By default the members weigh the same
(``weighting="equal"``); ``weighting="log_loss"`` chooses the weights that minimize the
validation log loss of the average (a grid of step 0.05 for two members). Weights are never
chosen on test rows.

Why equal by default: log-loss weights favour the best-calibrated member rather than the
combination that errs least. Measured on BANKING77 (2026-11-30, ``bench/intent.py`` members
trained once, three member sets): equal weights gave 0.3-0.4 pt higher test accuracy than
log-loss weights in every set (e.g. MiniLM, mpnet, TF-IDF and fine-tuned MiniLM: 94.74% against
94.38%), while validation accuracy did not separate the two rules.

With ``ensemble: auto``, ``tailor train`` picks the members too (:func:`choose_members`):
every set of two to four candidates is scored by the validation log loss of its average, and
the lowest wins. An int8 export and the fp32 model it was exported from are never combined:
they are one model twice. On CLINC150 (2026-11-30, four candidates) this picked frozen mpnet +
fine-tuned MiniLM, whose ensemble met the in-scope accuracy, recall and ECE goals. The previous
rule, the two candidates with the lowest log loss of their own, would have paired the two
frozen encoders, mpnet and MiniLM.

Serving runs every member on every request, so the ensemble's latency and cost are the
sum of its members': ``tailor evaluate`` times it as one model in a fresh process, running
all members, exactly as the server would.

Saved as ``path.json``, ``ensemble.json`` (weights) and each member in ``members/<i>/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

import numpy as np

from tailorml.errors import SpecError
from tailorml.paths import _artifact, register_path
from tailorml.paths._base import TextClassifier, as_labels, as_texts, known_rows

__all__ = ["Ensemble", "choose_members", "choose_weights", "mixture_log_loss"]

GRID_STEP = 0.05
MAX_MEMBERS = 4  # every member runs on every request: a fifth rarely pays for its latency
WEIGHTINGS = ("equal", "log_loss")


def _true_class_probas(probas: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """Each member's probability of the true class, shape ``(n_rows, n_members)``."""
    truth = np.asarray(truth, dtype=np.int64)
    rows = np.arange(len(truth))
    return np.stack([np.asarray(p, dtype=np.float64)[rows, truth] for p in probas], axis=1)


def _loss(picked: np.ndarray, weights: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(picked @ weights, 1e-12, None))))


def mixture_log_loss(probas: list[np.ndarray], truth: np.ndarray, weights: list[float]) -> float:
    """Log loss of the weighted average of ``probas`` (rows: validation rows; ``truth``: true column)."""
    return _loss(_true_class_probas(probas, truth), np.asarray(weights, dtype=np.float64))


def choose_members(
    probas: dict[str, np.ndarray],
    truth: np.ndarray,
    *,
    weighting: str = "equal",
    apart: Iterable[tuple[str, str]] = (),
    max_members: int = MAX_MEMBERS,
) -> tuple[list[str], float]:
    """The set of two or more candidates whose average has the lowest validation log loss; and that loss.

    Parameters
    ----------
    probas:
        Each candidate's calibrated probabilities on the validation rows, same column order.
    truth:
        The true column index of each row.
    weighting:
        How each set is averaged: ``"equal"`` or ``"log_loss"`` (see :class:`Ensemble`).
    apart:
        Pairs of candidates never combined (an int8 export and its fp32 model).
    max_members:
        The largest set tried. Ties go to the smaller set, then to the names' order.

    Example
    -------
    >>> truth = np.array([0, 1, 0, 1])
    >>> a = np.array([[0.9, 0.1], [0.6, 0.4], [0.9, 0.1], [0.6, 0.4]])  # wrong on the 1s
    >>> b = np.array([[0.4, 0.6], [0.1, 0.9], [0.4, 0.6], [0.1, 0.9]])  # wrong on the 0s
    >>> choose_members({"a": a, "b": b, "a2": a}, truth)[0]
    ['a', 'b']
    """
    import itertools

    names = list(probas)
    if len(names) < 2:
        raise ValueError(f"an ensemble needs two or more candidates; got {names}")
    never = {frozenset(pair) for pair in apart}
    best: tuple[float, int, tuple[str, ...]] | None = None
    for size in range(2, min(max_members, len(names)) + 1):
        for subset in itertools.combinations(names, size):
            if any(frozenset(pair) in never for pair in itertools.combinations(subset, 2)):
                continue
            members = [probas[n] for n in subset]
            if weighting == "log_loss":
                loss = choose_weights(members, truth)[1]
            else:
                loss = mixture_log_loss(members, truth, [1.0 / size] * size)
            key = (round(loss, 9), size, subset)
            best = key if best is None or key < best else best
    if best is None:
        raise ValueError("every set of candidates pairs a model with its own export; list the members instead")
    return list(best[2]), float(best[0])


def choose_weights(probas: list[np.ndarray], truth: np.ndarray) -> tuple[list[float], float]:
    """Weights (summing to 1) minimizing the log loss of the weighted average; and that log loss.

    Parameters
    ----------
    probas:
        Each member's probabilities on the validation rows, same shape and column order.
    truth:
        The true column index of each row.
    """
    picked = _true_class_probas(probas, truth)

    def loss(w: np.ndarray) -> float:
        return _loss(picked, w)

    k = len(probas)
    if k == 2:
        grid = np.round(np.arange(0.0, 1.0 + GRID_STEP / 2, GRID_STEP), 6)
        losses = [loss(np.array([w, 1.0 - w])) for w in grid]
        best = int(np.argmin(losses))
        return [float(grid[best]), float(1.0 - grid[best])], float(losses[best])
    from scipy.optimize import minimize

    def soft(theta: np.ndarray) -> np.ndarray:
        e = np.exp(theta - theta.max())
        return np.asarray(e / e.sum())

    found = minimize(lambda t: loss(soft(t)), np.zeros(k), method="Nelder-Mead")
    weights = soft(found.x)
    return [float(w) for w in weights], loss(weights)


@register_path(
    "ensemble",
    description="average of the calibrated probabilities of two or more paths (equal or validation-chosen weights)",
    neural=True,
    seconds_per_1k_train_rows=5.1,
)
class Ensemble(TextClassifier):
    """Weighted average of calibrated members.

    Parameters
    ----------
    members:
        Registered path names, at least two.
    member_params:
        Constructor parameters of each member, in order (``None``: defaults).
    weights:
        Fixed weights, one per member; ``None``: set by ``weighting``.
    weighting:
        ``"equal"`` (every member the same weight) or ``"log_loss"`` (the weights minimizing the
        validation log loss of the average). The validation log loss is recorded either way.
    method:
        Calibration method of the members (see :class:`~tailorml.paths.calibrated.Calibrated`).
    validation_fraction, seed:
        Rows of ``X`` held out for calibration and weights when ``fit`` gets no validation rows.
    """

    composite = True
    members_: list[Any]
    weights_: list[float]
    validation_loss_: float | None

    def __init__(
        self,
        *,
        members: tuple[str, ...] = ("tfidf-linear", "embedding-linear"),
        member_params: tuple[dict[str, Any], ...] | None = None,
        weights: tuple[float, ...] | None = None,
        weighting: str = "equal",
        method: str = "auto",
        validation_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        self.members = members
        self.member_params = member_params
        self.weights = weights
        self.weighting = weighting
        self.method = method
        self.validation_fraction = validation_fraction
        self.seed = seed

    def fit(self, X: Iterable[str], y: Iterable[Any], *, validation: tuple[Any, Any] | None = None) -> Self:
        """Fit and calibrate each member, then choose the weights on the validation rows."""
        from tailorml.paths.calibrated import Calibrated, split_validation

        texts = as_texts(X)
        labels = as_labels(y, len(texts))
        self._check_settings()
        if validation is None:
            fit_rows, held_rows = split_validation(texts, labels, self.validation_fraction, self.seed)
            validation = ([texts[i] for i in held_rows], labels[held_rows])
            texts, labels = [texts[i] for i in fit_rows], labels[fit_rows]
        params = list(self.member_params or [{} for _ in self.members])
        fitted = [
            Calibrated(base=name, base_params=dict(p), method=self.method, seed=self.seed).fit(
                texts, labels, validation=validation
            )
            for name, p in zip(self.members, params, strict=True)
        ]
        return self.combine(fitted, validation[0], validation[1])

    def combine(self, fitted: list[Any], val_texts: Any, val_labels: Any) -> Self:
        """Use already fitted (calibrated) members; choose weights on the validation rows."""
        classes = [np.asarray(m.classes_, dtype=object).astype(str).tolist() for m in fitted]
        if any(c != classes[0] for c in classes[1:]):
            raise ValueError(f"ensemble members must share their classes; got {[len(c) for c in classes]} classes")
        self.members_ = list(fitted)
        self.classes_ = np.asarray(fitted[0].classes_, dtype=object)
        self.validation_loss_ = None
        if self.weights is not None:
            self.weights_ = [float(w) / float(sum(self.weights)) for w in self.weights]
            return self
        texts, truth = known_rows(val_texts, val_labels, classes[0])
        if not texts:
            self.weights_ = [1.0 / len(fitted)] * len(fitted)
            return self
        probas = [m.predict_proba(texts) for m in fitted]
        if self.weighting == "log_loss":
            self.weights_, self.validation_loss_ = choose_weights(probas, truth)
        else:
            self.weights_ = [1.0 / len(fitted)] * len(fitted)
            self.validation_loss_ = mixture_log_loss(probas, truth, self.weights_)
        return self

    def _check_settings(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise SpecError(
                f"ensemble weighting must be one of {', '.join(WEIGHTINGS)}; got {self.weighting!r}",
                hint="set weighting: equal (the default) or log_loss",
            )
        if len(self.members) < 2:
            raise SpecError(
                f"an ensemble needs at least two member paths; got {list(self.members)}",
                hint="name two candidates, e.g. ensemble: [tfidf-linear, embedding-linear]",
            )
        if self.member_params is not None and len(self.member_params) != len(self.members):
            raise SpecError(
                f"ensemble member_params has {len(self.member_params)} entries for {len(self.members)} members",
                hint="give one parameter mapping per member",
            )
        if self.weights is not None and (
            len(self.weights) != len(self.members) or min(self.weights) < 0 or sum(self.weights) <= 0
        ):
            raise SpecError(
                f"ensemble weights {list(self.weights)} must be one non-negative number per member, not all zero",
                hint="leave weights unset to choose them on validation data",
            )

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """The weighted average of the members' calibrated probabilities."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        total = np.zeros((len(texts), len(self.classes_)))
        for weight, member in zip(self.weights_, self.members_, strict=True):
            if weight > 0:
                total += weight * np.asarray(member.predict_proba(texts))
        return total / total.sum(axis=1, keepdims=True)

    def embed(self, X: Iterable[str]) -> np.ndarray:
        """Embeddings of the first member that has them."""
        for member in self.members_:
            if hasattr(member.base_, "embed"):
                return np.asarray(member.embed(X))
        raise AttributeError("no ensemble member has embeddings")

    def dependency_bytes(self) -> int:
        return sum(int(getattr(m, "dependency_bytes", lambda: 0)()) for m in self.members_)

    def set_cache_dir(self, cache_dir: str | None) -> None:
        for member in self.members_:
            member.set_cache_dir(cache_dir)

    def _save_state(self, folder: Path) -> None:
        from tailorml.paths import save_model

        for i, member in enumerate(self.members_):
            save_model(member, folder / "members" / str(i))
        _artifact.write_json(folder, "ensemble.json", {"weights": self.weights_, "loss": self.validation_loss_})

    def _load_state(self, folder: Path) -> None:
        from tailorml.paths import load_model

        body = _artifact.read_json(folder, "ensemble.json")
        if not isinstance(body, dict) or len(body.get("weights") or []) != len(self.members):
            raise _artifact.corrupt(folder, "ensemble.json must hold one weight per member")
        self.members_ = [load_model(folder / "members" / str(i)) for i in range(len(self.members))]
        self.weights_ = [float(w) for w in body["weights"]]
        self.validation_loss_ = body.get("loss")
        self.classes_ = np.asarray(self.members_[0].classes_, dtype=object)
