"""``tailor retrain``: fresh labels in, a challenger out, promoted only if it earns it.

1. A new data version: the champion's data version plus the answered review items and any
   new labeled files (its parent is the champion's version).
2. The champion's test rows stay the test set (frozen), so old and new models are compared
   on the same rows; 30% of the fresh labeled rows are held out as a second, fresh test set.
3. A challenger is trained, evaluated and chosen from the same spec, as ``tailor run`` does,
   and registered with the alias ``challenger``.
4. It becomes the champion only if it passes every objective and does not regress the
   champion: on the frozen test rows and on the fresh ones, the 95% paired-bootstrap
   interval of (challenger − champion) accuracy must not lie wholly below zero. Otherwise it
   stays the challenger, with the reason recorded on its registered version.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

from tailorml.data.dataset import ensure_trainable, load_dataset
from tailorml.data.importer import check_settings
from tailorml.data.io import read_table
from tailorml.data.split import SPLIT_NAMES
from tailorml.data.versions import DataStore, Manifest, Source
from tailorml.errors import DataError, NotFoundError
from tailorml.project import Project
from tailorml.results import Estimate
from tailorml.spec import Spec
from tailorml.tracking import CHALLENGER, CHAMPION, ModelVersion, Tracker

__all__ = ["Comparison", "RetrainOutcome", "retrain"]

OnStep = Callable[[str], None]
FRESH_TEST_SHARE = 0.3
MIN_FRESH_TEST = 10


class Comparison(BaseModel):
    """Challenger vs. champion accuracy on one set of rows."""

    rows: str = Field(description="'frozen test' or 'fresh labels'")
    n: int
    champion: float
    challenger: float
    difference: Estimate = Field(description="challenger − champion, with a paired-bootstrap 95% interval")

    @property
    def regressed(self) -> bool:
        return self.difference.high is not None and self.difference.high < 0


class RetrainOutcome(BaseModel):
    """What one ``tailor retrain`` did, and why."""

    skipped: str | None = Field(None, description="why nothing was trained, when nothing was")
    data_version: str | None = None
    parent: str | None = None
    added: dict[str, int] = Field(default_factory=dict, description="fresh labeled rows by source")
    challenger: str | None = Field(None, description="the candidate chosen from the retrained ones")
    challenger_version: int | None = None
    champion_version: int | None = Field(None, description="the champion after this run")
    comparisons: list[Comparison] = Field(default_factory=list)
    promoted: bool = False
    reason: str = ""
    report: str | None = None
    at: str = Field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


def retrain(
    spec: Spec,
    *,
    new_files: list[Path] | tuple[Path, ...] = (),
    if_drift: bool = False,
    every: dt.timedelta | None = None,
    on_step: OnStep | None = None,
    n_resamples: int = 1000,
) -> RetrainOutcome:
    """Retrain on fresh labels and promote the challenger only if it earns it (see the module docstring).

    Parameters
    ----------
    spec:
        The project.
    new_files:
        Extra labeled files (same columns as the training data).
    if_drift:
        Only retrain when the latest ``tailor monitor`` run raised an ALERT.
    every:
        Only retrain when the last retrain is at least this old (for a cron job that runs often).
    """
    step = on_step or (lambda _name: None)
    home = Project.at(spec.root).home
    gate = _not_due(home, if_drift=if_drift, every=every)
    if gate:
        return _finish(home, RetrainOutcome(skipped=gate, reason=gate))
    tracker = Tracker.for_project(spec)
    champion = tracker.by_alias(CHAMPION)
    store = DataStore(Project.at(spec.root).data_dir)
    base = store.get(champion.tags.get("tailorml.data_version"))
    step("collecting fresh labels")
    fresh, added = _fresh_rows(spec, base, new_files)
    if not len(fresh):
        reason = "no fresh labeled data: answer review items (tailor review) or pass labeled files"
        return _finish(home, RetrainOutcome(skipped=reason, reason=reason))
    manifest, n_fresh_test = _new_version(spec, store, base, fresh, champion, step)
    ensure_trainable(manifest)
    dataset = load_dataset(store, manifest, split_key=_split_key(champion), group_columns=spec.task.groups)
    from tailorml.evaluate import evaluate_session
    from tailorml.run import publish
    from tailorml.train import train_candidates

    session = train_candidates(spec, dataset, tracker=tracker, on_step=on_step)
    evaluation = evaluate_session(spec, dataset, session, tracker=tracker, on_step=on_step, n_resamples=n_resamples)
    outcome = RetrainOutcome(data_version=manifest.id, parent=base.id, added=added)
    if evaluation.chosen is None:
        published = publish(spec, evaluation, dataset, tracker=tracker, alias=CHALLENGER, on_step=on_step)
        outcome.reason = f"no retrained candidate passed every objective: {evaluation.reason}"
        outcome.report, outcome.champion_version = str(published.report), champion.version
        return _finish(home, outcome)
    published = publish(spec, evaluation, dataset, tracker=tracker, alias=CHALLENGER, on_step=on_step)
    assert published.registered is not None
    challenger = published.registered
    step("comparing challenger with champion")
    chosen = evaluation.candidate(evaluation.chosen)
    outcome.comparisons = _compare(tracker, champion, chosen.artifact_dir, dataset.test, n_fresh_test, n_resamples)
    regressions = [c for c in outcome.comparisons if c.regressed]
    outcome.challenger, outcome.challenger_version, outcome.report = (
        chosen.name,
        challenger.version,
        str(published.report),
    )
    if regressions:
        worst = regressions[0]
        outcome.reason = (
            f"not promoted: on the {worst.rows} rows the challenger is worse than champion v{champion.version} "
            f"({worst.challenger:.3f} vs {worst.champion:.3f}; difference interval "
            f"[{worst.difference.low:+.3f}, {worst.difference.high:+.3f}] is below zero)"
        )
        tracker.client.set_model_version_tag(
            tracker.model_name, str(challenger.version), "tailorml.not_promoted", outcome.reason
        )
        outcome.champion_version = champion.version
        return _finish(home, outcome)
    tracker.promote(challenger.version)
    outcome.promoted, outcome.champion_version = True, challenger.version
    outcome.reason = (
        f"promoted {chosen.name} v{challenger.version}: it passes every objective and does not regress "
        f"champion v{champion.version} ("
        + "; ".join(f"{c.rows}: {c.difference.value:+.3f}" for c in outcome.comparisons)
        + ")"
    )
    return _finish(home, outcome)


def _not_due(home: Path, *, if_drift: bool, every: dt.timedelta | None) -> str | None:
    if every is not None:
        last = _last(home)
        if last is not None and last.skipped is None:
            due = dt.datetime.fromisoformat(last.at) + every
            if dt.datetime.now(dt.UTC) < due:
                return (
                    f"not due: the last retrain ran at {last.at}; "
                    f"the next is due after {due.isoformat(timespec='seconds')}"
                )
    if if_drift:
        from tailorml.monitoring.results import MonitorReport

        latest = home / "monitoring" / "latest.json"
        if not latest.is_file():
            return "no monitoring result yet: run tailor monitor first (or drop --if-drift)"
        report = MonitorReport.load(latest)
        if report.status != "alert":
            when = f"{report.created_at:%Y-%m-%d %H:%M}"
            return f"no drift alert: the latest monitoring run ({when}) is {report.status.upper()}"
    return None


def _last(home: Path) -> RetrainOutcome | None:
    path = home / "retrain" / "latest.json"
    return RetrainOutcome.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else None


def _finish(home: Path, outcome: RetrainOutcome) -> RetrainOutcome:
    from tailorml._jsonfile import write_model_json

    write_model_json(outcome, home / "retrain" / "latest.json")
    return outcome


def _fresh_rows(
    spec: Spec, base: Manifest, new_files: list[Path] | tuple[Path, ...]
) -> tuple[pa.Table, dict[str, int]]:
    """Answered review items and labeled files, as rows with the base version's input and target columns."""
    from tailorml.serving.requestlog import RequestLog

    texts: list[str] = []
    labels: list[str] = []
    added: dict[str, int] = {}
    log_url = spec.serving.log_url(spec.root)
    if log_url.startswith("postgresql") or Path(log_url.removeprefix("sqlite:///")).exists():
        # A version made by an earlier retrain already holds the answers given before it.
        since = dt.datetime.fromisoformat(base.created_at) if base.source.path.startswith("retrain of") else None
        answered = RequestLog(log_url).answered_reviews(since=since)
        texts += [str(r["input_text"]) for r in answered]
        labels += [str(r["answer"]) for r in answered]
        added["reviews"] = len(answered)
    for path in new_files:
        table = read_table(path, encoding=spec.data.encoding)
        for column in (base.input, base.target):
            if column not in table.column_names:
                raise DataError(
                    f"{path} has no column {column!r}", hint=f"new labeled files need {base.input} and {base.target}"
                )
        texts += [str(t) for t in table[base.input].to_pylist()]
        labels += [str(t) for t in table[base.target].to_pylist()]
        added[str(path)] = table.num_rows
    return pa.table({base.input: pa.array(texts, pa.string()), base.target: pa.array(labels, pa.string())}), added


