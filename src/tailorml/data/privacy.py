"""Privacy before storage: drop named columns and redact personal data in text columns."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from tailorml.errors import DataError

__all__ = ["apply_privacy"]


def apply_privacy(
    table: pa.Table,
    *,
    input: str,
    target: str,
    redact_pii: list[str] | tuple[str, ...] = (),
    drop_columns: list[str] | tuple[str, ...] = (),
    on_step: Callable[[str], None] | None = None,
) -> tuple[pa.Table, list[str]]:
    """Check the task's columns exist, then drop and redact what the privacy settings say.

    Returns the table and a description of each transform, for the version manifest.
    Raises DataError naming the column when a needed or named column is missing.
    """
    missing = [c for c in drop_columns if c not in table.column_names]
    if missing:
        raise DataError(
            f"cannot drop columns {missing}: the data has no such columns",
            hint=f"columns are: {', '.join(table.column_names)}",
        )
    for column, key in ((input, "task.input"), (target, "task.target")):
        if column in drop_columns:
            raise DataError(
                f"privacy.drop_columns removes {column!r}, which the task needs",
                hint="drop other columns, or change task.input / task.target",
            )
        if column not in table.column_names:
            raise DataError(
                f"the data has no column {column!r} ({key})",
                hint=f"set {key} (or --{key.split('.')[1]}) to one of: {', '.join(table.column_names)}",
            )
    transforms = [f"drop_columns: {', '.join(drop_columns)}"] if drop_columns else []
    table = table.drop_columns(list(drop_columns)) if drop_columns else table
    table = table.combine_chunks()
    if redact_pii:
        table, counts = _redact_text_columns(table, target=target, kinds=tuple(redact_pii), on_step=on_step)
        found = ", ".join(f"{n:,} in {col}" for col, n in counts.items() if n) or "none found"
        transforms.append(f"redact_pii ({', '.join(redact_pii)}): {found}")
    return table, transforms


def _redact_text_columns(
    table: pa.Table, *, target: str, kinds: tuple[str, ...], on_step: Callable[[str], None] | None
) -> tuple[pa.Table, dict[str, int]]:
    import pyarrow.compute as pc

    from tailorml.data.pii import redact_pii

    if on_step:
        on_step("redacting personal data")
    changed = {}
    for i, field in enumerate(table.schema):
        if field.name == target or not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        redacted = redact_pii(table[field.name], kinds=kinds)
        changed[field.name] = pc.sum(pc.not_equal(table[field.name], redacted)).as_py() or 0
        table = table.set_column(i, field.name, redacted)
    return table, changed
