"""Annotations in and out: Label Studio JSON and CSV.

Export writes every item of a task with all its annotations. Label Studio's JSON export
format is a list of tasks, each ``{"id", "data": {"text": ...}, "annotations": [{"completed_by",
"result": [{"from_name", "to_name", "type": "choices", "value": {"choices": [label]}}]}]}``;
tailorml adds ``data.tailor_item`` (the item's position in the task) so a round trip matches
items exactly. Import matches by ``tailor_item`` when present, else by the item's exact text.

CSV columns: ``item,row,text,annotator,label,schema_version,seconds,created_at`` (export);
import needs ``annotator`` and ``label`` plus ``item`` or ``text``.

Every import is checked whole before anything is written: one bad row rejects it with the
row's number, so a half-imported file never mixes into the database.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tailorml.errors import DataError
from tailorml.labeling.store import LabelStore, Task

__all__ = ["export_csv", "export_label_studio", "import_annotations", "read_csv", "read_label_studio"]

MAX_IMPORT_BYTES = 200 * 1024 * 1024
CSV_COLUMNS = ["item", "row", "text", "annotator", "label", "schema_version", "seconds", "created_at"]


def export_label_studio(store: LabelStore, task: Task) -> list[dict[str, Any]]:
    """The task as Label Studio JSON tasks, one per item, with each annotator's choice."""
    by_item: dict[int, list[Any]] = {}
    for a in store.annotations(task.id):
        by_item.setdefault(a.item_id, []).append(a)
    out = []
    for item in store.items(task.id):
        annotations = [
            {
                "completed_by": a.user,
                "created_at": a.created_at,
                "lead_time": a.seconds,
                "result": [
                    {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [a.label]}}
                ],
                "meta": {"schema_version": a.schema_version},
            }
            for a in by_item.get(item.id, [])
        ]
        out.append(
            {
                "id": item.position + 1,
                "data": {"text": item.text, "tailor_item": item.position, "row": item.row_key},
                "annotations": annotations,
            }
        )
    return out


def export_csv(store: LabelStore, task: Task) -> str:
    """One row per annotation, in the columns of :data:`CSV_COLUMNS`."""
    items = {i.id: i for i in store.items(task.id)}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in store.annotations(task.id):
        item = items[a.item_id]
        writer.writerow(
            [item.position, item.row_key, item.text, a.user, a.label, a.schema_version, a.seconds, a.created_at]
        )
    return buffer.getvalue()


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path} does not exist", hint="give the path of an exported annotation file")
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise DataError(f"{path} is larger than {MAX_IMPORT_BYTES // 2**20} MiB", hint="split the file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not UTF-8 (byte {exc.start} cannot be decoded)", hint="re-save the file as UTF-8"
        ) from None


def read_label_studio(path: str | Path) -> list[tuple[int | None, str, str, str]]:
    """``(tailor_item or None, text, annotator, label)`` for each choice in a Label Studio JSON export."""
    path = Path(path)
    try:
        tasks = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="export again from Label Studio as JSON (not JSON-MIN or CSV), or fix the file",
        ) from None
    if not isinstance(tasks, list):
        raise DataError(
            f"{path} holds a JSON {type(tasks).__name__}, not a list of tasks", hint="use Label Studio's JSON export"
        )
    rows: list[tuple[int | None, str, str, str]] = []
    for n, task in enumerate(tasks, start=1):
        where = f"{path}, task {n}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{where} has no 'data' object", hint="each task needs data.text")
        data = task["data"]
        text = data.get("text")
        if not isinstance(text, str):
            raise DataError(f"{where}: data.text is missing or not a string", hint="each task needs data.text")
        position = data.get("tailor_item")
        if position is not None and not isinstance(position, int):
            raise DataError(f"{where}: data.tailor_item must be an integer", hint="leave it as tailorml exported it")
        rows.extend((position, text, user, label) for user, label in _choices(task, where))
    return rows


def _choices(task: dict[str, Any], where: str) -> list[tuple[str, str]]:
    """``(annotator, label)`` of each choice in one Label Studio task's annotations (cancelled ones skipped)."""
    found = []
    for annotation in task.get("annotations") or []:
        if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
            continue
        user = annotation.get("completed_by")
        if isinstance(user, dict):
            user = user.get("email") or user.get("id")
        if user is None:
            raise DataError(f"{where}: an annotation has no completed_by", hint="every annotation names its annotator")
        for result in annotation.get("result") or []:
            choices = (result.get("value") or {}).get("choices") if isinstance(result, dict) else None
            if not choices or not isinstance(choices, list):
                raise DataError(
                    f"{where}: a result has no value.choices",
                    hint="only choice (classification) results can be imported",
                )
            found.append((str(user), str(choices[0])))
    return found


def read_csv(path: str | Path) -> list[tuple[int | None, str, str, str]]:
    """``(item or None, text, annotator, label)`` for each row of an annotation CSV."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    columns = set(reader.fieldnames or [])
    missing = {"annotator", "label"} - columns
    if missing or not ({"item", "text"} & columns):
        need = sorted(missing | ({"item or text"} if not ({"item", "text"} & columns) else set()))
        raise DataError(
            f"{path} lacks the column(s) {', '.join(need)}; it has {', '.join(sorted(columns)) or 'none'}",
            hint="the CSV needs annotator, label, and item (position) or text",
        )
    rows: list[tuple[int | None, str, str, str]] = []
    for line, row in enumerate(reader, start=2):
        raw_item = (row.get("item") or "").strip()
        try:
            position = int(raw_item) if raw_item else None
        except ValueError:
            raise DataError(
                f"{path}, line {line}: item {raw_item!r} is not a whole number", hint="fix the row"
            ) from None
        user, label = (row.get("annotator") or "").strip(), (row.get("label") or "").strip()
        if not user or not label:
            raise DataError(f"{path}, line {line}: annotator and label must not be empty", hint="fix or remove the row")
        rows.append((position, row.get("text") or "", user, label))
    return rows


def import_annotations(store: LabelStore, task: Task, rows: Sequence[tuple[int | None, str, str, str]]) -> int:
    """Match rows to the task's items (by position, else by exact text) and store them all, or none."""
    items = store.items(task.id)
    positions = {i.position for i in items}
    by_text: dict[str, list[int]] = {}
    for item in items:
        by_text.setdefault(item.text, []).append(item.position)
    matched: list[tuple[int, str, str]] = []
    for n, (position, text, user, label) in enumerate(rows, start=1):
        if position is None:
            found = by_text.get(text, [])
            if len(found) != 1:
                problem = "matches no item" if not found else f"matches {len(found)} items"
                raise DataError(
                    f"annotation {n} ({text[:60]!r}) {problem} of task {task.name!r}",
                    hint="import into the task the file was exported from, or add an item column",
                )
            position = found[0]
        elif position not in positions:
            raise DataError(
                f"annotation {n} refers to item {position}, which task {task.name!r} does not have",
                hint="import into the task the file was exported from",
            )
        matched.append((position, user, label))
    return store.import_annotations(task.id, matched)


def read_annotations(path: str | Path, format: str | None = None) -> list[tuple[int | None, str, str, str]]:
    """Read a Label Studio JSON (``.json``) or CSV (``.csv``) annotation file."""
    path = Path(path)
    kind = format or path.suffix.lstrip(".").lower()
    if kind in ("json", "labelstudio"):
        return read_label_studio(path)
    if kind == "csv":
        return read_csv(path)
    raise DataError(f"cannot tell the format of {path}", hint="use a .json (Label Studio) or .csv file, or --format")