def _split_key(champion: ModelVersion) -> str:
    return f"retrain-from-v{champion.version}"


def _new_version(
    spec: Spec, store: DataStore, base: Manifest, fresh: pa.Table, champion: ModelVersion, step: OnStep
) -> tuple[Manifest, int]:
    """Store base + fresh rows as a new version whose split freezes the champion's test rows."""
    key = champion.tags.get("tailorml.split")
    record = base.splits[key] if key in base.splits else list(base.splits.values())[-1]
    if record.test_version:
        raise NotFoundError(
            "retraining a project whose test set is a separate file is not supported yet",
            hint="add the fresh labels to the training file and run tailor run",
        )
    base_codes = store.split_codes(base, record)
    base_table = store.table(base)
    fresh = _align(fresh, base_table.schema)
    n = fresh.num_rows
    rng = np.random.default_rng(spec.data.split.seed)
    n_test = round(FRESH_TEST_SHARE * n) if n * FRESH_TEST_SHARE >= MIN_FRESH_TEST else 0
    order = rng.permutation(n)
    fresh_codes = np.zeros(n, dtype=np.int8)
    fresh_codes[order[:n_test]] = SPLIT_NAMES.index("test")
    table = pa.concat_tables([base_table, fresh])
    result = store.import_table(
        table,
        source=Source(path=f"retrain of {base.id} (+{n:,} fresh labeled rows)", format="parquet", bytes=0),
        name=base.name,
        input=base.input,
        target=base.target,
        settings=check_settings(spec),
        split_seed=spec.data.split.seed,
        allow_errors=base.override.reason if base.override else None,
        redact_pii=spec.privacy.redact_pii,
        fixed_split=(_split_key(champion), np.concatenate([base_codes, fresh_codes])),
        validation_version=record.validation_version,  # a validation file stays the validation set
        on_step=step,
    )
    return result.manifest, n_test


