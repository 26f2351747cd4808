"""The pilot's workflow over a project: tasks from data versions, the report, and labels back as a version.

These functions join the project's data versions (:class:`tailorml.data.versions.DataStore`)
and its labeling database (:class:`tailorml.labeling.store.LabelStore`); the CLI and the web
app call them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tailorml.errors import DataError, TailorError
from tailorml.labeling.costs import PilotFigures, Projection, TimeStats, now, project, time_stats, write_pilot_figures
from tailorml.labeling.schema import LabelSchema, load_schema
from tailorml.labeling.store import Annotation, LabelStore, Suspect, Task

__all__ = [
    "LabelReport",
    "create_task",
    "final_labels",
    "finish_task",
    "label_report",
    "open_store",
    "queue_active",
    "queue_label_errors",
]

DB_FILE = "labeling.db"


def open_store(project_home: str | Path) -> LabelStore:
    """The labeling database of a project: ``<project>/.tailor/labeling/labeling.db``."""
    return LabelStore(Path(project_home) / "labeling" / DB_FILE)


def _version_rows(data_store: Any, version: str | None) -> tuple[Any, list[str], list[str | None]]:
    manifest = data_store.get(version)
    frame = data_store.table(manifest).to_pandas()
    texts = frame[manifest.input].astype(str).tolist()
    if manifest.target in frame.columns:
        labels = [None if v is None or str(v).strip() == "" or v != v else str(v) for v in frame[manifest.target]]
    else:
        labels = [None] * len(texts)
    return manifest, texts, labels


def create_task(
    store: LabelStore,
    data_store: Any,
    *,
    name: str,
    version: str | None = None,
    strategy: str = "random",
    items: int | None = None,
    annotators_per_item: int = 2,
    schema: LabelSchema | str | Path | None = None,
    seed: int = 0,
    created_by: int | None = None,
    members: Sequence[int] = (),
) -> Task:
    """Sample rows of a data version into a new task.

    The schema is a file, a :class:`LabelSchema`, or (None) the version's own label set,
    most frequent first — annotators then pick among the labels the data already uses.
    """
    from tailorml.labeling.sampling import sample_rows

    manifest, texts, labels = _version_rows(data_store, version)
    if isinstance(schema, str | Path):
        schema = load_schema(schema)
    if schema is None:
        counts = Counter(label for label in labels if label is not None)
        if len(counts) < 2:
            raise TailorError(
                f"data version {manifest.id} has {len(counts)} distinct label(s), so no schema can be taken from it",
                hint="give the labels: --schema FILE (YAML with a labels: list)",
            )
        schema = LabelSchema.from_names(sorted(counts, key=lambda k: (-counts[k], k)))
    rows = sample_rows(labels, items, strategy=strategy, seed=seed, texts=texts)
    return store.create_task(
        name,
        data_version=manifest.id,
        schema=schema,
        texts=[texts[i] for i in rows],
        row_keys=[str(i) for i in rows],
        given_labels=[labels[i] for i in rows],
        strategy=strategy,
        annotators_per_item=annotators_per_item,
        created_by=created_by,
        members=members,
    )


def final_labels(store: LabelStore, task: Task) -> tuple[dict[int, str], list[int]]:
    """Each item's final label — adjudicated, else the strict majority of its annotations.

    Returns ``(labels by item id, items left unresolved)``: an item is unresolved when its
    annotations tie and no reviewer has adjudicated it.
    """
    votes: dict[int, Counter[str]] = defaultdict(Counter)
    for a in store.annotations(task.id):
        if a.label is not None:
            votes[a.item_id][a.label] += 1
    resolved = dict(store.adjudications(task.id))
    unresolved = []
    for item_id, counter in votes.items():
        if item_id in resolved:
            continue
        (top, n), *rest = [*counter.most_common(2), ("", 0)]
        if n > rest[0][1]:
            resolved[item_id] = top
        else:
            unresolved.append(item_id)
    return resolved, sorted(unresolved)


def disputed_items(store: LabelStore, task: Task) -> list[dict[str, Any]]:
    """Items whose annotators disagree, with every annotator's label and any adjudication."""
    by_item: dict[int, list[Annotation]] = defaultdict(list)
    for a in store.annotations(task.id):
        by_item[a.item_id].append(a)
    adjudicated = store.adjudications(task.id)
    items = {i.id: i for i in store.items(task.id)}
    return [
        {
            "item_id": item_id,
            "text": items[item_id].text,
            "labels": {a.user: a.label for a in found},
            "adjudicated": adjudicated.get(item_id),
        }
        for item_id, found in sorted(by_item.items())
        if len({a.label for a in found}) > 1
    ]


