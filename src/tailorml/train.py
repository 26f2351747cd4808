"""``tailor train``: fit the spec's candidate model paths on the train side, one tracked run each."""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tailorml.data.dataset import Dataset
from tailorml.errors import SpecError
from tailorml.project import Project
from tailorml.spec import Spec
from tailorml.tracking import Tracker, git_commit

__all__ = ["TrainedCandidate", "TrainingSession", "plan_candidates", "train_candidates"]


class TrainedCandidate(BaseModel):
    """A fitted candidate: where its model is and how long it took."""

    name: str
    path: str
    params: dict[str, Any]
    run_id: str
    artifact_dir: str
    train_seconds: float


class TrainingSession(BaseModel):
    """The candidates of one ``tailor train``, all fitted on the same rows."""

    data_version: str
    split: str
    spec_hash: str
    train_rows: int
    candidates: list[TrainedCandidate]

    def save(self, path: Path) -> Path:
        from tailorml._jsonfile import write_model_json

        return write_model_json(self, path)


def plan_candidates(spec: Spec, n_train_rows: int) -> list[tuple[str, float]]:
    """The candidates to train, with their estimated training seconds, within the budget.

    ``auto`` takes every registered path that fits ``budget.train_minutes`` (cheapest first);
    a list is taken as given. Raises SpecError, before anything is trained, for an unknown
    name or a budget too small for what was asked.
    """
    from tailorml.paths import available_paths

    paths = available_paths()
    names = list(paths) if spec.candidates == "auto" else list(spec.candidates)
    unknown = [n for n in names if n not in paths]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(paths), n=1)
        raise SpecError(
            f"candidates: unknown model path {unknown[0]!r}." + (f" Did you mean {close[0]!r}?" if close else ""),
            hint=f"known model paths: {', '.join(paths)}",
        )
    estimates = {n: paths[n].seconds_per_1k_train_rows * max(n_train_rows, 1) / 1000 for n in names}
    budget = spec.budget.train_minutes * 60
    if spec.candidates == "auto":
        chosen, total = [], 0.0
        for name in sorted(names, key=lambda n: estimates[n]):
            if total + estimates[name] <= budget:
                chosen.append(name)
                total += estimates[name]
        names = [n for n in names if n in chosen]
    elif sum(estimates.values()) > budget:
        listed = ", ".join(f"{n} ~{estimates[n] / 60:.1f} min" for n in names)
        raise SpecError(
            f"budget.train_minutes is {spec.budget.train_minutes:g}, but the candidates need about "
            f"{sum(estimates.values()) / 60:.1f} min on {n_train_rows:,} rows ({listed})",
            hint="raise budget.train_minutes, or list fewer candidates",
        )
    if not names:
        cheapest = min(estimates, key=lambda n: estimates[n])
        raise SpecError(
            f"budget.train_minutes ({spec.budget.train_minutes:g}) is too small for any candidate: the cheapest, "
            f"{cheapest}, needs about {estimates[cheapest] / 60:.1f} min on {n_train_rows:,} rows",
            hint=f"raise budget.train_minutes to at least {max(estimates[cheapest] / 60, 0.1):.1f}",
        )
    return [(n, estimates[n]) for n in names]


def train_candidates(
    spec: Spec,
    dataset: Dataset,
    *,
    tracker: Tracker,
    candidates: list[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> TrainingSession:
    """Fit each candidate on the train side; save it, and track it as one MLflow run.

    Parameters
    ----------
    spec, dataset:
        The project and its split data (``load_dataset``).
    tracker:
        Where runs are recorded.
    candidates:
        Names to train; default: :func:`plan_candidates`.
    on_step:
        Called with the name of each step as it starts.
    """
    from tailorml.paths import create_path, save_model

    step = on_step or (lambda _name: None)
    names = candidates or [n for n, _ in plan_candidates(spec, len(dataset.train))]
    project = Project.at(spec.root)
    commit = git_commit(spec.root)
    trained = []
    for name in names:
        model = create_path(name, **_project_params(name, project))
        params = model.get_params()
        tags = {
            "tailorml.path": name,
            "tailorml.data_version": dataset.version.id,
            "tailorml.split": dataset.split.key,
            "tailorml.spec_hash": spec.spec_hash(),
            "mlflow.source.git.commit": commit or "unknown",
        }
        run_id = tracker.start_run(name, params=params, tags=tags)
        step(f"training {name} on {len(dataset.train):,} rows")
        try:
            start = time.perf_counter()
            model.fit(list(dataset.train.texts), list(dataset.train.labels))
            seconds = time.perf_counter() - start
            folder = project.home / "models" / run_id / "model"
            save_model(model, folder)
            _write_mlmodel(folder)
            tracker.log_metrics(run_id, {"train_seconds": seconds, "train_rows": len(dataset.train)})
            tracker.log_artifacts(run_id, folder, "model")
        except BaseException:
            tracker.end_run(run_id, failed=True)
            raise
        tracker.end_run(run_id)
        trained.append(
            TrainedCandidate(
                name=name,
                path=name,
                params=json.loads(json.dumps(params, default=str)),
                run_id=run_id,
                artifact_dir=str(folder),
                train_seconds=seconds,
            )
        )
    session = TrainingSession(
        data_version=dataset.version.id,
        split=dataset.split.key,
        spec_hash=spec.spec_hash(),
        train_rows=len(dataset.train),
        candidates=trained,
    )
    session.save(project.home / "train" / "latest.json")
    return session


def _project_params(name: str, project: Project) -> dict[str, Any]:
    """Per-project defaults: paths that cache embeddings keep them under .tailor/cache."""
    from tailorml.paths import available_paths

    cls = available_paths()[name].cls
    if "cache_dir" in cls().get_params():
        return {"cache_dir": str(project.home / "cache" / "embeddings")}
    return {}


def _write_mlmodel(folder: Path) -> None:
    """Describe the folder as an MLflow pyfunc model whose loader is tailorml's (no pickle)."""
    from mlflow.models import Model
    from mlflow.pyfunc import add_to_model

    model = Model()
    add_to_model(model, loader_module="tailorml._pyfunc", data=".")
    model.save(str(folder / "MLmodel"))