def _align(fresh: pa.Table, schema: pa.Schema) -> pa.Table:
    """Fresh rows with every column of the base version (missing ones null), in its order and types."""
    columns = []
    for field in schema:
        if field.name in fresh.column_names:
            columns.append(fresh[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(fresh.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _compare(
    tracker: Tracker,
    champion: ModelVersion,
    challenger_dir: str,
    test: Any,
    n_fresh_test: int,
    n_resamples: int,
) -> list[Comparison]:
    import tempfile

    from tailorml.metrics.bootstrap import bootstrap_interval
    from tailorml.paths import load_model

    folder = tracker.download(champion, Path(tempfile.mkdtemp(prefix="tailorml-champion-")))
    old = load_model(folder if (folder / "path.json").is_file() else folder / "model")
    new = load_model(challenger_dir)
    texts, labels = list(test.texts), np.asarray(test.labels, dtype=object)
    right_old = np.asarray(old.predict(texts), dtype=object) == labels
    right_new = np.asarray(new.predict(texts), dtype=object) == labels
    n_frozen = len(texts) - n_fresh_test
    parts = [("frozen test", slice(0, n_frozen))]
    if n_fresh_test:
        parts.append(("fresh labels", slice(n_frozen, len(texts))))
    comparisons = []
    for name, rows in parts:
        a, b = right_new[rows].astype(float), right_old[rows].astype(float)
        low, high = bootstrap_interval(lambda x, y: (x - y).mean(axis=1), a, b, n_resamples=n_resamples)
        comparisons.append(
            Comparison(
                rows=name,
                n=len(a),
                champion=float(b.mean()),
                challenger=float(a.mean()),
                difference=Estimate(value=float(a.mean() - b.mean()), low=float(low), high=float(high)),
            )
        )
    return comparisons


def describe(outcome: RetrainOutcome) -> dict[str, Any]:
    """The outcome as plain JSON (for --json)."""
    return json.loads(outcome.model_dump_json())