class LabelReport(BaseModel):
    """What the pilot found: progress, agreement, ambiguous label pairs, time and cost."""

    task: str
    data_version: str
    schema_version: int
    progress: dict[str, int]
    agreement: Any = Field(description="tailorml.labeling.agreement.AgreementReport")
    time: TimeStats
    remaining: Projection | None = Field(description="cost and time to finish this task")
    projection: Projection | None = Field(description="cost and time to label the requested number of items")
    disputed: list[dict[str, Any]]
    unresolved: int
    pilot_file: str | None = None


def label_report(
    store: LabelStore,
    task: Task,
    *,
    hourly_rate: float | None = None,
    project_items: int | None = None,
    write_to: Path | None = None,
) -> LabelReport:
    """Agreement, time per item and projections for a task; writes ``pilot.json`` into ``write_to``."""
    from tailorml.labeling.agreement import agreement_report

    annotations = store.annotations(task.id)
    agreement = agreement_report([(a.item_id, a.user, a.label) for a in annotations if a.label is not None])
    stats = time_stats(annotations)
    progress = store.progress(task.id)
    per_item = (progress["annotations"] / max(1, len({a.item_id for a in annotations}))) if annotations else 0.0
    annotators = len({a.user for a in annotations})
    remaining = projection = None
    if stats.median is not None:
        left = progress["items"] * task.annotators_per_item - progress["annotations"]
        remaining = project(
            max(0, left),
            seconds_per_item=stats.median,
            annotators_per_item=1,
            hourly_rate=hourly_rate,
            annotators=annotators,
        )
        if project_items:
            projection = project(
                project_items,
                seconds_per_item=stats.median,
                annotators_per_item=task.annotators_per_item,
                hourly_rate=hourly_rate,
                annotators=annotators,
            )
    _, unresolved = final_labels(store, task)
    version, _ = store.schema(task.id)
    report = LabelReport(
        task=task.name,
        data_version=task.data_version,
        schema_version=version,
        progress=progress,
        agreement=agreement,
        time=stats,
        remaining=remaining,
        projection=projection,
        disputed=disputed_items(store, task)[:50],
        unresolved=len(unresolved),
    )
    if write_to is not None and annotations:
        figures = PilotFigures(
            as_of=now(),
            task=task.name,
            items_labeled=len({a.item_id for a in annotations}),
            annotations=len(annotations),
            annotators=annotators,
            annotators_per_item=round(per_item, 3),
            seconds_per_item_median=stats.median,
            seconds_per_item_p90=stats.p90,
            agreement={
                "krippendorff_alpha": agreement.krippendorff.value,
                "fleiss_kappa": agreement.fleiss.value,
                "mean_cohen_kappa": agreement.pairwise.mean,
            },
            hourly_rate=hourly_rate,
        )
        report.pilot_file = str(write_pilot_figures(write_to, figures))
    return report


