"""``tailor run``: check data → train → evaluate → select → register → report, in one go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tailorml.abstain import AbstainRule, choose_threshold
from tailorml.data.dataset import Dataset, ensure_trainable, load_dataset
from tailorml.data.importer import ImportOutcome, import_data
from tailorml.data.versions import DataStore, Manifest
from tailorml.evaluate import evaluate_session
from tailorml.project import Project
from tailorml.results import Evaluation
from tailorml.spec import Spec
from tailorml.tracking import CHAMPION, ModelVersion, Tracker, git_commit
from tailorml.train import TrainingSession, plan_candidates, train_candidates

__all__ = ["Published", "RunResult", "latest_report", "prepare_data", "publish", "run_project"]

OnStep = Callable[[str], None]


@dataclass(frozen=True)
class Published:
    """Where an evaluation's evidence went."""

    folder: Path
    report: Path
    model_card: Path | None
    registered: ModelVersion | None
    alias: str = CHAMPION


@dataclass(frozen=True)
class RunResult:
    data: ImportOutcome
    session: TrainingSession
    evaluation: Evaluation
    published: Published


def run_project(
    spec: Spec, *, allow_errors: str | None = None, on_step: OnStep | None = None, n_resamples: int = 1000
) -> RunResult:
    """Run the whole loop for a spec; see the module docstring.

    Everything that can be checked before training is checked first: the data's errors, the
    candidate names and the budget.
    """
    outcome, dataset = prepare_data(spec, allow_errors=allow_errors, on_step=on_step)
    plan_candidates(spec, len(dataset.train))
    tracker = Tracker.for_project(spec)
    session = train_candidates(spec, dataset, tracker=tracker, on_step=on_step)
    evaluation = evaluate_session(spec, dataset, session, tracker=tracker, on_step=on_step, n_resamples=n_resamples)
    published = publish(spec, evaluation, dataset, tracker=tracker, on_step=on_step)
    return RunResult(outcome, session, evaluation, published)


def prepare_data(
    spec: Spec, *, allow_errors: str | None = None, on_step: OnStep | None = None
) -> tuple[ImportOutcome, Dataset]:
    """Import the spec's data (a no-op when stored), refuse it if its checks failed, and split it."""
    outcome = import_data(spec, allow_errors=allow_errors, on_step=on_step)
    ensure_trainable(outcome.train.manifest)
    store = DataStore(Project.at(spec.root).data_dir)
    return outcome, load_dataset(store, outcome.train.manifest, group_columns=spec.task.groups)


def publish(
    spec: Spec,
    evaluation: Evaluation,
    dataset: Dataset,
    *,
    tracker: Tracker,
    alias: str = CHAMPION,
    on_step: OnStep | None = None,
) -> Published:
    """Write the evaluation, its HTML report and model card; register the chosen model under ``alias``.

    The registered version carries its abstention rule (``serving.abstain``), chosen on the
    validation side. Retraining registers its choice as ``challenger`` and promotes it only
    when it does not regress the champion.
    """
    from tailorml.report import write_model_card, write_report

    manifest = dataset.version
    if on_step:
        on_step("writing report")
    home = Project.at(spec.root).home
    stamp = evaluation.created_at.replace(":", "").replace("-", "")[:15]
    folder = home / "reports" / f"{stamp}-{evaluation.data_version}"
    evaluation.save(folder / "evaluation.json")
    lineage = {
        "data_version": manifest.id,
        "data_name": manifest.name,
        "parent": manifest.parent or "none",
        "source": manifest.source.path,
        "transforms": manifest.transforms or ["none"],
        "checks": _checks_line(manifest),
        "split": evaluation.split,
        "spec_hash": evaluation.spec_hash,
        "git_commit": git_commit(spec.root) or "not a git repository",
        "tracking": tracker.tracking_uri,
    }
    report = write_report(evaluation, folder, lineage=lineage)
    card = None
    registered = None
    if evaluation.chosen is not None:
        chosen = evaluation.candidate(evaluation.chosen)
        card = write_model_card(evaluation, chosen.name, folder, lineage=lineage)
        if on_step:
            on_step(f"registering {chosen.name} as {alias}")
        assert chosen.run_id is not None
        tracker.log_artifacts(chosen.run_id, folder, "evaluation")
        rule = chosen.abstain or abstain_rule(spec, dataset, chosen.artifact_dir)
        registered = tracker.register(
            chosen.run_id,
            alias=alias,
            tags={
                "tailorml.path": chosen.path,
                "tailorml.data_version": evaluation.data_version,
                "tailorml.split": evaluation.split,
                "tailorml.spec_hash": evaluation.spec_hash,
                "tailorml.evaluation": str(folder / "evaluation.json"),
                "tailorml.abstain": rule.model_dump_json(),
            },
        )
    (home / "reports" / "latest").write_text(str(folder) + "\n", encoding="utf-8")
    return Published(folder=folder, report=report, model_card=card, registered=registered, alias=alias)


def abstain_rule(spec: Spec, dataset: Dataset, model_dir: str) -> AbstainRule:
    """The model's abstention threshold for ``serving.abstain``, chosen on the validation side."""
    import numpy as np

    from tailorml.paths import load_model

    abstain = spec.serving.abstain
    side = dataset.validation
    if abstain is None or len(side) == 0:
        return choose_threshold(np.zeros(0), np.zeros(0, dtype=bool))
    model = load_model(model_dir)
    proba = model.predict_proba(list(side.texts))
    predicted = np.asarray(model.classes_, dtype=object)[proba.argmax(axis=1)]
    return choose_threshold(
        proba.max(axis=1),
        predicted == side.labels,
        target_precision=abstain.target_precision,
        coverage=abstain.coverage,
    )


def _checks_line(manifest: Manifest) -> str:
    checks = manifest.checks or {}
    line = f"{checks.get('errors', 0)} errors, {checks.get('warnings', 0)} warnings"
    return line + (f"; overridden: {manifest.override.reason}" if manifest.override else "")


def latest_report(spec: Spec) -> Path | None:
    """The folder of the newest evaluation of this project, if any."""
    pointer = Project.at(spec.root).home / "reports" / "latest"
    if not pointer.is_file():
        return None
    folder = Path(pointer.read_text(encoding="utf-8").strip())
    return folder if folder.is_dir() else None
