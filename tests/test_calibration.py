"""Calibration, out-of-scope thresholds, risk-coverage and the validation-weighted ensemble."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
import pytest

from tailorml.abstain import risk_coverage
from tailorml.calibration import (
    IsotonicCalibration,
    TemperatureScaling,
    calibrator_from_state,
    choose_calibrator,
    softmax,
)
from tailorml.data.synth import synthesize
from tailorml.errors import SpecError
from tailorml.metrics.quality import expected_calibration_error
from tailorml.oos import OutOfScopeRule, choose_oos_threshold, recall_lower_bound, score_quality, shift_prior
from tailorml.paths import _artifact, load_model, register_path, save_model
from tailorml.paths._base import TextClassifier, as_labels, as_texts
from tailorml.paths.calibrated import Calibrated
from tailorml.paths.ensemble import Ensemble, choose_members, choose_weights
from tests._projects import write_project

ON_ONE_WORKER = pytest.mark.xdist_group("minilm-encoder") if importlib.util.find_spec("xdist") else pytest.mark.slow


def _overconfident(n: int, k: int, temperature: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities ``temperature`` times too sharp, and labels drawn from the true ones."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2.5
    truth = np.array([rng.choice(k, p=p) for p in softmax(logits)])
    return np.log(softmax(logits * temperature)), truth


def _ece(proba: np.ndarray, truth: np.ndarray) -> float:
    return expected_calibration_error(proba.argmax(1) == truth, proba.max(1))


def test_temperature_scaling_recovers_a_known_temperature_and_lowers_ece() -> None:
    log_proba, truth = _overconfident(4000, 5, temperature=2.5, seed=0)
    scaler = TemperatureScaling().fit(log_proba, truth)
    assert abs(scaler.temperature - 2.5) < 0.15
    test_log, test_truth = _overconfident(4000, 5, temperature=2.5, seed=1)
    before, after = _ece(softmax(test_log), test_truth), _ece(scaler.transform(test_log), test_truth)
    assert before > 0.1 and after < 0.03
    assert np.array_equal(scaler.transform(test_log).argmax(1), test_log.argmax(1))


def test_isotonic_is_monotone_keeps_the_label_and_round_trips() -> None:
    log_proba, truth = _overconfident(3000, 4, temperature=3.0, seed=2)
    iso = IsotonicCalibration().fit(log_proba, truth)
    assert all(b >= a for a, b in zip(iso.y, iso.y[1:], strict=False)) and iso.x == sorted(iso.x)
    test_log, test_truth = _overconfident(3000, 4, temperature=3.0, seed=3)
    calibrated = iso.transform(test_log)
    assert np.allclose(calibrated.sum(1), 1.0)
    assert np.array_equal(calibrated.argmax(1), test_log.argmax(1))
    # The map is monotone; the top probability follows it except where it is raised to stay on top.
    raw_conf = np.sort(softmax(test_log).max(1))
    assert np.all(np.diff(np.interp(raw_conf, iso.x, iso.y)) >= 0)
    mapped = np.interp(softmax(test_log).max(1), iso.x, iso.y)
    assert np.all(calibrated.max(1) >= mapped - 1e-9)
    assert _ece(calibrated, test_truth) < _ece(softmax(test_log), test_truth) / 2
    assert np.array_equal(calibrator_from_state(json.loads(json.dumps(iso.state()))).transform(test_log), calibrated)


def test_auto_compares_methods_on_held_out_validation_folds() -> None:
    log_proba, truth = _overconfident(2000, 5, temperature=2.0, seed=4)
    chosen, scores = choose_calibrator(log_proba, truth)
    assert set(scores) == {"none", "temperature", "isotonic"}
    assert chosen.method in ("temperature", "isotonic") and scores["none"] > scores[chosen.method]
    few_log, few_truth = _overconfident(300, 5, temperature=2.0, seed=4)
    assert set(choose_calibrator(few_log, few_truth)[1]) == {"none", "temperature"}  # too few rows for isotonic
    perfect = few_log.argmax(axis=1)  # no validation mistakes: nothing to calibrate on, so leave it alone
    assert choose_calibrator(few_log, perfect)[0].method == "none"


def test_oos_threshold_reaches_the_requested_recall_with_the_best_accuracy() -> None:
    # 10 out-of-scope rows with scores 0.5..0.95, 20 in-scope rows with scores 0..0.57.
    score = np.r_[np.linspace(0.5, 0.95, 10), np.linspace(0.0, 0.57, 20)]
    is_oos = np.r_[np.ones(10, bool), np.zeros(20, bool)]
    correct = np.ones(30, bool)
    threshold, recall, in_acc, rule, false_flags = choose_oos_threshold(score, is_oos, correct, target_recall=0.8)
    assert rule == "reach_recall" and false_flags == (score >= threshold)[~is_oos].mean()
    flagged = score >= threshold
    assert recall == flagged[is_oos].mean() >= 0.8
    assert in_acc == 1 - flagged[~is_oos].mean()
    # Any lower threshold that also reaches 0.8 refuses more in-scope rows.
    assert in_acc == 1.0 and threshold == pytest.approx(0.6)
    full = choose_oos_threshold(score, is_oos, correct, target_recall=1.0)
    assert full[1] == 1.0 and full[2] < 1.0
    unreachable = choose_oos_threshold(score, is_oos, correct, target_recall=1.0 + 1e-9)
    assert unreachable[1] == 1.0  # the highest recall it can give


def test_a_confidence_asks_for_a_validation_recall_whose_lower_bound_reaches_the_target() -> None:
    # 100 out-of-scope rows scored 0.01..1.00; 100 in-scope rows scored 0..0.3, so that each more caught
    # out-of-scope row costs about three in-scope ones: the best accuracy takes the least recall allowed.
    score = np.r_[np.linspace(0.01, 1.0, 100), np.linspace(0.0, 0.3, 100)]
    is_oos = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    correct = np.ones(200, bool)
    point = choose_oos_threshold(score, is_oos, correct, target_recall=0.8)
    sure = choose_oos_threshold(score, is_oos, correct, target_recall=0.8, confidence=0.95)
    assert point[1] == pytest.approx(0.80) and sure[1] == pytest.approx(0.87)  # 87/100: lower bound 0.801
    assert recall_lower_bound(np.array([86, 87]), 100, 0.95).tolist() == pytest.approx([0.790, 0.801], abs=1e-3)
    # Ten out-of-scope rows cannot show 0.8 at 95% (10/10 gives 0.74): the point estimate decides.
    few = np.r_[np.ones(10, bool), np.zeros(100, bool)]
    few_score = np.r_[np.linspace(0.5, 0.95, 10), np.linspace(0.0, 0.4, 100)]
    assert choose_oos_threshold(few_score, few, np.ones(110, bool), target_recall=0.8, confidence=0.95) == (
        choose_oos_threshold(few_score, few, np.ones(110, bool), target_recall=0.8)
    )
    quality = score_quality(score, is_oos, correct, target_recall=0.8, confidence=0.95)
    assert quality.recall == pytest.approx(0.87) and quality.recall_lower_bound == pytest.approx(0.801, abs=1e-3)


def test_keeping_in_scope_accuracy_flags_as_much_as_the_floor_allows() -> None:
    # 100 out-of-scope rows scored 0.01..1.00; 1,000 in-scope rows scored 0..0.5, all labeled right.
    score = np.r_[np.linspace(0.01, 1.0, 100), np.linspace(0.0, 0.5, 1000)]
    is_oos = np.r_[np.ones(100, bool), np.zeros(100 * 10, bool)]
    correct = np.ones(1100, bool)
    keep = choose_oos_threshold(score, is_oos, correct, target_recall=0.5, min_in_scope_accuracy=0.9)
    flagged = score >= keep.threshold
    assert keep.rule == "keep_in_scope_accuracy"
    assert keep.in_scope_accuracy == 1 - flagged[~is_oos].mean() >= 0.9
    # The floor allows 100 in-scope rows flagged: scores above 0.45 go, and so do the out-of-scope rows above it.
    assert keep.in_scope_accuracy == pytest.approx(0.9, abs=0.001) and keep.recall == pytest.approx(0.56)
    reach = choose_oos_threshold(score, is_oos, correct, target_recall=0.5)
    assert reach.rule == "reach_recall" and reach.recall == pytest.approx(0.5) and reach.in_scope_accuracy == 1.0
    # With a confidence the floor is a lower bound: it flags fewer in-scope rows.
    sure = choose_oos_threshold(score, is_oos, correct, min_in_scope_accuracy=0.9, confidence=0.95)
    assert 0.9 < sure.in_scope_accuracy < 0.93 and sure.recall < keep.recall
    quality = score_quality(score, is_oos, correct, min_in_scope_accuracy=0.9, confidence=0.95)
    assert quality.rule == "keep_in_scope_accuracy" and quality.in_scope_lower_bound >= 0.9


def test_keeping_in_scope_accuracy_flags_past_the_last_out_of_scope_validation_row() -> None:
    # Every out-of-scope validation row scores above every in-scope one: recall is 1.0 from 0.9 down,
    # yet the floor allows flagging 10% of the in-scope rows, where harder out-of-scope inputs would fall.
    score = np.r_[np.linspace(0.9, 1.0, 50), np.linspace(0.0, 0.5, 1000)]
    is_oos = np.r_[np.ones(50, bool), np.zeros(1000, bool)]
    keep = choose_oos_threshold(score, is_oos, np.ones(1050, bool), min_in_scope_accuracy=0.9)
    assert keep.recall == 1.0 and keep.in_scope_accuracy == pytest.approx(0.9)
    assert keep.threshold == pytest.approx(0.45, abs=0.001)


def test_an_unreachable_in_scope_floor_falls_back_to_reaching_the_recall() -> None:
    score = np.r_[np.linspace(0.5, 0.95, 10), np.linspace(0.0, 0.57, 20)]
    is_oos = np.r_[np.ones(10, bool), np.zeros(20, bool)]
    correct = np.r_[np.ones(10, bool), np.arange(20) % 2 == 0]  # half the in-scope labels are wrong
    floor = choose_oos_threshold(score, is_oos, correct, target_recall=0.8, min_in_scope_accuracy=0.9)
    assert floor == choose_oos_threshold(score, is_oos, correct, target_recall=0.8)
    assert floor.rule == "reach_recall"


def test_prior_shift_moves_the_out_of_scope_probability_to_the_stated_share() -> None:
    # Scores from two normal laws (in scope N(0, 1), out of scope N(2, 1)): the exact posterior at a 3%
    # share, moved to 18%, is the exact posterior at 18%.
    x = np.linspace(-3, 5, 81)
    ratio = np.exp(-((x - 2) ** 2) / 2) / np.exp(-(x**2) / 2)

    def posterior(share: float) -> np.ndarray:
        return share * ratio / (share * ratio + 1 - share)

    p = posterior(0.03)
    assert shift_prior(p, 0.03, 0.18) == pytest.approx(posterior(0.18))
    assert shift_prior(p, 0.2, 0.2) == pytest.approx(p)
    assert np.all(np.diff(shift_prior(np.linspace(0, 1, 11), 0.03, 0.18)) > 0)  # the order is kept
    rule = OutOfScopeRule(label="oos", score="max_prob", threshold=0.5, curve_x=[0.0, 1.0], curve_y=[0.0, 0.5])
    moved = rule.model_copy(update={"expected_rate": 0.5, "validation_rate": 0.1})
    assert rule.probability(np.array([1.0]))[0] == 0.5
    assert moved.probability(np.array([1.0]))[0] == pytest.approx(0.9)


def test_risk_coverage_is_monotone_where_it_must_be() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(size=500)
    correct = rng.uniform(size=500) < confidence  # calibrated by construction
    curve = risk_coverage(confidence, correct, points=40)
    coverage, risk, threshold = (np.array(v) for v in zip(*curve, strict=True))
    assert len(curve) <= 40 and coverage[-1] == 1.0 and risk[-1] == pytest.approx(1 - correct.mean())
    assert np.all(np.diff(coverage) > 0) and np.all(np.diff(threshold) <= 0)
    # Correct predictions all more confident than the wrong ones: risk never falls as coverage grows.
    ordered = risk_coverage(np.linspace(1, 0, 100), np.arange(100) < 70, points=100)
    assert np.all(np.diff([r for _, r, _ in ordered]) >= 0) and ordered[69][1] == 0.0 and ordered[70][1] > 0


def test_ensemble_weights_are_chosen_on_validation() -> None:
    truth = np.array([0, 1, 0, 1])
    good = np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9]])
    noise = np.full((4, 2), 0.5)
    weights, loss = choose_weights([noise, good], truth)
    assert weights == [0.0, 1.0] and loss == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.8, 0.9])))
    both = choose_weights([good[:, ::-1] * 0 + [0.6, 0.4], good], truth)[0]
    assert both[1] > both[0]


class _Fixed:
    """A fitted member whose probabilities for the texts "0".."3" are given."""

    def __init__(self, table: np.ndarray) -> None:
        self.classes_ = np.array(["a", "b"], dtype=object)
        self.table = table

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.table[[int(t) for t in texts]]


def test_ensemble_members_weigh_the_same_unless_log_loss_weights_are_asked_for() -> None:
    truth = ["a", "b", "a", "b"]
    good = np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9]])
    members = [_Fixed(np.full((4, 2), 0.5)), _Fixed(good)]
    equal = Ensemble(members=("x", "y")).combine(members, ["0", "1", "2", "3"], truth)
    assert equal.weights_ == [0.5, 0.5]
    assert equal.validation_loss_ == pytest.approx(-np.mean(np.log((0.5 + good[[0, 1, 2, 3], [0, 1, 0, 1]]) / 2)))
    tuned = Ensemble(members=("x", "y"), weighting="log_loss").combine(members, ["0", "1", "2", "3"], truth)
    assert tuned.weights_ == [0.0, 1.0] and tuned.validation_loss_ < equal.validation_loss_
    with pytest.raises(SpecError, match="weighting must be one of equal, log_loss"):
        Ensemble(members=("x", "y"), weighting="best").fit(["0", "1"], ["a", "b"])


def test_auto_members_are_the_set_whose_average_fits_validation_best() -> None:
    truth = np.array([0, 1, 0, 1, 0, 1])
    sure = np.array([[0.95, 0.05], [0.3, 0.7], [0.95, 0.05], [0.3, 0.7], [0.95, 0.05], [0.3, 0.7]])
    mirror = sure[:, ::-1][[1, 0, 3, 2, 5, 4]]  # as good, but sure on the other class
    weak = np.full((6, 2), 0.5)
    probas = {"sure": sure, "mirror": mirror, "weak": weak, "sure-int8": sure * 0.999 + 0.0005}
    members, loss = choose_members(probas, truth)
    assert members in (["sure", "mirror"], ["mirror", "sure-int8"]) and "weak" not in members
    # A model and its own export are never combined, and a set may have at most max_members.
    apart = [("sure-int8", "sure")]
    assert choose_members(probas, truth, apart=apart)[0] == ["sure", "mirror"]
    assert loss == pytest.approx(-np.mean(np.log((sure[[0, 1], [0, 1]] + mirror[[0, 1], [0, 1]]) / 2).repeat(3)))
    with pytest.raises(ValueError, match="own export"):
        choose_members({"sure": sure, "sure-int8": sure}, truth, apart=apart)
    assert len(choose_members({f"m{i}": sure for i in range(6)}, truth, max_members=3)[0]) == 2  # ties: fewest
    tuned_loss = choose_members(probas, truth, weighting="log_loss", apart=apart)[1]
    assert tuned_loss <= loss + 1e-9


def test_training_picks_auto_members_from_the_fitted_candidates_on_validation() -> None:
    from types import SimpleNamespace

    from tailorml.spec import parse_spec
    from tailorml.train import ensemble_members

    texts, truth = ["0", "1", "2", "3"], ["a", "b", "a", "b"]
    left = np.array([[0.95, 0.05], [0.4, 0.6], [0.95, 0.05], [0.4, 0.6]])
    right = np.array([[0.6, 0.4], [0.05, 0.95], [0.6, 0.4], [0.05, 0.95]])
    weak = np.full((4, 2), 0.5)
    fitted = {
        name: Calibrated(method="none").calibrate(_Fixed(table), texts, truth)
        for name, table in (("tfidf-linear", left), ("embedding-linear", right), ("embedding-linear-mpnet", weak))
    }
    dataset = SimpleNamespace(validation=SimpleNamespace(texts=texts, labels=truth))
    base = {"project": "p", "task": {"input": "text", "target": "label"}, "data": {"train": "t.csv"}}
    chosen = ensemble_members(parse_spec({**base, "ensemble": "auto"}), fitted, dataset)
    assert sorted(chosen) == ["embedding-linear", "tfidf-linear"]
    pair = ["tfidf-linear", "embedding-linear-mpnet"]
    assert ensemble_members(parse_spec({**base, "candidates": pair, "ensemble": pair}), fitted, dataset) == pair
    assert ensemble_members(parse_spec({**base, "ensemble": "none"}), fitted, dataset) == []


# --------------------------------------------------------------------------- calibrated path


@pytest.fixture(scope="module")
def oos_data() -> tuple[list[str], list[str]]:
    frame = synthesize(1200, seed=3)
    return frame["text"].tolist(), frame["label"].tolist()


def test_calibrated_path_flags_exactly_at_its_threshold_and_round_trips(
    oos_data: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    texts, labels = oos_data
    model = Calibrated(method="temperature", out_of_scope="oos", oos_score="energy").fit(
        texts[:800], labels[:800], validation=(texts[800:1000], labels[800:1000])
    )
    rule = model.oos_rule_
    assert rule is not None and rule.score == "energy" and set(rule.validation) == {"max_prob", "energy"}
    assert model.summary_["method"] == "temperature" and model.summary_["validation_rows"] == 200
    held = texts[1000:]
    proba = model.predict_proba(held)
    score = model.oos_score_of(held)
    predicted_oos = model.classes_[proba.argmax(1)] == "oos"
    assert np.array_equal(predicted_oos, score >= rule.threshold)
    assert np.allclose(proba.sum(1), 1.0)
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert np.array_equal(loaded.predict_proba(held), proba)


def test_calibrated_path_keeps_its_in_scope_floor_and_states_production_share(
    oos_data: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    texts, labels = oos_data
    fit = {"X": texts[:800], "y": labels[:800], "validation": (texts[800:1000], labels[800:1000])}
    plain = Calibrated(method="temperature", out_of_scope="oos", oos_score="max_prob", oos_recall=0.5).fit(**fit)
    model = Calibrated(
        method="temperature",
        out_of_scope="oos",
        oos_score="max_prob",
        oos_recall=0.5,
        oos_min_in_scope_accuracy=0.8,
        oos_expected_rate=0.4,
    ).fit(**fit)
    rule, used = model.oos_rule_, model.oos_rule_.validation["max_prob"]
    assert used.rule == "keep_in_scope_accuracy" and used.in_scope_accuracy >= 0.8
    assert used.recall >= plain.oos_rule_.validation["max_prob"].recall  # it flags at least as much
    assert rule.validation_rate == pytest.approx(np.mean(np.asarray(labels[800:1000]) == "oos"))
    held = texts[1000:]
    oos = list(model.classes_).index("oos")
    # The same detector at validation's share: only the out-of-scope probability differs, upward.
    at_validation = model.oos_rule_.model_copy(update={"expected_rate": None})
    score = model.oos_score_of(held)
    assert np.all(rule.probability(score) >= at_validation.probability(score) - 1e-12)
    proba = model.predict_proba(held)
    assert np.array_equal(model.classes_[proba.argmax(1)] == "oos", score >= rule.threshold)
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert loaded.oos_rule_.expected_rate == 0.4 and np.array_equal(loaded.predict_proba(held), proba)
    assert proba[:, oos].mean() > plain.predict_proba(held)[:, oos].mean()


def test_calibrated_bad_settings_are_spec_errors(oos_data: tuple[list[str], list[str]]) -> None:
    texts, labels = oos_data
    with pytest.raises(SpecError, match="calibration method"):
        Calibrated(method="platt").fit(texts[:100], labels[:100])
    with pytest.raises(SpecError, match="sentence embeddings"):
        Calibrated(out_of_scope="oos", oos_score="centroid").fit(texts[:600], labels[:600])
    with pytest.raises(SpecError, match="at least two"):
        Ensemble(members=("tfidf-linear",)).fit(texts[:100], labels[:100])


# --------------------------------------------------------------------------- ensemble latency


class SleepyPrior(TextClassifier):  # registered only inside its test, so the registry stays clean
    """Predicts the training label frequencies after sleeping ``delay_ms`` per call."""

    prior_: np.ndarray

    def __init__(self, *, delay_ms: float = 5.0) -> None:
        self.delay_ms = delay_ms

    def fit(self, X: Any, y: Any) -> Self:
        labels = as_labels(y, len(as_texts(X)))
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.classes_ = self.classes_.astype(object)
        self.prior_ = counts / counts.sum()
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        self._check_fitted()
        time.sleep(self.delay_ms / 1000)
        return np.tile(self.prior_, (len(as_texts(X)), 1))

    def _save_state(self, folder: Path) -> None:
        _artifact.write_json(folder, "prior.json", {"classes": self.classes_.tolist(), "p": self.prior_.tolist()})

    def _load_state(self, folder: Path) -> None:
        body = _artifact.read_json(folder, "prior.json")
        self.classes_, self.prior_ = np.asarray(body["classes"], dtype=object), np.asarray(body["p"])


def test_ensemble_latency_is_the_sum_of_its_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tailorml import _measure, paths

    monkeypatch.setattr(paths, "_REGISTRY", dict(paths.available_paths()))
    register_path("sleepy-prior", description="test: priors after a pause", neural=False, seconds_per_1k_train_rows=1)(
        SleepyPrior
    )
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TAILOR_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_measure, "SINGLE_REQUESTS", 30)
    monkeypatch.setattr(_measure, "BATCHES", 3)
    texts = ["a b", "c d", "e f", "g h", "i j", "k l"] * 5
    labels = ["x", "y", "z"] * 10
    model = Ensemble(members=("sleepy-prior", "sleepy-prior"), member_params=({"delay_ms": 4}, {"delay_ms": 8}))
    model.fit(texts, labels, validation=(texts[:6], labels[:6]))
    folder = save_model(model, tmp_path / "ensemble")
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(texts))
    p50 = float(np.median(_measure.main(str(folder), str(inputs), 1)["samples_ms"]))
    assert 12 * 0.95 <= p50 < 12 + 10  # both members run on every request: 4 ms + 8 ms


# --------------------------------------------------------------------------- end to end


def _project(folder: Path, rows: int = 2400, **overrides: Any) -> Path:
    settings: dict[str, Any] = {
        "task": {"input": "text", "target": "label", "out_of_scope": "oos"},
        "objectives": {"accuracy": {"min": 0.5}, "oos_recall": {"min": 0.5}, "ece": {"max": 0.2}},
        "serving": {"abstain": {"target_precision": 0.95}},
    }
    return write_project(folder, rows=rows, **{**settings, **overrides})


def test_bad_ensemble_or_score_config_fails_before_training(tmp_path: Path) -> None:
    from tailorml.run import run_project
    from tailorml.spec import load_spec

    with pytest.raises(SpecError, match="not listed as a candidate"):
        run_project(load_spec(_project(tmp_path, candidates=["tfidf-linear", "ensemble"])))
    with pytest.raises(SpecError, match="no sentence embeddings"):
        run_project(load_spec(_project(tmp_path, out_of_scope_detection={"score": "centroid"})))
    with pytest.raises(SpecError, match="which candidates does not"):
        load_spec(_project(tmp_path, ensemble=["tfidf-linear", "embedding-linear"]))


@pytest.mark.slow
@ON_ONE_WORKER
def test_tailor_run_calibrates_ensembles_and_detects_out_of_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tailorml.cli import app
    from tailorml.results import Evaluation

    monkeypatch.delenv("TAILOR_HOME", raising=False)
    _project(
        tmp_path,
        rows=2000,  # the smallest holdout (not cross-validated) run: embedding-linear embeds every row
        candidates=["tfidf-linear", "embedding-linear"],
        ensemble=["tfidf-linear", "embedding-linear"],
        calibration={"method": "isotonic"},
        out_of_scope_detection={"score": "auto", "target_recall": 0.9},
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    folder = Path((tmp_path / ".tailor" / "reports" / "latest").read_text().strip())
    evaluation = Evaluation.load(folder / "evaluation.json")
    names = [c.name for c in evaluation.candidates]
    assert names == ["tfidf-linear", "embedding-linear", "ensemble"]
    ensemble = evaluation.candidate("ensemble")
    assert ensemble.members == ["tfidf-linear", "embedding-linear"] and sum(ensemble.weights) == pytest.approx(1)
    for c in evaluation.candidates:
        assert c.calibration is not None and c.calibration.method == "isotonic"
        assert c.calibration.ece_test_before is not None and c.calibration.ece_test_after is not None
        assert c.out_of_scope is not None and c.out_of_scope.target_recall == 0.9
        assert {"oos_recall", "oos_precision", "in_scope_accuracy", "oos_auroc", "coverage"} <= set(c.metrics)
        assert {g.metric for g in c.gates} == {"accuracy", "oos_recall", "ece"}
        assert c.abstain is not None and c.abstain.target_precision == 0.95 and c.risk_coverage
    assert "centroid" in {s.score for s in evaluation.candidate("embedding-linear").out_of_scope.validation}
    html = (folder / "report.html").read_text()
    assert "Risk and coverage" in html and "Out-of-scope detection" in html and "Before calibration" in html
    assert "sum of the members" in html
