"""int8 exports of the neural paths: ONNX with dynamically quantized int8 weights, served by onnxruntime.

``finetuned-int8`` trains a :class:`~tailorml.paths.finetuned.Finetuned` model and exports the
whole classifier (token ids in, logits out); ``embedding-linear-int8`` trains an
:class:`~tailorml.paths.embedding.EmbeddingLinear` model and exports its encoder (mean-pooled
token states; L2 normalisation and the logistic-regression head stay in NumPy). Both graphs
go through ``onnxruntime.quantization.quantize_dynamic``: MatMul weights become int8
(per output channel by default), activations are quantized on the fly; the embedding
tables stay float32. The tokenizer is not in the graph: the fast ``tokenizers`` tokenizer
reads ``tokenizer.json`` from the model folder. Prediction imports neither torch nor
transformers.

After export, the int8 model is compared with its fp32 model on the validation rows the
fp32 model never trained on: the share of identical predictions (``fp32_agreement_``), the
largest probability difference, and both accuracies, kept in ``int8.json``.

Dynamic quantization scales activations by the range of the whole input tensor, so rows are
run one at a time (in parallel on single-threaded sessions): a row's answer never depends
on the rows batched with it. Measured by ``bench/finetune.py`` (2026-11-30, 2 shared
cores), ``finetuned-int8`` against ``finetuned``: BANKING77 0.931 vs 0.932 test accuracy
(agreement 0.986 on validation, 0.994 on test), 413 vs 120 rows/s (3.4x), p50 2.5 vs 12 ms;
CLINC150 in-scope 0.956 vs 0.956, 555 vs 183 rows/s (3.0x), p50 1.8 vs 12 ms. Weight-only
int8 (MatMulNBits) agreed more closely (cosine ≥ 0.999 on embeddings against ≥ 0.986) but
was no faster than fp32; per-tensor weights lost accuracy (embedding cosine 0.86-0.94) and
``reduce_range`` was slower for no gain.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from tailorml.paths import _artifact, register_path
from tailorml.paths._base import TextClassifier, as_labels, as_texts
from tailorml.paths._linear import LinearHead
from tailorml.paths._neural import (
    available_cores,
    carve_validation,
    check_range,
    encode,
    load_tokenizer,
    pad,
    require,
    softmax,
    torch_threads,
)

__all__ = ["EmbeddingLinearInt8", "FinetunedInt8"]


class _Int8Export(TextClassifier):
    """Shared machinery; subclasses name the fp32 path they export and how."""

    _base: ClassVar[str]
    session_: Any
    tokenizer_: Any
    onnx_model_: bytes
    export_: dict[str, Any]
    fp32_agreement_: float | None  # share of validation rows where int8 and fp32 predict the same label

    def __init__(
        self,
        *,
        base_params: dict[str, Any] | None = None,
        per_channel: bool = True,
        reduce_range: bool = False,
        validation_fraction: float = 0.1,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.base_params = base_params
        self.per_channel = per_channel
        self.reduce_range = reduce_range
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.threads = threads

    def _check_params(self) -> None:
        name = f"{self._base}-int8"
        if self.base_params is not None and not isinstance(self.base_params, dict):
            from tailorml.errors import SpecError

            raise SpecError(
                f"{name}: base_params must be a mapping of {self._base} parameters; got {self.base_params!r}",
                hint=f"pass e.g. base_params={{...}} with parameters of {self._base}, or leave it unset",
            )
        check_range("validation_fraction", self.validation_fraction, 0.0, 0.5, path=name)
        if self.threads is not None:
            check_range("threads", self.threads, 1, 1024, integer=True, path=name)

    def _base_model(self) -> Any:
        from tailorml.paths import create_path

        return create_path(self._base, **(self.base_params or {}))

    # ------------------------------------------------------------------ export

    def _quantize(self, torch: Any, module: Any, sample: tuple[np.ndarray, np.ndarray], output: str) -> bytes:
        """ONNX-export ``module`` (ids, mask -> ``output``) and return the int8-quantized graph's bytes."""
        require("onnx", "int8 export")
        quantization = require("onnxruntime.quantization", "int8 export")
        with tempfile.TemporaryDirectory() as tmp:
            fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer and deprecation warnings about the legacy exporter
                torch.onnx.export(
                    module.eval(),
                    (torch.from_numpy(sample[0]), torch.from_numpy(sample[1])),
                    str(fp32),
                    input_names=["input_ids", "attention_mask"],
                    output_names=[output],
                    dynamic_axes={**axes, output: {0: "batch"}},
                    opset_version=17,
                    dynamo=False,  # the dynamo exporter needs onnxscript, which the neural extra does not ship
                )
            import logging

            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing suggestion at WARNING
            try:
                quantization.quantize_dynamic(
                    str(fp32),
                    str(int8),
                    weight_type=quantization.QuantType.QInt8,
                    per_channel=self.per_channel,
                    reduce_range=self.reduce_range,
                    op_types_to_quantize=["MatMul"],
                )
            finally:
                root.setLevel(level)
            return int8.read_bytes()

    def _session(self, model: bytes) -> Any:
        ort = require("onnxruntime", "int8 models")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # parallelism comes from running rows side by side (see _run)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def _run(self, texts: list[str]) -> np.ndarray:
        """The graph's output for ``texts``, one row per run, rows spread over ``threads`` workers.

        Dynamic quantization scales activations by the range of the whole input tensor, so a
        padded batch would make each row's answer depend on its neighbours. Running rows one
        at a time keeps every answer independent of the batch (and of padding), and running
        them on parallel single-threaded sessions is faster on few cores than batching.
        """
        ids = encode(self.tokenizer_, texts)

        def one(row: list[int]) -> np.ndarray:
            array = np.asarray([row], dtype=np.int64)
            return self.session_.run(None, {"input_ids": array, "attention_mask": np.ones_like(array)})[0][0]

        workers = min(len(ids), self.threads or available_cores())
        if workers <= 1:
            return np.stack([one(row) for row in ids]).astype(np.float32)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            return np.stack(list(pool.map(one, ids))).astype(np.float32)

    def _record(
        self, fp32: np.ndarray, int8: np.ndarray, truth: np.ndarray, classes: np.ndarray, seconds: float
    ) -> dict[str, Any]:
        """The comparison with the fp32 model on validation rows, as stored in ``int8.json``."""
        report: dict[str, Any] = {
            "base": self._base,
            "validation_rows": len(truth),
            "export_seconds": round(seconds, 2),
            "per_channel": self.per_channel,
            "reduce_range": self.reduce_range,
            "agreement": None,
            "max_probability_difference": None,
            "fp32_validation_accuracy": None,
            "int8_validation_accuracy": None,
        }
        if len(truth):
            report["agreement"] = float(np.mean(fp32.argmax(1) == int8.argmax(1)))
            report["max_probability_difference"] = float(np.abs(fp32 - int8).max())
            report["fp32_validation_accuracy"] = float(np.mean(classes[fp32.argmax(1)] == truth))
            report["int8_validation_accuracy"] = float(np.mean(classes[int8.argmax(1)] == truth))
        return report

    def dependency_bytes(self) -> int:
        """Bytes outside the model folder that serving needs: none."""
        return 0

    # ------------------------------------------------------------------ persistence

    def _save_state(self, folder: Path) -> None:
        (folder / "model.onnx").write_bytes(self.onnx_model_)
        (folder / "tokenizer.json").write_text(self.tokenizer_.to_str(), encoding="utf-8")
        _artifact.write_json(folder, "classes.json", [str(c) for c in self.classes_])
        _artifact.write_json(folder, "int8.json", self.export_)

    def _load_state(self, folder: Path) -> None:
        report = _artifact.read_json(folder, "int8.json")
        classes = _artifact.read_json(folder, "classes.json")
        if not isinstance(report, dict) or not isinstance(report.get("max_length"), int):
            raise _artifact.corrupt(folder, "int8.json lacks max_length")
        if not isinstance(classes, list) or len(classes) < 2:
            raise _artifact.corrupt(folder, "classes.json must list at least 2 labels")
        try:
            model = (folder / "model.onnx").read_bytes()
        except FileNotFoundError:
            raise _artifact.corrupt(folder, "model.onnx is missing") from None
        self.onnx_model_ = model
        self.session_ = self._session(model)
        self.tokenizer_ = load_tokenizer(folder, report["max_length"])
        self.classes_ = np.asarray(classes, dtype=object)
        self.export_ = report
        self.fp32_agreement_ = report.get("agreement")


