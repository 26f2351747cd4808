"""The loop end to end: data → train → evaluate → select → register → report, on small data.

Uses the fast ``tfidf-linear`` path only; the embedding path is covered by tests/test_paths.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tailorml.cli import app
from tailorml.data.io import write_frame
from tailorml.data.synth import synthesize
from tailorml.errors import DataError, SpecError
from tailorml.results import Evaluation
from tailorml.run import run_project
from tailorml.spec import load_spec
from tailorml.tracking import Tracker
from tests._projects import write_project


def make_project(folder: Path, rows: int = 2400, **overrides: object) -> Path:
    return write_project(folder, rows=rows, **overrides)


@pytest.fixture(autouse=True)
def _no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAILOR_HOME", raising=False)


def test_run_trains_judges_registers_and_reports(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path))
    result = run_project(spec, n_resamples=200)
    evaluation = result.evaluation
    candidate = evaluation.candidate("tfidf-linear")
    # Measured on the held-out test side (2,400 rows is above the cross-validation threshold).
    assert evaluation.quality_method.startswith("holdout")
    assert evaluation.test_rows == result.data.train.manifest.splits[evaluation.split].counts["test"]
    assert {"accuracy", "macro_f1", "ece", "latency_p95_ms", "cost_per_1k_usd", "model_size_mb"} <= set(
        candidate.metrics
    )
    accuracy = candidate.metrics["accuracy"]
    assert accuracy.low is not None and accuracy.high is not None
    assert accuracy.low <= accuracy.value <= accuracy.high
    assert {g.metric: g.status for g in candidate.gates} == {
        "accuracy": "pass",
        "latency_p95_ms": "pass",
        "oos_recall": "pass",
    }
    assert candidate.groups and {g.column for g in candidate.groups} == {"channel"}
    assert evaluation.chosen == "tfidf-linear"
    # The evidence: evaluation JSON, HTML report, model card; the champion in the registry.
    folder = result.published.folder
    assert Evaluation.load(folder / "evaluation.json").chosen == "tfidf-linear"
    assert "<svg" in result.published.report.read_text()
    assert result.published.model_card and "tfidf-linear" in result.published.model_card.read_text()
    champion = Tracker.for_project(spec).by_alias("champion")
    assert champion.run_id == candidate.run_id and champion.version == 1


def test_nothing_passes_explains_why(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, objectives={"accuracy": {"min": 0.999}}))
    evaluation = run_project(spec, n_resamples=200).evaluation
    assert evaluation.chosen is None
    assert evaluation.diagnosis is not None
    assert evaluation.diagnosis.learning_curve and evaluation.diagnosis.worst_classes
    assert any("accuracy" in line for line in evaluation.diagnosis.advice)
    with pytest.raises(Exception, match="no champion"):
        Tracker.for_project(spec).by_alias("champion")


def test_small_data_is_cross_validated_and_says_so(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, rows=600))
    evaluation = run_project(spec, n_resamples=200).evaluation
    assert "cross-validation" in evaluation.quality_method
    assert "cross-validation" in (Path(evaluation_folder(tmp_path)) / "report.html").read_text()


def evaluation_folder(project: Path) -> str:
    return (project / ".tailor" / "reports" / "latest").read_text().strip()


def test_unknown_candidate_fails_before_training(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, candidates=["tfidf-lineer"]))
    with pytest.raises(SpecError, match="Did you mean 'tfidf-linear'"):
        run_project(spec)
    assert not (tmp_path / ".tailor" / "models").exists()


def test_budget_too_small_fails_before_training(tmp_path: Path) -> None:
    spec = load_spec(make_project(tmp_path, budget={"train_minutes": 0.0001}))
    with pytest.raises(SpecError, match=r"budget\.train_minutes"):
        run_project(spec)
    assert not (tmp_path / ".tailor" / "models").exists()


def test_data_errors_block_training_unless_overridden(tmp_path: Path) -> None:
    path = make_project(tmp_path)
    frame = synthesize(2400, seed=5)
    frame.loc[1, "text"] = frame.loc[0, "text"]
    frame.loc[1, "label"] = "oos" if frame.loc[0, "label"] != "oos" else "cancel_order"
    write_frame(frame, tmp_path / "data" / "train.csv")
    spec = load_spec(path)
    with pytest.raises(DataError, match="conflicting_labels"):
        run_project(spec)
    result = run_project(spec, allow_errors="one known duplicate, fixed upstream next week", n_resamples=100)
    assert result.data.train.manifest.override is not None
    assert result.evaluation.chosen == "tfidf-linear"


def test_cli_train_then_evaluate_then_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    trained = runner.invoke(app, ["train"])
    assert trained.exit_code == 0, trained.output
    assert "tfidf-linear" in trained.output
    evaluated = runner.invoke(app, ["--json", "evaluate"])
    assert evaluated.exit_code == 0, evaluated.output
    payload = json.loads(evaluated.output)
    assert payload["evaluation"]["chosen"] == "tfidf-linear" and payload["champion"] == 1
    shown = runner.invoke(app, ["report"])
    assert shown.exit_code == 0 and "report.html" in shown.output


def test_cli_evaluate_before_train_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["evaluate"])
    assert result.exit_code == 4 and "tailor train" in result.output
