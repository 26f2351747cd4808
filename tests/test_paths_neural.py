"""The finetuned, int8 and distilled paths: contract, determinism, time budget, export agreement, no pickle."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tailorml.data.synth import synthesize
from tailorml.errors import SpecError
from tailorml.paths import available_paths, load_model, save_model
from tailorml.paths._neural import carve_validation
from tailorml.testing import TINY_TEXTS, check_model_path

# Tests that load MiniLM share one xdist worker, so the encoder and torch load once.
ON_ONE_WORKER = pytest.mark.xdist_group("minilm-encoder") if importlib.util.find_spec("xdist") else pytest.mark.slow


def neural(test: Any) -> Any:
    """Mark a test that loads MiniLM (slow; on the encoder's xdist worker)."""
    return pytest.mark.slow(ON_ONE_WORKER(test))


X = [text for text, _ in TINY_TEXTS]
Y = [label for _, label in TINY_TEXTS]
TINY: dict[str, Any] = {"epochs": 1, "max_length": 16, "progress": False, "threads": 1}


@pytest.fixture(scope="module")
def finetuned() -> Any:
    from tailorml.paths.finetuned import Finetuned

    return Finetuned(**{**TINY, "epochs": 2}).fit(X, Y)


@pytest.fixture(scope="module")
def finetuned_int8(finetuned: Any) -> Any:
    from tailorml.paths.int8 import FinetunedInt8

    return FinetunedInt8(base_params={**TINY, "epochs": 2}).export_fitted(finetuned, X, Y)


def test_the_new_paths_are_registered() -> None:
    paths = available_paths()
    for name in ("finetuned", "finetuned-int8", "embedding-linear-int8", "distilled"):
        assert paths[name].neural, name


def test_validation_split_is_stratified_and_seeded() -> None:
    labels = np.array(["a"] * 20 + ["b"] * 10 + ["c"])
    train, val = carve_validation(labels, 0.1, seed=3)
    assert sorted(labels[val].tolist()) == ["a", "a", "b"]  # 10% of each class; a singleton stays in training
    assert set(train.tolist()) | set(val.tolist()) == set(range(len(labels))) and not set(train) & set(val)
    assert np.array_equal(carve_validation(labels, 0.1, seed=3)[1], val)
    assert not np.array_equal(carve_validation(labels, 0.1, seed=4)[1], val)


# --------------------------------------------------------------------------- finetuned


@pytest.mark.parametrize(
    ("params", "message"),
    [({"pooling": "max"}, "pooling"), ({"max_length": 4}, "max_length"), ({"lr": -1.0}, "lr")],
)
def test_finetuned_rejects_bad_params_before_loading_anything(params: dict[str, Any], message: str) -> None:
    from tailorml.paths.finetuned import Finetuned

    with pytest.raises(SpecError, match=message):
        Finetuned(**params).fit(X, Y)


@neural
@pytest.mark.parametrize("name", ["finetuned", "finetuned-int8"])
@pytest.mark.usefixtures("finetuned")  # torch and the encoder are loaded once, by the fixture
def test_finetuned_paths_keep_the_contract(name: str) -> None:
    from tailorml.paths import create_path

    params = TINY if name == "finetuned" else {"base_params": TINY}
    check_model_path(create_path(name, **params))


@neural
def test_finetuned_is_deterministic_under_a_seed(finetuned: Any) -> None:
    from tailorml.paths.finetuned import Finetuned

    again = Finetuned(**{**TINY, "epochs": 2}).fit(X, Y)
    assert np.array_equal(again.predict_proba(X), finetuned.predict_proba(X))
    assert [h["train_loss"] for h in again.history_] == [h["train_loss"] for h in finetuned.history_]


@neural
def test_finetuned_keeps_its_best_epoch(finetuned: Any) -> None:
    assert finetuned.stopped_by_ == "epochs" and len(finetuned.history_) == 2
    scores = [h["validation_accuracy"] for h in finetuned.history_]
    assert finetuned.validation_accuracy_ == max(scores)
    assert len(finetuned.validation_rows_) == 3  # one per class of 10


@neural
def test_a_spent_time_budget_stops_training_with_a_usable_model() -> None:
    from tailorml.paths.finetuned import Finetuned

    model = Finetuned(**{**TINY, "epochs": 50}, time_budget_s=0.0).fit(X, Y)
    assert model.stopped_by_ == "time_budget"
    assert len(model.history_) == 1 and model.history_[0]["steps"] == 1  # stopped after its first step
    assert model.history_[0]["validation_accuracy"] is not None  # the stopped weights were still validated
    assert model.predict_proba(X[:2]).shape == (2, 3)


@neural
def test_given_a_validation_set_every_training_row_trains_and_the_export_is_compared_there(finetuned: Any) -> None:
    from tailorml.paths.finetuned import Finetuned
    from tailorml.paths.int8 import FinetunedInt8

    held = ([*X[:4], "a label training never saw"], [*Y[:4], "unseen"])
    model = Finetuned(**{**TINY, "epochs": 2}).fit(X, Y, validation=held)
    assert len(model.validation_rows_) == 0  # nothing of X held out
    assert all(h["validation_accuracy"] is not None for h in model.history_)  # scored on the 4 known rows
    assert model.validation_accuracy_ == max(h["validation_accuracy"] for h in model.history_)
    exported = FinetunedInt8(base_params={**TINY, "epochs": 2}).export_fitted(model, X, Y, validation=held)
    assert exported.export_["validation_rows"] == 5 and exported.fp32_agreement_ is not None


@neural
def test_finetuned_saves_safetensors_and_loads_without_pickle(finetuned: Any, tmp_path: Path) -> None:
    folder = save_model(finetuned, tmp_path / "model")
    assert {"weights.safetensors", "config.json", "tokenizer.json", "training.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert json.loads((folder / "training.json").read_text())["stopped_by"] == "epochs"
    loaded = load_model(folder)
    assert np.array_equal(loaded.predict_proba(X), finetuned.predict_proba(X))
    assert loaded.history_ == finetuned.history_


# --------------------------------------------------------------------------- int8


@neural
def test_int8_export_records_agreement_with_fp32(finetuned_int8: Any, tmp_path: Path) -> None:
    report = finetuned_int8.export_
    assert report["validation_rows"] == 3 and 0.0 <= finetuned_int8.fp32_agreement_ <= 1.0
    assert report["agreement"] == finetuned_int8.fp32_agreement_
    assert 0.0 <= report["max_probability_difference"] < 0.1
    folder = save_model(finetuned_int8, tmp_path / "int8")
    assert json.loads((folder / "int8.json").read_text())["agreement"] == finetuned_int8.fp32_agreement_
    assert load_model(folder).fp32_agreement_ == finetuned_int8.fp32_agreement_


@neural
def test_int8_answers_do_not_depend_on_the_batch(finetuned_int8: Any) -> None:
    together = finetuned_int8.predict_proba(X[:5])
    alone = np.vstack([finetuned_int8.predict_proba([text]) for text in X[:5]])
    assert np.array_equal(together, alone)


def _serve_without_torch(folder: Path) -> dict[str, Any]:
    code = (
        "import json, sys\n"
        "from tailorml.paths import load_model\n"
        f"model = load_model({str(folder)!r})\n"
        f"labels = model.predict({X[:3]!r}).tolist()\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print(json.dumps({'labels': labels, 'heavy': heavy}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@neural
def test_int8_serves_with_onnxruntime_only(finetuned_int8: Any, tmp_path: Path) -> None:
    folder = save_model(finetuned_int8, tmp_path / "int8")
    served = _serve_without_torch(folder)
    assert served == {"labels": finetuned_int8.predict(X[:3]).tolist(), "heavy": []}


@neural
def test_embedding_linear_int8_records_agreement_and_serves_without_torch(tmp_path: Path) -> None:
    from tailorml.paths.int8 import EmbeddingLinearInt8

    # its contract with default parameters runs in test_paths.py, over every registered path
    model = EmbeddingLinearInt8().fit(X, Y)
    assert model.export_["validation_rows"] == 3 and model.fp32_agreement_ is not None
    assert model.export_["head_features"] == "int8"  # the head learned the features it serves on
    assert model.export_["max_probability_difference"] < 0.05
    served = _serve_without_torch(save_model(model, tmp_path / "model"))
    assert served == {"labels": model.predict(X[:3]).tolist(), "heavy": []}


def test_embedding_int8_head_features_must_be_int8_or_fp32() -> None:
    from tailorml.paths.int8 import EmbeddingLinearInt8

    with pytest.raises(SpecError, match="head_features must be int8 or fp32; got 'fp16'"):
        EmbeddingLinearInt8(head_features="fp16").fit(X, Y)


# --------------------------------------------------------------------------- distilled


@pytest.fixture(scope="module")
def synth() -> tuple[list[str], list[str]]:
    frame = synthesize(200, seed=2, oos_fraction=0.0)
    return frame["text"].tolist(), frame["label"].tolist()


def test_distilled_keeps_the_contract_with_any_teacher() -> None:
    from tailorml.paths.distilled import Distilled

    # with the default teacher (embedding-linear) it runs in test_paths.py, over every registered path
    check_model_path(Distilled(teacher="tfidf-linear", teacher_params={"C": 5.0}, augment=2, temperature=1.0))


def test_distilled_reports_teacher_and_student(synth: tuple[list[str], list[str]]) -> None:
    from tailorml.paths.distilled import Distilled

    extra = ["hello, where is my parcel", "refund me now please"]
    model = Distilled(teacher="tfidf-linear", augment=2, extra_texts=extra, max_iter=100).fit(*synth)
    report = model.distillation_
    assert report["labeled_rows"] + report["validation_rows"] == len(synth[0])
    assert report["labeled_rows"] < report["unlabeled_rows"] <= 2 * report["labeled_rows"] + len(extra)
    for role in ("teacher", "student"):
        assert report[role]["validation_accuracy"] > 0.7 and report[role]["ms_per_row"] > 0
    assert 0.7 < report["student_teacher_agreement"] <= 1.0


def test_soft_head_fits_soft_targets() -> None:
    from scipy.sparse import csr_matrix

    from tailorml.paths.distilled import _fit_soft_head

    features = csr_matrix(np.eye(3))
    targets = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    head = _fit_soft_head(features, targets, np.array(["a", "b", "c"], dtype=object), C=1e4, max_iter=500)
    assert np.allclose(head.predict_proba(features), targets, atol=0.01)


def test_distilled_rejects_a_distilled_teacher() -> None:
    from tailorml.paths.distilled import Distilled

    with pytest.raises(SpecError, match="teacher"):
        Distilled(teacher="distilled").fit(X, Y)