@register_path(
    "finetuned-int8",
    description="the finetuned path exported to ONNX with int8 weights, served by onnxruntime",
    neural=True,
    seconds_per_1k_train_rows=76.0,  # finetuned, plus ~10 s to export and quantize
    auto=False,  # minutes of CPU per thousand rows: searched only when listed
)
class FinetunedInt8(_Int8Export):
    """A :class:`~tailorml.paths.finetuned.Finetuned` model exported to int8 ONNX.

    Parameters
    ----------
    base_params:
        Parameters of the fp32 ``finetuned`` model trained first (``None``: its defaults).
    per_channel:
        Quantize weights per output channel (more accurate) rather than per tensor.
    reduce_range:
        Quantize weights to 7 bits (avoids int16 saturation on CPUs without VNNI; less precise).
    validation_fraction, seed:
        The fp32 model's validation split, unless ``base_params`` sets them; agreement with
        the fp32 model is measured there.
    threads:
        Rows run side by side, each on a single-threaded onnxruntime session (intra-op threads
        are set to 1); ``None``: the cores available to this process.

    Example
    -------
    >>> model = FinetunedInt8(base_params={"epochs": 3}).fit(texts, labels)  # doctest: +SKIP
    >>> model.fp32_agreement_  # doctest: +SKIP
    0.998
    """

    _base = "finetuned"

    def fit(
        self, X: Iterable[str], y: Iterable[Any], *, validation: tuple[Iterable[str], Iterable[Any]] | None = None
    ) -> Self:
        """Fine-tune the fp32 model, export and quantize it, and compare the two on validation rows.

        ``validation`` (texts, labels), when given, is what the fp32 model stops early on and
        where the two are compared; else a held-out share of ``X``.
        """
        texts = as_texts(X)
        labels = as_labels(y, len(texts))
        self._check_params()
        base = self.fp32_model()
        base.fit(texts, labels, validation=validation)
        return self.export_fitted(base, texts, labels, validation=validation)

    def fp32_model(self) -> Any:
        """The unfitted ``finetuned`` model this export trains: ``base_params``, with this path's
        ``validation_fraction`` and ``seed`` unless ``base_params`` sets them.

        ``tailor train`` compares it with an already fitted ``finetuned`` candidate to export that one instead.
        """
        base = self._base_model()
        own = {"validation_fraction": self.validation_fraction, "seed": self.seed}
        return base.set_params(**{k: v for k, v in own.items() if k not in (self.base_params or {})})

    def export_fitted(
        self,
        base: Any,
        X: Iterable[str],
        y: Iterable[Any],
        *,
        validation: tuple[Iterable[str], Iterable[Any]] | None = None,
    ) -> Self:
        """Export an already fitted ``finetuned`` model (``base``, fitted on ``X, y``) instead of training one.

        Agreement is measured on ``validation`` (texts, labels) when given, else on
        ``base.validation_rows_`` of ``X``, the rows it never trained on.
        """
        texts = as_texts(X)
        labels = as_labels(y, len(texts))
        ids = encode(base.tokenizer_, texts[:2])  # the export's example input
        if validation is not None:
            texts = as_texts(validation[0])
            labels = as_labels(validation[1], len(texts), min_classes=0)
        params = base.get_params()
        start = time.perf_counter()
        with torch_threads(params["threads"]) as torch:
            model = self._quantize(torch, base.module_, pad(ids, np.arange(len(ids))), "logits")
        self.onnx_model_ = model
        self.session_ = self._session(model)
        self.tokenizer_ = base.tokenizer_
        self.classes_ = base.classes_
        val = np.arange(len(texts)) if validation is not None else base.validation_rows_
        val_texts = [texts[i] for i in val]
        fp32 = base.predict_proba(val_texts) if len(val) else np.zeros((0, len(self.classes_)))
        int8 = softmax(self._run(val_texts)) if len(val) else fp32
        self.export_ = {
            **self._record(fp32, int8, labels[val], self.classes_, time.perf_counter() - start),
            "max_length": int(base.max_length),
            "fp32_history": base.history_,
        }
        self.fp32_agreement_ = self.export_["agreement"]
        return self

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Class probabilities, shape ``(n_texts, n_classes)``, columns ordered as ``classes_``."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        return softmax(self._run(texts))


