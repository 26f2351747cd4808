"""Run tracking and the model registry, on MLflow.

Every candidate is one MLflow run (params, metrics, the data version, the spec hash, the git
commit, and the model folder as artifacts). The chosen model is a version of one registered
model per project, and the alias ``champion`` names the version that serves. The default
store is embedded — a SQLite file and an artifact folder under ``.tailor/`` — so
``mlflow ui --backend-store-uri sqlite:///.tailor/mlflow.db`` shows a project's runs; a
``tracking_uri`` in the spec points everything at an MLflow server instead.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailorml.errors import NotFoundError, TailorError
from tailorml.project import Project
from tailorml.spec import Spec

__all__ = ["ModelVersion", "Tracker"]

CHAMPION = "champion"
CHALLENGER = "challenger"
_HISTORY_TAG = "tailorml.champion_history"


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of the project's model."""

    name: str
    version: int
    run_id: str
    source: str
    aliases: tuple[str, ...]
    tags: dict[str, str]


class Tracker:
    """MLflow runs and registry of one project (MLflow is imported on first use)."""

    def __init__(self, tracking_uri: str, *, experiment: str, artifact_location: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.model_name = experiment
        self.artifact_location = artifact_location
        self._client: Any = None
        self._experiment_id: str | None = None

    @classmethod
    def for_project(cls, spec: Spec) -> Tracker:
        """The tracker the spec names, or the embedded one under the project folder."""
        if spec.tracking_uri:
            return cls(spec.tracking_uri, experiment=spec.project)
        home = Project.at(spec.root).home
        home.mkdir(parents=True, exist_ok=True)
        return cls(
            f"sqlite:///{home / 'mlflow.db'}",
            experiment=spec.project,
            artifact_location=(home / "mlartifacts").as_uri(),
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            # Artifacts are local files: a download progress bar per load is noise.
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            from mlflow import MlflowClient

            # After the import: MLflow sets up its own loggers when it loads.
            for name in ("mlflow", "alembic"):
                logging.getLogger(name).setLevel(logging.WARNING)

            try:
                self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
                found = self._client.get_experiment_by_name(self.experiment)
                self._experiment_id = (
                    found.experiment_id
                    if found
                    else self._client.create_experiment(self.experiment, artifact_location=self.artifact_location)
                )
            except Exception as exc:  # MLflow raises many types for an unreachable store
                self._client = None
                raise TailorError(
                    f"cannot open the MLflow tracking store {self.tracking_uri}: {exc}",
                    hint="check tracking_uri in tailor.yaml, or remove it to use the embedded store",
                ) from None
        return self._client

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, name: str, *, params: dict[str, Any], tags: dict[str, str]) -> str:
        """Open a run and log its parameters and tags; return the run id."""
        client = self.client
        run = client.create_run(self._experiment_id, run_name=name, tags=tags)
        for key, value in params.items():
            client.log_param(run.info.run_id, key, _short(value))
        return str(run.info.run_id)

    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(key, float(value), now, 0) for key, value in metrics.items() if value is not None]
        if batch:
            self.client.log_batch(run_id, metrics=batch)

    def log_artifacts(self, run_id: str, folder: Path, artifact_path: str) -> None:
        self.client.log_artifacts(run_id, str(folder), artifact_path)

    def end_run(self, run_id: str, *, failed: bool = False) -> None:
        self.client.set_terminated(run_id, status="FAILED" if failed else "FINISHED")

    # -- registry ---------------------------------------------------------------------------

    def register(
        self, run_id: str, *, artifact_path: str = "model", alias: str = CHAMPION, tags: dict[str, str] | None = None
    ) -> ModelVersion:
        """Register a run's model as a new version of the project's model and point ``alias`` at it."""
        from mlflow.exceptions import MlflowException

        client = self.client
        try:
            client.create_registered_model(self.model_name, description=f"tailorml model of {self.experiment}")
        except MlflowException as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
                raise
        version = client.create_model_version(
            self.model_name, source=f"runs:/{run_id}/{artifact_path}", run_id=run_id, tags=tags or {}
        )
        if alias == CHAMPION:
            return self.promote(int(version.version))
        client.set_registered_model_alias(self.model_name, alias, version.version)
        return self.version(int(version.version))

    def set_alias(self, alias: str, version: int) -> None:
        self.client.set_registered_model_alias(self.model_name, alias, str(version))

    def promote(self, version: int) -> ModelVersion:
        """Point ``champion`` at ``version``; the one it replaces is remembered for rollback."""
        target = self.version(version)  # NotFound-style error from MLflow if it does not exist
        try:
            current = self.by_alias(CHAMPION).version
        except NotFoundError:
            current = None
        if current == version:
            return target
        if current is not None:
            self._set_history([*self.history(), current])
        self.set_alias(CHAMPION, version)
        return self.version(version)

    def rollback(self) -> ModelVersion:
        """Point ``champion`` back at the version it replaced last."""
        history = self.history()
        if not history:
            raise NotFoundError(
                f"no earlier champion of {self.model_name} to roll back to",
                hint="tailor promote VERSION points the champion at any registered version",
            )
        previous = history.pop()
        self._set_history(history)
        self.set_alias(CHAMPION, previous)
        return self.version(previous)

    def history(self) -> list[int]:
        """Earlier champions, oldest first."""
        import json

        model = self.client.get_registered_model(self.model_name)
        raw = (model.tags or {}).get(_HISTORY_TAG)
        return [int(v) for v in json.loads(raw)] if raw else []

    def _set_history(self, versions: list[int]) -> None:
        import json

        self.client.set_registered_model_tag(self.model_name, _HISTORY_TAG, json.dumps(versions[-50:]))

    def versions(self) -> list[ModelVersion]:
        """Every registered version, newest first."""
        found = self.client.search_model_versions(f"name='{self.model_name}'")
        if not found:
            return []
        aliases: dict[int, list[str]] = {}
        for alias, version in (self.client.get_registered_model(self.model_name).aliases or {}).items():
            aliases.setdefault(int(version), []).append(alias)
        versions = [_as_version(v) for v in found]
        versions = [
            ModelVersion(v.name, v.version, v.run_id, v.source, tuple(aliases.get(v.version, ())), v.tags)
            for v in versions
        ]
        return sorted(versions, key=lambda v: -v.version)

    def resolve(self, ref: str) -> ModelVersion:
        """A version by number (``3``, ``v3``) or by the run id it was registered from."""
        text = ref.removeprefix("v")
        if text.isdigit():
            return self.version(int(text))
        for v in self.versions():
            if v.run_id == ref or v.run_id.startswith(ref):
                return v
        raise NotFoundError(
            f"no registered version of {self.model_name} matches {ref!r}",
            hint="give a version number or the run id of a registered model (see tailor models)",
        )

    def version(self, version: int) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        try:
            v = self.client.get_model_version(self.model_name, str(version))
        except MlflowException:
            raise NotFoundError(
                f"{self.model_name} has no version {version}", hint="see the registered versions: tailor models"
            ) from None
        return _as_version(v)

    def by_alias(self, alias: str = CHAMPION) -> ModelVersion:
        """The version an alias points at; NotFoundError when there is none."""
        from mlflow.exceptions import MlflowException

        try:
            v = self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException:
            raise NotFoundError(
                f"no {alias} model registered for project {self.model_name}",
                hint="run `tailor run` to train, evaluate and register one",
            ) from None
        return _as_version(v)

    def download(self, version: ModelVersion, dst: Path | None = None) -> Path:
        """A local folder holding the version's model files."""
        import mlflow

        path = mlflow.artifacts.download_artifacts(
            artifact_uri=version.source, dst_path=str(dst) if dst else None, tracking_uri=self.tracking_uri
        )
        return Path(path)


def git_commit(folder: Path) -> str | None:
    """The commit checked out in the folder's git repository, if any (``+dirty`` when modified)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def _as_version(v: Any) -> ModelVersion:
    return ModelVersion(
        name=v.name,
        version=int(v.version),
        run_id=v.run_id,
        source=v.source,
        aliases=tuple(getattr(v, "aliases", ()) or ()),
        tags=dict(v.tags or {}),
    )


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."
