"""``tailor train``: fit the spec's candidate model paths on the train side, one tracked run each."""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tailorml.data.dataset import Dataset
from tailorml.errors import SpecError
from tailorml.project import Project
from tailorml.spec import Spec
from tailorml.tracking import Tracker, git_commit

__all__ = ["TrainedCandidate", "TrainingSession", "plan_candidates", "train_candidates"]


class TrainedCandidate(BaseModel):
    """A fitted candidate: where its model is and how long it took.

    The saved model is the ``path`` model (parameters ``params``) wrapped in
    :class:`~tailorml.paths.calibrated.Calibrated` with ``calibration`` settings, when given.
    """

    name: str
    path: str
    params: dict[str, Any]
    calibration: dict[str, Any] | None = None
    weights: list[float] | None = Field(None, description="ensemble weights, chosen on validation")
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

    ``auto`` takes every registered path marked ``auto`` that fits ``budget.train_minutes``
    (cheapest first; fine-tuning, distillation and int8 exports are searched only when listed);
    a list is taken as given. Raises SpecError, before anything is trained, for an unknown
    name or a budget too small for what was asked.
    """
    from tailorml.paths import available_paths

    paths = available_paths()
    plain = [n for n, info in paths.items() if not getattr(info.cls, "composite", False)]
    names = [n for n in plain if paths[n].auto] if spec.candidates == "auto" else list(spec.candidates)
    composite = [n for n in names if n in paths and n not in plain]
    if composite:
        raise SpecError(
            f"candidates: {composite[0]!r} is built by tailor train, not listed as a candidate",
            hint="list the plain paths (e.g. tfidf-linear, embedding-linear); set `ensemble:` and `calibration:` "
            "to combine and calibrate them",
        )
    unknown = [n for n in names if n not in paths]
    if unknown:
        close = difflib.get_close_matches(unknown[0], plain, n=1)
        raise SpecError(
            f"candidates: unknown model path {unknown[0]!r}." + (f" Did you mean {close[0]!r}?" if close else ""),
            hint=f"known model paths: {', '.join(plain)}",
        )
    estimates = {n: paths[n].seconds_per_1k_train_rows * max(n_train_rows, 1) / 1000 for n in names}
    # An export whose fp32 path is also listed exports that model (train_candidates): it costs only its own
    # share, and it trains after its base.
    bases: dict[str, str] = {n: b for n in names if (b := getattr(paths[n].cls, "_base", None)) in names}
    exports = [n for n in names if n in bases]
    for name in exports:
        estimates[name] = max(1.0, estimates[name] - estimates[bases[name]])
    names = [n for n in names if n not in exports] + exports
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
    if spec.out_of_scope_detection.score == "centroid":
        flat = [n for n in names if not hasattr(paths[n].cls, "embed")]
        if flat:
            raise SpecError(
                f"out_of_scope_detection.score is centroid, but {', '.join(flat)} has no sentence embeddings",
                hint="use score: auto (or max_prob / energy), or list only embedding paths as candidates",
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
    step = on_step or (lambda _name: None)
    planned = [] if candidates else plan_candidates(spec, len(dataset.train))
    names = candidates or [n for n, _ in planned]
    estimates = dict(planned)  # for the time budget of paths that take one
    project = Project.at(spec.root)
    trained: list[TrainedCandidate] = []
    fitted: dict[str, Any] = {}
    started = time.monotonic()
    for i, name in enumerate(names):
        params = _project_params(name, project)
        left = seconds_left(
            spec.budget.train_minutes * 60, time.monotonic() - started, [estimates.get(n, 0.0) for n in names[i + 1 :]]
        )
        params.update(_time_budget(name, left))
        exported_from = _exportable_base(name, params, fitted)
        if exported_from:
            step(f"exporting the fitted {exported_from} as {name} (no second training) and calibrating")
        else:
            step(f"training {name} on {len(dataset.train):,} rows and calibrating on {len(dataset.validation):,}")
        base = (fitted[exported_from].base_, _seconds_of(trained, exported_from)) if exported_from else None
        candidate, model = _train_one(spec, dataset, tracker, name, params, project=project, export_from=base)
        trained.append(candidate)
        fitted[name] = model
    members = ensemble_members(spec, fitted, dataset)
    if members:
        weights = "equal weights" if spec.ensemble_weights == "equal" else "weights chosen on validation"
        chosen = ", the set with the lowest validation log loss" if spec.ensemble == "auto" and len(fitted) > 2 else ""
        step(f"combining {' + '.join(members)} into an ensemble ({weights}{chosen})")
        trained.append(_train_ensemble(spec, dataset, tracker, members, fitted, trained, project=project))
    session = TrainingSession(
        data_version=dataset.version.id,
        split=dataset.split.key,
        spec_hash=spec.spec_hash(),
        train_rows=len(dataset.train),
        candidates=trained,
    )
    session.save(project.home / "train" / "latest.json")
    return session


def calibration_settings(spec: Spec, seed: int) -> dict[str, Any]:
    """Parameters of :class:`~tailorml.paths.calibrated.Calibrated` from the spec.

    The out-of-scope recall to reach on validation is ``out_of_scope_detection.target_recall``,
    else the ``oos_recall`` objective; the in-scope floor (passed only when the threshold rule
    keeps in-scope accuracy) is ``min_in_scope_accuracy``, else the ``in_scope_accuracy``
    objective.
    """
    detection = spec.out_of_scope_detection
    keeps = spec.oos_threshold_rule() == "keep_in_scope_accuracy"
    return {
        "method": spec.calibration.method,
        "out_of_scope": spec.task.out_of_scope,
        "oos_score": detection.score,
        "oos_recall": spec.oos_target_recall(),
        "oos_min_in_scope_accuracy": spec.in_scope_floor() if keeps else None,
        "oos_confidence": detection.confidence,
        "oos_expected_rate": detection.expected_rate,
        "seed": seed,
    }


def ensemble_members(spec: Spec, fitted: dict[str, Any], dataset: Dataset | None = None) -> list[str]:
    """The candidates to combine: as listed, or (``auto``) the set whose average fits validation best.

    ``auto`` with two fitted candidates takes both; with more it needs ``dataset`` for its
    validation rows and picks by :func:`~tailorml.paths.ensemble.choose_members`.
    """
    if spec.ensemble == "none" or len(fitted) < 2:
        return []
    if isinstance(spec.ensemble, list):
        return [m for m in spec.ensemble if m in fitted] if all(m in fitted for m in spec.ensemble) else []
    if len(fitted) == 2 or dataset is None:
        return sorted(fitted)
    from tailorml.paths._base import known_rows
    from tailorml.paths.ensemble import choose_members

    texts, truth = known_rows(*_validation(dataset), next(iter(fitted.values())).classes_)
    if not texts:
        return sorted(fitted)[:2]
    probas = {name: model.predict_proba_plain(texts) for name, model in sorted(fitted.items())}
    apart = [(name, str(model.base_._base)) for name, model in fitted.items() if hasattr(model.base_, "_base")]
    members, _ = choose_members(probas, truth, weighting=spec.ensemble_weights, apart=apart)
    return members


# Parameters that change how a model trains, not what it learns: ignored when matching an export to its base.
_RUN_ONLY_PARAMS = frozenset({"time_budget_s", "threads", "progress", "cache_dir"})


def _exportable_base(name: str, params: dict[str, Any], fitted: dict[str, Any]) -> str | None:
    """The already fitted candidate that path ``name`` can export instead of training its own copy.

    An export path (``finetuned-int8``) names its fp32 path (``_base``) and has ``export_fitted``
    and ``fp32_model``; the fitted one qualifies only when its parameters are those of the model
    the export would train.
    """
    from tailorml.paths import create_path

    export = create_path(name, **params)
    base_name = getattr(export, "_base", None)
    if base_name not in fitted or not hasattr(export, "export_fitted"):
        return None
    wanted = export.fp32_model()
    have = fitted[base_name].base_.get_params()
    same = all(have.get(k) == v for k, v in wanted.get_params().items() if k not in _RUN_ONLY_PARAMS)
    return base_name if same else None


def _seconds_of(trained: list[TrainedCandidate], name: str) -> float:
    return next(t.train_seconds for t in trained if t.name == name)


def _train_one(
    spec: Spec,
    dataset: Dataset,
    tracker: Tracker,
    name: str,
    params: dict[str, Any],
    *,
    project: Project,
    export_from: tuple[Any, float] | None = None,
) -> tuple[TrainedCandidate, Any]:
    """Fit one path on the train side, calibrate it on validation, save and track it.

    With ``export_from`` (a fitted base model and the seconds it took to train), the path
    exports that model instead of training its own; its training time counts both.
    """
    from tailorml.paths import create_path
    from tailorml.paths.calibrated import Calibrated

    settings = calibration_settings(spec, dataset.split.seed)
    params = create_path(name, **params).get_params()
    run_id = tracker.start_run(name, params={**params, **_prefixed(settings)}, tags=_tags(spec, dataset, name))
    try:
        start = time.perf_counter()
        texts, labels = list(dataset.train.texts), list(dataset.train.labels)
        calibrated = Calibrated(base=name, base_params=params, **settings)
        if export_from is None:
            model = calibrated.fit(texts, labels, validation=_validation(dataset))
            seconds = time.perf_counter() - start
        else:
            base, base_seconds = export_from
            val_texts, val_labels = _validation(dataset)
            export = create_path(name, **params)
            exported = export.export_fitted(base, texts, labels, validation=(val_texts, val_labels))
            model = calibrated.calibrate(exported, val_texts, val_labels, train_texts=texts, train_labels=labels)
            seconds = base_seconds + time.perf_counter() - start
        folder = _save(model, project, tracker, run_id, seconds, len(dataset.train))
    except BaseException:
        tracker.end_run(run_id, failed=True)
        raise
    tracker.end_run(run_id)
    return _candidate(name, name, params, settings, run_id, folder, seconds), model


def _train_ensemble(
    spec: Spec,
    dataset: Dataset,
    tracker: Tracker,
    members: list[str],
    fitted: dict[str, Any],
    trained: list[TrainedCandidate],
    *,
    project: Project,
) -> TrainedCandidate:
    """The ensemble of already fitted members: weights and its own calibration chosen on validation."""
    from tailorml.paths.calibrated import Calibrated
    from tailorml.paths.ensemble import Ensemble

    settings = calibration_settings(spec, dataset.split.seed)
    by_name = {t.name: t for t in trained}
    params = {
        "members": tuple(members),
        "member_params": tuple(by_name[m].params for m in members),
        "weighting": spec.ensemble_weights,
        "method": settings["method"],
        "seed": settings["seed"],
    }
    run_id = tracker.start_run(
        "ensemble", params={**params, **_prefixed(settings)}, tags=_tags(spec, dataset, "ensemble")
    )
    try:
        start = time.perf_counter()
        val_texts, val_labels = _validation(dataset)
        # The members as plain calibrated models: the ensemble detects out-of-scope inputs itself.
        plain = [Calibrated(base=m, method=settings["method"], seed=settings["seed"]) for m in members]
        parts = [p.calibrate(fitted[m].base_, val_texts, val_labels) for p, m in zip(plain, members, strict=True)]
        ensemble = Ensemble(**params).combine(parts, val_texts, val_labels)
        model = Calibrated(base="ensemble", base_params=None, **settings).calibrate(
            ensemble,
            val_texts,
            val_labels,
            train_texts=list(dataset.train.texts),
            train_labels=list(dataset.train.labels),
        )
        # Training the ensemble is training its members; combining them is the small rest.
        seconds = sum(by_name[m].train_seconds for m in members) + time.perf_counter() - start
        folder = _save(model, project, tracker, run_id, seconds, len(dataset.train))
    except BaseException:
        tracker.end_run(run_id, failed=True)
        raise
    tracker.end_run(run_id)
    return _candidate("ensemble", "ensemble", params, settings, run_id, folder, seconds, weights=ensemble.weights_)


def _validation(dataset: Dataset) -> tuple[list[str], list[str]]:
    return list(dataset.validation.texts), list(dataset.validation.labels)


def _prefixed(settings: dict[str, Any]) -> dict[str, Any]:
    return {f"calibration.{k}": v for k, v in settings.items() if k != "seed"}


def _tags(spec: Spec, dataset: Dataset, name: str) -> dict[str, str]:
    return {
        "tailorml.path": name,
        "tailorml.data_version": dataset.version.id,
        "tailorml.split": dataset.split.key,
        "tailorml.spec_hash": spec.spec_hash(),
        "mlflow.source.git.commit": git_commit(spec.root) or "unknown",
    }


def _save(model: Any, project: Project, tracker: Tracker, run_id: str, seconds: float, rows: int) -> Path:
    from tailorml.paths import save_model

    folder = project.home / "models" / run_id / "model"
    save_model(model, folder)
    _write_mlmodel(folder)
    tracker.log_metrics(run_id, {"train_seconds": seconds, "train_rows": rows})
    tracker.log_artifacts(run_id, folder, "model")
    return folder


def _candidate(
    name: str,
    path: str,
    params: dict[str, Any],
    settings: dict[str, Any],
    run_id: str,
    folder: Path,
    seconds: float,
    weights: list[float] | None = None,
) -> TrainedCandidate:
    return TrainedCandidate(
        name=name,
        path=path,
        params=json.loads(json.dumps(params, default=str)),
        calibration=json.loads(json.dumps(settings)),
        weights=weights,
        run_id=run_id,
        artifact_dir=str(folder),
        train_seconds=seconds,
    )


def seconds_left(budget_s: float, spent_s: float, later_estimates: list[float]) -> float:
    """Seconds the next candidate may train: the budget less what was spent and what the later ones need.

    >>> seconds_left(1800, 600, [300, 100])
    800.0
    >>> seconds_left(1800, 1790, [300])  # over budget: still a minute, so it can keep a best checkpoint
    60.0
    """
    return max(60.0, float(budget_s - spent_s - sum(later_estimates)))


def _time_budget(name: str, seconds: float) -> dict[str, Any]:
    """``time_budget_s`` for paths that take one (fine-tuning stops and keeps its best checkpoint)."""
    from tailorml.paths import available_paths

    if "time_budget_s" in available_paths()[name].cls().get_params():
        return {"time_budget_s": round(seconds, 1)}
    return {}


def _project_params(name: str, project: Project) -> dict[str, Any]:
    """Per-project defaults: paths that cache embeddings keep them under .tailor/cache, int8 exports too."""
    from tailorml.paths import available_paths

    paths = available_paths()
    cls = paths[name].cls
    cache = str(project.home / "cache" / "embeddings")
    if "cache_dir" in cls().get_params():
        return {"cache_dir": cache}
    base = getattr(cls, "_base", None)  # an int8 export embeds with its fp32 path first: share that cache
    if base in paths and "cache_dir" in paths[base].cls().get_params():
        return {"base_params": {"cache_dir": cache}}
    return {}


def _write_mlmodel(folder: Path) -> None:
    """Describe the folder as an MLflow pyfunc model whose loader is tailorml's (no pickle)."""
    from mlflow.models import Model
    from mlflow.pyfunc import add_to_model

    model = Model()
    add_to_model(model, loader_module="tailorml._pyfunc", data=".")
    model.save(str(folder / "MLmodel"))