@register_path(
    "embedding-linear-int8",
    description="embedding-linear with its encoder exported to ONNX with int8 weights, served by onnxruntime",
    neural=True,
    seconds_per_1k_train_rows=7.0,  # fp32 embeddings (cached by embedding-linear), int8 embeddings, export
    auto=False,  # an export step on top of embedding-linear: searched only when listed
)
class EmbeddingLinearInt8(_Int8Export):
    """An :class:`~tailorml.paths.embedding.EmbeddingLinear` model whose encoder runs as int8 ONNX.

    By default the head is fitted on the int8 encoder's embeddings of every row, the features
    it will see when serving. On BANKING77 (2026-11-30, ``bench/intent.py``) a head fitted on
    mpnet's fp32 embeddings lost 0.78 pt of accuracy on int8 ones. Agreement compares the two
    whole models on a stratified validation share, each with a head fitted the same way on the
    other rows, so that it is measured on rows neither head saw.

    Parameters
    ----------
    base_params:
        Parameters of the fp32 ``embedding-linear`` model (``None``: its defaults).
    per_channel, reduce_range, threads:
        As for :class:`FinetunedInt8`.
    validation_fraction, seed:
        The split on which agreement with the fp32 model is measured.
    head_features:
        ``"int8"`` (fit the head on the int8 embeddings) or ``"fp32"`` (on the fp32 ones, which
        the fp32 path may have cached: faster to fit).
    """

    _base = "embedding-linear"
    head_: LinearHead

    def __init__(
        self,
        *,
        base_params: dict[str, Any] | None = None,
        per_channel: bool = True,
        reduce_range: bool = False,
        validation_fraction: float = 0.1,
        seed: int = 0,
        threads: int | None = None,
        head_features: str = "int8",
    ) -> None:
        super().__init__(
            base_params=base_params,
            per_channel=per_channel,
            reduce_range=reduce_range,
            validation_fraction=validation_fraction,
            seed=seed,
            threads=threads,
        )
        self.head_features = head_features

    def fit(self, X: Iterable[str], y: Iterable[Any]) -> Self:
        """Export and quantize the encoder, fit the head, and compare with the fp32 model."""
        texts = as_texts(X)
        labels = as_labels(y, len(texts))
        self._check_params()
        if self.head_features not in ("int8", "fp32"):
            from tailorml.errors import SpecError

            raise SpecError(
                f"{self._base}-int8: head_features must be int8 or fp32; got {self.head_features!r}",
                hint="leave head_features unset (int8: the head learns the features it will serve on)",
            )
        base = self._base_model()
        fp32_features = base.embed(texts)
        from tailorml.paths.embedding import _resolve, load_encoder

        fit_head = {"C": base.C, "class_weight": base.class_weight, "max_iter": base.max_iter, "tol": base.tol}
        train, val = carve_validation(labels, self.validation_fraction, self.seed)
        start = time.perf_counter()
        encoder = load_encoder(base.encoder)
        max_length = int(encoder.max_seq_length)
        tokenizer = load_tokenizer(_resolve(base.encoder)[0], max_length)
        ids = encode(tokenizer, texts[:2])
        with torch_threads(self.threads) as torch:
            module = _mean_pooler(torch, encoder[0].auto_model)
            model = self._quantize(torch, module, pad(ids, np.arange(len(ids))), "embedding")
        self.onnx_model_ = model
        self.session_ = self._session(model)
        self.tokenizer_ = tokenizer
        features = self._embed(texts) if self.head_features == "int8" else fp32_features
        self.head_ = LinearHead.fit(features, labels, **fit_head)
        self.classes_ = self.head_.classes
        fp32 = int8 = np.zeros((0, len(self.classes_)))
        if len(val):
            fp32_head = LinearHead.fit(fp32_features[train], labels[train], **fit_head)
            int8_head = (
                fp32_head if features is fp32_features else LinearHead.fit(features[train], labels[train], **fit_head)
            )
            fp32 = fp32_head.predict_proba(fp32_features[val])
            served = features[val] if self.head_features == "int8" else self._embed([texts[i] for i in val])
            int8 = int8_head.predict_proba(served)
        self.export_ = {
            **self._record(fp32, int8, labels[val], self.classes_, time.perf_counter() - start),
            "max_length": max_length,
            "head_features": self.head_features,
        }
        self.fp32_agreement_ = self.export_["agreement"]
        return self

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._run(texts)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        """Class probabilities, shape ``(n_texts, n_classes)``, columns ordered as ``classes_``."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        return self.head_.predict_proba(self._embed(texts))

    def _save_state(self, folder: Path) -> None:
        super()._save_state(folder)
        self.head_.save(folder)

    def _load_state(self, folder: Path) -> None:
        super()._load_state(folder)
        self.head_ = LinearHead.load(folder)


@register_path(
    "embedding-linear-mpnet-int8",
    description="embedding-linear-mpnet with its encoder exported to ONNX with int8 weights, served by onnxruntime",
    neural=True,
    seconds_per_1k_train_rows=33.0,  # mpnet fp32 embeddings (cached by the fp32 path), int8 embeddings, export
    auto=False,  # needs make teacher, like embedding-linear-mpnet: searched only when listed
)
class EmbeddingLinearMpnetInt8(EmbeddingLinearInt8):
    """:class:`EmbeddingLinearInt8` for ``embedding-linear-mpnet``: the 420 MB encoder as int8 ONNX.

    Parameters are those of :class:`EmbeddingLinearInt8`; ``base_params`` are
    ``embedding-linear-mpnet``'s.
    """

    _base = "embedding-linear-mpnet"


def _mean_pooler(torch: Any, encoder: Any) -> Any:
    """A module giving the mask-weighted mean of ``encoder``'s token states (sentence-transformers' pooling)."""

    class MeanPooler(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(states.dtype)
            return (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    return MeanPooler()