def finish_task(store: LabelStore, data_store: Any, task: Task, *, on_step: Callable[[str], None] | None = None) -> Any:
    """Store the task's final labels as a new data version of the task version's data set.

    As with every import, the new version's parent is the newest version of that data set.

    Every row of the source version is kept; rows the task labeled take their final label.
    Unresolved items keep their earlier label (the report lists them for adjudication).
    """
    from tailorml.data.versions import Source

    resolved, _ = final_labels(store, task)
    if not resolved:
        raise TailorError(
            f"task {task.name!r} has no finished labels yet", hint="label some items first (tailor label serve)"
        )
    manifest = data_store.get(task.data_version)
    table = data_store.table(manifest)
    frame = table.to_pandas()
    items = {i.id: i for i in store.items(task.id)}
    column = manifest.target
    if column not in frame.columns:
        frame[column] = None
    frame[column] = frame[column].astype(object)
    for item_id, label in resolved.items():
        row = int(items[item_id].row_key)
        if not 0 <= row < len(frame):
            raise DataError(
                f"item {item_id} points at row {row}, outside data version {manifest.id}",
                hint="the labeling database does not match this data version; recreate the task",
            )
        frame.at[row, column] = label
    import pyarrow as pa

    return data_store.import_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        source=Source(path=f"labeling task {task.name} ({len(resolved)} labeled items)", format="labeling", bytes=0),
        name=manifest.name,
        input=manifest.input,
        target=column,
        on_step=on_step,
    )


def queue_active(store: LabelStore, task: Task, k: int, *, strategy: str = "margin", seed: int = 0) -> Any:
    """Move the ``k`` open items the current model is least sure of to the front of the queue.

    The model (``tfidf-linear``) is fitted on the task's final labels so far; with fewer
    than two labels known it falls back to a seeded random pick and says so. Returns the
    :class:`tailorml.labeling.active.Suggestions`, with ``index`` replaced by the item's position.
    """
    from tailorml.labeling.active import suggest_next

    resolved, _ = final_labels(store, task)
    items = store.items(task.id)
    labeled = [(i.text, resolved[i.id]) for i in items if i.id in resolved]
    open_items = [i for i in items if i.id not in resolved]
    suggestions = suggest_next(
        [t for t, _ in labeled],
        [lab for _, lab in labeled],
        [i.text for i in open_items],
        k,
        strategy=strategy,
        seed=seed,
    )
    chosen = [open_items[s.index] for s in suggestions.items]
    store.set_priorities(task.id, {item.position: len(chosen) - rank for rank, item in enumerate(chosen)})
    return suggestions.model_copy(
        update={
            "items": [
                s.model_copy(update={"index": item.position}) for s, item in zip(suggestions.items, chosen, strict=True)
            ]
        }
    )


def queue_label_errors(
    store: LabelStore,
    data_store: Any,
    task: Task,
    *,
    top_fraction: float = 0.05,
    path: str = "tfidf-linear",
    folds: int = 5,
    seed: int = 0,
) -> list[Suspect]:
    """Rank suspected mislabeled rows of the task's data version into its review queue.

    Uses out-of-fold probabilities and confident learning (:mod:`tailorml.labeling.label_errors`).
    """
    from tailorml.labeling.label_errors import find_label_errors

    manifest, texts, labels = _version_rows(data_store, task.data_version)
    rows = [i for i, label in enumerate(labels) if label is not None]
    if len(rows) < 10:
        raise TailorError(
            f"data version {manifest.id} has {len(rows)} labeled rows; label-error detection needs 10 or more",
            hint="import a labeled data version",
        )
    found = find_label_errors(
        [texts[i] for i in rows],
        [str(labels[i]) for i in rows],
        path=path,
        folds=folds,
        seed=seed,
        top_fraction=top_fraction,
    )
    suspects = [
        Suspect(
            rank=rank + 1,
            row_key=str(rows[s.row]),
            text=texts[rows[s.row]],
            given_label=s.given_label,
            suggested_label=s.suggested_label,
            score=float(s.quality),
        )
        for rank, s in enumerate(found.suspects)
    ]
    store.replace_suspects(task.id, suspects)
    return suspects
